"""The one runner: an assignment's hidden tests against one submission.

The command line (cli.py) calls `grade_submission` for each submission; the
pytest plugin (plugin.py) and the in-kernel path for nbgrader (kernel.py) are
adapters that hand the same tests the same `part` client (PartClient) and
score them by the same rule (classify, then results.py). Calling the test
functions directly, without starting pytest per submission, is what makes a
class fast.
"""
import functools
import hashlib
import os
import resource
import secrets
import subprocess
import sys
import time
import traceback
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeAlias, TypeVar

import numpy as np

from autograder import results, tamper
from autograder.assignment import Assignment
from autograder.course import choose_notebook, no_answer
from autograder.errors import Refused, StudentCrash, StudentError, StudentTimeout
from autograder.inside.values import Restored
from autograder.limits import Limits
from autograder.notebook import Submission, load_submission, read_regular_file
from autograder.results import Run, Status, SubmissionResult
from autograder.session import PartProcess, Session

GRADER_ERROR = "o corretor falhou neste teste (não é um erro do seu código); o professor vai revisar"
T = TypeVar("T")
# {(grade_id, test name): its runs}
Outcomes: TypeAlias = "dict[tuple[str, str], list[Run]]"


class StudentProcess(Protocol):
    """Where a part's probes run: session.PartProcess (the sandbox), NoCell, kernel.KernelProcess (in-kernel)."""

    def request(self, op: str, **args: Any) -> Restored: ...


def gpu_device_nodes() -> bool:
    """Whether this machine has the device files a GPU for torch needs (NVIDIA's, ROCm's or WSL's); where
    there is no such thing to look for (not Linux), True: then only torch can tell."""
    if sys.platform != "linux":
        return True
    dev = Path("/dev")
    return any(dev.glob("nvidia*")) or (dev / "kfd").exists() or (dev / "dxg").exists()


@functools.cache
def cuda_available() -> bool:
    """Asked of a fresh interpreter: the grader itself never initialises CUDA. A machine without a GPU's
    device files cannot have CUDA, and is not asked (an interpreter importing torch: a second of start-up)."""
    if not gpu_device_nodes():
        return False
    probe = "import torch; print(torch.cuda.is_available())"
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip() == "True"


def devices(requested: str, cuda: "bool | None" = None) -> "list[str]":
    """The torch devices a test with device variants runs on: "cpu", "cuda" or "auto" (CUDA when present).

    `cuda` says whether CUDA is there, for a caller that knows (a kernel that has torch); else it is asked.
    """
    cuda = cuda_available() if cuda is None and requested != "cpu" else bool(cuda)
    if requested == "cuda" and not cuda:
        raise ValueError("--device cuda: CUDA is not available on this machine")
    return ["cpu", "cuda"] if requested != "cpu" and cuda else ["cpu"]


def new_seed() -> int:
    """A secret seed for one grading run's hidden inputs."""
    return secrets.randbits(63)


class PartClient:
    """What a hidden test sees of one part: calls into the student's process, and the run's inputs."""

    def __init__(self, grade_id: str, process: StudentProcess, seed: int, devices: "tuple[str, ...]" = ("cpu",)):
        self.grade_id, self.process, self.seed = grade_id, process, seed
        self.devices = devices  # the torch devices this run grades on: a test that needs CUDA asks here
        self.notes: "list[str]" = []  # told to the student beside the part's score, whatever it is
        self.changed: "list[int]" = []  # arguments the last call() changed in place (a claim)
        self._runs: "dict[str, Any]" = {}

    def rng(self, name: str) -> np.random.Generator:
        """The generator of the hidden inputs named `name`, for this run's secret seed."""
        return np.random.default_rng([self.seed, zlib.crc32(name.encode())])

    def once(self, name: str, run: "Callable[[], T]") -> T:
        """run(), once per part: tests that check different properties of the same run share it."""
        if name not in self._runs:
            self._runs[name] = run()
        return self._runs[name]

    def note(self, text: str) -> None:
        """Tell the student something about how this part was graded (a passed test has no message)."""
        note = f"{self.grade_id}: {text}"
        if note not in self.notes:
            self.notes.append(note)

    def call(self, name: str, *args: Any) -> Restored:
        """Call the student's function `name`; returns what it returned (inside/values.py). The positions of the
        arguments it changed in place (what the student's process says: a claim) are in `changed` after it."""
        reply = self.process.request("call", name=name, args=list(args))
        if not isinstance(reply, dict) or "value" not in reply:
            raise StudentError("o processo do aluno devolveu uma resposta inválida à chamada")
        items = reply.get("changed")
        self.changed = [int(i) for i in getattr(items, "items", []) if isinstance(i, float) and 0 <= i < len(args)]
        return reply["value"]

    def module(self, name: str, args: "tuple[Any, ...]", **kwargs: Any) -> "dict[str, Restored]":
        """Build (and run) the student's torch module class `name`; see inside/child.module. Always a
        dict: a reply of another shape (a patched probe) is the student's error, not a KeyError in a test."""
        result = self.process.request("module", name=name, args=list(args), **kwargs)
        if not isinstance(result, dict):
            raise StudentError("o processo do aluno devolveu uma resposta inválida ao módulo")
        return result


