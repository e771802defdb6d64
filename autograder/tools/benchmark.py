"""Benchmark: `python -m autograder grade` against `nbgrader autograde`, same notebooks, same run.

    python -m autograder.tools.benchmark [--assignment DIR] [-n 100] [--workers 2] [--timeout 10]

Builds N submissions from the assignment's corpus (its BENCHMARK mix of correct
and faulty work, and one BENCHMARK_HANG) in a temporary nbgrader course,
grades them with both graders, and prints seconds per submission for each,
the ratio, our per-submission overhead (everything but running the student's
cells and the checks), and how many submissions the two graders scored
alike, part by part. The sandbox and the limits stay on; both graders get the
same timeout.

It also measures the floor (tools/floor.py: the same hidden tests on the same
notebooks, hang left out, in one process with no sandbox, same seed) against
this grader with one worker on those notebooks: core-seconds per submission
(CPU of every process, start-up included), where this grader's time goes, and
whether both scored every part alike; and the time to one result: one correct
notebook graded from a cold start, as a student on Gradescope waits for it.
"""
import argparse
import contextlib
import itertools
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from nbgrader.api import Gradebook

from autograder import assignment as assignments
from autograder import backends
from autograder.tools.examples import Corpus

SEED = 20261206  # both graders and the floor draw the same hidden inputs


def timed(cmd: "list[str]", cwd: Path, **env: str) -> float:
    return run(cmd, cwd, **env)[0]


CPUACCT = Path("/sys/fs/cgroup/cpuacct")  # cgroup v1's CPU accounting, which the grader itself never uses
RUNS = itertools.count()


class CpuGroup:
    """CPU seconds of every process started into it: a cpuacct cgroup of its own, which every descendant
    inherits (the sandbox's processes too, whoever reaps them). `joined` is None where there is none."""

    def __init__(self) -> None:
        self.path: "Path | None" = CPUACCT / f"benchmark-{os.getpid()}-{next(RUNS)}"  # (a left one keeps its own)
        try:
            os.mkdir(str(self.path))
        except OSError:
            self.path = None

    @property
    def joined(self) -> "Callable[[], object] | None":
        """A preexec_fn that puts the new process in the group."""
        path = self.path
        return None if path is None else lambda: (path / "cgroup.procs").write_text(str(os.getpid()))

    def seconds(self) -> float:
        return 0.0 if self.path is None else int((self.path / "cpuacct.usage").read_text()) / 1e9

    def close(self) -> float:
        """The group's CPU seconds, once what it left (a zygote being killed) has exited, up to 10 s."""
        if self.path is None:
            return 0.0
        for _ in range(1000):
            if not (self.path / "cgroup.procs").read_text().strip():
                break
            time.sleep(0.01)
        cpu = self.seconds()
        with contextlib.suppress(OSError):  # (one still there keeps the group: the next one's name differs)
            self.path.rmdir()
        return cpu


