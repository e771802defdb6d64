"""Where the submissions are: a notebook, a flat folder of notebooks, or nbgrader's submitted/ folder.

    <PATH>/<student>.ipynb                          a flat folder: the student is the file's stem
    <PATH>/<student>/<assignment>/<notebook>.ipynb  nbgrader's layout (submitted/, autograded/)

The paths given are the instructor's; below them nothing is followed through
a symbolic link, and what is not a regular file or folder is refused with a
row of its own.
"""
import os
import stat
from pathlib import Path


def _refused(path, why):
    return (path.stem if path.suffix == ".ipynb" else path.name, path, f"{path}: entrega recusada, {why}")


def find_submissions(paths: list, assignment_name: str) -> list:
    """[(student, notebook path, error or None)] for every submission of `assignment_name` under `paths`.

    The paths given are the instructor's; below them nothing is followed
    through a symbolic link, and what is not a regular file or folder is
    refused with a row of its own.
    """
    jobs = []
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


def _student_folder(student, folder, assignment_name):
    """nbgrader's submitted/<student>/<assignment>/: the notebook named after the assignment, else the first."""
    notebooks = sorted(p for p in folder.iterdir() if p.name.endswith(".ipynb"))
    if not notebooks:
        return student, folder, f"{folder}: nenhum notebook (.ipynb) na entrega"
    preferred = [nb for nb in notebooks if nb.name == f"{assignment_name}.ipynb"]
    chosen = (preferred or notebooks)[0]
    mode = chosen.lstat().st_mode
    if stat.S_ISLNK(mode):
        return student, chosen, f"{chosen}: entrega recusada, é um link simbólico"
    if not stat.S_ISREG(mode):
        return student, chosen, f"{chosen}: entrega recusada, não é um arquivo comum"
    return student, chosen, None
