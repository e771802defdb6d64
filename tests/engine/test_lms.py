"""Grades into the LMS (autograder/lms.py), run as nbgrader runs an exporter: `nbgrader export --exporter=...`.

The gradebook is tiny_gradebook's (ana, bia, davi, eva submitted; hand-graded cells included). Each roster has
5 students: caio never submitted, and eva, who did, has no row. The files are checked against the formats the
LMSs document: Moodle's grade import (a header, a user column, a column per grade item) and Canvas's gradebook
import (its export's columns kept, Points Possible row included).
"""
import csv
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.test_class_report import made_gradebook, tiny_gradebook  # noqa: F401 -- fixtures

NBGRADER = str(Path(sys.executable).parent / "nbgrader")
# Each student's total in tiny_gradebook: autograded (none recorded: 0) plus hand-graded.
TOTALS = {"ana": 2.5, "bia": 2.0, "davi": 0.0, "eva": 1.0}

MOODLE = """First name,Last name,ID number,Institution,Department,Email address,Last downloaded from this course
Ana,Souza,1001,,,ANA@uni.example,1733500000
Bia,Lima,1002,,,bia@uni.example,1733500000
Caio,Reis,1003,,,caio@uni.example,1733500000
Davi,Melo,1004,,,davi@uni.example,1733500000
Gil,Dias,1005,,,gil@uni.example,1733500000
"""
CANVAS = """Student,ID,SIS User ID,SIS Login ID,Section,tiny (4521),Current Score
    Points Possible,,,,,,(read only)
"Souza, Ana",11,1001,ana,Turma A,,
"Lima, Bia",12,1002,bia,Turma A,,
"Reis, Caio",13,1003,caio,Turma A,,
"Melo, Davi",14,1004,davi,Turma B,,
"Dias, Gil",15,1005,gil,Turma B,,
"""


@pytest.fixture
def course(made_gradebook, tmp_path):  # noqa: F811
    """A course folder whose gradebook is tiny_gradebook's, e-mails added."""
    from nbgrader.api import Gradebook

    shutil.copy(made_gradebook, tmp_path / "gradebook.db")
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        for student in gb.students:
            student.email = f"{student.id}@uni.example"
        gb.db.commit()
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\nc.CourseDirectory.course_id = 'tiny'\n")
    return tmp_path


def export(course: Path, exporter: str, roster: str, *options: str) -> subprocess.CompletedProcess:
    (course / "roster.csv").write_text(roster)
    return subprocess.run([NBGRADER, "export", f"--exporter=autograder.lms.{exporter}",
                           f"--{exporter}.roster=roster.csv", "--to=out.csv", *options],
                          cwd=course, capture_output=True, text=True)


def read(path: Path) -> "list[dict[str, str]]":
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_moodle_fills_its_own_export_by_email_and_lists_who_has_no_row(course):
    proc = export(course, "MoodleExport", MOODLE, "--MoodleExport.by=email", "--MoodleExport.allow_unmatched=True")
    assert proc.returncode == 0, proc.stderr
    assert "no row of roster.csv for the submission of eva@uni.example" in proc.stderr
    rows = read(course / "out.csv")
    header = next(csv.reader(io.StringIO((course / "out.csv").read_text())))
    # Moodle's format: its own columns as exported, then the grade item's column.
    assert header == MOODLE.splitlines()[0].split(",") + ["tiny"]
    got = {r["Email address"]: r["tiny"] for r in rows}
    assert got == {"ANA@uni.example": "2.5", "bia@uni.example": "2", "caio@uni.example": "",
                   "davi@uni.example": "0", "gil@uni.example": ""}
    assert [r["ID number"] for r in rows] == ["1001", "1002", "1003", "1004", "1005"]  # every row kept, in order


def test_canvas_keeps_its_columns_and_points_possible_and_fills_the_assignments_column(course):
    proc = export(course, "CanvasExport", CANVAS, "--CanvasExport.allow_unmatched=True")
    assert proc.returncode == 0, proc.stderr
    assert "no row of roster.csv for the submission of eva" in proc.stderr
    rows = read(course / "out.csv")
    assert list(rows[0]) == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "tiny (4521)",
                             "Current Score"]  # the existing column, found by its name: no new one
    assert rows[0]["Student"].strip() == "Points Possible" and rows[0]["tiny (4521)"] == "6"
    assert {r["SIS Login ID"]: r["tiny (4521)"] for r in rows[1:]} == \
        {"ana": "2.5", "bia": "2", "caio": "", "davi": "0", "gil": ""}


