"""nbgrader end to end, and parity between its autograde and ours.

A temporary course with a local exchange goes through the whole workflow:
generate, release, fetch and submit as two students, collect, autograde,
feedback, export. nbgrader's grades must equal `python -m autograder grade`'s
on the same notebooks, part by part.
"""
import csv
import html
import json
import re
import shutil
import subprocess
import sys

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder.tools.examples import strip_metadata
from tests.helpers import REPO, copy_course, grade, hidden_test_lines, run_nbgrader
from tests.rnn_forward.helpers import ASSIGNMENT, CORPUS, SOURCE_NB

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


def submitted_course(root):
    """A course where ana and bob fetched, filled in and submitted the assignment, then collected."""
    course, exchange = root / "course", root / "exchange"
    course.mkdir()
    copy_course(course, ASSIGNMENT)
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
        nb = CORPUS.fill(nbformat.read(path, as_version=4), answers)
        if student == "bob":  # bob also answers the reflection questions; ana leaves them blank
            for cell in nb.cells:
                if cell.metadata.get("nbgrader", {}).get("grade_id", "").startswith("reflection_"):
                    cell.source = cell.source.replace("SUA RESPOSTA AQUI", "Porque H_t depende de H_{t-1}.")
        nbformat.write(nb, path)
        run_nbgrader("submit", NAME, x, "--course=rnn-course", f"--student={student}", cwd=home)
    run_nbgrader("collect", NAME, x, cwd=course)
    return course, x


def feedback_and_export(root, course, x):
    """What follows grading, as the README says; returns what nbgrader printed on the instructor's side."""
    printed = run_nbgrader("generate_feedback", NAME, cwd=course)
    printed += run_nbgrader("release_feedback", NAME, x, cwd=course)
    for student in STUDENTS:  # (a student's side also lists earlier runs' submissions from its cache)
        run_nbgrader("fetch_feedback", NAME, x, "--course=rnn-course", f"--student={student}", cwd=root / student)
    return printed + run_nbgrader("export", cwd=course)


@pytest.fixture(scope="module")
def workflow(tmp_path_factory):
    """The whole nbgrader workflow with `nbgrader autograde`; returns (root, course, what nbgrader printed)."""
    root = tmp_path_factory.mktemp("nbgrader")
    course, x = submitted_course(root)
    printed = run_nbgrader("autograde", NAME, cwd=course)
    return root, course, printed + feedback_and_export(root, course, x)


@pytest.fixture(scope="module")
def isolated_workflow(tmp_path_factory):
    """The same workflow with `python -m autograder grade submitted --gradebook` in place of autograde,
    run from another folder by the interpreter's path alone (no venv on PATH)."""
    root = tmp_path_factory.mktemp("isolated")
    course, x = submitted_course(root)
    # carol handed in by hand: her work re-created without nbgrader's metadata, under a second download's
    # name, beside the notebook she fetched and never touched.
    carol = course / "submitted" / "carol" / NAME
    carol.mkdir(parents=True)
    work = CORPUS.notebook("correct_reference")
    for cell in work.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "reflection_biases":
            cell.source = cell.source.replace("SUA RESPOSTA AQUI", "RESPOSTA DA CAROL: só a soma importa.")
    nbformat.write(strip_metadata(work), carol / f"{NAME} (1).ipynb")
    nbformat.write(CORPUS.notebook("untouched_release"), carol / f"{NAME}.ipynb")
    (carol / "timestamp.txt").write_text("2026-11-20 10:00:00.000000 UTC")
    (carol / "submission_secret.txt").write_text("carol-secret")  # nbgrader's release_feedback needs one
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    proc = grade(course / "submitted", "--gradebook", "--assignment", course / "solutions" / NAME,
                 "--json", root / "report.json", cwd=elsewhere, env={"PATH": "/usr/bin:/bin", "HOME": str(root)})
    return root, course, proc.stdout + proc.stderr + feedback_and_export(root, course, x)


def report_scores(path):
    rows = json.loads(path.read_text())["submissions"]
    return {r["student"]: {gid: p["score"] for gid, p in r["parts"].items()} for r in rows}


def exported(course):
    with open(course / "grades.csv") as f:
        return {row["student_id"]: row for row in csv.DictReader(f)}


