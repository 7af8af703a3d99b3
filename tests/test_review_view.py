"""What the record page shows, computed without Streamlit (extractor.review.view):
inert text, evidence boxes from offsets, flagged affiliations, backends side by side."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractor.review import view
from extractor.schemas import ExtractionMeta, Method, PaperExtraction, ReviewReason
from extractor.store import Store
from tests.review_fixtures import build


@pytest.mark.parametrize("text,expected", [
    ("plain", "plain"),
    ("<script>alert(1)</script>", "<script>alert(1)</script>"),  # unchanged: shown as text, not parsed
    ("a\u202eb", "a⟨RLO⟩b"),
    ("zero\u200bwidth\ufeff", "zero⟨ZWSP⟩width⟨BOM⟩"),
    ("line\nbreak\ttab", "line break tab"),
    ("bell\x07", "bell⟨U+0007⟩"),
    (None, ""),
], ids=["plain", "html", "rtl-override", "zero-width", "whitespace", "control", "none"])
def test_inert(text: str | None, expected: str) -> None:
    assert view.inert(text) == expected


def test_inert_cuts_long_strings() -> None:
    out = view.inert("x" * 5000, limit=100)
    assert out.startswith("x" * 100) and out.endswith("(+4900 characters)")


def test_country_options() -> None:
    codes = view.country_codes()
    assert "DE" in codes and "XK" in codes and list(codes) == sorted(codes)
    assert view.country_label("DE") == "DE · Germany"
    assert view.country_label("TW") == "TW · Taiwan"
    assert view.country_label(None) == "— no country —"


def test_country_code_takes_iso_alpha2_only() -> None:
    """What a reviewer types in a country field: any case, spaces trimmed; names, "UK"
    (not ISO 3166: the code is GB), three letters and blanks are refused."""
    assert [view.country_code(t) for t in ("de", " GB ", "xk", "Za")] == ["DE", "GB", "XK", "ZA"]
    assert [view.country_code(t) for t in ("uk", "germany", "deu", "", None, "z")] == [None] * 6


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("view")
    ids = build(root / "v.db", root / "pdfs")
    store = Store.open(root / "v.db")
    yield store, ids
    store.close()


def test_evidence_boxes_follow_offsets(db) -> None:
    store, ids = db
    rec = store.get_record(ids["munich"])
    front = store.get_document(rec.sha256).front
    boxes = view.evidence_boxes(rec, front, flagged_ids=[0])
    kinds = [(b.kind, b.label, b.flagged) for b in boxes]
    assert kinds == [("title", "title", False), ("author", "A1", False), ("author", "A2", False),
                     ("affiliation", "aff 0", True)]
    a1, a2 = boxes[1].rect, boxes[2].rect
    assert a1[2] <= a2[0] + 1  # "Anna Schmidt" and "Li Wei" share a line but get their own boxes
    assert a1[0] == pytest.approx(72, abs=1)


def test_flagged_affiliations_and_disagreement(db) -> None:
    store, ids = db
    munich = store.get_record(ids["munich"])
    assert view.affiliation_flags(munich) == {0: ["company headquarters assumed"]}
    tsinghua = store.get_record(ids["tsinghua"])
    pairs = [(m, e) for m, e, _ in store.extractions_for(tsinghua.sha256)]
    assert view.flagged_affiliation_ids(tsinghua, pairs) == [0]
    assert view.affiliation_flags(tsinghua, pairs)[0] == ["other backend disagrees"]
    rows = {r["field"]: r for r in view.backend_comparison(tsinghua, pairs)}
    assert rows["countries"]["differs"] and rows["countries"]["llm"] == "US"
    assert not rows["title"]["differs"]


def test_flag_order_puts_missing_country_first() -> None:
    from extractor.schemas import Affiliation, PaperRecord, Provenance

    rec = PaperRecord(
        paper_id="p", sha256="s", source_file="f", provenance=Provenance(backend="rules"),
        affiliations=[
            Affiliation(id=0, raw="Lab A", institution=None, country="US", country_method=Method.STATED),
            Affiliation(id=1, raw="Acme", institution="Acme", country="US", country_method=Method.HQ_DEFAULT),
            Affiliation(id=2, raw="Somewhere", institution="X", country=None),
            Affiliation(id=3, raw="Uni", institution="Uni", country="GB", country_method=Method.EMAIL_DOMAIN),
        ],
        review_reasons=[ReviewReason(code="backends_disagree", message="m")],
    )
    other = PaperExtraction(affiliations=[Affiliation(id=0, raw="Lab A", country="CN")])
    order = view.flagged_affiliation_ids(rec, [(ExtractionMeta(backend="llm"), other)])
    assert order[0] == 2  # no country at all
    assert set(order) == {0, 1, 2, 3}


def test_review_ui_never_labels_widgets_with_paper_text() -> None:
    """Widget labels render Markdown: they must be fixed strings in the source."""
    import re

    root = Path(__file__).resolve().parents[1] / "review_ui"
    for path in root.rglob("*.py"):
        for m in re.finditer(r"\.(text_input|selectbox|multiselect|radio|button|toggle)\(\s*f\"", path.read_text()):
            line = path.read_text()[: m.start()].count("\n") + 1
            # an f-string label is only acceptable with numbers we make, never record text
            assert "Second reviews" in path.read_text().splitlines()[line - 1], f"{path}:{line}"


# --------------------------------------------------------------------------- crops and pages


def two_page_paper(path: Path) -> Path:
    """Authors at the foot of page 1 and their affiliation printed on page 2."""
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((72, 90), "Footnotes All the Way Down", fontsize=17, fontname="hebo")
    page.insert_text((72, 130), "Abstract. " + "We study things. " * 5, fontsize=10)
    page.insert_text((72, 720), "Ines Ortega, Tom Weber", fontsize=11)
    page.insert_text((72, 760), "1 Universidad de Chile, Santiago, Chile", fontsize=7)
    doc.new_page(width=612, height=792).insert_text((72, 80), "2 Kyoto University, Kyoto, Japan", fontsize=10)
    doc.save(path)
    doc.close()
    return path


def test_crop_per_flagged_affiliation_is_around_its_text(db) -> None:
    store, ids = db
    rec = store.get_record(ids["munich"])
    front = store.get_document(rec.sha256).front
    (crop,) = view.flagged_crops(rec, front, [0])
    (box,) = [b for b in view.evidence_boxes(rec, front, [0]) if b.kind == "affiliation"]
    x0, y0, x1, y1 = crop.rect
    assert crop.aff_id == 0 and crop.page == 0
    assert x0 <= box.rect[0] and y0 <= box.rect[1] and x1 >= box.rect[2] and y1 >= box.rect[3]
    assert y1 - y0 < 60 and x1 - x0 >= view.CROP_MIN_WIDTH  # a strip around one line, not the page
    assert view.flagged_crops(rec, front, []) == []


@pytest.mark.parametrize("rects,expected", [
    ([(10, 100, 40, 110)], (0.0, 86.0, 300.0, 124.0)),  # short, near the left edge: widened rightwards
    ([(580, 770, 600, 790)], (312.0, 756.0, 612.0, 792.0)),  # bottom-right corner: kept inside the page
    ([(50, 100, 500, 110), (50, 112, 200, 122)], (36.0, 86.0, 514.0, 136.0)),  # two lines: their union
])
def test_crop_around(rects, expected) -> None:
    assert view.crop_around(rects, 612, 792) == pytest.approx(expected)


def test_page_two_is_shown_when_the_author_block_continues_there(tmp_path: Path) -> None:
    from extractor.ingest.files import read_document
    from extractor.schemas import Affiliation, Alignment, Author, Evidence, PaperRecord, Provenance

    doc = read_document(two_page_paper(tmp_path / "two.pdf"))
    front = doc.front
    assert doc.page_count == 2 and front is not None

    def rec(affs, authors=None):  # type: ignore[no-untyped-def]
        return PaperRecord(paper_id="p", sha256=doc.sha256, source_file="two.pdf", provenance=Provenance(backend="rules"),
                           authors=authors or [Author(name="Ines Ortega", affiliation_ids=[1])], affiliations=affs)

    start = front.text.find("Universidad de Chile")
    chile = Affiliation(id=1, raw="Universidad de Chile", country="CL", evidence=Evidence(
        start=start, end=start + 20, alignment=Alignment.EXACT))
    kyoto = Affiliation(id=2, raw="Kyoto University", country="JP", evidence=Evidence(alignment=Alignment.NOT_FOUND))
    at = front.text.find("Abstract")
    high = Affiliation(id=1, raw="Abstract", country="CL", evidence=Evidence(
        start=at, end=at + 8, alignment=Alignment.EXACT))  # printed near the top of page 1
    top = front.model_copy(update={"author_lines": [], "affiliation_lines": []})
    assert view.pages_to_show(rec([high]), top, doc.page_count) == [0]
    # the affiliation is printed at the foot of page 1: the block may go on over the page
    assert view.pages_to_show(rec([chile]), top, doc.page_count) == [0, 1]
    # layout says the author block reaches the foot of page 1
    assert view.pages_to_show(rec([high]), front.model_copy(update={"author_lines": [2]}), doc.page_count) == [0, 1]
    # an affiliation not printed on page 1, or an author linked to none
    assert view.pages_to_show(rec([high, kyoto]), top, doc.page_count) == [0, 1]
    assert view.pages_to_show(rec([high], [Author(name="Tom Weber")]), top, doc.page_count) == [0, 1]
    # evidence located on page 2
    on2 = kyoto.model_copy(update={"evidence": Evidence(source="full", page=1, bbox=(72, 70, 250, 84),
                                                        alignment=Alignment.EXACT)})
    assert view.pages_to_show(rec([high, on2]), top, doc.page_count) == [0, 1]
    assert view.flagged_crops(rec([high, on2]), top, [2])[0].page == 1
    # a one-page document never asks for page 2
    assert view.pages_to_show(rec([chile, kyoto]), top, 1) == [0]


def test_crops_and_pages_render(tmp_path: Path) -> None:
    import pymupdf

    from extractor.ingest.files import read_document
    from review_ui import render

    doc = read_document(two_page_paper(tmp_path / "two.pdf"))
    crop = view.EvidenceCrop(1, 0, (60.0, 740.0, 360.0, 770.0))
    img = render.crop_image(doc, [], crop)
    assert img.problem is None and img.png
    pix = pymupdf.Pixmap(img.png)
    assert pix.width >= 900 and pix.height < 150  # the footnote line, enlarged about three times
    page2 = render.page_image(doc, [], page=1)
    whole = render.page_image(doc, [], zoom=2.0, whole=True)
    assert pymupdf.Pixmap(page2.png).height > pymupdf.Pixmap(page2.png).width  # a whole page, not a strip
    assert pymupdf.Pixmap(whole.png).width == pytest.approx(612 * 2, abs=2)
    assert render.page_image(doc, [], page=2).problem == "The PDF has no page 3."


def test_prefetch_waits_while_a_record_page_runs() -> None:
    import time

    from review_ui import render

    with render.page_run():
        assert not render._wait_idle(time.monotonic() + 0.1)  # a run in progress: never idle
    assert not render._wait_idle(time.monotonic())  # just ended: not idle yet
    t0 = time.monotonic()
    assert render._wait_idle(t0 + 5)
    assert time.monotonic() - t0 < render.IDLE_S + 0.5
