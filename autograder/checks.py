"""Every check the hidden tests make, defined once.

A check takes what the student returned (plain values, see values.py) and
raises AssertionError with a message a student can act on: which property
failed, with the numbers (largest difference, the shape received and the one
expected), never the hidden inputs or the expected arrays themselves.

The grader bounds its own work: a student's array reaches arithmetic only
through `as_array`, which first checks its shape against the contract, so
nothing a student returns can make a check broadcast or allocate more than
the contract's sizes.

The checks of one assignment's own maths (a layer's equations, say) live with its
hidden tests and use these.
"""
from typing import Any, NoReturn

import numpy as np
import numpy.typing as npt

from autograder.errors import Failure
from autograder.inside.values import SequenceValue, TensorValue, type_name

# A correct N(0, 1) source fails the KS test with this probability: over a
# class of hundreds of students and a handful of such tests, practically never.
NORMAL_P_VALUE = 1e-9


def warm() -> None:
    """Import what the checks use, SciPy's statistics (a second), in a worker while its zygote starts: the
    command's own process loads the assignment but runs no check, and never pays it."""
    from scipy import stats  # noqa: F401


def is_float64(dtype: "npt.DTypeLike") -> bool:
    """A 64-bit float, in either byte order."""
    dtype = np.dtype(dtype)
    return dtype.kind == "f" and dtype.itemsize == 8


def tolerance(*dtypes: "npt.DTypeLike") -> "tuple[float, float]":
    """(rtol, atol) for comparing arrays of these dtypes: the loosest one wins."""
    if all(is_float64(d) for d in dtypes):
        return 1e-7, 1e-10
    if any(np.dtype(d).itemsize < 4 for d in dtypes):
        return 1e-3, 1e-3
    return 1.3e-6, 1e-5  # torch.testing's float32 defaults


def fail(message: str, *diagnosis: str) -> NoReturn:
    raise Failure(message, diagnosis)


def check_shape(what: str, array: np.ndarray, expected: "tuple[int, ...]") -> None:
    shape = tuple(array.shape)
    if shape != tuple(expected):
        fail(f"{what}: forma esperada {tuple(expected)}, recebida {shape}")


def as_array(what: str, value: object, shape: "tuple[int, ...]") -> np.ndarray:
    """The numbers in `value` (an ndarray, a tensor's data, or a list of arrays), of exactly `shape`."""
    if isinstance(value, np.ndarray):
        array = value
    elif isinstance(value, TensorValue) and value.array is not None:
        array = value.array
    elif isinstance(value, SequenceValue) and len(value.items) == shape[0]:
        items = [as_array(what, item, shape[1:]) for item in value.items]
        array = np.stack(items) if items else np.zeros(shape)
    else:
        fail(f"{what}: esperado um array de números de forma {tuple(shape)}, recebido {type_name(value)}")
    check_shape(what, array, shape)
    if array.dtype.kind not in "biuf":
        fail(f"{what}: esperado um array de números reais, recebido dtype {array.dtype}")
    return array


def check_type(what: str, value: object, expected: type) -> None:
    if not isinstance(value, expected):
        names = {np.ndarray: "np.ndarray", TensorValue: "torch.Tensor", dict: "dict"}
        fail(f"{what}: deve devolver {names[expected]}, devolveu {type_name(value)}")


def check_dtype(what: str, value: Any, expected: str) -> None:
    dtype = value.dtype
    if str(dtype) != expected:
        fail(f"{what}: dtype esperado {expected}, recebido {dtype}")


def check_close(what: str, actual: object, expected: np.ndarray) -> None:
    """Elementwise closeness with the tolerance of the received dtype."""
    actual = as_array(what, actual, expected.shape)
    rtol, atol = tolerance(actual.dtype, expected.dtype)
    actual64, expected64 = actual.astype(np.float64), expected.astype(np.float64)
    bad = ~np.isclose(actual64, expected64, rtol=rtol, atol=atol)
    if bad.any():
        diff = np.nan_to_num(np.abs(actual64 - expected64), nan=np.inf)
        fail(
            f"{what}: {int(bad.sum())} de {bad.size} valores fora da tolerância "
            f"(maior diferença {diff.max():.3g}; rtol={rtol:g}, atol={atol:g})"
        )


def check_standard_normal(what: str, samples: "npt.ArrayLike") -> None:
    """Samples look drawn from N(0, 1) (Kolmogorov-Smirnov), whatever the source."""
    samples = np.asarray(samples, dtype=np.float64).ravel()
    if not np.isfinite(samples).all():
        fail(f"{what}: contém valores não finitos (inf ou nan)")
    from scipy import stats  # (imported here: see warm)

    p_value = stats.kstest(samples, "norm").pvalue
    if p_value < NORMAL_P_VALUE:
        fail(f"{what}: média {samples.mean():.3f} e desvio-padrão {samples.std():.3f} em {samples.size} amostras "
             "(o teste de Kolmogorov-Smirnov rejeita N(0, 1))")


def entry(what: str, params: object, key: str, shape: "tuple[int, ...]") -> np.ndarray:
    """params[key] as an array of `shape`, for a student's dict of parameters.

    A one-dimensional `shape` asks only for that many numbers, in any layout.
    """
    if not isinstance(params, dict):
        fail(f"{what}: deve devolver dict, devolveu {type_name(params)}")
    if key not in params:
        fail(f"{what}: o dict não tem a chave {key!r} (chaves: {sorted(params)})")
    value = params[key]
    if len(shape) == 1 and isinstance(value, np.ndarray) and value.size == shape[0]:
        value = value.reshape(-1)
    return as_array(f"{what}[{key!r}]", value, shape)


def check_params(what: str, params: Any, shapes: "dict[str, tuple[int, ...]]") -> None:
    """A dict with exactly these keys, each a float64 ndarray of the given shape."""
    check_type(what, params, dict)
    if set(params) != set(shapes):
        fail(f"{what}: chaves esperadas {sorted(shapes)}, recebidas {sorted(params)}")
    for key, shape in shapes.items():
        check_type(f"{what}[{key!r}]", params[key], np.ndarray)
        check_shape(f"{what}[{key!r}]", params[key], shape)
        check_dtype(f"{what}[{key!r}]", params[key], "float64")
