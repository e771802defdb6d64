"""The reference solutions, with PyTorch as the oracle."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from tests.rnn_forward.helpers import ASSIGNMENT

feedforward, recurrent, rnn_cell, transfer = (ASSIGNMENT.module(m) for m in ("feedforward", "recurrent", "rnn_cell",
                                                                              "transfer"))

sizes = st.integers(min_value=1, max_value=12)


def torch_rnn_from(params, dtype=torch.float64):
    """An nn.RNN (tanh) holding the NumPy parameters; PyTorch stores W transposed."""
    input_size, hidden_size = params["Wxh"].shape
    rnn = nn.RNN(input_size, hidden_size, nonlinearity="tanh").to(dtype)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.from_numpy(params["Wxh"].T))
        rnn.weight_hh_l0.copy_(torch.from_numpy(params["Whh"].T))
        rnn.bias_ih_l0.copy_(torch.from_numpy(params["bh"][0]))
        rnn.bias_hh_l0.zero_()
    return rnn


@settings(max_examples=25, deadline=None)
@given(batch=sizes, input_size=sizes, hidden_size=sizes)
def test_feedforward_matches_torch_linear(batch, input_size, hidden_size):
    params = feedforward.init_weights(input_size, hidden_size)
    assert params["Wxh"].shape == (input_size, hidden_size) and params["bh"].shape == (1, hidden_size)
    X = np.random.randn(batch, input_size)
    linear = nn.Linear(input_size, hidden_size).double()
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(params["Wxh"].T))
        linear.bias.copy_(torch.from_numpy(params["bh"][0]))
        expected = torch.tanh(linear(torch.from_numpy(X))).numpy()
    out = feedforward.forward(X, params)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(seq_len=sizes, batch=sizes, input_size=sizes, hidden_size=sizes)
def test_the_cell_built_from_part_2s_params_gives_part_2s_states(seq_len, batch, input_size, hidden_size):
    """Part 4's claim, on the references: the same states from the same H_0 (up to float32)."""
    params = recurrent.init_weights(input_size, hidden_size)
    X, H0 = np.random.randn(seq_len, batch, input_size), np.random.randn(batch, hidden_size)
    cell = transfer.rnn_cell_from_params(params)
    assert type(cell) is nn.RNNCell and next(cell.parameters()).dtype == torch.float32
    H, states = torch.from_numpy(H0).float(), []
    with torch.no_grad():
        for x in torch.from_numpy(X).float():
            H = cell(x, H)
            states.append(H.numpy())
    # float32 rounding grows along the sequence with N(0, 1) weights: a loose tolerance, still far below 1
    np.testing.assert_allclose(np.stack(states), recurrent.forward(X, params, H0), atol=1e-3)


@settings(max_examples=25, deadline=None)
@given(seq_len=sizes, batch=sizes, input_size=sizes, hidden_size=sizes, seed=st.integers(0, 2**31 - 1))
def test_recurrent_forward_matches_torch_rnn(seq_len, batch, input_size, hidden_size, seed):
    params = recurrent.init_weights(input_size, hidden_size)
    assert params["Whh"].shape == (hidden_size, hidden_size)
    X = np.random.randn(seq_len, batch, input_size)
    # The reference draws H_0 itself; replaying the seed recovers the same H_0.
    np.random.seed(seed)
    out = recurrent.forward(X, params)
    np.random.seed(seed)
    h0 = np.random.randn(1, batch, hidden_size)
    with torch.no_grad():
        expected, _ = torch_rnn_from(params)(torch.from_numpy(X), torch.from_numpy(h0))
    assert out.shape == (seq_len, batch, hidden_size) and out.dtype == np.float64
    np.testing.assert_allclose(out, expected.numpy(), rtol=1e-10, atol=1e-12)


def test_recurrent_forward_draws_a_fresh_initial_state():
    params = recurrent.init_weights(3, 4)
    X = np.random.randn(2, 5, 3)
    assert not np.allclose(recurrent.forward(X, params)[0], recurrent.forward(X, params)[0])


@pytest.mark.parametrize("batch", [1, 10, 7])  # 10 is the batch given to the constructor
def test_rnn_module_matches_torch_rnn(device, batch):
    net = rnn_cell.RNN(input_size=6, hidden_size=5, batch_size=10).to(device)
    X = torch.randn(8, batch, 6).to(device)
    # The module draws H_0 on X's device; replaying the seed recovers it.
    torch.manual_seed(1)
    out = net(X)
    torch.manual_seed(1)
    h0 = torch.randn(batch, 5, device=device)
    cell = net.cell
    reference = nn.RNN(6, 5, nonlinearity="tanh").to(device)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(reference, f"{name}_l0").copy_(getattr(cell, name))
        expected, _ = reference(X, h0[None])
    assert out.device == X.device and out.requires_grad
    torch.testing.assert_close(out.detach(), expected)
    out.sum().backward()
    assert cell.weight_hh.grad is not None


def test_rnn_module_follows_the_device_of_its_input():
    # The meta device runs no arithmetic but rejects a tensor made on a fixed device.
    out = rnn_cell.RNN(3, 4, 2).to("meta")(torch.empty(5, 2, 3, device="meta"))
    assert out.device.type == "meta" and out.shape == (5, 2, 4)
