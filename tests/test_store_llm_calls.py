"""LLMCallStore: the call log and cache, spend and usage sums, Batch API job rows, against a real file."""

from __future__ import annotations

import pytest

from extractor.errors import NotFoundError, StoreError
from extractor.schemas import Document, ExtractionMeta
from extractor.store import Store
from tests import sqlhelp


def call(sha: str = "a" * 64, key: str = "k1", **over: object) -> dict[str, object]:
    row: dict[str, object] = {
        "sha256": sha, "purpose": "front_matter", "cache_key": key, "model": "m1", "prompt_name": "front_matter",
        "prompt_version": "1", "prompt_hash": "ph", "schema_version": "1", "request": "{}", "response": "{}",
        "parsed": None, "attempt": 1, "error": None, "status_code": 200, "duration_ms": 1.0, "prompt_tokens": 10,
        "completion_tokens": 5, "cost_usd": 0.01, "batch_id": None, "created_at": "2024-01-01T00:00:00",
        "run_id": None, "call_id": "c1", "reask": 0,
    }
    row.update(over)
    return row


def test_add_llm_calls_writes_every_row_in_order(store: Store) -> None:
    rows = [call(key="k1", attempt=1), call(key="k1", attempt=2, parsed='{"a": 1}'), call(key="k2", attempt=1)]
    assert store.add_llm_calls(rows) == 3
    stored = sqlhelp.rows(store, "SELECT cache_key, attempt, parsed FROM llm_calls ORDER BY id")
    assert stored == [{"cache_key": "k1", "attempt": 1, "parsed": None},
                      {"cache_key": "k1", "attempt": 2, "parsed": '{"a": 1}'},
                      {"cache_key": "k2", "attempt": 1, "parsed": None}]


def test_rows_of_different_shapes_keep_their_order(store: Store) -> None:
    short = {k: v for k, v in call(key="k2").items() if k not in ("call_id", "reask")}
    assert store.add_llm_calls([call(key="k1"), short, call(key="k3")]) == 3
    assert [r["cache_key"] for r in sqlhelp.rows(store, "SELECT cache_key FROM llm_calls ORDER BY id")] == ["k1", "k2", "k3"]
    assert sqlhelp.one(store, "SELECT call_id FROM llm_calls WHERE cache_key = 'k2'") is None


def test_an_unknown_column_is_refused_and_nothing_is_written(store: Store) -> None:
    with pytest.raises(StoreError, match="no column.*bogus"):
        store.add_llm_calls([call(), call(bogus=1)])
    assert sqlhelp.one(store, "SELECT count(*) FROM llm_calls") == 0
    assert store.add_llm_calls([]) == 0


def test_calls_inside_a_callers_transaction_roll_back_with_it(store: Store) -> None:
    with pytest.raises(RuntimeError), store.write():
        store.add_llm_calls([call()])
        raise RuntimeError("the batch failed after the calls were queued")
    assert sqlhelp.one(store, "SELECT count(*) FROM llm_calls") == 0


def test_cached_answer_is_the_latest_validated_one(store: Store) -> None:
    assert store.cached_llm_answer("k1") is None
    store.add_llm_calls([call(parsed='{"v": 1}'), call(parsed='{"v": 2}'), call(error="validation: bad")])
    store.add_llm_calls([call(key="k2", parsed='{"other": true}')])
    assert store.cached_llm_answer("k1") == '{"v": 2}'
    assert store.cached_llm_answer("nope") is None


def test_spend_sums_every_request_of_the_keys(store: Store) -> None:
    store.add_llm_calls([call(key="k1", prompt_tokens=10, completion_tokens=5, cost_usd=0.25),
                         call(key="k1", prompt_tokens=20, completion_tokens=0, cost_usd=0.5, error="timeout"),
                         call(key="k2", prompt_tokens=7, completion_tokens=3, cost_usd=0.125),
                         call(key="k3", prompt_tokens=1000, completion_tokens=1000, cost_usd=9.0)])
    assert store.llm_spend(["k1", "k2"]) == (37, 8, 0.875)
    assert store.llm_spend(["missing"]) == (0, 0, 0.0)
    assert store.llm_spend([]) == (0, 0, 0.0)


def test_average_completion_counts_validated_answers_of_the_prompt_only(store: Store) -> None:
    assert store.average_completion_tokens("ph") is None
    store.add_llm_calls([call(parsed="{}", completion_tokens=100), call(parsed="{}", completion_tokens=201),
                         call(parsed=None, completion_tokens=5000),  # a failed attempt
                         call(parsed="{}", completion_tokens=0),  # a cached or empty answer
                         call(parsed="{}", completion_tokens=900, prompt_hash="other")])
    assert store.average_completion_tokens("ph") == 150
    assert store.average_completion_tokens("other") == 900


