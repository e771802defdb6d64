"""Benchmark: `python -m autograder similarity` on a class of N notebooks built from the corpus.

    python -m autograder.tools.benchmark_similarity [--assignment DIR] [-n 300]

Each student is a corpus case (the cases that write answers, in turn), so the
class holds many near-copies, as large classes do; prints the command's wall
time, its CPU seconds (every process: the readers it forks included) and how
many pairs it listed.
"""
import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder import assignment as assignments
from autograder.tools.benchmark import machine, run
from autograder.tools.examples import Corpus


def main(argv: "list[str] | None" = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", help="<course>/solutions/<name> (default: the only one under .)")
    parser.add_argument("-n", type=int, default=300, help="submissions")
    args = parser.parse_args(argv)
    assignment = assignments.load(args.assignment) if args.assignment else assignments.find()
    corpus = Corpus(assignment)
    cases = [name for name, (answers, _) in corpus.cases.items() if answers]
    root = Path(tempfile.mkdtemp(prefix="benchmark-similarity-"))
    (root / "class").mkdir()
    for i in range(args.n):
        corpus.build(cases[i % len(cases)], root / "class", stem=f"s{i:04d}")
    cmd = [sys.executable, "-m", "autograder", "similarity", str(root / "class"), "--out", str(root / "page"),
           "--assignment", str(assignment.folder)]
    wall, cpu = run(cmd, Path.cwd())
    began = time.perf_counter()
    said = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    again = time.perf_counter() - began
    listed = re.search(r"(\d+) pair\(s\) stand out", said)
    print(f"machine: {machine()}")
    print(f"similarity of {args.n} submissions: {wall:.1f} s wall ({again:.1f} s a second time), {cpu:.1f} CPU s; "
          f"{listed.group(1) if listed else '?'} pairs listed")
    shutil.rmtree(root)


if __name__ == "__main__":
    main()
