"""What a reviewer needs to see on a record, computed without any UI toolkit.

The review UI draws these: the boxes of each field's evidence on page 1 (from the stored
character offsets and span bboxes, so an affiliation is boxed on its own even when it
shares a line), the enlarged crop around each flagged affiliation and which pages to show
(page 2 when the author block continues there), which affiliations are most likely wrong
(the quick "fix country" control starts there), the backends' readings side by side, the list of ISO countries
with names for a searchable select, and untrusted paper text made inert for display.

Floor 3: pure functions over schemas; never imports streamlit.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pycountry

from extractor.schemas import (
    INFERRED_COUNTRY_METHODS,
    VALID_COUNTRY_CODES,
    Alignment,
    Evidence,
    ExtractionMeta,
    FrontMatter,
    Method,
    PaperExtraction,
    PaperRecord,
)

# --------------------------------------------------------------------------- countries


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    names = {}
    for c in pycountry.countries:
        names[c.alpha_2] = getattr(c, "common_name", None) or c.name
    names["XK"] = "Kosovo"
    return names


def country_name(code: str | None) -> str:
    if not code:
        return ""
    return _names().get(code, code)


@lru_cache(maxsize=1)
def country_codes() -> tuple[str, ...]:
    """Every valid code, sorted: the options of the country select."""
    return tuple(sorted(VALID_COUNTRY_CODES))


def country_code(text: str | None) -> str | None:
    """The ISO 3166 alpha-2 code a reviewer typed ("de", " DE ", "uk" is not one), or
    None when it is not a valid code. The review screen's country fields take codes
    only: two keys and Enter, with no list to filter, and a typo is refused, never saved."""
    code = (text or "").strip().upper()
    return code if len(code) == 2 and code in VALID_COUNTRY_CODES else None


def country_label(code: str | None) -> str:
    """How a code shows in the select: "DE · Germany" (typing "de" or "germ" finds it)."""
    if not code:
        return "— no country —"
    return f"{code} · {country_name(code)}"


# --------------------------------------------------------------------------- inert text

#: Characters that reorder or hide text (bidi controls, zero-width): shown as visible tags.
_INVISIBLE = {
    "\u200b": "ZWSP", "\u200c": "ZWNJ", "\u200d": "ZWJ", "\u2060": "WJ", "\ufeff": "BOM",
    "\u200e": "LRM", "\u200f": "RLM", "\u061c": "ALM",
    "\u202a": "LRE", "\u202b": "RLE", "\u202c": "PDF", "\u202d": "LRO", "\u202e": "RLO",
    "\u2066": "LRI", "\u2067": "RLI", "\u2068": "FSI", "\u2069": "PDI",
}
MAX_DISPLAY = 600


def inert(text: str | None, limit: int = MAX_DISPLAY) -> str:
    """Untrusted paper text, safe to show as plain text.

    Bidi overrides and zero-width characters become visible tags (⟨RLO⟩), other control
    characters become ⟨U+XXXX⟩, newlines become spaces, and very long strings are cut with
    a note of how much was left out. Callers still render the result as text (st.text,
    st.code, dataframe cells), never as HTML or markdown.
    """
    if text is None:
        return ""
    out = []
    for ch in text:
        if ch in _INVISIBLE:
            out.append(f"⟨{_INVISIBLE[ch]}⟩")
        elif ch in "\n\r\t":
            out.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs"):
            out.append(f"⟨U+{ord(ch):04X}⟩")
        else:
            out.append(ch)
    s = "".join(out)
    if len(s) > limit:
        s = s[:limit] + f" … (+{len(s) - limit} characters)"
    return s


# --------------------------------------------------------------------------- flagged affiliations


def affiliation_flags(record: PaperRecord, extractions: Sequence[tuple[ExtractionMeta, PaperExtraction | None]] = ()
                      ) -> dict[int, list[str]]:
    """Per affiliation id, short reasons it may be wrong, most serious first."""
    flags: dict[int, list[str]] = {}
    readings = [set(ext.countries()) for _meta, ext in extractions if ext is not None]
    disagree = any(r.code == "backends_disagree" for r in record.review_reasons)
    for aff in record.affiliations:
        why = []
        if not aff.country:
            why.append("no country")
        elif aff.country_method == Method.HQ_DEFAULT:
            why.append("company headquarters assumed")
        elif aff.country_method in INFERRED_COUNTRY_METHODS:
            why.append(f"country inferred ({aff.country_method.value})")
        if disagree and aff.country and any(aff.country not in reading for reading in readings):
            why.append("other backend disagrees")
        if aff.institution is None:
            why.append("institution not matched")
        if aff.evidence is not None and aff.evidence.alignment == Alignment.NOT_FOUND:
            why.append("not found in the PDF")
        if why:
            flags[aff.id] = why
    return flags


_SEVERITY = {"no country": 0, "other backend disagrees": 1, "company headquarters assumed": 2}


def flagged_affiliation_ids(record: PaperRecord,
                            extractions: Sequence[tuple[ExtractionMeta, PaperExtraction | None]] = ()) -> list[int]:
    """Affiliation ids to check first: missing country, backends disagree, HQ assumed, ..."""
    flags = affiliation_flags(record, extractions)
    order = {a.id: i for i, a in enumerate(record.affiliations)}

    def rank(aid: int) -> tuple[int, int]:
        first = flags[aid][0]
        sev = _SEVERITY.get(first, 3 if first.startswith("country inferred") else 4)
        return (sev, order[aid])

    return sorted(flags, key=rank)


# --------------------------------------------------------------------------- evidence boxes


@dataclass(frozen=True)
class EvidenceBox:
    """One rectangle to draw on a page: PDF points, page index, what it is evidence of."""

    kind: str  # title, author, affiliation, model
    label: str  # short tag drawn next to the box ("A2", "aff 1")
    page: int
    rect: tuple[float, float, float, float]
    flagged: bool = False


def _rects_from_offsets(front: FrontMatter, start: int, end: int) -> list[tuple[float, float, float, float]]:
    """Boxes of the characters [start, end) of the page-1 text, one per line."""
    by_line: dict[int, list[float]] = {}
    for s in front.spans:
        if s.end <= start or s.start >= end or s.end <= s.start:
            continue
        n = s.end - s.start
        x0, y0, x1, y1 = s.bbox
        a = (max(start, s.start) - s.start) / n
        b = (min(end, s.end) - s.start) / n
        box = [x0 + (x1 - x0) * a, y0, x0 + (x1 - x0) * b, y1]
        cur = by_line.get(s.line)
        if cur is None:
            by_line[s.line] = box
        else:
            by_line[s.line] = [min(cur[0], box[0]), min(cur[1], box[1]), max(cur[2], box[2]), max(cur[3], box[3])]
    return [tuple(v) for _, v in sorted(by_line.items())]  # type: ignore[misc]


def _evidence_rects(ev: Evidence | None, front: FrontMatter | None) -> list[tuple[int, tuple[float, float, float, float]]]:
    if ev is None or ev.alignment == Alignment.NOT_FOUND:
        return []
    if front is not None and ev.source == "front" and ev.page == 0 and ev.start is not None and ev.end is not None:
        rects = _rects_from_offsets(front, ev.start, ev.end)
        if rects:
            return [(0, r) for r in rects]
    if ev.bbox is not None:
        return [(ev.page, ev.bbox)]
    return []


def evidence_boxes(record: PaperRecord, front: FrontMatter | None,
                   flagged_ids: list[int] | None = None) -> list[EvidenceBox]:
    """Every field's evidence on the pages as boxes; flagged affiliations marked."""
    flagged = set(flagged_ids or [])
    out: list[EvidenceBox] = []
    for page, rect in _evidence_rects(record.title_evidence, front):
        out.append(EvidenceBox("title", "title", page, rect))
    for i, author in enumerate(record.authors, start=1):
        for page, rect in _evidence_rects(author.evidence, front):
            out.append(EvidenceBox("author", f"A{i}", page, rect))
    for aff in record.affiliations:
        for page, rect in _evidence_rects(aff.evidence, front):
            out.append(EvidenceBox("affiliation", f"aff {aff.id}", page, rect, aff.id in flagged))
    for m in record.model_mentions:
        for page, rect in _evidence_rects(m.evidence, front):
            out.append(EvidenceBox("model", m.family, page, rect))
    return out