def test_usage_sums_per_run_model_and_paper(store: Store) -> None:
    store.add_document(Document(sha256="a" * 64, source_file="a.pdf"))
    run1 = store.start_run("extract", {})
    run2 = store.start_run("extract", {})
    store.add_llm_calls([
        call(sha="a" * 64, run_id=run1, model="m1", prompt_tokens=10, completion_tokens=5, cost_usd=0.5),
        call(sha="a" * 64, run_id=run1, model="m1", error="HTTP 500", prompt_tokens=0, completion_tokens=0,
             cost_usd=0.0),
        call(sha="b" * 64, run_id=run2, model="m2", batch_id="batch_1", prompt_tokens=100, completion_tokens=50,
             cost_usd=0.25),
    ])
    usage = store.llm_usage()
    assert usage["total"] == {"requests": 3, "errors": 1, "batch_requests": 1, "prompt_tokens": 110,
                              "completion_tokens": 55, "cost_usd": 0.75, "papers": 2}
    assert [(r["run_id"], r["command"], r["requests"]) for r in usage["runs"]] == [(run1, "extract", 2), (run2, "extract", 1)]
    assert [(m["model"], m["cost_usd"]) for m in usage["models"]] == [("m1", 0.5), ("m2", 0.25)]
    assert [(p["paper_id"], p["source_file"]) for p in usage["papers"]] == [("a" * 16, "a.pdf"), ("b" * 16, None)]
    only2 = store.llm_usage(run_id=run2, limit=1)
    assert only2["total"]["requests"] == 1 and only2["total"]["papers"] == 1
    assert [p["paper_id"] for p in only2["papers"]] == ["b" * 16]
    assert store.llm_usage(limit=1)["papers"] == usage["papers"][:1]


def test_tokens_by_model_split_live_from_batch(store: Store) -> None:
    store.add_llm_calls([call(model="m1", prompt_tokens=10, completion_tokens=1),
                         call(model="m1", prompt_tokens=20, completion_tokens=2),
                         call(model="m1", batch_id="b", prompt_tokens=300, completion_tokens=30, run_id=7)])
    assert store.llm_tokens_by_model() == [
        {"model": "m1", "batch": False, "prompt_tokens": 30, "completion_tokens": 3},
        {"model": "m1", "batch": True, "prompt_tokens": 300, "completion_tokens": 30},
    ]
    assert store.llm_tokens_by_model(run_id=7) == [{"model": "m1", "batch": True, "prompt_tokens": 300,
                                                    "completion_tokens": 30}]


def test_batch_job_rows_move_through_their_states(store: Store) -> None:
    items = {"aaaa:front_matter": {"sha256": "a" * 64, "purpose": "front_matter", "cache_key": "k1"}}
    local = store.add_llm_batch(model="m1", backend_key="bk", items=items, request_count=1, run_id=None)
    other = store.add_llm_batch(model="m2", backend_key="bk", items={}, request_count=0, run_id=None)
    row = store.llm_batch(local)
    assert row["state"] == "preparing" and row["request_count"] == 1 and row["model"] == "m1"
    assert row["created_at"] == row["updated_at"]
    store.update_llm_batch(local, state="submitted", batch_id="batch_remote", remote_status="validating")
    row = store.llm_batch(local)
    assert (row["state"], row["batch_id"], row["remote_status"]) == ("submitted", "batch_remote", "validating")
    assert row["updated_at"] >= row["created_at"]
    assert [r["id"] for r in store.open_llm_batches("m1")] == [local]
    assert [r["id"] for r in store.open_llm_batches("m2")] == [other]
    store.update_llm_batch(local, state="ingested")
    store.update_llm_batch(other, state="failed", error="gone")
    assert store.open_llm_batches("m1") == [] and store.open_llm_batches("m2") == []


def test_batch_updates_refuse_unknown_columns_and_jobs(store: Store) -> None:
    local = store.add_llm_batch(model="m1", backend_key="bk", items={}, request_count=0, run_id=None)
    with pytest.raises(StoreError, match="settable"):
        store.update_llm_batch(local, model="m2")
    with pytest.raises(StoreError, match="settable"):
        store.update_llm_batch(local, **{"state = 'x'; --": 1})
    with pytest.raises(NotFoundError):
        store.update_llm_batch(local + 1, state="failed")
    with pytest.raises(NotFoundError):
        store.llm_batch(local + 1)
    assert store.llm_batch(local)["model"] == "m1"


def test_the_writer_threads_second_store_writes_through_the_same_methods(store: Store, store_factory) -> None:
    second = store_factory(store.path, create=False)
    with second.write():
        second.add_llm_calls([call(parsed='{"x": 1}')])
        second.save_extraction("a" * 64, ExtractionMeta(backend="llm"), "ck", None, error="e")
    assert store.cached_llm_answer("k1") == '{"x": 1}'
    assert sqlhelp.one(store, "SELECT error FROM extractions WHERE cache_key = 'ck'") == "e"
