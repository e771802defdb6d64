"""The floor: the same hidden tests on the same notebooks, in this one process, with no sandbox.

    python -m autograder.tools.floor NOTEBOOK... [--assignment DIR] [--seed N] [--json FILE]

What grading would cost if isolation were free: each notebook is read here
(no forked reader), the parts' cells run in a namespace of this process, each
part going on in the last one's as the grader's parts go on in one process
(no zygote, leader or part process, no pipe), and the hidden tests call the
student's functions directly, through the in-kernel path's KernelProcess. The
inputs are drawn from the same seed, and each part's random generators start
from the same per-part seed, as `python -m autograder grade --seed N` gives
them, so both grade alike. It is a measuring instrument, never a grader:
student code here can do anything to this process, and a notebook that hangs
hangs it (the benchmark leaves its hang out of the floor).
"""
import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from autograder import assignment as assignments
from autograder import results
from autograder.assignment import Assignment
from autograder.errors import StudentError
from autograder.inside import child
from autograder.kernel import KernelProcess
from autograder.limits import Limits
from autograder.notebook import load_submission, template
from autograder.runner import NoCell, Outcomes, one_thread, run_part
from autograder.session import part_seed


def grade_here(assignment: Assignment, notebook: Path,
               seed: int) -> "tuple[results.SubmissionResult, dict[str, float]]":
    """One notebook graded in this process; with where its time went (process CPU seconds)."""
    clock = time.process_time
    start = clock()
    sub = load_submission(assignment, notebook, isolated=False)
    parsed = clock()
    preamble = template(assignment).preamble
    other_seconds = Limits().call_timeout / 2
    outcomes: Outcomes = {}
    student = 0.0
    cwd = os.getcwd()
    # As the grader does (session.py): each part goes on in the last part's namespace, as a kernel goes on down
    # the notebook, when that ran whole the cells this part runs first; else it starts in a fresh one.
    ns: "dict[str, Any] | None" = None
    ran: "tuple[str, ...] | None" = None
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        try:
            for part in assignment.parts:
                cell = sub.cells.get(part.grade_id)
                process: Any = NoCell(part.grade_id, sub.refused.get(part.grade_id))
                if cell is not None and not sub.error:
                    began = clock()
                    own_seed = part_seed(seed, cell.source)
                    try:
                        if ns is not None and ran is not None and cell.before[:len(ran)] == ran:
                            whole = child.go_on(ns, own_seed, list(cell.before[len(ran):]), other_seconds)
                        else:
                            ns = {"__name__": "__main__"}
                            whole = child.setup(ns, preamble, None, own_seed, list(cell.before), other_seconds)
                        whole = child.answer(ns, cell.source, list(cell.after), other_seconds) and whole
                        ran = (*cell.before, cell.source, *cell.after) if whole else None
                        process = KernelProcess(ns)
                    except BaseException as exc:  # noqa: BLE001 -- the student's cell, whatever it raised
                        ns = ran = None
                        process = NoCell(part.grade_id, f"a célula falhou ao ser executada: {child.student_error(exc)}")
                    student += clock() - began
                outcomes.update(run_part(assignment, part.grade_id, process, ["cpu"], seed, [], sub.notes))
        finally:
            os.chdir(cwd)
    row = results.submission_result(assignment, notebook.stem, notebook, outcomes, sub.notes, error=sub.error)
    total = clock() - start
    return row, {"parse": parsed - start, "cells": student, "tests": total - (parsed - start) - student,
                 "total": total}


def main(argv: "list[str] | None" = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--assignment", help="<course>/solutions/<name> (default: the only one under .)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write {notebook: {part: score}, 'timing': ...} here")
    args = parser.parse_args(argv)
    assignment = assignments.load(args.assignment) if args.assignment else assignments.find()
    one_thread()  # as the grader's checks run, and each student process (OMP_NUM_THREADS=1)
    began = time.process_time()
    rows, timing = {}, []
    for notebook in args.notebooks:
        try:
            row, spent = grade_here(assignment, notebook.resolve(), args.seed)
        except StudentError as exc:  # (never expected: a notebook the floor cannot even read)
            raise SystemExit(f"{notebook}: {exc}") from None
        rows[str(notebook)] = {gid: part.score for gid, part in row.parts.items()}
        timing.append(spent)
    total = time.process_time() - began
    n = len(args.notebooks)
    mean = {key: sum(t[key] for t in timing) / n for key in ("parse", "cells", "tests", "total")}
    print(f"floor: {n} notebooks, {total:.2f} CPU s in all, {total / n:.3f} per notebook "
          f"(parse {mean['parse']:.3f}, student cells {mean['cells']:.3f}, tests {mean['tests']:.3f})")
    if args.json:
        args.json.write_text(json.dumps({"scores": rows, "cpu_seconds": total, "mean": mean}, indent=1))


if __name__ == "__main__":
    main()