def run(cmd: "list[str]", cwd: Path, **env: str) -> "tuple[float, float]":
    """(wall seconds, CPU seconds of every process it started) of one command: from a CpuGroup, or where
    there is none from rusage, which misses what the sandbox's processes spend when their parent does not
    wait for them."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", **env)
    group = CpuGroup()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   preexec_fn=group.joined)
    wall = time.perf_counter() - start
    if group.path is not None:
        return wall, group.close()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, isolation {backends.current().name}"


def main(argv: "list[str] | None" = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", help="<course>/solutions/<name> (default: the only one under .)")
    parser.add_argument("-n", type=int, default=100, help="submissions")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per call (ours) and per cell (nbgrader)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of ours against the floor (median)")
    parser.add_argument("--without-nbgrader", action="store_true",
                        help="measure this grader, the floor and one result only (nbgrader takes ~15 s a notebook)")
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
                  "--workers", str(args.workers), "--call-timeout", str(args.timeout), "--seed", str(SEED)], course)
    theirs = None if args.without_nbgrader else timed(
        [sys.executable, "-m", "nbgrader", "autograde", name, f"--Execute.timeout={int(args.timeout)}"], course)

    floor_lines = floor(course, assignment, {s: c for s, c in students.items() if c != hang}, max(1, args.repeat))
    one = course / "one"
    one.mkdir()
    corpus.build(mix[0], one, stem=name)
    cold = timed([sys.executable, "-m", "autograder", "grade", str(one / f"{name}.ipynb"), "--json",
                  str(course / "one.json"), "--device", "cpu", "--workers", "1"], course)

    rows = {r["student"]: r for r in json.loads(report.read_text())["submissions"]}
    overhead = sorted(r["timing"]["wall"] - r["timing"]["tests"] + r["timing"]["spawn"] for r in rows.values())
    print(f"machine: {machine()}")
    print(f"{args.n} submissions ({len(mix)} kinds of correct and faulty work, 1 hang), timeout {args.timeout:g} s")
    print(f"python -m autograder grade --workers {args.workers}: {ours:7.1f} s  {ours / args.n:6.3f} s/submission")
    print(f"our overhead per submission (all but student code and checks): median {statistics.median(overhead):.3f} s, "
          f"90th percentile {overhead[int(0.9 * len(overhead))]:.3f} s, max {overhead[-1]:.3f} s")
    if theirs is not None:
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            agree = sum(
                all(gb.find_grade(p.test_grade_id, name, name, s).score == rows[s]["parts"][p.grade_id]["score"]
                    for p in assignment.parts)
                for s in students
            )
        print(f"nbgrader autograde (serial):          {theirs:7.1f} s  {theirs / args.n:6.3f} s/submission")
        print(f"ratio: {theirs / ours:.1f}x faster")
        print(f"same score on every part from both graders: {agree} of {args.n}")
    print("\n".join(floor_lines))
    print(f"time to one result (one correct notebook, cold start, 1 worker): {cold:.2f} s")
    shutil.rmtree(course)


def floor(course: Path, assignment: assignments.Assignment, students: "dict[str, str]",
          repeat: int = 3) -> "list[str]":
    """The floor against this grader with one worker, on the same notebooks and seed: the lines to print.

    Each measurement is taken `repeat` times, ours and the floor's in turn, and the ratio is the median of
    the rounds' ratios: this machine's speed drifts by a tenth from minute to minute, and a ratio of two runs
    taken back to back holds still where two runs a few minutes apart do not."""
    name = assignment.name
    alike = course / "alike"
    for student in students:
        shutil.copytree(course / "submitted" / student, alike / student)
    notebooks = [str(alike / s / name / f"{name}.ipynb") for s in students]
    # Each command on its first notebook alone: what it costs before any submission (start-up, once), so that
    # (all - one) / (n - 1) is what each further submission costs.
    first = course / "first"
    shutil.copytree(alike / next(iter(students)), first / next(iter(students)))
    report = course / "alike.json"
    ours_cmd = [sys.executable, "-m", "autograder", "grade", "--device", "cpu", "--workers", "1", "--seed", str(SEED)]
    # One thread, as each student's process in the sandbox has (OMP_NUM_THREADS=1).
    floor_cmd = [sys.executable, "-m", "autograder.tools.floor", "--seed", str(SEED), "--assignment",
                 str(course / "solutions" / name)]
    n = len(students)
    rounds = []
    for _ in range(repeat):
        ours_wall, ours_cpu = run([*ours_cmd, str(alike), "--json", str(report)], course)
        floor_wall, floor_cpu = run([*floor_cmd, *notebooks, "--json", str(course / "floor.json")], course,
                                    OMP_NUM_THREADS="1")
        _, ours_one = run([*ours_cmd, str(first), "--json", str(course / "first.json")], course)
        _, floor_one = run([*floor_cmd, notebooks[0]], course, OMP_NUM_THREADS="1")
        ours_each, floor_each = (ours_cpu - ours_one) / max(1, n - 1), (floor_cpu - floor_one) / max(1, n - 1)
        rounds.append({"ours": ours_cpu / n, "floor": floor_cpu / n, "ours_each": ours_each,
                       "floor_each": floor_each, "ours_start": ours_one - ours_each,
                       "floor_start": floor_one - floor_each, "ours_wall": ours_wall, "floor_wall": floor_wall})
    median = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    all_in = sorted(r["ours"] / r["floor"] for r in rounds)
    each = sorted(r["ours_each"] / r["floor_each"] for r in rounds)
    rows = {r["student"]: r for r in json.loads(report.read_text())["submissions"]}
    scores = json.loads((course / "floor.json").read_text())["scores"]
    same = sum(scores[nb] == {g: p["score"] for g, p in rows[s]["parts"].items()}
               for s, nb in zip(students, notebooks, strict=True))
    spent = {key: sum(r["timing"][key] for r in rows.values()) / n for key in ("parse", "spawn", "cells", "calls")}
    spent["checks"] = sum(r["timing"]["tests"] for r in rows.values()) / n - sum(spent.values())
    spent["closing"] = sum(r["timing"]["wall"] - r["timing"]["tests"] for r in rows.values()) / n
    startup = rounds[-1]["ours_wall"] - sum(r["timing"]["wall"] for r in rows.values())

    def spread(ratios: "list[float]") -> str:
        return f"{statistics.median(ratios):.2f}x (rounds: {', '.join(f'{r:.2f}' for r in ratios)})"

    return [
        f"floor ({n} notebooks, the hang left out; one process, no sandbox): {median['floor']:.3f} core-s/submission "
        f"({median['floor_wall']:.1f} s wall in all; medians of {repeat} rounds, taken in turn with ours)",
        f"ours, 1 worker, same notebooks:            {median['ours']:.3f} core-s/submission "
        f"({median['ours_wall']:.1f} s wall in all): {spread(all_in)} the floor",
        f"each submission after the first (start-up apart): ours {median['ours_each']:.3f} core-s, floor "
        f"{median['floor_each']:.3f}: {spread(each)}; start-up: ours {median['ours_start']:.1f} core-s, floor "
        f"{median['floor_start']:.1f}",
        "where our time goes, wall s per submission: " + ", ".join(f"{k} {v:.3f}" for k, v in spent.items())
        + f"; start-up {startup:.1f} s once",
        f"same score on every part, floor and ours: {same} of {n}",
    ]


if __name__ == "__main__":
    main()
