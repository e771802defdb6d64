"""Everything the notebook says about its own outputs is true: the release, filled with the reference, run once.

CLAIMS pairs each sentence of the readings (the markdown that interprets a demo
or an experiment) with a check on what that run computed; EXPLAINED lists the
sentences that state facts of the field rather than read an output. A sentence
in neither fails the suite, so a new reading gets its test with it.

The same kernel then re-runs Part 1's answer cells after the later parts
(Part 2 rebinds init_weights and forward) and every demo and quick test still
passes; and it replays two experiments with a wrong answer in place, to show
that the readings' advice (which line judges Part 4, which layer the gradient
experiment used) follows the student's code.
"""
import json
import re

import nbformat
import numpy as np
import pytest
import torch
from nbclient import NotebookClient

from tests.rnn_forward.helpers import CORPUS
from tests.rnn_forward.mistakes_corpus import MISTAKES

pytestmark = pytest.mark.slow

READINGS = ("rnn_cell_from_numpy_reading", "gradient_intro", "gradient_reading", "timing_intro", "timing_reading")
N01, FAN_IN, UNIFORM = "N(0, 1)", "N(0, 1/fan-in)", "nn.RNNCell: U(-1/√h, 1/√h)"
LOOP, CELL_LOOP, FUSED = ("sua Parte 2 (NumPy, laço em Python)", "sua Parte 3 (nn.RNNCell, laço em Python)",
                          "nn.RNN (laço em C++)")
DUMP = "import json\nprint(json.dumps({'gaps': {k: v.tolist() for k, v in gaps.items()}, 'gradients': gradients, " \
       "'timings': timings, 'computed_by': computed_by}))"


def gid(cell) -> str:
    return cell.metadata.get("nbgrader", {}).get("grade_id", "")


def run(client, nb, source: str) -> list:
    """Execute `source` as a new cell in the kernel; return its outputs."""
    cell = nbformat.v4.new_code_cell(source)
    nb.cells.append(cell)
    client.execute_cell(cell, len(nb.cells) - 1)
    return cell.outputs


def printed(outputs) -> str:
    return "".join(o.get("text", "") for o in outputs if o.output_type == "stream")


def errors(outputs) -> list:
    return [f"{o.ename}: {o.evalue}" for o in outputs if o.output_type == "error"]


@pytest.fixture(scope="module")
def reference_run():
    """What the notebook computed with the reference, and what its cells did when re-run or given wrong answers."""
    nb = CORPUS.notebook("correct_reference")
    client = NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True)
    cells = {gid(c): c for c in nb.cells if gid(c)}
    found = {}
    with client.setup_kernel():
        for index, cell in enumerate(list(nb.cells)):
            client.execute_cell(cell, index)
        found["first_run_errors"] = [(gid(c), e) for c in nb.cells if c.cell_type == "code"
                                     for e in errors(c.outputs)]
        found.update(json.loads(printed(run(client, nb, DUMP))))
        # Part 1's answers again, after the later parts: every later demo, quick test and score cell still passes.
        for grade_id in ("ff_init_weights", "ff_forward"):
            run(client, nb, cells[grade_id].source)
        later = [c for c in nb.cells[nb.cells.index(cells["rnn_init_weights"]):] if c.cell_type == "code"
                 and c.metadata.get("nbgrader", {}).get("locked") and not gid(c).endswith("_name")]
        found["rerun"] = {gid(c): run(client, nb, c.source) for c in later}
        # A wrong Part 4 (both biases set to b_h; W_hh not transposed): the line that judges it shows it.
        for case in ("transfer_both_biases_bh", "transfer_whh_as_is"):
            run(client, nb, MISTAKES[case][1])
            run(client, nb, cells["rnn_cell_from_numpy_demo"].source)
            found[case] = json.loads(printed(run(client, nb, DUMP)))["gaps"]
        # A Part 3 without the optional H0: the gradient experiment says it used nn.RNN instead.
        run(client, nb, MISTAKES["module_h0_zeros"][1])
        run(client, nb, cells["gradient_demo"].source)
        found["module_without_h0"] = json.loads(printed(run(client, nb, DUMP)))["computed_by"]
    return found


