"""Hidden tests of the RNN-forward assignment; never released to students.

One file per part (test_<grade_id>.py), one test per property, its points in
@points beside it. See autograder/plugin.py for how to run them with pytest.
"""
from autograder.plugin import *  # noqa: F401,F403 (hooks and fixtures)
