"""Inputs the grader builds, the checks of the recurrence, and the tests shared by the two init_weights parts.

Every input comes from `part.rng(name)`: a generator seeded by a secret drawn
once per grading run (and the test's name), so no two runs use the same hidden
inputs. Every call uses the same kind of weights, so no call can be told apart
as a probe.
"""
import functools

import numpy as np

from autograder import checks
from autograder.assignment import points
from autograder.checks import as_array, check_standard_normal, fail, tolerance

LECTURE = {"seq_len": 50, "batch": 10, "input": 100, "hidden": 512}


@functools.lru_cache(maxsize=16)
def _orthogonal_basis(n, seed):
    """One dense random orthogonal matrix per size: a QR costs milliseconds, so it is made once."""
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def random_orthogonal(gen, n):
    """A fresh dense random orthogonal matrix: one of four bases, its rows permuted and their signs flipped."""
    basis = _orthogonal_basis(n, int(gen.integers(4)))
    signs = gen.choice([-1.0, 1.0], (n, 1))
    return basis.take(gen.permutation(n), axis=0) * signs


def rnn_params(gen, d, h):
    """W_xh, W_hh, b_h that keep tanh far from saturation, so every check sees real values.

    W_hh is a random orthogonal matrix times c in [0.5, 0.8]: invertible, so the
    H_0 of any call can be read back from its H_1, and W_hh^T W_hh^-1 is
    orthogonal, so a transposed W_hh costs the recurrence, not the test of H_0.
    X_t W_xh stays small (variance 0.05): an H_1 that ignores H_0 reads back as
    an H_0 far narrower than N(0, 1).
    """
    return {
        "Wxh": np.sqrt(0.05 / d) * gen.standard_normal((d, h)),
        "Whh": gen.uniform(0.5, 0.8) * random_orthogonal(gen, h),
        "bh": 0.1 * gen.standard_normal((1, h)),
    }


def ff_params(gen, d, h):
    return {"Wxh": gen.standard_normal((d, h)) / np.sqrt(d), "bh": 0.1 * gen.standard_normal((1, h))}


def recurrence(params):
    """(W_in, W_rec, bias) of the NumPy convention, for the checks."""
    return params["Wxh"], params["Whh"], params["bh"]


def inverse(W_rec):
    """The inverse of a W_hh made by rnn_params, c times an orthogonal matrix: W^T / c^2, in O(h^2)."""
    W_rec = W_rec.astype(np.float64)
    return W_rec.T / (np.square(W_rec).sum() / len(W_rec))


def read_back_initial_states(what, X, out, W_in, W_rec, bias):
    """The H_0 of one call, from its H_1 (see initial_states)."""
    W_in, bias = W_in.astype(np.float64), bias.astype(np.float64)
    return initial_states(what, X, out, W_in, inverse(W_rec), bias)


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


def check_init_shapes(part, shapes):
    """init_weights(d, h) returns float64 arrays of shapes(d, h), also for sizes other than the lecture's."""
    for d, h in [(LECTURE["input"], LECTURE["hidden"]), (3, 7), (1, 1)]:
        checks.check_params(f"init_weights({d}, {h})", part.call("init_weights", d, h), shapes(d, h))


def check_init_normal(part, shapes):
    """Every weight is drawn from N(0, 1), judged on many draws pooled over calls."""
    pooled = {key: [] for key in shapes(1, 1)}
    for d, h in [(200, 150), (1, 150)]:  # 3 * 10^4 draws of Wxh, 2 * 10^4 of Whh, 300 of bh
        what = f"init_weights({d}, {h})"
        params = part.call("init_weights", d, h)
        for key, shape in shapes(d, h).items():
            # Only the count is bound here: a wrong shape costs the shape test, not this one.
            pooled[key].append(checks.entry(what, params, key, (int(np.prod(shape)),)))
    for key in pooled:
        checks.check_standard_normal(f"init_weights(...)[{key!r}]", np.concatenate(pooled[key]))


def init_weights_tests(shapes):
    """The two tests of an init_weights part, for the parameters that shapes(d, h) describes."""

    @points(0.5, "devolve as chaves e as formas do contrato")
    def test_returns_the_contract_shapes(part):
        check_init_shapes(part, shapes)

    @points(0.5, "sorteia os pesos de N(0, 1)")
    def test_draws_from_standard_normal(part):
        check_init_normal(part, shapes)

    return test_returns_the_contract_shapes, test_draws_from_standard_normal


def takes_no_initial_state(error: Exception) -> bool:
    """Whether a call failed only because the function has no H0 argument (the lecture's signature):
    then the optional initial state is not checked, and costs nothing."""
    text = str(error)
    return "TypeError" in text and ("positional argument" in text or "unexpected keyword" in text)


def check_first_step(what, X, H, H0, W_in, W_rec, bias):
    """H_1 = tanh(X_1 W_in + H0 W_rec + bias) for the H0 the grader gave."""
    H = as_array(what, H, (X.shape[0], X.shape[1], W_in.shape[1]))
    expected = np.tanh(X[0].astype(np.float64) @ W_in + H0.astype(np.float64) @ W_rec + bias)
    checks.check_close(f"{what}: H_1 a partir do H0 dado", H[0], expected.astype(H.dtype))

