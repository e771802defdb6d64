"""What a student's code does to torch, numpy or the grader, read from its syntax: flagged, never scored."""
import pytest

from autograder import tamper
from autograder.notebook import python_source
from tests.helpers import REPO

# The reference solutions of every assignment (not their hidden tests, assignment.py or corpus): honest code.
NOT_ANSWERS = {"__init__.py", "assignment.py", "corpus.py"}
HONEST = sorted(p for root in (REPO / "solutions", REPO / "tests" / "tiny_course" / "solutions")
                for p in root.glob("*/*.py") if p.name not in NOT_ANSWERS)

PATCHES = {
    "nn.GRUCell = MyCell": "altera torch.nn.GRUCell",
    "import torch.nn as tnn\ntnn.Linear.forward = f": "altera torch.nn.Linear.forward",
    "torch.stack = lambda *a: 0": "altera torch.stack",
    "np.testing.assert_allclose = lambda *a, **k: None": "altera numpy.testing.assert_allclose",
    "setattr(np.random, 'randn', f)": "altera numpy.random com setattr",
    "del torch.nn.GRUCell": "altera torch.nn.GRUCell",
    "from torch import nn as n2\nn2.Module.modules = m": "altera torch.nn.Module.modules",
    "import sys\nsys.modules['autograder.inside.child'].probes = f": "usa sys.modules",
    "import autograder.inside.child": "importa autograder.inside.child",
    "__import__('autograder')": "usa __import__()",
    # what a hostile reviewer tried: aliases, dynamic names, dictionaries and indirect paths
    "m = torch.nn\nm.Linear = 1": "altera torch.nn.Linear",
    "m = torch.nn\nsetattr(m, 'Linear', 1)": "altera torch.nn com setattr",
    "vars(torch.nn)['Linear'] = 1": "usa vars()",
    'exec("torch.nn.Linear = 1")': "usa exec()",
    "import importlib\nimportlib.import_module('g' + 'c')": "importa importlib",
    "import builtins\nbuiltins.setattr(torch.nn, 'Linear', 1)": "importa builtins",
    "object.__setattr__(torch, 'x', 1)": "usa .__setattr__()",
    "np.random.__dict__.update({})": "usa numpy.random.__dict__",
    "(t := torch).stack = 1": "altera um atributo de torch ou numpy por um caminho indireto",
    "[torch][0].stack = 1": "altera um atributo de torch ou numpy por um caminho indireto",
    "for T in [torch]:\n    T.stack = 1": "altera torch.stack",
    "getattr(torch, 'nn').Linear = 1": "altera um atributo de torch ou numpy por um caminho indireto",
    "import sys as s\ngetattr(s, 'modules')": "usa getattr em sys",
    "G = getattr(get_ipython, '__glo' + 'bals__')": "usa getattr com um nome calculado ou interno",
    "globals()['np'] = None": "usa globals()",
    "import gc\nobjs = gc.get_objects()": "importa gc",
    "frame = sys._getframe(1)": "usa ._getframe",
    "g = f.__globals__": "usa .__globals__",
    "x = %time torch.manual_seed(0)\ntorch.nn.functional.relu = torch.tanh": "altera torch.nn.functional.relu",
}


@pytest.mark.parametrize("path", HONEST, ids=lambda p: p.relative_to(REPO).as_posix())
def test_honest_code_is_never_flagged(path):
    assert tamper.findings(path.read_text()) == []


@pytest.mark.parametrize("source, finding", PATCHES.items())
def test_a_patch_is_flagged_with_what_it_changes(source, finding):
    assert finding in tamper.findings(python_source(source))


def test_honest_idioms_that_look_like_patches_are_not_flagged():
    """Control for the rule's edges: attributes of one's own objects, settings and seeds are not patches."""
    honest = ("self.cell = nn.GRUCell(3, 4)\nH = torch.zeros(3)\nH[0] = 1\ncell.weight_ih.data[:] = 1\n"
              "H[torch.arange(2)] = 1\nW = params['Wxh']\nd = dict(a=1)\nd.update(b=2)\nfor x in X:\n    H = x\n"
              "params['Wxh'] = np.random.randn(3, 4)\nnp.random.seed(0)\ntorch.manual_seed(0)\n"
              "torch.backends.cudnn.benchmark = True\nx = np.zeros(3)\nx.shape = (3, 1)\n")
    assert tamper.findings(honest) == []
    assert tamper.findings(honest + "np.zeros = lambda *a: 1\n") == ["altera numpy.zeros"]


def test_code_that_does_not_parse_has_no_findings():
    assert tamper.findings("def f(:\n    nn.GRUCell = 1") == []
    assert tamper.findings("(" * 10_000) == []
