"""The limits on a submission, what enforces them here, and their command-line options.

Each limit is declared once, as a field of Limits with its default, unit, flag
and help; the command line (cli.py) and pytest (plugin.py) get the same
options from that declaration (`add_options`), and a change of default is one
edit here.
"""
import functools
from collections.abc import Callable
from dataclasses import Field, dataclass, field, fields
from typing import Any

from autograder import backends
from autograder.cgroups import CgroupSystem


def limit(default: float, unit: str, flag: str, help: str) -> Any:
    """One limit, declared once: its default, its unit, its command-line flag and what it bounds."""
    return field(default=default, metadata={"unit": unit, "flag": flag, "help": help})


@dataclass(frozen=True)
class Limits:
    """The limits on one submission. Each field is a command-line option (add_options) with this default."""

    call_timeout: float = limit(10.0, "s", "--call-timeout", "wall seconds to load the cell, and for each call")
    submission_timeout: float = limit(120.0, "s", "--submission-timeout",
                                      "wall seconds for all the calls of one submission")
    cpu_seconds: int = limit(60, "s", "--cpu-seconds",
                             "CPU seconds of each student process, for each part it runs")
    memory_mib: int = limit(4096, "MiB", "--memory-limit",
                            "memory of a submission's processes together (of each process, without cgroups)")
    pids: int = limit(64, "", "--pids-limit", "processes and threads of a submission at once")
    cpus: float = limit(1.0, "core", "--cpus", "cores a submission may keep busy at once")
    disk_mib: int = limit(64, "MiB", "--disk-limit", "size of each writable place: /tmp, /dev/shm and the home")

    @property
    def memory_bytes(self) -> int:
        return int(self.memory_mib) * 2**20

    @property
    def disk_bytes(self) -> int:
        return int(self.disk_mib) * 2**20


def declared() -> "list[Field[Any]]":
    """The limits' declarations, in order."""
    return list(fields(Limits))


@functools.cache
def cgroup_system() -> "tuple[CgroupSystem | None, str]":
    """(CgroupSystem or None, why not): where submissions' groups are made."""
    return CgroupSystem.detect()


def remove_stale_cgroups() -> None:
    system, _ = cgroup_system()
    if system:
        system.remove_stale()


def limits_report(limits: Limits, use_gpu: bool = False) -> "dict[str, str]":
    """What held each limit in this run, for the report."""
    system, why = cgroup_system()
    tree = system.mechanism if system else None
    mib = limits.memory_mib
    cpu_time = f"{limits.cpu_seconds} s per process and part (rlimit)"
    memory = f"{mib} MiB per process (rlimit; {why})" if not use_gpu else f"none ({why})"
    return {
        "memory": f"{mib} MiB per submission ({tree})" if tree else memory,
        "processes": f"{limits.pids} per submission ({tree})" if tree else f"none ({why})",
        "cpu": f"{limits.cpus:g} core(s) per submission ({tree}), {cpu_time}" if tree else cpu_time,
        "disk": f"{limits.disk_mib} MiB {backends.current().disk_words}",
        "wall": f"{limits.call_timeout:g} s per call, {limits.submission_timeout:g} s per submission",
    }



def add_options(add: "Callable[..., object]") -> None:
    """Add every limit as an option with `add` (argparse's add_argument, or pytest's addoption)."""
    for f in declared():
        unit = f" {f.metadata['unit']}" if f.metadata["unit"] else ""
        add(f.metadata["flag"], dest=f.name, type=type(f.default), default=f.default,
            help=f"{f.metadata['help']} (default: %(default)s{unit})")


def from_options(get: "Callable[[str], Any]") -> Limits:
    """Limits from the parsed options; `get(dest)` reads one."""
    return Limits(**{f.name: get(f.name) for f in declared()})
