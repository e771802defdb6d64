# nbgrader configuration: the repository root is the course directory.
c = get_config()  # noqa: F821 (injected by nbgrader)

c.CourseDirectory.course_id = "rnn-course"
# Python files of the repository are not part of any assignment.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".hypothesis"]

# A full run of the notebook takes a few seconds; a student's loop that never
# ends costs one minute per cell, not nbgrader's silent default.
c.Execute.timeout = 60
