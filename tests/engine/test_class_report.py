"""The class report: its numbers against a hand-computed report, odd classes, and the page in a real browser.

The browser test needs Debian's `chromium` and `chromium-driver` (the
Makefile's setup installs them as root); CI sets AUTOGRADER_REQUIRE_BROWSER=1,
which turns their absence into a failure instead of a skip.
"""
import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.class_report import summarize, write_class_report
from autograder.render import diagnoses
from autograder.results import PartResult, Report, Status, SubmissionResult
from autograder.results import TestResult as Result  # (not a pytest class)

BROWSER_REQUIRED = os.environ.get("AUTOGRADER_REQUIRE_BROWSER") == "1"


def row(student, a, b, *, diagnosis_a=(), status_b=Status.FAILED, needs_review=False, error=None):
    """A submission of a two-part assignment: part a has one 1-point test, part b two tests of 1 point
    (the second one, when it does not pass, ends with `status_b`)."""
    test_a = Result("test_a", Status.PASSED if a else Status.FAILED, float(a), 1.0, "" if a else "errado",
                        "faz a", list(diagnosis_a))
    tests_b = [Result("test_b1", Status.PASSED if b >= 1 else Status.FAILED, min(b, 1.0), 1.0, "", "faz b1"),
               Result("test_b2", Status.PASSED if b >= 2 else status_b, float(b >= 2), 1.0, "", "faz b2")]
    if error:
        test_a = Result("test_a", Status.SKIPPED, 0.0, 1.0, "não executado", "faz a")
        tests_b = [Result(t.name, Status.SKIPPED, 0.0, 1.0, "não executado", t.title) for t in tests_b]
    parts = {"a": PartResult(test_a.score, 1.0, [test_a]), "b": PartResult(sum(t.score for t in tests_b), 2.0, tests_b)}
    return SubmissionResult(student, f"{student}.ipynb", sum(p.score for p in parts.values()), 3.0, error,
                            needs_review, [], parts)


def small_class() -> Report:
    return Report("tiny", "bubblewrap", {"memory": "1 GiB"}, [
        row("ana", 1, 2),
        row("bia", 0, 2, diagnosis_a=["missing_bias"]),
        row("caio", 0, 1, diagnosis_a=["missing_bias", "missing_tanh"], status_b=Status.TIMEOUT),
        row("davi", 1, 0, status_b=Status.GRADER_ERROR, needs_review=True),
        row("eva", 0, 0, error="não é um notebook"),
    ], devices=["cpu"], graded_at="2026-12-01T10:00:00+00:00",
        mistakes={"missing_bias": "o resultado é o da conta sem o viés", "missing_tanh": "sem a tanh"})


def test_the_numbers_match_a_hand_computed_class():
    summary = summarize(small_class())
    assert summary.students == 5 and summary.max_score == 3.0
    # davi's scores are not scores yet (the grader failed on him): out of the figures, and said so.
    assert summary.totals == [3.0, 2.0, 1.0, 0.0] and summary.uncounted == 1
    assert summary.parts == {"a": (1.0, [1.0, 0.0, 0.0, 0.0]), "b": (2.0, [2.0, 2.0, 1.0, 0.0])}
    # eva's file was not graded, and davi's test_b2 was the grader's failure: neither judged, so left out
    # of the rates; davi's test_a and test_b1 were judged.
    assert summary.tests == [("a", "test_a", "faz a", 2, 4), ("b", "test_b1", "faz b1", 3, 4),
                             ("b", "test_b2", "faz b2", 2, 3)]
    assert summary.mistakes == [("missing_bias", [(1, "bia"), (2, "caio")]), ("missing_tanh", [(2, "caio")])]
    # The grader's failure first, then the timeout, then what could not be graded.
    assert [(i, s) for i, s, _ in summary.review] == [(3, "davi"), (2, "caio"), (4, "eva")]
    assert "grader failed" in summary.review[0][2]


def test_a_report_of_an_edited_assignment_or_a_newer_writer_still_renders(tmp_path):
    data = small_class().to_dict()
    del data["submissions"][0]["parts"]["b"]  # a row graded before part b existed
    data["submissions"][1]["graded_by"] = "a newer version"  # a field this version does not know
    data["submissions"][1]["parts"]["a"]["tests"][0]["weight"] = 1
    data["mistakes"] = None
    report = Report.from_dict(data)
    html = write_class_report(report, tmp_path).read_text()
    assert "5 submission(s)" in html and summarize(report).parts["b"][1] == [2.0, 1.0, 0.0]


