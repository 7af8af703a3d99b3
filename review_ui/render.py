"""Page 1 of the PDF as an image, with each field's evidence boxed.

Rendered by pymupdf from the file at ``Document.path``; the boxes are drawn into the
pixmap (paper text stays pixels, never markup). Results are kept in a small in-process
cache per file, boxes and zoom, so moving back and forth does not render twice, and the
next records in the queue are rendered ahead in a background thread while the reviewer
reads the current one (:func:`prefetch`), so the next page image is usually ready.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pymupdf

from extractor.review.queue import QueueFilter, queue_head
from extractor.review.view import EvidenceBox, evidence_boxes, flagged_affiliation_ids
from extractor.schemas import Document, PaperRecord
from extractor.store import Store

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


_CACHE: OrderedDict[tuple, bytes] = OrderedDict()
_CACHE_MAX = 256
_LOCK = threading.Lock()
_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="collabscope-prefetch")
_QUEUED: set[str] = set()
#: PyMuPDF is not thread-safe: one render at a time across sessions and the prefetcher.
_MUPDF = threading.Lock()


def _render(path: str, mtime: float, size: int, boxes: tuple[tuple, ...], zoom: float) -> bytes:
    key = (path, mtime, size, boxes, zoom)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    with _MUPDF:
        out = _draw(path, boxes, zoom)
    with _LOCK:
        _CACHE[key] = out
        while len(_CACHE) > _CACHE_MAX:
            _CACHE.popitem(last=False)
    return out


def _draw(path: str, boxes: tuple[tuple, ...], zoom: float) -> bytes:
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
        return pix.tobytes("jpeg", jpg_quality=88)  # a third of the PNG's bytes, faster to encode


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


def display_flagged(record: PaperRecord, extractions: list[tuple[Any, Any]], known: set[int] | None = None) -> list[int]:
    """The flagged affiliations the record page shows (and boxes in red): at most three."""
    known = {a.id for a in record.affiliations} if known is None else known
    return [aid for aid in flagged_affiliation_ids(record, extractions) if aid in known][:3]


def prefetch(db_path: str, *, filters: QueueFilter | None = None, audit: bool = False, n: int = 2) -> None:
    """Render the next ``n`` queued records' pages in the background (best effort)."""
    key = f"{db_path}|{filters}|{audit}"
    with _LOCK:
        if key in _QUEUED:
            return
        _QUEUED.add(key)
    _POOL.submit(_prefetch, db_path, filters, audit, n, key)


def _prefetch(db_path: str, filters: QueueFilter | None, audit: bool, n: int, key: str) -> None:
    try:
        with Store.open(db_path, create=False) as store:
            for item in queue_head(store, n=n, filters=filters, audit=audit):
                record = store.get_record(item.paper_id)
                doc = store.get_document(record.sha256, with_full_text=False)
                pairs = [(m, e) for m, e, _ in store.extractions_for(record.sha256)]
                page_image(doc, evidence_boxes(record, doc.front, display_flagged(record, pairs)))
    except Exception:  # noqa: BLE001 - a prefetch must never disturb the page
        pass
    finally:
        with _LOCK:
            _QUEUED.discard(key)
