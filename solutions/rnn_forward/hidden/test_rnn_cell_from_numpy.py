"""rnn_cell_from_numpy: rnn_cell_from_params(params) puts Part 2's NumPy parameters in an nn.RNNCell.

The grader gives its own parameters, runs one step of the returned cell on its
own (x, h) and compares with tanh(x W_xh + h W_hh + b_h) computed from them:
transposed weights and biases that add up to b_h are what make them agree.
What the student's process says about the cell (its type and sizes) is a claim
that can only cost.
"""
import numpy as np

from autograder import checks
from autograder.assignment import points
from autograder.inside.values import SequenceValue, TensorValue

from .common import rnn_params
from .test_rnn_cell_module import setting

WHAT = "rnn_cell_from_params(params)"


def step(part, gen, b, d, h):
    """(expected, returned) for one step of the student's cell on the grader's parameters and inputs."""
    params = rnn_params(gen, d, h)
    x, H = gen.standard_normal((b, d)), gen.standard_normal((b, h))
    result = part.module("rnn_cell_from_params", (params,), device="cpu", X=x.astype(np.float32),
                         H0=H.astype(np.float32))
    expected = np.tanh(x @ params["Wxh"] + H @ params["Whh"] + params["bh"])
    return expected, result.get("output")


@points(0.5, "devolve uma célula nn.RNNCell padrão com os tamanhos de params")
def test_returns_a_standard_rnn_cell_of_the_params_sizes(part):
    gen = part.rng("from_numpy/cell")
    d, h = (int(k) for k in gen.integers(2, 9, size=2))
    cells = part.module("rnn_cell_from_params", (rnn_params(gen, d, h),), submodules="RNNCell").get("submodules")
    found = [c for c in cells.items if isinstance(c, dict)] if isinstance(cells, SequenceValue) else []
    wanted = {"input_size": d, "hidden_size": h, "nonlinearity": "tanh", "bias": True}
    if len(found) != 1 or any(found[0].get(k) != v for k, v in wanted.items()):
        shown = ", ".join(f"nn.RNNCell({', '.join(setting(c.get(k)) for k in wanted)})" for c in found[:3])
        checks.fail(f"{WHAT} deve devolver uma célula nn.RNNCell({d}, {h}) padrão (tanh, com viés); "
                    f"encontradas: {shown or 'nenhuma'}")
    # The claim above earns nothing alone: the cell must also take a step of the right shape and dtype.
    _, out = step(part, gen, 2, d, h)
    checks.check_type(WHAT, out, TensorValue)
    checks.check_dtype(WHAT, checks.as_array(WHAT, out, (2, h)), "float32")


@points(1.5, "reproduz um passo da camada da Parte 2 (pesos transpostos, vieses somando b_h)")
def test_one_step_matches_part_2(part):
    gen = part.rng("from_numpy/step")
    for b, d, h in [(3, 5, 4), (1, 2, 7)]:
        expected, out = step(part, gen, b, d, h)
        checks.check_type(WHAT, out, TensorValue)
        checks.check_close(f"{WHAT}: um passo da célula a partir de (x, h)", out, expected)
