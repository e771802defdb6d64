"""The feedback page students receive, readable offline and in their language.

nbgrader_config.py makes `nbgrader generate_feedback` (and the formgrader's
"generate feedback") use `FeedbackExporter`: nbconvert's HTML exporter, with

- the maths written as MathML, which browsers draw themselves: nbgrader's page
  loads MathJax from a CDN, so a student without network saw raw LaTeX;
- our template, templates/feedback_pt/ (nbgrader's feedback template with its
  labels in Portuguese, and no script from the network).
"""
import html
from pathlib import Path

import jinja2
from latex2mathml.converter import convert
from nbconvert.exporters import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

TEMPLATES = Path(__file__).resolve().parent / "templates"  # holds feedback_pt/, the template's folder
TEMPLATE_NAME = "feedback_pt"


def mathml(tex: str, display: str) -> str:
    """`tex` as MathML (display: "inline" or "block"); TeX that cannot be converted stays as it was written."""
    try:
        return convert(tex, display=display)
    except Exception:  # latex2mathml's errors for a command it does not know, unbalanced braces...
        return f"<code>{html.escape(tex)}</code>"


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
        return MarkdownWithMath(renderer=renderer).render(source)
