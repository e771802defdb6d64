"""nbgrader end to end, and parity between its autograde and ours.

The README's course recipe runs as written, a step at a time in one shell, in a
temporary copy of the course with a local exchange (its NBGRADER_EXCHANGE and
STUDENTS), once as written (the isolated grader) and once with its other
grading line, `nbgrader autograde`: three students (one correct, one with two
mistakes and written answers, one untouched) go through release, fetch,
submit, collect, grading, manual grading, feedback and export. Another workflow
adds a submission handed in by hand. nbgrader's grades must equal
`python -m autograder grade`'s on the same notebooks, part by part.
"""
import csv
import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder.results import NOT_ANSWERED
from autograder.tools.examples import strip_metadata
from tests.helpers import REPO, copy_course, grade, hidden_test_lines, run_nbgrader
from tests.rnn_forward.helpers import ASSIGNMENT, CORPUS, RELEASE_NB, SOURCE_NB

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


def cache(home):
    """A student's own nbgrader cache, as a Unix user of their own has: fetch_feedback finds feedback through it."""
    return f"--Exchange.cache={home / '.nbgrader_cache'}"


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
        run_nbgrader("fetch_assignment", NAME, x, "--course=rnn-course", cache(home), cwd=home)
        path = home / NAME / f"{NAME}.ipynb"
        nb = CORPUS.fill(nbformat.read(path, as_version=4), answers)
        if student == "bob":  # bob also answers the reflection questions; ana leaves them blank
            for cell in nb.cells:
                if cell.metadata.get("nbgrader", {}).get("grade_id", "").startswith("reflection_"):
                    cell.source = cell.source.replace("SUA RESPOSTA AQUI", "Porque H_t depende de H_{t-1}.")
        nbformat.write(nb, path)
        run_nbgrader("submit", NAME, x, "--course=rnn-course", f"--student={student}", cache(home), cwd=home)
    run_nbgrader("collect", NAME, x, cwd=course)
    return course, x


def feedback_and_export(root, course, x):
    """What follows grading, as the README says; returns what nbgrader printed on the instructor's side."""
    printed = run_nbgrader("generate_feedback", NAME, cwd=course)
    printed += run_nbgrader("release_feedback", NAME, x, cwd=course)
    for student in STUDENTS:
        run_nbgrader("fetch_feedback", NAME, x, "--course=rnn-course", f"--student={student}", cache(root / student),
                     cwd=root / student)
    return printed + run_nbgrader("export", cwd=course)


# The README's course recipe: its bash block, and the steps it is made of ("# 1. ...", "# 2. ...").
README = (REPO / "README.md").read_text(encoding="utf-8")
RECIPE = re.search(r"<!-- recipe.*?```bash\n(.*?)```.*?<!-- /recipe -->", README, re.S).group(1)
PREAMBLE, *STEPS = re.split(r"(?m)^(?=# \d+\. )", RECIPE)
ISOLATED, AUTOGRADE = "python -m autograder grade submitted --gradebook", f"nbgrader autograde {NAME}"
# step 6's check, alone: what stops the recipe before any feedback while a written answer awaits its grade
CHECK = next(line for line in RECIPE.splitlines() if "manual_grades --check" in line).split("&&")[0]
# The recipe's class: ana hands in the reference, bob two honest mistakes and his written answers, carol nothing.
RECIPE_CLASS = {**STUDENTS, "carol": None}
BOBS_ANSWER = "Porque H_t depende de H_{t-1}."
COLLECT_WARNING = "cheating attempt?"


class Shell:
    """One bash process that runs a script at a time, as a reader pastes the recipe's steps into a terminal;
    it stops at the first command that fails (set -e), and the test with it."""

    MARK = "__recipe_step_done__"

    def __init__(self, cwd, env):
        self.proc = subprocess.Popen(["bash", "--noprofile", "--norc", "-e", "-o", "pipefail"], cwd=cwd, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)

    def run(self, script):
        self.proc.stdin.write(f"{script}\necho {self.MARK}\n")
        self.proc.stdin.flush()
        lines = []
        for line in self.proc.stdout:
            if line.strip() == self.MARK:
                return "".join(lines)
            lines.append(line)
        self.proc.wait(timeout=60)
        pytest.fail(f"the recipe stopped (exit {self.proc.returncode}) in:\n{script}\n--- it printed:\n"
                    + "".join(lines))

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def run_recipe(root, grading_line):
    """The README's recipe, in a copy of the course under `root`, with `grading_line` as its grading command.
    Between its steps the students work and the instructor writes manual_grades.csv, as the recipe says.
    Returns (the students' folder, the course, what each step printed, what the check printed before manual
    grading, with its exit status)."""
    course, students, exchange = root / "course", root / "students", root / "exchange"
    course.mkdir()
    copy_course(course, ASSIGNMENT)
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", NBGRADER_EXCHANGE=str(exchange),
               STUDENTS=str(students))
    shell, printed = Shell(course, env), {}
    try:
        printed[0] = shell.run(PREAMBLE + STEPS[0])
        printed[1] = shell.run(STEPS[1])
        for student, answers in RECIPE_CLASS.items():  # step 3's "each works in ..."
            path = students / student / NAME / f"{NAME}.ipynb"
            if answers is None:
                continue
            nb = CORPUS.fill(nbformat.read(path, as_version=4), answers)
            if student == "bob":
                for cell in nb.cells:
                    if cell.metadata.get("nbgrader", {}).get("grade_id", "").startswith("reflection_"):
                        cell.source = cell.source.replace("SUA RESPOSTA AQUI", BOBS_ANSWER)
            nbformat.write(nb, path)
        printed[2] = shell.run(STEPS[2])
        assert ISOLATED in STEPS[3] and AUTOGRADE in STEPS[3]  # (the other one in the step's comment)
        printed[3] = shell.run(STEPS[3].replace(ISOLATED, grading_line))
        early = subprocess.run(["bash", "-c", CHECK], cwd=course, env=env, capture_output=True, text=True)
        with open(course / "manual_grades.csv", "w", newline="") as f:  # bob's answers, graded by hand
            writer = csv.writer(f)
            writer.writerow(["student", "cell", "score", "comment"])
            writer.writerows(["bob", q, 1, "Boa resposta."] for q in REFLECTIONS)
        printed[4] = shell.run(STEPS[4])
        printed[5] = shell.run(STEPS[5])
    finally:
        shell.close()
    return students, course, printed, (early.returncode, early.stdout + early.stderr)


