"""Read a submitted notebook safely and find what each part runs, without running it.

The file must be a regular file (no symlink, FIFO or device) of at most
MAX_NOTEBOOK_BYTES; a code cell may hold at most MAX_CELL_BYTES. Cells become
Python exactly as IPython makes them (magics and shell escapes turn into
`get_ipython()` calls, which the student's process answers harmlessly).

What a part runs is what a Jupyter kernel would have run when it reaches the
part's graded cell, top to bottom: the assignment's setup cells (the locked
cells before the first answer cell, taken from the assignment's own notebook,
as nbgrader restores them), then the student's own code cells in order (answer
cells of every part and any cell the student added), up to the part's graded
cell. Locked cells after the setup (demos, quick tests) are skipped: they only
call the student's code. Only the part's answer cell may fail the part; an
error in another cell is ignored, as the kernel goes on after it.

Rules, each written in the report's notes when it applies:
- a part's answer cell is found by its nbgrader grade_id; when that metadata
  was lost (a notebook re-created, cells pasted into a fresh one), by the
  function or class it defines and the names its code uses (comments and
  docstrings do not count); when several cells carry one grade_id (a copied
  cell), the last one above the part's graded cell, since its definitions are
  the ones in force there.
"""
import ast
import functools
import json
import os
import re
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autograder.errors import Refused

if TYPE_CHECKING:
    from nbformat import NotebookNode

    from autograder.assignment import Assignment, Part

MAX_NOTEBOOK_BYTES = 20 * 2**20  # a notebook with its outputs and figures; ours is 40 KB
MAX_CELL_BYTES = 256 * 2**10  # a code cell; the reference's longest is 1.5 KB
MAX_CELLS = 5000  # the assignment's notebook has 40
MAX_CONTEXT_BYTES = 2**20  # the student's other cells that a part runs, in all
MAX_STUDENT_CODE_BYTES = 2**20  # the student's own code cells read at all; the reference has 5 KB
HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*\n?", re.M | re.S)


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


@dataclass(frozen=True)
class Answer:
    """What one part runs: the student's cells before its answer cell, the answer cell, the cells after it
    up to the part's graded cell. Only `source` (the answer cell) may fail the part."""

    source: str
    before: "tuple[str, ...]" = ()
    after: "tuple[str, ...]" = ()
    text: str = ""  # the answer cell as the student wrote it (source is its Python)


@dataclass
class Submission:
    student: str
    path: Path
    cells: "dict[str, Answer]" = field(default_factory=dict)  # grade_id -> Answer
    notes: "list[str]" = field(default_factory=list)
    error: "str | None" = None  # set when nothing can be graded
    refused: "dict[str, str]" = field(default_factory=dict)  # grade_id -> why its cell cannot be graded


MAX_ESCAPES = 20  # magic, shell and help lines IPython transforms in one cell; honest cells have a few
ESCAPE_LINE = re.compile(r"^\s*[%!]|\?\s*$", re.M)
# Cell magics whose body is ordinary code that runs: IPython hands the body back to itself.
RUNS_BODY = re.compile(r"\A%%(time|timeit|prun|capture)\b([^\n]*)\n?")


def python_source(cell_source: str) -> str:
    """The cell as the Python that IPython runs for it (magics become get_ipython() calls).

    IPython re-reads the whole cell once per magic or shell line, so a cell with
    more than MAX_ESCAPES of them is left as it is (Python then reports it as
    wrong): a student's text never buys unbounded work in the grader.
    """
    from IPython.core.inputtransformer2 import TransformerManager

    body = RUNS_BODY.match(cell_source)
    if body:  # %%time and friends: their body is a cell of its own, transformed the same way
        name, line = body.group(1), body.group(2).strip()
        inner = python_source(cell_source[body.end():])
        if name == "timeit":  # %%timeit [-n N -r R] [setup]: the setup runs first
            inner = re.sub(r"^(-\w+\s*\d*\s*)*", "", line) + "\n" + inner
        elif name == "capture" and line.split() and line.split()[-1].isidentifier():
            inner += f"\n{line.split()[-1]} = get_ipython().captured()"
        return inner
    if len(ESCAPE_LINE.findall(cell_source)) > MAX_ESCAPES:
        return cell_source
    try:
        return TransformerManager().transform_cell(cell_source)
    except Exception:  # IPython gave up on it (tokenizer errors, ...): Python will report what is wrong
        return cell_source


