"""What a student's layer returned, read as the stack of states despite its mistakes, and which mistakes explain it.

`diagnose` first reads the output's form: a list, a tuple, H_0 included or
concatenated states are certain mistakes of form (they cost the test of the
output's type and shape), and the states read through them are checked for
everything else. Then it runs the versions of a step in mistakes.STEPS, in
three orders (right, each state stored before its update, one buffer stored
every time), on the student's own states and the grader's weights, and keeps
the first that explains them. A student's array reaches arithmetic only once
its shape is one of the few the contract's sizes allow.
"""
from dataclasses import dataclass, field

import numpy as np

from autograder.authoring import SequenceValue, TensorValue, tolerance

from .mistakes import FEED_FORWARD_STEPS, INVERSES, RIGHT, STEPS, TRANSFERS, Step

LOOSE = 10  # a mistake explains the output within this many times the check's tolerance
UNDONE_STEPS = 10  # states are rebuilt from H_N alone over at most this many steps (rounding grows with each)


@dataclass
class Reading:
    """A layer's output read as H_1..H_n, shape (n, b, h); `states` is None when it cannot be."""

    states: "np.ndarray | None"
    form: tuple = ()  # mistakes of form: they cost the output's shape, not what is checked on `states`
    H0: "np.ndarray | None" = None  # when the output holds H_0 itself
    step: "Step | None" = None  # the version of the step that explains the states; None: none does
    order: str = "right"  # "right", "shifted" (stored before the update), "input_shifted" or "aliased" (one buffer)
    behaviour: tuple = field(default=())  # the step's and the order's mistakes

    @property
    def explained(self) -> bool:
        return self.step is not None

    @property
    def codes(self) -> tuple:
        return (*self.form, *self.behaviour)


ORDER_CODES = {"right": (), "shifted": ("states_shifted",), "input_shifted": ("input_shifted",),
               "aliased": ("states_aliased",)}


def numbers(value) -> "np.ndarray | None":
    """The real numbers in a returned ndarray or tensor, or None."""
    array = value if isinstance(value, np.ndarray) else value.array if isinstance(value, TensorValue) else None
    return array if array is not None and array.dtype.kind in "biuf" else None


def read_forms(value, n: int, b: int, h: int) -> list:
    """[(states, form mistakes, H_0)]: the readings of `value` as a stack of n states, likeliest first."""
    if isinstance(value, SequenceValue):
        arrays = [numbers(item) for item in value.items]
        if len(arrays) == n and all(a is not None and a.shape == (b, h) for a in arrays):
            return [(np.stack(arrays), ("returns_list",), None)]
        if 2 <= len(arrays) <= 3:  # (output, H_n), as nn.RNN returns
            return [(states, ("returns_tuple", *form), H0) for states, form, H0 in read_forms(value.items[0], n, b, h)]
        return []
    array = numbers(value)
    shape = None if array is None else array.shape
    if shape == (n, b, h):
        return [(array, (), None)]
    if shape == (n + 1, b, h):  # H_0 in front, or one state too many at the end
        return [(array[1:], ("h0_included",), array[0]), (array[:-1], ("extra_state",), None)]
    if shape == (n * b, h):  # with n = 1, a stack without its time axis: the same mistake
        return [(array.reshape(n, b, h), ("cat_instead_of_stack",), None)]
    if shape == (b, n * h):
        return [(array.reshape(b, n, h).swapaxes(0, 1), ("cat_instead_of_stack",), None)]
    return []


def read_form(value, n: int, b: int, h: int) -> tuple:
    """(states, form mistakes, H_0) of the likeliest reading, or (None, (), None)."""
    return (read_forms(value, n, b, h) or [(None, (), None)])[0]


def _close(expected, actual, rtol, atol) -> bool:
    with np.errstate(all="ignore"):
        return bool(np.isfinite(expected).all() and (np.abs(expected - actual) <= atol + rtol * np.abs(actual)).all())


def _products(A, W):
    """A @ W for A of shape (..., k), as one 2-D product."""
    return (A.reshape(-1, A.shape[-1]) @ W).reshape(*A.shape[:-1], W.shape[1])


