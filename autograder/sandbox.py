"""Run student code in a sandbox and talk to it over pipes.

Each grader process starts one zygote (zygote.py): a process that imports
NumPy and PyTorch once, inside the sandbox, and forks a fresh process for
each part of each submission, so no student pays for an interpreter or an
`import torch`. With bubblewrap the sandbox sees only the Python environment
(read-only), the child's own modules and a private scratch directory: no
repository, gradebook or other submission, no network, no environment of the
instructor's, a PID namespace of its own. Without bubblewrap the same runs
apart, with a clean environment and the same limits (`isolation()` says which).

A `Session` grades one submission: a crash or a hang costs only the part it is
in (after a timeout the part is dead and its remaining calls fail at once, so
a hang costs one timeout per part, not one per test), and when the session
closes no process and no file of that student's survives.
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
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from autograder import values, wire

PACKAGE = Path(__file__).resolve().parent
# All the student's process may import of the grader: the protocol, nothing else.
CHILD_MODULES = ("__init__.py", "child.py", "values.py", "wire.py", "zygote.py")
SANDBOX_HOME = "/home/student"


class StudentError(Exception):
    """The student's code raised an exception."""


class StudentTimeout(Exception):
    """The student's code did not answer in time."""


class StudentCrash(Exception):
    """The student's process died (os._exit, a signal, a limit)."""


class ZygoteDied(Exception):
    """The zygote stopped answering (a student's process may have killed it)."""


@dataclass
class Limits:
    call_timeout: float = 10.0  # wall seconds to load the cell, and for each call
    submission_timeout: float = 120.0  # wall seconds for all the calls of one submission
    cpu_seconds: int = 60  # CPU seconds of each part's process
    memory_bytes: int = 4 * 2**30  # address space of each part's process
    output_bytes: int = 2**20  # what each part may print; the rest is dropped


@functools.cache
def bubblewrap():
    """Path of a bwrap that can build a sandbox here, or None (absent, or no user namespaces)."""
    path = shutil.which("bwrap")
    if path and subprocess.run([path, "--unshare-all", "--ro-bind", "/", "/", "true"], capture_output=True).returncode == 0:
        return path
    return None


def isolation():
    """What the report's "isolation" field says: "bubblewrap" or "process"."""
    return "bubblewrap" if bubblewrap() else "process"


def _python_roots():
    """The directories the student's interpreter needs, read-only."""
    roots = {"/usr"}
    for prefix in (sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(sys.executable).resolve().parent.parent)):
        if not any(Path(prefix).is_relative_to(root) for root in roots):
            roots.add(prefix)
    return sorted(roots)


def _masked(roots):
    """Grader code that an install may have put inside the Python roots: hidden with empty dirs."""
    import solutions

    secrets = [PACKAGE, Path(solutions.__file__).resolve().parent, PACKAGE.parent]
    return [str(s) for s in secrets if any(s.is_relative_to(r) for r in roots)]


def bwrap_command(scratch, use_gpu):
    roots = _python_roots()
    cmd = [bubblewrap(), "--die-with-parent", "--new-session", "--unshare-all", "--clearenv",
           "--uid", "65534", "--gid", "65534", "--proc", "/proc", "--dev", "/dev"]
    for link in ("bin", "lib", "lib64", "sbin"):
        if Path("/", link).is_symlink():
            cmd += ["--symlink", os.readlink(Path("/", link)), f"/{link}"]
    # Parents before children, so that nothing mounted later hides what an
    # earlier mount showed (a venv under /tmp, a repository inside /usr).
    mounts = [("/tmp", ["--tmpfs", "/tmp"])]
    mounts += [(root, ["--ro-bind", root, root]) for root in roots]
    mounts += [(path, ["--tmpfs", path]) for path in _masked(roots)]
    for _, args in sorted(mounts, key=lambda m: len(Path(m[0]).parts)):
        cmd += args
    for name in CHILD_MODULES:
        cmd += ["--ro-bind", str(PACKAGE / name), f"/grader/autograder/{name}"]
    if use_gpu:  # the NVIDIA device nodes; the driver's libraries are under /usr
        cmd += [arg for dev in sorted(Path("/dev").glob("nvidia*")) for arg in ("--dev-bind", str(dev), str(dev))]
    return cmd + ["--bind", scratch, SANDBOX_HOME, "--chdir", SANDBOX_HOME]


