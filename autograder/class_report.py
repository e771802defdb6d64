"""The class report: one page an instructor opens after grading, its figures as PNG, and the scores as CSV.

    python -m autograder report report.json [--out DIR] [--gradebook [DB]]   (or: grade ... --html DIR)

DIR/index.html stands alone (styles, script and figures inline; nothing is
fetched): when and how the class was graded, the submissions that need a look
first (and those the grader flagged: graded as usual, with its findings), those
not attempted (the notebook holds no answer: course.no_answer), the score
distribution (total and per part), every test's pass rate, the most frequent
mistakes (diagnosis codes, with what each means to a student) and who made
them, and a sortable, searchable table of students (their scores, the time
their grading took), each linked to the messages they got. DIR/<figure>.png
are the same figures, for slides and e-mail; DIR/report.csv is the table of
scores (writers.write_csv, as `--csv` writes it), which the page links to.

Given nbgrader's gradebook (gradebook.hand_grades), the page adds the cells
graded by hand in the formgrader (written answers, tasks) and each student's
full total beside the autograded score; without it, it says they are not
counted. Everything a student wrote (names, messages) is escaped by the
template, and every value it prints is first cleaned of control and invisible
characters (render.clean, as in the terminal and report.csv): the page never
runs student text, nor lets a bidi override make it read as other text.
"""
import base64
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

from autograder.render import clean, diagnoses
from autograder.results import STATUS_WORDS, Report, Status

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from autograder.gradebook import HandGrades

MAX_NAMES = 40  # students listed under a mistake; the rest are counted
PROBLEMS = {Status.TIMEOUT: "test(s) timed out", Status.ERROR: "test(s) stopped on an error in the student's code"}


@dataclass
class ClassSummary:
    """The numbers behind the page and its figures."""

    students: int
    max_score: float
    totals: "list[float]"  # each student's score (not those the grader failed on: they are not scores yet)
    parts: "dict[str, tuple[float, list[float]]]"  # grade_id -> (max score, [each such student's score])
    # (grade_id, test name, title, passed, ran): ran counts the submissions where it ran, judged
    tests: "list[tuple[str, str, str, int, int]]"
    mistakes: "list[tuple[str, list[tuple[int, str]]]]"  # (code, [(student index, student)]), most frequent first
    # (student index, student, why), grader failures first
    review: "list[tuple[int, str, str]]" = field(default_factory=list)
    uncounted: int = 0  # submissions left out of the figures: the grader failed on them
    # (student index, student, findings) of the rows the grader flagged (SubmissionResult.flags): graded as any
    # other, counted in the figures, never grader failures
    flagged: "list[tuple[int, str, list[str]]]" = field(default_factory=list)
    unattempted: "list[tuple[int, str]]" = field(default_factory=list)  # (student index, student): no answer at all
    # From the gradebook, when given: the cells graded by hand, and per row (in order) the score of those
    # graded so far and how many still wait for a grader, or None when the gradebook has no such submission
    hand: "HandGrades | None" = None
    by_hand: "list[tuple[float, int] | None]" = field(default_factory=list)
    full_totals: "list[float]" = field(default_factory=list)  # autograded + by hand, of the rows graded in full
    seconds: "list[float | None]" = field(default_factory=list)  # per row: the grading's wall time, if recorded

    @property
    def full_max(self) -> float:
        return self.max_score + (self.hand.max_score if self.hand else 0.0)

    def total(self, index: int) -> "float | None":
        """Row `index`'s full total (autograded + by hand), or None while it is not known in full."""
        hand, auto = (self.by_hand[index] if self.by_hand else None), self.totals_by_row[index]
        return None if hand is None or hand[1] or auto is None else auto + hand[0]

    # each row's autograded score, in order; None where the grader failed on it (not a score yet)
    totals_by_row: "list[float | None]" = field(default_factory=list)
    gradebook_read: bool = False  # a gradebook was given (hand is None when it has no cell graded by hand)


def grade_ids(report: Report) -> "list[str]":
    """Every part of the report, in order (rows of an edited assignment may differ)."""
    return list(dict.fromkeys(gid for row in report.submissions for gid in row.parts))


