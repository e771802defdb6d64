"""Command line: grade a class of notebooks, and make its class report.

    python -m autograder grade PATH... [--assignment DIR] [--json FILE] [--csv FILE] [--html DIR] [--resume] ...
    python -m autograder report REPORT.json [--out DIR | --html DIR | ...] [--gradebook | --gradebook-db DB]
    python -m autograder gradescope [--out autograder.zip] [--assignment DIR]

PATH is a notebook, a flat folder of notebooks (the student is the file's
stem), or nbgrader's submitted/ folder (<student>/<assignment>/*.ipynb). Every
submission found gets a row. Each row is appended to FILE's journal
(report.jsonl beside report.json) the moment it is graded, so a grader killed
midway loses nothing: `--resume` grades only what the journal lacks.

Exit status: ExitCode, below, the one table of them for every subcommand.
"""
import argparse
import json
import os
import sys
from datetime import datetime, timezone
from enum import IntEnum
from pathlib import Path
from typing import Any, NoReturn

from rich.console import Console
from rich.text import Text

from autograder import assignment as assignments
from autograder import backends, grading, render, results
from autograder import limits as limit_options
from autograder.course import find_submissions
from autograder.errors import PathError
from autograder.limits import limits_report, remove_stale_cgroups
from autograder.runner import devices as device_list
from autograder.writers import WRITERS


class ExitCode(IntEnum):
    """The exit status of every subcommand (grade, report, gradescope): the one table of them."""

    OK = 0  # every submission graded, whatever the students scored (report, gradescope: written)
    # (1 is Python's own, for a crash of the command itself: a traceback on stderr)
    USAGE = 2  # a wrong option or value, before any grading (argparse's own code)
    REVIEW = 3  # all graded, but the grader itself failed on some: their rows need review
    MISSING_PATH = 4  # a PATH (or REPORT.json) that does not exist or cannot be read, before any grading
    GRADEBOOK = 5  # the gradebook is not one nbgrader can use, or some submission could not be recorded in it
    INTERRUPTED = 130  # Ctrl-C: the rows graded so far are in the journal (--resume)


def fail(parser: argparse.ArgumentParser, code: ExitCode, message: str) -> NoReturn:
    """Stop with `code`, saying why on stderr as argparse does for a usage error."""
    parser.exit(code, f"{parser.prog}: error: {message}\n")


