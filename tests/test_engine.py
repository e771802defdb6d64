"""The engine names no assignment: it grades any one described as data, like the tiny course under tests/."""
import ast
import json
import sys

import nbformat
import pytest

from autograder import assignment as assignments
from tests.helpers import ASSIGNMENT, REPO, TINY, grade

ENGINE = REPO / "autograder"


def engine_files():
    return sorted(ENGINE.rglob("*.py"))


def test_the_engine_names_no_assignment():
    words = {ASSIGNMENT.name, *(p.grade_id for p in ASSIGNMENT.parts), "RNNCell", "Whh", "recurrence"}
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
    assert tiny.max_score == 2
    assert tiny.source_notebook == TINY / "source" / "tiny" / "tiny.ipynb"


@pytest.mark.slow
def test_a_second_assignment_is_graded_by_the_same_command_line_in_the_sandbox(tmp_path):
    source = nbformat.read(TINY / "source" / "tiny" / "tiny.ipynb", as_version=4)
    nbformat.write(source, tmp_path / "right.ipynb")  # the source notebook holds the solution
    wrong = nbformat.read(TINY / "source" / "tiny" / "tiny.ipynb", as_version=4)
    answer = next(c for c in wrong.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "square")
    answer.source = "def square(x):\n    return np.asarray(x) * 2"
    nbformat.write(wrong, tmp_path / "wrong.ipynb")
    out = tmp_path / "report.json"
    grade(tmp_path, "--assignment", TINY / "solutions" / "tiny", "--json", out, "--device", "cpu", "--workers", 1)
    report = json.loads(out.read_text())
    rows = {row["student"]: row for row in report["submissions"]}
    assert report["assignment"] == "tiny" and report["isolation"] in ("bubblewrap", "process")
    assert rows["right"]["score"] == 2 and rows["wrong"]["score"] == 1
    assert [t["status"] for t in rows["wrong"]["parts"]["square"]["tests"]] == ["passed", "failed"]


@pytest.mark.slow
def test_a_course_with_one_assignment_needs_no_assignment_option(tmp_path):
    nbformat.write(nbformat.read(TINY / "source" / "tiny" / "tiny.ipynb", as_version=4), tmp_path / "ana.ipynb")
    out = tmp_path / "report.json"
    grade(tmp_path / "ana.ipynb", "--json", out, "--device", "cpu", cwd=TINY)
    assert json.loads(out.read_text())["submissions"][0]["score"] == 2


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
