"""rnn_cell_module: class RNN(nn.Module) iterating an nn.RNNCell, on every device.

The grader never imports torch. Each run loads the grader's own weights into
the module's nn.RNNCell, and the checks recompute the recurrence (and dL/dX)
from those weights and the states the module returned. What the student's
process reports about the module itself (its cells, its device, whether the
weights changed) is a claim: it can cost points when false, and no test
passes on a claim alone. Outputs are read and explained as in rnn_forward
(diagnosis.py); errors that a known mistake causes are named, never shown raw.
"""
import re

import numpy as np

from autograder.authoring import (
    SequenceValue,
    StudentError,
    TensorValue,
    as_array,
    check_close,
    check_dtype,
    check_type,
    fail,
    points,
)

from .common import (
    LECTURE,
    check_given_initial_state,
    check_initial_states,
    check_states,
    check_weights_drive_output,
    error_kind,
    initial_states,
    input_gradient,
    rnn_params,
    same_mistakes,
    setting,
    short_lengths,
    small_sizes,
    takes_no_initial_state,
)
from .diagnosis import diagnose
from .mistakes import explain, fail_with

WHAT = "RNN(...)(X)"
SIZES = (LECTURE["seq_len"], LECTURE["batch"], LECTURE["input"], LECTURE["hidden"])
# What the meta device is, for a student who never met it.
META = ("com X no device 'meta' (um device do PyTorch que só guarda formas, sem dados, usado aqui para conferir "
        "que o módulo segue o device de X)")

# The notebook's setup cell names its torch device `device`: during each CPU or CUDA run it is that run's
# device, so a module that uses it loses the device test (on "meta") and only it, on any grader.
DEVICE_GLOBAL = "device"


def cell_weights(gen, d, h):
    """The grader's weights in nn.RNNCell's layout, and the recurrence they define in the NumPy convention."""
    p = rnn_params(gen, d, h)
    bias_ih = 0.1 * gen.standard_normal(h)
    weights = {"weight_ih": p["Wxh"].T, "weight_hh": p["Whh"].T, "bias_ih": bias_ih, "bias_hh": p["bh"][0] - bias_ih}
    weights = {name: np.ascontiguousarray(w, dtype=np.float32) for name, w in weights.items()}
    return weights, (weights["weight_ih"].T, weights["weight_hh"].T, weights["bias_ih"] + weights["bias_hh"])


def cell_report(part) -> dict:
    """What the module says it holds, at the lecture's sizes (a claim: it can only cost)."""
    d, h, b = LECTURE["input"], LECTURE["hidden"], LECTURE["batch"]
    return part.once("cells", lambda: part.module("RNN", (d, h, b), submodules="RNNCell", parameters=True))


def reported(report: dict, key: str) -> list:
    """A list the student's process reported: names, or settings holding only plain values (a claim)."""
    items = report.get(key)
    items = list(items.items) if isinstance(items, SequenceValue) else []
    return [{k: v for k, v in item.items() if isinstance(v, (str, float))} if isinstance(item, dict) else item
            for item in items if isinstance(item, (str, dict))]


def nonstandard_cell(part) -> bool:
    """The module's cell is a ReLU or bias-free one (its own report)."""
    cells = [c for c in reported(cell_report(part), "submodules") if isinstance(c, dict)]
    return any(c.get("nonlinearity") not in (None, "tanh") or c.get("bias") == 0 for c in cells)


def cell_made_in_forward(part) -> bool:
    """forward creates the nn.RNNCell it runs (its own report)."""
    X = part.rng("module/made_in_forward").standard_normal((2, 3, 4)).astype(np.float32)
    try:
        result = part.module("RNN", (4, 5, 3), device="cpu", inputs=[X])
    except StudentError:
        return False
    return "RNNCell" in reported(result, "made_in_forward")


def missing_cell(part) -> tuple:
    """Why the module holds no nn.RNNCell the grader can load: nn.RNN, a cell made in forward, or none."""
    if "RNN" in reported(cell_report(part), "torch_types"):
        return ("uses_nn_rnn",)
    return ("cell_created_in_forward",) if part.once("made", lambda: cell_made_in_forward(part)) else ("no_rnn_cell",)


