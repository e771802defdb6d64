"""Gradescope: the autograder bundle, and what it runs there.

    python -m autograder gradescope --out autograder.zip [--assignment DIR]

The zip holds Gradescope's two scripts at its root and what they need:
`setup.sh` (run once when Gradescope builds the image: bubblewrap, a venv with
the pinned CPU torch and this package), `run_autograder` (run per
submission), `package/` (this package, to install) and `course/` (the
assignment: its source notebook and solutions/ folder). Per submission,
`run_autograder` calls `python -m autograder.gradescope`, which grades
<root>/submission/ with the same runner and sandbox as the command line and
writes <root>/results/results.json in Gradescope's format (writers.gradescope).
Where bubblewrap cannot run inside Gradescope's container the grader falls
back to process isolation, and the output says which one graded.

<root> is /autograder; AUTOGRADER_GRADESCOPE_ROOT moves it (the tests' fake
root), and AUTOGRADER_PYTHON names the interpreter run_autograder uses.
"""
import io
import json
import os
import shutil
import stat
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

from autograder import assignment as assignments
from autograder import cluster, writers
from autograder.limits import Limits

TORCH_VERSION = "2.13.0"  # the same pin as the Makefile's: the CPU wheel
PACKAGE = Path(__file__).resolve().parent

SETUP = f"""#!/bin/bash
# Gradescope runs this once, as root, when it builds the autograder's image.
set -euo pipefail
apt-get update
apt-get install -y --no-install-recommends python3 python3-venv python3-pip bubblewrap
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --upgrade pip
# Pinned and first, from PyTorch's CPU index: an unpinned torch pulls a multi-GB CUDA build.
/autograder/venv/bin/pip install torch=={TORCH_VERSION} --index-url https://download.pytorch.org/whl/cpu
/autograder/venv/bin/pip install /autograder/source/package
"""

RUN = """#!/bin/bash
# Gradescope runs this for every submission; the results go to $ROOT/results/results.json.
ROOT="${AUTOGRADER_GRADESCOPE_ROOT:-/autograder}"
cd "$ROOT/source" && exec "${AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}" -m autograder.gradescope "$ROOT"
"""


def _add(archive: zipfile.ZipFile, name: str, data: "str | bytes", executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.external_attr = ((0o755 if executable else 0o644) | stat.S_IFREG) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def build(assignment: assignments.Assignment, out: "str | Path") -> Path:
    """Write Gradescope's autograder zip for `assignment` to `out`."""
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


def grade(root: "str | Path") -> "dict[str, Any]":
    """Grade <root>/submission/ and write <root>/results/results.json; return what was written."""
    from autograder import backends
    from autograder.notebook import template
    from autograder.runner import devices, grade_submission, new_seed

    root = Path(root)
    start = time.monotonic()
    course = root / "source" / "course"
    assignment = assignments.find(course)
    where = backends.current().name
    if not backends.current().isolates_host:
        # Without the sandbox the student's code runs as this user: the hidden tests and the reference
        # are loaded now, and their files removed, so that no submission can read them (the container
        # is Gradescope's, made anew for every run).
        assignment.tests, template(assignment)  # noqa: B018 -- loaded for their side effect
        shutil.rmtree(course)
    on = devices("auto")
    row, logs = grade_submission(assignment, "submission", submitted_folder(root / "submission"), None, Limits(),
                                 on, new_seed())
    row.moved(f"{root}/", "")  # paths as the student knows them: submission/...
    results = writers.gradescope(row, where, time.monotonic() - start)
    if logs:  # the grader's own failure: for the instructor (Gradescope keeps stdout from students)
        print("\n".join(logs))
    folder = root / "results"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8",
                                         errors="backslashreplace")
    return results


if __name__ == "__main__":
    grade(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("AUTOGRADER_GRADESCOPE_ROOT", "/autograder"))
