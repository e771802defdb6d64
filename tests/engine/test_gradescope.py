"""The Gradescope bundle, unpacked into a fake /autograder root and run as Gradescope runs it.

Its results.json is checked against Gradescope's documented format
(https://gradescope-autograders.readthedocs.io, "Autograder Specifications")
for a correct, a partly wrong and a broken submission, with the bundle's own
copy of the package; and with bubblewrap out of reach, where the fallback's
isolation must be named. Then the harness (run_autograder's): whatever the
grader does (crash, killed, over its time), the results.json Gradescope reads
is one it wrote, and no process of the run survives it; and, as root, a
hostile notebook graded as the unprivileged user can neither forge its
results, read the course, signal the grader nor leave a process behind,
where the same attack as the grader's own user (the control) forges the
file, reads the bundle, kills the grader and leaves its process running.
Everything a student reads is Portuguese, with decimal commas, and names no
part of the sandbox; setup.sh checks the interpreter and installs only the
pinned packages grading needs, which are enough to grade.
"""
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from importlib import metadata
from pathlib import Path

import nbformat
import pytest

from autograder import assignment as assignments
from autograder import gradescope, writers
from autograder.backends import unprivileged
from autograder.results import GRADER_FAILED, Run, Status, submission_result
from autograder.writers import decimal
from tests.helpers import REPO
from tests.helpers import TINY_ASSIGNMENT as ASSIGNMENT
from tests.helpers import TINY_CORPUS as CORPUS

pytestmark = pytest.mark.slow
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}
TOP = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format", "visibility",
       "stdout_visibility", "extra_data", "tests", "leaderboard"}
TEST = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format", "tags",
        "visibility", "extra_data"}
# What a student must never read on Gradescope: how the sandbox works, where the grader's files are.
INTERNALS = re.compile(r"bubblewrap|bwrap|cgroup|zygote|sandbox|namespace|\bpids?\b|\bbytes\b|subreaper|harness|"
                       r"/autograder|/opt/|/tmp/|/proc/|/sys/|/dev/|site-packages|Traceback|\bgrader\b", re.I)
# English a student could read in the grader's own words (a student's exception keeps Python's).
ENGLISH = re.compile(r"\b(the|failed|error|killed|timeout|process|score|submission|did not|could not)\b", re.I)


def check_gradescope_format(results: dict) -> None:
    """What Gradescope's specification allows, key by key."""
    assert set(results) <= TOP, set(results) - TOP
    assert isinstance(results["score"], (int, float)) and isinstance(results["execution_time"], (int, float))
    assert isinstance(results["output"], str) and results["visibility"] in VISIBILITY
    assert results["stdout_visibility"] in VISIBILITY and isinstance(results["extra_data"], dict)
    for test in results["tests"]:
        assert set(test) <= TEST, set(test) - TEST
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert isinstance(test["score"], (int, float)) and isinstance(test["max_score"], (int, float))
        assert test["status"] in ("passed", "failed") and test["visibility"] in VISIBILITY
        assert "tags" not in test and all(isinstance(code, str) for code in test["extra_data"]["diagnosis"])
        assert not re.search(r"(-?\d+[.,]\d+[;,\s]+){6}", test["output"])  # no hidden inputs or expected arrays
    assert abs(sum(t["score"] for t in results["tests"]) - results["score"]) < 1e-9


def for_students(results: dict) -> "list[str]":
    """Every string of results.json a student reads: the output, each test's name and output."""
    return [results["output"], *(t[key] for t in results["tests"] for key in ("name", "output"))]


def check_what_students_read(results: dict, grader_words_only: bool = True) -> None:
    """Portuguese, decimal commas, nothing of the sandbox. `grader_words_only`: no student's exception
    quoted (which keeps Python's English and the student's own numbers)."""
    for text in for_students(results):
        assert not INTERNALS.search(text), text
        if grader_words_only:
            assert not ENGLISH.search(text) and not re.search(r"\d\.\d", text), text


NO_SUCH_USER = "autograder-no-such-user"  # the student's user, where a test wants the plain process fallback


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    subprocess.run([sys.executable, "-m", "autograder", "gradescope", "--out", str(out), "--assignment",
                    str(ASSIGNMENT.folder)], cwd=REPO, check=True, capture_output=True, timeout=300)
    return out


