"""The example submissions shipped for `make grade` are the corpus's own cases."""
import filecmp

from tests import corpus


def test_shipped_examples_are_up_to_date(tmp_path):
    corpus.write_examples(tmp_path)
    for name in corpus.EXAMPLES:
        shipped = corpus.EXAMPLES_DIR / name / "rnn_forward" / "rnn_forward.ipynb"
        assert filecmp.cmp(shipped, tmp_path / name / "rnn_forward" / "rnn_forward.ipynb", shallow=False), (
            f"{shipped} is stale: run `python -m tests.corpus`"
        )
    assert sorted(p.name for p in corpus.EXAMPLES_DIR.iterdir()) == sorted(corpus.EXAMPLES)
