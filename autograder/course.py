"""Where the submissions are: a notebook, a flat folder of notebooks, or nbgrader's submitted/ folder.

    <PATH>/<student>.ipynb                          a flat folder: the student is the file's stem
    <PATH>/<student>/<assignment>/<notebook>.ipynb  nbgrader's layout (submitted/, autograded/)

In nbgrader's layout a submission may hold several notebooks (a draft beside the
work, a second download): exactly one of them is graded, never the best of
several (choose_notebook). The notebook named after the assignment counts;
another is graded only when that one is absent or holds no answer, and the
notes say which and why.

The paths given are the instructor's; below them nothing is followed through
a symbolic link, and what is not a regular file or folder is refused with a
row of its own.
"""
import functools
import json
import os
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from autograder.errors import PathError
from autograder.notebook import (
    HIDDEN,
    MAX_NOTEBOOK_BYTES,
    load_submission,
    nbgrader_meta,
    python_source,
    read_regular_file,
)

if TYPE_CHECKING:
    from autograder.assignment import Assignment
    from autograder.notebook import Submission

# One submission: (student, notebook or submission folder, why it is refused or None).
Job: TypeAlias = "tuple[str, Path, str | None]"


def _refused(path: Path, why: str) -> Job:
    return (path.stem if path.suffix == ".ipynb" else path.name, path, f"{path}: entrega recusada, {why}")


def find_submissions(paths: "list[Path]", assignment_name: str,
                     skipped: "list[Path] | None" = None) -> "list[Job]":
    """[(student, notebook path, error or None)] for every submission of `assignment_name` under `paths`;
    the files of a folder given that are not notebooks (.ipynb), and so no submission, are added to
    `skipped` (hidden ones aside: .DS_Store, ...).

    The paths given are the instructor's; below them nothing is followed
    through a symbolic link, and what is not a regular file or folder is
    refused with a row of its own. A path given that does not exist or
    cannot be listed raises PathError.
    """
    jobs: "list[Job]" = []
    for path in paths:
        if path.is_symlink():
            path = path.resolve()
        if path.is_file():
            jobs.append((path.stem, path, None))
            continue
        if not path.is_dir():
            raise PathError(f"{path}: no such file or folder")
        try:
            entries = sorted(os.scandir(path), key=lambda e: e.name)
        except OSError as exc:
            raise PathError(f"{path}: cannot be read ({exc.strerror})") from None
        for entry in entries:
            entry_path = Path(entry.path)
            if skipped is not None and not entry.name.endswith(".ipynb") and not entry.name.startswith(".") \
                    and not entry_path.is_dir():  # (a link to a folder is refused below, with a row)
                skipped.append(entry_path)
            if entry.is_symlink():
                if entry.name.endswith(".ipynb") or entry_path.is_dir():
                    jobs.append(_refused(entry_path, "é um link simbólico"))
            elif entry.name.endswith(".ipynb"):
                jobs.append((entry_path.stem, entry_path, None if entry.is_file(follow_symlinks=False)
                             else f"{entry_path}: entrega recusada, não é um arquivo comum"))
            elif entry.is_dir(follow_symlinks=False):
                folder = entry_path / assignment_name
                if folder.is_symlink():
                    jobs.append((entry.name, folder, f"{folder}: entrega recusada, é um link simbólico"))
                elif folder.is_dir():
                    jobs.append(_student_folder(entry.name, folder, assignment_name))
    return jobs


MAX_NOTEBOOKS = 3  # examined per submission when it holds several, in order of preference; one is graded
MAX_NOTES = 5  # skipped entries named one by one; the rest are counted
MAX_NAME = 100  # characters of a file's name in a note
NBGRADER_FILES = frozenset({"timestamp.txt", "submission_secret.txt"})  # what nbgrader adds to every submission