def test_exported_grades_equal_the_autograders(workflow):
    root, course, _ = workflow
    ours = autograder_scores(course / "submitted")
    assert ours["ana"] == {p.grade_id: ASSIGNMENT.points(p.grade_id) for p in PARTS}
    bob = {**CORPUS.expected_scores("rnn_forward_uses_notebook_globals"), **{
        "rnn_cell_module": CORPUS.expected_scores("module_detaches_states")["rnn_cell_module"]}}
    assert ours["bob"] == bob and bob["rnn_forward"] < 3 and bob["rnn_cell_module"] < 4
    assert gradebook_scores(course, STUDENTS) == ours
    assert {s: float(row["score"]) for s, row in exported(course).items()} == {
        s: sum(parts.values()) for s, parts in ours.items()}


def feedback_pages(root):
    pages = list(root.glob(f"*/{NAME}/feedback/*/*.html"))
    # (Both students share one Unix user here, so each may also fetch the other's page.)
    assert {p.parts[-5] for p in pages} == set(STUDENTS)
    return [html.unescape(page.read_text()) for page in pages]


@pytest.mark.parametrize("path", ["workflow", "isolated_workflow"])
def test_feedback_released_to_students_shows_results_and_figure_but_no_hidden_test_code(path, request):
    root, _, _ = request.getfixturevalue(path)
    hidden = hidden_test_lines(nbformat.read(SOURCE_NB, as_version=4))
    for text in feedback_pages(root):
        assert "devolve as chaves e as formas do contrato" in text  # the results are there, in Portuguese
        assert [line for line in hidden if line in text] == []
        assert "data:image/svg+xml;base64," in text  # the figure travels inside the page
        # No line of the grader's own code or its paths (a warning raised inside a check once printed one).
        assert not re.search(r"(autograder|solutions)/[\w/]+\.py|site-packages", text)


@pytest.mark.parametrize("path", ["workflow", "isolated_workflow"])
def test_honest_work_gets_no_warning_from_nbgrader(path, request):
    *_, printed = request.getfixturevalue(path)
    assert "has changed" not in printed and "not recognized" not in printed, printed
    assert "WARNING" not in printed.replace("Removing existing", ""), printed


def test_the_isolated_grader_leaves_the_course_where_autograde_would(isolated_workflow, workflow):
    root, course, _ = isolated_workflow
    ours = report_scores(root / "report.json")
    assert gradebook_scores(course, [*STUDENTS, "carol"]) == ours
    assert {s: ours[s] for s in STUDENTS} == autograder_scores(workflow[1] / "submitted")
    assert not (root / "elsewhere" / "gradebook.db").exists()
    rows = exported(course)
    assert {s: float(row["score"]) for s, row in rows.items()} == {s: sum(p.values()) for s, p in ours.items()}
    # the reflection questions wait for the formgrader: in the total's maximum, not in anyone's score yet
    assert {float(row["max_score"]) for row in rows.values()} == {ASSIGNMENT.max_score + 3}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        assert gb.find_submission(NAME, "bob").needs_manual_grade  # answered: waits for the formgrader
        assert not gb.find_submission(NAME, "ana").needs_manual_grade  # blank: nbgrader's "no response", 0
        for student in [*STUDENTS, "carol"]:
            submitted = (course / "submitted" / student / NAME / "timestamp.txt").read_text().strip()
            timestamp = gb.find_submission(NAME, student).timestamp
            assert timestamp is not None and rows[student]["timestamp"] != ""
            assert timestamp.isoformat(" ")[:19] == submitted[:19]
    for student in [*STUDENTS, "carol"]:  # each graded cell shows its part's results and its score
        nb = nbformat.read(course / "autograded" / student / NAME / f"{NAME}.ipynb", as_version=4)
        for part in PARTS:
            cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == part.test_grade_id)
            text = "".join(o.get("text", "") for o in cell.outputs)
            value = next(o for o in cell.outputs if o.output_type == "execute_result").data["text/plain"]
            assert float(value) == ours[student][part.grade_id]
            assert text.count("[ok]") + text.count("[falhou]") + text.count("[erro]") == len(
                ASSIGNMENT.tests[part.grade_id])
            assert max(len(line) for line in text.splitlines()) <= 90


