"""An assignment, as data the engine receives: its parts, their tests and points, its reference.

The engine names no assignment. A course follows nbgrader's layout, and each
assignment adds a folder of instructor-only material beside `source/`:

    <course>/source/<name>/<name>.ipynb        the instructor's notebook (nbgrader)
    <course>/release/<name>/<name>.ipynb       what students get (nbgrader generate_assignment)
    <course>/solutions/<name>/assignment.py    ASSIGNMENT = Assignment(...): this file's classes
    <course>/solutions/<name>/hidden/test_<grade_id>.py   one test per property, each with @points
    <course>/solutions/<name>/<module>.py      the reference definitions, one module per part or more

`load(folder)` imports that folder as a package of its own, so an assignment
needs no installation and two assignments never share module names.
"""
import functools
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar, cast

TestFunction = TypeVar("TestFunction", bound=Callable[..., object])


def points(value: float, title: str = "") -> Callable[[TestFunction], TestFunction]:
    """Decorator: the points a hidden test is worth, written beside it (and how a student reads its name)."""

    def mark(test: TestFunction) -> TestFunction:
        marked: Any = test  # a function: it takes the attributes that Assignment.tests reads back
        marked.points, marked.title = float(value), title
        return test

    return mark


@dataclass(frozen=True)
class Part:
    grade_id: str  # the answer cell's nbgrader grade_id; its graded cell is test_<grade_id>
    defines: str  # the function or class the answer cell must define
    reference: str  # module of the assignment folder that holds the reference definition
    # When a notebook lost its metadata, a cell that defines `defines` is this part's if it
    # mentions every word in `mentions` and none in `excludes` (two parts may define one name).
    mentions: "tuple[str, ...]" = ()
    excludes: "tuple[str, ...]" = ()

    @property
    def test_grade_id(self) -> str:
        """grade_id of the notebook's graded cell for this part."""
        return f"test_{self.grade_id}"


@dataclass(frozen=True)
class Test:
    """One hidden test: a property of one part, its points, and whether it runs once per torch device."""

    name: str
    points: float
    title: str
    function: "Callable[..., object]" = field(compare=False, repr=False)
    per_device: bool = False


@dataclass
class Assignment:
    name: str
    parts: "tuple[Part, ...]"
    # Run once in each warm zygote, before any student: what the tests will use, loaded ahead.
    warm_up: str = ""
    # The codes a hidden test's failure may name (its "diagnosis"), each with what it means, in the students' language.
    mistakes: "dict[str, str]" = field(default_factory=dict)
    folder: Path = cast(Path, None)  # set by load(), which every assignment the engine grades comes from
    package: str = ""

    @property
    def course(self) -> Path:
        return self.folder.parent.parent

    @property
    def source_notebook(self) -> Path:
        return self.course / "source" / self.name / f"{self.name}.ipynb"

    @property
    def release_notebook(self) -> Path:
        return self.course / "release" / self.name / f"{self.name}.ipynb"

    def part(self, grade_id: str) -> Part:
        return next(p for p in self.parts if p.grade_id == grade_id)

    def module(self, name: str) -> ModuleType:
        """A module of the assignment folder (a reference, the corpus, a hidden test)."""
        return importlib.import_module(f"{self.package}.{name}")

    @functools.cached_property
    def tests(self) -> "dict[str, list[Test]]":
        """{grade_id: [Test, ...]} in the order they are written in hidden/test_<grade_id>.py."""
        found = {}
        for part in self.parts:
            module = self.module(f"hidden.test_{part.grade_id}")
            functions = [(name, fn) for name, fn in vars(module).items() if name.startswith("test_") and callable(fn)]
            unmarked = [name for name, fn in functions if getattr(fn, "points", None) is None]
            if unmarked or not functions:
                raise ValueError(f"{module.__file__}: every test needs @points, and a part needs a test: {unmarked}")
            found[part.grade_id] = [
                Test(name, fn.points, getattr(fn, "title", ""), fn, "torch_device" in inspect.signature(fn).parameters)
                for name, fn in functions
            ]
        return found

    def points(self, grade_id: str) -> float:
        return sum(t.points for t in self.tests[grade_id])

    @property
    def max_score(self) -> float:
        return sum(self.points(p.grade_id) for p in self.parts)


def load(folder: "str | Path") -> Assignment:
    """The assignment described by `folder`/assignment.py (folder: <course>/solutions/<name>)."""
    folder = Path(folder).resolve()
    return _load(folder)


@functools.cache
def _load(folder: Path) -> Assignment:
    if not (folder / "assignment.py").is_file():
        raise FileNotFoundError(f"{folder}: no assignment.py (expected <course>/solutions/<name>/assignment.py)")
    package = f"_assignment_{folder.name}_{abs(hash(str(folder))) % 10**8}"
    spec = importlib.util.spec_from_file_location(package, folder / "__init__.py",
                                                  submodule_search_locations=[str(folder)])
    if spec is None or spec.loader is None:  # (never for a path ending in .py)
        raise ImportError(f"{folder}: cannot be imported as a package")
    module = importlib.util.module_from_spec(spec)
    sys.modules[package] = module
    if (folder / "__init__.py").is_file():
        spec.loader.exec_module(module)
    assignment = importlib.import_module(f"{package}.assignment").ASSIGNMENT
    assignment.folder, assignment.package = folder, package
    return assignment


def find(course: "str | Path" = ".") -> Assignment:
    """The course's only assignment (<course>/solutions/*/assignment.py)."""
    found = sorted(Path(course).glob("solutions/*/assignment.py"))
    if len(found) != 1:
        names = ", ".join(p.parent.name for p in found) or "none"
        raise LookupError(f"{Path(course).resolve()}: expected one solutions/<name>/assignment.py, found {names};"
                          " name one with --assignment")
    return load(found[0].parent)
