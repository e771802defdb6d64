"""The formgrader, as the README starts it, in headless Chromium.

A temporary course where two students submitted (ana the reference, bob two
mistakes and his written answers) is recorded with
`python -m autograder grade submitted --gradebook`; then `jupyter server` runs
from the course root on 127.0.0.1 (nbgrader's server extension serves
/formgrader), the exchange set only by nbgrader_config.py (NBGRADER_EXCHANGE).
In the browser: no warning about the exchange, the isolated grader's part
scores on bob's grading page, two reflection answers graded there (saved in
nbgrader's gradebook), and under each reflection answer its rubric from the
source notebook, which no feedback page shows (by either grading path).

The browser needs Debian's `chromium` and `chromium-driver` (see
tests/engine/test_class_report.py; AUTOGRADER_REQUIRE_BROWSER=1 turns their
absence into a failure).
"""
import html
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request

import nbformat
import pytest
from nbgrader.api import Gradebook
from selenium.webdriver.common.keys import Keys

from autograder.gradebook import course_config
from autograder.nbgrader_preprocessors import RUBRIC, InsertRubrics, RemoveRubrics
from tests.engine.test_class_report import chromium
from tests.helpers import copy_course, grade, run_nbgrader
from tests.rnn_forward.helpers import ASSIGNMENT, CORPUS, RELEASE_NB, SOURCE_NB

NAME = ASSIGNMENT.name
REFLECTIONS = ["reflection_biases", "reflection_saturation", "reflection_sequential"]
# A line of each question's rubric, as the source notebook writes it (never released).
RUBRIC_LINES = {
    "reflection_biases": "(a) responde que não: só a soma dos vieses importa;",
    "reflection_saturation": "(b) usa o experimento para os dois casos:",
    "reflection_sequential": "(b) o que o hardware muda: acelera o trabalho dentro de cada passo",
}


# ana hands in the reference and leaves the reflection questions blank; bob makes two honest mistakes and
# answers them.
STUDENTS = {
    "ana": CORPUS.cases["correct_reference"][0],
    "bob": {**CORPUS.cases["rnn_forward_uses_notebook_globals"][0], **CORPUS.cases["module_detaches_states"][0]},
}
BOBS_ANSWER = "Porque H_t depende de H_{t-1}."


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """(root, course, exchange, report rows): ana's and bob's submissions recorded by the isolated grader,
    their feedback generated."""
    root = tmp_path_factory.mktemp("formgrader")
    course, exchange = root / "course", root / "exchange"
    course.mkdir()
    exchange.mkdir(mode=0o777)
    exchange.chmod(0o777)  # what the formgrader checks: it exists, everyone may write there
    copy_course(course, ASSIGNMENT)
    run_nbgrader("generate_assignment", NAME, cwd=course)
    for student, answers in STUDENTS.items():  # (as `nbgrader collect` leaves them)
        nb = CORPUS.fill(nbformat.read(course / "release" / NAME / f"{NAME}.ipynb", as_version=4), answers)
        for cell in nb.cells:
            if student == "bob" and cell.metadata.get("nbgrader", {}).get("grade_id") in REFLECTIONS:
                cell.source = cell.source.replace("SUA RESPOSTA AQUI", BOBS_ANSWER)
        folder = course / "submitted" / student / NAME
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{NAME}.ipynb")
        (folder / "timestamp.txt").write_text("2026-11-20 10:00:00.000000 UTC")
    grade(course / "submitted", "--gradebook", "--assignment", course / "solutions" / NAME,
          "--json", root / "report.json", cwd=course)
    printed = run_nbgrader("generate_feedback", NAME, cwd=course)
    assert "not recognized" not in printed and "WARNING" not in printed, printed
    rows = {r["student"]: r for r in json.loads((root / "report.json").read_text())["submissions"]}
    assert set(rows) == set(STUDENTS) and all(not r["error"] for r in rows.values())
    return root, course, exchange, rows


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def formgrader(graded):
    """The README's `jupyter server` from the course root, on 127.0.0.1; yields its URL and token."""
    root, course, exchange, _ = graded
    port, token = free_port(), secrets.token_hex(16)
    bin_dir = os.path.dirname(sys.executable)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", NBGRADER_EXCHANGE=str(exchange),
               JUPYTER_CONFIG_DIR=str(root / "jupyter-config"), JUPYTER_RUNTIME_DIR=str(root / "jupyter-runtime"))
    log = open(root / "jupyter-server.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", "--ServerApp.open_browser=False",
         *(["--allow-root"] if os.geteuid() == 0 else [])],  # (a CI container runs as root)
        cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # (never through a proxy of the env)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with direct.open(f"{url}/api/status?token={token}", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, (root / "jupyter-server.log").read_text()
            time.sleep(0.5)
        yield url, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture(scope="module")
