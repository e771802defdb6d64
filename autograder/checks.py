"""Every check the hidden tests make, defined once.

A check takes what the student returned (plain values, see values.py) and
raises AssertionError with a message a student can act on: which property
failed, with the numbers (largest difference, the shape received and the one
expected), never the hidden inputs or the expected arrays themselves.
"""
import numpy as np
from scipy import stats

from autograder.values import SequenceValue, TensorValue, type_name

# A correct N(0, 1) source fails the KS test with this probability: over a
# class of hundreds of students and a handful of such tests, practically never.
NORMAL_P_VALUE = 1e-9


def tolerance(*dtypes):
    """(rtol, atol) for comparing arrays of these dtypes: the loosest one wins."""
    if all(np.dtype(d) == np.float64 for d in dtypes):
        return 1e-7, 1e-10
    if any(np.dtype(d).itemsize < 4 for d in dtypes):
        return 1e-3, 1e-3
    return 1.3e-6, 1e-5  # torch.testing's float32 defaults


def fail(message):
    raise AssertionError(message)


def as_array(what, value):
    """The numbers in `value`: an ndarray, a tensor's data, or a list of arrays."""
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, TensorValue) and value.array is not None:
        return value.array
    if isinstance(value, SequenceValue):
        try:
            return np.stack([as_array(what, item) for item in value.items])
        except (AssertionError, ValueError):
            pass
    fail(f"{what}: esperado um array de números, recebido {type_name(value)}")


def check_type(what, value, expected):
    if not isinstance(value, expected):
        names = {np.ndarray: "np.ndarray", TensorValue: "torch.Tensor", dict: "dict"}
        fail(f"{what}: deve devolver {names[expected]}, devolveu {type_name(value)}")


def check_shape(what, array, expected):
    shape = tuple(array.shape)
    if shape != tuple(expected):
        fail(f"{what}: forma esperada {tuple(expected)}, recebida {shape}")


def check_dtype(what, value, expected):
    dtype = value.dtype
    if str(dtype) != expected:
        fail(f"{what}: dtype esperado {expected}, recebido {dtype}")


def check_close(what, actual, expected):
    """Elementwise closeness with the tolerance of the received dtype."""
    check_shape(what, actual, expected.shape)
    rtol, atol = tolerance(actual.dtype, expected.dtype)
    actual64, expected64 = actual.astype(np.float64), expected.astype(np.float64)
    bad = ~np.isclose(actual64, expected64, rtol=rtol, atol=atol)
    if bad.any():
        diff = np.nan_to_num(np.abs(actual64 - expected64), nan=np.inf)
        fail(
            f"{what}: {int(bad.sum())} de {bad.size} valores fora da tolerância "
            f"(maior diferença {diff.max():.3g}; rtol={rtol:g}, atol={atol:g})"
        )


def check_standard_normal(what, samples):
    """Samples look drawn from N(0, 1) (Kolmogorov-Smirnov), whatever the source."""
    samples = np.asarray(samples, dtype=np.float64).ravel()
    if not np.isfinite(samples).all():
        fail(f"{what}: contém valores não finitos (inf ou nan)")
    p_value = stats.kstest(samples, "norm").pvalue
    if p_value < NORMAL_P_VALUE:
        fail(
            f"{what}: os valores não parecem sorteados de N(0, 1): média {samples.mean():.3f}, "
            f"desvio padrão {samples.std():.3f} em {samples.size} amostras"
        )


def check_recurrence(what, X, H, W_in, W_rec, bias):
    """H[t] = tanh(X[t] W_in + H[t-1] W_rec + bias) for every t >= 1.

    Checked on the student's own states, so it holds whatever H_0 they drew.
    """
    H64 = H.astype(np.float64)
    n, b, h = H64.shape
    # As 2-D products: one BLAS call each instead of one per time step.
    pre = X[1:].reshape(-1, X.shape[-1]) @ W_in + H64[:-1].reshape(-1, h) @ W_rec
    expected = np.tanh(pre.reshape(n - 1, b, W_in.shape[1]) + bias)
    rtol, atol = tolerance(H.dtype, W_in.dtype)
    bad = ~np.isclose(H64[1:], expected, rtol=rtol, atol=atol)
    if bad.any():
        t = int(np.argwhere(bad)[0][0]) + 2  # states are H_1..H_n and the check starts at H_2
        diff = np.nan_to_num(np.abs(H64[1:] - expected), nan=np.inf).max()
        fail(
            f"{what}: H_t não segue H_t = tanh(X_t W_xh + H_(t-1) W_hh + b_h) a partir do H_(t-1) "
            f"que você mesmo devolveu; primeiro erro em t={t} de {len(H)} (maior diferença {diff:.3g})"
        )
    if not (np.abs(H64[0]) <= 1).all():
        fail(f"{what}: H_1 tem valores fora de [-1, 1], então não é a saída de um tanh")


def input_gradient(G, H, W_in, W_rec):
    """d(sum(G * H))/dX for the recurrence above, from the states H alone."""
    grad = np.zeros((len(H), H.shape[1], W_in.shape[0]))
    delta = np.zeros_like(G[0])
    for t in reversed(range(len(H))):
        a = (G[t] + delta) * (1 - H[t] ** 2)
        grad[t] = a @ W_in.T
        delta = a @ W_rec.T
    return grad


def check_initial_states(what, H0s):
    """H_0 drawn from N(0, 1), with its own value per sample, anew at every call."""
    first = H0s[0]
    if len(first) > 1 and np.allclose(first, first[0]):
        fail(f"{what}: todas as linhas de H_0 são iguais; cada amostra do batch deve ter o seu H_0")
    if any(np.allclose(first, other) for other in H0s[1:]):
        fail(f"{what}: H_0 é igual em duas chamadas; sorteie um novo a cada chamada")
    check_standard_normal(what, np.stack(H0s))


def entry(what, params, key):
    """params[key] as an array, for a student's dict of parameters."""
    if not isinstance(params, dict):
        fail(f"{what}: deve devolver dict, devolveu {type_name(params)}")
    if key not in params:
        fail(f"{what}: o dict não tem a chave {key!r} (chaves: {sorted(params)})")
    return as_array(f"{what}[{key!r}]", params[key])


def check_params(what, params, shapes):
    """A dict with exactly these keys, each a float64 ndarray of the given shape."""
    check_type(what, params, dict)
    if set(params) != set(shapes):
        fail(f"{what}: chaves esperadas {sorted(shapes)}, recebidas {sorted(params)}")
    for key, shape in shapes.items():
        check_type(f"{what}[{key!r}]", params[key], np.ndarray)
        check_shape(f"{what}[{key!r}]", params[key], shape)
        check_dtype(f"{what}[{key!r}]", params[key], "float64")
