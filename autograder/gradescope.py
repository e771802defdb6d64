"""Gradescope: the autograder bundle, and what it runs there.

    python -m autograder gradescope --out autograder.zip [--assignment DIR]

The zip holds Gradescope's two scripts at its root and what they need:
`setup.sh` (run once, as root, when Gradescope builds the image: bubblewrap,
the student's user, a venv with the pinned CPU torch and this package where
that user may read them, and the course where it may not), `run_autograder`
(run per submission), `package/` (this package, to install) and `course/`
(the assignment: its source notebook and solutions/ folder).

Per submission, `run_autograder` runs the harness (`python -m
autograder.gradescope --harness <root>`), which alone writes
<root>/results/results.json: it removes any file there, runs the grader as a
child (`python -m autograder.gradescope <root> --results FILE`: the same
runner and sandbox as the command line, writing into a folder only root may
write), then, whatever became of the grader, ends every process the run left
(it is their subreaper: an orphan zygote, what student code started; and
every process of the student's user) and moves into place the grader's
results or, when grading did not finish (a crash, a kill, its time limit), a
grader failure for the instructor to review, never a student's zero. Should
even the harness not run, `run_autograder` writes that failure itself.

Where bubblewrap cannot run inside Gradescope's container, student code runs
as the unprivileged user (backends/unprivileged.py) when the grader is root
and the user exists, else as the grader's own user (backends/process.py); the
output says which isolation graded.

<root> is /autograder; AUTOGRADER_GRADESCOPE_ROOT moves it (the tests' fake
root), AUTOGRADER_PYTHON names the interpreter run_autograder uses,
AUTOGRADER_STUDENT_USER the student's user (autograder-student) and
AUTOGRADER_GRADER_TIMEOUT the seconds the grader may take (540).

The harness imports only the standard library and autograder.backends: it
must still work when the grader cannot.
"""
import argparse
import ctypes
import io
import json
import os
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autograder.assignment import Assignment

TORCH_VERSION = "2.13.0"  # the same pin as the Makefile's: the CPU wheel
PACKAGE = Path(__file__).resolve().parent
VENV = "/opt/autograder/venv"  # every user may read it: student code imports NumPy and PyTorch from it
GRADER_TIMEOUT = 540.0  # seconds: under Gradescope's default of 10 minutes, so that the failure is still ours
# What a student reads when the grader did not finish (the same words as results.GRADER_FAILED).
GRADER_FAILED = "O corretor falhou ao corrigir esta entrega (não é um erro do seu código); o professor vai revisar."
PR_SET_CHILD_SUBREAPER = 36


def failure(why: str, seconds: float = 0.0) -> "dict[str, Any]":
    """Gradescope's results.json for a run whose grading did not finish: flagged for review, said as such."""
    return {"score": 0.0, "execution_time": round(seconds, 1), "output": GRADER_FAILED, "output_format": "text",
            "visibility": "visible", "stdout_visibility": "hidden",
            "extra_data": {"needs_review": True, "grader_failed": why}, "tests": []}


SETUP = f"""#!/bin/bash
# Gradescope runs this once, as root, when it builds the autograder's image.
set -euo pipefail
apt-get update
apt-get install -y --no-install-recommends python3 python3-venv python3-pip bubblewrap
# Where bubblewrap cannot run (no user namespaces in the container), student code runs as this user:
# it may read the venv below, and nothing of the course (/autograder/source is root's alone).
id -u autograder-student >/dev/null 2>&1 || \\
    useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin autograder-student
chown root:root /autograder/source
chmod 700 /autograder/source
install -d -m 755 /opt/autograder
python3 -m venv {VENV}
{VENV}/bin/pip install --upgrade pip
# Pinned and first, from PyTorch's CPU index: an unpinned torch pulls a multi-GB CUDA build.
{VENV}/bin/pip install torch=={TORCH_VERSION} --index-url https://download.pytorch.org/whl/cpu
{VENV}/bin/pip install /autograder/source/package
chmod -R go+rX,go-w /opt/autograder
"""

HARNESS_FAILED = shlex.quote(json.dumps(failure("the harness did not finish")))  # for a shell: printf '%s' ...

RUN = f"""#!/bin/bash
# Gradescope runs this for every submission, as root. The harness (autograder/gradescope.py) grades in a
# child process and always leaves a results.json of its own in $ROOT/results: the grader's, or a grader failure.
ROOT="${{AUTOGRADER_GRADESCOPE_ROOT:-/autograder}}"
cd "$ROOT/source" && "${{AUTOGRADER_PYTHON:-{VENV}/bin/python}}" -m autograder.gradescope --harness "$ROOT" && exit 0
# The harness itself could not run: a grader failure all the same, never a file a student left.
printf '%s\\n' {HARNESS_FAILED} > "$ROOT/results/results.json"
"""


