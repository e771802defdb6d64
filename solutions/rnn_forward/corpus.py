"""A corpus of realistic student submissions of this assignment and the score each part must get.

Each case starts from the release notebook with every answer cell solved by
the reference, then replaces some answer cells with a student's code (or
breaks the file). Its second item lists the parts that lose points, with the
points they must get; every other part must get full marks. The engine's
autograder/tools/examples.py builds them.
"""
from autograder.authoring import (
    add_scratch_cells,
    delete_cell,
    insert_before,
    paste_into_fresh_notebook,
    strip_metadata,
)

FF_INIT = '''
def init_weights(input_size, hidden_size):
    return {{"Wxh": {wxh}, "bh": {bh}}}
'''
FF_FORWARD = '''
def forward(X, params):
    return {body}
'''
RNN_INIT = '''
def init_weights(input_size, hidden_size):
    return {{"Wxh": np.random.randn(input_size, hidden_size),
             "Whh": np.random.randn(hidden_size, hidden_size),
             "bh": {bh}}}
'''
RNN_FORWARD = '''
def forward(X, params):
    H = {h0}
    hidden_states = []
    for x in X:
        {update}
        hidden_states.append(H)
    return {ret}
'''
RNN_FORWARD_OK = dict(
    h0="np.random.randn(X.shape[1], params['Whh'].shape[0])",
    update="H = np.tanh(x @ params['Wxh'] + H @ params['Whh'] + params['bh'])",
    ret="np.stack(hidden_states)",
)
MODULE = '''
class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, batch_size):
        super().__init__()
        self.hidden_size, self.batch_size = hidden_size, batch_size
        {cell}

    def forward(self, X):
        H = {h0}
        hidden_states = []
        for x in X:
            H = {step}
            hidden_states.append(H)
        return {ret}
'''
TRANSFER = '''
def rnn_cell_from_params(params):
    input_size, hidden_size = params["Wxh"].shape
    cell = nn.RNNCell(input_size, hidden_size)
    with torch.no_grad():
        {body}
    return cell
'''
MODULE_OK = dict(
    cell="self.rnn = nn.RNNCell(input_size, hidden_size)",
    h0="torch.randn(X.shape[1], self.hidden_size, device=X.device)",
    step="self.rnn(x, H)",
    ret="torch.stack(hidden_states)",
)


def rnn_forward(**changes):
    return RNN_FORWARD.format(**{**RNN_FORWARD_OK, **changes})


def module(**changes):
    return MODULE.format(**{**MODULE_OK, **changes})


