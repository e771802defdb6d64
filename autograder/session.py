"""One submission graded in the sandbox: its leader, its cgroup, its parts' processes.

- `Session`: one submission. The sandbox's zygote forks it a leader in
  namespaces of its own (fresh read-only view, fresh size-limited tmpfs, its
  own PIDs, IPC and network), and the grader puts the leader in a cgroup of its
  own (memory, processes, CPU of the whole tree). Closing the session kills the
  leader, and with it every process of the submission; its files die with its
  mounts.
- `PartProcess`: the process that runs one answer cell; a crash or a hang
  costs only its part (after a timeout the part is dead and its remaining
  calls fail at once). The next part goes on in the same process, as a kernel
  goes on down the notebook, when that process ran whole the cells the next
  part runs first (Session.take_spare); else, and after any crash, hang or
  error, the next part starts in a fresh one, as every part once did.

Every read and write to the zygote, the leader and the student processes has
a deadline.
"""
import fcntl
import hashlib
import os
import select
import shutil
import signal
import socket
import struct
import tempfile
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from autograder.backends.base import FRESH, SANDBOX_HOME, kept_roots
from autograder.cgroups import Cgroup
from autograder.errors import SandboxFailure, StudentCrash, StudentError, StudentTimeout
from autograder.inside import values, wire
from autograder.limits import Limits, cgroup_system
from autograder.notebook import Answer, template
from autograder.sandbox import CONTROL_TIMEOUT, MAX_MESSAGE, Sandbox, _ask, sandbox

if TYPE_CHECKING:
    from autograder.assignment import Assignment

PIPE_BYTES = 1 << 20  # the most an unprivileged process may ask for, by default


def _exit_reason(code: "int | None", memory_known: bool) -> str:
    """Why a student's process ended; `memory_known`: a cgroup counts memory kills, so SIGKILL need not guess."""
    if code is None:
        return "o processo não terminou"
    if code < 0:
        sig = -code
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        hints: "dict[int, str]" = {signal.SIGXCPU: " (limite de tempo de CPU)",
                                   signal.SIGXFSZ: " (limite de tamanho de arquivo)"}
        if not memory_known:
            hints[signal.SIGKILL] = " (limite de memória?)"
        hint = hints.get(sig, "")
        return f"o processo foi morto pelo sinal {name}{hint}"
    return f"o processo terminou com código {code} (os._exit ou sys.exit fora de uma função?)"


def _peer_pid(message_ancdata: "list[tuple[int, int, bytes]]") -> "int | None":
    for level, kind, data in message_ancdata:
        if level == socket.SOL_SOCKET and kind == getattr(socket, "SCM_CREDENTIALS", -1):
            return struct.unpack("iII", data[:12])[0]
    return None


class Leader:
    """The grader's end of a submission's leader (zygote.Leader): its socket, pid and cgroup."""

    def __init__(self, box: Sandbox, limits: Limits, cgroup: "Cgroup | None"):
        self.box, self.cgroup = box, cgroup
        self.pidfd: "int | None" = None
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

    def ask(self, request: "dict[str, Any]", fds: "Iterable[int]" = ()) -> "dict[str, Any]":
        try:
            return _ask(self.sock, request, fds)
        except (OSError, ValueError) as exc:
            raise ConnectionError(f"the submission's leader stopped answering ({exc!r})") from None

    def close(self, timeout: float = 5.0) -> None:
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


def sandbox_settings(limits: Limits, assignment: "Assignment | None",
                     use_gpu: bool) -> "tuple[bool, int] | tuple[bool, int, str, tuple[Path, ...]]":
    """The arguments of sandbox.sandbox() (and prestart) for submissions of `assignment`."""
    if assignment is None:
        return use_gpu, limits.disk_bytes
    return use_gpu, limits.disk_bytes, assignment.warm_up, (assignment.course,)


def part_seed(seed: int, source: str) -> int:
    """The seed of a part's random generators: a hash, so the student's process cannot work back to the run's."""
    return int.from_bytes(hashlib.sha256(f"{seed}\n{source}".encode()).digest()[:4], "big")


