"""The READMEs against the code: every path they name exists, every link resolves, and their figures for
limits are the declared ones."""
import importlib
import re
from pathlib import Path

import pytest

from autograder import limits
from tests.helpers import REPO

# The newcomer's page and the references beside the code it links to.
DOCS = [REPO / "README.md", *sorted(p for top in ("autograder", "solutions", "tests")
                                    for p in (REPO / top).rglob("README.md"))]
README = "\n".join(doc.read_text(encoding="utf-8") for doc in DOCS)
TOP = {path.name for path in REPO.iterdir() if not path.name.startswith(".") or path.name == ".ci"}


def table(marker: str) -> "list[list[str]]":
    """The rows of the README table between <!-- marker... --> and <!-- /marker -->, cells stripped."""
    match = re.search(rf"<!-- {marker}\b[^>]*-->\n(.*?)<!-- /{marker} -->", README, re.S)
    assert match, f"no README has a table marked <!-- {marker} -->"
    rows = [line.strip().strip("|").split("|") for line in match.group(1).strip().splitlines()]
    return [[cell.strip() for cell in row] for row in rows[2:]]  # header and rule


def figure(value: float, unit: str) -> str:
    return f"{value:g} {unit}".strip()


def with_unit(size: int) -> str:
    """A size in bytes as the README writes it: in MiB or KiB when whole."""
    for unit, scale in (("MiB", 2**20), ("KiB", 2**10)):
        if size % scale == 0:
            return f"{size // scale} {unit}"
    return str(size)


def test_limits_table_is_the_declaration():
    expected = [[f"`{f.metadata['flag']}`", figure(f.default, f.metadata["unit"]), f.metadata["help"]]
                for f in limits.declared()]
    assert table("limits") == expected


def bounds() -> "dict[str, str]":
    """Each bound's constant (module.NAME) and the figure the README gives it."""
    found = {}
    for _what, at_most, constant in table("bounds"):
        module, name = constant.strip("`").rsplit(".", 1)
        value = getattr(importlib.import_module(module), name)
        found[constant.strip("`")] = (at_most, with_unit(value) if at_most.endswith("iB") else str(value))
    return found


def test_bounds_table_is_the_constants():
    assert bounds(), "the README's bounds table is empty"
    for constant, (written, actual) in bounds().items():
        assert written == actual, f"README.md gives {constant} as {written}; the code says {actual}"


# Sizes the README gives that are neither a limit nor a bound, and where each is checked.
OTHER_SIZES = {"600 MiB": ("tests/rnn_forward/test_attacks.py", "< 600")}


def test_every_size_in_the_readme_is_a_declared_one():
    declared = {figure(f.default, f.metadata["unit"]) for f in limits.declared()}
    declared |= {actual for _, actual in bounds().values()}
    for size in set(re.findall(r"\b\d+ [MKG]iB\b", README)):
        if size in OTHER_SIZES:
            path, text = OTHER_SIZES[size]
            assert text in (REPO / path).read_text(), f"{path} no longer checks the README's {size}"
        else:
            assert size in declared, f"README.md says {size}, which no limit or bound declares"


def test_every_count_of_processes_is_the_declared_one():
    counts = re.findall(r"\b(\d+) (?:processos|processes)\b|\"processes\": \"(\d+)", README)
    assert counts
    assert {a or b for a, b in counts} == {str(limits.Limits().pids)}


def named_paths(text: str = README) -> "list[str]":
    """Paths inside the repository that `text` names in backquotes, as glob patterns."""
    paths = []
    for token in re.findall(r"`([^`\s]+)`", text):
        token = token.rstrip(",.:;")
        if re.fullmatch(r"[\w-]+\.(py|ipynb|toml)", token):
            paths.append(f"**/{token}")  # a file named alone: somewhere in the repository
        elif "/" in token and token.split("/")[0] in TOP and re.fullmatch(r"[\w./<>*-]+", token):
            paths.append(re.sub(r"<[^>]+>", "*", token))
    return sorted(set(paths))


def exists(pattern: str) -> bool:
    return any(".venv" not in p.parts for p in REPO.glob(pattern.rstrip("/")))


@pytest.mark.parametrize("path", named_paths())
def test_every_path_the_readme_names_exists(path):
    assert exists(path), f"README.md names {path}: not there"


def test_the_path_check_can_fail():
    """Control: moved paths, in any of the forms the README uses, are found and found missing."""
    assert len(named_paths()) > 20
    text = "see `autograder/wire.py`, `solutions/<name>/hidden/gone.py` and `wire_protocol.py`."
    patterns = named_paths(text)
    assert patterns == ["**/wire_protocol.py", "autograder/wire.py", "solutions/*/hidden/gone.py"]
    assert not any(exists(pattern) for pattern in patterns)


def links(doc: Path) -> "list[str]":
    """The relative targets of a Markdown file's links and images, anchors dropped."""
    targets = re.findall(r"\]\(([^)\s]+)\)", doc.read_text(encoding="utf-8"))
    return [t.split("#")[0] for t in targets if not re.match(r"\w+:", t) and t.split("#")[0]]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_link_resolves(doc):
    for target in links(doc):
        assert (doc.parent / target).exists(), f"{doc.relative_to(REPO)} links to {target}: not there"


def test_the_readme_leads_to_every_reference():
    """The newcomer's page stays short and links each reference that lives beside its code."""
    readme = REPO / "README.md"
    linked = {(readme.parent / t).resolve() for t in links(readme)}
    for doc in DOCS[1:]:
        assert doc.resolve() in linked, f"README.md does not link {doc.relative_to(REPO)}"
    assert len(readme.read_text(encoding="utf-8").splitlines()) <= 260


def test_the_link_check_can_fail(tmp_path):
    """Control: a link to a moved file is found missing."""
    doc = tmp_path / "README.md"
    doc.write_text("see [the model](backends/README.md#top) and [a site](https://example.org)\n")
    assert links(doc) == ["backends/README.md"]
    assert not (doc.parent / links(doc)[0]).exists()


def test_exit_codes_table_is_the_declaration():
    from autograder.cli import ExitCode

    assert [(int(code), name.strip("`")) for code, name, _ in table("exit-codes")] == \
        [(int(code), code.name) for code in ExitCode]
