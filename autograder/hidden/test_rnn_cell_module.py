"""rnn_cell_module: class RNN(nn.Module) iterating an nn.RNNCell, on every device.

The grader never imports torch: the module runs in the student's process and
sends back its output, its cell's weights and, when asked, dL/dX; the checks
recompute the recurrence and the gradient from those numbers.
"""
import numpy as np

from autograder import checks
from autograder.hidden.common import LECTURE, rng
from autograder.values import SequenceValue, TensorValue

WHAT = "RNN(...)(X)"
SIZES = (LECTURE["seq_len"], LECTURE["batch"], LECTURE["input"], LECTURE["hidden"])


def run(part, device, gen, n, b, d, h, batch_size=None, **kwargs):
    """X of shape (n, b, d) through RNN(d, h, batch_size or b) on `device`."""
    X = gen.standard_normal((n, b, d)).astype(np.float32)
    result = part.module((d, h, batch_size or b), device=device, X=X, **kwargs)
    return X, result


def output(result, shape, what=WHAT):
    out = result["output"]
    checks.check_type(what, out, TensorValue)
    H = checks.as_array(what, out)
    checks.check_shape(what, H, shape)
    return H


def recurrence_weights(result):
    """(W_in, W_rec, bias) of the recurrence in the NumPy parts' convention."""
    if "weights" not in result:
        checks.fail("o módulo não contém um nn.RNNCell")
    w = result["weights"]
    return w["weight_ih"].T, w["weight_hh"].T, w["bias_ih"] + w["bias_hh"]


def test_holds_an_rnn_cell(part):
    d, h, b = LECTURE["input"], LECTURE["hidden"], LECTURE["batch"]
    cells = part.module((d, h, b))["cells"]
    found = [c.items for c in cells.items if isinstance(c, SequenceValue)] if isinstance(cells, SequenceValue) else []
    if [float(d), float(h), "tanh", 1.0] not in found:
        checks.fail(
            f"RNN({d}, {h}, {b}) deve guardar um nn.RNNCell({d}, {h}) (tanh, com viés) como atributo; "
            f"encontrados: {found or 'nenhum'}"
        )


def test_returns_float32_tensor_of_shape_n_b_h(part, torch_device):
    n, b, d, h = SIZES
    _, result = run(part, torch_device, rng("module/type"), n, b, d, h)
    out = result["output"]
    checks.check_type(WHAT, out, TensorValue)
    checks.check_shape(WHAT, out, (n, b, h))
    checks.check_dtype(WHAT, out, "float32")
    if out.device.split(":")[0] != torch_device:
        checks.fail(f"{WHAT}: a saída deve ficar no device de X ({torch_device}), está em {out.device}")


def test_states_follow_the_recurrence(part, torch_device):
    n, b, d, h = SIZES
    X, result = run(part, torch_device, rng("module/recurrence"), n, b, d, h)
    checks.check_recurrence(WHAT, X, output(result, (n, b, h)), *recurrence_weights(result))


def test_keeps_the_autograd_graph(part, torch_device):
    n, b, d, h = 6, 3, 4, 5
    gen = rng("module/autograd")
    G = gen.standard_normal((n, b, h)).astype(np.float32)
    _, result = run(part, torch_device, gen, n, b, d, h, grad_output=G)
    H = output(result, (n, b, h))
    if not result["output"].requires_grad or result.get("grad_X") is None:
        checks.fail(f"{WHAT}: a saída não mantém o grafo do autograd (detach, NumPy ou torch.no_grad?)")
    W_in, W_rec, _ = recurrence_weights(result)
    expected = checks.input_gradient(G.astype(np.float64), H.astype(np.float64), W_in, W_rec)
    checks.check_close("gradiente de sum(G * saída) em relação a X", checks.as_array("dL/dX", result["grad_X"]), expected)


def test_initial_state_is_standard_normal(part, torch_device):
    # With the cell's W_ih = 0, biases 0 and W_hh = I/2, H_1 = tanh(H_0 / 2) reveals H_0.
    n, b, d, h = 2, LECTURE["batch"], LECTURE["input"], LECTURE["hidden"]
    zero = np.zeros(h, dtype=np.float32)
    weights = {
        "weight_ih": np.zeros((h, d), dtype=np.float32),
        "weight_hh": 0.5 * np.eye(h, dtype=np.float32),
        "bias_ih": zero,
        "bias_hh": zero,
    }
    gen = rng("module/h0")
    H0s = [2 * np.arctanh(output(run(part, torch_device, gen, n, b, d, h, weights=weights)[1], (n, b, h))[0].astype(np.float64)) for _ in range(3)]
    checks.check_initial_states("H_0", H0s)


def test_uses_sizes_from_its_input(part, torch_device):
    gen = rng("module/sizes")
    # The batch of X differs from the constructor's batch_size: H_0 must follow X.
    for n, b, d, h, batch_size in [(7, 3, 5, 4, 10), (1, 1, 1, 1, 1), (4, 12, 3, 6, 2)]:
        X, result = run(part, torch_device, gen, n, b, d, h, batch_size=batch_size)
        what = f"RNN({d}, {h}, {batch_size}) com X de forma {X.shape}"
        checks.check_recurrence(what, X, output(result, (n, b, h), what), *recurrence_weights(result))


def test_follows_the_device_of_its_input(part):
    # The meta device computes nothing but refuses tensors made on another
    # device: it catches a hard-coded or global device even without a GPU.
    result = part.module((3, 4, 2), device="meta", shape=[5, 2, 3])
    out = result["output"]
    checks.check_type(WHAT, out, TensorValue)
    if out.device != "meta" or out.shape != (5, 2, 4):
        checks.fail(f"{WHAT}: com X no device meta, a saída deveria ficar em meta com forma (5, 2, 4); veio {out.device} {out.shape}")
