"""Parts go on in one process, as a kernel goes on down the notebook, and start fresh where that would not be
the same run (session.py: Session.take_spare)."""
import pytest

from autograder.errors import StudentCrash
from autograder.limits import Limits
from autograder.notebook import Answer
from autograder.session import Session
from tests.helpers import TINY_ASSIGNMENT

pytestmark = pytest.mark.slow
LIMITS = Limits(call_timeout=20)
FIRST = "import os\nleft = []\ndef probe(x):\n    left.append(x)\n    return [os.getpid(), len(left)]\n"
SECOND = "def probe2(x):\n    left.append(x)\n    return [os.getpid(), len(left)]\n"


def ask(part, name="probe", *args):
    return [int(v) for v in part.request("call", name=name, args=list(args or [1.0]))["value"].items]


def parts(session, *answers):
    """Each answer's part run as the runner runs it: called, then released; [pid, calls seen] of each."""
    seen = []
    for answer, name in answers:
        part = session.part(answer)
        seen.append(ask(part, name))
        part.release()
    return seen


def test_a_part_goes_on_in_the_last_parts_process_as_a_kernel_would():
    with Session(LIMITS, TINY_ASSIGNMENT) as session:
        (pid1, calls1), (pid2, calls2) = parts(session, (Answer(FIRST), "probe"),
                                               (Answer(SECOND, before=(FIRST,)), "probe2"))
    assert pid1 == pid2
    assert (calls1, calls2) == (1, 2)  # what the first part's checks did stays, as a test cell's does in a kernel


def test_a_part_whose_cells_do_not_begin_with_the_last_ones_starts_fresh():
    # Control of the test above: the second part's cells do not begin with the first's (an answer moved up).
    with Session(LIMITS, TINY_ASSIGNMENT) as session:
        (pid1, _), (pid2, calls2) = parts(session, (Answer(FIRST), "probe"),
                                          (Answer(SECOND, before=("x = 1", FIRST)), "probe2"))
    assert pid1 != pid2 and calls2 == 1


def test_a_part_after_a_crash_starts_fresh_and_is_graded():
    crasher = FIRST + "def boom():\n    os._exit(3)\n"
    with Session(LIMITS, TINY_ASSIGNMENT) as session:
        first = session.part(Answer(crasher))
        pid1, _ = ask(first)
        with pytest.raises(StudentCrash):
            first.request("call", name="boom", args=[])
        first.release()
        second = session.part(Answer(SECOND, before=(crasher,)))
        pid2, calls = ask(second, "probe2")
    assert pid2 != pid1 and calls == 1


def test_a_part_after_a_cell_cut_short_starts_fresh():
    # The first part's cell after its answer outlives its time (call_timeout / 2) and is cut short: no kernel
    # run top to bottom holds that state, so the next part runs everything again in a fresh process.
    slow = "import time\ntime.sleep(30)\nfinished = True"
    limits = Limits(call_timeout=2)
    with Session(limits, TINY_ASSIGNMENT) as session:
        (pid1, _), (pid2, _) = parts(session, (Answer(FIRST, after=(slow,)), "probe"),
                                     (Answer(SECOND, before=(FIRST, slow)), "probe2"))
    assert pid1 != pid2


BUSY = ("import os, time\ndef burn{n}(seconds):\n    end = time.process_time() + seconds\n"
        "    while time.process_time() < end:\n        pass\n    return [os.getpid(), 0]\n")


def test_each_part_has_a_fresh_processs_cpu_time_in_a_process_that_goes_on():
    limits = Limits(call_timeout=20, cpu_seconds=1)
    first, second = BUSY.format(n=1), BUSY.format(n=2)
    with Session(limits, TINY_ASSIGNMENT) as session:
        one = session.part(Answer(first))
        pid1 = int(one.request("call", name="burn1", args=[0.7])["value"].items[0])
        one.release()
        two = session.part(Answer(second, before=(first,)))
        pid2 = int(two.request("call", name="burn2", args=[0.7])["value"].items[0])  # 1.4 s in all: over 1 s
    assert pid1 == pid2
    # Control: the same 1.4 s in one part is over its limit.
    with Session(limits, TINY_ASSIGNMENT) as session, pytest.raises(StudentCrash, match="limite de tempo de CPU"):
        session.part(Answer(first)).request("call", name="burn1", args=[1.4])
