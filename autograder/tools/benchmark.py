"""Benchmark: `python -m autograder grade` against `nbgrader autograde`, same notebooks, same run.

    python -m autograder.tools.benchmark [--assignment DIR] [-n 100] [--workers 2] [--timeout 10]

Builds N submissions from the assignment's corpus (its BENCHMARK mix of correct
and faulty work, and one BENCHMARK_HANG) in a temporary nbgrader course,
grades them with both graders, and prints seconds per submission for each,
the ratio, our per-submission overhead (everything but running the student's
cells and the checks), and how many submissions the two graders scored
alike, part by part. The sandbox and the limits stay on; both graders get the
same timeout.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nbgrader.api import Gradebook

from autograder import assignment as assignments
from autograder import backends
from autograder.tools.examples import Corpus


def timed(cmd: "list[str]", cwd: Path) -> float:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, isolation {backends.current().name}"


def main(argv: "list[str] | None" = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", help="<course>/solutions/<name> (default: the only one under .)")
    parser.add_argument("-n", type=int, default=100, help="submissions")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per call (ours) and per cell (nbgrader)")
    args = parser.parse_args(argv)
    assignment = assignments.load(args.assignment) if args.assignment else assignments.find()
    corpus, name = Corpus(assignment), assignment.name
    mix, hang = corpus.data.BENCHMARK, corpus.data.BENCHMARK_HANG

    course = Path(tempfile.mkdtemp(prefix="benchmark-"))
    shutil.copytree(assignment.course / "source" / name, course / "source" / name)
    shutil.copytree(assignment.folder, course / "solutions" / name)
    shutil.copy(assignment.course / "nbgrader_config.py", course)
    timed([sys.executable, "-m", "nbgrader", "generate_assignment", name], course)
    students = {}
    for i in range(args.n):
        case = hang if i == args.n // 2 else mix[i % len(mix)]
        students[f"s{i:03d}"] = case
        folder = course / "submitted" / f"s{i:03d}" / name
        folder.mkdir(parents=True)
        corpus.build(case, folder, stem=name)

    report = course / "ours.json"
    ours = timed([sys.executable, "-m", "autograder", "grade", "submitted", "--json", str(report), "--device", "cpu",
                  "--workers", str(args.workers), "--call-timeout", str(args.timeout)], course)
    theirs = timed([sys.executable, "-m", "nbgrader", "autograde", name, f"--Execute.timeout={int(args.timeout)}"],
                   course)

    rows = {r["student"]: r for r in json.loads(report.read_text())["submissions"]}
    overhead = sorted(r["timing"]["wall"] - r["timing"]["tests"] + r["timing"]["spawn"] for r in rows.values())
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        agree = sum(
            all(gb.find_grade(p.test_grade_id, name, name, s).score == rows[s]["parts"][p.grade_id]["score"]
                for p in assignment.parts)
            for s in students
        )
    print(f"machine: {machine()}")
    print(f"{args.n} submissions ({len(mix)} kinds of correct and faulty work, 1 hang), timeout {args.timeout:g} s")
    print(f"python -m autograder grade --workers {args.workers}: {ours:7.1f} s  {ours / args.n:6.3f} s/submission")
    print(f"nbgrader autograde (serial):          {theirs:7.1f} s  {theirs / args.n:6.3f} s/submission")
    print(f"ratio: {theirs / ours:.1f}x faster")
    print(f"our overhead per submission (all but student code and checks): median {statistics.median(overhead):.3f} s, "
          f"90th percentile {overhead[int(0.9 * len(overhead))]:.3f} s, max {overhead[-1]:.3f} s")
    print(f"same score on every part from both graders: {agree} of {args.n}")
    shutil.rmtree(course)


if __name__ == "__main__":
    main()
