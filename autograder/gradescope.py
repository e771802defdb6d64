"""Gradescope: the autograder bundle, and what it runs there.

    python -m autograder gradescope --out autograder.zip [--assignment DIR]

The zip holds Gradescope's two scripts at its root and what they need:
`setup.sh` (run once, as root, when Gradescope builds the image: it stops
if python3 is older than the pins need; then bubblewrap, the student's user,
a venv with the pinned packages and this package where that user may read
them, and the course where it may not), `run_autograder`
(run per submission), `package/` (this package, to install) and `course/`
(the assignment: its source notebook and solutions/ folder), `requirements.txt`
(what grading imports, with every package it needs, pinned to the versions of
the environment that built the zip: setup.sh installs exactly these, with
--no-deps, so Gradescope grades with the same packages as the command line,
and none of the Jupyter stack) and `INSTRUCTOR.md` (what to set on
Gradescope: the assignment's total is the autograded points; the points
graded by hand are nbgrader's).

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
and the user exists, else as the grader's own user (backends/process.py);
extra_data.isolation and the run's stdout say which isolation graded, for the
instructor: students read none of the sandbox (writers.gradescope).

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
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autograder.assignment import Assignment

PACKAGE = Path(__file__).resolve().parent
VENV = "/opt/autograder/venv"  # every user may read it: student code imports NumPy and PyTorch from it
GRADER_TIMEOUT = 540.0  # seconds: under Gradescope's default of 10 minutes, so that the failure is still ours
# What a student reads when the grader did not finish (the same words as results.GRADER_FAILED).
GRADER_FAILED = "O corretor falhou ao corrigir esta entrega (não é um erro do seu código); o professor vai revisar."
# What `python -m autograder.gradescope` imports to grade (checks: scipy; render and writers: rich; reading a
# notebook: nbformat and IPython's input transformer; the assignment's setup cell: threadpoolctl), and what the
# student's process imports (NumPy, PyTorch). setup.sh installs these and what they require, nothing else:
# no nbgrader, Jupyter server, kernel or notebook, which Gradescope never runs.
PROJECT = "rnn-forward-assignment"  # this package's distribution (pyproject.toml): its Requires-Python counts too
GRADING = ("numpy", "torch", "nbformat", "ipython", "scipy", "rich", "threadpoolctl")
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"  # a bare torch from PyPI is a multi-GB CUDA build
# What setup.sh imports once installed: the grader's modules, and what they import only when grading.
SMOKE = ("import autograder.gradescope, autograder.authoring, autograder.runner, autograder.writers, "
         "autograder.inside.zygote, IPython.core.inputtransformer2, threadpoolctl")
PR_SET_CHILD_SUBREAPER = 36


def failure(why: str, seconds: float = 0.0) -> "dict[str, Any]":
    """Gradescope's results.json for a run whose grading did not finish: flagged for review, said as such."""
    return {"score": 0.0, "execution_time": round(seconds, 1), "output": GRADER_FAILED, "output_format": "text",
            "visibility": "visible", "stdout_visibility": "hidden",
            "extra_data": {"needs_review": True, "grader_failed": why}, "tests": []}


def pins(roots: "Iterable[str]" = GRADING) -> "dict[str, str]":
    """{distribution: version} of `roots` and of everything they require, as installed here (requirements
    whose markers hold for this interpreter, extras only where a requirement asks for them)."""
    from importlib import metadata

    from packaging.requirements import Requirement  # (build time only: pip's and setuptools' own dependency)
    from packaging.utils import canonicalize_name

    found: "dict[str, str]" = {}
    todo = [(name, frozenset[str]()) for name in roots]
    while todo:
        name, extras = todo.pop()
        dist = metadata.distribution(name)
        key = canonicalize_name(dist.metadata["Name"])
        if key in found and not extras:
            continue
        found[key] = dist.version
        for text in dist.requires or []:
            requirement = Requirement(text)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": extra}) for extra in extras | {""}):
                todo.append((requirement.name, frozenset(requirement.extras)))
    return dict(sorted(found.items()))


def oldest_python(names: "Iterable[str]") -> "tuple[int, int]":
    """The oldest Python 3 that every one of these distributions (as installed here) declares it supports."""
    from importlib import metadata

    from packaging.specifiers import SpecifierSet

    specifiers = [SpecifierSet(str(metadata.metadata(name).json.get("requires_python", ""))) for name in names]
    return next((3, minor) for minor in range(6, 100)
                if all(spec.contains(f"3.{minor}.0", prereleases=True) for spec in specifiers))


def requirements(found: "dict[str, str]") -> str:
    """requirements.txt: every package setup.sh installs, pinned."""
    where = f"Python {sys.version.split()[0]}"
    return (f"# What grading imports and everything it requires, as installed where this zip was built ({where}).\n"
            "# setup.sh installs exactly these, with --no-deps (torch first, from PyTorch's CPU index).\n"
            + "".join(f"{name}=={version}\n" for name, version in found.items()))


