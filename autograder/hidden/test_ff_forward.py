"""ff_forward: forward(X, params) = tanh(X W_xh + b_h), compared with the reference."""
import numpy as np

from autograder import checks
from autograder.hidden.common import LECTURE, ff_params, rng
from solutions import feedforward as reference

WHAT = "forward(X, params)"


def run(part, gen, b, d, h):
    X, params = gen.standard_normal((b, d)), ff_params(gen, d, h)
    return X, params, part.call("forward", X, params)


def test_returns_float64_array_of_shape_b_h(part):
    b, h = LECTURE["batch"], LECTURE["hidden"]
    _, _, out = run(part, rng("ff_forward/type"), b, LECTURE["input"], h)
    checks.check_type(WHAT, out, np.ndarray)
    checks.check_shape(WHAT, out, (b, h))
    checks.check_dtype(WHAT, out, "float64")


def test_values_match_the_reference(part):
    X, params, out = run(part, rng("ff_forward/values"), LECTURE["batch"], LECTURE["input"], LECTURE["hidden"])
    checks.check_close(WHAT, checks.as_array(WHAT, out), reference.forward(X, params))


def test_uses_sizes_from_its_arguments(part):
    gen = rng("ff_forward/sizes")
    for b, d, h in [(3, 7, 5), (1, 1, 1), (17, 4, 33)]:
        X, params, out = run(part, gen, b, d, h)
        what = f"forward com X {X.shape} e W_xh {params['Wxh'].shape}"
        checks.check_close(what, checks.as_array(what, out), reference.forward(X, params))
