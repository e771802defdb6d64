"""The benchmark's floor (tools/floor.py) grades as the grader does: same seed, same scores, part by part."""
import json

import pytest

from autograder.tools import floor
from tests.helpers import TINY, TINY_CORPUS, grade

# Work the floor can run in one process: no crash, no hang (those stop the process it measures in).
CASES = ["correct_reference", "square_doubles", "memory_swaps_the_state", "memory_detaches_the_state",
         "untouched_release"]


@pytest.mark.slow
def test_the_floor_scores_every_part_as_the_grader(tmp_path, capsys):
    folder = tmp_path / "class"
    for case in CASES:
        (folder / case / "tiny").mkdir(parents=True)  # nbgrader's submitted/<student>/<assignment>/
        TINY_CORPUS.build(case, folder / case / "tiny", stem="tiny")
    grade(folder, "--assignment", TINY / "solutions" / "tiny", "--json", tmp_path / "ours.json", "--seed", "5",
          "--device", "cpu", "--workers", "1")
    notebooks = [folder / case / "tiny" / "tiny.ipynb" for case in CASES]
    floor.main([*map(str, notebooks), "--assignment", str(TINY / "solutions" / "tiny"), "--seed", "5",
                "--json", str(tmp_path / "floor.json")])
    assert f"floor: {len(CASES)} notebooks" in capsys.readouterr().out
    ours = {r["student"]: {g: p["score"] for g, p in r["parts"].items()}
            for r in json.loads((tmp_path / "ours.json").read_text())["submissions"]}
    theirs = json.loads((tmp_path / "floor.json").read_text())["scores"]
    assert {case: theirs[str(folder / case / "tiny" / "tiny.ipynb")] for case in CASES} == ours
    # Control: the cases differ, so a floor that scored everything alike would fail above.
    assert len({json.dumps(s, sort_keys=True) for s in ours.values()}) >= 3
    assert set(ours["untouched_release"].values()) == {0}