def test_students_of_the_same_name_link_to_their_own_messages(tmp_path):
    report = small_class()
    report.submissions[2].student = report.submissions[1].student = "ana"
    html = write_class_report(report, tmp_path).read_text()
    assert '<a href="#s-1">ana</a>, <a href="#s-2">ana</a>' in html


@pytest.mark.parametrize("case", ["one", "all_failed", "grader_failures", "empty_mistakes"])
def test_odd_classes_give_a_page_and_every_figure(case, tmp_path):
    report = small_class()
    report.submissions = {
        "one": report.submissions[:1],
        "all_failed": [row(f"s{i}", 0, 0) for i in range(4)],
        "grader_failures": [row(f"s{i}", 0, 0, status_b=Status.GRADER_ERROR, needs_review=True) for i in range(3)],
        "empty_mistakes": report.submissions[:1] + report.submissions[3:4],
    }[case]
    page = write_class_report(report, tmp_path / "out")
    html = page.read_text()
    assert html.count('src="data:image/png;base64,') == len(list((tmp_path / "out").glob("*.png"))) >= 3
    for png in (tmp_path / "out").glob("*.png"):
        assert png.read_bytes().startswith(b"\x89PNG")
    assert f"{len(report.submissions)} submission(s)" in html
    if case == "grader_failures":
        assert html.count('class="review"><td><a href="#s-') == 3


def test_flagged_rows_are_listed_first_with_their_findings_and_still_count(tmp_path):
    report = small_class()
    evil = '<script>alert(1)</script>'
    report.submissions[1].flags = [f"célula a: troca torch.allclose {evil}", "outra célula sua: \u202eapaga"]
    summary = summarize(report)
    assert summary.flagged == [(1, "bia", report.submissions[1].flags)]
    # graded as any other row: in the figures, not a grader failure, not in the review list
    assert summary.totals == [3.0, 2.0, 1.0, 0.0] and summary.uncounted == 1 and report.needs_review == [
        report.submissions[3]]
    assert [s for _, s, _ in summary.review] == ["davi", "caio", "eva"]
    html = write_class_report(report, tmp_path).read_text()
    section = html.split('<h2 id="review">')[1].split("<h2>")[0]
    assert "Needs a look first (4)" in html and 'id="flagged"' in section
    assert '<tr class="flagged"><td><a href="#s-1">bia</a>' in section
    assert "troca torch.allclose &lt;script&gt;alert(1)&lt;/script&gt;" in section and evil not in html
    assert "outra célula sua: apaga" in section and "\u202e" not in html
    assert html.count("flagged: célula a:") == 1  # and in the student's messages
    # Control: without flags there is no such section.
    report.submissions[1].flags = []
    assert 'id="flagged"' not in write_class_report(report, tmp_path / "none").read_text()


def test_invisible_characters_never_reach_the_page(tmp_path):
    import unicodedata

    from markupsafe import escape

    report = small_class()
    report.submissions[0].student = "ana\u202egpj.exe"
    report.submissions[1].parts["a"].tests[0].message = "errado\u2066\u200b\x1b[31m aqui"
    report.submissions[2].notes = ["nota\u202a\ufeff"]
    report.submissions[4].error = "x\u2028.ipynb\u2067: não é um notebook"
    html = write_class_report(report, tmp_path).read_text()
    found = [c for c in html if unicodedata.category(c) in {"Cc", "Cf", "Zl", "Zp"} and c not in "\n\t"]
    assert found == []
    assert "anagpj.exe" in html and "errado[31m aqui" in html and "x .ipynb: não é um notebook" in html
    # Control: HTML escaping alone leaves them there.
    assert "\u202e" in str(escape(report.submissions[0].student))


def test_student_text_is_shown_never_run(tmp_path):
    report = small_class()
    evil = '<script>document.title="pwned"</script><img src=x onerror=alert(1)>'
    report.submissions[0].student = evil
    report.submissions[1].parts["a"].tests[0].message = evil
    html = write_class_report(report, tmp_path).read_text()
    assert "&lt;script&gt;document.title" in html  # shown, escaped
    assert evil not in html and "<img src=x" not in html


