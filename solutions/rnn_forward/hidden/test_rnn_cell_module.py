"""rnn_cell_module: class RNN(nn.Module) iterating an nn.RNNCell, on every device.

The grader never imports torch. Each run loads the grader's own weights into
the module's nn.RNNCell, and the checks recompute the recurrence (and dL/dX)
from those weights and the states the module returned. What the student's
process reports about the module itself (its cells, its device, whether the
weights changed) is a claim: it can cost points when false, and no test
passes on a claim alone.
"""
import numpy as np

from autograder import checks
from autograder.assignment import points
from autograder.inside import values
from autograder.inside.values import SequenceValue, TensorValue
from autograder.session import StudentError

from .common import (
    LECTURE,
    check_first_step,
    check_initial_states,
    check_recurrence,
    check_weights_drive_output,
    input_gradient,
    read_back_initial_states,
    rnn_params,
    takes_no_initial_state,
)

WHAT = "RNN(...)(X)"
SIZES = (LECTURE["seq_len"], LECTURE["batch"], LECTURE["input"], LECTURE["hidden"])


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


def run(part, device, gen, n, b, d, h, batch_size=None, load=True, **kwargs):
    """X of shape (n, b, d) through RNN(d, h, batch_size or b) on `device`, with the grader's weights if `load`."""
    X = gen.standard_normal((n, b, d)).astype(np.float32)
    weights, used = cell_weights(gen, d, h)
    load = {"type": "RNNCell", "weights": weights} if load else None
    result = part.module("RNN", (d, h, batch_size or b), device=device, X=X, load=load, device_global=DEVICE_GLOBAL,
                         **kwargs)
    return X, used, result


def states(result, shape, what=WHAT):
    """The output as an array of `shape`; a module that changed the loaded weights fails here."""
    out = result.get("output")
    checks.check_type(what, out, TensorValue)
    if result.get("weights_unchanged", 1.0) != 1.0:  # a claim: missing, it costs nothing
        checks.fail(f"{what}: o forward alterou os pesos do nn.RNNCell; ele só deve lê-los")
    return checks.as_array(what, out, shape)