def unpack(bundle, root, case=None, notebook=None):
    """Unpack the bundle as Gradescope does and hand in `case` (or `notebook`)."""
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    if notebook:
        shutil.copy(notebook, root / "submission" / notebook.name)
    elif case:
        CORPUS.build(case, root / "submission", stem=ASSIGNMENT.name)


def environment(root, path=None, python=sys.executable, **variables):
    """run_autograder's environment in the fake root, with the bundle's own copy of the package."""
    env = dict(os.environ, AUTOGRADER_GRADESCOPE_ROOT=str(root), AUTOGRADER_PYTHON=str(python),
               PYTHONPATH=str(root / "source" / "package"), **variables)
    if path is not None:
        env["PATH"] = path
    return env


def run_autograder(root, path=None, python=sys.executable, **variables):
    """Run <root>/run_autograder as Gradescope does; return results.json and the run's output."""
    proc = subprocess.run(["/bin/bash", str(root / "run_autograder")], env=environment(root, path, python, **variables),
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads((root / "results" / "results.json").read_text()), proc.stdout + proc.stderr


def run_in_fake_root(bundle, root, case, path=None, notebook=None, **variables):
    """Unpack the bundle, hand in `case` (or `notebook`), run run_autograder; return results.json."""
    unpack(bundle, root, case, notebook)
    return run_autograder(root, path, **variables)[0]


def processes():
    """{pid: command line} of the live processes, but this one."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in ("Z", "X"):
            found[int(entry)] = cmdline
    return found


def running(*texts):
    """Live processes whose command line holds every one of `texts`."""
    return [pid for pid, cmdline in processes().items() if all(text in cmdline for text in texts)]


def parent(pid):
    """The parent of process `pid` (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def kill_running(text):
    for pid in running(text):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def is_grader_failure(results):
    """The harness's own failure: said as the grader's, flagged for review, never a student's score."""
    check_gradescope_format(results)
    check_what_students_read(results)  # why it failed is for the instructor (extra_data.grader_failed)
    return (results["score"] == 0 and results["extra_data"]["needs_review"] is True
            and "não é um erro do seu código" in results["output"] and results["extra_data"]["grader_failed"])


def test_the_bundle_holds_gradescopes_two_scripts_and_what_they_need(bundle):
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
        setup = archive.read("setup.sh").decode()
    assert {"setup.sh", "run_autograder", "requirements.txt", "INSTRUCTOR.md", "package/pyproject.toml",
            "package/autograder/gradescope.py",
            f"course/solutions/{ASSIGNMENT.name}/assignment.py",
            f"course/source/{ASSIGNMENT.name}/{ASSIGNMENT.name}.ipynb"} <= set(names)
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
    assert "bubblewrap" in setup and "torch==2.13.0" in setup and "/whl/cpu" in setup
    assert "useradd --system" in setup and "chmod 700 /autograder/source" in setup and "/opt/autograder/venv" in setup
    assert not any("examples/" in n or "__pycache__" in n for n in names)


# Jupyter's server, notebook, kernel and nbgrader: the course's machine runs them, Gradescope never does.
NOT_FOR_GRADING = {"nbgrader", "notebook", "jupyter", "jupyterlab", "jupyter-server", "jupyter-client", "ipykernel",
                   "nbclient", "nbconvert", "notebook-shim", "matplotlib", "distributed"}


def test_requirements_pin_what_grading_needs_and_nothing_of_jupyter(bundle):
    with zipfile.ZipFile(bundle) as archive:
        lines = archive.read("requirements.txt").decode().splitlines()
        setup = archive.read("setup.sh").decode()
    pins = dict(line.split("==") for line in lines if line and not line.startswith("#"))
    assert all(re.fullmatch(r"[a-z0-9-]+", name) and re.fullmatch(r"[\w.+!]+", v) for name, v in pins.items())
    assert {"numpy", "torch", "nbformat", "ipython", "scipy", "rich"} <= set(pins)
    assert not set(pins) & NOT_FOR_GRADING, set(pins) & NOT_FOR_GRADING
    assert all(pins[name] == metadata.version(name) for name in pins)  # this environment's: it grades the same
    installs = [line for line in setup.splitlines() if "pip install" in line]
    assert all("--no-deps" in line for line in installs if " pip==" not in line) and len(installs) == 4
    assert f"pip=={metadata.version('pip')}" in setup and f"torch=={pins['torch']} --index-url" in setup


def fake_python(folder, version):
    """A python3 that says it is `version` and refuses anything else (a venv: pip never runs), and an apt-get
    that does nothing: setup.sh up to its first step after the check of the interpreter."""
    folder.mkdir()
    (folder / "apt-get").write_text("#!/bin/sh\nexit 0\n")
    (folder / "python3").write_text(f'#!/bin/sh\n[ "$1" = -c ] && echo {version} && exit 0\n'
                                    f'echo "$@" >> "{folder}/calls"\nexit 3\n')
    for name in ("apt-get", "python3"):
        (folder / name).chmod(0o755)
    return folder


@pytest.mark.parametrize("version, passes", [("3.9", False), ("3.10", False), ("3.11", True), ("3.12", True)])
def test_setup_stops_on_an_interpreter_older_than_the_pins_need(bundle, tmp_path, version, passes):
    with zipfile.ZipFile(bundle) as archive:
        (tmp_path / "setup.sh").write_bytes(archive.read("setup.sh"))
    stubs = fake_python(tmp_path / "bin", version)
    env = dict(os.environ, PATH=f"{stubs}:/usr/bin:/bin")
    proc = subprocess.run(["/bin/bash", str(tmp_path / "setup.sh")], env=env, capture_output=True, text=True,
                          timeout=60)
    calls = (stubs / "calls").read_text() if (stubs / "calls").exists() else ""
    said = f"this image's python3 is Python {version}; the autograder needs Python 3.11 or later"
    if passes:  # past the check, to the venv (the fake python3 refuses it: nothing is installed)
        assert proc.returncode == 3 and said not in proc.stderr and calls == "-m venv /opt/autograder/venv\n"
    else:
        assert proc.returncode == 1 and said in proc.stderr and not calls, proc.stderr


def test_the_pinned_packages_alone_grade(bundle, tmp_path):
    """The grader with only the pinned packages on its path (links into this environment) and the bundle's
    package: setup.sh's import check passes, and it grades (the student's process keeps the venv: its imports
    are NumPy and PyTorch, pinned)."""
    links = tmp_path / "pinned"
    links.mkdir()
    with zipfile.ZipFile(bundle) as archive:
        names = [line.split("==")[0] for line in archive.read("requirements.txt").decode().splitlines()
                 if line and not line.startswith("#")]
    for name in names:
        dist = metadata.distribution(name)
        for top in {f.parts[0] for f in dist.files or []} - {"..", "__pycache__"}:
            if Path(dist.locate_file(top)).exists() and not top.endswith(".pth") and not (links / top).exists():
                (links / top).symlink_to(dist.locate_file(top))
    root = tmp_path / "root"
    unpack(bundle, root, "correct_reference")
    modules = {name.replace("-", "_") for name in NOT_FOR_GRADING}
    script = (f"import sys; sys.path[:] = [{str(links)!r}, {str(root / 'source' / 'package')!r}] + "
              "[p for p in sys.path if 'site-packages' not in p]\n"
              "from autograder import gradescope; exec(gradescope.SMOKE)\n"
              f"gradescope.grade({str(root)!r})\n"
              f"assert not {{m.split('.')[0] for m in sys.modules}} & {modules!r}\n")
    proc = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == ASSIGNMENT.max_score, results


def test_the_points_graded_by_hand_are_told_apart(tmp_path):
    """The assignment's 3 reflection questions (1 point each, nbgrader's formgrader): INSTRUCTOR.md says to
    set Gradescope's total to the autograded points, and a student reads, in Portuguese, that these are not
    in the score; points with a decimal comma."""
    rnn = assignments.load(REPO / "solutions" / "rnn_forward")
    assert gradescope.manual_points(rnn.source_notebook) == 3 and gradescope.manual_points(
        ASSIGNMENT.source_notebook) == 0
    text = gradescope.instructions(rnn, (3, 11))
    assert f"set the assignment's total to {rnn.max_score:g}" in text and "formgrader" in text
    assert f"{rnn.max_score:g} + 3 = {rnn.max_score + 3:g}" in text
    outcomes = {(part.grade_id, test.name): [Run("", Status.PASSED, "")] for part in rnn.parts
                for test in rnn.tests[part.grade_id]}
    quarter = next((p.grade_id, t) for p in rnn.parts for t in rnn.tests[p.grade_id] if t.points == 0.25)
    outcomes[quarter[0], quarter[1].name] = [Run("", Status.FAILED, "maior diferença 0.0123 (rtol=1e-05, atol=0)")]
    row = submission_result(rnn, "submission", "submission/rnn_forward.ipynb", outcomes)
    results = writers.gradescope(row, "bubblewrap", 1.0, gradescope.manual_points(rnn.source_notebook))
    check_gradescope_format(results)
    check_what_students_read(results)
    score = decimal(rnn.max_score - 0.25)
    assert "," in score and results["output"].startswith(f"Nota do corretor automático: {score} de ")
    total = f"({rnn.max_score:g} + 3 = {rnn.max_score + 3:g} pontos na tarefa)"
    assert ("As perguntas de reflexão (3 pontos) não entram nesta nota: o professor as corrige à mão, fora do "
            f"Gradescope, e soma os pontos depois {total}.") in results["output"]
    (failed,) = [t for t in results["tests"] if t["status"] == "failed"]
    assert failed["output"] == "[falhou] maior diferença 0,0123 (rtol=1e-05, atol=0)"


def test_paths_and_decimals_as_students_read_them():
    assert writers.student_text("erro 0.5 em /opt/autograder/venv/x.py e /tmp/a/b; 2.13.0 x/y 1.5e-05") == \
        "erro 0,5 em …/x.py e …/b; 2.13.0 x/y 1,5e-05"
    assert writers.student_text("x = 0.5 em '/proc/self/status'", numbers=False) == "x = 0.5 em '…/status'"
    assert decimal(10.5) == "10,5" and decimal(13.0) == "13"


# A submission that attacks and crashes where it can: it signals the process that started it (the grader's
# leader), kills its own, and its error names a path of the machine that grades.
HOSTILE_SQUARE = """
import os, signal
def square(x):
    os.kill(os.getppid(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)
"""
HOSTILE_MEMORY = """
from torch import nn
class Memory(nn.Module):
    def __init__(self, *args):
        super().__init__()
        open("/opt/autograder/venv/lib/segredo.txt")
"""


@pytest.mark.parametrize("isolation", ["bubblewrap", "process"])
def test_a_hostile_submission_reads_no_sandbox_internals(bundle, tmp_path, isolation):
    (tmp_path / "cases").mkdir()
    nb = CORPUS.fill(nbformat.read(ASSIGNMENT.release_notebook, as_version=4),
                     {"square": HOSTILE_SQUARE, "lstm_state": HOSTILE_MEMORY})
    nbformat.write(nb, tmp_path / "cases" / f"{ASSIGNMENT.name}.ipynb")
    root = tmp_path / "root"
    root.mkdir()
    path = None if isolation == "bubblewrap" else str(root / "no-bin")
    notebook = tmp_path / "cases" / f"{ASSIGNMENT.name}.ipynb"
    try:
        results = run_in_fake_root(bundle, root, None, path=path, notebook=notebook,
                                   AUTOGRADER_STUDENT_USER=NO_SUCH_USER)
    finally:
        kill_running(str(root))
    check_gradescope_format(results)
    assert results["extra_data"]["isolation"] == isolation and not results["extra_data"]["needs_review"]
    assert results["score"] == 0 and all(t["status"] == "failed" for t in results["tests"])
    check_what_students_read(results, grader_words_only=False)
    outputs = " ".join(t["output"] for t in results["tests"])
    assert "…/segredo.txt" in outputs and "processo" in outputs, outputs  # the path cut, the crash said


@pytest.mark.parametrize("case", ["correct_reference", "memory_detaches_the_state", "broken_not_json"])
def test_results_follow_gradescopes_format(bundle, tmp_path, case):
    results = run_in_fake_root(bundle, tmp_path, case)
    check_gradescope_format(results)
    expected = sum(CORPUS.expected_scores(case).values()) if case != "broken_not_json" else 0.0
    assert results["score"] == expected
    assert len(results["tests"]) == sum(len(t) for t in ASSIGNMENT.tests.values())
    assert sum(t["max_score"] for t in results["tests"]) == ASSIGNMENT.max_score
    assert results["extra_data"]["isolation"] == "bubblewrap"  # for the instructor: students read none of it
    check_what_students_read(results, grader_words_only=case != "broken_not_json")
    assert results["output"].startswith(f"Nota do corretor automático: {decimal(expected)} de "
                                        f"{decimal(ASSIGNMENT.max_score)} pontos.")
    assert "reflexão" not in results["output"]  # the tiny course has no question graded by hand
    if case == "memory_detaches_the_state":
        failed = [t for t in results["tests"] if t["status"] == "failed"]
        assert len(failed) == 1 and "o gradiente não chegou ao estado" in failed[0]["output"]
    if case == "broken_not_json":
        assert "não é um notebook" in results["output"]


def test_without_bubblewrap_the_fallback_is_named_for_the_instructor(bundle, tmp_path):
    unpack(bundle, tmp_path, "correct_reference")
    results, output = run_autograder(tmp_path, str(tmp_path / "no-bin"), AUTOGRADER_STUDENT_USER=NO_SUCH_USER)
    check_gradescope_format(results)
    assert results["score"] == ASSIGNMENT.max_score
    assert results["extra_data"]["isolation"] == "process" and "autograder: isolation process" in output
    check_what_students_read(results)  # the fallback is the instructor's business: stdout, extra_data


FORGER = '''
import glob
def square(x):
    found = glob.glob("{course}/**/hidden/test_square.py", recursive=True)
    raise RuntimeError(open(found[0]).read()[:150] if found else "nada encontrado")
'''


def test_without_the_sandbox_no_submission_can_read_the_hidden_tests(bundle, tmp_path):
    forger = FORGER.format(course=tmp_path / "source" / "course")  # on Gradescope: /autograder/source/course
    nb = CORPUS.fill(nbformat.read(ASSIGNMENT.release_notebook, as_version=4), {"square": forger})
    (tmp_path / "cases").mkdir()
    nbformat.write(nb, tmp_path / "cases" / "forger.ipynb")
    with zipfile.ZipFile(bundle) as archive:  # control: where the course lies, the forger reads it
        archive.extractall(tmp_path / "control")
    ns = {}
    exec(FORGER.format(course=tmp_path / "control" / "course"), ns)
    with pytest.raises(RuntimeError, match="the elementwise square"):
        ns["square"](None)
    results = run_in_fake_root(bundle, tmp_path, None, path=str(tmp_path / "no-bin"),
                               notebook=tmp_path / "cases" / "forger.ipynb", AUTOGRADER_STUDENT_USER=NO_SUCH_USER)
    outputs = " ".join(t["output"] for t in results["tests"])
    assert "nada encontrado" in outputs and "the elementwise square" not in outputs
    assert not (tmp_path / "source" / "course").exists()  # loaded, then removed before any student code ran
    assert results["extra_data"]["isolation"] == "process"


# -- the harness: results.json is always its own, and nothing of the run survives it -------------------------


def test_the_harness_says_the_grader_failed_as_the_results_module_does():
    assert GRADER_FAILED[0].upper() + GRADER_FAILED[1:] + "." == gradescope.GRADER_FAILED
    assert is_grader_failure(gradescope.failure("why"))
    assert json.loads(gradescope.HARNESS_FAILED.strip("'")) == gradescope.failure("the harness did not finish")


SLEEPER = "import time\ntime.sleep(120)  # deaf to the grader's death: a kill ends it\ndef square(x):\n    return x"


def test_a_grader_killed_midway_leaves_a_grader_failure_and_no_process(bundle, tmp_path):
    """The grader SIGKILLed while a student's process sleeps (the plain process backend: no bubblewrap to
    take the zygote and the rest with it): the file left before the run is gone, the results are a grader
    failure, and no process of the run survives (the zygote and its forks name the root in their command line)."""
    (tmp_path / "cases").mkdir()
    nb = CORPUS.fill(nbformat.read(ASSIGNMENT.release_notebook, as_version=4), {"square": SLEEPER})
    nbformat.write(nb, tmp_path / "cases" / f"{ASSIGNMENT.name}.ipynb")
    root = tmp_path / "root"
    root.mkdir()
    unpack(bundle, root, notebook=tmp_path / "cases" / f"{ASSIGNMENT.name}.ipynb")
    (root / "results").mkdir()
    (root / "results" / "results.json").write_text(json.dumps({"score": 12.0, "tests": []}))  # left before
    env = environment(root, str(root / "no-bin"), AUTOGRADER_STUDENT_USER=NO_SUCH_USER)
    proc = subprocess.Popen(["/bin/bash", str(root / "run_autograder")], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 300
        while len(running(str(root), "autograder.inside.zygote")) < 3:  # the zygote, a leader, the student's
            assert proc.poll() is None and time.monotonic() < deadline, "no student process started"
            time.sleep(0.05)
        time.sleep(1.0)  # in its sleep
        assert not (root / "results" / "results.json").exists()  # removed before grading
        graders = running(str(root), "--results")  # the grader, and its fork that reads notebooks
        (grader,) = [pid for pid in graders if parent(pid) not in graders]
        os.kill(grader, signal.SIGKILL)
        output, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, output
        results = json.loads((root / "results" / "results.json").read_text())
        assert is_grader_failure(results), results
        assert results["extra_data"]["grader_failed"] == "the grader was killed by SIGKILL"
        assert re.search(r"ended [1-9]\d* processes", output) and not running(str(root))
        assert os.listdir(root / "results") == ["results.json"]  # the harness's private folder is gone
    finally:
        proc.kill()
        kill_running(str(root))


def test_a_grader_over_its_time_leaves_a_grader_failure_and_no_process(bundle, tmp_path):
    try:
        # (the hang alone holds the grader 10 s, its call timeout: a bound under that holds on any machine)
        results = run_in_fake_root(bundle, tmp_path, "hang_in_memory", path=str(tmp_path / "no-bin"),
                                   AUTOGRADER_GRADER_TIMEOUT="6", AUTOGRADER_STUDENT_USER=NO_SUCH_USER)
        assert is_grader_failure(results), results
        assert results["extra_data"]["grader_failed"] == "the grader did not finish in 6 s"
        assert not running(str(tmp_path))
    finally:
        kill_running(str(tmp_path))


def test_a_grader_that_crashes_leaves_a_grader_failure(bundle, tmp_path):
    unpack(bundle, tmp_path, "correct_reference")
    shutil.rmtree(tmp_path / "source" / "course")  # the grader cannot find its assignment
    results, output = run_autograder(tmp_path)
    assert is_grader_failure(results) and "exited with status 1" in results["extra_data"]["grader_failed"]
    assert "Traceback" in output  # for the instructor (stdout is hidden from students)


def test_without_an_interpreter_run_autograder_still_writes_the_failure(bundle, tmp_path):
    unpack(bundle, tmp_path, "correct_reference")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "results.json").write_text(json.dumps({"score": 12.0, "tests": []}))
    results, _ = run_autograder(tmp_path, python=tmp_path / "no-python")
    assert is_grader_failure(results) and results["extra_data"]["grader_failed"] == "the harness did not finish"


# -- as root, without bubblewrap: the student's code as an unprivileged user --------------------------------

as_root = pytest.mark.skipif(not (sys.platform.startswith("linux") and hasattr(os, "geteuid") and os.geteuid() == 0
                                  and shutil.which("useradd") and shutil.which("userdel")),
                             reason="needs root and useradd: the unprivileged backend runs student code as a user "
                                    "of its own, which only root can become (as on Gradescope)")


def user_can_run(python, uid, gid):
    """Whether `uid` can run `python`, its standard library and the packages the grader needs."""
    try:
        proc = subprocess.run([str(python), "-I", "-c", "import json, glob, numpy, torch, nbformat"], user=uid,
                              group=gid, extra_groups=[], capture_output=True, cwd="/", timeout=300)
    except PermissionError:  # (the interpreter, or a folder above it, is not theirs to read)
        return False
    return proc.returncode == 0


def world_readable_folder(prefix):
    """A folder in /tmp that every user may enter, as /autograder is: only what the harness and setup.sh
    do protects what is inside (pytest's own tmp_path is root's alone, which would protect everything)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)
    return folder


@pytest.fixture(scope="module")
def student_user():
    """A user of the tests' own (the default one, if it existed, would change other tests' fallback)."""
    name = f"agtest{os.getpid()}"
    subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                    "--shell", "/usr/sbin/nologin", name], check=True, capture_output=True)
    try:
        entry = pwd.getpwnam(name)
        yield name, entry.pw_uid, entry.pw_gid
    finally:
        entry = pwd.getpwnam(name)
        unprivileged.end_processes(entry.pw_uid, entry.pw_gid)
        subprocess.run(["userdel", name], capture_output=True)
        subprocess.run(["groupdel", name], capture_output=True)


@pytest.fixture(scope="module")
def student_python(student_user):
    """This interpreter if the student's user can run it, else one it can: the system's Python of the same
    version, as a venv that sees this environment's packages (on Gradescope: setup.sh's /opt/autograder/venv)."""
    _, uid, gid = student_user
    if user_can_run(sys.executable, uid, gid):
        yield Path(sys.executable)
        return
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    system = shutil.which(f"python{version}", path="/usr/bin:/usr/local/bin:/bin")
    if not system:
        pytest.skip(f"the student's user cannot run {sys.executable}, and there is no system python{version}")
    venv = world_readable_folder("ag-python-")
    try:
        (venv / "bin").mkdir(mode=0o755)
        (venv / "bin" / "python").symlink_to(system)
        (venv / "pyvenv.cfg").write_text(f"home = {Path(system).parent}\ninclude-system-site-packages = false\n")
        packages = venv / "lib" / f"python{version}" / "site-packages"
        packages.mkdir(parents=True, mode=0o755)
        import site

        (packages / "this-environment.pth").write_text("\n".join(site.getsitepackages()) + "\n")
        for folder in (venv / "lib", packages.parent, packages):
            folder.chmod(0o755)
        if not user_can_run(venv / "bin" / "python", uid, gid):
            pytest.skip(f"the student's user cannot run {system} with this environment's packages")
        yield venv / "bin" / "python"
    finally:
        shutil.rmtree(venv, ignore_errors=True)


@pytest.fixture
def open_root():
    root = world_readable_folder("ag-root-")
    try:
        yield root
    finally:
        kill_running(str(root))
        shutil.rmtree(root, ignore_errors=True)


@as_root
def test_as_root_without_bubblewrap_student_code_runs_as_the_unprivileged_user(bundle, open_root, student_user,
                                                                              student_python):
    name, uid, _ = student_user
    results = run_in_fake_root(bundle, open_root, "correct_reference", path=str(open_root / "no-bin"),
                               python=student_python, AUTOGRADER_STUDENT_USER=name)
    check_gradescope_format(results)
    assert results["score"] == ASSIGNMENT.max_score, results["output"]  # NumPy, torch and its home all work
    assert results["extra_data"]["isolation"] == "unprivileged"
    check_what_students_read(results)
    assert not unprivileged.processes_of(uid) and not running(str(open_root))


# The scratch cell of a hostile student: find the grader in /proc, forge results.json with 12 points,
# read the course, look into the grader's process, leave a process and a file behind, kill the grader and
# the zygote. What it managed is left in EVIDENCE (a folder every user may write) for the test to read.
ATTACK = """
# rascunho
import glob, json, os, signal
ROOT, EVIDENCE, MARK = {root!r}, {evidence!r}, {mark!r}
seen = {{"uid": os.getuid()}}
graders = []
for entry in os.listdir("/proc"):
    try:
        cmdline = open(f"/proc/{{entry}}/cmdline", "rb").read().replace(b"\\0", b" ").decode()
    except OSError:
        continue
    if "autograder.gradescope" in cmdline and ROOT in cmdline:  # the harness and the grader
        graders.append(int(entry))