def summarize(report: Report, hand: "HandGrades | None" = None) -> ClassSummary:
    """The numbers of the class; `hand`: the gradebook's cells graded by hand (gradebook.hand_grades)."""
    rows = report.submissions
    counted = [row for row in rows if not row.needs_review]
    parts = {gid: next(row.parts[gid].max_score for row in rows if gid in row.parts) for gid in grade_ids(report)}
    titles: "dict[tuple[str, str], str]" = {}  # (grade_id, test name) -> title, in the order the rows have them
    passed: "Counter[tuple[str, str]]" = Counter()
    ran: "Counter[tuple[str, str]]" = Counter()
    for row in rows:
        for gid, part in row.parts.items():
            for test in part.tests:
                key = (gid, test.name)
                titles.setdefault(key, test.title or test.name)
                if test.status not in (Status.SKIPPED, Status.GRADER_ERROR):  # a grader failure judged nothing
                    ran[key] += 1
                    passed[key] += test.status == Status.PASSED
    who: "dict[str, list[tuple[int, str]]]" = {}
    for index, row in enumerate(rows):
        for code in diagnoses(row):
            who.setdefault(code, []).append((index, row.student))
    review: "list[tuple[int, int, str, str]]" = []  # (priority, student index, student, why)
    for index, row in enumerate(rows):
        statuses = Counter(t.status for p in row.parts.values() for t in p.tests)
        if row.needs_review:
            review.append((0, index, row.student, "the grader failed (not the student): " + (row.log or "see the log")))
        elif row.error:
            review.append((3, index, row.student, f"not graded: {row.error}"))
        elif not row.attempted:  # its errors are the release's stubs: listed apart
            continue
        elif statuses[Status.TIMEOUT] or statuses[Status.ERROR]:
            why = ", ".join(f"{statuses[s]} {PROBLEMS[s]}" for s in (Status.TIMEOUT, Status.ERROR) if statuses[s])
            review.append((1 if statuses[Status.TIMEOUT] else 2, index, row.student, why))
    read = hand is not None  # a gradebook was read (it may have no cell graded by hand: then nothing to add)
    hand = hand if hand and hand.cells else None
    by_hand: "list[tuple[float, int] | None]" = []
    for row in rows:
        scores = hand.scores.get(row.student) if hand else None
        by_hand.append(None if scores is None else (sum(v for v in scores.values() if v is not None),
                                                    sum(v is None for v in scores.values())))
    summary = ClassSummary(
        students=len(rows),
        max_score=rows[0].max_score if rows else 0.0,
        totals=[row.score for row in counted],
        parts={gid: (most, [row.parts[gid].score for row in counted if gid in row.parts])
               for gid, most in parts.items()},
        tests=[(gid, name, title, passed[(gid, name)], ran[(gid, name)]) for (gid, name), title in titles.items()],
        mistakes=sorted(who.items(), key=lambda item: (-len(item[1]), item[0])),
        review=[entry[1:] for entry in sorted(review)],
        uncounted=len(rows) - len(counted),
        flagged=[(index, row.student, list(row.flags)) for index, row in enumerate(rows) if row.flags],
        unattempted=[(index, row.student) for index, row in enumerate(rows) if not row.attempted and not row.error],
        hand=hand, by_hand=by_hand if hand else [], gradebook_read=read,
        seconds=[(row.timing or {}).get("wall") for row in rows],
        totals_by_row=[None if row.needs_review else row.score for row in rows],
    )
    summary.full_totals = [total for index in range(len(rows)) if (total := summary.total(index)) is not None]
    return summary


def figures(summary: ClassSummary) -> "dict[str, bytes]":
    """{file stem: PNG bytes} of the class's figures (matplotlib, without a display)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import MaxNLocator

    def whole(axis: "Any") -> None:  # an axis that counts students: whole numbers only
        axis.set_major_locator(MaxNLocator(integer=True))

    def png(fig: "Figure") -> bytes:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        plt.close(fig)
        return buffer.getvalue()

    found = {}
    fig, ax = plt.subplots(figsize=(7, 3))
    # (matplotlib's stubs take bins as a Sequence[float]; hist reads any array-like, as its documentation says)
    ax.hist(summary.totals, bins=score_bins(summary.max_score), color="#3b6ea8", edgecolor="white")  # type: ignore[arg-type]
    if summary.totals:
        ax.axvline(float(np.median(summary.totals)), color="#c0392b", linestyle="--",
                   label=f"median {np.median(summary.totals):g}")
        ax.legend(loc="upper left")
    ax.set(xlabel=f"score (of {summary.max_score:g})", ylabel="students",
           title="Autograded score" if summary.hand else "Total score")
    whole(ax.yaxis)
    found["scores"] = png(fig)

    if summary.hand:
        fig, ax = plt.subplots(figsize=(7, 3))
        ax.hist(summary.full_totals, bins=score_bins(summary.full_max), color="#2c7a7b", edgecolor="white")  # type: ignore[arg-type]
        ax.set(xlabel=f"score (of {summary.full_max:g})", ylabel="students",
               title=f"Total: autograded + graded by hand ({len(summary.full_totals)} graded in full)")
        whole(ax.yaxis)
        found["totals"] = png(fig)

    columns = max(len(summary.parts), 1)
    fig, axes = plt.subplots(1, columns, figsize=(2.3 * columns, 2.4), squeeze=False)
    for ax, (gid, (most, scores)) in zip(axes[0], summary.parts.items(), strict=False):
        ax.hist(scores, bins=score_bins(most, 0.25), color="#5b8c5a", edgecolor="white")
        ax.set_title(f"{gid}\n(of {most:g})", fontsize=8)
        ax.tick_params(labelsize=7)
        whole(ax.yaxis)
    axes[0][0].set_ylabel("students")
    found["parts"] = png(fig)

    labels = [f"{gid}: {title}" for gid, _, title, _, _ in summary.tests]
    rates = [100 * passed / ran if ran else 0 for _, _, _, passed, ran in summary.tests]
    fig, ax = plt.subplots(figsize=(8, 0.28 * len(labels) + 0.8))
    ax.barh(range(len(labels)), rates, color=["#3b6ea8" if r >= 50 else "#c0392b" for r in rates])
    ax.set_yticks(range(len(labels)), [shorten(label, 70) for label in labels], fontsize=7)
    ax.invert_yaxis()
    ax.set(xlim=(0, 100), xlabel="% of the submissions it ran on that passed", title="Pass rate of each test")
    found["tests"] = png(fig)

    if summary.mistakes:
        top = summary.mistakes[:15]
        fig, ax = plt.subplots(figsize=(7, 0.3 * len(top) + 0.8))
        ax.barh(range(len(top)), [len(students) for _, students in top], color="#8e5ba8")
        ax.set_yticks(range(len(top)), [code for code, _ in top], fontsize=8)
        ax.invert_yaxis()
        ax.set(xlabel="students", title="Most frequent mistakes")
        whole(ax.xaxis)
        found["mistakes"] = png(fig)
    return found


def score_bins(most: float, step: float = 0.5) -> np.ndarray:
    """Bins of `step` points centred on the scores a test's points can give (0, step, ..., most)."""
    return np.arange(-step / 2, most + step, step) if most > 0 else np.array([-0.5, 0.5])


def shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def shown(value: object) -> object:
    """What the page prints of `value` (Jinja's finalize: every {{ }} passes here, before it is escaped): text
    without control and invisible characters (render.clean; line breaks and tabs are kept, HTML folds them)."""
    if isinstance(value, Markup):  # already escaped (a |join of escaped items): cleaning adds no markup
        return Markup(clean(value, keep="\n\t"))
    return clean(value, keep="\n\t") if isinstance(value, str) else value


# The page's template: student text is cleaned (shown) and escaped (autoescape), every figure is inline.
TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True, finalize=shown)
PAGE = TEMPLATES.get_template("class_report.html")


def render_page(report: Report, summary: ClassSummary, images: "dict[str, bytes]", csv: "str | None" = None,
                similarity: Any = None) -> str:
    """The page; `csv`: the scores' CSV, as a link relative to the page; `similarity`: its section."""
    sim: "dict[str, Any]" = {}
    if similarity is not None:
        from autograder import similarity as alike

        sim = {"sim": similarity, "sim_stats": alike.stats(similarity),
               "sim_histogram": base64.b64encode(alike.histogram(similarity)).decode()}
    rows = report.submissions
    totals = summary.totals
    seconds = [s for s in summary.seconds if s is not None]
    return PAGE.render(csv=csv, seconds=seconds, pending=sum(bool(h and h[1]) for h in summary.by_hand),
        absent=sum(h is None for h in summary.by_hand),
        report=report, summary=summary, images={k: base64.b64encode(v).decode() for k, v in images.items()},
        grade_ids=grade_ids(report), words=STATUS_WORDS, max_names=MAX_NAMES,
        codes=[diagnoses(row) for row in rows],
        mean=float(np.mean(totals)) if totals else 0.0, median=float(np.median(totals)) if totals else 0.0,
        full=sum(t == summary.max_score for t in totals), zero=sum(t == 0 for t in totals),
        looks=len({entry[0] for entry in summary.review} | {entry[0] for entry in summary.flagged}),
        looked={entry[0] for entry in summary.review} | {entry[0] for entry in summary.flagged},
        unattempted={entry[0] for entry in summary.unattempted}, np=np, **sim,
    )


CSV_NAME = "report.csv"  # the scores beside the page, which it links to


def hand_columns(summary: ClassSummary) -> "dict[str, list[float | None]]":
    """The columns the gradebook adds to the page's CSV (none without one): each row's score by hand so
    far, how many of its cells still wait for a grader, and its full total (empty until it is known)."""
    if summary.hand is None:
        return {}
    return {"by_hand": [None if h is None else h[0] for h in summary.by_hand],
            "by_hand_max": [summary.hand.max_score] * summary.students,
            "to_grade_by_hand": [None if h is None else h[1] for h in summary.by_hand],
            "total": [summary.total(index) for index in range(summary.students)],
            "total_max": [summary.full_max] * summary.students}


def write_class_report(report: Report, out: "str | Path", hand: "HandGrades | None" = None,
                       similarity: Any = None) -> Path:
    """Write out/index.html, out/<figure>.png and out/report.csv; return the page's path. `hand`: the
    gradebook's cells graded by hand (gradebook.hand_grades), shown beside the autograded scores."""
    from autograder.writers import write_csv

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(report, hand)
    images = figures(summary)
    for name, data in images.items():
        (out / f"{name}.png").write_bytes(data)
    write_csv(report, out / CSV_NAME, hand_columns(summary))
    page = out / "index.html"
    page.write_text(render_page(report, summary, images, CSV_NAME, similarity), encoding="utf-8",
                    errors="backslashreplace")
    return page
