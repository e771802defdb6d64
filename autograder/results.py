"""Results as typed objects, and the one place where test outcomes become points.

A test that runs on several devices passes only if it passes on every device
it ran on; its points never depend on which devices the machine has.

A grader failure (`Status.GRADER_ERROR`) is never a student's zero in
disguise: the test scores nothing *yet*, the row says `needs_review`, and the
command line exits with a code of its own so that no one records it unawares.
"""
import textwrap
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autograder.inside.values import printable

if TYPE_CHECKING:
    from autograder.assignment import Assignment

GRADER_FAILED = "o corretor falhou ao corrigir esta entrega (não é um erro do seu código); o professor vai revisar"
NOT_RUN = "não executado"
MAX_MESSAGE = 1000  # characters a student reads per test: a check's message never needs more
MAX_NOTES = 30  # notes per row: each rule applies once per part or notebook


class Status(str, Enum):
    PASSED = "passed"
    FAILED = "failed"  # a property does not hold
    ERROR = "error"  # the student's code raised or crashed
    TIMEOUT = "timeout"
    SKIPPED = "skipped"
    GRADER_ERROR = "grader_error"  # the grader failed: needs review


@dataclass
class Run:
    """One run of a test: on a device ("" when it has no device variants)."""

    variant: str
    status: Status
    message: str
    diagnosis: "tuple[str, ...]" = ()  # codes of the mistakes that explain a failure


@dataclass
class TestResult:
    name: str  # the hidden test's function name: stable, for tools
    status: Status
    score: float
    max_score: float
    message: str
    title: str = ""  # what the student reads: the property, in Portuguese
    diagnosis: "list[str]" = field(default_factory=list)  # the mistakes that explain a failure; never on a pass


# What a graded cell shows for a part left as released (test_lines), in place of a line per test.
NOT_ANSWERED = "Parte não respondida"
# How a student reads each status, in Portuguese.
STATUS_WORDS = {Status.PASSED: "ok", Status.FAILED: "falhou", Status.ERROR: "erro", Status.TIMEOUT: "tempo esgotado",
                Status.SKIPPED: "não rodou", Status.GRADER_ERROR: "falha do corretor"}


@dataclass
class PartResult:
    score: float
    max_score: float
    tests: "list[TestResult]"


@dataclass
class SubmissionResult:
    student: str
    notebook: str
    score: float
    max_score: float
    error: "str | None"
    needs_review: bool
    notes: "list[str]"
    parts: "dict[str, PartResult]"  # grade_id -> PartResult
    digest: "str | None" = None  # sha256 of the notebook graded
    timing: "dict[str, float] | None" = None  # seconds: wall, tests, spawn; grader_peak_mib
    log: "str | None" = None  # where the grader's failure is told, when it failed
    # For the instructor to look at, never points: what the student's code does to the libraries or the grader
    # (tamper.py), each "<grade_id>: <finding>". A flagged row is graded as any other.
    flags: "list[str]" = field(default_factory=list)
    # False when the graded notebook holds no answer at all (course.no_answer: every answer cell as released);
    # graded as any other row. Written only when False: a report without it reads as attempted.
    attempted: bool = True

    def to_dict(self) -> "dict[str, Any]":
        data = asdict(self)
        for key in ("digest", "timing", "log"):
            if data[key] is None:
                del data[key]
        if not data["flags"]:
            del data["flags"]
        if data["attempted"]:
            del data["attempted"]
        for part in data["parts"].values():
            for test in part["tests"]:
                test["status"] = Status(test["status"]).value
        return data

    def moved(self, old: str, new: str) -> None:
        """Say `new` where the row says path `old` (graded in a copy: a Dask worker's, Gradescope's root)."""
        self.notebook = self.notebook.replace(old, new)
        self.error = self.error and self.error.replace(old, new)
        self.notes = [note.replace(old, new) for note in self.notes]

    @classmethod
    def from_dict(cls, data: "dict[str, Any]") -> "SubmissionResult":
        """A row written by to_dict; fields this version does not know (a newer writer's) are left out."""
        test_fields = {f.name for f in fields(TestResult)}
        parts = {gid: PartResult(p["score"], p["max_score"],
                                 [TestResult(**{**{k: v for k, v in t.items() if k in test_fields},
                                                "status": Status(t["status"])}) for t in p["tests"]])
                 for gid, p in data["parts"].items()}
        known = {f.name for f in fields(cls)}
        return cls(**{**{k: v for k, v in data.items() if k in known}, "parts": parts})


