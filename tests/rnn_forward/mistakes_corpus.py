"""Wrong answers written as students write them, each with the mistakes the grader must name.

MISTAKES: {case: (grade_id, answer cell, codes)}: the answer replaces the
reference in that part's cell of the release notebook (every other part is
the reference), and `codes` are exactly the diagnosis codes the part's failed
tests must carry, together. Several styles per mistake: loops, vectorised
code, the lecture's own style.
"""
FF_INIT = '''
def init_weights(input_size, hidden_size):
    return {{"Wxh": {wxh}, "bh": {bh}}}
'''
RNN_INIT = '''
def init_weights(input_size, hidden_size):
    return {{"Wxh": {wxh}, "Whh": {whh}, "bh": {bh}}}
'''
OK_W = "np.random.randn(input_size, hidden_size)"
OK_U = "np.random.randn(hidden_size, hidden_size)"
OK_B = "np.random.randn(1, hidden_size)"


def ff_init(wxh=OK_W, bh=OK_B):
    return FF_INIT.format(wxh=wxh, bh=bh)


def rnn_init(wxh=OK_W, whh=OK_U, bh=OK_B):
    return RNN_INIT.format(wxh=wxh, whh=whh, bh=bh)


FF = '''
def forward(X, params):
    {body}
'''
# Part 2, lecture style: a loop over time that appends each state.
LOOP = '''
def forward(X, params, H0=None):
    Wxh, Whh, bh = params["Wxh"], params["Whh"], params["bh"]
    H = {h0} if H0 is None else H0
    states = []
    for x in X:
        {body}
    return {ret}
'''
LOOP_OK = dict(h0="np.random.randn(X.shape[1], Whh.shape[0])",
               body="H = np.tanh(x @ Wxh + H @ Whh + bh)\n        states.append(H)",
               ret="np.stack(states)")
# Part 2, another style: an array filled by index.
FILLED = '''
def forward(X, params):
    seq_len, batch, _ = X.shape
    hidden = params["Whh"].shape[1]
    out = np.zeros((seq_len, batch, hidden))
    H = {h0}
    for t in range(seq_len):
        {body}
    return {ret}
'''
FILLED_OK = dict(h0="np.random.standard_normal((batch, hidden))",
                 body="H = np.tanh(np.dot(X[t], params['Wxh']) + np.dot(H, params['Whh']) + params['bh'])\n"
                      "        out[t] = H",
                 ret="out")
MODULE = '''
class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, batch_size):
        super().__init__()
        self.input_size, self.hidden_size, self.batch_size = input_size, hidden_size, batch_size
        {init}

    def forward(self, X):
        H = {h0}
        states = []
        for x in X:
            {body}
        return {ret}
'''
MODULE_OK = dict(init="self.cell = nn.RNNCell(input_size, hidden_size)",
                 h0="torch.randn(X.shape[1], self.hidden_size, device=X.device)",
                 body="H = self.cell(x, H)\n            states.append(H)",
                 ret="torch.stack(states)")


# Part 4, as students copy: copy_ under no_grad, one line per parameter.
TRANSFER = '''
def rnn_cell_from_params(params):
    input_size, hidden_size = params["Wxh"].shape
    cell = nn.RNNCell(input_size, hidden_size)
    with torch.no_grad():
        {body}
    return cell
'''
TRANSFER_OK = dict(wih="torch.from_numpy(params['Wxh'].T)", whh="torch.from_numpy(params['Whh'].T)",
                   bih="torch.from_numpy(params['bh'][0])", bhh="cell.bias_hh.zero_()")


def loop(**changes):
    return LOOP.format(**{**LOOP_OK, **changes})


def filled(**changes):
    return FILLED.format(**{**FILLED_OK, **changes})


def module(**changes):
    return MODULE.format(**{**MODULE_OK, **changes})


def transfer(**changes):
    parts = {**TRANSFER_OK, **changes}
    lines = [f"cell.weight_ih.copy_({parts['wih']})", f"cell.weight_hh.copy_({parts['whh']})"]
    lines += [f"cell.bias_ih.copy_({parts['bih']})"] if parts["bih"] else []
    lines += [parts["bhh"]] if parts["bhh"] else []
    return TRANSFER.format(body="\n        ".join(lines))


