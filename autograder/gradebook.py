"""Leave an nbgrader course where `nbgrader autograde` would, from the isolated grader's report.

`record(report, assignment, db)` runs nbgrader's own Autograde converter, with
one step changed: instead of executing the notebook in a kernel (`Execute`),
each graded cell receives the results the sandboxed grader found
(`InsertResults`). Everything else is nbgrader's: the student and submission
rows with the submission's timestamp (timestamp.txt, late penalties included),
locked cells restored from the source, the autograded notebook under
`autograded/<student>/<assignment>/` (with, as `nbgrader autograde` leaves it
under this course's configuration, each manually graded answer's rubric from
the source for the formgrader: `InsertRubrics`), the scores in the gradebook. Then
`nbgrader generate_feedback`, `release_feedback`, `export` and the formgrader
work unchanged.

The submission's timestamp.txt (when it was handed in) and submission_secret.txt
(what release_feedback checks) are carried to nbgrader first, outside the caps
on the other files. A timestamp.txt that exists but cannot be recorded (a link,
not a regular file, over MAX_OWN_FILE_BYTES, unreadable, empty, no date
nbgrader can parse) is never recorded as on time: the submission is recorded
nowhere and `record` names it among its failures, for the instructor to fix.

The notebook given to nbgrader is the one the grader graded, under the
assignment's notebook name. When it lost the cells nbgrader needs (metadata
gone, graded cells deleted), it is rebuilt from the released notebook with the
student's answer cells in place and a first cell that says so. A submission
that could not be graded at all gets 0 on every graded cell; a part the grader
failed on is flagged for manual grading.
"""
import contextlib
import os
import re
import shutil
import sqlite3
import stat
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from autograder.assignment import Assignment
from autograder.errors import GradebookError, Refused
from autograder.notebook import MAX_NOTEBOOK_BYTES, load_submission, nbgrader_meta, read_regular_file
from autograder.results import Report, Status, SubmissionResult, test_lines

MAX_OTHER_FILES, MAX_OTHER_FILES_BYTES = 100, 50 * 2**20  # a submission's other files carried along
# nbgrader's own files of a submission, carried first and outside those caps: when it was handed in (late
# penalties) and what release_feedback checks. nbgrader writes 30 and 128 bytes.
TIMESTAMP, SECRET = "timestamp.txt", "submission_secret.txt"
MAX_OWN_FILE_BYTES = 4096
# A folder name nbgrader can use as a student id (it globs ids: no wildcards either).
NBGRADER_ID = re.compile(r"[^./\\\x00-\x1f*?\[\]][^/\\\x00-\x1f*?\[\]]{0,199}")


def course_config(course: Path):
    """The course's nbgrader configuration (its nbgrader_config.py), as nbgrader itself would read it."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = Config()
    if (course / "nbgrader_config.py").is_file():
        config.merge(PyFileConfigLoader("nbgrader_config.py", str(course)).load_config())
    config.CourseDirectory.root = str(course)
    return config


def default_gradebook(assignment: Assignment) -> Path:
    """The course's gradebook: CourseDirectory.db_url of its nbgrader_config.py, else <course>/gradebook.db."""
    url = course_config(assignment.course).CourseDirectory.get("db_url", "")
    if isinstance(url, str) and url.startswith("sqlite:///"):
        return (assignment.course / url[len("sqlite:///"):]).resolve()
    return assignment.course / "gradebook.db"


def looks_like_gradebook(db: Path, hint: str) -> None:
    """Raise GradebookError, without creating or changing a file, unless `db` is an SQLite file with nbgrader's
    tables (nbgrader's API would turn any other SQLite file into a gradebook); then nbgrader's API may open it."""
    if not Path(db).is_file():
        raise GradebookError(f"{db}: no such gradebook; {hint}")
    try:
        with contextlib.closing(sqlite3.connect(f"file:{Path(db).resolve()}?mode=ro", uri=True)) as con:
            tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error as exc:
        raise GradebookError(f"{db}: not an nbgrader gradebook ({exc})") from None
    if not {"alembic_version", "assignment", "grade_cells"} <= tables:
        raise GradebookError(f"{db}: not an nbgrader gradebook (no nbgrader tables); {hint}")
    use_this_interpreters_scripts()


