"""Shared helpers for the project's own tests."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from autograder.parts import ASSIGNMENT

REPO = Path(__file__).resolve().parent.parent
SOURCE_NB = REPO / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
RELEASE_NB = REPO / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


def run_nbgrader(*args, cwd=REPO):
    """Run the nbgrader command line of this environment; return its output."""
    # nbgrader calls its helpers (alembic) by name, so this venv's bin/ must be on PATH.
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, f"nbgrader {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


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


@pytest.fixture
def course(tmp_path):
    """A fresh copy of the course directory (config and source/) in tmp_path."""
    shutil.copy(REPO / "nbgrader_config.py", tmp_path)
    shutil.copytree(REPO / "source", tmp_path / "source")
    return tmp_path


DEVICES = [
    "cpu",
    pytest.param(
        "cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available on this machine")
    ),
]


@pytest.fixture(params=DEVICES)
def device(request):
    """Every torch test runs on each device this machine has."""
    # fp32 tolerances assume full-precision matmuls, which TF32 would break on CUDA.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    return torch.device(request.param)
