"""`make gpu-check`: on a machine with CUDA, check the grader on the GPU in a few minutes; elsewhere, say so.

With CUDA, it grades each assignment's example submissions (solutions/<name>/examples/submitted) twice, in
the sandbox as `make grade` does, with `--device cpu` and with `--device cuda` (same seed), names every score
that differs, and runs the project's CUDA tests (the `cuda` case of the `device` fixture, and the
tests named for CUDA: `pytest -k cuda`).
It prints one summary and exits 1 when something failed. Without CUDA it says so and exits 0.

    python -m autograder.tools.gpu_check [--budget SECONDS]
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SEED = 20261206  # the same hidden inputs on both devices
BUDGET_SECONDS = 280  # the whole check: `make gpu-check` stays under 5 minutes


@dataclass
class Graded:
    """One assignment's examples, graded on the CPU and with CUDA: {student: score} each, or why not."""

    name: str
    cpu: "dict[str, float]" = field(default_factory=dict)
    cuda: "dict[str, float]" = field(default_factory=dict)
    isolation: str = ""
    failure: str = ""  # why a run gave no report (its exit status, a timeout)


@dataclass
class CudaTests:
    """The CUDA tests' outcome, from pytest's JUnit XML; `failure` when pytest gave none."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failure: str = ""


def cuda_devices() -> "list[str]":
    """The name of every CUDA device torch sees here (none without CUDA, or with a CPU-only torch)."""
    import torch

    if not torch.cuda.is_available():
        return []
    return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]


def torch_build(version: str, cuda: "str | None") -> str:
    """torch's version, and its CUDA (a CPU-only build sees no GPU, even on a machine that has one)."""
    return f"{version}, CUDA {cuda}" if cuda else f"{version}, a build without CUDA"


def summary(devices: "list[str]", torch_version: str, graded: "list[Graded]",
            tests: "CudaTests | None") -> "tuple[list[str], bool]":
    """(the lines to print, whether everything passed)."""
    if not devices:
        return [f"gpu-check: no CUDA device on this machine (torch {torch_version}): nothing to check"], True
    names = ", ".join(sorted(set(devices)))
    lines, ok = [f"gpu-check: {len(devices)} CUDA device(s): {names}; torch {torch_version}"], True
    for run in graded:
        if run.failure:
            lines.append(f"  {run.name}: examples not graded: {run.failure}")
            ok = False
            continue
        differ = [f"{s} {run.cpu.get(s)} (cpu) vs {run.cuda.get(s)} (cuda)"
                  for s in sorted(run.cpu.keys() | run.cuda.keys()) if run.cpu.get(s) != run.cuda.get(s)]
        lines.append(f"  {run.name}: {len(run.cuda)} examples graded with --device cuda (isolation: {run.isolation}); "
                     + (f"{len(differ)} score(s) differ from --device cpu: {'; '.join(differ)}" if differ
                        else "every score as with --device cpu"))
        ok = ok and not differ
    if tests is None or tests.failure:
        lines.append(f"  CUDA tests: not run: {tests.failure if tests else 'no time left'}")
        ok = False
    else:
        lines.append(f"  CUDA tests: {tests.passed} passed, {tests.failed} failed, {tests.skipped} skipped")
        ok = ok and tests.failed == 0 and tests.passed > 0
    lines.append("gpu-check: OK" if ok else "gpu-check: FAILED")
    return lines, ok


def grade_examples(assignment: Path, folder: Path, deadline: float) -> Graded:
    """The examples of `assignment` graded with --device cpu, then cuda (the sandbox as `make grade` runs it)."""
    run = Graded(assignment.name)
    for device in ("cpu", "cuda"):
        out = folder / f"{assignment.name}-{device}.json"
        command = [sys.executable, "-m", "autograder", "grade", str(assignment / "examples" / "submitted"),
                   "--assignment", str(assignment), "--device", device, "--seed", str(SEED), "--call-timeout", "5",
                   "--json", str(out)]
        try:
            proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True,
                                  timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            run.failure = f"--device {device} ran out of time"
            return run
        if proc.returncode not in (0, 3) or not out.is_file():
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            run.failure = f"--device {device} exited {proc.returncode}: {tail}"
            return run
        report = json.loads(out.read_text())
        review = [row["student"] for row in report["submissions"] if row["needs_review"]]
        if review:  # (exit status 3)
            run.failure = f"--device {device}: the grader failed on {', '.join(review)}"
            return run
        getattr(run, device).update({row["student"]: row["score"] for row in report["submissions"]})
        run.isolation = report["isolation"]
    return run


def cuda_tests(folder: Path, deadline: float) -> CudaTests:
    """`pytest tests -k cuda` (the `cuda` case of the device fixture, and the tests about CUDA; not this
    tool's own), counted from its JUnit XML."""
    xml = folder / "cuda-tests.xml"
    command = [sys.executable, "-m", "pytest", "tests", "-k", "cuda and not gpu_check", "-q", "-p", "no:cacheprovider",
               f"--junitxml={xml}"]
    try:
        proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True,
                              timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        return CudaTests(failure="ran out of time")
    if not xml.is_file():
        return CudaTests(failure=f"pytest exited {proc.returncode} without a report")
    return counted(xml)


def counted(xml: Path) -> CudaTests:
    """The outcome that pytest's JUnit XML at `xml` tells."""
    suites = list(ET.parse(xml).getroot().iter("testsuite"))
    total, failures, errors, skipped = (sum(int(s.get(key, 0)) for s in suites)
                                        for key in ("tests", "failures", "errors", "skipped"))
    return CudaTests(passed=total - failures - errors - skipped, failed=failures + errors, skipped=skipped)


def main(argv: "list[str] | None" = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=BUDGET_SECONDS,
                        help="seconds for the whole check (default: %(default)s)")
    args = parser.parse_args(argv)
    import torch

    devices = cuda_devices()
    graded: "list[Graded]" = []
    tests = None
    if devices:
        deadline = time.monotonic() + args.budget
        with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
            for assignment in sorted(p.parent for p in (REPO / "solutions").glob("*/assignment.py")):
                if (assignment / "examples" / "submitted").is_dir():
                    graded.append(grade_examples(assignment, Path(tmp), deadline))
            tests = cuda_tests(Path(tmp), deadline)
    lines, ok = summary(devices, torch_build(torch.__version__, torch.version.cuda), graded, tests)
    print("\n".join(lines), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