def test_a_submission_without_a_roster_row_stops_the_export_unless_allowed(course):
    proc = export(course, "CanvasExport", CANVAS)
    assert proc.returncode != 0 and "1 submission(s) with no roster row: eva" in proc.stderr
    assert not (course / "out.csv").exists()
    # The control: with every submission on the roster, the same command writes the file.
    whole = CANVAS + '"Eva, Eva",16,1006,eva,Turma B,,\n'
    proc = export(course, "CanvasExport", whole)
    assert proc.returncode == 0, proc.stderr
    assert {r["SIS Login ID"]: r["tiny (4521)"] for r in read(course / "out.csv")[1:]}["eva"] == "1"


def test_a_roster_without_the_match_column_is_named_with_its_columns(course):
    proc = export(course, "MoodleExport", MOODLE, "--MoodleExport.match=Username")
    assert proc.returncode != 0 and "roster.csv: no column 'Username'" in proc.stderr
    assert "Email address" in proc.stderr


def test_totals_count_hand_graded_cells(made_gradebook):  # noqa: F811
    from nbgrader.api import Gradebook

    from autograder.lms import totals

    with Gradebook(f"sqlite:///{made_gradebook}") as gb:
        assert totals(gb, "tiny", "id") == TOTALS


HEAD = "Student,ID,SIS User ID,SIS Login ID,Section,tiny (4521)\n    Points Possible,,,,,{points}\n"


def canvas_fill(tmp_path, text: str, column: str = ""):
    from autograder.lms import CanvasExport, fill

    (tmp_path / "r.csv").write_text(text, encoding="utf-8")
    return fill(tmp_path / "r.csv", {"ana": 2.5, "bia": 2.0}, "tiny", 6.0, "SIS Login ID", column,
                CanvasExport().points_row)


@pytest.mark.parametrize("text, error", [
    (HEAD.format(points=100) + '"Souza, Ana",11,1001,ana,A,\n', "line 2: the LMS gives 'tiny (4521)' 100 points, "
                                                                 "nbgrader 6"),
    ("Student,SIS Login ID,Section,Section\nA,ana,T1,T2\n", "'Section' appear twice"),
    ("Student,SIS Login ID,tiny (1),tiny (2)\nA,ana,,\n", "2 columns are named after 'tiny'"),
    ('Student,SIS Login ID\n"Souza, Ana",ana\n"Lima\nBia",bia\nX,ana\n', "line 5: 'ana' is on two rows"),
    ("Student,SIS Login ID\nA,ana,extra\n", "line 2: more cells than the header"),
])
def test_a_roster_the_export_cannot_fill_is_named_with_its_file_and_line(tmp_path, text, error):
    from autograder.lms import LmsError

    with pytest.raises(LmsError, match=re.escape(error)) as info:
        canvas_fill(tmp_path, text)
    assert "r.csv" in str(info.value)


def test_quotes_semicolons_and_a_grade_the_lms_has_are_kept(tmp_path):
    text = HEAD.format(points="") + '"Souza, Ana ""Aninha""",11,1001,ana,A,\n"Reis, Caio",13,1003,caio,A,9.5\n'
    out, unmatched, kept = canvas_fill(tmp_path, text)
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[1][-1] == "6" and rows[2][0] == 'Souza, Ana "Aninha"' and rows[2][-1] == "2.5"
    assert rows[3][-1] == "9.5" and kept == ["line 4: 'caio' has no submission; kept the grade the LMS has, 9.5"]
    assert unmatched == ["bia"]
    # A semicolon-separated roster (a spreadsheet in a comma-decimal locale), even with a comma in a header.
    out, _, _ = canvas_fill(tmp_path, "Nome;SIS Login ID;Tarefa 1, RNN\nAna;ana;\nBia;bia;\n", column="Tarefa 1, RNN")
    assert out.splitlines() == ["Nome;SIS Login ID;Tarefa 1, RNN", "Ana;ana;2.5", "Bia;bia;2"]
