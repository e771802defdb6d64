"""rnn_cell_from_numpy: rnn_cell_from_params(params) puts Part 2's NumPy parameters in an nn.RNNCell.

The grader gives its own parameters and runs the returned cell for several
steps from its own inputs, each step from the state the cell returned before,
comparing each with tanh(x W_xh + h W_hh + b_h) computed from the parameters:
transposed weights and biases that add up to b_h are what make them agree. A
step that disagrees is explained by the wrong copies in mistakes.TRANSFERS.
What the student's process says about the cell (its type and sizes) is a claim
that can only cost; and the steps earn points only when the cell's own parameters,
read back and put into nn.RNNCell's formula by the grader, give them too (a
look-alike cell that computes in the NumPy layout has no such parameters).
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

from .common import check_arguments_kept, error_kind, rnn_params, setting, small_sizes
from .diagnosis import explain_transfer
from .mistakes import fail_with

WHAT = "rnn_cell_from_params(params)"
STEPS = 4
# What PyTorch says when a matrix is copied into a parameter of another shape (weights not transposed).
SHAPE_ERRORS = (r"must match the size of tensor|size mismatch|shapes cannot be multiplied|"
                r"inconsistent (input|hidden)_size")


def cell(part, params, **probe) -> dict:
    """What the student's cell built from `params` reports (and returns, given X and H0); a matrix copied
    into a parameter of another shape is named."""
    try:
        return part.module("rnn_cell_from_params", (params,), **probe)
    except StudentError as exc:
        if re.search(SHAPE_ERRORS, str(exc)):
            fail_with(WHAT, "transfer_shape", detail=f"o código lançou {error_kind(exc)}; ")
        raise


def step(part, params, x, H):
    """The student's cell, built from `params`, applied once to (x, H), both float32."""
    return cell(part, params, device="cpu", inputs=[x.astype(np.float32), H.astype(np.float32)]).get("output")


@points(0.5, "devolve uma célula nn.RNNCell padrão com os tamanhos de params")
def test_returns_a_standard_rnn_cell_of_the_params_sizes(part):
    gen = part.rng("from_numpy/cell")
    d, h = small_sizes(part, "from_numpy/cell/sizes", 2, 2, 9)
    params = rnn_params(gen, d, h)
    report = cell(part, params, submodules="RNNCell")
    changed = report.get("arguments_changed")
    check_arguments_kept(WHAT, [int(i) for i in changed.items if isinstance(i, float) and i == 0]
                         if isinstance(changed, SequenceValue) else [], ("params",))
    cells = report.get("submodules")
    found = [c for c in cells.items if isinstance(c, dict)] if isinstance(cells, SequenceValue) else []
    wanted = {"input_size": d, "hidden_size": h, "nonlinearity": "tanh", "bias": True}
    if len(found) == 1 and found[0].get("standard") != 1:
        fail(f"{WHAT} deve devolver uma célula nn.RNNCell({d}, {h}) padrão; a devolvida tem um forward próprio")
    if len(found) != 1 or any(found[0].get(k) != v for k, v in wanted.items()):
        shown = ", ".join(f"nn.RNNCell({', '.join(setting(c.get(k)) for k in wanted)})" for c in found[:3])
        fail(f"{WHAT} deve devolver uma célula nn.RNNCell({d}, {h}) padrão (tanh, com viés); "
                    f"encontradas: {shown or 'nenhuma'}")
    # The claim above earns nothing alone: the cell must also take a step of the right shape and dtype.
    out = step(part, params, gen.standard_normal((2, d)), gen.standard_normal((2, h)))
    check_type(WHAT, out, TensorValue)
    check_dtype(WHAT, as_array(WHAT, out, (2, h)), "float32")


def cell_parameters(part, params, d, h) -> dict:
    """The parameters of the nn.RNNCell built from `params`, as arrays, for the grader's own formula."""
    report = cell(part, params, submodules="RNNCell", parameters=True).get("parameters")
    found = [p for p in report.items if isinstance(p, dict)] if isinstance(report, SequenceValue) else []
    if len(found) != 1:
        fail(f"{WHAT}: o valor devolvido não é uma nn.RNNCell, então os passos não podem ser conferidos com os "
             "parâmetros dela")
    shapes = {"weight_ih": (h, d), "weight_hh": (h, h), "bias_ih": (h,), "bias_hh": (h,)}
    return {name: as_array(f"{WHAT}.{name}", found[0].get(name), shape).astype(np.float64)
            for name, shape in shapes.items()}


def torch_step(weights: dict, x, H):
    """nn.RNNCell's step, computed by the grader from the cell's parameters."""
    return np.tanh(x @ weights["weight_ih"].T + weights["bias_ih"] + H @ weights["weight_hh"].T + weights["bias_hh"])


@points(1.5, "reproduz a camada da Parte 2 passo a passo (pesos transpostos, vieses somando b_h)")
def test_steps_match_part_2(part):
    gen = part.rng("from_numpy/steps")
    # D != h: a matrix copied as it is cannot pass for its transpose
    # Sizes from the run's seed, b * h at least 30 numbers a step for the diagnosis to read.
    for b, d, h in [small_sizes(part, "from_numpy/steps/a", 3, 6, 16),
                    (1, *small_sizes(part, "from_numpy/steps/b", 2))]:
        params, H = rnn_params(gen, d, h), gen.standard_normal((b, h))
        taken, wrong = [], None
        for t in range(1, STEPS + 1):  # every step is taken: parameters never copied show best over all
            x = gen.standard_normal((b, d))
            out = as_array(WHAT, step(part, params, x, H), (b, h))
            taken.append((x, H, out))
            expected = np.tanh(x @ params["Wxh"] + H @ params["Whh"] + params["bh"])
            try:
                check_close(f"{WHAT}: o passo {t} a partir do estado anterior da célula", out, expected)
            except AssertionError as exc:
                wrong = wrong or (t, exc)
            H = out.astype(np.float64)  # the next step starts where the cell left off
        if wrong:  # each step builds a new cell: what PyTorch drew differs from one to the next
            codes = explain_transfer(taken[:wrong[0]], params) or explain_transfer(taken, params)
            if codes:
                fail_with(f"{WHAT}: o passo {wrong[0]}", *codes)
            raise wrong[1]
        # The cell's outputs agree with Part 2; so must its parameters, in nn.RNNCell's own formula.
        weights = cell_parameters(part, params, d, h)
        for t, (x, H_prev, _) in enumerate(taken, 1):
            expected = np.tanh(x @ params["Wxh"] + H_prev @ params["Whh"] + params["bh"])
            try:
                check_close(f"{WHAT}: o passo {t} calculado pelo corretor com os parâmetros da célula",
                            torch_step(weights, x, H_prev).astype(np.float32), expected)
            except AssertionError:
                fail(f"{WHAT}: a célula devolve os passos certos, mas os parâmetros dela não os dão na fórmula "
                     "da nn.RNNCell: o forward não calcula com weight_ih, weight_hh, bias_ih e bias_hh")
