"""Benchmark: a class graded through a local Dask cluster of two workers against the local command.

    python -m autograder.tools.benchmark_cluster [--assignment DIR] [-n 1000] [--workers 2]

Builds N submissions from the corpus's BENCHMARK mix, starts `dask scheduler`
and N workers (single-threaded) on 127.0.0.1, grades the class with
`python -m autograder grade --workers N` and with `--scheduler`, same seed,
and prints both times, the overhead per submission of going through Dask,
and whether the two reports are equal (timing aside).
"""
import argparse
import json
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
from autograder.tools.examples import Corpus

DASK = str(Path(sys.executable).parent / "dask")


def grade(folder: Path, out: Path, *extra: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "autograder", "grade", str(folder), "--json", str(out), "--device", "cpu",
                    "--seed", "1", *extra], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def without_timing(path: Path) -> "dict[str, Any]":
    """A report as JSON, without what differs between two runs of the same class (when, and how long)."""
    report = json.loads(path.read_text())
    report.pop("graded_at")
    for row in report["submissions"]:
        row.pop("timing", None)
    return report


def main(argv: "list[str] | None" = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", help="<course>/solutions/<name> (default: the only one under .)")
    parser.add_argument("-n", type=int, default=1000, help="submissions")
    parser.add_argument("--workers", type=int, default=2, help="local worker processes, and Dask workers")
    args = parser.parse_args(argv)
    assignment = assignments.load(args.assignment) if args.assignment else assignments.find()
    corpus = Corpus(assignment)
    folder = Path(tempfile.mkdtemp(prefix="benchmark-cluster-"))
    mix = corpus.data.BENCHMARK
    for i in range(args.n):
        corpus.build(mix[i % len(mix)], folder, stem=f"s{i:05d}")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    logs = open(folder / "dask.log", "w")
    procs = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              stdout=logs, stderr=logs, start_new_session=True)]
    procs += [subprocess.Popen([DASK, "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard"],
                               stdout=logs, stderr=logs, start_new_session=True) for _ in range(args.workers)]
    try:
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(args.workers, timeout=120)
        local = grade(folder, folder / "local.json", "--workers", str(args.workers))
        dask = grade(folder, folder / "dask.json", "--scheduler", address)
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGKILL)
    same = without_timing(folder / "local.json") == without_timing(folder / "dask.json")
    print(f"{args.n} submissions, {args.workers} workers, {os.cpu_count()} cores")
    print(f"local (--workers {args.workers}): {local:.1f} s ({local / args.n:.3f} s/submission)")
    print(f"Dask (2 workers on 127.0.0.1): {dask:.1f} s ({dask / args.n:.3f} s/submission)")
    print(f"overhead of Dask per submission: {(dask - local) / args.n * 1000:+.1f} ms; reports equal: {same}")
    print(f"(notebooks and reports in {folder})")


if __name__ == "__main__":
    main()
