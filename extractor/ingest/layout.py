"""Page-1 layout analysis: spans -> lines -> zones (title, author block, footnotes, abstract).

Ingest calls :func:`front_matter_from_page_dict` on pymupdf's ``page.get_text("dict")``
output. The result keeps every span with its font size, flags and bbox, marks superscript
markers (MuPDF's flag bit, or a raised, smaller run), and finds the zones a backend reads.
Zones are hints: a backend may re-read the lines itself.
"""

from __future__ import annotations

import re
import statistics
from typing import Any

from extractor.schemas import FrontMatter, Line, Span

SUPERSCRIPT_FLAG = 1
BOLD_FLAG = 16
#: A gap wider than this many font sizes between two pieces of one visual line is kept
#: as two spaces: it separates grid cells or names, not words.
WIDE_GAP = 0.6

_ABSTRACT_RE = re.compile(r"^\s*a\s*b\s*s\s*t\s*r\s*a\s*c\s*t\b[\s.:—–-]*", re.IGNORECASE)
_BODY_HEADING_RE = re.compile(
    r"^\s*(?:(?:1|I)\.?\s+)?(?:introduction|keywords?|index terms|ccs concepts|acm reference format)\b",
    re.IGNORECASE,
)
_VENUE_RE = re.compile(
    r"(conference on|proceedings of|workshop on|\bpmlr\b|\bneurips\b|\bnips\b|\bicml\b|\biclr\b|"
    r"\b(?:acl|naacl|emnlp|eacl|coling|cvpr|iccv|eccv|aaai|ijcai|kdd|sigir|www)\b\s*'?\d{2,4}|"
    r"published as a conference paper|under review|preprint\b|arxiv:\d|copyright|©)",
    re.IGNORECASE,
)
# Every way _VENUE_RE can match contains one of these words (lower case): a line without
# any of them is rejected by one cheap scan instead of the IGNORECASE alternation, which
# tries every branch at every position (about 90% of ingest's regex time on page 1).
_VENUE_WORDS = (
    "conference on", "proceedings of", "workshop on", "pmlr", "neurips", "nips", "icml", "iclr",
    "acl", "emnlp", "coling", "cvpr", "iccv", "eccv", "aaai", "ijcai", "kdd", "sigir", "www",
    "published as a conference paper", "under review", "preprint", "arxiv:", "copyright",
)
_VENUE_PREFILTER = re.compile("|".join(re.escape(w) for w in _VENUE_WORDS))
# The non-ASCII letters IGNORECASE lets match an ASCII one (simple case folding):
# dotless/dotted i, long s, Kelvin sign. str.lower() alone misses the first three.
_ASCII_FOLD = str.maketrans({"\u0131": "i", "\u0130": "i", "\u017f": "s", "\u212a": "k"})


def is_venue_line(text: str) -> bool:
    """``bool(_VENUE_RE.search(text))``, with a cheap necessary test first."""
    if text.isascii():
        low = text.lower()
    elif "\u00a9" in text:  # ©
        return _VENUE_RE.search(text) is not None
    else:
        low = text.translate(_ASCII_FOLD).lower()
    return _VENUE_PREFILTER.search(low) is not None and _VENUE_RE.search(text) is not None


_EMAIL_BRACE_RE = re.compile(r"[{(\[]\s*([\w.+\-]+(?:\s*[,|;]\s*[\w.+\-]+)*)\s*[})\]]\s*@\s*([\w\-]+(?:\.[\w\-]+)+)")
# "<xuelong li@ieee.org>": an underscore drawn as a rule comes out of the PDF as a space
_ANGLE_SPACE_RE = re.compile(r"<\s*([\w.+\-]+(?:\s[\w.+\-]+)+)\s*@")
_EMAIL_RE = re.compile(r"(?<![\w.+\-@])([\w.+\-]+)\s?@\s?([\w\-]+(?:\.[\w\-]+)*\.[a-zA-Z]{2,})")