# --------------------------------------------------------------------------- crops and pages

Rect = tuple[float, float, float, float]


@dataclass(frozen=True)
class EvidenceCrop:
    """The part of a page to show, enlarged, next to one flagged affiliation: its boxes
    with a margin of the lines around them, wide enough to read the neighbouring text."""

    aff_id: int
    page: int
    rect: Rect  # PDF points on ``page``; the renderer clips it to the page


#: Points of context kept around a field's boxes (about a line above and below).
CROP_MARGIN = 14.0
#: A crop is at least this wide (points), centred on the field, so a short affiliation
#: still shows what is printed beside it (a marker, a country on the next column).
CROP_MIN_WIDTH = 300.0


def _union(rects: Sequence[Rect]) -> Rect:
    return (min(r[0] for r in rects), min(r[1] for r in rects), max(r[2] for r in rects), max(r[3] for r in rects))


def crop_around(rects: Sequence[Rect], page_width: float, page_height: float, *,
                margin: float = CROP_MARGIN, min_width: float = CROP_MIN_WIDTH) -> Rect:
    """The clip that shows ``rects`` with their context, inside the page."""
    x0, y0, x1, y1 = _union(rects)
    x0, y0, x1, y1 = x0 - margin, y0 - margin, x1 + margin, y1 + margin
    if x1 - x0 < min_width:
        mid = (x0 + x1) / 2
        x0, x1 = mid - min_width / 2, mid + min_width / 2
        if x0 < 0:
            x0, x1 = 0.0, min(min_width, page_width)
        elif x1 > page_width:
            x0, x1 = max(page_width - min_width, 0.0), page_width
    return (max(x0, 0.0), max(y0, 0.0), min(x1, page_width), min(y1, page_height))


