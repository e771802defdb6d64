"""Grading a class: the jobs of a run, in worker processes or on a Dask cluster, journaled as they finish.

`grade_all` is what `python -m autograder grade` runs once it has its
submissions and options: every job becomes a row, graded in `pool` workers on
this machine or as tasks of a cluster (cluster.py); each row is appended to
the journal the moment it is graded, and with `resume` the rows the journal
already holds are kept.
"""
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from rich.console import Console
from rich.progress import Progress

from autograder import assignment as assignments
from autograder import checks, pool, render, results
from autograder.assignment import Assignment
from autograder.course import Job
from autograder.journal import Journal, Log
from autograder.limits import Limits
from autograder.results import SubmissionResult
from autograder.runner import grade_submission, new_seed, one_thread
from autograder.sandbox import ZYGOTE_START_TIMEOUT
from autograder.session import sandbox_settings


def grading_job(folder: str, student: str, notebook: Path, error: "str | None", limits: Limits,
                devices: "list[str]", seed: int) -> "tuple[SubmissionResult, list[str]]":
    """One submission, in a worker: every unexpected failure of the grader becomes a row that needs review."""
    assignment = assignments.load(folder)
    one_thread()
    checks.warm()
    try:
        return grade_submission(assignment, student, notebook, error, limits, devices, seed)
    except Exception:
        row = results.submission_result(assignment, student, notebook, {}, grader_failed=True)
        return row, [traceback.format_exc()]


def grade_all(assignment: Assignment, jobs: "list[Job]", journal_path: Path, resume: bool, limits: Limits,
              devices: "list[str]", seed: "int | None", workers: int, console: Console,
              client: Any = None, lines: "Console | None" = None) -> "list[SubmissionResult]":
    """Rows for every job (student, notebook, error), in order: kept from the journal when resuming, graded
    otherwise; `client`, a Dask client, grades on its cluster. `console` shows a progress bar (in a terminal);
    `lines`, when given, gets a plain line per submission as it is graded (render.progress_line)."""
    journal = Journal(journal_path.with_suffix(".jsonl"), resume)
    log = Log(journal_path.with_suffix(".log"), resume)
    rows = [journal.kept(*job) if resume else None for job in jobs]
    todo = [i for i, row in enumerate(rows) if row is None]
    if resume:
        console.print(f"resuming: {len(jobs) - len(todo)} rows from {journal.path}, {len(todo)} to grade")
    seed = seed if seed is not None else new_seed()
    watchdog = limits.submission_timeout + 2 * limits.call_timeout + ZYGOTE_START_TIMEOUT + 60
    folder = str(assignment.folder)

    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("grading", total=len(todo))
        done = [0]  # rows graded so far

        def finished(k: int, result: "tuple[SubmissionResult, list[str]]") -> None:
            row, logs = result
            if logs:
                row.log = log.write(row.student, row.notebook, logs)
            rows[todo[k]] = row
            journal.append(row)
            progress.advance(task)
            if lines is not None:
                done[0] += 1
                lines.print(render.progress_line(done[0], len(todo), row), soft_wrap=True)
                lines.file.flush()

        def failed(k: int, reason: str) -> None:
            student, notebook, _ = jobs[todo[k]]
            row = results.submission_result(assignment, student, notebook, {}, grader_failed=True)
            finished(k, (row, [reason]))

        try:
            if client is None:
                pool.run("autograder.grading:grading_job", [(folder, *jobs[i], limits, devices, seed) for i in todo],
                         max(1, min(workers, len(todo))), watchdog, finished, failed,
                         # The zygote starts first thing in each worker, before it loads the assignment.
                         warm=("autograder.sandbox:prestart", sandbox_settings(limits, assignment, "cuda" in devices)))
            else:
                on_cluster(client, assignment, jobs, todo, limits, devices, seed, finished, failed,
                           lambda line: console.print(line, soft_wrap=True, markup=False, highlight=False))
        finally:
            journal.close()
    return cast("list[SubmissionResult]", rows)  # every job has its row now: kept, graded or failed


def on_cluster(client: Any, assignment: Assignment, jobs: "list[Job]", todo: "list[int]", limits: Limits,
               devices: "list[str]", seed: int, finished: "Callable[[int, tuple[SubmissionResult, list[str]]], None]",
               failed: "Callable[[int, str], None]", say: "Callable[[str], None]" = print) -> None:
    """The jobs `todo` as tasks of the cluster; a refused file runs no code, so its row is made here.
    say(line): what the cluster's run tells (a worker lost, a wait for one)."""
    from autograder import cluster

    folder = str(assignment.folder)
    sent = [k for k, i in enumerate(todo) if jobs[i][2] is None]
    for k, i in enumerate(todo):
        if jobs[i][2] is not None:
            finished(k, grading_job(folder, *jobs[i], limits, devices, seed))
    cluster.run(client, assignment, [jobs[todo[k]][:2] for k in sent], limits, devices, seed,
                lambda j, result: finished(sent[j], result), lambda j, reason: failed(sent[j], reason), say)
