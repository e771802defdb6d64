"""Inputs the grader builds, and the tests shared by the two init_weights parts."""
import zlib

import numpy as np

from autograder import checks

LECTURE = {"seq_len": 50, "batch": 10, "input": 100, "hidden": 512}


def rng(name):
    """A generator seeded by the test's name: the same hidden inputs on every run."""
    return np.random.default_rng(zlib.crc32(name.encode()))


def rnn_params(gen, d, h):
    """Weights scaled so that tanh stays away from saturation and the checks see real values."""
    return {
        "Wxh": gen.standard_normal((d, h)) / np.sqrt(d),
        "Whh": gen.standard_normal((h, h)) / np.sqrt(h),
        "bh": 0.1 * gen.standard_normal((1, h)),
    }


def ff_params(gen, d, h):
    params = rnn_params(gen, d, h)
    del params["Whh"]
    return params


def check_init_shapes(part, shapes):
    """init_weights(d, h) returns float64 arrays of shapes(d, h), also for sizes other than the lecture's."""
    for d, h in [(LECTURE["input"], LECTURE["hidden"]), (3, 7), (1, 1)]:
        checks.check_params(f"init_weights({d}, {h})", part.call("init_weights", d, h), shapes(d, h))


def check_init_normal(part, keys):
    """Every weight is drawn from N(0, 1), judged on many draws pooled over calls."""
    pooled = {key: [] for key in keys}
    for d, h in [(400, 300), (1, 300)]:  # over 10^5 draws of Wxh and Whh, 600 of bh
        what = f"init_weights({d}, {h})"
        params = part.call("init_weights", d, h)
        for key in keys:
            pooled[key].append(checks.entry(what, params, key).ravel())
    for key in keys:
        checks.check_standard_normal(f"init_weights(...)[{key!r}]", np.concatenate(pooled[key]))
