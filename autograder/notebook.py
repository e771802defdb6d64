"""Read a submitted notebook safely and find what each part runs, without running it.

The file must be a regular file (no symlink, FIFO or device) of at most
MAX_NOTEBOOK_BYTES, refused from its size before a byte is read. Outputs are
never needed: they are dropped before anything else, and the notebook without
them (sources and metadata) may hold at most MAX_STRIPPED_BYTES; a code cell
at most MAX_CELL_BYTES. Cells become Python exactly as IPython makes them
(magics and shell escapes turn into `get_ipython()` calls, which the
student's process answers harmlessly), for cells of at most MAX_ESCAPES
transformations and notebooks of at most MAX_TRANSFORM_BYTES of them.

Everything computed from the student's bytes (the JSON, IPython's
transformation, the AST) is computed in a child process (the grader's one
reading child, Reader, or a child forked for that notebook alone), under
PARSE_CPU_SECONDS of CPU and PARSE_MEMORY_BYTES of memory: a notebook built
to make that work unbounded costs its row an error that names the file, never
a grader failure or a hang. The child hands back plain data only.

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
import errno
import functools
import gc
import json
import os
import re
import signal
import stat
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from autograder.errors import Refused

if TYPE_CHECKING:
    from nbformat import NotebookNode

    from autograder.assignment import Assignment, Part

MAX_NOTEBOOK_BYTES = 256 * 2**20  # the file, outputs and figures included: refused from its size (ours is 40 KB)
MAX_STRIPPED_BYTES = 20 * 2**20  # the notebook without its outputs and attachments: its sources and metadata
MAX_CELL_BYTES = 256 * 2**10  # a code cell; the reference's longest is 1.5 KB
MAX_CELLS = 5000  # the assignment's notebook has 40
MAX_CONTEXT_BYTES = 2**20  # the student's other cells that a part runs, in all
MAX_STUDENT_CODE_BYTES = 2**20  # the student's own code cells read at all; the reference has 5 KB
# Reading one notebook (its JSON, IPython's transformation, the AST), in the child forked for it: an honest
# notebook takes a few milliseconds; a 64 MiB file (a 50 MB figure) 0.15 s; a 255 MiB one 0.6 s and 600 MiB.
PARSE_CPU_SECONDS = 10
PARSE_MEMORY_BYTES = 2**30  # address space the child may add to what it shares with the grader
PARSE_WALL_SECONDS = 3 * PARSE_CPU_SECONDS  # the same work on a machine busy grading
READER_BYTES = 4 * 2**20  # notebooks up to this size are read by the grader's one reading child (Reader)
HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*\n?", re.M | re.S)


def read_regular_file(path: "str | Path", limit: int = MAX_NOTEBOOK_BYTES) -> bytes:
    """The bytes of `path`, which must be a regular file itself (never followed through a link)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        kind = "é um link simbólico" if os.path.islink(path) else _unreadable(exc)
        raise Refused(f"{path}: entrega recusada, o arquivo {kind}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # (before fdopen, which refuses a folder in English)
            raise Refused(f"{path}: entrega recusada, não é um arquivo comum")
        if info.st_size > limit:
            raise Refused(f"{path}: entrega recusada, {info.st_size / 2**20:.1f} MiB (o limite é {limit // 2**20} MiB)")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)
    except OSError as exc:  # (a disk's I/O error)
        raise Refused(f"{path}: entrega recusada, o arquivo {_unreadable(exc)}") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise Refused(f"{path}: entrega recusada, maior que {limit // 2**20} MiB")
    return data


def _unreadable(exc: OSError) -> str:
    """Why a file cannot be opened, in Portuguese (never the system's English)."""
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "não pode ser lido (sem permissão de leitura)"
    if exc.errno == errno.ENOENT:
        return "não existe mais"
    return f"não pode ser lido (erro {errno.errorcode.get(exc.errno or 0, exc.errno)} do sistema)"


