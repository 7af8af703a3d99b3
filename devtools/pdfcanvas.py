"""Drawing primitives for the synthetic paper generator: fast text runs, superscripts, wrapping.

Why not ``TextWriter.append``: it recomputes the bounding box of *all* text written so far
on every call (quadratic), which makes a page cost ~25 ms. We call MuPDF's
``fz_show_string`` on the TextWriter directly (same output bytes, ~4 µs a call) and measure
text with our own per-character advance cache instead of ``Font.text_length`` (~70 µs a
call). That keeps a full page well under 10 ms, the budget for 100 PDFs/s/core.

Fonts are MuPDF's built-in Base-14 families (Nimbus clones of Times, Courier, Symbol),
embedded by TextWriter and subset on save, so no font file has to exist on the machine.
Times covers Latin-1, Latin Extended-A (ł, ø, ś, č, ğ ...), Greek and common math; the few
characters it lacks (∗, the TeX asterisk) come from Symbol; anything else falls back to
MuPDF's own fallback fonts inside ``fz_show_string``. Every character round-trips through
``page.get_text()`` because all fonts carry a ToUnicode map.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pymupdf
from pymupdf import mupdf as _mupdf  # the low-level binding of every PyMuPDF >= 1.24 wheel

#: Our font keys -> MuPDF built-in font names.
FONT_NAMES = {"rm": "tiro", "bf": "tibo", "it": "tiit", "tt": "cour", "sy": "symb"}

_FONTS: dict[str, pymupdf.Font] = {}
_ADV: dict[str, dict[str, float | None]] = {k: {} for k in FONT_NAMES}
_FALLBACK_ADVANCE = 0.55  # em width assumed for characters MuPDF draws from a fallback font


def font(key: str) -> pymupdf.Font:
    """The built-in font for a key, created once per process (Font objects do not pickle)."""
    f = _FONTS.get(key)
    if f is None:
        f = _FONTS[key] = pymupdf.Font(FONT_NAMES[key])
    return f


def _advance(key: str, ch: str) -> float | None:
    """Advance of one character at size 1, or None if the font has no glyph for it."""
    cache = _ADV[key]
    try:
        return cache[ch]
    except KeyError:
        f = font(key)
        adv = f.glyph_advance(ord(ch)) if f.has_glyph(ord(ch)) else None
        cache[ch] = adv
        return adv


_OK: dict[str, set[str]] = {k: set() for k in FONT_NAMES}  # characters a font draws itself
_WIDTH: dict[str, dict[str, float]] = {k: {} for k in FONT_NAMES}  # advance incl. fallbacks


def _learn(key: str, text: str) -> None:
    """Fill the per-font caches for the characters of text not seen before."""
    ok, widths = _OK[key], _WIDTH[key]
    for ch in set(text) - widths.keys():
        adv = _advance(key, ch)
        if adv is not None:
            ok.add(ch)
        elif key != "sy":
            adv = _advance("sy", ch)
        widths[ch] = _FALLBACK_ADVANCE if adv is None else adv


def segments(text: str, key: str) -> list[tuple[str, str]]:
    """Split text into (text, font key) pieces, sending glyphs Times lacks (∗) to Symbol."""
    if key == "sy" or set(text) <= _OK[key]:
        return [(text, key)]
    _learn(key, text)
    ok = _OK[key]
    if set(text) <= ok:
        return [(text, key)]
    out: list[tuple[str, str]] = []
    buf: list[str] = []
    for ch in text:
        if ch not in ok and _advance("sy", ch) is not None:
            if buf:
                out.append(("".join(buf), key))
                buf = []
            out.append((ch, "sy"))
        else:
            buf.append(ch)
    if buf:
        out.append(("".join(buf), key))
    return out


def width(text: str, key: str, size: float) -> float:
    """Printed width of text in points, as fz_show_string will advance (no kerning)."""
    widths = _WIDTH[key]
    try:
        return sum(map(widths.__getitem__, text)) * size
    except KeyError:
        _learn(key, text)
        return sum(map(widths.__getitem__, text)) * size


#: A styled piece of text: (text, font key, size, rise). Rise > 0 raises the baseline.
Run = tuple[str, str, float, float]


def runs_width(runs: list[Run]) -> float:
    return sum(width(t, k, s) for t, k, s, _ in runs)


def wrap(text: str, key: str, size: float, max_width: float, *, comma_break: bool = False) -> list[str]:
    """Greedy word wrap at single spaces, so ``" ".join(lines)`` gives the text back exactly.

    With ``comma_break`` it prefers to break after a comma when that keeps the line at least
    60% full, as people do when they wrap affiliations by hand. Never hyphenates (that would
    change the words the truth records).
    """
    space = width(" ", key, size)
    lines: list[str] = []
    cur: list[str] = []
    widths: list[float] = []
    cur_w = 0.0
    for word in text.split(" "):
        if not word:
            continue
        w = width(word, key, size)
        if cur and cur_w + space + w > max_width:
            cut = len(cur)
            if comma_break:
                for j in range(len(cur) - 1, 0, -1):
                    if cur[j - 1].endswith(","):
                        if sum(widths[:j]) + space * (j - 1) >= 0.6 * max_width:
                            cut = j
                        break
            lines.append(" ".join(cur[:cut]))
            cur, widths = cur[cut:], widths[cut:]
            cur_w = sum(widths) + space * max(len(cur) - 1, 0)
        cur_w = cur_w + space + w if cur else w
        cur.append(word)
        widths.append(w)
    if cur:
        lines.append(" ".join(cur))
    return lines


@dataclass
class Canvas:
    """A document under construction: pages, one TextWriter per page, rules and stamps."""

    width: float = 612.0
    height: float = 792.0
    doc: pymupdf.Document = field(default_factory=pymupdf.open)
    _writers: list[pymupdf.TextWriter] = field(default_factory=list)
    _lines: list[list[tuple[float, float, float, float, float]]] = field(default_factory=list)
    _stamps: list[list[tuple[float, float, str, float]]] = field(default_factory=list)

    def new_page(self) -> int:
        """Start a page; drawing calls take the page number this returns.

        Page objects are fetched again in :meth:`finish` because adding a page invalidates
        the Python page objects pymupdf handed out before.
        """
        self.doc.new_page(width=self.width, height=self.height)
        self._writers.append(pymupdf.TextWriter(pymupdf.Rect(0, 0, self.width, self.height)))
        self._lines.append([])
        self._stamps.append([])
        return len(self._writers) - 1

    def text(self, pno: int, x: float, y: float, text: str, key: str = "rm", size: float = 10.0) -> float:
        """Draw text with its baseline at (x, y) in top-down page coordinates; return end x."""
        tw = self._writers[pno]
        for piece, k in segments(text, key):
            _show(tw, font(k), size, x, self.height - y, piece)
            x += width(piece, k, size)
        return x

    def runs(self, pno: int, x: float, y: float, runs: list[Run]) -> float:
        """Draw styled runs left to right from baseline (x, y); superscripts via their rise."""
        for text, key, size, rise in runs:
            x = self.text(pno, x, y - rise, text, key, size)
        return x

    def centred_runs(self, pno: int, cx: float, y: float, runs: list[Run]) -> None:
        self.runs(pno, cx - runs_width(runs) / 2, y, runs)

    def centred(self, pno: int, cx: float, y: float, text: str, key: str = "rm", size: float = 10.0) -> None:
        self.text(pno, cx - width(text, key, size) / 2, y, text, key, size)

    def rule(self, pno: int, x0: float, y: float, x1: float, thickness: float = 0.4) -> None:
        """A horizontal rule (title bars, footnote separator)."""
        self._lines[pno].append((x0, y, x1, y, thickness))

    def stamp(self, pno: int, x: float, y: float, text: str, size: float = 20.0) -> None:
        """Grey text rotated 90° in the margin, like arXiv's left-margin identifier."""
        self._stamps[pno].append((x, y, text, size))

    def finish(self) -> pymupdf.Document:
        """Write the text and rules into the pages and hand back the document."""
        for pno, (tw, lines, stamps) in enumerate(zip(self._writers, self._lines, self._stamps)):
            page = self.doc[pno]
            tw.write_text(page)
            for x, y, text, size in stamps:
                page.insert_text((x, y), text, fontsize=size, fontname="tiro", rotate=90, color=(0.5, 0.5, 0.5))
            if lines:
                shape = page.new_shape()
                for x0, y0, x1, y1, t in lines:
                    shape.draw_line((x0, y0), (x1, y1))
                    shape.finish(width=t, color=(0, 0, 0))
                shape.commit()
        return self.doc


def _show(tw: pymupdf.TextWriter, f: pymupdf.Font, size: float, px: float, py: float, text: str) -> None:
    """Append text at PDF-space (px, py) straight through MuPDF (see module docstring)."""
    trm = _mupdf.fz_make_matrix(size, 0, 0, size, px, py)
    _mupdf.fz_show_string(tw.this, f.this, trm, text, 0, 0, 0, _LANG)


_LANG = _mupdf.fz_text_language_from_string(None)
