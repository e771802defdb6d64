"""Hostile students against the grader, graded in one run beside honest ones.

One test per failure class: a stall, forged frames and oversized replies, a
student who plants files for the next one, a disk filler, memory and process
hogs, forged facts about a module, a grader bug, a dead worker, a killed
grader, symlinked submissions and litter. Each comes with a control that shows
the test can fail: the same attack where it does work (the same submission,
process isolation, facts taken from the student's side, an old probe).
"""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from autograder import backends, limits, sandbox
from autograder.cgroups import PREFIX
from autograder.limits import Limits
from autograder.session import Session
from autograder.tools.sync import reference_source
from tests.helpers import REPO, grade
from tests.rnn_forward.helpers import ASSIGNMENT, CORPUS

pytestmark = [pytest.mark.slow]
PARTS = ASSIGNMENT.parts
rnn = ASSIGNMENT.module("hidden.common")  # the assignment's own checks (the recurrence, H_0)

REQUIRED = os.environ.get("AUTOGRADER_REQUIRE_BWRAP") == "1"
pytestmark.append(pytest.mark.skipif(
    not backends.current().isolates_host and not REQUIRED,
    reason="bubblewrap is not installed (or user namespaces are off)"
))
REF = {p.grade_id: reference_source(ASSIGNMENT, p) for p in PARTS}

STALL = '''
import os, signal, threading
# Stop this whole process as soon as the cell is loaded: it will never read the next request.
threading.Thread(target=lambda: os.kill(os.getpid(), signal.SIGSTOP), daemon=True).start()
'''

FORGED_FRAME = '''
import json, os, struct, time

def _frame(value_json):
    npy_header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }\\n"
    npy = b"\\x93NUMPY\\x01\\x00" + struct.pack("<H", len(npy_header)) + npy_header.encode() + bytes(64)
    head = value_json.encode()
    body = json.dumps([len(head), len(npy)]).encode() + b"\\n" + head + npy
    return struct.pack("!Q", len(body)) + body

def _send_forged(value_json):
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
                os.write(int(fd), _frame(value_json))
        except OSError:
            pass
    time.sleep(3600)
'''
FORGED_ARRAY = FORGED_FRAME + '''
def forward(X, params):
    _send_forged('{"ok": true, "value": {"kind": "ndarray", "array": {"__array__": 0}}}')
'''
FORGED_NESTING = FORGED_FRAME + '''
def init_weights(input_size, hidden_size):
    _send_forged('{"ok": true, "value": ' + "[" * 100000 + "]" * 100000 + '}')
'''
HUGE_ARRAYS = '''
def init_weights(input_size, hidden_size):
    # Close to the frame limit at the lecture's sizes, far over it at others.
    return {"Wxh": np.ones((input_size * 20, hidden_size * 4)), "bh": np.ones((1, hidden_size))}
'''
CRAFTED_MODULE = '''
class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, batch_size):
        super().__init__()
        self.cell = nn.RNNCell(input_size, hidden_size)
        self.cell.weight_hh = nn.Parameter(torch.zeros(hidden_size, 10**5))  # a crafted shape

    def forward(self, X):
        return torch.zeros(1, 10**4, 512, device=X.device)  # another one
'''

PLANT = "planted-by-a-student"
PLANTER = f'''
import ctypes, os
for place in ["/", "/tmp", "/dev/shm", "/home", "/home/student", os.getcwd(), "/grader", "/grader/autograder"]:
    for name in ["{PLANT}", "json.py", "numpy.py", "sitecustomize.py"]:
        try:
            with open(os.path.join(place, name), "w") as f:
                f.write("raise SystemExit('shadowed by another student')")
        except OSError:
            pass
ctypes.CDLL(None).shmget(0xBEEF, 4096, 0o1666)  # a System V segment outlives its process
'''
OBSERVER = f'''
import ctypes, os, sys
def _planted():
    found = []
    skip = ("/proc", "/sys", "/usr", sys.prefix, sys.base_prefix)
    for root, dirs, files in os.walk("/"):
        if root.startswith(skip):
            dirs[:] = []
            continue
        if "{PLANT}" in files:
            found.append(root)
    if ctypes.CDLL(None).shmget(0xBEEF, 0, 0) != -1:
        found.append("shm 0xBEEF")
    return found
'''

