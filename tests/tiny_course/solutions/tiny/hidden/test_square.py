"""square(x): the elementwise square, on the grader's inputs."""

from autograder import checks
from autograder.assignment import points

from ..reference import square


@points(1, "devolve um array do mesmo formato")
def test_keeps_the_shape(part):
    x = part.rng("square/shape").standard_normal((3, 4))
    checks.check_shape("square(x)", checks.as_array("square(x)", part.call("square", x), (3, 4)), (3, 4))


@points(1, "calcula o quadrado")
def test_values_match_the_reference(part):
    x = part.rng("square/values").standard_normal(7)
    checks.check_close("square(x)", part.call("square", x), square(x))
