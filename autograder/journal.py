"""What outlives a grading run that is killed: the rows graded so far, and what failed.

Each row is appended to the journal (report.jsonl beside report.json) the
moment it is graded and flushed to disk, so `--resume` can keep them; the log
(report.log) is written only when the grader failed on something.
"""
import hashlib
import json
import os
import time
from pathlib import Path

from autograder.errors import Refused
from autograder.inside.values import printable
from autograder.notebook import read_regular_file
from autograder.results import SubmissionResult


def digest_of(notebook) -> "str | None":
    try:
        return hashlib.sha256(read_regular_file(notebook)).hexdigest()
    except Refused:
        return None


class Journal:
    """Rows as they are graded, one JSON object per line, flushed to disk at once."""

    def __init__(self, path: Path, resume: bool):
        self.path = path
        self.rows = []
        if resume and path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:  # the last line of a killed run may be cut short
                    self.rows.append(SubmissionResult.from_dict(json.loads(line)))
                except (ValueError, TypeError, KeyError, AttributeError):
                    pass
        self.file = open(path, "a" if resume else "w", encoding="utf-8", errors="backslashreplace")

    def kept(self, student: str, notebook: Path, error: "str | None") -> "SubmissionResult | None":
        """The journal's row for this submission, if it was graded (not failed) from the same file."""
        if Path(notebook).is_dir() and not error:  # several notebooks: the row names the one that counted
            return next((r for r in reversed(self.rows) if r.student == printable(student) and not r.needs_review
                         and Path(r.notebook).parent == Path(notebook) and r.digest == digest_of(r.notebook)), None)
        digest = None if error else digest_of(notebook)
        key = (printable(student), printable(notebook), digest)
        return next((r for r in reversed(self.rows) if (r.student, r.notebook, r.digest) == key and not r.needs_review),
                    None)

    def append(self, row: SubmissionResult) -> None:
        self.file.write(json.dumps(row.to_dict(), ensure_ascii=False) + "\n")
        self.file.flush()
        os.fsync(self.file.fileno())

    def close(self) -> None:
        self.file.close()


class Log:
    """The log beside the report, created only when there is something the instructor must read."""

    def __init__(self, path: Path, resume: bool):
        self.path = path
        if not resume:  # a resumed run keeps the log of the rows it keeps
            path.unlink(missing_ok=True)

    def write(self, student: str, notebook: str, lines: "list[str]") -> str:
        with open(self.path, "a", encoding="utf-8", errors="backslashreplace") as f:
            f.write(f"==== {time.strftime('%Y-%m-%d %H:%M:%S')} {student} ({notebook})\n")
            f.writelines(line if line.endswith("\n") else line + "\n" for line in lines)
        return str(self.path)
