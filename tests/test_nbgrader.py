"""nbgrader end to end, and parity between its autograde and ours.

A temporary course with a local exchange goes through the whole workflow:
generate, release, fetch and submit as two students, collect, autograde,
feedback, export. nbgrader's grades must equal `python -m autograder grade`'s
on the same notebooks, part by part.
"""
import csv
import html
import json
import shutil
import subprocess
import sys

import nbformat
import pytest
from nbgrader.api import Gradebook

from tests.helpers import ASSIGNMENT, CORPUS, REPO, SOURCE_NB, copy_course, hidden_test_lines, run_nbgrader

pytestmark = pytest.mark.slow
NAME = ASSIGNMENT.name
PARTS = ASSIGNMENT.parts

# ana hands in the reference; bob makes two honest mistakes.
STUDENTS = {
    "ana": CORPUS.cases["correct_reference"][0],
    "bob": {**CORPUS.cases["rnn_forward_uses_notebook_globals"][0], **CORPUS.cases["module_detaches_states"][0]},
}


def autograder_scores(path, *extra):
    out = path.parent / f"{path.name}-report.json"
    subprocess.run([sys.executable, "-m", "autograder", "grade", str(path), "--json", str(out), *map(str, extra)],
                   cwd=REPO, check=True, capture_output=True, timeout=1800)
    rows = json.loads(out.read_text())["submissions"]
    return {r["student"]: {gid: p["score"] for gid, p in r["parts"].items()} for r in rows}


def gradebook_scores(course, students):
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {s: {p.grade_id: gb.find_grade(p.test_grade_id, NAME, NAME, s).score for p in PARTS}
                for s in students}


@pytest.fixture(scope="module")
def workflow(tmp_path_factory):
    """Run the whole nbgrader workflow once; returns the paths it made."""
    root = tmp_path_factory.mktemp("nbgrader")
    course, exchange = root / "course", root / "exchange"
    course.mkdir()
    copy_course(course)
    exchange.mkdir(mode=0o777)
    exchange.chmod(0o777)  # nbgrader insists on a world-writable exchange
    x = f"--Exchange.root={exchange}"
    run_nbgrader("generate_assignment", NAME, cwd=course)
    run_nbgrader("release_assignment", NAME, x, cwd=course)
    for student, answers in STUDENTS.items():
        home = root / student
        home.mkdir()
        run_nbgrader("fetch_assignment", NAME, x, "--course=rnn-course", cwd=home)
        path = home / NAME / f"{NAME}.ipynb"
        nbformat.write(CORPUS.fill(nbformat.read(path, as_version=4), answers), path)
        run_nbgrader("submit", NAME, x, "--course=rnn-course", f"--student={student}", cwd=home)
    run_nbgrader("collect", NAME, x, cwd=course)
    run_nbgrader("autograde", NAME, cwd=course)
    run_nbgrader("generate_feedback", NAME, cwd=course)
    run_nbgrader("release_feedback", NAME, x, cwd=course)
    for student in STUDENTS:
        run_nbgrader("fetch_feedback", NAME, x, "--course=rnn-course", f"--student={student}", cwd=root / student)
    run_nbgrader("export", cwd=course)
    return root, course


def test_exported_grades_equal_the_autograders(workflow):
    root, course = workflow
    ours = autograder_scores(course / "submitted")
    assert ours["ana"] == {p.grade_id: ASSIGNMENT.points(p.grade_id) for p in PARTS}
    assert ours["bob"]["rnn_forward"] == 2.0 and ours["bob"]["rnn_cell_module"] == 2.5
    assert gradebook_scores(course, STUDENTS) == ours
    with open(course / "grades.csv") as f:
        exported = {row["student_id"]: float(row["score"]) for row in csv.DictReader(f)}
    assert exported == {s: sum(parts.values()) for s, parts in ours.items()}


def test_feedback_released_to_students_shows_no_hidden_test_code(workflow):
    root, _ = workflow
    hidden = hidden_test_lines(nbformat.read(SOURCE_NB, as_version=4))
    pages = list(root.glob(f"*/{NAME}/feedback/*/*.html"))
    # (Both students share one Unix user here, so each may also fetch the other's page.)
    assert {p.parts[-5] for p in pages} == set(STUDENTS)
    for page in pages:
        text = html.unescape(page.read_text())
        assert "test_returns_the_contract_shapes" in text  # the results are there
        assert [line for line in hidden if line in text] == []


def test_autograder_can_fill_the_gradebook_for_nbgrader_export(workflow, tmp_path):
    _, course = workflow
    copy = tmp_path / "course"
    shutil.copytree(course, copy, ignore=shutil.ignore_patterns("autograded", "feedback", "grades.csv"))
    with Gradebook(f"sqlite:///{copy / 'gradebook.db'}") as gb:  # forget nbgrader's own grades
        for student in STUDENTS:
            gb.remove_submission(NAME, student)
    ours = autograder_scores(copy / "submitted", "--gradebook", copy / "gradebook.db")
    assert gradebook_scores(copy, STUDENTS) == ours
    run_nbgrader("export", cwd=copy)
    with open(copy / "grades.csv") as f:
        assert {r["student_id"]: float(r["score"]) for r in csv.DictReader(f)} == {
            s: sum(parts.values()) for s, parts in ours.items()}


def test_both_graders_agree_on_every_shipped_example(course):
    shutil.copytree(CORPUS.examples_dir, course / "submitted")
    run_nbgrader("generate_assignment", NAME, cwd=course)
    run_nbgrader("autograde", NAME, cwd=course)
    assert gradebook_scores(course, CORPUS.data.EXAMPLES) == autograder_scores(course / "submitted")
