"""Author names from name lines: split on separators and markers, keep markers and positions.

A name line is read piece by piece. Commas, semicolons, "and", "&" and wide gaps end a
name; a marker run (superscript ``1,2∗`` or a trailing plain ``2``) belongs to the name
before it and also ends it, which is how "Ana Lima¹ Ben Ortiz²" (no
commas) splits. Wide gaps (two or more spaces; layout inserts them for visual gaps) also
end a grid *cell*: names in one cell share the affiliation lines printed under it, names
in neighbouring cells do not. Honorifics ("Senior Member, IEEE") are dropped; particles
(van der, de la) and romanised CJK names (in capitals, hyphenated given names) are kept as printed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from extractor.extract.rules.lines import _HONORIFIC_RE, ZLine, name_part_ok, split_markers

_SEP_RE = re.compile(r"\s*(?:,|;|\band\b|&|[·•|])\s*|\s{2,}")
_TRAILING_MARK_RE = re.compile(r"(?<=[^\W\d_])\s?((?:\d{1,2}|[*∗†‡§¶♠♣♥♦♢♡⋆★#]+)(?:\s?[,∗*†‡§¶]\s?(?:\d{1,2}|[*∗†‡§¶]+))*)$")
_PREFIX_RE = re.compile(r"^(?:dr|prof|professor|mr|ms|mrs)\.?\s+", re.IGNORECASE)


@dataclass
class NameSlot:
    """One author as found in the author block."""

    name: str
    markers: list[str]
    line: int
    x0: float
    x1: float
    y: float
    cell: int = -1
    email: str | None = None
    units: list[int] = field(default_factory=list)
    order: int = 0
    link: str | None = None  # how ``units`` were found (schemas.AUTHOR_LINKS)

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2


@dataclass
class Cell:
    """Names printed together (one grid cell, or a whole author line in list layouts)."""

    id: int
    slots: list[NameSlot]
    x0: float
    x1: float
    y0: float
    y1: float
    lines: list[int]
    wide: bool = False  # cut from its neighbours by a wide gap (grid layout)

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2


def clean_name(text: str) -> tuple[str, list[str]]:
    """A name as printed, without honorifics or trailing plain markers; those markers."""
    text = _HONORIFIC_RE.sub("", text)
    text = _PREFIX_RE.sub("", text.strip())
    markers: list[str] = []
    m = _TRAILING_MARK_RE.search(text)
    if m:
        markers = split_markers(m.group(1))
        text = text[: m.start()]
    text = re.sub(r"\s+", " ", text).strip(" ,;*∗†‡§¶")
    if re.search(r"[^\W\d_]{3}\.$", text):
        text = text[:-1]  # the full stop closing a list ("..., Ana Lima."), not an initial
    return text, markers


def parse_name_line(zl: ZLine) -> list[list[NameSlot]]:
    """Names of one line grouped into cells (cut at wide gaps)."""
    cells: list[list[NameSlot]] = [[]]
    buf: list[tuple[str, float]] = []
    last: NameSlot | None = None

    def flush() -> None:
        nonlocal buf, last
        text = "".join(c for c, _ in buf)
        xs = [x for c, x in buf if not c.isspace()]
        buf = []
        name, trailing = clean_name(text)
        if not name or not xs:
            return
        if not name_part_ok(name, relaxed=True):
            last = None
            return
        last = NameSlot(name, trailing, zl.index, min(xs) - 2, max(xs) + 2, zl.y)
        cells[-1].append(last)

    for piece in zl.pieces:
        if piece.marker:
            flush()
            target = last if last is not None else (cells[-1][-1] if cells[-1] else None)
            if target is not None:
                target.markers.extend(split_markers(piece.text))
                target.x1 = max(target.x1, piece.x1)
            last = None
            continue
        text = "".join(c for c, _ in piece.chars) if piece.chars else piece.text
        chars = piece.chars or [(c, piece.x0) for c in piece.text]
        text, chars = _without_honorifics(text, chars)
        pos = 0
        for m in _SEP_RE.finditer(text):
            buf.extend(chars[pos : m.start()])
            flush()
            if not m.group().strip() and len(m.group()) >= 2:
                if cells[-1]:
                    cells.append([])  # a wide gap: next cell
            pos = m.end()
        buf.extend(chars[pos:])
    flush()
    return [c for c in cells if c]


def _without_honorifics(text: str, chars: list[tuple[str, float]]) -> tuple[str, list[tuple[str, float]]]:
    """IEEE author lines ("Ana Lima, Member, IEEE, Ben Ortiz, Fellow, IEEE, and ..."): each
    society grade becomes one separator, so its comma-separated words are not read as names."""
    if not _HONORIFIC_RE.search(text):
        return text, chars
    out: list[tuple[str, float]] = []
    pos = 0
    for m in _HONORIFIC_RE.finditer(text):
        out += chars[pos : m.start()]
        out.append((",", chars[m.start()][1] if m.start() < len(chars) else 0.0))
        pos = m.end()
    out += chars[pos:]
    return "".join(c for c, _ in out), out


def name_cells(zlines: list[ZLine]) -> tuple[list[NameSlot], list[Cell]]:
    """All names of the author block, in print order, and the cells they sit in."""
    slots: list[NameSlot] = []
    cells: list[Cell] = []
    prev: ZLine | None = None
    for zl in zlines:
        if zl.kind != "names":
            prev = None
            continue
        groups = parse_name_line(zl)
        if prev is not None and slots and groups and _name_runs_on(prev, zl, slots[-1], groups[0][0]):
            head = groups[0].pop(0)
            slots[-1].name = f"{slots[-1].name} {head.name}"
            slots[-1].markers += head.markers
            groups = [g for g in groups if g]
        prev = zl
        for group in groups:
            cell = Cell(len(cells), group, min(s.x0 for s in group), max(s.x1 for s in group),
                        zl.bbox[1], zl.bbox[3], [zl.index], wide=len(groups) > 1)
            for s in group:
                s.cell = cell.id
                s.order = len(slots)
                slots.append(s)
            cells.append(cell)
    return slots, cells


def _name_runs_on(prev: ZLine, line: ZLine, last: NameSlot, head: NameSlot) -> bool:
    """A long author list wraps mid-name ("..., Ana Lima, Eva" / "Nowak, Ben Ortiz, ..."): the
    previous names line ends in a one-word name with no separator or marker after it, and
    the next line, set directly under it, starts with a one-word name."""
    if " " in last.name or " " in head.name or last.markers or not prev.pieces or prev.pieces[-1].marker:
        return False
    if re.search(r"(?:[,;&·•|]|\band)\s*$", prev.text.rstrip()):
        return False
    gap = line.bbox[1] - prev.bbox[3]
    return last.line == prev.index and -0.5 * line.size < gap < 0.8 * line.size


def attach_marker_lines(slots: list[NameSlot], zlines: list[ZLine]) -> None:
    """Markers that came out as a line of their own, level with a names line, go to the names.

    Some PDFs keep superscripts in a separate text line; each marker then belongs to the
    name that ends just left of it. The marker line is marked "skip" so that it does not
    also start an affiliation unit.
    """
    by_line: dict[int, list[NameSlot]] = {}
    for s in slots:
        by_line.setdefault(s.line, []).append(s)
    names_lines = [z for z in zlines if z.kind == "names" and z.index in by_line]
    for zl in zlines:
        if zl.kind != "marker":
            continue
        row = next((n for n in names_lines if abs(n.bbox[1] - zl.bbox[1]) < 0.8 * n.size
                    or (0 <= n.bbox[1] - zl.bbox[3] < 0.3 * n.size)), None)
        if row is None:
            continue
        used = False
        for piece in zl.pieces:
            if not piece.marker:
                continue
            left = [s for s in by_line[row.index] if s.x1 <= piece.x0 + 2 and piece.x0 - s.x1 < 3 * row.size]
            if left:
                target = max(left, key=lambda s: s.x1)
                target.markers.extend(split_markers(piece.text))
                used = True
        if used:
            zl.kind = "skip"


def _person_tokens(name: str) -> list[str]:
    import unicodedata

    folded = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)).lower()
    return re.findall(r"[a-z]+", folded)


def same_person(written: str, name: str) -> bool:
    """'A. Smith' / 'Alice Smith' / 'Smith' in a footnote and 'Alice Smith' in the author list."""
    a, b = _person_tokens(written), _person_tokens(name)
    if not a or not b or a[-1] != b[-1]:
        return False
    return len(a) == 1 or a[0][0] == b[0][0]
