"""Grading through a real Dask cluster on 127.0.0.1: the `dask scheduler` and two `dask worker` processes.

The report must be the local command's (timing aside), and a worker killed in
the middle of a run must cost nothing: every submission graded, none twice.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.tools.benchmark_cluster import without_timing
from tests.helpers import TINY_ASSIGNMENT as ASSIGNMENT
from tests.helpers import TINY_CORPUS as CORPUS
from tests.helpers import grade

pytestmark = pytest.mark.slow
DASK = str(Path(sys.executable).parent / "dask")
SEED = 20261201
CLASS = ["correct_reference", "square_doubles", "memory_swaps_the_state", "memory_detaches_the_state",
         "crash_in_square", "untouched_release", "broken_not_json", "hang_in_memory"]
ON = ("--assignment", ASSIGNMENT.folder)  # the tiny course's assignment


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(*args, log: Path) -> subprocess.Popen:
    # Its own process group: a worker is a nanny and its child, killed together.
    return subprocess.Popen([DASK, *args], stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """The scheduler's address and the two workers' processes."""
    logs = tmp_path_factory.mktemp("dask")
    address = f"tcp://127.0.0.1:{free_port()}"
    scheduler = start("scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1], "--no-dashboard",
                      log=logs / "scheduler.log")
    workers = [start("worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard", "--name", f"w{i}",
                     log=logs / f"w{i}.log") for i in (1, 2)]
    from distributed import Client

    try:
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        yield address, workers
    finally:
        for proc in [*workers, scheduler]:
            stop(proc)


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    for i in range(16):  # the class, twice: enough tasks to still be running when a worker dies
        CORPUS.build(CLASS[i % len(CLASS)], folder, stem=f"s{i:02d}_{CLASS[i % len(CLASS)]}")
    local = folder / "local.json"
    grade(folder, *ON, "--json", local, "--device", "cpu", "--seed", SEED, "--workers", 2, "--call-timeout", 3)
    return folder, without_timing(local)


def test_the_cluster_gives_the_local_report(cluster, graded_class, tmp_path):
    folder, local = graded_class
    out = tmp_path / "cluster.json"
    grade(folder, *ON, "--json", out, "--device", "cpu", "--seed", SEED, "--call-timeout", 3, "--scheduler", cluster[0])
    assert without_timing(out) == local


def test_a_worker_killed_midway_loses_and_duplicates_nothing(cluster, graded_class, tmp_path):
    folder, local = graded_class
    out = tmp_path / "cluster.json"
    run = subprocess.Popen([sys.executable, "-m", "autograder", "grade", str(folder), *map(str, ON), "--json",
                            str(out), "--device", "cpu", "--seed", str(SEED), "--call-timeout", "3",
                            "--scheduler", cluster[0]],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    journal = out.with_suffix(".jsonl")
    deadline = time.monotonic() + 300
    while not (journal.exists() and len(journal.read_text().splitlines()) >= 3):  # some rows in, most to go
        assert run.poll() is None and time.monotonic() < deadline, run.communicate()
        time.sleep(0.2)
    stop(cluster[1][0])  # the first worker, nanny and all, mid-task
    stdout, stderr = run.communicate(timeout=600)
    assert run.returncode == 0, stdout + stderr
    students = [json.loads(line)["student"] for line in journal.read_text().splitlines()]
    assert sorted(students) == sorted(set(students)) and len(students) == 16  # each once
    assert without_timing(out) == local


def test_an_unreachable_scheduler_is_a_usage_error(tmp_path, graded_class):
    proc = grade(graded_class[0], *ON, "--json", tmp_path / "r.json", "--scheduler", f"tcp://127.0.0.1:{free_port()}",
                 check=(2,), timeout=300)
    assert "--scheduler tcp://127.0.0.1:" in proc.stderr and "cannot reach" in proc.stderr


class StubClient:
    """What cluster_devices reads of a client: the scheduler's view of its workers."""

    def __init__(self, *resources):
        self.workers = {f"tcp://w{i}": {"resources": r} for i, r in enumerate(resources)}

    def scheduler_info(self, n_workers=-1):
        return {"workers": self.workers}


@pytest.mark.parametrize("requested, resources, expected", [
    ("auto", [{}, {}], ["cpu"]),
    ("auto", [{}, {"GPU": 1}], ["cpu", "cuda"]),
    ("cpu", [{"GPU": 1}], ["cpu"]),
    ("cuda", [{"GPU": 2}], ["cpu", "cuda"]),
])
def test_cuda_runs_where_a_worker_declares_a_gpu(requested, resources, expected):
    from autograder.cluster import cluster_devices

    assert cluster_devices(StubClient(*resources), requested) == expected


def test_cuda_without_a_gpu_worker_is_refused():
    from autograder.cluster import cluster_devices

    with pytest.raises(ValueError, match="GPU=1"):
        cluster_devices(StubClient({}, {}), "cuda")


def test_two_runs_at_once_with_one_seed_keep_their_own_rows(cluster, tmp_path):
    outs, procs = {}, {}
    for name, case in (("a", "correct_reference"), ("b", "untouched_release")):
        folder = tmp_path / name
        folder.mkdir()
        for i in range(3):
            CORPUS.build(case, folder, stem=f"{name}{i}")
        outs[name] = tmp_path / f"{name}.json"
        procs[name] = subprocess.Popen([sys.executable, "-m", "autograder", "grade", str(folder), *map(str, ON),
                                        "--json", str(outs[name]), "--device", "cpu", "--seed", str(SEED),
                                        "--scheduler", cluster[0]], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        text=True)
    for name, proc in procs.items():
        assert proc.wait(600) == 0, proc.stderr.read()
        rows = json.loads(outs[name].read_text())["submissions"]
        assert sorted(r["student"] for r in rows) == [f"{name}{i}" for i in range(3)]
        assert {r["score"] for r in rows} == ({ASSIGNMENT.max_score} if name == "a" else {0.0})


def test_folders_travel_as_the_local_grader_reads_them(cluster, tmp_path):
    """nbgrader's layout, with what a folder can hold besides the notebook: only what the grader reads is sent,
    the rest as stand-ins that the worker's grader notes and refuses as a local one does."""
    submitted = tmp_path / "submitted"
    name = ASSIGNMENT.name
    for student in ("many", "linked", "huge"):
        (submitted / student / name).mkdir(parents=True)
    many = submitted / "many" / name
    for i in range(120):
        (many / f"{i:04d}.txt").write_text("x")
    CORPUS.build("correct_reference", many, stem=name)
    CORPUS.build("square_doubles", many, stem=f"{name} (1)")
    linked = submitted / "linked" / name
    CORPUS.build("correct_reference", linked, stem=name)
    (linked / "0passwd.ipynb").symlink_to("/etc/passwd")
    os.mkfifo(linked / "pipe.ipynb")
    with open(submitted / "huge" / name / f"{name}.ipynb", "wb") as f:
        f.truncate(2**30)  # 1 GiB, sparse: refused for its size, never read or sent
    local, remote = tmp_path / "local.json", tmp_path / "cluster.json"
    grade(submitted, *ON, "--json", local, "--device", "cpu", "--seed", SEED, "--workers", 2)
    grade(submitted, *ON, "--json", remote, "--device", "cpu", "--seed", SEED, "--scheduler", cluster[0])
    assert without_timing(remote) == without_timing(local)
    rows = {r["student"]: r for r in without_timing(local)["submissions"]}
    assert rows["many"]["score"] == ASSIGNMENT.max_score and any("ignorado" in n for n in rows["linked"]["notes"])
    assert "limite" in (rows["huge"]["error"] or "")
