"""bubblewrap around one warm zygote: the grader's end of the sandbox, one per grader process.

With bubblewrap, the zygote (inside/zygote.py) sees only the Python
environment and the grader's `autograder.inside` package, read-only: no
repository, gradebook or other submission, no network, no environment of the
instructor's, a user and a PID namespace of its own. Without, it runs as a
plain process (`isolation()` says which). It is started once per grader
process (`prestart` lets it import PyTorch while the grader does other work)
and forks the submissions' leaders (session.py).
"""
import atexit
import functools
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from autograder.errors import SandboxFailure

PACKAGE = Path(__file__).resolve().parent
INSIDE = PACKAGE / "inside"  # all the student's process may import of the grader
SANDBOX_HOME = "/home/student"
FRESH = (("/tmp", "1777"), ("/dev/shm", "1777"), (SANDBOX_HOME, "700"))  # writable, fresh for every submission
MAX_MESSAGE = 1 << 16
CONTROL_TIMEOUT = 30.0  # seconds for the zygote or a leader to answer a control message
ZYGOTE_START_TIMEOUT = 120.0  # importing torch on a loaded machine
# Started with -I (no PYTHONPATH, no current directory on sys.path): the grader's
# modules come after the standard library and site-packages, so no file of a
# student's can shadow anything the zygote imports.
BOOT = "import sys; sys.path.append(sys.argv[1]); from autograder.inside.zygote import main; main(sys.argv[1:])"


@functools.cache
def bubblewrap() -> "str | None":
    """Path of a bwrap that can build a sandbox here, or None (absent, or no user namespaces)."""
    path = shutil.which("bwrap")
    probe = [path, "--unshare-all", "--ro-bind", "/", "/", "true"]
    if path and subprocess.run(probe, capture_output=True).returncode == 0:
        return path
    return None


def isolation() -> str:
    """What the report's "isolation" field says: "bubblewrap" or "process"."""
    return "bubblewrap" if bubblewrap() else "process"


def _python_roots():
    """The directories the student's interpreter needs, read-only."""
    roots = {"/usr"}
    for prefix in (sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(sys.executable).resolve().parent.parent)):
        if not any(Path(prefix).is_relative_to(root) for root in roots):
            roots.add(prefix)
    return sorted(roots)


def _masked(roots, hide):
    """Grader code and course material that an install may have put inside the Python roots: emptied."""
    secrets = [PACKAGE, PACKAGE.parent, *map(Path, hide)]
    return [str(s) for s in secrets if any(s.is_relative_to(r) for r in roots)]


def bwrap_command(use_gpu: bool, disk_bytes: int, hide: tuple = ()) -> list:
    roots = _python_roots()
    size = str(disk_bytes)
    cmd = [bubblewrap(), "--die-with-parent", "--new-session", "--unshare-all", "--as-pid-1", "--clearenv",
           "--uid", "65534", "--gid", "65534", "--proc", "/proc", "--dev", "/dev"]
    for link in ("bin", "lib", "lib64", "sbin"):
        if Path("/", link).is_symlink():
            cmd += ["--symlink", os.readlink(Path("/", link)), f"/{link}"]
    # Parents before children, so that nothing mounted later hides what an
    # earlier mount showed (a venv under /tmp, a repository inside /usr).
    mounts = [("/tmp", ["--size", size, "--tmpfs", "/tmp"])]
    mounts += [(root, ["--ro-bind", root, root]) for root in roots]
    mounts += [(path, ["--tmpfs", path]) for path in _masked(roots, hide)]
    for _, args in sorted(mounts, key=lambda m: len(Path(m[0]).parts)):
        cmd += args
    cmd += ["--ro-bind", str(PACKAGE / "__init__.py"), "/grader/autograder/__init__.py",
            "--ro-bind", str(INSIDE), "/grader/autograder/inside"]
    if use_gpu:  # the NVIDIA device nodes; the driver's libraries are under /usr
        cmd += [arg for dev in sorted(Path("/dev").glob("nvidia*")) for arg in ("--dev-bind", str(dev), str(dev))]
    cmd += ["--size", size, "--tmpfs", "/dev/shm", "--dir", SANDBOX_HOME, "--chdir", "/"]
    for i, _ in enumerate(kept_roots()):  # where the zygote's leaders park them (inside/zygote.mount_fresh)
        cmd += ["--dir", f"/.hold/{i}"]
    return cmd + ["--remount-ro", "/"]


