"""Page-1 layout analysis: lines, superscript markers and zones, on pages drawn with pymupdf.

Self-contained: every page is built here (or taken from data/samples).
"""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from extractor.ingest.layout import canonical_venue, detect_venue_year, expand_emails, front_matter_from_page_dict
from extractor.schemas import FrontMatter

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"


def front_of(build) -> FrontMatter:  # type: ignore[no-untyped-def]
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    build(page)
    out = front_matter_from_page_dict(page.get_text("dict", flags=pymupdf.TEXTFLAGS_DICT & ~pymupdf.TEXT_PRESERVE_IMAGES))
    doc.close()
    return out


def body(page: pymupdf.Page, y0: float = 330, y1: float = 720, x: float = 72) -> None:
    page.insert_text((260, y0 - 40), "Abstract", fontsize=12, fontname="tibo")
    page.insert_text((x, y0 - 22), "1 Introduction", fontsize=12, fontname="tibo")
    y = y0
    while y < y1:
        page.insert_text((x, y), "Body text of the paper goes here and fills the page with words. " * 2, fontsize=10)
        y += 12


def line_with(front: FrontMatter, text: str) -> int:
    return next(i for i, ln in enumerate(front.lines) if text in ln.text)


def test_zones_title_authors_abstract_footnotes() -> None:
    def build(page: pymupdf.Page) -> None:
        page.insert_text((100, 80), "A Title Set Large", fontsize=18, fontname="tibo")
        page.insert_text((100, 120), "Alice Smith, Bob Jones", fontsize=11)
        page.insert_text((100, 134), "Stanford University", fontsize=10)
        page.insert_text((260, 200), "Abstract", fontsize=12, fontname="tibo")
        page.insert_text((90, 216), "We study things that matter in the abstract.", fontsize=10)
        page.insert_text((72, 250), "1 Introduction", fontsize=12, fontname="tibo")
        for k in range(25):
            page.insert_text((72, 270 + 14 * k), "Body text of the paper goes here and fills the page. " * 2, fontsize=10)
        page.insert_text((72, 700), "Work done at home. Correspondence to: alice@cs.stanford.edu", fontsize=8)

    f = front_of(build)
    assert f.title == "A Title Set Large"
    assert [f.lines[i].text for i in f.author_lines] == ["Alice Smith, Bob Jones", "Stanford University"]
    assert f.abstract and f.abstract.startswith("We study things")
    assert line_with(f, "Correspondence") in f.footnote_lines
    assert f.emails == ["alice@cs.stanford.edu"]


def test_superscripts_by_flag_or_by_size_and_rise() -> None:
    def build(page: pymupdf.Page) -> None:
        page.insert_text((100, 80), "A Title Set Large", fontsize=18, fontname="tibo")
        page.insert_text((100, 120), "Alice Smith", fontsize=11)
        page.insert_text((100 + pymupdf.get_text_length("Alice Smith", fontsize=11), 116), "1,2", fontsize=7)
        page.insert_text((100, 140), "1", fontsize=7)  # a leading label on the baseline
        page.insert_text((105, 140), "Tsinghua University", fontsize=11)
        body(page)

    f = front_of(build)
    sups = [s.text for s in f.spans if s.sup]
    assert sups == ["1,2", "1"]
    assert "Alice Smith^{1,2}" in f.marked_text()


def test_ordinal_suffix_is_not_a_marker() -> None:
    def build(page: pymupdf.Page) -> None:
        page.insert_text((100, 80), "A Title Set Large", fontsize=18, fontname="tibo")
        body(page)
        page.insert_text((72, 740), "Proceedings of the 35", fontsize=9)
        page.insert_text((158, 737), "th", fontsize=6)
        page.insert_text((165, 740), " International Conference on Machine Learning", fontsize=9)

    f = front_of(build)
    assert not any(s.sup for s in f.spans if s.text.strip() == "th")


def test_marker_only_line_is_a_marker() -> None:
    def build(page: pymupdf.Page) -> None:
        page.insert_text((100, 80), "A Title Set Large", fontsize=18, fontname="tibo")
        page.insert_text((100, 120), "Alice Smith", fontsize=11)
        page.insert_text((100, 136), "1", fontsize=7)
        page.insert_text((100, 148), "Tsinghua University", fontsize=10)
        body(page)

    f = front_of(build)
    i = next(i for i, ln in enumerate(f.lines) if ln.text.strip() == "1")
    assert all(s.sup for s in f.spans if s.line == i)


def test_wide_gaps_become_two_spaces_and_words_stay_single() -> None:
    def build(page: pymupdf.Page) -> None:
        page.insert_text((100, 80), "A Title Set Large", fontsize=18, fontname="tibo")
        page.insert_text((100, 120), "Paulo Brandt", fontsize=12)
        page.insert_text((185, 120), "Hao-Ran Tsai", fontsize=12)  # about 1.3 em after the first name
        body(page)

    f = front_of(build)
    assert "Paulo Brandt  Hao-Ran Tsai" in f.text