def setup_script(found: "dict[str, str]", python: "tuple[int, int]") -> str:
    """setup.sh: what Gradescope runs once, as root, to build the image."""
    from importlib import metadata

    need = f"{python[0]}.{python[1]}"
    return f"""#!/bin/bash
# Gradescope runs this once, as root, when it builds the autograder's image.
set -euo pipefail
apt-get update
apt-get install -y --no-install-recommends python3 python3-venv python3-pip bubblewrap
# The versions pinned in requirements.txt (those this zip was built and tested with) need Python {need} or later.
version="$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
major="${{version%%.*}}"
minor="${{version#*.}}"
if (( major < {python[0]} || (major == {python[0]} && minor < {python[1]}) )); then
    echo "setup.sh: this image's python3 is Python $version; the autograder needs Python {need} or later" \\
         "(the versions pinned in requirements.txt require it). Choose a base image whose python3 is" \\
         "{need} or later, or build the zip with the image's Python, whose versions it then pins." >&2
    exit 1
fi
python3 -m venv {VENV}
{VENV}/bin/pip install pip=={metadata.version("pip")}
# Only the pinned packages, and none of what they would pull in: torch first, from PyTorch's CPU index
# (a bare torch from PyPI is a multi-GB CUDA build), then the rest (torch is already there), then this package.
{VENV}/bin/pip install --no-deps torch=={found["torch"]} --index-url {TORCH_INDEX}
{VENV}/bin/pip install --no-deps -r /autograder/source/requirements.txt
{VENV}/bin/pip install --no-deps /autograder/source/package
# What grading imports, imported once: a package missing fails the build here, not a student's submission.
{VENV}/bin/python -c "{SMOKE}"
# Where bubblewrap cannot run (no user namespaces in the container), student code runs as this user:
# it may read the venv, and nothing of the course (/autograder/source is root's alone).
id -u autograder-student >/dev/null 2>&1 || \\
    useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin autograder-student
chown root:root /autograder/source
chmod 700 /autograder/source
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


def manual_points(notebook: "str | Path") -> float:
    """The points of `notebook` that nbgrader's formgrader grades by hand: its manually graded answers
    (cells both graded and a solution: the reflection questions) and tasks. No grader scores them."""
    cells = json.loads(Path(notebook).read_text(encoding="utf-8")).get("cells", [])
    marks = [cell.get("metadata", {}).get("nbgrader", {}) for cell in cells]
    return float(sum(m.get("points", 0) for m in marks if m.get("task") or (m.get("grade") and m.get("solution"))))


def instructions(assignment: "Assignment", python: "tuple[int, int]") -> str:
    """INSTRUCTOR.md: what to set on Gradescope for this zip."""
    auto, manual = assignment.max_score, manual_points(assignment.source_notebook)
    need = f"{python[0]}.{python[1]}"
    lines = [f"# {assignment.name}: the Gradescope autograder", "",
             "Upload this zip as the autograder of a Gradescope programming assignment.", "",
             f"- **Base image**: one whose `python3` is Python {need} or later (the versions pinned in "
             "`requirements.txt`, those this zip was built with, need it; Ubuntu 22.04's is 3.10); `setup.sh` "
             "stops with a message on an older one. It installs only those pinned packages (`--no-deps`): no "
             "nbgrader, Jupyter server, kernel or notebook.",
             f"- **Total points**: set the assignment's total to {auto:g}, the points the autograder grades "
             "(the score in `results.json`)."]
    if manual:
        lines.append(f"- **Graded by hand**: {manual:g} more points (the questions nbgrader grades by hand: the "
                     "reflection questions) are not in this score, and students are told so (in Portuguese) above "
                     "their results. Grade them in nbgrader's formgrader, from the same notebooks, and add them to "
                     f"the Gradescope score in the course's gradebook: {auto:g} + {manual:g} = {auto + manual:g}.")
    lines += ["- **What students see**: the score, one test per hidden test and a summary, in Portuguese; how the "
              "submission was isolated and why a grading failed are in `extra_data` and in the autograder's "
              "output (stdout), which students do not see.",
              "- **Tested** in a fake `/autograder` root (tests/engine/test_gradescope.py), not on Gradescope itself: "
              "read the first image build's log and one test submission's results before students submit.", ""]
    return "\n".join(lines)


def build(assignment: "Assignment", out: "str | Path") -> Path:
    """Write Gradescope's autograder zip for `assignment` to `out`."""
    from autograder import cluster

    out = Path(out)
    found = pins()
    python = oldest_python([*found, PROJECT])
    with zipfile.ZipFile(out, "w") as archive:
        _add(archive, "setup.sh", setup_script(found, python), executable=True)
        _add(archive, "run_autograder", RUN, executable=True)
        _add(archive, "requirements.txt", requirements(found))
        _add(archive, "INSTRUCTOR.md", instructions(assignment, python))
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
    manual = manual_points(assignment.source_notebook)  # (read now: without the sandbox the course goes below)
    where = backends.current().name
    # For the instructor (Gradescope keeps stdout from students, who read no sandbox details).
    print(f"autograder: isolation {where}", flush=True)
    if not backends.current().isolates_host:
        print(f"autograder: {backends.current().describe()}", flush=True)  # as the CLI warns
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
    results = writers.gradescope(row, where, time.monotonic() - start, manual)
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
