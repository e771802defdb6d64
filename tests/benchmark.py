"""Benchmark: `python -m autograder grade` against `nbgrader autograde`, same notebooks, same run.

    python -m tests.benchmark [-n 100] [--workers 2] [--timeout 10]

Builds N synthetic submissions from the test corpus (correct work, typical
mistakes and one hang) in a temporary nbgrader course, grades them with both
graders, and prints seconds per submission for each, the ratio, our
per-submission overhead (everything but running the student's cells and the
checks), and how many submissions the two graders scored alike, part by part.
The sandbox and the limits stay on; both graders get the same timeout.
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

from autograder.parts import ASSIGNMENT, PARTS
from autograder.sandbox import isolation
from tests import corpus

REPO = Path(__file__).resolve().parent.parent
MIX = [
    "correct_reference", "correct_other_style", "correct_torch_inits_and_chatter", "ff_forward_missing_bias",
    "ff_init_zero_bias", "rnn_forward_uses_notebook_globals", "rnn_forward_returns_list",
    "rnn_forward_zero_initial_state", "module_detaches_states", "module_lecture_global_device",
]
HANG = "hang_in_rnn_forward"


def timed(cmd, cwd):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, isolation {isolation()}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100, help="submissions")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per call (ours) and per cell (nbgrader)")
    args = parser.parse_args(argv)

    course = Path(tempfile.mkdtemp(prefix="benchmark-"))
    shutil.copytree(REPO / "source", course / "source")
    shutil.copy(REPO / "nbgrader_config.py", course)
    timed([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT], course)
    students = {}
    for i in range(args.n):
        name = HANG if i == args.n // 2 else MIX[i % len(MIX)]
        students[f"s{i:03d}"] = name
        folder = course / "submitted" / f"s{i:03d}" / ASSIGNMENT
        folder.mkdir(parents=True)
        corpus.build(name, folder, stem=ASSIGNMENT)

    report = course / "ours.json"
    ours = timed([sys.executable, "-m", "autograder", "grade", "submitted", "--json", str(report), "--device", "cpu",
                  "--workers", str(args.workers), "--timeout", str(args.timeout)], course)
    theirs = timed([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, f"--Execute.timeout={int(args.timeout)}"],
                   course)

    rows = {r["student"]: r for r in json.loads(report.read_text())["submissions"]}
    overhead = sorted(r["timing"]["wall"] - r["timing"]["tests"] + r["timing"]["spawn"] for r in rows.values())
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        agree = sum(
            all(gb.find_grade(p.test_grade_id, ASSIGNMENT, ASSIGNMENT, s).score == rows[s]["parts"][p.grade_id]["score"]
                for p in PARTS)
            for s in students
        )
    print(f"machine: {machine()}")
    print(f"{args.n} submissions ({len(MIX)} kinds of correct and faulty work, 1 hang), timeout {args.timeout:g} s")
    print(f"python -m autograder grade --workers {args.workers}: {ours:7.1f} s  {ours / args.n:6.3f} s/submission")
    print(f"nbgrader autograde (serial):          {theirs:7.1f} s  {theirs / args.n:6.3f} s/submission")
    print(f"ratio: {theirs / ours:.1f}x faster")
    print(f"our overhead per submission (all but student code and checks): median {statistics.median(overhead):.3f} s, "
          f"90th percentile {overhead[int(0.9 * len(overhead))]:.3f} s, max {overhead[-1]:.3f} s "
          f"(the max is a worker's first submission, which starts its zygote)")
    print(f"same score on every part from both graders: {agree} of {args.n}")
    shutil.rmtree(course)


if __name__ == "__main__":
    main()
