"""Inputs the grader builds, the checks of the recurrence, and the tests shared by the two init_weights parts.

Every input comes from `part.rng(name)`: a generator seeded by a secret drawn
once per grading run (and the test's name), so no two runs use the same hidden
inputs. Every call uses the same kind of weights, so no call can be told apart
as a probe.
"""
import functools
import re

import numpy as np

from autograder.authoring import (
    as_array,
    check_standard_normal,
    check_type,
    entry,
    fail,
    is_float64,
    points,
    text,
    tolerance,
)

from .diagnosis import LOOSE, Reading, explain_states, initial_state
from .mistakes import explain, fail_with

LECTURE = {"seq_len": 50, "batch": 10, "input": 100, "hidden": 512}
LARGEST = LECTURE["hidden"] ** 2  # numbers in the largest parameter at the lecture's sizes


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
            f"{what}: H_t difere de tanh(X_t W_xh + H_(t-1) W_hh + b_h), calculado a partir do H_(t-1) "
            f"que você mesmo devolveu; primeiro erro em t = {t} (de {len(H)}; maior diferença {diff:.3g})"
        )
    if not (np.abs(H[0]) <= 1).all():
        fail(f"{what}: H_1 tem valores fora de [-1, 1], então não é a saída de uma tanh")


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
        fail(f"{what}: a saída não segue os pesos da nn.RNNCell do módulo (ela é mesmo usada no forward?)")


def input_gradient(G, H, W_in, W_rec):
    """d(sum(G * H))/dX for the recurrence above, from the states H alone."""
    grad = np.zeros((len(H), H.shape[1], W_in.shape[0]))
    delta = np.zeros_like(G[0])
    for t in reversed(range(len(H))):
        a = (G[t] + delta) * (1 - H[t] ** 2)
        grad[t] = a @ W_in.T
        delta = a @ W_rec.T
    return grad


def initial_states(what, X, reading: Reading, W_in, W_rec, bias, required: bool = True) -> "np.ndarray | None":
    """The H_0 of one call, read back from its states with the inverse of the grader's W_rec (None when it cannot
    be and not `required`: the lecture's long run of a function that returns only H_N)."""
    H0 = None if reading.states is None and reading.H0 is None else \
        initial_state(X, reading, W_in.astype(np.float64), inverse(W_rec), bias.astype(np.float64))
    if H0 is None and not required:
        return None
    if H0 is None:
        why = explain(reading.codes) if reading.codes else \
            "os estados não seguem a recorrência (veja o teste da recorrência)"
        fail(f"{what}: não foi possível ler o H_0 da saída: {why}", *reading.codes)
    return H0


def check_initial_states(what, H0s):
    """H_0 drawn from N(0, 1), with its own value per sample, anew at every call: judged on every call read."""
    for i, H0 in enumerate(H0s):
        if np.allclose(H0, 0, atol=1e-3):
            fail_with(what, "h0_zeros")
        if len(H0) > 1 and np.allclose(H0, H0[0], rtol=1e-4, atol=1e-4):
            fail_with(what, "h0_shared_across_batch")
        if any(other.shape == H0.shape and np.allclose(H0, other, rtol=1e-4, atol=1e-4) for other in H0s[:i]):
            fail_with(what, "h0_fixed_seed")
    try:
        check_standard_normal(what, np.concatenate([H0.ravel() for H0 in H0s]))
    except AssertionError as exc:
        fail(f"{exc}; {explain(['h0_not_standard_normal'])}", "h0_not_standard_normal")


def small_sizes(part, name: str, dims: int, low: int = 2, high: int = 14) -> "tuple[int, ...]":
    """`dims` different sizes in [low, high), from the run's secret seed: no fixed shape marks a sizes test,
    and no two dimensions are equal (a transposed or swapped size always shows)."""
    return tuple(int(k) for k in part.rng(name).choice(np.arange(low, high), dims, replace=False))


def short_lengths(part, name: str, count: int = 3) -> "list[int]":
    """Sequence lengths for the initial-state test's calls, from the run's secret seed: no length marks them
    (and the lecture's run is read too), three steps or more so that H_0 reads back even from one buffer."""
    return [int(n) for n in part.rng(name).integers(3, 9, count)]


def check_states(what, X, reading: Reading, W_in, W_rec, bias, first_step: bool = True):
    """The states follow H_t = tanh(X_t W_xh + H_(t-1) W_hh + b_h); a failure names the mistakes that explain it.
    `first_step`: also that H_1 reads X_1 (left out where only the later steps matter)."""
    if reading.states is None:
        if reading.form:
            fail_with(what, *reading.form)
        as_array(what, None, (X.shape[0], X.shape[1], W_in.shape[1]))  # says what came instead
    if reading.behaviour:
        fail_with(what, *reading.behaviour)
    check_recurrence(what, X, reading.states, W_in, W_rec, bias)
    if first_step:
        check_first_step_reads_x1(what, X, reading, W_in, W_rec, bias)


