"""rnn_forward: forward(X, params) iterates H_t = tanh(X_t W_xh + H_(t-1) W_hh + b_h).

H_0 is random, so values are checked on the student's own states: every H_t
must follow from the H_(t-1) they returned.
"""
import numpy as np

from autograder import checks
from autograder.hidden.common import LECTURE, rng, rnn_params

WHAT = "forward(X, params)"
SIZES = (LECTURE["seq_len"], LECTURE["batch"], LECTURE["input"], LECTURE["hidden"])


def run(part, gen, n, b, d, h, params=None):
    X = gen.standard_normal((n, b, d))
    params = rnn_params(gen, d, h) if params is None else params
    return X, params, part.call("forward", X, params)


def states(out, shape, what=WHAT):
    H = checks.as_array(what, out)
    checks.check_shape(what, H, shape)
    return H


def test_returns_float64_array_of_shape_n_b_h(part):
    n, b, d, h = SIZES
    _, _, out = run(part, rng("rnn_forward/type"), n, b, d, h)
    checks.check_type(WHAT, out, np.ndarray)
    checks.check_shape(WHAT, out, (n, b, h))
    checks.check_dtype(WHAT, out, "float64")


def test_states_follow_the_recurrence(part):
    n, b, d, h = SIZES
    X, p, out = run(part, rng("rnn_forward/recurrence"), n, b, d, h)
    checks.check_recurrence(WHAT, X, states(out, (n, b, h)), p["Wxh"], p["Whh"], p["bh"])


def test_initial_state_is_standard_normal(part):
    # With W_xh = 0, b_h = 0 and W_hh = I/2, H_1 = tanh(H_0 / 2) reveals H_0.
    n, b, d, h = 2, LECTURE["batch"], LECTURE["input"], LECTURE["hidden"]
    params = {"Wxh": np.zeros((d, h)), "Whh": 0.5 * np.eye(h), "bh": np.zeros((1, h))}
    gen = rng("rnn_forward/h0")
    H0s = [2 * np.arctanh(states(run(part, gen, n, b, d, h, params)[2], (n, b, h))[0]) for _ in range(3)]
    checks.check_initial_states("H_0", H0s)


def test_uses_sizes_from_its_arguments(part):
    gen = rng("rnn_forward/sizes")
    for n, b, d, h in [(3, 2, 5, 4), (1, 1, 1, 1), (7, 13, 3, 6)]:
        X, p, out = run(part, gen, n, b, d, h)
        what = f"forward com X de forma {X.shape} e hidden size {h}"
        checks.check_recurrence(what, X, states(out, (n, b, h), what), p["Wxh"], p["Whh"], p["bh"])
