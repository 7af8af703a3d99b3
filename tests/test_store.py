"""Store: migrations (fresh and upgraded), idempotent writes, locking, the audit log."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database

from extractor.errors import ConflictError, StoreError
from extractor.schemas import (
    Affiliation,
    Author,
    Document,
    PaperRecord,
    Provenance,
    RecordStatus,
)
from extractor.store import Store
from extractor.store import migrations as migrations
from tests import sqlhelp

EXPECTED_TABLES = {"documents", "extractions", "records", "runs", "llm_calls", "reviews", "calibration"}


def _record(paper_id: str = "abc", country: str = "US") -> PaperRecord:
    return PaperRecord(
        paper_id=paper_id,
        sha256=paper_id * 4,
        source_file=f"{paper_id}.pdf",
        title="T",
        authors=[Author(name="A B", affiliation_ids=[0])],
        affiliations=[Affiliation(id=0, raw="MIT", institution="Massachusetts Institute of Technology", country=country)],
        provenance=Provenance(backend="rules"),
    )


def _tables(path: Path) -> set[str]:
    return {r["name"] for r in sqlhelp.rows(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_fresh_database_has_all_tables_and_wal(db_path: Path) -> None:
    with Store.open(db_path) as store:
        assert store.applied_migrations() == [m.name for m in migrations.migrations._migrations]
    assert EXPECTED_TABLES <= _tables(db_path)
    assert sqlhelp.one(db_path, "PRAGMA journal_mode") == "wal"
    cols = {r["name"] for r in sqlhelp.rows(db_path, "PRAGMA table_info(records)")}
    assert {"paper_id", "status", "version", "confidence", "priority", "audit", "data"} <= cols


def test_older_database_is_upgraded_in_place(db_path: Path) -> None:
    db = Database(db_path)
    migrations.migrations.apply(db, stop_before="m002_llm_calls")
    db["documents"].insert({"sha256": "f" * 64, "source_file": "old.pdf", "error": None})
    assert "llm_calls" not in db.table_names()
    db.close()
    with Store.open(db_path) as store:
        assert store.known_hashes() == {"f" * 64}
    assert EXPECTED_TABLES <= _tables(db_path)


def test_add_document_is_idempotent(store: Store) -> None:
    doc = Document(sha256="a" * 64, source_file="a.pdf", error="x", error_kind="corrupt")
    assert store.add_document(doc) is True
    assert store.add_document(doc) is False
    assert sqlhelp.one(store, "SELECT count(*) FROM documents") == 1


def test_machine_record_then_human_save_and_conflict(store: Store) -> None:
    rec = _record()
    assert store.put_machine_record(rec, "k1") == "created"
    assert store.put_machine_record(rec, "k1") == "unchanged"
    loaded = store.get_record("abc")
    assert loaded.version == 1
    edited = loaded.model_copy(update={"status": RecordStatus.VERIFIED})
    saved = store.save_record(edited, expected_version=1, action="approve", actor="alice")
    assert saved.version == 2
    # a second reviewer still holding version 1 is refused, nothing overwritten
    other = loaded.model_copy(update={"status": RecordStatus.REJECTED})
    with pytest.raises(ConflictError) as err:
        store.save_record(other, expected_version=1, action="reject", actor="bob")
    assert "version 1" in str(err.value) and "nothing was overwritten" in str(err.value)
    assert store.get_record("abc").status == RecordStatus.VERIFIED
    # re-reconcile never overwrites a human decision
    assert store.put_machine_record(_record(country="CN"), "k2") == "kept-human"
    assert store.get_record("abc").affiliations[0].country == "US"
    actions = [h["action"] for h in store.history("abc")]
    assert actions == ["create", "approve"]


def test_audit_log_is_append_only_and_verifiable(store: Store) -> None:
    store.put_machine_record(_record(), "k1")
    rec = store.get_record("abc")
    store.save_record(rec.model_copy(update={"status": RecordStatus.VERIFIED}), expected_version=1, action="approve", actor="alice")
    assert store.verify_log() == []
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        sqlhelp.execute(store, "UPDATE reviews SET actor = 'mallory'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        sqlhelp.execute(store, "DELETE FROM reviews")
    # tampering with a record behind the log's back is detected
    sqlhelp.execute(store, "UPDATE records SET data = replace(data, 'US', 'CN')")
    assert any("differs" in p for p in store.verify_log())


def test_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        Store.open(tmp_path / "nope.db", create=False)
    with pytest.raises(StoreError, match="folder"):
        Store.open(tmp_path / "no" / "such" / "dir.db")


def test_open_retries_a_busy_moment_then_opens(tmp_path, monkeypatch):
    """SQLite can answer BUSY without calling the busy handler while another process
    switches the file to WAL; open() must retry rather than fail the whole run."""
    import sqlite3

    from extractor.store import database as store_mod

    real = store_mod.Store._open_once.__func__
    calls = {"n": 0}

    def flaky(cls, path, *, readonly):
        calls["n"] += 1
        if calls["n"] <= 2:
            raise sqlite3.OperationalError("database is locked")
        return real(cls, path, readonly=readonly)

    monkeypatch.setattr(store_mod.Store, "_open_once", classmethod(flaky))
    with store_mod.Store.open(tmp_path / "x.db"):
        assert sqlhelp.one(tmp_path / "x.db", "PRAGMA journal_mode") == "wal"
    assert calls["n"] == 3


def test_open_gives_up_on_a_lock_that_never_clears_with_a_clear_message(tmp_path, monkeypatch):
    import sqlite3

    from extractor.errors import StoreError
    from extractor.store import database as store_mod

    def always_locked(cls, path, *, readonly):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(store_mod, "OPEN_RETRY_SECONDS", 0.1)
    monkeypatch.setattr(store_mod.Store, "_open_once", classmethod(always_locked))
    with pytest.raises(StoreError, match="another collabscope process holds a write lock"):
        store_mod.Store.open(tmp_path / "x.db")
