"""Run student code in its own process and talk to it over pipes.

Each graded part gets a process that executes the part's answer cell (see
child.py). A crash or a hang costs that part only: after a timeout the part
is dead and its remaining calls fail at once, so a hang costs one timeout per
part, not one per test.
"""
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from autograder import values, wire

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


class StudentError(Exception):
    """The student's code raised an exception."""


class StudentTimeout(Exception):
    """The student's code did not answer in time."""


class StudentCrash(Exception):
    """The student's process died (os._exit, a signal, the memory limit)."""


@dataclass
class Limits:
    call_timeout: float = 10.0  # seconds for loading the cell or for one call
    memory_bytes: int = 4 * 2**30  # address space of the student's process
    output_bytes: int = 2**20  # what the student may print, per part


def _exit_reason(code):
    if code is None:
        return "o processo não terminou"
    if code < 0:
        sig = signal.Signals(-code).name
        hint = " (limite de memória?)" if -code == signal.SIGKILL else ""
        return f"o processo foi morto pelo sinal {sig}{hint}"
    return f"o processo terminou com código {code} (os._exit ou sys.exit fora de uma função?)"


class PartProcess:
    """The process that runs one answer cell; started on first use."""

    def __init__(self, source, limits, env_extra=None):
        self.source = source
        self.limits = limits
        self.env_extra = env_extra or {}
        self.proc = None
        self.dead = None  # the exception every later call raises
        self.crashes = 0
        self.scratch = tempfile.TemporaryDirectory(prefix="autograder-")

    def _limit_resources(self):  # runs in the child between fork and exec
        os.setsid()
        resource.setrlimit(resource.RLIMIT_AS, (self.limits.memory_bytes, self.limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (self.limits.output_bytes, self.limits.output_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    def _start(self):
        to_child, self._w = os.pipe()
        self._r, from_child = os.pipe()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.scratch.name,
            "PYTHONPATH": str(PACKAGE_ROOT),
            "PYTHONDONTWRITEBYTECODE": "1",
            "OMP_NUM_THREADS": "1",  # one core per student process; the pool runs several
            **self.env_extra,
        }
        output = open(Path(self.scratch.name) / "output.txt", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "autograder.child", str(to_child), str(from_child)],
            pass_fds=(to_child, from_child),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            cwd=self.scratch.name,
            env=env,
            preexec_fn=self._limit_resources,
        )
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
        start = time.monotonic()
        try:
            wire.send(self._w, message)
            reply = wire.recv(self._r, deadline=start + self.limits.call_timeout)
        except TimeoutError:
            self._kill()
            self.dead = StudentTimeout(f"sem resposta em {self.limits.call_timeout:g} s (laço infinito?)")
            raise self.dead from None
        except (EOFError, BrokenPipeError, wire.ProtocolError) as exc:
            code = self._kill()
            self.crashes += 1
            crash = StudentCrash(str(exc) if isinstance(exc, wire.ProtocolError) else _exit_reason(code))
            if self.crashes >= 2:  # a second crash: stop paying to restart it
                self.dead = crash
            raise crash from None
        if not isinstance(reply, dict) or not reply.get("ok"):
            error = reply.get("error") if isinstance(reply, dict) else None
            raise StudentError(str(error or "resposta inválida do processo do aluno"))
        return reply.get("value")

    def _kill(self):
        """Stop the process (if any) and return its exit status."""
        if self.proc is None:
            return None
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the whole session: it may have started children
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
        if self.proc is None:
            self._start()
        return values.restore(self._request({"op": op, "args": args}))

    def close(self):
        self._kill()
        self.scratch.cleanup()
