"""One notebook per submission, by a rule (course.choose_notebook), never the best of several; and a submission's
timestamp.txt, read as nbgrader reads it or flagged, never recorded as on time (gradebook.submission_timestamp)."""
import json
import os
import shutil
import threading
from datetime import datetime
from pathlib import Path

import nbformat
import pytest

from autograder import assignment as assignments
from autograder.course import choose_notebook, frame, holds_answer, released_frames
from autograder.gradebook import MAX_OWN_FILE_BYTES, submission_timestamp
from autograder.notebook import template
from autograder.tools.examples import strip_metadata
from tests.helpers import TINY_ASSIGNMENT, TINY_CORPUS, copy_course, grade, run_nbgrader

NAME = TINY_ASSIGNMENT.name
YEAR = 365 * 24 * 3600
DUE = "2026-11-01 12:00:00 UTC"
A_YEAR_LATE = "2027-11-01 12:00:00.000000 UTC"
SQUARE_REFERENCE = "def square(x):\n    return np.asarray(x) ** 2"


def submission(root: Path, notebooks: "dict[str, str]", student: str = "zoe") -> Path:
    """nbgrader's <root>/<student>/<assignment>/ holding {file stem: corpus case}."""
    folder = root / student / NAME
    folder.mkdir(parents=True)
    for stem, case in notebooks.items():
        TINY_CORPUS.build(case, folder, stem=stem)
    return folder


def chosen(folder: Path) -> "tuple[str, list[str]]":
    path, notes = choose_notebook(TINY_ASSIGNMENT, folder)
    assert path is not None
    return path.name, notes


# --- which notebook counts (no grading: the rule reads the notebooks only)


def test_the_notebook_named_after_the_assignment_counts_beside_better_copies(tmp_path):
    folder = submission(tmp_path, {NAME: "square_doubles", f"{NAME} (1)": "correct_reference",
                                   "Rascunho": "correct_reference"})
    name, notes = chosen(folder)
    assert name == f"{NAME}.ipynb"
    assert any(f"vale só {NAME}.ipynb, o que tem o nome da tarefa" in n for n in notes), notes
    assert any("não corrigidos" in n and f"{NAME} (1).ipynb" in n and "Rascunho.ipynb" in n for n in notes), notes


def test_an_untouched_named_notebook_gives_way_to_the_first_answered_one_in_order(tmp_path):
    # Rascunho scores more, but "tiny-Copy1" comes first by the rule (its name starts with the assignment's)
    folder = submission(tmp_path, {NAME: "untouched_release", f"{NAME}-Copy1": "square_doubles",
                                   "Rascunho": "correct_reference"})
    name, notes = chosen(folder)
    assert name == f"{NAME}-Copy1.ipynb"
    assert any(f"{NAME}.ipynb sem nenhuma resposta" in n and f"vale só {NAME}-Copy1.ipynb" in n for n in notes), notes


def test_without_a_named_notebook_the_first_answered_by_name_counts(tmp_path):
    # two names both like the assignment's: " " sorts before "-", whichever scores more
    folder = submission(tmp_path, {f"{NAME}-Copy1": "correct_reference", f"{NAME} (1)": "square_doubles"})
    name, notes = chosen(folder)
    assert name == f"{NAME} (1).ipynb"
    assert any(f"nenhum notebook se chama {NAME}.ipynb" in n for n in notes), notes


def test_a_named_notebook_that_is_no_notebook_gives_way(tmp_path):
    folder = submission(tmp_path, {NAME: "broken_not_json", "Rascunho": "square_doubles"})
    name, notes = chosen(folder)
    assert name == "Rascunho.ipynb" and any("não pôde ser lido" in n for n in notes), notes


def test_when_no_notebook_holds_an_answer_the_first_in_order_is_graded(tmp_path):
    folder = submission(tmp_path, {"Rascunho": "untouched_release", NAME: "untouched_release"})
    name, notes = chosen(folder)
    assert name == f"{NAME}.ipynb" and any("nenhum dos 2 notebooks tem resposta" in n for n in notes), notes


def test_a_link_or_a_folder_named_like_the_notebook_is_not_the_named_notebook(tmp_path):
    folder = submission(tmp_path, {"Rascunho": "correct_reference", "draft": "square_doubles"})
    (folder / f"{NAME}.ipynb").symlink_to(folder / "draft.ipynb")
    (folder / f"{NAME} (1).ipynb").mkdir()
    name, notes = chosen(folder)
    assert name == "Rascunho.ipynb"  # ("Rascunho" < "draft": capitals sort first)
    assert any("é um link" in n for n in notes) and any("é uma pasta" in n for n in notes), notes


def with_cell_below(grade_id: str, source: str):
    nb = TINY_CORPUS.notebook("untouched_release")
    at = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell(source))
    return nb


