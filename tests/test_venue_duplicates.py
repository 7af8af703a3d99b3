"""A metadata-only record a person holds or verified, and the PDF of the same paper arriving later."""

from __future__ import annotations

import hashlib
from pathlib import Path

from extractor import pipeline
from extractor.config import Settings
from extractor.reconcile.venue import DUPLICATE
from extractor.schemas import RecordStatus, paper_id_for, venue_paper_sha256
from tests import pdf_factory as pf

CAMBRIDGE = "University of Cambridge, Cambridge, United Kingdom"


def _listing(source_id: str, raw: str = CAMBRIDGE, title: str = "A Study of Things") -> dict:
    aff = {"raw": raw, "institution": None, "country_label": None}
    return {"source": "paperlists", "source_id": source_id, "venue": "nips", "year": 2018, "title": title,
            "authors": [{"name": "Ada Lovelace", "id": None, "email_domain": None, "affiliations": [aff]},
                        {"name": "Alan Turing", "id": None, "email_domain": None, "affiliations": [aff]}],
            "source_countries": [], "sha256": None}


def _decide(store, paper_id: str, status: RecordStatus, actor: str = "alice") -> None:
    record = store.get_record(paper_id)
    store.save_record(record.model_copy(update={"status": status}), expected_version=record.version,
                      action=status.value, actor=actor)


def _with_pdf(store, tmp_path, key: str) -> str:
    settings = Settings(db=tmp_path / "x.db")
    pdf = pf.simple_paper(tmp_path / "p.pdf")
    sha = hashlib.sha256(Path(pdf).read_bytes()).hexdigest()
    pipeline.ingest(store, settings, [pdf])
    assert store.link_venue_paper(key, sha)
    return sha


def test_a_verified_metadata_only_record_keeps_counting_and_the_pdf_record_stands_aside(store, tmp_path):
    settings = Settings(db=tmp_path / "x.db")
    # the listing places the paper in the US; a person verified that record as it is
    store.upsert_venue_papers([_listing("v1", raw="Stanford University, Stanford, CA, USA")])
    pipeline.run(store, settings, [])
    meta_pid = paper_id_for(venue_paper_sha256("paperlists:v1"))
    _decide(store, meta_pid, RecordStatus.VERIFIED)

    sha = _with_pdf(store, tmp_path, "paperlists:v1")
    summary = pipeline.run(store, settings, [])

    held = store.get_record(meta_pid)
    assert held.status == RecordStatus.VERIFIED and held.countries() == ["US"]  # the person's work is untouched
    pdf_record = store.get_record(paper_id_for(sha))
    assert pdf_record.status == RecordStatus.REJECTED
    reason = pdf_record.review_reasons[0]
    assert reason.code == DUPLICATE
    assert "a person verified the metadata-only record of this paper (paperlists:v1" in reason.message
    assert "this PDF reading says GB instead" in reason.message
    assert summary.headline["papers"] == 1  # counted once, with the verified answer
    assert [r["action"] for r in store.history(pdf_record.paper_id)][-1] == "duplicate"
    assert store.verify_log() == []
    # a further run changes nothing
    again = pipeline.run(store, settings, [])
    assert again.headline["papers"] == 1
    assert store.get_record(pdf_record.paper_id).version == pdf_record.version


def test_the_pdf_record_counts_again_when_the_persons_record_stops_counting(store, tmp_path):
    settings = Settings(db=tmp_path / "x.db")
    store.upsert_venue_papers([_listing("v2")])
    pipeline.run(store, settings, [])
    meta_pid = paper_id_for(venue_paper_sha256("paperlists:v2"))
    _decide(store, meta_pid, RecordStatus.IN_REVIEW)  # a person holds it
    sha = _with_pdf(store, tmp_path, "paperlists:v2")
    assert pipeline.run(store, settings, []).headline["papers"] == 1
    assert "a person is reviewing" in store.get_record(paper_id_for(sha)).review_reasons[0].message

    _decide(store, meta_pid, RecordStatus.REJECTED)  # the person drops the metadata-only record
    summary = pipeline.run(store, settings, [])
    pdf_record = store.get_record(paper_id_for(sha))
    assert pdf_record.status in (RecordStatus.MACHINE, RecordStatus.QUEUED)
    assert DUPLICATE not in {r.code for r in pdf_record.review_reasons}
    assert pdf_record.countries() == ["GB"]
    assert [r["action"] for r in store.history(pdf_record.paper_id)][-1] in ("restore", "route")
    assert summary.headline["papers"] == 1
    assert store.verify_log() == []


def test_a_pdf_record_a_person_rejected_is_never_restored(store, tmp_path):
    settings = Settings(db=tmp_path / "x.db")
    store.upsert_venue_papers([_listing("v3")])
    pipeline.run(store, settings, [])
    meta_pid = paper_id_for(venue_paper_sha256("paperlists:v3"))
    _decide(store, meta_pid, RecordStatus.VERIFIED)
    sha = _with_pdf(store, tmp_path, "paperlists:v3")
    pipeline.run(store, settings, [])
    pdf_pid = paper_id_for(sha)
    _decide(store, pdf_pid, RecordStatus.REJECTED, actor="bob")  # a person confirms the set-aside
    _decide(store, meta_pid, RecordStatus.REJECTED)
    pipeline.run(store, settings, [])
    assert store.get_record(pdf_pid).status == RecordStatus.REJECTED
    assert [r["actor"] for r in store.history(pdf_pid)][-1] == "bob"


def test_of_two_listings_of_one_paper_the_verified_record_is_the_one_kept(store, tmp_path):
    settings = Settings(db=tmp_path / "x.db")
    arxiv = {**_listing("x"), "source": "arxiv", "source_id": "2401.00001", "title": "A Study of Things (preprint)"}
    store.upsert_venue_papers([_listing("a1"), arxiv])
    pipeline.run(store, settings, [])  # two titles: two papers, two records
    arxiv_pid = paper_id_for(venue_paper_sha256("arxiv:2401.00001"))
    _decide(store, arxiv_pid, RecordStatus.VERIFIED)
    store.upsert_venue_papers([{**arxiv, "title": "A Study of Things"}])  # re-collected: the same paper after all
    summary = pipeline.run(store, settings, [])
    assert summary.headline["papers"] == 1
    assert store.get_record(arxiv_pid).status == RecordStatus.VERIFIED
    other = store.get_record(paper_id_for(venue_paper_sha256("paperlists:a1")))
    assert other.status == RecordStatus.REJECTED and other.review_reasons[0].code == "superseded"