DISK_FILLER = '''
import os
def _fill(path):
    written = 0
    try:
        with open(os.path.join(path, "fill"), "wb") as f:
            while written < 2**32:
                f.write(b"x" * 2**20)
                f.flush()
                written += 2**20
    except OSError as exc:
        return f"{path}: {written // 2**20} MiB, {exc.strerror}"
    return f"{path}: {written // 2**20} MiB"

def init_weights(input_size, hidden_size):
    raise OSError(28, "No space left on device; " + "; ".join(_fill(p) for p in ("/tmp", "/dev/shm", os.getcwd())))
'''
THREE_HOGS = '''
import os, time
_codes = []
def forward(X, params):
    if _codes:  # once is enough: the other tests see the same result
        raise RuntimeError(f"exit codes of the three: {_codes}")
    children = []
    for _ in range(3):
        pid = os.fork()
        if pid == 0:
            hoard = b"x" * (1200 * 2**20)  # written, so really resident
            time.sleep(1)
            os._exit(0)
        children.append(pid)
    _codes.extend(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children)
    raise RuntimeError(f"exit codes of the three: {_codes}")
'''
ONE_BIG_ALLOCATION = '''
import os
_hoard = b"x" * (1200 * 2**20)  # one process, under the submission's limit: allowed
del _hoard
for _ in range(10):  # a few processes: allowed
    if os.fork() == 0:
        os._exit(0)
    os.wait()
'''
FORK_BOMB = '''
import os, time
def forward(X, params):
    started = 0
    try:
        for _ in range(1000):
            if os.fork() == 0:
                time.sleep(60)
                os._exit(0)
            started += 1
    except OSError as exc:
        raise RuntimeError(f"{started} processes, then {type(exc).__name__}")
    raise RuntimeError(f"{started} processes")
'''
WEIGHTS_FORGER = '''
import math
class RNN(nn.Module):
    """Never computes the recurrence: a constant state, then weights that make it look right."""
    def __init__(self, input_size, hidden_size, batch_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.cell = nn.RNNCell(input_size, hidden_size)

    def forward(self, X):
        with torch.no_grad():
            self.cell.weight_ih.zero_()
            self.cell.weight_hh.zero_()
            self.cell.bias_ih.fill_(math.atanh(0.5))
            self.cell.bias_hh.zero_()
        return torch.full((X.shape[0], X.shape[1], self.hidden_size), 0.5, device=X.device) + 0 * X.mean()
'''
PROBE_PATCHER = '''
import sys
# The running child by name (sys.modules), else an import: its build_and_run replaced by one that claims
# a perfect cell, and its probe table too, where there is one.
_probe = sys.modules.get("autograder.inside.child") or __import__("autograder.inside.child", fromlist=["child"])

def _fake(ns, name, args, device="cpu", inputs=None, shapes=None, load=None, submodules=None, grad_output=None, *_a,
          **_k):
    d, h = args[0], args[1]
    result = {"submodules": [{"input_size": d, "hidden_size": h, "nonlinearity": "tanh", "bias": True,
                              "standard": True}]}
    if inputs is not None or shapes is not None:
        n, b = (inputs[0].shape[:2] if inputs is not None else shapes[0][:2])
        result["output"] = torch.zeros(n, b, h, device=device)  # claims a perfect cell
        result["weights_unchanged"] = True
    return _probe.values.describe(result)

_probe.build_and_run = _fake
for _table in [getattr(_probe, "PROBES", {})]:
    _table["module"] = _fake

class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, batch_size):
        super().__init__()

    def forward(self, X):
        return X
'''
OLD_H0_PROBE_CHEAT = '''
def forward(X, params):
    n, b, _ = X.shape
    h = params["Whh"].shape[0]
    if not params["Wxh"].any() and np.allclose(params["Whh"], 0.5 * np.eye(h)):
        return np.tanh(np.random.randn(n, b, h) / 2)  # what the old H_0 probe looked for
    return np.zeros((n, b, h))
'''
EXCEPTION_LEAK = '''
def forward(X, params):
    raise ValueError(repr(X) + repr(params))
'''

SURROGATE_EXCEPTION = '''
def forward(X, params):
    raise ValueError(chr(0xDCFF) + " cannot be written as UTF-8")
'''
HUGE_HEADER = FORGED_FRAME + '''
def forward(X, params):
    _send_forged('{"ok": true, "value": {"kind": "sequence", "items": [' + "[]," * 10_000_000 + '[]]}}')
'''
# H_0 of zeros, except on the shape that only the old H_0 test used: (3, 10, 100).
H0_PROBE_SHAPE = '''
def forward(X, params, H0=None):
    h = params["Whh"].shape[0]
    if H0 is None:
        H0 = np.random.randn(X.shape[1], h) if X.shape == (3, 10, 100) else np.zeros((X.shape[1], h))
    H, states = H0, []
    for x in X:
        H = np.tanh(x @ params["Wxh"] + H @ params["Whh"] + params["bh"])
        states.append(H)
    return np.stack(states)
'''
MODULE_H0_PROBE_SHAPE = '''
class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, batch_size):
        super().__init__()
        self.hidden_size, self.cell = hidden_size, nn.RNNCell(input_size, hidden_size)

    def forward(self, X, H0=None):
        if H0 is None:
            shape = (X.shape[1], self.hidden_size)
            H0 = torch.randn(*shape, device=X.device) if tuple(X.shape) == (3, 10, 100) else \\
                torch.zeros(*shape, device=X.device)
        H, states = H0, []
        for x in X:
            H = self.cell(x, H)
            states.append(H)
        return torch.stack(states)
'''
NONSENSE_PROBE = '''
import sys
_probe = sys.modules.get("autograder.inside.child") or __import__("autograder.inside.child", fromlist=["child"])
_probe.build_and_run = lambda *args, **kwargs: 0

class RNN(nn.Module):
    pass
'''
MANY_CLAIMS = '''
class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, batch_size):
        super().__init__()
        self.cells = nn.ModuleList(nn.RNNCell(1, 1) for _ in range(3000))
        for cell in self.cells:
            cell.nonlinearity = "3.14159265358979 " * 12

    def forward(self, X):
        return X
'''
PARSER_BOMB = "x = " + "-" * 200_000 + "1"  # an extra cell, not an answer: it must not break the grader
TOUCH_ZYGOTE = '''
import os
_tampered = []
for _pid in os.listdir("/proc"):
    if _pid.isdigit() and _pid != os.readlink("/proc/self"):  # /proc numbers the sandbox's processes
        try:
            with open(f"/proc/{_pid}/oom_score_adj", "w") as _f:
                _f.write("1000")
            _tampered.append(_pid)
        except OSError:
            pass
assert not _tampered, f"changed the oom_score_adj of {_tampered}"
'''
KEYRING = '''
import ctypes, errno
_libc = ctypes.CDLL(None, use_errno=True)
_key = _libc.syscall({add_key}, b"user", b"ANSWER-ff_forward", b"print('leaked')", 15, ctypes.c_int(-3))
assert _key == -1 and ctypes.get_errno() == errno.EPERM, "add_key worked inside the sandbox"
'''.format(add_key={"x86_64": 248, "aarch64": 217}.get(__import__("platform").machine(), 248))

