"""Run student code in a sandbox, one submission at a time, and talk to it with deadlines.

- `Sandbox`: one per grader process (and GPU setting): bubblewrap around a
  zygote (zygote.py) that has imported NumPy and PyTorch once. With
  bubblewrap it sees only the Python environment and the few modules it needs,
  read-only; no repository, gradebook or other submission, no network.
- `Session`: one submission. The zygote forks it a leader in namespaces of its
  own (fresh read-only view, fresh size-limited tmpfs, its own PIDs, IPC and
  network), and the grader puts the leader in a cgroup of its own (memory,
  processes, CPU of the whole tree). Closing the session kills the leader,
  and with it every process of the submission; its files die with its mounts.
- `PartProcess`: the process that runs one answer cell; a crash or a hang
  costs only its part (after a timeout the part is dead and its remaining
  calls fail at once).

Every read and write to the zygote, the leader and the student processes has
a deadline. Without bubblewrap the same runs with process isolation only
(`isolation()` says which); without writable cgroups the limits fall back to
per-process rlimits (`limits_mechanism()` says which).
"""
import atexit
import fcntl
import functools
import hashlib
import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autograder import values, wire
from autograder.cgroups import Cgroup, CgroupSystem

PACKAGE = Path(__file__).resolve().parent
# All the student's process may import of the grader: the protocol, nothing else.
CHILD_MODULES = ("__init__.py", "child.py", "values.py", "wire.py", "zygote.py")
SANDBOX_HOME = "/home/student"
FRESH = (("/tmp", "1777"), ("/dev/shm", "1777"), (SANDBOX_HOME, "700"))  # writable, fresh for every submission
MAX_MESSAGE = 1 << 16
PIPE_BYTES = 1 << 20  # the most an unprivileged process may ask for, by default
CONTROL_TIMEOUT = 30.0  # seconds for the zygote or a leader to answer a control message
ZYGOTE_START_TIMEOUT = 120.0  # importing torch on a loaded machine
# Started with -I (no PYTHONPATH, no current directory on sys.path): the grader's
# modules come after the standard library and site-packages, so no file of a
# student's can shadow anything the zygote imports.
BOOT = "import sys; sys.path.append(sys.argv[1]); from autograder.zygote import main; main(sys.argv[1:])"


class StudentError(Exception):
    """The student's code raised an exception."""


class StudentTimeout(Exception):
    """The student's code did not answer in time."""


class StudentCrash(Exception):
    """The student's process died (os._exit, a signal, a limit)."""


class SandboxFailure(Exception):
    """The grader's own machinery failed (zygote, leader): never the student's fault."""


@dataclass
class Limits:
    call_timeout: float = 10.0  # wall seconds to load the cell, and for each call
    submission_timeout: float = 120.0  # wall seconds for all the calls of one submission
    cpu_seconds: int = 60  # CPU seconds of each process
    memory_bytes: int = 4 * 2**30  # memory of a submission's whole process tree (of each process without cgroups)
    pids: int = 64  # processes and threads of a submission at once
    cpus: float = 1.0  # cores a submission may keep busy at once
    disk_bytes: int = 64 * 2**20  # size of each writable place: /tmp, /dev/shm and the home


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


@functools.cache
def cgroup_system():
    """(CgroupSystem or None, why not): where submissions' groups are made."""
    return CgroupSystem.detect()


def remove_stale_cgroups():
    system, _ = cgroup_system()
    if system:
        system.remove_stale()


def limits_report(limits: Limits, use_gpu: bool = False) -> dict:
    """What held each limit in this run, for the report."""
    system, why = cgroup_system()
    tree = system.mechanism if system else None
    return {
        "memory": f"{limits.memory_bytes // 2**20} MiB per submission ({tree})" if tree else
                  (f"{limits.memory_bytes // 2**20} MiB per process (rlimit; {why})" if not use_gpu else f"none ({why})"),
        "processes": f"{limits.pids} per submission ({tree})" if tree else f"none ({why})",
        "cpu": f"{limits.cpus:g} core(s) per submission ({tree}), {limits.cpu_seconds} s per process (rlimit)" if tree
               else f"{limits.cpu_seconds} s per process (rlimit)",
        "disk": f"{limits.disk_bytes // 2**20} MiB per writable place (tmpfs)" if bubblewrap() else
                f"{limits.disk_bytes // 2**20} MiB per file (rlimit)",
        "wall": f"{limits.call_timeout:g} s per call, {limits.submission_timeout:g} s per submission",
    }


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


