"""Answers unusually alike (autograder/similarity.py), on a class made of the corpus and two planted copies.

Each corpus case is a student who wrote only the cells that case writes (the rest left as released): a class
where forty students hand in the reference verbatim would be no class. Two pairs are planted: an answer with
helper functions copied with every variable renamed and the helpers reordered, and correct_other_style copied
and lightly edited. Both must be flagged; no pair of the corpus's independently written correct answers may be.
"""
import json
import subprocess
import sys
import textwrap

import nbformat
import pytest

from autograder import similarity
from autograder.tools.examples import answer_cells
from tests.engine.test_class_report import chromium, errors
from tests.rnn_forward.helpers import ASSIGNMENT, CORPUS

CORRECT = [name for name in CORPUS.cases if name.startswith("correct_")]

ORIGINAL = textwrap.dedent('''
    def initial_state(batch, hidden):
        return np.random.randn(batch, hidden)

    def step(x_t, h_prev, params):
        pre = x_t @ params['Wxh'] + h_prev @ params['Whh'] + params['bh']
        return np.tanh(pre)

    def forward(X, params):
        seq_len, batch, _ = X.shape
        hidden = params['Whh'].shape[0]
        h = initial_state(batch, hidden)
        states = np.empty((seq_len, batch, hidden))
        for t in range(seq_len):
            h = step(X[t], h, params)
            states[t] = h
        return states
''')
# The same, every name changed and the helpers in the other order.
RENAMED = textwrap.dedent('''
    def proximo(entrada, anterior, pesos):
        soma = entrada @ pesos['Wxh'] + anterior @ pesos['Whh'] + pesos['bh']
        return np.tanh(soma)

    def comeco(lote, oculto):
        return np.random.randn(lote, oculto)

    def forward(X, params):
        passos, lote, _ = X.shape
        oculto = params['Whh'].shape[0]
        estado = comeco(lote, oculto)
        saida = np.empty((passos, lote, oculto))
        for i in range(passos):
            estado = proximo(X[i], estado, params)
            saida[i] = estado
        return saida
''')


DEAD = textwrap.dedent('''
    def _aux_clip(v, lo, hi):
        return np.minimum(np.maximum(v, lo), hi)

    def _aux_scale(v, k):
        return [k * item for item in v]
''')


def lightly_edited(code: str) -> str:
    """A copy touched up: a comment above, a print inside, blank lines, one name changed."""
    lines = ["# minha solução, escrita por mim", *code.strip().splitlines()]
    out = []
    for line in lines:
        out.append(line.replace("out", "resultado"))
        if line.lstrip().startswith("def "):
            out.append(" " * (len(line) - len(line.lstrip()) + 4) + "print('ok')")
            out.append("")
    return "\n".join(out)


def write(folder, student: str, answers: "dict[str, str]", above: "dict[str, str] | None" = None) -> None:
    """The release with `answers` (grade_id -> code) in its answer cells; `above`: a cell of the student's own
    inserted above that answer."""
    nb = nbformat.read(ASSIGNMENT.release_notebook, as_version=4)
    cells = answer_cells(nb)
    for grade_id, code in answers.items():
        cells[grade_id].source = code.strip()
    for grade_id, code in (above or {}).items():
        nb.cells.insert(nb.cells.index(cells[grade_id]), nbformat.v4.new_code_cell(code.strip()))
    nbformat.write(nb, folder / f"{student}.ipynb")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    for name, (answers, _) in CORPUS.cases.items():
        if answers:  # (the reference itself, and the released notebook, are not a student's own writing)
            write(folder, name, answers)
    write(folder, "planted_original", {"rnn_forward": ORIGINAL})
    write(folder, "planted_renamed", {"rnn_forward": RENAMED})
    other_style = CORPUS.cases["correct_other_style"][0]
    write(folder, "planted_edited", {gid: lightly_edited(code) for gid, code in other_style.items()})
    # Two evasions a hostile review found: the copy in a cell of its own above a one-line answer (graded all
    # the same), and the copy between lines of padding and dead helpers.
    write(folder, "planted_hidden", {"rnn_forward": "forward = _forward"},
          above={"rnn_forward": RENAMED.replace("def forward(", "def _forward(")})
    padding = "\n".join(f"_v{i} = {i} * {i + 1} - {i % 7}" for i in range(1200))
    write(folder, "planted_padded", {"rnn_forward": f"{padding}\n{RENAMED}\n{DEAD}"})
    return folder, similarity.run(ASSIGNMENT, [folder])


def pairs(sim):
    return {frozenset((p.a, p.b)) for p in sim.flagged}


def test_both_planted_pairs_are_flagged_and_no_two_independent_correct_answers(graded):
    _, sim = graded
    flagged = pairs(sim)
    assert frozenset(("planted_original", "planted_renamed")) in flagged, sim.flagged
    assert frozenset(("correct_other_style", "planted_edited")) in flagged, sim.flagged
    assert {frozenset(("planted_original", other)) for other in ("planted_hidden", "planted_padded")} <= flagged
    both_correct = [p for p in flagged if p <= set(CORRECT)]
    assert both_correct == [], both_correct
    # The bar stands out from the class: most pairs share nothing that is not the assignment's idiom.
    assert similarity.stats(sim)["median"] < 0.2 <= similarity.FLOOR <= sim.bar


