"""The Gradescope bundle, unpacked into a fake /autograder root and run as Gradescope runs it.

Its results.json is checked against Gradescope's documented format
(https://gradescope-autograders.readthedocs.io, "Autograder Specifications")
for a correct, a partly wrong and a broken submission, with the bundle's own
copy of the package; and once with bubblewrap out of reach, where the
fallback's isolation must be named.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

from tests.helpers import REPO
from tests.helpers import TINY_ASSIGNMENT as ASSIGNMENT
from tests.helpers import TINY_CORPUS as CORPUS

pytestmark = pytest.mark.slow
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}
TOP = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format", "visibility",
       "stdout_visibility", "extra_data", "tests", "leaderboard"}
TEST = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format", "tags",
        "visibility", "extra_data"}


def check_gradescope_format(results: dict) -> None:
    """What Gradescope's specification allows, key by key."""
    assert set(results) <= TOP, set(results) - TOP
    assert isinstance(results["score"], (int, float)) and isinstance(results["execution_time"], (int, float))
    assert isinstance(results["output"], str) and results["visibility"] in VISIBILITY
    assert results["stdout_visibility"] in VISIBILITY and isinstance(results["extra_data"], dict)
    for test in results["tests"]:
        assert set(test) <= TEST, set(test) - TEST
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert isinstance(test["score"], (int, float)) and isinstance(test["max_score"], (int, float))
        assert test["status"] in ("passed", "failed") and test["visibility"] in VISIBILITY
        assert all(isinstance(tag, str) for tag in test["tags"])
        assert not re.search(r"(-?\d+\.\d+[,\s]+){6}", test["output"])  # no hidden inputs or expected arrays
    assert abs(sum(t["score"] for t in results["tests"]) - results["score"]) < 1e-9


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    subprocess.run([sys.executable, "-m", "autograder", "gradescope", "--out", str(out), "--assignment",
                    str(ASSIGNMENT.folder)], cwd=REPO, check=True, capture_output=True, timeout=300)
    return out


def run_in_fake_root(bundle, root, case, path=None, notebook=None):
    """Unpack the bundle as Gradescope does, hand in `case` (or `notebook`), run run_autograder; return
    results.json."""
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    if notebook:
        shutil.copy(notebook, root / "submission" / notebook.name)
    else:
        CORPUS.build(case, root / "submission", stem=ASSIGNMENT.name)
    env = dict(os.environ, AUTOGRADER_GRADESCOPE_ROOT=str(root), AUTOGRADER_PYTHON=sys.executable,
               PYTHONPATH=str(root / "source" / "package"))  # the bundle's own copy of the package
    if path is not None:
        env["PATH"] = path
    proc = subprocess.run(["/bin/bash", str(root / "run_autograder")], env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads((root / "results" / "results.json").read_text())


def test_the_bundle_holds_gradescopes_two_scripts_and_what_they_need(bundle):
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
        setup = archive.read("setup.sh").decode()
    assert {"setup.sh", "run_autograder", "package/pyproject.toml", "package/autograder/gradescope.py",
            f"course/solutions/{ASSIGNMENT.name}/assignment.py",
            f"course/source/{ASSIGNMENT.name}/{ASSIGNMENT.name}.ipynb"} <= set(names)
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
    assert "bubblewrap" in setup and "torch==2.13.0" in setup and "/whl/cpu" in setup
    assert not any("examples/" in n or "__pycache__" in n for n in names)


@pytest.mark.parametrize("case", ["correct_reference", "memory_detaches_the_state", "broken_not_json"])
def test_results_follow_gradescopes_format(bundle, tmp_path, case):
    results = run_in_fake_root(bundle, tmp_path, case)
    check_gradescope_format(results)
    expected = sum(CORPUS.expected_scores(case).values()) if case != "broken_not_json" else 0.0
    assert results["score"] == expected
    assert len(results["tests"]) == sum(len(t) for t in ASSIGNMENT.tests.values())
    assert sum(t["max_score"] for t in results["tests"]) == ASSIGNMENT.max_score
    assert "bubblewrap" in results["output"] and results["extra_data"]["isolation"] == "bubblewrap"
    if case == "memory_detaches_the_state":
        failed = [t for t in results["tests"] if t["status"] == "failed"]
        assert len(failed) == 1 and "o gradiente não chegou ao estado" in failed[0]["output"]
    if case == "broken_not_json":
        assert "não é um notebook" in results["output"]


def test_without_bubblewrap_the_fallback_is_named(bundle, tmp_path):
    results = run_in_fake_root(bundle, tmp_path, "correct_reference", path=str(tmp_path / "no-bin"))
    check_gradescope_format(results)
    assert results["score"] == ASSIGNMENT.max_score
    assert results["extra_data"]["isolation"] == "process" and "processos separados" in results["output"]


FORGER = '''
import glob
def square(x):
    found = glob.glob("{course}/**/hidden/test_square.py", recursive=True)
    raise RuntimeError(open(found[0]).read()[:150] if found else "nada encontrado")
'''


def test_without_the_sandbox_no_submission_can_read_the_hidden_tests(bundle, tmp_path):
    import nbformat

    forger = FORGER.format(course=tmp_path / "source" / "course")  # on Gradescope: /autograder/source/course
    nb = CORPUS.fill(nbformat.read(ASSIGNMENT.release_notebook, as_version=4), {"square": forger})
    (tmp_path / "cases").mkdir()
    nbformat.write(nb, tmp_path / "cases" / "forger.ipynb")
    with zipfile.ZipFile(bundle) as archive:  # control: where the course lies, the forger reads it
        archive.extractall(tmp_path / "control")
    ns = {}
    exec(FORGER.format(course=tmp_path / "control" / "course"), ns)
    with pytest.raises(RuntimeError, match="the elementwise square"):
        ns["square"](None)
    results = run_in_fake_root(bundle, tmp_path, None, path=str(tmp_path / "no-bin"),
                               notebook=tmp_path / "cases" / "forger.ipynb")
    outputs = " ".join(t["output"] for t in results["tests"])
    assert "nada encontrado" in outputs and "the elementwise square" not in outputs
    assert not (tmp_path / "source" / "course").exists()  # loaded, then removed before any student code ran
    assert results["extra_data"]["isolation"] == "process"