# What PyTorch says, in English, when a known mistake meets nn.RNNCell: the mistake it means.
ERRORS = [
    (r"hidden0 batch size (1|{h})\b", "h0_shared_across_batch"),  # one row, or a vector of h
    (r"doesn't match hidden0 batch size", "sizes_from_constructor"),
    (r"inconsistent hidden_size|size mismatch|shapes cannot be multiplied", "sizes_from_globals"),
    (r"numpy\(\) on Tensor that requires grad|tensor to numpy", "graph_detached"),
    (r"device|cuda", "device_fixed"),
]


def named_error(part, exc: StudentError, what: str, on_meta: bool = False, h: int = SIZES[3]):
    """Fail with the mistake behind an error the module raised, if it is a known one; else let it be
    (h: the hidden size the module was built with)."""
    text = str(exc)
    if text.startswith("LookupError") and "nn.RNNCell" in text:  # the grader's weights fit no cell it holds
        cells = [c for c in reported(cell_report(part), "submodules") if isinstance(c, dict)]
        fail_with(what, *(("sizes_from_globals",) if cells else missing_cell(part)))
    if "meta tensor" in text:  # moved X off its device, or took its numbers: which, the CPU tells
        _, _, result = run(part, "cpu", part.rng("module/meta"), *SIZES, load=False)
        detached = not all(t.requires_grad for t in tensors_in(result.get("output")))
        fail_with(what, "graph_detached" if detached else "device_fixed",
                  detail=f"{META}, o forward precisou dos números de X ou o tirou do device; ")
    code = next((code for pattern, code in ERRORS if re.search(pattern.format(h=h), text, re.IGNORECASE)), None)
    if code:
        fail_with(what, code, detail=f"{META}, " * on_meta + f"o código lançou {error_kind(exc)}; ")
    if on_meta:
        fail(f"{what}: {META}, o código lançou {error_kind(exc)}")
    raise exc


def run(part, device, gen, n, b, d, h, batch_size=None, load=True, what=WHAT, H0=None, grad_output=None):
    """X of shape (n, b, d) through RNN(d, h, batch_size or b) on `device` (and H0, forward's optional initial
    state, when given), with the grader's weights if `load`."""
    X = gen.standard_normal((n, b, d)).astype(np.float32)
    weights, used = cell_weights(gen, d, h)
    load = {"type": "RNNCell", "weights": weights} if load else None
    try:
        result = part.module("RNN", (d, h, batch_size or b), device=device, inputs=[X] if H0 is None else [X, H0],
                             load=load, device_global=DEVICE_GLOBAL, grad_output=grad_output)
    except StudentError as exc:
        if H0 is not None and takes_no_initial_state(exc):
            raise
        named_error(part, exc, what, h=h)
    return X, used, result


def small_run(part, device, gen, n, **kwargs):
    """run() with a sequence of n steps at the lecture's other sizes, or the lecture's whole when that
    raises: a mistake with sizes costs the sizes test only."""
    _, b, d, h = SIZES
    try:
        return run(part, device, gen, n, b, d, h, **kwargs)
    except StudentError as exc:
        if "H0" in kwargs and takes_no_initial_state(exc):
            raise
        return run(part, device, gen, *SIZES, **{k: v for k, v in kwargs.items() if k != "grad_output"})


def read(part, X, used, result, what=WHAT):
    """The output read as states and explained; a module that changed the loaded weights fails here."""
    if result.get("weights_unchanged", 1.0) != 1.0:  # a claim: missing, it costs nothing
        fail(f"{what}: o forward alterou os pesos da nn.RNNCell; ele só deve lê-los")
    reading = diagnose(X, result.get("output"), used)
    if nonstandard_cell(part):  # a ReLU or bias-free cell: the module's mistake is the cell's settings
        reading.behaviour = tuple(dict.fromkeys("cell_config" if c in ("missing_bias", "wrong_activation") else c
                                                for c in reading.behaviour))
    return reading


def lecture_run(part, device):
    n, b, d, h = SIZES
    return part.once(f"lecture/{device}", lambda: run(part, device, part.rng("module/recurrence"), n, b, d, h))


def tensors_in(value) -> list:
    items = value.items if isinstance(value, SequenceValue) else [value]
    return [v for v in items if isinstance(v, TensorValue)]


