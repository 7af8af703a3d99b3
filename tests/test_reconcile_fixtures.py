"""Hand-built documents and extractions for the reconcile, confidence and queue tests.

No PDFs: a :class:`Document` with page-1 text is enough for grounding, and extractions
are written the way backends write them. The resolver and its gazetteers are the real
ones shipped in data/ (part of the repository, so the tests stay self-contained).
"""

from __future__ import annotations

import hashlib

from extractor.schemas import (
    Affiliation,
    Author,
    Document,
    ExtractionMeta,
    FrontMatter,
    Method,
    ModelMention,
    PaperExtraction,
    paper_id_for,
)
from extractor.store import Store

STANFORD = "Stanford University, Stanford, CA, USA"
TSINGHUA = "Tsinghua University, Beijing, China"
PEKING = "Peking University, Beijing, China"
TOKYO = "University of Tokyo, Japan"
OXFORD = "University of Oxford"
MSR = "Microsoft Research"
ZORBLAX = "Zorblax Institute of Nothing, Germany"
ACME = "Acme Widgets Lab, Springfield"

LLM = ExtractionMeta(backend="llm", model="fake-model", prompt_version="1")
RULES = ExtractionMeta(backend="rules", model="rules-v1")

FRONT_TEXT = "\n".join([
    "A Study of Things", "Alice Smith, Bob Jones, Carol King", STANFORD, TSINGHUA, PEKING, TOKYO, OXFORD, MSR,
    ZORBLAX, ACME, "alice@stanford.edu bob@tsinghua.edu.cn", "Abstract", "We study things.",
])


def sha_of(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def document(name: str = "paper.pdf", text: str = FRONT_TEXT, venue: str | None = "NeurIPS", year: int | None = 2024) -> Document:
    return Document(sha256=sha_of(name), source_file=name, venue=venue, year=year,
                    front=FrontMatter(text=text, title="A Study of Things"), full_text=text)


def aff(i: int, raw: str, country: str | None, method: Method = Method.STATED, institution: str | None = None) -> Affiliation:
    return Affiliation(id=i, raw=raw, institution=institution or raw.split(",")[0], country=country, country_method=method)


def author(name: str, ids: list[int], email: str | None = None) -> Author:
    return Author(name=name, affiliation_ids=ids, email=email)


def extraction(authors: list[Author] | None = None, affs: list[Affiliation] | None = None, **kw) -> PaperExtraction:
    """Default: Alice at Stanford (US), Bob at Tsinghua (CN)."""
    if authors is None:
        authors = [author("Alice Smith", [0]), author("Bob Jones", [1])]
    if affs is None:
        affs = [aff(0, STANFORD, "US"), aff(1, TSINGHUA, "CN")]
    return PaperExtraction(title="A Study of Things", authors=authors, affiliations=affs, **kw)


def families(*names: str) -> list[ModelMention]:
    return [ModelMention(name=n, family=n) for n in names]


def add_paper(store: Store, name: str, extractions: list[tuple[ExtractionMeta, PaperExtraction]],
              venue: str | None = "NeurIPS") -> str:
    """Ingest a hand-built document and store its extractions; returns the paper id."""
    doc = document(name, venue=venue)
    store.add_document(doc)
    for meta, ext in extractions:
        store.save_extraction(doc.sha256, meta, f"{meta.backend}|test", ext)
    return paper_id_for(doc.sha256)
