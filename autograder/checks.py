"""Every check the hidden tests make, defined once.

A check takes what the student returned (plain values, see values.py) and
raises AssertionError with a message a student can act on: which property
failed, with the numbers (largest difference, the shape received and the one
expected), never the hidden inputs or the expected arrays themselves.

The grader bounds its own work: a student's array reaches arithmetic only
through `as_array`, which first checks its shape against the contract, so
nothing a student returns can make a check broadcast or allocate more than
the contract's sizes (the largest is the lecture's (50, 10, 512)).
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


def check_shape(what, array, expected):
    shape = tuple(array.shape)
    if shape != tuple(expected):
        fail(f"{what}: forma esperada {tuple(expected)}, recebida {shape}")


def as_array(what, value, shape):
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


def check_type(what, value, expected):
    if not isinstance(value, expected):
        names = {np.ndarray: "np.ndarray", TensorValue: "torch.Tensor", dict: "dict"}
        fail(f"{what}: deve devolver {names[expected]}, devolveu {type_name(value)}")


def check_dtype(what, value, expected):
    dtype = value.dtype
    if str(dtype) != expected:
        fail(f"{what}: dtype esperado {expected}, recebido {dtype}")


def check_close(what, actual, expected):
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


def recurrence_residual(X, H, W_in, W_rec, bias):
    """H[t] - tanh(X[t] W_in + H[t-1] W_rec + bias) for t >= 1 (all arrays already of the contract's shapes)."""
    H64 = H.astype(np.float64)
    n, b, h = H64.shape
    # As 2-D products: one BLAS call each instead of one per time step.
    pre = X[1:].reshape(-1, X.shape[-1]) @ W_in + H64[:-1].reshape(-1, h) @ W_rec
    return H64[1:] - np.tanh(pre.reshape(n - 1, b, h) + bias)


def check_recurrence(what, X, H, W_in, W_rec, bias):
    """H[t] = tanh(X[t] W_in + H[t-1] W_rec + bias) for every t >= 1.

    Checked on the student's own states, so it holds whatever H_0 they drew;
    the weights are the grader's.
    """
    H = as_array(what, H, (X.shape[0], X.shape[1], W_in.shape[1]))
    residual = recurrence_residual(X, H, W_in, W_rec, bias)
    rtol, atol = tolerance(H.dtype, W_in.dtype)
    bad = ~(np.abs(residual) <= atol + rtol * np.abs(H[1:].astype(np.float64)))
    if bad.any():
        t = int(np.argwhere(bad)[0][0]) + 2  # states are H_1..H_n and the check starts at H_2
        diff = np.nan_to_num(np.abs(residual), nan=np.inf).max()
        fail(
            f"{what}: H_t não segue H_t = tanh(X_t W_xh + H_(t-1) W_hh + b_h) a partir do H_(t-1) "
            f"que você mesmo devolveu; primeiro erro em t={t} de {len(H)} (maior diferença {diff:.3g})"
        )
    if not (np.abs(H[0]) <= 1).all():
        fail(f"{what}: H_1 tem valores fora de [-1, 1], então não é a saída de um tanh")


def check_weights_drive_output(what, X, H, used, unused):
    """The output follows the weights the grader loaded (`used`) far better than unrelated ones (`unused`).

    Each is (W_in, W_rec, bias). A module that ignores the loaded weights fits
    both equally badly; one that iterates its cell fits `used` exactly.
    """
    H = as_array(what, H, (X.shape[0], X.shape[1], used[0].shape[1]))
    if len(H) < 2:
        return
    with np.errstate(all="ignore"):
        fit_used = np.nan_to_num(np.abs(recurrence_residual(X, H, *used)), nan=np.inf).mean()
        fit_unused = np.nan_to_num(np.abs(recurrence_residual(X, H, *unused)), nan=np.inf).mean()
    if not fit_used < 0.1 * fit_unused:
        fail(f"{what}: a saída não segue os pesos do nn.RNNCell do módulo (ele é mesmo usado no forward?)")


def initial_states(what, X, H, W_in, W_rec_inverse, bias):
    """The H_0 each sample started from, read back from H_1 with the inverse of the grader's W_rec."""
    H1 = as_array(what, H, (X.shape[0], X.shape[1], W_in.shape[1]))[0].astype(np.float64)
    with np.errstate(all="ignore"):
        pre = np.arctanh(H1) - X[0] @ W_in - bias
    if not np.isfinite(pre).all():
        fail(f"{what}: H_1 tem valores iguais a ±1 ou fora de (-1, 1), então não é tanh de um estado finito")
    return pre @ W_rec_inverse


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
    if len(first) > 1 and np.allclose(first, first[0], rtol=1e-4, atol=1e-4):
        fail(f"{what}: todas as linhas de H_0 são iguais; cada amostra do batch deve ter o seu H_0")
    if any(np.allclose(first, other, rtol=1e-4, atol=1e-4) for other in H0s[1:]):
        fail(f"{what}: H_0 é igual em duas chamadas; sorteie um novo a cada chamada")
    check_standard_normal(what, np.stack(H0s))


def entry(what, params, key, shape):
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


def check_params(what, params, shapes):
    """A dict with exactly these keys, each a float64 ndarray of the given shape."""
    check_type(what, params, dict)
    if set(params) != set(shapes):
        fail(f"{what}: chaves esperadas {sorted(shapes)}, recebidas {sorted(params)}")
    for key, shape in shapes.items():
        check_type(f"{what}[{key!r}]", params[key], np.ndarray)
        check_shape(f"{what}[{key!r}]", params[key], shape)
        check_dtype(f"{what}[{key!r}]", params[key], "float64")
