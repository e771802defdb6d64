"""Leave an nbgrader course where `nbgrader autograde` would, from the isolated grader's report.

`record(report, assignment, db)` runs nbgrader's own Autograde converter, with
one step changed: instead of executing the notebook in a kernel (`Execute`),
each graded cell receives the results the sandboxed grader found
(`InsertResults`). Everything else is nbgrader's: the student and submission
rows with the submission's timestamp (timestamp.txt, late penalties included),
locked cells restored from the source, the autograded notebook under
`autograded/<student>/<assignment>/`, the scores in the gradebook. Then
`nbgrader generate_feedback`, `release_feedback`, `export` and the formgrader
work unchanged.

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
import sys
import tempfile
from pathlib import Path
from typing import Any

from autograder.assignment import Assignment
from autograder.errors import GradebookError, Refused
from autograder.notebook import MAX_NOTEBOOK_BYTES, load_submission, nbgrader_meta, read_regular_file
from autograder.results import Report, Status, SubmissionResult, test_lines

MAX_OTHER_FILES, MAX_OTHER_FILES_BYTES = 100, 50 * 2**20  # a submission's other files carried along
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


def check_gradebook(db: Path, assignment: Assignment) -> None:
    """Fail before any grading, and without creating a file, unless `db` is a gradebook that knows the
    assignment and its graded cells."""
    hint = f"run `nbgrader generate_assignment {assignment.name}` in the course ({assignment.course}) first"
    if not Path(db).is_file():
        raise GradebookError(f"{db}: no such gradebook; {hint}")
    from nbgrader.api import Gradebook, MissingEntry

    try:  # read-only first: nbgrader's API would turn any other SQLite file into a gradebook
        with contextlib.closing(sqlite3.connect(f"file:{Path(db).resolve()}?mode=ro", uri=True)) as con:
            tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error as exc:
        raise GradebookError(f"{db}: not an nbgrader gradebook ({exc})") from None
    if not {"alembic_version", "assignment", "grade_cells"} <= tables:
        raise GradebookError(f"{db}: not an nbgrader gradebook (no nbgrader tables); {hint}")
    use_this_interpreters_scripts()
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


def use_this_interpreters_scripts() -> None:
    """nbgrader runs `alembic` by name: this interpreter's scripts first, however it was started."""
    bin_dir = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != bin_dir:
        os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])


def record(report: Report, assignment: Assignment, db: Path) -> "tuple[int, list[str]]":
    """Record every row in the gradebook `db` through nbgrader's Autograde; returns (rows recorded, failures)."""
    import nbformat
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.apps import NbGraderAPI

    db = Path(db).resolve()
    check_gradebook(db, assignment)
    name, failures = assignment.name, []
    staged, results = tempfile.mkdtemp(prefix="autograder-submitted-"), {}
    try:
        for row in report.submissions:
            if not NBGRADER_ID.fullmatch(row.student):
                failures.append(f"{row.student!r}: not usable as an nbgrader student id; recorded nowhere")
                continue
            nb = None if row.error else staged_notebook(row, assignment)
            if nb is None:
                if not row.error:  # graded, but unreadable now: never a zero in its place
                    failures.append(f"{row.student}: {row.notebook} could not be read again; recorded nowhere")
                continue
            folder = Path(staged, row.student, name)
            folder.mkdir(parents=True)
            nbformat.write(nb, folder / f"{name}.ipynb")
            # The submission's other files, as nbgrader would carry them into autograded/: timestamp.txt
            # (when the student submitted), submission_secret.txt (for release_feedback), data files.
            budget = MAX_OTHER_FILES_BYTES
            others = [p for p in sorted(Path(row.notebook).parent.iterdir())
                      if p.suffix != ".ipynb" and not p.is_symlink() and p.is_file()]
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

            from autograder.nbgrader_preprocessors import InsertResults, OverwriteCells

            config = course_config(assignment.course)
            config.CourseDirectory.submitted_directory = staged
            config.CourseDirectory.db_url = f"sqlite:///{db}"
            config.Autograde.sanitize_preprocessors = [ClearOutput, DeduplicateIds, OverwriteKernelspec,
                                                       OverwriteCells, CheckCellMetadata]
            config.Autograde.autograde_preprocessors = [InsertResults, ClearMetadataPreprocessor, LimitOutput,
                                                        SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
            config.InsertResults.results = results
            api = NbGraderAPI(config=config)
            for student in results:
                outcome = api.autograde(name, student, force=True, create=True)
                if not outcome["success"]:
                    failures.append(f"{student}: {outcome.get('error') or outcome.get('log')}")
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    with Gradebook(f"sqlite:///{db}") as gb:
        for row in report.submissions:
            if not NBGRADER_ID.fullmatch(row.student) or not (row.error or row.student in results):
                continue  # (told in failures)
            gb.update_or_create_student(row.student)
            try:
                gb.find_submission(name, row.student)
            except MissingEntry:
                gb.add_submission(name, row.student)
            for part in assignment.parts:
                grade = gb.find_grade(part.test_grade_id, name, name, row.student)
                if row.error:  # not graded at all: nbgrader's zero for a missing notebook
                    grade.auto_score = 0.0
                if row.needs_review and any(t.status == Status.GRADER_ERROR for t in row.parts[part.grade_id].tests):
                    grade.needs_manual_grade = True
            gb.db.commit()
    return len(report.submissions), failures
