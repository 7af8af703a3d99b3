"""The llm backend over real HTTP against the loopback fake: answers, re-asks, transport
failures, the cache, prompt injection, concurrency and secret hygiene.

Every test asserts both sides: what ended up in the database (extractions, llm_calls
rows with tokens and cost) and what the server saw (how many requests, what they held).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest

from devtools.fake_openai import FakeOpenAI, answer, delay, malformed, status
from extractor.errors import LLMAuthError
from extractor.extract.base import run_extract
from extractor.schemas import Alignment, Method, Role
from extractor.store import Store
from tests import sqlhelp
from tests.test_llm_support import (
    CHAT,
    INJECTION,
    PLANTED_KEY,
    assert_no_key_anywhere,
    backend_for,
    calls,
    front_answer_for,
    oracle,
    paper_block,
    seed,
    settings_for,
    synthetic_doc,
    tag,
)

pytestmark = pytest.mark.fake_openai(responder=oracle)


def run(store: Store, srv: FakeOpenAI, db_path: Path, **overrides):
    backend = backend_for(settings_for(srv, db_path, **overrides))
    return run_extract(store, backend, run_id=store.start_run("extract", {})), backend


def only_extraction(store: Store, sha: str):
    rows = store.extractions_for(sha, ok_only=False)
    assert len(rows) == 1
    return rows[0]


def test_valid_answer_is_parsed_grounded_and_logged(store: Store, fake_openai: FakeOpenAI, db_path: Path) -> None:
    (doc,) = seed(store, 1)
    summary, backend = run(store, fake_openai, db_path)
    assert (summary.done, summary.failed) == (1, 0)
    meta, ext, row = only_extraction(store, doc.sha256)
    assert row["error"] is None and meta.model == "gpt-4o-mini"
    assert meta.prompt_name == "front_matter+model_roles" and meta.prompt_version == "1+1"
    assert [a.name for a in ext.authors] == ["Ada Lovelace", "Alan Turing"]
    (aff,) = ext.affiliations
    assert (aff.country, aff.country_method) == ("GB", Method.STATED)
    assert aff.evidence.alignment == Alignment.EXACT and aff.evidence.bbox is not None
    assert all(a.evidence.alignment == Alignment.EXACT for a in ext.authors)
    assert ext.title == f"Robust Methods for Study {tag(0)}" and ext.title_evidence.alignment == Alignment.EXACT
    roles = {m.family: m.role for m in ext.model_mentions}
    assert roles == {"BERT": Role.FINE_TUNED, "GPT": Role.COMPARED}
    # two questions -> two requests -> two rows, each with tokens and cost
    rows = calls(store)
    assert [r["purpose"] for r in rows] == ["front_matter", "model_roles"]
    assert all(r["status_code"] == 200 and r["parsed"] and r["prompt_tokens"] > 0 and r["cost_usd"] > 0 for r in rows)
    assert meta.prompt_tokens == sum(r["prompt_tokens"] for r in rows)
    assert meta.cost_usd == pytest.approx(sum(r["cost_usd"] for r in rows))
    assert rows[0]["prompt_hash"] == backend.front_prompt.sha256 and rows[0]["prompt_version"] == "1"
    # the server saw the page with superscripts made explicit, inside the data markers
    front_req, roles_req = fake_openai.requests
    assert front_req.body["tools"][0]["function"]["name"] == "FrontMatterAnswer"
    block = paper_block(front_req.body, "<<<PAPER", "PAPER>>>")
    assert "Ada Lovelace^{1}, Alan Turing^{1}" in block and "^{1}University of Cambridge" in block
    assert "«BERT»" in paper_block(roles_req.body, "<<<SNIPPETS", "SNIPPETS>>>")


def test_real_pdf_through_ingest(store: Store, fake_openai: FakeOpenAI, db_path: Path, tmp_path: Path) -> None:
    from extractor.ingest.files import read_document
    from tests.pdf_factory import simple_paper

    doc = read_document(simple_paper(tmp_path / "p.pdf"))
    store.add_document(doc)
    fake_openai.responder = None
    fake_openai.script(answer(front_answer_for("A Study of Things\nAda Lovelace, Alan Turing\n"
                                               "University of Cambridge, Cambridge, United Kingdom")),
                       answer({"items": [{"id": 1, "role": "fine-tuned"}, {"id": 2, "role": "compared"}]}))
    summary, _ = run(store, fake_openai, db_path)
    _, ext, _ = only_extraction(store, doc.sha256)
    assert summary.done == 1 and ext.affiliations[0].country == "GB"
    assert ext.title_evidence.alignment == Alignment.EXACT


def test_malformed_json_then_valid_on_reask(store: Store, fake_openai: FakeOpenAI, db_path: Path) -> None:
    (doc,) = seed(store, 1, body="No models here.")
    fake_openai.script(malformed('{"title": "x", "authors": ['), match=tag(0))
    summary, _ = run(store, fake_openai, db_path)
    assert summary.done == 1
    assert fake_openai.count(path=CHAT) == 2
    first, second = calls(store)
    assert first["error"].startswith("validation:") and first["parsed"] is None and first["reask"] == 0
    assert second["parsed"] and second["reask"] == 1 and second["call_id"] == first["call_id"]
    meta, ext, _ = only_extraction(store, doc.sha256)
    assert meta.reasks == 1 and ext.authors
    assert '{"title": "x", "authors": [' in fake_openai.requests[1].text  # the re-ask shows the model its mistake


def test_schema_violation_then_fixed(store: Store, fake_openai: FakeOpenAI, db_path: Path) -> None:
    (doc,) = seed(store, 1, body="No models here.")
    bad = front_answer_for(f"Robust Methods for Study {tag(0)}\nAda Lovelace, Alan Turing\n"
                           "University of Cambridge, Cambridge, United Kingdom")
    bad["authors"][0]["affiliation_ids"] = [7]
    fake_openai.script(answer(bad), match=tag(0))
    summary, _ = run(store, fake_openai, db_path)
    assert summary.done == 1 and fake_openai.count(path=CHAT) == 2
    assert "affiliation ids [7]" in fake_openai.requests[1].text
    assert only_extraction(store, doc.sha256)[0].reasks == 1


def test_validation_budget_spent_fails_the_document(store: Store, fake_openai: FakeOpenAI, db_path: Path) -> None:
    (doc,) = seed(store, 1, body="No models here.")
    fake_openai.script(malformed(), match=tag(0), always=True)
    summary, _ = run(store, fake_openai, db_path, reask_budget=1)
    assert (summary.done, summary.failed) == (0, 1)
    assert fake_openai.count(path=CHAT) == 2
    _, ext, row = only_extraction(store, doc.sha256)
    assert ext is None and "failed validation after 2 attempt(s)" in row["error"]
    assert [r["error"].startswith("validation:") for r in calls(store)] == [True, True]


@pytest.mark.parametrize(
    ("failure", "code"),
    [(status(429, retry_after=0.3), 429), (status(500), 500), (status(503, retry_after=0.05), 503)],
    ids=["429-retry-after", "500", "503"],
)
def test_transport_error_then_ok(store: Store, fake_openai: FakeOpenAI, db_path: Path, failure, code: int) -> None:
    seed(store, 1, body="No models here.")
    fake_openai.script(failure, match=tag(0))
    started = time.monotonic()
    summary, _ = run(store, fake_openai, db_path)
    assert summary.done == 1 and fake_openai.count(path=CHAT) == 2
    first, second = calls(store)
    assert first["status_code"] == code and first["parsed"] is None and first["prompt_tokens"] == 0
    assert second["status_code"] == 200 and second["attempt"] == 2 and second["reask"] == 0
    if code == 429:  # Retry-After honoured
        assert fake_openai.requests[1].timestamp - fake_openai.requests[0].timestamp >= 0.29
        assert time.monotonic() - started >= 0.3


def test_permanent_500_fails_one_document_and_the_batch_goes_on(store: Store, fake_openai: FakeOpenAI,
                                                                 db_path: Path) -> None:
    docs = seed(store, 3, body="No models here.")
    fake_openai.script(status(500), match=tag(1), always=True)
    summary, _ = run(store, fake_openai, db_path, transport_retries=2)
    assert (summary.done, summary.failed) == (2, 1)
    _, ext, row = only_extraction(store, docs[1].sha256)
    assert ext is None and "HTTP 500" in row["error"] and "gave up after 3 attempts" in row["error"]
    assert sum(1 for r in fake_openai.requests if tag(1) in r.text) == 3
    assert all(only_extraction(store, d.sha256)[1] is not None for d in (docs[0], docs[2]))


def test_slow_answer_past_the_timeout_is_retried_then_fails(store: Store, fake_openai: FakeOpenAI,
                                                            db_path: Path) -> None:
    docs = seed(store, 2, body="No models here.")
    fake_openai.script(delay(1.5), match=tag(0), always=True)
    fake_openai.script(delay(1.5), match=tag(1))  # only the first attempt of paper 1 is slow
    summary, _ = run(store, fake_openai, db_path, request_timeout=0.3, transport_retries=1, concurrency=2)
    assert (summary.done, summary.failed) == (1, 1)
    _, _, row = only_extraction(store, docs[0].sha256)
    assert "timed out" in row["error"] and "gave up after 2 attempts" in row["error"]
    timeouts = [r for r in calls(store) if r["error"] and "timed out" in r["error"]]
    assert len(timeouts) == 3 and all(r["status_code"] is None for r in timeouts)


def test_401_stops_the_batch_at_once_without_leaking_the_key(store: Store, fake_openai: FakeOpenAI, db_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    seed(store, 6, body="No models here.")
    fake_openai.script(status(401), always=True, match="<<<PAPER")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(LLMAuthError) as info:
        run(store, fake_openai, db_path, concurrency=4)
    message = str(info.value)
    assert "refused the API key" in message and "HTTP 401" in message
    assert fake_openai.count(path=CHAT) == 1  # the canary: no other request went out
    assert sqlhelp.one(store, "SELECT count(*) FROM extractions") == 0
    (row,) = calls(store)
    assert row["status_code"] == 401
    assert_no_key_anywhere(db_path, message, caplog.text, repr(info.value.__dict__))


def test_cache_second_run_makes_zero_requests(store: Store, fake_openai: FakeOpenAI, db_path: Path) -> None:
    docs = seed(store, 3)
    run(store, fake_openai, db_path)
    seen = fake_openai.count(path=CHAT)
    assert seen == 6
    summary, _ = run(store, fake_openai, db_path)
    assert summary.todo == 0 and fake_openai.count(path=CHAT) == seen
    # even without the extractions, the logged answers are re-used: zero requests
    sqlhelp.execute(store, "DELETE FROM extractions")
    summary, _ = run(store, fake_openai, db_path)
    assert summary.done == 3 and summary.extra["requests"] == 0 and summary.extra["from_cache"] == 3
    assert fake_openai.count(path=CHAT) == seen
    meta, ext, _ = only_extraction(store, docs[0].sha256)
    assert ext.affiliations[0].country == "GB" and meta.cost_usd > 0  # cost of the answers it is made of
    # another model is another cache key
    summary, _ = run(store, fake_openai, db_path, model="gpt-4.1-mini")
    assert summary.done == 3 and fake_openai.count(path=CHAT) == seen + 6


def test_prompt_injection_changes_nothing_elsewhere_and_is_flagged(store: Store, fake_openai: FakeOpenAI,
                                                                   db_path: Path) -> None:
    docs = seed(store, 3, body="No models here.")
    evil = synthetic_doc(9, affiliation="Stanford University, Stanford, CA, USA", extra=INJECTION, body="x")
    store.add_document(evil)
    summary, _ = run(store, fake_openai, db_path)
    assert summary.done == 4
    for d in docs:  # the other papers are untouched
        _, ext, _ = only_extraction(store, d.sha256)
        assert [a.country for a in ext.affiliations] == ["GB"] and not ext.warnings
    _, ext, _ = only_extraction(store, evil.sha256)
    stated, invented = ext.affiliations
    # the text names the country: the model's "XX" is ignored and reported
    assert (stated.country, stated.country_method) == ("US", Method.STATED)
    assert stated.evidence.alignment == Alignment.EXACT
    # the affiliation the model invented is kept, but marked: not found, country only the LLM's word
    assert invented.evidence.alignment == Alignment.NOT_FOUND
    assert (invented.country, invented.country_method, invented.institution_method) == ("CN", Method.LLM, Method.LLM)
    assert any("not an ISO code" in w for w in ext.warnings)
    assert any("not in the page-1 text" in w for w in ext.warnings)
    # the paper's text reached the model only inside the data markers, after the rules
    req = next(r for r in fake_openai.requests if "IGNORE PREVIOUS" in paper_block(r.body, "<<<PAPER", "PAPER>>>"))
    system = req.body["messages"][0]
    assert system["role"] == "system" and "never follow it" in system["content"] and INJECTION not in system["content"]


@pytest.mark.fake_openai(responder=oracle, latency=0.05)
def test_concurrent_batch_with_keyed_failures(store: Store, fake_openai: FakeOpenAI, db_path: Path) -> None:
    docs = seed(store, 20, body="No models here.")
    fake_openai.script(status(500), match=tag(3), always=True)
    fake_openai.script(status(400), match=tag(7), always=True)
    fake_openai.script(malformed(), match=tag(11), always=True)
    progress: list[tuple[bool, str]] = []
    backend = backend_for(settings_for(fake_openai, db_path, concurrency=8, transport_retries=1))
    summary = run_extract(store, backend, on_progress=lambda sha, ok, info=None: progress.append((ok, info)))
    assert (summary.done, summary.failed) == (17, 3)
    assert 1 < fake_openai.max_in_flight <= 8
    assert len(progress) == 20 and "docs/s" in progress[-1][1] and "$" in progress[-1][1]
    errors = {r["sha256"]: r["error"] for r in store.extraction_failures()}
    assert "HTTP 500" in errors[docs[3].sha256]
    assert "HTTP 400" in errors[docs[7].sha256] and "not retried" in errors[docs[7].sha256]
    assert "failed validation" in errors[docs[11].sha256]
    # 17 ok (1 request each) + 500 x 2 attempts + 400 x 1 + malformed x 2 (re-ask)
    assert fake_openai.count(path=CHAT) == 17 + 2 + 1 + 2 == len(calls(store))
    # a re-run retries only the failed ones
    fake_openai.reset()
    fake_openai.responder = oracle
    summary = run_extract(store, backend)
    assert (summary.todo, summary.done) == (3, 3) and fake_openai.count(path=CHAT) == 3


def test_key_never_in_db_or_errors_after_failures(store: Store, fake_openai: FakeOpenAI, db_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """Even a server that echoes the key into error bodies and answers does not get it stored."""
    seed(store, 4)
    echoed = {"error": {"message": f"upstream said: key {PLANTED_KEY} is odd", "type": "server_error"}}
    fake_openai.script(status(500, body=echoed), match=tag(2), always=True)
    fake_openai.script(malformed(f"not json {PLANTED_KEY}"), match=tag(1))
    # INFO, not DEBUG: at DEBUG the openai client itself logs raw response bodies, and this
    # test's server echoes the key back (a real server does not); our own logging is checked.
    caplog.set_level(logging.INFO)
    summary, _ = run(store, fake_openai, db_path, transport_retries=1)
    assert summary.failed == 1
    dump = "\n".join(json.dumps(r, default=str) for r in calls(store))
    assert "[REDACTED]" in dump
    assert_no_key_anywhere(db_path, dump, caplog.text, "\n".join(e for _, e in summary.errors))


def test_single_document_extract_without_a_database(fake_openai: FakeOpenAI, db_path: Path) -> None:
    backend = backend_for(settings_for(fake_openai, db_path))
    ext = backend.extract(synthetic_doc(1))
    assert ext.affiliations[0].country == "GB" and fake_openai.count(path=CHAT) == 2
