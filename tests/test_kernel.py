"""The hidden tests as nbgrader runs them: inside the kernel, score as the cell's value."""
import pytest

from autograder import child, kernel
from autograder.parts import PARTS, PARTS_BY_ID
from solutions.sync import reference_source
from tests import corpus


def namespace(source):
    """What a kernel holds at a graded cell: the notebook's preamble and the answer cell."""
    ns = {}
    exec(child.PREAMBLE, ns)
    exec(source, ns)
    return ns


@pytest.mark.parametrize("part", PARTS, ids=lambda p: p.grade_id)
def test_the_reference_gets_the_parts_points(part, capfd):
    assert kernel.grade(part.grade_id, namespace(reference_source(part))) == part.points
    out, err = capfd.readouterr()
    assert err == "" and out.count("[ok]") == len(part.tests)


@pytest.mark.parametrize("grade_id", ["ff_init_weights", "rnn_forward"])
def test_warnings_and_stderr_of_the_student_never_reach_stderr(grade_id, capfd):
    chatty = corpus.CASES["correct_torch_inits_and_chatter"][0][grade_id]
    assert kernel.grade(grade_id, namespace(chatty)) == PARTS_BY_ID[grade_id].points
    assert capfd.readouterr().err == ""


def test_a_mistake_costs_its_tests_and_says_why(capfd):
    globals_bug = corpus.CASES["rnn_forward_uses_notebook_globals"][0]["rnn_forward"]
    assert kernel.grade("rnn_forward", namespace(globals_bug)) == 2.0
    out = capfd.readouterr().out
    assert "[error] test_uses_sizes_from_its_arguments (0/1)" in out
