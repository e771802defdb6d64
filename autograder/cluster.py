"""Grading on an existing Dask distributed cluster: each submission is one task on some worker.

    python -m autograder grade PATH... --scheduler tcp://HOST:PORT

A worker needs only this package (and bubblewrap, for the sandbox): the
assignment (its source notebook and solutions/ folder) is sent once to every
worker as a zip, and each submission travels as the bytes of its files. The
worker grades it with the same runner and the same sandbox as a local run, so
the rows are the same (timing aside). Dask reschedules the task of a worker
that dies; this side records each submission's row once, whoever finished it.
Workers started with `--resources GPU=1` take the submissions when the run asks
for CUDA (`--device cuda`, or `auto` when the cluster has such workers).
"""
import hashlib
import io
import os
import tempfile
import traceback
import zipfile
from collections.abc import Callable
from pathlib import Path

from autograder import assignment as assignments
from autograder import results
from autograder.limits import Limits

# What one submission may send: a notebook, or a student's folder of files (the same bounds as the gradebook's).
MAX_FILES, MAX_BYTES = 100, 50 * 2**20
_UNPACKED = {}  # in a worker: the assignments it has unpacked, by digest


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


def submission_files(path: Path) -> dict:
    """{relative name: bytes} of a submission: its notebook, or the regular files of its folder (bounded)."""
    if not path.is_dir():
        return {path.name: path.read_bytes()}
    files, total = {}, 0
    for file in sorted(path.rglob("*")):
        if file.is_file() and not file.is_symlink() and not any(p.is_symlink() for p in file.relative_to(path).parents
                                                                if p != Path(".")):
            total += file.stat().st_size
            if len(files) >= MAX_FILES or total > MAX_BYTES:
                break
            files[file.relative_to(path).as_posix()] = file.read_bytes()
    return files


def _assignment(packed: bytes, digest: str, name: str) -> assignments.Assignment:
    if digest not in _UNPACKED:
        folder = Path(tempfile.mkdtemp(prefix=f"autograder-{digest[:12]}-"))
        with zipfile.ZipFile(io.BytesIO(packed)) as archive:
            archive.extractall(folder)
        _UNPACKED[digest] = assignments.load(folder / "solutions" / name)
    return _UNPACKED[digest]


def grade_task(packed: bytes, digest: str, name: str, student: str, notebook: str, is_folder: bool, files: dict,
               limits: Limits, devices: list, seed: int) -> dict:
    """Run on a worker: one submission's row (as a dict) and the grader's logs."""
    from autograder.runner import grade_submission

    assignment = _assignment(packed, digest, name)
    with tempfile.TemporaryDirectory(prefix="autograder-submission-") as tmp:
        # The same name as on the instructor's side: notes and rebuilt names read the same.
        path = Path(tmp) / Path(notebook).name
        for relative, data in files.items():
            target = (path / relative) if is_folder else path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        if is_folder:
            path.mkdir(exist_ok=True)
        try:
            row, logs = grade_submission(assignment, student, path, None, limits, devices, seed)
        except Exception:
            row = results.submission_result(assignment, student, path, {}, grader_failed=True)
            logs = [traceback.format_exc()]
    # Paths as the instructor's side names them: the report reads as a local run's.
    row.notebook = row.notebook.replace(str(path), notebook, 1)
    row.error = row.error and row.error.replace(str(path), notebook)
    row.notes = [note.replace(str(path), notebook) for note in row.notes]
    logs = [line.replace(str(path), notebook) for line in logs]
    return {"row": row.to_dict(), "logs": logs, "worker": os.uname().nodename}


def worker_facts(limits: Limits, cuda: bool) -> tuple:
    """Run on a worker: its isolation and what enforces each limit there (for the report)."""
    from autograder.limits import limits_report
    from autograder.sandbox import isolation

    return isolation(), limits_report(limits, cuda)


def facts(client, limits: Limits, cuda: bool) -> tuple:
    """(isolation, limits) of the cluster's workers: one worker's if they all agree, else each one's."""
    found = client.run(worker_facts, limits, cuda)
    distinct = {repr(v): v for v in found.values()}
    if len(distinct) == 1:
        return next(iter(distinct.values()))
    return "mixed: " + "; ".join(f"{w} {v[0]}" for w, v in sorted(found.items())), {w: v[1] for w, v in found.items()}


def cluster_devices(client, requested: str) -> list:
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
        return Client(address, timeout=timeout)
    except (OSError, ValueError) as exc:
        raise OSError(f"--scheduler {address}: cannot reach the Dask scheduler there ({exc})") from None


def run(client, assignment: assignments.Assignment, jobs: list, limits: Limits, devices: list, seed: int,
        on_result: Callable, on_failure: Callable) -> None:
    """Grade jobs [(student, path)] as tasks; on_result(i, (row, logs)) as each finishes, once per job;
    on_failure(i, reason) when Dask gave up on it (a task that killed worker after worker)."""
    from distributed import as_completed

    packed = pack_assignment(assignment)
    digest = hashlib.sha256(packed).hexdigest()
    shared = client.scatter(packed, broadcast=True)  # once to every worker, not once per task
    resources = {"GPU": 1} if "cuda" in devices else None
    futures = {}
    for index, (student, path) in enumerate(jobs):
        future = client.submit(grade_task, shared, digest, assignment.name, student, str(path), path.is_dir(),
                               submission_files(path), limits, devices, seed, resources=resources, pure=False,
                               key=f"grade-{digest[:8]}-{seed}-{index}")
        futures[future] = index
    done = set()
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