FIRST_STEP_SAMPLES = 4000  # numbers in H_1 for the test below to judge


def check_first_step_reads_x1(what, X, reading: Reading, W_in, W_rec, bias):
    """H_1 = tanh(X_1 W_xh + H_0 W_hh + b_h) reads X_1: the H_0 read back from H_1 is uncorrelated with
    D = X_1 W_xh W_hh^-1, unless H_1 was computed without X_1 (then it reads back as H_0 - D: slope -1).

    The recurrence check starts at H_2, since H_0 is the student's own random draw; this closes H_1, on
    the same ordinary calls (no input can be told apart). D's variance is 0.05 / c^2 >= 0.078 (rnn_params), so
    with at least 4000 numbers the slope of a right H_1 is 0 within 0.057 (a standard deviation), and the
    threshold of -0.3 is 5.3 of them (a false alarm below 1e-7 a call); an H_1 that takes X_1 at a weight w reads
    back with a slope of w - 1, so any w below 0.7 is caught.
    """
    if reading.H0 is not None or reading.order != "right" or not reading.explained or X.shape[1] * W_in.shape[1] \
            < FIRST_STEP_SAMPLES:
        return  # H_0 in the output is checked by the recurrence itself; other orders are named mistakes
    W_in64, W_back = W_in.astype(np.float64), inverse(W_rec)
    H0 = initial_state(X, reading, W_in64, W_back, bias.astype(np.float64))
    if H0 is None:
        return
    D = X[0].astype(np.float64) @ W_in64 @ W_back
    slope = float((H0 * D).sum() / (D * D).sum())
    if slope < -0.3:
        fail_with(what, "first_step_ignores_x1", detail=f"H_1 não varia com X_1 (inclinação {slope:.2f}); ")


def same_mistakes(lecture: Reading, X, reading: Reading, W_in, W_rec, bias) -> bool:
    """The mistakes of the run at the lecture's sizes also explain this run: at other sizes they cost nothing
    more."""
    if "last_state_only" in lecture.form:
        return "last_state_only" in reading.form and reading.explained
    return bool(lecture.behaviour and lecture.explained and reading.states is not None and explain_states(
        X, reading.states, W_in, W_rec, bias, only=(lecture.step, lecture.order)) is not None)


def check_init_shapes(part, shapes):
    """init_weights(d, h) returns float64 arrays of shapes(d, h), also for sizes other than the lecture's."""
    for d, h in [(LECTURE["input"], LECTURE["hidden"]), small_sizes(part, "init/shapes", 2), (1, 1)]:
        what = f"init_weights({d}, {h})"
        params, expected = part.call("init_weights", d, h), shapes(d, h)
        check_type(what, params, dict)
        if set(params) != set(expected):
            fail_with(what, "wrong_keys", detail=f"chaves esperadas {sorted(expected)}, recebidas {sorted(params)}; ")
        found, details = [], []
        for key, shape in expected.items():
            value = params[key]
            check_type(f"{what}[{key!r}]", value, np.ndarray)
            if value.shape != shape:
                lecture = shapes(LECTURE["input"], LECTURE["hidden"])[key]
                found.append("transposed_shape" if value.shape == shape[::-1] else
                             "sizes_from_globals" if value.shape == lecture else "wrong_shape")
                details.append(f"{key} de forma {value.shape}, esperada {shape}")
            if not is_float64(value.dtype):
                found.append("not_float64")
                details.append(f"{key} de dtype {value.dtype}")
        if found:
            fail_with(what, *found, detail=", ".join(details) + "; ")


def matching_key(params, key):
    """The student's key for `key`, spelt as they did (W_xh, wxh): a wrong name costs the shape test only."""
    plain = key.lower().replace("_", "")
    return next((k for k in params if k.lower().replace("_", "") == plain), key)


def init_sizes(part) -> "list[tuple[int, int]]":
    """The sizes of the random-draw test's calls, from the run's secret seed: twice the same (d, h), enough to
    pool about 3 * 10^4 draws of W_xh, 2 * 10^4 of W_hh and a few hundred of b_h, then (1, h')."""
    gen = part.rng("init/sizes")
    d, h, h2 = int(gen.integers(150, 250)), int(gen.integers(100, 200)), int(gen.integers(100, 200))
    return [(d, h), (d, h), (1, h2)]


