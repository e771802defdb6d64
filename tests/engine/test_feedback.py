"""The feedback page's maths: MathML that browsers draw offline, with nothing of the student's that runs."""
import re

import nbformat
import pytest

from autograder.feedback import MAX_MARKDOWN, FeedbackExporter, mathml

HOSTILE = [
    r"\text{<img/src=x/onerror=alert(1)>}",  # \text copies its text unescaped
    r"\href{javascript:alert(1)}{x}",
    r"\style{position:fixed;top:0}{Nota: 10/10}",
    r"\class{score}{x}",
]


@pytest.mark.parametrize("tex", HOSTILE)
def test_student_maths_cannot_carry_markup_links_or_styles(tex):
    out = mathml(tex, "inline")
    assert "<img" not in out and not re.search(r"<[^>]*\b(onerror|href|style|class)=", out), out


def test_honest_maths_is_mathml():
    """Control: the lecture's recurrence is drawn, its operators escaped as XML wants."""
    out = mathml(r"H_t = \tanh(X_t W_{xh} + H_{t-1} W_{hh} + b_h), a < b", "inline")
    assert out.startswith("<math") and "<msub>" in out and "&lt;" in out


def page(markdown: str) -> str:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(markdown)])
    return FeedbackExporter().from_notebook_node(nb)[0]


def test_the_page_draws_maths_and_keeps_the_hostile_kind_inert():
    html = page("$\\frac{1}{2}$ and $" + HOSTILE[0] + "$")
    assert "<mfrac>" in html
    assert "onerror=alert(1)>" not in html and "&lt;img/src=x/onerror=alert(1)&gt;" in html


def test_a_huge_cell_is_shown_as_text_not_parsed():
    """Mistune's maths parsing grows with the square of a cell's size: past the bound the cell is plain
    text, so one student's cell cannot hold up everyone's feedback. Control: the same maths, small, is drawn."""
    tex = "$" + r"\begin{matrix}" * (MAX_MARKDOWN // 14 + 1) + "$"
    html = page(tex)
    assert "<pre>" in html and "<math" not in html
    assert "<math" in page("$" + r"x^2" + "$")
