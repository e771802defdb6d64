"""`make gpu-check` (autograder/tools/gpu_check.py): its summary, and what it does on a machine without CUDA."""
import subprocess
import sys

import pytest
import torch

from autograder.tools import gpu_check
from autograder.tools.gpu_check import CudaTests, Graded, summary
from tests.helpers import REPO


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: gpu-check would run it all")
def test_without_cuda_it_says_so_and_passes():
    proc = subprocess.run([sys.executable, "-m", "autograder.tools.gpu_check"], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    build = gpu_check.torch_build(torch.__version__, torch.version.cuda)
    assert proc.stdout == f"gpu-check: no CUDA device on this machine (torch {build}): nothing to check\n"
    assert gpu_check.torch_build("2.13.0+cpu", None) == "2.13.0+cpu, a build without CUDA"
    assert gpu_check.torch_build("2.13.0", "12.8") == "2.13.0, CUDA 12.8"


def test_the_summary_names_each_score_that_differs_on_cuda():
    same = Graded("rnn_forward", {"ana": 10.0, "bob": 4.0}, {"ana": 10.0, "bob": 4.0}, "bubblewrap")
    lines, ok = summary(["NVIDIA H100"], "2.13.0", [same], CudaTests(passed=12, skipped=1))
    assert ok and lines == [
        "gpu-check: 1 CUDA device(s): NVIDIA H100; torch 2.13.0",
        "  rnn_forward: 2 examples graded with --device cuda (isolation: bubblewrap); every score as with --device cpu",
        "  CUDA tests: 12 passed, 0 failed, 1 skipped",
        "gpu-check: OK"]
    differs = Graded("rnn_forward", {"ana": 10.0, "bob": 4.0}, {"ana": 10.0, "bob": 3.5}, "bubblewrap")
    lines, ok = summary(["NVIDIA H100"], "2.13.0", [differs], CudaTests(passed=12))
    assert not ok and "1 score(s) differ from --device cpu: bob 4.0 (cpu) vs 3.5 (cuda)" in lines[1]
    for graded, tests in [([same], CudaTests(passed=11, failed=1)), ([same], CudaTests(failure="ran out of time")),
                          ([Graded("rnn_forward", failure="--device cuda exited 2: ...")], CudaTests(passed=1)),
                          ([same], CudaTests())]:  # (no CUDA test at all is no pass)
        lines, ok = summary(["NVIDIA H100"], "2.13.0", graded, tests)
        assert not ok and lines[-1] == "gpu-check: FAILED", lines


def test_with_a_faked_gpu_it_grades_every_assignments_examples_and_runs_the_cuda_tests(monkeypatch, capsys):
    seen = []
    monkeypatch.setattr(gpu_check, "cuda_devices", lambda: ["Fake GPU", "Fake GPU"])
    monkeypatch.setattr(gpu_check, "grade_examples", lambda assignment, folder, deadline: seen.append(
        assignment.name) or Graded(assignment.name, {"ana": 1.0}, {"ana": 1.0}, "bubblewrap"))
    monkeypatch.setattr(gpu_check, "cuda_tests", lambda folder, deadline: CudaTests(passed=3))
    assert gpu_check.main([]) == 0
    assert seen == ["rnn_forward"]
    out = capsys.readouterr().out
    assert out.startswith("gpu-check: 2 CUDA device(s): Fake GPU;") and out.endswith("gpu-check: OK\n")


def test_the_cuda_tests_are_counted_from_pytests_junit_xml(tmp_path):
    xml = tmp_path / "t.xml"
    xml.write_text('<testsuites><testsuite name="pytest" tests="9" failures="1" errors="1" skipped="2">'
                   '</testsuite></testsuites>')
    assert gpu_check.counted(xml) == CudaTests(passed=5, failed=2, skipped=2)