def grade(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    console = Console(stderr=True)
    gradebook = gradebook_option(args, parser, args.paths)
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
    skipped: "list[Path]" = []
    try:
        jobs = find_submissions(args.paths, assignment.name, skipped)
    except PathError as exc:
        fail(parser, ExitCode.MISSING_PATH, str(exc))
    if skipped:
        console.print(render.plain(render.skipped_note(skipped)), soft_wrap=True)
    if not jobs:
        fail(parser, ExitCode.MISSING_PATH, f"no notebooks found under {', '.join(map(str, args.paths))}")
    limits = limit_options.from_options(lambda dest: getattr(args, dest))
    if client is not None:
        where, limits_used = cluster.facts(client, limits, "cuda" in devices)
    else:
        where, limits_used = backends.current().name, limits_report(limits, "cuda" in devices)
    if not backends.named(where).isolates_host:
        console.print(Text.assemble(("WARNING: ", "bold red"), backends.named(where).describe()))
    if gradebook:
        from autograder.errors import GradebookError
        from autograder.gradebook import check_gradebook, default_gradebook

        gradebook = default_gradebook(assignment) if gradebook is True else gradebook
        try:  # before grading: a wrong gradebook should cost seconds, not the class's grading time
            check_gradebook(gradebook, assignment)
        except GradebookError as exc:
            fail(parser, ExitCode.GRADEBOOK, str(exc))
    out = Console()
    try:  # piped to a log, a line per graded submission as it is graded (a terminal has the progress bar)
        rows = grading.grade_all(assignment, jobs, args.json, args.resume, limits, devices, args.seed, args.workers,
                                 console, client, lines=None if out.is_terminal else out)
    except KeyboardInterrupt:
        console.print(f"interrupted: the rows graded so far are in {args.json.with_suffix('.jsonl')}; "
                      "run the same command with --resume to grade the rest")
        return ExitCode.INTERRUPTED
    finally:
        if client is not None:
            client.close()
    remove_stale_cgroups()  # any left by a worker that was killed
    seen = {code for row in rows for code in render.diagnoses(row)}
    report = results.Report(assignment.name, where, limits_used, rows,
                            devices=devices, graded_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                            mistakes={code: text for code, text in assignment.mistakes.items() if code in seen})
    render.table(report, out, assignment.mistakes)
    write_formats(report, args, console)
    if gradebook:
        from autograder.errors import GradebookError
        from autograder.gradebook import record

        try:
            count, failures = record(report, assignment, gradebook)
        except GradebookError as exc:
            console.print(Text.assemble(("error: ", "bold red"), render.plain(str(exc))))
            return ExitCode.GRADEBOOK
        for failure in failures:
            console.print(Text.assemble(("nbgrader could not record ", "bold red"), render.plain(failure)))
        console.print(f"recorded {count} submissions in {gradebook} and their graded notebooks in "
                      f"{assignment.course / 'autograded'}")
        from autograder.gradebook import manual_grading_note

        console.print(render.plain(manual_grading_note(gradebook, assignment)))
        if args.html:  # again, now with what the gradebook adds: the cells graded by hand, the full totals
            try:
                WRITERS["html"].write(report, args.html, gradebook=gradebook)
            except GradebookError as exc:
                console.print(Text.assemble(("error: ", "bold red"), render.plain(str(exc))))
                return ExitCode.GRADEBOOK
        if failures:
            return ExitCode.GRADEBOOK
    return ExitCode.REVIEW if report.needs_review else ExitCode.OK


def gradebook_option(args: argparse.Namespace, parser: argparse.ArgumentParser, given: "list[Path]",
                     metavar: str = "PATH") -> "Path | bool":
    """The gradebook asked for: False (none), True (the course's) or a file; and `given`, the command's
    positional arguments (grade's PATHs, report's REPORT.json), completed.

    `--gradebook` is a flag. What argparse hands it as a value is one of the positional arguments
    (`grade --gradebook submitted`) unless it ends in .db and is no folder: then it is the gradebook, as
    `--gradebook DB` always was (`--gradebook-db DB` says so without a doubt)."""
    value, db = args.gradebook, args.gradebook_db
    gradebook: "Path | bool" = value is not None or db is not None
    if isinstance(value, str):
        if value.endswith(".db") and not Path(value).is_dir():
            gradebook = Path(value)
        else:
            given.insert(0, Path(value))
    if db is not None:
        if isinstance(gradebook, Path) and gradebook != db:
            parser.error(f"--gradebook {gradebook} and --gradebook-db {db}: two gradebooks; give one")
        gradebook = db
    if not given:
        parser.error(f"the following arguments are required: {metavar}")
    return gradebook


def add_gradebook_options(cmd: argparse.ArgumentParser, what: str, after: str) -> None:
    """--gradebook (a flag: see gradebook_option) and --gradebook-db DB; `what` they do, `after` what a value
    after --gradebook is."""
    cmd.add_argument("--gradebook", nargs="?", const=True, metavar=after,
                     help=f"{what} (default: none); a value after it is the {after}, unless it ends in .db and is "
                          "no folder: then it is the gradebook, as with --gradebook-db")
    cmd.add_argument("--gradebook-db", type=Path, metavar="DB",
                     help="this gradebook instead of the course's (implies --gradebook; default: none)")


def main(argv: "list[str] | None" = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description="Grade nbgrader notebooks in a sandbox.")
    commands = parser.add_subparsers(dest="command", required=True)
    cmd = commands.add_parser("grade", help="grade notebooks and print a score table",
                              description="Grade students' notebooks in a sandbox and print a score table.")
    cmd.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                     help="a notebook, a folder of notebooks (<student>.ipynb), or nbgrader's submitted/ folder "
                          "(<student>/<assignment>/*.ipynb)")
    cmd.add_argument("--assignment", type=Path, metavar="DIR",
                     help="the assignment's folder, <course>/solutions/<name> (default: the only one under .)")
    cmd.add_argument("--json", type=Path, default=Path("report.json"), metavar="FILE",
                     help="the full report (default: %(default)s); rows are journaled to its .jsonl as they finish")
    cmd.add_argument("--resume", action="store_true",
                     help="keep the rows the journal already has; grade the rest (default: grade everything)")
    add_gradebook_options(cmd, "also record the results as `nbgrader autograde` would: scores and timestamps in "
                               "the course's gradebook (from its nbgrader_config.py), graded notebooks in "
                               "autograded/", "PATH")
    add_format_options(cmd, skip=("json",))
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
    cmd = commands.add_parser("report", help="write a graded report.json in other formats (default: the class report)",
                              description="Write the report of a grading run in any format; with none asked for, the "
                                          "class report: one page (index.html) with its figures inline, and the same "
                                          "figures as PNG.")
    cmd.add_argument("report", nargs="?", type=Path, metavar="REPORT.json", help="what `grade --json` wrote")
    cmd.add_argument("--out", type=Path, metavar="DIR",
                     help="the class report's folder when no format is asked for (default: a folder named after the "
                          "report, e.g. report/ for report.json)")
    add_gradebook_options(cmd, "add to the class report the scores graded by hand in nbgrader's formgrader and "
                               "each student's full total, read from the course's gradebook (from the "
                               "nbgrader_config.py of the course under the current folder)", "REPORT.json")
    cmd.add_argument("--similarity", type=Path, metavar="PATH",
                     help="add to the class report the pairs of students whose answers are unusually alike, read "
                          "from the submissions under PATH (as the similarity command does; default: none)")
    add_format_options(cmd, skip=("json",))
    cmd = commands.add_parser("gradescope", help="build a Gradescope autograder zip for the assignment",
                              description="Build the zip to upload as a Gradescope programming assignment's "
                                          "autograder: it grades each submission with this grader, in its sandbox.")
    cmd.add_argument("--out", type=Path, default=Path("autograder.zip"), metavar="FILE",
                     help="the zip to write (default: %(default)s)")
    cmd.add_argument("--assignment", type=Path, metavar="DIR",
                     help="the assignment's folder, <course>/solutions/<name> (default: the only one under .)")
    cmd = commands.add_parser("similarity", help="list the pairs of students whose answers are unusually alike",
                              description="Compare every pair of students' answer cells (copydetect's winnowing; the "
                                          "release's code and what many students wrote do not count) and write a page "
                                          "of the pairs that stand out from the class, side by side. A reason to look, "
                                          "never a verdict: no score changes.")
    cmd.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="as for grade")
    cmd.add_argument("--assignment", type=Path, metavar="DIR",
                     help="the assignment's folder, <course>/solutions/<name> (default: the only one under .)")
    cmd.add_argument("--out", type=Path, default=Path("similarity"), metavar="DIR",
                     help="the page's folder (default: %(default)s)")
    args = parser.parse_args(argv)
    command = commands.choices[args.command]  # (its own prog, for its error messages)
    if args.command == "gradescope":
        return gradescope_bundle(args, command)
    if args.command == "similarity":
        return similarity(args, command)
    return grade(args, command) if args.command == "grade" else class_report(args, command)


