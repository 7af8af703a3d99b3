"""The store's ingest reads (DocumentIngestStore) on a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractor.errors import StoreError
from extractor.schemas import Document
from extractor.store import Store, document_row
from extractor.store.ingest import OUTCOME_COLUMNS


def _doc(n: int, *, error_kind: str | None = None, name: str | None = None) -> Document:
    return Document(sha256=f"{n:064x}", source_file=name or f"paper-{n:04d}.pdf", path=f"/papers/paper-{n:04d}.pdf",
                    size_bytes=100 + n, page_count=0 if error_kind else 1, full_text=None if error_kind else "text",
                    error=f"it failed ({error_kind})" if error_kind else None, error_kind=error_kind,
                    ingested_at="2024-01-01T00:00:00.000+00:00")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    with Store.open(tmp_path / "s.db") as s:
        yield s


def test_hashes_to_skip_is_every_document_or_only_the_good_ones_when_retrying(store: Store) -> None:
    assert store.hashes_to_skip() == set() == store.hashes_to_skip(retry_failed=True)
    good, timed_out, too_large = _doc(1), _doc(2, error_kind="timeout"), _doc(3, error_kind="too_large")
    store.add_document_rows([document_row(d) for d in (good, timed_out, too_large)])
    assert store.hashes_to_skip() == {good.sha256, timed_out.sha256, too_large.sha256}
    assert store.hashes_to_skip(retry_failed=True) == {good.sha256}
    # a retried parse replaces the error row; the document is then skipped in both modes
    store.add_document_rows([document_row(_doc(2))], replace_failed=True)
    assert store.hashes_to_skip(retry_failed=True) == {good.sha256, timed_out.sha256}


def test_ingest_outcomes_are_the_verdicts_without_the_page_text(store: Store) -> None:
    run_id = store.start_run("ingest", {})
    store.add_document_rows([document_row(_doc(1, name="b.pdf")), document_row(_doc(2, error_kind="not_pdf", name="a.pdf"))],
                            run_id=run_id)
    rows = store.ingest_outcomes()
    assert [r["source_file"] for r in rows] == ["a.pdf", "b.pdf"]  # by source file
    assert all(tuple(r) == OUTCOME_COLUMNS for r in rows)  # no front, no full_text
    assert rows[0] == {"sha256": f"{2:064x}", "source_file": "a.pdf", "path": "/papers/paper-0002.pdf", "size_bytes": 102,
                       "page_count": 0, "venue": None, "year": None, "error_kind": "not_pdf",
                       "error": "it failed (not_pdf)", "run_id": run_id, "ingested_at": "2024-01-01T00:00:00.000+00:00"}
    assert rows[1]["error"] is None and rows[1]["run_id"] == run_id


def test_ingest_outcomes_of_some_hashes_any_number_of_them(store: Store) -> None:
    docs = [_doc(n, error_kind="crash" if n % 7 == 0 else None) for n in range(1, 1201)]
    store.add_document_rows(document_row(d) for d in docs)
    wanted = [d.sha256 for d in docs[::2]] + ["f" * 64]  # more than one IN list; one unknown hash
    rows = store.ingest_outcomes(wanted)
    assert [r["sha256"] for r in rows] == [d.sha256 for d in docs[::2]]  # unknown hash absent, sorted by name
    assert {r["sha256"] for r in rows if r["error_kind"] == "crash"} == {d.sha256 for d in docs[::2] if d.error_kind}
    assert store.ingest_outcomes([]) == []
    assert len(store.ingest_outcomes()) == 1200


def test_a_read_on_a_closed_store_is_a_store_error(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "c.db")
    store.close()
    with pytest.raises(StoreError, match=str(tmp_path / "c.db")):
        store.hashes_to_skip()
    with pytest.raises(StoreError):
        store.ingest_outcomes()
