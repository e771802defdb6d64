"""rnn_forward: forward(X, params, H0=None) iterates H_t = tanh(X_t W_xh + H_(t-1) W_hh + b_h).

H_0 is random by default, so values are checked on the student's own states:
every H_t must follow from the H_(t-1) they returned, with the grader's
weights, and the H_0 of any call is read back from its H_1. When the function
takes the optional H0, H_1 is also checked exactly from the grader's H0; a
function without that argument (the lecture's signature) loses nothing for it.
"""
import numpy as np

from autograder import checks
from autograder.assignment import points
from autograder.session import StudentError

from .common import (
    LECTURE,
    check_first_step,
    check_initial_states,
    check_recurrence,
    read_back_initial_states,
    recurrence,
    rnn_params,
    takes_no_initial_state,
)

WHAT = "forward(X, params)"
SIZES = (LECTURE["seq_len"], LECTURE["batch"], LECTURE["input"], LECTURE["hidden"])


def run(part, gen, n, b, d, h):
    X, params = gen.standard_normal((n, b, d)), rnn_params(gen, d, h)
    return X, params, part.call("forward", X, params)


def lecture_run(part):
    """One run at the lecture's sizes, shared by the tests of its type and of its values."""
    return part.once("lecture", lambda: run(part, part.rng("rnn_forward/lecture"), *SIZES))


@points(0.5, "devolve um np.ndarray float64 de forma (N, B, h)")
def test_returns_float64_array_of_shape_n_b_h(part):
    n, b, _, h = SIZES
    _, _, out = lecture_run(part)
    checks.check_type(WHAT, out, np.ndarray)
    checks.check_shape(WHAT, out, (n, b, h))
    checks.check_dtype(WHAT, out, "float64")


@points(1, "calcula H_t = tanh(X_t W_xh + H_{t-1} W_hh + b_h) a cada passo")
def test_states_follow_the_recurrence(part):
    X, params, out = lecture_run(part)
    check_recurrence(WHAT, X, out, *recurrence(params))
    n, b, d, h = 4, 3, 5, 6
    gen = part.rng("rnn_forward/given_h0")
    X, params, H0 = gen.standard_normal((n, b, d)), rnn_params(gen, d, h), gen.standard_normal((b, h))
    try:
        out = part.call("forward", X, params, H0)
    except StudentError as exc:
        if takes_no_initial_state(exc):
            return
        raise
    what = "forward(X, params, H0)"
    check_first_step(what, X, out, H0, *recurrence(params))
    check_recurrence(what, X, out, *recurrence(params))


@points(0.5, "sorteia H_0 de N(0, 1) a cada chamada")
def test_initial_state_is_standard_normal(part):
    n, b, d, h = 3, LECTURE["batch"], LECTURE["input"], LECTURE["hidden"]
    gen = part.rng("rnn_forward/h0")
    H0s = []
    for _ in range(3):
        X, params, out = run(part, gen, n, b, d, h)
        H0s.append(read_back_initial_states(WHAT, X, out, *recurrence(params)))
    check_initial_states("H_0", H0s)


@points(1, "tira os tamanhos dos argumentos")
def test_uses_sizes_from_its_arguments(part):
    gen = part.rng("rnn_forward/sizes")
    for n, b, d, h in [(3, 2, 5, 4), (1, 1, 1, 1), (7, 13, 3, 6)]:
        X, params, out = run(part, gen, n, b, d, h)
        check_recurrence(f"forward com X de forma {X.shape} e hidden size {h}", X, out, *recurrence(params))
