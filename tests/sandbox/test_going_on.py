"""Parts go on in one process, as a kernel goes on down the notebook, and start fresh where that would not be
the same run (session.py: Session.take_spare)."""
import pytest

from autograder.errors import StudentCrash, StudentError
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


def burn_in_two_parts(limits, first_seconds, second_seconds):
    """[pid, pid] of two parts that go on in one process, each burning CPU; StudentCrash at a CPU limit."""
    first, second = BUSY.format(n=1), BUSY.format(n=2)
    with Session(limits, TINY_ASSIGNMENT) as session:
        one = session.part(Answer(first))
        pid1 = int(one.request("call", name="burn1", args=[first_seconds])["value"].items[0])
        one.release()
        two = session.part(Answer(second, before=(first,)))
        return [pid1, int(two.request("call", name="burn2", args=[second_seconds])["value"].items[0])]


def test_each_part_has_a_fresh_processs_cpu_time_in_a_process_that_goes_on():
    limits = Limits(call_timeout=20, cpu_seconds=1)
    pid1, pid2 = burn_in_two_parts(limits, 0.7, 0.7)  # 1.4 s in all: over the 1 s of one part
    assert pid1 == pid2
    # Control: the same 1.4 s in one part is over its limit.
    with Session(limits, TINY_ASSIGNMENT) as session, pytest.raises(StudentCrash, match="limite de tempo de CPU"):
        session.part(Answer(BUSY.format(n=1))).request("call", name="burn1", args=[1.4])


def test_what_a_part_leaves_of_its_cpu_time_is_not_the_next_ones():
    # Part 1 uses a tenth of its 2 s; part 2 has its own 2 s (from the next whole second), not part 1's rest.
    with pytest.raises(StudentCrash, match="limite de tempo de CPU"):
        burn_in_two_parts(Limits(call_timeout=20, cpu_seconds=2), 0.1, 3.2)


def test_the_settings_a_parts_checks_change_are_put_back_for_the_next_part():
    # The checks of part 1 run a constructor that sets torch's default dtype and NumPy's error handling: as
    # part 1's cells left them, part 2 finds them (in a kernel, only the cells would have run).
    setter = ("import numpy as np, torch\ndef probe(x):\n    torch.set_default_dtype(torch.float64)\n"
              "    np.seterr(all='raise')\n    return [str(torch.get_default_dtype()), np.geterr()['divide']]\n")
    reader = "def probe2(x):\n    return [str(torch.get_default_dtype()), np.geterr()['divide']]\n"
    with Session(LIMITS, TINY_ASSIGNMENT) as session:
        first = session.part(Answer(setter))
        changed = first.request("call", name="probe", args=[1.0])["value"].items
        again = first.request("call", name="probe", args=[1.0])["value"].items  # control: they hold within a part
        first.release()
        found = session.part(Answer(reader, before=(setter,))).request("call", name="probe2", args=[1.0])
    assert changed == again == ["torch.float64", "raise"]
    assert found["value"].items == ["torch.float32", "warn"]


def test_a_cell_cut_short_between_two_parts_is_not_gone_on_from():
    slow = "import time\ntime.sleep(30)"
    third = "def probe3(x):\n    return [os.getpid(), len(left)]\n"
    with Session(Limits(call_timeout=2), TINY_ASSIGNMENT) as session:
        (pid1, _), (pid2, _), (pid3, _) = parts(
            session, (Answer(FIRST), "probe"), (Answer(SECOND, before=(FIRST, slow)), "probe2"),
            (Answer(third, before=(FIRST, slow, SECOND)), "probe3"))
    assert len({pid1, pid2, pid3}) == 3


def test_a_child_the_student_left_running_is_not_gone_on_with():
    forker = FIRST + "def spawn(x):\n    if os.fork() == 0:\n        import time\n        time.sleep(60)\n" \
                     "        os._exit(0)\n    return [os.getpid(), 0]\n"
    with Session(LIMITS, TINY_ASSIGNMENT) as session:
        (pid1, _), (pid2, _) = parts(session, (Answer(forker), "spawn"), (Answer(SECOND, before=(forker,)), "probe2"))
        ((pid3, _),) = parts(session, (Answer(SECOND + "z = 1\n", before=(forker, SECOND)), "probe2"))
    assert pid1 != pid2 and pid2 == pid3  # control: without a child left, the next part goes on


def test_an_error_names_the_line_of_the_current_parts_cell_and_not_an_earlier_parts():
    helper = "def helper(x):\n    return x.nope\n"
    caller = "def probe2(x):\n    y = 1\n    return helper(x)\n"
    with Session(LIMITS, TINY_ASSIGNMENT) as session:
        first = session.part(Answer(helper + FIRST))
        ask(first)
        first.release()
        second = session.part(Answer(caller, before=(helper + FIRST,)))
        with pytest.raises(StudentError) as error:
            second.request("call", name="probe2", args=[1.0])
    assert "linha 3 da sua célula: return helper(x)" in str(error.value)
