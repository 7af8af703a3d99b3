"""Store upkeep on real SQLite files: optimize (statistics + checkpoint), copy_to, duplicate counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractor.errors import StoreError
from extractor.schemas import ExtractionMeta
from extractor.store import Store
from tests import record_factory as rf
from tests import sqlhelp


def _fill(store: Store, n: int = 30) -> None:
    """Records with their audit-log rows and review signals, as a pipeline run leaves them."""
    for i in range(n):
        pid = f"p{i:03d}"
        rf.put(store, rf.paper(pid, [["US"], ["CN"] if i % 3 else ["DE"]]))
        store.put_review_signals({"paper_id": pid, "input_key": f"k{i}", "p_wrong": i / n})


def _wal(store: Store) -> Path:
    return Path(f"{store.path}-wal")


def test_optimize_writes_statistics_and_empties_the_wal(store: Store) -> None:
    _fill(store)
    assert _wal(store).stat().st_size > 0  # the rows are in the WAL, not yet in the file
    assert store.optimize() is True
    assert _wal(store).stat().st_size == 0
    # the planner statistics are in the main file: a connection of its own reads them
    analysed = {r["tbl"] for r in sqlhelp.rows(store.path, "SELECT tbl FROM sqlite_stat1")}
    assert {"records", "reviews", "review_signals"} <= analysed
    assert store.count_records() == 30 and store.verify_log() == []
    assert store.integrity_check() == "ok"


def test_optimize_on_an_empty_database(store: Store) -> None:
    assert store.optimize() is True
    assert store.status_counts()["documents"] == 0


def test_copy_to_is_a_complete_database_that_opens(store: Store, store_factory, tmp_path: Path) -> None:
    _fill(store)
    run_id = store.start_run("run", {"folder": "papers"})
    # nothing checkpointed: the committed rows still in the WAL must reach the copy
    assert _wal(store).stat().st_size > 0
    copy = store.copy_to(tmp_path / "copy.db")
    assert copy == tmp_path / "copy.db" and copy.exists()
    other = store_factory(copy, create=False)
    assert list(other.iter_records()) == list(store.iter_records())
    assert other.review_signal_rows() == store.review_signal_rows()
    assert other.log_head() == store.log_head() and other.verify_log() == []
    assert [r["id"] for r in other.runs()] == [run_id]
    assert other.applied_migrations() == store.applied_migrations()
    # the copy is a database of its own: writing to it leaves the original alone
    rf.put(other, rf.paper("extra", [["FR"]]))
    assert other.count_records() == 31 and store.count_records() == 30


def test_copy_to_from_a_read_only_store(store: Store, store_factory, tmp_path: Path) -> None:
    _fill(store, 5)
    reader = store_factory(readonly=True)
    copy = reader.copy_to(tmp_path / "ro-copy.db")
    assert [r.paper_id for r in store_factory(copy).iter_records()] == [f"p{i:03d}" for i in range(5)]


def test_copy_to_refuses_an_existing_file_and_leaves_it_alone(store: Store, tmp_path: Path) -> None:
    _fill(store, 2)
    target = tmp_path / "taken.db"
    target.write_bytes(b"someone else's file")
    with pytest.raises(StoreError, match="exists"):
        store.copy_to(target)
    assert target.read_bytes() == b"someone else's file"


def test_copy_to_a_missing_folder_names_the_target(store: Store, tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "copy.db"
    with pytest.raises(StoreError) as err:
        store.copy_to(target)
    assert str(target) in str(err.value) and "folder" in str(err.value)
    assert not target.parent.exists()


def _call(cache_key: str, parsed: str | None, sha: str = "a" * 64) -> dict[str, object]:
    return {"sha256": sha, "purpose": "front_matter", "cache_key": cache_key, "model": "gpt-4o-mini",
            "parsed": parsed, "attempt": 1, "created_at": "2024-01-01T00:00:00"}


def test_duplicate_counts_are_zero_for_a_sound_database(store: Store) -> None:
    assert store.duplicate_counts() == {"extractions": 0, "answers": 0}
    store.save_extraction("a" * 64, ExtractionMeta(backend="rules"), "rules-1", None, error="no text")
    store.save_extraction("a" * 64, ExtractionMeta(backend="rules"), "rules-1", None)  # replaces the failed one
    store.save_extraction("a" * 64, ExtractionMeta(backend="llm"), "llm-1", None)  # another backend
    # retries and re-asks log failed attempts under the key; one validated answer is no duplicate
    store.add_llm_calls([_call("k1", None), _call("k1", None), _call("k1", '{"title": "T"}'), _call("k2", "{}")])
    assert store.duplicate_counts() == {"extractions": 0, "answers": 0}


def test_duplicate_counts_find_a_second_extraction_and_an_answer_paid_twice(store: Store) -> None:
    store.save_extraction("a" * 64, ExtractionMeta(backend="llm"), "llm-model-a", None)
    store.save_extraction("a" * 64, ExtractionMeta(backend="llm"), "llm-model-b", None)
    store.add_llm_calls([_call("k1", "{}"), _call("k1", "{}"), _call("k2", "{}"), _call("k2", "{}"),
                         _call("k3", "{}")])
    assert store.duplicate_counts() == {"extractions": 1, "answers": 2}
