"""Write the autograder's scores into an nbgrader gradebook.

Then `nbgrader export` and the formgrader show them without running
`nbgrader autograde`. Each part's score becomes the auto score of the part's
graded cell (test_<grade_id>) in the assignment's notebook; a submission that
could not be graded at all gets 0 on every cell.
"""
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from autograder.assignment import Assignment
from autograder.results import Report


class GradebookError(Exception):
    pass


def write_scores(report: Report, assignment: Assignment, db_path: "str | Path") -> int:
    """Record every row of `report` in the gradebook at `db_path`; returns how many."""
    name = assignment.name
    with Gradebook(f"sqlite:///{db_path}") as gb:
        try:
            gb.find_assignment(name)
            for part in assignment.parts:
                gb.find_grade_cell(part.test_grade_id, name, name)
        except MissingEntry:
            raise GradebookError(
                f"{db_path}: no assignment {name} with its graded cells; "
                f"run `nbgrader generate_assignment {name}` in the course first"
            ) from None
        for row in report.submissions:
            gb.update_or_create_student(row.student)
            try:
                gb.find_submission(name, row.student)
            except MissingEntry:
                gb.add_submission(name, row.student)
            for part in assignment.parts:
                grade = gb.find_grade(part.test_grade_id, name, name, row.student)
                grade.auto_score = row.parts[part.grade_id].score
            gb.db.commit()
    return len(report.submissions)
