"""The one table of graded parts: their order, points and reference code.

Every other place (the notebook's grade cells, the solutions sync, the hidden
tests) reads this table instead of repeating it.
"""
from dataclasses import dataclass

ASSIGNMENT = "rnn_forward"


@dataclass(frozen=True)
class Part:
    grade_id: str  # the answer cell's nbgrader grade_id
    points: float  # points of the part's test cell
    module: str  # module in solutions/ holding the reference
    name: str  # the name the answer cell defines

    @property
    def test_grade_id(self) -> str:
        """grade_id of the notebook's test cell that grades this part."""
        return f"test_{self.grade_id}"


PARTS = (
    Part("ff_init_weights", 1.0, "solutions.feedforward", "init_weights"),
    Part("ff_forward", 2.0, "solutions.feedforward", "forward"),
    Part("rnn_init_weights", 1.0, "solutions.recurrent", "init_weights"),
    Part("rnn_forward", 3.0, "solutions.recurrent", "forward"),
    Part("rnn_cell_module", 3.0, "solutions.rnn_cell", "RNN"),
)

MAX_SCORE = sum(p.points for p in PARTS)