@points(0.25, "guarda uma célula nn.RNNCell com os tamanhos pedidos")
def test_holds_an_rnn_cell(part):
    d, h, b = LECTURE["input"], LECTURE["hidden"], LECTURE["batch"]
    found = [c for c in reported(cell_report(part), "submodules") if isinstance(c, dict)]
    what = f"RNN({d}, {h}, {b})"
    if not found:
        fail_with(what, *missing_cell(part))
    sizes = {"input_size": d, "hidden_size": h}
    if any(all(c.get(k) == v for k, v in sizes.items()) for c in found) and nonstandard_cell(part):
        fail_with(what, "cell_config")
    wanted = {**sizes, "nonlinearity": "tanh", "bias": True}
    if not any(all(c.get(k) == v for k, v in wanted.items()) for c in found):
        shown = ", ".join(f"nn.RNNCell({', '.join(setting(c.get(k)) for k in wanted)})" for c in found[:3])
        shown += ", ..." if len(found) > 3 else ""
        fail(f"{what} deve guardar uma célula nn.RNNCell({d}, {h}) (tanh, com viés) como atributo; "
                    f"encontradas: {shown}")
    # Initialised by PyTorch: every parameter of the cell in U(-1/sqrt(h), 1/sqrt(h)).
    report = cell_report(part).get("parameters")
    weights = [p for p in report.items if isinstance(p, dict)] if isinstance(report, SequenceValue) else []
    bound = (1 + 1e-6) / np.sqrt(h)
    if weights and any(isinstance(w, np.ndarray) and w.size and not np.all(np.abs(w) <= bound)
                       for cell in weights for w in cell.values()):
        fail_with(what, "cell_reinitialised")
    # ... and spread over that interval as a uniform draw is (zeros or a narrow draw are another initialisation)
    large = [w for cell in weights for w in cell.values() if isinstance(w, np.ndarray) and w.size >= 10_000]
    if any(not 0.9 < np.std(w) * np.sqrt(3 * h) < 1.1 for w in large):
        fail_with(what, "cell_reinitialised")
    # The claim above earns nothing alone: the cell's weights must drive the output.
    gen = part.rng("module/holds")
    X, used, result = small_run(part, "cpu", gen, 4)
    _, unused = cell_weights(gen, d, h)
    reading = read(part, X, used, result)
    if reading.states is None:
        check_states(WHAT, X, reading, *used)
    check_weights_drive_output(WHAT, X, reading.states, used, unused)


@points(0.25, "devolve um tensor float32 de forma (N, B, h)")
def test_returns_float32_tensor_of_shape_n_b_h(part, torch_device):
    # A shorter sequence than the lecture's shows the same shape and dtype.
    X, _, result = small_run(part, torch_device, part.rng("module/type"), 10, load=False)
    n, b, h = len(X), X.shape[1], SIZES[3]
    out = result.get("output")
    form = diagnose(X, out, h=h).form
    if form:
        fail_with(WHAT, *form)
    check_type(WHAT, out, TensorValue)
    check_dtype(WHAT, as_array(WHAT, out, (n, b, h)), "float32")
    check_dtype(WHAT, out, "float32")  # what the tensor claims to be, besides the numbers received
    if out.device.split(":")[0] != torch_device:
        fail_with(WHAT, "device_fixed", detail=f"a saída está em {out.device}, X estava em {torch_device}; ")


@points(2, "aplica a célula a cada passo, a partir do estado anterior")
def test_states_follow_the_recurrence(part, torch_device):
    X, used, result = lecture_run(part, torch_device)
    check_states(WHAT, X, read(part, X, used, result), *used)


def output_gradient(form: tuple, out, G):
    """G, of the states' shape (n, b, h), laid out as the module's output `out` is (as diagnosis.read_forms read
    it): the structure the grader multiplies the output by, an array where a tensor is, None where nothing
    flows back (the last state of a tuple (states, H_n))."""
    if isinstance(out, SequenceValue):
        if "returns_tuple" in form and out.items:
            inner = tuple(f for f in form if f != "returns_tuple")
            return [output_gradient(inner, out.items[0], G)] + [None] * (len(out.items) - 1)
        return [np.ascontiguousarray(g) for g in G]  # a list of the n states
    n, b, h = G.shape
    if "last_state_only" in form:
        return np.ascontiguousarray(G[-1])
    if "h0_included" in form:
        G = np.concatenate([np.zeros_like(G[:1]), G])
    if "extra_state" in form:
        G = np.concatenate([G, np.zeros_like(G[:1])])
    if "cat_instead_of_stack" in form:
        G = G.reshape(n * b, h) if getattr(out, "shape", None) == (n * b, h) else G.swapaxes(0, 1).reshape(b, n * h)
    if "wrong_stack_axis" in form:
        G = G.swapaxes(0, 1)
    return np.ascontiguousarray(G)


