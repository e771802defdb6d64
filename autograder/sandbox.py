"""Run student code in a sandbox and talk to it over pipes.

Each graded part gets a process that executes the part's answer cell (see
child.py). With bubblewrap the process sees only the Python environment
(read-only), the child's own modules and a private scratch directory: no
repository, gradebook or other submission, no network, no environment of the
instructor's, a PID namespace of its own that dies with it. Without
bubblewrap it still runs apart, with a clean environment and the same limits
(`isolation()` says which). A crash or a hang costs that part only: after a
timeout the part is dead and its remaining calls fail at once, so a hang
costs one timeout per part, not one per test.
"""
import functools
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from autograder import values, wire

PACKAGE = Path(__file__).resolve().parent
# All the student's process may import of the grader: the protocol, nothing else.
CHILD_MODULES = ("__init__.py", "child.py", "values.py", "wire.py")
SANDBOX_HOME = "/home/student"


class StudentError(Exception):
    """The student's code raised an exception."""


class StudentTimeout(Exception):
    """The student's code did not answer in time."""


class StudentCrash(Exception):
    """The student's process died (os._exit, a signal, a limit)."""


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


def _exit_reason(code, sandboxed):
    if code is None:
        return "o processo não terminou"
    sig = -code if code < 0 else code - 128 if sandboxed and code > 128 else None
    if sig:
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        hint = {signal.SIGKILL: " (limite de memória?)", signal.SIGXCPU: " (limite de tempo de CPU)"}.get(sig, "")
        return f"o processo foi morto pelo sinal {name}{hint}"
    return f"o processo terminou com código {code} (os._exit ou sys.exit fora de uma função?)"


class PartProcess:
    """The process that runs one answer cell; started on first use."""

    def __init__(self, source, limits, deadline=None, use_gpu=False, notebook=None):
        self.source, self.limits, self.use_gpu = source, limits, use_gpu
        # Shared by the parts of one submission: its total wall-time budget.
        self.deadline = deadline or time.monotonic() + limits.submission_timeout
        self.proc = None
        self.dead = None  # the exception every later call raises
        self.crashes = 0
        self.scratch = tempfile.TemporaryDirectory(prefix="autograder-")
        if notebook:
            shutil.copy(notebook, self.scratch.name)

    def _limit_resources(self):  # runs in the new process between fork and exec
        os.setsid()
        for limit, value in ((resource.RLIMIT_AS, self.limits.memory_bytes),
                             (resource.RLIMIT_CPU, self.limits.cpu_seconds),
                             (resource.RLIMIT_FSIZE, 4 * self.limits.output_bytes),
                             (resource.RLIMIT_CORE, 0)):
            resource.setrlimit(limit, (value, value))

    def _start(self):
        to_child, self._w = os.pipe()
        self._r, from_child = os.pipe()
        sandboxed = bubblewrap() is not None
        home = SANDBOX_HOME if sandboxed else self.scratch.name
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": home,
            "PYTHONPATH": "/grader" if sandboxed else str(PACKAGE.parent),
            "PYTHONDONTWRITEBYTECODE": "1",
            "OMP_NUM_THREADS": "1",  # one core per student process; the pool runs several
        }
        if not self.use_gpu:
            env["CUDA_VISIBLE_DEVICES"] = ""
        child = [sys.executable, "-m", "autograder.child", str(to_child), str(from_child), str(self.limits.output_bytes)]
        if sandboxed:
            child = bwrap_command(self.scratch.name, self.use_gpu) + [a for k, v in env.items() for a in ("--setenv", k, v)] + child
        output = open(Path(self.scratch.name) / ".output", "ab")
        self.proc = subprocess.Popen(
            child, pass_fds=(to_child, from_child), stdin=subprocess.DEVNULL, stdout=output, stderr=output,
            cwd=self.scratch.name, env=env, preexec_fn=self._limit_resources,
        )
        self.sandboxed = sandboxed
        output.close()
        os.close(to_child)
        os.close(from_child)
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
        deadline = min(time.monotonic() + self.limits.call_timeout, self.deadline)
        try:
            wire.send(self._w, message)
            reply = wire.recv(self._r, deadline=deadline)
        except TimeoutError:
            self._kill()
            if deadline == self.deadline:
                self.dead = StudentTimeout(f"tempo total da entrega esgotado ({self.limits.submission_timeout:g} s)")
            else:
                self.dead = StudentTimeout(f"sem resposta em {self.limits.call_timeout:g} s (laço infinito?)")
            raise self.dead from None
        except (EOFError, BrokenPipeError, wire.ProtocolError) as exc:
            code = self._kill(grace=1.0)  # it is exiting: let it, to learn why
            self.crashes += 1
            crash = StudentCrash(str(exc) if isinstance(exc, wire.ProtocolError) else _exit_reason(code, self.sandboxed))
            if self.crashes >= 2:  # a second crash: stop paying to restart it
                self.dead = crash
            raise crash from None
        if not isinstance(reply, dict) or not reply.get("ok"):
            error = reply.get("error") if isinstance(reply, dict) else None
            raise StudentError(str(error or "resposta inválida do processo do aluno"))
        return reply.get("value")

    def _kill(self, grace=0.0):
        """Stop the process and everything it started; return its exit status."""
        if self.proc is None:
            return None
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        try:
            # Its session: bwrap and, through its PID namespace, every process inside.
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        code = self.proc.wait()
        os.close(self._w)
        os.close(self._r)
        self.proc = None
        return code

    def request(self, op, **args):
        """Run probe `op` (child.PROBES) in the student's process; returns plain values."""
        if self.dead:
            raise self.dead
        if time.monotonic() >= self.deadline:
            self.dead = StudentTimeout(f"tempo total da entrega esgotado ({self.limits.submission_timeout:g} s)")
            raise self.dead
        if self.proc is None:
            self._start()
        return values.restore(self._request({"op": op, "args": args}))

    def close(self):
        self._kill()
        self.scratch.cleanup()