REFLECTIONS = [c.metadata["nbgrader"]["grade_id"] for c in nbformat.read(RELEASE_NB, as_version=4).cells
               if c.metadata.get("nbgrader", {}).get("grade_id", "").startswith("reflection_")]


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    """The README's recipe as written: graded by `python -m autograder grade submitted --gradebook`."""
    return run_recipe(tmp_path_factory.mktemp("recipe"), ISOLATED)


@pytest.fixture(scope="module")
def autograde_recipe(tmp_path_factory):
    """The README's recipe with its other grading line, `nbgrader autograde`."""
    return run_recipe(tmp_path_factory.mktemp("nbgrader"), AUTOGRADE)


@pytest.fixture(scope="module")
def workflow(autograde_recipe):
    """The recipe with `nbgrader autograde`: (the students' folder, the course, what nbgrader printed but
    collect's warning, which the recipe explains)."""
    students, course, printed, _ = autograde_recipe
    # collect's owner check, one warning per student (every student is the one Unix user here)
    owner = (r"\[CollectApp \| WARNING\] \n[^\n]* claims to be submitted by [^\n]*cheating attempt\?\n"
             r"[^\n]*check_owner\n")
    text, warned = re.subn(owner, "", "".join(printed.values()))
    assert warned == len(RECIPE_CLASS), text
    return students, course, text


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


def feedback_pages(root):
    """The feedback page of each student folder under `root` that fetched one, by student: one each."""
    found = {}
    for page in root.glob(f"*/{NAME}/feedback/*/*.html"):
        found.setdefault(page.parts[-5], []).append(page)
    assert all(len(pages) == 1 for pages in found.values()), found  # (one Unix user, one cache: all three)
    return {student: html.unescape(pages[0].read_text()) for student, pages in found.items()}


@pytest.mark.parametrize("path", ["workflow", "isolated_workflow"])
def test_feedback_released_to_students_shows_results_and_figure_but_no_hidden_test_code(path, request):
    root, _, _ = request.getfixturevalue(path)
    hidden = hidden_test_lines(nbformat.read(SOURCE_NB, as_version=4))
    pages = feedback_pages(root)
    assert set(pages) == set(RECIPE_CLASS if path == "workflow" else STUDENTS)
    for student, text in pages.items():
        assert [line for line in hidden if line in text] == []
        # No line of the grader's own code or its paths (a warning raised inside a check once printed one).
        assert not re.search(r"(autograder|solutions)/[\w/]+\.py|site-packages", text)
        if student != "carol":  # (untouched: a line per part says so, test_each_student_fetches...)
            assert "devolve as chaves e as formas do contrato" in text  # the results are there, in Portuguese
            assert "data:image/svg+xml;base64," in text  # the figure travels inside the page


@pytest.mark.parametrize("path", ["workflow", "isolated_workflow"])
def test_honest_work_gets_no_warning_from_nbgrader(path, request):
    *_, printed = request.getfixturevalue(path)
    assert "has changed" not in printed and "not recognized" not in printed, printed
    assert "WARNING" not in printed.replace("Removing existing", ""), printed


def test_the_isolated_grader_leaves_the_course_where_autograde_would(isolated_workflow, recipe):
    root, course, _ = isolated_workflow
    ours = report_scores(root / "report.json")
    assert gradebook_scores(course, [*STUDENTS, "carol"]) == ours
    recipes = report_scores(recipe[1] / "report.json")  # (the same notebooks of ana and bob)
    assert {s: ours[s] for s in STUDENTS} == {s: recipes[s] for s in STUDENTS}
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


