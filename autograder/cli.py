"""Command line: grade a class of notebooks.

    python -m autograder grade PATH... [--json FILE] [--csv FILE] [--workers N]
                                       [--timeout SECONDS] [--submission-timeout SECONDS]
                                       [--memory MIB] [--device cpu|cuda|auto] [--gradebook [DB]]

PATH is a notebook, a flat folder of notebooks (the student is the file's
stem), or nbgrader's submitted/ folder (<student>/rnn_forward/*.ipynb). Every
submission found gets a row; the exit status is 0 once grading finished,
whatever the students scored.
"""
import argparse
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from autograder import report
from autograder.notebook import load_submission
from autograder.parts import ASSIGNMENT, PARTS
from autograder.runner import NoCell, cuda_available, run_part
from autograder.sandbox import Limits, Session, isolation


def find_submissions(paths):
    """[(student, notebook or None, error or None)] for every submission under `paths`."""
    jobs = []
    for path in paths:
        if path.is_file():
            jobs.append((path.stem, path, None))
        elif not path.is_dir():
            raise SystemExit(f"error: {path}: no such file or folder")
        else:
            jobs += [(nb.stem, nb, None) for nb in sorted(path.glob("*.ipynb"))]
            for folder in sorted(p for p in path.glob(f"*/{ASSIGNMENT}") if p.is_dir()):
                notebooks = sorted(folder.glob("*.ipynb"))
                preferred = [nb for nb in notebooks if nb.name == f"{ASSIGNMENT}.ipynb"]
                if notebooks:
                    jobs.append((folder.parent.name, (preferred or notebooks)[0], None))
                else:
                    jobs.append((folder.parent.name, folder, f"{folder}: nenhum notebook (.ipynb) na entrega"))
    return jobs


def grade_one(student, notebook, error, limits, use_gpu):
    """One submission's report row; student code runs in the sandbox only."""
    start = time.monotonic()
    sub = None if error else load_submission(notebook, student)
    error = error or sub.error
    if error:
        return report.submission_result(student, notebook, {}, error=error)
    devices = ["cpu", "cuda"] if use_gpu else ["cpu"]
    outcomes = {}
    with Session(limits, use_gpu=use_gpu, notebook=notebook) as session:
        for part in PARTS:
            cell = sub.cells.get(part.grade_id)
            outcomes.update(run_part(part.grade_id, session.part(cell) if cell else NoCell(part.grade_id), devices))
        tests = time.monotonic() - start
    row = report.submission_result(student, notebook, outcomes, sub.notes)
    # Where the time went: "tests" ran student code and checks, "spawn" (part of
    # it) started processes; the rest of "wall" is the grader's own overhead.
    row["timing"] = {"tests": tests, "spawn": session.spawn_seconds, "wall": time.monotonic() - start}
    return row


def failed_row(job, exc):
    """A grader failure still gives the student a row, with the reason."""
    student, notebook, _ = job
    return report.submission_result(student, notebook, {}, error=f"o corretor falhou: {exc!r}")


def grade_all(jobs, workers, limits, use_gpu, console):
    rows = [None] * len(jobs)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("grading", total=len(jobs))
        if workers == 1:
            for i, job in enumerate(jobs):
                try:
                    rows[i] = grade_one(*job, limits, use_gpu)
                except Exception as exc:
                    rows[i] = failed_row(job, exc)
                progress.advance(task)
        else:
            # spawn: a fresh interpreter per worker, never a fork of this one
            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
                futures = {pool.submit(grade_one, *job, limits, use_gpu): i for i, job in enumerate(jobs)}
                for future in as_completed(futures):
                    i = futures[future]
                    try:
                        rows[i] = future.result()
                    except Exception as exc:  # a worker died
                        rows[i] = failed_row(jobs[i], exc)
                    progress.advance(task)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder", description="Grade RNN-forward notebooks.")
    commands = parser.add_subparsers(dest="command", required=True)
    grade = commands.add_parser("grade", help="grade notebooks and print a score table")
    grade.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    grade.add_argument("--json", type=Path, help="write the full report (scores, tests, messages) here")
    grade.add_argument("--csv", type=Path, help="write one row of scores per student here")
    grade.add_argument("--gradebook", type=Path, nargs="?", const=Path("gradebook.db"), metavar="DB",
                       help="also record the scores in this nbgrader gradebook (default: the course's gradebook.db)")
    grade.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="submissions graded at once")
    grade.add_argument("--timeout", type=float, default=Limits.call_timeout, help="seconds per call of student code")
    grade.add_argument("--submission-timeout", type=float, default=Limits.submission_timeout,
                       help="seconds for all the calls of one submission")
    grade.add_argument("--memory", type=int, default=Limits.memory_bytes // 2**20, help="MiB per student process")
    grade.add_argument("--device", choices=("cpu", "cuda", "auto"), default="auto")
    args = parser.parse_args(argv)

    console = Console(stderr=True)
    jobs = find_submissions(args.paths)
    if not jobs:
        parser.error(f"no notebooks found under {', '.join(map(str, args.paths))}")
    if isolation() != "bubblewrap":
        console.print(
            "[bold red]WARNING:[/] bubblewrap (bwrap) is not available here: student code runs in separate "
            "processes with limits, but can read your files, use the network and signal your processes. "
            "Install bubblewrap (Debian: apt-get install bubblewrap) for the sandbox."
        )
    if args.device == "cuda" and not cuda_available():
        parser.error("--device cuda: CUDA is not available on this machine")
    use_gpu = args.device != "cpu" and cuda_available()
    limits = Limits(call_timeout=args.timeout, submission_timeout=args.submission_timeout,
                    memory_bytes=args.memory * 2**20)
    rows = grade_all(jobs, max(1, min(args.workers, len(jobs))), limits, use_gpu, console)
    result = report.build_report(rows, isolation())
    report.print_table(result, Console(width=max(140, Console().width)))
    if args.json:
        report.write_json(result, args.json)
    if args.csv:
        report.write_csv(result, args.csv)
    if args.gradebook:
        from autograder.gradebook import GradebookError, write_scores

        try:
            count = write_scores(result, args.gradebook)
        except GradebookError as exc:
            console.print(f"[bold red]error:[/] {exc}")
            return 1
        console.print(f"recorded {count} submissions in {args.gradebook}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