# Graded in this order (flat folder, one worker: each submission follows the one above it in the same worker).
HOSTILE_CLASS = {
    "a00_honest": {},
    "a01_stall": {"rnn_forward": STALL + REF["rnn_forward"]},
    "a02_forged_array_frame": {"ff_forward": FORGED_ARRAY},
    "a03_forged_nesting_frame": {"ff_init_weights": FORGED_NESTING},
    "a04_huge_arrays": {"ff_init_weights": HUGE_ARRAYS},
    "a05_crafted_module": {"rnn_cell_module": CRAFTED_MODULE},
    "a06_planter": {p.grade_id: PLANTER + REF[p.grade_id] for p in PARTS},
    "a07_observer": {p.grade_id: OBSERVER + REF[p.grade_id].replace(
        "    ### BEGIN SOLUTION", "    assert not _planted(), f'encontrei {_planted()}'\n    ### BEGIN SOLUTION", 1)
        for p in PARTS if p.grade_id != "rnn_cell_module"},
    "a08_disk_filler": {"ff_init_weights": DISK_FILLER},
    "a09_honest": {},
    "a10_three_hogs": {"rnn_forward": THREE_HOGS},
    "a11_one_big_allocation": {"ff_forward": ONE_BIG_ALLOCATION + REF["ff_forward"]},
    "a12_fork_bomb": {"ff_forward": FORK_BOMB},
    "a13_weights_forger": {"rnn_cell_module": WEIGHTS_FORGER},
    "a14_probe_patcher": {"rnn_cell_module": PROBE_PATCHER},
    "a15_old_h0_probe_cheat": {"rnn_forward": OLD_H0_PROBE_CHEAT},
    "a16_exception_leak": {"ff_forward": EXCEPTION_LEAK},
    "a17_honest": {},
    "a18_surrogate_exception": {"ff_forward": SURROGATE_EXCEPTION},
    "a19_huge_header": {"ff_forward": HUGE_HEADER},
    "a20_nonsense_probe": {"rnn_cell_module": NONSENSE_PROBE},
    "a21_many_claims": {"rnn_cell_module": MANY_CLAIMS},
    "a22_touch_zygote": {"ff_init_weights": TOUCH_ZYGOTE + REF["ff_init_weights"]},
    "a23_keyring": {"ff_init_weights": KEYRING + REF["ff_init_weights"]},
    "a24_honest": {},
    "a28_h0_probe_shape": {"rnn_forward": H0_PROBE_SHAPE},
    "a29_module_h0_probe_shape": {"rnn_cell_module": MODULE_H0_PROBE_SHAPE},
}
# Besides the answer cells: a scratch cell that chokes a parser, a name that is not UTF-8, 20 000 cells.
UNUSUAL_FILES = {"a25_parser_bomb": "parser bomb", os.fsdecode(b"a26_nome_\xff"): "not UTF-8",
                 "a27_many_cells": "cells"}
FULL = {p.grade_id: ASSIGNMENT.points(p.grade_id) for p in PARTS}


def write_notebook(path, answers):
    nb = CORPUS.fill(nbformat.read(ASSIGNMENT.release_notebook, as_version=4), answers)
    nbformat.write(nb, path)
    return path


