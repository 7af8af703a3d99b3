"""The live run's writer thread: rows committed before a document counts, errors stop the batch.

No timings: what is checked is *when* rows are visible to another connection (committed),
and what a failing writer (read-only database, full disk) does to the batch.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from extractor.devtools.fake_openai import FakeOpenAI
from extractor.errors import StoreError
from extractor.extract.base import run_extract
from extractor.extract.llm import writer as writer_mod
from extractor.store import Store
from tests.test_llm_support import (  # noqa: F401  (srv is a fixture)
    CHAT,
    backend_for,
    seed,
    settings_for,
    srv,
)


OPEN_WRITER_STORE = writer_mod.open_writer_store


def committed(db: Path, sql: str, params: tuple = ()) -> int:
    """A count seen by a fresh connection: only committed rows."""
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, params).fetchone()[0]
    finally:
        con.close()


def test_a_document_counts_only_once_its_rows_are_committed(store: Store, srv: FakeOpenAI, db_path: Path) -> None:
    docs = seed(store, 12, body="No models here.")
    seen: list[tuple[str, int, int]] = []

    def progress(sha: str, ok: bool, info: str | None = None) -> None:
        seen.append((sha,
                     committed(db_path, "SELECT count(*) FROM extractions WHERE sha256 = ?", (sha,)),
                     committed(db_path, "SELECT count(*) FROM llm_calls WHERE sha256 = ? AND parsed IS NOT NULL",
                               (sha,))))

    backend = backend_for(settings_for(srv, db_path, concurrency=4))
    summary = run_extract(store, backend, run_id=store.start_run("extract", {}), on_progress=progress)
    assert (summary.done, summary.failed) == (12, 0)
    assert len(seen) == 12 and {s for s, _, _ in seen} == {d.sha256 for d in docs}
    assert all(ext == 1 and answers == 1 for _, ext, answers in seen), seen
    # everything is committed when the run returns: one row per request, one extraction per document
    assert committed(db_path, "SELECT count(*) FROM llm_calls") == srv.count(path=CHAT) == 12
    assert committed(db_path, "SELECT count(*) FROM extractions WHERE error IS NULL") == 12
    # and the cost on each extraction is the sum of its logged requests
    for d in docs:
        (meta, _, _), = store.extractions_for(d.sha256)
        usd = committed(db_path, "SELECT sum(cost_usd) * 1e8 FROM llm_calls WHERE sha256 = ?", (d.sha256,))
        assert meta.cost_usd > 0 and round(meta.cost_usd * 1e8) == round(usd)
        assert meta.prompt_tokens == committed(db_path, "SELECT sum(prompt_tokens) FROM llm_calls WHERE sha256 = ?",
                                               (d.sha256,))


def _read_only(store: Store) -> Store:
    con = sqlite3.connect(f"file:{store.path}?mode=ro", uri=True, check_same_thread=False)
    from sqlite_utils import Database

    return Store(Database(con), store.path)


def _full_disk(store: Store) -> Store:
    w = OPEN_WRITER_STORE(store)
    pages = w.db.execute("PRAGMA page_count").fetchone()[0]
    w.db.execute(f"PRAGMA max_page_count = {pages}")
    return w


@pytest.mark.parametrize("fault,message", [(_read_only, "read-only"), (_full_disk, "disk is full")])
def test_a_writer_error_stops_the_batch_with_the_stores_message(store: Store, srv: FakeOpenAI, db_path: Path,
                                                                monkeypatch, fault, message: str) -> None:
    docs = seed(store, 30, body="No models here.")
    monkeypatch.setattr(writer_mod, "open_writer_store", fault)
    counted: list[str] = []
    backend = backend_for(settings_for(srv, db_path, concurrency=4))
    with pytest.raises(StoreError, match=message) as err:
        run_extract(store, backend, on_progress=lambda sha, ok, info=None: counted.append(sha))
    assert str(db_path) in str(err.value)
    assert srv.count(path=CHAT) < len(docs)  # stopped, not run to the end
    # nothing was counted that is not committed
    saved = committed(db_path, "SELECT count(*) FROM extractions")
    assert len(counted) <= saved < len(docs)
    for sha in counted:
        assert committed(db_path, "SELECT count(*) FROM extractions WHERE sha256 = ?", (sha,)) == 1
    # the fault gone, a re-run finishes the rest with no duplicate rows
    monkeypatch.undo()
    summary = run_extract(store, backend_for(settings_for(srv, db_path, concurrency=4)))
    assert summary.done + saved == len(docs)
    assert committed(db_path, "SELECT count(*) FROM extractions") == len(docs)
    assert committed(db_path, "SELECT count(*) FROM (SELECT cache_key FROM llm_calls WHERE parsed IS NOT NULL "
                              "GROUP BY cache_key HAVING count(*) > 1)") == 0


def test_in_memory_store_writes_inline(srv: FakeOpenAI, tmp_path: Path) -> None:
    with Store.open(":memory:") as store:
        seed(store, 3, body="No models here.")
        summary = run_extract(store, backend_for(settings_for(srv, tmp_path / "unused.db")))
        assert summary.done == 3
        assert store.query("SELECT count(*) AS n FROM llm_calls")[0]["n"] == 3
