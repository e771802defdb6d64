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
import secrets
import subprocess
import sys
import traceback
import zlib

import numpy as np

from autograder.parts import PARTS_BY_ID
from autograder.sandbox import StudentCrash, StudentError, StudentTimeout

GRADER_ERROR = "o corretor falhou neste teste (não é um erro do seu código); o professor vai revisar"


@functools.cache
def cuda_available():
    """Asked of a fresh interpreter: the grader itself never initialises CUDA."""
    probe = "import torch; print(torch.cuda.is_available())"
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip() == "True"


def new_seed() -> int:
    """A secret seed for one grading run's hidden inputs."""
    return secrets.randbits(63)


class PartClient:
    """What a hidden test sees of one part: calls into the student's process, and the run's inputs."""

    def __init__(self, grade_id, process, seed):
        self.grade_id, self.process, self.seed = grade_id, process, seed
        self._runs = {}

    def once(self, name: str, run):
        """run(), once per part: tests that check different properties of the same run share it."""
        if name not in self._runs:
            self._runs[name] = run()
        return self._runs[name]

    def rng(self, name: str) -> np.random.Generator:
        """The generator of the hidden inputs named `name`, for this run's secret seed."""
        return np.random.default_rng([self.seed, zlib.crc32(name.encode())])

    def call(self, name, *args):
        """Call the student's function `name`; returns what it returned (values.py)."""
        return self.process.request("call", name=name, args=list(args))

    def module(self, sizes, **kwargs) -> dict:
        """Build (and run) the student's RNN module; see child.rnn_module. Always a dict: a reply of
        another shape (a patched probe) is the student's error, not a KeyError in a test."""
        result = self.process.request("rnn_module", sizes=list(sizes), **kwargs)
        if not isinstance(result, dict):
            raise StudentError("o processo do aluno devolveu uma resposta inválida ao módulo")
        return result


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
    return "grader_error", GRADER_ERROR


def grader_log(grade_id, name, exc):
    """What the instructor reads about a grader failure: never shown to the student."""
    detail = "".join(traceback.format_exception(exc))
    return f"{grade_id}.{name}: {detail}"


class NoCell:
    """Stands in for a part whose answer cell was not found (or refused): every call fails."""

    def __init__(self, grade_id, why=None):
        self.message = why or f"nenhuma célula de resposta encontrada para {grade_id}"

    def request(self, op, **args):
        raise StudentError(self.message)

    def release(self):
        pass


def run_part(grade_id, process, devices, seed, logs=None):
    """{(grade_id, test name): [(variant, status, message)]} for one part; grader failures go to `logs`."""
    module = importlib.import_module(f"autograder.hidden.test_{grade_id}")
    part = PartClient(grade_id, process, seed)
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
            status, message = classify(exc)
            if status == "grader_error" and logs is not None:
                logs.append(grader_log(grade_id, name, exc))
            runs.append((device if len(variants) > 1 else "", status, message))
        outcomes[(grade_id, name)] = runs
    return outcomes
