"""The process that runs one part of one student's notebook, apart from the grader.

Forked by the submission's leader (zygote.py), it executes the assignment's
preamble and the student's cells up to the part's graded cell once, then answers the grader's probes until
the grader closes the channel. It may then go on to the next part, as a kernel goes on down the notebook:
"next" runs the student's cells between the two parts, "answer" the next answer cell.
Everything it sends back is plain data (wire.py, values.py), and the grader
takes none of it on trust: values are checked against what the grader itself
computes, and the facts a probe reports about the student's objects are
claims that can cost points when false but never earn them.
"""
import linecache
import os
import random
import signal
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from autograder.inside import shell, values, wire

CELL = shell.CELL  # the answer cell's name in tracebacks
MADE = "_autograder_made_in_forward"  # marks a torch module created while the grader ran forward

# What a module is made of, captured when this file is imported (in the zygote, before any student code):
# a cell that rebinds torch.nn.X, or a module that overrides modules() or named_parameters(), changes none of it.
NN_TYPES: "dict[str, type[nn.Module]]" = {name: cls for name, cls in vars(nn).items()
                                          if isinstance(cls, type) and issubclass(cls, nn.Module)}
STANDARD_FORWARD = {name: cls.forward for name, cls in NN_TYPES.items()}
MODULES = nn.Module.modules
NAMED_PARAMETERS = nn.Module.named_parameters


ANSWER = [CELL]  # the name the current part's answer cell was compiled under (each part's its own)
ANSWERED = [0]  # answer cells this process has run


def student_error(exc: BaseException) -> str:
    """One line a student can act on: the exception and where in their cell (the current part's answer)."""
    if isinstance(exc, MemoryError) or "can't allocate memory" in str(exc):
        return f"limite de memória excedido ({type(exc).__name__})"
    lines = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == ANSWER[0]]
    where = f" (linha {lines[-1].lineno} da sua célula: {(lines[-1].line or '').strip()})" if lines else ""
    if isinstance(exc, SyntaxError) and exc.filename == ANSWER[0]:
        where = f" (linha {exc.lineno} da sua célula)"
    return values.text(f"{type(exc).__name__}: {exc}".replace(ANSWER[0], CELL), 200) + where  # (one name to read)


def call(ns: "dict[str, Any]", name: str, args: "list[Any]") -> "dict[str, Any]":
    """Call the student's function `name` with plain arguments: what it returned ("value"), and the positions of
    the arguments it changed in place ("changed", a claim)."""
    if not callable(ns.get(name)):
        raise NameError(f"a célula não define {name}")
    before = [copy_of(arg) for arg in args]
    value = ns[name](*args)
    changed = [i for i, (arg, old) in enumerate(zip(args, before, strict=True)) if not same(arg, old)]
    # The value is described from depth 0, as it would be alone: the wrapper costs it no nesting.
    return {"kind": "dict", "items": {"value": values.describe(value), "changed": values.describe(changed)}}


