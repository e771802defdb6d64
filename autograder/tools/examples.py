"""Build submissions from an assignment's corpus, and write its example submissions.

    python -m autograder.tools.examples [--assignment DIR]

rewrites <course>/solutions/<name>/examples/submitted/<case>/<name>/<name>.ipynb
for every case in the corpus's EXAMPLES (what `make grade` grades).

A corpus is the module <course>/solutions/<name>/corpus.py with
- CASES: {case: (answers, lost)}: `answers` ({grade_id: cell source}) replace
  the reference in the release's answer cells (None: the untouched release);
  `lost` ({grade_id: points}) are the scores of the parts that lose points;
- NOTEBOOK_CASES: {case: (base case, transform, lost)}: what a student did to
  the notebook itself (the transforms below);
- BROKEN_FILES: {case: (text or bytes, error fragment)}: files that are no notebook
  (text None: the release cut short);
- EXAMPLES: the cases shipped as examples.
"""
import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeAlias

import nbformat
from nbformat import NotebookNode

from autograder import assignment as assignments
from autograder.tools.sync import answer_cells, reference_source

# What a student did to a notebook: NOTEBOOK_CASES' transforms.
Transform: TypeAlias = Callable[[NotebookNode], NotebookNode]


def strip_metadata(nb: NotebookNode) -> NotebookNode:
    """As a student who re-created the notebook hands it in: no nbgrader metadata."""
    for cell in nb.cells:
        cell.metadata = {}
    return nb


def paste_into_fresh_notebook(nb: NotebookNode) -> NotebookNode:
    """Only the answer cells, pasted into a new notebook."""
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c.source) for c in answer_cells(nb).values()])


def add_scratch_cells(*sources: str) -> Transform:
    """A transform: scratch cells at the end (that redefine things, badly)."""

    def transform(nb: NotebookNode) -> NotebookNode:
        nb.cells += [nbformat.v4.new_code_cell(src) for src in sources]
        return nb

    return transform


def delete_cell(grade_id: str) -> Transform:
    """A transform: the cell with this grade_id deleted."""

    def transform(nb: NotebookNode) -> NotebookNode:
        nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != grade_id]
        return nb

    return transform


def insert_before(grade_id: str, source: str, copy_metadata: bool = False) -> Transform:
    """A transform: a cell of the student's right above the cell `grade_id` (with its metadata, as a copied
    cell has, when `copy_metadata`)."""

    def transform(nb: NotebookNode) -> NotebookNode:
        at = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
        cell = nbformat.v4.new_code_cell(source)
        if copy_metadata:
            cell.metadata = nbformat.from_dict(dict(nb.cells[at].metadata))
        nb.cells.insert(at, cell)
        return nb

    return transform


class Corpus:
    """An assignment's corpus (its corpus.py), as notebooks and expected scores."""

    def __init__(self, assignment: assignments.Assignment):
        self.assignment = assignment
        self.data = assignment.module("corpus")
        self.cases, self.notebook_cases = self.data.CASES, self.data.NOTEBOOK_CASES
        self.broken = self.data.BROKEN_FILES
        self.names = [*self.cases, *self.notebook_cases, *self.broken]

    def fill(self, nb: NotebookNode, answers: "dict[str, str]") -> NotebookNode:
        """Write `answers` (grade_id -> code) into nb's answer cells, the reference into the others."""
        cells = answer_cells(nb)
        for part in self.assignment.parts:
            cells[part.grade_id].source = answers.get(part.grade_id, reference_source(self.assignment, part)).strip()
        return nb

    def notebook(self, name: str) -> NotebookNode:
        """Case `name` as a notebook node."""
        if name in self.notebook_cases:
            base, transform, _ = self.notebook_cases[name]
            return transform(self.notebook(base))
        nb = nbformat.read(self.assignment.release_notebook, as_version=4)
        answers, _ = self.cases[name]
        return nb if answers is None else self.fill(nb, answers)

    def build(self, name: str, folder: "str | Path", stem: "str | None" = None) -> Path:
        """Write case `name` as folder/<stem or name>.ipynb; return its path."""
        path = Path(folder) / f"{stem or name}.ipynb"
        if name in self.broken:
            text = self.broken[name][0]
            text = self.assignment.release_notebook.read_text()[:5000] if text is None else text
            path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
        else:
            nbformat.write(self.notebook(name), path)
        return path

    def expected_scores(self, name: str) -> "dict[str, float]":
        """grade_id -> points the case must get."""
        lost = self.notebook_cases[name][2] if name in self.notebook_cases else self.cases[name][1]
        return {p.grade_id: float(lost.get(p.grade_id, self.assignment.points(p.grade_id)))
                for p in self.assignment.parts}

    @property
    def examples_dir(self) -> Path:
        return self.assignment.folder / "examples" / "submitted"

    def write_examples(self, root: "str | Path | None" = None) -> None:
        """The examples in nbgrader's layout: root/<case>/<name>/<name>.ipynb."""
        name = self.assignment.name
        for case in self.data.EXAMPLES:
            folder = Path(root or self.examples_dir) / case / name
            folder.mkdir(parents=True, exist_ok=True)
            self.build(case, folder, stem=name)


def main(argv: "list[str] | None" = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", help="<course>/solutions/<name> (default: the only one under .)")
    args = parser.parse_args(argv)
    corpus = Corpus(assignments.load(args.assignment) if args.assignment else assignments.find())
    corpus.write_examples()
    print(f"wrote {len(corpus.data.EXAMPLES)} examples under {corpus.examples_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
