"""The command line: how it finds submissions, its exit codes and options, what it prints as it goes, and
the rows of files that are not notebooks."""
import argparse
import errno
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import cli, grading, results
from autograder.cli import ExitCode
from autograder.course import find_submissions
from autograder.errors import PathError
from autograder.notebook import _unreadable, load_submission
from tests.helpers import REPO, TINY_ASSIGNMENT

RELEASE_NB = TINY_ASSIGNMENT.release_notebook
ON = ("--assignment", str(TINY_ASSIGNMENT.folder))  # the tiny course's assignment


def touch(path):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("{}")
    return Path(path)


def test_nbgrader_layout_gives_one_row_per_student(tmp_path):
    ana = touch(tmp_path / "ana" / "tiny" / "tiny.ipynb")
    touch(tmp_path / "ana" / "tiny" / "scratch.ipynb")
    touch(tmp_path / "ana" / "tiny" / "timestamp.txt")
    bob = touch(tmp_path / "bob" / "tiny" / "Untitled.ipynb")
    (tmp_path / "carl" / "tiny").mkdir(parents=True)
    for name in ("timestamp.txt", "submission_secret.txt", "tiny.py", ".DS_Store"):
        touch(tmp_path / "dan" / "tiny" / name)
    skipped: "list[Path]" = []
    jobs = find_submissions([tmp_path], "tiny", skipped)
    # ana has two notebooks: her folder is the job, and the runner grades the one that counts (course.choose_notebook)
    assert [(s, nb, error) for s, nb, error in jobs[:2]] == [("ana", ana.parent, None), ("bob", bob, None)]
    assert jobs[2][0] == "carl" and jobs[2][2].endswith("nenhum notebook (.ipynb) na entrega")
    # dan sent a .py: his row names it; nbgrader's own files and hidden ones are no news
    assert jobs[3][0] == "dan" and jobs[3][2].endswith("nenhum notebook (.ipynb) na entrega; há só tiny.py")
    assert skipped == []  # a submission's extra files (timestamp.txt) are normal: no note for the run


def test_flat_folder_and_single_files_use_the_stem(tmp_path):
    a, b = touch(tmp_path / "a.ipynb"), touch(tmp_path / "b.ipynb")
    notes, pdf = touch(tmp_path / "notes.txt"), touch(tmp_path / "c.pdf")
    touch(tmp_path / ".DS_Store")
    skipped: "list[Path]" = []
    assert find_submissions([tmp_path], "tiny", skipped) == [("a", a, None), ("b", b, None)]
    assert skipped == [pdf, notes]  # named in the run's note: c.pdf may be a student's work in the wrong format
    assert find_submissions([b], "tiny") == [("b", b, None)]


def test_a_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(PathError, match="nope: no such file or folder"):
        find_submissions([tmp_path / "nope"], "tiny")


def test_an_unreadable_path_is_a_clear_error(tmp_path, monkeypatch):
    (tmp_path / "locked").mkdir()

    def scandir(path):  # (as a folder without read permission does, even to root's tests)
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(PathError, match="locked: cannot be read"):
        find_submissions([tmp_path / "locked"], "tiny")


# Exit codes: one table (cli.ExitCode), a test per code.

def test_the_exit_codes_are_distinct_and_keep_the_codes_tools_rely_on():
    assert len({int(code) for code in ExitCode}) == len(ExitCode)
    assert (ExitCode.OK, ExitCode.USAGE, ExitCode.REVIEW, ExitCode.INTERRUPTED) == (0, 2, 3, 130)  # argparse: 2
    assert 1 not in set(ExitCode)  # Python's own, for a traceback


def exit_code(argv):
    """cli.main(argv)'s exit status, returned or raised."""
    try:
        return cli.main([str(a) for a in argv])
    except SystemExit as exc:
        return exc.code


def test_a_usage_error_exits_2(capsys):
    assert exit_code(["grade", "x.ipynb", "--workers", "many"]) == ExitCode.USAGE
    assert exit_code(["grade", *ON]) == ExitCode.USAGE and "required: PATH" in capsys.readouterr().err


def test_a_missing_path_exits_4_before_anything_is_written(tmp_path, capsys):
    assert exit_code(["grade", tmp_path / "nope", *ON, "--device", "cpu", "--json", tmp_path / "r.json"]) \
        == ExitCode.MISSING_PATH
    assert f"{tmp_path / 'nope'}: no such file or folder" in capsys.readouterr().err
    assert exit_code(["report", tmp_path / "nope.json"]) == ExitCode.MISSING_PATH
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "empty").mkdir()  # a folder with nothing to grade
    assert exit_code(["grade", tmp_path / "empty", *ON, "--device", "cpu", "--json", tmp_path / "r.json"]) \
        == ExitCode.MISSING_PATH
    assert "no notebooks found under" in capsys.readouterr().err


