"""Evidence boxes on rendered pages (review_ui.render): the boxes are drawn on the pixels
after rendering, so each must land around its text whatever part of the page is shown
(the evidence cut, the whole page, a crop) and at whatever zoom."""

from __future__ import annotations

import io
from pathlib import Path

import pymupdf
import pytest
from PIL import Image

from review_ui import render

BOXED, OTHER = "Universidad de Chile", "Elsewhere Institute"


@pytest.fixture
def pdf(tmp_path: Path) -> tuple[str, tuple[float, float, float, float], tuple[float, float, float, float]]:
    """A one-page PDF with two lines of text far apart; their rectangles in PDF points."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((120, 300), BOXED, fontsize=10)
    page.insert_text((380, 700), OTHER, fontsize=10)
    boxed, other = page.search_for(BOXED)[0], page.search_for(OTHER)[0]
    path = tmp_path / "p.pdf"
    doc.save(path)
    doc.close()
    return str(path), tuple(boxed), tuple(other)


def _pixels(jpeg: bytes) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    """(red pixels, dark pixels) of a rendered view."""
    image = Image.open(io.BytesIO(jpeg)).convert("RGB")
    red, dark = set(), set()
    for y in range(image.height):
        for x in range(image.width):
            r, g, b = image.getpixel((x, y))
            if r > 150 and g < 90 and b < 90:
                red.add((x, y))
            elif r < 110 and g < 110 and b < 110:
                dark.add((x, y))
    return red, dark


def _inside(points: set[tuple[int, int]], frame: set[tuple[int, int]]) -> float:
    """Share of points strictly inside the bounding box of frame."""
    x0, x1 = min(x for x, _ in frame), max(x for x, _ in frame)
    y0, y1 = min(y for _, y in frame), max(y for _, y in frame)
    return sum(x0 < x < x1 and y0 < y < y1 for x, y in points) / max(len(points), 1)


@pytest.mark.parametrize("view", ["evidence", "whole", "crop"])
def test_flagged_box_surrounds_its_text(pdf, view: str) -> None:
    path, boxed, other = pdf
    boxes = (("affiliation", "aff 0", 0, boxed, True),)
    if view == "crop":
        clip = (boxed[0] - 150, boxed[1] - 20, boxed[2] + 150, boxed[3] + 20)
        jpeg = render._draw(path, boxes, 1.0, 0, clip)
    else:
        jpeg = render._draw(path, boxes, 1.4, 0, view)
    red, dark = _pixels(jpeg)
    assert red, "no box drawn"
    words = {p for p in dark if _inside({p}, red)}
    assert len(words) > 30  # the boxed line's letters are inside the red frame
    if view == "whole":  # ... and the other line, on the same page, is not
        assert _inside(dark, red) < 0.7


def test_boxes_of_another_page_are_not_drawn(pdf) -> None:
    path, boxed, _other = pdf
    red, _dark = _pixels(render._draw(path, (("affiliation", "aff 0", 1, boxed, True),), 1.4, 0, "whole"))
    assert not red
