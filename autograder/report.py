"""Scores from test outcomes, and the JSON, CSV and table that show them.

A test that runs on several devices passes only if it passes on every device
it ran on; its points never depend on which devices the machine has.

A grader failure (`grader_error`) is never a student's zero in disguise: the
test scores nothing *yet*, the row says `needs_review`, and the command line
exits with REVIEW_EXIT_CODE so that no one records it unawares.
"""
import csv
import json

from autograder.parts import ASSIGNMENT, MAX_SCORE, PARTS
from autograder.values import printable

STATUSES = ("passed", "failed", "error", "timeout", "skipped", "grader_error")
MAX_MESSAGE = 1000  # characters a student reads per test: a check's message never needs more
GRADER_FAILED = "o corretor falhou ao corrigir esta entrega (não é um erro do seu código); o professor vai revisar"


def test_result(name, points, runs):
    """One test's entry from its runs: [(variant, status, message), ...]."""
    ran = [r for r in runs if r[1] != "skipped"]
    if not runs:
        status, message = "skipped", "não executado"
    elif not ran:
        status, message = "skipped", runs[0][2]
    else:
        failed = [r for r in ran if r[1] == "grader_error"] or [r for r in ran if r[1] != "passed"]
        status, message = ("passed", "") if not failed else failed[0][1:]
        if failed and failed[0][0]:
            message = f"[{failed[0][0]}] {message}"
    score = points if status == "passed" else 0.0
    message = printable(message)
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 1] + "…"
    return {"name": name, "status": status, "score": score, "max_score": points, "message": message}


def submission_result(student, notebook, outcomes, notes=(), error=None, grader_failed=False):
    """The report row of one submission; outcomes maps (grade_id, test) to runs.

    `error` says why nothing could be graded (the student's file); with
    `grader_failed` it was the grader's fault, and the row needs review.
    """
    parts = {}
    for part in PARTS:
        runs = {name: outcomes.get((part.grade_id, name), []) for name in part.tests}
        if grader_failed:
            runs = {name: [("", "grader_error", GRADER_FAILED)] for name in part.tests}
        tests = [test_result(name, pts, runs[name]) for name, pts in part.tests.items()]
        parts[part.grade_id] = {
            "score": 0.0 if error else sum(t["score"] for t in tests),
            "max_score": part.points,
            "tests": tests,
        }
    review = grader_failed or any(t["status"] == "grader_error" for p in parts.values() for t in p["tests"])
    return {
        "student": printable(student),
        "notebook": printable(notebook),
        "score": round(sum(p["score"] for p in parts.values()), 6),
        "max_score": MAX_SCORE,
        "error": GRADER_FAILED if grader_failed else (printable(error) if error else None),
        "needs_review": review,
        "notes": [printable(note) for note in notes],
        "parts": parts,
    }


def build_report(rows, isolation, limits=None):
    return {"assignment": ASSIGNMENT, "isolation": isolation, "limits": limits or {}, "submissions": rows}


def write_json(report, path):
    with open(path, "w", encoding="utf-8", errors="backslashreplace") as f:
        json.dump(report, f, ensure_ascii=False, indent=1)


def write_csv(report, path):
    with open(path, "w", newline="", encoding="utf-8", errors="backslashreplace") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "notebook", "score", "max_score", *[p.grade_id for p in PARTS], "needs_review",
                         "error"])
        for row in report["submissions"]:
            parts = [row["parts"][p.grade_id]["score"] for p in PARTS]
            writer.writerow([row["student"], row["notebook"], row["score"], row["max_score"], *parts,
                             "yes" if row["needs_review"] else "", row["error"] or ""])


def print_table(report, console):
    from rich.table import Table

    table = Table(title=f"{ASSIGNMENT}: {len(report['submissions'])} submissions (isolation: {report['isolation']})")
    table.add_column("student")
    for part in PARTS:
        table.add_column(f"{part.grade_id}\n/{part.points:g}", justify="right")
    table.add_column(f"score\n/{MAX_SCORE:g}", justify="right")
    table.add_column("problem")
    for row in report["submissions"]:
        problems = [f"{gid}: {t['status']}" for gid, p in row["parts"].items() for t in p["tests"]
                    if t["status"] in ("error", "timeout", "grader_error")]
        table.add_row(
            row["student"],
            *[f"{row['parts'][p.grade_id]['score']:g}" for p in PARTS],
            f"{row['score']:g}" + (" [bold red]?[/]" if row["needs_review"] else ""),
            (row["error"] or ", ".join(sorted(set(problems))))[:70],
        )
    console.print(table)
    review = [row for row in report["submissions"] if row["needs_review"]]
    if review:
        console.print(f"[bold red]{len(review)} submission(s) need review[/] (the grader failed, not the student): "
                      + ", ".join(f"{r['student']}" + (f" (log: {r['log']})" if r.get("log") else "") for r in review))
