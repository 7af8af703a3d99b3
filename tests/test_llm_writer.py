"""The live run's writer thread: rows committed before a document counts, errors stop the batch.

No timings: what is checked is *when* rows are visible to another connection (committed),
and what a failing writer (read-only database, full disk) does to the batch.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.fake_openai import FakeOpenAI
from extractor.errors import StoreError
from extractor.extract.base import run_extract
from extractor.extract.llm import writer as writer_mod
from extractor.store import Store
from tests import sqlhelp
from tests.test_llm_support import CHAT, backend_for, oracle, seed, settings_for

OPEN_WRITER_STORE = writer_mod.open_writer_store

pytestmark = pytest.mark.fake_openai(responder=oracle)


def extraction_rows(reader: Store) -> int:
    """Extraction rows, with and without an error."""
    counts = reader.status_counts()
    return sum(counts["extractions"].values()) + counts["extraction_failures"]


def answers_for(db: Path, sha: str) -> int:
    """Validated answers logged for one document."""
    return sqlhelp.one(db, "SELECT count(*) FROM llm_calls WHERE sha256 = ? AND parsed IS NOT NULL", [sha])


def test_a_document_counts_only_once_its_rows_are_committed(store: Store, store_factory, fake_openai: FakeOpenAI,
                                                            db_path: Path) -> None:
    docs = seed(store, 12, body="No models here.")
    reader = store_factory(readonly=True)  # another connection: it sees committed rows only
    seen: list[tuple[str, int, int]] = []

    def progress(sha: str, ok: bool, info: str | None = None) -> None:
        seen.append((sha, len(reader.extractions_for(sha, ok_only=False)), answers_for(db_path, sha)))

    backend = backend_for(settings_for(fake_openai, db_path, concurrency=4))
    summary = run_extract(store, backend, run_id=store.start_run("extract", {}), on_progress=progress)
    assert (summary.done, summary.failed) == (12, 0)
    assert len(seen) == 12 and {s for s, _, _ in seen} == {d.sha256 for d in docs}
    assert all(ext == 1 and answers == 1 for _, ext, answers in seen), seen
    # everything is committed when the run returns: one row per request, one extraction per document
    counts = reader.status_counts()
    assert counts["llm_calls"] == fake_openai.count(path=CHAT) == 12
    assert sum(counts["extractions"].values()) == 12
    # and the cost on each extraction is the sum of its logged requests
    for d in docs:
        (meta, _, _), = store.extractions_for(d.sha256)
        usd = sqlhelp.one(db_path, "SELECT sum(cost_usd) * 1e8 FROM llm_calls WHERE sha256 = ?", [d.sha256])
        assert meta.cost_usd > 0 and round(meta.cost_usd * 1e8) == round(usd)
        assert meta.prompt_tokens == sqlhelp.one(db_path, "SELECT sum(prompt_tokens) FROM llm_calls WHERE sha256 = ?",
                                                 [d.sha256])


def _read_only(store: Store) -> Store:
    return Store.open(store.path, readonly=True)


def _full_disk(store: Store) -> Store:
    w = OPEN_WRITER_STORE(store)
    # max_page_count limits the connection it is set on: the writer's own, not a helper's.
    pages = w.db.execute("PRAGMA page_count").fetchone()[0]
    w.db.execute(f"PRAGMA max_page_count = {pages}")
    return w


@pytest.mark.parametrize("fault,message", [(_read_only, "read-only"), (_full_disk, "disk is full")])
def test_a_writer_error_stops_the_batch_with_the_stores_message(store: Store, store_factory, fake_openai: FakeOpenAI,
                                                                db_path: Path, monkeypatch, fault,
                                                                message: str) -> None:
    docs = seed(store, 30, body="No models here.")
    reader = store_factory(readonly=True)  # another connection: it sees committed rows only
    monkeypatch.setattr(writer_mod, "open_writer_store", fault)
    counted: list[str] = []
    backend = backend_for(settings_for(fake_openai, db_path, concurrency=4))
    with pytest.raises(StoreError, match=message) as err:
        run_extract(store, backend, on_progress=lambda sha, ok, info=None: counted.append(sha))
    assert str(db_path) in str(err.value)
    assert fake_openai.count(path=CHAT) < len(docs)  # stopped, not run to the end
    # nothing was counted that is not committed
    saved = extraction_rows(reader)
    assert len(counted) <= saved < len(docs)
    for sha in counted:
        assert len(reader.extractions_for(sha, ok_only=False)) == 1
    # the fault gone, a re-run finishes the rest with no duplicate rows
    monkeypatch.undo()
    summary = run_extract(store, backend_for(settings_for(fake_openai, db_path, concurrency=4)))
    assert summary.done + saved == len(docs)
    assert extraction_rows(reader) == len(docs)
    assert reader.duplicate_counts()["answers"] == 0


def test_in_memory_store_writes_inline(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    with Store.open(":memory:") as store:
        seed(store, 3, body="No models here.")
        summary = run_extract(store, backend_for(settings_for(fake_openai, tmp_path / "unused.db")))
        assert summary.done == 3
        assert store.llm_usage()["total"]["requests"] == 3
