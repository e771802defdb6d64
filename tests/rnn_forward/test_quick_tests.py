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
from tests.rnn_forward.helpers import ASSIGNMENT, RELEASE_NB
from tests.rnn_forward.mistakes_corpus import MISTAKES

CELLS = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in nbformat.read(RELEASE_NB, 4).cells}
SETUP = "\n".join(CELLS[g] for g in ("imports", "device", "sizes", "score_helper"))
# The case of tests/mistakes_corpus.py, and what the quick tests must say about it.
NAMED = {
    "ff_missing_bias": "falta somar b_h",
    "ff_missing_tanh": "sem a tanh",
    "ff_init_zero_bias": "bh é todo zero",
    "rnn_init_zero_bias_like": "bh é todo zero",
    "ff_init_transposed_wxh": "dimensões estão trocadas",
    "rnn_missing_bias": "falta somar b_h",
    "rnn_missing_tanh": "sem a tanh",
    "rnn_transposed_whh": "W_hh transposta",
    "rnn_h0_included": "N + 1 estados",
    "rnn_last_state_only": "só o último estado",
    "rnn_stored_before_update": "guardado antes de ser atualizado",
    "rnn_updated_in_place": "alterado no lugar",
    "rnn_time_axis_loop_count": "eixo do batch",
    "rnn_h0_zeros": "H_0 é todo zero",
    "rnn_h0_seeded": "semente",
    "rnn_h0_ignores_argument": "não parte do H0 dado",
    "rnn_h0_global_sizes": "variáveis globais do notebook",
    "rnn_preallocated_global_sizes": "variáveis globais do notebook",
    "module_h0_zeros": "H_0 = 0",
    "module_global_device": "device meta",
    "module_cpu_device": "device meta",
    "module_relu_cell": "tanh e com viés",
    "module_cell_without_bias": "tanh e com viés",
    "module_detached_steps": "grafo do autograd",
    "module_h0_included": "N + 1 estados",
    "module_last_state_only": "só o último estado",
    "module_batch_from_constructor": "batch do construtor",
    "module_one_h0_row": "uma linha só",
    "module_global_hidden_size": "variáveis globais do notebook",
    "transfer_whh_as_is": "W_hh sem transpor",
    "transfer_whh_tensor_as_is": "W_hh sem transpor",
    "transfer_wxh_reshaped": "reshape",
    "transfer_wxh_not_transposed": "weight_ih tem forma (h, D)",
    "transfer_both_biases_bh": "o viés entrou duas vezes",
    "transfer_both_biases_zero": "sem viés",
}
# What NumPy, PyTorch and np.testing say in English: none of it may reach the student.
ENGLISH = re.compile(r"Traceback|operand|not aligned|doesn't match|must match|broadcast|Mismatch|tolerance|"
                     r"expected|got |has no attribute|object is not|is not defined|unsupported", re.I)


def quick_tests(grade_id: str, answer: str) -> "tuple[float, str, str]":
    """(score, stdout, stderr) of the part's graded cell before grading, for this answer; the quick-test cell
    and the part's name alias run first, as a student's Run All does."""
    ns = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(SETUP, ns)
        exec(answer, ns)
        exec(CELLS.get(f"{grade_id}_name", ""), ns)
        exec(CELLS[f"{grade_id}_quick_tests"].replace(f"show_quick_tests(quick_tests_{grade_id}", "(None"), ns)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        score = ns["part_score"](ns[f"quick_tests_{grade_id}"], points=1)
    return score, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("grade_id", [p.grade_id for p in ASSIGNMENT.parts])
def test_the_reference_passes_the_quick_tests(grade_id):
    assert quick_tests(grade_id, reference_source(ASSIGNMENT, ASSIGNMENT.part(grade_id))) == (1.0, "", "")


@pytest.mark.parametrize("case", NAMED)
def test_the_quick_tests_name_the_likely_mistake(case):
    grade_id, answer, _ = MISTAKES[case]
    score, _, said = quick_tests(grade_id, answer)
    assert score == 0 and NAMED[case] in said, said


@pytest.mark.parametrize("case", MISTAKES)
def test_every_failed_quick_test_is_one_portuguese_line(case):
    """The graded cell lists each failed quick test on a line of its own, in Portuguese, on stderr (what
    nbgrader's Validate shows); never a library's English."""
    grade_id, answer, _ = MISTAKES[case]
    score, _, said = quick_tests(grade_id, answer)
    lines = said.splitlines()
    if score == 1:
        assert said == ""
        return
    assert lines[0] == "Testes rápidos que falharam:" and len(lines) > 1, said
    assert all(re.match(r"- [^:]+: \S", line) for line in lines[1:]), said
    assert not ENGLISH.search(said), said


def test_a_call_that_raises_is_named_not_shown():
    """The lecture's own mistakes raise before any check: the error becomes the mistake it means."""
    for case, meaning in [("rnn_h0_global_sizes", "lançou ValueError: as formas de uma multiplicação"),
                          ("module_batch_from_constructor", "lançou RuntimeError: H_0 tem o batch do construtor")]:
        grade_id, answer, _ = MISTAKES[case]
        assert meaning in quick_tests(grade_id, answer)[2], case
    untouched = "def forward(X, params, H0=None):\n    raise NotImplementedError()"
    assert "lançou NotImplementedError: a resposta ainda não foi escrita" in quick_tests("rnn_forward", untouched)[2]


# A line that computes the layer: what a solution is made of.
SOLUTION_LINE = r"np\.tanh\(|@ *params|params\[.Wxh.\] *@|torch\.stack|torch\.randn\(.*hidden"


def test_the_quick_tests_reveal_no_solution():
    for grade_id in [p.grade_id for p in ASSIGNMENT.parts]:
        cell = CELLS[f"{grade_id}_quick_tests"]
        # Expected values are written as numbers: no line computes the layer with its weights.
        assert not re.search(SOLUTION_LINE, cell), grade_id
        sizes = re.findall(r"forma esperada \(\w+, \w+(?:, \w+)?\) = \(([\d, ]+)\)", cell)
        assert all(len(set(s.split(", "))) == len(s.split(", ")) for s in sizes), sizes  # distinct sizes
    for grade_id in ("ff_forward", "rnn_forward", "rnn_cell_module"):  # the control: the pattern finds a solution
        assert re.search(SOLUTION_LINE, reference_source(ASSIGNMENT, ASSIGNMENT.part(grade_id)))


def test_no_locked_cell_writes_the_loop_of_parts_2_and_3():
    """Demos and experiments call the student's code (or nn.RNN): a released cell never spells out an answer."""
    locked = [c for c in nbformat.read(RELEASE_NB, 4).cells if c.cell_type == "code"
              and c.metadata.get("nbgrader", {}).get("locked")]
    loop = re.compile(r"for \w+ in X\b.*\n.*(np\.tanh|cell\()|H = np\.tanh\(.*@")
    assert locked and not [c.source for c in locked if loop.search(c.source)]
    assert loop.search(reference_source(ASSIGNMENT, ASSIGNMENT.part("rnn_forward")))  # control