def fake_grading(monkeypatch, outcome):
    """grading.grade_all, replaced: each job's row as `outcome` makes it (or what it raises)."""
    def grade_all(assignment, jobs, *args, **kwargs):
        if isinstance(outcome, BaseException):
            raise outcome
        return [results.submission_result(assignment, student, nb, {}, **outcome) for student, nb, _ in jobs]
    monkeypatch.setattr(grading, "grade_all", grade_all)


def test_a_grader_failure_exits_3_and_a_clean_run_0(tmp_path, monkeypatch):
    nb = touch(tmp_path / "ana.ipynb")
    fake_grading(monkeypatch, {"grader_failed": True})
    assert exit_code(["grade", nb, *ON, "--device", "cpu", "--json", tmp_path / "r.json"]) == ExitCode.REVIEW
    fake_grading(monkeypatch, {"error": "não é um notebook"})  # the student's zero: graded, not the grader's failure
    assert exit_code(["grade", nb, *ON, "--device", "cpu", "--json", tmp_path / "r.json"]) == ExitCode.OK


def test_an_interrupted_run_exits_130(tmp_path, monkeypatch):
    fake_grading(monkeypatch, KeyboardInterrupt())
    assert exit_code(["grade", touch(tmp_path / "ana.ipynb"), *ON, "--device", "cpu", "--json",
                      tmp_path / "r.json"]) == ExitCode.INTERRUPTED


def test_the_run_notes_the_files_it_did_not_grade(tmp_path, monkeypatch, capsys):
    touch(tmp_path / "ana.ipynb")
    touch(tmp_path / "bob.py")
    fake_grading(monkeypatch, {})
    assert exit_code(["grade", tmp_path, *ON, "--device", "cpu", "--json", tmp_path / "r.json"]) == ExitCode.OK
    assert f"note: not graded, not notebooks (.ipynb): {tmp_path / 'bob.py'}" in capsys.readouterr().err


@pytest.mark.slow
def test_without_bubblewrap_grading_goes_on_and_the_report_says_so(tmp_path):
    env = dict(os.environ, PATH=os.path.dirname(sys.executable))  # no bwrap on PATH
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", str(RELEASE_NB), *ON, "--json", str(out)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and "WARNING" in proc.stderr and "bubblewrap" in proc.stderr
    report = json.loads(out.read_text())
    assert report["isolation"] == "process" and report["submissions"][0]["score"] == 0


@pytest.mark.parametrize("db", ["missing.db", "empty.db", "foreign.db"])
def test_a_wrong_gradebook_stops_before_grading_and_creates_nothing(tmp_path, db):
    (tmp_path / "empty.db").write_bytes(b"")
    (tmp_path / "foreign.db").write_bytes(b"SQLite format 3\0" + b"\0" * 100)
    before = sorted((p.name, p.read_bytes()) for p in tmp_path.iterdir())
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", str(RELEASE_NB), *ON, "--gradebook",
                           str(tmp_path / db), "--json", str(tmp_path / "r.json")],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == ExitCode.GRADEBOOK and str(tmp_path / db) in proc.stderr and "nbgrader" in proc.stderr
    # no new gradebook, no report, no journal, and the wrong files are left as they were
    assert sorted((p.name, p.read_bytes()) for p in tmp_path.iterdir()) == before


def gradebook_option(*argv):
    """(the gradebook, the paths) that `grade ARGV` asks for."""
    parser = argparse.ArgumentParser()
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--gradebook", nargs="?", const=True)
    parser.add_argument("--gradebook-db", type=Path)
    args = parser.parse_args([str(a) for a in argv])
    return cli.gradebook_option(args, parser, args.paths), args.paths


def test_gradebook_is_a_flag_that_never_swallows_the_path(tmp_path):
    (tmp_path / "submitted").mkdir()
    (tmp_path / "folder.db").mkdir()
    sub, db = tmp_path / "submitted", tmp_path / "grades.db"
    assert gradebook_option("--gradebook", sub) == (True, [sub])  # the course's gradebook
    assert gradebook_option(sub, "--gradebook") == (True, [sub])
    assert gradebook_option("--gradebook", "missing", sub) == (True, [Path("missing"), sub])  # (then: exit 4)
    assert gradebook_option("--gradebook", tmp_path / "folder.db") == (True, [tmp_path / "folder.db"])
    assert gradebook_option(sub, "--gradebook", db) == (db, [sub])  # as it always was
    assert gradebook_option("--gradebook-db", db, sub) == (db, [sub])
    assert gradebook_option("--gradebook", "--gradebook-db", db, sub) == (db, [sub])
    assert gradebook_option(sub) == (False, [sub])
    with pytest.raises(SystemExit):
        gradebook_option(sub, "--gradebook", db, "--gradebook-db", tmp_path / "other.db")
    with pytest.raises(SystemExit):
        gradebook_option("--gradebook", db)  # no PATH


