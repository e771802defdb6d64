"""Every file format a report can be written in: one function each, in one registry.

A writer takes a Report and a path and writes it. The command line builds a
flag per writer (`grade --csv FILE ...`, `report REPORT.json --junit FILE ...`)
from WRITERS, so a new format is one function and one entry here.
"""
import csv
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.render import clean, diagnoses
from autograder.results import STATUS_WORDS, Report, Status, SubmissionResult


def write_json(report: Report, path: "str | Path") -> None:
    with open(path, "w", encoding="utf-8", errors="backslashreplace") as f:
        json.dump(report.to_dict(), f, ensure_ascii=False, indent=1)


# What a spreadsheet takes for the start of a formula (OWASP's list, "CSV Injection"; the full-width forms too,
# which some spreadsheets read as their ASCII twins). Tab, CR and LF are on OWASP's list: clean() has made them
# spaces, and the leading spaces are looked past.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def spreadsheet_text(value: object) -> str:
    """A text cell of report.csv: a student's text cleaned as everywhere else (render.clean), then, when a
    spreadsheet would take it for a formula, neutralised as OWASP recommends: a single quote before it.

    Only text goes through here: scores stay numbers (never negative, and a number is no formula)."""
    text = clean(value)
    return "'" + text if text.lstrip().startswith(FORMULA_STARTS) else text


def write_csv(report: Report, path: "str | Path", extra: "dict[str, list[float | None]] | None" = None) -> None:
    """One row per submission. Text cells are quoted (so that a spreadsheet splitting on ";", as in
    pt-BR locales, never splits one) and neutralised (spreadsheet_text); scores are bare numbers.
    `extra`: more columns of numbers, {name: a value per row, None for an empty cell}, after the others."""
    extra = extra or {}
    grade_ids = list(report.submissions[0].parts) if report.submissions else []
    with open(path, "w", newline="", encoding="utf-8", errors="backslashreplace") as f:
        writer = csv.writer(f, quoting=csv.QUOTE_NONNUMERIC)
        writer.writerow(["student", "notebook", "score", "max_score", *grade_ids, "needs_review", "error",
                         "diagnosis", "flags", *extra])
        for index, row in enumerate(report.submissions):
            text = [row.student, row.notebook]
            after = ["yes" if row.needs_review else "", row.error or "", " ".join(diagnoses(row)), "; ".join(row.flags)]
            writer.writerow([*map(spreadsheet_text, text), float(row.score), float(row.max_score),
                             *[float(row.parts[gid].score) for gid in grade_ids], *map(spreadsheet_text, after),
                             *["" if (value := values[index]) is None else float(value) for values in extra.values()]])


def write_html(report: Report, path: "str | Path", gradebook: "Path | None" = None, similarity: Any = None) -> None:
    """The class report: path/index.html, its figures inline, the same figures as PNG and the scores as CSV
    (report.csv) beside it; with nbgrader's `gradebook`, the cells graded by hand and the full totals too;
    with a `similarity` (similarity.Similarity), its section."""
    from autograder.class_report import grade_ids, write_class_report  # matplotlib and jinja2, only when asked

    hand = None
    if gradebook is not None:
        from autograder.gradebook import hand_grades

        # (the autograder's graded cells are test_<grade_id>: assignment.Part.test_grade_id)
        hand = hand_grades(gradebook, report.assignment, {f"test_{gid}" for gid in grade_ids(report)})
    write_class_report(report, path, hand, similarity)


def write_junit(report: Report, path: "str | Path") -> None:
    """JUnit XML, which CI servers and many LMS importers read: a suite per submission, a case per hidden test."""
    suites = ET.Element("testsuites", name=report.assignment)
    for row in report.submissions:
        tests = [(gid, t) for gid, part in row.parts.items() for t in part.tests]
        student = clean(row.student)
        suite = ET.SubElement(suites, "testsuite", name=student, tests=str(len(tests)),
                              failures=str(sum(t.status == Status.FAILED for _, t in tests)),
                              errors=str(sum(t.status not in (Status.PASSED, Status.FAILED) for _, t in tests)))
        if row.error:
            ET.SubElement(ET.SubElement(suite, "testcase", classname=student, name="notebook"), "error",
                          message=clean(row.error, keep="\n\t"))
        for gid, test in tests:
            case = ET.SubElement(suite, "testcase", classname=f"{student}.{gid}", name=test.name)
            ET.SubElement(case, "properties").extend([ET.Element("property", name="score", value=f"{test.score:g}"),
                                                      ET.Element("property", name="max_score",
                                                                 value=f"{test.max_score:g}")])
            if test.status == Status.FAILED:
                ET.SubElement(case, "failure", message=clean(test.message, keep="\n\t"), type=" ".join(test.diagnosis))
            elif test.status != Status.PASSED:
                ET.SubElement(case, "error", message=clean(test.message, keep="\n\t"), type=test.status.value)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)