def growth_per_step(gap: list, steps: int = 8) -> float:
    """How many times the gap between the two implementations grows per step, over the first steps."""
    return (gap[steps] / gap[0]) ** (1 / steps)


def linear(per_step: list) -> bool:
    """The total time grows linearly with N: the time per step stays within a factor of 2 from N = 50 to 200
    (it would grow 4 times if the total grew with N^2; N = 10 also pays the start-up)."""
    return max(per_step[1:]) < 2 * min(per_step[1:])


def stretch(scale: float, h: int = 512) -> float:
    """How much an h x h matrix of N(0, scale^2) entries stretches a typical vector."""
    gen = np.random.default_rng(0)
    v = gen.standard_normal((100, h))
    stretched = v @ (scale * gen.standard_normal((h, h)))
    return float(np.median(np.linalg.norm(stretched, axis=1) / np.linalg.norm(v, axis=1)))


def one_step_jacobian_is_diag_tanh_prime_times_whh_transposed() -> bool:
    gen = torch.Generator().manual_seed(0)
    x, H, W_in, W_rec, b = (torch.randn(*shape, generator=gen, dtype=torch.float64)
                            for shape in [(3,), (4,), (3, 4), (4, 4), (4,)])
    J = torch.autograd.functional.jacobian(lambda H: torch.tanh(x @ W_in + H @ W_rec + b), H)
    slope = 1 - torch.tanh(x @ W_in + H @ W_rec + b) ** 2
    return torch.allclose(J, torch.diag(slope) @ W_rec.T)