def explain_states(X, H, W_in, W_rec, bias, only: "tuple | None" = None) -> "tuple | None":
    """(step, order) of the first version that gives states H (n, b, h) from inputs X; None if none does.

    `only` = (step, order) tries that version alone.
    """
    X64, H64 = X.astype(np.float64), H.astype(np.float64)
    # float32's tolerance, loosened: the mistake is named whatever precision the student computed in.
    rtol, atol = (LOOSE * t for t in tolerance(np.float32))
    if only is not None and only[1] == "aliased":
        return None  # one buffer stored every step computes nothing that can be checked: never "the same mistake"
    XW, HW, HWt = _products(X64, W_in), _products(H64, W_rec), _products(H64, W_rec.T)
    tried = [only] if only else [(step, order) for order in ("right", "shifted") for step in STEPS]
    for step, order in tried:
        x = XW[1:] if order == "right" else XW[:-1]  # shifted: H[t] came from X[t-1]
        if _close(step(x, HW[:-1], HWt[:-1], bias), H64[1:], rtol, atol):
            if order == "shifted" and np.ptp(H64[0]) > 0 and (np.abs(H64[0]) < 1).all():
                order = "input_shifted"  # H[0] is a tanh's output, not the H_0 drawn: X_(t-1) fed to step t
            return step, order
    if only is None and len(H) > 1 and np.allclose(H64, H64[-1], rtol, atol) and not np.allclose(X64, X64[-1]) \
            and _could_be_a_last_state(X64[-1], H64[-1], W_in, W_rec, bias):
        return RIGHT, "aliased"  # one buffer: only H_n is left, whatever the step
    return None


def _could_be_a_last_state(x, H, W_in, W_rec, bias) -> bool:
    """H is tanh(x W_in + H' W_rec + bias) for some H' in (-1, 1): a constant, H_0 itself or noise is not."""
    if np.ptp(H) == 0 or not (np.abs(H) < 1).all():
        return False
    with np.errstate(all="ignore"):
        previous = np.linalg.solve(W_rec.T.astype(np.float64), (np.arctanh(H) - x @ W_in - bias).T).T
    return bool((np.abs(previous) < 1).all())


def _states_ending_in(X, last, weights) -> "np.ndarray | None":
    """H_1..H_n that end in `last` by the right step, undone from the end; None when there are none
    (a state leaves (-1, 1), the range of a tanh, on the way back)."""
    W_in, W_rec, bias = (np.asarray(w, dtype=np.float64) for w in weights)
    with np.errstate(all="ignore"):
        W_back = np.linalg.inv(W_rec)
        states = [last.astype(np.float64)]
        for t in range(len(X) - 1, 0, -1):  # from H_(t+1), the H_t it came from
            if not (np.abs(states[0]) < 1).all():
                return None
            states.insert(0, (np.arctanh(states[0]) - X[t].astype(np.float64) @ W_in - bias) @ W_back)
    return np.stack(states) if (np.abs(states[0]) < 1).all() else None


def _strictly_right(X, H, weights) -> bool:
    """The right step within the check's own tolerance for H's dtype (see common.check_recurrence)."""
    W_in, W_rec, bias = weights
    rtol, atol = tolerance(H.dtype, W_in.dtype)
    H64 = H.astype(np.float64)
    expected = np.tanh(_products(X[1:].astype(np.float64), W_in) + _products(H64[:-1], W_rec) + bias)
    return _close(expected, H64[1:], rtol, atol)


def _right(X, H, weights) -> bool:
    return explain_states(X, H, *weights, only=(RIGHT, "right")) is not None


def diagnose(X, value, weights: "tuple | None" = None, h: "int | None" = None) -> Reading:
    """Read `value`, the output for inputs X, and explain it with the grader's weights (W_in, W_rec, bias).

    Without weights only the form is read (h is then the hidden size).
    """
    n, b = X.shape[:2]
    h = weights[0].shape[1] if weights is not None else h
    readings = read_forms(value, n, b, h)
    array = numbers(value)
    shape = None if array is None else array.shape
    if not readings and shape == (b, h):
        if weights is None:
            return Reading(None, ("last_state_only",))
        # Only H_N came back: it costs the shape and the recurrence, which H_N alone cannot show. The states
        # it ends (undone with the right step, in a short sequence) are what the other tests check.
        states = _states_ending_in(X, array, weights) if n <= UNDONE_STEPS else None
        plausible = states is not None or _could_be_a_last_state(X[-1], array, *weights)
        return Reading(states, ("last_state_only",), step=RIGHT if plausible else None,
                       behaviour=("last_state_only",))
    if weights is None:
        return Reading(*readings[0]) if readings else Reading(None)
    for states, form, H0 in readings:  # the first reading its states explain, H_0 included
        reading = explained(X, Reading(states, form, H0), weights)
        # One state explains itself (no step to check): only an H_0 it follows from can confirm that reading.
        confirmed = H0 is not None and _first_step_holds(X, reading, weights) if reading.explained else False
        if confirmed or (reading.explained and H0 is None and len(states) > 1):
            return reading
    if readings:
        states, form, _ = readings[0]
        return explained(X, Reading(states, form), weights)  # an H_0 that nothing supports is not read
    if shape == (b, n, h) and n != b:
        swapped = array.swapaxes(0, 1)
        if explain_states(X, swapped, *weights) is not None:
            return explained(X, Reading(swapped, ("wrong_stack_axis",)), weights)
        if _right(X.swapaxes(0, 1), array, weights):
            return Reading(None, ("wrong_time_axis",))
    if shape == (b, b, h) and n > b and _right(X[:b], array, weights):  # b steps: the loop's count from B
        return Reading(None, ("wrong_time_axis",))
    return Reading(None)


