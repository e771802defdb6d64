"""Inputs the grader builds, and the tests shared by the two init_weights parts.

Every input comes from `part.rng(name)`: a generator seeded by a secret drawn
once per grading run (and the test's name), so no two runs use the same hidden
inputs. Every call uses the same kind of weights, so no call can be told apart
as a probe.
"""
import functools

import numpy as np

from autograder import checks

LECTURE = {"seq_len": 50, "batch": 10, "input": 100, "hidden": 512}


@functools.lru_cache(maxsize=16)
def _orthogonal_basis(n, seed):
    """One dense random orthogonal matrix per size: a QR costs milliseconds, so it is made once."""
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def random_orthogonal(gen, n):
    """A fresh dense random orthogonal matrix: one of four bases, its rows permuted and their signs flipped."""
    basis = _orthogonal_basis(n, int(gen.integers(4)))
    signs = gen.choice([-1.0, 1.0], (n, 1))
    return basis.take(gen.permutation(n), axis=0) * signs


def rnn_params(gen, d, h):
    """W_xh, W_hh, b_h that keep tanh far from saturation, so every check sees real values.

    W_hh is a random orthogonal matrix times c in [0.5, 0.8]: invertible, so the
    H_0 of any call can be read back from its H_1, and W_hh^T W_hh^-1 is
    orthogonal, so a transposed W_hh costs the recurrence, not the test of H_0.
    X_t W_xh stays small (variance 0.05): an H_1 that ignores H_0 reads back as
    an H_0 far narrower than N(0, 1).
    """
    return {
        "Wxh": np.sqrt(0.05 / d) * gen.standard_normal((d, h)),
        "Whh": gen.uniform(0.5, 0.8) * random_orthogonal(gen, h),
        "bh": 0.1 * gen.standard_normal((1, h)),
    }


def ff_params(gen, d, h):
    return {"Wxh": gen.standard_normal((d, h)) / np.sqrt(d), "bh": 0.1 * gen.standard_normal((1, h))}


def recurrence(params):
    """(W_in, W_rec, bias) of the NumPy convention, for the checks."""
    return params["Wxh"], params["Whh"], params["bh"]


def inverse(W_rec):
    """The inverse of a W_hh made by rnn_params, c times an orthogonal matrix: W^T / c^2, in O(h^2)."""
    W_rec = W_rec.astype(np.float64)
    return W_rec.T / (np.square(W_rec).sum() / len(W_rec))


def read_back_initial_states(what, X, out, W_in, W_rec, bias):
    """The H_0 of one call, from its H_1 (see checks.initial_states)."""
    W_in, bias = W_in.astype(np.float64), bias.astype(np.float64)
    return checks.initial_states(what, X, out, W_in, inverse(W_rec), bias)


def check_init_shapes(part, shapes):
    """init_weights(d, h) returns float64 arrays of shapes(d, h), also for sizes other than the lecture's."""
    for d, h in [(LECTURE["input"], LECTURE["hidden"]), (3, 7), (1, 1)]:
        checks.check_params(f"init_weights({d}, {h})", part.call("init_weights", d, h), shapes(d, h))


def check_init_normal(part, shapes):
    """Every weight is drawn from N(0, 1), judged on many draws pooled over calls."""
    pooled = {key: [] for key in shapes(1, 1)}
    for d, h in [(200, 150), (1, 150)]:  # 3 * 10^4 draws of Wxh, 2 * 10^4 of Whh, 300 of bh
        what = f"init_weights({d}, {h})"
        params = part.call("init_weights", d, h)
        for key, shape in shapes(d, h).items():
            # Only the count is bound here: a wrong shape costs the shape test, not this one.
            pooled[key].append(checks.entry(what, params, key, (int(np.prod(shape)),)))
    for key in pooled:
        checks.check_standard_normal(f"init_weights(...)[{key!r}]", np.concatenate(pooled[key]))
