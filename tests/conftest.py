"""What every layer of the project's tests shares: the layer markers and the torch device fixture.

Each folder is a layer, marked so that it runs alone (`pytest -m engine`): tests/engine (the engine,
on the tiny course), tests/sandbox (isolation and limits) and tests/rnn_forward (the RNN assignment,
through every path of the engine).
"""
from pathlib import Path

import pytest
import torch

# The tiny course is test data: its hidden tests are an assignment's, run by the engine, not by this suite.
collect_ignore = ["tiny_course"]

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


LAYERS = {"engine": "engine", "sandbox": "sandbox", "rnn_forward": "assignment"}


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        layer = LAYERS.get(Path(item.path).relative_to(here).parts[0])
        if layer:
            item.add_marker(layer)