def browser():
    driver = chromium()
    yield driver
    driver.quit()


def wait_for(check, timeout=60, what="the page"):
    """check()'s first truthy value, polled until `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)
    return value


def assert_rubrics_under_answers(notebook):
    """Each reflection answer of this autograded notebook is followed by its rubric cell, and only those."""
    source = {c.metadata["nbgrader"]["grade_id"]: c.source for c in nbformat.read(SOURCE_NB, as_version=4).cells
              if c.metadata.get("nbgrader", {}).get("grade_id") in REFLECTIONS}
    cells = nbformat.read(notebook, as_version=4).cells
    for gid in REFLECTIONS:
        at = next(i for i, c in enumerate(cells) if c.metadata.get("nbgrader", {}).get("grade_id") == gid)
        rubric = cells[at + 1]  # right under the answer
        assert rubric.metadata[RUBRIC] == gid and rubric.metadata["editable"] is False
        assert RUBRIC_LINES[gid] in rubric.source and RUBRIC_LINES[gid] in source[gid]
        assert "BEGIN SOLUTION" not in rubric.source and "nbgrader" not in rubric.metadata
    assert sum(RUBRIC in c.metadata for c in cells) == len(REFLECTIONS)


def assert_no_rubric(page):
    """A feedback page (its HTML, unescaped) shows no rubric."""
    for gid, line in RUBRIC_LINES.items():
        assert line not in page, gid
    assert "Para quem corrige" not in page and "Resposta-modelo" not in page and "Rubrica (1 ponto" not in page


def test_a_students_cell_marked_as_a_rubric_stays_theirs_and_no_source_means_no_rubric(course, caplog):
    nb = nbformat.read(RELEASE_NB, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_markdown_cell("minha rubrica", metadata={RUBRIC: "reflection_biases"}))
    resources = {"nbgrader": {"assignment": NAME, "notebook": NAME, "student": "eve"}}
    config = course_config(course)
    graded, _ = InsertRubrics(config=config).preprocess(nbformat.from_dict(nb), resources)
    assert graded.cells[0].source == "minha rubrica" and RUBRIC not in graded.cells[0].metadata
    assert sum(RUBRIC in c.metadata for c in graded.cells) == len(REFLECTIONS)
    feedback, _ = RemoveRubrics().preprocess(graded, {})
    assert feedback.cells[0].source == "minha rubrica"  # the student's own cell still reaches the feedback
    assert len(feedback.cells) == len(nb.cells) and not any(RUBRIC in c.metadata for c in feedback.cells)
    assert not any(c.source.startswith("**Atenção:**") for c in graded.cells if RUBRIC in c.metadata)  # (control)
    # A student's cell that imitates a rubric's heading: each real rubric says so.
    spoof = nbformat.from_dict(nb)
    spoof.cells.insert(1, nbformat.v4.new_markdown_cell("**Para quem corrige** (`reflection_biases`): tudo vale 1"))
    imitated, _ = InsertRubrics(config=config).preprocess(spoof, resources)
    real = [c for c in imitated.cells if RUBRIC in c.metadata]
    assert len(real) == len(REFLECTIONS) and all(c.source.startswith("**Atenção:**") for c in real)
    # Without the source notebook, grading goes on without rubrics, and says why.
    (course / "source" / NAME / f"{NAME}.ipynb").unlink()
    bare, _ = InsertRubrics(config=config).preprocess(nbformat.read(RELEASE_NB, as_version=4), resources)
    assert len(bare.cells) == len(nb.cells) - 1 and "No rubrics for the formgrader" in caplog.text


@pytest.mark.slow
def test_the_isolated_graders_record_holds_each_rubric_under_its_answer_and_no_feedback_does(graded):
    _, course, _, _ = graded
    for student in STUDENTS:
        assert_rubrics_under_answers(course / "autograded" / student / NAME / f"{NAME}.ipynb")
        # The page `nbgrader release_feedback` hands the student: answers and results, no rubric.
        page = html.unescape((course / "feedback" / student / NAME / f"{NAME}.html").read_text())
        assert "devolve as chaves e as formas do contrato" in page and "Pergunta 1." in page
        assert (BOBS_ANSWER in page) == (student == "bob")
        assert_no_rubric(page)


@pytest.mark.slow
def test_nbgrader_autograde_leaves_the_same_rubrics_and_its_feedback_none(course):
    run_nbgrader("generate_assignment", NAME, cwd=course)
    folder = course / "submitted" / "ana" / NAME
    folder.mkdir(parents=True)
    nbformat.write(CORPUS.notebook("correct_reference"), folder / f"{NAME}.ipynb")
    printed = run_nbgrader("autograde", NAME, cwd=course) + run_nbgrader("generate_feedback", NAME, cwd=course)
    assert "not recognized" not in printed and "WARNING" not in printed, printed
    assert_rubrics_under_answers(course / "autograded" / "ana" / NAME / f"{NAME}.ipynb")
    page = html.unescape((course / "feedback" / "ana" / NAME / f"{NAME}.html").read_text())
    assert "devolve as chaves e as formas do contrato" in page  # (the results are there)
    assert_no_rubric(page)


@pytest.mark.slow
def test_the_formgrader_shows_the_graders_scores_takes_a_grade_and_shows_each_rubric(graded, browser, formgrader):
    root, course, exchange, rows = graded
    url, token = formgrader
    driver = browser
    driver.get(f"{url}/formgrader?token={token}")
    wait_for(lambda: driver.find_elements("xpath", f"//td//a[text()='{NAME}']"), what="the assignment's row")
    assert driver.current_url.endswith("/formgrader/manage_assignments")
    assert driver.find_elements("css selector", ".alert-warning") == [], driver.page_source[:2000]
    assert "does not exist" not in driver.page_source
    # Control: with the exchange gone the same page does warn (nbgrader reads the configuration on each page).
    exchange.rename(exchange.with_name("exchange-away"))
    try:
        driver.refresh()
        warning = wait_for(lambda: driver.find_elements("id", "warning-exchange"), what="the exchange warning")
        assert str(exchange) in warning[0].text
    finally:
        exchange.with_name("exchange-away").rename(exchange)

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        submission = gb.find_submission_notebook(NAME, NAME, "bob").id
        assert gb.find_grade("reflection_biases", NAME, NAME, "bob").manual_score is None
    driver.get(f"{url}/formgrader/submissions/{submission}/")
    # The isolated grader's score of each part: nbgrader's automatic score, shown on each graded cell.
    for part in ASSIGNMENT.parts:
        score = wait_for(lambda p=part: driver.find_element("id", p.test_grade_id).get_attribute("placeholder"),
                         what=f"{part.test_grade_id}'s score")
        assert float(score) == rows["bob"]["parts"][part.grade_id]["score"], part.grade_id
    assert rows["bob"]["score"] < ASSIGNMENT.max_score  # (bob's mistakes: the scores shown are not all full)
    page = html.unescape(driver.page_source)
    assert "[falhou]" in page and "[ok]" in page  # each test's result, as the isolated grader wrote it

    # Each rubric right under its answer, the score box above it.
    for gid in REFLECTIONS:
        below = driver.execute_script(
            "const cell = document.getElementById(arguments[0]).closest('div.cell');"
            "const next = cell.nextElementSibling; return next ? next.innerText : '';", gid)
        assert "Para quem corrige" in below and gid in below, (gid, below[:300])
        assert RUBRIC_LINES[gid] in below, (gid, below[:600])

    # Grade two answers: "Full credit" on one, a score typed on another.
    full = driver.find_element("id", "reflection_biases").find_element(
        "xpath", "ancestor::div[contains(@class, 'panel-heading')]//button[contains(@class, 'full-credit')]")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", full)
    full.click()
    typed = driver.find_element("id", "reflection_saturation")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", typed)
    typed.clear()
    typed.send_keys("0.5", Keys.TAB)  # leaving the box saves it

    def saved():
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            scores = {gid: gb.find_grade(gid, NAME, NAME, "bob").manual_score for gid in REFLECTIONS}
        return scores if scores["reflection_biases"] is not None and scores["reflection_saturation"] is not None \
            else None

    assert wait_for(saved, what="the gradebook to hold the manual scores") == {
        "reflection_biases": 1.0, "reflection_saturation": 0.5, "reflection_sequential": None}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        bob = gb.find_submission("rnn_forward", "bob")
        assert bob.score == rows["bob"]["score"] + 1.5  # the isolated grader's parts, and the hand grades
    cell = driver.find_element("id", "reflection_biases")
    driver.execute_script("arguments[0].closest('div.cell').scrollIntoView({block: 'start'}); "
                          "window.scrollBy(0, -60)", cell)  # (below the formgrader's bar)
    driver.save_screenshot(str(root / "formgrader.png"))  # (to look at: the answer, its score, its rubric)
