"""Run an assignment's release, filled with a corpus case (the reference by default), top to bottom, and time it.

    python -m autograder.tools.notebook_time [--assignment DIR] [--case NAME]

What a student's "Restart and Run All" costs: nbclient executes every cell in
a fresh kernel, and the time each cell took (kernel-side, from its execution
timestamps) is printed for the slowest cells, with the total. Exit 1 when a
cell raised.
"""
import argparse
import sys
from datetime import datetime

from nbclient import NotebookClient
from nbformat import NotebookNode

from autograder import assignment as assignments
from autograder.tools.examples import Corpus


def cell_seconds(cell: NotebookNode) -> float:
    """Seconds the kernel spent on one executed cell (nbclient's record_timing)."""
    stamps = cell.metadata.get("execution", {})
    if "iopub.execute_input" not in stamps or "shell.execute_reply" not in stamps:
        return 0.0
    start, end = (datetime.fromisoformat(stamps[k].replace("Z", "+00:00"))
                  for k in ("iopub.execute_input", "shell.execute_reply"))
    return (end - start).total_seconds()


def main(argv: "list[str] | None" = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", help="<course>/solutions/<name> (default: the only one under .)")
    parser.add_argument("--case", default="correct_reference", help="the corpus case to run (default: %(default)s)")
    args = parser.parse_args(argv)
    assignment = assignments.load(args.assignment) if args.assignment else assignments.find()
    nb = Corpus(assignment).notebook(args.case)
    NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True, record_timing=True).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    times = sorted(((cell_seconds(c), c.metadata.get("nbgrader", {}).get("grade_id", "?")) for c in code),
                   reverse=True)
    for seconds, grade_id in times[:8]:
        print(f"{seconds:7.2f} s  {grade_id}")
    print(f"{sum(s for s, _ in times):7.2f} s  cell time, {len(code)} code cells ({args.case})")
    raised = [c.metadata.get("nbgrader", {}).get("grade_id", "?") for c in code
              if any(o.output_type == "error" for o in c.outputs)]
    if raised:
        print(f"cells that raised: {', '.join(raised)}", file=sys.stderr)
    return 1 if raised else 0


if __name__ == "__main__":
    sys.exit(main())
