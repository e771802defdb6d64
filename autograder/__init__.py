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

    given = _Path(path)
    path = given.resolve()  # (the caller's own link is followed, as the command line follows the paths it is given)
    if not path.exists():
        raise FileNotFoundError(f"{given}: no such notebook or folder")
    task = assignment if isinstance(assignment, assignments.Assignment) else assignments.load(assignment)
    one_thread()
    from autograder.course import find_submissions

    # The command line's own reading of the path: the student's name, and a file it would refuse.
    jobs = find_submissions([path], task.name)
    named, path, error = jobs[0] if len(jobs) == 1 else (path.stem, path, None)
    if path.suffix == ".ipynb" and path.parent.name == task.name:  # nbgrader's <student>/<assignment>/<notebook>
        named = path.parent.parent.name
    name = student or named
    try:
        row, logs = grade_submission(task, name, path, error, limits or Limits(), list(devices),
                                     new_seed() if seed is None else seed)
    except Exception:
        row, logs = results.submission_result(task, name, path, {}, grader_failed=True), [traceback.format_exc()]
    if logs:
        row.log = "\n".join(logs)
    return row
