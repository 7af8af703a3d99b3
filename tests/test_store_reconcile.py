"""ReconcileStore: the reconcile-time columns of review_signals, upserted without touching routing's."""

from __future__ import annotations

import pytest

from extractor.errors import StoreError
from extractor.store import Store
from tests import sqlhelp


def signals(pid: str = "p1", key: str = "k1", **over: object) -> dict[str, object]:
    row: dict[str, object] = {"paper_id": pid, "input_key": key, "countries": '["US"]', "families": "[]",
                              "features": '{"disagree": 1.0}', "model_features": "{}", "alternatives": "[]",
                              "p_wrong": 0.25, "p_wrong_models": 0.1, "computed_at": "2024-01-01T00:00:00"}
    row.update(over)
    return row


def test_a_new_row_is_inserted_and_its_key_read_back(store: Store) -> None:
    assert store.review_signal_keys() == {}
    store.put_review_signals(signals("p1", "k1"))
    store.put_review_signals(signals("p2", "k2"))
    assert store.review_signal_keys() == {"p1": "k1", "p2": "k2"}
    (row,) = sqlhelp.rows(store, "SELECT * FROM review_signals WHERE paper_id = 'p1'")
    assert row["features"] == '{"disagree": 1.0}' and row["p_wrong"] == 0.25 and row["priority"] is None


def test_a_second_write_replaces_reconciles_columns_and_keeps_routings(store: Store) -> None:
    store.put_review_signals(signals("p1", "k1"))
    sqlhelp.execute(store, "UPDATE review_signals SET priority = 0.5, impact = 2.0, audit_u = 0.3 WHERE paper_id = 'p1'")
    store.put_review_signals(signals("p1", "k2", p_wrong=0.75, features="{}"))
    (row,) = sqlhelp.rows(store, "SELECT * FROM review_signals")
    assert (row["input_key"], row["p_wrong"], row["features"]) == ("k2", 0.75, "{}")
    assert (row["priority"], row["impact"], row["audit_u"]) == (0.5, 2.0, 0.3)


def test_only_reconciles_columns_are_accepted(store: Store) -> None:
    with pytest.raises(StoreError, match="priority"):
        store.put_review_signals(signals(priority=1.0))
    with pytest.raises(StoreError, match="paper_id"):
        store.put_review_signals({"input_key": "k"})
    assert sqlhelp.one(store, "SELECT count(*) FROM review_signals") == 0


def test_a_row_of_only_a_paper_id_keeps_an_existing_row(store: Store) -> None:
    store.put_review_signals(signals("p1", "k1"))
    store.put_review_signals({"paper_id": "p1"})
    store.put_review_signals({"paper_id": "p2"})
    assert store.review_signal_keys() == {"p1": "k1", "p2": None}


def test_whole_rows_copy_to_another_store_with_routings_columns(store: Store, store_factory, tmp_path) -> None:
    store.put_review_signals(signals("p1", "k1"))
    store.put_review_signals(signals("p2", "k2"))
    sqlhelp.execute(store, "UPDATE review_signals SET priority = 0.5, audit = 1 WHERE paper_id = 'p2'")
    rows = store.review_signal_rows()
    assert [r["paper_id"] for r in rows] == ["p1", "p2"] and rows[1]["priority"] == 0.5
    other = store_factory(tmp_path / "copy.db")
    other.put_review_signals(signals("p1", "stale"))
    assert other.copy_review_signal_rows(rows) == 2
    assert other.review_signal_rows() == rows
    with pytest.raises(StoreError, match="bogus"):
        other.copy_review_signal_rows([{**rows[0], "input_key": "x"}, {**rows[1], "bogus": 1}])
    assert other.review_signal_keys() == {"p1": "k1", "p2": "k2"}, "nothing of the refused call was written"


def test_the_documents_to_reconcile_after_a_watermark(store: Store) -> None:
    from extractor.reconcile.merge import run_reconcile
    from extractor.schemas import paper_id_for
    from tests.test_reconcile_fixtures import RULES, add_paper, document, extraction

    assert store.reconciled_watermark() is None
    add_paper(store, "a.pdf", [(RULES, extraction())])
    add_paper(store, "b.pdf", [(RULES, extraction())])
    assert sorted(store.hashes_to_reconcile(None)) == sorted([document("a.pdf").sha256, document("b.pdf").sha256])
    run_reconcile(store)
    mark = store.reconciled_watermark()
    assert mark == store.extraction_watermark() == 2
    assert store.hashes_to_reconcile(mark) == []  # everything is up to date
    add_paper(store, "c.pdf", [(RULES, extraction())])  # a new extraction after the watermark
    store.add_document(document("d.pdf"))  # no extraction, no record
    sqlhelp.execute(store, "DELETE FROM review_signals WHERE paper_id = ?", [paper_id_for(document("a.pdf").sha256)])
    assert set(store.hashes_to_reconcile(mark)) == {document(n).sha256 for n in ("a.pdf", "c.pdf", "d.pdf")}
    assert store.count_ingested_documents() == 4
    key, status, signals_key = store.reconcile_state(document("b.pdf").sha256)
    assert key == signals_key and status in ("machine", "queued")
    assert store.reconcile_state(document("d.pdf").sha256) == (None, None, None)
