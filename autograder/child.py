"""The process that runs one part of one student's notebook, apart from the grader.

Forked by the submission's leader (zygote.py), it executes the answer cell
once, then answers the grader's calls until the grader closes the channel.
Everything it sends back is plain data (wire.py, values.py), and the grader
takes none of it on trust: values are checked against what the grader itself
computes, and the facts a probe reports about the student's objects are
claims that can cost points when false but never earn them.
"""
import linecache
import os
import random
import sys
import traceback

import numpy as np
import torch
from torch import nn

from autograder import values, wire

CELL = "<answer cell>"

# What the notebook's locked cells give every answer cell: the imports, the
# device and the lecture's sizes (a student who reads those globals instead of
# the arguments passes at the lecture's sizes and fails at the others).
PREAMBLE = """
import math
import numpy as np
import torch
from torch import nn
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
seq_len, batch_size, input_size, hidden_size = 50, 10, 100, 512
"""


def student_error(exc):
    """One line a student can act on: the exception and where in their cell."""
    if isinstance(exc, MemoryError) or "can't allocate memory" in str(exc):
        return f"limite de memória excedido ({type(exc).__name__})"
    lines = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == CELL]
    where = f" (linha {lines[-1].lineno} da sua célula: {lines[-1].line.strip()})" if lines else ""
    if isinstance(exc, SyntaxError) and exc.filename == CELL:
        where = f" (linha {exc.lineno} da sua célula)"
    return values.text(f"{type(exc).__name__}: {exc}", 200) + where


def call(ns, name, args):
    """Call the student's function `name` with plain arguments."""
    if not callable(ns.get(name)):
        raise NameError(f"a célula não define {name}")
    return values.describe(ns[name](*args))


def rnn_module(ns, sizes, device="cpu", X=None, shape=None, weights=None, grad_output=None):
    """Build the student's RNN module, optionally run it, and report what happened.

    `weights` (PyTorch's names) are the grader's: they are loaded into every
    nn.RNNCell of the right sizes before the run, and the grader checks the
    output against the recurrence it computes with them. `grad_output` asks
    for d(sum(output * grad_output))/dX. What this reports about the module
    itself (its cells, whether forward changed the weights) is a claim.
    """
    if not isinstance(ns.get("RNN"), type):
        raise NameError("a célula não define a classe RNN")
    net = ns["RNN"](*sizes)
    cells = [m for m in net.modules() if isinstance(m, nn.RNNCell)]
    result = {"cells": [[c.input_size, c.hidden_size, c.nonlinearity, bool(c.bias)] for c in cells]}
    if X is None and shape is None:
        return values.describe(result)
    net = net.to(device)
    loaded = []
    if weights is not None:
        shapes = {name: tuple(value.shape) for name, value in weights.items()}
        loaded = [c for c in cells if {n: tuple(p.shape) for n, p in c.named_parameters()} == shapes]
        if not loaded:
            raise LookupError(f"o módulo não contém um nn.RNNCell({sizes[0]}, {sizes[1]}) com viés")
        with torch.no_grad():
            for cell in loaded:
                for name, value in weights.items():
                    getattr(cell, name).copy_(torch.from_numpy(value))
    x = torch.empty(shape, device=device) if X is None else torch.from_numpy(X).to(device)
    x.requires_grad_(grad_output is not None)
    out = net(x)
    result["output"] = out
    if loaded:
        result["weights_unchanged"] = all(
            torch.equal(getattr(c, n).detach().cpu(), torch.from_numpy(w)) for c in loaded for n, w in weights.items()
        )
    if grad_output is not None and isinstance(out, torch.Tensor) and out.requires_grad:
        (out * torch.from_numpy(grad_output).to(out.device, out.dtype)).sum().backward()
        result["grad_X"] = x.grad
    return values.describe(result)


PROBES = {"call": call, "rnn_module": rnn_module}


def load(ns, source, files=None, seed=None):
    """Run the preamble and the answer cell, beside a copy of the student's notebook.

    The random generators start from `seed`, or else from fresh entropy, as a
    new kernel does: every fork of the zygote would otherwise inherit its state.
    """
    for name, data in (files or {}).items():
        with open(os.path.basename(name), "wb") as f:
            f.write(data.tobytes())
    sys.path.insert(0, os.getcwd())  # as a kernel started beside the notebook
    random.seed(seed)
    np.random.seed(seed)
    if seed is None:
        torch.seed()
    else:
        torch.manual_seed(seed)
    exec(compile(PREAMBLE, "<preamble>", "exec"), ns)
    linecache.cache[CELL] = (len(source), None, source.splitlines(True), CELL)  # tracebacks quote the line
    exec(compile(source, CELL, "exec"), ns)


def serve(fd_in, fd_out):
    ns = {"__name__": "__main__"}
    while True:
        try:
            request = wire.recv(fd_in)
        except EOFError:
            return
        try:
            if request["op"] == "load":
                load(ns, request["source"], request.get("files"), request.get("seed"))
                reply = {"ok": True}
            else:
                reply = {"ok": True, "value": PROBES[request["op"]](ns, **request["args"])}
        except BaseException as exc:  # SystemExit and KeyboardInterrupt from student code too
            reply = {"ok": False, "error": student_error(exc)}
        wire.send(fd_out, reply)


def run(fd_in, fd_out):
    """The life of a student's process: serve until the grader hangs up."""
    serve(fd_in, fd_out)
