"""ff_forward: forward(X, params) = tanh(X W_xh + b_h), compared with the reference.

A wrong value is explained by the versions of the step in mistakes.py (no
bias, no tanh, another activation); the same mistake at other sizes costs
nothing more there.
"""
import numpy as np

from autograder.authoring import StudentError, as_array, check_close, check_shape, check_type, is_float64, points

from .. import feedforward as reference
from .common import LECTURE, error_kind, ff_params
from .diagnosis import explain_output
from .mistakes import RIGHT, fail_with

WHAT = "forward(X, params)"


def run(part, gen, b, d, h):
    X, params = gen.standard_normal((b, d)), ff_params(gen, d, h)
    return X, params, part.call("forward", X, params)


def lecture_run(part):
    """One run at the lecture's sizes, shared by the tests of its type and of its values."""
    sizes = LECTURE["batch"], LECTURE["input"], LECTURE["hidden"]
    return part.once("lecture", lambda: run(part, part.rng("ff_forward/lecture"), *sizes))


def explained(X, params, out) -> "tuple":
    """(the output as an array of shape (B, h), the step that explains it or None)."""
    out = as_array(WHAT, out, (len(X), params["Wxh"].shape[1]))
    return out, explain_output(X, out, params["Wxh"], params["bh"])


def check_values(what, X, params, out):
    out, step = explained(X, params, out)
    if step is not None and step != RIGHT:
        fail_with(what, *step.codes)
    check_close(what, out, reference.forward(X, params))


@points(0.5, "devolve um np.ndarray float64 de forma (B, h)")
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


@points(0.5, "tira os tamanhos dos argumentos")
def test_uses_sizes_from_its_arguments(part):
    X, params, out = lecture_run(part)
    try:
        _, lecture = explained(X, params, out)
    except AssertionError:
        lecture = None  # a wrong shape at the lecture's sizes: every size must then be right on its own
    gen = part.rng("ff_forward/sizes")
    for b, d, h in [(3, 7, 5), (1, 1, 1), (17, 4, 33)]:
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