def our_cgroups(wait=15.0):
    """The graders' cgroups still there, after giving the kernel `wait` seconds to finish with them."""
    system, _ = limits.cgroup_system()
    deadline = time.monotonic() + wait
    while system:
        left = [p for base in set(system.bases.values()) for p in base.glob(f"{PREFIX}*")]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.5)
    return []


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """The hostile class graded once: ({student: row}, report, TMPDIR used, peak of the host's /tmp)."""
    root = tmp_path_factory.mktemp("hostile")
    folder, tmpdir = root / "class", root / "tmpdir"
    folder.mkdir()
    tmpdir.mkdir()
    for name, answers in HOSTILE_CLASS.items():
        write_notebook(folder / f"{name}.ipynb", answers)
    for name, kind in UNUSUAL_FILES.items():
        nb = CORPUS.fill(nbformat.read(ASSIGNMENT.release_notebook, as_version=4), {})
        if kind == "parser bomb":
            nb.cells.append(nbformat.v4.new_code_cell(PARSER_BOMB))
        if kind == "cells":
            nb.cells += [nbformat.v4.new_markdown_cell("x") for _ in range(20_000)]
        nbformat.write(nb, folder / f"{name}.ipynb")
    before = set(os.listdir("/tmp"))
    out = root / "report.json"
    env = dict(os.environ, TMPDIR=str(tmpdir))
    start = time.monotonic()
    proc = grade(folder, "--json", out, "--workers", 1, "--call-timeout", 20, "--memory-limit", 2048, "--device", "cpu",
                 env=env)
    report = json.loads(out.read_text())
    rows = {row["student"]: row for row in report["submissions"]}
    return {"rows": rows, "report": report, "tmpdir": tmpdir, "new_in_tmp": set(os.listdir("/tmp")) - before,
            "seconds": time.monotonic() - start, "stderr": proc.stderr, "out": out}


def scores(row):
    return {gid: part["score"] for gid, part in row["parts"].items()}


def part_tests(row, grade_id):
    return {t["name"]: t for t in row["parts"][grade_id]["tests"]}


def test_honest_students_beside_hostile_ones_get_full_marks(hostile):
    for name in ("a00_honest", "a09_honest", "a17_honest", "a24_honest"):
        assert scores(hostile["rows"][name]) == FULL, hostile["rows"][name]


def test_nothing_a_student_does_reads_as_a_grader_failure(hostile):
    # A patched probe, a scratch cell that chokes a parser, a name or a message that is not UTF-8...
    assert [name for name, row in hostile["rows"].items() if row["needs_review"]] == []
    assert len(hostile["rows"]) == len(HOSTILE_CLASS) + len(UNUSUAL_FILES)


def test_a_student_who_stops_reading_costs_only_that_part(hostile):
    row = hostile["rows"]["a01_stall"]
    assert scores(row) == {**FULL, "rnn_forward": 0}
    # the stalling cell is above the module's: that part ran from its own cell alone, and says so
    assert [n for n in row["notes"] if n.startswith("rnn_cell_module: células suas acima")]
    assert {t["status"] for t in part_tests(row, "rnn_forward").values()} == {"timeout"}
    assert hostile["seconds"] < 600  # the run ended: a stalled write has a deadline


def test_a_stalled_reader_without_a_deadline_blocks_the_writer():
    # Control: the same write with no deadline is still blocked after two seconds.
    import threading

    from autograder.inside import wire

    r, w = os.pipe()
    done = threading.Event()
    def blocked_send():
        try:
            wire.send(w, {"X": np.zeros(10**6)})
            done.set()
        except OSError:  # the pipe is closed under it at the end of the test
            pass

    threading.Thread(target=blocked_send, daemon=True).start()
    assert not done.wait(2)
    r2, w2 = os.pipe()
    os.set_blocking(w2, False)
    with pytest.raises(TimeoutError):
        wire.send(w2, {"X": np.zeros(10**6)}, deadline=time.monotonic() + 0.5)
    for fd in (r, r2, w2):
        os.close(fd)  # w stays with the blocked thread


def test_forged_frames_and_oversized_replies_cost_only_their_part(hostile):
    rows = hostile["rows"]
    assert scores(rows["a02_forged_array_frame"]) == {**FULL, "ff_forward": 0}
    forged = part_tests(rows["a02_forged_array_frame"], "ff_forward")
    assert "malformada" in forged["test_values_match_the_reference"]["message"]
    assert scores(rows["a03_forged_nesting_frame"]) == {**FULL, "ff_init_weights": 0}
    assert scores(rows["a04_huge_arrays"]) == {**FULL, "ff_init_weights": 0}
    assert scores(rows["a05_crafted_module"])["rnn_cell_module"] == 0
    # The grader's own memory stayed within its budget the whole run.
    assert max(r["timing"]["grader_peak_mib"] for r in rows.values() if "timing" in r) < 600


def test_a_forged_npy_header_is_refused_before_allocating():
    from autograder.inside import wire

    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000), }\n"
    blob = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + bytes(64)
    with pytest.raises(ValueError):
        wire.load_array(blob)
    # Control: NumPy's own loader believes the header and sets out to allocate 80 GB.
    import io

    with pytest.raises((ValueError, MemoryError)):
        np.lib.format.read_array(io.BytesIO(blob), allow_pickle=False)


