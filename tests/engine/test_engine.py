"""The engine names no assignment: it grades any one described as data, like the tiny course under tests/."""
import ast
import json
import re
import shutil
import subprocess
import sys

import nbformat
import pytest

from autograder import assignment as assignments
from tests.helpers import REPO, TINY, TINY_CORPUS, grade

ENGINE = REPO / "autograder"


def engine_files():
    return sorted(ENGINE.rglob("*.py"))


def vocabulary(assignment) -> set:
    """What only an assignment says: its name, its parts, its mistakes, the torch.nn types its tests load."""
    loaded = {t for p in (assignment.folder / "hidden").glob("*.py")
              for t in re.findall(r'"type": "(\w+)"', p.read_text())}
    return {assignment.name, *(p.grade_id for p in assignment.parts), *assignment.mistakes, *loaded}


def test_the_engine_names_no_assignment():
    words = set().union(*(vocabulary(assignments.load(folder)) for folder in assignment_folders()))
    assert {"rnn_forward", "lstm_state", "RNNCell", "LSTMCell", "missing_bias"} <= words  # what it looks for
    for path in engine_files():
        text = path.read_text()
        assert not [w for w in words if w in text], f"{path} names the assignment: {[w for w in words if w in text]}"


def imported_modules(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module


def test_the_code_inside_the_sandbox_imports_only_itself_numpy_and_torch():
    allowed = set(sys.stdlib_module_names) | {"numpy", "torch"}
    for path in sorted((ENGINE / "inside").glob("*.py")):
        for module in imported_modules(path):
            top = module.split(".")[0]
            assert top in allowed or module.startswith("autograder.inside"), f"{path} imports {module}"


def test_a_test_without_points_is_refused_when_the_assignment_loads(tmp_path):
    folder = tmp_path / "solutions" / "bare"
    (folder / "hidden").mkdir(parents=True)
    (folder / "assignment.py").write_text(
        "from autograder.assignment import Assignment, Part\n"
        "ASSIGNMENT = Assignment(name='bare', parts=(Part('f', defines='f', reference='ref'),))\n")
    (folder / "hidden" / "test_f.py").write_text("def test_forgot_its_points(part):\n    pass\n")
    with pytest.raises(ValueError, match="@points"):
        assert assignments.load(folder).tests


def test_points_and_tests_come_from_the_hidden_test_files():
    tiny = assignments.load(TINY / "solutions" / "tiny")
    assert [(t.name, t.points) for t in tiny.tests["square"]] == [
        ("test_keeps_the_shape", 1.0), ("test_values_match_the_reference", 1.0)]
    assert tiny.max_score == sum(t.points for tests in tiny.tests.values() for t in tests) == 4
    assert tiny.source_notebook == TINY / "source" / "tiny" / "tiny.ipynb"


@pytest.mark.slow
def test_a_second_assignment_with_a_tuple_state_is_graded_in_the_sandbox(tmp_path):
    """The tiny course's LSTM-style part takes and returns (h, c); no engine file names it."""
    cases = ["correct_reference", "square_doubles", "memory_swaps_the_state", "memory_detaches_the_state"]
    for case in cases:
        TINY_CORPUS.build(case, tmp_path)
    out = tmp_path / "report.json"
    grade(tmp_path, "--assignment", TINY / "solutions" / "tiny", "--json", out, "--device", "cpu", "--workers", 1)
    report = json.loads(out.read_text())
    rows = {row["student"]: row for row in report["submissions"]}
    assert report["assignment"] == "tiny" and report["isolation"] in ("bubblewrap", "process")
    for case in cases:
        assert {g: p["score"] for g, p in rows[case]["parts"].items()} == TINY_CORPUS.expected_scores(case), case
    statuses = [t["status"] for t in rows["memory_detaches_the_state"]["parts"]["lstm_state"]["tests"]]
    assert statuses == ["passed", "failed"]  # the state is right, its gradient never reaches (h, c)


@pytest.mark.slow
def test_a_course_with_one_assignment_needs_no_assignment_option(tmp_path):
    nbformat.write(nbformat.read(TINY / "source" / "tiny" / "tiny.ipynb", as_version=4), tmp_path / "ana.ipynb")
    out = tmp_path / "report.json"
    grade(tmp_path / "ana.ipynb", "--json", out, "--device", "cpu", cwd=TINY)
    assert json.loads(out.read_text())["submissions"][0]["score"] == TINY_CORPUS.assignment.max_score


def assignment_folders():
    return sorted(p.parent for p in [*REPO.glob("solutions/*/assignment.py"), *TINY.glob("solutions/*/assignment.py")])


def forbidden_imports(path) -> list:
    """What a file of an assignment imports from the engine other than autograder.authoring, and the hidden
    test modules it imports (each test module stands alone; what they share is in a module of its own)."""
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom):
            names = [node.module or ""] if node.level == 0 else [f".{node.module or ''}"]
            if node.level and not node.module:  # from . import test_x
                names += [f".{a.name}" for a in node.names]
        for name in names:
            engine = name.split(".")[0] == "autograder" and name != "autograder.authoring"
            if engine or name.lstrip(".").split(".")[-1].startswith("test_"):
                found.append(name)
    return found


def test_assignments_import_only_the_authoring_module(tmp_path):
    files = [p for folder in assignment_folders() for p in folder.rglob("*.py")
             if p.name != "conftest.py" and "examples" not in p.parts]  # conftest loads the pytest plugin
    assert len(assignment_folders()) >= 2 and files
    for path in files:
        assert forbidden_imports(path) == [], path
    # Control: what the rule is there to catch.
    (tmp_path / "test_x.py").write_text("from autograder.session import Session\nfrom autograder import checks\n"
                                        "from .test_y import helper\nfrom autograder.authoring import points\n")
    assert forbidden_imports(tmp_path / "test_x.py") == ["autograder.session", "autograder", ".test_y"]


@pytest.mark.slow
def test_a_course_holding_two_assignments_passes_its_fast_suite(tmp_path):
    """The repository with the tiny assignment beside the RNN one: every test module still imports and the
    fast suite passes (nothing in the tests or the tools assumes the course has one assignment)."""
    course = tmp_path / "course"
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in files.decode().split("\0"):
        if name and (REPO / name).is_file():
            (course / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, course / name)
    for step in ("source", "release", "solutions"):
        shutil.copytree(TINY / step / "tiny", course / step / "tiny")
    assert len(list(course.glob("solutions/*/assignment.py"))) == 2
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-m", "not slow", "-p", "no:cacheprovider", "-x"],
                          cwd=course, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "error" not in proc.stdout.splitlines()[-1]


NAME_TEST = re.compile(r"""[=!]= *["'](bubblewrap|process)["']|["'](bubblewrap|process)["'] *[=!]=|"""
                       r"""in \(["'](bubblewrap|process)""")


def test_no_module_asks_which_isolation_backend_it_is():
    """A backend is one file of autograder/backends/: the rest of the engine asks it what it can do."""
    outside = [p for p in engine_files() if "backends" not in p.parts]
    assert not [p for p in outside if NAME_TEST.search(p.read_text())]
    assert NAME_TEST.search('if where != "bubblewrap":')  # control


def test_every_backend_is_one_file_and_named_once():
    from autograder import backends

    names = [b.name for b in backends.BACKENDS]
    assert len(set(names)) == len(names) and backends.BACKENDS[-1].available()  # the last one always runs
    files = {p.stem for p in (ENGINE / "backends").glob("*.py")} - {"__init__", "base"}
    assert files == {type(b).__module__.rsplit(".", 1)[-1] for b in backends.BACKENDS}
