"""The process that runs one part of one student's notebook, apart from the grader.

Forked by the zygote (zygote.py), it executes the answer cell once, then
answers the grader's calls until the grader closes the channel. Everything it
sends back is plain data (wire.py, values.py); the grader trusts none of it
beyond what it can check.
"""
import io
import linecache
import signal
import sys
import traceback

import numpy as np
import torch
from torch import nn

from autograder import values, wire

CELL = "<answer cell>"
SEED = 20261129  # fixed, so that a student's grade is the same on every run

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


class CappedOutput(io.TextIOBase):
    """stdout and stderr of the student: kept up to a budget, then dropped.

    Printing never fails and never costs points; it just stops being kept.
    """

    def __init__(self, stream, budget):
        self.stream, self.budget = stream, budget

    def write(self, text):
        if self.budget[0] > 0:
            self.stream.write(text[: self.budget[0]])
            self.stream.flush()
        self.budget[0] -= len(text)
        return len(text)


def student_error(exc):
    """One line a student can act on: the exception and where in their cell."""
    if isinstance(exc, MemoryError) or "can't allocate memory" in str(exc):
        return f"limite de memória excedido ({type(exc).__name__}: {str(exc)[:200]})"
    lines = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == CELL]
    where = f" (linha {lines[-1].lineno} da sua célula: {lines[-1].line.strip()})" if lines else ""
    if isinstance(exc, SyntaxError) and exc.filename == CELL:
        where = f" (linha {exc.lineno} da sua célula)"
    text = f"{type(exc).__name__}: {exc}"
    return (text[:300] + "...") if len(text) > 300 else text + where


def call(ns, name, args):
    """Call the student's function `name` with plain arguments."""
    if not callable(ns.get(name)):
        raise NameError(f"a célula não define {name}")
    return values.describe(ns[name](*args))


def rnn_module(ns, sizes, device="cpu", X=None, shape=None, weights=None, grad_output=None):
    """Build the student's RNN module, optionally run it, and report what happened.

    `weights` replaces the cell's parameters (PyTorch's own names); `grad_output`
    asks for d(sum(output * grad_output))/dX.
    """
    if not isinstance(ns.get("RNN"), type):
        raise NameError("a célula não define a classe RNN")
    net = ns["RNN"](*sizes)
    cells = [m for m in net.modules() if isinstance(m, nn.RNNCell)]
    result = {"cells": [[c.input_size, c.hidden_size, c.nonlinearity, bool(c.bias)] for c in cells]}
    if X is None and shape is None:
        return values.describe(result)
    net = net.to(device)
    if weights is not None:
        if not cells:
            raise LookupError("o módulo não contém um nn.RNNCell")
        with torch.no_grad():
            for name, value in weights.items():
                getattr(cells[0], name).copy_(torch.from_numpy(value))
    x = torch.empty(shape, device=device) if X is None else torch.from_numpy(X).to(device)
    x.requires_grad_(grad_output is not None)
    out = net(x)
    result["output"] = out
    if cells and device != "meta":
        result["weights"] = {n: p.detach().cpu().numpy() for n, p in cells[0].named_parameters()}
    if grad_output is not None and isinstance(out, torch.Tensor) and out.requires_grad:
        (out * torch.from_numpy(grad_output).to(out.device, out.dtype)).sum().backward()
        result["grad_X"] = x.grad
    return values.describe(result)


PROBES = {"call": call, "rnn_module": rnn_module}


def serve(fd_in, fd_out):
    ns = {"__name__": "__main__"}
    while True:
        try:
            request = wire.recv(fd_in)
        except EOFError:
            return
        try:
            if request["op"] == "load":
                np.random.seed(SEED)
                torch.manual_seed(SEED)
                exec(compile(PREAMBLE, "<preamble>", "exec"), ns)
                source = request["source"]
                # Lets tracebacks quote the student's line.
                linecache.cache[CELL] = (len(source), None, source.splitlines(True), CELL)
                exec(compile(source, CELL, "exec"), ns)
                reply = {"ok": True}
            else:
                reply = {"ok": True, "value": PROBES[request["op"]](ns, **request["args"])}
        except BaseException as exc:  # SystemExit and KeyboardInterrupt from student code too
            reply = {"ok": False, "error": student_error(exc)}
        wire.send(fd_out, reply)


def run(fd_in, fd_out, output_bytes):
    """The life of a student's process: capped output, then serve until the grader hangs up."""
    budget = [output_bytes]
    sys.stdout, sys.stderr = CappedOutput(sys.stdout, budget), CappedOutput(sys.stderr, budget)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the file-size limit, writes fail instead of killing
    serve(fd_in, fd_out)