def flagged_crops(record: PaperRecord, front: FrontMatter | None, flagged_ids: Sequence[int]) -> list[EvidenceCrop]:
    """One crop per flagged affiliation the PDF shows (in ``flagged_ids`` order); an
    affiliation whose text was not found on a page has no crop (the page view says so)."""
    by_id = {a.id: a for a in record.affiliations}
    width, height = (front.width, front.height) if front is not None else (612.0, 792.0)
    out = []
    for aid in flagged_ids:
        aff = by_id.get(aid)
        rects = _evidence_rects(aff.evidence, front) if aff is not None else []
        if not rects:
            continue
        page = rects[0][0]
        out.append(EvidenceCrop(aid, page, crop_around([r for p, r in rects if p == page], width, height)))
    return out


#: The author block "reaches the bottom" of page 1 when its last line ends below this share
#: of the page height (the rest of it is then on page 2).
BLOCK_BOTTOM = 0.85


def pages_to_show(record: PaperRecord, front: FrontMatter | None, page_count: int) -> list[int]:
    """The pages (0-based) the record page shows: page 1, and page 2 when the author
    block continues there.

    It continues there when a field's evidence is on page 2, when the page-1 author or
    affiliation block (or an author's or affiliation's text) runs to the foot of the page, or when an affiliation or an
    author's link to one cannot be seen on page 1 (not found in its text, or an author
    with no affiliation) in a document that has a second page.
    """
    pages = {0}
    for ev in [record.title_evidence, *(a.evidence for a in record.authors),
               *(a.evidence for a in record.affiliations)]:
        if ev is not None and ev.grounded and ev.page > 0 and ev.bbox is not None:
            pages.add(ev.page)
    if page_count >= 2:
        unseen = any(not _evidence_rects(a.evidence, front) for a in record.affiliations)
        unlinked = any(not a.affiliation_ids for a in record.authors)
        height = front.height if front is not None else 792.0
        rects = [r for x in (*record.authors, *record.affiliations) for p, r in _evidence_rects(x.evidence, front)
                 if p == 0]
        bottom = any(r[3] >= BLOCK_BOTTOM * height for r in rects)
        if front is not None and front.lines:
            block = [i for i in (*front.author_lines, *front.affiliation_lines) if 0 <= i < len(front.lines)]
            bottom = bottom or any(front.lines[i].bbox[3] >= BLOCK_BOTTOM * height for i in block)
        if unseen or unlinked or bottom or not record.affiliations:
            pages.add(1)
    return sorted(p for p in pages if p < max(page_count, 1))


# --------------------------------------------------------------------------- backends side by side


def backend_comparison(record: PaperRecord,
                       extractions: list[tuple[ExtractionMeta, PaperExtraction | None]]) -> list[dict[str, Any]]:
    """One row per field: the record's value and each backend's, and whether they differ.

    Values are plain strings (paper text included, to be shown inert by the caller).
    """
    readings: list[tuple[str, Any]] = [("record", record)]
    for meta, ext in extractions:
        if ext is not None:
            readings.append((meta.backend, ext))

    def affs(x: Any) -> str:
        return "; ".join(f"{a.raw} → {a.country or '?'}" for a in x.affiliations)

    fields = {
        "title": lambda x: x.title or "",
        "authors (n)": lambda x: str(len(x.authors)),
        "authors": lambda x: ", ".join(a.name for a in x.authors),
        "countries": lambda x: ", ".join(x.countries()) or "-",
        "per-author countries": lambda x: " | ".join("/".join(c) or "?" for c in x.author_countries()),
        "affiliations": affs,
        "model families": lambda x: ", ".join(x.model_families()) or "-",
    }
    rows = []
    for name, get in fields.items():
        values = {who: get(x) for who, x in readings}
        row: dict[str, Any] = {"field": name, **values}
        row["differs"] = len(set(values.values())) > 1
        rows.append(row)
    return rows
