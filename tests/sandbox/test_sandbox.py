"""Student code tries every escape the sandbox is meant to stop; each one fails.

These tests need bubblewrap. Where it is missing they are skipped, unless
AUTOGRADER_REQUIRE_BWRAP=1 (as CI sets), which turns a missing sandbox into a
failure rather than a skip.
"""
import json
import os
import socket
import subprocess
import sys
import time
import uuid

import nbformat
import pytest

from autograder import backends
from autograder.errors import StudentCrash, StudentError, StudentTimeout
from autograder.limits import Limits
from autograder.session import Session
from autograder.tools.sync import answer_cells
from tests.helpers import REPO, TINY_ASSIGNMENT
from tests.helpers import TINY_CORPUS as CORPUS

REQUIRED = os.environ.get("AUTOGRADER_REQUIRE_BWRAP") == "1"
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not backends.current().isolates_host and not REQUIRED,
    reason="bubblewrap is not installed (or user namespaces are off)"
)]
LIMITS = Limits(call_timeout=60)


def run(source, *args, limits=LIMITS):
    """Load `source` as an answer cell in the sandbox and return probe(*args)."""
    with Session(limits) as session:
        return session.part(source).request("call", name="probe", args=list(args))["value"]


def items(value):
    return [] if value is None else value.items


WALK = '''
import os
def probe(tops, names, needles):
    found = []
    for top in tops:
        for root, dirs, files in os.walk(top):
            dirs[:] = [d for d in dirs if os.path.join(root, d) not in ("/proc", "/sys", "/dev")]
            for name in set(files) & set(names):
                try:
                    text = open(os.path.join(root, name), errors="replace").read()
                except OSError:
                    continue
                if any(needle in text for needle in needles):
                    found.append(os.path.join(root, name))
    return found
'''
# Files a cheat would look for, and what only the course's own copies contain.
SECRET_NAMES = ["gradebook.db", "tiny.ipynb", "reference.py", "test_square.py", "test_memory.py", "assignment.py",
                "nbgrader_config.py"]
TOKEN = uuid.uuid4().hex
NEEDLES = [TOKEN, "### BEGIN HIDDEN TESTS", "### BEGIN SOLUTION", "def test_values_match_the_reference", "tiny-course"]


@pytest.fixture
def course(tmp_path):
    """A course on the host: a gradebook and another student's submission."""
    (tmp_path / "gradebook.db").write_text(f"grades {TOKEN}")
    other = tmp_path / "submitted" / "bob" / "tiny"
    other.mkdir(parents=True)
    (other / "tiny.ipynb").write_text(f"{{}} {TOKEN}")
    return tmp_path


def test_the_sandbox_is_in_use():
    assert backends.current().name == "bubblewrap"


def test_walking_the_filesystem_finds_no_solution_test_or_gradebook(course):
    assert items(run(WALK, ["/"], SECRET_NAMES, NEEDLES)) == []


def test_the_walk_would_find_them_without_the_sandbox(course, monkeypatch):
    # The same probe with process isolation only: proof that the test above can fail.
    monkeypatch.setattr(backends, "current", lambda: backends.named("process"))
    found = items(run(WALK, [str(REPO), str(course)], SECRET_NAMES, NEEDLES))
    names = {os.path.basename(f) for f in found}
    assert names >= {"gradebook.db", "test_square.py", "reference.py", "tiny.ipynb"}


def test_a_cheat_that_looks_for_the_solutions_scores_as_if_it_had_not_tried(tmp_path):
    cheat = '''
import os
for root, dirs, files in os.walk("/"):
    dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev")]
    if "reference.py" in files and "solutions" in root:
        exec(open(os.path.join(root, "reference.py")).read())  # the reference square, if reachable
'''
    honest = CORPUS.build("square_doubles", tmp_path)
    nb = CORPUS.notebook("square_doubles")
    answer_cells(nb)["square"].source += cheat
    nbformat.write(nb, tmp_path / "cheat.ipynb")
    out = tmp_path / "report.json"
    subprocess.run([sys.executable, "-m", "autograder", "grade", str(tmp_path), "--json", str(out),
                    "--call-timeout", "60", "--assignment", str(TINY_ASSIGNMENT.folder)],
                   cwd=REPO, check=True, capture_output=True, timeout=900)
    rows = {r["student"]: r for r in json.loads(out.read_text())["submissions"]}
    assert rows["cheat"]["parts"] == rows[honest.stem]["parts"]
    expected = CORPUS.expected_scores("square_doubles")["square"]
    assert rows["cheat"]["parts"]["square"]["score"] == expected


