"""An isolated autograder for nbgrader assignments: see autograder/README.md."""
import sys

# nbformat's validator imports jsonschema, whose optional IRI format checker (rfc3987_syntax) builds a
# grammar at import: about a second of every grader process's start-up, before one result, for a format no
# notebook schema uses. None in sys.modules makes that optional import fail fast, as if not installed.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

from pathlib import Path as _Path  # noqa: E402
from typing import TYPE_CHECKING as _TYPE_CHECKING  # noqa: E402

if _TYPE_CHECKING:
    from autograder.assignment import Assignment
    from autograder.limits import Limits
    from autograder.results import SubmissionResult


def grade_notebook(path: "str | _Path", assignment: "str | _Path | Assignment", *, seed: "int | None" = None,
                   devices: "tuple[str, ...]" = ("cpu",), limits: "Limits | None" = None,
                   student: "str | None" = None) -> "SubmissionResult":
    """Grade one notebook (or one student's submission folder) in the sandbox, as `python -m autograder grade`
    does, with no course database: for LMS plugins and JupyterHub services.

    `assignment` is its folder (<course>/solutions/<name>) or a loaded Assignment; `seed` draws the hidden
    inputs (default: a secret one); `devices` where the torch tests run ("cpu", "cuda"). A failure of the
    grader itself is never the student's zero: its tests read "grader error", the row needs review, and `log`
    holds the grader's traceback.
    """
    import traceback

    from autograder import assignment as assignments
    from autograder import results
    from autograder.limits import Limits
    from autograder.runner import grade_submission, new_seed, one_thread

    path = _Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such notebook or folder")
    task = assignment if isinstance(assignment, assignments.Assignment) else assignments.load(assignment)
    one_thread()
    name = student or (path.stem if path.suffix == ".ipynb" else path.name)
    try:
        row, logs = grade_submission(task, name, path, None, limits or Limits(), list(devices),
                                     new_seed() if seed is None else seed)
    except Exception:
        row, logs = results.submission_result(task, name, path, {}, grader_failed=True), [traceback.format_exc()]
    if logs:
        row.log = "\n".join(logs)
    return row
