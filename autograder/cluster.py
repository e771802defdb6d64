"""Grading on an existing Dask distributed cluster: each submission is one task on some worker.

    python -m autograder grade PATH... --scheduler tcp://HOST:PORT

A worker needs only this package (and bubblewrap, for the sandbox): the
assignment (its source notebook and solutions/ folder) is a worker plugin
(AssignmentPlugin) that the scheduler installs on every worker of the run,
those that join later included, and each submission travels as the bytes of
the notebooks its grader will read (what it only notes travels as a
stand-in). The worker grades it with the same runner and the same sandbox as
a local run, so the rows are the same (timing aside).

A worker that dies costs no row: Dask gives its tasks to another worker (a
task depends on nothing a worker holds), a task Dask gave up on or lost is
submitted again (RESUBMITS times, then its row is a grader failure), and with
no worker left the run waits for one to join (`autograder.worker-wait` in
Dask's config, default WORKER_WAIT), saying so. Each worker the cluster loses
is one line of the output. This side records each submission's row once,
whoever finished it. Workers started with `--resources GPU=1` take the
submissions when the run asks for CUDA (`--device cuda`, or `auto` when the
cluster has such workers).
"""
import atexit
import concurrent.futures
import hashlib
import io
import os
import queue
import shutil
import stat
import tempfile
import threading
import time
import traceback
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeAlias

from distributed import WorkerPlugin

from autograder import assignment as assignments
from autograder import results
from autograder.course import notebooks_in
from autograder.errors import Refused
from autograder.limits import Limits
from autograder.notebook import MAX_NOTEBOOK_BYTES, read_regular_file

_UNPACKED: "dict[str, Path]" = {}  # in a worker: the course folder of each run's assignment, by plugin name
_UNPACKING = threading.Lock()
RESUBMITS = 2  # a task lost (its worker gone, Dask gave up, the scheduler forgot it): submitted again
WORKER_WAIT = "30 minutes"  # with no worker that can grade, how long a run waits for one to join
POLL = 1.0  # seconds between two looks at the cluster's workers
# An entry of a submission as it travels: its bytes, or what stands for it (see _entry).
Entry: TypeAlias = "bytes | tuple[str | int, ...]"


def pack_assignment(assignment: assignments.Assignment) -> bytes:
    """The assignment as a worker needs it: <course>/source/<name>/ and <course>/solutions/<name>/, zipped."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for top in (assignment.source_notebook.parent, assignment.folder):
            for path in sorted(top.rglob("*")):
                relative = path.relative_to(assignment.course)
                if path.is_file() and not path.is_symlink() and not {"__pycache__", "examples"} & set(relative.parts):
                    archive.write(path, relative.as_posix())
    return buffer.getvalue()


def _entry(path: Path, send: bool) -> Entry:
    """A file's bytes when `send` (and it is a notebook the grader may read), else what stands for it on
    the worker: ("sparse", size), ("dir",), ("link",) or ("special",), so that the worker's grader
    refuses and notes it exactly as a local one would, without this side reading it."""
    mode = path.lstat()
    if stat.S_ISREG(mode.st_mode):
        if send and mode.st_size <= MAX_NOTEBOOK_BYTES:
            try:
                return read_regular_file(path)
            except Refused:
                pass  # (changed under us: the worker's grader says so)
        return ("sparse", mode.st_size)
    return ("dir",) if stat.S_ISDIR(mode.st_mode) else ("link",) if stat.S_ISLNK(mode.st_mode) else ("special",)


def submission_files(path: Path, assignment_name: str) -> "dict[str, Entry]":
    """{name: bytes or stand-in} of a submission: its notebook, or the notebook-named entries of its folder,
    with bytes for those the grader will read (course.notebooks_in) and stand-ins for the others."""
    if not path.is_dir():
        return {path.name: _entry(path, send=True)}
    chosen, _ = notebooks_in(path, assignment_name)
    return {entry.name: _entry(Path(entry.path), send=Path(entry.path) in chosen)
            for entry in os.scandir(path) if entry.name.endswith(".ipynb")}


def _materialize(target: Path, content: Entry) -> None:
    """Write one entry of submission_files on the worker."""
    if isinstance(content, bytes):
        target.write_bytes(content)
    elif content[0] == "sparse":
        with open(target, "wb") as f:
            f.truncate(int(content[1]))
    elif content[0] == "dir":
        target.mkdir()
    elif content[0] == "link":
        target.symlink_to("/nonexistent")
    else:
        os.mkfifo(target)


class AssignmentPlugin(WorkerPlugin):
    """The assignment of one run, on every worker: the scheduler keeps it and sets it up on each worker
    that joins, so a worker that replaces a dead one has it too; unregistered, it leaves them all."""

    def __init__(self, packed: bytes, plugin: str):
        self.packed, self.plugin = packed, plugin

    def setup(self, worker: Any = None) -> None:
        # In the worker's own folder, which Dask removes with it (a killed worker's, when the next one starts).
        install(self.plugin, self.packed, getattr(worker, "local_directory", None))

    def teardown(self, worker: Any = None) -> None:
        folder = _UNPACKED.pop(self.plugin, None)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def install(plugin: str, packed: bytes, under: "str | None" = None) -> Path:
    """In a worker: the run's course folder, unpacked once (the hidden tests leave with the run or the worker).
    Only unzipped here, on the worker's event loop: the assignment is loaded (its imports) by the first task."""
    with _UNPACKING:
        if plugin not in _UNPACKED:
            folder = Path(tempfile.mkdtemp(prefix=f"autograder-{plugin[-12:]}-", dir=under))
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            with zipfile.ZipFile(io.BytesIO(packed)) as archive:
                archive.extractall(folder)
            _UNPACKED[plugin] = folder
        return _UNPACKED[plugin]


