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