def kept_roots() -> list:
    """Python roots inside a place each submission gets fresh (a venv under /tmp): kept visible above it."""
    return [root for root in _python_roots() if any(Path(root).is_relative_to(place) for place, _ in FRESH)]


def _ask(sock, request, fds=(), timeout=CONTROL_TIMEOUT):
    """One control request and its JSON reply, each way within `timeout`; OSError when the other side is gone."""
    sock.settimeout(timeout)
    socket.send_fds(sock, [json.dumps(request).encode()], list(fds))
    data = sock.recv(MAX_MESSAGE)
    if not data:
        raise ConnectionError("closed")
    return json.loads(data)


class Sandbox:
    """bubblewrap (when present) around one zygote.

    `warm_up` is Python the zygote runs once (the assignment's); `hide` are
    folders that must stay out of sight even if they lie inside the Python
    environment (the course).
    """

    def __init__(self, use_gpu, disk_bytes, warm_up="", hide=()):
        self.sandboxed = bubblewrap() is not None
        self.log = tempfile.TemporaryFile()  # the zygote's stderr, already unlinked: read only on failure
        self.scratch = None if self.sandboxed else tempfile.mkdtemp(prefix="autograder-")
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {"PATH": "/usr/bin:/bin", "HOME": SANDBOX_HOME if self.sandboxed else self.scratch,
               "OMP_NUM_THREADS": "1"}  # one core per student process; the pool runs several
        if not use_gpu:
            env["CUDA_VISIBLE_DEVICES"] = ""
        package_parent = "/grader" if self.sandboxed else str(PACKAGE.parent)
        cmd = [sys.executable, "-I", "-B", "-c", BOOT, package_parent, str(theirs.fileno()), warm_up]
        if self.sandboxed:
            setenv = [arg for key, value in env.items() for arg in ("--setenv", key, value)]
            cmd = bwrap_command(use_gpu, disk_bytes, hide) + setenv + cmd + ["--namespaces"]
        self.proc = subprocess.Popen(cmd, pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=self.log, env=env, start_new_session=True)
        theirs.close()
        self.sock = ours
        self.namespaces = None  # known once the zygote says it is ready

    def wait_ready(self):
        """Wait (once) until the zygote has imported NumPy and PyTorch; it starts in the background."""
        if self.namespaces is None:
            try:
                ready = self._recv(ZYGOTE_START_TIMEOUT)
            except SandboxFailure:
                self.close()
                raise
            self.namespaces = bool(ready.get("namespaces"))
        return self

    def _recv(self, timeout):
        if not select.select([self.sock], [], [], timeout)[0]:
            raise SandboxFailure(f"the zygote did not start in {timeout:g} s\n{self.log_tail()}")
        data = self.sock.recv(MAX_MESSAGE)
        if not data:
            raise SandboxFailure(f"the zygote exited at start\n{self.log_tail()}")
        return json.loads(data)

    def ask(self, request: dict, fds: tuple = ()) -> dict:
        try:
            return _ask(self.sock, request, fds)
        except (OSError, ValueError) as exc:
            tail = self.log_tail()
            self.close()
            raise SandboxFailure(f"the zygote stopped answering ({exc!r})\n{tail}") from None

    def log_tail(self, limit=16384):
        """The end of what the zygote and the leaders wrote to stderr."""
        try:
            size = self.log.seek(0, os.SEEK_END)
            self.log.seek(max(0, size - limit))
            return self.log.read().decode(errors="replace")
        except (OSError, ValueError):
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def close(self):
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


_sandboxes = {}


def sandbox(use_gpu: bool, disk_bytes: int, warm_up: str = "", hide: tuple = (), wait: bool = True) -> "Sandbox":
    """This process's sandbox for these settings, started (again) if needed; `wait=False` only starts it."""
    key = (use_gpu, bubblewrap(), disk_bytes, warm_up, tuple(map(str, hide)))
    if not (key in _sandboxes and _sandboxes[key].alive()):
        _sandboxes[key] = Sandbox(use_gpu, disk_bytes, warm_up, hide)
    return _sandboxes[key].wait_ready() if wait else _sandboxes[key]


def prestart(use_gpu: bool, disk_bytes: int, warm_up: str = "", hide: tuple = ()) -> None:
    """Start this process's zygote now, so that it imports PyTorch while the grader does other work."""
    sandbox(use_gpu, disk_bytes, warm_up, hide, wait=False)


@atexit.register
def _close_sandboxes():
    for box in _sandboxes.values():
        box.close()