def not_a_notebook(data: bytes, raw: object = None, exc: "BaseException | None" = None) -> str:
    """Why bytes are not a notebook the grader reads, in Portuguese and without a library's English (the
    problem and where: a line and column, a byte, a field). Of the bytes that are JSON, `raw`; of what
    failed reading them, `exc` (json's, the UTF-8 decoder's or nbformat's). Run in the reading child."""
    if isinstance(exc, UnicodeDecodeError):
        return f"o arquivo não está em UTF-8 (byte inválido na posição {exc.start})"
    if isinstance(exc, json.JSONDecodeError):
        if not data.strip():
            return "o arquivo está vazio"
        return f"o conteúdo não é JSON válido (erro na linha {exc.lineno}, coluna {exc.colno})"
    if isinstance(exc, RecursionError):
        return "o JSON tem níveis aninhados demais"
    if not isinstance(raw, dict):
        return "o JSON não é um objeto de notebook"
    import nbformat

    version = raw.get("nbformat")
    if version is None:
        return 'falta o campo "nbformat", a versão do formato'
    if type(version) is not int or version not in nbformat.versions:
        return (f"versão {json.dumps(version)[:20]} do formato nbformat; o corretor lê as versões "
                f"{min(nbformat.versions)} a {max(nbformat.versions)}")
    if version == 4 and not isinstance(raw.get("cells"), list):
        return 'falta a lista de células ("cells")'
    if exc is None:
        return ""
    where = "/".join(str(key)[:30] for key in getattr(exc, "absolute_path", ()))[:100]
    return f"não segue o formato nbformat {version}" + (f", no campo {where}" if where else "")


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
    # The notebook the student's process finds beside it, when it is not the file itself: the file without its
    # outputs, for a file over MAX_STRIPPED_BYTES (as the student's process is sent no more than that).
    beside: "bytes | None" = None


MAX_ESCAPES = 20  # transformations IPython makes in one cell (magics, shell escapes, help...); honest cells make a few
MAX_TRANSFORM_BYTES = 512 * 2**10  # what IPython re-reads in one notebook: a cell's size, once per transformation
# Where IPython's token transformations can start (a superset, checked by a test against IPython): a line that
# starts with an escape (%, !, ?, ",", ";", "/"), "=" then "%" or "!" (x = %time f(), y = !ls), any "?" (help).
# A cell with none of these is what IPython's cleanup makes of it, without a tokenizer pass.
MAYBE_ESCAPE = re.compile(r"\?|^[^\S\n]*[%!,;/]|=[^\S\n]*[%!]", re.M)
# What looks like IPython's special syntax, counted: a cell with more than MAX_ESCAPES is not transformed at all.
ESCAPE_LIKE = re.compile(r"^[^\S\n]*[%!?,;/]|=[^\S\n]*[%!]|\?[^\S\n]*$", re.M)
# Cell magics whose body is ordinary code that runs: IPython hands the body back to itself.
RUNS_BODY = re.compile(r"%%(time|timeit|prun|capture)\b([^\n]*)\n?")


@dataclass
class Work:
    """What IPython's transformation may still re-read for one notebook, in bytes (MAX_TRANSFORM_BYTES)."""

    left: int = MAX_TRANSFORM_BYTES


def python_source(cell_source: str, work: "Work | None" = None) -> str:
    """The cell as the Python that IPython runs for it (magics become get_ipython() calls).

    IPython re-reads the whole cell once per transformation (per magic, shell,
    help or autocall line), so a student's text never buys unbounded work: a
    cell with more than MAX_ESCAPES lines that look like IPython's syntax, or
    that needs more transformations than that, or more re-reading than `work`
    has left (the notebook's MAX_TRANSFORM_BYTES), is not transformed (Python
    then reports its magics as wrong). Every other cell is exactly IPython's.
    """
    prefix: "list[str]" = []
    suffix: "list[str]" = []
    at = 0
    while body := RUNS_BODY.match(cell_source, at):  # %%time and friends: their body is a cell of its own
        name, line = body.group(1), body.group(2).strip()
        if name == "timeit":  # %%timeit [-n N -r R] [setup]: the setup runs first
            prefix.append(re.sub(r"^(-\w+\s*\d*\s*)*", "", line) + "\n")
        elif name == "capture" and line.split() and line.split()[-1].isidentifier():
            suffix.insert(0, f"\n{line.split()[-1]} = get_ipython().captured()")
        at = body.end()  # (a loop, not a recursion: 30 000 nested %%time are a cell like any other)
    return "".join(prefix) + _ipython(cell_source[at:] if at else cell_source, work or Work()) + "".join(suffix)