def check_init_normal(part, shapes):
    """Every weight is drawn from N(0, 1), judged on many draws pooled over calls, and drawn anew at each call:
    two calls of the same sizes must not return the same values (a seed fixed inside, or fixed numbers)."""
    pooled = {key: [] for key in shapes(1, 1)}
    first = {}
    for d, h in init_sizes(part):
        what = f"init_weights({d}, {h})"
        params = part.call("init_weights", d, h)
        check_type(what, params, dict)
        for key, shape in shapes(d, h).items():
            # Only the count is bound here: a wrong shape or name costs the shape test, not this one.
            if matching_key(params, key) not in params:
                fail_with(what, "wrong_keys", detail=f"falta {key!r} (chaves: {sorted(params)}); ")
            # Any shape, up to the lecture's largest: values drawn right count even if their shape is wrong.
            value = params[matching_key(params, key)]
            count = value.size if isinstance(value, np.ndarray) and value.size <= LARGEST else int(np.prod(shape))
            drawn = entry(what, params, matching_key(params, key), (count,))
            if (d, h) in first and key in first[(d, h)]:
                if np.array_equal(drawn, first[(d, h)][key]) and not np.all(drawn == 0):
                    fail_with(f"{what}, chamada duas vezes", "init_not_random",
                              detail=f"{key} saiu igual nas duas chamadas; ")
                continue  # the second draw of the same sizes is compared, not pooled twice
            first.setdefault((d, h), {})[key] = drawn
            pooled[key].append(drawn)
    for key in pooled:
        what, values = f"init_weights(...)[{key!r}]", np.concatenate(pooled[key])
        if key == "bh" and np.all(values == 0):
            fail_with(what, "zero_bias")
        try:
            check_standard_normal(what, values)
        except AssertionError as exc:
            fail(f"{exc}; {explain(['not_standard_normal'])}", "not_standard_normal")


def init_weights_tests(shapes):
    """The two tests of an init_weights part, for the parameters that shapes(d, h) describes."""

    @points(0.5, "devolve as chaves e as formas do contrato")
    def test_returns_the_contract_shapes(part):
        check_init_shapes(part, shapes)

    @points(0.5, "sorteia os pesos e o viés de N(0, 1)")
    def test_draws_from_standard_normal(part):
        check_init_normal(part, shapes)

    return test_returns_the_contract_shapes, test_draws_from_standard_normal


def takes_no_initial_state(error: Exception) -> bool:
    """Whether a call failed only because the function has no H0 argument (the lecture's signature):
    then the optional initial state is not checked, and costs nothing."""
    text = str(error)
    return "TypeError" in text and ("positional argument" in text or "unexpected keyword" in text)


def check_given_initial_state(what, X, reading: Reading, H0, W_in, W_rec, bias):
    """H_1 starts from the H0 the grader gave, by the step that explains the states: a wrong step costs the
    recurrence, and only states that do not start from H0 cost this."""
    if reading.states is None or not reading.explained or reading.order == "aliased":
        return  # no H_1 to read: the tests of the form and of the recurrence say why
    H1, H0 = reading.states[0].astype(np.float64), H0.astype(np.float64)
    if reading.order == "shifted":  # each state stored before its update: the first one is H_0 itself
        expected = H0
    else:
        x = X[-1] if reading.order == "input_shifted" else X[0]
        expected = reading.step(x.astype(np.float64) @ W_in, H0 @ W_rec, H0 @ W_rec.T, bias)
    rtol, atol = (LOOSE * t for t in tolerance(np.float32))  # whatever precision the student computed in
    without_x1 = reading.step(np.zeros_like(x @ W_in), H0 @ W_rec, H0 @ W_rec.T, bias) if reading.order == "right" \
        else None
    if without_x1 is not None and np.allclose(H1, without_x1, rtol=rtol, atol=atol):
        return  # from H0, without X_1: the recurrence's test names that mistake
    if not np.allclose(H1, expected, rtol=rtol, atol=atol):
        fail_with(f"{what}: H_1 a partir do H0 dado", "h0_argument_ignored",
                  detail=f"maior diferença {np.nan_to_num(np.abs(H1 - expected), nan=np.inf).max():.3g}; ")


def check_arguments_kept(what, changed: "list[int]", names: "tuple[str, ...]"):
    """The call left its arguments as it received them (the student's process says which it changed in place:
    a claim, which can only cost)."""
    if changed:
        named = ", ".join(names[i] for i in changed if i < len(names))
        fail_with(what, "argument_modified", detail=f"{named} mudou depois da chamada; ")


def error_kind(error: Exception) -> str:
    """The exception's type and line in a student's error, without its text (which may be raw NumPy English)."""
    text = str(error)
    kind = text.split(":", 1)[0] if text[:1].isalpha() and text.split(":", 1)[0].isidentifier() else "um erro"
    where = re.search(r"\(linha \d+ da sua célula", text)
    return kind + (f" ({where.group(0)[1:]})" if where else "")


def setting(value):
    """One of a cell's settings, as the student's process reported it, safe to show."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e9:
        return f"{value:g}"
    return text(value, 20)
