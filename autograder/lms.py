"""Grades into the LMS: nbgrader export plugins that fill Moodle's or Canvas's own gradebook file.

    nbgrader export --exporter=autograder.lms.CanvasExport --CanvasExport.roster=canvas.csv \
        --CanvasExport.match="SIS Login ID" --to=canvas_import.csv --assignment=ASSIGNMENT

The instructor exports the LMS's gradebook (or roster) as CSV; the plugin keeps
every row and column of it as it was, and fills the assignment's column (an
existing one whose name starts with the assignment's, or a new one named after
it) with each student's total from nbgrader's gradebook: the autograded and the
hand-graded cells together, less any late penalty. The student of a row is the
one whose nbgrader id (or e-mail, `by="email"`) is in the `match` column. A
roster row with no submission gets an empty cell; a submission no roster row
matches is listed in the log, and the export then fails rather than drop it
(`allow_unmatched=True` writes the file anyway, still listing them).

Formats (the README cites the pages): Moodle's "Import grades from CSV" reads a
header row, a column that identifies the user (mapped to e-mail, ID number or
username on import) and one column per grade item; Canvas's gradebook import
reads its own export's columns (Student, ID, SIS User ID, SIS Login ID,
Section) and a column per assignment, whose "Points Possible" row (the first
after the header, in an export) holds the assignment's points.
"""
import csv
import io
from pathlib import Path
from typing import Any

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins.export import ExportPlugin
from traitlets import Bool, Enum, Unicode


class LmsError(ValueError):
    """A roster the plugin cannot fill: its file and the problem."""


class LmsExport(ExportPlugin):
    """The LMS's own CSV, the assignment's column filled from nbgrader's gradebook."""

    roster = Unicode("", help="the LMS's exported gradebook or roster (CSV) whose rows are filled").tag(config=True)
    match = Unicode("", help="the roster's column that identifies each student").tag(config=True)
    by = Enum(["id", "email"], default_value="id",
              help="what of nbgrader's student the match column holds: the id or the e-mail").tag(config=True)
    column = Unicode("", help="the assignment's column (default: the first whose name starts with the "
                              "assignment's, else a new one named after it)").tag(config=True)
    allow_unmatched = Bool(False, help="write the file even if a submission has no roster row (they are "
                                       "listed either way)").tag(config=True)
    default_match = ""  # per LMS
    default_to = "lms_import.csv"

    def export(self, gradebook: Gradebook) -> None:
        if not self.roster:
            raise LmsError(f"{type(self).__name__}.roster: name the CSV exported from the LMS")
        dest = Path(self.to or self.default_to)
        names = [str(a) for a in self.assignment] or [a.name for a in gradebook.assignments]
        if len(names) != 1:
            raise LmsError(f"one assignment per export (a column of the LMS); give --assignment (found: "
                           f"{', '.join(names) or 'none'})")
        try:
            max_score = gradebook.find_assignment(names[0]).max_score
        except MissingEntry:
            raise LmsError(f"no assignment {names[0]!r} in nbgrader's gradebook (it has: "
                           f"{', '.join(a.name for a in gradebook.assignments) or 'none'})") from None
        rows, unmatched, kept = fill(Path(self.roster), totals(gradebook, names[0], self.by), names[0],
                               max_score, self.match or self.default_match,
                               self.column, self.points_row, casefold=self.by == "email")
        for student in unmatched:
            self.log.warning("no row of %s for the submission of %s", self.roster, student)
        for line in kept:
            self.log.warning("%s: %s", self.roster, line)
        if unmatched and not self.allow_unmatched:
            raise LmsError(f"{self.roster}: {len(unmatched)} submission(s) with no roster row: "
                           f"{', '.join(unmatched)}; add them to the LMS, or pass allow_unmatched=True")
        dest.write_text(rows, encoding="utf-8", newline="")
        self.log.info("wrote %s (%s)", dest, names[0])

    def points_row(self, row: "dict[str, str]") -> bool:
        """Whether `row` is not a student's but the LMS's own (Canvas's "Points Possible")."""
        return False


class MoodleExport(LmsExport):
    """For Moodle's "Import grades from CSV file" (Grades > Import > CSV file): map the match column to the
    user field it holds, and the assignment's column to the grade item."""

    default_match = "Email address"
    default_to = "moodle_import.csv"


class CanvasExport(LmsExport):
    """For Canvas's gradebook import (Grades > Import): the export's own columns kept, Points Possible too."""

    default_match = "SIS Login ID"
    default_to = "canvas_import.csv"

    def points_row(self, row: "dict[str, str]") -> bool:
        return (row.get("Student") or "").strip().casefold() == "points possible"