def classify(exc: "BaseException | None", variant: str = "") -> Run:
    """The run of a test that raised `exc` (None: it passed), with the mistakes a check named."""
    if exc is None:
        return Run(variant, Status.PASSED, "")
    if isinstance(exc, StudentTimeout):
        return Run(variant, Status.TIMEOUT, str(exc))
    if isinstance(exc, (StudentError, StudentCrash)):
        return Run(variant, Status.ERROR, str(exc))
    if isinstance(exc, AssertionError):
        return Run(variant, Status.FAILED, str(exc), getattr(exc, "diagnosis", ()))
    return Run(variant, Status.GRADER_ERROR, GRADER_ERROR)


class NoCell:
    """Stands in for a part whose answer cell was not found (or refused): every call fails."""

    def __init__(self, grade_id: str, why: "str | None" = None):
        self.message = why or f"nenhuma célula de resposta encontrada para {grade_id}"

    def request(self, op: str, **args: Any) -> Restored:
        raise StudentError(self.message)

    def release(self) -> None:
        pass


@functools.cache  # once a process
def one_thread() -> None:
    """The grader's own NumPy, OpenBLAS and PyTorch on one thread, in each process that runs checks.

    A check multiplies small matrices, which a second thread never speeds up; and with a worker per core
    the idle threads of each one's pools spin for the others' cores (measured: 0.99 core-s of grader CPU
    per submission with their default threads, 0.35 s with one, beside a busy neighbour). The grader never
    imports PyTorch (1.8 s of a worker's start): where it is there already, it is told; else the variable
    it reads when imported is set."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)  # (kept for the process's life: never restored)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
    else:
        os.environ["OMP_NUM_THREADS"] = "1"


def run_part(assignment: Assignment, grade_id: str, process: StudentProcess, devices: "list[str]", seed: int,
             logs: "list[str] | None" = None, notes: "list[str] | None" = None) -> Outcomes:
    """{(grade_id, test name): [Run]} for one part; grader failures are told in `logs`, the tests' notes for
    the student in `notes`."""
    part = PartClient(grade_id, process, seed, tuple(devices))
    outcomes: Outcomes = {}
    for test in assignment.tests[grade_id]:
        runs = []
        for device in devices if test.per_device else [""]:
            try:
                # A check's own warnings (an arctanh of 1, say) are not the student's to read.
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    test.function(part, **({"torch_device": device} if device else {}))
                exc = None
            except Exception as error:
                exc = error
            run = classify(exc, device if test.per_device and len(devices) > 1 else "")
            if run.status == Status.GRADER_ERROR and logs is not None:
                logs.append(f"{grade_id}.{test.name}: " + "".join(traceback.format_exception(exc)))
            runs.append(run)
        outcomes[(grade_id, test.name)] = runs
    if notes is not None:
        notes.extend(note for note in part.notes if note not in notes)
    return outcomes


def grade_submission(assignment: Assignment, student: str, notebook: Path, error: "str | None", limits: Limits,
                     devices: "list[str]", seed: int) -> "tuple[SubmissionResult, list[str]]":
    """(SubmissionResult, grader logs) of one submission; student code runs in the sandbox only.

    `notebook` may be a submission folder that holds several notebooks: exactly one of them is graded,
    never the best of several (course.choose_notebook: the one named after the assignment, unless it
    holds no answer), and the row's notes say which one and why.
    """
    if error or not Path(notebook).is_dir():
        return grade_notebook(assignment, student, notebook, error, limits, devices, seed)
    chosen, notes = choose_notebook(assignment, Path(notebook))
    if chosen is None:
        row = results.submission_result(assignment, student, notebook, {}, notes, f"{notebook}: nenhum notebook")
        return row, []
    row, logs = grade_notebook(assignment, student, chosen, None, limits, devices, seed)  # its flags, its review
    row.notes = [results.printable(note)[:results.MAX_MESSAGE] for note in [*notes, *row.notes]][:results.MAX_NOTES]
    return row, logs


def flags(sub: Submission) -> "list[str]":
    """What the student's cells that the parts run do to torch, numpy or the grader (tamper.py), once each."""
    where = {answer.source: grade_id for grade_id, answer in sub.cells.items()}
    others = {source for answer in sub.cells.values() for source in (*answer.before, *answer.after)}
    found: "dict[str, None]" = {}
    for source in [*where, *sorted(others - where.keys())]:
        for finding in tamper.findings(source):
            cell = f"célula {where[source]}" if source in where else "outra célula sua"
            found.setdefault(results.printable(f"{cell}: {finding}"), None)
    return list(found)[:results.MAX_NOTES]


