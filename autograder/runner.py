"""What every way of running the hidden tests shares, and a runner that needs no pytest.

The pytest plugin, the command line and the in-kernel path for nbgrader all
hand the tests the same `part` client (PartClient, or NoCell when the answer
cell is missing) and score them by the same rule (classify). The command line
and the kernel call the test functions directly (run_part): skipping pytest's
start-up per submission is what makes a class fast.
"""
import functools
import importlib
import inspect
import subprocess
import sys

from autograder.parts import PARTS_BY_ID
from autograder.sandbox import StudentCrash, StudentError, StudentTimeout


@functools.cache
def cuda_available():
    """Asked of a fresh interpreter: the grader itself never initialises CUDA."""
    probe = "import torch; print(torch.cuda.is_available())"
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip() == "True"


class PartClient:
    """What a hidden test sees of one part: calls into the student's process."""

    def __init__(self, grade_id, process):
        self.grade_id, self.process = grade_id, process

    def call(self, name, *args):
        """Call the student's function `name`; returns what it returned (values.py)."""
        return self.process.request("call", name=name, args=list(args))

    def module(self, sizes, **kwargs):
        """Build (and run) the student's RNN module; see child.rnn_module."""
        return self.process.request("rnn_module", sizes=list(sizes), **kwargs)


def classify(exc):
    """(status, message) of a test that raised `exc` (None: it passed)."""
    if exc is None:
        return "passed", ""
    if isinstance(exc, StudentTimeout):
        return "timeout", str(exc)
    if isinstance(exc, (StudentError, StudentCrash)):
        return "error", str(exc)
    if isinstance(exc, AssertionError):
        return "failed", str(exc)
    return "error", f"erro interno do corretor ({type(exc).__name__}: {exc}); avise o professor"


class NoCell:
    """Stands in for a part whose answer cell was not found: every call fails."""

    def __init__(self, grade_id):
        self.grade_id = grade_id

    def request(self, op, **args):
        raise StudentError(f"nenhuma célula de resposta encontrada para {self.grade_id}")


def run_part(grade_id, process, devices):
    """{(grade_id, test name): [(variant, status, message)]} for one part."""
    module = importlib.import_module(f"autograder.hidden.test_{grade_id}")
    part = PartClient(grade_id, process)
    outcomes = {}
    for name in PARTS_BY_ID[grade_id].tests:
        test = getattr(module, name)
        variants = devices if "torch_device" in inspect.signature(test).parameters else [""]
        runs = []
        for device in variants:
            try:
                test(part, **({"torch_device": device} if device else {}))
                exc = None
            except Exception as error:
                exc = error
            runs.append((device if len(variants) > 1 else "", *classify(exc)))
        outcomes[(grade_id, name)] = runs
    return outcomes
