"""ff_forward: forward(X, params) = tanh(X W_xh + b_h), compared with the reference."""
import numpy as np

from autograder import checks
from autograder.assignment import points

from .. import feedforward as reference
from .common import LECTURE, ff_params

WHAT = "forward(X, params)"


def run(part, gen, b, d, h):
    X, params = gen.standard_normal((b, d)), ff_params(gen, d, h)
    return X, params, part.call("forward", X, params)


def lecture_run(part):
    """One run at the lecture's sizes, shared by the tests of its type and of its values."""
    sizes = LECTURE["batch"], LECTURE["input"], LECTURE["hidden"]
    return part.once("lecture", lambda: run(part, part.rng("ff_forward/lecture"), *sizes))


@points(0.5, "devolve um np.ndarray float64 de forma (B, h)")
def test_returns_float64_array_of_shape_b_h(part):
    _, _, out = lecture_run(part)
    checks.check_type(WHAT, out, np.ndarray)
    checks.check_shape(WHAT, out, (LECTURE["batch"], LECTURE["hidden"]))
    checks.check_dtype(WHAT, out, "float64")


@points(1, "calcula tanh(X W_xh + b_h)")
def test_values_match_the_reference(part):
    X, params, out = lecture_run(part)
    checks.check_close(WHAT, out, reference.forward(X, params))


@points(0.5, "tira os tamanhos dos argumentos")
def test_uses_sizes_from_its_arguments(part):
    gen = part.rng("ff_forward/sizes")
    for b, d, h in [(3, 7, 5), (1, 1, 1), (17, 4, 33)]:
        X, params, out = run(part, gen, b, d, h)
        checks.check_close(f"forward com X {X.shape} e W_xh {params['Wxh'].shape}", out, reference.forward(X, params))