def gradescope_bundle(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """`python -m autograder gradescope`: the autograder zip for Gradescope."""
    from autograder import gradescope

    try:
        assignment = assignments.load(args.assignment) if args.assignment else assignments.find()
    except (LookupError, FileNotFoundError) as exc:
        parser.error(str(exc))
    Console().print(f"wrote {gradescope.build(assignment, args.out)}: upload it as the autograder of a Gradescope "
                    "programming assignment")
    return ExitCode.OK


def similarity(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """`python -m autograder similarity`: the page of the pairs whose answers are unusually alike."""
    from autograder import similarity as alike

    try:
        assignment = assignments.load(args.assignment) if args.assignment else assignments.find()
    except (LookupError, FileNotFoundError) as exc:
        parser.error(str(exc))
    try:
        sim = alike.run(assignment, args.paths)
    except PathError as exc:
        fail(parser, ExitCode.MISSING_PATH, str(exc))
    page = alike.write_page(sim, assignment.name, args.out)
    shown = alike.stats(sim)
    Console().print(render.plain(
        f"{len(sim.students)} students, {len(sim.scores)} pairs: median share in common {shown['median']:.2f}, "
        f"{sim.over} pair(s) stand out (from {sim.bar:.2f}); a reason to look, not evidence: {page}"))
    return ExitCode.OK


def add_format_options(cmd: argparse.ArgumentParser, skip: "tuple[str, ...]" = ()) -> None:
    """A flag per writer of writers.WRITERS: --csv FILE, --html DIR, ..."""
    for writer in WRITERS.values():
        if writer.name not in skip:
            cmd.add_argument(f"--{writer.name}", type=Path, metavar=writer.metavar,
                             help=f"also write {writer.help} (default: none)")


def write_formats(report: results.Report, args: argparse.Namespace, console: Console,
                  gradebook: "Path | None" = None, similarity: Any = None) -> None:
    """Every format the options ask for (json included, when the command has it); those that read nbgrader's
    gradebook are given `gradebook`, and the class report the `similarity` section when there is one."""
    for writer in WRITERS.values():
        path = getattr(args, writer.name, None)
        if path is not None:
            extra: "dict[str, Any]" = {"gradebook": gradebook} if writer.reads_gradebook and gradebook else {}
            if writer.name == "html" and similarity is not None:
                extra["similarity"] = similarity
            writer.write(report, path, **extra)
            if writer.name != "json":
                console.print(render.plain(f"{writer.name}: {path}"))


def class_report(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """`python -m autograder report`: a report already written, in other formats (the class report by default)."""
    given = [args.report] if args.report else []
    gradebook = gradebook_option(args, parser, given, "REPORT.json")
    if len(given) > 1:
        parser.error(f"one REPORT.json, not {len(given)}: {', '.join(map(str, given))}")
    args.report = given[0]
    try:
        data = json.loads(args.report.read_text(encoding="utf-8"))
        report = results.Report.from_dict(data)
    except OSError as exc:
        fail(parser, ExitCode.MISSING_PATH, f"{args.report}: cannot be read ({exc.strerror})")
    except (ValueError, KeyError, TypeError) as exc:
        parser.error(f"{args.report}: not a report written by `python -m autograder grade --json` ({exc})")
    if not any(getattr(args, name, None) for name in WRITERS):
        args.html = args.out or args.report.with_suffix("")
    if gradebook is True:
        from autograder.gradebook import default_gradebook

        try:
            gradebook = default_gradebook(assignments.find())
        except (LookupError, FileNotFoundError) as exc:
            parser.error(f"--gradebook: {exc}; or name the gradebook: --gradebook DB or --gradebook-db DB")
    if gradebook and not args.html:
        parser.error("--gradebook adds to the class report: ask for it too (--html DIR, or no format at all)")
    similar = None
    if args.similarity is not None:
        if not args.html:
            parser.error("--similarity adds to the class report: ask for it too (--html DIR, or no format at all)")
        from autograder import similarity as alike

        try:  # the report's own assignment, in the course under the current folder
            named = Path("solutions") / report.assignment
            similar = alike.run(assignments.load(named) if (named / "assignment.py").is_file() else assignments.find(),
                                [args.similarity])
        except (LookupError, FileNotFoundError) as exc:
            parser.error(f"--similarity: {exc}")
        except PathError as exc:
            fail(parser, ExitCode.MISSING_PATH, str(exc))
    from autograder.errors import GradebookError

    try:
        write_formats(report, args, Console(), gradebook or None, similar)
    except GradebookError as exc:
        fail(parser, ExitCode.GRADEBOOK, str(exc))
    except ValueError as exc:
        parser.error(str(exc))
    if args.html:
        Console().print(f"class report: {Path(args.html) / 'index.html'} (figures as PNG and report.csv beside it)")
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
