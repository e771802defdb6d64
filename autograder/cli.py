"""Command line: grade a class of notebooks.

    python -m autograder grade PATH... [--json FILE] [--csv FILE] [--resume] [--workers N] ...

PATH is a notebook, a flat folder of notebooks (the student is the file's
stem), or nbgrader's submitted/ folder (<student>/rnn_forward/*.ipynb). Every
submission found gets a row. Each row is appended to FILE's journal
(report.jsonl beside report.json) the moment it is graded, so a grader killed
midway loses nothing: `--resume` grades only what the journal lacks.

Exit status: 0 when every submission was graded; 3 (REVIEW_EXIT_CODE) when
the grader failed on some of them (their rows say "needs_review", the log
beside the report says why); 1 on an error before grading (e.g. the
gradebook); 130 when interrupted.
"""
import argparse
import hashlib
import json
import os
import resource
import stat
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from autograder import pool, report
from autograder.notebook import Refused, load_submission, read_regular_file
from autograder.parts import ASSIGNMENT, PARTS
from autograder.runner import NoCell, cuda_available, new_seed, run_part
from autograder.values import printable
from autograder.sandbox import (ZYGOTE_START_TIMEOUT, Limits, Session, isolation, limits_report,
                                remove_stale_cgroups)

REVIEW_EXIT_CODE = 3


def _refused(path, why):
    return (path.stem if path.suffix == ".ipynb" else path.name, path, f"{path}: entrega recusada, {why}")


def find_submissions(paths):
    """[(student, notebook path, error or None)] for every submission under `paths`.

    The paths given are the instructor's; below them nothing is followed
    through a symbolic link, and what is not a regular file or folder is
    refused with a row of its own.
    """
    jobs = []
    for path in paths:
        if path.is_symlink():
            path = path.resolve()
        if path.is_file():
            jobs.append((path.stem, path, None))
            continue
        if not path.is_dir():
            raise SystemExit(f"error: {path}: no such file or folder")
        for entry in sorted(os.scandir(path), key=lambda e: e.name):
            entry_path = Path(entry.path)
            if entry.is_symlink():
                if entry.name.endswith(".ipynb") or entry_path.is_dir():
                    jobs.append(_refused(entry_path, "é um link simbólico"))
            elif entry.name.endswith(".ipynb"):
                jobs.append((entry_path.stem, entry_path, None if entry.is_file(follow_symlinks=False)
                             else f"{entry_path}: entrega recusada, não é um arquivo comum"))
            elif entry.is_dir(follow_symlinks=False):
                folder = entry_path / ASSIGNMENT
                if folder.is_symlink():
                    jobs.append((entry.name, folder, f"{folder}: entrega recusada, é um link simbólico"))
                elif folder.is_dir():
                    jobs.append(_student_folder(entry.name, folder))
    return jobs


def _student_folder(student, folder):
    """nbgrader's submitted/<student>/<assignment>/: the notebook named after the assignment, else the first."""
    notebooks = sorted(p for p in folder.iterdir() if p.name.endswith(".ipynb"))
    if not notebooks:
        return student, folder, f"{folder}: nenhum notebook (.ipynb) na entrega"
    preferred = [nb for nb in notebooks if nb.name == f"{ASSIGNMENT}.ipynb"]
    chosen = (preferred or notebooks)[0]
    mode = chosen.lstat().st_mode
    if stat.S_ISLNK(mode):
        return student, chosen, f"{chosen}: entrega recusada, é um link simbólico"
    if not stat.S_ISREG(mode):
        return student, chosen, f"{chosen}: entrega recusada, não é um arquivo comum"
    return student, chosen, None