def _assignment(plugin: str, name: str) -> assignments.Assignment:
    if plugin not in _UNPACKED:  # (a worker sets its plugins up before its first task: kept as a guard)
        from distributed import get_worker

        found = get_worker().plugins.get(plugin)
        if not isinstance(found, AssignmentPlugin):
            raise RuntimeError(f"this worker lacks the run's assignment (worker plugin {plugin})")
        found.setup(get_worker())
    return assignments.load(_UNPACKED[plugin] / "solutions" / name)


def grade_task(plugin: str, name: str, student: str, notebook: str, is_folder: bool, files: "dict[str, Entry]",
               limits: Limits, devices: "list[str]", seed: int) -> "dict[str, Any]":
    """Run on a worker: one submission's row (as a dict) and the grader's logs. A worker that cannot keep
    student code off the network refuses: from there it could reach the scheduler, and through it every
    worker's grading (the task fails, so the row is a grader failure for review, never a student's zero)."""
    from autograder import backends
    from autograder.runner import grade_submission, one_thread

    backend = backends.current()
    if not backend.isolates_host:
        raise RuntimeError(f"Dask worker {os.uname().nodename} grades with {backend.name} isolation, which leaves "
                           "student code the network and so the scheduler: install bubblewrap there")
    assignment = _assignment(plugin, name)
    one_thread()
    from distributed import get_worker

    # Under the worker's folder, which Dask removes with the worker, even one killed in the middle of a task.
    with tempfile.TemporaryDirectory(prefix="autograder-submission-", dir=get_worker().local_directory) as tmp:
        # The same name as on the instructor's side: notes and rebuilt names read the same.
        path = Path(tmp) / Path(notebook).name
        if is_folder:
            path.mkdir()
        for entry, content in files.items():
            _materialize(path / Path(entry).name if is_folder else path, content)
        try:
            row, logs = grade_submission(assignment, student, path, None, limits, devices, seed)
        except Exception:
            row = results.submission_result(assignment, student, path, {}, grader_failed=True)
            logs = [traceback.format_exc()]
    # Paths as the instructor's side names them: the report reads as a local run's.
    row.moved(str(path), notebook)
    logs = [line.replace(str(path), notebook) for line in logs]
    return {"row": row.to_dict(), "logs": logs, "worker": os.uname().nodename}


def worker_facts(limits: Limits, cuda: bool) -> "tuple[str, dict[str, str]]":
    """Run on a worker: its isolation and what enforces each limit there (for the report)."""
    from autograder import backends
    from autograder.limits import limits_report

    return backends.current().name, limits_report(limits, cuda)


def facts(client: Any, limits: Limits, cuda: bool) -> "tuple[str, dict[str, Any]]":
    """(isolation, limits) of the cluster's workers: one worker's if they all agree, else each one's."""
    found = client.run(worker_facts, limits, cuda)
    distinct = {repr(v): v for v in found.values()}
    if len(distinct) == 1:
        return next(iter(distinct.values()))
    return "mixed: " + "; ".join(f"{w} {v[0]}" for w, v in sorted(found.items())), {w: v[1] for w, v in found.items()}


