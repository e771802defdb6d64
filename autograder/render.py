"""A report, shown: as a table in the terminal, as JSON for other tools, as CSV for a spreadsheet.

(The nbgrader gradebook is written by gradebook.py.)
"""
import csv
import json
from pathlib import Path

from rich.console import Console

from autograder.results import Report, Status

PROBLEMS = (Status.ERROR, Status.TIMEOUT, Status.GRADER_ERROR)


def write_json(report: Report, path: "str | Path") -> None:
    with open(path, "w", encoding="utf-8", errors="backslashreplace") as f:
        json.dump(report.to_dict(), f, ensure_ascii=False, indent=1)


def write_csv(report: Report, path: "str | Path") -> None:
    grade_ids = list(report.submissions[0].parts) if report.submissions else []
    with open(path, "w", newline="", encoding="utf-8", errors="backslashreplace") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "notebook", "score", "max_score", *grade_ids, "needs_review", "error"])
        for row in report.submissions:
            writer.writerow([row.student, row.notebook, row.score, row.max_score,
                             *[row.parts[gid].score for gid in grade_ids],
                             "yes" if row.needs_review else "", row.error or ""])


def table(report: Report, console: "Console") -> None:
    """The score table, then the submissions that need review."""
    from rich.table import Table

    rows = report.submissions
    title = f"{report.assignment}: {len(rows)} submissions (isolation: {report.isolation})"
    table = Table(title=title)
    table.add_column("student")
    grade_ids = list(rows[0].parts) if rows else []
    for gid in grade_ids:
        table.add_column(f"{gid}\n/{rows[0].parts[gid].max_score:g}", justify="right")
    table.add_column(f"score\n/{rows[0].max_score:g}" if rows else "score", justify="right")
    table.add_column("problem")
    for row in rows:
        problems = sorted({f"{gid}: {t.status.value}" for gid, p in row.parts.items() for t in p.tests
                           if t.status in PROBLEMS})
        table.add_row(
            row.student,
            *[f"{row.parts[gid].score:g}" for gid in grade_ids],
            f"{row.score:g}" + (" [bold red]?[/]" if row.needs_review else ""),
            (row.error or ", ".join(problems))[:70],
        )
    console.print(table)
    if report.needs_review:
        console.print(f"[bold red]{len(report.needs_review)} submission(s) need review[/] (the grader failed, "
                      "not the student): "
                      + ", ".join(r.student + (f" (log: {r.log})" if r.log else "") for r in report.needs_review))
