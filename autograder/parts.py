"""The one table of graded parts and their tests: order, points, reference code.

Every other place reads this table instead of repeating it: the notebook's
grade cells (the part's points), the solutions sync (module and name), the
hidden tests in autograder/hidden/test_<grade_id>.py (one entry per test).
"""
from dataclasses import dataclass

ASSIGNMENT = "rnn_forward"


@dataclass(frozen=True)
class Part:
    grade_id: str  # the answer cell's nbgrader grade_id
    module: str  # module in solutions/ holding the reference
    name: str  # the name the answer cell defines
    tests: dict  # hidden test function -> points

    @property
    def points(self) -> float:
        return sum(self.tests.values())

    @property
    def test_grade_id(self) -> str:
        """grade_id of the notebook's test cell that grades this part."""
        return f"test_{self.grade_id}"


PARTS = (
    Part("ff_init_weights", "solutions.feedforward", "init_weights", {
        "test_returns_the_contract_shapes": 0.5,
        "test_draws_from_standard_normal": 0.5,
    }),
    Part("ff_forward", "solutions.feedforward", "forward", {
        "test_returns_float64_array_of_shape_b_h": 0.5,
        "test_values_match_the_reference": 1.0,
        "test_uses_sizes_from_its_arguments": 0.5,
    }),
    Part("rnn_init_weights", "solutions.recurrent", "init_weights", {
        "test_returns_the_contract_shapes": 0.5,
        "test_draws_from_standard_normal": 0.5,
    }),
    Part("rnn_forward", "solutions.recurrent", "forward", {
        "test_returns_float64_array_of_shape_n_b_h": 0.5,
        "test_states_follow_the_recurrence": 1.0,
        "test_initial_state_is_standard_normal": 0.5,
        "test_uses_sizes_from_its_arguments": 1.0,
    }),
    Part("rnn_cell_module", "solutions.rnn_cell", "RNN", {
        "test_holds_an_rnn_cell": 0.5,
        "test_returns_float32_tensor_of_shape_n_b_h": 0.5,
        "test_states_follow_the_recurrence": 0.5,
        "test_keeps_the_autograd_graph": 0.5,
        "test_initial_state_is_standard_normal": 0.25,
        "test_uses_sizes_from_its_input": 0.5,
        "test_follows_the_device_of_its_input": 0.25,
    }),
)

PARTS_BY_ID = {p.grade_id: p for p in PARTS}
MAX_SCORE = sum(p.points for p in PARTS)
