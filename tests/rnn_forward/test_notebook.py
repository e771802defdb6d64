"""Reading a submitted notebook: which cell answers which part, and what is refused."""
import json
import os

import nbformat
import pytest

from autograder.course import notebooks_in
from autograder.errors import Refused
from autograder.notebook import MAX_CELL_BYTES, load_submission, python_source, read_regular_file, template
from autograder.tools.examples import paste_into_fresh_notebook, strip_metadata
from tests.rnn_forward.helpers import ASSIGNMENT, CORPUS


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
    # both init_weights and both forwards go to the right parts
    assert {g: a.source for g, a in sub.cells.items()} == {g: a.source for g, a in by_id.items()}
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


def test_cells_become_the_python_ipython_runs():
    source = "x = !ls\nnp.random.randn?\n%time y = f(1)\nz = (1\n%2)\nok = (a\n      != b)\n"
    python = python_source(source)
    assert "x = get_ipython().getoutput('ls')" in python
    assert "get_ipython().run_line_magic('pinfo', 'np.random.randn')" in python
    assert "get_ipython().run_line_magic('time', 'y = f(1)')" in python
    assert "z = (1\n%2)" in python and "ok = (a\n      != b)" in python  # continuation lines are kept
    compile(python, "cell", "exec")
    # cells under %%time and friends: their body is code that runs, transformed in turn
    timed = python_source("%%time\nx = !ls\ndef f():\n    return 1\n")
    assert "x = get_ipython().getoutput('ls')" in timed and "def f():" in timed and "%%" not in timed
    assert python_source("%%timeit -n 3 -r 2 a = 1\nb = a + 1\n").split() == ["a", "=", "1", "b", "=", "a", "+", "1"]
    assert python_source("%%capture out\nprint(1)\n").endswith("out = get_ipython().captured()")


def test_a_cell_full_of_magics_is_left_to_python_not_to_ipythons_quadratic_transform():
    """IPython re-reads a cell once per magic line: past MAX_ESCAPES the grader does not ask it to."""
    from autograder.notebook import MAX_ESCAPES

    cell = "\n".join(f"!echo {i}" for i in range(600)) + "\n" + "\n".join(f"y{i} = {i}" for i in range(17_000))
    assert python_source(cell) == cell  # untouched (IPython on it: 131 s measured, for a 222 KB cell)
    few = "\n".join(f"!echo {i}" for i in range(MAX_ESCAPES))
    assert "get_ipython().system" in python_source(few)  # control: a few magics are transformed


def test_a_comment_or_docstring_naming_another_part_does_not_move_a_cell(tmp_path):
    """Colab drops nbgrader's metadata; a comment that mentions W_hh must not make Part 1's forward Part 2's."""
    nb = CORPUS.notebook("correct_reference")
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ff_forward")
    cell.source = '# Na Parte 2, params["Whh"] entra aqui também.\n' + cell.source.replace(
        '"""', '"""Sem Whh. ', 1)
    sub = load_submission(ASSIGNMENT, write(tmp_path, strip_metadata(nb)))
    assert "Whh" in sub.cells["ff_forward"].text and "def forward" in sub.cells["ff_forward"].source
    assert "rnn_forward" in sub.cells and "Whh" not in sub.cells["rnn_forward"].text.split("def forward")[0]
    assert len(sub.cells) == len(ASSIGNMENT.parts)


def test_a_part_runs_the_students_cells_above_its_graded_cell_and_no_locked_one(tmp_path):
    nb = CORPUS.notebook("correct_reference")
    nb.cells.append(nbformat.v4.new_code_cell("def forward(X, params):\n    return None  # after every graded cell"))
    sub = load_submission(ASSIGNMENT, write(tmp_path, nb))
    order = [p.grade_id for p in ASSIGNMENT.parts]
    for k, gid in enumerate(order):
        answer = sub.cells[gid]
        assert [s for s in answer.before] == [sub.cells[g].source for g in order[:k]]  # answers above, in order
        assert answer.after == ()
    everything = "".join(sub.cells["rnn_cell_module"].before)
    assert "quick_tests" not in everything and "score_if" not in everything and "after every" not in everything


def test_a_copied_answer_cell_counts_as_the_kernel_would_see_it(tmp_path):
    sub = load_submission(ASSIGNMENT, write(tmp_path, CORPUS.notebook("correct_with_copied_answer_cell")))
    answer = sub.cells["ff_forward"]
    assert "np.tanh(X @" in answer.source
    # the earlier try still runs first, as in the kernel
    assert "X @ params['Wxh']" in answer.before[-1] and "np.tanh(X @" not in answer.before[-1]
    assert [n for n in sub.notes if n.startswith("ff_forward: 2 células")]


def test_a_cell_added_below_the_answer_and_above_the_graded_cell_runs_after_it(tmp_path):
    nb = CORPUS.notebook("correct_reference")
    at = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "test_ff_forward")
    nb.cells.insert(at, nbformat.v4.new_code_cell("EPS = 1e-8"))
    sub = load_submission(ASSIGNMENT, write(tmp_path, nb))
    assert [s.strip() for s in sub.cells["ff_forward"].after] == ["EPS = 1e-8"]
    assert "EPS = 1e-8\n" in sub.cells["rnn_forward"].before


def test_the_setup_comes_from_the_assignments_own_notebook():
    preamble = template(ASSIGNMENT).preamble
    setup = []
    for cell in nbformat.read(ASSIGNMENT.source_notebook, as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            break
        if cell.cell_type == "code":
            setup.append(cell.source)
    assert setup and all(s in preamble for s in setup)
    assert "import math" not in preamble  # the old hand-written copy imported it; the notebook does not


def test_several_notebooks_are_ordered_by_name_and_folders_are_skipped(tmp_path):
    for name in ["Rascunho.ipynb", "rnn_forward (1).ipynb", "rnn_forward.ipynb", "zz.ipynb"]:
        (tmp_path / name).write_text("{}")
    (tmp_path / "a.ipynb").mkdir()
    found, notes = notebooks_in(tmp_path, "rnn_forward")
    assert [p.name for p in found] == ["rnn_forward.ipynb", "rnn_forward (1).ipynb", "Rascunho.ipynb"]
    assert any("a.ipynb: ignorado, é uma pasta" in n for n in notes) and any("4 notebooks" in n for n in notes)


def test_a_folder_full_of_fake_notebooks_costs_a_bounded_number_of_notes(tmp_path):
    (tmp_path / "rnn_forward.ipynb").write_text("{}")
    for k in range(50):
        (tmp_path / f"d{k:03d}.ipynb").mkdir()
    found, notes = notebooks_in(tmp_path, "rnn_forward")
    assert [p.name for p in found] == ["rnn_forward.ipynb"]
    assert len(notes) == 6 and "e mais 45" in notes[-1]