def test_no_network_even_to_a_listener_on_loopback():
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    probe = '''
import socket
def probe(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2)
        return "connected"
    except OSError as exc:
        return type(exc).__name__
'''
    assert run(probe, port) != "connected"
    listener.settimeout(0.5)
    with pytest.raises(socket.timeout):
        listener.accept()
    listener.close()


def test_writes_outside_the_scratch_directory_never_reach_the_host(tmp_path):
    report = tmp_path / "report.json"
    report.write_text("grader's report")
    token = uuid.uuid4().hex
    targets = [str(report), str(REPO / f"pwned-{token}"), f"/tmp/pwned-{token}", f"{sys.prefix}/pwned-{token}"]
    probe = '''
def probe(paths):
    written = []
    for path in paths:
        try:
            with open(path, "w") as f:
                f.write("pwned")
            written.append(path)
        except OSError:
            pass
    return written
'''
    run(probe, targets)
    assert report.read_text() == "grader's report"
    assert not any(os.path.exists(p) for p in targets[1:])


def host_processes_with(token):
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if token.encode() in f.read():
                    found.append(pid)
        except OSError:
            pass
    return found


def test_no_process_outlives_its_grading():
    token = str(uuid.uuid4().int % 10**9 + 10**9)  # sleep's argument: a number no one else uses
    probe = f'''
import os, subprocess
def probe():
    subprocess.Popen(["sleep", "{token}"], start_new_session=True)
    if os.fork() == 0:  # a daemon: double fork, new session
        os.setsid()
        if os.fork() == 0:
            os.execvp("sleep", ["sleep", "{token}"])
        os._exit(0)
    return len(os.listdir("/proc"))
'''
    with Session(LIMITS) as session:
        session.part(probe).request("call", name="probe", args=[])
        for _ in range(50):  # the daemon needs a moment to exec
            if len(host_processes_with(token)) == 2:
                break
            time.sleep(0.1)
        assert len(host_processes_with(token)) == 2  # they were running
    assert host_processes_with(token) == []


def test_a_memory_bomb_is_a_clear_failure_and_the_next_submission_is_fine():
    bomb = '''
def probe():
    hoard = []
    while True:
        hoard.append(bytearray(2**27))
'''
    with pytest.raises((StudentError, StudentCrash), match="limite de memória"):
        run(bomb, limits=Limits(call_timeout=60, memory_mib=1024))
    assert run("def probe():\n    return 42") == 42


def test_a_hang_is_a_timeout_and_leaves_nothing_behind():
    token = str(uuid.uuid4().int % 10**9 + 10**9)
    hang = f'''
import subprocess, time
def probe():
    subprocess.Popen(["sleep", "{token}"])
    time.sleep(3600)
'''
    start = time.monotonic()
    with pytest.raises(StudentTimeout):
        run(hang, limits=Limits(call_timeout=3))
    assert time.monotonic() - start < 30
    time.sleep(0.5)
    assert host_processes_with(token) == []


def test_the_instructors_environment_does_not_reach_student_code(monkeypatch):
    monkeypatch.setenv("AUTOGRADER_TEST_TOKEN", "s3cret")
    env = run("import os\ndef probe():\n    return dict(os.environ)")
    assert "AUTOGRADER_TEST_TOKEN" not in env and "s3cret" not in env.values()


def test_student_code_cannot_see_or_signal_the_grader():
    probe = '''
import os, signal
def probe(grader_pid):
    visible = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
    try:
        os.kill(grader_pid, signal.SIGKILL)
        result = "killed"
    except OSError as exc:
        result = type(exc).__name__
    return [result, visible]
'''
    result, visible = items(run(probe, os.getpid()))
    assert result == "ProcessLookupError" and len(items(visible)) <= 3  # the zygote, its submission's leader, itself
    # Signal every process it may: outside the sandbox, that would be all of the instructor's.
    kill_all = ("import os, signal\ndef probe():\n    try:\n        os.kill(-1, signal.SIGKILL)\n"
                "    except OSError as exc:\n        return type(exc).__name__")
    run(kill_all)  # what it can see is its own sandbox: at most the zygote goes down
    assert run("def probe():\n    return 42") == 42  # and this grader, alive, starts a new one


