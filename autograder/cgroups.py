"""Limits on a submission's whole process tree: memory, process count and CPU, with cgroups.

A process limit (RLIMIT_AS) lets three processes of one submission hold three
times the memory; a cgroup bounds them together, and its counters tell the
grader afterwards which limit a crash hit. Both cgroup versions are handled:
v1 (one hierarchy per controller, e.g. /sys/fs/cgroup/memory) and v2 (one
unified hierarchy). Where neither can be written (no root, no delegation),
`CgroupSystem.detect()` returns None with the reason, and the sandbox falls
back to per-process rlimits, which the report then names.

Each submission gets a fresh group `autograder-<grader pid>-<n>` under the
grader's own; groups left by a grader that was killed are removed the next
time one starts.
"""
import itertools
import os
import signal
import time
from pathlib import Path
from typing import TypeAlias

PREFIX = "autograder-"
CPU_PERIOD_US = 100_000
_counter = itertools.count()
Mount: TypeAlias = "tuple[str, str, set[str]]"  # (fstype, mount point, options), as /proc/self/mounts has it


def _read_counter(path: Path, key: str) -> int:
    """`key N` from a flat-keyed cgroup file (memory.events, pids.events, memory.oom_control)."""
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


def _mounts() -> "list[Mount]":
    """[(fstype, mount point, options)] of cgroup file systems."""
    found = []
    try:
        with open("/proc/self/mounts") as f:
            for line in f:
                _, point, fstype, options = line.split()[:4]
                if fstype in ("cgroup", "cgroup2"):
                    found.append((fstype, point.replace("\\040", " "), set(options.split(","))))
    except OSError:
        pass
    return found


def _own_paths() -> "dict[str, str]":
    """{controller or "": path of this process's group} from /proc/self/cgroup."""
    paths = {}
    try:
        with open("/proc/self/cgroup") as f:
            for line in f:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                for name in controllers.split(",") if controllers else [""]:
                    paths[name] = path
    except OSError:
        pass
    return paths


def _pid_alive(pid: int) -> bool:
    """Whether `pid` runs; a zombie does not (in a container whose init never reaps, they stay)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        return True


class Cgroup:
    """One submission's group, in every controller directory it spans."""

    def __init__(self, system: "CgroupSystem", name: str, create: bool = True):
        self.system, self.name = system, name
        self.dirs = {role: base / name for role, base in system.bases.items()}
        for path in set(self.dirs.values()) if create else ():
            path.mkdir()

    def limit(self, memory_bytes: int, pids: int, cpus: float) -> None:
        d = self.dirs
        if self.system.version == 1:
            (d["memory"] / "memory.limit_in_bytes").write_text(str(memory_bytes))
            swap = d["memory"] / "memory.memsw.limit_in_bytes"
            if swap.exists():
                swap.write_text(str(memory_bytes))
            (d["pids"] / "pids.max").write_text(str(pids))
            (d["cpu"] / "cpu.cfs_period_us").write_text(str(CPU_PERIOD_US))
            (d["cpu"] / "cpu.cfs_quota_us").write_text(str(int(cpus * CPU_PERIOD_US)))
        else:
            (d["memory"] / "memory.max").write_text(str(memory_bytes))
            if (d["memory"] / "memory.swap.max").exists():
                (d["memory"] / "memory.swap.max").write_text("0")
            (d["pids"] / "pids.max").write_text(str(pids))
            if (d["cpu"] / "cpu.max").exists():
                (d["cpu"] / "cpu.max").write_text(f"{int(cpus * CPU_PERIOD_US)} {CPU_PERIOD_US}")

    def attach(self, pid: int) -> None:
        """Move `pid` (and so every process it starts later) into this group."""
        for path in set(self.dirs.values()):
            (path / "cgroup.procs").write_text(str(pid))

    def oom_kills(self) -> int:
        """How many processes the kernel killed for going over the memory limit."""
        if self.system.version == 1:
            return _read_counter(self.dirs["memory"] / "memory.oom_control", "oom_kill")
        return _read_counter(self.dirs["memory"] / "memory.events", "oom_kill")

    def pids_refused(self) -> int:
        """How many forks the process limit refused."""
        return _read_counter(self.dirs["pids"] / "pids.events", "max")

    def pids(self) -> "set[int]":
        found: "set[int]" = set()
        for path in set(self.dirs.values()):
            try:
                found |= {int(p) for p in (path / "cgroup.procs").read_text().split()}
            except (OSError, ValueError):
                pass
        return found

    def kill(self, timeout: float = 5.0) -> bool:
        """SIGKILL every process in the group; True once it is empty."""
        deadline = time.monotonic() + timeout
        kill_file = self.dirs["pids"] / "cgroup.kill"
        while True:
            pids = self.pids()
            if not pids:
                return True
            if time.monotonic() > deadline:
                return False
            if self.system.version == 2 and kill_file.exists():
                try:
                    kill_file.write_text("1")
                except OSError:
                    pass
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.002)

    def remove(self) -> bool:
        """Kill what is left and delete the group; False if the kernel still holds it."""
        self.kill()
        removed = True
        for path in set(self.dirs.values()):
            for _ in range(500):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)
            else:
                removed = False
        return removed