def bwrap_command(use_gpu, limits):
    roots = _python_roots()
    size = str(limits.disk_bytes)
    cmd = [bubblewrap(), "--die-with-parent", "--new-session", "--unshare-all", "--as-pid-1", "--clearenv",
           "--uid", "65534", "--gid", "65534", "--proc", "/proc", "--dev", "/dev"]
    for link in ("bin", "lib", "lib64", "sbin"):
        if Path("/", link).is_symlink():
            cmd += ["--symlink", os.readlink(Path("/", link)), f"/{link}"]
    # Parents before children, so that nothing mounted later hides what an
    # earlier mount showed (a venv under /tmp, a repository inside /usr).
    mounts = [("/tmp", ["--size", size, "--tmpfs", "/tmp"])]
    mounts += [(root, ["--ro-bind", root, root]) for root in roots]
    mounts += [(path, ["--tmpfs", path]) for path in _masked(roots)]
    for _, args in sorted(mounts, key=lambda m: len(Path(m[0]).parts)):
        cmd += args
    for name in CHILD_MODULES:
        cmd += ["--ro-bind", str(PACKAGE / name), f"/grader/autograder/{name}"]
    if use_gpu:  # the NVIDIA device nodes; the driver's libraries are under /usr
        cmd += [arg for dev in sorted(Path("/dev").glob("nvidia*")) for arg in ("--dev-bind", str(dev), str(dev))]
    cmd += ["--size", size, "--tmpfs", "/dev/shm", "--dir", SANDBOX_HOME, "--chdir", "/"]
    for i, _ in enumerate(kept_roots()):  # where the zygote's leaders park them (zygote.mount_fresh)
        cmd += ["--dir", f"/.hold/{i}"]
    return cmd + ["--remount-ro", "/"]


def kept_roots():
    """Python roots inside a place each submission gets fresh (a venv under /tmp): kept visible above it."""
    return [root for root in _python_roots() if any(Path(root).is_relative_to(place) for place, _ in FRESH)]


def _exit_reason(code, memory_known):
    """Why a student's process ended; `memory_known`: a cgroup counts memory kills, so SIGKILL need not guess."""
    if code is None:
        return "o processo não terminou"
    if code < 0:
        sig = -code
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        hints = {signal.SIGXCPU: " (limite de tempo de CPU)", signal.SIGXFSZ: " (limite de tamanho de arquivo)"}
        if not memory_known:
            hints[signal.SIGKILL] = " (limite de memória?)"
        hint = hints.get(sig, "")
        return f"o processo foi morto pelo sinal {name}{hint}"
    return f"o processo terminou com código {code} (os._exit ou sys.exit fora de uma função?)"


def _ask(sock, request, fds=(), timeout=CONTROL_TIMEOUT):
    """One control request and its JSON reply, each way within `timeout`; OSError when the other side is gone."""
    sock.settimeout(timeout)
    socket.send_fds(sock, [json.dumps(request).encode()], list(fds))
    data = sock.recv(MAX_MESSAGE)
    if not data:
        raise ConnectionError("closed")
    return json.loads(data)


