"""The fallback: the zygote as a plain process of the grader's user, with rlimits and cgroups only."""
from autograder.backends.base import Backend


class Process(Backend):
    name = "process"
    isolates_host = False
    student_words = "processos separados (sem bubblewrap neste contêiner)"
    disk_words = "per file (rlimit)"

    def available(self) -> bool:
        return True

    def describe(self) -> str:
        return ("bubblewrap (bwrap) is not available here: student code runs in separate processes with limits, "
                "but can read your files, use the network and signal your processes. Install bubblewrap "
                "(Debian: apt-get install bubblewrap) for the sandbox.")