def test_title_needs_a_word_not_a_formula() -> None:
    def build(page: pymupdf.Page) -> None:
        page.insert_text((100, 80), "Physics of Prediction", fontsize=15, fontname="tibo")
        page.insert_text((100, 110), "Ann Lee", fontsize=10)
        page.insert_text((400, 200), "N D H L", fontsize=22)  # a large formula in a figure
        body(page)

    f = front_of(build)
    assert f.title == "Physics of Prediction"
    assert any(f.lines[i].text == "Ann Lee" for i in f.author_lines)


def test_other_column_paragraph_is_not_in_the_author_block() -> None:
    """ACL: the right column's body starts level with the left column's "Abstract"."""
    def build(page: pymupdf.Page) -> None:
        page.insert_text((150, 70), "A Title Set Large", fontsize=16, fontname="tibo")
        page.insert_text((150, 100), "Alice Smith", fontsize=11, fontname="tibo")
        page.insert_text((150, 114), "University of Toronto", fontsize=10)
        page.insert_text((120, 200), "Abstract", fontsize=12, fontname="tibo")
        y = 198.0
        for _ in range(40):
            page.insert_text((320, y), "right column body text flows on", fontsize=10)
            y += 12
        for k in range(30):
            page.insert_text((72, 216 + 12 * k), "left abstract text here ok", fontsize=10)

    f = front_of(build)
    texts = [f.lines[i].text for i in f.author_lines]
    assert texts == ["Alice Smith", "University of Toronto"]


@pytest.mark.parametrize("text,expected", [
    ("{alice,bob}@cs.stanford.edu", ["alice@cs.stanford.edu", "bob@cs.stanford.edu"]),
    ("{wenfeng.liang}@deepseek.com", ["wenfeng.liang@deepseek.com"]),
    ("(a, b)@x.org and c@y.org", ["a@x.org", "b@x.org", "c@y.org"]),
    ("Correspondence to: Ming Hu <ming hu@ieee.org>.", ["ming_hu@ieee.org"]),
    ("{alice,\nbob}@mit.edu", ["alice@mit.edu", "bob@mit.edu"]),
])
def test_expand_emails(text: str, expected: list[str]) -> None:
    assert expand_emails(text) == expected


def test_emails_ignore_superscript_markers() -> None:
    def build(page: pymupdf.Page) -> None:
        page.insert_text((100, 80), "A Title Set Large", fontsize=18, fontname="tibo")
        page.insert_text((100, 120), "Jiawen Tao", fontsize=11)
        page.insert_text((100, 134), "1", fontsize=7)
        page.insert_text((104, 138), "jiawentao@yeah.net", fontsize=11)
        body(page)

    assert front_of(build).emails == ["jiawentao@yeah.net"]


def test_venue_helpers() -> None:
    assert detect_venue_year("32nd Conference on Neural Information Processing Systems (NeurIPS 2018), Montréal") == ("NeurIPS", 2018)
    assert canonical_venue("nips") == "NeurIPS"


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.glob("*.pdf")))
def test_samples_have_title_and_author_block(name: str) -> None:
    from extractor.ingest.files import read_document

    doc = read_document(SAMPLES / name)
    assert doc.front is not None and doc.front.title
    assert doc.front.author_lines
    assert not set(doc.front.author_lines) & set(doc.front.title_lines)


def test_full_size_raised_marker_is_a_marker() -> None:
    def build(page: pymupdf.Page) -> None:
        page.insert_text((100, 80), "A Title Set Large", fontsize=18, fontname="tibo")
        page.insert_text((100, 120), "Alice Smith", fontsize=11)
        page.insert_text((100 + pymupdf.get_text_length("Alice Smith", fontsize=11), 115), "1", fontsize=11)
        body(page)

    f = front_of(build)
    assert [s.text for s in f.spans if s.sup] == ["1"]


def test_venue_line_prefilter_agrees_with_the_regex() -> None:
    """``is_venue_line`` (cheap word scan, then the regex) == ``bool(_VENUE_RE.search)``,
    including the non-ASCII letters that IGNORECASE folds onto ASCII ones."""
    import random

    from extractor.ingest.layout import _VENUE_RE, _VENUE_WORDS, is_venue_line

    rng = random.Random(8)
    pieces = [*_VENUE_WORDS, "ACL 2020", "acl'19", "EMNLP  2021", "www 2019", "kdd", "NeurIPS", "arXiv:2101",
              "arxiv:x", "Copyright", "©", "(c)", "Proceedings  of", "under\u00a0review", "conference", "on",
              "Con\u017ference on", "\u0130CML", "\u0131clr", "\u212aDD'20", "S\u0130G\u0130R 2020", "pre-print",
              "Université", "naacl", "nAaCl-2019", "2019", "'19", "x", " ", "\t", "-", "_", "1", "éé", "ſ"]
    for _ in range(4000):
        parts = [rng.choice(pieces) for _ in range(rng.randint(1, 5))]
        text = rng.choice(["", " ", "-", "a"]).join(parts)
        if rng.random() < 0.5:
            text = "".join(c.upper() if rng.random() < 0.5 else c for c in text)
        assert is_venue_line(text) == bool(_VENUE_RE.search(text)), repr(text)
