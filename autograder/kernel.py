"""The hidden tests inside a Jupyter kernel, for `nbgrader autograde`.

Each graded cell of the source notebook ends with a hidden region that calls
`grade(grade_id, globals())`: the same test functions as the command line,
with the student's functions called right here instead of in a sandbox. The
cell's last value is the part's score, which nbgrader reads as partial
credit. This path is NOT isolated: it runs in the student's own kernel, where
earlier cells could patch it. `python -m autograder grade` is the isolated path.
"""
import contextlib
import copy
import sys
from pathlib import Path
from typing import Any

from autograder import assignment as assignments
from autograder.errors import StudentError
from autograder.inside import child, values, wire
from autograder.results import test_lines, test_result
from autograder.runner import devices, new_seed, run_part


class KernelProcess:
    """Stands in for session.PartProcess: runs the same probes in this process."""

    def __init__(self, namespace):
        self.namespace = namespace

    def request(self, op, **args):
        try:
            # Copies, as the sandbox's pipe makes: a student who edits X in place edits only theirs.
            described = child.probes()[op](self.namespace, **copy.deepcopy(args))
        except Exception as exc:
            raise StudentError(child.student_error(exc)) from None
        # The same plain-data round trip as from the sandbox, so the checks see the same types.
        return values.restore(wire.decode(wire.encode(described)))


def this_assignment(cwd: "str | Path | None" = None) -> assignments.Assignment:
    """The assignment of the notebook nbgrader runs: its folder is named after it, somewhere below
    the course (the folder of nbgrader_config.py), whose solutions/<name>/ describes it."""
    cwd = Path(cwd or Path.cwd()).resolve()
    course = next((d for d in [cwd, *cwd.parents] if (d / "nbgrader_config.py").is_file()), None)
    if course is None:
        raise LookupError(f"{cwd}: no nbgrader_config.py in this folder or above it")
    return assignments.load(course / "solutions" / cwd.name)


def grade(grade_id: str, namespace: "dict[str, Any]", assignment: "assignments.Assignment | None" = None) -> float:
    """Run the part's hidden tests, print what failed, return the score."""
    import torch

    assignment = assignment or this_assignment()
    on = devices("auto", cuda=torch.cuda.is_available())
    # nbgrader scores a cell that writes to stderr as 0: whatever the student's
    # code prints there (warnings included) goes to stdout instead.
    with contextlib.redirect_stderr(sys.stdout):
        outcomes = run_part(assignment, grade_id, KernelProcess(namespace), on, new_seed())
    tests = [test_result(t.name, t.points, outcomes[(grade_id, t.name)], t.title)
             for t in assignment.tests[grade_id]]
    print("\n".join(test_lines(tests)))
    return sum(t.score for t in tests)
