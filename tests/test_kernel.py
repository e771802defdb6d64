"""The hidden tests as nbgrader runs them: inside the kernel, score as the cell's value."""
import pytest

from autograder import kernel
from autograder.notebook import template
from autograder.tools.sync import reference_source
from tests.helpers import ASSIGNMENT, CORPUS


def namespace(source):
    """What a kernel holds at a graded cell: the notebook's preamble and the answer cell."""
    ns = {}
    exec(template(ASSIGNMENT).preamble, ns)
    exec(source, ns)
    return ns


def grade(grade_id, source):
    return kernel.grade(grade_id, namespace(source), ASSIGNMENT)


@pytest.mark.parametrize("part", ASSIGNMENT.parts, ids=lambda p: p.grade_id)
def test_the_reference_gets_the_parts_points(part, capfd):
    assert grade(part.grade_id, reference_source(ASSIGNMENT, part)) == ASSIGNMENT.points(part.grade_id)
    out, err = capfd.readouterr()
    assert err == "" and out.count("[ok]") == len(ASSIGNMENT.tests[part.grade_id])


@pytest.mark.parametrize("grade_id", ["ff_init_weights", "rnn_forward"])
def test_warnings_and_stderr_of_the_student_never_reach_stderr(grade_id, capfd):
    chatty = CORPUS.cases["correct_torch_inits_and_chatter"][0][grade_id]
    assert grade(grade_id, chatty) == ASSIGNMENT.points(grade_id)
    assert capfd.readouterr().err == ""


def test_a_mistake_costs_its_tests_and_says_why(capfd):
    globals_bug = CORPUS.cases["rnn_forward_uses_notebook_globals"][0]["rnn_forward"]
    assert grade("rnn_forward", globals_bug) == 2.0
    out = capfd.readouterr().out
    assert "[error] test_uses_sizes_from_its_arguments (0/1)" in out


def test_in_a_kernel_the_assignment_is_found_from_the_course(tmp_path, monkeypatch):
    # nbgrader runs each notebook in <course>/autograded/<student>/<assignment>/.
    folder = tmp_path / "autograded" / "ana" / ASSIGNMENT.name
    folder.mkdir(parents=True)
    (tmp_path / "nbgrader_config.py").write_text("")
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / ASSIGNMENT.name).symlink_to(ASSIGNMENT.folder)
    assert kernel.this_assignment(folder).folder == (tmp_path / "solutions" / ASSIGNMENT.name).resolve()
    with pytest.raises(LookupError, match="nbgrader_config.py"):
        kernel.this_assignment(tmp_path.parent)