@dataclass
class Report:
    assignment: str
    isolation: str
    # what enforced each limit: {limit: how} (or, from a cluster whose workers differ, {worker: {limit: how}})
    limits: "dict[str, Any]" = field(default_factory=dict)
    submissions: "list[SubmissionResult]" = field(default_factory=list)
    devices: "list[str]" = field(default_factory=list)  # where the torch tests ran: "cpu", "cuda"
    graded_at: str = ""  # when the run ended, ISO 8601 (UTC)
    mistakes: "dict[str, str]" = field(default_factory=dict)  # what each diagnosis code here means, for a reader

    def to_dict(self) -> "dict[str, Any]":
        return {"assignment": self.assignment, "isolation": self.isolation, "limits": self.limits,
                "devices": self.devices, "graded_at": self.graded_at, "mistakes": self.mistakes,
                "submissions": [row.to_dict() for row in self.submissions]}

    @classmethod
    def from_dict(cls, data: "dict[str, Any]") -> "Report":
        """A report written by to_dict (fields added since read as empty)."""
        known = {k: data[k] for k in ("assignment", "isolation", "limits", "devices", "graded_at", "mistakes")
                 if data.get(k) is not None}
        return cls(**known, submissions=[SubmissionResult.from_dict(row) for row in data["submissions"]])

    @property
    def needs_review(self) -> "list[SubmissionResult]":
        return [row for row in self.submissions if row.needs_review]


def test_lines(tests: "list[TestResult]", width: int = 90) -> "list[str]":
    """What a graded cell shows a student: a line per test, wrapped to `width` columns.

    The in-kernel path prints these; the isolated grader puts them in the graded
    cells of the notebooks it writes for nbgrader's feedback. A part left as
    released (every test stopped by the stub's NotImplementedError) gets one line.
    """
    if tests and all(t.score == 0 and "NotImplementedError" in t.message for t in tests):
        points = sum(t.max_score for t in tests)
        return [f"[{STATUS_WORDS[Status.ERROR]}] {NOT_ANSWERED} (0/{points:g}): sua célula ainda levanta "
                "NotImplementedError"]
    lines = []
    for test in tests:
        line = f"[{STATUS_WORDS[test.status]}] {test.title or test.name} ({test.score:g}/{test.max_score:g})"
        line = f"{line}: {test.message}" if test.message else line
        lines += textwrap.wrap(line, width, subsequent_indent="    ", break_on_hyphens=False) or [line]
    return lines


def test_result(name: str, points: float, runs: "list[Run]", title: str = "") -> TestResult:
    """One test's result from its runs."""
    ran = [r for r in runs if r.status != Status.SKIPPED]
    diagnosis: "list[str]" = []
    if not runs:
        status, message = Status.SKIPPED, NOT_RUN
    elif not ran:
        status, message = Status.SKIPPED, runs[0].message
    else:
        failed = [r for r in ran if r.status == Status.GRADER_ERROR] or [r for r in ran if r.status != Status.PASSED]
        status, message = (Status.PASSED, "") if not failed else (failed[0].status, failed[0].message)
        if failed and failed[0].variant:
            message = f"[{failed[0].variant}] {message}"
        diagnosis = list(dict.fromkeys(code for r in failed for code in r.diagnosis))
    message = printable(message)
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 1] + "…"
    return TestResult(name, status, points if status == Status.PASSED else 0.0, points, message, title, diagnosis)


def submission_result(assignment: "Assignment", student: str, notebook: "str | Path",
                      outcomes: "dict[tuple[str, str], list[Run]]", notes: "Iterable[str]" = (),
                      error: "str | None" = None, grader_failed: bool = False) -> SubmissionResult:
    """The result of one submission; `outcomes` maps (grade_id, test name) to its runs.

    `error` says why nothing could be graded (the student's file); with
    `grader_failed` it was the grader's fault, and the row needs review.
    """
    parts: "dict[str, PartResult]" = {}
    for part in assignment.parts:
        tests = []
        for test in assignment.tests[part.grade_id]:
            runs = outcomes.get((part.grade_id, test.name), [])
            if grader_failed:
                runs = [Run("", Status.GRADER_ERROR, GRADER_FAILED)]
            tests.append(test_result(test.name, test.points, runs, test.title))
        score = 0.0 if error else sum(t.score for t in tests)
        parts[part.grade_id] = PartResult(score, assignment.points(part.grade_id), tests)
    review = grader_failed or any(t.status == Status.GRADER_ERROR for p in parts.values() for t in p.tests)
    return SubmissionResult(
        student=printable(student),
        notebook=printable(notebook),
        score=round(sum(p.score for p in parts.values()), 6),
        max_score=assignment.max_score,
        error=GRADER_FAILED if grader_failed else (printable(error) if error else None),
        needs_review=review,
        notes=[printable(note)[:MAX_MESSAGE] for note in notes][:MAX_NOTES],
        parts=parts,
    )
