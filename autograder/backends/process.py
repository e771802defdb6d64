"""The fallback: the zygote as a plain process of the grader's user, with rlimits and cgroups only."""
import os

from autograder.backends.base import Backend


class Process(Backend):
    name = "process"
    isolates_host = False
    student_words = "processos separados (sem bubblewrap neste contêiner)"
    disk_words = "per file (rlimit)"

    def available(self) -> bool:
        return True

    def describe(self) -> str:
        who = "your user"
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            who = ("root (create an unprivileged user for it: useradd --system --user-group --no-create-home "
                   "autograder-student, or name one in AUTOGRADER_STUDENT_USER)")
        return (f"bubblewrap (bwrap) is not available here: student code runs in separate processes with limits, "
                f"as {who}, so it can read your files, use the network and signal your processes. Install "
                "bubblewrap (Debian: apt-get install bubblewrap) for the sandbox.")