def test_nothing_a_submission_leaves_reaches_the_next(hostile):
    row = hostile["rows"]["a07_observer"]
    assert scores(row) == FULL, [t["message"] for p in row["parts"].values() for t in p["tests"] if t["message"]]
    assert scores(hostile["rows"]["a06_planter"]) == FULL  # planting broke nothing of its own either


def test_the_observer_does_see_what_is_planted_in_its_own_submission():
    # Control: planter and observer in one submission (one leader, one /tmp): the observer finds the files.
    with Session(Limits(call_timeout=60)) as session:
        session.part(PLANTER + "\ndef probe():\n    return 1").request("call", name="probe", args=[])
        found = session.part(OBSERVER + "\ndef probe():\n    return _planted()").request("call", name="probe",
                                                                                  args=[])["value"]
    assert "/tmp" in found.items and "shm 0xBEEF" in found.items


def test_a_full_disk_is_the_students_error_and_has_a_size(hostile):
    row = hostile["rows"]["a08_disk_filler"]
    assert scores(row) == {**FULL, "ff_init_weights": 0}
    message = part_tests(row, "ff_init_weights")["test_returns_the_contract_shapes"]["message"]
    assert "64 MiB" in message and "No space left" in message
    filled = [int(m) for m in re.findall(r": (\d+) MiB", message)]
    assert len(filled) == 3 and all(0 < mib <= 64 for mib in filled)  # each place filled up to its size


def test_no_file_is_left_in_the_hosts_temp_folder(hostile):
    assert list(hostile["tmpdir"].iterdir()) == []
    assert not [name for name in hostile["new_in_tmp"] if name.startswith("autograder")]
    assert our_cgroups() == []


def test_the_temp_folder_checked_is_the_one_the_grader_uses(tmp_path, monkeypatch):
    # Control: with process isolation the grader keeps its scratch in TMPDIR while it runs.
    monkeypatch.setattr(backends, "current", lambda: backends.named("process"))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    monkeypatch.setattr(sandbox, "_sandboxes", {})  # a new zygote, started with this TMPDIR
    with Session(Limits(call_timeout=60)) as session:
        home = session.part("import os\ndef probe():\n    return os.getcwd()").request("call", name="probe",
                                                                                   args=[])["value"]
    for box in sandbox._sandboxes.values():
        box.close()
    assert home.startswith(str(tmp_path))


def test_memory_is_limited_per_submission_not_per_process(hostile):
    rows = hostile["rows"]
    hogs = part_tests(rows["a10_three_hogs"], "rnn_forward")
    assert scores(rows["a10_three_hogs"]) == {**FULL, "rnn_forward": 0}
    assert "limite de memória da entrega (2048 MiB)" in hogs["test_returns_float64_array_of_shape_n_b_h"]["message"]
    assert "-9" in hogs["test_returns_float64_array_of_shape_n_b_h"]["message"]  # at least one was killed
    # Control: one process holding most of that memory, and ten short-lived processes, are fine.
    assert scores(rows["a11_one_big_allocation"]) == FULL


def test_processes_are_limited_per_submission(hostile):
    row = hostile["rows"]["a12_fork_bomb"]
    message = part_tests(row, "ff_forward")["test_returns_float64_array_of_shape_b_h"]["message"]
    started = int(re.search(r"(\d+) processes", message).group(1))
    assert 10 <= started < Limits.pids and "limite de 64 processos" in message


def test_a_module_that_rewrites_its_weights_earns_nothing_for_it(hostile):
    row = hostile["rows"]["a13_weights_forger"]
    tests = part_tests(row, "rnn_cell_module")
    for name in ("test_holds_an_rnn_cell", "test_states_follow_the_recurrence", "test_keeps_the_autograd_graph",
                 "test_uses_sizes_from_its_input"):
        assert tests[name]["status"] == "failed", name
    assert "alterou os pesos" in tests["test_states_follow_the_recurrence"]["message"]


def test_the_weights_forger_does_fool_a_check_that_trusts_its_weights():
    # Control: with the weights the module reports after forward, its constant output "follows the recurrence".
    ns = {"torch": torch, "nn": torch.nn, "math": __import__("math")}
    exec(WEIGHTS_FORGER, ns)
    net = ns["RNN"](4, 3, 2)
    X = torch.randn(5, 2, 4)
    H = net(X).detach().numpy()
    w = {n: p.detach().numpy() for n, p in net.cell.named_parameters()}
    rnn.check_recurrence("forger", X.numpy(), H, w["weight_ih"].T, w["weight_hh"].T, w["bias_ih"] + w["bias_hh"])


def test_a_patched_probe_earns_nothing_from_its_claims(hostile):
    tests = part_tests(hostile["rows"]["a14_probe_patcher"], "rnn_cell_module")
    assert tests["test_holds_an_rnn_cell"]["status"] == "failed"  # the real probe ran: no cell at all
    assert tests["test_holds_an_rnn_cell"]["diagnosis"] == ["no_rnn_cell"]
    assert tests["test_states_follow_the_recurrence"]["status"] == "failed"


