"""The assignment as nbgrader sees it: source, release, grade cells, figure."""
import base64
import filecmp
import os
import re

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.tools.sync import answer_cells, stale_parts
from tests.helpers import REPO, hidden_test_lines, run_nbgrader
from tests.rnn_forward.helpers import ASSIGNMENT, CORPUS, RELEASE_NB, SOURCE_NB

FIGURE = "unrolled_rnn.svg"


MANUAL = {"reflection_saturation": 1, "reflection_sequential": 1, "reflection_biases": 1}


def graded_cells(nb):
    """(grade_id, kind, points) of every nbgrader answer or test cell, in order."""
    rows = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") or meta.get("grade"):
            kind = "manual" if meta.get("grade") and meta.get("solution") else "test" if meta.get("grade") else "answer"
            rows.append((meta["grade_id"], kind, meta.get("points")))
    return rows


@pytest.mark.parametrize("path", [SOURCE_NB, RELEASE_NB], ids=["source", "release"])
def test_grade_cells_follow_the_parts_table(path):
    """The autograded parts in the order and with the points of the hidden tests; the reflection questions
    are graded by hand, in the formgrader, and only there."""
    rows = graded_cells(nbformat.read(path, as_version=4))
    expected = []
    for part in ASSIGNMENT.parts:
        expected += [(part.grade_id, "answer", None), (part.test_grade_id, "test", ASSIGNMENT.points(part.grade_id))]
    assert [r for r in rows if r[1] != "manual"] == expected
    assert {gid: points for gid, kind, points in rows if kind == "manual"} == MANUAL
    assert not {p.grade_id for p in ASSIGNMENT.parts} & set(MANUAL)


def test_answer_cells_are_the_reference_solutions():
    nb = nbformat.read(SOURCE_NB, as_version=4)
    assert stale_parts(ASSIGNMENT, nb) == [], "run `python -m autograder.tools.sync` to copy the reference in"


def test_release_has_stubs_and_no_hidden_tests():
    release = nbformat.read(RELEASE_NB, as_version=4)
    for grade_id, cell in answer_cells(release).items():
        assert cell.source.rstrip().endswith("raise NotImplementedError()"), grade_id
        assert "SOLUTION" not in cell.source, grade_id
    hidden = hidden_test_lines(nbformat.read(SOURCE_NB, as_version=4))
    assert hidden, "the source notebook has no hidden tests"
    released = {line.strip() for cell in release.cells for line in cell.source.splitlines()}
    assert released.isdisjoint(hidden)
    text = "\n".join(cell.source for cell in release.cells)
    assert "Rubrica" not in text and "Resposta esperada" not in text  # the reflection rubrics stay in source/


@pytest.mark.slow
def test_committed_release_is_what_nbgrader_generates(course):
    run_nbgrader("generate_assignment", ASSIGNMENT.name, "--force", cwd=course)
    fresh, committed = course / "release" / ASSIGNMENT.name, REPO / "release" / ASSIGNMENT.name
    files = sorted(os.listdir(committed))
    assert sorted(os.listdir(fresh)) == files
    match, mismatch, errors = filecmp.cmpfiles(fresh, committed, files, shallow=False)
    assert mismatch == [] and errors == [], (
        f"release/ is stale in {mismatch + errors}: run `nbgrader generate_assignment {ASSIGNMENT.name} --force`"
    )


def test_figure_travels_inside_the_notebook():
    """An attachment: shown in a notebook opened alone (Colab) and in nbgrader's feedback page."""
    for path in (SOURCE_NB, RELEASE_NB):
        nb = nbformat.read(path, as_version=4)
        cell = next(c for c in nb.cells if c.cell_type == "markdown" and f"(attachment:{FIGURE})" in c.source)
        svg = base64.b64decode(cell.attachments[FIGURE]["image/svg+xml"])
        assert svg.lstrip().startswith((b"<svg", b"<?xml")) and b"</svg>" in svg
        # every arrow that carries a weight says which: W_xh into each cell, W_hh between steps
        labels = [svg.count(f'font-size="10">{w}</tspan></text>'.encode()) for w in ("xh", "hh")]
        assert labels == [4, 5]
        assert not (path.parent / FIGURE).exists()


def test_graded_cells_score_their_parts_points_when_the_quick_tests_pass():
    """What Validate reads before grading: the part's points, written in the cell, equal its hidden tests';
    in grading the hidden tests' score comes first, and the quick tests do not run."""
    nb = nbformat.read(SOURCE_NB, as_version=4)
    for part in ASSIGNMENT.parts:
        cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == part.test_grade_id)
        points = ASSIGNMENT.points(part.grade_id)
        hidden, quick = cell.source.index("### BEGIN HIDDEN TESTS"), cell.source.index("if score is None:")
        assert hidden < quick and f"score = part_score(quick_tests_{part.grade_id}, points={points:g})" in cell.source


def test_the_introduction_states_the_points():
    intro = nbformat.read(RELEASE_NB, as_version=4).cells[0].source
    assert f"valem {ASSIGNMENT.max_score:g} pontos" in intro
    assert f"{'três' if len(MANUAL) == 3 else len(MANUAL)} perguntas" in intro and "1 ponto cada" in intro
    assert set(MANUAL.values()) == {1}