def _exit_reason(code):
    if code is None:
        return "o processo não terminou"
    if code < 0:
        sig = -code
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        hint = {signal.SIGKILL: " (limite de memória?)", signal.SIGXCPU: " (limite de tempo de CPU)"}.get(sig, "")
        return f"o processo foi morto pelo sinal {name}{hint}"
    return f"o processo terminou com código {code} (os._exit ou sys.exit fora de uma função?)"


class Zygote:
    """The grader's end of a zygote: started once per grader process and use_gpu."""

    def __init__(self, use_gpu):
        self.scratch = tempfile.TemporaryDirectory(prefix="autograder-")
        self.sandboxed = bubblewrap() is not None
        self.home = SANDBOX_HOME if self.sandboxed else self.scratch.name
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": self.home,
            "PYTHONPATH": "/grader" if self.sandboxed else str(PACKAGE.parent),
            "PYTHONDONTWRITEBYTECODE": "1",
            "OMP_NUM_THREADS": "1",  # one core per student process; the pool runs several
        }
        if not use_gpu:
            env["CUDA_VISIBLE_DEVICES"] = ""
        cmd = [sys.executable, "-m", "autograder.zygote", str(theirs.fileno()), self.home]
        if self.sandboxed:
            setenv = [arg for key, value in env.items() for arg in ("--setenv", key, value)]
            cmd = bwrap_command(self.scratch.name, use_gpu) + setenv + cmd + ["--private-tmp"]
        log = open(Path(self.scratch.name).parent / f"{Path(self.scratch.name).name}.log", "ab")
        self.proc = subprocess.Popen(cmd, pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=log, env=env, start_new_session=True)
        log.close()
        theirs.close()
        self.sock = ours
        self._recv(timeout=120)  # it says "ready" once NumPy and PyTorch are imported

    def _recv(self, timeout):
        if not select.select([self.sock], [], [], timeout)[0]:
            raise ZygoteDied("no answer")
        data = self.sock.recv(1 << 16)
        if not data:
            raise ZygoteDied("it exited")
        return json.loads(data)

    def ask(self, request, fds=(), timeout=30.0):
        try:
            socket.send_fds(self.sock, [json.dumps(request).encode()], list(fds))
            return self._recv(timeout)
        except (OSError, ValueError, ZygoteDied) as exc:
            self.close()
            raise ZygoteDied(str(exc)) from None

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
            self.scratch.cleanup()


_zygotes = {}


def zygote(use_gpu):
    """This process's zygote for `use_gpu` (and the sandbox at hand), started (again) if needed."""
    key = (use_gpu, bubblewrap())
    if not (key in _zygotes and _zygotes[key].alive()):
        _zygotes[key] = Zygote(use_gpu)
    return _zygotes[key]


@atexit.register
def _close_zygotes():
    for z in _zygotes.values():
        z.close()


