"""What every isolation backend provides (see bubblewrap.py and process.py), and the layout they share."""
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent  # the grader's `autograder` package
INSIDE = PACKAGE / "inside"  # all the student's process may import of the grader
SANDBOX_HOME = "/home/student"
FRESH = (("/tmp", "1777"), ("/dev/shm", "1777"), (SANDBOX_HOME, "700"))  # writable, fresh for every submission


def python_roots() -> "list[str]":
    """The directories the student's interpreter needs, read-only."""
    roots = {"/usr"}
    for prefix in (sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(sys.executable).resolve().parent.parent)):
        if not any(Path(prefix).is_relative_to(root) for root in roots):
            roots.add(prefix)
    return sorted(roots)


def kept_roots() -> "list[str]":
    """Python roots inside a place each submission gets fresh (a venv under /tmp): kept visible above it."""
    return [root for root in python_roots() if any(Path(root).is_relative_to(place) for place, _ in FRESH)]


class Backend:
    """One way of starting the zygote. `wrap` turns the zygote's command into the one to run."""

    name = ""  # what the report's "isolation" field says
    isolates_host = False  # student code can read no host file, reach no network and signal no grader process
    student_words = ""  # how the isolation is told to a student (Portuguese, Gradescope's output)
    disk_words = ""  # what bounds the disk, for the report's limits

    def available(self) -> bool:
        raise NotImplementedError

    def package_parent(self, package: Path) -> str:
        """Where the zygote finds the grader's `autograder` package."""
        return str(package.parent)

    def home(self, scratch: "str | None") -> str:
        """The zygote's HOME."""
        return str(scratch)

    def needs_scratch(self) -> bool:
        """Whether the grader makes the zygote a scratch folder on the host (no fresh mounts of its own)."""
        return not self.isolates_host

    def wrap(self, cmd: "list[str]", env: "dict[str, str]", use_gpu: bool, disk_bytes: int,
             hide: "tuple[str | Path, ...]") -> "list[str]":
        """The command that starts the zygote `cmd` under this isolation."""
        return cmd

    def describe(self) -> str:
        """For the grader's warning when the isolation is weaker than a sandbox (empty when it is not)."""
        return ""