#: Venue names as written -> the canonical label used in aggregates.
CANONICAL_VENUES = {
    "nips": "NeurIPS",
    "neurips": "NeurIPS",
    "neural information processing systems": "NeurIPS",
    "icml": "ICML",
    "iclr": "ICLR",
    "acl": "ACL",
    "naacl": "NAACL",
    "emnlp": "EMNLP",
    "eacl": "EACL",
    "coling": "COLING",
    "cvpr": "CVPR",
    "iccv": "ICCV",
    "eccv": "ECCV",
    "aaai": "AAAI",
    "ijcai": "IJCAI",
    "kdd": "KDD",
    "sigir": "SIGIR",
    "www": "WWW",
}


def canonical_venue(name: str | None) -> str | None:
    if not name:
        return None
    return CANONICAL_VENUES.get(name.strip().lower(), name.strip())


def detect_venue_year(text: str) -> tuple[str | None, int | None]:
    """Venue and year named in a venue line, e.g. '(NeurIPS 2018), Montréal, Canada'."""
    low = text.lower()
    venue = None
    for key in sorted(CANONICAL_VENUES, key=len, reverse=True):
        if re.search(rf"\b{re.escape(key)}\b", low):
            venue = CANONICAL_VENUES[key]
            break
    years = re.findall(r"\b(19[89]\d|20[0-4]\d)\b", text)
    return venue, (int(years[0]) if years else None)


def expand_emails(text: str) -> list[str]:
    """Emails in print order, with ``{a,b}@x`` brace groups expanded (also ``(a,b)@x``, ``[a,b]@x``)."""
    text = _ANGLE_SPACE_RE.sub(lambda m: "<" + m.group(1).replace(" ", "_") + "@", text)
    found: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []
    for m in _EMAIL_BRACE_RE.finditer(text):
        domain = m.group(2).rstrip(".").lower()
        for i, local in enumerate(re.split(r"\s*[,|;]\s*", m.group(1))):
            if local:
                found.append((m.start() + i, f"{local.strip().lower()}@{domain}"))
        taken.append(m.span())
    for m in _EMAIL_RE.finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue
        found.append((m.start(), f"{m.group(1).lower()}@{m.group(2).rstrip('.').lower()}"))
    seen: set[str] = set()
    out = []
    for _, email in sorted(found):
        if email not in seen:
            seen.add(email)
            out.append(email)
    return out


def _is_ordinal(text: str, before: list[str]) -> bool:
    """'th' raised after '35' is an ordinal suffix, not a footnote marker."""
    prev = "".join(before).rstrip()
    return text.strip().lower() in ("st", "nd", "rd", "th") and prev[-1:].isdigit()


def _is_marker_text(text: str) -> bool:
    t = text.strip()
    return 0 < len(t) <= 12 and not re.search(r"[a-z]{3,}", t)