def _ipython(cell: str, work: Work) -> str:
    """TransformerManager().transform_cell(cell), step by step as it does it, but with at most MAX_ESCAPES
    token transformations, each paid for from `work` (IPython allows 500, each a tokenizer pass over the whole
    cell); past that, the cell as IPython's cleanup leaves it (one pass each: prompts, indentation), not
    transformed; when IPython gives up on the cell (as transform_cell would raise), the cell itself."""
    from IPython.core.inputtransformer2 import TransformerManager

    manager = TransformerManager()
    # (IPython's annotations say list[object]; each is a function of the cell's lines)
    steps = cast("list[Callable[[list[str]], list[str]]]", [*manager.cleanup_transforms, *manager.line_transforms])
    try:
        lines = (cell if cell.endswith("\n") else cell + "\n").splitlines(keepends=True)
        for transform in steps:  # one pass each
            lines = transform(lines)
    except Exception:  # IPython gave up on it: Python will report what is wrong
        return cell
    cleaned, text = "".join(lines), "\n".join(lines)
    if not MAYBE_ESCAPE.search(text) or len(ESCAPE_LIKE.findall(text)) > MAX_ESCAPES:
        return cleaned  # nothing IPython would transform, or more than it is asked to
    size = len(cleaned.encode("utf-8", "surrogatepass"))
    try:
        for _ in range(MAX_ESCAPES + 1):
            if work.left < size:
                break
            work.left -= size
            changed, lines = manager.do_one_token_transform(lines)
            if not changed:
                return "".join(lines)
    except Exception:  # (a tokenizer error, ...: where IPython's transform_cell raises)
        return cell
    return cleaned


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
                    data: "bytes | None" = None, isolated: bool = True) -> Submission:
    """What each part of `assignment` runs from the notebook at `path` (its bytes, if already read safely, in
    `data`). The bytes are parsed in a child process, under the reading budget (in_child); `isolated=False`
    parses them here, unbounded: only for measuring what the reading itself costs (tools/floor.py)."""
    path = Path(path)
    sub = Submission(student=student or path.stem, path=path)
    try:
        data = read_regular_file(path) if data is None else data
    except Refused as exc:
        sub.error = str(exc)
        return sub
    tpl = template(assignment)  # here, once: the child inherits it, and the imports of nbformat and IPython
    work = lambda: _encode(*_read_cells(assignment.parts, tpl, path, data))  # noqa: E731
    got = READER.read((assignment.parts, tpl, path, data), work, len(data)) if isolated else work()
    if isinstance(got, str):
        sub.error = f"{path}: entrega recusada, {got}"
        return sub
    head, _, rest = got.partition(b"\n")
    found = json.loads(head)
    sub.notes, sub.error, sub.refused = found["notes"], found["error"], found["refused"]
    sub.beside = rest if found["beside"] else None
    python, text = found["python"], found["text"]
    for gid, (answer, before, after) in found["cells"].items():
        sub.cells[gid] = Answer(python[answer], tuple(python[i] for i in before), tuple(python[i] for i in after),
                                text[str(answer)])
    return sub


def _encode(found: "dict[str, Any]", beside: "bytes | None") -> bytes:
    """What the reading child hands back: a line of JSON (ASCII: a lone surrogate travels as its escape),
    then the copy of the notebook for the student's process, if any."""
    return json.dumps({**found, "beside": beside is not None}).encode() + b"\n" + (beside or b"")


def _without_outputs(nb: object) -> None:
    """Empty every cell's outputs and drop its attachments, in place: in any nbformat version, in any JSON."""
    if not isinstance(nb, dict):
        return
    worksheets = nb.get("worksheets")  # nbformat 3 and older
    groups = [nb.get("cells"), *(w.get("cells") for w in worksheets if isinstance(w, dict))] \
        if isinstance(worksheets, list) else [nb.get("cells")]
    for cells in groups:
        for cell in cells if isinstance(cells, list) else []:
            if isinstance(cell, dict):
                if "outputs" in cell:
                    cell["outputs"] = []
                cell.pop("attachments", None)