def cluster_devices(client: Any, requested: str) -> "list[str]":
    """The devices a run on this cluster asks for: CUDA only where some worker declares a GPU resource."""
    workers = client.scheduler_info(n_workers=-1)["workers"].values()
    gpus = any(w.get("resources", {}).get("GPU", 0) >= 1 for w in workers)
    if requested == "cuda" and not gpus:
        raise ValueError("--device cuda: no worker of the cluster declares a GPU (start them with --resources GPU=1)")
    return ["cpu", "cuda"] if requested != "cpu" and gpus else ["cpu"]


def connect(address: str, timeout: float = 30):
    """A client of the scheduler at `address`; OSError, naming it, when it cannot be reached."""
    from distributed import Client

    try:
        client = Client(address, timeout=timeout)
    except (OSError, ValueError) as exc:
        raise OSError(f"--scheduler {address}: cannot reach the Dask scheduler there ({exc})") from None
    try:
        client.wait_for_workers(1, timeout=timeout)
    except Exception:  # noqa: BLE001 -- distributed's own TimeoutError, whichever it is
        client.close()
        raise OSError(f"--scheduler {address}: the scheduler has no worker (start some with `dask worker`)") from None
    return client


def worker_wait() -> float:
    """Seconds a run waits for a worker when the cluster has none that can grade: Dask's config
    `autograder.worker-wait` (e.g. DASK_AUTOGRADER__WORKER_WAIT="2 hours"), default WORKER_WAIT."""
    import dask.config
    from dask.utils import parse_timedelta

    return float(parse_timedelta(dask.config.get("autograder.worker-wait", WORKER_WAIT), default="s"))