class Sandbox:
    """bubblewrap (when present) around one zygote; one per grader process and GPU setting."""

    def __init__(self, use_gpu, limits):
        self.sandboxed = bubblewrap() is not None
        self.log = tempfile.TemporaryFile()  # the zygote's stderr, already unlinked: read only on failure
        self.scratch = None if self.sandboxed else tempfile.mkdtemp(prefix="autograder-")
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {"PATH": "/usr/bin:/bin", "HOME": SANDBOX_HOME if self.sandboxed else self.scratch,
               "OMP_NUM_THREADS": "1"}  # one core per student process; the pool runs several
        if not use_gpu:
            env["CUDA_VISIBLE_DEVICES"] = ""
        package_parent = "/grader" if self.sandboxed else str(PACKAGE.parent)
        cmd = [sys.executable, "-I", "-B", "-c", BOOT, package_parent, str(theirs.fileno())]
        if self.sandboxed:
            setenv = [arg for key, value in env.items() for arg in ("--setenv", key, value)]
            cmd = bwrap_command(use_gpu, limits) + setenv + cmd + ["--namespaces"]
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

    def ask(self, request, fds=()):
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


def sandbox(use_gpu, limits, wait=True):
    """This process's sandbox for `use_gpu`, started (again) if needed; `wait=False` only starts it."""
    key = (use_gpu, bubblewrap(), limits.disk_bytes)
    if not (key in _sandboxes and _sandboxes[key].alive()):
        _sandboxes[key] = Sandbox(use_gpu, limits)
    return _sandboxes[key].wait_ready() if wait else _sandboxes[key]


def prestart(use_gpu, limits):
    """Start this process's zygote now, so that it imports PyTorch while the grader does other work."""
    sandbox(use_gpu, limits, wait=False)


@atexit.register
def _close_sandboxes():
    for box in _sandboxes.values():
        box.close()


def _peer_pid(message_ancdata):
    for level, kind, data in message_ancdata:
        if level == socket.SOL_SOCKET and kind == getattr(socket, "SCM_CREDENTIALS", -1):
            return struct.unpack("iII", data[:12])[0]
    return None


class Leader:
    """The grader's end of a submission's leader (zygote.Leader): its socket, pid and cgroup."""

    def __init__(self, box, limits, cgroup):
        self.box, self.cgroup, self.pidfd = box, cgroup, None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        if hasattr(socket, "SO_PASSCRED"):  # the kernel tells us the leader's pid, as we see it
            ours.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock = ours
        self.home = SANDBOX_HOME if box.namespaces else tempfile.mkdtemp(dir=box.scratch)
        fresh = [[path, limits.disk_bytes, mode] for path, mode in FRESH]
        request = {"op": "open", "home": self.home, "fresh": fresh, "keep": kept_roots()}
        try:
            if not box.ask(request, fds=[theirs.fileno()]).get("ok"):
                raise SandboxFailure(f"the zygote could not build a submission's namespaces\n{box.log_tail()}")
        except SandboxFailure:
            self.close()
            raise
        finally:
            theirs.close()
        try:
            ours.settimeout(CONTROL_TIMEOUT)
            data, ancdata, _, _ = ours.recvmsg(MAX_MESSAGE, socket.CMSG_SPACE(12))
            if not data:
                raise ConnectionError("the leader exited at start")
        except OSError as exc:
            self.close()
            raise SandboxFailure(f"no submission leader ({exc!r})\n{box.log_tail()}") from None
        self.pid = _peer_pid(ancdata)
        if self.pid:
            self.pidfd = os.pidfd_open(self.pid) if hasattr(os, "pidfd_open") else None
            if cgroup:
                cgroup.attach(self.pid)

    def ask(self, request, fds=()):
        try:
            return _ask(self.sock, request, fds)
        except (OSError, ValueError) as exc:
            raise ConnectionError(f"the submission's leader stopped answering ({exc!r})") from None

    def close(self, timeout=5.0):
        """Kill the leader and wait for it: in its own PID namespace, it exits only once every
        process of the submission is gone. Its parent, the zygote, then collects it."""
        self.sock.close()
        if self.pidfd is not None:
            try:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
                select.select([self.pidfd], [], [], timeout)  # readable once it has exited
            except ProcessLookupError:
                pass
            os.close(self.pidfd)
            self.pidfd = None
        if self.box.alive():
            try:
                self.box.ask({"op": "reset" if not self.box.namespaces else "reap"})
            except SandboxFailure:
                pass
        if not self.box.namespaces:
            shutil.rmtree(self.home, ignore_errors=True)


