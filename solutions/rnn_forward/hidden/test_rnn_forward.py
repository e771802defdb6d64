"""rnn_forward: forward(X, params, H0=None) iterates H_t = tanh(X_t W_xh + H_(t-1) W_hh + b_h).

H_0 is random by default, so values are checked on the student's own states:
every H_t must follow from the H_(t-1) they returned, with the grader's
weights, and the H_0 of any call is read back from its H_1. When the function
takes the optional H0, H_1 is also checked exactly from the grader's H0; a
function without that argument (the lecture's signature) loses nothing for it.

Every output is read through diagnosis.diagnose: a mistake of form (a list,
H_0 included) costs the shape test only, and a wrong step costs the
recurrence only; each failure names the mistakes that explain it.
"""
import numpy as np

from autograder.authoring import StudentError, check_shape, check_type, fail, is_float64, points

from .common import (
    LECTURE,
    check_arguments_kept,
    check_given_initial_state,
    check_initial_states,
    check_states,
    error_kind,
    initial_states,
    recurrence,
    rnn_params,
    same_mistakes,
    short_lengths,
    small_sizes,
    takes_no_initial_state,
)
from .diagnosis import diagnose
from .mistakes import fail_with

WHAT = "forward(X, params)"
SIZES = (LECTURE["seq_len"], LECTURE["batch"], LECTURE["input"], LECTURE["hidden"])


def run(part, gen, n, b, d, h, *H0):
    X, params = gen.standard_normal((n, b, d)), rnn_params(gen, d, h)
    out = part.call("forward", X, params, *H0)
    return X, params, out, diagnose(X, out, recurrence(params))


def lecture_run(part):
    """One run at the lecture's sizes, shared by the tests of its type and of its values."""
    lecture = part.once("lecture", lambda: run(part, part.rng("rnn_forward/lecture"), *SIZES))
    part.once("lecture/changed", lambda: list(part.changed))  # what that call changed in place (a claim)
    return lecture


@points(0.25, "devolve um np.ndarray float64 de forma (N, B, h)")
def test_returns_float64_array_of_shape_n_b_h(part):
    n, b, _, h = SIZES
    _, _, out, reading = lecture_run(part)
    if reading.form:
        fail_with(WHAT, *reading.form)
    check_type(WHAT, out, np.ndarray)
    check_shape(WHAT, out, (n, b, h))
    if not is_float64(out.dtype):
        fail_with(WHAT, "not_float64", detail=f"dtype {out.dtype}; ")


@points(1.5, "calcula H_t = tanh(X_t W_xh + H_(t-1) W_hh + b_h) a cada passo")
def test_states_follow_the_recurrence(part):
    X, params, _, reading = lecture_run(part)
    check_states(WHAT, X, reading, *recurrence(params))


@points(0.25, "não altera X, params nem H0")
def test_leaves_its_arguments_alone(part):
    reading = lecture_run(part)[3]
    if not (reading.explained or reading.behaviour):  # leaving the arguments alone counts only in a layer's work
        fail(f"{WHAT}: a saída não é a de uma camada (veja os outros testes): não há uma chamada que faça a conta "
             "em que conferir os argumentos")
    check_arguments_kept(WHAT, part.once("lecture/changed", list), ("X", "params"))
    # With the optional H0 (the lecture's signature has none), H0 is left alone too.
    gen = part.rng("rnn_forward/arguments")
    n, b, d, h = 4, LECTURE["batch"], LECTURE["input"], LECTURE["hidden"]
    X, params, H0 = gen.standard_normal((n, b, d)), rnn_params(gen, d, h), gen.standard_normal((b, h))
    try:
        part.call("forward", X, params, H0)
    except StudentError:
        return  # no H0 argument, or a mistake with sizes: other tests say which
    check_arguments_kept("forward(X, params, H0)", part.changed, ("X", "params", "H0"))


def short_run(part, gen, n, *H0):
    """run() with n steps at the lecture's other sizes, or the lecture's whole when that raises: a mistake with
    sizes costs the sizes test only."""
    b, d, h = LECTURE["batch"], LECTURE["input"], LECTURE["hidden"]
    try:
        return run(part, gen, n, b, d, h, *H0)
    except StudentError as exc:
        if H0 and takes_no_initial_state(exc):
            raise
        return run(part, gen, *SIZES, *H0)


@points(0.5, "parte de um H_0 novo, sorteado de N(0, 1), ou do H0 dado")
def test_initial_state(part):
    # H_0 is read back from the lecture's run and from runs of lengths drawn from the seed: no call is a probe.
    X, params, _, reading = lecture_run(part)
    H0s = [initial_states(WHAT, X, reading, *recurrence(params), required=False)]
    gen = part.rng("rnn_forward/h0")
    for n in short_lengths(part, "rnn_forward/h0/lengths"):
        X, params, _, reading = short_run(part, gen, n)
        H0s.append(initial_states(WHAT, X, reading, *recurrence(params)))
    H0s = [H0 for H0 in H0s if H0 is not None]
    check_initial_states(WHAT, H0s)
    # Given the optional H0 (as nn.RNN takes one), H_1 starts from it; the lecture's signature has none.
    H0 = gen.standard_normal(H0s[-1].shape)
    try:
        X, params, _, reading = short_run(part, gen, len(X), H0)
    except StudentError as exc:
        if takes_no_initial_state(exc):
            return
        raise
    check_given_initial_state("forward(X, params, H0)", X, reading, H0, *recurrence(params))


@points(0.5, "tira os tamanhos dos argumentos")
def test_uses_sizes_from_its_arguments(part):
    lecture = lecture_run(part)[3]
    gen = part.rng("rnn_forward/sizes")
    for n, b, d, h in [small_sizes(part, "rnn_forward/sizes/a", 4), (1, 1, 1, 1),
                       small_sizes(part, "rnn_forward/sizes/b", 4)]:
        what = f"forward com X de forma {(n, b, d)} e hidden size {h}"
        try:
            X, params, out, reading = run(part, gen, n, b, d, h)
        except StudentError as exc:
            if lecture.states is None and lecture.codes:  # the lecture's own mistake, met at other sizes
                fail_with(what, *lecture.codes, detail=f"o código lançou {error_kind(exc)}; ")
            if lecture.states is None:
                raise
            fail_with(what, "sizes_from_globals", detail=f"o código lançou {error_kind(exc)}; ")
        if reading.states is None and lecture.states is not None:
            shape = getattr(out, "shape", None)
            fail_with(what, "sizes_from_globals", detail=f"devolveu forma {shape}; " if shape else "")
        if same_mistakes(lecture, X, reading, *recurrence(params)):
            continue
        check_states(what, X, reading, *recurrence(params))
