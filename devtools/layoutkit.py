"""Building blocks shared by the page layouts: the paper spec, styled-run flow, body columns.

A layout draws a :class:`PaperSpec` (strings already final) onto a
:class:`~devtools.pdfcanvas.Canvas` and reports what it actually printed
(:class:`Printed`): which emails appear and how much of each body block made it onto the
pages. The truth record is built from that, so it never claims text that fell off a page.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from devtools import paperprep as pp
from devtools.pdfcanvas import Canvas, Run, runs_width, wrap


@dataclass
class Unit:
    text: str  # exactly as printed (no markers)
    institution: str | None
    country: str | None


@dataclass
class AuthorSpec:
    name: str
    units: list[int]
    email: str | None  # full address, printed or not depending on the layout
    equal: bool = False  # marked "equal contribution"


@dataclass
class Block:
    kind: str  # abstract-heading | abstract | heading | para | refs-heading | ref
    text: str
    number: str = ""
    mentions: list[tuple[int, dict]] = field(default_factory=list)  # (end offset, mention)


@dataclass
class PaperSpec:
    id: str
    venue: str
    year: int
    title: str
    authors: list[AuthorSpec]
    units: list[Unit]
    blocks: list[Block]
    max_pages: int
    rng: random.Random
    email_groups: bool = True


@dataclass
class Printed:
    emails: dict[int, str] = field(default_factory=dict)  # author index -> printed email
    block_chars: dict[int, int] = field(default_factory=dict)  # block index -> chars printed


SYMBOLS = ["†", "‡", "§", "¶"]  # LaTeX goes on with ‖, which no built-in font has


def symbol_for(i: int) -> str:
    return SYMBOLS[i % len(SYMBOLS)] * (i // len(SYMBOLS) + 1)


# --------------------------------------------------------------------------- helpers


def flow_atoms(atoms: list[list[Run]], sep: list[Run], max_width: float) -> list[list[Run]]:
    """Pack unbreakable atoms (an author with markers) into lines, separators between them."""
    lines: list[list[Run]] = []
    cur: list[Run] = []
    sep_w = runs_width(sep)
    cur_w = 0.0
    for atom in atoms:
        w = runs_width(atom)
        if cur and cur_w + sep_w + w > max_width:
            lines.append(cur)
            cur, cur_w = [], 0.0
        if cur:
            cur = cur + sep
            cur_w += sep_w
        cur = cur + atom
        cur_w += w
    if cur:
        lines.append(cur)
    return lines


def words_to_atoms(runs: list[Run]) -> list[list[Run]]:
    """Split styled runs at spaces into words; a marker glued to a word stays with it."""
    atoms: list[list[Run]] = [[]]
    for text, key, size, rise in runs:
        parts = text.split(" ")
        for j, part in enumerate(parts):
            if j > 0:
                atoms.append([])
            if part:
                atoms[-1].append((part, key, size, rise))
    return [a for a in atoms if a]


def sup(text: str, size: float, key: str = "rm") -> Run:
    """A LaTeX-like superscript: 70% of the base size, baseline raised by 40% of it."""
    return (text, key, round(size * 0.7, 2), round(size * 0.4, 2))


def draw_title(cv: Canvas, spec: PaperSpec, y: float, size: float, max_width: float) -> float:
    """Centred bold title (wrapping to more lines if long); returns the last baseline."""
    for line in wrap(spec.title, "bf", size, max_width):
        y += size * 1.2
        cv.centred(0, cv.width / 2, y, line, "bf", size)
    return y


def centred_lines(cv: Canvas, y: float, lines: list[list[Run]], lead: float, cx: float | None = None) -> float:
    for line in lines:
        y += lead
        cv.centred_runs(0, cx if cx is not None else cv.width / 2, y, line)
    return y


def email_line(spec: PaperSpec, idxs: list[int], printed: Printed, grouped: bool) -> list[str]:
    """Emails of the given authors, brace-grouped by domain or one by one; records them."""
    pairs = []
    for i in idxs:
        email = spec.authors[i].email
        if email:
            printed.emails[i] = email
            local, domain = email.split("@", 1)
            pairs.append((local, domain))
    if grouped:
        return pp.email_groups(pairs)
    return [f"{local}@{d}" for local, d in pairs]


class Flow:
    """Pours the body blocks into columns, remembering how many characters were printed."""

    def __init__(self, cv: Canvas, spec: PaperSpec, printed: Printed, *, size: float = 10.0,
                 heading_size: float = 12.0, heading_sep: str = " ", abstract_indent: float = 0.0):
        self.cv, self.blocks, self.printed = cv, spec.blocks, printed
        self.size, self.heading_size, self.heading_sep = size, heading_size, heading_sep
        self.abstract_indent = abstract_indent
        self.bi = 0
        self.ci = 0

    @property
    def done(self) -> bool:
        return self.bi >= len(self.blocks)

    def in_abstract(self) -> bool:
        return not self.done and self.blocks[self.bi].kind.startswith("abstract")

    def fill(self, pno: int, x0: float, x1: float, y: float, bottom: float) -> None:
        """Fill one column from baseline y down to bottom; stop mid-block if it is full."""
        while not self.done:
            b = self.blocks[self.bi]
            if b.kind in ("heading", "abstract-heading", "refs-heading"):
                hs = self.heading_size
                if y + hs * 1.6 + self.size * 2.4 > bottom:
                    return
                y += hs * 1.6 if y > 0 else hs
                text = f"{b.number}{self.heading_sep}{b.text}" if b.number else b.text
                if b.kind == "abstract-heading":
                    self.cv.centred(pno, (x0 + x1) / 2, y, text, "bf", hs)
                else:
                    self.cv.text(pno, x0, y, text, "bf", hs)
                y += hs * 0.3
                self.printed.block_chars[self.bi] = len(b.text)
                self.bi += 1
                continue
            size = self.size * (0.9 if b.kind == "ref" else 1.0)
            indent = self.abstract_indent if b.kind == "abstract" else 0.0
            lead = size * 1.2
            lines = wrap(b.text[self.ci:], "rm", size, x1 - x0 - 2 * indent)
            for line in lines:
                if y + lead > bottom:
                    return
                y += lead
                self.cv.text(pno, x0 + indent, y, line, "rm", size)
                self.ci += len(line) + 1
                self.printed.block_chars[self.bi] = min(self.ci, len(b.text))
            self.bi += 1
            self.ci = 0
            y += size * 0.4


def body_pages(cv: Canvas, spec: PaperSpec, flow: Flow, columns: list[tuple[float, float]],
               first: list[tuple[float, float, float, float]], top: float, bottom: float) -> None:
    """Fill page 1's columns, then further pages while allowed (always finish the abstract)."""
    for x0, x1, y, ybottom in first:
        flow.fill(0, x0, x1, y, ybottom)
    pno = 0
    while not flow.done and (pno + 1 < spec.max_pages or flow.in_abstract()):
        pno = cv.new_page()
        for x0, x1 in columns:
            flow.fill(pno, x0, x1, top, bottom)