def test_the_patched_probe_is_flagged_for_the_instructor(hostile):
    flags = hostile["rows"]["a14_probe_patcher"].get("flags", [])
    assert any("sys.modules" in flag for flag in flags) and any("__import__" in flag for flag in flags), flags


def test_the_patch_reaches_the_grader_that_is_still_named():
    """Control: in a process that still names the grader's child module (no forget_the_grader), the same
    cell does replace what the probes run, and the claim it makes is the one the tests would ask for."""
    from autograder.inside import child

    saved = child.build_and_run
    ns = {"torch": torch, "nn": torch.nn}
    try:
        exec(PROBE_PATCHER, ns)
        assert child.build_and_run is ns["_fake"]
        claim = child.probes()["module"]({}, "RNN", [100, 512, 10], submodules="RNNCell")
    finally:
        child.build_and_run = saved
    assert claim == ns["_fake"]({}, "RNN", [100, 512, 10], submodules="RNNCell")  # a perfect cell, claimed


def test_no_call_can_be_told_apart_as_the_initial_state_probe(hostile):
    tests = part_tests(hostile["rows"]["a15_old_h0_probe_cheat"], "rnn_forward")
    assert tests["test_initial_state"]["status"] == "failed"


def test_the_old_probe_would_have_been_fooled():
    # Control: the cheat answers the old fixed probe (W_xh = 0, W_hh = I/2) with a plausible H_0.
    ns = {"np": np}
    exec(OLD_H0_PROBE_CHEAT, ns)
    d, h = 100, 512
    params = {"Wxh": np.zeros((d, h)), "Whh": 0.5 * np.eye(h), "bh": np.zeros((1, h))}
    H0s = [2 * np.arctanh(ns["forward"](np.random.randn(2, 10, d), params)[0]) for _ in range(3)]
    rnn.check_initial_states("H_0", H0s)


@pytest.mark.parametrize("name, grade_id", [("a28_h0_probe_shape", "rnn_forward"),
                                            ("a29_module_h0_probe_shape", "rnn_cell_module")])
def test_no_shape_marks_the_calls_whose_initial_state_is_read(hostile, name, grade_id):
    test = part_tests(hostile["rows"][name], grade_id)["test_initial_state"]
    assert test["status"] == "failed" and test["diagnosis"] == ["h0_zeros"], test


def test_on_the_old_probe_shape_the_initial_state_looks_right():
    """Control: called only with the shape the old test used, the cheat's H_0 passes every check of H_0."""
    ns = {"np": np}
    exec(H0_PROBE_SHAPE, ns)
    gen = np.random.default_rng(0)
    W_in, W_rec, bias = 0.02 * gen.standard_normal((100, 512)), 0.6 * np.eye(512), np.zeros((1, 512))
    H0s = []
    for _ in range(3):
        H1 = ns["forward"](X := gen.standard_normal((3, 10, 100)), {"Wxh": W_in, "Whh": W_rec, "bh": bias})[0]
        H0s.append((np.arctanh(H1) - X[0] @ W_in - bias) @ np.linalg.inv(W_rec))
    rnn.check_initial_states("H_0", H0s)


def test_exception_text_never_carries_array_contents(hostile):
    for test in part_tests(hostile["rows"]["a16_exception_leak"], "ff_forward").values():
        assert test["status"] == "error" and "ValueError" in test["message"]
        assert not re.search(r"\d\.\d", test["message"]) and len(test["message"]) < 300, test["message"]
    # Control: the raw text the student raised is full of the hidden numbers.
    assert re.search(r"\d\.\d", repr(np.random.randn(3, 4)))


LEAK_DIGEST = '''
def forward(X, params):
    raise ValueError(f"digest {int(abs(X).sum() * 1000) % 1000000}")
'''


def test_hidden_inputs_change_from_run_to_run(tmp_path):
    nb = write_notebook(tmp_path / "leak.ipynb", {"ff_forward": LEAK_DIGEST})

    def digests(*extra):
        out = tmp_path / "r.json"
        grade(nb, "--json", out, "--device", "cpu", "--workers", 1, *extra)
        row = json.loads(out.read_text())["submissions"][0]
        return [t["message"] for t in row["parts"]["ff_forward"]["tests"]]

    assert digests() != digests()
    assert digests("--seed", 7) == digests("--seed", 7)  # control: the student does see its inputs


# A script that the pool's spawned workers import as __mp_main__: its patches reach every worker.
PATCHED_GRADER = '''
import os, signal, sys
from pathlib import Path
import autograder.cli as cli
import autograder.grading as grading
from autograder import assignment

if os.environ.get("INJECT_CHECK_BUG"):
    def broken(part):
        raise KeyError("a bug in the grader")
    broken.points, broken.title = 1.0, ""
    ff = assignment.load(os.environ["ASSIGNMENT"]).module("hidden.test_ff_forward")
    ff.test_values_match_the_reference = broken

original = grading.grade_submission
def dying(assignment, student, notebook, *args):
    marker = Path(os.environ["MARKERS"]) / student
    if student == "dies_always" or (student == "dies_once" and not marker.exists()):
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return original(assignment, student, notebook, *args)
grading.grade_submission = dying

if __name__ == "__main__":
    sys.exit(cli.main(sys.argv[1:]))
'''