def test_an_answer_in_a_cell_of_the_students_own_counts(tmp_path):
    """The stub left as it is, the function written in a new cell below it (which is what runs)."""
    nbformat.write(with_cell_below(TINY_ASSIGNMENT.parts[0].grade_id, SQUARE_REFERENCE), tmp_path / "own.ipynb")
    assert holds_answer(TINY_ASSIGNMENT, tmp_path / "own.ipynb") is None
    # Controls: the release itself, with or without its metadata, holds no answer; a blank cell added is none.
    nbformat.write(TINY_CORPUS.notebook("untouched_release"), tmp_path / "release.ipynb")
    nbformat.write(strip_metadata(TINY_CORPUS.notebook("untouched_release")), tmp_path / "bare.ipynb")
    nbformat.write(with_cell_below(TINY_ASSIGNMENT.parts[0].grade_id, "\n  \n"), tmp_path / "blank.ipynb")
    for stem in ("release", "bare", "blank"):
        assert holds_answer(TINY_ASSIGNMENT, tmp_path / f"{stem}.ipynb") is not None, stem


def test_the_rule_reads_the_release_from_the_source_as_nbgrader_writes_it():
    release = nbformat.read(TINY_ASSIGNMENT.release_notebook, as_version=4)
    frames = {frame(c.source) for c in release.cells if c.cell_type == "code"}
    assert frames <= released_frames(TINY_ASSIGNMENT)
    answered = {frame(c.source) for c in TINY_CORPUS.notebook("correct_reference").cells if c.cell_type == "code"}
    assert answered - released_frames(TINY_ASSIGNMENT)  # control: the reference's answers are not in it


def test_once_the_source_is_gone_the_rule_holds_as_last_read_and_never_read_the_named_notebook_counts(tmp_path):
    """As on Gradescope without a sandbox, where the course is removed once loaded."""
    for read_first in (True, False):
        (tmp_path / f"course-{read_first}").mkdir()
        course = copy_course(tmp_path / f"course-{read_first}", TINY_ASSIGNMENT)
        assignment = assignments.load(course / "solutions" / NAME)
        template(assignment)  # (what Gradescope loads before removing the course)
        if read_first:
            assert released_frames(assignment)
        shutil.rmtree(course / "source")
        folder = submission(course / "submitted", {NAME: "untouched_release", f"{NAME} (1)": "correct_reference"})
        path, _ = choose_notebook(assignment, folder)
        assert path is not None and path.name == (f"{NAME} (1).ipynb" if read_first else f"{NAME}.ipynb")


# --- timestamp.txt


def test_a_timestamp_is_read_as_nbgrader_reads_it(tmp_path):
    from nbgrader.coursedir import CourseDirectory

    for text, when in [("2026-11-20 10:00:00.250000 UTC\n", datetime(2026, 11, 20, 10, 0, 0, 250000)),
                       # (nbgrader takes a numeric zone for seconds: -0300 is 5 minutes behind; the same here)
                       ("2026-11-20 07:00:00 -0300", datetime(2026, 11, 20, 7, 5)),
                       ("2026-11-20T07:00:00-03:00", datetime(2026, 11, 20, 10)),
                       ("2099-01-01 00:00:00 UTC", datetime(2099, 1, 1))]:  # the future: recorded, late
        (tmp_path / "timestamp.txt").write_text(text)
        assert submission_timestamp(tmp_path) == (when, None)
        assert CourseDirectory().get_existing_timestamp(str(tmp_path)) == when
    (tmp_path / "timestamp.txt").unlink()
    assert submission_timestamp(tmp_path) == (None, None)  # none at all: nbgrader's "no timestamp"


def fifo(path: Path) -> None:
    os.mkfifo(path)


def sparse_gigabyte(path: Path) -> None:
    with open(path, "wb") as f:
        f.truncate(2**30)


UNRECORDABLE = {
    "a link to /etc/passwd": (lambda p: p.symlink_to("/etc/passwd"), "symbolic link"),
    "a dangling link": (lambda p: p.symlink_to(p.parent / "nowhere"), "symbolic link"),
    "a FIFO": (fifo, "not a regular file"),
    "a folder": (lambda p: p.mkdir(), "not a regular file"),
    "1 GiB": (sparse_gigabyte, f"holds {2**30} bytes"),
    "one byte too many": (lambda p: p.write_text("2" * (MAX_OWN_FILE_BYTES + 1)), "bytes"),
    "empty": (lambda p: p.write_text(""), "empty"),
    "blank": (lambda p: p.write_text(" \n\t\n"), "empty"),
    "not UTF-8": (lambda p: p.write_bytes(b"\xff\xfe2026"), "UTF-8"),
    "not a date": (lambda p: p.write_text("amanhã de manhã"), "no date"),
    "/etc/passwd's text": (lambda p: shutil.copy("/etc/passwd", p), "no date"),
    "past the calendar": (lambda p: p.write_text("9999-12-31 23:59:59 -1400"), "no date"),
}


