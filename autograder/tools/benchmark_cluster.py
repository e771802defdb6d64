"""Benchmark: a class graded through local Dask clusters of 1 and 2 workers, against the local command.

    python -m autograder.tools.benchmark_cluster [--assignment DIR] [-n 200] [--workers 1,2]
        [--course 10000] [--minutes 10] [--cores-per-machine 16]

Builds N submissions from the corpus's BENCHMARK mix; for each worker count K
starts `dask scheduler` and K single-threaded workers on 127.0.0.1, waits until
they have joined (their start-up timed apart), grades the class with
`--scheduler` and with the local `--workers K`, same seed, and prints the wall
time, the throughput, the core-seconds per submission (the CPU of the
scheduler, the workers, their sandboxes and the client, from one cpuacct group
around the cluster), how the throughput scales from the first count to the
last, and whether every report equals the local one (timing aside). From the
last count's measured core-seconds per submission and scaling it estimates the
machines a course of `--course` submissions needs to be graded in `--minutes`.
"""
import argparse
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from autograder import assignment as assignments
from autograder.tools.benchmark import CpuGroup, machine
from autograder.tools.examples import Corpus

DASK = str(Path(sys.executable).parent / "dask")


def grade(folder: Path, out: Path, *extra: str, preexec: Any = None) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "autograder", "grade", str(folder), "--json", str(out), "--device", "cpu",
                    "--seed", "1", *extra], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   preexec_fn=preexec)
    return time.perf_counter() - start


def without_timing(path: Path) -> "dict[str, Any]":
    """A report as JSON, without what differs between two runs of the same class (when, and how long)."""
    report = json.loads(path.read_text())
    report.pop("graded_at")
    for row in report["submissions"]:
        row.pop("timing", None)
    return report


def through_dask(folder: Path, out: Path, workers: int) -> "dict[str, float]":
    """Grade `folder` on a fresh local cluster of `workers`: {start-up, wall, cpu} seconds."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    group = CpuGroup()
    logs = open(folder.parent / f"dask-{workers}.log", "w")

    def start(*args: str) -> "subprocess.Popen[bytes]":
        def preexec() -> None:
            if group.joined is not None:
                group.joined()
            os.setsid()  # (a worker is a nanny and its child: killed together)

        return subprocess.Popen([DASK, *args, "--no-dashboard"], stdout=logs, stderr=logs, preexec_fn=preexec)

    began = time.perf_counter()
    procs = [start("scheduler", "--host", "127.0.0.1", "--port", str(port))]
    procs += [start("worker", address, "--nworkers", "1", "--nthreads", "1") for _ in range(workers)]
    try:
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=120)
        startup = time.perf_counter() - began
        cpu = group.seconds()
        wall = grade(folder, out, "--scheduler", address, preexec=group.joined)
        cpu = group.seconds() - cpu
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGKILL)
        for proc in procs:
            proc.wait(30)
        group.close()
    return {"startup": startup, "wall": wall, "cpu": cpu}


def main(argv: "list[str] | None" = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", help="<course>/solutions/<name> (default: the only one under .)")
    parser.add_argument("-n", type=int, default=200, help="submissions")
    parser.add_argument("--workers", default="1,2", help="worker counts, comma-separated (default 1,2)")
    parser.add_argument("--course", type=int, default=10000, help="submissions of the course to estimate for")
    parser.add_argument("--minutes", type=float, default=10.0, help="the time it must be graded in")
    parser.add_argument("--cores-per-machine", type=int, default=16)
    args = parser.parse_args(argv)
    counts = [int(k) for k in args.workers.split(",")]
    assignment = assignments.load(args.assignment) if args.assignment else assignments.find()
    corpus = Corpus(assignment)
    root = Path(tempfile.mkdtemp(prefix="benchmark-cluster-"))
    folder = root / "class"
    folder.mkdir()
    mix = corpus.data.BENCHMARK
    for i in range(args.n):
        corpus.build(mix[i % len(mix)], folder, stem=f"s{i:05d}")
    print(f"machine: {machine()}")
    print(f"{args.n} submissions ({len(mix)} kinds of correct and faulty work), single-threaded Dask workers")
    measured: "dict[int, dict[str, float]]" = {}
    same = True
    for k in counts:
        local = grade(folder, root / f"local-{k}.json", "--workers", str(k))
        m = through_dask(folder, root / f"dask-{k}.json", k)
        same &= without_timing(root / f"local-{k}.json") == without_timing(root / f"dask-{k}.json")
        measured[k] = m
        print(f"{k} worker{'s' if k > 1 else ' '}: Dask {m['wall']:6.1f} s, {args.n / m['wall'] * 60:6.1f} "
              f"submissions/min, {m['cpu'] / args.n:.3f} core-s/submission (workers joined in "
              f"{m['startup']:.1f} s); local --workers {k}: {local:6.1f} s")
    first, last = counts[0], counts[-1]
    speedup = measured[first]["wall"] / measured[last]["wall"]
    efficiency = speedup / (last / first)
    print(f"scaling {first} -> {last} workers: {speedup:.2f}x the throughput ({efficiency:.0%} of linear); "
          f"every report equal to the local one: {same}")
    per = measured[last]["cpu"] / args.n
    seconds = args.minutes * 60 - measured[last]["startup"]  # the workers start inside the same minutes
    cores = math.ceil(args.course * per / seconds)
    machines = math.ceil(cores / args.cores_per_machine)
    print(f"estimate: {args.course} submissions in {args.minutes:g} min at {per:.3f} core-s each need {cores} worker "
          f"cores, {machines} machines of {args.cores_per_machine} cores, if each machine's cores scale as these "
          f"did ({args.course / (args.minutes * 60):.0f} tasks/s for the scheduler)")
    print(f"(notebooks, reports and logs in {root})")


if __name__ == "__main__":
    main()
