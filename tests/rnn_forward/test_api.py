"""`autograder.grade_notebook`, the Python API for LMS plugins and JupyterHub services, run as the README
shows it: a correct notebook and a wrong one, in the sandbox, scored as the command line scores them."""
import re
import subprocess
import sys

import pytest

import autograder
from autograder import runner
from tests.helpers import REPO
from tests.rnn_forward.helpers import ASSIGNMENT, CORPUS

pytestmark = pytest.mark.slow


def readme_example() -> str:
    text = (REPO / "autograder" / "README.md").read_text()
    return re.search(r"<!-- api -->\s*```python\n(.*?)```", text, re.S).group(1)


@pytest.mark.parametrize("case", ["correct_reference", "ff_forward_missing_bias"])
def test_a_notebook_is_graded_through_the_api_as_its_case_expects(case, tmp_path):
    notebook = CORPUS.build(case, tmp_path)
    row = autograder.grade_notebook(notebook, ASSIGNMENT.folder, seed=20261207)
    assert {gid: part.score for gid, part in row.parts.items()} == CORPUS.expected_scores(case)
    assert row.student == case and not row.needs_review and row.digest


def test_the_readmes_example_runs_as_written(tmp_path):
    """The five lines of autograder/README.md, on a course laid out as the recipe leaves it."""
    example = readme_example()
    assert len(example.strip().splitlines()) <= 6, example
    notebook = tmp_path / "submitted" / "ana" / "rnn_forward"
    notebook.mkdir(parents=True)
    CORPUS.build("ff_forward_missing_bias", notebook, stem="rnn_forward")
    for folder in ("solutions", "source", "release"):
        (tmp_path / folder).symlink_to(REPO / folder)
    out = subprocess.run([sys.executable, "-c", example], cwd=tmp_path, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}).stdout
    expected = CORPUS.expected_scores("ff_forward_missing_bias")
    assert f"ana {float(sum(expected.values()))} / {float(ASSIGNMENT.max_score)}" in out, out


def test_a_link_is_followed_and_a_grader_failure_is_never_a_plain_zero(tmp_path, monkeypatch):
    notebook = CORPUS.build("correct_reference", tmp_path, stem="original")
    (tmp_path / "ana.ipynb").symlink_to(notebook)
    row = autograder.grade_notebook(tmp_path / "ana.ipynb", ASSIGNMENT.folder, seed=1)
    assert row.score == ASSIGNMENT.max_score and not row.needs_review
    # The grader itself failing: a row that needs review, its traceback kept (control: the same call above).
    def broken(*args, **kwargs):
        raise RuntimeError("the sandbox is gone")

    monkeypatch.setattr(runner, "grade_submission", broken)
    row = autograder.grade_notebook(notebook, ASSIGNMENT.folder, seed=1)
    assert row.needs_review and "the sandbox is gone" in row.log
    assert all(t.status.value == "grader_error" for part in row.parts.values() for t in part.tests)


def test_a_missing_path_is_an_error_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.ipynb"):
        autograder.grade_notebook(tmp_path / "nowhere.ipynb", ASSIGNMENT.folder)


@pytest.mark.parametrize("imported", [False, True])
def test_the_grader_never_imports_torch_and_runs_one_where_it_is(imported, tmp_path):
    # Importing PyTorch costs a grader 1.8 s of start (its checks never need it); where the caller has
    # imported it already, it is told to use one thread, as the grader's NumPy is.
    notebook = CORPUS.build("correct_reference", tmp_path)
    script = ("import sys\n" + ("import torch\n" if imported else "") + "import autograder\n"
              f"row = autograder.grade_notebook({str(notebook)!r}, {str(ASSIGNMENT.folder)!r}, seed=1)\n"
              "print(row.score == row.max_score, 'torch' in sys.modules,"
              " sys.modules['torch'].get_num_threads() if 'torch' in sys.modules else 0)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=True).stdout
    assert out.split() == (["True", "True", "1"] if imported else ["True", "False", "0"])
