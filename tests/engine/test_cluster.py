"""Grading through a real Dask cluster on 127.0.0.1: the `dask scheduler` and `dask worker` processes.

The report must be the local command's (timing aside), and workers killed (SIGKILL) in the middle of a run
must cost nothing: one of two, or every one of them and then a new one started; every submission graded,
none twice, each worker lost told in one line.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
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
LOST = re.compile(r"^Dask worker (\S+) \((tcp://[^)]+)\) lost with (\d+) submissions? of this run on it", re.M)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(*args, log: Path, env=None) -> subprocess.Popen:
    # Its own process group: a worker is a nanny and its child, killed together.
    return subprocess.Popen([DASK, *args], stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
                            env=env)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)


@contextmanager
def dask_cluster(logs: Path, workers: int, env=None):
    """(address, worker processes, a function that starts one more worker named after its argument)."""
    address = f"tcp://127.0.0.1:{free_port()}"
    procs = [start("scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1], "--no-dashboard",
                   log=logs / "scheduler.log", env=env)]

    def worker(name: str) -> subprocess.Popen:
        procs.append(start("worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard", "--name", name,
                           log=logs / f"{name}.log", env=env))
        return procs[-1]

    from distributed import Client

    try:
        started = [worker(f"w{i}") for i in range(1, workers + 1)]
        with Client(address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=120)
        yield address, started, worker
    finally:
        for proc in reversed(procs):
            stop(proc)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """The scheduler's address and the two workers' processes, for the tests that kill none."""
    with dask_cluster(tmp_path_factory.mktemp("dask"), 2) as (address, workers, _):
        yield address, workers


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
    proc = grade(folder, *ON, "--json", out, "--device", "cpu", "--seed", SEED, "--call-timeout", 3,
                 "--scheduler", cluster[0])
    assert without_timing(out) == local
    assert "Dask worker" not in proc.stderr  # none lost, none told


class Run:
    """`grade --scheduler` on the class in the background, and its journal's rows as they come."""

    def __init__(self, folder: Path, out: Path, address: str):
        self.out, self.journal = out, out.with_suffix(".jsonl")
        self.proc = subprocess.Popen([sys.executable, "-m", "autograder", "grade", str(folder), *map(str, ON),
                                      "--json", str(out), "--device", "cpu", "--seed", str(SEED), "--call-timeout",
                                      "3", "--scheduler", address],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def rows(self) -> int:
        return len(self.journal.read_text().splitlines()) if self.journal.exists() else 0

    def until(self, rows: int) -> None:
        deadline = time.monotonic() + 300
        while self.rows() < rows:
            assert self.proc.poll() is None and time.monotonic() < deadline, self.proc.communicate()
            time.sleep(0.1)

    def end(self) -> str:
        stdout, stderr = self.proc.communicate(timeout=600)
        assert self.proc.returncode == 0, stdout + stderr
        students = [json.loads(line)["student"] for line in self.journal.read_text().splitlines()]
        assert sorted(students) == sorted(set(students)) and len(students) == 16  # each once
        return stderr


def test_a_worker_killed_midway_loses_and_duplicates_nothing(graded_class, tmp_path):
    folder, local = graded_class
    with dask_cluster(tmp_path, 2) as (address, workers, _):
        run = Run(folder, tmp_path / "cluster.json", address)
        run.until(3)  # some rows in, most to go
        stop(workers[0])  # the first worker, nanny and all, mid-task
        assert run.rows() < 16
        stderr = run.end()
    assert without_timing(run.out) == local
    lost = LOST.findall(stderr)
    assert [name for name, _, _ in lost] == ["w1"] and stderr.count("Dask worker") == 1, stderr
    # The control: it died with submissions of this run on it, so a row would be missing had they been lost.
    assert int(lost[0][2]) >= 1, stderr


@pytest.mark.parametrize("allowed_failures", [None, 0], ids=["dask-reschedules", "killed-worker-resubmitted"])
def test_every_worker_killed_then_one_started_the_run_finishes(graded_class, tmp_path, allowed_failures):
    """Every worker killed mid-run: the run waits, says so, and a worker started seconds later grades the rest,
    with the assignment installed on it by the scheduler. With Dask's `allowed-failures` at 0 the tasks on the
    killed workers fail (KilledWorker) and are submitted again: the same rows."""
    folder, local = graded_class
    env = None if allowed_failures is None else dict(os.environ,
                                                     DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=str(allowed_failures))
    with dask_cluster(tmp_path, 2, env=env) as (address, workers, worker):
        run = Run(folder, tmp_path / "cluster.json", address)
        run.until(3)
        killed = time.monotonic()
        for proc in workers:
            stop(proc)
        before = run.rows()
        assert before < 16
        time.sleep(3)
        assert run.proc.poll() is None  # waiting, not failed
        joined = time.monotonic()
        worker("w3")
        while run.rows() == before:
            assert run.proc.poll() is None and time.monotonic() < joined + 300, run.proc.communicate()
            time.sleep(0.1)
        first = time.monotonic()
        stderr = run.end()
        ended = time.monotonic()
    print(f"\nrecovery: the first row {first - joined:.1f} s after the new worker was started, the run's end "
          f"{ended - killed:.1f} s after the kill ({16 - before} rows to grade then)")
    assert without_timing(run.out) == local
    lost = LOST.findall(stderr)
    assert sorted(name for name, _, _ in lost) == ["w1", "w2"] and stderr.count("Dask worker") == 4, stderr
    assert sum(int(n) for _, _, n in lost) >= 1, stderr  # the control: submissions were in flight
    assert stderr.count("no Dask worker is left: waiting up to 30 min for one to join") == 1, stderr
    assert stderr.count("a Dask worker joined after") == 1, stderr


def test_no_worker_for_the_bound_is_a_grader_failure(tmp_path):
    """With no worker for `wait` seconds the run stops waiting: each submission left is a grader failure (never a
    student's zero) and the run says so, in a line."""
    from distributed import Client

    from autograder import cluster as on_cluster
    from autograder.limits import Limits

    CORPUS.build("correct_reference", tmp_path, stem="alone")
    address = f"tcp://127.0.0.1:{free_port()}"
    scheduler = start("scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1], "--no-dashboard",
                      log=tmp_path / "scheduler.log")
    said, failed = [], []
    try:
        with Client(address, timeout=60) as client:
            began = time.monotonic()
            on_cluster.run(client, ASSIGNMENT, [("alone", tmp_path / "alone.ipynb")], Limits(), ["cpu"], SEED,
                           lambda i, result: pytest.fail("graded without a worker"),
                           lambda i, reason: failed.append((i, reason)), said.append, wait=2)
            took = time.monotonic() - began
            assert not client.scheduler_info()["workers"]
    finally:
        stop(scheduler)
    assert [i for i, _ in failed] == [0] and "no Dask worker could take the task for 2 s" in failed[0][1]
    assert "grader failure" in failed[0][1] and "--resume" in failed[0][1]
    assert said[0].startswith("no Dask worker is left: waiting up to 2 s") and len(said) == 2, said
    assert said[1].startswith("no Dask worker joined in 2 s"), said
    assert 2 <= took < 30


class _Stuck:
    """A finished task whose result cannot be fetched yet (its holder died: Dask computes it again), as Dask's
    client gives it: result() blocks. It ends when the run has told that no worker is left, or after 8 s."""

    status = "error"

    def __init__(self, told: "threading.Event"):
        self.told = told

    def add_done_callback(self, callback):
        threading.Timer(0.1, callback, (self,)).start()

    def result(self, timeout=None):
        if self.told.wait(8):
            raise RuntimeError("fetched after the wait was told")
        raise TimeoutError("the run told nothing while a result was being fetched")

    def cancel(self):
        pass


class _Alone:
    """A cluster with no worker, its one task's result stuck: as the every-worker-killed test meets it when the
    kill comes between a task's end and the fetch of its result."""

    def __init__(self, told: "threading.Event"):
        self.told, self.scheduler = told, type("Scheduler", (), {"address": "tcp://127.0.0.1:1"})()

    def submit(self, *args, **kwargs):
        return _Stuck(self.told)

    def scheduler_info(self, **kwargs):
        return {"workers": {}}

    def register_plugin(self, *args, **kwargs): ...
    def unregister_worker_plugin(self, *args, **kwargs): ...
    def subscribe_topic(self, *args, **kwargs): ...
    def unsubscribe_topic(self, *args, **kwargs): ...


def test_the_run_tells_the_wait_while_a_result_is_being_fetched(tmp_path):
    """The loop that tells the workers lost and the wait for one never blocks on fetching a result. The
    control: had it blocked, the stuck result would end in its TimeoutError, with nothing told."""
    from autograder import cluster as on_cluster
    from autograder.limits import Limits

    CORPUS.build("correct_reference", tmp_path, stem="alone")
    told, said, failed = threading.Event(), [], []

    def say(line: str) -> None:
        said.append(line)
        if line.startswith("no Dask worker is left"):
            told.set()

    on_cluster.run(_Alone(told), ASSIGNMENT, [("alone", tmp_path / "alone.ipynb")], Limits(), ["cpu"], SEED,
                   lambda i, result: pytest.fail("a stuck result graded"), lambda i, reason: failed.append(reason),
                   say, wait=60)
    assert failed == ["the Dask task failed: RuntimeError: fetched after the wait was told"], (failed, said)


def test_the_bound_is_dask_config():
    import dask

    from autograder.cluster import worker_wait

    assert worker_wait() == 1800
    with dask.config.set({"autograder.worker-wait": "2 hours"}):
        assert worker_wait() == 7200


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


def test_a_worker_that_cannot_isolate_refuses_to_grade(graded_class, tmp_path):
    """Without bubblewrap, student code on a worker keeps the network, and with it the scheduler: that worker
    grades nothing, and every row is a grader failure for review, never a zero. (Control: the tests above
    grade the same class on workers that have bubblewrap.)"""
    folder, _ = graded_class
    env = dict(os.environ, PATH=os.path.dirname(sys.executable))  # no bwrap on the worker's PATH
    with dask_cluster(tmp_path, 1, env=env) as (address, _, _):
        out = tmp_path / "cluster.json"
        proc = grade(folder, *ON, "--json", out, "--device", "cpu", "--seed", SEED, "--call-timeout", 3,
                     "--scheduler", address, check=(3,))
    rows = json.loads(out.read_text())["submissions"]
    sent = [r for r in rows if "broken" not in r["student"]]  # (a broken file is refused on this side: no task)
    assert sent and all(r["needs_review"] and r["score"] == 0 for r in sent)
    assert "install bubblewrap" in (tmp_path / "cluster.log").read_text() + proc.stderr
