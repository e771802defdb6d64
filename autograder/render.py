"""A report, shown in the terminal: the score table, the mistakes diagnosed, the rows that need review.

(Files of every format are written by writers.py; nbgrader's gradebook by gradebook.py.)
"""
import re

from rich.console import Console
from rich.text import Text

from autograder.results import Report, Status, SubmissionResult

PROBLEMS = (Status.ERROR, Status.TIMEOUT, Status.GRADER_ERROR)


def diagnoses(row: SubmissionResult) -> "list[str]":
    """The mistakes named in one submission's failed tests, in the order the tests ran."""
    return list(dict.fromkeys(code for part in row.parts.values() for test in part.tests for code in test.diagnosis))


def diagnosis_counts(report: Report) -> "list[tuple[str, int]]":
    """[(code, how many students)] over the class, most frequent first."""
    counts: "dict[str, int]" = {}
    for row in report.submissions:
        for code in diagnoses(row):
            counts[code] = counts.get(code, 0) + 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def plain(text: str) -> Text:
    """A student's text (a name, a file name, an error) as the terminal shows it: never as Rich markup,
    never with control characters (which could move the cursor or retitle the window)."""
    return Text(re.sub(r"[\x00-\x1f\x7f-\x9f]", "\N{REPLACEMENT CHARACTER}", str(text)))


def table(report: Report, console: "Console", mistakes: "dict[str, str] | None" = None) -> None:
    """The score table, how many students made each diagnosed mistake (`mistakes`: code -> what it
    means), then the submissions that need review.

    Parts are numbered columns with a legend below, so that the table fits an
    80-100 column terminal; names and problems wrap rather than being cut.
    """
    from rich.table import Table

    rows = report.submissions
    title = f"{report.assignment}: {len(rows)} submissions (isolation: {report.isolation})"
    table = Table(title=title)
    table.add_column("student", overflow="fold")
    grade_ids = list(rows[0].parts) if rows else []
    for number, gid in enumerate(grade_ids, 1):
        table.add_column(f"{number}\n/{rows[0].parts[gid].max_score:g}", justify="right", no_wrap=True)
    table.add_column(f"score\n/{rows[0].max_score:g}" if rows else "score", justify="right", no_wrap=True)
    table.add_column("problem", overflow="fold")
    for row in rows:
        problems = sorted({f"{number}: {t.status.value}" for number, p in enumerate(row.parts.values(), 1)
                           for t in p.tests if t.status in PROBLEMS})
        table.add_row(
            plain(row.student),
            *[f"{row.parts[gid].score:g}" for gid in grade_ids],
            f"{row.score:g}" + (" [bold red]?[/]" if row.needs_review else ""),
            plain((row.error or ", ".join(problems))[:200]),
        )
    console.print(table)
    console.print(plain("parts: " + ", ".join(f"{n} = {gid}" for n, gid in enumerate(grade_ids, 1))))
    counts = diagnosis_counts(report)
    if counts:
        mistakes_table = Table(title="mistakes diagnosed", title_justify="left")
        mistakes_table.add_column("students", justify="right", no_wrap=True)
        mistakes_table.add_column("code", no_wrap=True)
        mistakes_table.add_column("what it means", overflow="fold")
        for code, students in counts:
            mistakes_table.add_row(str(students), plain(code), plain((mistakes or {}).get(code, "")))
        console.print(mistakes_table)
    if report.needs_review:
        console.print(Text.assemble(
            (f"{len(report.needs_review)} submission(s) need review", "bold red"),
            " (the grader failed, not the student): ",
            plain(", ".join(r.student + (f" (log: {r.log})" if r.log else "") for r in report.needs_review))))