# The README's recipe, as written and with nbgrader autograde.

def test_the_recipe_runs_as_written_and_both_grading_paths_agree(recipe, autograde_recipe):
    ours = report_scores(recipe[1] / "report.json")  # (the grading line's default --json)
    assert set(ours) == set(RECIPE_CLASS)
    assert ours["ana"] == {p.grade_id: ASSIGNMENT.points(p.grade_id) for p in PARTS}
    bob = {**CORPUS.expected_scores("rnn_forward_uses_notebook_globals"), **{
        "rnn_cell_module": CORPUS.expected_scores("module_detaches_states")["rnn_cell_module"]}}
    assert ours["bob"] == bob and bob["rnn_forward"] < 3 and bob["rnn_cell_module"] < 4
    assert sum(ours["carol"].values()) == 0
    for _, course, _, _ in (recipe, autograde_recipe):
        assert gradebook_scores(course, RECIPE_CLASS) == ours
        # the export: the autograded points, and bob's written answers as graded by hand
        rows = exported(course)
        assert {s: float(row["score"]) for s, row in rows.items()} == {
            s: sum(p.values()) + (len(REFLECTIONS) if s == "bob" else 0) for s, p in ours.items()}
        assert {float(row["max_score"]) for row in rows.values()} == {ASSIGNMENT.max_score + len(REFLECTIONS)}


@pytest.mark.parametrize("path", ["recipe", "autograde_recipe"])
def test_the_recipe_grades_written_answers_before_any_feedback(path, request):
    students, course, printed, (early, early_printed) = request.getfixturevalue(path)
    if path == "recipe":  # the grading line says what waits
        assert "1 submission awaits manual grading (bob)" in printed[3], printed[3]
    # the check of step 6, run before manual grading, stops the recipe there
    assert early == 1 and "1 submission awaits manual grading (bob)" in early_printed, early_printed
    assert "0 submissions await manual grading" in printed[4]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        assert not any(s.needs_manual_grade for s in gb.find_assignment(NAME).submissions)
        assert gb.find_comment(REFLECTIONS[0], NAME, NAME, "bob").manual_comment == "Boa resposta."
    # bob's page shows his written answers' scores as graded by hand, in the page's total too
    bob = feedback_pages(students)["bob"]
    assert BOBS_ANSWER in bob and "Boa resposta." in bob
    total = float(exported(course)["bob"]["score"])
    assert f"(Nota: {round(total, 2)} / {ASSIGNMENT.max_score + len(REFLECTIONS)})" in bob


@pytest.mark.parametrize("path", ["recipe", "autograde_recipe"])
def test_each_student_fetches_only_their_own_feedback_offline_and_in_portuguese(path, request):
    students, course, printed, _ = request.getfixturevalue(path)
    pages = feedback_pages(students)
    assert set(pages) == set(RECIPE_CLASS)
    totals = {s: float(row["score"]) for s, row in exported(course).items()}
    for student, text in pages.items():
        assert f"(Nota: {round(totals[student], 2)} / " in text  # their own page: their total
        assert (BOBS_ANSWER in text) == (student == "bob")
        # no script from the network (nbgrader's page loads MathJax from a CDN): the maths is MathML
        assert not re.search(r"<script[^>]+src=", text) and "mathjax" not in text.lower()
        assert "<math" in text and "\\mathbb" not in text
        for english in ("Score:", "Student's answer", "Comments:", "Written response", "Test cell", "(Top)",
                        "No response."):
            assert english not in text, english
    assert "Sua resposta" in pages["bob"] and "Comentários:" in pages["bob"] and "Sem resposta." in pages["carol"]
    # an untouched part: one line, not one NotImplementedError per test
    assert pages["carol"].count(NOT_ANSWERED) == len(PARTS)
    assert not re.search(r"\[erro\][^\n]*: NotImplementedError", pages["carol"])


def test_collect_warns_of_the_owner_where_the_recipe_explains_it(recipe):
    _, _, printed, _ = recipe
    assert COLLECT_WARNING in printed[3]  # every student is this one Unix user
    step = STEPS[3]
    assert COLLECT_WARNING in step and step.index(COLLECT_WARNING) < step.index("nbgrader collect")


def test_manual_grades_saves_nothing_from_a_wrong_row(recipe):
    _, course, _, _ = recipe
    bad = course / "bad_grades.csv"
    bad.write_text(f"student,cell,score\nana,{REFLECTIONS[0]},1\nana,{REFLECTIONS[1]},7\n")
    proc = subprocess.run([sys.executable, "-m", "autograder.tools.manual_grades", str(bad)], cwd=course,
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "from 0 to 1" in proc.stderr, proc.stderr
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        assert gb.find_grade(REFLECTIONS[0], NAME, NAME, "ana").manual_score is None
    # after feedback, the check says that nbgrader keeps those pages unless told --force
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(["bash", "-c", CHECK], cwd=course, env=env, capture_output=True, text=True)
    assert proc.returncode == 0 and f"generate_feedback {NAME} --force" in proc.stdout, proc.stdout + proc.stderr
