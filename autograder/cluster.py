"""Grading on an existing Dask distributed cluster: each submission is one task on some worker.

    python -m autograder grade PATH... --scheduler tcp://HOST:PORT

A worker needs only this package (and bubblewrap, for the sandbox): the
assignment (its source notebook and solutions/ folder) is sent once to every
worker as a zip, and each submission travels as the bytes of the notebooks
its grader will read (what it only notes travels as a stand-in). The
worker grades it with the same runner and the same sandbox as a local run, so
the rows are the same (timing aside). Dask reschedules the task of a worker
that dies; this side records each submission's row once, whoever finished it.
Workers started with `--resources GPU=1` take the submissions when the run asks
for CUDA (`--device cuda`, or `auto` when the cluster has such workers).
"""
import atexit
import hashlib
import io
import os
import shutil
import stat
import tempfile
import traceback
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeAlias

from autograder import assignment as assignments
from autograder import results
from autograder.course import notebooks_in
from autograder.errors import Refused
from autograder.limits import Limits
from autograder.notebook import MAX_NOTEBOOK_BYTES, read_regular_file

_UNPACKED: "dict[str, assignments.Assignment]" = {}  # in a worker: the assignments it has unpacked, by digest
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


def _assignment(packed: bytes, digest: str, name: str) -> assignments.Assignment:
    if digest not in _UNPACKED:
        folder = Path(tempfile.mkdtemp(prefix=f"autograder-{digest[:12]}-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)  # the hidden tests leave with the worker
        with zipfile.ZipFile(io.BytesIO(packed)) as archive:
            archive.extractall(folder)
        _UNPACKED[digest] = assignments.load(folder / "solutions" / name)
    return _UNPACKED[digest]


def grade_task(packed: bytes, digest: str, name: str, student: str, notebook: str, is_folder: bool,
               files: "dict[str, Entry]", limits: Limits, devices: "list[str]", seed: int) -> "dict[str, Any]":
    """Run on a worker: one submission's row (as a dict) and the grader's logs."""
    from autograder.runner import grade_submission

    assignment = _assignment(packed, digest, name)
    with tempfile.TemporaryDirectory(prefix="autograder-submission-") as tmp:
        # The same name as on the instructor's side: notes and rebuilt names read the same.
        path = Path(tmp) / Path(notebook).name
        if is_folder:
            path.mkdir()
        for name, content in files.items():
            _materialize(path / Path(name).name if is_folder else path, content)
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


def run(client: Any, assignment: assignments.Assignment, jobs: "list[tuple[str, Path]]", limits: Limits,
        devices: "list[str]", seed: int, on_result: "Callable[[int, tuple[results.SubmissionResult, list[str]]], None]",
        on_failure: "Callable[[int, str], None]") -> None:
    """Grade jobs [(student, path)] as tasks; on_result(i, (row, logs)) as each finishes, once per job;
    on_failure(i, reason) when Dask gave up on it (a task that killed worker after worker)."""
    from distributed import as_completed

    packed = pack_assignment(assignment)
    digest = hashlib.sha256(packed).hexdigest()
    shared = client.scatter(packed, broadcast=True)  # once to every worker, not once per task
    resources = {"GPU": 1} if "cuda" in devices else None
    run_id = uuid.uuid4().hex  # keys of this run only: another run's tasks are never taken for ours
    futures: "dict[Any, int]" = {}  # Dask future -> its job
    for index, (student, path) in enumerate(jobs):
        future = client.submit(grade_task, shared, digest, assignment.name, student, str(path), path.is_dir(),
                               submission_files(path, assignment.name), limits, devices, seed, resources=resources,
                               pure=False, key=f"grade-{run_id}-{index}")
        futures[future] = index
    done: "set[int]" = set()
    for future in as_completed(futures):
        index = futures[future]
        if index in done:  # (as_completed names each future once; kept as a guard)
            continue
        done.add(index)
        try:
            result = future.result()
        except Exception as exc:  # noqa: BLE001 -- KilledWorker and whatever a task could not survive
            on_failure(index, f"the Dask task failed: {type(exc).__name__}: {exc}")
            continue
        on_result(index, (results.SubmissionResult.from_dict(result["row"]), result["logs"]))
