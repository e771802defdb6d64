"""What a Jupyter kernel gives a student's cells: `get_ipython()` and `display()`, as stand-ins.

A module of its own on purpose: every function here is one a student's code can hold, and a function's
`__globals__` is its module's, so these reach nothing of the grader's (child.py's probes, its captured
classes) but this file's few names.
"""
import re
import types
from typing import Any

CELL = "<answer cell>"


class Shell:
    """What `get_ipython()` is in the student's process.

    IPython turns magics and shell escapes into calls on it. Those that time or
    capture code (%time, %%timeit, %%capture, ...) run that code once, since
    its definitions count; %%writefile writes its file; every other magic,
    `!command` and `x = !command` does nothing (there is no shell to run in the
    sandbox, and nothing to show).
    """

    RUNS_CODE = ("time", "timeit", "prun", "capture")

    def __init__(self, ns: "dict[str, Any]"):
        self.user_ns = ns

    def run_line_magic(self, name: str, line: str, _stack_depth: int = 1):
        if name in self.RUNS_CODE:
            code = re.sub(r"^\s*(-[a-zA-Z]+\s*(\d+\s+)?)*", "", line)  # %timeit -n 10 -r 3 f(x)
            exec(compile(code, "<magic>", "exec"), self.user_ns)

    def run_cell_magic(self, name: str, line: str, cell: str):
        if name in self.RUNS_CODE:  # (the grader unwraps these cells before they get here)
            exec(compile(cell, CELL, "exec"), self.user_ns)
        elif name == "writefile":  # a module the next cells import, as in the kernel's folder
            args = line.split()
            paths = [a for a in args if not a.startswith("-")]
            if paths:
                with open(paths[-1], "a" if "-a" in args or "--append" in args else "w") as f:
                    f.write(cell)

    def captured(self):
        """What `%%capture name` leaves in `name`: nothing was captured, nothing to show."""
        return types.SimpleNamespace(stdout="", stderr="", outputs=[], show=lambda: None)

    def system(self, command: str) -> None:
        return None

    def getoutput(self, command: str, split: bool = True) -> "list[str]":
        return []

    def __getattr__(self, name: str):  # run_magic, set_next_input, ...: nothing to do in grading
        return lambda *args, **kwargs: None


def display(*objects, **kwargs) -> None:
    """IPython's display(): the grader shows nothing."""


def kernel_names(ns: "dict[str, Any]") -> "dict[str, Any]":
    """get_ipython and display, bound to the student's namespace `ns`."""
    the_shell = Shell(ns)

    def get_ipython() -> Shell:
        return the_shell

    return {"get_ipython": get_ipython, "display": display}