def test_the_report_command_reads_a_report_and_names_a_bad_one(tmp_path):
    source = tmp_path / "report.json"
    source.write_text(json.dumps(small_class().to_dict()))
    proc = subprocess.run([sys.executable, "-m", "autograder", "report", str(source)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "report" / "index.html").is_file() and (tmp_path / "report" / "scores.png").is_file()
    (tmp_path / "broken.json").write_text('{"students": []}')
    proc = subprocess.run([sys.executable, "-m", "autograder", "report", str(tmp_path / "broken.json")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "broken.json" in proc.stderr and "not a report" in proc.stderr


def chromium():
    """A headless Chromium driven by Debian's chromedriver; skipped (or, in CI, failed) without them."""
    missing = [name for name in ("chromium", "chromedriver") if not shutil.which(name)]
    if missing:
        if BROWSER_REQUIRED:
            pytest.fail(f"{' and '.join(missing)} not found: run `make setup` as root (apt-get install chromium "
                        "chromium-driver)")
        pytest.skip(f"{' and '.join(missing)} not installed on this machine (make setup installs them as root)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1200,1600"):
        options.add_argument(argument)
    options.binary_location = shutil.which("chromium")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def errors(driver) -> list:
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


@pytest.mark.slow
def test_the_page_renders_sorts_and_logs_no_error_in_a_real_browser(tmp_path):
    report = small_class()
    report.submissions[1].flags = ["célula a: <b>troca</b> torch.allclose"]  # (a flagged row, escaped)
    page = write_class_report(report, tmp_path / "out")
    driver = chromium()
    try:
        driver.get(page.as_uri())
        sizes = driver.execute_script("return Array.from(document.images).map(i => [i.id, i.naturalWidth])")
        assert len(sizes) >= 3 and all(width > 0 for _, width in sizes), sizes
        column = {th.text.strip(" ▲▼"): th for th in driver.find_elements("css selector", "#students th")}

        def scores():
            return [float(r.find_elements("tag name", "td")[2].text)
                    for r in driver.find_elements("css selector", "#students tbody tr")]

        column["score"].click()
        assert scores() == sorted(scores()) == [0.0, 1.0, 1.0, 2.0, 3.0]
        column["score"].click()
        assert scores() == [3.0, 2.0, 1.0, 1.0, 0.0]
        column["student"].click()
        rows = driver.find_elements("css selector", "#students tbody tr")
        names = [r.find_elements("tag name", "td")[1].text for r in rows]
        assert names == sorted(names)
        link = driver.find_element("link text", "davi")  # a student's row leads to their messages
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", link)  # (not under a sticky header)
        link.click()
        assert driver.execute_script("return location.hash") == "#s-3"
        finding = driver.find_element("css selector", "tr.flagged ul.findings li").text
        assert finding == "célula a: <b>troca</b> torch.allclose"  # shown as text, never as markup
        assert errors(driver) == []
        driver.save_screenshot(str(tmp_path / "class_report.png"))
        assert (tmp_path / "class_report.png").stat().st_size > 10_000
        # Control: a page whose script breaks does log an error this test would see.
        broken = tmp_path / "broken.html"
        broken.write_text(re.sub(r"<script>", "<script>undefinedFunction();", page.read_text(), count=1))
        driver.get(broken.as_uri())
        assert errors(driver)
    finally:
        driver.quit()


def untouched(student):
    """A notebook as released: every test stops on the stub's NotImplementedError, the row not attempted."""
    blank = row(student, 0, 0, status_b=Status.ERROR)
    blank.parts["a"].tests[0].status = Status.ERROR
    blank.attempted = False
    return blank


def test_notebooks_without_an_answer_are_listed_apart_from_those_that_need_a_look(tmp_path):
    report = small_class()
    report.submissions.append(untouched("fabio"))
    summary = summarize(report)
    assert summary.unattempted == [(5, "fabio")]
    assert [s for _, s, _ in summary.review] == ["davi", "caio", "eva"]  # not fabio: his errors are the stubs'
    assert summary.totals == [3.0, 2.0, 1.0, 0.0, 0.0]  # graded as any other row: his score counts
    html = write_class_report(report, tmp_path).read_text()
    assert "Needs a look first (3)" in html and "Not attempted (1)" in html
    section = html.split('<h2 id="unattempted">')[1].split("<h2>")[0]
    assert '<a href="#s-5">fabio</a>' in section and "fabio" not in html.split('<h2 id="review">')[1].split("<h2")[0]
    messages = html.split('<section class="student" id="s-5">')[1].split("</section>")[0]
    assert "Not attempted" in messages and "[erro]" not in messages  # not a list of the stubs' errors
    # Carried in the JSON only when false: older reports (and older readers) are unchanged.
    data = report.to_dict()
    assert data["submissions"][5]["attempted"] is False and "attempted" not in data["submissions"][0]
    assert Report.from_dict(data).submissions[5].attempted is False
    assert Report.from_dict(data).submissions[0].attempted is True
    # Control: attempted, the same row needs a look (its tests stopped on errors).
    report.submissions[5].attempted = True
    assert "fabio" in [s for _, s, _ in summarize(report).review]


def test_each_students_grading_time_and_the_csv_are_on_the_page(tmp_path):
    report = small_class()
    report.submissions[0].timing = {"wall": 12.34, "tests": 11.0, "spawn": 0.5}
    report.submissions[1].timing = {"wall": 3.0, "tests": 2.5, "spawn": 0.5}
    html = write_class_report(report, tmp_path).read_text()
    assert "Grading time per submission: median 7.7 s, longest\n12.3 s" in html
    assert '<td class="num">12.3</td>' in html and '<td class="num">3.0</td>' in html
    assert '<a id="csv" href="report.csv" download>' in html
    lines = (tmp_path / "report.csv").read_text().splitlines()
    assert len(lines) == 6 and lines[1].startswith('"ana","ana.ipynb",3.0,3.0,')


def test_histograms_of_students_count_in_whole_numbers(monkeypatch):
    from matplotlib.figure import Figure

    from autograder.class_report import figures

    ticks = {}
    save = Figure.savefig

    def record(fig, *args, **kwargs):
        fig.canvas.draw()
        for ax in fig.axes:
            counts = ax.get_xticks() if ax.get_xlabel() == "students" else ax.get_yticks()
            ticks[ax.get_title()] = [float(t) for t in counts]
        return save(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", record)
    figures(summarize(small_class()))  # at most 2 students in any bin: matplotlib's own ticks would be 0, 0.25, ...
    counted = {title: found for title, found in ticks.items() if not title.startswith("Pass rate")}
    assert len(counted) == 4 and all(found and all(t == int(t) for t in found) for found in counted.values()), ticks


def tiny_gradebook(path):
    """nbgrader's gradebook of the two-part assignment, made with nbgrader's API: its autograded cells, a
    written answer (2 points) and a task (1 point) graded by hand; ana graded in full, bia's task still to
    grade, caio never recorded."""
    from nbgrader.api import Gradebook

    from autograder.gradebook import use_this_interpreters_scripts

    use_this_interpreters_scripts()  # (nbgrader runs alembic by name)
    with Gradebook(f"sqlite:///{path}") as gb:
        gb.add_assignment("tiny")
        gb.add_notebook("tiny", "tiny")
        gb.add_grade_cell("test_a", "tiny", "tiny", max_score=1, cell_type="code")
        gb.add_grade_cell("test_b", "tiny", "tiny", max_score=2, cell_type="code")
        gb.add_grade_cell("reflection", "tiny", "tiny", max_score=2, cell_type="markdown")
        gb.add_task_cell("task", "tiny", "tiny", max_score=1, cell_type="markdown")
        for student in ("ana", "bia", "davi", "eva"):
            gb.add_student(student)
            gb.add_submission("tiny", student)
        for student, cell, score in [("ana", "reflection", 1.5), ("ana", "task", 1), ("bia", "reflection", 2),
                                     ("davi", "reflection", 0), ("davi", "task", 0), ("eva", "reflection", 0),
                                     ("eva", "task", 1), ("ana", "test_a", 0)]:  # (an override: not by hand)
            gb.find_grade(cell, "tiny", "tiny", student).manual_score = score
        gb.db.commit()
    return path


@pytest.fixture(scope="module")
def made_gradebook(tmp_path_factory):
    """tiny_gradebook, made once (nbgrader takes seconds to make one); each test copies it."""
    return tiny_gradebook(tmp_path_factory.mktemp("gradebook") / "gradebook.db")


@pytest.fixture
def gradebook(made_gradebook, tmp_path):
    return Path(shutil.copy(made_gradebook, tmp_path / "gradebook.db"))


def test_the_gradebooks_hand_graded_cells_and_the_full_totals_are_shown(tmp_path, gradebook):
    from autograder.gradebook import hand_grades

    hand = hand_grades(gradebook, "tiny", {"test_a", "test_b"})
    assert hand.cells == {"reflection": 2.0, "task": 1.0} and hand.max_score == 3.0
    assert hand.scores["ana"] == {"reflection": 1.5, "task": 1.0}
    assert hand.scores["bia"] == {"reflection": 2.0, "task": None} and "caio" not in hand.scores
    report = small_class()
    summary = summarize(report, hand)
    assert summary.full_max == 6.0
    assert summary.by_hand == [(2.5, 0), (2.0, 1), None, (0.0, 0), (1.0, 0)]
    # ana: 3 + 2.5; davi's autograded score is not one yet (the grader failed); eva was not graded: 0 + 1
    assert [summary.total(i) for i in range(5)] == [5.5, None, None, None, 1.0]
    assert summary.full_totals == [5.5, 1.0]
    page = write_class_report(report, tmp_path / "out", hand)
    html = page.read_text()
    assert (tmp_path / "out" / "totals.png").is_file() and 'id="figure-totals"' in html
    students = html.split('id="students"')[1]
    assert '<td class="num">3</td><td class="num">2.5</td><td class="num total">5.5</td>' in students
    assert 'title="1 cell(s) still to grade in the formgrader">2 + ?</td>' in students  # bia
    assert 'title="not in the gradebook">–</td>' in students  # caio
    assert '<td class="num">0</td><td class="num muted" data-value="" title="the grader failed on it' in students
    by_hand = html.split('<p id="by-hand">')[1].split("</p>")[0]
    assert "reflection, task" in by_hand and "of 6:" in by_hand and "1 submission(s) still have cells" in by_hand
    assert "1 submission(s) are not in the gradebook" in by_hand and "not counted" not in by_hand
    # The CSV beside the page has them too: empty where the gradebook has no score yet.
    with open(tmp_path / "out" / "report.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["by_hand"], r["to_grade_by_hand"], r["total"]) for r in rows] == [
        ("2.5", "0.0", "5.5"), ("2.0", "1.0", ""), ("", "", ""), ("0.0", "0.0", ""), ("1.0", "0.0", "1.0")]
    assert {r["total_max"] for r in rows} == {"6.0"} and {r["by_hand_max"] for r in rows} == {"3.0"}
    # Control: without the gradebook the page says what it leaves out, and the CSV is --csv's.
    html = write_class_report(report, tmp_path / "alone").read_text()
    assert "graded by hand in nbgrader's formgrader, are not counted here" in html and "by hand</th>" not in html
    assert (tmp_path / "alone" / "report.csv").read_text().splitlines()[0].endswith('"diagnosis","flags"')


def test_a_file_that_is_no_gradebook_is_refused_and_left_unchanged(tmp_path, gradebook):
    from autograder.errors import GradebookError
    from autograder.gradebook import hand_grades

    other = tmp_path / "other.db"
    other.write_bytes(b"SQLite format 3\x00" + bytes(100))
    before = other.read_bytes()
    for db in (other, tmp_path / "missing.db"):
        with pytest.raises(GradebookError, match="gradebook"):
            hand_grades(db, "tiny", set())
    assert other.read_bytes() == before and not (tmp_path / "missing.db").exists()
    with pytest.raises(GradebookError, match="no assignment other"):
        hand_grades(gradebook, "other", set())


PARTS = ["ff_init_weights", "ff_forward", "rnn_init_weights", "rnn_forward", "rnn_cell_module", "rnn_cell_from_numpy"]


def wide_class(students: int) -> Report:
    """A class of the RNN assignment's shape (six parts, 13 points), with long names, many mistakes and
    flags: what must still fit a 1200-pixel window."""
    rows = []
    for k in range(students):
        parts = {}
        for number, gid in enumerate(PARTS):
            passed = (k + number) % 3 != 0
            test = Result(f"test_{gid}_property_with_a_long_name", Status.PASSED if passed else Status.FAILED,
                          float(passed), 1.0, "" if passed else "o resultado difere do esperado " * 8,
                          "propriedade " * 6, [] if passed else [f"{gid}_mistake_code_{k % 4}"])
            parts[gid] = PartResult(test.score, 1.0, [test])
        name = f"estudante_{k:03d}_" + "nome_muito_comprido_sem_espacos" * (3 if k % 5 == 0 else 1)
        flags = [f"célula {gid}: troca torch.allclose por uma função própria {'x' * 120}" for gid in PARTS[:k % 4]]
        rows.append(SubmissionResult(name, f"/submitted/{name}/rnn_forward/rnn_forward.ipynb",
                                     sum(p.score for p in parts.values()), 6.0, None, False, [], parts,
                                     timing={"wall": 10.0 + k, "tests": 9.0, "spawn": 1.0}, flags=flags,
                                     attempted=k % 7 != 3))
    codes = {f"{gid}_mistake_code_{k}": "explicação " * 20 for gid in PARTS for k in range(4)}
    return Report("rnn_forward", "bubblewrap", {"memory": "1 GiB", "cpu": "cgroup v2 cpu.max"}, rows,
                  devices=["cpu", "cuda"], graded_at="2026-12-01T10:00:00+00:00", mistakes=codes)


def wide_gradebook(path, report: Report):
    """nbgrader's gradebook of `report`'s class, by nbgrader's API: the six autograded cells and three
    reflections of 1 point graded by hand (the first student's second one still to grade)."""
    from nbgrader.api import Gradebook

    from autograder.gradebook import use_this_interpreters_scripts

    use_this_interpreters_scripts()
    with Gradebook(f"sqlite:///{path}") as gb:
        gb.add_assignment("rnn_forward")
        gb.add_notebook("rnn_forward", "rnn_forward")
        for gid in PARTS:
            gb.add_grade_cell(f"test_{gid}", "rnn_forward", "rnn_forward", max_score=1, cell_type="code")
        for name in ("reflection_biases", "reflection_saturation", "reflection_sequential"):
            gb.add_grade_cell(name, "rnn_forward", "rnn_forward", max_score=1, cell_type="markdown")
        for index, row in enumerate(report.submissions):
            gb.add_student(row.student)
            gb.add_submission("rnn_forward", row.student)
            for number, name in enumerate(("reflection_biases", "reflection_saturation", "reflection_sequential")):
                if (index, number) != (0, 1):
                    gb.find_grade(name, "rnn_forward", "rnn_forward", row.student).manual_score = (index + number) % 2
        gb.db.commit()
    return path


@pytest.mark.slow
def test_the_page_searches_filters_links_its_csv_and_fits_1200_pixels_in_a_real_browser(tmp_path):
    from autograder.writers import write_html

    report = wide_class(40)
    page_dir = tmp_path / "out"
    write_html(report, page_dir, gradebook=wide_gradebook(tmp_path / "gradebook.db", report))
    page = page_dir / "index.html"
    driver = chromium()
    try:
        driver.set_window_size(1200, 900)
        driver.get(page.as_uri())
        width = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], width  # no horizontal scrollbar
        rows = driver.find_elements("css selector", "#students tbody tr")
        assert len(rows) == 40
        header = [th.text.strip(" ▲▼") for th in driver.find_elements("css selector", "#students th")]
        assert header[:6] == ["#", "student", "autograded", "by hand", "total", PARTS[0]] and "time (s)" in header
        first = rows[0].find_elements("tag name", "td")
        assert [first[2].text, first[3].text, first[4].text] == ["4", "0 + ?", "4 + ?"]  # a reflection to grade
        second = rows[1].find_elements("tag name", "td")
        assert [second[2].text, second[3].text, second[4].text] == ["4", "2", "6"]
        assert first[header.index("time (s)")].text == "10.0"

        def visible():
            return [r.find_elements("tag name", "td")[1].text for r in rows if r.is_displayed()]

        search = driver.find_element("id", "search")
        search.send_keys("ESTUDANTE_017")  # (case aside)
        assert visible() == [report.submissions[17].student]
        assert driver.find_element("id", "shown").text == "1 of 40 shown"
        search.clear()
        search.send_keys("rnn_forward_mistake_code_2")  # a mistake's code finds who made it
        assert visible() == [r.student for r, c in zip(report.submissions, range(40), strict=True)
                             if "rnn_forward_mistake_code_2" in " ".join(diagnoses(r))]
        search.clear()
        driver.execute_script("arguments[0].dispatchEvent(new Event('input'))", search)
        assert len(visible()) == 40
        from selenium.webdriver.support.ui import Select

        Select(driver.find_element("id", "show")).select_by_value("unattempted")
        assert visible() == [r.student for r in report.submissions if not r.attempted] and len(visible()) == 6
        Select(driver.find_element("id", "show")).select_by_value("pending")
        assert visible() == [report.submissions[0].student]
        column = {th.text.strip(" ▲▼"): th for th in driver.find_elements("css selector", "#students th")}
        Select(driver.find_element("id", "show")).select_by_value("")
        column["total"].click()  # the one still to grade sorts by what it has so far, never as NaN
        totals = [r.find_elements("tag name", "td")[4].get_attribute("data-value")
                  or r.find_elements("tag name", "td")[4].text for r in
                  driver.find_elements("css selector", "#students tbody tr")]
        assert [float(t) for t in totals] == sorted(float(t) for t in totals)
        csv = driver.find_element("id", "csv").get_attribute("href")
        assert csv == (page_dir / "report.csv").as_uri() and (page_dir / "report.csv").is_file()
        unattempted = driver.find_element("id", "unattempted").text
        assert unattempted == "Not attempted (6)"
        assert errors(driver) == []
        driver.save_screenshot(str(tmp_path / "wide.png"))
        # Control: the same page without its styles' wrapping scrolls sideways at 1200 pixels.
        plain = tmp_path / "out" / "plain.html"
        plain.write_text(page.read_text().replace("overflow-wrap: anywhere", "overflow-wrap: normal")
                         .replace(".wide { overflow-x: auto; }", ""))
        driver.get(plain.as_uri())
        width = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] > width[1], width
    finally:
        driver.quit()


def test_the_report_command_reads_the_gradebook_it_is_given(tmp_path, gradebook, monkeypatch, capsys):
    from autograder.cli import main

    source = tmp_path / "report.json"
    source.write_text(json.dumps(small_class().to_dict()))
    db = gradebook
    monkeypatch.chdir(tmp_path)  # (no course here)

    def report(*args):
        try:
            return main(["report", str(source), *map(str, args)])
        except SystemExit as exc:
            return exc.code

    assert report("--gradebook", db, "--out", tmp_path / "page") == 0
    html = (tmp_path / "page" / "index.html").read_text()
    assert '<td class="num total">5.5</td>' in html and str(db) in html
    assert (tmp_path / "page" / "report.csv").is_file()
    # A file that is no gradebook: refused (its own exit code), never made one.
    (tmp_path / "notes.db").write_text("not a database")
    capsys.readouterr()
    assert report("--gradebook", tmp_path / "notes.db") == 5
    assert "not an nbgrader gradebook" in capsys.readouterr().err
    assert (tmp_path / "notes.db").read_text() == "not a database"
    # Without DB, the course's; here there is no course under the current folder: say so.
    assert report("--gradebook") == 2 and "--gradebook DB" in capsys.readouterr().err
    assert report("--csv", tmp_path / "x.csv", "--gradebook", db) == 2  # the gradebook is for the class report
    assert "--html DIR" in capsys.readouterr().err and not (tmp_path / "x.csv").exists()


@pytest.mark.slow
def test_grading_a_class_into_the_gradebook_writes_the_page_with_it(tmp_path):
    """grade ... --gradebook --html: the page is written again once the class is recorded, from the gradebook;
    an untouched notebook is a row not attempted, graded as any other."""
    from tests.engine.test_course import NAME, gradebook_course, submission
    from tests.helpers import grade

    course = gradebook_course(tmp_path / "course")
    submission(course / "submitted", {NAME: "correct_reference"}, "ana")
    submission(course / "submitted", {NAME: "untouched_release"}, "bia")
    grade(course / "submitted", "--gradebook", "--assignment", course / "solutions" / NAME, "--json",
          tmp_path / "report.json", "--html", tmp_path / "page", "--device", "cpu", "--workers", 1)
    rows = {row["student"]: row for row in json.loads((tmp_path / "report.json").read_text())["submissions"]}
    assert rows["bia"]["attempted"] is False and "attempted" not in rows["ana"]
    html = (tmp_path / "page" / "index.html").read_text()
    assert "Not attempted (1)" in html and '<a href="#s-1">bia</a>' in html.split('id="unattempted"')[1]
    assert "The gradebook holds no cell of this assignment graded by hand" in html  # (the tiny course has none)
    seconds = [row["timing"]["wall"] for row in rows.values()]
    assert all(f'<td class="num">{s:.1f}</td>' in html for s in seconds)