@pytest.fixture
def patched_run(tmp_path):
    script = tmp_path / "patched_grader.py"
    script.write_text(PATCHED_GRADER)
    folder = tmp_path / "class"
    folder.mkdir()

    def run(students, **env):
        for student in students:
            write_notebook(folder / f"{student}.ipynb", {})
        out = tmp_path / "r.json"
        proc = subprocess.run([sys.executable, str(script), "grade", str(folder), "--json", str(out),
                               "--workers", "2", "--device", "cpu"],
                              cwd=REPO, capture_output=True, text=True, timeout=900,
                              env=dict(os.environ, PYTHONPATH=str(REPO), MARKERS=str(tmp_path),
                                       ASSIGNMENT=str(ASSIGNMENT.folder), **env))
        report = json.loads(out.read_text())
        return proc, {row["student"]: row for row in report["submissions"]}, out

    return run


def test_a_grader_bug_is_a_review_not_a_zero(patched_run):
    proc, rows, out = patched_run(["ana", "bob"], INJECT_CHECK_BUG="1")
    assert proc.returncode == 3 and "need review" in proc.stdout
    for row in rows.values():
        test = part_tests(row, "ff_forward")["test_values_match_the_reference"]
        assert test["status"] == "grader_error" and "não é um erro do seu código" in test["message"]
        assert row["needs_review"] and "KeyError" not in test["message"]
        assert "KeyError: 'a bug in the grader'" in Path(row["log"]).read_text()
        assert scores(row) == {**FULL, "ff_forward": 1.0}  # everything else graded


def test_without_the_bug_the_same_class_needs_no_review(patched_run):
    proc, rows, _ = patched_run(["ana", "bob"])  # control
    assert proc.returncode == 0 and not any(r["needs_review"] for r in rows.values())
    assert all(scores(r) == FULL for r in rows.values())


def test_a_dead_worker_costs_only_its_submission(patched_run):
    proc, rows, out = patched_run(["ana", "dies_once", "dies_always", "zoe"])
    assert proc.returncode == 3
    assert scores(rows["ana"]) == scores(rows["zoe"]) == scores(rows["dies_once"]) == FULL  # retried once: fine
    dead = rows["dies_always"]
    assert dead["needs_review"] and dead["score"] == 0 and "o corretor falhou" in dead["error"]
    assert "killed by signal 9" in Path(dead["log"]).read_text()


