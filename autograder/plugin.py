"""The pytest plugin behind the hidden tests (loaded by autograder/hidden/conftest.py).

    pytest autograder/hidden                          # grades the reference solutions
    pytest autograder/hidden --submission NB.ipynb    # grades one notebook

It adds the options, the `part` and `torch_device` fixtures, and turns each
test's outcome into a status and points (runner.classify, report.py), printed
at the end as the submission's score.
"""
from collections import defaultdict
from pathlib import Path

import pytest

from autograder import report
from autograder.notebook import Submission, load_submission, read_regular_file
from autograder.parts import PARTS, PARTS_BY_ID
from autograder.runner import NoCell, PartClient, classify, cuda_available, new_seed
from autograder.sandbox import Limits, Session, isolation

_SUBMISSION = pytest.StashKey[Submission]()
_OUTCOMES = pytest.StashKey[dict]()
_SEED = pytest.StashKey[int]()


def pytest_addoption(parser):
    group = parser.getgroup("autograder")
    group.addoption("--submission", default="reference", help="notebook to grade; 'reference' grades solutions/")
    group.addoption("--student", default=None, help="name in the report (default: the notebook's stem)")
    group.addoption("--call-timeout", type=float, default=Limits.call_timeout, help="seconds per call of student code")
    group.addoption("--submission-timeout", type=float, default=Limits.submission_timeout,
                    help="seconds for all the calls of one submission")
    group.addoption("--memory-limit", type=int, default=Limits.memory_bytes // 2**20,
                    help="MiB of address space per student process")
    group.addoption("--device", choices=("cpu", "cuda", "auto"), default="auto", help="devices for the torch tests")
    group.addoption("--seed", type=int, default=None, help="seed of the hidden inputs (default: a secret one)")


def reference_submission():
    from solutions.sync import reference_source

    return Submission("reference", "solutions/", {gid: reference_source(p) for gid, p in PARTS_BY_ID.items()})


def pytest_configure(config):
    if config.getoption("--device") == "cuda" and not cuda_available():
        raise pytest.UsageError("--device cuda: CUDA is not available on this machine")
    path = config.getoption("--submission")
    sub = reference_submission() if path == "reference" else load_submission(path, config.getoption("--student"))
    if sub.error:
        raise pytest.UsageError(sub.error)
    config.stash[_SUBMISSION] = sub
    config.stash[_OUTCOMES] = defaultdict(list)
    config.stash[_SEED] = config.getoption("--seed") if config.getoption("--seed") is not None else new_seed()


def use_cuda(config):
    return config.getoption("--device") != "cpu" and cuda_available()


def pytest_collection_modifyitems(config, items):
    for item in items:
        part, name = part_of(item), item.originalname
        if part not in PARTS_BY_ID or name not in PARTS_BY_ID[part].tests:
            raise pytest.UsageError(f"{item.nodeid}: not in the points table (autograder/parts.py)")


def part_of(item):
    return item.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")


def limits(config):
    return Limits(
        call_timeout=config.getoption("--call-timeout"),
        submission_timeout=config.getoption("--submission-timeout"),
        memory_bytes=config.getoption("--memory-limit") * 2**20,
    )


@pytest.fixture(scope="session")
def processes(pytestconfig):
    """One student process per part, started on first use; all gone at the end."""
    sub = pytestconfig.stash[_SUBMISSION]
    files = {Path(sub.path).name: read_regular_file(sub.path)} if Path(sub.path).is_file() else {}
    seed = pytestconfig.stash[_SEED]
    with Session(limits(pytestconfig), use_gpu=use_cuda(pytestconfig), files=files, seed=seed) as session:
        yield {p.grade_id: PartClient(p.grade_id, session.part(sub.cells[p.grade_id]) if p.grade_id in sub.cells
                                      else NoCell(p.grade_id, sub.refused.get(p.grade_id)), seed)
               for p in PARTS}


@pytest.fixture
def part(request, processes):
    return processes[part_of(request.node)]


@pytest.fixture(params=["cpu", "cuda"])
def torch_device(request):
    """Every torch test runs on the CPU, and on CUDA when the machine has it."""
    if request.param == "cuda" and not use_cuda(request.config):
        pytest.skip("CUDA is not available on the grading machine (or --device cpu)")
    return request.param


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" or (rep.when == "setup" and not rep.passed):
        exc = call.excinfo.value if call.excinfo else None
        status, message = ("skipped", str(exc.msg)) if isinstance(exc, pytest.skip.Exception) else classify(exc)
        variant = item.callspec.id if hasattr(item, "callspec") else ""
        item.config.stash[_OUTCOMES][(part_of(item), item.originalname)].append((variant, status, message[:1000]))


def pytest_terminal_summary(terminalreporter, config):
    sub = config.stash[_SUBMISSION]
    result = report.submission_result(sub.student, sub.path, config.stash[_OUTCOMES], sub.notes)
    terminalreporter.section(f"autograder score (isolation: {isolation()})")
    for grade_id, part in result["parts"].items():
        terminalreporter.line(f"{grade_id:18} {part['score']:5g} / {part['max_score']:g}")
    for note in result["notes"]:
        terminalreporter.line(f"note: {note}")
    terminalreporter.line(f"{'total':18} {result['score']:5g} / {result['max_score']:g}")