def explained(X, reading: Reading, weights) -> Reading:
    """The reading, with the version of the step and the order that explain its states."""
    found = explain_states(X, reading.states, *weights)
    if found is None:
        n, b = X.shape[:2]
        if b > 1 and n > 1 and _right(X.swapaxes(0, 1), reading.states.swapaxes(0, 1), weights):
            reading.behaviour = ("wrong_time_axis",)
        return reading
    reading.step, reading.order = found
    reading.behaviour = (*reading.step.codes, *ORDER_CODES[reading.order])
    if not reading.behaviour and not _strictly_right(X, reading.states, weights):
        reading.behaviour = ("low_precision",)  # the right step, at float32's precision only
    return reading


def _first_step_holds(X, reading: Reading, weights) -> bool:
    """H_1 follows from the H_0 the output holds, by the step that explains the rest."""
    W_in, W_rec, bias = weights
    H0, H1 = reading.H0.astype(np.float64), reading.states[0].astype(np.float64)
    rtol, atol = (LOOSE * t for t in tolerance(np.float32))
    return _close(reading.step(X[0].astype(np.float64) @ W_in, H0 @ W_rec, H0 @ W_rec.T, bias), H1, rtol, atol)


def initial_state(X, reading: Reading, W_in, W_rec_inverse, bias) -> "np.ndarray | None":
    """The H_0 the states started from, undoing the step that explains them; None when it cannot be read."""
    if reading.H0 is not None:
        return reading.H0.astype(np.float64)
    if not reading.explained:
        return None
    states, step = reading.states.astype(np.float64), reading.step
    if reading.order == "shifted":
        return states[0]
    if reading.order == "input_shifted":  # the first step took X_N: H[0] = f(X_N W_xh + H_0 W_hh + b_h)
        X = np.concatenate([X[-1:], X])
    if step.activation not in INVERSES:
        return None
    W_back = W_rec_inverse.T if step.transposed else W_rec_inverse
    H = states[-1] if reading.order == "aliased" else states[0]
    steps = range(len(states) - 1, -1, -1) if reading.order == "aliased" else [0]
    with np.errstate(all="ignore"):
        for t in steps:  # from H_t, the H_(t-1) it came from
            pre = INVERSES[step.activation](H) - X[t].astype(np.float64) @ W_in - (bias if step.bias else 0)
            H = pre @ W_back
    return H if np.isfinite(H).all() else None


def explain_output(X, out, W_in, bias, only: "Step | None" = None) -> "Step | None":
    """The first version of the feed-forward step, f(X W_xh + b_h), that gives `out` (already of shape (B, h))."""
    rtol, atol = (LOOSE * t for t in tolerance(out.dtype, W_in.dtype))
    XW = X.astype(np.float64) @ W_in
    return next((s for s in ([only] if only else FEED_FORWARD_STEPS)
                 if _close(s(XW, None, None, bias), out.astype(np.float64), rtol, atol)), None)


def explain_transfer(steps: list, params: dict) -> tuple:
    """The mistakes that explain the steps [(x, H, out)] of a student's cell built from `params`: a wrong copy
    from mistakes.TRANSFERS, biases that do not add up to b_h, or parameters never copied; () when none does."""
    rtol, atol = (LOOSE * t for t in tolerance(np.float32))
    x, H, out = (np.concatenate([np.asarray(s[i], dtype=np.float64) for s in steps]) for i in range(3))
    for transfer in TRANSFERS:
        if _close(np.tanh(transfer.pre_activation(x, H, params)), out, rtol, atol):
            return transfer.codes
    if not (np.abs(out) < 1).all():
        return ()
    with np.errstate(all="ignore"):
        pre = np.arctanh(out)  # what the cell put inside its tanh
    weights_only = x @ params["Wxh"] + H @ params["Whh"]
    offset = pre - weights_only  # with the right weights, what is left is the bias: the same in every row
    if len(out) > 1 and np.allclose(offset, offset[0], rtol=0, atol=1e-3):
        return ("transfer_bias_offset",)
    expected = weights_only + params["bh"]
    follows = np.sum(pre * expected) / np.sum(expected * expected)  # 1 when pre = expected, ~0 when unrelated
    return ("transfer_params_ignored",) if abs(follows) < 0.3 else ()
