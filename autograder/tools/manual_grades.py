"""Manual grades from a CSV file, saved as the formgrader saves them: the scripted alternative to grading
the written answers in the formgrader.

    python -m autograder.tools.manual_grades GRADES.csv [--assignment DIR] [--gradebook DB]
    python -m autograder.tools.manual_grades --check      exits 1 while a submission awaits manual grading

GRADES.csv has a header and a row per graded cell: `student,cell,score[,comment]` (or `;`-separated, as a
spreadsheet in Portuguese exports it; "0,5" reads as 0.5), where cell is the cell's grade_id (e.g.
reflection_recurrence) and score its points; a cell the autograder scores is refused. Each row sets that
cell's manual score (and comment) and clears its "needs manual grade", as the formgrader's Save does; then
the command says how many submissions still await manual grading. Nothing is saved unless every row is valid.
"""
import argparse
import csv
import sys
from pathlib import Path

from autograder import assignment as assignments
from autograder.assignment import Assignment
from autograder.errors import GradebookError
from autograder.gradebook import awaiting_manual_grading, check_gradebook, default_gradebook, manual_grading_note


def read_rows(path: Path) -> "list[tuple[int, dict[str, str]]]":
    """(line, row) of each grade in the CSV file `path`: comma- or semicolon-separated (a spreadsheet's
    export in Portuguese uses ';'), UTF-8 with or without a byte-order mark. ValueError names what is wrong."""
    text = path.read_text(encoding="utf-8-sig")
    try:
        dialect: "type[csv.Dialect] | csv.Dialect" = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(text.splitlines(keepends=True), dialect=dialect)
    missing = {"student", "cell", "score"} - set(reader.fieldnames or ())
    if missing:
        raise ValueError(f"the header lacks {', '.join(sorted(missing))} (it must be student,cell,score[,comment])")
    return [(reader.line_num, row) for row in reader]


def save(db: Path, assignment: Assignment, rows: "list[tuple[int, dict[str, str]]]") -> None:
    """Set each row's manual score and comment in the gradebook `db`, all or none; ValueError says which line
    is wrong (a student or cell unknown, a cell the grader scores, a cell given twice, a score that is no
    number between 0 and the cell's points)."""
    from nbgrader.api import Gradebook, MissingEntry

    autograded = {part.test_grade_id for part in assignment.parts}
    seen: "dict[tuple[str, str], int]" = {}
    with Gradebook(f"sqlite:///{Path(db).resolve()}") as gb:
        try:
            for line, row in rows:
                student, cell = (row.get("student") or "").strip(), (row.get("cell") or "").strip()
                if cell in autograded:
                    raise ValueError(f"line {line}: {cell} is scored by the autograder, not by hand")
                if (student, cell) in seen:
                    raise ValueError(f"line {line}: {cell} of {student} again (first on line {seen[student, cell]})")
                seen[student, cell] = line
                try:
                    grade = gb.find_grade(cell, assignment.name, assignment.name, student)
                    comment = gb.find_comment(cell, assignment.name, assignment.name, student)
                except MissingEntry:
                    raise ValueError(f"line {line}: no graded cell {cell!r} of student {student!r} in {db}") from None
                written = (row.get("score") or "").strip()
                try:
                    score = float(written.replace(",", ".", 1) if written.count(",") == 1 else written)
                except ValueError:
                    score = float("nan")
                if not 0 <= score <= grade.max_score:
                    raise ValueError(f"line {line}: score {written!r} is not a number from 0 to "
                                     f"{grade.max_score:g} (the points of {cell})")
                grade.manual_score, grade.needs_manual_grade = score, False
                if row.get("comment"):
                    comment.manual_comment = row["comment"]
        except ValueError:
            gb.db.rollback()
            raise
        gb.db.commit()


def main(argv: "list[str] | None" = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.tools.manual_grades",
                                     description="Save manual grades (student,cell,score[,comment]) in the "
                                                 "gradebook, as the formgrader does.")
    parser.add_argument("grades", type=Path, nargs="?", metavar="GRADES.csv")
    parser.add_argument("--check", action="store_true",
                        help="save nothing; exit 1 while a submission awaits manual grading (before feedback)")
    parser.add_argument("--assignment", type=Path, metavar="DIR",
                        help="the assignment's folder, <course>/solutions/<name> (default: the only one under .)")
    parser.add_argument("--gradebook", type=Path, metavar="DB", help="(default: the course's)")
    args = parser.parse_args(argv)
    try:
        assignment = assignments.load(args.assignment) if args.assignment else assignments.find()
        db = args.gradebook or default_gradebook(assignment)
        check_gradebook(db, assignment)
        if args.check or args.grades is None:
            waiting = awaiting_manual_grading(db, assignment.name)
            print(manual_grading_note(db, assignment))
            return 1 if waiting else 0
        try:
            rows = read_rows(args.grades)
            save(db, assignment, rows)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"{args.grades}: {exc}") from None
    except (OSError, ValueError, LookupError, GradebookError) as exc:
        parser.exit(1, f"{parser.prog}: error: {exc}; nothing was saved\n")
    print(f"saved {len(rows)} manual grades in {db}; {manual_grading_note(db, assignment)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
