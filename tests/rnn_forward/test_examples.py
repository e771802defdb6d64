"""The example submissions shipped for `make grade` are the corpus's own cases."""
import filecmp

from tests.rnn_forward.helpers import ASSIGNMENT, CORPUS


def test_shipped_examples_are_up_to_date(tmp_path):
    CORPUS.write_examples(tmp_path)
    name = ASSIGNMENT.name
    for case in CORPUS.data.EXAMPLES:
        shipped = CORPUS.examples_dir / case / name / f"{name}.ipynb"
        assert filecmp.cmp(shipped, tmp_path / case / name / f"{name}.ipynb", shallow=False), (
            f"{shipped} is stale: run `python -m autograder.tools.examples`"
        )
    assert sorted(p.name for p in CORPUS.examples_dir.iterdir()) == sorted(CORPUS.data.EXAMPLES)