def notebooks_in(folder: Path, assignment_name: str) -> "tuple[list[Path], list[str]]":
    """([notebooks that may be graded], [notes]) of a submission folder, in order of preference.

    The notebook named after the assignment comes first, then those whose names start with it
    (`<name> (1).ipynb`, `<name>-Copy1.ipynb`), then the others (a draft, a renamed copy), each
    group in the order of their names: at most MAX_NOTEBOOKS of them, of which choose_notebook
    grades one. Folders named like a notebook, links and what is not a regular file are skipped,
    with a note.
    """
    notes: "list[str]" = []
    found: "list[Path]" = []
    skipped = 0
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if not entry.name.endswith(".ipynb"):
            continue
        mode = os.lstat(entry.path).st_mode
        if stat.S_ISREG(mode):
            found.append(Path(entry.path))
        elif len(notes) < MAX_NOTES:
            kind = "uma pasta" if stat.S_ISDIR(mode) else "um link" if stat.S_ISLNK(mode) else "um arquivo especial"
            notes.append(f"{entry.name[:MAX_NAME]}: ignorado, é {kind}, não um notebook")
        else:
            skipped += 1
    if skipped:
        notes.append(f"e mais {skipped} itens com nome de notebook que não são notebooks, ignorados")
    found.sort(key=lambda p: (p.name != f"{assignment_name}.ipynb", not p.name.startswith(assignment_name), p.name))
    if len(found) > MAX_NOTEBOOKS:
        notes.append(f"{len(found)} notebooks na entrega; examinados só os {MAX_NOTEBOOKS} primeiros: "
                     + ", ".join(p.name[:MAX_NAME] for p in found[:MAX_NOTEBOOKS]))
    return found[:MAX_NOTEBOOKS], notes


# nbgrader's solution regions, which the release replaces with its code stub (the whole cell when it has none)
SOLUTION = re.compile(r"^[ \t]*### BEGIN SOLUTION.*?^[ \t]*### END SOLUTION[^\n]*$", re.M | re.S)
# A line such as a code stub is made of (nbgrader's default: a comment and `raise NotImplementedError()`).
STUB_LINE = re.compile(r"#.*|raise\s+NotImplementedError\b.*|pass|\.\.\.")


def frame(source: str) -> str:
    """A cell's code but for blank lines, trailing spaces and the lines a code stub is made of."""
    return "\n".join(line.rstrip() for line in source.splitlines()
                     if line.strip() and not STUB_LINE.fullmatch(line.strip()))


def released_sources(path: Path) -> "list[str]":
    """The code cells of the notebook students receive, from the source notebook at `path`: a solution cell
    as its stub (its solution regions out, or empty), a graded cell without its hidden tests."""
    cells = json.loads(read_regular_file(path, MAX_NOTEBOOK_BYTES).decode("utf-8")).get("cells", [])
    sources: "list[str]" = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        if not isinstance(source, str):
            continue
        meta = nbgrader_meta(cell)
        if meta.get("solution"):  # as released: its solution regions, or all of it, become the stub
            source = SOLUTION.sub("", source) if SOLUTION.search(source) else ""
        sources.append(HIDDEN.sub("", source))  # (graded cells: their hidden tests are not released)
    return sources


@functools.cache
def _released(path: Path, mtime: float) -> "frozenset[str]":
    return frozenset(f for source in released_sources(path) for f in (frame(source), frame(python_source(source))))


_LAST: "dict[Path, frozenset[str]]" = {}  # path -> what _released last read there


def released_frames(assignment: "Assignment") -> "frozenset[str] | None":
    """The frame of every code cell of the notebook students receive, from the assignment's source notebook
    (which every grading path has, a Dask worker included); as last read if it is gone (Gradescope without
    a sandbox removes the course); None if it was never read."""
    path = Path(assignment.source_notebook)
    try:
        _LAST[path] = _released(path, path.stat().st_mtime)
    except Exception:  # gone, unreadable, not JSON
        pass
    return _LAST.get(path)


def holds_answer(assignment: "Assignment", path: Path) -> "str | None":
    """None when the notebook at `path` holds an answer, else why not (in Portuguese, for the notes).

    The rule, read from what load_submission finds (no code runs): the notebook holds an answer when some
    code of the student's own that the grader would run for a part (the part's answer cell, and the
    student's cells before it up to the part's graded cell) differs from every code cell of the release,
    blank lines, trailing spaces and the lines of a code stub aside (comments, `raise NotImplementedError`,
    `pass`: see frame); a cell too large to grade counts as an answer. A notebook that cannot be read as
    one, or where no answer cell is found, holds none. Without the assignment's notebook to compare with,
    any answer cell found counts.
    """
    return no_answer(assignment, load_submission(assignment, path))


