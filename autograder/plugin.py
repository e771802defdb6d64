"""pytest as a front end to the runner (loaded by <course>/solutions/<name>/hidden/conftest.py).

    pytest <course>/solutions/<name>/hidden                          # grades the reference solutions
    pytest <course>/solutions/<name>/hidden --submission NB.ipynb    # grades one notebook

It adds the same options as the command line, the `part` and `torch_device`
fixtures (the devices from runner.devices), and turns each test's outcome
into a status and points by the runner's rules, printed at the end as the
submission's score.
"""
from collections import defaultdict
from pathlib import Path

import pytest

from autograder import assignment as assignments
from autograder import backends, results
from autograder import limits as limit_options
from autograder.notebook import Answer, Submission, load_submission, read_regular_file
from autograder.results import Run, Status
from autograder.runner import NoCell, PartClient, classify, devices, new_seed
from autograder.session import Session
from autograder.tools.sync import reference_source

_ASSIGNMENT = pytest.StashKey[assignments.Assignment]()
_SUBMISSION = pytest.StashKey[Submission]()
_OUTCOMES = pytest.StashKey[defaultdict[tuple[str, str], list[Run]]]()
_SEED = pytest.StashKey[int]()


def pytest_addoption(parser):
    group = parser.getgroup("autograder")
    group.addoption("--submission", default="reference", help="notebook to grade; 'reference' grades the reference")
    group.addoption("--student", default=None, help="name in the report (default: the notebook's stem)")
    group.addoption("--assignment", default=None, help="the assignment's folder (default: the one holding the tests)")
    limit_options.add_options(group.addoption)
    group.addoption("--device", choices=("cpu", "cuda", "auto"), default="auto", help="devices for the torch tests")
    group.addoption("--seed", type=int, default=None, help="seed of the hidden inputs (default: a secret one)")


def assignment_of(config):
    """--assignment, or the folder above the tests named on the command line that has an assignment.py."""
    if config.getoption("--assignment"):
        return assignments.load(config.getoption("--assignment"))
    start = Path(str(config.args[0]).split("::")[0]).resolve() if config.args else Path.cwd()
    folder = next((d for d in [start, *start.parents] if (d / "assignment.py").is_file()), None)
    if folder is None:
        raise pytest.UsageError(f"{start}: no assignment.py here or above; name one with --assignment")
    return assignments.load(folder)


def pytest_configure(config):
    assignment = assignment_of(config)
    try:
        devices(config.getoption("--device"))
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    path = config.getoption("--submission")
    if path == "reference":
        sub = Submission("reference", assignment.folder, {p.grade_id: Answer(reference_source(assignment, p))
                                                          for p in assignment.parts})
    else:
        sub = load_submission(assignment, path, config.getoption("--student"))
    if sub.error:
        raise pytest.UsageError(sub.error)
    config.stash[_ASSIGNMENT] = assignment
    config.stash[_SUBMISSION] = sub
    config.stash[_OUTCOMES] = defaultdict(list)
    config.stash[_SEED] = config.getoption("--seed") if config.getoption("--seed") is not None else new_seed()


def pytest_generate_tests(metafunc):
    if "torch_device" in metafunc.fixturenames:
        metafunc.parametrize("torch_device", devices(metafunc.config.getoption("--device")))


def part_of(item):
    return item.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")


def pytest_collection_modifyitems(config, items):
    tests = config.stash[_ASSIGNMENT].tests
    for item in items:
        if item.originalname not in [t.name for t in tests.get(part_of(item), [])]:
            raise pytest.UsageError(f"{item.nodeid}: not a test of the assignment's parts (is it marked @points?)")


@pytest.fixture(scope="session")
def processes(pytestconfig):
    """One student process per part, started on first use; all gone at the end."""
    assignment, sub = pytestconfig.stash[_ASSIGNMENT], pytestconfig.stash[_SUBMISSION]
    files = {Path(sub.path).name: read_regular_file(sub.path)} if Path(sub.path).is_file() else {}
    seed, use_gpu = pytestconfig.stash[_SEED], "cuda" in devices(pytestconfig.getoption("--device"))
    limits = limit_options.from_options(lambda dest: pytestconfig.getoption(dest))
    with Session(limits, assignment, use_gpu=use_gpu, files=files, seed=seed) as session:
        yield {p.grade_id: PartClient(p.grade_id, session.part(sub.cells[p.grade_id]) if p.grade_id in sub.cells
                                      else NoCell(p.grade_id, sub.refused.get(p.grade_id)), seed,
                                      tuple(devices(pytestconfig.getoption("--device"))))
               for p in assignment.parts}


@pytest.fixture
def part(request, processes):
    return processes[part_of(request.node)]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" or (rep.when == "setup" and not rep.passed):
        exc = call.excinfo.value if call.excinfo else None
        several = len(devices(item.config.getoption("--device"))) > 1  # as the runner labels runs
        variant = item.callspec.params.get("torch_device", "") if several and hasattr(item, "callspec") else ""
        if isinstance(exc, pytest.skip.Exception):
            run = Run(variant, Status.SKIPPED, str(exc.msg))
        else:
            run = classify(exc, variant)
        item.config.stash[_OUTCOMES][(part_of(item), item.originalname)].append(run)


def pytest_terminal_summary(terminalreporter, config):
    assignment, sub = config.stash[_ASSIGNMENT], config.stash[_SUBMISSION]
    result = results.submission_result(assignment, sub.student, sub.path, config.stash[_OUTCOMES], sub.notes)
    terminalreporter.section(f"autograder score (isolation: {backends.current().name})")
    for grade_id, part in result.parts.items():
        terminalreporter.line(f"{grade_id:18} {part.score:5g} / {part.max_score:g}")
    for note in result.notes:
        terminalreporter.line(f"note: {note}")
    terminalreporter.line(f"{'total':18} {result.score:5g} / {result.max_score:g}")
