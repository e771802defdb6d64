"""The student's process, in this process: what a kernel provides, and the student's other cells."""
import time

import pytest

from autograder.inside import child
from autograder.notebook import python_source


def load(tmp_path, monkeypatch, source, **kwargs):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.path", list(__import__("sys").path))
    ns = {}
    child.load(ns, python_source(source), **kwargs)
    return ns


def test_magics_that_time_or_capture_run_their_code_and_the_rest_do_nothing(tmp_path, monkeypatch):
    source = ("%matplotlib inline\n%load_ext autoreload\nfiles = !ls /\n!rm -rf /tmp/x\nlen?\n"
              "%time a = 1\n%timeit -n 3 -r 2 b = a + 1\ndisplay(a)\n")
    ns = load(tmp_path, monkeypatch, source)
    assert ns["files"] == [] and ns["a"] == 1 and ns["b"] == 2
    ns = load(tmp_path, monkeypatch, "%%capture\ndef f():\n    return 3\n")
    assert ns["f"]() == 3


def test_other_cells_run_first_their_errors_are_ignored_and_their_time_is_bounded(tmp_path, monkeypatch):
    before = ["import math", "raise ValueError('a scratch cell that fails')", "while True:\n    pass",
              "late = 1"]
    start = time.monotonic()
    ns = load(tmp_path, monkeypatch, "def f():\n    return math.pi", before=before, other_seconds=0.5)
    assert time.monotonic() - start < 5
    assert ns["f"]() == pytest.approx(3.14159, abs=1e-5)
    assert "late" not in ns  # the loop ate the other cells' time: what follows it is skipped


def test_the_answer_cells_own_error_still_fails_the_part(tmp_path, monkeypatch):
    with pytest.raises(NameError):
        load(tmp_path, monkeypatch, "undefined_name", before=["x = 1"])


def test_cells_after_the_answer_run_after_it(tmp_path, monkeypatch):
    ns = load(tmp_path, monkeypatch, "def f():\n    return 1", after=["def f():\n    return 2", "1/0"])
    assert ns["f"]() == 2


def test_writefile_writes_a_module_the_next_cells_import_and_capture_names_its_result(tmp_path, monkeypatch):
    source = "%%writefile helper_mod.py\ndef twice(x):\n    return 2 * x\n"
    ns = load(tmp_path, monkeypatch, source, after=["import helper_mod\nanswer = helper_mod.twice(21)"])
    assert ns["answer"] == 42
    ns = load(tmp_path, monkeypatch, "%%capture out\nprint('hidden')\n")
    assert ns["out"].stdout == ""


FIND_THE_GRADER = """
import sys
from autograder.inside import child
table = child.probes()
{forget}
found = sys.modules.get("autograder.inside.child") or __import__("autograder.inside.child", fromlist=["child"])
found.build_and_run = found.call = lambda *a, **k: "forged"
print(found is child, found.build_and_run is child.build_and_run, table["call"]({{"f": lambda: 1}}, "f", [])["items"]
      ["value"], sep="|")
"""


@pytest.mark.parametrize("forget, reached", [("child.forget_the_grader()", False), ("", True)],
                         ids=["forgotten", "control"])
def test_student_code_cannot_reach_the_running_probes_by_name(forget, reached):
    """After forget_the_grader (what the student's process does before any student code), a patch through
    sys.modules or an import lands in a fresh copy; the control, without it, patches the running module."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", FIND_THE_GRADER.format(forget=forget)], capture_output=True,
                         text=True, check=True).stdout.strip().split("|")
    assert out[:2] == [str(reached), str(reached)]  # the patch reached the running module only in the control
    assert out[2] == "{'kind': 'scalar', 'value': 1.0}"  # the probe table answers as the grader wrote it
