# nbgrader configuration: the repository root is the course directory.
c = get_config()  # noqa: F821 (injected by nbgrader)

c.CourseDirectory.course_id = "rnn-course"

# Python files of the repository are not part of any assignment.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".hypothesis"]

# A graded cell runs its part's hidden tests in a few seconds; a student's loop
# that never ends costs two minutes for that cell, then grading goes on.
c.Execute.timeout = 120

# The graded cells run the hidden tests inside the student's kernel
# (autograder/kernel.py); they print to stdout only, but a torch or NumPy
# warning from student code can still reach stderr, which nbgrader would score
# as 0. Drop such warnings before grading.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"(?i)warn"

# Feedback shows results and messages, never the hidden tests' code, nor the
# rubrics the formgrader shows (below).
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    Execute,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from autograder.nbgrader_preprocessors import (  # noqa: E402
    ClearHiddenTests,
    InsertRubrics,
    OverwriteCells,
    RemoveRubrics,
)

c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, RemoveRubrics, CSSHTMLHeaderPreprocessor]

# nbgrader's own steps, with OverwriteCells that does not warn, for every
# student, that a released graded cell lacks its hidden tests (it is meant to).
c.Autograde.sanitize_preprocessors = [ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells,
                                      CheckCellMetadata]
# nbgrader's own steps, and then InsertRubrics: under each reflection answer of
# autograded/, its rubric from source/ (never released), where the formgrader's
# grader works. (python -m autograder grade --gradebook does the same.)
c.Autograde.autograde_preprocessors = [Execute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                       SaveAutoGrades, AssignLatePenalties, InsertRubrics, CheckCellMetadata]

# ipykernel warns, for every notebook nbgrader runs, that its local TCP channel
# is not encrypted; that is expected here and would drown real warnings.
c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR"]

# What replaces a solution in the student's version, in the notebook's language.
c.ClearSolutions.code_stub = {"python": "# SEU CÓDIGO AQUI\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "SUA RESPOSTA AQUI"

# The exchange, where instructor and students hand notebooks to each other: NBGRADER_EXCHANGE, else
# /srv/nbgrader/exchange (nbgrader's own default is /usr/local/share/nbgrader/exchange). Students run nbgrader
# in their own folders, where this file is not read: on a shared server, write the same root in
# /etc/jupyter/nbgrader_config.py, which nbgrader reads for every user (`jupyter --paths`).
import os  # noqa: E402

c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE", "/srv/nbgrader/exchange")

# The feedback page, offline and in Portuguese: its maths as MathML (no MathJax from a CDN) and nbgrader's
# template with its labels translated (autograder/templates/feedback_pt/). The formgrader's own pages are
# untouched (the section is FeedbackExporter's, not HTMLExporter's).
from autograder.feedback import TEMPLATE_NAME, TEMPLATES, FeedbackExporter  # noqa: E402

c.GenerateFeedback.exporter_class = FeedbackExporter
c.FeedbackExporter.template_name = TEMPLATE_NAME
c.FeedbackExporter.extra_template_basedirs = [str(TEMPLATES)]
