"""Pages of the PDF as images, with each field's evidence boxed, and enlarged crops.

Rendered by pymupdf from the file at ``Document.path``; the boxes are drawn by Pillow on
the rendered pixels (paper text stays pixels, never markup). Three views of a page: the
part of page 1 the evidence is on (:func:`page_image`, the default), a whole page
(``whole=True``, any page), and a crop around one field (:func:`crop_image`, zoomed so a
footnote is as readable as a heading). Results are kept in a small in-process cache per file, page,
boxes, clip and zoom, so moving back and forth does not render twice, and the next
records in the queue are rendered ahead in a background thread while the reviewer reads
the current one (:func:`prefetch`), so the next images are usually ready.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pymupdf
from PIL import Image, ImageDraw, ImageFont

from extractor.errors import NotFoundError
from extractor.review.queue import QueueFilter, queue_head
from extractor.review.view import (
    EvidenceBox,
    EvidenceCrop,
    evidence_boxes,
    flagged_affiliation_ids,
    flagged_crops,
)
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
#: Record-page runs in progress (any session) and when the last one ended: the prefetcher
#: renders only when the server has been idle for :data:`IDLE_S`, so it never competes with
#: the run that shows the next record (a reviewer reads for seconds; a run takes a fraction).
_BUSY = 0
_LAST_END = 0.0
IDLE_S = 0.3
#: A prefetch that has not found an idle moment within this many seconds gives up.
PREFETCH_PATIENCE_S = 20.0
#: PyMuPDF is not thread-safe: one render at a time across sessions and the prefetcher.
_MUPDF = threading.Lock()


#: What part of a page to render: "evidence" (where page 1's boxes are), "whole", or a clip rect.
View = str | tuple[float, float, float, float]
#: Width in pixels a crop is rendered at (at most 4x): the UI shows it at column width.
CROP_PIXELS = 960


def _render(path: str, mtime: float, size: int, boxes: tuple[tuple, ...], zoom: float,
            page_no: int = 0, view: View = "evidence") -> bytes:
    key = (path, mtime, size, boxes, zoom, page_no, view)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    with _MUPDF:
        out = _draw(path, boxes, zoom, page_no, view)
    with _LOCK:
        _CACHE[key] = out
        while len(_CACHE) > _CACHE_MAX:
            _CACHE.popitem(last=False)
    return out


def _draw(path: str, boxes: tuple[tuple, ...], zoom: float, page_index: int = 0, view: View = "evidence") -> bytes:
    """Rasterise the page part asked for, then draw the boxes on the pixels. The page
    itself is never modified: drawing into the PDF page (PyMuPDF shapes and text) costs
    several times the rasterising, and PyMuPDF holds the GIL throughout, so the server
    could not send the record's form meanwhile."""
    rects = [rect for _k, _l, page_no, rect, _f in boxes if page_no == page_index]
    with pymupdf.open(path) as doc:
        page = doc[page_index]
        w, h = page.rect.width, page.rect.height
        clip = None
        if isinstance(view, tuple):  # a crop: zoomed to a fixed pixel width, whatever its size in points
            clip = pymupdf.Rect(*view) & page.rect
            if clip.is_empty:
                clip = page.rect
            zoom = min(4.0, CROP_PIXELS / max(clip.width, 1.0))
        elif rects and view == "evidence":  # the part of the page the evidence is on, larger (when it is a small part)
            top, bottom = max(min(r[1] for r in rects) - 30, 0), min(max(r[3] for r in rects) + 30, h)
            left, right = max(min(r[0] for r in rects) - 30, 0), min(max(r[2] for r in rects) + 30, w)
            if right - left < 0.6 * w:
                mid = (left + right) / 2
                left, right = max(mid - 0.3 * w, 0), min(mid + 0.3 * w, w)
            if bottom - top < 0.6 * h:
                clip = pymupdf.Rect(left, top, right, bottom)
                zoom *= min(2.0, 0.9 * w / (right - left))
        pix = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), clip=clip, alpha=False)
        origin = (pix.x, pix.y)  # the pixmap's top-left, in pixels of the zoomed page
        image = Image.frombytes("RGB", (pix.width, pix.height), pix.samples)
    _draw_boxes(image, [b for b in boxes if b[2] == page_index], zoom, origin)
    return _jpeg(image)


def _draw_boxes(image: Image.Image, boxes: list[tuple], zoom: float, origin: tuple[int, int]) -> None:
    """Each box 1.5 points outside its text, 1.1 points wide (2.2 when flagged), with its
    label just above it for authors and affiliations; all sizes scale with the zoom."""
    pen = ImageDraw.Draw(image)
    ox, oy = origin
    for kind, label, _page, rect, flagged in boxes:
        colour = tuple(round(c * 255) for c in (COLOURS["flagged"] if flagged else COLOURS.get(kind, (0.3, 0.3, 0.3))))
        width = max(1, round((2.2 if flagged else 1.1) * zoom))
        x0, y0 = (rect[0] - 1.5) * zoom - ox, (rect[1] - 1.5) * zoom - oy
        x1, y1 = (rect[2] + 1.5) * zoom - ox, (rect[3] + 1.5) * zoom - oy
        half = width / 2  # PDF strokes are centred on the edge; Pillow draws inside it
        if x1 - x0 > width and y1 - y0 > width:  # a degenerate rectangle is skipped (Pillow refuses some)
            pen.rectangle((x0 - half, y0 - half, x1 + half, y1 + half), outline=colour, width=width)
        if kind in ("affiliation", "author"):
            pen.text((x0, y0 - zoom), label, fill=colour, font=_font(max(6, round(5.5 * zoom))), anchor="ls")


