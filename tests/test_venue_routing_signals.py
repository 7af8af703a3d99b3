"""The venue source's own country labels as a routing signal (never an answer)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from extractor import pipeline
from extractor.config import Settings
from extractor.reconcile import confidence as conf
from extractor.reconcile.merge import build
from extractor.reconcile.signals import label_code
from extractor.schemas import (
    Affiliation,
    Author,
    Document,
    ExtractionMeta,
    PaperExtraction,
    RecordStatus,
    paper_id_for,
    venue_paper_sha256,
)
from tests import pdf_factory as pf


def _ext(units: dict[str, str], names: list[str]) -> PaperExtraction:
    affs = [Affiliation(id=i, raw=raw, country=c) for i, (raw, c) in enumerate(units.items())]
    return PaperExtraction(authors=[Author(name=n, affiliation_ids=[i % len(affs)]) for i, n in enumerate(names)],
                           affiliations=affs)


def _both(units: dict[str, str]) -> list[tuple[ExtractionMeta, PaperExtraction]]:
    names = ["Ann Lee", "Bo Chen"]
    return [(ExtractionMeta(backend="rules"), _ext(units, names)), (ExtractionMeta(backend="venue"), _ext(units, names))]


DOC = Document(sha256="c" * 64, source_file="c.pdf")
TW_US = {"National Taiwan University, Taipei, Taiwan": "TW", "Stanford University, Stanford, CA, USA": "US"}


def test_labels_that_differ_make_the_record_doubtful_and_name_both_sets():
    units = {"Acme Labs": "GB", "Stanford University, Stanford, CA, USA": "US"}
    quiet = build(DOC, _both(units), venue_labels=["United Kingdom", "United States"]).record
    built = build(DOC, _both(units), venue_labels=["Canada", "United States"])
    record = built.record
    reason = {r.code: r for r in record.review_reasons}["venue_labels_disagree"]
    assert reason.message.startswith("the venue lists countries CA, US; the record says GB, US")
    assert reason.detail["venue_labels"] == ["Canada", "United States"]
    assert record.status == RecordStatus.QUEUED
    assert "venue_labels_disagree" in built.signals.doubts
    assert built.signals.features["labels_disagree"] == 1.0
    assert record.confidence < quiet.confidence
    # the labels are never the answer: the record keeps its own countries, the labels are an alternative
    assert record.countries() == ["GB", "US"]
    assert {"set": ["CA", "US"], "wild": False, "why": "venue_labels"} in built.signals.alternatives


def test_taiwan_hong_kong_and_macao_labelled_china_are_no_disagreement():
    built = build(DOC, _both(TW_US), venue_labels=["China", "United States"])
    assert "venue_labels_disagree" not in {r.code for r in built.record.review_reasons}
    assert "labels_disagree" not in built.signals.features
    hk = {"The University of Hong Kong, Hong Kong": "HK", "Peking University, Beijing, China": "CN",
          "University of Macau, Macao": "MO"}
    assert "labels_disagree" not in build(DOC, _both(hk), venue_labels=["China"]).signals.features


def test_folded_places_still_disagree_on_the_other_countries():
    built = build(DOC, _both(TW_US), venue_labels=["China", "Japan"])
    reason = {r.code: r for r in built.record.review_reasons}["venue_labels_disagree"]
    assert reason.message.startswith("the venue lists countries CN, JP; the record says TW, US")
    # the alternative keeps the record's own TW where the source says China (it never reads TW)
    assert {"set": ["JP", "TW"], "wild": False, "why": "venue_labels"} in built.signals.alternatives


def test_unknown_or_missing_labels_say_nothing():
    assert label_code("Unknown") is None and label_code("South Korea") == "KR"
    assert label_code("Russian Federation") == "RU" and label_code("Czechia") == "CZ"
    for labels in (None, [], ["Unknown"]):
        assert "labels_disagree" not in build(DOC, _both(TW_US), venue_labels=labels).signals.features


def test_rules_with_venue_records_are_scored_by_their_own_fitted_set():
    built = build(DOC, _both(TW_US))
    assert conf.backend_set_of(built.signals.features) == conf.RULES_VENUE
    assert conf.RULES_VENUE in conf._fitted_priors()["country"]
    prior = conf.prior_coefficients(conf.COUNTRY, conf.RULES_VENUE)
    assert prior["labels_disagree"] < 0
    assert conf.default_models(conf.COUNTRY).model_for(built.signals.features).backend_set == conf.RULES_VENUE


def _listing(key: str, sha: str | None, labels: list[str], title: str = "A Study of Things") -> dict:
    aff = {"raw": "University of Cambridge, Cambridge, United Kingdom", "institution": None, "country_label": labels[0]}
    return {"source": "paperlists", "source_id": key, "venue": "nips", "year": 2018, "title": title,
            "authors": [{"name": "Ada Lovelace", "id": None, "email_domain": None, "affiliations": [aff]},
                        {"name": "Alan Turing", "id": None, "email_domain": None, "affiliations": [aff]}],
            "source_countries": labels, "sha256": sha}


def test_a_run_reads_the_labels_of_the_listing_linked_to_the_pdf(store, tmp_path):
    settings = Settings(db=tmp_path / "x.db")
    pdf = pf.simple_paper(tmp_path / "p.pdf")
    sha = hashlib.sha256(Path(pdf).read_bytes()).hexdigest()
    pipeline.ingest(store, settings, [pdf])
    store.upsert_venue_papers([_listing("p1", sha, ["United States"])])
    pipeline.run(store, settings, [])
    record = store.get_record(paper_id_for(sha))
    assert record.provenance.backends == ["rules", "venue"]
    assert record.countries() == ["GB"]  # the label (US) is never the answer
    reason = {r.code: r for r in record.review_reasons}["venue_labels_disagree"]
    assert "the venue lists countries US; the record says GB" in reason.message
    assert record.status == RecordStatus.QUEUED


def test_a_metadata_only_record_is_compared_with_its_own_listing_labels(store, tmp_path):
    store.upsert_venue_papers([_listing("m1", None, ["Canada"], "One Paper"),
                               _listing("m2", None, ["United Kingdom"], "Another Paper")])
    pipeline.run(store, Settings(db=tmp_path / "x.db"), [])
    m1 = store.get_record(paper_id_for(venue_paper_sha256("paperlists:m1")))
    m2 = store.get_record(paper_id_for(venue_paper_sha256("paperlists:m2")))
    assert m1.countries() == m2.countries() == ["GB"]
    assert "venue_labels_disagree" in {r.code for r in m1.review_reasons}
    assert "venue_labels_disagree" not in {r.code for r in m2.review_reasons}
