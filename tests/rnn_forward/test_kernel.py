"""The hidden tests as nbgrader runs them: inside the kernel, score as the cell's value."""
import dataclasses
import warnings

import numpy as np
import pytest
import torch

from autograder import kernel
from autograder.notebook import template
from autograder.tools.sync import reference_source
from tests.rnn_forward.helpers import ASSIGNMENT, CORPUS


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
    sizes = next(t for t in ASSIGNMENT.tests["rnn_forward"] if t.name == "test_uses_sizes_from_its_arguments")
    assert grade("rnn_forward", globals_bug) == ASSIGNMENT.points("rnn_forward") - sizes.points
    out = " ".join(capfd.readouterr().out.split())  # as one line: the table wraps long messages
    assert f"[falhou] tira os tamanhos dos argumentos (0/{sizes.points:g}): " in out
    assert "variáveis globais do notebook" in out  # the mistake, named
    assert "ValueError" in out and "gufunc" not in out  # NumPy's own words never reach the student


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


# The reference module with one mistake: H_0 made on the notebook's global device, not on X's.
GLOBAL_DEVICE_MODULE = reference_source(ASSIGNMENT, ASSIGNMENT.part("rnn_cell_module")).replace(
    "device=X.device", "device=device")


def module_tests(ns):
    """{test name: (status, score)} of the module part graded in namespace `ns`, on the CPU."""
    from autograder.results import test_result
    from autograder.runner import run_part

    outcomes = run_part(ASSIGNMENT, "rnn_cell_module", kernel.KernelProcess(ns), ["cpu"], 7)
    tests = [test_result(t.name, t.points, outcomes[("rnn_cell_module", t.name)]) for t in
             ASSIGNMENT.tests["rnn_cell_module"]]
    return {t.name: (t.status.value, t.score) for t in tests}


@pytest.mark.parametrize("setup_device", ["cpu", "cuda"])
def test_a_global_device_module_loses_the_device_test_only_whatever_device_the_setup_picked(setup_device):
    """A CUDA grader's setup cell says device = cuda: the module's CPU runs must not fail because of it."""
    ns = namespace(GLOBAL_DEVICE_MODULE)
    ns["device"] = torch.device(setup_device)  # as the setup cell leaves it on such a machine
    results = module_tests(ns)
    lost = {name for name, (status, _) in results.items() if status != "passed"}
    assert lost == {"test_follows_the_device_of_its_input"}, results


def test_without_setting_the_global_per_run_a_cuda_setup_would_fail_every_cpu_run(monkeypatch):
    """Control: the same module and a CUDA setup, with the probe that leaves the global alone."""
    from autograder.inside import child

    table = child.probes()
    table["module"] = lambda ns, device_global=None, **kwargs: child.build_and_run(ns, **kwargs)
    monkeypatch.setattr(child, "probes", lambda: table)
    ns = namespace(GLOBAL_DEVICE_MODULE)
    ns["device"] = torch.device("cuda")
    results = module_tests(ns)
    assert sum(1 for status, _ in results.values() if status == "passed") <= 1, results


def test_a_warning_raised_inside_a_check_never_reaches_the_student(capfd, monkeypatch, recwarn):
    # A check whose arithmetic warns, as an arctanh of 1 did: its file and line would show in the feedback.
    test = ASSIGNMENT.tests["ff_forward"][0]

    def warns(part):
        np.log(np.zeros(1))
        warnings.warn("a check's own warning", UserWarning, stacklevel=1)

    monkeypatch.setitem(ASSIGNMENT.tests, "ff_forward", [dataclasses.replace(test, function=warns)])
    grade("ff_forward", reference_source(ASSIGNMENT, ASSIGNMENT.part("ff_forward")))
    out, err = capfd.readouterr()
    assert "Warning" not in out + err and ".py:" not in out + err and not recwarn.list
    warns(None)  # control: called bare, it does warn
    assert len(recwarn.list) == 2