def totals(gradebook: Gradebook, assignment: str, by: str) -> "dict[str, float]":
    """{nbgrader id or e-mail: total} of every submission: autograded plus hand-graded, less late penalty."""
    found: "dict[str, float]" = {}
    for student in gradebook.students:
        try:
            submission = gradebook.find_submission(assignment, student.id)
        except MissingEntry:
            continue
        key = student.id if by == "id" else (student.email or "").strip().lower()
        if not key:
            raise LmsError(f"student {student.id} has no e-mail in nbgrader's gradebook: match by id instead")
        if key in found:
            raise LmsError(f"two students of nbgrader's gradebook have the e-mail {key}: match by id instead")
        found[key] = float(submission.score) - float(submission.late_submission_penalty or 0)
    return found


def fill(roster: Path, scores: "dict[str, float]", assignment: str, max_score: float, match: str, column: str,
         points_row: Any, casefold: bool = False) -> "tuple[str, list[str], list[str]]":
    """(the roster as CSV with the assignment's column filled, the students of `scores` no row matched, a line
    for each grade the roster had and kept: a student without a submission); `casefold`: the match column
    holds e-mails, which match whatever their case."""
    try:
        text = roster.read_bytes().decode("utf-8-sig")  # (a spreadsheet's BOM)
    except OSError as exc:
        raise LmsError(f"{roster}: cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise LmsError(f"{roster}: not UTF-8 text; export the CSV from the LMS as UTF-8") from None
    head = text.split("\n", 1)[0]
    sniffed = max(",;\t", key=head.count)  # the header's most frequent of the three (",": a tie, or none)

    class Dialect(csv.excel):  # only the delimiter is the file's: quotes are always doubled, as spreadsheets do
        delimiter = sniffed

    try:
        return _fill(roster, text, Dialect, scores, assignment, max_score, match, column, points_row, casefold)
    except csv.Error as exc:
        raise LmsError(f"{roster}: not a CSV file this export can read ({exc})") from None


def _fill(roster: Path, text: str, dialect: Any, scores: "dict[str, float]", assignment: str, max_score: float,
          match: str, column: str, points_row: Any, casefold: bool) -> "tuple[str, list[str], list[str]]":
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = list(reader.fieldnames or [])
    twice = sorted({h for h in header if header.count(h) > 1})
    if twice:
        raise LmsError(f"{roster}: the column(s) {', '.join(map(repr, twice))} appear twice in the header")
    if match not in header:
        raise LmsError(f"{roster}: no column {match!r} to match students by (its columns: {', '.join(header)})")
    if not column:
        named = [h for h in header if h == assignment or h.startswith(f"{assignment} (")]
        if len(named) > 1:
            raise LmsError(f"{roster}: {len(named)} columns are named after {assignment!r} "
                           f"({', '.join(named)}): say which with column=")
        column = named[0] if named else assignment
    if column not in header:
        header.append(column)
    out = io.StringIO()
    writer = csv.DictWriter(out, header, dialect=dialect, lineterminator="\r\n", extrasaction="ignore")
    writer.writeheader()
    matched: "set[str]" = set()
    kept: "list[str]" = []
    for row in reader:
        line = reader.line_num  # (the file's line: a quoted cell may span several)
        if None in row:
            raise LmsError(f"{roster}, line {line}: more cells than the header has columns")
        if points_row(row):
            given = (row.get(column) or "").strip()
            try:
                points = float(given) if given else None
            except ValueError:
                points = None
            if points is not None and points != max_score:
                raise LmsError(f"{roster}, line {line}: the LMS gives {column!r} {given} points, nbgrader "
                               f"{max_score:g}: make them equal in the LMS before importing")
            row[column] = given or f"{max_score:g}"
        elif not (row.get(match) or "").strip() and (row.get(column) or "").strip():
            pass  # a row of the LMS's own, not a student's (Canvas's "Manual Posting"): kept as it is
        else:
            cell = (row.get(match) or "").strip()
            cell = cell.lower() if casefold else cell
            key = cell if cell in scores else None
            if key is not None and key in matched:
                raise LmsError(f"{roster}, line {line}: {row[match]!r} is on two rows")
            if key is not None:
                matched.add(key)
                row[column] = f"{scores[key]:g}"
            elif (row.get(column) or "").strip():
                kept.append(f"line {line}: {row[match]!r} has no submission; kept the grade the LMS has, "
                            f"{row[column].strip()}")
            else:
                row[column] = ""
        writer.writerow(row)
    return out.getvalue(), sorted(set(scores) - matched), kept