def copy_of(value: Any) -> Any:
    """A copy of a plain argument (arrays, and dicts and lists of them), to tell whether a call changed it."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: copy_of(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [copy_of(v) for v in value]
    return value


def same(value: Any, old: Any) -> bool:
    if isinstance(old, np.ndarray):
        return isinstance(value, np.ndarray) and value.shape == old.shape and value.dtype == old.dtype \
            and bool(np.array_equal(value, old, equal_nan=value.dtype.kind in "fc"))
    if isinstance(old, dict):
        return isinstance(value, dict) and value.keys() == old.keys() and all(same(value[k], old[k]) for k in old)
    if isinstance(old, list):
        return isinstance(value, (list, tuple)) and len(value) == len(old) and all(map(same, value, old))
    return bool(value == old) if isinstance(old, (int, float, str, type(None))) else True


def module(ns: "dict[str, Any]", name: str, args: "list[Any]", device: str = "cpu", inputs: "list[Any] | None" = None,
           shapes: "list[list[int]] | None" = None, load: "dict[str, Any] | None" = None,
           submodules: "str | None" = None, grad_output: Any = None,
           device_global: "str | None" = None, decoy: "str | None" = None,
           parameters: bool = False) -> "dict[str, Any]":
    """Build and run the student's module (see build_and_run), with the notebook's global
    `device_global`, if any, set to this run's device ("cpu", "cuda") while it runs.

    A module that reads the notebook's device global instead of its input's device then
    behaves the same on every grader, whatever device the setup cell picked there: it
    loses the device property (checked on "meta", where the global is left alone) and only it.
    With `decoy` (a device, "meta"), the global and torch's default device are that device while
    forward runs, and the inputs are on `device`: a module that makes its tensors anywhere but on its
    input's device then mixes devices, while one that only reads its input's numbers runs as usual.
    """
    run = (ns, name, args, device, inputs, shapes, load, submodules, grad_output, decoy, parameters)
    if not device_global or device == "meta":
        return build_and_run(*run)
    missing = object()
    saved = ns.get(device_global, missing)
    ns[device_global] = torch.device(decoy or device)
    try:
        return build_and_run(*run)
    finally:
        if saved is missing:
            ns.pop(device_global, None)
        else:
            ns[device_global] = saved


def tensors_from(value: Any, device: str, grad: bool) -> Any:
    """An input as forward receives it: arrays become tensors on `device` (floating ones tracking their
    gradient when `grad`), a list or tuple of them a tuple (a state such as (h, c)), None stays None."""
    if isinstance(value, np.ndarray):
        tensor = torch.from_numpy(value).to(device)
        return tensor.requires_grad_(grad and tensor.is_floating_point())
    if isinstance(value, (list, tuple)):
        return tuple(tensors_from(v, device, grad) for v in value)
    return value


def gradient_pairs(out: Any, grad: Any) -> "list[tuple[torch.Tensor, np.ndarray]]":
    """[(tensor of the output, the array it is multiplied by)]: `grad` mirrors the output's structure, with
    an array where a tensor of the same shape is, and None where nothing flows back."""
    if isinstance(grad, np.ndarray):
        fits = isinstance(out, torch.Tensor) and out.requires_grad and tuple(out.shape) == grad.shape
        return [(out, grad)] if fits else []
    if isinstance(grad, (list, tuple)) and isinstance(out, (list, tuple)) and len(grad) == len(out):
        return [pair for o, g in zip(out, grad, strict=True) for pair in gradient_pairs(o, g)]
    return []


def gradients_of(value: Any) -> Any:
    """The gradients reached in an input, in its structure (None where none arrived)."""
    if isinstance(value, torch.Tensor):
        return value.grad
    if isinstance(value, tuple):
        return [gradients_of(v) for v in value]
    return None


def build_and_run(ns: "dict[str, Any]", name: str, args: "list[Any]", device: str = "cpu",
                  inputs: "list[Any] | None" = None, shapes: "list[list[int]] | None" = None,
                  load: "dict[str, Any] | None" = None, submodules: "str | None" = None,
                  grad_output: Any = None, decoy: "str | None" = None,
                  parameters: bool = False) -> "dict[str, Any]":
    """Build the student's torch module `name`(*args) (a class, or a function that returns a module),
    optionally run it, and report what happened.

    The module runs on `inputs` (forward's positional arguments, moved to
    `device`; see tensors_from), or on empty tensors of `shapes` there.
    `load` = {"type": T, "weights": {parameter: array}} are the grader's
    weights: they are copied into every submodule of torch.nn.T whose
    parameters have those shapes, and the grader checks the output against what
    it computes with them. `grad_output` (see gradient_pairs) asks for the
    gradient of sum(output * grad_output) with respect to every input
    ("input_grads", in the inputs' structure).
    What this reports about the module itself (its submodules of type
    `submodules` and their settings, the torch.nn types it holds, those forward ran without holding them or
    created, whether forward left the weights alone) is
    a claim that the grader can only hold against the student. Types are the classes captured before any
    student code ran (NN_TYPES), matched with isinstance, so a subclass of T counts as a T: each submodule
    of type T also says whether it keeps T's own forward ("standard") and, with `parameters`, gives
    its parameters' values, for the grader to compute with.
    """
    if not callable(ns.get(name)):
        raise NameError(f"a célula não define {name}")
    before = [copy_of(arg) for arg in args]
    net = ns[name](*args)  # a module class, or a function that returns a module
    if not isinstance(net, nn.Module):
        raise TypeError(f"{name}(...) devolveu {type(net).__name__}, não um torch.nn.Module")
    # plain data, for values.describe; which of `args` building the module changed in place (a claim)
    result: "dict[str, Any]" = {"arguments_changed": [i for i, (arg, old) in enumerate(zip(args, before, strict=True))
                                                      if not same(arg, old)]}
    kind = (load or {}).get("type") or submodules
    held = list(MODULES(net))
    found = [m for m in held if kind in NN_TYPES and isinstance(m, NN_TYPES[kind])]
    if kind:
        result["submodules"] = [{**{k: v for k, v in vars(m).items() if not k.startswith("_") and k != "training"
                                    and isinstance(v, (bool, int, float, str))},
                                 "standard": type(m).forward is STANDARD_FORWARD[kind]} for m in found]
        result["torch_types"] = sorted({torch_type(m) for m in held} - {""})
        if parameters:
            result["parameters"] = [{n: p.detach().cpu().numpy().copy() for n, p in NAMED_PARAMETERS(m)}
                                    for m in found[:4]]
    if inputs is None and shapes is None:
        return values.describe(result)
    net = net.to(device)
    loaded = load_weights(net, found, load, name, args) if load else []
    if inputs is None:
        inputs = [torch.empty(shape, device=device) for shape in shapes or []]  # (shapes: not None here)
    else:
        inputs = [tensors_from(value, device, grad_output is not None) for value in inputs]
    out, unheld, made = run_watched(net, inputs, decoy)
    result.update(output=out, unheld=sorted(unheld)[:20], made_in_forward=sorted(made)[:20])
    if loaded and load:
        result["weights_unchanged"] = all(torch.equal(p.detach().cpu(), torch.from_numpy(load["weights"][n]))
                                          for m in loaded for n, p in NAMED_PARAMETERS(m))
    pairs = gradient_pairs(out, grad_output) if grad_output is not None else []
    if pairs:
        total = sum((o * torch.from_numpy(g).to(o.device, o.dtype)).sum() for o, g in pairs)
        cast(torch.Tensor, total).backward()  # (pairs is not empty: a tensor, never sum()'s 0)
        result["input_grads"] = [gradients_of(value) for value in inputs]
    return values.describe(result)


def torch_type(m: nn.Module) -> str:
    """The torch.nn class `m` is, or derives from (captured before student code), by name; "" for none."""
    return next((cls.__name__ for cls in type(m).__mro__ if NN_TYPES.get(cls.__name__) is cls
                 and cls is not nn.Module), "")


def load_weights(net: nn.Module, found: "list[nn.Module]", load: "dict[str, Any]", name: str,
                 args: "list[Any]") -> "list[nn.Module]":
    """Copy the grader's weights into every submodule of `found` whose parameters have their shapes (a cell
    without bias too); return those submodules. None fits: a LookupError the tests name."""
    weights = load["weights"]
    shapes = {parameter: tuple(value.shape) for parameter, value in weights.items()}
    loaded = [m for m in found if (own := {n: tuple(p.shape) for n, p in m.named_parameters()})
              and all(shapes.get(n) == shape for n, shape in own.items())]
    if not loaded:
        wanted = ", ".join(f"{parameter} {shape}" for parameter, shape in shapes.items())
        raise LookupError(f"{name}({', '.join(map(str, args))}) não contém um nn.{load['type']} com {wanted}")
    with torch.no_grad():
        for m in loaded:
            for parameter, p in m.named_parameters():
                p.copy_(torch.from_numpy(weights[parameter]))
    return loaded


def run_watched(net: nn.Module, inputs: "list[Any]", decoy: "str | None" = None) -> "tuple[Any, set[str], set[str]]":
    """net(*inputs), and the torch.nn modules forward ran without holding them, and those it created
    (by torch.nn type name). With `decoy`, torch's default device is that device while forward runs."""
    held = {id(m) for m in MODULES(net)}
    unheld: "set[str]" = set()
    made: "set[str]" = set()
    hook = nn.modules.module.register_module_forward_pre_hook(
        lambda m, args: None if id(m) in held else (made if m.__dict__.get(MADE) else unheld).add(torch_type(m)
                                                                                                  or type(m).__name__))
    init = nn.Module.__init__

    def marked_init(module: nn.Module, *args: Any, **kwargs: Any) -> None:
        init(module, *args, **kwargs)
        object.__setattr__(module, MADE, True)

    patched: Any = nn.Module  # its __init__ is replaced while forward runs (mypy forbids assigning to a method)
    patched.__init__ = marked_init
    try:
        if decoy:
            with torch.device(decoy):
                return net(*inputs), unheld, made
        return net(*inputs), unheld, made
    finally:
        patched.__init__ = init
        hook.remove()


