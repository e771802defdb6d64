"""The autograder on the assignment's corpus of realistic submissions (solutions/<name>/corpus.py)."""
import json
import re
import subprocess
import sys

import pytest

from autograder.results import Status
from tests.helpers import REPO, grade
from tests.rnn_forward.helpers import ASSIGNMENT, CORPUS, RELEASE_NB, SOURCE_NB

pytestmark = pytest.mark.slow
MAX_SCORE = ASSIGNMENT.max_score
STATUSES = {s.value for s in Status}

CLASS_SIZE = len(CORPUS.names) + 3  # the corpus, and copies of some of its cases
SEED = 20261129  # the same hidden inputs for the runs that are compared


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory):
    """{student: report row} for a class of CLASS_SIZE mixed submissions."""
    folder = tmp_path_factory.mktemp("class")
    names = list(CORPUS.names)
    for name in names:
        CORPUS.build(name, folder)
    for i in range(CLASS_SIZE - len(names)):
        original = names[i % len(names)]
        CORPUS.build(original, folder, stem=f"copy{i}_{original}")
    out = folder / "report.json"
    grade(folder, "--json", out, "--workers", 2, "--call-timeout", 3, "--device", "cpu", "--seed", SEED)
    report = json.loads(out.read_text())
    report["folder"] = folder
    return report, {row["student"]: row for row in report["submissions"]}


def case_of(student):
    return re.sub(r"^copy\d+_", "", student)


def test_every_submission_gets_a_row(graded_class):
    report, rows = graded_class
    assert len(report["submissions"]) == CLASS_SIZE == len(rows)
    assert {case_of(s) for s in rows} == set(CORPUS.names)
    assert report["assignment"] == "rnn_forward" and report["isolation"] in ("process", "bubblewrap")


@pytest.mark.parametrize("name", [*CORPUS.cases, *CORPUS.notebook_cases])
def test_each_part_gets_the_expected_score(graded_class, name):
    _, rows = graded_class
    for student in [s for s in rows if case_of(s) == name]:
        row = rows[student]
        got = {gid: part["score"] for gid, part in row["parts"].items()}
        messages = {f"{gid}.{t['name']}": t["message"]
                    for gid, p in row["parts"].items() for t in p["tests"] if t["message"]}
        assert row["error"] is None
        assert got == CORPUS.expected_scores(name), messages
        assert row["score"] == pytest.approx(sum(got.values()))


@pytest.mark.parametrize("name", CORPUS.broken)
def test_a_broken_file_is_a_row_with_an_error(graded_class, name):
    row = graded_class[1][name]
    assert CORPUS.broken[name][1] in row["error"] and name in row["error"]
    assert row["score"] == 0 and set(row["parts"]) == {p.grade_id for p in ASSIGNMENT.parts}


def test_rows_have_the_report_shape(graded_class):
    for row in graded_class[0]["submissions"]:
        assert row["max_score"] == MAX_SCORE and 0 <= row["score"] <= MAX_SCORE
        for part in ASSIGNMENT.parts:
            entry = row["parts"][part.grade_id]
            assert entry["max_score"] == ASSIGNMENT.points(part.grade_id)
            assert [t["name"] for t in entry["tests"]] == [t.name for t in ASSIGNMENT.tests[part.grade_id]]
            for test in entry["tests"]:
                assert test["status"] in STATUSES
                assert test["score"] == (test["max_score"] if test["status"] == "passed" else 0)


def test_failures_explain_themselves_without_revealing_hidden_data(graded_class):
    messages = [t for row in graded_class[0]["submissions"] for p in row["parts"].values() for t in p["tests"]]
    for test in messages:
        assert (test["status"] == "passed") == (test["message"] == "")
        assert not re.search(r"(-?\d+\.\d+[,\s]+){6}", test["message"]), test["message"]  # no arrays of numbers
    statuses = {t["status"] for t in messages}
    assert {"passed", "failed", "error", "timeout"} <= statuses


def test_no_mistake_is_named_on_correct_work_or_a_passed_test(graded_class):
    report, rows = graded_class
    for row in report["submissions"]:
        tests = [t for p in row["parts"].values() for t in p["tests"]]
        assert all(t["diagnosis"] == [] for t in tests if t["status"] == "passed"), row["student"]
        if case_of(row["student"]).startswith("correct"):
            assert all(t["diagnosis"] == [] for t in tests), row["student"]
    # Control: the corpus's own wrong work does get named.
    assert any(t["diagnosis"] for row in report["submissions"] for p in row["parts"].values() for t in p["tests"])


def test_only_code_that_patches_the_libraries_is_flagged(graded_class):
    """Flags (autograder/tamper.py) are for the instructor: never on correct work in any of the corpus's styles,
    always on the cheats that patch numpy or torch, and never a change of score (their expected scores hold)."""
    _, rows = graded_class
    flagged = {case_of(s) for s, row in rows.items() if row.get("flags")}
    assert not {name for name in flagged if name.startswith("correct")}, flagged
    assert {"cheat_monkeypatch_numpy_testing", "cheat_rebinds_nn_rnncell", "cheat_fake_cell_in_numpy_layout"} <= flagged


def test_lost_metadata_is_graded_and_noted(graded_class):
    for name in ("correct_without_metadata", "correct_pasted_into_fresh_notebook"):
        row = graded_class[1][name]
        assert row["score"] == MAX_SCORE
        assert len([n for n in row["notes"] if "sem metadados" in n]) == len(ASSIGNMENT.parts)
    assert graded_class[1]["correct_reference"]["notes"] == []


def test_a_hang_costs_one_timeout_per_part(graded_class):
    tests = graded_class[1]["hang_in_rnn_forward"]["parts"]["rnn_forward"]["tests"]
    assert [t["status"] for t in tests] == ["timeout"] * len(tests)


def hidden_pytest_total(*args):
    proc = subprocess.run([sys.executable, "-m", "pytest", str(ASSIGNMENT.folder / "hidden"), "-p", "no:cacheprovider",
                           *args],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    return float(re.search(rf"^total\s+([\d.]+) / {MAX_SCORE:g}$", proc.stdout, re.M).group(1))


def test_pytest_directly_gives_the_reference_full_marks_and_the_release_none():
    assert hidden_pytest_total() == MAX_SCORE
    assert hidden_pytest_total("--submission", str(RELEASE_NB)) == 0


def test_command_line_gives_the_reference_full_marks_and_the_release_none(tmp_path):
    out = tmp_path / "r.json"
    grade(SOURCE_NB, RELEASE_NB, "--json", out, "--csv", tmp_path / "r.csv")
    scores = [row["score"] for row in json.loads(out.read_text())["submissions"]]
    assert scores == [MAX_SCORE, 0]
    assert (tmp_path / "r.csv").read_text().splitlines()[1].split(",")[2] == str(MAX_SCORE)


def without_timing(report):
    return [{k: v for k, v in row.items() if k != "timing"} for row in report["submissions"]]


def test_one_worker_and_two_give_identical_reports(graded_class):
    report, _ = graded_class
    out = report["folder"] / "serial.json"
    grade(report["folder"], "--json", out, "--workers", 1, "--call-timeout", 3, "--device", "cpu", "--seed", SEED)
    assert without_timing(json.loads(out.read_text())) == without_timing(report)
