"""Read a submitted notebook safely and find each part's answer cell, without running it.

The file must be a regular file (no symlink, FIFO or device) of at most
MAX_NOTEBOOK_BYTES; an answer cell may hold at most MAX_CELL_BYTES. Cells are
found by their nbgrader grade_id. When that metadata was lost (a notebook
re-created, cells pasted into a fresh one), a part's cell is the last code
cell that defines the part's function or class, and the notes say so.
"""
import ast
import json
import os
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path

MAX_NOTEBOOK_BYTES = 20 * 2**20  # a notebook with its outputs and figures; ours is 40 KB
MAX_CELL_BYTES = 256 * 2**10  # a code cell; the reference's longest is 1.5 KB
MAX_CELLS = 5000  # the assignment's notebook has 40


class Refused(Exception):
    """A path that is not a submission the grader may read; the message says why, in Portuguese."""


def read_regular_file(path: "str | Path", limit: int = MAX_NOTEBOOK_BYTES) -> bytes:
    """The bytes of `path`, which must be a regular file itself (never followed through a link)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        kind = "um link simbólico" if os.path.islink(path) else f"ilegível ({exc.strerror})"
        raise Refused(f"{path}: entrega recusada, o arquivo é {kind}") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Refused(f"{path}: entrega recusada, não é um arquivo comum")
        if info.st_size > limit:
            raise Refused(f"{path}: entrega recusada, {info.st_size / 2**20:.1f} MiB (o limite é {limit // 2**20} MiB)")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise Refused(f"{path}: entrega recusada, maior que {limit // 2**20} MiB")
    return data


@dataclass
class Submission:
    student: str
    path: Path
    cells: dict = field(default_factory=dict)  # grade_id -> Python source
    notes: list = field(default_factory=list)
    error: "str | None" = None  # set when nothing can be graded
    refused: dict = field(default_factory=dict)  # grade_id -> why its cell cannot be graded


def python_source(cell_source: str) -> str:
    """The cell as plain Python: IPython magics and shell lines become `pass`."""
    lines = []
    for line in cell_source.splitlines():
        stripped = line.lstrip()
        lines.append(line[: len(line) - len(stripped)] + "pass" if stripped.startswith(("%", "!")) else line)
    return "\n".join(lines)


def defined_names(source: str) -> set:
    """Top-level functions and classes a cell defines (none if it does not parse)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):  # a cell built to choke the parser
        return set()
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}


def guess_parts(parts: tuple, source: str) -> list:
    """Which parts a cell without metadata answers: what it defines, and the words it mentions."""
    names = defined_names(source)
    return [
        p.grade_id
        for p in parts
        if p.defines in names and all(w in source for w in p.mentions) and not any(w in source for w in p.excludes)
    ]


def nbgrader_meta(cell: dict) -> dict:
    """A cell's nbgrader metadata, or {} when it is missing or malformed."""
    meta = cell.get("metadata")
    meta = meta.get("nbgrader") if isinstance(meta, dict) else None
    return meta if isinstance(meta, dict) else {}


def load_submission(assignment, path: "str | Path", student: "str | None" = None,
                    data: "bytes | None" = None) -> Submission:
    """The answer cells, for `assignment`, of the notebook at `path` (its bytes, if already read safely, in `data`)."""
    path = Path(path)
    part_ids = [p.grade_id for p in assignment.parts]  # a list: a malformed grade_id (a dict, say) is not in it
    sub = Submission(student=student or path.stem, path=path)
    # jsonschema, under nbformat, imports rfc3987_syntax when it is installed (nbgrader's dependencies
    # bring it), and that compiles a grammar for 1.5 s: in every grading worker, for IRI formats that
    # the notebook schema never uses. Keep it out; jsonschema does without it.
    sys.modules.setdefault("rfc3987_syntax", None)
    import nbformat

    try:
        text = (read_regular_file(path) if data is None else data).decode("utf-8")
        nb = nbformat.reads(text, as_version=4)
    except Refused as exc:
        sub.error = str(exc)
        return sub
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        sub.error = f"{path}: não é um notebook (JSON inválido: {str(exc)[:200]})"
        return sub
    except Exception as exc:  # nbformat raises many kinds on a non-notebook JSON
        sub.error = f"{path}: não é um notebook ({type(exc).__name__}: {str(exc)[:200]})"
        return sub
    cells = nb.get("cells", [])
    if len(cells) > MAX_CELLS:
        sub.error = f"{path}: entrega recusada, {len(cells)} células (o limite é {MAX_CELLS})"
        return sub
    code_cells = [c for c in cells if c.get("cell_type") == "code" and isinstance(c.get("source"), str)]
    for cell in code_cells:
        if len(cell.source.encode()) > MAX_CELL_BYTES:
            grade_id = nbgrader_meta(cell).get("grade_id")
            if grade_id in part_ids:
                sub.refused[grade_id] = f"célula grande demais ({len(cell.source) // 1024} KiB; o limite é " \
                                        f"{MAX_CELL_BYTES // 1024} KiB)"
            cell.source = ""  # never parsed, never run
    by_id = {}
    for cell in code_cells:
        meta = nbgrader_meta(cell)
        grade_id = meta.get("grade_id")
        if meta.get("solution") and grade_id in part_ids:
            if grade_id in by_id:
                sub.notes.append(f"{grade_id}: mais de uma célula com esse grade_id; usada a primeira")
            else:
                by_id[grade_id] = python_source(cell.source)
    guessed = {}
    for cell in code_cells:
        source = python_source(cell.source)
        for grade_id in guess_parts(assignment.parts, source):
            guessed[grade_id] = source  # the last definition wins, as in a kernel run top to bottom
    for part in assignment.parts:
        if part.grade_id in sub.refused:
            sub.notes.append(f"{part.grade_id}: {sub.refused[part.grade_id]}")
        elif part.grade_id in by_id:
            sub.cells[part.grade_id] = by_id[part.grade_id]
        elif part.grade_id in guessed:
            sub.cells[part.grade_id] = guessed[part.grade_id]
            sub.notes.append(f"{part.grade_id}: célula sem metadados do nbgrader; encontrada pelo que define")
        else:
            sub.notes.append(f"{part.grade_id}: nenhuma célula de resposta encontrada")
    return sub
