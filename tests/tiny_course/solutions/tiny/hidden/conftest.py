from autograder.plugin import *  # noqa: F401,F403 (hooks and fixtures)
