"""EvaluationStore: the document index gold is matched by, latest extractions per backend, signal scores."""

from __future__ import annotations

from extractor.schemas import Document, ExtractionMeta, PaperExtraction
from extractor.store import Store


def doc(name: str, *, error: str | None = None, at: str) -> Document:
    return Document(sha256=name[0] * 64, source_file=f"{name}.pdf", error=error, ingested_at=at)


def test_document_index_lists_documents_in_ingest_order(store: Store) -> None:
    store.add_document(doc("b", at="2024-01-02T00:00:00"))
    store.add_document(doc("a", at="2024-01-03T00:00:00"))
    store.add_document(doc("c", error="corrupt PDF", at="2024-01-01T00:00:00"))
    index = store.document_index()
    assert [d["source_file"] for d in index] == ["c.pdf", "b.pdf", "a.pdf"]
    assert index[0] == {"sha256": "c" * 64, "source_file": "c.pdf", "title": None, "error": "corrupt PDF"}
    assert [d["source_file"] for d in store.document_index(ok_only=True)] == ["b.pdf", "a.pdf"]


def test_latest_extractions_are_the_newest_successful_ones_of_the_backend(store: Store) -> None:
    rules, llm = ExtractionMeta(backend="rules"), ExtractionMeta(backend="llm")
    store.save_extraction("a" * 64, rules, "rules|v1", PaperExtraction(title="old"))
    store.save_extraction("a" * 64, rules, "rules|v2", PaperExtraction(title="new"))
    store.save_extraction("a" * 64, rules, "rules|v3", None, error="crashed")
    store.save_extraction("b" * 64, rules, "rules|v1", PaperExtraction(title="b"))
    store.save_extraction("a" * 64, llm, "llm|v1", PaperExtraction(title="llm says"))
    latest = store.latest_extractions("rules")
    assert {sha: e.title for sha, e in latest.items()} == {"a" * 64: "new", "b" * 64: "b"}
    assert {sha: e.title for sha, e in store.latest_extractions("llm").items()} == {"a" * 64: "llm says"}
    assert store.latest_extractions("nobody") == {}


def test_signal_scores_per_paper(store: Store) -> None:
    assert store.signal_scores() == {}
    store.put_review_signals({"paper_id": "p1", "input_key": "k", "p_wrong": 0.4})
    store.put_review_signals({"paper_id": "p2", "input_key": "k", "p_wrong": 0.1})
    assert store.signal_scores() == {"p1": {"paper_id": "p1", "p_wrong": 0.4, "priority": None},
                                     "p2": {"paper_id": "p2", "p_wrong": 0.1, "priority": None}}