def _encodable(source: str) -> str:
    """`source` as UTF-8 can hold it: a lone surrogate (JSON's "\\ud800", which no file's bytes can carry) becomes
    its escape, which means the same inside a string literal and is a syntax error elsewhere, as it was."""
    try:
        source.encode("utf-8")
        return source
    except UnicodeEncodeError:
        return source.encode("utf-8", "backslashreplace").decode("utf-8")


def _read_cells(parts: "tuple[Part, ...]", tpl: Template, path: Path,
                data: bytes) -> "tuple[dict[str, Any], bytes | None]":
    """What load_submission needs of the notebook `data`, as plain data (run in the reading child): the Python
    of every code cell, what each part runs (indices into it), the notes; and the notebook without its outputs
    when the student's process must get that instead of the file."""
    part_ids = [p.grade_id for p in parts]  # a list: a malformed grade_id (a dict, say) is not in it
    found: "dict[str, Any]" = {"notes": [], "error": None, "refused": {}, "python": [], "text": {}, "cells": {}}
    notes, refused = found["notes"], found["refused"]

    def error(message: str) -> "tuple[dict[str, Any], None]":
        found["error"] = message
        return found, None

    beside, raw = None, None
    try:
        raw = json.loads(data.decode("utf-8"))
        if why := not_a_notebook(data, raw):
            return error(f"{path}: não é um notebook: {why}")
        _without_outputs(raw)  # never needed, never parsed further, never counted
        if len(data) > MAX_STRIPPED_BYTES:  # the file is too large to go to the student's process: this goes
            beside = json.dumps(raw, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8", "backslashreplace")
            if len(beside) > MAX_STRIPPED_BYTES:
                return error(f"{path}: entrega recusada, {len(beside) / 2**20:.1f} MiB sem as saídas (o limite é "
                             f"{MAX_STRIPPED_BYTES // 2**20} MiB)")
        nb = _read_notebook(json.dumps(raw))
    except MemoryError:
        raise
    except Exception as exc:  # json's, the decoder's, and the many kinds nbformat raises on a non-notebook JSON
        return error(f"{path}: não é um notebook: {not_a_notebook(data, raw, exc) or 'formato desconhecido'}")
    cells = nb.get("cells", [])
    if not isinstance(cells, list):
        return error(f'{path}: não é um notebook: falta a lista de células ("cells")')
    if len(cells) > MAX_CELLS:
        return error(f"{path}: entrega recusada, {len(cells)} células (o limite é {MAX_CELLS})")
    code = [c for c in cells
            if isinstance(c, dict) and c.get("cell_type") == "code" and isinstance(c.get("source"), str)]
    for cell in code:
        cell["source"] = _encodable(cell["source"])
        if len(cell["source"].encode()) > MAX_CELL_BYTES:
            grade_id = nbgrader_meta(cell).get("grade_id")
            if grade_id in part_ids:
                refused[grade_id] = f"célula grande demais ({len(cell['source']) // 1024} KiB; o limite é " \
                                    f"{MAX_CELL_BYTES // 1024} KiB)"
            cell["source"] = ""  # never parsed, never run
    metas = [nbgrader_meta(c) for c in code]
    keys = [_key(c["source"]) for c in code]
    # The student's cells: what the kernel runs of theirs. Locked cells are the assignment's.
    own = [not (m.get("locked") or m.get("grade")) and bool(m.get("solution") or key not in tpl.locked)
           for key, m in zip(keys, metas, strict=True)]
    python: "list[str]" = found["python"]
    budget, work = MAX_STUDENT_CODE_BYTES, Work()
    for cell, mine in zip(code, own, strict=True):
        budget -= len(cell["source"]) if mine else 0
        python.append(python_source(cell["source"], work) if mine and budget >= 0 else "")
    if budget < 0:
        notes.append(f"mais de {MAX_STUDENT_CODE_BYTES // 2**20} MiB de código nas suas células; "
                     "as que passam disso foram ignoradas")
    sizes = [len(source.encode()) for source in python]
    # Which parts each cell could answer, when metadata is lost: every cell is parsed once.
    tagged_ids = {m.get("grade_id") for m, mine in zip(metas, own, strict=True) if mine and m.get("solution")}
    guesses = [guess_parts(parts, src) if mine and src and not set(part_ids) <= tagged_ids else []
               for src, mine in zip(python, own, strict=True)]
    for part in parts:
        gid = part.grade_id
        if gid in refused:
            notes.append(f"{gid}: {refused[gid]}")
            continue
        graded = [i for i, (key, m) in enumerate(zip(keys, metas, strict=True))
                  if m.get("grade_id") == part.test_grade_id or key == tpl.graded.get(gid)]
        cutoff = graded[0] if graded else len(code)
        tagged = [i for i, m in enumerate(metas) if m.get("solution") and m.get("grade_id") == gid and own[i]]
        if len(tagged) > 1:
            notes.append(f"{gid}: {len(tagged)} células com esse grade_id; vale a última acima da célula de "
                         "nota, como ao rodar o notebook de cima para baixo")
        candidates = tagged
        if not tagged:
            candidates = [i for i, guessed in enumerate(guesses) if gid in guessed]
            if candidates:
                notes.append(f"{gid}: célula sem metadados do nbgrader; encontrada pelo que define")
        if not candidates:
            notes.append(f"{gid}: nenhuma célula de resposta encontrada")
            continue
        above = [i for i in candidates if i < cutoff]
        answer = (above or candidates)[-1]
        if not graded or cutoff < answer:
            cutoff = answer + 1
        before = [i for i in range(answer) if own[i] and python[i].strip()]
        after = [i for i in range(answer + 1, cutoff) if own[i] and python[i].strip()]
        total, first = sum(sizes[i] for i in before + after), 0
        while first < len(before) and total > MAX_CONTEXT_BYTES:
            total -= sizes[before[first]]  # the nearest cells matter most; a notebook this large is not an honest one
            first += 1
        found["cells"][gid] = [answer, before[first:], after]
        found["text"][str(answer)] = code[answer]["source"]
    return found, beside


def in_child(work: "Callable[[], bytes]") -> "bytes | str":
    """work() run in a child process forked for it, under PARSE_CPU_SECONDS of CPU, PARSE_MEMORY_BYTES of
    memory and PARSE_WALL_SECONDS: the bytes it returned, or, when it ran out of one of them, which (in
    Portuguese, for the student's row). A bug in work() raises here, as it would have in this process.

    Without fork (Windows) it runs here, bounded by the sizes only.
    """
    if not hasattr(os, "fork"):
        return work()
    import select

    for stream in (sys.stdout, sys.stderr):  # (or the child would write what they hold a second time)
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: plain computation on bytes it already has, then out, whatever happens
        code = 3
        try:
            _close_all_but(write_end)  # (the grader's pipes and sockets: their other ends never wait on this one)
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # an instructor's Ctrl-C is the grader's to handle
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # (not a handler of the grader's, run in here)
            gc.freeze()  # the collector skips the grader's own objects (and does not copy their pages)
            _budget()
            try:
                head, out = b"ok\n", work()
            except MemoryError:
                head, out = b"memory\n", b""
            except BaseException:
                head, out = b"crash\n", traceback.format_exc().encode("utf-8", "backslashreplace")
            for chunk in (head, out):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(write_end, view):]
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    chunks: "list[bytes]" = []
    deadline, finished = time.monotonic() + PARSE_WALL_SECONDS, False
    try:
        poller = select.poll()
        poller.register(read_end, select.POLLIN)
        while not finished and time.monotonic() < deadline:
            if poller.poll(max(0.0, deadline - time.monotonic()) * 1000):
                chunk = os.read(read_end, 1 << 20)
                chunks.append(chunk)
                finished = not chunk
    finally:
        os.close(read_end)
        if not finished:
            os.kill(pid, signal.SIGKILL)
        try:
            _, status = os.waitpid(pid, 0)
            exit_code: "int | None" = os.waitstatus_to_exitcode(status)
        except ChildProcessError:  # (SIGCHLD ignored by someone: the kernel reaped it)
            exit_code = 0 if finished else None
    out = b"".join(chunks)
    if not finished:
        return f"ler o notebook passou de {PARSE_WALL_SECONDS} s, o limite do corretor"
    if exit_code == 0 and out.startswith(b"ok\n"):
        return out[3:]
    if exit_code == 0 and out.startswith(b"crash\n"):
        raise RuntimeError("reading the notebook failed (in the child that reads it):\n" + out[6:].decode())
    if out.startswith(b"memory\n") or exit_code in (-signal.SIGSEGV, -signal.SIGABRT, -signal.SIGBUS):
        return f"ler o notebook passou de {PARSE_MEMORY_BYTES // 2**20} MiB de memória, o limite do corretor"
    if exit_code == -signal.SIGXCPU:
        return f"ler o notebook passou de {PARSE_CPU_SECONDS} s de CPU, o limite do corretor"
    return f"ler o notebook passou dos limites do corretor ({PARSE_CPU_SECONDS} s de CPU, " \
           f"{PARSE_MEMORY_BYTES // 2**20} MiB de memória; a leitura terminou com o código {exit_code})"


