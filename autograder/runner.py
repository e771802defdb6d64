"""Run one part's hidden tests without pytest: for the command line and for nbgrader.

The test functions are the pytest ones (autograder/hidden/test_<grade_id>.py),
called with the same `part` client and device variants that the pytest plugin
gives them, and scored by the same rules (plugin.classify, report.test_result).
Skipping pytest's start-up per submission is what makes a class fast.
"""
import importlib
import inspect

from autograder.parts import PARTS_BY_ID
from autograder.plugin import PartClient, classify
from autograder.sandbox import StudentError


class NoCell:
    """Stands in for a part whose answer cell was not found: every call fails."""

    def __init__(self, grade_id):
        self.grade_id = grade_id

    def request(self, op, **args):
        raise StudentError(f"nenhuma célula de resposta encontrada para {self.grade_id}")


def run_part(grade_id, process, devices):
    """{(grade_id, test name): [(variant, status, message)]} for one part."""
    module = importlib.import_module(f"autograder.hidden.test_{grade_id}")
    part = PartClient(grade_id, process)
    outcomes = {}
    for name in PARTS_BY_ID[grade_id].tests:
        test = getattr(module, name)
        variants = devices if "torch_device" in inspect.signature(test).parameters else [""]
        runs = []
        for device in variants:
            try:
                test(part, **({"torch_device": device} if device else {}))
                exc = None
            except Exception as error:
                exc = error
            runs.append((device if len(variants) > 1 else "", *classify(exc)))
        outcomes[(grade_id, name)] = runs
    return outcomes