def test_both_graders_agree_on_every_shipped_example(course):
    shutil.copytree(CORPUS.examples_dir, course / "submitted")
    run_nbgrader("generate_assignment", NAME, cwd=course)
    run_nbgrader("autograde", NAME, cwd=course)
    assert gradebook_scores(course, CORPUS.data.EXAMPLES) == autograder_scores(course / "submitted")


def test_an_untouched_named_notebook_gives_way_to_one_without_metadata_recorded_rebuilt(isolated_workflow):
    root, course, _ = isolated_workflow
    row = next(r for r in json.loads((root / "report.json").read_text())["submissions"] if r["student"] == "carol")
    assert row["score"] == ASSIGNMENT.max_score and row["notebook"].endswith(f"{NAME} (1).ipynb")
    assert any(f"{NAME}.ipynb sem nenhuma resposta" in n and f"vale só {NAME} (1).ipynb" in n
               for n in row["notes"]), row["notes"]
    nb = nbformat.read(course / "autograded" / "carol" / NAME / f"{NAME}.ipynb", as_version=4)
    assert "reconstruído" in nb.cells[0].source
    # her written answer came along, and waits for the formgrader
    assert any("RESPOSTA DA CAROL" in c.source for c in nb.cells if c.cell_type == "markdown")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        assert gb.find_grade("reflection_biases", NAME, NAME, "carol").needs_manual_grade


# A year after the due date; nbgrader's penalty "zero" takes every point of a late submission.
DUE, A_YEAR_LATE, YEAR = "2026-11-01 12:00:00 UTC", "2027-11-01 12:00:00.000000 UTC", 365 * 24 * 3600


def late_course(root):
    """A course whose assignment is due DUE, where zed handed in the reference a year late, his folder padded
    with 100 files that sort before timestamp.txt (they once filled the cap on the other files carried along)."""
    course = root / "course"
    course.mkdir(parents=True)
    copy_course(course, ASSIGNMENT)
    with open(course / "nbgrader_config.py", "a") as f:
        f.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    run_nbgrader("generate_assignment", NAME, cwd=course)
    run_nbgrader("db", "assignment", "add", NAME, f"--duedate={DUE}", cwd=course)
    folder = course / "submitted" / "zed" / NAME
    folder.mkdir(parents=True)
    nbformat.write(CORPUS.notebook("correct_reference"), folder / f"{NAME}.ipynb")
    for k in range(100):
        (folder / f"a{k:03d}.txt").write_text("x")
    (folder / "timestamp.txt").write_text(A_YEAR_LATE)
    (folder / "submission_secret.txt").write_text("zed-secret")
    return course


def late_record(course):
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        submission = gb.find_submission(NAME, "zed")
        return {"timestamp": submission.timestamp, "seconds late": submission.total_seconds_late,
                "penalty": submission.late_submission_penalty, "score": submission.score}


def test_a_late_submission_is_as_late_by_both_paths_whatever_else_it_holds(tmp_path):
    theirs, ours = late_course(tmp_path / "autograde"), late_course(tmp_path / "isolated")
    run_nbgrader("autograde", NAME, cwd=theirs)
    grade(ours / "submitted", "--gradebook", "--assignment", ours / "solutions" / NAME, "--json",
          tmp_path / "report.json", "--device", "cpu")
    expected = late_record(theirs)
    # nbgrader read the timestamp (without it: 0 s late, no penalty, every point)
    assert expected["seconds late"] == YEAR and expected["penalty"] == ASSIGNMENT.max_score, expected
    assert expected["score"] == ASSIGNMENT.max_score  # (nbgrader export subtracts the penalty)
    assert late_record(ours) == expected
    assert (ours / "autograded" / "zed" / NAME / "submission_secret.txt").read_text() == "zed-secret"


def test_the_release_holds_no_answer_and_the_reference_does_by_the_rule(tmp_path):
    from autograder.course import holds_answer

    assert holds_answer(ASSIGNMENT, ASSIGNMENT.release_notebook) is not None
    nbformat.write(CORPUS.notebook("correct_reference"), tmp_path / "answered.ipynb")
    assert holds_answer(ASSIGNMENT, tmp_path / "answered.ipynb") is None
