"""What every layer of the project's tests shares: where things are, and running the command lines.

The RNN assignment's own helpers (its corpus, its notebooks) are in tests/rnn_forward/helpers.py; the
engine's and the sandbox's tests grade the tiny course below (TINY).
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

from autograder import assignment as assignments
from autograder.tools.examples import Corpus

REPO = Path(__file__).resolve().parent.parent
TINY = REPO / "tests" / "tiny_course"  # a second course, for the engine's own tests
TINY_ASSIGNMENT = assignments.load(TINY / "solutions" / "tiny")
TINY_CORPUS = Corpus(TINY_ASSIGNMENT)


def run_nbgrader(*args, cwd=REPO):
    """Run the nbgrader command line of this environment; return its output."""
    # nbgrader calls its helpers (alembic) by name, so this venv's bin/ must be on PATH.
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, f"nbgrader {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def grade(*args, cwd=REPO, timeout=1800, check=(0,), env=None):
    """Run `python -m autograder grade` as an instructor would; the timeout only guards CI."""
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, env=env)
    assert proc.returncode in check, proc.stdout + proc.stderr
    return proc


def hidden_test_lines(nb):
    """The code lines inside the ### BEGIN/END HIDDEN TESTS regions of a notebook."""
    lines, hidden = [], False
    for cell in nb.cells:
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line or "END HIDDEN TESTS" in line:
                hidden = "BEGIN" in line
            elif hidden and line.strip():
                lines.append(line.strip())
    return lines


def copy_course(target: Path, assignment) -> Path:
    """A fresh copy of the course (its config, source/ and the assignment's solutions/) in `target`."""
    shutil.copy(assignment.course / "nbgrader_config.py", target)
    shutil.copytree(assignment.course / "source" / assignment.name, target / "source" / assignment.name)
    shutil.copytree(assignment.folder, target / "solutions" / assignment.name,
                    ignore=shutil.ignore_patterns("__pycache__", "examples"))
    return target