def probes() -> "dict[str, Callable[..., dict[str, Any]]]":
    """The probes, as a table local to serve(): no module-level name for student code to rebind."""
    return {"call": call, "module": module}


def forget_the_grader() -> None:
    """Take the grader's modules out of sys.modules before student code runs: `import autograder...` or
    sys.modules[...] then finds a fresh copy, never the one answering the grader."""
    for name in [name for name in sys.modules if name == "autograder" or name.startswith("autograder.")]:
        del sys.modules[name]


class OtherCellTooSlow(Exception):
    pass


def _stop_other_cell(signum, frame):
    raise OtherCellTooSlow()


def run_other_cells(ns: "dict[str, Any]", sources: "list[str]", seconds: float) -> bool:
    """Run cells of the student's other than the answer: an error there is ignored (a kernel goes on after
    it), and together they may take `seconds`, then the rest is skipped. Whether each ran to its end (or
    its error): a process where one was cut short is no kernel's state, and no later part goes on in it."""
    end = time.monotonic() + seconds
    previous = signal.signal(signal.SIGALRM, _stop_other_cell)
    whole = True
    try:
        for source in sources:
            left = end - time.monotonic()
            if left <= 0:
                return False
            signal.setitimer(signal.ITIMER_REAL, left)
            try:
                exec(compile(source, "<outra célula>", "exec"), ns)
            except OtherCellTooSlow:
                whole = False
            except BaseException:  # noqa: S110 -- SystemExit too
                pass
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
    finally:
        signal.signal(signal.SIGALRM, previous)
    return whole