def _parse(source: str) -> "ast.Module | None":
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):  # a cell built to choke the parser
        return None


def defined_names(source: str, tree: "ast.Module | None" = None) -> "set[str]":
    """Top-level functions and classes a cell defines (none if it does not parse)."""
    tree = tree or _parse(source)
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))} if tree else set()


def code_words(source: str, tree: "ast.Module | None" = None) -> "set[str]":
    """The names, attributes and strings a cell's code uses: not its comments, not its docstrings."""
    tree = tree or _parse(source)
    if tree is None:
        return set()
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    words: "set[str]" = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            words.add(node.id)
        elif isinstance(node, ast.Attribute):
            words.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            words.update(re.findall(r"\w+", node.value))
    return words


def guess_parts(parts: "tuple[Part, ...]", source: str) -> "list[str]":
    """Which parts a cell without metadata answers: what it defines, and the words its code uses."""
    tree = _parse(source)  # once, for both questions
    names = defined_names(source, tree)
    if not any(p.defines in names for p in parts):
        return []
    words = code_words(source, tree)
    return [p.grade_id for p in parts
            if p.defines in names and all(w in words for w in p.mentions) and not any(w in words for w in p.excludes)]


def nbgrader_meta(cell: "dict[str, Any]") -> "dict[str, Any]":
    """A cell's nbgrader metadata, or {} when it is missing or malformed."""
    meta = cell.get("metadata")
    meta = meta.get("nbgrader") if isinstance(meta, dict) else None
    return meta if isinstance(meta, dict) else {}


def _read_notebook(text: str) -> "NotebookNode":
    # jsonschema, under nbformat, imports rfc3987_syntax when it is installed (nbgrader's dependencies
    # bring it), and that compiles a grammar for 1.5 s: in every grading worker, for IRI formats that
    # the notebook schema never uses. Keep it out; jsonschema does without it.
    # (typeshed's sys.modules holds modules only; None there is the import system's documented "not importable")
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    import nbformat

    return nbformat.reads(text, as_version=4)


def _key(source: str) -> str:
    """A cell's text for comparison: trailing spaces and blank lines do not matter."""
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


@dataclass(frozen=True)
class Template:
    """What the assignment's own notebook says about every submission."""

    preamble: str  # the setup cells: locked code cells above the first answer cell
    locked: "frozenset[str]"  # every locked code cell, as students receive it (no hidden tests)
    graded: "dict[str, str]"  # grade_id -> its graded cell, as students receive it


@functools.cache
def _template(path: Path, mtime: float) -> Template:
    nb = _read_notebook(path.read_text(encoding="utf-8"))
    setup: "list[str]" = []
    locked: "set[str]" = set()
    graded: "dict[str, str]" = {}
    answered = False
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type != "code":
            continue
        if meta.get("solution"):
            answered = True
            continue
        released = HIDDEN.sub("", cell.source)
        if meta.get("locked") or meta.get("grade"):
            locked.add(_key(released))
            if meta.get("grade") and str(meta.get("grade_id", "")).startswith("test_"):
                graded[meta["grade_id"][len("test_"):]] = _key(released)
            elif not answered:
                setup.append(python_source(cell.source))
    return Template("\n".join(setup) + "\n", frozenset(locked), graded)


_READ: "dict[Path, Template]" = {}  # path -> the Template last read from it


def template(assignment: "Assignment") -> Template:
    """The assignment's notebook, read once (and again if it changes; as last read if it is gone, as on
    Gradescope without a sandbox, where the course is removed once loaded)."""
    path = Path(assignment.source_notebook)
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        if path in _READ:
            return _READ[path]
        raise
    _READ[path] = _template(path, mtime)
    return _READ[path]


