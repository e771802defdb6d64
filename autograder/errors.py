"""Every error the grader tells apart, in one place: the student's, the grader's own, and a check's.

A hidden test sees the student's (StudentError and its kin) when a call into
the student's code fails, and raises Failure (checks.fail) when a property
does not hold; anything else a test raises is the grader's failure, never a
student's zero (runner.classify).
"""


class StudentError(Exception):
    """The student's code raised an exception."""


class StudentTimeout(Exception):
    """The student's code did not answer in time."""


class StudentCrash(Exception):
    """The student's process died (os._exit, a signal, a limit)."""


class Failure(AssertionError):
    """A property that does not hold, and the mistakes that explain it (codes of the assignment's vocabulary)."""

    def __init__(self, message: str, diagnosis: "tuple[str, ...]" = ()):
        super().__init__(message)
        self.diagnosis = tuple(dict.fromkeys(diagnosis))


class SandboxFailure(Exception):
    """The grader's own machinery failed (zygote, leader): never the student's fault."""


class Refused(Exception):
    """A path that is not a submission the grader may read; the message says why, in Portuguese."""


class GradebookError(Exception):
    """The nbgrader gradebook cannot be read or written as asked."""


class PathError(Exception):
    """A path given on the command line that does not exist or cannot be read (for the instructor, in English)."""
