"""A tiny assignment, for the engine's own tests: one part, `square(x)`, with two hidden tests."""
from autograder.authoring import Assignment, Part

ASSIGNMENT = Assignment(
    name="tiny",
    parts=(Part("square", defines="square", reference="reference"),),
)
