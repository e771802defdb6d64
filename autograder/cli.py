"""Command line: grade a class of notebooks, and make its class report.

    python -m autograder grade PATH... [--assignment DIR] [--json FILE] [--csv FILE] [--html DIR] [--resume] ...
    python -m autograder report REPORT.json [--out DIR]
    python -m autograder gradescope [--out autograder.zip] [--assignment DIR]

PATH is a notebook, a flat folder of notebooks (the student is the file's
stem), or nbgrader's submitted/ folder (<student>/<assignment>/*.ipynb). Every
submission found gets a row. Each row is appended to FILE's journal
(report.jsonl beside report.json) the moment it is graded, so a grader killed
midway loses nothing: `--resume` grades only what the journal lacks.

Exit status: 0 when every submission was graded; 3 (REVIEW_EXIT_CODE) when
the grader failed on some of them (their rows say "needs_review", the log
beside the report says why); 1 on an error before grading (e.g. the
gradebook); 2 on a usage error; 130 when interrupted.
"""
import argparse
import json
import os
import sys
import traceback
from datetime import datetime, timezone
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.text import Text

from autograder import assignment as assignments
from autograder import limits as limit_options
from autograder import pool, render, results
from autograder.assignment import Assignment
from autograder.course import find_submissions
from autograder.journal import Journal, Log
from autograder.limits import Limits, limits_report, remove_stale_cgroups
from autograder.runner import devices as device_list
from autograder.runner import grade_submission, new_seed
from autograder.sandbox import ZYGOTE_START_TIMEOUT, isolation
from autograder.session import sandbox_settings

REVIEW_EXIT_CODE = 3


def grading_job(folder: str, student: str, notebook: Path, error: "str | None", limits: Limits, devices: list,
                seed: int) -> tuple:
    """One submission, in a worker: every unexpected failure of the grader becomes a row that needs review."""
    assignment = assignments.load(folder)
    try:
        return grade_submission(assignment, student, notebook, error, limits, devices, seed)
    except Exception:
        row = results.submission_result(assignment, student, notebook, {}, grader_failed=True)
        return row, [traceback.format_exc()]


def prestart(folder: str, limits: Limits, devices: list) -> None:
    """In a new worker, before anything else: start the zygote for this assignment."""
    from autograder.sandbox import prestart as start

    start(*sandbox_settings(limits, assignments.load(folder), "cuda" in devices))


def grade_all(assignment: Assignment, jobs: list, args: argparse.Namespace, limits: Limits, devices: list,
              console: Console, client=None) -> list:
    """Rows for every job, in order: kept from the journal when resuming, graded otherwise."""
    journal = Journal(args.json.with_suffix(".jsonl"), args.resume)
    log = Log(args.json.with_suffix(".log"), args.resume)
    rows = [journal.kept(*job) if args.resume else None for job in jobs]
    todo = [i for i, row in enumerate(rows) if row is None]
    if args.resume:
        console.print(f"resuming: {len(jobs) - len(todo)} rows from {journal.path}, {len(todo)} to grade")
    seed = args.seed if args.seed is not None else new_seed()
    watchdog = limits.submission_timeout + 2 * limits.call_timeout + ZYGOTE_START_TIMEOUT + 60
    folder = str(assignment.folder)

    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("grading", total=len(todo))

        def finished(k, result):
            row, logs = result
            if logs:
                row.log = log.write(row.student, row.notebook, logs)
            rows[todo[k]] = row
            journal.append(row)
            progress.advance(task)

        def failed(k, reason):
            student, notebook, _ = jobs[todo[k]]
            row = results.submission_result(assignment, student, notebook, {}, grader_failed=True)
            finished(k, (row, [reason]))

        try:
            if client is None:
                pool.run("autograder.cli:grading_job", [(folder, *jobs[i], limits, devices, seed) for i in todo],
                         max(1, min(args.workers, len(todo))), watchdog, finished, failed,
                         warm=("autograder.cli:prestart", (folder, limits, devices)))
            else:  # on the cluster's workers; a refused file runs no code, so its row is made here
                from autograder import cluster

                sent = [k for k, i in enumerate(todo) if jobs[i][2] is None]
                for k, i in enumerate(todo):
                    if jobs[i][2] is not None:
                        finished(k, grading_job(folder, *jobs[i], limits, devices, seed))
                cluster.run(client, assignment, [jobs[todo[k]][:2] for k in sent], limits, devices, seed,
                            lambda j, result: finished(sent[j], result), lambda j, reason: failed(sent[j], reason))
        finally:
            journal.close()
    return rows