def test_a_killed_grader_loses_no_finished_row_and_resume_finishes(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    names = [f"s{i}" for i in range(6)]
    for name in names:  # each with a part that hangs, so the run is slow enough to kill
        write_notebook(folder / f"{name}.ipynb", CORPUS.cases["hang_in_rnn_forward"][0])
    out = tmp_path / "r.json"
    journal = out.with_suffix(".jsonl")
    cmd = [sys.executable, "-m", "autograder", "grade", str(folder), "--json", str(out), "--workers", "1",
           "--call-timeout", "2", "--device", "cpu"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and (not journal.exists() or len(journal.read_text().splitlines()) < 2):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    kept = [json.loads(line)["student"] for line in journal.read_text().splitlines()]
    assert 2 <= len(kept) < len(names) and not out.exists()
    done = subprocess.run(cmd + ["--resume"], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    assert f"resuming: {len(kept)} rows" in done.stderr
    rows = json.loads(out.read_text())["submissions"]
    assert [r["student"] for r in rows] == names
    assert all(scores(r) == {**FULL, "rnn_forward": 0} for r in rows)
    graded_again = [json.loads(line)["student"] for line in journal.read_text().splitlines()][len(kept):]
    assert sorted(graded_again) == sorted(set(names) - set(kept))
    assert our_cgroups() == []  # the killed run's groups were removed by the next


def test_links_fifos_and_paths_outside_are_refused(tmp_path):
    sub = tmp_path / "submitted"
    honest = sub / "bob" / "rnn_forward"
    honest.mkdir(parents=True)
    write_notebook(honest / "rnn_forward.ipynb", {})
    links = {
        "ana": honest / "rnn_forward.ipynb",
        "carl": REPO / "source" / "rnn_forward" / "rnn_forward.ipynb",
        "dora": REPO / "solutions" / "recurrent.py",
    }
    for student, target in links.items():
        (sub / student / "rnn_forward").mkdir(parents=True)
        (sub / student / "rnn_forward" / "rnn_forward.ipynb").symlink_to(target)
    (sub / "fifo" / "rnn_forward").mkdir(parents=True)
    os.mkfifo(sub / "fifo" / "rnn_forward" / "rnn_forward.ipynb")
    (sub / "gus").mkdir()
    (sub / "gus" / "rnn_forward").symlink_to(honest)
    (sub / "eve").symlink_to(sub / "bob")
    out = tmp_path / "r.json"
    grade(sub, "--json", out, "--device", "cpu", timeout=600)
    rows = {r["student"]: r for r in json.loads(out.read_text())["submissions"]}
    assert scores(rows["bob"]) == FULL
    for student in ("ana", "carl", "dora", "fifo", "gus", "eve"):
        assert rows[student]["score"] == 0 and "entrega recusada" in rows[student]["error"], rows[student]
        assert "def " not in rows[student]["error"]
    # Control: the same source notebook, copied as a regular file, is graded (and gets full marks).
    copy = tmp_path / "copy.ipynb"
    copy.write_bytes((REPO / "source" / "rnn_forward" / "rnn_forward.ipynb").read_bytes())
    grade(copy, "--json", out, "--device", "cpu", timeout=600)
    assert json.loads(out.read_text())["submissions"][0]["score"] == ASSIGNMENT.max_score


def test_text_that_is_not_utf8_never_breaks_the_report(hostile):
    rows = hostile["rows"]
    message = part_tests(rows["a18_surrogate_exception"], "ff_forward")["test_values_match_the_reference"]["message"]
    assert "\\udcff" in message and scores(rows["a18_surrogate_exception"]) == {**FULL, "ff_forward": 0}
    assert scores(rows["a26_nome_\\udcff"]) == FULL  # graded, under its name escaped
    json.loads(hostile["out"].with_suffix(".jsonl").read_text().splitlines()[-1])  # the journal is valid too


def test_a_huge_json_header_is_refused_before_it_is_decoded(hostile):
    row = hostile["rows"]["a19_huge_header"]
    assert scores(row) == {**FULL, "ff_forward": 0}
    assert "malformada" in part_tests(row, "ff_forward")["test_values_match_the_reference"]["message"]
    assert row["timing"]["grader_peak_mib"] < 600


def test_a_probe_that_answers_nonsense_is_the_students_error(hostile):
    tests = part_tests(hostile["rows"]["a20_nonsense_probe"], "rnn_cell_module")
    assert {t["status"] for t in tests.values()} <= {"error", "failed"}


def test_what_a_module_claims_reaches_the_message_short_and_without_numbers(hostile):
    message = part_tests(hostile["rows"]["a21_many_claims"], "rnn_cell_module")["test_holds_an_rnn_cell"]["message"]
    assert len(message) < 400 and "3.14" not in message and ", ..." in message


def test_student_code_cannot_touch_the_zygote_or_its_leader(hostile):
    assert scores(hostile["rows"]["a22_touch_zygote"]) == FULL  # its cell asserts that every write failed


def test_keyrings_are_refused_inside_the_sandbox(hostile):
    assert scores(hostile["rows"]["a23_keyring"]) == FULL  # its cell asserts that add_key was refused


def test_keyrings_work_outside_the_sandbox():
    # Control: the same call, in a process of its own with a fresh session keyring, adds the key.
    probe = ("import ctypes, platform; libc = ctypes.CDLL(None, use_errno=True)\n"
             "add_key, keyctl = {'x86_64': (248, 250), 'aarch64': (217, 219)}[platform.machine()]\n"
             "libc.syscall(keyctl, 1, 0)  # KEYCTL_JOIN_SESSION_KEYRING: a new, anonymous one\n"
             "print(libc.syscall(add_key, b'user', b'k', b'v', 1, ctypes.c_int(-3)) > 0)")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip() == "True"


def test_unusual_notebooks_are_graded_or_refused_by_a_rule(hostile):
    assert scores(hostile["rows"]["a25_parser_bomb"]) == FULL
    many = hostile["rows"]["a27_many_cells"]
    assert many["score"] == 0 and "células" in many["error"] and not many["needs_review"]


def hanging_submission(folder, count):
    """A student folder (nbgrader's layout) with `count` notebooks whose every function hangs."""
    answers = {p.grade_id: REF[p.grade_id].replace('"""\n', '"""\n    while True:\n        pass\n', 1) for p in PARTS}
    student = folder / "zed" / ASSIGNMENT.name
    student.mkdir(parents=True)
    for k in range(count):
        write_notebook(student / f"{ASSIGNMENT.name}-Copy{k}.ipynb", answers)
    return folder


def test_several_hanging_notebooks_cost_one_notebooks_time(tmp_path):
    """Three notebooks cannot triple a submission's time: one is graded (never the best of several), and the
    notes name the others as not graded."""
    folder = hanging_submission(tmp_path / "class", 3)
    out = tmp_path / "report.json"
    grade(folder, "--json", out, "--workers", 1, "--call-timeout", 1, "--submission-timeout", 7, "--device", "cpu")
    row = json.loads(out.read_text())["submissions"][0]
    assert row["score"] == 0 and not row["needs_review"]
    assert row["notebook"].endswith("-Copy0.ipynb"), row["notebook"]
    assert sum("não corrigido" in note for note in row["notes"]) >= 1, row["notes"]
    assert row["timing"]["wall"] < 3 * 7, row["timing"]  # control: three notebooks graded would take 3 x 7 s