def check_gradebook(db: Path, assignment: Assignment) -> None:
    """Fail before any grading, and without creating a file, unless `db` is a gradebook that knows the
    assignment and its graded cells."""
    hint = f"run `nbgrader generate_assignment {assignment.name}` in the course ({assignment.course}) first"
    looks_like_gradebook(db, hint)
    from nbgrader.api import Gradebook, MissingEntry

    try:  # nbgrader's own API reads it
        with Gradebook(f"sqlite:///{Path(db).resolve()}") as gb:
            gb.find_assignment(assignment.name)
            missing = []
            for part in assignment.parts:
                try:
                    gb.find_grade_cell(part.test_grade_id, assignment.name, assignment.name)
                except MissingEntry:
                    missing.append(part.test_grade_id)
    except MissingEntry:
        raise GradebookError(f"{db}: no assignment {assignment.name} in this gradebook; {hint}") from None
    except Exception as exc:  # sqlalchemy's errors: not a database, not nbgrader's
        raise GradebookError(f"{db}: not an nbgrader gradebook ({type(exc).__name__}: {str(exc)[:200]})") from None
    if missing:
        raise GradebookError(f"{db}: assignment {assignment.name} lacks the graded cells {', '.join(missing)}; {hint}")


def cell_results(row: SubmissionResult, assignment: Assignment) -> "dict[str, dict[str, Any]]":
    """What InsertResults puts in each graded cell of this row's notebook."""
    cells = {}
    for part in assignment.parts:
        result = row.parts[part.grade_id]
        lines = [*(n for n in row.notes if n.startswith(f"{part.grade_id}:")), *test_lines(result.tests)]
        cells[part.test_grade_id] = {"text": "\n".join(lines) + "\n", "score": result.score}
    return cells


def staged_notebook(row: SubmissionResult, assignment: Assignment):
    """The notebook nbgrader should record for this row: the graded one, rebuilt if nbgrader could not
    read its cells. None when nothing was graded."""
    import nbformat

    if row.error:
        return None
    try:
        data = read_regular_file(row.notebook, MAX_NOTEBOOK_BYTES)
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception:  # it changed since it was graded: the caller reports it, records nothing
        return None
    ids = {nbgrader_meta(c).get("grade_id") for c in nb.cells}
    if all(p.test_grade_id in ids and p.grade_id in ids for p in assignment.parts):
        return nb
    # Rebuilt: the released notebook, with what the grader took as each answer cell.
    sub = load_submission(assignment, row.notebook, row.student, data)
    rebuilt = nbformat.read(assignment.release_notebook, as_version=4)
    stub = course_config(assignment.course).ClearSolutions.get("text_stub", "YOUR ANSWER HERE")
    written = [c.source for c in nb.cells if c.get("cell_type") == "markdown" and isinstance(c.get("source"), str)]
    for cell in rebuilt.cells:
        meta = nbgrader_meta(cell)
        grade_id = meta.get("grade_id")
        answer = sub.cells.get(grade_id) if grade_id is not None else None
        if answer is not None and meta.get("solution"):
            cell.source = answer.text
        elif cell.cell_type == "markdown" and meta.get("solution") and meta.get("grade"):
            # A written answer: the student's cell that still opens with the question (nbgrader then sees it
            # changed, and leaves it to the formgrader).
            question = cell.source.replace(stub, "").strip().splitlines()
            mine = [text for text in written if question and text.lstrip().startswith(question[0])]
            if mine:
                cell.source = mine[0]
    note = (f"**Notebook reconstruído pelo corretor** a partir de `{Path(row.notebook).name}`, que perdeu as "
            "marcações do nbgrader: as células de resposta abaixo são as suas, encontradas pelo que definem.")
    rebuilt.cells.insert(0, nbformat.v4.new_markdown_cell(note))
    return rebuilt


