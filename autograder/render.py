"""A report, shown in the terminal: the score table, the mistakes diagnosed, the rows that need review.

(Files of every format are written by writers.py; nbgrader's gradebook by gradebook.py.)
"""
import unicodedata
from pathlib import Path

from rich.console import Console
from rich.text import Text

from autograder.inside.values import printable
from autograder.results import Report, Status, SubmissionResult

PROBLEMS = (Status.ERROR, Status.TIMEOUT, Status.GRADER_ERROR)
# Characters no instructor should receive from a student's text: controls (Unicode's Cc: escapes that move a
# terminal's cursor or retitle its window, NUL, ...), invisible format characters (Cf: the bidi overrides
# U+202A-U+202E and isolates U+2066-U+2069 that make "gpj.exe" read "exe.jpg", zero widths U+200B-U+200F,
# U+FEFF, U+2060-U+2064, tags...) and line and paragraph separators (Zl, Zp).
INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp"})


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


def clean(text: object, keep: str = "") -> str:
    """A student's text (a name, a path, a message, a note, a flag) as the instructor is shown it, in the
    terminal, report.csv and the class report alike: without INVISIBLE characters (whitespace among them,
    a tab or a line break, becomes a space unless `keep` names it) and with a lone surrogate as its escape."""
    text = printable(text)
    if text.isprintable():  # (the usual case, at C speed: nothing invisible in it)
        return text
    return "".join(c if c in keep or unicodedata.category(c) not in INVISIBLE else " " if c.isspace() else ""
                   for c in text)


def plain(text: object) -> Text:
    """A student's text as the terminal shows it: never as Rich markup, never with control or invisible
    characters (clean)."""
    return Text(clean(text))


MAX_SKIPPED = 10  # files named in the note on what was not graded; the rest are counted


def skipped_note(skipped: "list[Path]") -> str:
    """The run's note on the files of the folders given that are not notebooks, so were not graded (a student's
    .py or .pdf in a flat folder of notebooks is no submission: the instructor should know it is there)."""
    names = ", ".join(str(p) for p in skipped[:MAX_SKIPPED])
    more = f" and {len(skipped) - MAX_SKIPPED} more" if len(skipped) > MAX_SKIPPED else ""
    return f"note: not graded, not notebooks (.ipynb): {names}{more}"


def progress_line(done: int, total: int, row: SubmissionResult) -> Text:
    """One graded submission, as a line of its own: what a run piped to a log shows as it goes."""
    mark = " (needs review)" if row.needs_review else " (not graded: see its row)" if row.error else ""
    return plain(f"graded {done}/{total}: {row.student} {row.score:g}/{row.max_score:g}{mark}")


def flagged(report: Report) -> "list[SubmissionResult]":
    """The graded rows with findings for the instructor (SubmissionResult.flags): never grader failures."""
    return [row for row in report.submissions if row.flags]


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
            f"{row.score:g}" + (" [bold red]?[/]" if row.needs_review else "")
            + (" [bold yellow]![/]" if row.flags else ""),
            plain((row.error or ", ".join(problems))[:200]),
        )
    console.print(table)
    console.print(plain("parts: " + ", ".join(f"{n} = {gid}" for n, gid in enumerate(grade_ids, 1))))
    marks = [text for text, shown in (("? = the grader failed (needs review)", report.needs_review),
                                      ("! = flagged for a look (graded as usual)", flagged(report))) if shown]
    if marks:
        console.print(plain("score: " + ", ".join(marks)))
    counts = diagnosis_counts(report)
    if counts:
        mistakes_table = Table(title="mistakes diagnosed", title_justify="left")
        mistakes_table.add_column("students", justify="right", no_wrap=True)
        mistakes_table.add_column("code", no_wrap=True)
        mistakes_table.add_column("what it means", overflow="fold")
        for code, students in counts:
            mistakes_table.add_row(str(students), plain(code), plain((mistakes or {}).get(code, "")))
        console.print(mistakes_table)
    if flagged(report):
        console.print(Text.assemble((f"{len(flagged(report))} submission(s) flagged for a look", "bold yellow"),
                                    " (graded as usual; not grader failures):"))
        for row in flagged(report):
            console.print(Text.assemble("  ", plain(row.student), ": ", plain("; ".join(row.flags))))
    if report.needs_review:
        console.print(Text.assemble(
            (f"{len(report.needs_review)} submission(s) need review", "bold red"),
            " (the grader failed, not the student): ",
            plain(", ".join(r.student + (f" (log: {r.log})" if r.log else "") for r in report.needs_review))))