@functools.lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _jpeg(image: Image.Image) -> bytes:
    """The image as JPEG, encoded by Pillow rather than PyMuPDF: several times faster, and
    Pillow lets go of the GIL while it encodes, so the server keeps sending the record's
    form to the browser while its page is being encoded (PyMuPDF holds the GIL throughout,
    which held back the quick-fix field behind the crop for as long as the encoding took)."""
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    return out.getvalue()


def page_image(doc: Document, boxes: list[EvidenceBox], zoom: float = 1.4, *, page: int = 0,
               whole: bool = False) -> PageImage:
    """Render a page (page 1 by default) with boxes, or say why it cannot be shown (the
    form still works). Page 1 is cut to where its evidence is unless ``whole``."""
    return _image(doc, boxes, zoom, page, "whole" if whole or page != 0 else "evidence")


def crop_image(doc: Document, boxes: list[EvidenceBox], crop: EvidenceCrop) -> PageImage:
    """One flagged field's crop, enlarged, with the boxes drawn on it."""
    return _image(doc, boxes, 1.0, crop.page, tuple(round(v, 1) for v in crop.rect))  # type: ignore[arg-type]


def _image(doc: Document, boxes: list[EvidenceBox], zoom: float, page: int, view: View) -> PageImage:
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
    if doc.page_count and page >= doc.page_count:
        return PageImage(None, f"The PDF has no page {page + 1}.")
    try:
        png = _render(path, st_.st_mtime, st_.st_size, tuple(_key(b) for b in boxes), zoom, page, view)
    except Exception as exc:  # a damaged or replaced file must not break the page
        return PageImage(None, f"The PDF at {path} cannot be rendered ({type(exc).__name__}).")
    return PageImage(png, problem)


#: The documents and extractions of records shown or prefetched: (db, sha256) -> (time, doc, pairs).
_EVIDENCE: OrderedDict[tuple[str, str], tuple[float, Document | None, list[tuple[Any, Any]]]] = OrderedDict()
_EVIDENCE_MAX = 64
#: A cached entry older than this is read again (a re-run of the pipeline adds extractions).
EVIDENCE_TTL_S = 300.0


def record_evidence(store: Store, record: PaperRecord) -> tuple[Document | None, list[tuple[Any, Any]]]:
    """The record's document (without its full text; None when it is not in the database)
    and its stored extractions as (meta, extraction) pairs. Kept a few minutes in a small
    in-process cache shared by the sessions and filled ahead by :func:`prefetch`: reading
    and parsing them is a large share of a record page's run, and neither changes while
    the record is reviewed (the record itself is always read fresh)."""
    key = (str(store.path), record.sha256)
    now = time.monotonic()
    with _LOCK:
        hit = _EVIDENCE.get(key)
        if hit is not None and now - hit[0] < EVIDENCE_TTL_S:
            _EVIDENCE.move_to_end(key)
            return hit[1], hit[2]
    try:
        doc: Document | None = store.get_document(record.sha256, with_full_text=False)
    except NotFoundError:
        doc = None
    pairs = [(m, e) for m, e, _ in store.extractions_for(record.sha256)]
    with _LOCK:
        _EVIDENCE[key] = (now, doc, pairs)
        while len(_EVIDENCE) > _EVIDENCE_MAX:
            _EVIDENCE.popitem(last=False)
    return doc, pairs


def display_flagged(record: PaperRecord, extractions: list[tuple[Any, Any]], known: set[int] | None = None) -> list[int]:
    """The flagged affiliations the record page shows (and boxes in red): at most three."""
    known = {a.id for a in record.affiliations} if known is None else known
    return [aid for aid in flagged_affiliation_ids(record, extractions) if aid in known][:3]


@contextlib.contextmanager
def page_run() -> Iterator[None]:
    """Mark a record-page run (the prefetcher waits until none is running)."""
    global _BUSY, _LAST_END
    with _LOCK:
        _BUSY += 1
    try:
        yield
    finally:
        with _LOCK:
            _BUSY -= 1
            _LAST_END = time.monotonic()


def _wait_idle(deadline: float) -> bool:
    """Block until no record-page run has been going for :data:`IDLE_S`; False at ``deadline``."""
    while True:
        with _LOCK:
            busy, last = _BUSY, _LAST_END
        now = time.monotonic()
        if not busy and now - last >= IDLE_S:
            return True
        if now >= deadline:
            return False
        time.sleep(0.05)


def prefetch(db_path: str, *, filters: QueueFilter | None = None, audit: bool = False, n: int = 2) -> None:
    """Render the next ``n`` queued records' pages in the background (best effort)."""
    key = f"{db_path}|{filters}|{audit}"
    with _LOCK:
        if key in _QUEUED:
            return
        _QUEUED.add(key)
    _POOL.submit(_prefetch, db_path, filters, audit, n, key)


def _prefetch(db_path: str, filters: QueueFilter | None, audit: bool, n: int, key: str) -> None:
    deadline = time.monotonic() + PREFETCH_PATIENCE_S
    try:
        if not _wait_idle(deadline):
            return
        with Store.open(db_path, create=False) as store:
            for item in queue_head(store, n=n, filters=filters, audit=audit):
                if not _wait_idle(deadline):
                    return
                record = store.get_record(item.paper_id)
                doc, pairs = record_evidence(store, record)
                if doc is None:
                    continue
                flagged = display_flagged(record, pairs)
                boxes = evidence_boxes(record, doc.front, flagged)
                page_image(doc, boxes)
                for crop in flagged_crops(record, doc.front, flagged):
                    crop_image(doc, boxes, crop)
    except Exception:  # noqa: BLE001 - a prefetch must never disturb the page
        pass
    finally:
        with _LOCK:
            _QUEUED.discard(key)