KILL_PARENT = """
import os, signal
def probe():
    for pid in (os.getppid(), 1):
        for sig in (signal.SIGKILL, signal.SIGSTOP, signal.SIGTERM, signal.SIGINT):
            try:
                os.kill(pid, sig)
            except OSError:
                pass
    return 1
"""


def leader_survives(killer):
    with Session(LIMITS) as session:
        assert session.part(killer).request("call", name="probe", args=[])["value"] == 1
        leader = session.leader
        assert session.part("def probe():\n    return 2").request("call", name="probe", args=[])["value"] == 2
        return session.leader is leader


def test_student_code_cannot_kill_its_leader_or_the_zygote():
    # Its parent is the submission's leader, PID 1 of its namespace: it ignores its members' signals.
    assert leader_survives(KILL_PARENT)
    assert run("def probe():\n    return 42") == 42


def test_without_namespaces_the_same_code_kills_its_leader(monkeypatch):
    # Control: with process isolation the leader is an ordinary parent, and the probe above kills it.
    monkeypatch.setattr(backends, "current", lambda: backends.named("process"))
    assert not leader_survives(KILL_PARENT.replace("(os.getppid(), 1)", "(os.getppid(),)"))


WRITABLE = '''
import os, sys
def probe(top, depth):
    writable = []
    for root, dirs, _ in os.walk(top):
        if root.startswith(("/proc", "/sys")) or root.count("/") > depth:
            dirs[:] = []
            continue
        try:
            with open(os.path.join(root, ".probe"), "w"):
                pass
            os.unlink(os.path.join(root, ".probe"))
            writable.append(root)
        except OSError:
            pass
    mounts = {}
    for line in open("/proc/self/mountinfo"):
        fields = line.split()
        fstype, options = fields[fields.index("-") + 1], fields[fields.index("-") + 3]
        mounts[fields[4]] = fstype + " " + fields[5].split(",")[0] + " " + options
    return [writable, mounts, sys.path]
'''


def test_every_writable_place_is_a_fresh_sized_tmpfs_and_grader_code_is_last_on_the_path():
    writable, mounts, path = items(run(WRITABLE, "/", 64))
    writable, path = items(writable), items(path)
    places = ("/tmp", "/dev/shm", "/home/student")
    assert writable and all(w.startswith(places) for w in writable), writable
    for place in places:
        fstype, mode, options = mounts[place].split(" ", 2)
        size = int(options.split("size=")[1].split("k")[0]) * 1024
        assert fstype == "tmpfs" and mode == "rw" and size == Limits().disk_bytes, mounts[place]
    # The grader's modules come after the standard library and site-packages, read-only.
    stdlib = next(i for i, p in enumerate(path) if p.endswith("lib/python3.11") or "/lib/python3." in p)
    assert path.index("/grader") > stdlib and path.index("/grader") == len(path) - 1
    assert "/grader" not in writable and "/grader/autograder" not in writable


def test_without_the_sandbox_the_same_probe_finds_the_host_writable(monkeypatch):
    # Control: with process isolation the probe sees far more writable places than the three tmpfs.
    monkeypatch.setattr(backends, "current", lambda: backends.named("process"))
    writable = items(items(run(WRITABLE, "/", 2))[0])
    assert any(not w.startswith(("/tmp", "/dev/shm", "/home/student")) for w in writable), writable


def test_cpu_time_is_limited_per_process():
    busy = ("def probe(seconds):\n    import time\n    end = time.process_time() + seconds\n"
            "    while time.process_time() < end:\n        pass\n    return 1")
    limits = Limits(call_timeout=60, cpu_seconds=1)
    with pytest.raises(StudentCrash, match="limite de tempo de CPU"):
        run(busy, 5, limits=limits)
    assert run(busy, 0.3, limits=limits) == 1  # control: under the limit, the same loop is fine
