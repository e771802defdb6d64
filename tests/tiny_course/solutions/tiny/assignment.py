"""A tiny assignment, for the engine's own tests: `square(x)`, and `Memory`, a module whose state is a tuple
(h, c), as an LSTM's is."""
from autograder.authoring import Assignment, Part

ASSIGNMENT = Assignment(
    name="tiny",
    parts=(Part("square", defines="square", reference="reference"),
           Part("lstm_state", defines="Memory", reference="reference")),
)
