"""Where the submissions are: a notebook, a flat folder of notebooks, or nbgrader's submitted/ folder.

    <PATH>/<student>.ipynb                          a flat folder: the student is the file's stem
    <PATH>/<student>/<assignment>/<notebook>.ipynb  nbgrader's layout (submitted/, autograded/)

In nbgrader's layout a submission may hold several notebooks (a draft beside the
work, a second download): up to three are graded and the best counts (notebooks_in).

The paths given are the instructor's; below them nothing is followed through
a symbolic link, and what is not a regular file or folder is refused with a
row of its own.
"""
import os
import stat
from pathlib import Path
from typing import TypeAlias

# One submission: (student, notebook or submission folder, why it is refused or None).
Job: TypeAlias = "tuple[str, Path, str | None]"


def _refused(path: Path, why: str) -> Job:
    return (path.stem if path.suffix == ".ipynb" else path.name, path, f"{path}: entrega recusada, {why}")


def find_submissions(paths: "list[Path]", assignment_name: str) -> "list[Job]":
    """[(student, notebook path, error or None)] for every submission of `assignment_name` under `paths`.

    The paths given are the instructor's; below them nothing is followed
    through a symbolic link, and what is not a regular file or folder is
    refused with a row of its own.
    """
    jobs: "list[Job]" = []
    for path in paths:
        if path.is_symlink():
            path = path.resolve()
        if path.is_file():
            jobs.append((path.stem, path, None))
            continue
        if not path.is_dir():
            raise SystemExit(f"error: {path}: no such file or folder")
        for entry in sorted(os.scandir(path), key=lambda e: e.name):
            entry_path = Path(entry.path)
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


MAX_NOTEBOOKS = 3  # graded per submission when it holds several; the best counts
MAX_NOTES = 5  # skipped entries named one by one; the rest are counted


def notebooks_in(folder: Path, assignment_name: str) -> "tuple[list[Path], list[str]]":
    """([notebooks to grade], [notes]) of a submission folder, in order of preference.

    The notebook named after the assignment comes first, then those whose names start with it
    (`<name> (1).ipynb`, `<name>-Copy1.ipynb`), then the others (a draft, a renamed copy):
    at most MAX_NOTEBOOKS of them are graded and the best score counts. Folders named like a
    notebook, links and what is not a regular file are skipped, with a note.
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
            notes.append(f"{entry.name[:100]}: ignorado, é {kind}, não um notebook")
        else:
            skipped += 1
    if skipped:
        notes.append(f"e mais {skipped} itens com nome de notebook que não são notebooks, ignorados")
    found.sort(key=lambda p: (p.name != f"{assignment_name}.ipynb", not p.name.startswith(assignment_name), p.name))
    if len(found) > MAX_NOTEBOOKS:
        notes.append(f"{len(found)} notebooks na entrega; corrigidos só os {MAX_NOTEBOOKS} primeiros: "
                     + ", ".join(p.name for p in found[:MAX_NOTEBOOKS]))
    return found[:MAX_NOTEBOOKS], notes


def _student_folder(student: str, folder: Path, assignment_name: str) -> Job:
    """nbgrader's submitted/<student>/<assignment>/: its one notebook, or the folder when it holds several
    (the runner grades each; see notebooks_in)."""
    notebooks, _ = notebooks_in(folder, assignment_name)
    if not notebooks:
        for entry in sorted(folder.glob("*.ipynb")):  # only links or special files: say so, open none
            mode = entry.lstat().st_mode
            if stat.S_ISLNK(mode):
                return student, entry, f"{entry}: entrega recusada, é um link simbólico"
            if not stat.S_ISDIR(mode):
                return student, entry, f"{entry}: entrega recusada, não é um arquivo comum"
        return student, folder, f"{folder}: nenhum notebook (.ipynb) na entrega"
    if len(notebooks) > 1 or len(list(folder.glob("*.ipynb"))) > 1:
        return student, folder, None
    return student, notebooks[0], None
