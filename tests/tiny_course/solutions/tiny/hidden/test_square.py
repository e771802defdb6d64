"""square(x): the elementwise square, on the grader's inputs."""


from autograder.authoring import as_array, check_close, check_shape, points

from ..reference import square


@points(1, "devolve um array do mesmo formato")
def test_keeps_the_shape(part):
    x = part.rng("square/shape").standard_normal((3, 4))
    check_shape("square(x)", as_array("square(x)", part.call("square", x), (3, 4)), (3, 4))


@points(1, "calcula o quadrado")
def test_values_match_the_reference(part):
    x = part.rng("square/values").standard_normal(7)
    check_close("square(x)", part.call("square", x), square(x))
