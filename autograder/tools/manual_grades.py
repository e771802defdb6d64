"""Manual grades from a CSV file, saved as the formgrader saves them: the scripted alternative to grading
the written answers in the formgrader.

    python -m autograder.tools.manual_grades GRADES.csv [--assignment DIR] [--gradebook DB]
    python -m autograder.tools.manual_grades --check      exits 1 while a submission awaits manual grading

GRADES.csv has a header and a row per graded cell: `student,cell,score[,comment]`, where cell is the
cell's grade_id (e.g. reflection_recurrence) and score its points. Each row sets that cell's manual score
(and comment) and clears its "needs manual grade", as the formgrader's Save does; then the command says how
many submissions still await manual grading. Nothing is saved unless every row is valid.
"""
import argparse
import csv
import sys
from pathlib import Path

from autograder import assignment as assignments
from autograder.errors import GradebookError
from autograder.gradebook import awaiting_manual_grading, check_gradebook, default_gradebook, manual_grading_note


def save(db: Path, assignment: str, rows: "list[dict[str, str]]") -> None:
    """Set each row's manual score and comment in the gradebook `db`, all or none; ValueError says which row
    is wrong (a student, cell or comment unknown, a score that is no number between 0 and the cell's points)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{Path(db).resolve()}") as gb:
        for line, row in enumerate(rows, start=2):
            student, cell = row.get("student") or "", row.get("cell") or ""
            try:
                grade = gb.find_grade(cell, assignment, assignment, student)
            except MissingEntry:
                gb.db.rollback()
                raise ValueError(f"line {line}: no graded cell {cell!r} of {student!r} in {db}") from None
            try:
                score = float(row.get("score") or "")
            except ValueError:
                score = -1.0
            if not 0 <= score <= grade.max_score:
                gb.db.rollback()
                raise ValueError(f"line {line}: score {row.get('score')!r} is not a number from 0 to "
                                 f"{grade.max_score:g} (the points of {cell})")
            grade.manual_score, grade.needs_manual_grade = score, False
            if row.get("comment"):
                gb.find_comment(cell, assignment, assignment, student).manual_comment = row["comment"]
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
        with open(args.grades, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        save(db, assignment.name, rows)
    except (OSError, ValueError, LookupError, GradebookError) as exc:
        parser.exit(1, f"{parser.prog}: error: {exc}\n")
    print(f"saved {len(rows)} manual grades in {db}; {manual_grading_note(db, assignment)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