# name -> (answer cells that differ from the reference, parts that lose points)
CASES = {
    # Correct in other words: every legitimate choice gets full marks.
    "correct_reference": ({}, {}),
    "correct_other_style": ({
        "ff_init_weights": FF_INIT.format(wxh="np.random.normal(0, 1, (input_size, hidden_size))",
                                          bh="np.random.normal(size=(1, hidden_size))"),
        "ff_forward": FF_FORWARD.format(body="np.tanh(np.dot(X, params['Wxh']) + params['bh'])"),
        "rnn_init_weights": '''
rng = np.random.default_rng()

def init_weights(input_size, hidden_size):
    params = {}
    params['Wxh'] = rng.standard_normal((input_size, hidden_size))
    params['Whh'] = rng.standard_normal((hidden_size, hidden_size))
    params['bh'] = rng.standard_normal((1, hidden_size))
    return params
''',
        "rnn_forward": '''
def forward(X, params):
    seq_len, batch, _ = X.shape
    Wxh, Whh, bh = params['Wxh'], params['Whh'], params['bh']
    out = np.zeros((seq_len, batch, Whh.shape[0]))
    H = np.random.standard_normal((batch, Whh.shape[0]))
    for t in range(seq_len):
        H = np.tanh(np.dot(X[t], Wxh) + np.dot(H, Whh) + bh)
        out[t] = H
    return out
''',
        "rnn_cell_module": '''
class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, batch_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.batch_size = batch_size
        self.celula = nn.RNNCell(input_size, hidden_size, nonlinearity='tanh')

    def forward(self, X):
        H = torch.randn(X.size(1), self.hidden_size).to(X.device)
        out = torch.empty(X.size(0), X.size(1), self.hidden_size, device=X.device)
        for t in range(X.size(0)):
            H = self.celula(X[t], H)
            out[t] = H
        return out
''',
    }, {}),
    "correct_torch_inits_and_chatter": ({
        "ff_init_weights": '''
import warnings

def init_weights(input_size, hidden_size):
    warnings.warn("using torch to draw the weights")
    print("init", input_size, hidden_size)
    return {"Wxh": torch.randn(input_size, hidden_size, dtype=torch.float64).numpy(),
            "bh": torch.randn(1, hidden_size).double().numpy()}
''',
        "rnn_forward": '''
import sys

def forward(X, params):
    H = np.random.randn(X.shape[1], params['Wxh'].shape[1])
    states = []
    for t in range(len(X)):
        H = np.tanh(np.einsum('bd,dh->bh', X[t], params['Wxh']) + H @ params['Whh'] + params['bh'])
        states.append(H)
        print('step', t, file=sys.stderr)
    return np.array(states)
''',
        "rnn_cell_module": module(step="self.rnn(x, H)", ret="torch.cat([h.unsqueeze(0) for h in hidden_states])"),
    }, {}),
    "correct_with_magics_and_helpers": ({
        "rnn_forward": '''
%load_ext autoreload
def step(x, H, params):
    return np.tanh(x @ params['Wxh'] + H @ params['Whh'] + params['bh'])

def forward(X, params):
    H = np.random.randn(X.shape[1], params['Whh'].shape[1])
    return np.stack([H := step(x, H, params) for x in X])
''',
    }, {}),
    # IPython syntax a kernel accepts, and names one answer cell leaves for the next (`math`, `scale`).
    "correct_with_ipython_syntax": ({
        "ff_init_weights": '''
import math  # Part 2's cell uses it too
files = !ls
np.random.randn?
def init_weights(input_size, hidden_size):
    return {"Wxh": np.random.randn(input_size, hidden_size), "bh": np.random.randn(1, hidden_size)}
''',
        "ff_forward": '''%%time
def forward(X, params):
    Z = (X @ params["Wxh"]
         + params["bh"])
    return np.tanh(Z)
display(forward)
''',
        "rnn_init_weights": '''
%time scale = math.sqrt(1.0)
def init_weights(input_size, hidden_size):
    return {"Wxh": scale * np.random.randn(input_size, hidden_size),
            "Whh": np.random.randn(hidden_size, hidden_size), "bh": np.random.randn(1, hidden_size)}
''',
        "rnn_forward": '''!echo rodando
def forward(X, params):
    assert (X.ndim
            != 2), "X deve ter 3 eixos"
    H = np.random.randn(X.shape[1], params["Whh"].shape[0])
    states = []
    for x in X:
        H = np.tanh(x @ params["Wxh"] + H @ params["Whh"] + params["bh"])
        states.append(H)
    return np.stack(states)
''',
    }, {}),
    # Part 4, other correct ways: the bias on the other side, or a state dict.
    "correct_transfer_bias_on_hh_side": ({"rnn_cell_from_numpy": TRANSFER.format(body=(
        "cell.weight_ih.copy_(torch.tensor(params['Wxh'].T)); cell.weight_hh.copy_(torch.tensor(params['Whh'].T)); "
        "cell.bias_ih.zero_(); cell.bias_hh.copy_(torch.tensor(params['bh'][0]))"))}, {}),
    "correct_transfer_state_dict": ({"rnn_cell_from_numpy": '''
def rnn_cell_from_params(params):
    d, h = params["Wxh"].shape
    cell = nn.RNNCell(d, h)
    half = torch.tensor(params["bh"][0] / 2, dtype=torch.float32)
    cell.load_state_dict({"weight_ih": torch.tensor(params["Wxh"].T, dtype=torch.float32),
                          "weight_hh": torch.tensor(params["Whh"].T, dtype=torch.float32),
                          "bias_ih": half, "bias_hh": half})
    return cell
'''}, {}),
    # Typical mistakes, each costing only its own part.
    "transfer_not_transposed": ({"rnn_cell_from_numpy": TRANSFER.format(body=(
        "cell.weight_ih.copy_(torch.tensor(params['Wxh']).reshape(cell.weight_ih.shape)); "
        "cell.weight_hh.copy_(torch.tensor(params['Whh'])); cell.bias_ih.copy_(torch.tensor(params['bh'][0])); "
        "cell.bias_hh.zero_()"))}, {"rnn_cell_from_numpy": 0.5}),
    "transfer_bias_counted_twice": ({"rnn_cell_from_numpy": TRANSFER.format(body=(
        "cell.weight_ih.copy_(torch.tensor(params['Wxh'].T)); cell.weight_hh.copy_(torch.tensor(params['Whh'].T)); "
        "cell.bias_ih.copy_(torch.tensor(params['bh'][0])); cell.bias_hh.copy_(torch.tensor(params['bh'][0]))"))},
        {"rnn_cell_from_numpy": 0.5}),
    "transfer_keeps_pytorch_weights": ({"rnn_cell_from_numpy": TRANSFER.format(body="pass")},
                                       {"rnn_cell_from_numpy": 0.5}),
    # The optional initial state (H0), taken and ignored: the given-H0 check catches it.
    "rnn_forward_ignores_given_h0": ({"rnn_forward": rnn_forward().replace("def forward(X, params):",
                                                                            "def forward(X, params, H0=None):")},
                                     {"rnn_forward": 2.5}),
    "module_ignores_given_h0": ({"rnn_cell_module": module().replace("def forward(self, X):",
                                                                     "def forward(self, X, H0=None):")},
                                {"rnn_cell_module": 3.75}),
    "rnn_forward_calls_a_helper_it_lacks": ({"rnn_forward": '''
def forward(X, params):
    H = np.random.randn(X.shape[1], params["Whh"].shape[0])
    states = []
    for x in X:
        H = step(x, H, params)  # defined in a cell of the student's own (see correct_with_helper_cell)
        states.append(H)
    return np.stack(states)
'''}, {"rnn_forward": 0}),
    "ff_forward_missing_bias": ({"ff_forward": FF_FORWARD.format(body="np.tanh(X @ params['Wxh'])")}, {"ff_forward": 1.0}),
    "ff_forward_no_tanh": ({"ff_forward": FF_FORWARD.format(body="X @ params['Wxh'] + params['bh']")}, {"ff_forward": 1.0}),
    "ff_init_zero_bias": ({"ff_init_weights": FF_INIT.format(wxh="np.random.randn(input_size, hidden_size)",
                                                             bh="np.zeros((1, hidden_size))")}, {"ff_init_weights": 0.5}),
    "ff_init_uniform": ({"ff_init_weights": FF_INIT.format(wxh="np.random.rand(input_size, hidden_size)",
                                                           bh="np.random.rand(1, hidden_size)")}, {"ff_init_weights": 0.5}),
    "ff_init_flat_bias": ({"ff_init_weights": FF_INIT.format(wxh="np.random.randn(input_size, hidden_size)",
                                                             bh="np.random.randn(hidden_size)")}, {"ff_init_weights": 0.5}),
    "rnn_init_float32": ({"rnn_init_weights": '''
def init_weights(input_size, hidden_size):
    return {"Wxh": np.random.randn(input_size, hidden_size).astype(np.float32),
            "Whh": np.random.randn(hidden_size, hidden_size).astype(np.float32),
            "bh": np.random.randn(1, hidden_size).astype(np.float32)}
'''}, {"rnn_init_weights": 0.5}),
    "rnn_forward_uses_notebook_globals": ({"rnn_forward": rnn_forward(h0="np.random.randn(batch_size, hidden_size)")},
                                          {"rnn_forward": 2.5}),
    "rnn_forward_zero_initial_state": ({"rnn_forward": rnn_forward(h0="np.zeros((X.shape[1], params['Whh'].shape[0]))")},
                                       {"rnn_forward": 2.5}),
    "rnn_forward_one_h0_for_the_batch": ({"rnn_forward": rnn_forward(h0="np.random.randn(1, params['Whh'].shape[0])")},
                                         {"rnn_forward": 2.5}),
    "rnn_forward_returns_list": ({"rnn_forward": rnn_forward(ret="hidden_states")}, {"rnn_forward": 2.75}),
    "rnn_forward_last_state_only": ({"rnn_forward": rnn_forward(ret="H")}, {"rnn_forward": 1.25}),
    "rnn_forward_transposed_whh": ({"rnn_forward": rnn_forward(
        update="H = np.tanh(x @ params['Wxh'] + H @ params['Whh'].T + params['bh'])")}, {"rnn_forward": 1.5}),
    "rnn_forward_stores_previous_state": ({"rnn_forward": '''
def forward(X, params):
    H = np.random.randn(X.shape[1], params['Whh'].shape[0])
    hidden_states = []
    for x in X:
        hidden_states.append(H)
        H = np.tanh(x @ params['Wxh'] + H @ params['Whh'] + params['bh'])
    return np.stack(hidden_states)
'''}, {"rnn_forward": 1.5}),
    "module_lecture_global_device": ({"rnn_cell_module": module(
        h0="torch.randn(self.batch_size, self.hidden_size).to(device)")}, {"rnn_cell_module": 3.25}),
    "module_detaches_states": ({"rnn_cell_module": module(step="self.rnn(x, H).detach()")}, {"rnn_cell_module": 3.5}),
    "module_through_numpy": ({"rnn_cell_module": module(
        ret="torch.from_numpy(np.stack([h.detach().cpu().numpy() for h in hidden_states])).to(X.device)")},
        {"rnn_cell_module": 3.0}),
    "module_zero_initial_state": ({"rnn_cell_module": module(h0="torch.zeros(X.shape[1], self.hidden_size, device=X.device)")},
                                  {"rnn_cell_module": 3.75}),
    "module_without_rnn_cell": ({"rnn_cell_module": module(
        cell="self.lin_x = nn.Linear(input_size, hidden_size); self.lin_h = nn.Linear(hidden_size, hidden_size)",
        step="torch.tanh(self.lin_x(x) + self.lin_h(H))")}, {"rnn_cell_module": 0.25}),
    # Structure judged against the real torch classes: a subclass of nn.RNNCell is one, a stand-in is not.
    "correct_module_with_rnn_cell_subclass": ({"rnn_cell_module": '''
class MyCell(nn.RNNCell):
    """An nn.RNNCell that says what it is."""
    def extra_repr(self):
        return "minha célula: " + super().extra_repr()

class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, batch_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.cell = MyCell(input_size, hidden_size)

    def forward(self, X):
        H = torch.randn(X.shape[1], self.hidden_size, device=X.device)
        states = []
        for x in X:
            H = self.cell(x, H)
            states.append(H)
        return torch.stack(states)
'''}, {}),
    "correct_module_with_nan_guard": ({"rnn_cell_module": module().replace(
        "        H = torch.randn", "        if torch.isnan(X).any():\n            raise ValueError('X tem NaN')\n"
                                  "        H = torch.randn")}, {}),
    "cheat_rebinds_nn_rnncell": ({"rnn_cell_module": '''
class MyCell(nn.Module):
    """Looks like an RNNCell: same attributes, computed by hand."""
    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh"):
        super().__init__()
        self.input_size, self.hidden_size, self.bias, self.nonlinearity = input_size, hidden_size, bias, nonlinearity
        self.weight_ih = nn.Parameter(torch.randn(hidden_size, input_size) / hidden_size ** 0.5)
        self.weight_hh = nn.Parameter(torch.randn(hidden_size, hidden_size) / hidden_size ** 0.5)
        self.bias_ih = nn.Parameter(torch.zeros(hidden_size))
        self.bias_hh = nn.Parameter(torch.zeros(hidden_size))

    def forward(self, x, h):
        return torch.tanh(x @ self.weight_ih.T + self.bias_ih + h @ self.weight_hh.T + self.bias_hh)

nn.RNNCell = MyCell
''' + MODULE.format(**MODULE_OK)}, {"rnn_cell_module": 0.25, "rnn_cell_from_numpy": 0}),
    "cheat_fake_cell_in_numpy_layout": ({"rnn_cell_from_numpy": '''
class NumpyCell(nn.Module):
    """Computes Part 2's step in Part 2's layout; calls itself an RNNCell."""
    def __init__(self, params):
        super().__init__()
        self.input_size, self.hidden_size = params["Wxh"].shape
        self.nonlinearity, self.bias = "tanh", True
        self.Wxh = torch.from_numpy(params["Wxh"]).float()
        self.Whh = torch.from_numpy(params["Whh"]).float()
        self.bh = torch.from_numpy(params["bh"]).float()

    def forward(self, x, h):
        return torch.tanh(x @ self.Wxh + h @ self.Whh + self.bh)

nn.RNNCell = NumpyCell

def rnn_cell_from_params(params):
    return NumpyCell(params)
'''}, {"rnn_cell_from_numpy": 0}),
    # Crashes and hangs cost only the part they are in.
    "crash_os_exit_in_ff_forward": ({"ff_forward": "import os\n" + FF_FORWARD.format(body="os._exit(1)")}, {"ff_forward": 0}),
    "crash_segfault_in_ff_init": ({"ff_init_weights": "import ctypes\n" + FF_INIT.format(wxh="ctypes.string_at(0)", bh="0")},
                                  {"ff_init_weights": 0}),
    "crash_exit_at_cell_top": ({"rnn_cell_module": "import os\nos._exit(0)\n" + module()}, {"rnn_cell_module": 0}),
    "hang_in_rnn_forward": ({"rnn_forward": rnn_forward(update="while True: pass")}, {"rnn_forward": 0}),
    "hang_at_cell_top": ({"rnn_cell_module": "import time\ntime.sleep(3600)\n" + module()}, {"rnn_cell_module": 0}),
    "memory_bomb_in_rnn_init": ({"rnn_init_weights": RNN_INIT.format(bh="np.ones((10**6, 10**6))")}, {"rnn_init_weights": 0}),
    "syntax_error_in_ff_forward": ({"ff_forward": "def forward(X, params)\n    return X"}, {"ff_forward": 0}),
    "untouched_release": (None, {gid: 0 for gid in ("ff_init_weights", "ff_forward", "rnn_init_weights",
                                                     "rnn_forward", "rnn_cell_module", "rnn_cell_from_numpy")}),
    # Cheats: nothing done in the student's process reaches the grader's checks.
    "cheat_monkeypatch_numpy_testing": ({"ff_forward": '''
np.testing.assert_allclose = lambda *args, **kwargs: None
np.allclose = lambda *args, **kwargs: True
def forward(X, params):
    return np.zeros((X.shape[0], params['Wxh'].shape[1]))
'''}, {"ff_forward": 0.25}),
    "cheat_patch_grader_modules": ({"rnn_forward": '''
try:  # whatever of the grader this process can import, patch it
    import autograder.checks, autograder.values
    autograder.checks.fail = lambda message: None
    autograder.checks.check_recurrence = lambda *args, **kwargs: None
except ImportError:
    pass
def forward(X, params):
    return np.zeros((X.shape[0], X.shape[1], params['Whh'].shape[0]))
'''}, {"rnn_forward": 0.25}),
    "cheat_forged_results": ({"ff_forward": '''
import json, sys
print("===== 18 passed in 0.1s =====")
print('{"score": 10.0, "max_score": 10.0}', file=sys.stderr)
json.dump({"score": 10.0}, open("results.json", "w"))
def forward(X, params):
    raise NotImplementedError()
'''}, {"ff_forward": 0}),
}



