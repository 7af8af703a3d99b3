"""Ingest: good files keep page-1 layout; every kind of bad file gets a clear error row."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractor.ingest import IngestLimits, ingest_paths, read_document
from extractor.store import Store
from tests import pdf_factory as pf


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return pf.simple_paper(tmp_path / "good.pdf")


def test_good_pdf_keeps_layout_and_zones(good: Path) -> None:
    doc = read_document(good)
    assert doc.error is None
    assert doc.page_count == 1
    front = doc.front
    assert front is not None
    assert front.title == "A Study of Things"
    author_text = [front.lines[i].text for i in front.author_lines]
    assert "Ada Lovelace, Alan Turing" in author_text
    assert any("University of Cambridge" in t for t in author_text)
    assert front.emails == ["ada@cam.ac.uk"]
    assert front.abstract and "We study things" in front.abstract
    # every span indexes the page text exactly
    for span in front.spans:
        assert front.text[span.start:span.end] == span.text
    assert "fine-tune BERT" in doc.full_text


BAD = {
    "encrypted": (pf.encrypted, "encrypted", "password"),
    "no-text-layer": (pf.scanned, "no_text", "needs OCR"),
    "zero-pages": (pf.zero_pages, "empty", "zero pages"),
    "garbage": (pf.garbage_pdf, "corrupt", "corrupt"),
    "not-a-pdf": (pf.not_pdf, "not_pdf", "not a PDF"),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_inputs_get_a_clear_error(tmp_path: Path, case: str) -> None:
    make, kind, words = BAD[case]
    path = make(tmp_path / f"{case}.pdf")
    doc = read_document(path)
    assert doc.error_kind == kind, doc.error
    assert words.lower() in doc.error.lower()
    assert len(doc.sha256) == 64


def test_truncated_pdf(tmp_path: Path, good: Path) -> None:
    doc = read_document(pf.truncated(tmp_path / "cut.pdf", good))
    # MuPDF may repair a truncated file; either it is read or it fails with a clear error
    assert doc.error is None or doc.error_kind in {"corrupt", "no_text", "empty"}


def test_too_large_and_too_many_pages(tmp_path: Path, good: Path) -> None:
    doc = read_document(good, IngestLimits(max_file_mb=0.0001))
    assert doc.error_kind == "too_large" and "--max-file-mb" in doc.error
    doc = read_document(good, IngestLimits(max_pages=0 + 1))
    assert doc.error is None
    import pymupdf

    multi = tmp_path / "multi.pdf"
    d = pymupdf.open()
    for _ in range(3):
        d.new_page().insert_text((72, 72), "Some page text that is long enough to be a text layer.")
    d.save(multi)
    doc = read_document(multi, IngestLimits(max_pages=2))
    assert doc.error_kind == "too_many_pages" and "3 pages" in doc.error


def test_unreadable_path(tmp_path: Path) -> None:
    doc = read_document(tmp_path / "missing.pdf")
    assert doc.error_kind == "unreadable"
    assert "missing.pdf" in doc.error


@pytest.mark.parametrize("workers", [1, 2], ids=["in-process", "process-pool"])
def test_batch_goes_on_and_dedupes(tmp_path: Path, good: Path, workers: int) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    pf.simple_paper(folder / "a.pdf", title="Paper A")
    pf.simple_paper(folder / "b.pdf", title="Paper B")
    (folder / "copy-of-a.pdf").write_bytes((folder / "a.pdf").read_bytes())
    pf.encrypted(folder / "locked.pdf")
    pf.not_pdf(folder / "notes.pdf")
    (folder / "readme.txt").write_text("ignored: not a .pdf in a folder")
    with Store.open(tmp_path / "x.db") as store:
        s = ingest_paths(store, [folder], workers=workers)
        assert s.seen == 5
        assert s.added == 4  # a, b, locked, notes; the copy has a's hash
        assert s.failed == 2
        assert s.errors == {"encrypted": 1, "not_pdf": 1}
        again = ingest_paths(store, [folder], workers=workers)
        assert again.added == 0 and again.skipped_known == 5
        rows = store.query("SELECT source_file, error_kind FROM documents ORDER BY source_file")
        assert [r["error_kind"] for r in rows if r["source_file"] in ("locked.pdf", "notes.pdf")] == ["encrypted", "not_pdf"]
        assert len(rows) == 4


def test_venue_and_year_from_flags_and_venue_line(tmp_path: Path) -> None:
    path = pf.simple_paper(tmp_path / "v.pdf", extra="")
    with Store.open(tmp_path / "v.db") as store:
        ingest_paths(store, [path], venue="nips", year=2018)
        doc = next(store.iter_documents())
        assert (doc.venue, doc.year) == ("NeurIPS", 2018)