def test_report_gradebook_never_swallows_the_report(tmp_path, capsys):
    db = tmp_path / "grades.db"
    assert gradebook_option("--gradebook", "report.json")[0] is True  # (grade's and report's options are one)
    # report's REPORT.json: taken as it, not as the gradebook (which would then ask for REPORT.json)
    assert exit_code(["report", "--gradebook", tmp_path / "report.json"]) == ExitCode.MISSING_PATH
    assert f"{tmp_path / 'report.json'}: cannot be read" in capsys.readouterr().err
    assert exit_code(["report", "--gradebook", db]) == ExitCode.USAGE  # a gradebook, and no report
    assert "required: REPORT.json" in capsys.readouterr().err
    assert exit_code(["report", "--gradebook", tmp_path / "a.json", tmp_path / "b.json"]) == ExitCode.USAGE
    assert "one REPORT.json, not 2" in capsys.readouterr().err


def test_grade_gradebook_submitted_grades_submitted(tmp_path, capsys):
    touch(tmp_path / "submitted" / "ana" / "tiny" / "tiny.ipynb")
    # the folder is the PATH, and the gradebook the course's (which the tiny course lacks: refused before grading)
    assert exit_code(["grade", "--gradebook", tmp_path / "submitted", *ON, "--device", "cpu", "--json",
                      tmp_path / "r.json"]) == ExitCode.GRADEBOOK
    err = capsys.readouterr().err
    assert str(TINY_ASSIGNMENT.course / "gradebook.db") in err and "PATH" not in err


def test_the_default_gradebook_is_the_courses(tmp_path):
    from autograder.gradebook import default_gradebook
    assert default_gradebook(TINY_ASSIGNMENT) == TINY_ASSIGNMENT.course / "gradebook.db"


def test_help_describes_every_option_and_its_default():
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", "--help"], cwd=REPO, capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, COLUMNS="200"))
    options = re.split(r"\n  (?=-)", proc.stdout.split("options:")[1])[1:]  # one block per option
    from autograder.limits import declared

    assert {f.metadata["flag"] for f in declared()} <= {block.split()[0].rstrip(",") for block in options}
    for block in options:
        assert block.startswith("-h") or "default" in block, block
    assert "PATH" in proc.stdout.split("options:")[0] and "submitted/" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "autograder", "report", "--help"], cwd=REPO, capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, COLUMNS="200"))
    assert "REPORT.json" in proc.stdout and "--out" in proc.stdout and "default" in proc.stdout


# The rows of files that are not notebooks: what a student reads, in Portuguese, naming the problem and where.
NOT_NOTEBOOKS = {
    "empty": (b"", "o arquivo está vazio"),
    "blank": (b"  \n", "o arquivo está vazio"),
    "not_json": (b"print('oi')\n", "o conteúdo não é JSON válido (erro na linha 1, coluna 1)"),
    "truncated": (b'{"cells": [\n  {"cell_type": "code",', "o conteúdo não é JSON válido (erro na linha 2, coluna"),
    "latin1": ('{"cells": [], "metadata": {"autor": "José"}, "nbformat": 4}'.encode("latin-1"),
               "o arquivo não está em UTF-8 (byte inválido na posição 40)"),
    "a_list": (b"[]", "o JSON não é um objeto de notebook"),
    "no_version": (b'{"cells": []}', 'falta o campo "nbformat", a versão do formato'),
    "version_99": (b'{"cells": [], "metadata": {}, "nbformat": 99, "nbformat_minor": 0}',
                   "versão 99 do formato nbformat; o corretor lê as versões 1 a 4"),
    "version_text": (b'{"cells": [], "metadata": {}, "nbformat": "4"}', 'versão "4" do formato nbformat'),
    "cells_not_a_list": (b'{"cells": {}, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}',
                         'falta a lista de células ("cells")'),
    "invalid_cell": (b'{"cells": [{"cell_type": "code", "source": 3}], "metadata": {}, "nbformat": 4, '
                     b'"nbformat_minor": 5}', "não segue o formato nbformat 4"),
    "invalid_v3": (b'{"worksheets": 5, "metadata": {}, "nbformat": 3, "nbformat_minor": 0}',
                   "não segue o formato nbformat 3"),
    "too_deep": (b"[" * 100_000 + b"]" * 100_000, "o JSON tem níveis aninhados demais"),
}
# What json, the UTF-8 decoder, nbformat, jsonschema and the system say, which no row may carry.
ENGLISH = re.compile(r"Expecting|Unsupported|codec|decode|invalid start|Errno|Error\b|missing|property|"
                     r"not |could|object has|recursion|Permission|directory", re.I)


