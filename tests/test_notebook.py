"""Reading a submitted notebook: which cell answers which part, and what is refused."""
import json
import os

import nbformat
import pytest

from autograder.notebook import MAX_CELL_BYTES, Refused, load_submission, read_regular_file
from autograder.tools.examples import paste_into_fresh_notebook, strip_metadata
from tests.helpers import ASSIGNMENT, CORPUS


def write(tmp_path, nb, name="nb.ipynb"):
    nbformat.write(nb, tmp_path / name)
    return tmp_path / name


def test_cells_are_found_by_their_grade_id(tmp_path):
    sub = load_submission(ASSIGNMENT, write(tmp_path, CORPUS.notebook("correct_reference")))
    assert set(sub.cells) == {p.grade_id for p in ASSIGNMENT.parts} and sub.notes == [] and sub.error is None


@pytest.mark.parametrize("transform", [strip_metadata, paste_into_fresh_notebook])
def test_without_metadata_cells_are_found_by_what_they_define(tmp_path, transform):
    nb = transform(CORPUS.notebook("correct_reference"))
    sub = load_submission(ASSIGNMENT, write(tmp_path, nb))
    by_id = load_submission(ASSIGNMENT, write(tmp_path, CORPUS.notebook("correct_reference"), "ref.ipynb")).cells
    assert sub.cells == by_id  # both init_weights and both forwards go to the right parts
    assert len([n for n in sub.notes if "sem metadados" in n]) == len(ASSIGNMENT.parts)


def test_malformed_metadata_is_ignored_not_fatal(tmp_path):
    nb = CORPUS.notebook("correct_reference")
    nb.cells[3].metadata["nbgrader"] = ["not", "a", "dict"]
    nb.cells[5].metadata["nbgrader"] = {"solution": True, "grade_id": {"a": "dict"}}
    sub = load_submission(ASSIGNMENT, write(tmp_path, nb))
    assert sub.error is None and len(sub.cells) == len(ASSIGNMENT.parts)


def test_a_huge_answer_cell_is_refused_for_its_part_only(tmp_path):
    nb = CORPUS.fill(nbformat.read(ASSIGNMENT.release_notebook, as_version=4),
                     {"ff_forward": "x = 1\n" * (MAX_CELL_BYTES // 6 + 1)})
    sub = load_submission(ASSIGNMENT, write(tmp_path, nb))
    assert "ff_forward" not in sub.cells and "grande demais" in sub.refused["ff_forward"]
    assert len(sub.cells) == len(ASSIGNMENT.parts) - 1


@pytest.mark.parametrize("text", ["not json", "", '{"cells": 3}', json.dumps({"a": 1})])
def test_a_file_that_is_no_notebook_is_an_error_row(tmp_path, text):
    (tmp_path / "x.ipynb").write_text(text)
    assert "não é um notebook" in load_submission(ASSIGNMENT, tmp_path / "x.ipynb").error


def test_only_regular_files_are_read(tmp_path):
    (tmp_path / "real.ipynb").write_text("{}")
    (tmp_path / "link.ipynb").symlink_to(tmp_path / "real.ipynb")
    os.mkfifo(tmp_path / "fifo.ipynb")
    assert read_regular_file(tmp_path / "real.ipynb") == b"{}"
    with pytest.raises(Refused, match="link simbólico"):
        read_regular_file(tmp_path / "link.ipynb")
    with pytest.raises(Refused, match="não é um arquivo comum"):
        read_regular_file(tmp_path / "fifo.ipynb")  # and it did not block
    (tmp_path / "big.ipynb").write_bytes(b"x" * 2048)
    with pytest.raises(Refused, match="limite"):
        read_regular_file(tmp_path / "big.ipynb", limit=1024)
