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
import resource
import secrets
import subprocess
import sys
import time
import traceback
import warnings
import zlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol, TypeAlias, TypeVar

import numpy as np

from autograder import results
from autograder.assignment import Assignment
from autograder.course import notebooks_in
from autograder.errors import Refused, StudentCrash, StudentError, StudentTimeout
from autograder.inside.values import Restored
from autograder.limits import Limits
from autograder.notebook import load_submission, read_regular_file
from autograder.results import Run, Status, SubmissionResult
from autograder.session import PartProcess, Session

GRADER_ERROR = "o corretor falhou neste teste (não é um erro do seu código); o professor vai revisar"
T = TypeVar("T")
# {(grade_id, test name): its runs}
Outcomes: TypeAlias = "dict[tuple[str, str], list[Run]]"


class StudentProcess(Protocol):
    """Where a part's probes run: session.PartProcess (the sandbox), NoCell, kernel.KernelProcess (in-kernel)."""

    def request(self, op: str, **args: Any) -> Restored: ...


@functools.cache
def cuda_available() -> bool:
    """Asked of a fresh interpreter: the grader itself never initialises CUDA."""
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

    def __init__(self, grade_id: str, process: StudentProcess, seed: int):
        self.grade_id, self.process, self.seed = grade_id, process, seed
        self._runs: "dict[str, Any]" = {}

    def rng(self, name: str) -> np.random.Generator:
        """The generator of the hidden inputs named `name`, for this run's secret seed."""
        return np.random.default_rng([self.seed, zlib.crc32(name.encode())])

    def once(self, name: str, run: "Callable[[], T]") -> T:
        """run(), once per part: tests that check different properties of the same run share it."""
        if name not in self._runs:
            self._runs[name] = run()
        return self._runs[name]

    def call(self, name: str, *args: Any) -> Restored:
        """Call the student's function `name`; returns what it returned (inside/values.py)."""
        return self.process.request("call", name=name, args=list(args))

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


def run_part(assignment: Assignment, grade_id: str, process: StudentProcess, devices: "list[str]", seed: int,
             logs: "list[str] | None" = None) -> Outcomes:
    """{(grade_id, test name): [Run]} for one part; grader failures are told in `logs`."""
    part = PartClient(grade_id, process, seed)
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
    return outcomes


def grade_submission(assignment: Assignment, student: str, notebook: Path, error: "str | None", limits: Limits,
                     devices: "list[str]", seed: int) -> "tuple[SubmissionResult, list[str]]":
    """(SubmissionResult, grader logs) of one submission; student code runs in the sandbox only.

    `notebook` may be a submission folder that holds several notebooks: each one
    course.notebooks_in picks is graded, and the best score counts (the notes say so).
    """
    if error or not Path(notebook).is_dir():
        return grade_notebook(assignment, student, notebook, error, limits, devices, seed)
    candidates, notes = notebooks_in(Path(notebook), assignment.name)
    graded, start = [], time.monotonic()
    for path in candidates:  # one submission, one time budget: its notebooks share it
        left = limits.submission_timeout - (time.monotonic() - start)
        if left < 1:
            notes.append(f"{path.name}: não corrigido, o tempo da entrega acabou nos outros notebooks")
            continue
        graded.append(grade_notebook(assignment, student, path, None, replace(limits, submission_timeout=left),
                                     devices, seed))
    if not graded:
        row = results.submission_result(assignment, student, notebook, {}, notes, f"{notebook}: nenhum notebook")
        return row, []
    best, logs = max(graded, key=lambda g: g[0].score)  # the first of equals: the preferred name
    if len(graded) > 1:
        scores = ", ".join(f"{Path(g[0].notebook).name} ({g[0].score:g})" for g in graded)
        notes.append(f"{len(graded)} notebooks na entrega, todos corrigidos: {scores}; vale o de maior nota, "
                     f"{Path(best.notebook).name}")
    best.notes = [results.printable(note) for note in [*notes, *best.notes][:results.MAX_NOTES]]
    best.needs_review = best.needs_review or any(g[0].needs_review for g in graded)
    return best, [line for g in graded for line in g[1]]


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
    if sub is not None:
        error = error or sub.error
    if error or sub is None or data is None:  # (without an error, both are there)
        return results.submission_result(assignment, student, notebook, {}, error=error), []
    outcomes: Outcomes = {}
    logs: "list[str]" = []
    files = {Path(notebook).name: data}
    with Session(limits, assignment, use_gpu="cuda" in devices, files=files, seed=seed) as session:
        for part in assignment.parts:
            cell = sub.cells.get(part.grade_id)
            process = session.part(cell) if cell is not None else NoCell(part.grade_id, sub.refused.get(part.grade_id))
            outcomes.update(run_part(assignment, part.grade_id, process, devices, seed, logs))
            process.release()
            if isinstance(process, PartProcess) and process.alone and process.dead is None:  # alone, the part ran fine
                sub.notes.append(f"{part.grade_id}: células suas acima desta travaram ou encerraram o processo; "
                                 "a parte foi corrigida só com a própria célula")
        tests = time.monotonic() - start
    row = results.submission_result(assignment, student, notebook, outcomes, sub.notes)
    row.digest = hashlib.sha256(data).hexdigest()
    # Where the time went: "tests" ran student code and checks, "spawn" (part of
    # it) started processes; the rest of "wall" is the grader's own overhead.
    row.timing = {"tests": tests, "spawn": session.spawn_seconds, "wall": time.monotonic() - start,
                  "grader_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    return row, logs
