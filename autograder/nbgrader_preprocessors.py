"""nbgrader preprocessors of ours: grading without running the notebook, and quiet honest runs.

- `InsertResults` takes the place of nbgrader's `Execute` when
  `python -m autograder grade --gradebook` drives nbgrader's own Autograde
  converter: each graded cell gets, as its output, the results the isolated
  grader found (the same text the in-kernel path prints) and the part's score
  as the cell's value, which nbgrader's SaveAutoGrades then records.
- `OverwriteCells` is nbgrader's, minus a false alarm: a graded cell whose
  hidden tests were removed by `generate_assignment` is what students are meant
  to have, not a changed cell.
- `ClearHiddenTests` is nbgrader's, declaring the `display_data_priority`
  option that nbconvert hands every feedback preprocessor.
- `InsertRubrics` puts, after each manually graded answer of the autograded
  notebook, that question's solution region from the source notebook (its
  model answer and rubric, never released) as a read-only markdown cell marked
  `RUBRIC` in its metadata: the formgrader shows it under the answer's score
  and comment boxes. `RemoveRubrics` takes those cells out of the feedback.

nbgrader_config.py installs OverwriteCells, InsertRubrics, ClearHiddenTests and
RemoveRubrics for `nbgrader autograde` and `generate_feedback`; gradebook.py
uses InsertResults, OverwriteCells and InsertRubrics.
"""
from pathlib import Path

import nbformat
from nbformat.v4 import new_markdown_cell, new_output
from nbgrader import preprocessors as nbgrader_preprocessors
from nbgrader import utils
from nbgrader.api import MissingEntry
from nbgrader.coursedir import CourseDirectory
from traitlets import Dict, List

from autograder.notebook import HIDDEN

RUBRIC = "autograder_rubric"  # a rubric cell's metadata key: the grade_id of the answer it follows


class InsertResults(nbgrader_preprocessors.NbGraderPreprocessor):
    """Fill each graded cell with the isolated grader's results instead of running the notebook."""

    # {student: {graded cell's grade_id: {"text": what the cell prints, "score": its value}}}
    results = Dict(help="results of the isolated grader, by student and graded cell").tag(config=True)

    def preprocess(self, nb, resources):
        self._cells = self.results.get(resources["nbgrader"]["student"], {})
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        result = self._cells.get(cell.metadata.get("nbgrader", {}).get("grade_id"))
        if cell.cell_type == "code" and result is not None:
            cell.outputs = [new_output("stream", name="stdout", text=result["text"]),
                            new_output("execute_result", data={"text/plain": f"{result['score']:g}"},
                                       execution_count=None)]
        return cell, resources


class OverwriteCells(nbgrader_preprocessors.OverwriteCells):
    """nbgrader's, without warning that a released graded cell lacks its hidden tests."""

    def preprocess_cell(self, cell, resources, index):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is not None and cell.cell_type == "code":
            try:
                source = self.gradebook.find_source_cell(grade_id, self.notebook_id, self.assignment_id)
            except MissingEntry:
                source = None
            if source is not None and source.locked and cell.source == HIDDEN.sub("", source.source):
                cell.source = source.source  # what nbgrader would restore anyway, minus the warning
        return super().preprocess_cell(cell, resources, index)


class ClearHiddenTests(nbgrader_preprocessors.ClearHiddenTests):
    """nbgrader's, with the option nbconvert sets on feedback preprocessors declared."""

    display_data_priority: "List[str]" = List(help="set by nbconvert's exporters; unused here").tag(config=True)



def solution_region(cell: "nbformat.NotebookNode", begin: str, end: str) -> str:
    """What nbgrader's ClearSolutions takes out of a source cell: the lines between `begin` and `end`, or the
    whole cell when it has no such region (nbgrader then replaces it all)."""
    lines, inside, found = [], False, False
    for line in cell.source.split("\n"):
        if begin in line:
            inside = found = True
        elif end in line:
            inside = False
        elif inside:
            lines.append(line)
    return "\n".join(lines).strip() if found else cell.source.strip()


HEADING = "Para quem corrige"  # how a rubric cell begins


class InsertRubrics(nbgrader_preprocessors.NbGraderPreprocessor):
    """After each manually graded answer, its question's solution region from the source notebook, as a
    read-only markdown cell marked RUBRIC, for the formgrader (RemoveRubrics keeps it out of the feedback)."""

    def preprocess(self, nb, resources):
        rubrics = self._rubrics(resources["nbgrader"]["assignment"], resources["nbgrader"]["notebook"])
        # A student's cell can imitate a rubric's heading, with a lenient rubric of its own: say so in the real one.
        imitated = any(HEADING in cell.source for cell in nb.cells)
        cells = []
        for cell in nb.cells:
            cell.metadata.pop(RUBRIC, None)  # a student's cell carrying the mark is still the student's
            cells.append(cell)
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if utils.is_grade(cell) and utils.is_solution(cell) and grade_id in rubrics:
                points = cell.metadata["nbgrader"].get("points", 0)
                worth = f"{points:g} ponto{'' if points == 1 else 's'}".replace(".", ",")
                text = (f"**{HEADING}** (`{grade_id}`, {worth}): resposta-modelo e rubrica do "
                        f"notebook-fonte. Esta célula não vai para o feedback.\n\n{rubrics.pop(grade_id)}")
                if imitated:
                    text = f"**Atenção:** uma célula do aluno imita este cabeçalho; a rubrica é esta.\n\n{text}"
                cells.append(new_markdown_cell(text, metadata={RUBRIC: grade_id, "editable": False,
                                                               "deletable": False}))
                if nb.nbformat_minor < 5:
                    del cells[-1]["id"]  # (cell ids came with nbformat 4.5)
        nb.cells = cells
        return nb, resources

    def _rubrics(self, assignment: str, notebook: str) -> "dict[str, str]":
        """{grade_id: solution region} of the source notebook's manually graded answers."""
        coursedir = CourseDirectory(config=self.config)
        path = Path(coursedir.format_path(coursedir.source_directory, ".", assignment)) / f"{notebook}.ipynb"
        try:
            source = nbformat.read(path, as_version=4)
        except (OSError, ValueError) as exc:
            self.log.warning("No rubrics for the formgrader: %s could not be read (%s)", path, exc)
            return {}
        clear = nbgrader_preprocessors.ClearSolutions(config=self.config)
        found = {}
        for cell in source.cells:
            if utils.is_grade(cell) and utils.is_solution(cell):
                text = solution_region(cell, clear.begin_solution_delimeter, clear.end_solution_delimeter)
                if text:
                    fence = "```" if cell.cell_type == "code" else ""
                    found[cell.metadata["nbgrader"]["grade_id"]] = f"{fence}\n{text}\n{fence}".strip()
        return found


class RemoveRubrics(nbgrader_preprocessors.NbGraderPreprocessor):
    """Feedback without the cells InsertRubrics added: the rubric stays with whoever grades."""

    display_data_priority: "List[str]" = List(help="set by nbconvert's exporters; unused here").tag(config=True)

    def preprocess(self, nb, resources):
        nb.cells = [cell for cell in nb.cells if RUBRIC not in cell.metadata]
        return nb, resources
