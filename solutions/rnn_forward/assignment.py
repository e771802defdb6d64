"""The RNN-forward assignment, as the engine reads it: parts and warm-up.

What every answer cell runs after (imports, device, the lecture's sizes) is the
notebook's own setup cells, read from source/rnn_forward/rnn_forward.ipynb.

Each part's tests and their points are in hidden/test_<grade_id>.py, the
mistakes their failures may name in hidden/mistakes.py; the reference
definitions are in feedforward.py, recurrent.py, rnn_cell.py and transfer.py.
"""

from autograder.authoring import Assignment, Part

from .hidden.mistakes import MISTAKES

ASSIGNMENT = Assignment(
    name="rnn_forward",
    parts=(
        # Both layers define init_weights and forward: the recurrent ones mention W_hh.
        Part("ff_init_weights", defines="init_weights", reference="feedforward", excludes=("Whh",)),
        Part("ff_forward", defines="forward", reference="feedforward", excludes=("Whh",)),
        Part("rnn_init_weights", defines="init_weights", reference="recurrent", mentions=("Whh",)),
        Part("rnn_forward", defines="forward", reference="recurrent", mentions=("Whh",)),
        Part("rnn_cell_module", defines="RNN", reference="rnn_cell"),
        Part("rnn_cell_from_numpy", defines="rnn_cell_from_params", reference="transfer"),
    ),
    # PyTorch loads the meta kernels, autograd and RNNCell's kernels on first use: once, in the zygote.
    warm_up="""
import torch
with torch.no_grad():
    torch.nn.RNNCell(2, 3).to("meta")(torch.empty(1, 2, device="meta"))
torch.nn.RNNCell(2, 3)(torch.randn(1, 2, requires_grad=True)).sum().backward()
""",
    mistakes={code: mistake.explanation for code, mistake in MISTAKES.items()},
)