@pytest.mark.parametrize("name", NOT_NOTEBOOKS)
def test_a_file_that_is_not_a_notebook_gets_a_row_in_portuguese(tmp_path, name):
    data, why = NOT_NOTEBOOKS[name]
    (tmp_path / f"{name}.ipynb").write_bytes(data)
    error = load_submission(TINY_ASSIGNMENT, tmp_path / f"{name}.ipynb").error
    assert error.startswith(f"{tmp_path / name}.ipynb: não é um notebook: {why}"), error
    assert not ENGLISH.search(error.split(": ", 1)[1]), error


def test_what_is_no_regular_file_gets_a_row_in_portuguese(tmp_path):
    (tmp_path / "folder.ipynb").mkdir()
    assert load_submission(TINY_ASSIGNMENT, tmp_path / "folder.ipynb").error \
        == f"{tmp_path / 'folder.ipynb'}: entrega recusada, não é um arquivo comum"
    assert find_submissions([tmp_path], "tiny")[0][2] == f"{tmp_path / 'folder.ipynb'}: entrega recusada, não é um " \
                                                         "arquivo comum"
    for code, why in [(errno.EACCES, "não pode ser lido (sem permissão de leitura)"), (errno.ENOENT, "não existe mais"),
                      (errno.EIO, "não pode ser lido (erro EIO do sistema)")]:
        assert _unreadable(OSError(code, os.strerror(code))) == why


@pytest.mark.slow
def test_piped_to_a_log_each_submission_is_a_line_as_it_is_graded(tmp_path):
    (tmp_path / "ana.ipynb").write_text("{}")
    (tmp_path / "bob.ipynb").write_text("")
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", str(tmp_path), *ON, "--device", "cpu",
                           "--workers", "1", "--json", str(tmp_path / "r.json")],
                          cwd=REPO, capture_output=True, text=True, timeout=300)  # stdout: a pipe, no terminal
    assert proc.returncode == ExitCode.OK, proc.stderr
    lines = proc.stdout.splitlines()
    out_of = f"0/{TINY_ASSIGNMENT.max_score:g} (not graded: see its row)"  # (neither is a notebook)
    assert lines[:2] == [f"graded 1/2: ana {out_of}", f"graded 2/2: bob {out_of}"]
    assert "tiny: 2 submissions" in lines[2]  # then the table


def test_a_machine_without_gpu_device_files_is_not_asked_about_cuda(monkeypatch):
    """The cold start of `grade` (what a student on Gradescope waits for) spawns no interpreter to import
    torch and ask about CUDA where no GPU can be; control: with the device files, torch is asked."""
    from autograder import runner

    asked = []
    monkeypatch.setattr(runner.subprocess, "run", lambda *a, **k: asked.append(a) or
                        subprocess.CompletedProcess(a, 0, stdout="True\n"))
    for nodes, expected in ((False, False), (True, True)):
        runner.cuda_available.cache_clear()
        monkeypatch.setattr(runner, "gpu_device_nodes", lambda nodes=nodes: nodes)
        assert runner.cuda_available() is expected
        assert len(asked) == int(nodes)
    runner.cuda_available.cache_clear()


def test_no_grader_process_builds_the_iri_grammar():
    """A second of every cold start: importing the grader keeps jsonschema's IRI checker out, and nbformat
    still validates. Control: nbformat alone imports it, where it is installed."""
    code = ("import sys, {first}nbformat; nbformat.validate(nbformat.v4.new_notebook()); "
            "print('rfc3987_syntax' in sys.modules and sys.modules['rfc3987_syntax'] is not None)")
    ours = subprocess.run([sys.executable, "-c", code.format(first="autograder, ")], capture_output=True, text=True)
    assert ours.stdout.strip() == "False", ours.stderr
    spec = "import importlib.util; print(importlib.util.find_spec('rfc3987_syntax') is not None)"
    if subprocess.run([sys.executable, "-c", spec], capture_output=True, text=True).stdout.strip() != "True":
        pytest.skip("rfc3987_syntax is not installed here: there is no grammar to keep out")
    alone = subprocess.run([sys.executable, "-c", code.format(first="")], capture_output=True, text=True)
    assert alone.stdout.strip() == "True", alone.stderr
