"""Answers unusually alike: the pairs of a class worth a look. Never a verdict, never a score.

Every cell of each student's that grading runs (their answers and their own
cells above and between them, from the notebook course.choose_notebook picks,
read as the grader reads it) is fingerprinted by
copydetect: Pygments tokens with names, strings and comments folded away, then
winnowed k-grams. The release's own code (its stubs and locked cells) is
boilerplate, so what every student was handed never counts. Every pair gets
the larger of the two shares of code one has in common with the other (a
copy padded with dead code still holds all of the original), once they have
MIN_OVERLAP in common. A k-gram more than a fifth of the class wrote is the
assignment's idiom, not a copy, and is left out too (as MOSS's -m does); the
pairs flagged are the outliers of the class's own distribution, and never
under FLOOR: an assignment this short makes honest answers alike.
"""
import collections
import hashlib
import html
import io
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import copydetect.utils
import numpy as np
from copydetect import CodeFingerprint, compare_files
from copydetect.utils import highlight_overlap

from autograder.assignment import Assignment
from autograder.course import choose_notebook, find_submissions, frame, released_frames, released_sources
from autograder.notebook import load_submission

NOISE, GUARANTEE = 25, 30  # copydetect's defaults: matches under 25 tokens are noise, over 30 always seen
FLOOR = 0.6  # never flagged below: under this share two answers differ in most of their code
SPREAD = 4.0  # flagged above the median by this many robust deviations (MAD scaled to a normal's sigma)
COMMON_SHARE, COMMON_MIN = 0.2, 5  # a k-gram more than 20% of the class (and over 5 students) wrote is common
MAX_FLAGGED = 50  # the page lists at most this many pairs, likeliest first
# A student's answers are compared up to this many characters: this assignment's answers are under 5,000, and
# no student's padding may make every pair of the class cost more.
MAX_ANSWER_CHARS = 100_000
MIN_OVERLAP = 120  # characters of folded code in common (about four lines) before a share counts


def _stable_kgrams(string: str, k: int) -> np.ndarray:
    """copydetect's hashed_kgrams with a hash of its own: Python's hash() is salted per process, so the same
    class would be winnowed, and flagged, differently from one run to the next."""
    data = string.encode("utf-32-le")  # (a fixed width: k characters are 4k bytes)
    return np.array([int.from_bytes(hashlib.blake2b(data[4 * i:4 * (i + k)], digest_size=8).digest(), "little",
                                    signed=True) for i in range(len(string) - k + 1)], dtype=np.int64)


copydetect.utils.hashed_kgrams = _stable_kgrams  # what get_document_fingerprints calls


@dataclass
class Pair:
    a: str
    b: str
    score: float  # the larger share of one's answer code found in the other's
    marked: "tuple[str, str]" = ("", "")  # each one's answers as HTML, the shared regions in <mark>


@dataclass
class Similarity:
    students: "list[str]"
    scores: "list[float]"  # every pair's, for the distribution
    bar: float  # the score a pair must reach to be flagged
    flagged: "list[Pair]"
    skipped: "dict[str, str]" = field(default_factory=dict)  # student -> why their answers were not read
    over: int = 0  # pairs at or over the bar (flagged lists MAX_FLAGGED of them at most)


def answers(assignment: Assignment, paths: "list[Path]") -> "tuple[dict[str, str], dict[str, str]]":
    """({student: the code of every cell of theirs that grading runs}, {student: why it was not read, or not
    in full})."""
    released = released_frames(assignment) or frozenset()
    found: "dict[str, str]" = {}
    skipped: "dict[str, str]" = {}
    for student, path, error in find_submissions(paths, assignment.name):
        if student in found or student in skipped:  # (two submissions of one name: both kept, told apart)
            student = f"{student} ({path})"
        if error:
            skipped[student] = error
            continue
        if path.is_dir():
            chosen, _ = choose_notebook(assignment, path)
            if chosen is None:
                skipped[student] = "nenhum notebook"
                continue
            path = chosen
        sub = load_submission(assignment, path, student)  # in a child, under the reading budget
        if sub.error:
            skipped[student] = sub.error
            continue
        # Every cell of the student's that grading runs: the answers, and their own cells above and between,
        # once each (a copy moved into a cell of its own above the answer is graded, so it is compared).
        cells: "dict[str, None]" = {}
        for part in assignment.parts:
            answer = sub.cells.get(part.grade_id)
            for source in (*answer.before, answer.source, *answer.after) if answer else ():
                if source.strip() and frame(source) not in released:  # (a cell left as released: no answer)
                    cells.setdefault(source, None)
        code = "\n\n".join(cells)
        if len(code) > MAX_ANSWER_CHARS:
            skipped[student] = f"compared on its first {MAX_ANSWER_CHARS} characters of {len(code)}"
            code = code[:MAX_ANSWER_CHARS]
        found[student] = code
    return found, skipped