LENGTHS = [10, 50, 100, 200]  # the timing cell's N
# (cell, words of one sentence, the check on the reference run r) -- every interpreting sentence has one.
CLAIMS = [
    ("rnn_cell_from_numpy_reading", "no primeiro passo elas diferem só pelo arredondamento de float32, perto de",
     lambda r: 1e-6 < r["gaps"][N01][0] < 1e-4 and r["gaps"][FAN_IN][0] < 1e-5),
    ("rnn_cell_from_numpy_reading", "o que a amplia de 3 a 4 vezes",
     lambda r: 2.8 < growth_per_step(r["gaps"][N01]) < 4.5),
    ("rnn_cell_from_numpy_reading", "em menos de 20 passos a diferença chega perto de 2",
     lambda r: max(r["gaps"][N01][:20]) > 1.9),
    ("rnn_cell_from_numpy_reading", "Essa recorrência é *caótica*",
     lambda r: growth_per_step(r["gaps"][N01]) > 1 and r["gaps"][N01][-1] > 1),
    ("rnn_cell_from_numpy_reading", "a diferença fica no nível do arredondamento de float32",
     lambda r: max(r["gaps"][FAN_IN]) < 1e-5),
    ("rnn_cell_from_numpy_reading", "se nela a diferença passa de $10^{-5}$, algum parâmetro foi copiado errado",
     lambda r: max(r["gaps"][FAN_IN]) < 1e-5 and all(max(r[case][FAN_IN]) > 1e-5 for case in
                                                     ("transfer_both_biases_bh", "transfer_whh_as_is"))),
    ("rnn_cell_from_numpy_reading", "A primeira linha não diz nada sobre o seu código",
     lambda r: max(r["gaps"][N01]) > 1),  # the right code's first line is as large as it gets
    ("gradient_intro", "a cada passo é multiplicado pela derivada do passo",
     lambda r: one_step_jacobian_is_diag_tanh_prime_times_whh_transposed()),
    ("gradient_intro", "A célula abaixo usa o seu módulo `RNN` da Parte 3 (se ele aceita `H0` e mantém o grafo;",
     lambda r: r["computed_by"] == "pelo seu módulo RNN da Parte 3"
     and r["module_without_h0"].startswith("pelo nn.RNN")),
    ("gradient_intro", "Para cada uma, ela mede quantas unidades saturam e a norma do gradiente",
     lambda r: set(r["gradients"]) == {N01, FAN_IN, UNIFORM}
     and all(len(g["norms"]) == 6 for g in r["gradients"].values())),
    ("gradient_reading", "**A saturação sozinha não decide.**",
     lambda r: r["gradients"][N01]["saturated"] > r["gradients"][FAN_IN]["saturated"]
     and r["gradients"][N01]["norms"]["50"] > 1e10 > 1e-5 > r["gradients"][FAN_IN]["norms"]["50"]),
    ("gradient_reading", "quanto ele estica ou encolhe o gradiente a cada passo",
     lambda r: all((g["gain"] > 1) == (g["norms"]["50"] > g["norms"]["1"]) for g in r["gradients"].values())),
    ("gradient_reading", "cerca de 90% das unidades estão saturadas e o $\\tanh'$ médio é pequeno",
     lambda r: 0.85 < r["gradients"][N01]["saturated"] < 0.95 and r["gradients"][N01]["slope"] < 0.1),
    ("gradient_reading", "estica um vetor típico por um fator perto de $\\sqrt{h} \\approx 23$",
     lambda r: 21 < stretch(1.0) < 24),
    ("gradient_reading", "As poucas unidades que não saturam bastam para um ganho acima de 1, em torno de 3 por passo",
     lambda r: 2.5 < r["gradients"][N01]["gain"] < 4 and r["gradients"][N01]["norms"]["20"] > 1e10),
    ("gradient_reading", "É o mesmo ganho que fez a diferença de arredondamento crescer",
     lambda r: abs(np.log(r["gradients"][N01]["gain"] / growth_per_step(r["gaps"][N01]))) < np.log(1.5)),
    ("gradient_reading", "$W_{hh}$ estica por um fator perto de 1 e o $\\tanh' < 1$ encolhe",
     lambda r: 0.9 < stretch(1 / np.sqrt(512)) < 1.1 and r["gradients"][FAN_IN]["slope"] < 1
     and 0.4 < r["gradients"][FAN_IN]["gain"] < 0.7),
    ("gradient_reading", "O gradiente **desvanece** e, no passo 50, está abaixo de $10^{-5}$, embora só cerca de 10%",
     lambda r: r["gradients"][FAN_IN]["norms"]["50"] < 1e-5 and 0.05 < r["gradients"][FAN_IN]["saturated"] < 0.15),
    ("gradient_reading", "nenhuma unidade satura, e mesmo assim o gradiente também desvanece",
     lambda r: r["gradients"][UNIFORM]["saturated"] < 0.005 and r["gradients"][UNIFORM]["norms"]["50"] < 1e-5
     and r["gradients"][UNIFORM]["gain"] < 1 and stretch(1 / np.sqrt(3 * 512)) < 1),
    ("gradient_reading", "Nos três casos, o sinal que liga o fim da sequência ao começo some ou explode",
     lambda r: all(not 1e-5 < g["norms"]["50"] < 1e10 for g in r["gradients"].values())),
    ("gradient_reading", "ela evita a explosão no começo do treino, mas sozinha não evita o desvanecimento",
     lambda r: r["gradients"][FAN_IN]["gain"] < 1 and r["gradients"][FAN_IN]["norms"]["50"] < 1e-5),
    ("timing_intro", "o tempo por passo de três versões da mesma camada",
     lambda r: all(set(v) == {LOOP, CELL_LOOP, FUSED} for v in r["timings"].values())),
    ("timing_intro", "Ela mede com $h = 32$",
     lambda r: set(r["timings"]) == {"32", "512"}),
    ("timing_reading", "o tempo total cresce linearmente com $N$ (dobrar a sequência dobra o tempo",
     lambda r: all(linear(t) for v in r["timings"].values() for t in v.values())),
    ("timing_reading", "os passos são feitos um depois do outro, e nenhuma versão escapa disso",
     lambda r: all(t[-1] * LENGTHS[-1] > 5 * t[0] * LENGTHS[0] for v in r["timings"].values() for t in v.values())),
    ("timing_reading", "chamar a célula a partir do Python custa mais que um passo do laço em C++",
     lambda r: np.mean(r["timings"]["32"][CELL_LOOP]) > 1.3 * np.mean(r["timings"]["32"][FUSED])),
    ("timing_reading", "cada passo fica várias vezes mais caro em todas as versões",
     lambda r: all(np.mean(r["timings"]["512"][k]) > 2 * np.mean(r["timings"]["32"][k])
                   for k in (LOOP, CELL_LOOP, FUSED))),
    ("timing_reading", "a vantagem do `nn.RNN` sobre a sua Parte 3 pesa menos, em proporção",
     lambda r: np.mean(r["timings"]["512"][CELL_LOOP]) / np.mean(r["timings"]["512"][FUSED])
     < np.mean(r["timings"]["32"][CELL_LOOP]) / np.mean(r["timings"]["32"][FUSED])),
    ("timing_reading", "mas em qualquer uma o tempo cresce com $N$",
     lambda r: all(np.all(np.diff(np.array(t) * LENGTHS) > 0) for v in r["timings"].values() for t in v.values())),
]
# Sentences of the readings that explain, point or recall the field, and read no output (why, beside each).
EXPLAINED = {
    "o primeiro experimento, logo abaixo da Parte 4, mede o que ela mostra": "where to read on",
    "As duas implementações fazem a mesma conta": "what the demo compares (the code of the cell above)",
    "**Por que a diferença cresce com": "a heading",
    "No treino, o gradiente de uma perda no passo": "what backpropagation through time is",
    "O que decide é o *ganho* do produto": "the definition of the gain, measured in the claims above",
    "**O que se faz na prática.**": "the field's remedies, not an output",
    "Contra o desvanecimento, as células com portas": "the field's remedies, not an output",
    "Cada passo depende do anterior, então o laço sobre o tempo não some": "the reason for the experiment",
    "Os números exatos dependem da máquina": "a caution; its claim is the next clause, checked above",
    "uma RNN simples aprende mal dependências longas": "the conclusion of the three cases, checked above",
}