def read_small_file(path: Path, limit: int) -> bytes:
    """The bytes of `path`, a regular file itself (never followed through a link) of at most `limit` bytes;
    ValueError says why not, for the instructor. A FIFO or a device is never opened for reading."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise ValueError("is a symbolic link" if os.path.islink(path) else f"cannot be read ({exc.strerror})") \
            from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("is not a regular file (a folder, a FIFO or a device)")
        if info.st_size > limit:
            raise ValueError(f"holds {info.st_size} bytes (at most {limit} are read)")
        chunks: "list[bytes]" = []
        while sum(map(len, chunks)) <= limit and (chunk := os.read(fd, limit + 1)):
            chunks.append(chunk)
    except OSError as exc:
        raise ValueError(f"cannot be read ({exc.strerror})") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise ValueError(f"holds over {limit} bytes")
    return data


def submission_folder(row: SubmissionResult) -> Path:
    """The folder of this row's submission: the graded notebook's, or the row's own path when it is one."""
    path = Path(row.notebook)
    return path if path.suffix != ".ipynb" and path.is_dir() and not path.is_symlink() else path.parent


def submission_timestamp(folder: Path) -> "tuple[datetime | None, str | None]":
    """When the submission in `folder` was handed in, read as nbgrader reads its timestamp.txt (naive UTC).

    (when, None); (None, None) when there is no timestamp.txt; (None, what is wrong with it) when there is
    one that cannot be recorded: a link, not a regular file (a folder, a FIFO, a device), over
    MAX_OWN_FILE_BYTES, unreadable, not UTF-8, empty, or no date nbgrader can parse. A date in the future
    is recorded as it is (late), as nbgrader does.
    """
    from nbgrader.utils import parse_utc

    path = folder / TIMESTAMP
    try:
        os.lstat(path)
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror})"
    try:
        data = read_small_file(path, MAX_OWN_FILE_BYTES)
    except ValueError as exc:
        return None, str(exc)
    try:  # (nbgrader opens it as text: universal newlines, then strip())
        text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n").strip()
    except UnicodeDecodeError:
        return None, "is not UTF-8 text"
    if not text:
        return None, "is empty"
    try:
        when = parse_utc(text)
    except Exception:  # dateutil's ValueError, OverflowError, a time zone file it could not read...
        when = None
    if not isinstance(when, datetime):
        return None, f"holds no date nbgrader can read ({text[:40]!r})"
    return when, None


def use_this_interpreters_scripts() -> None:
    """nbgrader runs `alembic` by name: this interpreter's scripts first, however it was started."""
    bin_dir = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != bin_dir:
        os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])