# name -> (case it starts from, what the student did to the notebook, parts that lose points)
NOTEBOOK_CASES = {
    "correct_without_metadata": ("correct_reference", strip_metadata, {}),
    "correct_pasted_into_fresh_notebook": ("correct_other_style", paste_into_fresh_notebook, {}),
    "correct_with_scratch_cells": ("correct_reference", add_scratch_cells(
        "def forward(X, params):\n    return None", "init_weights = None", "class RNN:\n    pass"), {}),
    "ff_forward_cell_deleted": ("correct_reference", delete_cell("ff_forward"), {"ff_forward": 0}),
    # A copied answer cell: the copy above holds an earlier, wrong try; the last one above the graded cell counts.
    "correct_with_copied_answer_cell": ("correct_reference", insert_before(
        "ff_forward", FF_FORWARD.format(body="X @ params['Wxh']"), copy_metadata=True), {}),
    # A cell of the student's own, above the answer that uses it.
    "correct_with_helper_cell": ("rnn_forward_calls_a_helper_it_lacks", insert_before(
        "rnn_forward", "def step(x, H, params):\n    return np.tanh(x @ params['Wxh'] + H @ params['Whh'] + params['bh'])"),
        {}),
}

# Files that are not (usable) notebooks: (contents, text or bytes, expected error fragment). The error is the
# student's to read: Portuguese, naming the problem and where, never the English of json or nbformat.
BROKEN_FILES = {
    "broken_not_json": ("this is not a notebook\n",
                        "não é um notebook: o conteúdo não é JSON válido (erro na linha 1, coluna 1)"),
    "broken_empty_file": ("", "não é um notebook: o arquivo está vazio"),
    "broken_truncated": (None, "não é um notebook: o conteúdo não é JSON válido (erro na linha"),  # the release cut
    "broken_json_not_notebook": ('{"student": "ana", "answers": []}', 'não é um notebook: falta o campo "nbformat"'),
    # saved by an editor in Latin-1, not UTF-8
    "broken_not_utf8": ('{"cells": [], "metadata": {"autor": "José"}, "nbformat": 4, "nbformat_minor": 5}'
                        .encode("latin-1"), "não é um notebook: o arquivo não está em UTF-8 (byte inválido na posição"),
    "broken_nbformat_version": ('{"cells": [], "metadata": {}, "nbformat": 99, "nbformat_minor": 0}',
                                "não é um notebook: versão 99 do formato nbformat; o corretor lê as versões 1 a 4"),
    "broken_invalid_cell": ('{"cells": [{"cell_type": "code", "source": 3}], "metadata": {}, "nbformat": 4, '
                            '"nbformat_minor": 5}', "não é um notebook: não segue o formato nbformat 4"),
}


# The cases shipped in examples/submitted/ for `make grade` to run on: honest
# work only, so that `nbgrader autograde` can grade them too and the two
# graders can be compared (crashes, hangs and cheats stay in the test corpus).
EXAMPLES = [
    "correct_reference",
    "correct_other_style",
    "correct_with_ipython_syntax",
    "untouched_release",
    "ff_init_zero_bias",
    "rnn_forward_uses_notebook_globals",
    "rnn_forward_returns_list",
    "module_lecture_global_device",
    "module_detaches_states",
]
# The mix `python -m autograder.tools.benchmark` grades: kinds of correct and faulty work, and a hang.
BENCHMARK = [
    "correct_reference", "correct_other_style", "correct_torch_inits_and_chatter", "ff_forward_missing_bias",
    "ff_init_zero_bias", "rnn_forward_uses_notebook_globals", "rnn_forward_returns_list",
    "rnn_forward_zero_initial_state", "module_detaches_states", "module_lecture_global_device",
]
BENCHMARK_HANG = "hang_in_rnn_forward"