@pytest.mark.parametrize("make, why", UNRECORDABLE.values(), ids=UNRECORDABLE.keys())
def test_a_timestamp_that_cannot_be_recorded_says_why_promptly(tmp_path, make, why):
    make(tmp_path / "timestamp.txt")
    found = []
    reader = threading.Thread(target=lambda: found.append(submission_timestamp(tmp_path)), daemon=True)
    reader.start()
    reader.join(10)  # a FIFO is never opened for reading: no writer to wait for
    assert found and found[0][0] is None and why in found[0][1], found


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_timestamp_says_so(tmp_path):
    (tmp_path / "timestamp.txt").write_text(A_YEAR_LATE)
    (tmp_path / "timestamp.txt").chmod(0)
    when, why = submission_timestamp(tmp_path)
    assert when is None and "cannot be read" in why


# --- end to end: the command line


def report_rows(path: Path) -> "dict[str, dict]":
    return {row["student"]: row for row in json.loads(path.read_text())["submissions"]}


@pytest.mark.slow
def test_a_submission_of_several_notebooks_scores_the_named_ones_never_the_best(tmp_path):
    classroom = tmp_path / "submitted"
    submission(classroom, {NAME: "square_doubles", f"{NAME} (1)": "correct_reference"}, "ana")
    submission(classroom, {NAME: "untouched_release", f"{NAME} (1)": "correct_reference"}, "ben")
    submission(classroom, {f"{NAME} (1)": "correct_reference"}, "cid")  # control: the better copy alone
    flagged = TINY_CORPUS.fill(TINY_CORPUS.notebook("untouched_release"), {"square": f"import gc\n{SQUARE_REFERENCE}"})
    folder = submission(classroom, {f"{NAME} (1)": "correct_reference"}, "dan")
    nbformat.write(flagged, folder / f"{NAME}.ipynb")
    out = tmp_path / "report.json"
    grade(classroom, "--assignment", TINY_ASSIGNMENT.folder, "--json", out, "--device", "cpu", "--workers", 1)
    rows = report_rows(out)
    weak = sum(TINY_CORPUS.expected_scores("square_doubles").values())
    assert rows["cid"]["score"] == TINY_ASSIGNMENT.max_score > weak  # the copy does score more, alone
    assert rows["ana"]["score"] == weak and rows["ana"]["notebook"].endswith(f"/{NAME}.ipynb")
    assert any("não corrigidos" in n for n in rows["ana"]["notes"])
    assert rows["ben"]["score"] == TINY_ASSIGNMENT.max_score and rows["ben"]["notebook"].endswith(f"{NAME} (1).ipynb")
    assert any(f"{NAME}.ipynb sem nenhuma resposta" in n for n in rows["ben"]["notes"]), rows["ben"]["notes"]
    # the graded notebook's row, flags and all
    assert rows["dan"]["notebook"].endswith(f"/{NAME}.ipynb") and rows["dan"].get("flags"), rows["dan"]
    assert not any(row["needs_review"] for row in rows.values())


def gradebook_course(root: Path) -> Path:
    """The tiny course, generated, its assignment due DUE, with nothing submitted yet."""
    root.mkdir(parents=True)
    course = copy_course(root, TINY_ASSIGNMENT)
    run_nbgrader("generate_assignment", NAME, cwd=course)
    run_nbgrader("db", "assignment", "add", NAME, f"--duedate={DUE}", cwd=course)
    return course


@pytest.mark.slow
def test_a_timestamp_that_cannot_be_recorded_is_recorded_nowhere_and_told(tmp_path):
    from nbgrader.api import Gradebook, MissingEntry

    course = gradebook_course(tmp_path / "course")
    classroom = course / "submitted"
    for student, make in [("ana", lambda p: p.symlink_to("/etc/passwd")), ("cid", fifo),
                          ("eva", lambda p: p.mkdir())]:
        make(submission(classroom, {NAME: "correct_reference"}, student) / "timestamp.txt")
    late = submission(classroom, {NAME: "correct_reference"}, "bob")
    for k in range(100):  # files that sort before timestamp.txt: they fill the other files' cap
        (late / f"a{k:03d}.txt").write_text("x")
    (late / "timestamp.txt").write_text(A_YEAR_LATE)
    broken = submission(classroom, {NAME: "broken_not_json"}, "dan")  # not graded: still recorded, late
    (broken / "timestamp.txt").write_text(A_YEAR_LATE)
    proc = grade(classroom, "--gradebook", "--assignment", course / "solutions" / NAME, "--json",
                 tmp_path / "report.json", "--device", "cpu", "--workers", 1, check=(5,))  # cli.ExitCode.GRADEBOOK
    told = proc.stderr.replace("\n", "")  # (the console wraps long lines)
    for student in ("ana", "cid", "eva"):
        assert f"nbgrader could not record {student}: {classroom / student / NAME / 'timestamp.txt'}" in told, told
    assert "never as on time" in told and "recorded 2 submissions" in told
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in ("ana", "cid", "eva"):
            with pytest.raises(MissingEntry):
                gb.find_submission(NAME, student)
        for student in ("bob", "dan"):
            assert gb.find_submission(NAME, student).total_seconds_late == YEAR, student
        assert gb.find_submission(NAME, "bob").score == TINY_ASSIGNMENT.max_score  # the default: no penalty
    assert (course / "autograded" / "bob" / NAME / "timestamp.txt").is_file()
