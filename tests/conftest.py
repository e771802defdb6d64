"""Fixtures for the project's own tests (shared constants and helpers are in tests/helpers.py)."""
import pytest
import torch

from tests.helpers import copy_course

# The tiny course is test data: its hidden tests are an assignment's, run by the engine, not by this suite.
collect_ignore = ["tiny_course"]

DEVICES = [
    "cpu",
    pytest.param(
        "cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available on this machine")
    ),
]


@pytest.fixture
def course(tmp_path):
    """A fresh copy of the course (config, source/ and the assignment's solutions/) in tmp_path."""
    return copy_course(tmp_path)


@pytest.fixture(params=DEVICES)
def device(request):
    """Every torch test runs on each device this machine has."""
    # fp32 tolerances assume full-precision matmuls, which TF32 would break on CUDA.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    return torch.device(request.param)
