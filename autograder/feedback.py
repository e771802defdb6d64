"""The feedback page students receive, readable offline and in their language.

nbgrader_config.py makes `nbgrader generate_feedback` (and the formgrader's
"generate feedback") use `FeedbackExporter`: nbconvert's HTML exporter, with

- the maths written as MathML, which browsers draw themselves: nbgrader's page
  loads MathJax from a CDN, so a student without network saw raw LaTeX;
- our template, templates/feedback_pt/ (nbgrader's feedback template with its
  labels in Portuguese, and no script from the network).
"""
import html
import xml.etree.ElementTree as ET
from pathlib import Path

import jinja2
from latex2mathml.converter import convert
from nbconvert.exporters import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

TEMPLATES = Path(__file__).resolve().parent / "templates"  # holds feedback_pt/, the template's folder
TEMPLATE_NAME = "feedback_pt"


MATHML = "http://www.w3.org/1998/Math/MathML"
# What the page keeps of the MathML latex2mathml writes: its presentation elements and attributes, never a
# link, a style or a class (\href, \style, \class), nor anything that is not MathML (\text copies its text
# unescaped: `\text{<img onerror=...>}`); whatever else the student wrote stays inert text.
ELEMENTS = frozenset(
    "math mi mn mo ms mtext mspace mrow mfrac msqrt mroot mstyle merror mpadded mphantom menclose msub msup "
    "msubsup munder mover munderover mmultiscripts mprescripts none mtable mtr mtd mlabeledtr semantics".split())
ATTRIBUTES = frozenset(
    "display mathvariant stretchy fence separator lspace rspace accent accentunder movablelimits largeop "
    "symmetric minsize maxsize linethickness columnalign rowalign columnspacing rowspacing columnlines rowlines "
    "frame displaystyle scriptlevel width height depth notation form".split())
MAX_MARKDOWN = 100_000  # characters of one Markdown cell rendered as Markdown (mistune's maths is quadratic)
ET.register_namespace("", MATHML)


def mathml(tex: str, display: str) -> str:
    """`tex` as MathML (display: "inline" or "block"), only MathML's own elements and attributes; TeX that
    cannot be converted, or whose conversion is anything else, is shown as it was written."""
    try:
        root = ET.fromstring(convert(tex, display=display))
    except Exception:  # latex2mathml's errors (an unknown command, unbalanced braces), or markup that is not XML
        return f"<code>{html.escape(tex)}</code>"
    for element in root.iter():
        if not element.tag.startswith(f"{{{MATHML}}}") or element.tag.split("}")[1] not in ELEMENTS:
            return f"<code>{html.escape(tex)}</code>"
        for name in [name for name in element.attrib if name not in ATTRIBUTES]:
            del element.attrib[name]
    return ET.tostring(root, encoding="unicode")


class MathMLRenderer(IPythonRenderer):
    """nbconvert's Markdown renderer, with its maths as MathML instead of TeX left for MathJax."""

    def block_math(self, body: str) -> str:
        return mathml(body, "block")

    def inline_math(self, body: str) -> str:
        return mathml(body, "inline")

    def latex_environment(self, name: str, body: str) -> str:
        return mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", "block")


class FeedbackExporter(HTMLExporter):
    """nbconvert's HTML exporter, with Markdown's maths rendered as MathML (MathMLRenderer)."""

    @jinja2.pass_context
    def markdown2html(self, context, source):  # as HTMLExporter's, with MathMLRenderer
        cell = context.get("cell", {})
        renderer = MathMLRenderer(
            escape=False,
            attachments=cell.get("attachments", {}),
            embed_images=self.embed_images,
            path=context.get("resources", {}).get("metadata", {}).get("path", ""),
            anchor_link_text=self.anchor_link_text,
            exclude_anchor_links=self.exclude_anchor_links,
            **self.lexer_options,
        )
        if len(source) > MAX_MARKDOWN:  # (a huge cell of maths would hold up every later student's page)
            return f"<pre>{html.escape(source)}</pre>"
        return MarkdownWithMath(renderer=renderer).render(source)