class Session:
    """The grading of one submission: its leader, its cgroup, its parts' processes and one time budget.

    Each part's cell runs after the `assignment`'s preamble, in a sandbox warmed
    up for it. `files` ({name: bytes}) are copied beside each part's process, as the
    student's notebook sits beside its kernel. With a `seed`, each part's
    random generators start from a state derived from it (and the cell), so a
    run with the same seed grades the same way; without, from fresh entropy.
    Closing the session kills every process the student started, and their
    files go with them.
    """

    def __init__(self, limits: Limits, assignment: "Assignment | None" = None, use_gpu: bool = False,
                 files: "Mapping[str, bytes] | None" = None, seed: "int | None" = None):
        self.limits, self.use_gpu, self.files, self.seed = limits, use_gpu, dict(files or {}), seed
        self.preamble = template(assignment).preamble if assignment else ""
        self.part_count = len(assignment.parts) if assignment else 1  # the most parts one process may serve
        self.sandbox_settings = sandbox_settings(limits, assignment, use_gpu)
        self.deadline = time.monotonic() + limits.submission_timeout
        self.parts: "list[PartProcess]" = []
        self.spare: "PartProcess | None" = None  # the last part's process, live, for the next part to go on in
        self.leader: "Leader | None" = None
        self.box: "Sandbox | None" = None
        system, _ = cgroup_system()
        self.cgroup: "Cgroup | None" = None
        if system:
            self.cgroup = system.create()
            self.cgroup.limit(limits.memory_bytes, limits.pids, limits.cpus)
        # Where the submission's time goes, for the benchmark: starting processes (grader overhead), running
        # the student's cells, and the calls into their code (the student's code, and the pipe both ways).
        self.spawn_seconds = self.cell_seconds = self.call_seconds = 0.0

    def part(self, answer: "Answer | str") -> "PartProcess":
        """The process for one part: `answer` is what it runs (a bare string: just that cell)."""
        self.parts.append(PartProcess(answer if isinstance(answer, Answer) else Answer(answer), self))
        return self.parts[-1]

    def take_spare(self, answer: Answer) -> "PartProcess | None":
        """The last part's live process, for `answer`'s part to go on in, when what it ran (the preamble,
        then its cells, whole) is how the part's own cells begin, as in a kernel run top to bottom, and its
        Otherwise it is ended with every process of the submission, and None.

        Not the part's fresh process of old, but the same kernel state, as if the part's cells ran on in a
        kernel: each part's random generators start afresh, the settings the last part's checks may have
        changed are put back (child.put_back) and its CPU limit moves on (child.go_on); what those checks
        did to the student's own objects stays, as nbgrader's test cells' does in a kernel."""
        spare, self.spare = self.spare, None
        if spare is None or spare.pid is None:
            return None
        ran, before = spare.ran, answer.before
        if spare.leader is self.leader and ran is not None and before[:len(ran)] == ran:
            return spare
        spare.release(keep=False)
        return None

    def sweep(self) -> None:
        """End every process of the submission but its leader, and give it fresh writable places."""
        if self.leader is not None:
            try:
                self.leader.ask({"op": "sweep"})
            except ConnectionError as exc:
                self.leader_lost(exc)

    def current_leader(self) -> Leader:
        """The submission's leader, started on first use and again if it died."""
        if self.leader is None:
            self.box = sandbox(*self.sandbox_settings)
            self.leader = Leader(self.box, self.limits, self.cgroup)
        return self.leader

    def leader_lost(self, exc: Exception) -> Exception:
        """The leader died: the student's memory use (an OOM kill) or, with process isolation only,
        the student's signal; else the grader's failure."""
        if self.box is None or self.leader is None:  # (never: only a leader that started can be lost)
            raise SandboxFailure(f"no submission leader to lose ({exc})")
        tail = self.box.log_tail()
        namespaces = self.box.namespaces
        self.leader.close()
        self.leader = None
        if self.over_memory():
            return StudentCrash(self.memory_message())
        if not namespaces:
            return StudentCrash("o processo que corrige esta entrega foi derrubado (pela célula?)")
        return SandboxFailure(f"{exc}\n{tail}")

    def counters(self) -> "tuple[int, int]":
        return (self.cgroup.oom_kills(), self.cgroup.pids_refused()) if self.cgroup else (0, 0)

    def over_memory(self, before: int = 0) -> bool:
        return self.cgroup is not None and self.cgroup.oom_kills() > before

    def memory_message(self) -> str:
        return f"limite de memória da entrega ({self.limits.memory_mib} MiB) excedido"

    def explain(self, exc: Exception, before: "tuple[int, int]") -> Exception:
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
                return StudentError(f"{message} (cada pasta gravável tem {self.limits.disk_mib} MiB)")
        return exc

    def close(self) -> None:
        for part in self.parts:
            part.release(sweep=False)
        if self.leader:
            self.leader.close()
            self.leader = None
        if self.cgroup:
            self.cgroup.remove()
        if self.box and self.box.alive() and self.box.sandboxed and not self.box.namespaces:
            self.box.close()  # no namespaces inside bubblewrap: a fresh sandbox per submission

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PartProcess:
    """The process that runs one answer cell; forked by the submission's leader on first use."""

    def __init__(self, answer: Answer, session: Session):
        self.answer, self.source, self.session, self.limits = answer, answer.source, session, session.limits
        self.pid: "int | None" = None
        self.dead: "Exception | None" = None  # the exception every later call raises
        self.crashes = 0
        self.alone = False  # whether the part ran from its own cell alone (its other cells broke the process)
        self.ran: "tuple[str, ...] | None" = None  # the student's cells its process ran whole, in order (None: not)
        self._r = self._w = -1  # the pipes from and to its process, while `pid` is set
        self.leader: Leader  # the leader that forked it, once started
        self.counters = (0, 0)  # the submission's limit counters when this part's process began (Session.explain)

    def _start(self) -> None:
        session = self.session
        seed = None  # a hash: the student's process cannot work back to the run's seed
        if session.seed is not None:
            seed = part_seed(session.seed, self.source)
        other_seconds = self.limits.call_timeout / 2  # the student's other cells may not eat the answer's time
        spare = None if self.alone else session.take_spare(self.answer)
        began = time.monotonic()
        first: "dict[str, Any] | None" = None
        if spare is None or not self._go_on(spare, seed, other_seconds):
            self._spawn()
            began = time.monotonic()
            first = {"op": "setup", "preamble": session.preamble, "seed": seed, "before": list(self.answer.before),
                     "other_seconds": other_seconds,
                     "files": {name: np.frombuffer(data, dtype=np.uint8) for name, data in session.files.items()}}
        try:
            whole = self._request(first) is True if first else True
            whole = self._request({"op": "answer", "source": self.source, "after": list(self.answer.after),
                                   "other_seconds": other_seconds}) is True and whole
            session.cell_seconds += time.monotonic() - began
            self.ran = (*self.answer.before, self.source, *self.answer.after) if whole else None
        except (StudentCrash, StudentTimeout, StudentError) as exc:
            self._kill()
            broken = isinstance(exc, (StudentCrash, StudentTimeout))  # the process, not a Python error
            if broken and (self.answer.before or self.answer.after) and time.monotonic() < session.deadline:
                # Maybe the student's other cells stopped or killed the process (a kernel would be stuck
                # too): run the part from its own cell alone, once, and say so in the notes.
                self.dead, self.crashes, self.alone = None, 0, True
                self.answer = Answer(self.answer.source, (), (), self.answer.text)
                return self._start()
            what = "a célula falhou ao ser executada" if isinstance(exc, StudentError) else "ao executar a célula"
            self.dead = type(exc)(f"{what}: {exc}")
            raise self.dead from None

    def _go_on(self, spare: "PartProcess", seed: "int | None", other_seconds: float) -> bool:
        """Take over the last part's process (`spare`) and run in it the student's cells between the two parts;
        False when that is no kernel's run (see child.go_on) or broke it: it is ended, with what it started,
        for a fresh process to run the part."""
        self.pid, self._r, self._w, self.leader = spare.pid, spare._r, spare._w, spare.leader
        self.counters = self.session.counters()
        spare.pid = None
        between = list(self.answer.before[len(spare.ran or ()):])
        try:
            if self._request({"op": "next", "seed": seed, "before": between, "other_seconds": other_seconds,
                              "cpu_seconds": self.limits.cpu_seconds}) is True:
                return True
        except (StudentCrash, StudentTimeout, StudentError):
            pass
        # Broken, a cell cut short, a child of the student's left, or too little CPU left: not a kernel's run.
        self._kill()
        self.dead, self.crashes = None, 0
        self.session.sweep()
        return False

    def _spawn(self) -> None:
        """Fork a fresh process for the part, from the submission's leader."""
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
            "cpu_seconds": limits.cpu_seconds, "file_bytes": limits.disk_bytes, "parts": session.part_count,
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
        self.ran = None

    def _request(self, message: "dict[str, Any]") -> Any:
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
            crash: Exception = StudentCrash(
                "resposta malformada do processo do aluno" if isinstance(exc, wire.ProtocolError)
                else _exit_reason(code, session.cgroup is not None))
            crash = session.explain(crash, before)
            if self.crashes >= 2:  # a second crash: stop paying to restart it
                self.dead = crash
            raise crash from None
        if not isinstance(reply, dict) or reply.get("ok") is not True:
            error = reply.get("error") if isinstance(reply, dict) else None
            error = values.text(error or "resposta inválida do processo do aluno", 400)
            raise session.explain(StudentError(error), before)
        return reply.get("value")

    def _kill(self, grace: float = 0.0) -> "int | None":
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

    def request(self, op: str, **args: Any) -> values.Restored:
        """Run probe `op` (child.probes) in the student's process; returns plain values."""
        if self.dead:
            raise self.dead
        if time.monotonic() >= self.session.deadline:
            self.dead = StudentTimeout(f"tempo total da entrega esgotado ({self.limits.submission_timeout:g} s)")
            raise self.dead
        if self.pid is None:
            self._start()
        began = time.monotonic()
        try:
            return values.restore(self._request({"op": op, "args": args}))
        finally:
            self.session.call_seconds += time.monotonic() - began

    def release(self, sweep: bool = True, keep: bool = True) -> None:
        """Hang up. Between parts (`sweep`), a process that ran its part's cells whole is kept (`keep`) as the
        session's spare, for the next part to go on in (Session.take_spare); any other is ended, with every
        process the part left behind."""
        if self.pid is None:
            return
        session = self.session
        if sweep and keep and self.ran is not None and not self.alone and session.leader is self.leader:
            if session.spare is not None and session.spare is not self:
                session.spare._kill()
            session.spare = self
            return
        os.close(self._w)
        os.close(self._r)
        self.pid = None
        if sweep and session.leader is self.leader:
            session.sweep()