@pytest.mark.slow
def test_source_notebook_passes_nbgrader_validate():
    assert "Success! Your notebook passes all the tests." in run_nbgrader("validate", str(SOURCE_NB))


@pytest.mark.slow
def test_release_fails_every_test_cell():
    out = run_nbgrader("validate", "--invert", str(RELEASE_NB))
    assert "Success! The notebook does not pass any tests." in out
    out = run_nbgrader("validate", str(RELEASE_NB))
    assert f"VALIDATION FAILED ON {len(ASSIGNMENT.parts) + len(MANUAL)} CELL(S)!" in out  # + unanswered questions


def answer_the_questions(nb):
    """The reflection questions answered (nbgrader's Validate counts an untouched answer cell as failed)."""
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in MANUAL:
            cell.source = cell.source.replace("SUA RESPOSTA AQUI", "Porque H_t depende de H_{t-1}.")
    return nb


@pytest.mark.slow
@pytest.mark.parametrize("case", ["correct_reference", "correct_other_style"])
def test_a_correct_student_passes_nbgrader_validate(case, tmp_path):
    """The student's Validate button: correct work in the released notebook gets no warning."""
    path = tmp_path / f"{ASSIGNMENT.name}.ipynb"
    nbformat.write(answer_the_questions(CORPUS.notebook(case)), path)
    out = run_nbgrader("validate", str(path))
    assert "Success! Your notebook passes all the tests." in out, out


@pytest.mark.slow
def test_a_wrong_part_fails_validate_on_its_cell_only(tmp_path):
    path = tmp_path / f"{ASSIGNMENT.name}.ipynb"
    nbformat.write(answer_the_questions(CORPUS.notebook("ff_forward_no_tanh")), path)
    out = run_nbgrader("validate", str(path))
    assert "VALIDATION FAILED ON 1 CELL(S)!" in out and 'quick_tests_ff_forward, points=2' in out, out
    # The failed quick test is named, in Portuguese, not nbgrader's "Partial credit".
    assert "- valores de tanh(X W_xh + b_h): a saída é a da conta sem a tanh" in out and "Partial credit" not in out


@pytest.mark.slow
def test_source_notebook_runs_top_to_bottom_on_cpu(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # the kernel inherits it: no GPU even if present
    nb = nbformat.read(SOURCE_NB, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": SOURCE_NB.parent}}).execute()
    printed = "".join(out.get("text", "") for cell in nb.cells for out in cell.get("outputs", []))
    assert "cpu" in printed and "(10, 512)" in printed and "(50, 10, 512)" in printed
    assert "torch.Size([50, 10, 512]) cpu" in printed


def test_no_locked_cell_calls_the_names_two_parts_define():
    """Parts 1 and 2 both define init_weights and forward: every locked cell calls them by the names of one
    part (ff_forward, rnn_forward, ...), so re-running an earlier part's cell breaks no later one (the test
    that does it is in test_notebook_claims.py)."""
    nb = nbformat.read(SOURCE_NB, as_version=4)
    locked = [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("locked")]
    assert {"ff_init_weights_name", "ff_forward_name", "rnn_init_weights_name", "rnn_forward_name"} <= {
        c.metadata.nbgrader.grade_id for c in locked}
    for cell in locked:
        code = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith("#"))
        assert not re.search(r"(?<![\w.])(init_weights|forward)\(", code), cell.source


def test_every_hidden_test_has_a_portuguese_title_for_students():
    for part in ASSIGNMENT.parts:
        for test in ASSIGNMENT.tests[part.grade_id]:
            assert test.title and not test.title.startswith("test_"), f"{part.grade_id}.{test.name}"


def test_the_readme_points_table_is_the_hidden_tests_points():
    points_table = (REPO / "solutions" / "rnn_forward" / "README.md").read_text()
    rows = re.findall(r"^\| `(\w+)` \| `(test_\w+)` \| (.+?) \| ([\d.]+) \|$", points_table, re.M)
    assert rows == [(p.grade_id, t.name, t.title, f"{t.points:g}")
                    for p in ASSIGNMENT.parts for t in ASSIGNMENT.tests[p.grade_id]]


def test_every_question_has_a_rubric_several_graders_can_share():
    """A model answer, the rubric's items, example answers worth 1, 0.5 and 0, and the common wrong answers:
    in the source's solution region only."""
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source
             for c in nbformat.read(SOURCE_NB, as_version=4).cells}
    for grade_id in MANUAL:
        solution = cells[grade_id].split("### BEGIN SOLUTION", 1)[1].split("### END SOLUTION")[0]
        for part in ("**Resposta-modelo:**", "**Rubrica (1 ponto; 0,5 por item):**", "- (a) ", "- (b) ",
                     "- *1 ponto:*", "- *0,5 ponto:*", "- *0 pontos:*", "**Respostas erradas comuns:**"):
            assert part in solution, (grade_id, part)
