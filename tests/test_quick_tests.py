"""The visible quick tests of the release: they pass on the reference, name the likely mistake, reveal no solution.

Each runs here as Validate runs it: the notebook's setup cells, the answer,
the part's name alias if any, then the locked quick-test cell.
"""
import contextlib
import io
import re

import nbformat
import pytest

from autograder.tools.sync import reference_source
from tests.helpers import ASSIGNMENT, RELEASE_NB
from tests.mistakes_corpus import MISTAKES

CELLS = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in nbformat.read(RELEASE_NB, 4).cells}
SETUP = "\n".join(CELLS[g] for g in ("imports", "device", "sizes", "score_helper"))
ALIASES = {"ff_init_weights": "ff_init_weights = init_weights", "ff_forward": "ff_forward = forward"}
# The case of tests/mistakes_corpus.py, and what the quick tests must say about it.
NAMED = {
    "ff_missing_bias": "falta somar b_h",
    "ff_missing_tanh": "falta a tanh",
    "ff_init_zero_bias": "bh é todo zero",
    "rnn_init_zero_bias_like": "bh é todo zero",
    "ff_init_transposed_wxh": "dimensões estão trocadas",
    "rnn_missing_bias": "falta somar b_h",
    "rnn_missing_tanh": "falta a tanh",
    "rnn_transposed_whh": "W_hh transposta",
    "rnn_h0_included": "N + 1 estados",
    "rnn_last_state_only": "só o último estado",
    "rnn_stored_before_update": "guardado antes de ser atualizado",
    "rnn_updated_in_place": "alterado no lugar",
    "rnn_time_axis_loop_count": "eixo do batch",
    "rnn_h0_zeros": "H_0 é todo zero",
    "rnn_h0_seeded": "semente",
    "module_h0_zeros": "H_0 = 0",
    "module_global_device": "device meta",
    "module_cpu_device": "device meta",
    "module_relu_cell": "tanh e com viés",
    "module_cell_without_bias": "tanh e com viés",
    "module_detached_steps": "grafo do autograd",
    "module_h0_included": "N + 1 estados",
}


def quick_tests(grade_id: str, answer: str) -> str:
    """What the graded cell prints before grading, for this answer."""
    ns = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(SETUP, ns)
        exec(answer, ns)
        exec(ALIASES.get(grade_id, ""), ns)
        exec(CELLS[f"{grade_id}_quick_tests"].replace(f"\nquick_tests_{grade_id}()", ""), ns)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        score = ns["score_if_quick_tests_pass"](ns[f"quick_tests_{grade_id}"], points=1)
    return f"{score:g} {out.getvalue()}"


@pytest.mark.parametrize("grade_id", [p.grade_id for p in ASSIGNMENT.parts])
def test_the_reference_passes_the_quick_tests(grade_id):
    assert quick_tests(grade_id, reference_source(ASSIGNMENT, ASSIGNMENT.part(grade_id))).startswith("1 ")


@pytest.mark.parametrize("case", NAMED)
def test_the_quick_tests_name_the_likely_mistake(case):
    grade_id, answer, _ = MISTAKES[case]
    said = quick_tests(grade_id, answer)
    assert said.startswith("0 ") and NAMED[case] in said, said


# A line that computes the layer: what a solution is made of.
SOLUTION_LINE = r"np\.tanh\(|@ *params|params\[.Wxh.\] *@|torch\.stack|torch\.randn\(.*hidden"


def test_the_quick_tests_reveal_no_solution():
    for grade_id in ("ff_forward", "rnn_forward", "rnn_cell_module"):
        cell = CELLS[f"{grade_id}_quick_tests"]
        # Expected values are written as numbers: no line computes the layer with its weights.
        assert not re.search(SOLUTION_LINE, cell), grade_id
        assert re.search(SOLUTION_LINE, reference_source(ASSIGNMENT, ASSIGNMENT.part(grade_id)))  # control
        sizes = re.findall(r"forma esperada \(\w+, \w+(?:, \w+)?\) = \(([\d, ]+)\)", cell)
        assert sizes and all(len(set(s.split(", "))) == len(s.split(", ")) for s in sizes), sizes  # distinct sizes
