"""Find each part's answer cell in a submitted notebook, without running it.

Cells are found by their nbgrader grade_id. When that metadata was lost (a
notebook re-created, cells pasted into a fresh one), a part's cell is the last
code cell that defines the part's function or class, and the notes say so.
"""
import ast
import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.parts import PARTS

# Cells of the recurrent parts are told from the feed-forward ones by W_hh.
RECURRENT_MARK = "Whh"


@dataclass
class Submission:
    student: str
    path: Path
    cells: dict = field(default_factory=dict)  # grade_id -> Python source
    notes: list = field(default_factory=list)
    error: "str | None" = None  # set when nothing can be graded


def python_source(cell_source):
    """The cell as plain Python: IPython magics and shell lines become `pass`."""
    lines = []
    for line in cell_source.splitlines():
        stripped = line.lstrip()
        lines.append(line[: len(line) - len(stripped)] + "pass" if stripped.startswith(("%", "!")) else line)
    return "\n".join(lines)


def defined_names(source):
    """Top-level functions and classes a cell defines (none if it does not parse)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}


def guess_parts(source):
    """Which parts a cell without metadata answers, from what it defines."""
    names = defined_names(source)
    prefix = "rnn_" if RECURRENT_MARK in source else "ff_"
    return [
        p.grade_id
        for p in PARTS
        if p.name in names and (p.name == "RNN" or p.grade_id.startswith(prefix))
    ]


def load_submission(path, student=None):
    path = Path(path)
    sub = Submission(student=student or path.stem, path=path)
    try:
        nb = nbformat.read(path, as_version=4)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        sub.error = f"{path}: não é um notebook (JSON inválido: {exc})"
        return sub
    except Exception as exc:  # nbformat raises many kinds on a non-notebook JSON
        sub.error = f"{path}: não é um notebook ({type(exc).__name__}: {exc})"
        return sub
    code_cells = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    by_id = {}
    for cell in code_cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        grade_id = meta.get("grade_id")
        if meta.get("solution") and grade_id in {p.grade_id for p in PARTS}:
            if grade_id in by_id:
                sub.notes.append(f"{grade_id}: mais de uma célula com esse grade_id; usada a primeira")
            else:
                by_id[grade_id] = python_source(cell.source)
    guessed = {}
    for cell in code_cells:
        source = python_source(cell.source)
        for grade_id in guess_parts(source):
            guessed[grade_id] = source  # the last definition wins, as in a kernel run top to bottom
    for part in PARTS:
        if part.grade_id in by_id:
            sub.cells[part.grade_id] = by_id[part.grade_id]
        elif part.grade_id in guessed:
            sub.cells[part.grade_id] = guessed[part.grade_id]
            sub.notes.append(f"{part.grade_id}: célula sem metadados do nbgrader; encontrada pelo que define")
        else:
            sub.notes.append(f"{part.grade_id}: nenhuma célula de resposta encontrada")
    return sub
