"""Grade jobs in worker processes, so that no grader crash costs more than one submission.

Each worker is a fresh interpreter ("spawn") that grades one job at a time.
A worker that dies (killed for memory, a bug in a C extension) or stays on one
job past the watchdog costs only that job: it is retried once in a fresh
worker, then reported as a grader failure; every other job is graded.
"""
import collections
import importlib
import multiprocessing
import os
import time
from collections.abc import Callable
from multiprocessing.connection import wait
from typing import Any, TypeAlias

# ("module:function", its arguments): what a worker runs first.
Warm: TypeAlias = "tuple[str, tuple[Any, ...]]"


def _function(name: str) -> Any:
    module, _, attribute = name.partition(":")
    return getattr(importlib.import_module(module), attribute)


def _serve(conn: Any, fn: str, warm: "Warm | None") -> None:
    """A worker's life. `fn` and `warm` are "module:function" names: `warm(*args)` runs first, before
    the import of `fn`'s module, so that what it starts (the sandbox) overlaps with that import."""
    if warm:
        _function(warm[0])(*warm[1])
    function = _function(fn)
    while True:
        job = conn.recv()
        if job is None:
            return
        conn.send(function(*job))


def _describe_exit(code: "int | None") -> str:
    if code is None:
        return "did not exit"
    if code < 0:
        return f"killed by signal {-code}" + (" (out of memory?)" if code == -9 else "")
    return f"exited with code {code}"


class _Worker:
    def __init__(self, context: Any, fn: str, warm: "Warm | None"):
        self.conn, theirs = context.Pipe()
        self.proc = context.Process(target=_serve, args=(theirs, fn, warm), daemon=True)
        self.proc.start()
        theirs.close()
        self.job: "int | None" = None
        self.started = 0.0

    def give(self, index: int, job: "tuple[Any, ...]") -> None:
        self.job, self.started = index, time.monotonic()
        self.conn.send(job)

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()


def run(fn: str, jobs: "list[tuple[Any, ...]]", workers: int, watchdog: float,
        on_result: "Callable[[int, Any], None]", on_failure: "Callable[[int, str], None]", retries: int = 1,
        warm: "Warm | None" = None) -> None:
    """Call fn(*job) for every job in `workers` processes; `fn` is a "module:function" name.

    on_result(i, result) is called in this process as each job finishes;
    on_failure(i, reason) when job i killed its worker (or outlived `watchdog`
    seconds) `retries + 1` times. `warm` ("module:function", args) runs first in
    each worker.
    """
    # Workers grade side by side: one BLAS thread each, or they fight over the cores.
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    context = multiprocessing.get_context("spawn")
    pending = collections.deque(range(len(jobs)))
    failures: "collections.Counter[int]" = collections.Counter()
    pool: "list[_Worker]" = []
    try:
        while pending or any(w.job is not None for w in pool):
            while pending and (len(pool) < workers or any(w.job is None for w in pool)):
                idle = next((w for w in pool if w.job is None), None)
                if idle is None:
                    idle = _Worker(context, fn, warm)
                    pool.append(idle)
                index = pending.popleft()
                idle.give(index, jobs[index])
            busy = [w for w in pool if w.job is not None]
            wait([w.conn for w in busy] + [w.proc.sentinel for w in pool], timeout=1.0)
            now = time.monotonic()
            for worker in list(pool):
                reason = None
                if worker.job is not None and worker.conn.poll():
                    try:
                        index, result = worker.job, worker.conn.recv()
                        worker.job = None
                        on_result(index, result)
                        continue
                    except (EOFError, OSError):  # its end of the pipe closed: it is exiting; say how it ended
                        worker.proc.join(5)
                        reason = "the grader worker died"
                if not worker.proc.is_alive():
                    reason = f"the grader worker {_describe_exit(worker.proc.exitcode)}"
                elif worker.job is not None and now - worker.started > watchdog:
                    reason = f"the grader worker was stuck for {watchdog:g} s and was killed"
                if reason is None:
                    continue
                worker.kill()
                pool.remove(worker)
                if worker.job is not None:
                    failures[worker.job] += 1
                    if failures[worker.job] > retries:
                        on_failure(worker.job, reason)
                    else:
                        pending.appendleft(worker.job)
    finally:
        for worker in pool:
            try:
                worker.conn.send(None)
            except OSError:
                pass
        for worker in pool:  # time to clean up after themselves (their sandbox, their cgroups)
            worker.proc.join(15)
            worker.kill()
