"""Memory: an nn.LSTMCell's step, forward(x, (h, c)) -> (h, c), with the grader's weights loaded into it.

The state crosses as a tuple both ways: the grader gives (h, c) and reads back a
pair, and the gradient flows back into c. Nothing here is the engine's: the
state, the weights and how the output is read are this assignment's.
"""
import numpy as np

from autograder.authoring import SequenceValue, TensorValue, as_array, check_close, fail, points

WHAT = "Memory(...)(x, (h, c))"


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def lstm_step(x, h, c, w):
    """PyTorch's LSTMCell, in NumPy: gates i, f, g, o from x and h; then c' and h'."""
    gates = x @ w["weight_ih"].T + w["bias_ih"] + h @ w["weight_hh"].T + w["bias_hh"]
    i, f, g, o = np.split(gates, 4, axis=1)
    c_new = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c_new), c_new, (sigmoid(f), sigmoid(o))


def step(part, name, grad_output=None):
    """One step of the student's module on the grader's weights and inputs: (inputs, weights, result)."""
    gen = part.rng(name)
    d, h, b = 3, 5, 4
    weights = {name: (0.3 * gen.standard_normal(shape)).astype(np.float32) for name, shape in
               [("weight_ih", (4 * h, d)), ("weight_hh", (4 * h, h)), ("bias_ih", (4 * h,)), ("bias_hh", (4 * h,))]}
    x, h0, c0 = (gen.standard_normal(shape).astype(np.float32) for shape in [(b, d), (b, h), (b, h)])
    result = part.module("Memory", (d, h), inputs=[x, (h0, c0)], load={"type": "LSTMCell", "weights": weights},
                         grad_output=grad_output)
    return (x, h0, c0), weights, result


def pair(what, value, shape):
    """The two tensors of a returned (h, c)."""
    if not (isinstance(value, SequenceValue) and len(value.items) == 2
            and all(isinstance(v, TensorValue) for v in value.items)):
        fail(f"{what}: deve devolver o par (h, c) de tensores")
    return [as_array(what, v, shape) for v in value.items]


@points(1, "devolve o novo estado (h, c) da célula")
def test_returns_the_new_state(part):
    (x, h0, c0), weights, result = step(part, "lstm_state/state")
    h1, c1 = pair(WHAT, result.get("output"), h0.shape)
    expected_h, expected_c, _ = lstm_step(x, h0, c0, weights)
    check_close(f"{WHAT}: h", h1, expected_h)
    check_close(f"{WHAT}: c", c1, expected_c)


@points(1, "o gradiente volta pelo estado")
def test_the_gradient_flows_back_into_the_state(part):
    gen = part.rng("lstm_state/grad")
    G_h, G_c = (gen.standard_normal((4, 5)).astype(np.float32) for _ in range(2))
    (x, h0, c0), weights, result = step(part, "lstm_state/state", grad_output=[G_h, G_c])
    grads = result.get("input_grads")
    state = grads.items[1] if isinstance(grads, SequenceValue) and len(grads.items) == 2 else None
    if not (isinstance(state, SequenceValue) and len(state.items) == 2):
        fail(f"{WHAT}: o gradiente não chegou ao estado (h, c)")
    _, c1, (forget, out_gate) = lstm_step(x, h0, c0, weights)
    # d/dc of sum(G_h * h' + G_c * c'): through c' = f * c + ..., and h' = o * tanh(c').
    expected = (G_c + G_h * out_gate * (1 - np.tanh(c1) ** 2)) * forget
    check_close(f"{WHAT}: gradiente em relação a c", state.items[1], expected)