def _add(archive: zipfile.ZipFile, name: str, data: "str | bytes", executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.external_attr = ((0o755 if executable else 0o644) | stat.S_IFREG) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def build(assignment: "Assignment", out: "str | Path") -> Path:
    """Write Gradescope's autograder zip for `assignment` to `out`."""
    from autograder import cluster

    out = Path(out)
    with zipfile.ZipFile(out, "w") as archive:
        _add(archive, "setup.sh", SETUP, executable=True)
        _add(archive, "run_autograder", RUN, executable=True)
        for path in sorted(PACKAGE.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                _add(archive, f"package/autograder/{path.relative_to(PACKAGE).as_posix()}", path.read_bytes())
        for name in ("pyproject.toml", "README.md"):  # what `pip install package/` builds from
            _add(archive, f"package/{name}", (PACKAGE.parent / name).read_bytes())
        with zipfile.ZipFile(io.BytesIO(cluster.pack_assignment(assignment))) as course:
            for name in course.namelist():
                _add(archive, f"course/{name}", course.read(name))
    return out


def submitted_folder(submission: Path) -> Path:
    """Where the student's notebooks are: the submission, or the first folder below it that holds one
    (a zip uploaded with a folder inside), looking at most 3 levels down and never through a link."""
    level = [submission]
    for _ in range(4):
        for folder in level:
            if any(e.name.endswith(".ipynb") for e in os.scandir(folder)):
                return folder
        level = sorted(Path(e.path) for folder in level for e in os.scandir(folder)
                       if e.is_dir(follow_symlinks=False))[:100]
    return submission


def grade(root: "str | Path", out: "str | Path | None" = None) -> "dict[str, Any]":
    """Grade <root>/submission/ and write its results to `out` (default <root>/results/results.json); return
    what was written."""
    from autograder import assignment as assignments
    from autograder import backends, writers
    from autograder.course import released_frames
    from autograder.limits import Limits
    from autograder.notebook import template
    from autograder.runner import devices, grade_submission, new_seed

    root = Path(root)
    start = time.monotonic()
    course = root / "source" / "course"
    assignment = assignments.find(course)
    where = backends.current().name
    if not backends.current().isolates_host:
        print(f"autograder: {backends.current().describe()}", flush=True)  # for the instructor, as the CLI warns
        # Without the sandbox the student's code can read what any user may (all the grader's user may,
        # under the process backend): the hidden tests and the reference are loaded now, and their files
        # removed, so that no submission can read them (the container is Gradescope's, made anew every run).
        # (released_frames: what the release holds, to tell which of several notebooks holds an answer)
        assignment.tests, template(assignment), released_frames(assignment)  # noqa: B018 -- loaded for their effect
        shutil.rmtree(course)
    on = devices("auto")
    row, logs = grade_submission(assignment, "submission", submitted_folder(root / "submission"), None, Limits(),
                                 on, new_seed())
    row.moved(f"{root}/", "")  # paths as the student knows them: submission/...
    results = writers.gradescope(row, where, time.monotonic() - start)
    if logs:  # the grader's own failure: for the instructor (Gradescope keeps stdout from students)
        print("\n".join(logs))
    out = Path(out) if out else root / "results" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8", errors="backslashreplace")
    return results


# -- the harness: run_autograder's, as root ---------------------------------------------------------------


class Stopped(Exception):
    """The harness was told to stop (SIGTERM, SIGINT)."""


def _stop(signum: int, _frame: object) -> None:
    raise Stopped(f"stopped by {signal.Signals(signum).name}")


def lock_down(root: Path) -> None:
    """As root: the results folder root's alone to write, the course and the submission's metadata root's
    alone to read, the root and the submission folder no one else's to write (so none can be swapped)."""
    results = root / "results"
    results.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return
    places = ((root, None), (root / "submission", None), (results, 0o755), (root / "source", 0o700),
              (root / "submission_metadata.json", 0o600))
    for path, mode in places:
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(info.st_mode):
            continue
        os.chown(path, 0, 0, follow_symlinks=False)
        os.chmod(path, mode if mode is not None else stat.S_IMODE(info.st_mode) & ~0o022)


def discard(path: Path) -> None:
    """Remove whatever is at `path` (a file, a link, a folder), never following a link."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        pass


def become_subreaper() -> None:
    """Orphans of this process's descendants (a zygote whose grader died) become its children."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, ctypes.c_ulong(1), 0, 0, 0)


def descendants(pid: int) -> "set[int]":
    """Every live process below `pid` (Linux's /proc)."""
    parent_of: "dict[int, int]" = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if fields and fields[0] not in ("Z", "X"):
                parent_of[int(entry)] = int(fields[1])
    found: "set[int]" = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parent_of.items() if parent in frontier} - found
        found |= frontier
    return found


def reap() -> None:
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return


def end_the_run() -> "list[int]":
    """Kill every process the run left: those of the student's user, then every descendant of this one (the
    grader's zygote and leaders, reparented here if the grader died); remove the user's files from the
    shared temp folders. Returns what still runs (nothing, unless the kernel refused)."""
    from autograder.backends import unprivileged

    found = unprivileged.account() if os.geteuid() == 0 else None
    ended: "set[int]" = set()
    for _ in range(200):
        left = descendants(os.getpid()) | (set(unprivileged.processes_of(found[0])) if found else set())
        if not left:
            break
        ended |= left
        if found:
            unprivileged.end_processes(*found)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        reap()
        time.sleep(0.01)
    if found:
        unprivileged.remove_files(found[0])
    reap()
    if ended:
        print(f"autograder: ended {len(ended)} processes the run left", flush=True)
    return sorted(descendants(os.getpid()) | (set(unprivileged.processes_of(found[0])) if found else set()))


def read_results(path: Path) -> "dict[str, Any] | None":
    """The grader's results.json, if it is one (a grader killed while writing leaves half of one)."""
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(results, dict) or not isinstance(results.get("score"), (int, float)):
        return None
    return results


def exit_words(code: int) -> str:
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        return f"the grader was killed by {name}"
    return f"the grader exited with status {code}"


def harness(root: "str | Path") -> int:
    """run_autograder's work: grade <root>/submission/ in a child, end every process the run left, and leave
    <root>/results/results.json: the grader's, or a grader failure. 0 once that file is in place."""
    root = Path(root)
    start = time.monotonic()
    lock_down(root)
    final = root / "results" / "results.json"
    discard(final)  # whatever was there, nobody reads it: the one Gradescope reads is written below
    private = Path(tempfile.mkdtemp(prefix=".grading-", dir=final.parent))  # root's alone; a rename from it is atomic
    spare = private / "failure.json"  # written before any student code runs: a full disk cannot stop it later
    spare.write_text(json.dumps(failure("the grader did not finish")), encoding="utf-8")
    out = private / "results.json"
    temp = tempfile.mkdtemp(prefix="autograder-run-")  # the grader's temp folder, gone with the run
    os.chmod(temp, 0o711)  # the student's user passes through it to its home, and lists nothing
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _stop)
    become_subreaper()
    why = ""
    left: "list[int]" = []
    try:
        try:
            grader = subprocess.Popen([sys.executable, "-m", "autograder.gradescope", str(root), "--results", str(out)],
                                      cwd=root / "source", stdin=subprocess.DEVNULL, env=dict(os.environ, TMPDIR=temp))
            timeout = float(os.environ.get("AUTOGRADER_GRADER_TIMEOUT") or GRADER_TIMEOUT)
            try:
                code = grader.wait(timeout)
                why = exit_words(code) if code else ""
            except subprocess.TimeoutExpired:
                why = f"the grader did not finish in {timeout:g} s"
            except Stopped as exc:
                why = f"the harness was {exc}"
            finally:
                for signum in (signal.SIGTERM, signal.SIGINT):  # from here on, the harness ends its work
                    signal.signal(signum, signal.SIG_IGN)
            if grader.poll() is None:
                grader.kill()
                grader.wait()
        except Exception as exc:  # the grader could not start: still our failure, in the file
            why = f"the harness failed: {exc!r}"
        finally:
            try:
                left = end_the_run()
            except Exception as exc:  # (never seen) the results are still ours to write
                why, left = why or f"the harness could not end the run: {exc!r}", [-1]
            shutil.rmtree(temp, ignore_errors=True)
        if left:
            print(f"autograder: processes still running after the run: {left}", flush=True)
        results = None if why else read_results(out)
        if results is None:
            why = why or "the grader wrote no results"
            print(f"autograder: {why}; results.json says the grader failed (extra_data.needs_review)", flush=True)
            try:
                out.write_text(json.dumps(failure(why, time.monotonic() - start)), encoding="utf-8")
            except OSError:
                out = spare
        os.replace(out, final)
    finally:
        shutil.rmtree(private, ignore_errors=True)
    return 0


def main(argv: "list[str] | None" = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.gradescope",
                                     description="grade <root>/submission/ as Gradescope's run_autograder does")
    parser.add_argument("root", nargs="?", default=os.environ.get("AUTOGRADER_GRADESCOPE_ROOT", "/autograder"))
    parser.add_argument("--harness", action="store_true",
                        help="run the grader in a child and always leave a results.json of its own (run_autograder)")
    parser.add_argument("--results", type=Path, help="where the grader writes results.json (the harness's file)")
    args = parser.parse_args(argv)
    if args.harness:
        return harness(args.root)
    grade(args.root, args.results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
