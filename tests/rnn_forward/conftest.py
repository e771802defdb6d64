"""Fixtures of the RNN assignment's tests."""
import pytest

from tests.helpers import copy_course
from tests.rnn_forward.helpers import ASSIGNMENT


@pytest.fixture
def course(tmp_path):
    """A fresh copy of the course (config, source/ and the assignment's solutions/) in tmp_path."""
    return copy_course(tmp_path, ASSIGNMENT)
