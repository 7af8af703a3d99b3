"""RecordStore and DocumentStore reads reconcile and simulation use: statuses, counts, hashes in ingest order."""

from __future__ import annotations

from extractor.schemas import Document, RecordStatus
from extractor.store import Store
from tests import record_factory as rf


def test_record_statuses_and_counts_follow_the_records(store: Store) -> None:
    assert store.record_statuses() == {} and store.count_records() == 0
    rf.put(store, rf.paper("p1", [["US"]], status=RecordStatus.QUEUED))
    rf.put(store, rf.paper("p2", [["US"]], status=RecordStatus.QUEUED))
    rf.put(store, rf.paper("p3", [["US"]]))
    rf.review(store, "p2")
    assert store.record_statuses() == {"p1": "queued", "p2": "verified", "p3": "machine"}
    assert store.count_records() == 3
    assert store.count_records(RecordStatus.QUEUED) == 1
    assert store.count_records("verified") == 1
    assert store.count_records(RecordStatus.REJECTED) == 0


def test_document_hashes_in_ingest_order_with_or_without_failures(store: Store) -> None:
    store.add_document(Document(sha256="b" * 64, source_file="b.pdf", ingested_at="2024-01-02T00:00:00"))
    store.add_document(Document(sha256="a" * 64, source_file="a.pdf", ingested_at="2024-01-03T00:00:00"))
    store.add_document(Document(sha256="c" * 64, source_file="c.pdf", error="x", ingested_at="2024-01-01T00:00:00"))
    assert store.document_hashes() == ["b" * 64, "a" * 64]
    assert store.document_hashes(ok_only=False) == ["c" * 64, "b" * 64, "a" * 64]