class CgroupSystem:
    """Where this grader may create groups: a base directory per role (memory, pids, cpu)."""

    def __init__(self, version: int, bases: "dict[str, Path]"):
        self.version, self.bases = version, bases

    @property
    def mechanism(self) -> str:
        return f"cgroup v{self.version}"

    def create(self) -> Cgroup:
        return Cgroup(self, f"{PREFIX}{os.getpid()}-{next(_counter)}")

    def remove_stale(self) -> None:
        """Groups left by graders that were killed: their processes are gone, delete them."""
        names = {path.name for base in set(self.bases.values()) for path in base.glob(f"{PREFIX}*")}
        for name in names:
            try:
                owner = int(name[len(PREFIX) :].split("-")[0])
            except ValueError:
                continue
            if not _pid_alive(owner):
                Cgroup(self, name, create=False).remove()

    @classmethod
    def detect(cls, mounts: "list[Mount] | None" = None,
               own: "dict[str, str] | None" = None) -> "tuple[CgroupSystem | None, str]":
        """The cgroup system this process can use, or None and why not.

        `mounts` ([(fstype, mount point, options)]) and `own` ({controller: path})
        default to this process's; tests pass a fake tree.
        """
        mounts = _mounts() if mounts is None else mounts
        own = _own_paths() if own is None else own
        v1: "dict[str, Path]" = {}
        for fstype, point, options in mounts:
            for role in ("memory", "pids", "cpu"):
                if fstype == "cgroup" and role in options and role in own:
                    v1[role] = Path(point) / own[role].lstrip("/")
        if len(v1) == 3:
            system = cls(1, v1)
        else:
            unified = [point for fstype, point, _ in mounts if fstype == "cgroup2"]
            if not unified or "" not in own:
                return None, "no cgroup v1 memory, pids and cpu controllers, and no cgroup v2 hierarchy"
            base = Path(unified[0]) / own[""].lstrip("/")
            try:
                available = set((base / "cgroup.controllers").read_text().split())
            except OSError as exc:
                return None, f"cgroup v2: {exc}"
            if not {"memory", "pids"} <= available:
                return None, f"cgroup v2: memory and pids controllers are not delegated to {base}"
            try:  # children of our group get the controllers; fails while our group holds processes
                wanted = {"memory", "pids", "cpu"} & available
                (base / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in sorted(wanted)))
            except OSError as exc:
                return None, f"cgroup v2: cannot enable controllers in {base} ({exc.strerror})"
            system = cls(2, {"memory": base, "pids": base, "cpu": base})
        try:  # can we really create a group here?
            system.create().remove()
        except OSError as exc:
            return None, f"{system.mechanism}: cannot create a group ({exc.strerror})"
        system.remove_stale()
        return system, ""