def test_without_its_copy_the_original_is_flagged_with_no_one(graded, tmp_path):
    """The control: the original is flagged for its copy, not for being an RNN like the class's."""
    folder, _ = graded
    for notebook in folder.glob("*.ipynb"):
        if notebook.stem not in ("planted_renamed", "planted_hidden", "planted_padded"):
            (tmp_path / notebook.name).write_bytes(notebook.read_bytes())
    alone = similarity.run(ASSIGNMENT, [tmp_path])
    assert not [p for p in pairs(alone) if "planted_original" in p], alone.flagged


def test_the_same_class_flags_the_same_pairs_in_every_process(graded):
    """copydetect hashes with Python's salted hash(): ours is stable, so two runs agree."""
    folder, sim = graded
    code = ("import sys; from pathlib import Path; from autograder import similarity; "
            "from tests.rnn_forward.helpers import ASSIGNMENT; s = similarity.run(ASSIGNMENT, [Path(sys.argv[1])]); "
            "print(sorted((p.a, p.b, round(p.score, 6)) for p in s.flagged))")
    runs = {subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True,
                           check=True).stdout for _ in range(2)}
    assert runs == {str(sorted((p.a, p.b, round(p.score, 6)) for p in sim.flagged)) + "\n"}


@pytest.mark.slow
def test_the_page_shows_each_pair_side_by_side_in_a_real_browser(graded, tmp_path):
    _, sim = graded
    page = similarity.write_page(sim, ASSIGNMENT.name, tmp_path)
    driver = chromium()
    try:
        driver.get(page.as_uri())
        assert "not evidence" in driver.find_element("css selector", ".notice").text
        assert driver.execute_script("return document.images[0].naturalWidth") > 0  # the distribution
        pair = next(p for p in sim.flagged if {p.a, p.b} == {"planted_original", "planted_renamed"})
        box = driver.find_element("id", f"pair-{sim.flagged.index(pair)}")
        driver.execute_script("arguments[0].scrollIntoView()", box)
        left, right = box.find_elements("css selector", ".sides pre")
        assert left.rect["y"] == right.rect["y"] and left.rect["x"] + left.rect["width"] <= right.rect["x"]
        assert left.find_elements("tag name", "mark") and right.find_elements("tag name", "mark")
        assert "def proximo" in (left.text + right.text)  # the students' own code, as they wrote it
        assert driver.execute_script("return document.documentElement.scrollWidth") <= 1200
        assert errors(driver) == []
    finally:
        driver.quit()


def test_the_command_writes_the_page_and_names_a_missing_path(graded, tmp_path):
    folder, _ = graded
    proc = subprocess.run([sys.executable, "-m", "autograder", "similarity", str(folder), "--out", str(tmp_path),
                           "--assignment", str(ASSIGNMENT.folder)], capture_output=True, text=True)
    assert proc.returncode == 0 and "not evidence" in proc.stdout, proc.stderr
    assert (tmp_path / "similarity.html").is_file()
    gone = subprocess.run([sys.executable, "-m", "autograder", "similarity", str(tmp_path / "nowhere"),
                           "--assignment", str(ASSIGNMENT.folder)], capture_output=True, text=True)
    assert gone.returncode == 4 and "nowhere" in gone.stderr


def test_the_class_report_gains_the_section_when_asked(graded, tmp_path):
    from tests.engine.test_class_report import small_class
    from tests.helpers import REPO

    folder, _ = graded
    report = small_class()
    report.assignment = ASSIGNMENT.name  # (its course may hold other assignments: the report names its own)
    (tmp_path / "r.json").write_text(json.dumps(report.to_dict()))
    proc = subprocess.run([sys.executable, "-m", "autograder", "report", str(tmp_path / "r.json"), "--similarity",
                           str(folder), "--out", str(tmp_path / "page")], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    page = (tmp_path / "page" / "index.html").read_text()
    assert 'id="similarity"' in page and "not evidence" in page and "planted_renamed" in page
    # The control: without the option, no section.
    subprocess.run([sys.executable, "-m", "autograder", "report", str(tmp_path / "r.json"), "--out",
                    str(tmp_path / "plain")], cwd=REPO, check=True, capture_output=True)
    assert 'id="similarity"' not in (tmp_path / "plain" / "index.html").read_text()


def test_a_padded_answer_is_compared_on_its_first_characters_only(tmp_path):
    """A student's padding (here 150 KB of code in one answer) never makes every pair of the class cost more;
    the page says whose answers were cut. The control: an honest answer is read whole, with no note."""
    write(tmp_path, "padded", {"rnn_forward": ORIGINAL + "\n".join(f"x{i} = {i}" for i in range(12_000))})
    write(tmp_path, "honest", {"rnn_forward": RENAMED})
    found, skipped = similarity.answers(ASSIGNMENT, [tmp_path])
    cut = similarity.MAX_ANSWER_CHARS
    assert len(found["padded"]) == cut and f"first {cut} characters" in skipped["padded"]
    assert "honest" not in skipped and RENAMED.strip() in found["honest"]