def load_submission(assignment: "Assignment", path: "str | Path", student: "str | None" = None,
                    data: "bytes | None" = None) -> Submission:
    """What each part of `assignment` runs from the notebook at `path` (its bytes, if already read safely, in
    `data`)."""
    path = Path(path)
    part_ids = [p.grade_id for p in assignment.parts]  # a list: a malformed grade_id (a dict, say) is not in it
    sub = Submission(student=student or path.stem, path=path)
    try:
        text = (read_regular_file(path) if data is None else data).decode("utf-8")
        nb = _read_notebook(text)
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
    tpl = template(assignment)
    code = [c for c in cells if c.get("cell_type") == "code" and isinstance(c.get("source"), str)]
    for cell in code:
        if len(cell.source.encode()) > MAX_CELL_BYTES:
            grade_id = nbgrader_meta(cell).get("grade_id")
            if grade_id in part_ids:
                sub.refused[grade_id] = f"célula grande demais ({len(cell.source) // 1024} KiB; o limite é " \
                                        f"{MAX_CELL_BYTES // 1024} KiB)"
            cell.source = ""  # never parsed, never run
    metas = [nbgrader_meta(c) for c in code]
    # The student's cells: what the kernel runs of theirs. Locked cells are the assignment's.
    own = [not (m.get("locked") or m.get("grade")) and (m.get("solution") or _key(c.source) not in tpl.locked)
           for c, m in zip(code, metas, strict=True)]
    python, budget = [], MAX_STUDENT_CODE_BYTES
    for cell, mine in zip(code, own, strict=True):
        budget -= len(cell.source) if mine else 0
        python.append(python_source(cell.source) if mine and budget >= 0 else "")
    if budget < 0:
        sub.notes.append(f"mais de {MAX_STUDENT_CODE_BYTES // 2**20} MiB de código nas suas células; "
                         "as que passam disso foram ignoradas")
    # Which parts each cell could answer, when metadata is lost: every cell is parsed once.
    tagged_ids = {m.get("grade_id") for m, mine in zip(metas, own, strict=True) if mine and m.get("solution")}
    guesses = [guess_parts(assignment.parts, src) if mine and src and not set(part_ids) <= tagged_ids else []
               for src, mine in zip(python, own, strict=True)]
    for part in assignment.parts:
        gid = part.grade_id
        if gid in sub.refused:
            sub.notes.append(f"{gid}: {sub.refused[gid]}")
            continue
        graded = [i for i, (c, m) in enumerate(zip(code, metas, strict=True))
                  if m.get("grade_id") == part.test_grade_id or _key(c.source) == tpl.graded.get(gid)]
        cutoff = graded[0] if graded else len(code)
        tagged = [i for i, m in enumerate(metas) if m.get("solution") and m.get("grade_id") == gid and own[i]]
        if len(tagged) > 1:
            sub.notes.append(f"{gid}: {len(tagged)} células com esse grade_id; vale a última acima da célula de "
                             "nota, como ao rodar o notebook de cima para baixo")
        candidates = tagged
        if not tagged:
            candidates = [i for i, guessed in enumerate(guesses) if gid in guessed]
            if candidates:
                sub.notes.append(f"{gid}: célula sem metadados do nbgrader; encontrada pelo que define")
        if not candidates:
            sub.notes.append(f"{gid}: nenhuma célula de resposta encontrada")
            continue
        above = [i for i in candidates if i < cutoff]
        answer = (above or candidates)[-1]
        if not graded or cutoff < answer:
            cutoff = answer + 1
        before = [python[i] for i in range(answer) if own[i] and python[i].strip()]
        after = [python[i] for i in range(answer + 1, cutoff) if own[i] and python[i].strip()]
        while before and sum(len(s.encode()) for s in before + after) > MAX_CONTEXT_BYTES:
            before.pop(0)  # the nearest cells matter most; a notebook this large is not an honest one
        sub.cells[gid] = Answer(python[answer], tuple(before), tuple(after), code[answer].source)
    return sub