class Reader:
    """One child forked from the grader that reads notebook after notebook, each under the reading budget:
    a fork of a grader that holds PyTorch, and its exit, cost each notebook 25 ms of CPU, five times what
    reading it does.

    Before each notebook the child moves its CPU limit on by PARSE_CPU_SECONDS; its address space is bounded
    once, at PARSE_MEMORY_BYTES over what it inherited, and it leaves (for a fresh one) once it holds a
    quarter of that. Its answer is taken when it is the notebook read or the CPU verdict (the budget is
    in_child's); any other (out of memory, out of time, a crash) is asked again of a child forked for that
    notebook alone (in_child), so nothing an earlier notebook left in the reader can cost a student. A
    notebook of over READER_BYTES goes to such a child directly: it would only be copied twice to get there.
    """

    def __init__(self) -> None:
        import threading

        self.pid = 0  # the reader's, 0 when there is none
        self.owner = 0  # the process that forked it: a fork of the grader has no reader of its own
        self.to_child = self.from_child = -1
        self.lock = threading.Lock()  # one notebook at a time on its pipes (a Dask worker runs tasks in threads)

    def read(self, request: "tuple[Any, ...]", work: "Callable[[], bytes]", size: int) -> "bytes | str":
        """_encode(*_read_cells(*request)) as in_child(work) would answer it; `size`: the notebook's bytes."""
        if not hasattr(os, "fork") or size > READER_BYTES:
            return in_child(work)
        with self.lock:
            got = self._ask(request)
        return in_child(work) if got is None else got

    def _start(self) -> None:
        import pickle

        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (AttributeError, OSError, ValueError):
                pass
        requests, self.to_child = os.pipe()
        self.from_child, replies = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                _close_all_but(requests, replies)
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # an instructor's Ctrl-C is the grader's to handle
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                gc.freeze()  # the collector skips the grader's own objects (and does not copy their pages)
                _serve_reads(requests, replies, pickle.loads)
            finally:
                os._exit(0)
        os.close(requests)
        os.close(replies)
        self.pid, self.owner = pid, os.getpid()

    def close(self) -> "int | None":
        """End the reader (killed, if it is still there); how it ended, where known."""
        code = None
        if self.pid and self.owner == os.getpid():
            for fd in (self.to_child, self.from_child):
                os.close(fd)
            try:
                os.kill(self.pid, signal.SIGKILL)  # (a reader that has exited keeps its status)
                code = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
            except (ProcessLookupError, ChildProcessError):
                pass
        self.pid = 0
        return code

    def _ask(self, request: "tuple[Any, ...]") -> "bytes | str | None":
        import pickle
        import select

        if self.owner != os.getpid():  # (inherited by a fork: the pipes are its parent's)
            self.pid = 0
        frame = _frame(pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL))
        for attempt in (1, 2):  # a reader that left since the last notebook (its memory) is replaced once
            if not self.pid:
                self._start()
            try:
                _write_all(self.to_child, frame)
                break
            except OSError:
                self.close()
                if attempt == 2:
                    return None
        chunks: "list[bytes]" = []
        deadline, size, got = time.monotonic() + PARSE_WALL_SECONDS, None, 0
        poller = select.poll()
        poller.register(self.from_child, select.POLLIN)
        while time.monotonic() < deadline and (size is None or got < size):
            if not poller.poll(max(0.0, deadline - time.monotonic()) * 1000):
                continue
            chunk = os.read(self.from_child, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
            if size is None and got >= 8:
                size = 8 + int.from_bytes(b"".join(chunks)[:8], "big")
        out = b"".join(chunks)
        if size is not None and got >= size and out[8:11] == b"ok\n":
            return out[11:size]
        code = self.close()
        if code == -signal.SIGXCPU:
            return f"ler o notebook passou de {PARSE_CPU_SECONDS} s de CPU, o limite do corretor"
        return None  # its memory, its time, a bug: asked again of a child of its own


def _frame(data: bytes) -> bytes:
    return len(data).to_bytes(8, "big") + data


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _read_exactly(fd: int, size: int) -> "bytes | None":
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _serve_reads(requests: int, replies: int, loads: "Callable[[bytes], Any]") -> None:
    """The reader's life (Reader): a notebook at a time, from the grader, until the grader hangs up."""
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    inherited = _address_space()
    if inherited:
        _lower(resource.RLIMIT_AS, inherited + PARSE_MEMORY_BYTES, inherited + PARSE_MEMORY_BYTES)
    while True:
        head = _read_exactly(requests, 8)
        body = None if head is None else _read_exactly(requests, int.from_bytes(head, "big"))
        if body is None:
            return
        used = resource.getrusage(resource.RUSAGE_SELF)
        cpu = int(used.ru_utime + used.ru_stime) + 1 + PARSE_CPU_SECONDS
        _lower(resource.RLIMIT_CPU, cpu, resource.RLIM_INFINITY)
        try:
            reply = b"ok\n" + _encode(*_read_cells(*loads(body)))
        except MemoryError:
            reply = b"memory\n"
        except BaseException:
            reply = b"crash\n"
        _write_all(replies, _frame(reply))
        del reply
        if inherited and _address_space() > inherited + PARSE_MEMORY_BYTES // 4:
            return  # what it holds now would cut the next notebook's budget: a fresh reader takes over


READER = Reader()


def _address_space() -> int:
    """This process's address space in bytes (0 where there is no /proc)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def _lower(which: int, soft: int, hard: int) -> None:
    """Set a limit, within the hard limit this process has."""
    import resource

    old_soft, old_hard = resource.getrlimit(which)
    if old_hard != resource.RLIM_INFINITY:
        soft = min(soft, old_hard)
        hard = old_hard if hard == resource.RLIM_INFINITY else min(hard, old_hard)
    try:
        resource.setrlimit(which, (soft, hard))
    except (OSError, ValueError):  # (macOS refuses some): the other limits still hold
        pass


def _close_all_but(*keep: int) -> None:
    """Close every file descriptor of this process but stdin, stdout, stderr and `keep`."""
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:  # (no /proc: macOS) the inherited ones stay open until the child exits
        return
    for fd in fds:
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:  # (the directory listing's own descriptor, closed already)
                pass


def _budget() -> None:
    """The reading child's limits, on itself: CPU seconds (its own count starts at 0), the address space it
    may add to what it inherited, and no core file."""
    import resource

    _lower(resource.RLIMIT_CORE, 0, 0)
    _lower(resource.RLIMIT_CPU, PARSE_CPU_SECONDS, PARSE_CPU_SECONDS + 1)
    inherited = _address_space()
    if inherited:  # (no /proc, macOS: the CPU and wall limits hold)
        _lower(resource.RLIMIT_AS, inherited + PARSE_MEMORY_BYTES, inherited + PARSE_MEMORY_BYTES)
