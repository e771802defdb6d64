"""Feedback that names the mistake: the wrong answers of tests/mistakes_corpus.py, graded as one class.

Each must carry exactly its mistakes' codes on its own part, and nothing
anywhere else; every code the report promises is produced somewhere; no
message shows raw exception text, grader code, or a device the notebook
never taught without saying what it is.
"""
import csv
import json
import re

import nbformat
import pytest

from tests.helpers import grade
from tests.rnn_forward.helpers import ASSIGNMENT, CORPUS, RELEASE_NB
from tests.rnn_forward.mistakes_corpus import MISTAKES

pytestmark = pytest.mark.slow

# The vocabulary each part's failures must be able to name (the report's contract).
REQUIRED = {
    "ff_init_weights": {"wrong_keys", "wrong_shape", "transposed_shape", "not_float64", "not_standard_normal",
                        "zero_bias"},
    "rnn_init_weights": {"wrong_keys", "wrong_shape", "transposed_shape", "not_float64", "not_standard_normal",
                         "zero_bias"},
    "ff_forward": {"missing_bias", "missing_tanh", "wrong_activation", "sizes_from_globals", "not_float64"},
    "rnn_forward": {"missing_bias", "missing_tanh", "wrong_activation", "transposed_whh", "h0_included",
                    "last_state_only", "returns_tuple", "states_shifted", "states_aliased", "h0_zeros",
                    "h0_not_standard_normal", "h0_shared_across_batch", "h0_fixed_seed", "sizes_from_globals",
                    "wrong_time_axis"},
    "rnn_cell_module": {"no_rnn_cell", "uses_nn_rnn", "cell_created_in_forward", "graph_detached", "device_fixed",
                        "sizes_from_constructor", "cell_config", "h0_zeros", "h0_not_standard_normal",
                        "cat_instead_of_stack", "returns_list", "returns_tuple", "h0_included", "last_state_only"},
    "rnn_cell_from_numpy": {"transfer_whh_not_transposed", "transfer_wxh_reshaped", "transfer_shape",
                            "transfer_bias_doubled", "transfer_bias_missing", "transfer_bias_offset",
                            "transfer_params_ignored"},
}
# Init mistakes written once for one of the two init parts are the same code on the other.
SHARED_INIT = ("ff_init_weights", "rnn_init_weights")


@pytest.fixture(scope="module")
def diagnosed(tmp_path_factory):
    """(report, {student: row}, the command's output, CSV rows) for the class of MISTAKES."""
    folder = tmp_path_factory.mktemp("mistakes")
    for name, (grade_id, source, _) in MISTAKES.items():
        nbformat.write(CORPUS.fill(nbformat.read(RELEASE_NB, as_version=4), {grade_id: source}),
                       folder / f"{name}.ipynb")
    out, table = folder / "report.json", folder / "grades.csv"
    proc = grade(folder, "--json", out, "--csv", table, "--workers", 2, "--device", "cpu", "--seed", 20261201)
    report = json.loads(out.read_text())
    with open(table, newline="") as f:
        csv_rows = {row["student"]: row for row in csv.DictReader(f)}
    return report, {row["student"]: row for row in report["submissions"]}, proc.stdout, csv_rows


def codes(row, grade_id):
    return {code for test in row["parts"][grade_id]["tests"] for code in test["diagnosis"]}


@pytest.mark.parametrize("name", MISTAKES)
def test_the_mistake_is_named_on_its_part_and_nowhere_else(diagnosed, name):
    grade_id, _, expected = MISTAKES[name]
    row = diagnosed[1][name]
    assert codes(row, grade_id) == expected, [t["message"] for t in row["parts"][grade_id]["tests"]]
    for other, part in row["parts"].items():
        if other != grade_id:
            assert part["score"] == part["max_score"] and not codes(row, other), other


def test_every_code_of_the_contract_is_produced_on_its_part(diagnosed):
    produced = {(MISTAKES[name][0], code) for name, row in diagnosed[1].items()
                for code in codes(row, MISTAKES[name][0])}
    for grade_id, required in REQUIRED.items():
        seen = {code for gid, code in produced if gid == grade_id or {gid, grade_id} <= set(SHARED_INIT)}
        assert required <= seen, f"{grade_id}: never produced {sorted(required - seen)}"
    assert {code for _, code in produced} <= set(ASSIGNMENT.mistakes)  # every code has its explanation


def test_one_mistake_costs_only_the_properties_it_breaks(diagnosed):
    rows = diagnosed[1]
    scores = {name: rows[name]["parts"][MISTAKES[name][0]]["score"] for name in MISTAKES}
    # A mistake of form: the states are read through it, only the shape test is lost.
    for name in ("rnn_h0_included", "rnn_returns_tuple", "rnn_returns_list", "module_h0_included",
                 "module_returns_list", "module_concatenated"):
        part = rows[name]["parts"][MISTAKES[name][0]]
        failed = [t["name"] for t in part["tests"] if t["status"] != "passed"]
        assert len(failed) == 1 and "shape" in failed[0], (name, failed)
    # A wrong step (a missing tanh too) costs the recurrence, not the sizes or H_0 tests.
    recurrence = ASSIGNMENT.points("rnn_forward") - next(
        t.points for t in ASSIGNMENT.tests["rnn_forward"] if t.name == "test_states_follow_the_recurrence")
    for name in ("rnn_missing_bias", "rnn_transposed_whh", "rnn_stored_before_update", "rnn_missing_tanh"):
        assert scores[name] == recurrence, name
    # Only the last state: the shape and the recurrence, which one state cannot show; H_0 and sizes still count.
    for name in ("rnn_last_state_only", "rnn_last_state_only_filled", "module_last_state_only"):
        part = rows[name]["parts"][MISTAKES[name][0]]
        failed = {t["name"] for t in part["tests"] if t["status"] != "passed"}
        assert failed == {"test_states_follow_the_recurrence", next(t["name"] for t in part["tests"]
                                                                    if "shape" in t["name"])}, (name, failed)
    # Reading through a form never earns what was not computed: noise with one row too many gets nothing.
    assert scores["rnn_noise_one_state_too_many"] == 0.0


def test_messages_name_the_mistake_in_the_students_words_only(diagnosed):
    tests = [(row["student"], t) for row in diagnosed[0]["submissions"] for p in row["parts"].values()
             for t in p["tests"] if t["status"] != "passed"]
    assert tests
    for student, test in tests:
        message = test["message"]
        assert not re.search(r"\b\w+(Error|Exception)\b: ", message), (student, message)  # no raw exception text
        assert not re.search(r"autograder|solutions/|hidden/|\.py\b|Traceback", message), (student, message)
        if "meta" in message:  # a device the notebook never taught: always said what it is
            assert "só guarda formas" in message, (student, message)
        for code in test["diagnosis"]:
            assert ASSIGNMENT.mistakes[code] in message, (student, code, message)


def test_the_command_line_counts_each_mistake_and_the_csv_lists_each_students(diagnosed):
    report, rows, stdout, csv_rows = diagnosed
    assert "mistakes diagnosed" in stdout
    students_with = {}
    for name, row in rows.items():
        for code in codes(row, MISTAKES[name][0]):
            students_with[code] = students_with.get(code, 0) + 1
        assert set(csv_rows[name]["diagnosis"].split()) == codes(row, MISTAKES[name][0])
    for code, count in students_with.items():
        assert re.search(rf"│\s+{count} │ {code}\s", stdout), (code, count)
