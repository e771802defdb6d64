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
