"""rnn_cell_from_numpy: rnn_cell_from_params(params) puts Part 2's NumPy parameters in an nn.RNNCell.

The grader gives its own parameters and runs the returned cell for several
steps from its own inputs, each step from the state the cell returned before,
comparing each with tanh(x W_xh + h W_hh + b_h) computed from the parameters:
transposed weights and biases that add up to b_h are what make them agree. A
step that disagrees is explained by the wrong copies in mistakes.TRANSFERS.
What the student's process says about the cell (its type and sizes) is a claim
that can only cost.
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

from .common import error_kind, rnn_params, setting
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
    d, h = (int(k) for k in gen.integers(2, 9, size=2))
    params = rnn_params(gen, d, h)
    cells = cell(part, params, submodules="RNNCell").get("submodules")
    found = [c for c in cells.items if isinstance(c, dict)] if isinstance(cells, SequenceValue) else []
    wanted = {"input_size": d, "hidden_size": h, "nonlinearity": "tanh", "bias": True}
    if len(found) != 1 or any(found[0].get(k) != v for k, v in wanted.items()):
        shown = ", ".join(f"nn.RNNCell({', '.join(setting(c.get(k)) for k in wanted)})" for c in found[:3])
        fail(f"{WHAT} deve devolver uma célula nn.RNNCell({d}, {h}) padrão (tanh, com viés); "
                    f"encontradas: {shown or 'nenhuma'}")
    # The claim above earns nothing alone: the cell must also take a step of the right shape and dtype.
    out = step(part, params, gen.standard_normal((2, d)), gen.standard_normal((2, h)))
    check_type(WHAT, out, TensorValue)
    check_dtype(WHAT, as_array(WHAT, out, (2, h)), "float32")


@points(1.5, "reproduz a camada da Parte 2 passo a passo (pesos transpostos, vieses somando b_h)")
def test_steps_match_part_2(part):
    gen = part.rng("from_numpy/steps")
    for b, d, h in [(6, 5, 8), (1, 2, 7)]:  # D != h: a matrix copied as it is cannot pass for its transpose
        params, H = rnn_params(gen, d, h), gen.standard_normal((b, h))
        taken = []
        for t in range(1, STEPS + 1):
            x = gen.standard_normal((b, d))
            out = as_array(WHAT, step(part, params, x, H), (b, h))
            taken.append((x, H, out))
            expected = np.tanh(x @ params["Wxh"] + H @ params["Whh"] + params["bh"])
            try:
                check_close(f"{WHAT}: o passo {t} a partir do estado anterior da célula", out, expected)
            except AssertionError as exc:
                codes = explain_transfer(taken, params)
                if codes:
                    fail_with(f"{WHAT}: o passo {t}", *codes)
                raise exc
            H = out.astype(np.float64)  # the next step starts where the cell left off
