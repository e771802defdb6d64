"""The RNN-forward assignment, as the engine reads it: parts, preamble and warm-up.

Each part's tests and their points are in hidden/test_<grade_id>.py; the
reference definitions are in feedforward.py, recurrent.py and rnn_cell.py.
"""
from autograder.assignment import Assignment, Part

ASSIGNMENT = Assignment(
    name="rnn_forward",
    parts=(
        # Both layers define init_weights and forward: the recurrent ones mention W_hh.
        Part("ff_init_weights", defines="init_weights", reference="feedforward", excludes=("Whh",)),
        Part("ff_forward", defines="forward", reference="feedforward", excludes=("Whh",)),
        Part("rnn_init_weights", defines="init_weights", reference="recurrent", mentions=("Whh",)),
        Part("rnn_forward", defines="forward", reference="recurrent", mentions=("Whh",)),
        Part("rnn_cell_module", defines="RNN", reference="rnn_cell"),
    ),
    # What the notebook's locked cells give every answer cell: the imports, the
    # device and the lecture's sizes (a student who reads those globals instead of
    # the arguments passes at the lecture's sizes and fails at the others).
    preamble="""
import math
import numpy as np
import torch
from torch import nn
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
seq_len, batch_size, input_size, hidden_size = 50, 10, 100, 512
""",
    # PyTorch loads the meta kernels, autograd and RNNCell's kernels on first use: once, in the zygote.
    warm_up="""
import torch
with torch.no_grad():
    torch.nn.RNNCell(2, 3).to("meta")(torch.empty(1, 2, device="meta"))
torch.nn.RNNCell(2, 3)(torch.randn(1, 2, requires_grad=True)).sum().backward()
""",
)
