"""A report, shown: as a table in the terminal, as JSON for other tools, as CSV for a spreadsheet.

(The nbgrader gradebook is written by gradebook.py.)
"""
import csv
import json
import re
from pathlib import Path

from rich.console import Console
from rich.text import Text

from autograder.results import Report, Status

PROBLEMS = (Status.ERROR, Status.TIMEOUT, Status.GRADER_ERROR)


def write_json(report: Report, path: "str | Path") -> None:
    with open(path, "w", encoding="utf-8", errors="backslashreplace") as f:
        json.dump(report.to_dict(), f, ensure_ascii=False, indent=1)


def write_csv(report: Report, path: "str | Path") -> None:
    grade_ids = list(report.submissions[0].parts) if report.submissions else []
    with open(path, "w", newline="", encoding="utf-8", errors="backslashreplace") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "notebook", "score", "max_score", *grade_ids, "needs_review", "error",
                         "diagnosis"])
        for row in report.submissions:
            writer.writerow([row.student, row.notebook, row.score, row.max_score,
                             *[row.parts[gid].score for gid in grade_ids],
                             "yes" if row.needs_review else "", row.error or "", " ".join(diagnoses(row))])


def diagnoses(row) -> list:
    """The mistakes named in one submission's failed tests, in the order the tests ran."""
    return list(dict.fromkeys(code for part in row.parts.values() for test in part.tests for code in test.diagnosis))


def diagnosis_counts(report: Report) -> list:
    """[(code, how many students)] over the class, most frequent first."""
    counts = {}
    for row in report.submissions:
        for code in diagnoses(row):
            counts[code] = counts.get(code, 0) + 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def plain(text: str) -> Text:
    """A student's text (a name, a file name, an error) as the terminal shows it: never as Rich markup,
    never with control characters (which could move the cursor or retitle the window)."""
    return Text(re.sub(r"[\x00-\x1f\x7f-\x9f]", "\N{REPLACEMENT CHARACTER}", str(text)))


def table(report: Report, console: "Console", mistakes: "dict | None" = None) -> None:
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


ISOLATION_WORDS = {"bubblewrap": "sandbox bubblewrap",
                   "process": "processos separados (sem bubblewrap neste contêiner)"}


def gradescope(row, isolation: str, seconds: float) -> dict:
    """One submission as Gradescope's results.json: a test per hidden test, messages visible to the student.

    Messages never hold hidden inputs (checks.py), so every test is visible; what
    the grader itself failed on is said to the student and flagged for the
    instructor (extra_data.needs_review), never silently a zero.
    """
    from autograder.results import STATUS_WORDS, Status

    where = ISOLATION_WORDS.get(isolation, isolation)
    lines = [f"Nota: {row.score:g} de {row.max_score:g}. Correção isolada com {where}."]
    if row.error:
        lines.append(f"A entrega não pôde ser corrigida: {row.error}")
    if row.needs_review:
        lines.append("O corretor falhou em parte desta entrega (não é um erro do seu código); o professor vai revisar.")
    lines += row.notes
    tests = []
    for number, (gid, part) in enumerate(row.parts.items(), 1):
        for index, test in enumerate(part.tests, 1):
            output = f"[{STATUS_WORDS[test.status]}] {test.message}" if test.message else ""
            tests.append({"name": f"{gid}: {test.title or test.name}", "number": f"{number}.{index}",
                          "score": test.score, "max_score": test.max_score,
                          "status": "passed" if test.status == Status.PASSED else "failed",
                          "output": output, "tags": list(test.diagnosis), "visibility": "visible"})
    return {"score": row.score, "execution_time": round(seconds, 1), "output": "\n".join(lines),
            "output_format": "text", "visibility": "visible", "stdout_visibility": "hidden",
            "extra_data": {"needs_review": row.needs_review, "isolation": isolation, "digest": row.digest,
                           "diagnosis": diagnoses(row)},
            "tests": tests}