def _merged_raw_lines(page_dict: dict[str, Any]) -> list[tuple[int, list[dict[str, Any]], tuple[float, float, float, float]]]:
    """Horizontal text lines in order, with pieces of one visual line glued back together.

    Justified footnotes come out of MuPDF one word per "line"; a superscript marker can be
    its own line. Consecutive pieces that overlap vertically and sit close horizontally
    are merged (a space inserted where there was a gap), while author-grid cells, which
    are far apart, stay separate.
    """
    out: list[tuple[int, list[dict[str, Any]], list[float]]] = []
    for b_index, block in enumerate(page_dict.get("blocks", [])):
        if block.get("type", 0) != 0:
            continue
        for raw_line in block.get("lines", []):
            direction = raw_line.get("dir", (1, 0))
            if abs(direction[1]) > 0.2:  # rotated text (arXiv side stamp) is not front matter
                continue
            raw_spans = [s for s in raw_line.get("spans", []) if s.get("text")]
            if not raw_spans or not "".join(s["text"] for s in raw_spans).strip():
                continue
            bbox = [float(v) for v in raw_line["bbox"]]
            if out:
                _, prev_spans, pb = out[-1]
                size = max(s["size"] for s in raw_spans + prev_spans[-1:])
                overlap = min(pb[3], bbox[3]) - max(pb[1], bbox[1])
                height = min(pb[3] - pb[1], bbox[3] - bbox[1]) or 1.0
                gap = bbox[0] - pb[2]
                if overlap >= 0.5 * height and -1.0 <= gap <= 1.5 * size:
                    if gap > 0.15 * size and not prev_spans[-1]["text"].endswith(" ") and not raw_spans[0]["text"].startswith(" "):
                        space = dict(prev_spans[-1])
                        # a wide gap (grid cells, names set apart) reads as two spaces
                        space["text"] = "  " if gap > WIDE_GAP * size else " "
                        space["flags"] = int(space.get("flags", 0)) & ~SUPERSCRIPT_FLAG
                        prev_spans.append(space)
                    prev_spans.extend(raw_spans)
                    pb[:] = [min(pb[0], bbox[0]), min(pb[1], bbox[1]), max(pb[2], bbox[2]), max(pb[3], bbox[3])]
                    continue
            out.append((b_index, list(raw_spans), bbox))
    return [(b, sp, tuple(bb)) for b, sp, bb in out]


_CAPTION_RE = re.compile(r"^\s*(?:figure|fig\.)\s*\d{1,2}\s*[.:|]", re.IGNORECASE)
Box = tuple[float, float, float, float]


def figure_regions(page: Any) -> list[tuple[Box, bool]]:
    """Regions of page 1 covered by graphics: (bbox, holds an image), from pymupdf's own log.

    ``page.get_bboxlog()`` lists the box of every drawing, image and shading the page
    paints, at a small fraction of the cost of ``get_drawings``. Boxes that touch (within a
    few points) are merged into one cluster; a cluster is a region when it is large enough to
    be a figure (not a rule under the title or a footnote bar). Boxes are clipped to the
    page; a backdrop covering most of the page, or a large filled rectangle (a figure's blank
    canvas, often drawn far past what it shows), is ignored.
    """
    try:
        log = page.get_bboxlog()
        width, height = float(page.rect.width), float(page.rect.height)
    except Exception:  # a page MuPDF cannot replay has no regions, not a failed ingest
        return []
    rects: list[list[float]] = []
    for kind, r in log:
        if "text" in kind or not ("path" in kind or "image" in kind or "shade" in kind):
            continue
        x0, y0, x1, y1 = max(0.0, float(r[0])), max(0.0, float(r[1])), min(width, float(r[2])), min(height, float(r[3]))
        if x1 - x0 <= 0 and y1 - y0 <= 0:
            continue
        area = (x1 - x0) * (y1 - y0)
        if area > 0.5 * width * height or ("image" not in kind and area > 0.15 * width * height):
            continue  # a page backdrop, or a figure's blank canvas drawn far past what it shows
        rects.append([x0, y0, x1, y1, 1.0 if "image" in kind else 0.0, 1.0])
    clusters = _merge_boxes(rects, 6.0)
    out: list[tuple[Box, bool]] = []
    for x0, y0, x1, y1, img, n in clusters:
        if x1 - x0 >= 50 and y1 - y0 >= 40 and (img or n >= 3):
            out.append(((x0, y0, x1, y1), bool(img)))
    return out


def _merge_boxes(rects: list[list[float]], tol: float) -> list[list[float]]:
    """Merge boxes that touch within ``tol`` points until none do (few clusters per page)."""
    clusters: list[list[float]] = []
    for r in sorted(rects, key=lambda b: b[1]):
        for c in clusters:
            if r[0] <= c[2] + tol and c[0] <= r[2] + tol and r[1] <= c[3] + tol and c[1] <= r[3] + tol:
                c[0], c[1], c[2], c[3] = min(c[0], r[0]), min(c[1], r[1]), max(c[2], r[2]), max(c[3], r[3])
                c[4] = max(c[4], r[4])
                c[5] += r[5]
                break
        else:
            clusters.append(list(r))
    merged = True
    while merged and len(clusters) > 1:
        merged = False
        out: list[list[float]] = []
        for c in clusters:
            for o in out:
                if c[0] <= o[2] + tol and o[0] <= c[2] + tol and c[1] <= o[3] + tol and o[1] <= c[3] + tol:
                    o[0], o[1], o[2], o[3] = min(o[0], c[0]), min(o[1], c[1]), max(o[2], c[2]), max(o[3], c[3])
                    o[4] = max(o[4], c[4])
                    o[5] += c[5]
                    merged = True
                    break
            else:
                out.append(c)
        clusters = out
    return clusters