def grade_one(student, notebook, error, limits, use_gpu, seed):
    """(report row, grader logs) of one submission; student code runs in the sandbox only."""
    start = time.monotonic()
    data = None
    if not error:
        try:
            data = read_regular_file(notebook)
        except Refused as exc:
            error = str(exc)
    sub = None if error else load_submission(notebook, student, data)
    error = error or sub.error
    if error:
        return report.submission_result(student, notebook, {}, error=error), []
    devices = ["cpu", "cuda"] if use_gpu else ["cpu"]
    outcomes, logs = {}, []
    with Session(limits, use_gpu=use_gpu, files={Path(notebook).name: data}, seed=seed) as session:
        for part in PARTS:
            cell = sub.cells.get(part.grade_id)
            process = session.part(cell) if cell is not None else NoCell(part.grade_id, sub.refused.get(part.grade_id))
            outcomes.update(run_part(part.grade_id, process, devices, seed, logs))
            process.release()
        tests = time.monotonic() - start
    row = report.submission_result(student, notebook, outcomes, sub.notes)
    row["digest"] = hashlib.sha256(data).hexdigest()
    # Where the time went: "tests" ran student code and checks, "spawn" (part of
    # it) started processes; the rest of "wall" is the grader's own overhead.
    row["timing"] = {"tests": tests, "spawn": session.spawn_seconds, "wall": time.monotonic() - start,
                     "grader_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    return row, logs


def grading_job(student, notebook, error, limits, use_gpu, seed):
    """grade_one, with every unexpected failure of the grader turned into a row that needs review."""
    try:
        return grade_one(student, notebook, error, limits, use_gpu, seed)
    except Exception:
        import traceback

        return report.submission_result(student, notebook, {}, grader_failed=True), [traceback.format_exc()]


def digest_of(notebook):
    try:
        return hashlib.sha256(read_regular_file(notebook)).hexdigest()
    except Refused:
        return None


class Journal:
    """Rows as they are graded, one JSON object per line, flushed to disk at once."""

    def __init__(self, path: Path, resume: bool):
        self.path = path
        self.rows = []
        if resume and path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:  # the last line of a killed run may be cut short
                    self.rows.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
        self.file = open(path, "a" if resume else "w", encoding="utf-8", errors="backslashreplace")

    def append(self, row):
        self.file.write(json.dumps(row, ensure_ascii=False) + "\n")
        self.file.flush()
        os.fsync(self.file.fileno())

    def close(self):
        self.file.close()


class Log:
    """The log beside the report, created only when there is something the instructor must read."""

    def __init__(self, path: Path, resume: bool):
        self.path = path
        if not resume:  # a resumed run keeps the log of the rows it keeps
            path.unlink(missing_ok=True)

    def write(self, student, notebook, lines):
        with open(self.path, "a", encoding="utf-8", errors="backslashreplace") as f:
            f.write(f"==== {time.strftime('%Y-%m-%d %H:%M:%S')} {student} ({notebook})\n")
            f.writelines(line if line.endswith("\n") else line + "\n" for line in lines)
        return str(self.path)


def grade_all(jobs, args, limits, use_gpu, console):
    """Rows for every job, in order: taken from the journal when resuming, graded otherwise."""
    journal = Journal(args.json.with_suffix(".jsonl"), args.resume)
    log = Log(args.json.with_suffix(".log"), args.resume)
    previous = {(r.get("student"), r.get("notebook"), r.get("digest")): r for r in journal.rows
                if isinstance(r, dict) and not r.get("needs_review")}
    rows = [None] * len(jobs)
    todo = []
    for i, (student, notebook, error) in enumerate(jobs):
        key = (printable(student), printable(notebook), None if error else digest_of(notebook))
        kept = previous.get(key) if args.resume else None
        if kept:
            rows[i] = kept
        else:
            todo.append(i)
    if args.resume:
        console.print(f"resuming: {len(jobs) - len(todo)} rows from {journal.path}, {len(todo)} to grade")
    seed = args.seed if args.seed is not None else new_seed()
    watchdog = limits.submission_timeout + 2 * limits.call_timeout + ZYGOTE_START_TIMEOUT + 60

    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("grading", total=len(todo))

        def finished(k, result):
            row, logs = result
            if logs:
                row["log"] = log.write(row["student"], row["notebook"], logs)
            rows[todo[k]] = row
            journal.append(row)
            progress.advance(task)

        def failed(k, reason):
            student, notebook, _ = jobs[todo[k]]
            finished(k, (report.submission_result(student, notebook, {}, grader_failed=True), [reason]))

        try:
            pool.run("autograder.cli:grading_job", [(*jobs[i], limits, use_gpu, seed) for i in todo],
                     max(1, min(args.workers, len(todo))), watchdog, finished, failed,
                     warm=("autograder.sandbox:prestart", (use_gpu, limits)))
        finally:
            journal.close()
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder", description="Grade RNN-forward notebooks.")
    commands = parser.add_subparsers(dest="command", required=True)
    grade = commands.add_parser("grade", help="grade notebooks and print a score table")
    grade.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    grade.add_argument("--json", type=Path, default=Path("report.json"),
                       help="the full report (default: %(default)s); rows are journaled to its .jsonl as they finish")
    grade.add_argument("--resume", action="store_true", help="keep the rows the journal already has; grade the rest")
    grade.add_argument("--csv", type=Path, help="write one row of scores per student here")
    grade.add_argument("--gradebook", type=Path, nargs="?", const=Path("gradebook.db"), metavar="DB",
                       help="also record the scores in this nbgrader gradebook (default: the course's gradebook.db)")
    grade.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="submissions graded at once")
    grade.add_argument("--timeout", type=float, default=Limits.call_timeout, help="seconds per call of student code")
    grade.add_argument("--submission-timeout", type=float, default=Limits.submission_timeout,
                       help="seconds for all the calls of one submission")
    grade.add_argument("--memory", type=int, default=Limits.memory_bytes // 2**20, help="MiB per submission")
    grade.add_argument("--device", choices=("cpu", "cuda", "auto"), default="auto")
    grade.add_argument("--seed", type=int, help="seed of the hidden inputs (default: a secret one per run)")
    args = parser.parse_args(argv)

    console = Console(stderr=True)
    if not args.json.parent.is_dir():
        parser.error(f"--json {args.json}: the folder {args.json.parent} does not exist")
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
    try:
        rows = grade_all(jobs, args, limits, use_gpu, console)
    except KeyboardInterrupt:
        console.print(f"interrupted: the rows graded so far are in {args.json.with_suffix('.jsonl')}; "
                      "run the same command with --resume to grade the rest")
        return 130
    remove_stale_cgroups()  # any left by a worker that was killed
    result = report.build_report(rows, isolation(), limits_report(limits, use_gpu))
    report.print_table(result, Console(width=max(140, Console().width)))
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
    if any(row["needs_review"] for row in rows):
        return REVIEW_EXIT_CODE
    return 0


if __name__ == "__main__":
    sys.exit(main())
