"""The process that imports NumPy and PyTorch once and forks a fresh child per answer cell.

    python -m autograder.zygote CONTROL_FD SCRATCH [--private-tmp]

It runs where student code runs (inside the sandbox when bubblewrap is there)
and holds no secret. The grader asks over a Unix socket, one JSON message per
request; "spawn" carries the new child's two pipe ends as file descriptors.
It is a child subreaper, so every process a student starts, even a daemon that
double-forked, stays its descendant and dies at "reset", between submissions.
CUDA is never initialised here, only in the children.
"""
import ctypes
import json
import os
import resource
import shutil
import signal
import socket
import sys
import time
from pathlib import Path

import numpy  # noqa: F401  (imported once here, inherited by every child)
import torch  # noqa: F401

from autograder import child

PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER = 4, 36
MAX_MESSAGE = 1 << 16
LIMITS = {"memory_bytes": resource.RLIMIT_AS, "cpu_seconds": resource.RLIMIT_CPU, "file_bytes": resource.RLIMIT_FSIZE}


def warm_up():
    """Pay once, here, for what PyTorch loads lazily on first use (meta kernels, autograd, RNNCell)."""
    with torch.no_grad():
        torch.nn.RNNCell(2, 3).to("meta")(torch.empty(1, 2, device="meta"))
    cell = torch.nn.RNNCell(2, 3)
    cell(torch.randn(1, 2, requires_grad=True)).sum().backward()


def descendants():
    """Every live process below this one, whatever became of its parent (Linux's /proc)."""
    parent_of = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parent_of[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    found, frontier = set(), {os.getpid()}
    while frontier:
        frontier = {pid for pid, ppid in parent_of.items() if ppid in frontier} - found
        found |= frontier
    return found


def reap():
    """Collect exited children; returns {pid: returncode} (negative: killed by that signal)."""
    codes = {}
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return codes
        if pid == 0:
            return codes
        codes[pid] = os.waitstatus_to_exitcode(status)


class Zygote:
    def __init__(self, sock, scratch, private_tmp):
        self.sock, self.scratch, self.private_tmp = sock, Path(scratch), private_tmp
        self.exit_codes = {}

    def spawn(self, request, fds):
        pid = os.fork()
        if pid == 0:  # the student's process
            try:
                self.sock.close()
                for name, limit in LIMITS.items():
                    try:
                        resource.setrlimit(limit, (request[name], request[name]))
                    except (ValueError, OSError):  # a limit this OS does not enforce (RLIMIT_AS on macOS)
                        pass
                os.environ.update(request["env"])
                os.chdir(self.scratch / request["cwd"])
                out = os.open(".output", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                os.dup2(out, 1)
                os.dup2(out, 2)
                child.run(fds[0], fds[1], request["output_bytes"])
            finally:
                os._exit(0)  # skip interpreter teardown: nothing of the student's runs after the grader is done
        for fd in fds:
            os.close(fd)
        return {"pid": pid}

    def stop(self, request, _):
        """Wait `grace` seconds for the child to exit by itself, then kill it; its exit code."""
        pid, deadline = request["pid"], time.monotonic() + request["grace"]
        while pid not in self.exit_codes and time.monotonic() < deadline:
            self.exit_codes.update(reap())
            time.sleep(0.005)
        if pid not in self.exit_codes:
            try:
                os.kill(pid, signal.SIGKILL)
                self.exit_codes[pid] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
            except (ProcessLookupError, ChildProcessError):
                self.exit_codes[pid] = -signal.SIGKILL
        return {"returncode": self.exit_codes.pop(pid)}

    def reset(self, *_):
        """Between submissions: no process and no file of the last one survives."""
        for _ in range(100):
            pids = descendants()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.001)
            reap()
        self.exit_codes.clear()
        for folder in [self.scratch] + ([Path("/tmp")] if self.private_tmp else []):
            for entry in folder.iterdir():
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
        return {"ok": True}

    def serve(self):
        self.sock.send(json.dumps({"ready": True}).encode())
        while True:
            try:
                data, fds, _, _ = socket.recv_fds(self.sock, MAX_MESSAGE, 2)
            except OSError:
                return
            if not data:
                return
            self.exit_codes.update(reap())
            request = json.loads(data)
            reply = getattr(self, request["op"])(request, fds)
            self.sock.send(json.dumps(reply).encode())


if __name__ == "__main__":
    prctl = getattr(ctypes.CDLL(None, use_errno=True), "prctl", None)  # Linux only
    if prctl:
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # its children cannot ptrace it
    warm_up()
    control = socket.socket(fileno=int(sys.argv[1]))
    Zygote(control, sys.argv[2], "--private-tmp" in sys.argv).serve()