seen["graders"] = graders
with open(f"/proc/{{os.getppid()}}/stat") as f:
    zygote = int(f.read().rsplit(")", 1)[1].split()[1])  # the leader's parent


def attempt(name, action):
    try:
        seen[name] = action()
    except Exception as exc:
        seen[name] = "recusado: " + type(exc).__name__


def forge():
    os.makedirs(ROOT + "/results", exist_ok=True)
    with open(ROOT + "/results/results.json", "w") as f:
        json.dump({{"score": 12.0, "output": "12/12", "tests": []}}, f)
    open(ROOT + "/results/FORGED", "w").close()
    return "forjado"


def course():
    return os.listdir(ROOT + "/source")


def leave():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv("/bin/sleep", ["sleep", MARK])
        os._exit(0)
    return "deixado"


def kill(pids):
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    return pids


attempt("forge", forge)
attempt("course", course)
attempt("setup", lambda: open(ROOT + "/source/setup.sh").read()[:20])
attempt("solutions", lambda: open(ROOT + "/source/course/solutions/tiny/hidden/test_square.py").read()[:20])
attempt("environ", lambda: len(open(f"/proc/{{graders[0]}}/environ", "rb").read()))
attempt("left", leave)
attempt("tmp", lambda: open("/tmp/ag-left-" + MARK, "w").write("x"))
attempt("kill", lambda: kill(graders))
attempt("zygote", lambda: kill([zygote]))
with open(f"{{EVIDENCE}}/{{os.getpid()}}.json", "w") as f:
    json.dump(seen, f)
