"""The limits on a submission, what enforces them here, and their command-line options.

The same options, with the same names and defaults, are added to the command
line (cli.py) and to pytest (plugin.py) by `add_options`.
"""
import functools
from collections.abc import Callable
from dataclasses import dataclass

from autograder.cgroups import CgroupSystem
from autograder.sandbox import bubblewrap


@dataclass
class Limits:
    call_timeout: float = 10.0  # wall seconds to load the cell, and for each call
    submission_timeout: float = 120.0  # wall seconds for all the calls of one submission
    cpu_seconds: int = 60  # CPU seconds of each process
    memory_bytes: int = 4 * 2**30  # memory of a submission's whole process tree (of each process without cgroups)
    pids: int = 64  # processes and threads of a submission at once
    cpus: float = 1.0  # cores a submission may keep busy at once
    disk_bytes: int = 64 * 2**20  # size of each writable place: /tmp, /dev/shm and the home


@functools.cache
def cgroup_system() -> tuple:
    """(CgroupSystem or None, why not): where submissions' groups are made."""
    return CgroupSystem.detect()


def remove_stale_cgroups() -> None:
    system, _ = cgroup_system()
    if system:
        system.remove_stale()


def limits_report(limits: Limits, use_gpu: bool = False) -> dict:
    """What held each limit in this run, for the report."""
    system, why = cgroup_system()
    tree = system.mechanism if system else None
    mib = limits.memory_bytes // 2**20
    memory = f"{mib} MiB per process (rlimit; {why})" if not use_gpu else f"none ({why})"
    return {
        "memory": f"{mib} MiB per submission ({tree})" if tree else memory,
        "processes": f"{limits.pids} per submission ({tree})" if tree else f"none ({why})",
        "cpu": f"{limits.cpus:g} core(s) per submission ({tree}), {limits.cpu_seconds} s per process (rlimit)" if tree
               else f"{limits.cpu_seconds} s per process (rlimit)",
        "disk": f"{limits.disk_bytes // 2**20} MiB per writable place (tmpfs)" if bubblewrap() else
                f"{limits.disk_bytes // 2**20} MiB per file (rlimit)",
        "wall": f"{limits.call_timeout:g} s per call, {limits.submission_timeout:g} s per submission",
    }



# (flag, dest, type, help): one definition for both the command line and pytest.
OPTIONS = (
    ("--call-timeout", "call_timeout", float, "seconds for each call into student code"),
    ("--submission-timeout", "submission_timeout", float, "seconds for all the calls of one submission"),
    ("--memory-limit", "memory_limit", int, "MiB for a submission's processes together (each, without cgroups)"),
)


def add_options(add: Callable) -> None:
    """Add the limit options with `add` (argparse's add_argument, or pytest's addoption)."""
    defaults = {"call_timeout": Limits.call_timeout, "submission_timeout": Limits.submission_timeout,
                "memory_limit": Limits.memory_bytes // 2**20}
    for flag, dest, kind, help in OPTIONS:
        add(flag, dest=dest, type=kind, default=defaults[dest], help=f"{help} (default: %(default)s)")


def from_options(get: Callable) -> Limits:
    """Limits from the parsed options; `get(dest)` reads one."""
    return Limits(call_timeout=get("call_timeout"), submission_timeout=get("submission_timeout"),
                  memory_bytes=get("memory_limit") * 2**20)
