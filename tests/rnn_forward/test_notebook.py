"""Reading a submitted notebook: which cell answers which part, and what is refused."""
import json
import os
import time

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
    assert python_source(cell) == cell + "\n"  # untouched (IPython on it: 131 s measured, for a 222 KB cell)
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


# Reading is bounded: what IPython transforms, what is parsed, and the child that does it.

def token_passes(monkeypatch):
    """How many times IPython tokenizes a cell to look for its next transformation (each pass: the whole cell)."""
    from IPython.core.inputtransformer2 import TransformerManager

    calls = []
    original = TransformerManager.do_one_token_transform

    def counted(self, lines):
        calls.append(1)
        return original(self, lines)

    monkeypatch.setattr(TransformerManager, "do_one_token_transform", counted)
    return calls


@pytest.mark.parametrize("line", ["a{i} = %time {i}", "d['k{i}'] = %time {i}", "f(a=1); b{i} = %time {i}",
                                  "y{i} = !echo {i}", "y{i} =\u00a0!echo {i}", "/print {i}", ",print {i}",
                                  ";print {i}", "x{i}?", ">>> %time {i}", "!echo {i}"])
def test_every_transformation_ipython_makes_counts_toward_the_bound(line, monkeypatch):
    """500 lines of `aN = %time N` cost IPython 500 passes over the cell (77 s for a 200 KB notebook): past
    MAX_ESCAPES such lines the cell is not transformed, whatever kind of line they are."""
    from IPython.core.inputtransformer2 import TransformerManager

    from autograder.notebook import MAX_ESCAPES

    first = ">>> x = 1\n" if line.startswith(">>>") else ""  # prompts are stripped when the first line has one
    many = first + "\n".join(line.format(i=i) for i in range(3 * MAX_ESCAPES)) + "\n"
    passes = token_passes(monkeypatch)
    untransformed = python_source(many)
    assert "get_ipython" not in untransformed  # left to Python, which reports it
    assert passes == []  # not one pass over the cell
    # Control: IPython itself transforms every one of those lines, one pass over the cell each...
    ipython = TransformerManager().transform_cell(many)
    assert len(passes) == 3 * MAX_ESCAPES + 1 and ipython != untransformed
    # ... and under the bound the cell is IPython's, exactly.
    few = first + "\n".join(line.format(i=i) for i in range(MAX_ESCAPES)) + "\n"
    assert python_source(few) == TransformerManager().transform_cell(few) != few


def test_a_chain_of_escapes_on_one_line_is_bounded_too(monkeypatch):
    """`,;,;,;f` is one line that IPython transforms once per escape (`,` quotes, `;` quotes the rest, each
    leaving the next escape first): the bound counts transformations, not lines."""
    from IPython.core.inputtransformer2 import TransformerManager

    from autograder.notebook import MAX_ESCAPES

    passes = token_passes(monkeypatch)
    cell = ",;" * 200 + "f\n"
    assert python_source(cell) == cell and len(passes) == MAX_ESCAPES + 1
    passes.clear()
    assert TransformerManager().transform_cell(",;" * 5 + "f") == "f" + '("")' * 10 + "\n"  # control: a chain
    assert len(passes) == 11


def test_what_ipython_rereads_is_bounded_per_notebook(monkeypatch):
    """A large cell with a few magics costs a pass over all of it per magic: a notebook pays from one budget."""
    from autograder.notebook import MAX_TRANSFORM_BYTES, Work

    assert Work().left == MAX_TRANSFORM_BYTES
    cell = "x = 1\n" * 2000 + "%time y = 2\n" * 10  # 10 magics: 11 passes over the whole cell
    passes = token_passes(monkeypatch)
    work = Work(15 * len(cell))
    assert "run_line_magic" in python_source(cell, work)  # control: within the budget, transformed
    assert len(passes) == 11 and work.left == 4 * len(cell)
    passes.clear()
    assert python_source(cell, work) == cell and len(passes) == 4  # the budget ran out on the second cell


def test_nested_time_magics_are_a_loop_not_a_recursion():
    import sys

    depth = 50_000
    assert depth > sys.getrecursionlimit()  # control: one call per level would raise RecursionError
    assert python_source("%%time\n" * depth + "x = 1\n") == "x = 1\n"
    nested = python_source("%%timeit -n 1 a = 1\n%%capture out\nb = a\n")
    assert nested == "a = 1\nb = a\n\nout = get_ipython().captured()"  # as the recursion made it