"""


def attack(bundle, root, evidence, user):
    """The blank notebook with the attack as its scratch cell, run by run_autograder; (results.json,
    what the attack managed in each process it ran in)."""
    mark = f"4{os.getpid()}.{len(os.listdir(evidence))}"  # sleep's argument: names the process it leaves
    nb = nbformat.read(ASSIGNMENT.release_notebook, as_version=4)
    nb.cells.insert(2, nbformat.v4.new_code_cell(ATTACK.format(root=str(root), evidence=str(evidence), mark=mark)))
    (root / "submission").mkdir()
    nbformat.write(nb, root / "submission" / f"{ASSIGNMENT.name}.ipynb")
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    temp = world_readable_folder("ag-temp-")  # the harness's TMPDIR: what a killed harness leaves is in it
    try:
        results, _ = run_autograder(root, path=str(root / "no-bin"), python=user["python"],
                                    AUTOGRADER_STUDENT_USER=user["name"], TMPDIR=str(temp))
        seen = [json.loads(p.read_text()) for p in evidence.glob("*.json")]
        survivors = running(mark)
        return results, seen, survivors, Path("/tmp/ag-left-" + mark).exists()
    finally:
        kill_running(mark)
        Path("/tmp/ag-left-" + mark).unlink(missing_ok=True)
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture
def evidence():
    folder = world_readable_folder("ag-evidence-")
    folder.chmod(0o777)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@as_root
def test_as_the_unprivileged_user_the_attack_forges_reads_signals_and_leaves_nothing(bundle, open_root, evidence,
                                                                                     student_user, student_python):
    name, uid, _ = student_user
    results, seen, survivors, tmp_file_left = attack(bundle, open_root, evidence,
                                                     {"name": name, "python": student_python})
    assert seen, "the attack did not run"
    for found in seen:
        # It ran, as the user, and found the harness, the grader and the grader's reading child; it could start
        # a process and write /tmp.
        assert found["uid"] == uid and len(found["graders"]) == 3
        assert found["left"] == "deixado" and found["tmp"] == 1
        for what in ("forge", "course", "setup", "solutions", "environ", "kill", "zygote"):
            assert str(found[what]).startswith("recusado: PermissionError"), (what, found[what])
    # The harness's results.json with the honest score (a blank notebook: 0), graded to the end.
    check_gradescope_format(results)
    assert results["score"] == 0 and results["extra_data"]["isolation"] == "unprivileged"
    assert results["extra_data"]["needs_review"] is False
    assert len(results["tests"]) == sum(len(t) for t in ASSIGNMENT.tests.values())
    assert all("NotImplementedError" in t["output"] for t in results["tests"])  # the stubs, graded as they are
    assert not (open_root / "results" / "FORGED").exists()
    assert (open_root / "source").stat().st_mode & 0o777 == 0o700  # the course: root's alone
    # Nothing survives: no process of the user, of the run (the zygote names the root), the one it left.
    assert not survivors and not unprivileged.processes_of(uid) and not running(str(open_root))
    assert not tmp_file_left


@as_root
def test_control_as_the_graders_own_user_the_same_attack_forges_reads_and_kills(bundle, open_root, evidence,
                                                                               student_user, student_python):
    """The plain process backend, as root (no student's user): the attack is real. It writes the forged
    file, reads the bundle's files and kills the grader, the harness and the zygote, and its process
    survives the run; even so the results.json left is a grader failure (run_autograder's own), not 12."""
    results, seen, survivors, _ = attack(bundle, open_root, evidence,
                                         {"name": NO_SUCH_USER, "python": student_python})
    assert seen and all(found["uid"] == 0 for found in seen)
    first = seen[0]
    assert first["forge"] == "forjado" and first["setup"].startswith("#!/bin/bash") and "setup.sh" in first["course"]
    assert first["solutions"] == "recusado: FileNotFoundError"  # (the process backend's own defence: removed)
    assert first["kill"] == first["graders"] and len(first["graders"]) == 3  # the harness, the grader, its reader
    assert (open_root / "results" / "FORGED").exists()
    assert survivors  # the process it left outlived the run: the harness it killed could not end it
    assert is_grader_failure(results) and results["score"] != 12