MISTAKES = {
    # init_weights, both parts
    "ff_init_keys_with_underscores": ("ff_init_weights", ff_init().replace('"Wxh"', '"W_xh"').replace('"bh"', '"b_h"'),
                                      {"wrong_keys"}),
    "rnn_init_lowercase_keys": ("rnn_init_weights", '''
def init_weights(input_size, hidden_size):
    params = dict()
    params["wxh"] = np.random.randn(input_size, hidden_size)
    params["whh"] = np.random.randn(hidden_size, hidden_size)
    params["bh"] = np.random.randn(1, hidden_size)
    return params
''', {"wrong_keys"}),
    "rnn_init_missing_bias_key": ("rnn_init_weights", '''
def init_weights(input_size, hidden_size):
    return {"Wxh": np.random.randn(input_size, hidden_size), "Whh": np.random.randn(hidden_size, hidden_size)}
''', {"wrong_keys"}),
    "ff_init_flat_bias": ("ff_init_weights", ff_init(bh="np.random.randn(hidden_size)"), {"wrong_shape"}),
    "rnn_init_whh_of_input_size": ("rnn_init_weights", rnn_init(whh="np.random.randn(input_size, hidden_size)"),
                                   {"wrong_shape"}),
    "ff_init_transposed_wxh": ("ff_init_weights", ff_init(wxh="np.random.randn(hidden_size, input_size)"),
                               {"transposed_shape"}),
    "rnn_init_column_bias": ("rnn_init_weights", rnn_init(bh="np.random.randn(hidden_size, 1)"), {"transposed_shape"}),
    "ff_init_float32": ("ff_init_weights", ff_init(wxh="np.random.randn(input_size, hidden_size).astype(np.float32)",
                                                   bh="np.random.randn(1, hidden_size).astype('float32')"),
                        {"not_float64"}),
    "rnn_init_torch_randn": ("rnn_init_weights", '''
def init_weights(input_size, hidden_size):
    return {name: torch.randn(*shape).numpy() for name, shape in
            [("Wxh", (input_size, hidden_size)), ("Whh", (hidden_size, hidden_size)), ("bh", (1, hidden_size))]}
''', {"not_float64"}),
    "ff_init_uniform": ("ff_init_weights", ff_init(wxh="np.random.rand(input_size, hidden_size)",
                                                   bh="np.random.rand(1, hidden_size)"), {"not_standard_normal"}),
    "rnn_init_scaled": ("rnn_init_weights", rnn_init(whh="np.random.randn(hidden_size, hidden_size) * 0.01"),
                        {"not_standard_normal"}),
    "rnn_init_xavier": ("rnn_init_weights", rnn_init(wxh="np.random.randn(input_size, hidden_size) / np.sqrt(input_size)"),
                        {"not_standard_normal"}),
    "rnn_init_global_sizes": ("rnn_init_weights", '''
def init_weights(n_in, n_hidden):
    return {"Wxh": np.random.randn(n_in, n_hidden), "Whh": np.random.randn(hidden_size, hidden_size),
            "bh": np.random.randn(1, n_hidden)}
''', {"sizes_from_globals"}),
    "ff_init_zero_bias": ("ff_init_weights", ff_init(bh="np.zeros((1, hidden_size))"), {"zero_bias"}),
    "rnn_init_zero_bias_like": ("rnn_init_weights", '''
def init_weights(input_size, hidden_size):
    Wxh = np.random.normal(0, 1, (input_size, hidden_size))
    Whh = np.random.normal(0, 1, (hidden_size, hidden_size))
    return {"Wxh": Wxh, "Whh": Whh, "bh": np.zeros_like(Whh[:1])}
''', {"zero_bias"}),
    # ff_forward
    "ff_missing_bias": ("ff_forward", FF.format(body="return np.tanh(X @ params['Wxh'])"), {"missing_bias"}),
    "ff_missing_bias_dot": ("ff_forward", FF.format(body="Z = np.dot(X, params['Wxh'])\n    return np.tanh(Z)"),
                            {"missing_bias"}),
    "ff_missing_tanh": ("ff_forward", FF.format(body="return X @ params['Wxh'] + params['bh']"), {"missing_tanh"}),
    "ff_missing_tanh_rows": ("ff_forward", FF.format(
        body="return np.array([x @ params['Wxh'] + params['bh'][0] for x in X])"), {"missing_tanh"}),
    "ff_relu": ("ff_forward", FF.format(body="return np.maximum(0, X @ params['Wxh'] + params['bh'])"),
                {"wrong_activation"}),
    "ff_sigmoid": ("ff_forward", FF.format(body="return 1 / (1 + np.exp(-(X @ params['Wxh'] + params['bh'])))"),
                   {"wrong_activation"}),
    "ff_bias_reshaped_with_globals": ("ff_forward", FF.format(
        body="return np.tanh(X @ params['Wxh'] + params['bh'].reshape(1, hidden_size))"), {"sizes_from_globals"}),
    "ff_loop_over_global_batch": ("ff_forward", FF.format(body='''out = np.zeros((batch_size, hidden_size))
    for i in range(batch_size):
        out[i] = np.tanh(X[i] @ params['Wxh'] + params['bh'][0])
    return out'''), {"sizes_from_globals"}),
    "ff_float32": ("ff_forward", FF.format(body="return np.tanh(X @ params['Wxh'] + params['bh']).astype(np.float32)"),
                   {"not_float64"}),
    "ff_through_torch": ("ff_forward", FF.format(
        body="Z = torch.from_numpy(X).float() @ torch.from_numpy(params['Wxh']).float()\n"
             "    return torch.tanh(Z + torch.from_numpy(params['bh']).float()).numpy()"), {"not_float64"}),
    # rnn_forward: the step
    "rnn_missing_bias": ("rnn_forward", loop(body="H = np.tanh(x @ Wxh + H @ Whh)\n        states.append(H)"),
                         {"missing_bias"}),
    "rnn_missing_bias_filled": ("rnn_forward", filled(
        body="H = np.tanh(np.dot(X[t], params['Wxh']) + np.dot(H, params['Whh']))\n        out[t] = H"),
        {"missing_bias"}),
    "rnn_missing_tanh": ("rnn_forward", loop(body="H = x @ Wxh + H @ Whh + bh\n        states.append(H)"),
                         {"missing_tanh"}),
    "rnn_missing_tanh_filled": ("rnn_forward", filled(
        body="out[t] = X[t] @ params['Wxh'] + H @ params['Whh'] + params['bh']\n        H = out[t]"), {"missing_tanh"}),
    "rnn_relu": ("rnn_forward", loop(body="H = np.maximum(x @ Wxh + H @ Whh + bh, 0)\n        states.append(H)"),
                 {"wrong_activation"}),
    "rnn_sigmoid": ("rnn_forward", filled(
        body="H = 1 / (1 + np.exp(-(X[t] @ params['Wxh'] + H @ params['Whh'] + params['bh'])))\n        out[t] = H"),
        {"wrong_activation"}),
    "rnn_transposed_whh": ("rnn_forward", loop(body="H = np.tanh(x @ Wxh + H @ Whh.T + bh)\n        states.append(H)"),
                           {"transposed_whh"}),
    "rnn_transposed_whh_column_style": ("rnn_forward", loop(
        body="H = np.tanh(x @ Wxh + (Whh @ H.T).T + bh)\n        states.append(H)"), {"transposed_whh"}),
    "rnn_missing_bias_and_tanh": ("rnn_forward", loop(body="H = x @ Wxh + H @ Whh\n        states.append(H)"),
                                  {"missing_bias", "missing_tanh"}),
    # rnn_forward: what it returns
    "rnn_h0_included": ("rnn_forward", loop(body="states.append(H)\n        H = np.tanh(x @ Wxh + H @ Whh + bh)",
                                            ret="np.stack(states + [H])"), {"h0_included"}),
    "rnn_h0_included_filled": ("rnn_forward", '''
def forward(X, params):
    n, b, _ = X.shape
    h = params["Whh"].shape[0]
    out = np.empty((n + 1, b, h))
    out[0] = np.random.randn(b, h)
    for t in range(n):
        out[t + 1] = np.tanh(X[t] @ params["Wxh"] + out[t] @ params["Whh"] + params["bh"])
    return out
''', {"h0_included"}),
    "rnn_last_state_only": ("rnn_forward", loop(ret="H"), {"last_state_only"}),
    "rnn_last_state_only_filled": ("rnn_forward", filled(ret="out[-1]"), {"last_state_only"}),
    "rnn_returns_tuple": ("rnn_forward", loop(ret="np.stack(states), H"), {"returns_tuple"}),
    "rnn_returns_tuple_filled": ("rnn_forward", filled(ret="(out, out[-1])"), {"returns_tuple"}),
    "rnn_returns_list": ("rnn_forward", loop(ret="states"), {"returns_list"}),
    "rnn_concatenated": ("rnn_forward", loop(ret="np.concatenate(states)"), {"cat_instead_of_stack"}),
    "rnn_hstacked": ("rnn_forward", loop(ret="np.hstack(states)"), {"cat_instead_of_stack"}),
    "rnn_stacked_on_axis_1": ("rnn_forward", loop(ret="np.stack(states, axis=1)"), {"wrong_stack_axis"}),
    # rnn_forward: the order of the loop
    "rnn_stored_before_update": ("rnn_forward", loop(body="states.append(H)\n        H = np.tanh(x @ Wxh + H @ Whh + bh)"),
                                 {"states_shifted"}),
    "rnn_stored_before_update_filled": ("rnn_forward", filled(
        body="out[t] = H\n        H = np.tanh(X[t] @ params['Wxh'] + H @ params['Whh'] + params['bh'])"),
        {"states_shifted"}),
    "rnn_updated_in_place": ("rnn_forward", loop(h0="np.random.randn(X.shape[1], Whh.shape[0])",
                                                 body="H[:] = np.tanh(x @ Wxh + H @ Whh + bh)\n        states.append(H)"),
                             {"states_aliased", "argument_modified"}),
    "rnn_tanh_out_in_place": ("rnn_forward", loop(body="np.tanh(x @ Wxh + H @ Whh + bh, out=H)\n        states.append(H)"),
                              {"states_aliased", "argument_modified"}),
    "rnn_time_axis_batch_first": ("rnn_forward", '''
def forward(X, params):
    batch, seq_len, _ = X.shape  # (as if X were batch-first)
    H = np.random.randn(batch, params["Whh"].shape[0])
    states = []
    for t in range(seq_len):
        H = np.tanh(X[:, t] @ params["Wxh"] + H @ params["Whh"] + params["bh"])
        states.append(H)
    return np.stack(states)
''', {"wrong_time_axis"}),
    "rnn_time_axis_loop_count": ("rnn_forward", '''
def forward(X, params):
    H = np.random.randn(X.shape[1], params["Whh"].shape[0])
    states = []
    for t in range(X.shape[1]):
        H = np.tanh(X[t] @ params["Wxh"] + H @ params["Whh"] + params["bh"])
        states.append(H)
    return np.array(states)
''', {"wrong_time_axis"}),
    "rnn_float32_then_cast": ("rnn_forward", '''
def forward(X, params, H0=None):
    H = (np.random.randn(X.shape[1], params["Whh"].shape[0]) if H0 is None else H0).astype(np.float32)
    Wxh, Whh, bh = (params[k].astype(np.float32) for k in ("Wxh", "Whh", "bh"))
    states = []
    for x in X.astype(np.float32):
        H = np.tanh(x @ Wxh + H @ Whh + bh)
        states.append(H)
    return np.stack(states).astype(np.float64)
''', {"low_precision"}),
    "rnn_input_index_off_by_one": ("rnn_forward", filled(
        body="H = np.tanh(X[t - 1] @ params['Wxh'] + H @ params['Whh'] + params['bh'])\n        out[t] = H"),
        {"input_shifted"}),
    "rnn_last_state_appended_twice": ("rnn_forward", loop(ret="np.stack(states + [H])"), {"extra_state"}),
    "rnn_zero_h0_behind_a_drawn_one": ("rnn_forward", loop(
        h0="np.zeros((X.shape[1], Whh.shape[0]))",
        body="states = states or [np.random.randn(*H.shape)]\n        H = np.tanh(x @ Wxh + H @ Whh + bh)\n"
             "        states.append(H)"), {"h0_included", "h0_zeros"}),
    # Noise of the right size plus one: nothing to read, nothing earned (see test_diagnosis).
    "rnn_noise_one_state_too_many": ("rnn_forward", '''
def forward(X, params, H0=None):
    return np.random.randn(X.shape[0] + 1, X.shape[1], params["Whh"].shape[0])
''', {"h0_included"}),
    # rnn_forward: H_0
    "rnn_h0_zeros": ("rnn_forward", loop(h0="np.zeros((X.shape[1], Whh.shape[0]))"), {"h0_zeros"}),
    "rnn_h0_zeros_filled": ("rnn_forward", filled(h0="np.zeros_like(out[0])"), {"h0_zeros"}),
    "rnn_h0_uniform": ("rnn_forward", loop(h0="np.random.rand(X.shape[1], Whh.shape[0])"), {"h0_not_standard_normal"}),
    "rnn_h0_scaled": ("rnn_forward", filled(h0="0.01 * np.random.randn(batch, hidden)"), {"h0_not_standard_normal"}),
    "rnn_h0_one_row": ("rnn_forward", loop(h0="np.random.randn(1, Whh.shape[0])"), {"h0_shared_across_batch"}),
    "rnn_h0_vector": ("rnn_forward", filled(h0="np.random.randn(hidden)"), {"h0_shared_across_batch"}),
    "rnn_h0_seeded": ("rnn_forward", '''
def forward(X, params):
    np.random.seed(0)
    H = np.random.randn(X.shape[1], params["Whh"].shape[0])
    states = []
    for x in X:
        H = np.tanh(x @ params["Wxh"] + H @ params["Whh"] + params["bh"])
        states.append(H)
    return np.stack(states)
''', {"h0_fixed_seed"}),
    "rnn_h0_own_generator": ("rnn_forward", filled(h0="np.random.default_rng(42).standard_normal((batch, hidden))"),
                             {"h0_fixed_seed"}),
    "rnn_h0_ignores_argument": ("rnn_forward", loop().replace("if H0 is None else H0", ""), {"h0_argument_ignored"}),
    # rnn_forward: sizes
    "rnn_h0_global_sizes": ("rnn_forward", loop(h0="np.random.randn(batch_size, hidden_size)"), {"sizes_from_globals"}),
    "rnn_preallocated_global_sizes": ("rnn_forward", '''
def forward(X, params):
    out = np.zeros((seq_len, batch_size, hidden_size))
    H = np.random.randn(batch_size, hidden_size)
    for t in range(seq_len):
        H = np.tanh(X[t] @ params["Wxh"] + H @ params["Whh"] + params["bh"])
        out[t] = H
    return out
''', {"sizes_from_globals"}),
    # rnn_cell_module
    "module_linear_layers": ("rnn_cell_module", module(
        init="self.lin_x = nn.Linear(input_size, hidden_size)\n        self.lin_h = nn.Linear(hidden_size, hidden_size)",
        body="H = torch.tanh(self.lin_x(x) + self.lin_h(H))\n            states.append(H)"), {"no_rnn_cell"}),
    "module_uses_nn_rnn": ("rnn_cell_module", '''
class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, batch_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.rnn = nn.RNN(input_size, hidden_size)

    def forward(self, X):
        H0 = torch.randn(1, X.shape[1], self.hidden_size, device=X.device)
        out, _ = self.rnn(X, H0)
        return out
''', {"uses_nn_rnn"}),
    "module_cell_in_forward": ("rnn_cell_module", module(
        init="pass", body="H = nn.RNNCell(self.input_size, self.hidden_size).to(X.device)(x, H)\n"
                          "            states.append(H)"), {"cell_created_in_forward"}),
    "module_cell_attribute_set_in_forward": ("rnn_cell_module", '''
class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, batch_size):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size

    def forward(self, X):
        self.cell = nn.RNNCell(self.input_size, self.hidden_size).to(X.device)
        H = torch.randn(X.shape[1], self.hidden_size, device=X.device)
        out = []
        for t in range(X.shape[0]):
            H = self.cell(X[t], H)
            out.append(H)
        return torch.stack(out)
''', {"cell_created_in_forward"}),
    "module_detached_steps": ("rnn_cell_module", module(body="H = self.cell(x, H).detach()\n            states.append(H)"),
                              {"graph_detached"}),
    "module_no_grad": ("rnn_cell_module", module(body="with torch.no_grad():\n                H = self.cell(x, H)\n"
                                                      "            states.append(H)"), {"graph_detached"}),
    "module_rebuilt_tensor": ("rnn_cell_module", module(
        ret="torch.tensor(np.stack([s.detach().cpu().numpy() for s in states]), device=X.device)"),
        {"graph_detached"}),
    "module_global_device": ("rnn_cell_module", module(h0="torch.randn(X.shape[1], self.hidden_size).to(device)"),
                             {"device_fixed"}),
    "module_cpu_device": ("rnn_cell_module", module(h0="torch.randn(X.shape[1], self.hidden_size, device='cpu')"),
                          {"device_fixed"}),
    "module_cuda_if_available": ("rnn_cell_module", module(
        h0="torch.randn(X.shape[1], self.hidden_size, device='cuda' if torch.cuda.is_available() else 'cpu')"),
        {"device_fixed"}),
    "module_batch_from_constructor": ("rnn_cell_module", module(
        h0="torch.randn(self.batch_size, self.hidden_size, device=X.device)"), {"sizes_from_constructor"}),
    "module_lecture_style": ("rnn_cell_module", module(h0="torch.randn(self.batch_size, self.hidden_size).to(device)"),
                             {"sizes_from_constructor", "device_fixed"}),
    "module_global_hidden_size": ("rnn_cell_module", module(h0="torch.randn(X.shape[1], hidden_size, device=X.device)"),
                                  {"sizes_from_globals"}),
    "module_one_h0_row": ("rnn_cell_module", module(h0="torch.randn(1, self.hidden_size, device=X.device)"),
                          {"h0_shared_across_batch"}),
    "module_numpy_without_detach": ("rnn_cell_module", module(ret="torch.tensor(np.stack([s.numpy() for s in states]))"),
                                    {"graph_detached"}),
    "module_moves_x_to_global_device": ("rnn_cell_module", module(
        h0="torch.randn((X := X.to(device)).shape[1], self.hidden_size, device=X.device)"), {"device_fixed"}),
    "module_states_and_last": ("rnn_cell_module", module(ret="states, H"), {"returns_tuple", "returns_list"}),
    "module_cell_of_global_size": ("rnn_cell_module", module(
        init="self.cell = nn.RNNCell(input_size, globals()['hidden_size'])"), {"sizes_from_globals"}),
    "module_relu_cell": ("rnn_cell_module", module(
        init="self.cell = nn.RNNCell(input_size, hidden_size, nonlinearity='relu')"), {"cell_config"}),
    "module_cell_without_bias": ("rnn_cell_module", module(
        init="self.cell = nn.RNNCell(input_size, hidden_size, bias=False)"), {"cell_config"}),
    "module_h0_zeros": ("rnn_cell_module", module(h0="torch.zeros(X.shape[1], self.hidden_size, device=X.device)"),
                        {"h0_zeros"}),
    "module_h0_zeros_like": ("rnn_cell_module", module(
        h0="torch.zeros_like(X[0, :, :1]).expand(-1, self.hidden_size)"), {"h0_zeros"}),
    "module_h0_uniform": ("rnn_cell_module", module(h0="torch.rand(X.shape[1], self.hidden_size, device=X.device)"),
                          {"h0_not_standard_normal"}),
    "module_concatenated": ("rnn_cell_module", module(ret="torch.cat(states)"), {"cat_instead_of_stack"}),
    "module_concatenated_dim_1": ("rnn_cell_module", module(ret="torch.cat(states, dim=1)"), {"cat_instead_of_stack"}),
    "module_returns_list": ("rnn_cell_module", module(ret="states"), {"returns_list"}),
    "module_returns_tuple": ("rnn_cell_module", module(ret="torch.stack(states), H"), {"returns_tuple"}),
    "module_h0_included": ("rnn_cell_module", module(
        body="states.append(H)\n            H = self.cell(x, H)", ret="torch.stack(states + [H])"), {"h0_included"}),
    "module_last_state_only": ("rnn_cell_module", module(ret="H"), {"last_state_only"}),
    "module_last_of_the_stack": ("rnn_cell_module", module(ret="torch.stack(states)[-1]"), {"last_state_only"}),
    # rnn_cell_from_numpy
    "transfer_whh_as_is": ("rnn_cell_from_numpy", transfer(whh="torch.from_numpy(params['Whh'])"),
                           {"transfer_whh_not_transposed"}),
    "transfer_whh_tensor_as_is": ("rnn_cell_from_numpy", '''
def rnn_cell_from_params(params):
    d, h = params["Wxh"].shape
    cell = nn.RNNCell(d, h)
    cell.weight_ih = nn.Parameter(torch.tensor(params["Wxh"].T, dtype=torch.float32))
    cell.weight_hh = nn.Parameter(torch.tensor(params["Whh"], dtype=torch.float32))
    cell.bias_ih = nn.Parameter(torch.tensor(params["bh"].ravel(), dtype=torch.float32))
    cell.bias_hh = nn.Parameter(torch.zeros(h))
    return cell
''', {"transfer_whh_not_transposed"}),
    "transfer_wxh_reshaped": ("rnn_cell_from_numpy", transfer(
        wih="torch.from_numpy(params['Wxh']).reshape(cell.weight_ih.shape)"), {"transfer_wxh_reshaped"}),
    "transfer_wxh_view_and_whh_as_is": ("rnn_cell_from_numpy", transfer(
        wih="torch.from_numpy(params['Wxh'].copy()).view(input_size, hidden_size).view(hidden_size, input_size)",
        whh="torch.from_numpy(params['Whh'])"), {"transfer_wxh_reshaped", "transfer_whh_not_transposed"}),
    "transfer_wxh_not_transposed": ("rnn_cell_from_numpy", transfer(wih="torch.from_numpy(params['Wxh'])"),
                                    {"transfer_shape"}),
    "transfer_both_biases_bh": ("rnn_cell_from_numpy", transfer(bhh="cell.bias_hh.copy_(torch.from_numpy(params['bh'][0]))"),
                                {"transfer_bias_doubled"}),
    "transfer_both_biases_zero": ("rnn_cell_from_numpy", transfer(bih="torch.zeros(hidden_size)"),
                                  {"transfer_bias_missing"}),
    "transfer_bias_hh_left_random": ("rnn_cell_from_numpy", transfer(bhh=""), {"transfer_bias_offset"}),
    "transfer_nothing_copied": ("rnn_cell_from_numpy", '''
def rnn_cell_from_params(params):
    input_size, hidden_size = params["Wxh"].shape
    return nn.RNNCell(input_size, hidden_size)
''', {"transfer_params_ignored"}),
    "transfer_copies_then_returns_a_new_cell": ("rnn_cell_from_numpy", transfer().replace(
        "    return cell", "    return nn.RNNCell(input_size, hidden_size)"), {"transfer_params_ignored"}),
    # a seed fixed inside init_weights, or numbers that only look drawn: the same values at every call
    "ff_init_seeded_inside": ("ff_init_weights", '''
def init_weights(input_size, hidden_size):
    np.random.seed(0)
    return {"Wxh": np.random.randn(input_size, hidden_size), "bh": np.random.randn(1, hidden_size)}
''', {"init_not_random"}),
    "rnn_init_seeded_generator": ("rnn_init_weights", '''
def init_weights(input_size, hidden_size):
    rng = np.random.default_rng(42)
    return {"Wxh": rng.standard_normal((input_size, hidden_size)),
            "Whh": rng.standard_normal((hidden_size, hidden_size)),
            "bh": rng.standard_normal((1, hidden_size))}
''', {"init_not_random"}),
    "rnn_init_fixed_quantiles": ("rnn_init_weights", '''
from statistics import NormalDist

def quantiles(*shape):
    count = int(np.prod(shape))
    values = np.array([NormalDist().inv_cdf((i + 0.5) / count) for i in range(count)])
    return values[np.argsort(np.sin(np.arange(count)))].reshape(shape)

def init_weights(input_size, hidden_size):
    return {"Wxh": quantiles(input_size, hidden_size), "Whh": quantiles(hidden_size, hidden_size),
            "bh": quantiles(1, hidden_size)}
''', {"init_not_random"}),
    # H_1 computed from H_0 alone, then the loop over the rest of X
    "rnn_first_step_without_x1": ("rnn_forward", '''
def forward(X, params, H0=None):
    Wxh, Whh, bh = params["Wxh"], params["Whh"], params["bh"]
    H = np.random.randn(X.shape[1], Whh.shape[0]) if H0 is None else H0
    H = np.tanh(H @ Whh + bh)
    states = [H]
    for x in X[1:]:
        H = np.tanh(x @ Wxh + H @ Whh + bh)
        states.append(H)
    return np.stack(states)
''', {"first_step_ignores_x1"}),
    "module_first_step_without_x1": ("rnn_cell_module", '''
class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, batch_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.cell = nn.RNNCell(input_size, hidden_size)

    def forward(self, X):
        H = torch.randn(X.shape[1], self.hidden_size, device=X.device)
        H = self.cell(torch.zeros_like(X[0]), H)
        states = [H]
        for x in X[1:]:
            H = self.cell(x, H)
            states.append(H)
        return torch.stack(states)
''', {"first_step_ignores_x1"}),
    # a module that reads X's numbers cannot run on 'meta': its device is judged with a decoy instead
    "module_nan_guard_default_device": ("rnn_cell_module", module(
        h0="torch.randn(X.shape[1], self.hidden_size) if not torch.isnan(X).any() else None"), {"device_fixed"}),
    "module_printed_norm_global_device": ("rnn_cell_module", module(
        h0="torch.randn(X.shape[1], self.hidden_size, device=device) + 0 * float(X.norm())"), {"device_fixed"}),
    # the contract says: do not change X nor params
    "ff_forward_clears_x_after_use": ("ff_forward", FF.format(
        body="out = np.tanh(X @ params['Wxh'] + params['bh'])\n    X.fill(0)  # done with it\n    return out"),
        {"argument_modified"}),
    "ff_forward_params_bias_reshaped": ("ff_forward", FF.format(
        body="params['bh'] = params['bh'].ravel()\n    return np.tanh(X @ params['Wxh'] + params['bh'])"),
        {"argument_modified"}),
    "rnn_forward_overwrites_x": ("rnn_forward", '''
def forward(X, params, H0=None):
    Wxh, Whh, bh = params["Wxh"], params["Whh"], params["bh"]
    H = np.random.randn(X.shape[1], Whh.shape[0]) if H0 is None else H0
    for t in range(len(X)):
        H = np.tanh(X[t] @ Wxh + H @ Whh + bh)
        X[t, :, :1] = 0  # "frees" the step already used
        yield_ = H
        if t == 0:
            states = np.empty((len(X), *H.shape))
        states[t] = yield_
    return states
''', {"argument_modified"}),
    "transfer_transposes_params_in_place": ("rnn_cell_from_numpy", '''
def rnn_cell_from_params(params):
    params["Wxh"], params["Whh"] = params["Wxh"].T, params["Whh"].T  # PyTorch's layout
    hidden_size, input_size = params["Wxh"].shape
    cell = nn.RNNCell(input_size, hidden_size)
    with torch.no_grad():
        cell.weight_ih.copy_(torch.from_numpy(params["Wxh"]))
        cell.weight_hh.copy_(torch.from_numpy(params["Whh"]))
        cell.bias_ih.copy_(torch.from_numpy(params["bh"][0]))
        cell.bias_hh.zero_()
    return cell
''', {"argument_modified"}),
    "module_cell_reinitialised": ("rnn_cell_module", module(
        init="self.cell = nn.RNNCell(input_size, hidden_size)\n"
             "        for p in self.cell.parameters():\n"
             "            nn.init.normal_(p)"), {"cell_reinitialised"}),
    "module_cell_zeroed": ("rnn_cell_module", module(
        init="self.cell = nn.RNNCell(input_size, hidden_size)\n"
             "        for p in self.cell.parameters():\n"
             "            nn.init.zeros_(p)"), {"cell_reinitialised"}),
    "rnn_first_step_scaled_x1": ("rnn_forward", '''
def forward(X, params):
    H = np.random.randn(X.shape[1], params["Whh"].shape[0])
    states = []
    for t, x in enumerate(X):
        H = np.tanh((0.6 if t == 0 else 1.0) * (x @ params["Wxh"]) + H @ params["Whh"] + params["bh"])
        states.append(H)
    return np.stack(states)
''', {"first_step_ignores_x1"}),
}