def setup(ns: "dict[str, Any]", preamble: str = "", files: "dict[str, np.ndarray] | None" = None,
          seed: "int | None" = None, before: "list[str] | None" = None, other_seconds: float = 5.0) -> bool:
    """Run the preamble and the student's cells above the answer cell (go_on), beside a copy of the student's
    notebook."""
    for name, data in (files or {}).items():
        with open(os.path.basename(name), "wb") as f:
            f.write(data.tobytes())
    sys.path.insert(0, os.getcwd())  # as a kernel started beside the notebook
    ns.update(shell.kernel_names(ns))  # what a Jupyter kernel provides
    SAVED.clear()  # a fresh start (the floor's namespaces share this module), not a part going on
    ANSWERED[0] = 0
    return go_on(ns, seed, before or [], other_seconds, preamble)


def settings() -> "dict[str, Any]":
    """The interpreter-wide settings of PyTorch and NumPy (and the folder) that a part's checks may change by
    running the student's code (a constructor that sets the default dtype, say)."""
    return {"dtype": torch.get_default_dtype(), "device": torch.get_default_device(),
            "grad": torch.is_grad_enabled(), "anomaly": torch.is_anomaly_enabled(),
            "deterministic": torch.are_deterministic_algorithms_enabled(), "threads": torch.get_num_threads(),
            "numpy": np.geterr(), "cwd": os.getcwd()}


def put_back(saved: "dict[str, Any]") -> None:
    """The settings as they were when the last part's cells had run: what its checks did to them is undone,
    so that no part pays for what another part's code did while it was checked."""
    now = settings()
    setters: "dict[str, Callable[[Any], Any]]" = {
        "dtype": torch.set_default_dtype, "device": torch.set_default_device, "grad": torch.set_grad_enabled,
        "anomaly": torch.autograd.set_detect_anomaly, "deterministic": torch.use_deterministic_algorithms,
        "threads": torch.set_num_threads, "numpy": lambda err: np.seterr(**err), "cwd": os.chdir}
    for key, value in saved.items():
        if now[key] != value:
            try:
                setters[key](value)
            except (OSError, RuntimeError, TypeError, ValueError):  # (a folder the student removed)
                pass


SAVED: "dict[str, Any]" = {}  # settings() when the current part's cells had run