def gradient_of_x(result: dict):
    """What the student's process reported as the gradient with respect to X, its first input."""
    grads = result.get("input_grads")
    return grads.items[0] if isinstance(grads, SequenceValue) and grads.items else None


@points(0.5, "mantém o grafo do autograd")
def test_keeps_the_autograd_graph(part, torch_device):
    gen = part.rng("module/autograd")
    X, used, result = small_run(part, torch_device, gen, 6)
    (n, b, _), h = X.shape, SIZES[3]
    G = gen.standard_normal((n, b, h)).astype(np.float32)
    reading = read(part, X, used, result)
    if "last_state_only" in reading.form:
        G[:-1] = 0  # only H_N came back: the gradient flows from it alone
    raw = output_gradient(reading.form, result.get("output"), G)
    X, used, result = run(part, torch_device, part.rng("module/autograd/grad"), n, b, X.shape[2], h, grad_output=raw)
    reading = read(part, X, used, result)
    tensors = tensors_in(result.get("output"))
    if not tensors or not all(t.requires_grad for t in tensors) or gradient_of_x(result) is None:
        fail_with(WHAT, "graph_detached")
    if reading.states is None or "last_state_only" not in reading.form:
        check_states(WHAT, X, reading, *used, first_step=False)  # the gradient below is the recurrence's
    H = reading.states.astype(np.float64)
    W_in, W_rec, _ = (w.astype(np.float64) for w in used)
    try:
        # From X_2 on: how H_1 takes X_1 is the recurrence's test (the first step's own check).
        expected = input_gradient(G.astype(np.float64), H, W_in, W_rec)
        received = as_array(WHAT, gradient_of_x(result), expected.shape)
        check_close("gradiente de sum(G * saída) em relação a X (G: um tensor aleatório do corretor)",
                    received[1:], expected[1:])
    except AssertionError as exc:  # right states, wrong gradient: the graph is cut somewhere on the way
        fail(f"{exc}; {explain(['graph_detached'])}", "graph_detached")


@points(0.25, "parte de um H_0 novo, sorteado de N(0, 1), ou do H0 dado")
def test_initial_state(part, torch_device):
    # H_0 is read back from the lecture's run and from runs of lengths drawn from the seed: no call is a probe.
    X, used, result = lecture_run(part, torch_device)
    H0s = [initial_states(WHAT, X, read(part, X, used, result), *used, required=False)]
    gen = part.rng("module/h0")
    for n in short_lengths(part, f"module/h0/lengths/{torch_device}"):
        X, used, result = small_run(part, torch_device, gen, n)
        H0s.append(initial_states(WHAT, X, read(part, X, used, result), *used))
    H0s = [H0 for H0 in H0s if H0 is not None]
    check_initial_states(WHAT, H0s)
    # Given the optional H0 (as nn.RNN takes one), H_1 starts from it; the lecture's signature has none.
    what = "RNN(...)(X, H0)"
    H0 = gen.standard_normal(H0s[-1].shape).astype(np.float32)
    try:
        X, used, result = small_run(part, torch_device, gen, len(X), what=what, H0=H0)
    except StudentError as exc:
        if takes_no_initial_state(exc):
            return
        raise
    check_given_initial_state(what, X, read(part, X, used, result, what), H0, *used)


