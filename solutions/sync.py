"""Copy the reference definitions into the source notebook's answer cells.

    python -m solutions.sync          # rewrite the answer cells
    python -m solutions.sync --check  # exit 1 if any cell differs

solutions/ is the one source of truth for the solution code; the notebook
only carries a copy, so the two cannot drift apart unnoticed.
"""
import argparse
import ast
import importlib
import inspect
import sys
from pathlib import Path

import nbformat

from autograder.parts import ASSIGNMENT, PARTS

SOURCE_NOTEBOOK = Path(__file__).resolve().parent.parent / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


def reference_source(part):
    """The exact text of the top-level definition `part.name` in `part.module`.

    It runs up to the next top-level statement, not to the end of the AST node,
    so that the closing `### END SOLUTION` comment comes along.
    """
    text = inspect.getsource(importlib.import_module(part.module))
    lines = text.splitlines()
    body = ast.parse(text).body
    for node, following in zip(body, body[1:] + [None]):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == part.name:
            end = following.lineno - 1 if following else len(lines)
            return "\n".join(lines[node.lineno - 1 : end]).rstrip()
    raise LookupError(f"{part.module} defines no {part.name}")


def answer_cells(nb):
    """Map grade_id -> answer cell (solution, not grade) of a notebook."""
    return {
        cell.metadata.nbgrader["grade_id"]: cell
        for cell in nb.cells
        if cell.metadata.get("nbgrader", {}).get("solution") and not cell.metadata.nbgrader.get("grade")
    }


def stale_parts(nb):
    """grade_ids whose answer cell differs from the reference (or is missing)."""
    cells = answer_cells(nb)
    return [p.grade_id for p in PARTS if p.grade_id not in cells or cells[p.grade_id].source != reference_source(p)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report differences")
    parser.add_argument("notebook", nargs="?", type=Path, default=SOURCE_NOTEBOOK)
    args = parser.parse_args(argv)
    nb = nbformat.read(args.notebook, as_version=4)
    stale = stale_parts(nb)
    missing = [grade_id for grade_id in stale if grade_id not in answer_cells(nb)]
    if args.check or not stale or missing:
        for grade_id in missing:
            print(f"{args.notebook}: no answer cell with grade_id {grade_id}", file=sys.stderr)
        for grade_id in set(stale) - set(missing):
            print(f"{args.notebook}: answer cell {grade_id} differs from solutions/", file=sys.stderr)
        return 1 if stale else 0
    cells = answer_cells(nb)
    for part in PARTS:
        cells[part.grade_id].source = reference_source(part)
    nbformat.write(nb, args.notebook)
    print(f"{args.notebook}: updated {', '.join(stale)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
