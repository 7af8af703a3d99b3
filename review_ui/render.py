"""Page 1 of the PDF as an image, with each field's evidence boxed.

Rendered by pymupdf from the file at ``Document.path``; the boxes are drawn into the
pixmap (paper text stays pixels, never markup). Results are cached per file, boxes and
zoom, so moving back and forth between records does not render twice.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pymupdf
import streamlit as st

from extractor.review_view import EvidenceBox
from extractor.schemas import Document

#: RGB (0-1) per kind of evidence; flagged affiliations are drawn red and thicker.
COLOURS = {
    "title": (0.15, 0.35, 0.85),
    "author": (0.1, 0.6, 0.25),
    "affiliation": (0.95, 0.55, 0.0),
    "model": (0.55, 0.2, 0.75),
    "flagged": (0.9, 0.05, 0.1),
}
LEGEND = "boxes: blue title · green authors · orange affiliations · red flagged affiliations · purple models"


@dataclass
class PageImage:
    png: bytes | None
    problem: str | None  # why there is no image (file moved, unreadable), shown to the reviewer


def _key(box: EvidenceBox) -> tuple:
    return (box.kind, box.label, box.page, tuple(round(v, 1) for v in box.rect), box.flagged)


@st.cache_data(max_entries=256, show_spinner=False)
def _render(path: str, mtime: float, size: int, boxes: tuple[tuple, ...], zoom: float) -> bytes:
    with pymupdf.open(path) as doc:
        page = doc[0]
        for kind, label, page_no, rect, flagged in boxes:
            if page_no != 0:
                continue
            colour = COLOURS["flagged"] if flagged else COLOURS.get(kind, (0.3, 0.3, 0.3))
            r = pymupdf.Rect(*rect) + (-1.5, -1.5, 1.5, 1.5)
            page.draw_rect(r, color=colour, width=2.2 if flagged else 1.1)
            if kind in ("affiliation", "author"):
                page.insert_text((r.x0, r.y0 - 1), label, fontsize=5.5, color=colour)
        rects = [rect for _k, _l, page_no, rect, _f in boxes if page_no == 0]
        clip = None
        if rects:  # the part of the page the evidence is on, larger (when it is a small part)
            w, h = page.rect.width, page.rect.height
            top, bottom = max(min(r[1] for r in rects) - 30, 0), min(max(r[3] for r in rects) + 30, h)
            left, right = max(min(r[0] for r in rects) - 30, 0), min(max(r[2] for r in rects) + 30, w)
            if right - left < 0.6 * w:
                mid = (left + right) / 2
                left, right = max(mid - 0.3 * w, 0), min(mid + 0.3 * w, w)
            if bottom - top < 0.6 * h:
                clip = pymupdf.Rect(left, top, right, bottom)
                zoom *= min(2.0, 0.9 * w / (right - left))
        pix = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), clip=clip, alpha=False)
        return pix.tobytes("png")


def page_image(doc: Document, boxes: list[EvidenceBox], zoom: float = 1.4) -> PageImage:
    """Render page 1 with boxes, or say why it cannot be shown (the form still works)."""
    path = doc.path
    if not path:
        return PageImage(None, "The database does not know where this PDF is stored.")
    if not os.path.exists(path):
        return PageImage(None, f"The PDF is no longer at {path} (moved or deleted); "
                               "the page cannot be shown, the record can still be reviewed.")
    st_ = os.stat(path)
    problem = None
    if doc.size_bytes and st_.st_size != doc.size_bytes:
        problem = f"The file at {path} changed since it was ingested (size differs); boxes may be off."
    try:
        png = _render(path, st_.st_mtime, st_.st_size, tuple(_key(b) for b in boxes), zoom)
    except Exception as exc:  # a damaged or replaced file must not break the page
        return PageImage(None, f"The PDF at {path} cannot be rendered ({type(exc).__name__}).")
    return PageImage(png, problem)