def _figure_lines(lines: list[Line], regions: list[tuple[Box, bool]], height: float) -> list[int]:
    """Lines that are figure text: inside a graphics region, or a "Figure 1:" caption block.

    A region counts when it holds an image or when a caption sits just under (or over) it in
    the same column; a plain box with no caption (a frame around the abstract) is not a
    figure, and neither is an uncaptioned image at the very top of the page (a banner or logo
    behind the title). The caption's own block (its wrapped lines) is figure text too, and so
    is a short label touching the graphics from above or below within their width (a panel
    heading).
    """
    captions = [i for i, ln in enumerate(lines) if _CAPTION_RE.match(ln.text)]
    out: set[int] = set()
    for i in captions:
        out.add(i)
        block = lines[i].block
        for j in range(i + 1, len(lines)):
            if lines[j].block != block:
                break
            out.add(j)
    for (x0, y0, x1, y1), image in regions:
        near_caption = any(
            min(x1, lines[i].bbox[2]) - max(x0, lines[i].bbox[0]) > 0
            and (-4 <= lines[i].bbox[1] - y1 <= 40 or -4 <= y0 - lines[i].bbox[3] <= 40)
            for i in captions
        )
        if not near_caption and (not image or y0 < 0.15 * height):
            continue
        for i, ln in enumerate(lines):
            cx, cy = (ln.bbox[0] + ln.bbox[2]) / 2, (ln.bbox[1] + ln.bbox[3]) / 2
            if x0 - 2 <= cx <= x1 + 2 and y0 - 2 <= cy <= y1 + 2:
                out.add(i)
            elif ln.bbox[0] >= x0 - 6 and ln.bbox[2] <= x1 + 6 and (
                    0 <= y0 - ln.bbox[3] <= 0.6 * ln.size or 0 <= ln.bbox[1] - y1 <= 0.6 * ln.size):
                out.add(i)  # a label set just over or under the graphics, within its width
    return sorted(out)