def _fingerprint(code: str, boilerplate: "list[int] | None" = None) -> CodeFingerprint:
    return CodeFingerprint("answers.py", NOISE, GUARANTEE - NOISE + 1, boilerplate, fp=io.StringIO(code))


def compare(found: "dict[str, str]", release: "list[str]") -> Similarity:
    """Every pair of `found` ({student: code}); the release's code cells and what many students share are
    boilerplate."""
    boiler = set(_fingerprint("\n\n".join(release)).hashes)
    first = {student: _fingerprint(code, list(boiler)).hashes for student, code in found.items()}
    # What more than a few students wrote is the idiom of the assignment (np.tanh(X @ W + b)), not a copy: as
    # MOSS's -m, it is boilerplate too.
    counts = collections.Counter(h for hashes in first.values() for h in hashes)
    most = max(COMMON_MIN, math.ceil(COMMON_SHARE * len(found)))
    boiler |= {h for h, n in counts.items() if n > most}
    prints = {student: _fingerprint(code, list(boiler)) for student, code in found.items()}
    students = sorted(prints)
    scored: "list[tuple[float, str, str]]" = []
    for i, a in enumerate(students):
        for b in students[i + 1:]:
            fa, fb = prints[a], prints[b]
            if not fa.hashes & fb.hashes:  # (most pairs: no k-gram in common, no need for the slices)
                scored.append((0.0, a, b))
                continue
            overlap, shares, _ = compare_files(fa, fb)
            # The larger share: a copy padded with dead code still holds all of the original. A few lines in
            # common are no copy, however short the answers.
            scored.append((float(max(shares)) if overlap >= MIN_OVERLAP else 0.0, a, b))
    scores = [s for s, _, _ in scored]
    bar = threshold(scores)
    flagged = []
    over = sorted((t for t in scored if t[0] >= bar), reverse=True)
    for score, a, b in over[:MAX_FLAGGED]:
        _, _, (slices_a, slices_b) = compare_files(prints[a], prints[b])
        flagged.append(Pair(a, b, score, (mark(prints[a].raw_code, slices_a), mark(prints[b].raw_code, slices_b))))
    return Similarity(students, scores, bar, flagged, over=len(over))


def threshold(scores: "list[float]") -> float:
    """The score a pair must reach to stand out from this class: SPREAD robust deviations above the median
    of all pairs, and never under FLOOR."""
    if not scores:
        return FLOOR
    median = statistics.median(scores)
    mad = statistics.median(abs(s - median) for s in scores) * 1.4826
    return max(FLOOR, median + SPREAD * mad)


def mark(code: str, slices: Any) -> str:  # (copydetect's 2xN array of offsets)
    """The code as HTML, what the other answer shares in <mark>."""
    if getattr(slices, "size", 0) == 0:
        return html.escape(code)
    marked, _ = highlight_overlap(code, slices, "<mark>", "</mark>", escape_html=True)
    return str(marked)


def run(assignment: Assignment, paths: "list[Path]") -> Similarity:
    found, skipped = answers(assignment, paths)
    result = compare(found, released_sources(Path(assignment.source_notebook)))
    result.skipped = skipped
    return result


def stats(sim: Similarity) -> "dict[str, float]":
    scores = sorted(sim.scores) or [0.0]
    return {"median": statistics.median(scores), "p90": scores[int(0.9 * (len(scores) - 1))], "top": scores[-1]}


def histogram(sim: Similarity) -> bytes:
    """The pair scores as a PNG: how alike the class is as a whole, and where the bar stands."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(7, 2.6), dpi=100)
    ax.hist(sim.scores or [0.0], bins=[i / 20 for i in range(21)], color="#6b8fc7")
    ax.axvline(sim.bar, color="#c0392b", linestyle="--", label=f"listed from {sim.bar:.2f}")
    ax.set_yscale("symlog")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("share of answer code in common")
    ax.set_ylabel("pairs")
    ax.legend(loc="upper right")
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    plt.close(fig)
    return out.getvalue()


def write_page(sim: Similarity, assignment: str, out: "str | Path") -> Path:
    """out/similarity.html (the figure inline); its path."""
    import base64

    from autograder.class_report import TEMPLATES

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    page = out / "similarity.html"
    page.write_text(TEMPLATES.get_template("similarity.html").render(
        sim=sim, stats=stats(sim), assignment=assignment, histogram=base64.b64encode(histogram(sim)).decode()),
        encoding="utf-8", errors="backslashreplace")
    return page
