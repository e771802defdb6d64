"""rnn_init_weights: the recurrent layer's init_weights(input_size, hidden_size)."""
from autograder.hidden.common import check_init_normal, check_init_shapes


def shapes(d, h):
    return {"Wxh": (d, h), "Whh": (h, h), "bh": (1, h)}


def test_returns_the_contract_shapes(part):
    check_init_shapes(part, shapes)


def test_draws_from_standard_normal(part):
    check_init_normal(part, shapes)