class Session:
    """The grading of one submission: its leader, its cgroup, its parts' processes and one time budget.

    `files` ({name: bytes}) are copied beside each part's process, as the
    student's notebook sits beside its kernel. With a `seed`, each part's
    random generators start from a state derived from it (and the cell), so a
    run with the same seed grades the same way; without, from fresh entropy.
    Closing the session kills every process the student started, and their
    files go with them.
    """

    def __init__(self, limits, use_gpu=False, files=None, seed=None):
        self.limits, self.use_gpu, self.files, self.seed = limits, use_gpu, dict(files or {}), seed
        self.deadline = time.monotonic() + limits.submission_timeout
        self.parts = []
        self.leader = self.box = None
        system, _ = cgroup_system()
        self.cgroup = None
        if system:
            self.cgroup: "Cgroup | None" = system.create()
            self.cgroup.limit(limits.memory_bytes, limits.pids, limits.cpus)
        self.spawn_seconds = 0.0  # grader overhead, for the benchmark

    def part(self, source):
        self.parts.append(PartProcess(source, self))
        return self.parts[-1]

    def current_leader(self):
        """The submission's leader, started on first use and again if it died."""
        if self.leader is None:
            self.box = sandbox(self.use_gpu, self.limits)
            self.leader = Leader(self.box, self.limits, self.cgroup)
        return self.leader

    def leader_lost(self, exc):
        """The leader died: the student's memory use (an OOM kill) or, with process isolation only,
        the student's signal; else the grader's failure."""
        tail = self.box.log_tail() if self.box else ""
        namespaces = self.box.namespaces
        self.leader.close()
        self.leader = None
        if self.over_memory():
            return StudentCrash(self.memory_message())
        if not namespaces:
            return StudentCrash("o processo que corrige esta entrega foi derrubado (pela célula?)")
        return SandboxFailure(f"{exc}\n{tail}")

    def counters(self):
        return (self.cgroup.oom_kills(), self.cgroup.pids_refused()) if self.cgroup else (0, 0)

    def over_memory(self, before=0):
        return bool(self.cgroup) and self.cgroup.oom_kills() > before

    def memory_message(self):
        return f"limite de memória da entrega ({self.limits.memory_bytes // 2**20} MiB) excedido"

    def explain(self, exc, before):
        """Add to a student's error which limit of the submission it hit, if the kernel counted one."""
        oom, refused = before
        message = str(exc)
        if isinstance(exc, StudentCrash) and self.over_memory(oom):
            return StudentCrash(f"{self.memory_message()}; o processo foi encerrado")
        if isinstance(exc, StudentError) and self.over_memory(oom):
            return StudentError(f"{message} ({self.memory_message()}: um processo da entrega foi encerrado)")
        if isinstance(exc, StudentError):
            if self.cgroup and self.cgroup.pids_refused() > refused:
                return StudentError(f"{message} (limite de {self.limits.pids} processos da entrega)")
            if "No space left on device" in message or "Errno 28" in message:
                return StudentError(f"{message} (cada pasta gravável tem {self.limits.disk_bytes // 2**20} MiB)")
        return exc

    def close(self):
        for part in self.parts:
            part.release(sweep=False)
        if self.leader:
            self.leader.close()
            self.leader = None
        if self.cgroup:
            self.cgroup.remove()
        if self.box and self.box.alive() and self.box.sandboxed and not self.box.namespaces:
            self.box.close()  # no namespaces inside bubblewrap: a fresh sandbox per submission

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class PartProcess:
    """The process that runs one answer cell; forked by the submission's leader on first use."""

    def __init__(self, source, session):
        self.source, self.session, self.limits = source, session, session.limits
        self.pid = None
        self.dead = None  # the exception every later call raises
        self.crashes = 0

    def _start(self):
        start = time.monotonic()
        session, limits = self.session, self.limits
        to_child, self._w = os.pipe()
        self._r, from_child = os.pipe()
        for fd in (self._w, self._r):
            os.set_blocking(fd, False)
            try:  # a 2 MB array then crosses in a few writes, not thirty
                fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
            except OSError:
                pass
        request = {
            "op": "spawn", "cwd": uuid.uuid4().hex, "env": {"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"},
            "cpu_seconds": limits.cpu_seconds, "file_bytes": limits.disk_bytes,
            # Without a cgroup, memory is bounded per process; CUDA needs more address space than any such bound.
            "memory_bytes": None if (session.cgroup or session.use_gpu) else limits.memory_bytes,
        }
        try:
            for attempt in (1, 2):  # a leader that died since the last part is replaced once
                try:
                    leader = session.current_leader()
                    self.pid = leader.ask(request, fds=(to_child, from_child))["pid"]
                    break
                except ConnectionError as exc:
                    lost = session.leader_lost(exc)
                    if attempt == 2:
                        raise lost from None
        except (StudentCrash, SandboxFailure) as exc:
            os.close(self._w)
            os.close(self._r)
            self.dead = exc
            raise
        finally:
            os.close(to_child)
            os.close(from_child)
        self.leader = leader
        self.counters = session.counters()
        session.spawn_seconds += time.monotonic() - start
        files = {name: np.frombuffer(data, dtype=np.uint8) for name, data in session.files.items()}
        seed = None
        if session.seed is not None:  # a hash: the student's process cannot work back to the run's seed
            seed = int.from_bytes(hashlib.sha256(f"{session.seed}\n{self.source}".encode()).digest()[:4], "big")
        try:
            self._request({"op": "load", "source": self.source, "files": files, "seed": seed})
        except StudentError as exc:
            self._kill()
            self.dead = StudentError(f"a célula falhou ao ser executada: {exc}")
            raise self.dead from None
        except (StudentCrash, StudentTimeout) as exc:
            self.dead = type(exc)(f"ao executar a célula: {exc}")
            raise self.dead from None

    def _request(self, message):
        session = self.session
        deadline = min(time.monotonic() + self.limits.call_timeout, session.deadline)
        before = self.counters  # what the kernel had counted when this process started
        try:
            wire.send(self._w, message, deadline=deadline)
            reply = wire.recv(self._r, deadline=deadline)
        except TimeoutError:
            self._kill()
            if deadline == session.deadline:
                self.dead = StudentTimeout(f"tempo total da entrega esgotado ({self.limits.submission_timeout:g} s)")
            else:
                self.dead = StudentTimeout(f"sem resposta em {self.limits.call_timeout:g} s (laço infinito?)")
            raise self.dead from None
        except (EOFError, OSError, wire.ProtocolError) as exc:
            code = self._kill(grace=1.0)  # it is exiting: let it, to learn why
            if isinstance(self.dead, SandboxFailure):  # the leader died with it, and not of memory
                raise self.dead from None
            self.crashes += 1
            crash = StudentCrash("resposta malformada do processo do aluno" if isinstance(exc, wire.ProtocolError)
                                 else _exit_reason(code, session.cgroup is not None))
            crash = session.explain(crash, before)
            if self.crashes >= 2:  # a second crash: stop paying to restart it
                self.dead = crash
            raise crash from None
        if not isinstance(reply, dict) or reply.get("ok") is not True:
            error = reply.get("error") if isinstance(reply, dict) else None
            raise session.explain(StudentError(values.text(error or "resposta inválida do processo do aluno", 400)), before)
        return reply.get("value")

    def _kill(self, grace=0.0):
        """Stop the process; return its exit code (None if unknown)."""
        if self.pid is None:
            return None
        code = None
        try:
            code = self.leader.ask({"op": "stop", "pid": self.pid, "grace": grace})["returncode"]
        except ConnectionError as exc:
            if self.session.leader is self.leader:
                lost = self.session.leader_lost(exc)
                if isinstance(lost, SandboxFailure):
                    self.dead = lost
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

    def release(self, sweep=True):
        """Hang up, and (between parts) end every process the part left behind."""
        if self.pid is not None:
            os.close(self._w)
            os.close(self._r)
            self.pid = None
            if sweep and self.session.leader is self.leader:
                try:
                    self.leader.ask({"op": "sweep"})
                except ConnectionError as exc:
                    self.session.leader_lost(exc)