def alone() -> bool:
    """Whether the student's process has no child left (each is reaped): a child, or one it left running,
    would hold the process's pipes and outlive what the grader knows of it."""
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return False
        except ChildProcessError:
            return True


def go_on(ns: "dict[str, Any]", seed: "int | None", before: "list[str]", other_seconds: float = 5.0,
          preamble: str = "", cpu_seconds: "int | None" = None) -> bool:
    """A part begins: the random generators start from the part's `seed` (or fresh entropy, as a new kernel's:
    every fork of the zygote would otherwise inherit its state), the `preamble` runs, then the student's
    cells `before` its answer cell (for a process that goes on from the last part, those between the two,
    after the settings are put back and its CPU limit moved on to `cpu_seconds` more than it has used).
    False when a cell was cut short, or a process that goes on is not alone: no later part goes on in it."""
    whole = True
    if SAVED:  # going on from the last part
        whole = alone()
        put_back(SAVED)
        if cpu_seconds is not None:
            import math
            import resource

            used = resource.getrusage(resource.RUSAGE_SELF)
            hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
            soft = math.ceil(used.ru_utime + used.ru_stime) + int(cpu_seconds)
            if hard != resource.RLIM_INFINITY and soft >= hard:  # it would have less than a fresh process
                soft, whole = hard - 1, False
            resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    random.seed(seed)
    np.random.seed(seed)
    if seed is None:
        torch.seed()
    else:
        torch.manual_seed(seed)
    if preamble:
        exec(compile(preamble, "<preamble>", "exec"), ns)
    return run_other_cells(ns, before, other_seconds) and whole


def answer(ns: "dict[str, Any]", source: str, after: "list[str] | None" = None, other_seconds: float = 5.0) -> bool:
    """Run the answer cell, then the student's cells after it, up to the part's graded cell. Each part's answer
    cell has a name of its own in tracebacks: a function of an earlier part's quotes that part's lines."""
    ANSWERED[0] += 1
    ANSWER[0] = CELL if ANSWERED[0] == 1 else f"<answer cell {ANSWERED[0]}>"
    linecache.cache[ANSWER[0]] = (len(source), None, source.splitlines(True), ANSWER[0])  # tracebacks quote the line
    exec(compile(source, ANSWER[0], "exec"), ns)
    whole = run_other_cells(ns, after or [], other_seconds)
    SAVED.update(settings())
    return whole


def load(ns: "dict[str, Any]", source: str, preamble: str = "", files: "dict[str, np.ndarray] | None" = None,
         seed: "int | None" = None, before: "list[str] | None" = None, after: "list[str] | None" = None,
         other_seconds: float = 5.0) -> None:
    """setup() then answer(): what a part runs, in one go."""
    setup(ns, preamble, files, seed, before, other_seconds)
    answer(ns, source, after, other_seconds)


def serve(fd_in: int, fd_out: int) -> None:
    table = probes()
    forget_the_grader()
    ns: "dict[str, Any]" = {"__name__": "__main__"}
    while True:
        try:
            request = wire.recv(fd_in)
        except EOFError:
            return
        reply: "dict[str, Any]"
        try:
            # "value": whether the student's other cells all ran whole (see run_other_cells)
            if request["op"] == "setup":
                reply = {"ok": True, "value": setup(ns, request.get("preamble", ""), request.get("files"),
                                                    request.get("seed"), request.get("before"),
                                                    request.get("other_seconds", 5.0))}
            elif request["op"] == "next":
                reply = {"ok": True, "value": go_on(ns, request.get("seed"), request.get("before") or [],
                                                    request.get("other_seconds", 5.0), "",
                                                    request.get("cpu_seconds"))}
            elif request["op"] == "answer":
                reply = {"ok": True, "value": answer(ns, request["source"], request.get("after"),
                                                     request.get("other_seconds", 5.0))}
            else:
                reply = {"ok": True, "value": table[request["op"]](ns, **request["args"])}
        except BaseException as exc:  # SystemExit and KeyboardInterrupt from student code too
            reply = {"ok": False, "error": student_error(exc)}
        wire.send(fd_out, reply)


def run(fd_in: int, fd_out: int) -> None:
    """The life of a student's process: serve until the grader hangs up."""
    serve(fd_in, fd_out)
