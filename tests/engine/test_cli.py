"""How the command line finds submissions."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.course import find_submissions
from tests.helpers import REPO, TINY_ASSIGNMENT

RELEASE_NB = TINY_ASSIGNMENT.release_notebook
ON = ("--assignment", str(TINY_ASSIGNMENT.folder))  # the tiny course's assignment


def touch(path):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("{}")
    return Path(path)


def test_nbgrader_layout_gives_one_row_per_student(tmp_path):
    ana = touch(tmp_path / "ana" / "tiny" / "tiny.ipynb")
    touch(tmp_path / "ana" / "tiny" / "scratch.ipynb")
    bob = touch(tmp_path / "bob" / "tiny" / "Untitled.ipynb")
    (tmp_path / "carl" / "tiny").mkdir(parents=True)
    jobs = find_submissions([tmp_path], "tiny")
    # ana has two notebooks: her folder is the job, and the runner grades the one that counts (course.choose_notebook)
    assert [(s, nb) for s, nb, _ in jobs[:2]] == [("ana", ana.parent), ("bob", bob)]
    assert jobs[2][0] == "carl" and "nenhum notebook" in jobs[2][2]


def test_flat_folder_and_single_files_use_the_stem(tmp_path):
    a, b = touch(tmp_path / "a.ipynb"), touch(tmp_path / "b.ipynb")
    touch(tmp_path / "notes.txt")
    assert find_submissions([tmp_path], "tiny") == [("a", a, None), ("b", b, None)]
    assert find_submissions([b], "tiny") == [("b", b, None)]


def test_a_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(SystemExit, match="nope: no such file or folder"):
        find_submissions([tmp_path / "nope"], "tiny")


@pytest.mark.slow
def test_without_bubblewrap_grading_goes_on_and_the_report_says_so(tmp_path):
    env = dict(os.environ, PATH=os.path.dirname(sys.executable))  # no bwrap on PATH
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", str(RELEASE_NB), *ON, "--json", str(out)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and "WARNING" in proc.stderr and "bubblewrap" in proc.stderr
    report = json.loads(out.read_text())
    assert report["isolation"] == "process" and report["submissions"][0]["score"] == 0


@pytest.mark.parametrize("db", ["missing.db", "empty.db", "foreign.db"])
def test_a_wrong_gradebook_stops_before_grading_and_creates_nothing(tmp_path, db):
    (tmp_path / "empty.db").write_bytes(b"")
    (tmp_path / "foreign.db").write_bytes(b"SQLite format 3\0" + b"\0" * 100)
    before = sorted((p.name, p.read_bytes()) for p in tmp_path.iterdir())
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", str(RELEASE_NB), *ON, "--gradebook",
                           str(tmp_path / db), "--json", str(tmp_path / "r.json")],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and str(tmp_path / db) in proc.stderr and "nbgrader" in proc.stderr
    # no new gradebook, no report, no journal, and the wrong files are left as they were
    assert sorted((p.name, p.read_bytes()) for p in tmp_path.iterdir()) == before


def test_the_default_gradebook_is_the_courses(tmp_path):
    from autograder.gradebook import default_gradebook
    assert default_gradebook(TINY_ASSIGNMENT) == TINY_ASSIGNMENT.course / "gradebook.db"


def test_help_describes_every_option_and_its_default():
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", "--help"], cwd=REPO, capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, COLUMNS="200"))
    options = re.split(r"\n  (?=-)", proc.stdout.split("options:")[1])[1:]  # one block per option
    from autograder.limits import declared

    assert {f.metadata["flag"] for f in declared()} <= {block.split()[0].rstrip(",") for block in options}
    for block in options:
        assert block.startswith("-h") or "default" in block, block
    assert "PATH" in proc.stdout.split("options:")[0] and "submitted/" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "autograder", "report", "--help"], cwd=REPO, capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, COLUMNS="200"))
    assert "REPORT.json" in proc.stdout and "--out" in proc.stdout and "default" in proc.stdout
