"""One warm zygote per grader process, under the current isolation backend (backends/): the grader's end.

The backend decides how the zygote (inside/zygote.py) is started and what it
can see (bubblewrap: only the Python environment and `autograder.inside`; the
process fallback: the host, with limits). It is started once per grader
process (`prestart` lets it import PyTorch while the grader does other work)
and forks the submissions' leaders (session.py).
"""
import atexit
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from autograder import backends
from autograder.backends.base import PACKAGE
from autograder.errors import SandboxFailure

MAX_MESSAGE = 1 << 16
CONTROL_TIMEOUT = 30.0  # seconds for the zygote or a leader to answer a control message
ZYGOTE_START_TIMEOUT = 120.0  # importing torch on a loaded machine
# Started with -I (no PYTHONPATH, no current directory on sys.path): the grader's
# modules come after the standard library and site-packages, so no file of a
# student's can shadow anything the zygote imports.
BOOT = "import sys; sys.path.append(sys.argv[1]); from autograder.inside.zygote import main; main(sys.argv[1:])"


def _ask(sock: socket.socket, request: "dict[str, Any]", fds: "Iterable[int]" = (),
         timeout: float = CONTROL_TIMEOUT) -> Any:
    """One control request and its JSON reply, each way within `timeout`; OSError when the other side is gone."""
    sock.settimeout(timeout)
    socket.send_fds(sock, [json.dumps(request).encode()], list(fds))
    data = sock.recv(MAX_MESSAGE)
    if not data:
        raise ConnectionError("closed")
    return json.loads(data)


class Sandbox:
    """The current isolation backend (backends/) around one zygote.

    `warm_up` is Python the zygote runs once (the assignment's); `hide` are
    folders that must stay out of sight even if they lie inside the Python
    environment (the course).
    """

    def __init__(self, use_gpu: bool, disk_bytes: int, warm_up: str = "", hide: "tuple[str | Path, ...]" = ()):
        self.backend = backends.current()
        self.sandboxed = self.backend.isolates_host
        self.log = tempfile.TemporaryFile()  # the zygote's stderr, already unlinked: read only on failure
        self.scratch = tempfile.mkdtemp(prefix="autograder-") if self.backend.needs_scratch() else None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {"PATH": "/usr/bin:/bin", "HOME": self.backend.home(self.scratch),
               "OMP_NUM_THREADS": "1"}  # one core per student process; the pool runs several
        if not use_gpu:
            env["CUDA_VISIBLE_DEVICES"] = ""
        cmd = [sys.executable, "-I", "-B", "-c", BOOT, self.backend.package_parent(PACKAGE), str(theirs.fileno()),
               warm_up]
        cmd = self.backend.wrap(cmd, env, use_gpu, disk_bytes, hide)
        self.proc: "subprocess.Popen[bytes] | None" = subprocess.Popen(
            cmd, pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, env=env,
            start_new_session=True)
        theirs.close()
        self.sock = ours
        self.namespaces: "bool | None" = None  # known once the zygote says it is ready

    def wait_ready(self) -> "Sandbox":
        """Wait (once) until the zygote has imported NumPy and PyTorch; it starts in the background."""
        if self.namespaces is None:
            try:
                ready = self._recv(ZYGOTE_START_TIMEOUT)
            except SandboxFailure:
                self.close()
                raise
            self.namespaces = bool(ready.get("namespaces"))
        return self

    def _recv(self, timeout: float) -> Any:
        if not select.select([self.sock], [], [], timeout)[0]:
            raise SandboxFailure(f"the zygote did not start in {timeout:g} s\n{self.log_tail()}")
        data = self.sock.recv(MAX_MESSAGE)
        if not data:
            raise SandboxFailure(f"the zygote exited at start\n{self.log_tail()}")
        return json.loads(data)

    def ask(self, request: "dict[str, Any]", fds: "Iterable[int]" = ()) -> "dict[str, Any]":
        try:
            return _ask(self.sock, request, fds)
        except (OSError, ValueError) as exc:
            tail = self.log_tail()
            self.close()
            raise SandboxFailure(f"the zygote stopped answering ({exc!r})\n{tail}") from None

    def log_tail(self, limit: int = 16384) -> str:
        """The end of what the zygote and the leaders wrote to stderr."""
        try:
            size = self.log.seek(0, os.SEEK_END)
            self.log.seek(max(0, size - limit))
            return self.log.read().decode(errors="replace")
        except (OSError, ValueError):
            return ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def close(self) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # bwrap, and with it the whole sandbox
            except ProcessLookupError:
                pass
            self.proc.wait()
            self.proc = None
            self.sock.close()
        if self.scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)


_sandboxes: "dict[tuple[bool, str, int, str, tuple[str, ...]], Sandbox]" = {}


def sandbox(use_gpu: bool, disk_bytes: int, warm_up: str = "", hide: "tuple[str | Path, ...]" = (),
            wait: bool = True) -> "Sandbox":
    """This process's sandbox for these settings, started (again) if needed; `wait=False` only starts it."""
    key = (use_gpu, backends.current().name, disk_bytes, warm_up, tuple(map(str, hide)))
    if not (key in _sandboxes and _sandboxes[key].alive()):
        _sandboxes[key] = Sandbox(use_gpu, disk_bytes, warm_up, hide)
    return _sandboxes[key].wait_ready() if wait else _sandboxes[key]


def prestart(use_gpu: bool, disk_bytes: int, warm_up: str = "", hide: "tuple[str | Path, ...]" = ()) -> None:
    """Start this process's zygote now, so that it imports PyTorch while the grader does other work."""
    sandbox(use_gpu, disk_bytes, warm_up, hide, wait=False)


@atexit.register
def _close_sandboxes() -> None:
    for box in _sandboxes.values():
        box.close()


