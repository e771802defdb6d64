"""rnn_init_weights: the recurrent layer's init_weights(input_size, hidden_size)."""
from .common import init_weights_tests

test_returns_the_contract_shapes, test_draws_from_standard_normal = init_weights_tests(
    lambda d, h: {"Wxh": (d, h), "Whh": (h, h), "bh": (1, h)})