def sentences(text: str) -> list:
    """The sentences of a markdown cell: one per line of a list, split after . ! ? otherwise."""
    found = []
    for line in text.splitlines():
        if line.startswith("#"):  # a heading
            continue
        line = line.strip().lstrip("-").strip()
        found += [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z*ÉÁ])", line) if s]
    return found


@pytest.fixture(scope="module")
def readings():
    nb = CORPUS.notebook("correct_reference")
    return {gid(c): c.source for c in nb.cells if gid(c) in READINGS}


def test_every_sentence_that_reads_an_output_has_a_check(readings):
    assert set(readings) == set(READINGS)
    for grade_id, fragment, _ in CLAIMS:
        assert fragment in readings[grade_id], f"{grade_id}: the claim '{fragment}' is no longer in the notebook"
    fragments = [fragment for _, fragment, _ in CLAIMS] + list(EXPLAINED)
    unchecked = [s for text in readings.values() for s in sentences(text) if not any(f in s for f in fragments)]
    assert not unchecked, f"sentences that interpret an output need a check in CLAIMS: {unchecked}"


def test_the_reference_runs_without_an_error(reference_run):
    assert reference_run["first_run_errors"] == []


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: f"{c[0]}: {c[1][:40]}")
def test_the_claim_holds_on_the_reference_run(reference_run, claim):
    _, fragment, check = claim
    assert check(reference_run), (fragment, {k: reference_run[k] for k in ("gaps", "gradients", "timings")})


def test_rerunning_part_1_after_the_later_parts_breaks_nothing(reference_run):
    """Part 2's answers keep names of their own (rnn_init_weights, rnn_forward), as Part 1's do."""
    rerun = reference_run["rerun"]
    assert {"rnn_forward_demo", "rnn_forward_quick_tests", "rnn_cell_from_numpy_demo", "timing_demo"} <= set(rerun)
    for grade_id, outputs in rerun.items():
        assert errors(outputs) == [], grade_id
        assert not [o for o in outputs if o.get("name") == "stderr"], (grade_id, printed(outputs))
        if grade_id.endswith("_quick_tests"):
            assert "todos passaram" in printed(outputs), grade_id
    points = {gid: o.data["text/plain"] for gid, out in rerun.items() if gid.startswith("test_") for o in out
              if o.output_type == "execute_result"}
    assert points == {"test_rnn_init_weights": "1.0", "test_rnn_forward": "3.0", "test_rnn_cell_module": "4.0",
                      "test_rnn_cell_from_numpy": "2.0"}
