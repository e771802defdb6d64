"""ff_forward: forward(X, params) = tanh(X W_xh + b_h), compared with the reference.

A wrong value is explained by the versions of the step in mistakes.py (no
bias, no tanh, another activation); the same mistake at other sizes costs
nothing more there.
"""
import numpy as np

from autograder.authoring import (
    StudentError,
    as_array,
    check_close,
    check_shape,
    check_type,
    fail,
    is_float64,
    points,
)

from .. import feedforward as reference
from .common import LECTURE, check_arguments_kept, error_kind, ff_params, small_sizes
from .diagnosis import explain_output
from .mistakes import RIGHT, fail_with

WHAT = "forward(X, params)"


def run(part, gen, b, d, h):
    X, params = gen.standard_normal((b, d)), ff_params(gen, d, h)
    return X, params, part.call("forward", X, params)


def lecture_run(part):
    """One run at the lecture's sizes, shared by the tests of its type and of its values."""
    sizes = LECTURE["batch"], LECTURE["input"], LECTURE["hidden"]
    lecture = part.once("lecture", lambda: run(part, part.rng("ff_forward/lecture"), *sizes))
    part.once("lecture/changed", lambda: list(part.changed))  # what that call changed in place (a claim)
    return lecture


def explained(X, params, out) -> "tuple":
    """(the output as an array of shape (B, h), the step that explains it or None)."""
    out = as_array(WHAT, out, (len(X), params["Wxh"].shape[1]))
    return out, explain_output(X, out, params["Wxh"], params["bh"])


def check_values(what, X, params, out):
    out, step = explained(X, params, out)
    if step is not None and step != RIGHT:
        fail_with(what, *step.codes)
    check_close(what, out, reference.forward(X, params))


@points(0.25, "devolve um np.ndarray float64 de forma (B, h)")
def test_returns_float64_array_of_shape_b_h(part):
    _, _, out = lecture_run(part)
    check_type(WHAT, out, np.ndarray)
    check_shape(WHAT, out, (LECTURE["batch"], LECTURE["hidden"]))
    if not is_float64(out.dtype):
        fail_with(WHAT, "not_float64", detail=f"dtype {out.dtype}; ")


@points(1, "calcula tanh(X W_xh + b_h)")
def test_values_match_the_reference(part):
    X, params, out = lecture_run(part)
    check_values(WHAT, X, params, out)


@points(0.25, "não altera X nem params")
def test_leaves_its_arguments_alone(part):
    X, params, out = lecture_run(part)
    try:
        step = explained(X, params, out)[1]
    except AssertionError:
        step = RIGHT  # a mistake of form: the shape test names it, and costs it alone
    if step is None:  # numbers no version of the layer gives: leaving the arguments alone counts only in a layer
        fail(f"{WHAT}: a saída não é a de uma camada (veja os outros testes): não há uma chamada que faça a conta "
             "em que conferir os argumentos")
    check_arguments_kept(WHAT, part.once("lecture/changed", list), ("X", "params"))


@points(0.5, "tira os tamanhos dos argumentos")
def test_uses_sizes_from_its_arguments(part):
    X, params, out = lecture_run(part)
    try:
        _, lecture = explained(X, params, out)
    except AssertionError:
        lecture = None  # a wrong shape at the lecture's sizes: every size must then be right on its own
    gen = part.rng("ff_forward/sizes")
    for b, d, h in [small_sizes(part, "ff_forward/sizes/a", 3), (1, 1, 1),
                    small_sizes(part, "ff_forward/sizes/b", 3, 3, 40)]:
        what = f"forward com X de forma {(b, d)} e W_xh de forma {(d, h)}"
        try:
            X, params, out = run(part, gen, b, d, h)
        except StudentError as exc:
            if lecture is None:
                raise
            fail_with(what, "sizes_from_globals", detail=f"o código lançou {error_kind(exc)}; ")
        shape = getattr(out, "shape", None)
        if lecture is not None and shape != (b, h):
            fail_with(what, "sizes_from_globals", detail=f"devolveu forma {shape}; ")
        # The lecture's own mistake costs nothing more here.
        if lecture not in (None, RIGHT) and explain_output(
                X, as_array(what, out, (b, h)), params["Wxh"], params["bh"], only=lecture):
            continue
        check_values(what, X, params, out)