HONEST_SNIPPETS = [
    "x = 1", "  indented = 1\n  more = 2", ">>> a = 1\n... b = 2", "In [1]: %time f()\n   ...: g()", "%time y = f(1)",
    "x = !ls", "x=!ls -la", "np.random.randn?", "np.random.randn??", "%timeit?", "a = 1 # que?", "print('que?')",
    "print(\"loss = %.3f\" % l)", "x %= 2\ny /= 3", "a != b", "z = (1\n%2)", "ok = (a\n      != b)",
    "s = '''\n%not a magic\n!nor this\n'''", "d['k'] = %time 1", "f(a=1); x = %time 1", "x = \\\n  %time 1",
    "/f 1 2", ",f a b", ";f a b", "%%writefile f.py\nprint(1)", "!pip install torch", "def f():\n    !ls\n    return 1",
    "x = f'{a!r}'", "if a:\n    b = %time 1", "x =\u00a0!ls", "\n\n\nx = 1", "a = 1\r\n%time b = 2\r\n",
    "a = 1\x0c%time 2", "a = [1,\n     2]\n%who", "x = 'a' # = %time",
]


@pytest.mark.parametrize("cell", HONEST_SNIPPETS)
def test_what_jupyter_runs_is_what_we_grade(cell):
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        expected = TransformerManager().transform_cell(cell)
    except Exception:
        expected = cell
    assert python_source(cell) == expected


def test_the_cells_of_every_corpus_notebook_are_exactly_ipythons():
    from IPython.core.inputtransformer2 import TransformerManager

    notebooks = [nbformat.read(ASSIGNMENT.source_notebook, as_version=4),
                 nbformat.read(ASSIGNMENT.release_notebook, as_version=4)]
    notebooks += [CORPUS.notebook(name) for name in [*CORPUS.cases, *CORPUS.notebook_cases]]
    cells = {c.source for nb in notebooks for c in nb.cells if c.cell_type == "code"}
    cells = {c for c in cells if not c.startswith(("%%time", "%%prun", "%%capture"))}  # (their body: as a cell)
    assert len(cells) > 50
    for cell in cells:
        assert python_source(cell) == TransformerManager().transform_cell(cell), cell


def test_the_escape_filter_never_skips_a_cell_ipython_would_transform():
    """MAYBE_ESCAPE lets a cell skip IPython's tokenizer; on random cells of IPython's special characters,
    every cell it skips is one IPython leaves as its cleanup made it."""
    from hypothesis import given, settings
    from hypothesis import strategies as st
    from IPython.core.inputtransformer2 import TransformerManager

    from autograder.notebook import MAYBE_ESCAPE

    pieces = st.sampled_from(["x", "f", "1", " ", "  ", "\t", "\u00a0", "=", "==", "%", "!", "?", "/", ",", ";", "(",
                              ")", "[", "]", ":", "\\", "\n", "\r", "\x0c", "'", '"', "'''", "#", ">>> ", "... ",
                              "In [1]: ", "   ...: ", "time", "ls"])

    @settings(max_examples=400, deadline=None, derandomize=True)
    @given(st.lists(pieces, max_size=30).map("".join))
    def check(cell):
        manager = TransformerManager()
        lines = (cell if cell.endswith("\n") else cell + "\n").splitlines(keepends=True)
        try:
            for transform in manager.cleanup_transforms + manager.line_transforms:
                lines = transform(lines)
            changed, _ = manager.do_one_token_transform(lines)
        except Exception:
            return
        if changed:
            assert MAYBE_ESCAPE.search("\n".join(lines)), cell

    check()


def notebook_json(nb) -> dict:
    return json.loads(nbformat.writes(nb))