# What Gradescope shows a student is Portuguese: a number with a decimal comma (in the grader's own words: a
# student's error quotes their code as they wrote it), and no path of the machine that graded (one that an
# error names: /opt/..., /tmp/...), only the file's name.
DECIMAL = re.compile(r"(?<![\w.,])(-?\d+)\.(\d+(?:e[+-]?\d+)?)(?![\w.])")
PATH = re.compile(r"(?<![\w.:/~])(?:/[^\s/'\"`:;,()\[\]{}<>]+){2,}")


def decimal(value: float) -> str:
    """A number as a Brazilian reader writes it: 10,5."""
    return f"{value:g}".replace(".", ",")


def student_text(text: str, numbers: bool = True) -> str:
    """`text` as Gradescope shows it to a student: paths cut to their file's name ("…/name") and, with
    `numbers`, decimal numbers written with a comma."""
    text = PATH.sub(lambda found: "…/" + found.group(0).rsplit("/", 1)[1], text)
    return DECIMAL.sub(r"\1,\2", text) if numbers else text


def gradescope(row: SubmissionResult, isolation: str, seconds: float, manual: float = 0.0) -> "dict[str, Any]":
    """One submission as Gradescope's results.json: a test per hidden test, messages visible to the student.

    Messages never hold hidden inputs (checks.py), so every test is visible; what
    the grader itself failed on is said to the student and flagged for the
    instructor (extra_data.needs_review), never silently a zero. Everything a
    student reads is Portuguese (student_text); how the submission was isolated
    and the diagnosis codes are in extra_data, which Gradescope stores and does
    not show. `manual`: the points graded by hand, outside this score (the
    reflection questions): the output says so, and where they are graded.
    """
    lines = [f"Nota do corretor automático: {decimal(row.score)} de {decimal(row.max_score)} pontos."]
    if manual:
        lines.append(f"As perguntas de reflexão ({decimal(manual)} pontos) não entram nesta nota: o professor as "
                     f"corrige à mão, fora do Gradescope, e soma os pontos depois ({decimal(row.max_score)} + "
                     f"{decimal(manual)} = {decimal(row.max_score + manual)} pontos na tarefa).")
    if row.error:
        lines.append(f"A entrega não pôde ser corrigida: {row.error}")
    if row.needs_review:
        lines.append("O corretor falhou em parte desta entrega (não é um erro do seu código); o professor vai revisar.")
    lines += [student_text(note) for note in row.notes]  # the grader's words (a file's name keeps its dots)
    tests = []
    for number, (gid, part) in enumerate(row.parts.items(), 1):
        for index, test in enumerate(part.tests, 1):
            message = student_text(test.message, numbers=test.status == Status.FAILED)  # a check's words
            tests.append({"name": student_text(f"{gid}: {test.title or test.name}"), "number": f"{number}.{index}",
                          "score": test.score, "max_score": test.max_score,
                          "status": "passed" if test.status == Status.PASSED else "failed",
                          "output": f"[{STATUS_WORDS[test.status]}] {message}" if message else "",
                          "visibility": "visible", "extra_data": {"diagnosis": list(test.diagnosis)}})
    return {"score": row.score, "execution_time": round(seconds, 1),
            "output": student_text("\n".join(lines), numbers=False),
            "output_format": "text", "visibility": "visible", "stdout_visibility": "hidden",
            "extra_data": {"needs_review": row.needs_review, "isolation": isolation, "digest": row.digest,
                           "diagnosis": diagnoses(row)},
            "tests": tests}


def write_gradescope(report: Report, path: "str | Path") -> None:
    """Gradescope's results.json, for a report of one submission (what run_autograder grades)."""
    if len(report.submissions) != 1:
        raise ValueError(f"Gradescope's results.json holds one submission; this report has {len(report.submissions)}")
    row = report.submissions[0]
    seconds = (row.timing or {}).get("wall", 0.0)
    results = gradescope(row, report.isolation, seconds)
    Path(path).write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8",
                          errors="backslashreplace")


@dataclass(frozen=True)
class Writer:
    """One format: its flag (--<name>), what it writes to, and the function that writes it."""

    name: str
    metavar: str  # FILE or DIR
    help: str
    write: Callable[..., None]  # (report, path), and gradebook= where reads_gradebook
    reads_gradebook: bool = False  # takes nbgrader's gradebook (cli: --gradebook), to show what it adds


WRITERS = {writer.name: writer for writer in [
    Writer("json", "FILE", "the full report, which `report` and other tools read back", write_json),
    Writer("csv", "FILE", "one row of scores per student, for a spreadsheet", write_csv),
    Writer("html", "DIR", "the class report: a page to open in a browser, its figures as PNG and report.csv",
           write_html, reads_gradebook=True),
    Writer("junit", "FILE", "JUnit XML: a test suite per submission, a test case per hidden test", write_junit),
    Writer("gradescope", "FILE", "Gradescope's results.json (a run of one submission)", write_gradescope),
]}