def _plural(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 120 else f"{seconds:g} s"


class _Workers:
    """What this run sees of the cluster's workers: their names, those that can take its tasks, and, from
    the scheduler's own "remove-worker" events, each one lost, told once, with this run's tasks on it."""

    def __init__(self, client: Any, prefix: str, resources: "dict[str, int] | None"):
        self.client, self.prefix, self.resources = client, prefix, resources
        self.names: "dict[str, str]" = {}
        self.events: "queue.SimpleQueue[dict[str, Any]]" = queue.SimpleQueue()
        self.told: "set[str]" = set()
        client.subscribe_topic("all", self._event)

    def _event(self, event: "tuple[float, Any]") -> None:  # on the client's event loop: queued for run()
        msg = event[1]
        if isinstance(msg, dict) and msg.get("action") == "remove-worker":
            self.events.put(msg)

    def able(self) -> int:
        """How many workers can take this run's tasks now (-1: the scheduler did not answer)."""
        try:
            workers = self.client.scheduler_info(n_workers=-1)["workers"]
        except Exception:  # noqa: BLE001 -- whatever a lost connection raises
            return -1
        self.names.update({address: str(w.get("name", address)) for address, w in workers.items()})
        return sum(all(w.get("resources", {}).get(r, 0) >= n for r, n in (self.resources or {}).items())
                   for w in workers.values())

    def lost(self) -> "list[str]":
        """A line for each worker removed since the last call."""
        lines: "list[str]" = []
        while True:
            try:
                msg = self.events.get_nowait()
            except queue.Empty:
                return lines
            address = str(msg.get("worker", "?"))
            if address in self.told:  # (one line each, whatever the scheduler sends)
                continue
            if address != "?":
                self.told.add(address)
            ours = sum(str(key).startswith(self.prefix) for key in msg.get("processing-tasks", ()))
            name = self.names.get(address)
            who = f"Dask worker {name} ({address})" if name and name != address else f"Dask worker {address}"
            how = "left the cluster" if msg.get("expected") else "lost"
            lines.append(f"{who} {how} with {_plural(ours, 'submission')} of this run on it"
                         + (": Dask gives them to another worker" if ours else ""))

    def close(self) -> None:
        try:
            self.client.unsubscribe_topic("all")
        except Exception:  # noqa: BLE001 -- the client may be closing already
            pass


def run(client: Any, assignment: assignments.Assignment, jobs: "list[tuple[str, Path]]", limits: Limits,
        devices: "list[str]", seed: int, on_result: "Callable[[int, tuple[results.SubmissionResult, list[str]]], None]",
        on_failure: "Callable[[int, str], None]", say: "Callable[[str], None]" = print,
        wait: "float | None" = None) -> None:
    """Grade jobs [(student, path)] as tasks; on_result(i, (row, logs)) as each finishes, once per job;
    on_failure(i, reason) when a job's task failed, was lost RESUBMITS + 1 times, or found no worker for
    `wait` seconds (default: worker_wait()). say(line): each worker lost, and the waits for one."""
    from distributed import KilledWorker

    wait = worker_wait() if wait is None else wait
    packed = pack_assignment(assignment)
    run_id = uuid.uuid4().hex  # keys of this run only: another run's tasks are never taken for ours
    plugin = f"autograder-{hashlib.sha256(packed).hexdigest()[:12]}-{run_id}"
    resources = {"GPU": 1} if "cuda" in devices else None
    workers = _Workers(client, f"grade-{run_id}-", resources)
    done: "queue.SimpleQueue[tuple[int, Any, Any]]" = queue.SimpleQueue()  # (job, future, result or error)
    # A result is fetched off the loop: one whose holder died blocks while Dask computes it again, and the loop
    # must go on telling the workers lost and the waits for one meanwhile.
    fetcher = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="autograder-fetch")

    def fetch(index: int, future: Any) -> None:
        try:
            done.put((index, future, future.result(timeout=60)))
        except Exception as exc:  # noqa: BLE001 -- the task's own error, or the cluster lost it
            done.put((index, future, exc))

    def on_done(index: int, future: Any) -> None:  # on Dask's thread: never blocks
        try:
            fetcher.submit(fetch, index, future)
        except RuntimeError:  # the run has ended: a task it cancelled
            pass
    current: "dict[int, Any]" = {}  # job -> its task now
    tries: "dict[int, int]" = {}

    def submit(index: int) -> None:
        student, path = jobs[index]
        tries[index] = tries.get(index, 0) + 1
        future = client.submit(grade_task, plugin, assignment.name, student, str(path), path.is_dir(),
                               submission_files(path, assignment.name), limits, devices, seed, resources=resources,
                               pure=False, key=f"grade-{run_id}-{index}-{tries[index]}")
        current[index] = future
        future.add_done_callback(lambda f, i=index: on_done(i, f))

    try:
        workers.able()  # the names of the workers there now, for the lines that tell one lost
        client.register_plugin(AssignmentPlugin(packed, plugin), name=plugin)
        for index in range(len(jobs)):
            submit(index)
        alone_since = 0.0  # since when the cluster has had no worker for this run (0: it has one)
        waiting = False  # and that was told
        looked = 0.0
        while current:
            try:
                index, future, result = done.get(timeout=POLL)
            except queue.Empty:
                index = -1
            for line in workers.lost():
                say(line)
            if index >= 0 and index in current and current[index] is future:
                del current[index]
                if isinstance(result, BaseException):
                    exc = result
                    why = f"{type(exc).__name__}: {exc}"
                    if future.status == "error" and not isinstance(exc, KilledWorker):
                        on_failure(index, f"the Dask task failed: {why}")
                    elif tries[index] <= RESUBMITS:
                        future.cancel()  # (a result that timed out may still come: it is not graded twice)
                        submit(index)
                    else:
                        on_failure(index, f"grader failure, not the student's: the Dask task was lost "
                                          f"{_plural(tries[index], 'time')} (the last: {why}); run the same "
                                          "command with --resume to grade it again")
                else:
                    on_result(index, (results.SubmissionResult.from_dict(result["row"]), result["logs"]))
            if time.monotonic() - looked < POLL:
                continue
            looked = time.monotonic()
            able = workers.able()
            if able > 0:
                if waiting:
                    say(f"a Dask worker joined after {looked - alone_since:.0f} s without one: grading goes on")
                alone_since, waiting = 0.0, False
            elif not alone_since:
                alone_since = looked  # (told at the next look: a worker a nanny restarts at once is no wait)
            elif not waiting:
                waiting = True
                for line in workers.lost():  # (the workers' own lines first)
                    say(line)
                kind = "that can take this run's tasks (GPU=1) " if resources else ""
                address = getattr(client.scheduler, "address", "tcp://SCHEDULER:PORT")
                say(f"no Dask worker {kind}is left: waiting up to {_duration(wait)} for one to join (e.g. `dask worker "
                    f"{address}`); the rows graded so far are in the journal")
            elif looked - alone_since > wait:
                say(f"no Dask worker joined in {_duration(wait)}: the {_plural(len(current), 'submission')} left are "
                    "grader failures; run the same command with --resume once the cluster has workers")
                for index, future in sorted(current.items()):
                    future.cancel()
                    on_failure(index, f"grader failure, not the student's: no Dask worker could take the task for "
                                      f"{_duration(wait)}; run the same command with --resume to grade it")
                current.clear()
    finally:
        fetcher.shutdown(wait=False, cancel_futures=True)
        for line in workers.lost():
            say(line)
        workers.close()
        try:
            client.unregister_worker_plugin(plugin)  # the hidden tests leave the workers with the run
        except Exception:  # noqa: BLE001 -- a scheduler gone already
            pass
