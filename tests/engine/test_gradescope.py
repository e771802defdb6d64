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
from pathlib import Path

import nbformat
import pytest

from autograder import gradescope
from autograder.backends import unprivileged
from autograder.results import GRADER_FAILED
from tests.helpers import REPO
from tests.helpers import TINY_ASSIGNMENT as ASSIGNMENT
from tests.helpers import TINY_CORPUS as CORPUS

pytestmark = pytest.mark.slow
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}
TOP = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format", "visibility",
       "stdout_visibility", "extra_data", "tests", "leaderboard"}
TEST = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format", "tags",
        "visibility", "extra_data"}


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
        assert all(isinstance(tag, str) for tag in test["tags"])
        assert not re.search(r"(-?\d+\.\d+[,\s]+){6}", test["output"])  # no hidden inputs or expected arrays
    assert abs(sum(t["score"] for t in results["tests"]) - results["score"]) < 1e-9



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


def kill_running(text):
    for pid in running(text):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def is_grader_failure(results):
    """The harness's own failure: said as the grader's, flagged for review, never a student's score."""
    check_gradescope_format(results)
    return (results["score"] == 0 and results["extra_data"]["needs_review"] is True
            and "não é um erro do seu código" in results["output"] and results["extra_data"]["grader_failed"])


def test_the_bundle_holds_gradescopes_two_scripts_and_what_they_need(bundle):
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
        setup = archive.read("setup.sh").decode()
    assert {"setup.sh", "run_autograder", "package/pyproject.toml", "package/autograder/gradescope.py",
            f"course/solutions/{ASSIGNMENT.name}/assignment.py",
            f"course/source/{ASSIGNMENT.name}/{ASSIGNMENT.name}.ipynb"} <= set(names)
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
    assert "bubblewrap" in setup and "torch==2.13.0" in setup and "/whl/cpu" in setup
    assert "useradd --system" in setup and "chmod 700 /autograder/source" in setup and "/opt/autograder/venv" in setup
    assert not any("examples/" in n or "__pycache__" in n for n in names)


@pytest.mark.parametrize("case", ["correct_reference", "memory_detaches_the_state", "broken_not_json"])
def test_results_follow_gradescopes_format(bundle, tmp_path, case):
    results = run_in_fake_root(bundle, tmp_path, case)
    check_gradescope_format(results)
    expected = sum(CORPUS.expected_scores(case).values()) if case != "broken_not_json" else 0.0
    assert results["score"] == expected
    assert len(results["tests"]) == sum(len(t) for t in ASSIGNMENT.tests.values())
    assert sum(t["max_score"] for t in results["tests"]) == ASSIGNMENT.max_score
    assert "bubblewrap" in results["output"] and results["extra_data"]["isolation"] == "bubblewrap"
    if case == "memory_detaches_the_state":
        failed = [t for t in results["tests"] if t["status"] == "failed"]
        assert len(failed) == 1 and "o gradiente não chegou ao estado" in failed[0]["output"]
    if case == "broken_not_json":
        assert "não é um notebook" in results["output"]


def test_without_bubblewrap_the_fallback_is_named(bundle, tmp_path):
    results = run_in_fake_root(bundle, tmp_path, "correct_reference", path=str(tmp_path / "no-bin"),
                               AUTOGRADER_STUDENT_USER=NO_SUCH_USER)
    check_gradescope_format(results)
    assert results["score"] == ASSIGNMENT.max_score
    assert results["extra_data"]["isolation"] == "process" and "processos separados" in results["output"]


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
        (grader,) = running(str(root), "--results")
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
        results = run_in_fake_root(bundle, tmp_path, "hang_in_memory", path=str(tmp_path / "no-bin"),
                                   AUTOGRADER_GRADER_TIMEOUT="15", AUTOGRADER_STUDENT_USER=NO_SUCH_USER)
        assert is_grader_failure(results), results
        assert results["extra_data"]["grader_failed"] == "the grader did not finish in 15 s"
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
    assert results["extra_data"]["isolation"] == "unprivileged" and "usuário sem privilégios" in results["output"]
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
        assert found["uid"] == uid and len(found["graders"]) == 2  # it ran, as the user, and found the harness and
        assert found["left"] == "deixado" and found["tmp"] == 1  # the grader; it could start a process, write /tmp
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
    assert first["kill"] == first["graders"] and len(first["graders"]) == 2
    assert (open_root / "results" / "FORGED").exists()
    assert survivors  # the process it left outlived the run: the harness it killed could not end it
    assert is_grader_failure(results) and results["score"] != 12
