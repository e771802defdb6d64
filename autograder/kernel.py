"""The hidden tests inside a Jupyter kernel, for `nbgrader autograde`.

Each graded cell of the source notebook ends with a hidden region that calls
`grade(grade_id, globals())`: the same test functions as the pytest
autograder (autograder/hidden/), with the student's functions called right
here instead of in a sandbox. The cell's last value is the part's score, which
nbgrader reads as partial credit. This path is NOT isolated: it runs in the
student's own kernel, where earlier cells could patch it. `python -m
autograder grade` is the isolated path.
"""
import contextlib
import copy
import sys

from autograder import child, values, wire
from autograder.parts import PARTS_BY_ID
from autograder.report import test_result
from autograder.runner import new_seed, run_part
from autograder.sandbox import StudentError


class KernelProcess:
    """Stands in for sandbox.PartProcess: runs the same probes in this process."""

    def __init__(self, namespace):
        self.namespace = namespace

    def request(self, op, **args):
        try:
            # Copies, as the sandbox's pipe makes: a student who edits X in place edits only theirs.
            described = child.PROBES[op](self.namespace, **copy.deepcopy(args))
        except Exception as exc:
            raise StudentError(child.student_error(exc)) from None
        # The same plain-data round trip as from the sandbox, so the checks see the same types.
        return values.restore(wire.decode(wire.encode(described)))


def grade(grade_id, namespace):
    """Run the part's hidden tests, print what failed, return the score."""
    import torch

    devices = ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]
    # nbgrader scores a cell that writes to stderr as 0: whatever the student's
    # code prints there (warnings included) goes to stdout instead.
    with contextlib.redirect_stderr(sys.stdout):
        outcomes = run_part(grade_id, KernelProcess(namespace), devices, new_seed())
    tests = [test_result(name, points, outcomes[(grade_id, name)]) for name, points in PARTS_BY_ID[grade_id].tests.items()]
    for test in tests:
        mark = "ok" if test["status"] == "passed" else test["status"]
        print(f"[{mark}] {test['name']} ({test['score']:g}/{test['max_score']:g}) {test['message']}".rstrip())
    return sum(t["score"] for t in tests)