class Session:
    """The grading of one submission: its parts' processes and one time budget.

    Closing it kills every process the student started and wipes their files.
    """

    def __init__(self, limits, use_gpu=False, notebook=None):
        self.limits, self.use_gpu, self.notebook = limits, use_gpu, notebook
        self.deadline = time.monotonic() + limits.submission_timeout
        self.parts = []
        self.spawn_seconds = 0.0  # grader overhead, for the benchmark

    def part(self, source):
        self.parts.append(PartProcess(source, self))
        return self.parts[-1]

    def close(self):
        zygotes = {id(p.zygote): p.zygote for p in self.parts if p.zygote}
        for part in self.parts:
            part.release()
        for z in zygotes.values():  # one reset kills every process of the submission at once
            if z.alive():
                try:
                    z.ask({"op": "reset"})
                except ZygoteDied:
                    pass  # closed: nothing of it is left either

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class PartProcess:
    """The process that runs one answer cell; forked by the zygote on first use."""

    def __init__(self, source, session):
        self.source, self.session, self.limits = source, session, session.limits
        self.pid = self.zygote = None
        self.dead = None  # the exception every later call raises
        self.crashes = 0

    def _start(self):
        start = time.monotonic()
        self.zygote = zygote(self.session.use_gpu)
        cwd = uuid.uuid4().hex  # a private scratch directory, with the student's notebook
        (Path(self.zygote.scratch.name) / cwd).mkdir()
        if self.session.notebook:
            shutil.copy(self.session.notebook, Path(self.zygote.scratch.name) / cwd)
        to_child, self._w = os.pipe()
        self._r, from_child = os.pipe()
        request = {
            "op": "spawn", "cwd": cwd, "env": {"HOME": f"{self.zygote.home}/{cwd}"},
            "memory_bytes": self.limits.memory_bytes, "cpu_seconds": self.limits.cpu_seconds,
            "file_bytes": 4 * self.limits.output_bytes, "output_bytes": self.limits.output_bytes,
        }
        try:
            self.pid = self.zygote.ask(request, fds=(to_child, from_child))["pid"]
        except ZygoteDied:
            os.close(self._w)
            os.close(self._r)
            self.dead = StudentCrash("o processo de correção caiu (a célula o derrubou?)")
            raise self.dead from None
        finally:
            os.close(to_child)
            os.close(from_child)
        self.session.spawn_seconds += time.monotonic() - start
        try:
            self._request({"op": "load", "source": self.source})
        except StudentError as exc:
            self._kill()
            self.dead = StudentError(f"a célula falhou ao ser executada: {exc}")
            raise self.dead from None
        except (StudentCrash, StudentTimeout) as exc:
            self.dead = type(exc)(f"ao executar a célula: {exc}")
            raise self.dead from None

    def _request(self, message):
        deadline = min(time.monotonic() + self.limits.call_timeout, self.session.deadline)
        try:
            wire.send(self._w, message)
            reply = wire.recv(self._r, deadline=deadline)
        except TimeoutError:
            self._kill()
            if deadline == self.session.deadline:
                self.dead = StudentTimeout(f"tempo total da entrega esgotado ({self.limits.submission_timeout:g} s)")
            else:
                self.dead = StudentTimeout(f"sem resposta em {self.limits.call_timeout:g} s (laço infinito?)")
            raise self.dead from None
        except (EOFError, BrokenPipeError, wire.ProtocolError) as exc:
            code = self._kill(grace=1.0)  # it is exiting: let it, to learn why
            self.crashes += 1
            crash = StudentCrash(str(exc) if isinstance(exc, wire.ProtocolError) else _exit_reason(code))
            if self.crashes >= 2:  # a second crash: stop paying to restart it
                self.dead = crash
            raise crash from None
        if not isinstance(reply, dict) or not reply.get("ok"):
            error = reply.get("error") if isinstance(reply, dict) else None
            raise StudentError(str(error or "resposta inválida do processo do aluno"))
        return reply.get("value")

    def _kill(self, grace=0.0):
        """Stop the process; return its exit code (None if unknown)."""
        if self.pid is None:
            return None
        try:
            code = self.zygote.ask({"op": "stop", "pid": self.pid, "grace": grace}, timeout=grace + 30)["returncode"]
        except ZygoteDied:
            code = None
        os.close(self._w)
        os.close(self._r)
        self.pid = None
        return code

    def request(self, op, **args):
        """Run probe `op` (child.PROBES) in the student's process; returns plain values."""
        if self.dead:
            raise self.dead
        if time.monotonic() >= self.session.deadline:
            self.dead = StudentTimeout(f"tempo total da entrega esgotado ({self.limits.submission_timeout:g} s)")
            raise self.dead
        if self.pid is None:
            self._start()
        return values.restore(self._request({"op": op, "args": args}))

    def release(self):
        """Hang up; the zygote's reset at the end of the session kills the process."""
        if self.pid is not None:
            os.close(self._w)
            os.close(self._r)
            self.pid = None