def test_outputs_do_not_count_a_50_mb_figure_is_read(tmp_path):
    import base64

    from autograder.notebook import MAX_STRIPPED_BYTES

    nb = notebook_json(CORPUS.notebook("correct_reference"))
    demo = next(c for c in nb["cells"] if c["cell_type"] == "code" and "SEU CÓDIGO" not in c["source"])
    figure = base64.b64encode(os.urandom(50 * 10**6)).decode()
    demo["outputs"] = [{"output_type": "display_data", "metadata": {}, "data": {"image/png": figure}}]
    path = tmp_path / "figura.ipynb"
    path.write_text(json.dumps(nb))
    assert path.stat().st_size > 66 * 10**6 > MAX_STRIPPED_BYTES  # control: past the old 20 MiB bound on the file
    with pytest.raises(Refused):
        read_regular_file(path, MAX_STRIPPED_BYTES)
    sub = load_submission(ASSIGNMENT, path)
    assert sub.error is None and set(sub.cells) == {p.grade_id for p in ASSIGNMENT.parts}
    # The student's process gets the notebook without its outputs: small, and still the same notebook.
    assert sub.beside is not None and len(sub.beside) < 2**20
    copy = nbformat.reads(sub.beside.decode(), as_version=4)
    assert [c.source for c in copy.cells] == ["".join(c["source"]) for c in nb["cells"]]
    assert all(c.get("outputs", []) == [] for c in copy.cells)
    # A file under the bound goes to the student's process as it is.
    small = write(tmp_path, CORPUS.notebook("correct_reference"), "small.ipynb")
    assert load_submission(ASSIGNMENT, small).beside is None


def test_a_10_gb_file_is_refused_from_its_size_and_sources_past_the_bound_are_refused(tmp_path):
    from autograder.notebook import MAX_NOTEBOOK_BYTES, MAX_STRIPPED_BYTES

    huge = tmp_path / "huge.ipynb"
    with open(huge, "wb") as f:
        f.truncate(10 * 2**30)  # sparse: nothing is read, or the test would take minutes
    error = load_submission(ASSIGNMENT, huge).error
    assert "entrega recusada" in error and f"{MAX_NOTEBOOK_BYTES // 2**20} MiB" in error
    # 25 MiB of markdown is over the bound on what is not an output; the same text in an output is not.
    nb = notebook_json(CORPUS.notebook("correct_reference"))
    text = "texto " * (25 * 2**20 // 6)
    nb["cells"].append({"cell_type": "markdown", "id": "prosa", "metadata": {}, "source": text})
    (tmp_path / "prose.ipynb").write_text(json.dumps(nb))
    error = load_submission(ASSIGNMENT, tmp_path / "prose.ipynb").error
    assert "sem as saídas" in error and f"{MAX_STRIPPED_BYTES // 2**20} MiB" in error
    nb["cells"][-1] = {"cell_type": "code", "id": "prosa", "metadata": {}, "execution_count": 1,
                       "source": "print(texto)", "outputs": [{"output_type": "stream", "name": "stdout", "text": text}]}
    (tmp_path / "output.ipynb").write_text(json.dumps(nb))
    assert load_submission(ASSIGNMENT, tmp_path / "output.ipynb").error is None


def test_a_parse_bomb_hits_the_childs_memory_budget(tmp_path, monkeypatch):
    from autograder import notebook

    bomb = b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {"x": [' + b"[]," * 1_500_000 + b'[]]}, "cells": []}'
    assert len(bomb) < notebook.MAX_STRIPPED_BYTES  # no size bound stops it
    assert len(json.loads(bomb)["metadata"]["x"]) == 1_500_001  # control: it is JSON, read here in ~100 MB
    (tmp_path / "bomba.ipynb").write_bytes(bomb)
    monkeypatch.setattr(notebook, "PARSE_MEMORY_BYTES", 32 * 2**20)
    sub = load_submission(ASSIGNMENT, tmp_path / "bomba.ipynb")
    assert sub.error.startswith(f"{tmp_path / 'bomba.ipynb'}: entrega recusada") and "32 MiB de memória" in sub.error