def grade(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    console = Console(stderr=True)
    try:
        assignment = assignments.load(args.assignment) if args.assignment else assignments.find()
        client = None
        if args.scheduler:
            from autograder import cluster

            client = cluster.connect(args.scheduler)
            devices = cluster.cluster_devices(client, args.device)
        else:
            devices = device_list(args.device)
    except (LookupError, FileNotFoundError, ValueError, OSError) as exc:
        parser.error(str(exc))
    if not args.json.parent.is_dir():
        parser.error(f"--json {args.json}: the folder {args.json.parent} does not exist")
    jobs = find_submissions(args.paths, assignment.name)
    if not jobs:
        parser.error(f"no notebooks found under {', '.join(map(str, args.paths))}")
    limits = limit_options.from_options(lambda dest: getattr(args, dest))
    if client is not None:
        where, limits_used = cluster.facts(client, limits, "cuda" in devices)
    else:
        where, limits_used = isolation(), limits_report(limits, "cuda" in devices)
    if where != "bubblewrap":
        console.print(
            "[bold red]WARNING:[/] bubblewrap (bwrap) is not available here: student code runs in separate "
            "processes with limits, but can read your files, use the network and signal your processes. "
            "Install bubblewrap (Debian: apt-get install bubblewrap) for the sandbox."
        )
    if args.gradebook:
        from autograder.errors import GradebookError
        from autograder.gradebook import check_gradebook, default_gradebook

        args.gradebook = default_gradebook(assignment) if args.gradebook is True else args.gradebook
        try:  # before grading: a wrong gradebook should cost seconds, not the class's grading time
            check_gradebook(args.gradebook, assignment)
        except GradebookError as exc:
            parser.error(str(exc))
    try:
        rows = grade_all(assignment, jobs, args, limits, devices, console, client)
    except KeyboardInterrupt:
        console.print(f"interrupted: the rows graded so far are in {args.json.with_suffix('.jsonl')}; "
                      "run the same command with --resume to grade the rest")
        return 130
    finally:
        if client is not None:
            client.close()
    remove_stale_cgroups()  # any left by a worker that was killed
    seen = {code for row in rows for code in render.diagnoses(row)}
    report = results.Report(assignment.name, where, limits_used, rows,
                            devices=devices, graded_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                            mistakes={code: text for code, text in assignment.mistakes.items() if code in seen})
    render.table(report, Console(), assignment.mistakes)
    render.write_json(report, args.json)
    if args.csv:
        render.write_csv(report, args.csv)
    if args.html:
        from autograder.class_report import write_class_report

        page = write_class_report(report, args.html)
        console.print(f"class report: {page} (figures as PNG beside it)")
    if args.gradebook:
        from autograder.errors import GradebookError
        from autograder.gradebook import record

        try:
            count, failures = record(report, assignment, args.gradebook)
        except GradebookError as exc:
            console.print(Text.assemble(("error: ", "bold red"), render.plain(str(exc))))
            return 1
        for failure in failures:
            console.print(Text.assemble(("nbgrader could not record ", "bold red"), render.plain(failure)))
        console.print(f"recorded {count} submissions in {args.gradebook} and their graded notebooks in "
                      f"{assignment.course / 'autograded'}")
        if failures:
            return 1
    return REVIEW_EXIT_CODE if report.needs_review else 0


def main(argv: "list | None" = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description="Grade nbgrader notebooks in a sandbox.")
    commands = parser.add_subparsers(dest="command", required=True)
    cmd = commands.add_parser("grade", help="grade notebooks and print a score table",
                              description="Grade students' notebooks in a sandbox and print a score table.")
    cmd.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                     help="a notebook, a folder of notebooks (<student>.ipynb), or nbgrader's submitted/ folder "
                          "(<student>/<assignment>/*.ipynb)")
    cmd.add_argument("--assignment", type=Path, metavar="DIR",
                     help="the assignment's folder, <course>/solutions/<name> (default: the only one under .)")
    cmd.add_argument("--json", type=Path, default=Path("report.json"), metavar="FILE",
                     help="the full report (default: %(default)s); rows are journaled to its .jsonl as they finish")
    cmd.add_argument("--resume", action="store_true",
                     help="keep the rows the journal already has; grade the rest (default: grade everything)")
    cmd.add_argument("--csv", type=Path, metavar="FILE", help="also write one row of scores per student here "
                                                              "(default: no CSV)")
    cmd.add_argument("--gradebook", type=Path, nargs="?", const=True, metavar="DB",
                     help="also record the results as `nbgrader autograde` would: scores and timestamps in this "
                          "gradebook, graded notebooks in autograded/ (default DB: the course's, from its "
                          "nbgrader_config.py)")
    cmd.add_argument("--html", type=Path, metavar="DIR",
                     help="also write the class report here: a page to open in a browser, and its figures as PNG "
                          "(default: none; `python -m autograder report` makes one from a report.json later)")
    cmd.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                     help="submissions graded at once (default: the cores, %(default)s)")
    limit_options.add_options(cmd.add_argument)
    cmd.add_argument("--device", choices=("cpu", "cuda", "auto"), default="auto",
                     help="where the torch tests run: cpu, cuda (fails without a GPU) or auto (default: %(default)s:"
                          " the CPU, and CUDA too when present)")
    cmd.add_argument("--seed", type=int, help="seed of the hidden inputs (default: a secret one per run)")
    cmd.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                     help="grade each submission as a task on this Dask cluster's workers, each in its own sandbox "
                          "(default: worker processes on this machine, --workers of them)")
    cmd = commands.add_parser("report", help="make the class report from a graded report.json",
                              description="Write the class report of a grading run: one page (index.html) with "
                                          "its figures inline, and the same figures as PNG, in DIR.")
    cmd.add_argument("report", type=Path, metavar="REPORT.json", help="what `grade --json` wrote")
    cmd.add_argument("--out", type=Path, metavar="DIR",
                     help="where to write (default: a folder named after the report, e.g. report/ for report.json)")
    cmd = commands.add_parser("gradescope", help="build a Gradescope autograder zip for the assignment",
                              description="Build the zip to upload as a Gradescope programming assignment's "
                                          "autograder: it grades each submission with this grader, in its sandbox.")
    cmd.add_argument("--out", type=Path, default=Path("autograder.zip"), metavar="FILE",
                     help="the zip to write (default: %(default)s)")
    cmd.add_argument("--assignment", type=Path, metavar="DIR",
                     help="the assignment's folder, <course>/solutions/<name> (default: the only one under .)")
    args = parser.parse_args(argv)
    if args.command == "gradescope":
        return gradescope_bundle(args, parser)
    return grade(args, parser) if args.command == "grade" else class_report(args, parser)


def gradescope_bundle(args, parser) -> int:
    """`python -m autograder gradescope`: the autograder zip for Gradescope."""
    from autograder import gradescope

    try:
        assignment = assignments.load(args.assignment) if args.assignment else assignments.find()
    except (LookupError, FileNotFoundError) as exc:
        parser.error(str(exc))
    Console().print(f"wrote {gradescope.build(assignment, args.out)}: upload it as the autograder of a Gradescope "
                    "programming assignment")
    return 0


def class_report(args, parser) -> int:
    """`python -m autograder report`: the page and figures of a report already written."""
    from autograder.class_report import write_class_report

    try:
        data = json.loads(args.report.read_text(encoding="utf-8"))
        report = results.Report.from_dict(data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        parser.error(f"{args.report}: not a report written by `python -m autograder grade --json` ({exc})")
    page = write_class_report(report, args.out or args.report.with_suffix(""))
    Console().print(f"class report: {page} (figures as PNG beside it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
