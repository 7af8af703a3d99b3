"""The second opinion: one narrow llm question per uncertain record, through the real llm
machinery and the loopback fake server; its answer is a review signal, never content."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.fake_openai import FakeOpenAI, answer
from extractor import pipeline
from extractor.extract.llm import second_opinion as so
from extractor.reconcile.merge import run_reconcile
from extractor.schemas import RecordStatus
from extractor.store import Store
from tests.test_llm_support import calls, settings_for
from tests.test_reconcile_fixtures import RULES, STANFORD, TSINGHUA, add_paper, aff, author, extraction


def uncertain_paper(store: Store, name: str = "p.pdf") -> str:
    """A rules-only record; Bob's e-mail is Chinese."""
    authors = [author("Alice Smith", [0], "alice@stanford.edu"), author("Bob Jones", [1], "bob@tsinghua.edu.cn")]
    return add_paper(store, name, [(RULES, extraction(authors=authors, affs=[aff(0, STANFORD, "US"), aff(1, TSINGHUA, "CN")]))])


def test_second_opinion_is_asked_logged_and_read_as_a_signal(store: Store, fake_openai: FakeOpenAI, db_path: Path) -> None:
    pid = uncertain_paper(store)
    run_reconcile(store)
    before = store.get_record(pid)
    fake_openai.script(answer({"units": [{"id": 0, "institution": "Stanford University", "country": "US"},
                                         {"id": 1, "institution": "Tsinghua University", "country": "JP"}]}), match=pid)
    settings = settings_for(fake_openai, db_path)
    summary = so.run_second_opinion(store, settings, band=(0.0, 1.01))
    assert (summary.candidates, summary.asked, summary.failed, summary.differs) == (1, 1, 0, 1)
    assert summary.cost_usd > 0 and summary.prompt_tokens > 0
    # the narrow question: each unit on its own, and the page's e-mail domains
    (req,) = fake_openai.requests
    text = req.text
    assert f"[1] {TSINGHUA}" in text and "tsinghua.edu.cn" in text
    assert req.body["tools"][0]["function"]["name"] == "UnitsAnswer"
    (row,) = calls(store)
    assert row["purpose"] == "second_opinion" and row["parsed"] and row["cost_usd"] > 0 and row["sha256"] == before.sha256
    # reconcile: same content, a reason naming both readings, queued
    run_reconcile(store)
    rec = store.get_record(pid)
    assert rec.countries() == ["CN", "US"] and rec.provenance.backends == ["rules"]
    reason = next(r for r in rec.review_reasons if r.code == "second_opinion")
    assert "JP, US instead of CN, US" in reason.message
    assert rec.status == RecordStatus.QUEUED and rec.confidence < before.confidence
    # asked again: the cache answers, nothing is sent
    again = so.run_second_opinion(store, settings, band=(0.0, 1.01))
    assert again.cached == 1 and len(fake_openai.requests) == 1


def test_an_agreeing_second_opinion_changes_nothing(store: Store, fake_openai: FakeOpenAI, db_path: Path) -> None:
    pid = uncertain_paper(store)
    run_reconcile(store)
    before = store.get_record(pid)
    fake_openai.script(answer({"units": [{"id": 0, "country": "US"}, {"id": 1, "country": "China"}]}), match=pid)
    summary = so.run_second_opinion(store, settings_for(fake_openai, db_path), band=(0.0, 1.01))
    assert summary.differs == 0
    run_reconcile(store)
    rec = store.get_record(pid)
    assert "second_opinion" not in {r.code for r in rec.review_reasons}
    assert rec.confidence == pytest.approx(before.confidence)


def test_only_records_in_the_uncertain_band_are_asked(store: Store, fake_openai: FakeOpenAI, db_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    pid = uncertain_paper(store)
    run_reconcile(store)
    conf_now = store.get_record(pid).confidence
    monkeypatch.setattr(so, "BAND", (0.0, conf_now))  # just below it: nothing to ask
    settings = settings_for(fake_openai, db_path, backends=["rules"])
    out = pipeline.reconcile(store, settings, second_opinion=True)
    assert out.second_opinion["candidates"] == 0 and not fake_openai.requests
    monkeypatch.setattr(so, "BAND", (0.0, 1.01))
    fake_openai.script(answer({"units": [{"id": 0, "country": "US"}, {"id": 1, "country": "JP"}]}), match=pid)
    out = pipeline.reconcile(store, settings, second_opinion=True)
    assert out.second_opinion["asked"] == 1 and out.second_opinion["differs"] == 1
    assert "second_opinion" in {r.code for r in store.get_record(pid).review_reasons}, "reconciled again afterwards"


def test_a_unit_the_second_opinion_cannot_place_keeps_the_records_country() -> None:
    from extractor.schemas import PaperRecord, Provenance

    record = PaperRecord(paper_id="p", sha256="s" * 64, source_file="p.pdf", provenance=Provenance(backend="rules"),
                         authors=[author("Alice Smith", [0]), author("Bob Jones", [1])],
                         affiliations=[aff(0, STANFORD, "US"), aff(1, TSINGHUA, "CN")])
    silent = so.to_extraction(record, so.UnitsAnswer(units=[so.UnitReading(id=0, country="US")]))
    assert so.read_countries(record, silent) == ["CN", "US"]
    other = so.to_extraction(record, so.UnitsAnswer(units=[so.UnitReading(id=1, country="Japan")]))
    assert so.read_countries(record, other) == ["JP", "US"]
