"""Copy an assignment's reference definitions into its source notebook's answer cells.

    python -m autograder.tools.sync [--assignment DIR]          # rewrite the answer cells
    python -m autograder.tools.sync [--assignment DIR] --check  # exit 1 if any cell differs

The reference modules (<course>/solutions/<name>/*.py) are the one source of
truth for the solution code; the notebook only carries a copy, so the two
cannot drift apart unnoticed.
"""
import argparse
import ast
import sys

import nbformat
from nbformat import NotebookNode

from autograder import assignment as assignments
from autograder.assignment import Assignment, Part


def reference_source(assignment: Assignment, part: Part) -> str:
    """The exact text of the top-level definition `part.defines` in the part's reference module.

    It runs up to the next top-level statement, not to the end of the AST node,
    so that the closing `### END SOLUTION` comment comes along.
    """
    path = assignment.folder / f"{part.reference}.py"
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    body = ast.parse(text).body
    for node, following in zip(body, body[1:] + [None], strict=True):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == part.defines:
            end = following.lineno - 1 if following else len(lines)
            return "\n".join(lines[node.lineno - 1 : end]).rstrip()
    raise LookupError(f"{path} defines no {part.defines}")


def answer_cells(nb: NotebookNode) -> "dict[str, NotebookNode]":
    """Map grade_id -> answer cell (solution, not grade) of a notebook."""
    return {
        cell.metadata.nbgrader["grade_id"]: cell
        for cell in nb.cells
        if cell.metadata.get("nbgrader", {}).get("solution") and not cell.metadata.nbgrader.get("grade")
    }


def stale_parts(assignment: Assignment, nb: NotebookNode) -> "list[str]":
    """grade_ids whose answer cell differs from the reference (or is missing)."""
    cells = answer_cells(nb)
    return [p.grade_id for p in assignment.parts
            if p.grade_id not in cells or cells[p.grade_id].source != reference_source(assignment, p)]


def main(argv: "list[str] | None" = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report differences")
    parser.add_argument("--assignment", help="<course>/solutions/<name> (default: the only one under .)")
    args = parser.parse_args(argv)
    assignment = assignments.load(args.assignment) if args.assignment else assignments.find()
    path = assignment.source_notebook
    nb = nbformat.read(path, as_version=4)
    stale = stale_parts(assignment, nb)
    missing = [grade_id for grade_id in stale if grade_id not in answer_cells(nb)]
    if args.check or not stale or missing:
        for grade_id in missing:
            print(f"{path}: no answer cell with grade_id {grade_id}", file=sys.stderr)
        for grade_id in sorted(set(stale) - set(missing)):
            print(f"{path}: answer cell {grade_id} differs from {assignment.folder}", file=sys.stderr)
        return 1 if stale else 0
    cells = answer_cells(nb)
    for part in assignment.parts:
        cells[part.grade_id].source = reference_source(assignment, part)
    nbformat.write(nb, path)
    print(f"{path}: updated {', '.join(stale)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
