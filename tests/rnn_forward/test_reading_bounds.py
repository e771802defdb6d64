"""Reading a notebook is bounded, end to end: what a student's file costs the grader before any of their code
runs (its JSON, IPython's transformation, the AST), graded as a class by the command line.

Each row comes with its control: a correct notebook whose figure is far over the old bound on the file gets
full marks; cells of magics that IPython would transform 500 times each are graded rows (never a grader
failure); a parse bomb under every size bound is stopped by the reading child's budget, with a row that
says so and names the file.
"""
import base64
import json
import os

import nbformat
import pytest

from autograder.notebook import MAX_CELL_BYTES, MAX_NOTEBOOK_BYTES, MAX_STRIPPED_BYTES, PARSE_MEMORY_BYTES
from tests.helpers import grade
from tests.rnn_forward.helpers import ASSIGNMENT, CORPUS

pytestmark = [pytest.mark.slow]
FULL = {p.grade_id: ASSIGNMENT.points(p.grade_id) for p in ASSIGNMENT.parts}


def magic_cell(size: int) -> str:
    """`aN = %time N` lines (an assignment magic: what the old bound did not count) up to `size` bytes."""
    lines, total = [], 0
    while total < size - 40:
        lines.append(f"a{len(lines)} = %time {len(lines)}")
        total += len(lines[-1]) + 1
    return "\n".join(lines)


def correct() -> dict:
    return json.loads(nbformat.writes(CORPUS.notebook("correct_reference")))


def code_cell(source: str, name: str) -> dict:
    return {"cell_type": "code", "id": name, "metadata": {}, "execution_count": None, "source": source, "outputs": []}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reading") / "class"
    folder.mkdir()
    nb = correct()
    demo = next(c for c in nb["cells"] if c["cell_type"] == "code")
    demo["outputs"] = [{"output_type": "display_data", "metadata": {},
                        "data": {"image/png": base64.b64encode(os.urandom(50 * 10**6)).decode()}}]
    (folder / "a00_figure_50mb.ipynb").write_text(json.dumps(nb))
    nb = correct()
    nb["cells"].append(code_cell(magic_cell(2**20), "magic"))
    (folder / "a01_magic_cell_1mib.ipynb").write_text(json.dumps(nb))
    nb = correct()
    nb["cells"] += [code_cell(magic_cell(MAX_CELL_BYTES - 1024), f"magic{k}") for k in range(4)]
    (folder / "a02_magic_cells_after.ipynb").write_text(json.dumps(nb))
    nb = correct()
    nb["cells"][1:1] = [code_cell(magic_cell(MAX_CELL_BYTES), f"magic{k}") for k in range(4)]  # 1 MiB, all but 160 B
    (folder / "a03_magic_cells_before.ipynb").write_text(json.dumps(nb))
    lists = PARSE_MEMORY_BYTES // 56 + 2**20  # empty lists: each ~56 bytes parsed, 3 bytes in the file
    bomb = b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {"x": [' + b"[]," * lists + b'[]]}, "cells": []}'
    assert MAX_STRIPPED_BYTES < len(bomb) < MAX_NOTEBOOK_BYTES  # a file the size bounds let through to the parse
    (folder / "a04_parse_bomb.ipynb").write_bytes(bomb)
    out = folder.parent / "report.json"
    proc = grade(folder, "--json", out, "--workers", 1, "--device", "cpu")
    rows = {row["student"]: row for row in json.loads(out.read_text())["submissions"]}
    return rows, proc


def scores(row):
    return {gid: part["score"] for gid, part in row["parts"].items()}


def statuses(row):
    return {t["status"] for part in row["parts"].values() for t in part["tests"]}


def test_the_class_is_graded_without_a_grader_failure(graded):
    rows, proc = graded
    assert proc.returncode == 0 and len(rows) == 5
    assert [name for name, row in rows.items() if row["needs_review"] or "grader_error" in statuses(row)] == []


def test_a_correct_notebook_with_a_50_mb_figure_gets_full_marks(graded):
    rows, _ = graded
    assert scores(rows["a00_figure_50mb"]) == FULL and rows["a00_figure_50mb"]["error"] is None


def test_cells_of_magics_cost_only_what_the_rules_say(graded):
    rows, _ = graded
    # A cell over the cell bound is never parsed; cells of 20+ transformations are left to Python (a syntax
    # error, in a cell that is not an answer: ignored, as a kernel goes on after it).
    assert scores(rows["a01_magic_cell_1mib"]) == FULL and scores(rows["a02_magic_cells_after"]) == FULL
    # 1 MiB of them above the answers spends the student's code budget: the answers are not read, and said so.
    before = rows["a03_magic_cells_before"]
    assert before["score"] == 0 and before["error"] is None and statuses(before) <= {"error", "passed", "failed"}
    assert any("1 MiB de código" in note for note in before["notes"])


def test_a_parse_bomb_is_stopped_by_the_reading_budget_and_named(graded):
    rows, _ = graded
    row = rows["a04_parse_bomb"]
    assert row["score"] == 0 and not row["needs_review"]
    assert "a04_parse_bomb.ipynb: entrega recusada, ler o notebook passou" in row["error"]
    assert "limite" in row["error"]
