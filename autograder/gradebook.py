"""Write the autograder's scores into an nbgrader gradebook.

Then `nbgrader export` and the formgrader show them without running
`nbgrader autograde`. Each part's score becomes the auto score of the part's
graded cell (test_<grade_id>) in notebook `rnn_forward`; a submission that
could not be graded at all gets 0 on every cell.
"""
from nbgrader.api import Gradebook, MissingEntry

from autograder.parts import ASSIGNMENT, PARTS


class GradebookError(Exception):
    pass


def write_scores(report, db_path):
    """Record every row of `report` in the gradebook at `db_path`; returns how many."""
    with Gradebook(f"sqlite:///{db_path}") as gb:
        try:
            gb.find_assignment(ASSIGNMENT)
            for part in PARTS:
                gb.find_grade_cell(part.test_grade_id, ASSIGNMENT, ASSIGNMENT)
        except MissingEntry:
            raise GradebookError(
                f"{db_path}: no assignment {ASSIGNMENT} with its graded cells; "
                f"run `nbgrader generate_assignment {ASSIGNMENT}` in the course first"
            ) from None
        for row in report["submissions"]:
            gb.update_or_create_student(row["student"])
            try:
                gb.find_submission(ASSIGNMENT, row["student"])
            except MissingEntry:
                gb.add_submission(ASSIGNMENT, row["student"])
            for part in PARTS:
                grade = gb.find_grade(part.test_grade_id, ASSIGNMENT, ASSIGNMENT, row["student"])
                grade.auto_score = row["parts"][part.grade_id]["score"]
            gb.db.commit()
    return len(report["submissions"])
