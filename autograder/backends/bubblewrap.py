"""bubblewrap around the zygote: only the Python environment and the grader's `autograder.inside`, read-only.

No repository, gradebook or other submission, no network, no environment of
the instructor's, a user and a PID namespace of its own; the zygote then
forks each submission's leader into namespaces of its own (inside/zygote.py).
"""
import functools
import os
import shutil
import subprocess
from pathlib import Path

from autograder.backends.base import INSIDE, PACKAGE, SANDBOX_HOME, Backend, kept_roots, python_roots
from autograder.errors import SandboxFailure


@functools.cache
def bwrap() -> "str | None":
    """Path of a bwrap that can build a sandbox here, or None (absent, or no user namespaces)."""
    path = shutil.which("bwrap")
    if not path:
        return None
    probe = [path, "--unshare-all", "--ro-bind", "/", "/", "true"]
    return path if subprocess.run(probe, capture_output=True).returncode == 0 else None


def masked(roots: "list[str]", hide: "tuple[str | Path, ...]") -> "list[str]":
    """Grader code and course material that an install may have put inside the Python roots: emptied."""
    secrets = [PACKAGE, PACKAGE.parent, *map(Path, hide)]
    return [str(s) for s in secrets if any(s.is_relative_to(r) for r in roots)]


def bwrap_command(use_gpu: bool, disk_bytes: int, hide: "tuple[str | Path, ...]" = ()) -> "list[str]":
    binary = bwrap()
    if binary is None:  # the backend is used only where available() said so
        raise SandboxFailure("bubblewrap (bwrap) cannot build a sandbox on this machine")
    roots = python_roots()
    size = str(disk_bytes)
    cmd = [binary, "--die-with-parent", "--new-session", "--unshare-all", "--as-pid-1", "--clearenv",
           "--uid", "65534", "--gid", "65534", "--proc", "/proc", "--dev", "/dev"]
    for link in ("bin", "lib", "lib64", "sbin"):
        if Path("/", link).is_symlink():
            cmd += ["--symlink", os.readlink(Path("/", link)), f"/{link}"]
    # Parents before children, so that nothing mounted later hides what an
    # earlier mount showed (a venv under /tmp, a repository inside /usr).
    mounts = [("/tmp", ["--size", size, "--tmpfs", "/tmp"])]
    mounts += [(root, ["--ro-bind", root, root]) for root in roots]
    mounts += [(path, ["--tmpfs", path]) for path in masked(roots, hide)]
    for _, args in sorted(mounts, key=lambda m: len(Path(m[0]).parts)):
        cmd += args
    cmd += ["--ro-bind", str(PACKAGE / "__init__.py"), "/grader/autograder/__init__.py",
            "--ro-bind", str(INSIDE), "/grader/autograder/inside"]
    if use_gpu:  # the NVIDIA device nodes; the driver's libraries are under /usr
        cmd += [arg for dev in sorted(Path("/dev").glob("nvidia*")) for arg in ("--dev-bind", str(dev), str(dev))]
    cmd += ["--size", size, "--tmpfs", "/dev/shm", "--dir", SANDBOX_HOME, "--chdir", "/"]
    for i, _ in enumerate(kept_roots()):  # where the zygote's leaders park them (inside/zygote.mount_fresh)
        cmd += ["--dir", f"/.hold/{i}"]
    return cmd + ["--remount-ro", "/"]


class Bubblewrap(Backend):
    name = "bubblewrap"
    isolates_host = True
    student_words = "sandbox bubblewrap"
    disk_words = "per writable place (tmpfs)"

    def available(self) -> bool:
        return bwrap() is not None

    def package_parent(self, package: Path) -> str:
        return "/grader"

    def home(self, scratch: "str | None") -> str:
        return SANDBOX_HOME

    def wrap(self, cmd: "list[str]", env: "dict[str, str]", use_gpu: bool, disk_bytes: int,
             hide: "tuple[str | Path, ...]") -> "list[str]":
        setenv = [arg for key, value in env.items() for arg in ("--setenv", key, value)]
        return bwrap_command(use_gpu, disk_bytes, hide) + setenv + cmd + ["--namespaces"]