def test_the_reading_child_is_held_to_its_cpu_and_wall_time(monkeypatch):
    from autograder import notebook

    def spin() -> bytes:
        while True:
            pass

    def sleep() -> bytes:
        import time

        time.sleep(60)
        return b""

    monkeypatch.setattr(notebook, "PARSE_CPU_SECONDS", 1)
    assert "1 s de CPU" in notebook.in_child(spin)
    monkeypatch.setattr(notebook, "PARSE_WALL_SECONDS", 1)
    assert "1 s, o limite" in notebook.in_child(sleep)
    assert notebook.in_child(lambda: b"dados") == b"dados"  # control: work within the budget comes back
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):  # and a bug is the grader's, as before
        notebook.in_child(lambda: bytes(1 // 0))


def test_a_lone_surrogate_in_a_cell_is_read_as_its_escape(tmp_path):
    """JSON can write "\\ud800", which no UTF-8 byte can: every later step (a hash, the wire, a parser) would
    fail on it. It is read as its escape, which means the same character inside a string literal."""
    nb = notebook_json(CORPUS.notebook("correct_reference"))
    cell = next(c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "ff_forward")
    cell["source"] = 'NOME = "\ud800"\n' + "".join(cell["source"])
    with pytest.raises(UnicodeEncodeError):  # control: the cell as JSON gives it cannot be encoded
        cell["source"].encode()
    (tmp_path / "s.ipynb").write_text(json.dumps(nb))  # (ASCII JSON: the file itself is valid UTF-8)
    sub = load_submission(ASSIGNMENT, tmp_path / "s.ipynb")
    assert sub.error is None and 'NOME = "\\ud800"' in sub.cells["ff_forward"].source
    ns: dict = {}
    exec(sub.cells["ff_forward"].source.split("\n", 1)[0], ns)
    assert ns["NOME"] == "\ud800"  # the same string, at run time
    for answer in sub.cells.values():
        for source in (answer.source, answer.text, *answer.before, *answer.after):
            source.encode()


@pytest.fixture
def fresh_reader():
    """The grader's reading child (notebook.READER), started anew by the test, and none left after it."""
    from autograder import notebook

    notebook.READER.close()
    yield notebook.READER
    notebook.READER.close()


def test_notebooks_are_read_one_after_another_by_one_reading_child(tmp_path, fresh_reader):
    names = ["correct_reference", "correct_other_style", "ff_forward_missing_bias", "rnn_forward_returns_list"]
    pids = set()
    for name in names:
        path = write(tmp_path, CORPUS.notebook(name), f"{name}.ipynb")
        sub, here = load_submission(ASSIGNMENT, path), load_submission(ASSIGNMENT, path, isolated=False)
        assert (sub.cells, sub.notes, sub.error, sub.refused) == (here.cells, here.notes, here.error, here.refused)
        pids.add(fresh_reader.pid)
    assert len(pids) == 1 and os.getpid() not in pids and 0 not in pids
    os.kill(fresh_reader.pid, 9)  # a reader killed between notebooks is replaced, and the next is read as ever
    assert load_submission(ASSIGNMENT, path).cells == here.cells and fresh_reader.pid not in pids | {0}


def test_a_reading_child_out_of_memory_has_its_verdict_asked_of_a_fresh_child(tmp_path, monkeypatch, fresh_reader):
    from autograder import notebook

    bomb = b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {"x": [' + b"[]," * 1_200_000 + b'[]]}, "cells": []}'
    assert len(bomb) < notebook.READER_BYTES  # read by the reader, not sent to a child of its own
    (tmp_path / "bomba.ipynb").write_bytes(bomb)
    monkeypatch.setattr(notebook, "PARSE_MEMORY_BYTES", 32 * 2**20)  # (before the reader starts: it inherits it)
    asked = []
    in_child = notebook.in_child
    monkeypatch.setattr(notebook, "in_child", lambda work: asked.append(1) or in_child(work))
    path = write(tmp_path, CORPUS.notebook("correct_reference"))
    assert load_submission(ASSIGNMENT, path).error is None and asked == []  # control: an honest one is the reader's
    first = fresh_reader.pid
    sub = load_submission(ASSIGNMENT, tmp_path / "bomba.ipynb")
    assert "32 MiB de memória" in sub.error and asked == [1]  # the reader's "memory", confirmed on its own
    assert load_submission(ASSIGNMENT, path).error is None and fresh_reader.pid not in (0, first)


def test_the_reading_childs_cpu_verdict_is_its_own_and_each_notebook_has_the_whole_budget(tmp_path, monkeypatch,
                                                                                         fresh_reader):
    from autograder import notebook

    monkeypatch.setattr(notebook, "PARSE_CPU_SECONDS", 1)
    real = notebook._read_cells

    def slow_read(parts, tpl, path, data):  # 0.6 s of CPU a notebook, a spin for one named so
        end = time.process_time() + (60 if path.name == "spin.ipynb" else 0.6)
        while time.process_time() < end:
            pass
        return real(parts, tpl, path, data)

    monkeypatch.setattr(notebook, "_read_cells", slow_read)
    asked = []
    monkeypatch.setattr(notebook, "in_child", lambda work: asked.append(1) or b"")
    path = write(tmp_path, CORPUS.notebook("correct_reference"))
    for _ in range(3):  # 1.8 s in one reader: each notebook's limit moved on by a second
        assert load_submission(ASSIGNMENT, path).error is None
    spin = write(tmp_path, CORPUS.notebook("correct_reference"), "spin.ipynb")
    assert "1 s de CPU" in load_submission(ASSIGNMENT, spin).error and asked == []
