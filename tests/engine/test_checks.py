"""The generic checks: what they accept, what they refuse, and what they say."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder import checks
from autograder.inside.values import OtherValue, SequenceValue, TensorValue


def tensor(array, dtype="float32"):
    return TensorValue(array, array.shape, dtype, "cpu", False)


def test_tolerance_follows_the_loosest_dtype():
    assert checks.tolerance("float64", "float64") == (1e-7, 1e-10)
    assert checks.tolerance("float32", "float64") == (1.3e-6, 1e-5)
    assert checks.tolerance("float16", "float64") == (1e-3, 1e-3)


def test_as_array_checks_the_shape_before_anything_else():
    assert checks.as_array("x", np.zeros((2, 3)), (2, 3)).shape == (2, 3)
    assert checks.as_array("x", tensor(np.zeros((2, 3))), (2, 3)).shape == (2, 3)
    stacked = checks.as_array("x", SequenceValue("list", [np.ones(3), np.zeros(3)]), (2, 3))
    assert stacked.tolist() == [[1, 1, 1], [0, 0, 0]]
    with pytest.raises(AssertionError, match=r"forma esperada \(2, 3\), recebida \(3, 2\)"):
        checks.as_array("x", np.zeros((3, 2)), (2, 3))
    with pytest.raises(AssertionError, match="recebido list"):
        checks.as_array("x", SequenceValue("list", [np.ones(3)] * 5), (2, 3))  # the count is checked first
    with pytest.raises(AssertionError, match="recebido módulo"):
        checks.as_array("x", OtherValue("módulo"), (2, 3))
    with pytest.raises(AssertionError, match="números reais"):
        checks.as_array("x", np.zeros((2, 3), dtype=complex), (2, 3))


def test_check_close_names_how_many_values_are_off_and_by_how_much():
    expected = np.linspace(-1, 1, 10)
    checks.check_close("y", expected + 1e-12, expected)
    with pytest.raises(AssertionError, match=r"y: 1 de 10 valores fora da tolerância \(maior diferença 0.5"):
        checks.check_close("y", expected + np.eye(10)[3] * 0.5, expected)
    with pytest.raises(AssertionError, match="maior diferença inf"):
        checks.check_close("y", np.full(10, np.nan), expected)


def test_float32_results_are_judged_with_float32_tolerance():
    expected = np.linspace(-1, 1, 10)
    checks.check_close("y", (expected + 1e-6).astype(np.float32), expected)
    with pytest.raises(AssertionError):
        checks.check_close("y", expected + 1e-6, expected)  # too far for float64


@given(st.integers(1, 40), st.integers(1, 40))
def test_check_params_wants_exactly_the_contract(d, h):
    good = {"W": np.zeros((d, h)), "b": np.zeros((1, h))}
    checks.check_params("init", good, {"W": (d, h), "b": (1, h)})
    with pytest.raises(AssertionError, match="chaves esperadas"):
        checks.check_params("init", {"W": good["W"]}, {"W": (d, h), "b": (1, h)})
    with pytest.raises(AssertionError, match="dtype esperado float64"):
        checks.check_params("init", {**good, "b": good["b"].astype(np.float32)}, {"W": (d, h), "b": (1, h)})


def test_the_normality_test_passes_any_good_source_and_fails_the_classic_mistakes():
    gen = np.random.default_rng(0)
    checks.check_standard_normal("w", gen.standard_normal(30_000))
    checks.check_standard_normal("w", np.random.RandomState(1).randn(30_000))
    for wrong in (gen.random(30_000), 0.1 * gen.standard_normal(30_000), np.zeros(30_000),
                  gen.standard_normal(30_000) + 0.1):
        with pytest.raises(AssertionError, match="N\\(0, 1\\)"):
            checks.check_standard_normal("w", wrong)
    with pytest.raises(AssertionError, match="não finitos"):
        checks.check_standard_normal("w", np.array([0.0, np.inf]))


def test_entry_accepts_the_right_count_in_any_layout_for_the_normality_test():
    params = {"b": np.zeros(7)}
    assert checks.entry("init", params, "b", (7,)).shape == (7,)
    with pytest.raises(AssertionError, match="não tem a chave 'W'"):
        checks.entry("init", params, "W", (7,))