def record(report: Report, assignment: Assignment, db: Path) -> "tuple[int, list[str]]":
    """Record every row in the gradebook `db` through nbgrader's Autograde; returns (rows recorded, failures).

    A row whose timestamp.txt cannot be recorded (submission_timestamp) is recorded nowhere, never as on
    time, and is named among the failures."""
    import nbformat
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.apps import NbGraderAPI

    db = Path(db).resolve()
    check_gradebook(db, assignment)
    name, failures = assignment.name, []
    staged, results = tempfile.mkdtemp(prefix="autograder-submitted-"), {}
    timestamps: "dict[str, datetime | None]" = {}  # the rows to record: when each was handed in
    unrecorded: "set[str]" = set()  # of those, the ones nbgrader's Autograde failed on (told in failures)
    try:
        for row in report.submissions:
            if not NBGRADER_ID.fullmatch(row.student):
                failures.append(f"{row.student!r}: not usable as an nbgrader student id; recorded nowhere")
                continue
            submitted = submission_folder(row)
            when, why = submission_timestamp(submitted)
            if why is not None:
                failures.append(f"{row.student}: {submitted / TIMESTAMP} {why}; "
                                "recorded nowhere, never as on time: find out when it was submitted, write that "
                                f"in {TIMESTAMP} and record again (the same command with --resume)")
                continue
            if row.error:  # not graded: recorded below, with nbgrader's zeros for a missing notebook
                timestamps[row.student] = when
                continue
            nb = staged_notebook(row, assignment)
            if nb is None:  # graded, but unreadable now: never a zero in its place
                failures.append(f"{row.student}: {row.notebook} could not be read again; recorded nowhere")
                continue
            timestamps[row.student] = when
            folder = Path(staged, row.student, name)
            folder.mkdir(parents=True)
            nbformat.write(nb, folder / f"{name}.ipynb")
            # nbgrader's own files first, outside the caps: when the student submitted, as read above
            # (nbgrader reads the same date back), and the secret release_feedback checks.
            if when is not None:
                (folder / TIMESTAMP).write_text(when.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
            if os.path.lexists(submitted / SECRET):
                try:
                    (folder / SECRET).write_bytes(read_small_file(submitted / SECRET, MAX_OWN_FILE_BYTES))
                except ValueError as exc:
                    failures.append(f"{row.student}: {submitted / SECRET} {exc}; the grades are recorded, but "
                                    "`nbgrader release_feedback` will not return this feedback")
            # Then the submission's other files (data files), as nbgrader would carry them into autograded/.
            budget = MAX_OTHER_FILES_BYTES
            others = [p for p in sorted(submitted.iterdir()) if p.suffix != ".ipynb" and p.name not in
                      (TIMESTAMP, SECRET) and not p.is_symlink() and p.is_file()]
            for other in others[:MAX_OTHER_FILES]:
                try:
                    data = read_regular_file(other, budget)
                except Refused:
                    continue
                budget -= len(data)
                (folder / other.name).write_bytes(data)
            results[row.student] = cell_results(row, assignment)
        if results:
            from nbconvert.preprocessors import ClearMetadataPreprocessor
            from nbgrader.preprocessors import (
                AssignLatePenalties,
                CheckCellMetadata,
                ClearOutput,
                DeduplicateIds,
                LimitOutput,
                OverwriteKernelspec,
                SaveAutoGrades,
            )

            from autograder.nbgrader_preprocessors import InsertResults, InsertRubrics, OverwriteCells

            config = course_config(assignment.course)
            config.CourseDirectory.submitted_directory = staged
            config.CourseDirectory.db_url = f"sqlite:///{db}"
            config.Autograde.sanitize_preprocessors = [ClearOutput, DeduplicateIds, OverwriteKernelspec,
                                                       OverwriteCells, CheckCellMetadata]
            config.Autograde.autograde_preprocessors = [InsertResults, ClearMetadataPreprocessor, LimitOutput,
                                                        SaveAutoGrades, AssignLatePenalties, InsertRubrics,
                                                        CheckCellMetadata]
            config.InsertResults.results = results
            api = NbGraderAPI(config=config)
            for student in results:
                outcome = api.autograde(name, student, force=True, create=True)
                if not outcome["success"]:
                    failures.append(f"{student}: {outcome.get('error') or outcome.get('log')}")
                    unrecorded.add(student)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    with Gradebook(f"sqlite:///{db}") as gb:
        for row in report.submissions:
            if row.student not in timestamps:
                continue  # (told in failures)
            when = timestamps[row.student]
            gb.update_or_create_student(row.student)
            if row.error:  # not graded: nbgrader's record of a submission without its notebook
                submission = gb.update_or_create_submission(name, row.student,
                                                            **({"timestamp": when} if when else {}))
            else:
                try:
                    submission = gb.find_submission(name, row.student)
                except MissingEntry:
                    submission = gb.add_submission(name, row.student)
            if when is not None and submission.timestamp != when and row.student not in unrecorded:
                # (never: nbgrader reads it back from the copy written above)
                failures.append(f"{row.student}: nbgrader recorded the timestamp {submission.timestamp}, not "
                                f"{when} ({TIMESTAMP}); check this submission in the formgrader")
            for part in assignment.parts:
                grade = gb.find_grade(part.test_grade_id, name, name, row.student)
                if row.error:  # not graded at all: nbgrader's zero for a missing notebook
                    grade.auto_score = 0.0
                if row.needs_review and any(t.status == Status.GRADER_ERROR for t in row.parts[part.grade_id].tests):
                    grade.needs_manual_grade = True
            gb.db.commit()
    return len(timestamps.keys() - unrecorded), failures


@dataclass
class HandGrades:
    """What the formgrader holds of one assignment's cells graded by hand (written answers, tasks): every
    graded cell of its notebooks in nbgrader's gradebook but the autograder's own (test_<grade_id>)."""

    gradebook: str  # where it was read
    cells: "dict[str, float]"  # cell -> its max score, in the gradebook's order
    # student -> {cell: score, or None while it waits for a grader}; students without a submission there absent
    scores: "dict[str, dict[str, float | None]]" = field(default_factory=dict)

    @property
    def max_score(self) -> float:
        return sum(self.cells.values())


def hand_grades(db: Path, assignment: str, autograded: "set[str]") -> HandGrades:
    """The scores nbgrader's gradebook `db` holds for the cells of `assignment` graded by hand: its graded
    cells (grade and task cells) but those named in `autograded`, read through nbgrader's API. A cell's score
    is nbgrader's (the manual score when there is one, else the automatic one: 0 for an answer left as
    released); None while the cell needs a manual grade that it does not have yet."""
    from nbgrader.api import Gradebook, MissingEntry

    looks_like_gradebook(db, f"run `nbgrader generate_assignment {assignment}` and record the class in it "
                             "(`python -m autograder grade ... --gradebook`) first")
    try:
        with Gradebook(f"sqlite:///{Path(db).resolve()}") as gb:
            try:
                notebooks = gb.find_assignment(assignment).notebooks
            except MissingEntry:
                raise GradebookError(f"{db}: no assignment {assignment} in this gradebook") from None
            hand = HandGrades(str(db), {cell.name: cell.max_score for nb in notebooks
                                        for cell in [*nb.grade_cells, *nb.task_cells] if cell.name not in autograded})
            for student in gb.students:
                try:
                    grades = [g for nb in notebooks
                              for g in gb.find_submission_notebook(nb.name, assignment, student.id).grades]
                except MissingEntry:
                    continue
                hand.scores[student.id] = {
                    g.name: None if g.needs_manual_grade and g.manual_score is None else float(g.score)
                    for g in grades if g.name in hand.cells}
    except GradebookError:
        raise
    except Exception as exc:  # sqlalchemy's errors: not a database, not nbgrader's
        raise GradebookError(f"{db}: not an nbgrader gradebook ({type(exc).__name__}: {str(exc)[:200]})") from None
    return hand


def awaiting_manual_grading(db: Path, assignment: str) -> "list[str]":
    """The students whose submission of `assignment` in the gradebook `db` still has a cell waiting for a
    manual grade (nbgrader's needs_manual_grade: an answered written question, a part the grader failed on)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{Path(db).resolve()}") as gb:
        try:
            submissions = gb.find_assignment(assignment).submissions
        except MissingEntry:
            return []
        return sorted(s.student.id for s in submissions if s.needs_manual_grade)


def manual_grading_note(db: Path, assignment: Assignment) -> str:
    """What the instructor should do between grading and `nbgrader generate_feedback`, from the gradebook."""
    waiting = awaiting_manual_grading(db, assignment.name)
    note = "1 submission awaits" if len(waiting) == 1 else f"{len(waiting)} submissions await"
    note += " manual grading"
    if waiting:
        note += (f" ({', '.join(waiting[:10])}{', ...' if len(waiting) > 10 else ''}): grade them in the "
                 f"formgrader before `nbgrader generate_feedback {assignment.name}`")
    feedback = assignment.course / "feedback"
    if feedback.is_dir() and any(feedback.glob(f"*/{assignment.name}")):
        note += (f"; {feedback} already holds feedback from before, which nbgrader keeps: "
                 f"`nbgrader generate_feedback {assignment.name} --force` writes it anew")
    return note
