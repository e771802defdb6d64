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

nbgrader_config.py installs the last two for `nbgrader autograde` and
`generate_feedback`; gradebook.py uses all three.
"""
from nbformat.v4 import new_output
from nbgrader import preprocessors as nbgrader_preprocessors
from nbgrader.api import MissingEntry
from traitlets import Dict, List

from autograder.notebook import HIDDEN


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

