"""Submissions of the tiny assignment and the scores they must get (the format of autograder/tools/examples.py):
right, wrong, crashed and hung work, for the engine's tests of every way to grade."""

MEMORY = '''
class Memory(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.cell = nn.LSTMCell(input_size, hidden_size)

    def forward(self, x, state):
        {body}
'''

CASES = {
    "correct_reference": ({}, {}),
    "square_doubles": ({"square": "def square(x):\n    return np.asarray(x) * 2"}, {"square": 1}),
    "memory_swaps_the_state": ({"lstm_state": MEMORY.format(body="h, c = self.cell(x, state)\n        return c, h")},
                               {"lstm_state": 0}),
    "memory_detaches_the_state": ({"lstm_state": MEMORY.format(
        body="return tuple(t.detach() for t in self.cell(x, state))")}, {"lstm_state": 1}),
    "crash_in_square": ({"square": "import os\ndef square(x):\n    os._exit(1)"}, {"square": 0}),
    "hang_in_memory": ({"lstm_state": MEMORY.format(body="while True:\n            pass")}, {"lstm_state": 0}),
    "untouched_release": (None, {"square": 0, "lstm_state": 0}),
}
NOTEBOOK_CASES = {}
BROKEN_FILES = {
    "broken_not_json": ("this is not a notebook\n", "não é um notebook"),
}
EXAMPLES = ["correct_reference", "square_doubles"]
BENCHMARK = ["correct_reference", "square_doubles", "memory_detaches_the_state"]
BENCHMARK_HANG = "hang_in_memory"
