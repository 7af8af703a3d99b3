"""Grounding: find an extracted string in the source text, exactly or fuzzily.

Every value a backend returns is looked up in the document text it claims to come from.
The answer is an :class:`~extractor.schemas.Evidence` with character offsets, the bbox of
the lines it spans (for highlighting in the review UI) and an alignment status: exact,
fuzzy (with a similarity score) or not found. Reconcile flags ungrounded values instead
of silently accepting them; that is what makes an LLM's invention visible.
"""

from __future__ import annotations

import unicodedata
from typing import Literal

from rapidfuzz import fuzz

from extractor.schemas import Alignment, Evidence, FrontMatter

FUZZY_THRESHOLD = 85.0

_LIGATURES = str.maketrans({"ﬁ": "fi", "ﬂ": "fl", "ﬀ": "ff", "ﬃ": "ffi", "ﬄ": "ffl", "’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "∗": "*"})


def _normalise_with_map(text: str) -> tuple[str, list[int]]:
    """Lower-case, fold ligatures/quotes, collapse whitespace; keep a map to raw offsets."""
    out: list[str] = []
    index: list[int] = []
    prev_space = True
    for i, ch in enumerate(text):
        folded = ch.translate(_LIGATURES)
        folded = unicodedata.normalize("NFKC", folded).casefold()
        for c in folded:
            if c.isspace():
                if prev_space:
                    continue
                out.append(" ")
                index.append(i)
                prev_space = True
            else:
                out.append(c)
                index.append(i)
                prev_space = False
    return "".join(out), index


def _bbox_for(front: FrontMatter | None, start: int, end: int) -> tuple[float, float, float, float] | None:
    if front is None:
        return None
    boxes = [ln.bbox for ln in front.lines if ln.start < end and ln.end > start]
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def locate(
    value: str | None,
    text: str,
    *,
    source: Literal["front", "full"] = "front",
    bbox_lines: FrontMatter | None = None,
    page: int = 0,
    quote: str | None = None,
) -> Evidence:
    """Find ``value`` in ``text``: exact, then normalised, then fuzzy; else not_found."""
    if not value or not text:
        return Evidence(source=source, page=page, alignment=Alignment.NOT_FOUND, quote=quote)
    pos = text.find(value)
    if pos >= 0:
        end = pos + len(value)
        return Evidence(source=source, page=page, start=pos, end=end, alignment=Alignment.EXACT,
                        score=100.0, bbox=_bbox_for(bbox_lines, pos, end), quote=quote)
    norm_text, index = _normalise_with_map(text)
    norm_value = _normalise_with_map(value)[0].strip()
    pos = norm_text.find(norm_value) if norm_value else -1
    if pos >= 0:
        start, end = index[pos], index[pos + len(norm_value) - 1] + 1
        return Evidence(source=source, page=page, start=start, end=end, alignment=Alignment.EXACT,
                        score=100.0, bbox=_bbox_for(bbox_lines, start, end), quote=quote)
    if len(norm_value) >= 4:
        align = fuzz.partial_ratio_alignment(norm_value, norm_text, score_cutoff=FUZZY_THRESHOLD)
        if align is not None and align.dest_end > align.dest_start:
            start, end = index[align.dest_start], index[align.dest_end - 1] + 1
            return Evidence(source=source, page=page, start=start, end=end, alignment=Alignment.FUZZY,
                            score=round(align.score, 1), bbox=_bbox_for(bbox_lines, start, end), quote=quote)
    return Evidence(source=source, page=page, alignment=Alignment.NOT_FOUND, quote=quote)
