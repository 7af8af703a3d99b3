"""OpenAI Batch API mode: the round trip, per-line failures, and resume between steps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devtools.fake_openai import FakeOpenAI, malformed, status
from extractor.extract.base import run_extract
from extractor.store import Store
from tests import sqlhelp
from tests.test_llm_support import CHAT, backend_for, calls, oracle, seed, settings_for, tag

#: Every batch completes on its second status poll.
pytestmark = pytest.mark.fake_openai(responder=oracle, batch_polls=2)


def uploads(srv: FakeOpenAI) -> tuple[int, int]:
    """(files uploaded, batches created), as the server saw them."""
    return srv.count(path="/v1/files", method="POST"), srv.count(path="/v1/batches", method="POST")


def batch_backend(srv: FakeOpenAI, db_path: Path, **kwargs):
    backend = backend_for(settings_for(srv, db_path), **kwargs)
    backend.batch_api = True
    return backend


def test_batch_round_trip_at_half_price(store: Store, fake_openai: FakeOpenAI, db_path: Path) -> None:
    docs = seed(store, 3)
    summary = run_extract(store, batch_backend(fake_openai, db_path))
    assert (summary.done, summary.failed) == (3, 0)
    assert fake_openai.count(path=CHAT) == 0  # nothing went through the live endpoint
    assert uploads(fake_openai) == (1, 1)
    (batch,) = sqlhelp.rows(store, "SELECT * FROM llm_batches")
    assert batch["state"] == "ingested" and batch["remote_status"] == "completed" and batch["request_count"] == 6
    lines = [json.loads(x) for x in Path(batch["jsonl_path"]).read_text().splitlines()]
    assert {x["custom_id"] for x in lines} == {f"{d.sha256[:16]}:{p}" for d in docs for p in ("front_matter", "model_roles")}
    assert lines[0]["body"]["tools"][0]["function"]["name"] in ("FrontMatterAnswer", "RolesAnswer")
    rows = calls(store)
    assert len(rows) == 6 and all(r["batch_id"] == batch["batch_id"] and r["parsed"] for r in rows)
    live = backend_for(settings_for(fake_openai, db_path)).prices.cost("gpt-4o-mini", rows[0]["prompt_tokens"],
                                                                        rows[0]["completion_tokens"])
    assert rows[0]["cost_usd"] == pytest.approx(live / 2, rel=1e-3)
    _, ext, _ = store.extractions_for(docs[0].sha256)[0]
    assert ext.affiliations[0].country == "GB" and {m.family for m in ext.model_mentions} == {"BERT", "GPT"}
    # a second run finds everything cached: no new batch
    summary = run_extract(store, batch_backend(fake_openai, db_path))
    assert summary.todo == 0 and uploads(fake_openai)[1] == 1


def test_batch_line_failures_and_live_reask(store: Store, fake_openai: FakeOpenAI, db_path: Path) -> None:
    docs = seed(store, 3, body="No models here.")
    fake_openai.script(status(500), match=tag(1), always=True)
    fake_openai.script(malformed(), match=tag(2))  # the batch answer is malformed: re-asked live, then fine
    summary = run_extract(store, batch_backend(fake_openai, db_path))
    assert (summary.done, summary.failed) == (2, 1)
    errors = {r["sha256"]: r["error"] for r in store.extraction_failures()}
    assert "batch request failed (HTTP 500)" in errors[docs[1].sha256]
    assert fake_openai.count(path=CHAT) == 1  # exactly one live re-ask
    reasked = calls(store, "sha256 = ?", (docs[2].sha256,))
    assert [r["batch_id"] is not None for r in reasked] == [True, False]
    assert reasked[0]["error"].startswith("validation:") and reasked[1]["reask"] == 1
    # the failed document goes into a new batch on the next run
    fake_openai.reset()
    fake_openai.responder = oracle
    summary = run_extract(store, batch_backend(fake_openai, db_path))
    assert (summary.todo, summary.done) == (1, 1)


def test_resume_after_interruption_between_upload_and_poll(store: Store, fake_openai: FakeOpenAI, db_path: Path) -> None:
    seed(store, 2, body="No models here.")
    # first run: uploads and submits, then "dies" before the batch completes (no waiting allowed)
    first = run_extract(store, batch_backend(fake_openai, db_path, batch_max_wait=0))
    assert first.extra["pending_batches"] == 1 and first.done == 0
    (batch,) = sqlhelp.rows(store, "SELECT * FROM llm_batches")
    assert batch["state"] == "submitted" and batch["batch_id"]
    assert uploads(fake_openai) == (1, 1)
    # second run (a new process, same database): polls the same batch, uploads nothing new
    second = run_extract(store, batch_backend(fake_openai, db_path))
    assert (second.done, second.failed) == (2, 0)
    assert uploads(fake_openai) == (1, 1)
    assert sqlhelp.one(store, "SELECT state FROM llm_batches") == "ingested"


def test_resume_after_interruption_before_submit(store: Store, fake_openai: FakeOpenAI, db_path: Path) -> None:
    """Killed after the upload was recorded but before batches.create: the upload is reused."""
    seed(store, 1, body="No models here.")
    backend = batch_backend(fake_openai, db_path, batch_max_wait=0)
    run_extract(store, backend)
    # rewind the recorded state to "uploaded", as if killed right after the upload
    sqlhelp.execute(store, "UPDATE llm_batches SET state = 'uploaded', batch_id = NULL")
    summary = run_extract(store, batch_backend(fake_openai, db_path))
    assert summary.done == 1
    assert uploads(fake_openai) == (1, 2)
