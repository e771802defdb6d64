"""The RNN assignment under test: its folder, notebooks and corpus (named, so that a course may hold others)."""
from autograder import assignment as assignments
from autograder.tools.examples import Corpus
from tests.helpers import REPO

ASSIGNMENT = assignments.load(REPO / "solutions" / "rnn_forward")
CORPUS = Corpus(ASSIGNMENT)
SOURCE_NB = ASSIGNMENT.source_notebook
RELEASE_NB = ASSIGNMENT.release_notebook