def no_answer(assignment: "Assignment", sub: "Submission") -> "str | None":
    """holds_answer's rule, on a notebook already read (load_submission): None when it holds an answer, else
    why not. The grader marks a row whose notebook holds none as not attempted (SubmissionResult.attempted)."""
    if sub.error:
        return "não pôde ser lido como notebook"
    if sub.refused:
        return None
    if not sub.cells:
        return "nenhuma célula de resposta encontrada"
    released = released_frames(assignment)
    if released is None:
        return None
    for answer in sub.cells.values():
        for source in (answer.text, answer.source, *answer.before, *answer.after):
            code = frame(source)
            if code and code not in released:
                return None
    return "sem nenhuma resposta (as células de resposta estão como no enunciado)"


def choose_notebook(assignment: "Assignment", folder: Path) -> "tuple[Path | None, list[str]]":
    """(the one notebook of a submission folder that is graded, or None when there is none; notes).

    The notebook named after the assignment (`<name>.ipynb`) counts when it holds an answer
    (holds_answer). Otherwise the first of the others, in notebooks_in's order, that holds one is
    graded; when none does, the first of them in that order (which scores what it scores). Only the
    notebooks notebooks_in picks are read. Never the best of several: the notes say which notebook
    was graded and why.
    """
    candidates, notes = notebooks_in(folder, assignment.name)
    if len(candidates) <= 1:
        return (candidates[0] if candidates else None), notes
    named = f"{assignment.name}.ipynb"
    order = (f"o nome da tarefa ({named}) primeiro, depois os nomes que começam com \"{assignment.name}\", "
             "depois os outros, cada grupo em ordem alfabética")
    empty: "list[str]" = []  # examined before the one graded, and why each holds no answer
    chosen = None
    for path in candidates:
        why = holds_answer(assignment, path)
        if why is None:
            chosen = path
            break
        empty.append(f"{path.name[:MAX_NAME]} {why}")
    if chosen is None:
        chosen = candidates[0]
        notes.append(f"nenhum dos {len(candidates)} notebooks tem resposta ({'; '.join(empty)}); corrigido só "
                     f"{chosen.name[:MAX_NAME]}, o primeiro na ordem: {order}")
    elif chosen.name == named:
        notes.append(f"{len(candidates)} notebooks na entrega; vale só {named}, o que tem o nome da tarefa")
    else:
        why = f"{'; '.join(empty)}; " if empty else f"nenhum notebook se chama {named}; "
        if empty and candidates[0].name != named:
            why = f"nenhum notebook se chama {named}; {why}"
        notes.append(f"{len(candidates)} notebooks na entrega; {why}vale só {chosen.name[:MAX_NAME]}, o primeiro "
                     f"com resposta na ordem: {order}")
    others = [p.name[:MAX_NAME] for p in candidates if p != chosen]
    notes.append(f"não corrigidos (nunca vale a maior nota entre vários): {', '.join(others)}")
    return chosen, notes


def _student_folder(student: str, folder: Path, assignment_name: str) -> Job:
    """nbgrader's submitted/<student>/<assignment>/: its one notebook, or the folder when it holds several
    (the runner grades one of them; see choose_notebook)."""
    try:
        notebooks, _ = notebooks_in(folder, assignment_name)
    except OSError:
        return student, folder, f"{folder}: entrega recusada, a pasta não pôde ser lida"
    if not notebooks:
        for entry in sorted(folder.glob("*.ipynb")):  # only links or special files: say so, open none
            mode = entry.lstat().st_mode
            if stat.S_ISLNK(mode):
                return student, entry, f"{entry}: entrega recusada, é um link simbólico"
            if not stat.S_ISDIR(mode):
                return student, entry, f"{entry}: entrega recusada, não é um arquivo comum"
        others = sorted(p.name for p in folder.iterdir() if p.name not in NBGRADER_FILES and p.name[:1] != ".")
        found = f"; há só {', '.join(n[:MAX_NAME] for n in others[:MAX_NOTES])}" if others else ""
        found += f" e mais {len(others) - MAX_NOTES}" if len(others) > MAX_NOTES else ""
        return student, folder, f"{folder}: nenhum notebook (.ipynb) na entrega{found}"
    if len(notebooks) > 1 or len(list(folder.glob("*.ipynb"))) > 1:
        return student, folder, None
    return student, notebooks[0], None