def setting(value):
    """One of a cell's settings, as the student's process reported it, safe to show."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e9:
        return f"{value:g}"
    return values.text(value, 20)


@points(0.5, "guarda uma célula nn.RNNCell com os tamanhos pedidos")
def test_holds_an_rnn_cell(part):
    d, h, b = LECTURE["input"], LECTURE["hidden"], LECTURE["batch"]
    cells = part.module("RNN", (d, h, b), submodules="RNNCell").get("submodules")
    found = [c for c in cells.items if isinstance(c, dict)] if isinstance(cells, SequenceValue) else []
    wanted = {"input_size": d, "hidden_size": h, "nonlinearity": "tanh", "bias": True}
    if not any(all(c.get(k) == v for k, v in wanted.items()) for c in found):
        shown = ", ".join(f"nn.RNNCell({', '.join(setting(c.get(k)) for k in wanted)})" for c in found[:3])
        shown += ", ..." if len(found) > 3 else ""
        checks.fail(f"RNN({d}, {h}, {b}) deve guardar uma célula nn.RNNCell({d}, {h}) (tanh, com viés) como atributo; "
                    f"encontrados: {shown or 'nenhum'}")
    # The claim above earns nothing alone: the cell's weights must drive the output.
    n = 4
    gen = part.rng("module/holds")
    X, used, result = run(part, "cpu", gen, n, b, d, h)
    _, unused = cell_weights(gen, d, h)
    check_weights_drive_output(WHAT, X, states(result, (n, b, h)), used, unused)


@points(0.5, "devolve um tensor float32 de forma (N, B, h)")
def test_returns_float32_tensor_of_shape_n_b_h(part, torch_device):
    _, b, d, h = SIZES
    n = 10  # the lecture's batch and sizes; a shorter sequence shows the same shape and dtype
    _, _, result = run(part, torch_device, part.rng("module/type"), n, b, d, h, load=False)
    out = result.get("output")
    checks.check_type(WHAT, out, TensorValue)
    checks.check_dtype(WHAT, checks.as_array(WHAT, out, (n, b, h)), "float32")
    checks.check_dtype(WHAT, out, "float32")  # what the tensor claims to be, besides the numbers received
    if out.device.split(":")[0] != torch_device:
        checks.fail(f"{WHAT}: a saída deve ficar no device de X ({torch_device}), está em {out.device}")


@points(0.5, "aplica a célula a cada passo, a partir do estado anterior")
def test_states_follow_the_recurrence(part, torch_device):
    n, b, d, h = SIZES
    X, used, result = run(part, torch_device, part.rng("module/recurrence"), n, b, d, h)
    check_recurrence(WHAT, X, states(result, (n, b, h)), *used)
    # From a given initial state (forward's optional H0), H_1 too must be exact.
    n, b, d, h = 4, 3, 5, 6
    gen = part.rng("module/given_h0")
    H0 = gen.standard_normal((b, h)).astype(np.float32)
    try:
        X, used, result = run(part, torch_device, gen, n, b, d, h, H0=H0)
    except StudentError as exc:
        if takes_no_initial_state(exc):
            return
        raise
    what = "RNN(...)(X, H0)"
    H = states(result, (n, b, h), what)
    check_first_step(what, X, H, H0, *used)
    check_recurrence(what, X, H, *used)


@points(0.5, "mantém o grafo do autograd")
def test_keeps_the_autograd_graph(part, torch_device):
    n, b, d, h = 6, 3, 4, 5
    gen = part.rng("module/autograd")
    G = gen.standard_normal((n, b, h)).astype(np.float32)
    X, used, result = run(part, torch_device, gen, n, b, d, h, grad_output=G)
    H = states(result, (n, b, h))
    if not result["output"].requires_grad or result.get("grad_X") is None:
        checks.fail(f"{WHAT}: a saída não mantém o grafo do autograd (detach, NumPy ou torch.no_grad?)")
    check_recurrence(WHAT, X, H, *used)  # the gradient below is the recurrence's
    W_in, W_rec, _ = (w.astype(np.float64) for w in used)
    expected = input_gradient(G.astype(np.float64), H.astype(np.float64), W_in, W_rec)
    checks.check_close("gradiente de sum(G * saída) em relação a X", result.get("grad_X"), expected)


@points(0.25, "sorteia H_0 de N(0, 1) a cada chamada")
def test_initial_state_is_standard_normal(part, torch_device):
    n, b, d, h = 3, LECTURE["batch"], LECTURE["input"], LECTURE["hidden"]
    gen = part.rng("module/h0")
    H0s = []
    for _ in range(3):
        X, used, result = run(part, torch_device, gen, n, b, d, h)
        H0s.append(read_back_initial_states("H_0", X, states(result, (n, b, h)), *used))
    check_initial_states("H_0", H0s)


@points(0.5, "tira os tamanhos da entrada")
def test_uses_sizes_from_its_input(part, torch_device):
    gen = part.rng("module/sizes")
    # The batch of X differs from the constructor's batch_size: H_0 must follow X.
    for n, b, d, h, batch_size in [(7, 3, 5, 4, 10), (1, 1, 1, 1, 1), (4, 12, 3, 6, 2)]:
        X, used, result = run(part, torch_device, gen, n, b, d, h, batch_size=batch_size)
        what = f"RNN({d}, {h}, {batch_size}) com X de forma {X.shape}"
        check_recurrence(what, X, states(result, (n, b, h), what), *used)


@points(0.25, "segue o device da entrada")
def test_follows_the_device_of_its_input(part):
    # The meta device computes nothing but refuses tensors made on another
    # device: it catches a hard-coded or global device even without a GPU.
    # What it reports is a claim, so the same sizes must also give real states on the CPU.
    gen = part.rng("module/device")
    n, b, d, h = (int(k) for k in gen.integers(2, 9, size=4))
    result = part.module("RNN", (d, h, int(gen.integers(1, 9))), device="meta", shape=[n, b, d])
    out = result.get("output")
    checks.check_type(WHAT, out, TensorValue)
    if out.device != "meta" or out.shape != (n, b, h):
        checks.fail(f"{WHAT}: com X no device meta, a saída deveria ficar em meta com forma {(n, b, h)}; "
                    f"veio {out.device} {out.shape}")
    _, _, result = run(part, "cpu", gen, n, b, d, h, load=False)
    H = states(result, (n, b, h))
    if not (np.abs(H) <= 1).all():
        checks.fail(f"{WHAT}: na CPU, os estados têm valores fora de [-1, 1]")
