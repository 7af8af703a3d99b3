"""Fixture databases for the review tests (library, AppTest, browser, benchmark).

Hand-made :class:`PaperRecord` objects on real one-page PDFs made by
``tests/pdf_factory.simple_paper`` and ingested with ``read_document``, so the record page
has a page to render and evidence with real offsets and bboxes. Nothing is read from
outside the repository.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from extractor.ingest.files import read_document
from extractor.schemas import (
    Affiliation,
    Alignment,
    Author,
    Document,
    Evidence,
    ExtractionMeta,
    Method,
    ModelMention,
    PaperExtraction,
    PaperRecord,
    Provenance,
    RecordStatus,
    ReviewReason,
    Role,
    Sector,
)
from extractor.store import Store
from tests.pdf_factory import simple_paper

HOSTILE_TITLE = ('<script>window.__pwned = 1</script><img src=x onerror="window.__pwned=2"> '
                 '![x](http://{host}/tracker.png) **bold** [link](javascript:alert(1)) '
                 '\u202egnp.exe\u202c zero\u200bwidth ' + "L" * 900)

PAPERS = [
    # key, title, authors, affiliation as printed, machine country, method, priority, reasons
    ("munich", "Sparse Attention for Long Documents", "Anna Schmidt, Li Wei",
     "Technical University of Munich, Munich, Germany", "FR", Method.HQ_DEFAULT, 0.9,
     [("country_inferred", "country inferred (hq_default), not stated, for: Technical University of Munich")]),
    ("cambridge", "A Study of Things", "Ada Lovelace, Alan Turing",
     "University of Cambridge, Cambridge, United Kingdom", "GB", Method.STATED, 0.8,
     [("institution_unmatched", "institution not in the gazetteer: University of Cambridge")]),
    ("tsinghua", "Graph Networks at Scale", "Wang Fang, John Smith",
     "Tsinghua University, Beijing, China", "CN", Method.STATED, 0.7,
     [("backends_disagree", "rules says CN; llm says CN, US")]),
    ("eth", "Robust Optimisation Revisited", "Marta Keller, Paul Roth",
     "ETH Zurich, Zurich, Switzerland", "CH", Method.STATED, 0.6,
     [("author_count_mismatch", "3 names in the author block, 2 extracted")]),
    ("toronto", "Learning to Rank Again", "Sam Brown, Kim Lee",
     "University of Toronto, Toronto, Canada", "CA", Method.STATED, 0.5,
     [("reasked", "the LLM answer needed 1 validation re-ask(s)")]),
]


def _ev(doc: Document, text: str) -> Evidence:
    """Evidence with the exact offsets of ``text`` in the page-1 text (and the line bbox)."""
    front = doc.front
    assert front is not None
    start = front.text.find(text)
    if start < 0:
        return Evidence(alignment=Alignment.NOT_FOUND, quote=text)
    end = start + len(text)
    line = next((ln for ln in front.lines if ln.start <= start < ln.end), None)
    return Evidence(source="front", page=0, start=start, end=end, bbox=line.bbox if line else None,
                    alignment=Alignment.EXACT, score=100.0)


def _record(doc: Document, key: str, title: str, authors: str, affiliation: str, country: str, method: Method,
            priority: float, reasons: list[tuple[str, str]], *, status: RecordStatus = RecordStatus.QUEUED,
            audit: bool = False, shown_title: str | None = None) -> PaperRecord:
    names = [n.strip() for n in authors.split(",")]
    institution = affiliation.split(",")[0]
    return PaperRecord(
        paper_id=doc.paper_id, sha256=doc.sha256, source_file=doc.source_file, venue="TestConf", year=2024,
        title=shown_title or title, title_evidence=_ev(doc, title),
        authors=[Author(name=n, affiliation_ids=[0], evidence=_ev(doc, n)) for n in names],
        affiliations=[Affiliation(id=0, raw=affiliation, institution=institution, country=country,
                                  sector=Sector.ACADEMIA, institution_method=Method.GAZETTEER_EXACT,
                                  country_method=method, evidence=_ev(doc, affiliation))],
        model_mentions=[ModelMention(name="BERT", family="BERT", developer="Google", developer_country="US",
                                     role=Role.FINE_TUNED)],
        status=status, confidence=round(1 - priority / 2, 3), priority=priority, audit=audit,
        review_reasons=[ReviewReason(code=c, message=m) for c, m in reasons],
        provenance=Provenance(backend="rules", backends=["rules"]),
    )


def build(db_path: Path, pdf_dir: Path, *, hostile_host: str | None = None,
          machine_extra: int = 0) -> dict[str, str]:
    """Create a database with the queued PAPERS (priority order as listed), optionally a
    hostile-title paper first in the queue, and ``machine_extra`` confident records.

    Returns ``{key: paper_id}``.
    """
    pdf_dir.mkdir(parents=True, exist_ok=True)
    ids: dict[str, str] = {}
    with Store.open(db_path) as store:
        rows = list(PAPERS)
        if hostile_host is not None:
            rows.insert(0, ("hostile", "Hostile Title Paper", "Eve Mallory, Bob Builder",
                            "Evil Corp Research\u200b, Springfield, United States", "US", Method.STATED, 0.95,
                            [("ungrounded", "not found in the PDF text: <b>bold</b> ![t](http://"
                              + hostile_host + "/reason.png)")]))
        for i in range(machine_extra):
            rows.append((f"machine{i}", f"Confident Paper {i}", "Carol King, Dan Ray",
                         "Stanford University, Stanford, United States", "US", Method.STATED, 0.0, []))
        for key, title, authors, aff, country, method, priority, reasons in rows:
            pdf = simple_paper(pdf_dir / f"{key}.pdf", title=title, authors=authors, affiliation=aff)
            doc = read_document(pdf)
            assert doc.ok, doc.error
            store.add_document(doc)
            shown = HOSTILE_TITLE.format(host=hostile_host) if key == "hostile" else None
            status = RecordStatus.MACHINE if key.startswith("machine") else RecordStatus.QUEUED
            record = _record(doc, key, title, authors, aff, country, method, priority, reasons, status=status,
                             shown_title=shown)
            store.put_machine_record(record, input_key=f"fixture-{key}")
            ids[key] = record.paper_id
            if key == "tsinghua":  # a second backend that disagrees on the country set
                other = PaperExtraction(title=title, authors=record.authors,
                                        affiliations=[record.affiliations[0].model_copy(update={"country": "US"})])
                store.save_extraction(doc.sha256, ExtractionMeta(backend="llm", model="fake"), "fixture-llm", other)
                store.save_extraction(doc.sha256, ExtractionMeta(backend="rules"), "fixture-rules",
                                      PaperExtraction.model_validate(record.content().model_dump()))
    return ids


def copy_db(template: Path, dest: Path) -> Path:
    """A private copy of a template database (the PDFs stay where the template put them).

    SQLite's online backup copies what is committed, whether still in the WAL or not.
    """
    src, dst = sqlite3.connect(template), sqlite3.connect(dest)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return dest