@points(0.25, "tira os tamanhos da entrada")
def test_uses_sizes_from_its_input(part, torch_device):
    lecture = read(part, *lecture_run(part, torch_device))
    gen = part.rng("module/sizes")
    # The batch of X differs from the constructor's batch_size in some runs: H_0 must follow X.
    broken = []
    same = small_sizes(part, "module/sizes/same", 4)  # batch_size == B here; in the two others it differs
    for n, b, d, h, batch_size in [small_sizes(part, "module/sizes/a", 5), (1, 1, 1, 1, 1),
                                   small_sizes(part, "module/sizes/b", 5), (*same, same[1])]:
        what = f"RNN({d}, {h}, {batch_size}) com X de forma {(n, b, d)}"
        try:
            X, used, result = run(part, torch_device, gen, n, b, d, h, batch_size=batch_size, what=what)
        except StudentError as exc:
            broken.append((what, batch_size == b, f"o código lançou {error_kind(exc)}; "))
            continue
        reading = read(part, X, used, result, what)
        if reading.states is None and lecture.states is not None:
            shape = getattr((tensors_in(result.get("output")) or [None])[0], "shape", None)
            broken.append((what, batch_size == b, f"devolveu forma {shape}; " if shape else ""))
            continue
        if same_mistakes(lecture, X, reading, *used):
            continue
        check_states(what, X, reading, *used)
    if broken:
        what, _, detail = broken[0]
        if any(same_batch for _, same_batch, _ in broken):
            fail_with(what, "sizes_from_globals", detail=detail)
        fail_with(what, "sizes_from_constructor", detail=detail)


# What PyTorch says when forward needs X's numbers, which a tensor on 'meta' does not have.
READS_VALUES = r"item\(\) cannot be called on meta|data-independent implementation"
READS_VALUES_NOTE = ("o forward lê os números de X (um teste de NaN, um valor impresso...), que o device 'meta' "
                     "não tem; sem GPU neste corretor, o device foi conferido com X na CPU e o device padrão "
                     "do PyTorch e o global `device` valendo 'meta': um tensor criado longe de X aparece assim, "
                     "mas um device fixo escrito no código ('cpu') só aparece num corretor com CUDA")


def check_device_reading_values(part, gen):
    """The device of a module that needs X's numbers: X on CUDA where the grader has it, else on the CPU, with
    the notebook's device global and torch's default device both 'meta' while forward runs (the decoy): a
    tensor made on the default or the global device then meets X's and fails, as it would on another device."""
    n, b, d, h = SIZES
    device = "cuda" if "cuda" in part.devices else "cpu"
    X = gen.standard_normal((n, b, d)).astype(np.float32)
    weights, used = cell_weights(gen, d, h)
    try:
        result = part.module("RNN", (d, h, b), device=device, inputs=[X], load={"type": "RNNCell", "weights": weights},
                             device_global=DEVICE_GLOBAL, decoy="meta")
    except StudentError as exc:
        fail_with(WHAT, "device_fixed", detail=f"com X em {device} e o device padrão e o global `device` valendo "
                                               "'meta' (um device do PyTorch que só guarda formas, sem dados), o "
                                               f"código lançou {error_kind(exc)}; ")
    elsewhere = sorted({t.device for t in tensors_in(result.get("output")) if t.device.split(":")[0] != device})
    if elsewhere:
        fail_with(WHAT, "device_fixed", detail=f"com X em {device}, a saída ficou em {', '.join(elsewhere)}; ")
    if not read(part, X, used, result).explained:
        fail(f"{WHAT}: com X em {device}, a saída não é a pilha de estados da recorrência")
    if device == "cpu":
        part.note(READS_VALUES_NOTE)


@points(0.5, "segue o device da entrada")
def test_follows_the_device_of_its_input(part):
    # The meta device computes nothing but refuses tensors made on another
    # device: it catches a hard-coded or global device even without a GPU.
    # What it reports is a claim, so the same sizes must also give real states on the CPU.
    gen = part.rng("module/device")
    n, b, d, h = SIZES  # the lecture's: a mistake with sizes costs the sizes test only (meta computes nothing)
    try:
        result = part.module("RNN", (d, h, b), device="meta", shapes=[[n, b, d]])
    except StudentError as exc:
        if re.search(READS_VALUES, str(exc)):
            return check_device_reading_values(part, gen)
        named_error(part, exc, WHAT, on_meta=True)
    out = result.get("output")
    tensors = tensors_in(out)
    if not tensors:
        check_type(WHAT, out, TensorValue)
    elsewhere = sorted({t.device for t in tensors if t.device != "meta"})
    if elsewhere:
        fail_with(WHAT, "device_fixed", detail=f"{META}, a saída ficou em {', '.join(elsewhere)}; ")
    X, used, result = run(part, "cpu", gen, n, b, d, h)
    if not read(part, X, used, result).explained:
        fail(f"{WHAT}: na CPU, com os mesmos tamanhos, a saída não é a pilha de estados da recorrência")
