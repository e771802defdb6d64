"""Scoring: how runs become a test's status and points, and a submission's row."""
import pytest

from autograder import results
from autograder.results import Run, Status, SubmissionResult
from tests.helpers import TINY_ASSIGNMENT as ASSIGNMENT


def test_a_test_passes_only_if_it_passes_on_every_device():
    assert results.test_result("t", 0.5, [Run("cpu", Status.PASSED, ""), Run("cuda", Status.PASSED, "")]).score == 0.5
    failed = results.test_result("t", 0.5, [Run("cpu", Status.PASSED, ""), Run("cuda", Status.FAILED, "no")])
    assert (failed.status, failed.score, failed.message) == (Status.FAILED, 0.0, "[cuda] no")


def test_a_grader_error_outranks_the_students_failures():
    test = results.test_result("t", 1, [Run("cpu", Status.FAILED, "wrong"), Run("cuda", Status.GRADER_ERROR, "ours")])
    assert test.status == Status.GRADER_ERROR and test.score == 0


def test_skips_and_missing_runs_score_nothing():
    assert results.test_result("t", 1, []).status == Status.SKIPPED
    only_skipped = results.test_result("t", 1, [Run("cuda", Status.SKIPPED, "no GPU")])
    assert (only_skipped.status, only_skipped.message, only_skipped.score) == (Status.SKIPPED, "no GPU", 0.0)


def outcomes(status=Status.PASSED, message=""):
    return {(p.grade_id, t.name): [Run("", status, message)]
            for p in ASSIGNMENT.parts for t in ASSIGNMENT.tests[p.grade_id]}


def test_a_submission_scores_the_sum_of_its_tests():
    row = results.submission_result(ASSIGNMENT, "ana", "ana.ipynb", outcomes())
    assert row.score == row.max_score == ASSIGNMENT.max_score and not row.needs_review and row.error is None
    one_wrong = outcomes()
    one_wrong[("square", "test_values_match_the_reference")] = [Run("", Status.FAILED, "o dobro")]
    row = results.submission_result(ASSIGNMENT, "bob", "bob.ipynb", one_wrong)
    assert row.score == ASSIGNMENT.max_score - 1 and row.parts["square"].score == 1


def test_an_unreadable_file_scores_zero_and_a_grader_failure_needs_review():
    broken = results.submission_result(ASSIGNMENT, "eve", "eve.ipynb", {}, error="não é um notebook")
    assert broken.score == 0 and not broken.needs_review and broken.error == "não é um notebook"
    failed = results.submission_result(ASSIGNMENT, "zoe", "zoe.ipynb", {}, grader_failed=True)
    assert failed.needs_review and failed.score == 0 and "o corretor falhou" in failed.error
    assert {t.status for p in failed.parts.values() for t in p.tests} == {Status.GRADER_ERROR}


@pytest.mark.parametrize("row", [
    results.submission_result(ASSIGNMENT, "ana", "ana.ipynb", outcomes()),
    results.submission_result(ASSIGNMENT, "zoe", "zoe.ipynb", {}, grader_failed=True),
])
def test_rows_survive_the_journal_unchanged(row):
    row.timing, row.digest = {"wall": 1.0}, "abc"
    data = row.to_dict()
    assert SubmissionResult.from_dict(data) == row
    assert data["parts"]["square"]["tests"][0]["status"] in {s.value for s in Status}
    assert "log" not in data  # absent fields stay out of the JSON


@pytest.mark.parametrize("width", [80, 100])
def test_the_score_table_fits_the_terminal_and_cuts_no_name(width):
    import io

    from rich.console import Console

    from autograder import render

    long_name = "maria_eduarda_dos_santos_figueiredo_" + "x" * 30
    failed = outcomes(Status.ERROR, "ValueError: " + "muito longo " * 30)
    rows = [results.submission_result(ASSIGNMENT, long_name, "a.ipynb", failed),
            results.submission_result(ASSIGNMENT, "ana", "b.ipynb", outcomes())]
    out = io.StringIO()
    render.table(results.Report(ASSIGNMENT.name, "bubblewrap", {}, rows), Console(file=out, width=width))
    text = out.getvalue()
    assert max(len(line) for line in text.splitlines()) <= width
    student_column = "".join(line.split("│")[1].strip() for line in text.splitlines() if line.count("│") > 2)
    assert long_name in student_column  # wrapped, never cut
    assert "…" not in text and "1 = square" in text


def test_result_lines_are_wrapped_for_a_notebook_page():
    row = results.submission_result(ASSIGNMENT, "ana", "a.ipynb", outcomes(Status.FAILED, "diferença " * 40))
    lines = results.test_lines(row.parts["square"].tests)
    assert max(map(len, lines)) <= 90 and lines[0].startswith("[falhou] ") and lines[1].startswith("    ")


def test_a_students_text_is_never_markup_or_terminal_control_in_the_table():
    import io

    from rich.console import Console

    from autograder import render

    rows = [results.submission_result(ASSIGNMENT, "[ab]lice", "a.ipynb", {}, error="[/] não é um notebook"),
            results.submission_result(ASSIGNMENT, "x\x1b]0;pwned\x07\x1b[41mHELLO", "b.ipynb", {}, grader_failed=True)]
    out = io.StringIO()
    render.table(results.Report(ASSIGNMENT.name, "bubblewrap", {}, rows), Console(file=out, width=100))
    text = out.getvalue()
    assert "[ab]lice" in text and "[/] não é um notebook" in text  # shown as typed, not taken as markup
    assert "\x1b" not in text and "\x07" not in text
    # Control: Rich does take markup in plain strings (this is what the table must not do with them).
    out = io.StringIO()
    Console(file=out).print("[ab]lice")
    assert "[ab]" not in out.getvalue()