def grade_notebook(assignment: Assignment, student: str, notebook: Path, error: "str | None", limits: Limits,
                   devices: "list[str]", seed: int) -> "tuple[SubmissionResult, list[str]]":
    """(SubmissionResult, grader logs) of one notebook."""
    start = time.monotonic()
    data = None
    if not error:
        try:
            data = read_regular_file(notebook)
        except Refused as exc:
            error = str(exc)
    sub = None if error else load_submission(assignment, notebook, student, data)
    parsed = time.monotonic() - start
    if sub is not None:
        error = error or sub.error
    if error or sub is None or data is None:  # (without an error, both are there)
        return results.submission_result(assignment, student, notebook, {}, error=error), []
    outcomes: Outcomes = {}
    logs: "list[str]" = []
    files = {Path(notebook).name: data if sub.beside is None else sub.beside}  # (a large file: without outputs)
    with Session(limits, assignment, use_gpu="cuda" in devices, files=files, seed=seed) as session:
        for part in assignment.parts:
            cell = sub.cells.get(part.grade_id)
            process = session.part(cell) if cell is not None else NoCell(part.grade_id, sub.refused.get(part.grade_id))
            outcomes.update(run_part(assignment, part.grade_id, process, devices, seed, logs, sub.notes))
            process.release()
            if isinstance(process, PartProcess) and process.alone and process.dead is None:  # alone, the part ran fine
                sub.notes.append(f"{part.grade_id}: células suas acima desta travaram ou encerraram o processo; "
                                 "a parte foi corrigida só com a própria célula")
        tests = time.monotonic() - start
    row = results.submission_result(assignment, student, notebook, outcomes, sub.notes)
    row.flags = flags(sub)
    row.attempted = no_answer(assignment, sub) is None
    row.digest = hashlib.sha256(data).hexdigest()
    # Where the time went (wall seconds), for the benchmark: "tests" is everything up to the end of the parts;
    # within it "parse" read the notebook, "spawn" started processes, "cells" ran the student's cells and
    # "calls" the calls into them (their code and the pipe); the rest of "tests" is the checks (diagnosis
    # included), and the rest of "wall" closing the session.
    row.timing = {"tests": tests, "spawn": session.spawn_seconds, "wall": time.monotonic() - start,
                  "parse": parsed, "cells": session.cell_seconds, "calls": session.call_seconds,
                  "grader_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    return row, logs
