"""Without bubblewrap, as root: student code as a dedicated unprivileged user (Gradescope's own advice).

Gradescope's containers run the grader as root and may lack the user namespaces
bubblewrap needs. There the plain process backend would run student code as
root; this one is the process backend (separate processes, limits, the same
clean-up) with every process of a submission run as the user that
AUTOGRADER_STUDENT_USER names (default `autograder-student`, which the
bundle's setup.sh creates), with that user's own group and no supplementary
groups. It is available when the grader is root and that user exists (and is
not uid or gid 0).

The zygote stays root, so no student process can signal, ptrace or kill it.
In each zygote fork that becomes a submission's leader, before it forks the
leader, the user's uid and gid replace root's (and `no_new_privs` is set, so
no setuid program gives root back): the leader and all it forks run as that
user. The leader's home, which the grader makes inside a scratch folder that
only root may list (others may only pass through it), is handed to that user
first. So student code cannot write the grader's results, read what only root
may read (the course, which setup.sh makes root's alone), or signal any process
of root's (the grader, the harness, the zygote).

What it does not isolate (`isolates_host` stays False): the network, whatever
any user may read, and the temp folders every user may write. Submissions graded
at the same time share the user, and so can see and signal one another: it
is meant for one submission per machine (Gradescope's container).
"""
import functools
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from autograder.backends.process import Process
from autograder.errors import SandboxFailure

USER_VARIABLE = "AUTOGRADER_STUDENT_USER"
DEFAULT_USER = "autograder-student"
PR_SET_NO_NEW_PRIVS = 38
SHARED_TEMP = ("/tmp", "/var/tmp", "/dev/shm")  # where any user may leave files

# Run by the zygote (root) ahead of its own boot code: each fork that becomes a submission's leader
# (inside/zygote.become_leader) gives the leader's home to the student's user and becomes that user.
DROP = """\
import os, sys
sys.path.append(sys.argv[1])
from autograder.inside import zygote as _zygote
_become_leader = _zygote.become_leader
def _as_student(sock, request, _uid={uid}, _gid={gid}):
    os.chown(request["home"], _uid, _gid, follow_symlinks=False)
    os.setgroups([])
    os.setresgid(_gid, _gid, _gid)
    os.setresuid(_uid, _uid, _uid)
    if os.getresuid() != (_uid, _uid, _uid) or os.getgroups():
        raise OSError("could not become the student's user")
    _zygote.prctl({no_new_privs}, 1)
    _become_leader(sock, request)
_zygote.become_leader = _as_student
"""


def user_name() -> str:
    return os.environ.get(USER_VARIABLE) or DEFAULT_USER


def account() -> "tuple[int, int] | None":
    """(uid, gid) of the student's user, or None where there is none (or it is root's)."""
    try:
        entry = pwd.getpwnam(user_name())
    except KeyError:
        return None
    return None if 0 in (entry.pw_uid, entry.pw_gid) else (entry.pw_uid, entry.pw_gid)


def become(uid: int, gid: int) -> None:
    """In a fork of root's: that user, its group, no other group."""
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)


@functools.cache
def interpreter_problem(uid: int, gid: int) -> str:
    """Why the student's user cannot run this Python and its standard library ("" when it can): student
    code imports from them, so the venv must be where that user may read it."""
    probe = "import json, glob, email.parser"
    try:
        proc = subprocess.run([sys.executable, "-I", "-c", probe], user=uid, group=gid, extra_groups=[],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, cwd="/")
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)
    return "" if proc.returncode == 0 else (proc.stderr.strip().splitlines() or ["exit status"])[-1]


def end_processes(uid: int, gid: int, rounds: int = 100) -> bool:
    """SIGKILL every process of the user: from a fork that becomes it, kill(-1) reaches all of them at once
    (a fork cannot slip between). True once none is left."""
    pid = os.fork()
    if pid == 0:
        try:
            become(uid, gid)
            for _ in range(rounds):
                try:
                    os.kill(-1, signal.SIGKILL)  # every process this user may signal, but this one
                except ProcessLookupError:
                    os._exit(0)
                time.sleep(0.01)
        except BaseException:
            pass
        os._exit(1)
    os.waitpid(pid, 0)
    return not processes_of(uid)


def processes_of(uid: int) -> "list[int]":
    """Live processes whose real, effective or saved uid is `uid` (zombies are not)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        uids = fields.get("Uid", "").split()[:3]
        if str(uid) in uids and not fields.get("State", "").strip().startswith(("Z", "X")):
            found.append(int(entry))
    return found


def remove_files(uid: int) -> None:
    """What the user left in the temp folders every user may write (never following a link)."""
    for place in SHARED_TEMP:
        try:
            entries = list(os.scandir(place))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != uid:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                pass


class Unprivileged(Process):
    name = "unprivileged"
    isolates_host = False  # it still sees the network and what any user may read
    student_words = "processos separados, de um usuário sem privilégios (sem bubblewrap neste contêiner)"

    def available(self) -> bool:
        return sys.platform.startswith("linux") and os.geteuid() == 0 and account() is not None

    def home(self, scratch: "str | None") -> str:
        """The scratch folder, root's: others may pass through it (to each leader's home, given to the
        student's user) but not list it."""
        if scratch:
            os.chmod(scratch, 0o711)
        return str(scratch)

    def wrap(self, cmd: "list[str]", env: "dict[str, str]", use_gpu: bool, disk_bytes: int,
             hide: "tuple[str | Path, ...]") -> "list[str]":
        found = account()
        if found is None:
            raise SandboxFailure(f"no user {user_name()!r} to run student code as")
        problem = interpreter_problem(*found)
        if problem:
            raise SandboxFailure(f"the user {user_name()!r} cannot run {sys.executable} ({problem}): install the "
                                 "Python environment where every user may read it (setup.sh: /opt/autograder/venv)")
        if "-c" not in cmd:
            raise SandboxFailure(f"the zygote's command has no boot code to run as {user_name()!r}")
        at = cmd.index("-c") + 1
        drop = DROP.format(uid=found[0], gid=found[1], no_new_privs=PR_SET_NO_NEW_PRIVS)
        return [*cmd[:at], drop + cmd[at], *cmd[at + 1:]]

    def describe(self) -> str:
        return (f"bubblewrap (bwrap) is not available here: student code runs in separate processes with limits, "
                f"as the unprivileged user {user_name()!r}: it cannot read what only root may read, write the "
                "grader's files or signal its processes, but it can use the network and read what any user may, "
                "and submissions graded at the same time share that user (grade one at a time: --workers 1). "
                "Install bubblewrap (Debian: apt-get install bubblewrap) for the sandbox.")