def front_matter_from_page_dict(page_dict: dict[str, Any], figures: list[tuple[Box, bool]] | None = None) -> FrontMatter:
    """Build :class:`FrontMatter` from ``page.get_text("dict")`` of page 1.

    ``figures`` (from :func:`figure_regions`) marks the text of page-1 figures, which then
    belongs to no zone: a teaser's labels are neither a title nor an author block.
    """
    width = float(page_dict.get("width", 612.0))
    height = float(page_dict.get("height", 792.0))
    lines: list[Line] = []
    spans: list[Span] = []
    parts: list[str] = []
    offset = 0
    for b_index, raw_spans, line_bbox in _merged_raw_lines(page_dict):
        # dominant size: the size carrying most characters
        sizes = [round(s["size"], 1) for s in raw_spans]
        weight: dict[float, int] = {}
        for s, rounded in zip(raw_spans, sizes):
            weight[rounded] = weight.get(rounded, 0) + len(s["text"].strip())
        dom = max(weight, key=lambda k: (weight[k], k))
        base = max((s["origin"][1] for s, rounded in zip(raw_spans, sizes) if rounded == dom), default=0.0)
        line_index = len(lines)
        line_start = offset
        text_parts: list[str] = []
        bold_chars = 0
        all_chars = 0
        for s in raw_spans:
            text = s["text"]
            size = float(s["size"])
            flags = int(s.get("flags", 0))
            raised = s["origin"][1] < base - 0.15 * dom
            # a small label that starts a line ("1 Momenta" at 8 pt in a 12 pt line) is a
            # marker even on the baseline; "35th" ordinals are not markers
            leading = not text_parts and size <= 0.85 * dom and len(raw_spans) > 1
            # ... and a short run raised well above the line is a marker even at full size
            high = s["origin"][1] < base - 0.3 * dom and len(text.strip()) <= 3
            sup = bool(flags & SUPERSCRIPT_FLAG) or (size <= 0.85 * dom and (raised or leading)) or high
            sup = sup and _is_marker_text(text) and not _is_ordinal(text, text_parts)
            start = offset
            offset += len(text)
            text_parts.append(text)
            if not sup:
                all_chars += len(text.strip())
                if flags & BOLD_FLAG or "bold" in s.get("font", "").lower():
                    bold_chars += len(text.strip())
            spans.append(
                Span(
                    text=text,
                    bbox=tuple(map(float, s["bbox"])),
                    size=size,
                    flags=flags,
                    font=s.get("font", ""),
                    sup=sup,
                    line=line_index,
                    start=start,
                    end=offset,
                )
            )
        text = "".join(text_parts)
        lines.append(
            Line(
                text=text,
                bbox=line_bbox,
                size=dom,
                bold=all_chars > 0 and bold_chars >= 0.6 * all_chars,
                block=b_index,
                start=line_start,
                end=offset,
            )
        )
        parts.append(text)
        offset += 1  # the "\n" joining lines
    _mark_marker_lines(lines, spans)
    front = FrontMatter(text="\n".join(parts), width=width, height=height, lines=lines, spans=spans,
                        figure_lines=_figure_lines(lines, figures or [], height))
    _find_zones(front)
    return front


def _mark_marker_lines(lines: list[Line], spans: list[Span]) -> None:
    """A line holding only a small marker ("1", "*", "†") set apart from its text is a marker.

    Its own spans cannot show it (there is nothing larger on the line to be raised over),
    so it is judged against the page: marker text at most 80% of the body size.
    """
    if not lines:
        return
    body = body_size(lines)
    by_line: dict[int, list[Span]] = {}
    for sp in spans:
        by_line.setdefault(sp.line, []).append(sp)
    for i, ln in enumerate(lines):
        if ln.size <= 0.8 * body and _is_marker_text(ln.text) and not re.search(r"[A-Za-z]{2,}", ln.text):
            for sp in by_line.get(i, []):
                if sp.text.strip():
                    sp.sup = True


def body_size(lines: list[Line]) -> float:
    """The font size most characters on the page are set in."""
    weight: dict[float, int] = {}
    for ln in lines:
        weight[ln.size] = weight.get(ln.size, 0) + len(ln.text)
    return max(weight, key=lambda k: weight[k]) if weight else 10.0


