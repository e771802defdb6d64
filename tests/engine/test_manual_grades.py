"""Manual grades from an instructor's CSV (tools/manual_grades.py): what a spreadsheet writes is read, and
what is wrong is named by its line, before anything is saved."""
import pytest

from autograder.tools.manual_grades import read_rows


@pytest.mark.parametrize("text", [
    "student,cell,score,comment\nana,q1,1,ok\nbob,q1,0.5,\n",
    "\ufeffstudent;cell;score;comment\nana;q1;1;ok\nbob;q1;0,5;\n",  # Excel in Portuguese: BOM, ';', '0,5'
])
def test_a_spreadsheet_export_reads_as_the_rows_it_holds(tmp_path, text):
    path = tmp_path / "grades.csv"
    path.write_text(text, encoding="utf-8")
    rows = read_rows(path)
    assert [(line, row["student"], row["cell"], row["score"]) for line, row in rows] == \
        [(2, "ana", "q1", "1"), (3, "bob", "q1", rows[1][1]["score"])]
    assert rows[1][1]["score"] in ("0.5", "0,5")


def test_lines_are_the_file_s_own_when_a_comment_spans_lines(tmp_path):
    path = tmp_path / "grades.csv"
    path.write_text('student,cell,score,comment\nana,q1,1,"two\nlines"\nbob,q1,x,\n')
    assert [line for line, _ in read_rows(path)] == [3, 4]  # bob's row is the file's 4th line


def test_a_header_without_the_columns_is_named(tmp_path):
    path = tmp_path / "grades.csv"
    path.write_text("name,question,points\nana,q1,1\n")
    with pytest.raises(ValueError, match="lacks cell, score, student"):
        read_rows(path)
