"""What an assignment's author imports: the one module hidden tests, assignment.py and corpus.py may use.

    from autograder.authoring import Assignment, Part, points, check_close, fail, StudentError, ...

- describing an assignment: Assignment, Part, points (the points beside each test);
- the generic checks and the one tolerance helper (checks.py), and fail (a
  property that does not hold, with the mistakes that explain it);
- the values a student's code returns, as the grader receives them
  (TensorValue, SequenceValue; text to show one safely);
- the errors a call into the student's code raises (StudentError, ...);
- the notebook transforms a corpus describes submissions with.

Everything else of the engine may change without notice to authors;
tests/engine/test_engine.py fails when an assignment imports anything else.
"""
from autograder.assignment import Assignment, Part, points
from autograder.checks import (
    as_array,
    check_close,
    check_dtype,
    check_shape,
    check_standard_normal,
    check_type,
    entry,
    fail,
    is_float64,
    tolerance,
)
from autograder.errors import Failure, StudentCrash, StudentError, StudentTimeout
from autograder.inside.values import SequenceValue, TensorValue, text, type_name
from autograder.tools.examples import (
    add_scratch_cells,
    delete_cell,
    insert_before,
    paste_into_fresh_notebook,
    strip_metadata,
)

__all__ = [
    "Assignment", "Part", "points",
    "as_array", "check_close", "check_dtype", "check_shape", "check_standard_normal", "check_type", "entry",
    "fail", "is_float64", "tolerance",
    "Failure", "StudentCrash", "StudentError", "StudentTimeout",
    "SequenceValue", "TensorValue", "text", "type_name",
    "add_scratch_cells", "delete_cell", "insert_before", "paste_into_fresh_notebook", "strip_metadata",
]