def _find_zones(front: FrontMatter) -> None:
    lines = front.lines
    if not lines:
        return
    body = body_size(lines)
    fig = set(front.figure_lines)
    top = [i for i, ln in enumerate(lines) if ln.bbox[1] < front.height * 0.45 and len(ln.text.strip()) > 1
           and i not in fig]

    # title: the largest type in the top of the page, contiguous lines of that size
    title_lines: list[int] = []
    candidates = [i for i in top if lines[i].size >= body * 1.12 and not is_venue_line(lines[i].text)
                  and re.search(r"[^\W\d_]{3,}", lines[i].text)]
    if candidates:
        biggest = max(lines[i].size for i in candidates)
        first = min(i for i in candidates if lines[i].size >= biggest - 0.6)
        title_lines = [first]
        for i in range(first + 1, len(lines)):
            prev, cur = lines[title_lines[-1]], lines[i]
            if cur.size >= biggest * 0.9 and cur.bbox[1] - prev.bbox[3] < cur.size * 1.6 and cur.size >= body * 1.12:
                title_lines.append(i)
            else:
                break
    front.title_lines = title_lines
    if title_lines:
        title = " ".join(lines[i].text.strip() for i in title_lines)
        front.title = re.sub(r"\s+", " ", re.sub(r"\s+:", ":", title)).strip()

    # abstract heading and the first body heading
    abstract_at = next((i for i, ln in enumerate(lines) if _ABSTRACT_RE.match(ln.text) and len(ln.text) < 4000
                        and (len(ln.text.strip()) < 30 or ln.bold or i > (title_lines[-1] if title_lines else -1))), None)
    title_bottom = max((lines[i].bbox[3] for i in title_lines), default=0.0)
    body_at = next(
        (i for i, ln in enumerate(lines) if _BODY_HEADING_RE.match(ln.text) and len(ln.text.strip()) < 40
         and ln.bbox[1] > title_bottom),
        None,
    )

    # footnotes: small lines in the bottom part of the page
    foot: list[int] = []
    for i in range(len(lines)):
        ln = lines[i]
        if ln.bbox[1] > front.height * 0.6 and ln.size <= body * 0.93 and not re.fullmatch(r"\s*\d+\s*", ln.text) \
                and i not in fig:
            foot.append(i)
    front.footnote_lines = foot

    # author block: between the title and the abstract (by position), excluding footnotes
    stop_y = lines[abstract_at].bbox[1] if abstract_at is not None else (
        lines[body_at].bbox[1] if body_at is not None else front.height * 0.5
    )
    author = [
        i for i, ln in enumerate(lines)
        if i not in title_lines and title_bottom - 1 <= ln.bbox[1] < stop_y - 0.5 and i not in foot and i not in fig
        and ln.bbox[1] >= (lines[title_lines[0]].bbox[1] if title_lines else 0)
    ]
    if not title_lines and abstract_at is None:
        author = author[:30]
    # a paragraph of the other text column that starts beside the author block (ACL:
    # the right column begins level with "Abstract") belongs to the body, not the block
    below: dict[int, float] = {}
    for ln in lines:
        if ln.bbox[1] > stop_y + 2 * ln.size and not _ABSTRACT_RE.match(ln.text):
            below[ln.block] = max(below.get(ln.block, 0.0), ln.bbox[1])
    if abstract_at is not None:
        below.pop(lines[abstract_at].block, None)
    author = [i for i in author if lines[i].block not in below or len(lines[i].text.strip()) < 3]
    front.author_lines = author

    if abstract_at is not None:
        stop = body_at if body_at is not None and body_at > abstract_at else None
        col_x0 = lines[abstract_at].bbox[0] - 5
        abstract = []
        heading_rest = _ABSTRACT_RE.sub("", lines[abstract_at].text).strip()
        if heading_rest:
            abstract.append(abstract_at)
        for i in range(abstract_at + 1, len(lines)):
            if stop is not None and i >= stop:
                break
            if i in foot or lines[i].size > body * 1.12:
                break
            if _BODY_HEADING_RE.match(lines[i].text):
                break
            if (lines[i].bbox[0] >= col_x0 or abstract == []) and i not in fig:
                abstract.append(i)
            if len(abstract) > 60:
                break
        front.abstract_lines = abstract

    venue = [i for i, ln in enumerate(lines) if i not in title_lines and is_venue_line(ln.text)]
    front.venue_line = venue[0] if venue else None

    front.emails = expand_emails(_plain_text(front, sorted(set(author) | set(foot))))


def _plain_text(front: FrontMatter, indices: list[int]) -> str:
    """Those lines without their superscript markers ("¹huifengguo@..." -> "huifengguo@...")."""
    wanted = set(indices)
    parts: dict[int, list[str]] = {i: [] for i in indices}
    for span in front.spans:
        if span.line in wanted:
            parts[span.line].append(" " if span.sup else span.text)
    return "\n".join("".join(parts[i]) or front.lines[i].text for i in indices)


def median_size(lines: list[Line]) -> float:
    return statistics.median([ln.size for ln in lines]) if lines else 10.0
