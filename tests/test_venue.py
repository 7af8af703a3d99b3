"""The venue backend: venue metadata as an extraction, metadata-only records, and reconcile with the PDF.

Real SQLite stores, real PDFs (tests/pdf_factory.py), the offline rules backend and the
shared resolver; nothing touches the network.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from extractor import pipeline
from extractor.config import Settings
from extractor.evaluation.venue import evaluate_venue_labels, label_code, render_venue_labels
from extractor.extract.base import available_backends
from extractor.extract.venue import VenueBackend, positions_at, read_paper
from extractor.reconcile.merge import build
from extractor.resolve import get_resolver
from extractor.schemas import (
    Affiliation,
    Author,
    Document,
    ExtractionMeta,
    FrontMatter,
    PaperExtraction,
    RecordStatus,
    paper_id_for,
    venue_paper_sha256,
)
from tests import pdf_factory as pf


def _author(name: str, *affs: tuple[str, str | None], domain: str | None = None, pid: str | None = None) -> dict:
    return {"name": name, "id": pid, "email_domain": domain,
            "affiliations": [{"raw": raw, "institution": None, "country_label": label} for raw, label in affs]}


def _paper(source_id: str, authors: list[dict], *, year: int = 2018, title: str = "A Study of Things",
           labels: list[str] | None = None, sha256: str | None = None) -> dict:
    return {"source": "paperlists", "source_id": source_id, "venue": "nips", "year": year, "title": title,
            "authors": authors, "source_countries": labels or [], "sha256": sha256}


# --------------------------------------------------------------------------- reading


def test_countries_come_from_the_resolver_never_from_the_source_label():
    row = _paper("p1", [
        _author("Ann Lee", ("Department of Computer Science, The University of Hong Kong, Hong Kong", "China")),
        _author("Bo Chen", ("Massachusetts Institute of Technology, Cambridge, MA, USA", "Japan")),
        _author("Cy Wu", ("National Taiwan University, Taipei", "China")),
    ])
    ext = read_paper(row, {}, get_resolver())
    # the source folds Hong Kong and Taiwan into China and mislabels MIT: every label is ignored
    assert ext.countries() == ["HK", "TW", "US"]
    assert [a.name for a in ext.authors] == ["Ann Lee", "Bo Chen", "Cy Wu"]
    assert ext.author_countries() == [["HK"], ["US"], ["TW"]]


def test_one_affiliation_shared_by_authors_is_one_unit():
    raw = "Nanjing University, Nanjing, China"
    row = _paper("p2", [_author("A One", (raw, "China")), _author("B Two", (raw, "China"))])
    ext = read_paper(row, {}, get_resolver())
    assert len(ext.affiliations) == 1
    assert [a.affiliation_ids for a in ext.authors] == [[0], [0]]


HISTORY = [
    {"position": "PhD student", "institution": "Stanford University", "domain": "stanford.edu", "start": 2014, "end": 2019},
    {"position": "Researcher", "institution": "Tsinghua University", "domain": "tsinghua.edu.cn", "start": 2020, "end": None},
]


def test_the_position_held_at_the_paper_date_counts_not_the_latest():
    held, why = positions_at(HISTORY, 2018)
    assert [p["institution"] for p in held] == ["Stanford University"] and why is None
    held, _ = positions_at(HISTORY, 2023)
    assert [p["institution"] for p in held] == ["Tsinghua University"]


def test_no_position_covering_the_year_gives_no_affiliation():
    held, why = positions_at([{"institution": "Tsinghua University", "domain": "tsinghua.edu.cn", "start": 2021, "end": None}],
                             2018)
    assert held == [] and "2018" in why


def test_several_positions_at_the_date_all_count():
    history = [*HISTORY, {"institution": "Google", "domain": "google.com", "start": 2017, "end": 2018}]
    held, _ = positions_at(history, 2018)
    assert {p["institution"] for p in held} == {"Stanford University", "Google"}


def test_openreview_authors_read_through_profiles_at_the_paper_year():
    row = _paper("or1", [
        {"name": "Moved Later", "id": "~Moved_Later1", "affiliations": []},
        {"name": "No Profile", "id": "~No_Profile1", "affiliations": []},
    ], year=2018)
    profiles = {"~Moved_Later1": {"profile_id": "~Moved_Later1", "history": HISTORY}}
    ext = read_paper(row, profiles, get_resolver())
    assert ext.author_countries() == [["US"], []]  # Stanford in 2018, not Tsinghua (today)
    assert any("No Profile" in w for w in ext.warnings)


# --------------------------------------------------------------------------- reconcile with the PDF


def _ext(countries: dict[str, str], names: list[str]) -> PaperExtraction:
    affs = [Affiliation(id=i, raw=raw, country=c) for i, (raw, c) in enumerate(countries.items())]
    return PaperExtraction(authors=[Author(name=n, affiliation_ids=[i % len(affs)]) for i, n in enumerate(names)],
                           affiliations=affs)


def test_a_venue_reading_that_disagrees_is_a_reason_naming_both_readings():
    # page 1 prints Stanford only: the venue's Tsinghua is not printed, so reconcile does not add it
    doc = Document(sha256="a" * 64, source_file="a.pdf",
                   front=FrontMatter(text="A Study of Things\nAnn Lee, Bo Chen\nStanford University"))
    rules = _ext({"Stanford University": "US"}, ["Ann Lee", "Bo Chen"])
    venue = _ext({"Stanford University": "US", "Tsinghua University": "CN"}, ["Ann Lee", "Bo Chen"])
    built = build(doc, [(ExtractionMeta(backend="rules"), rules), (ExtractionMeta(backend="venue"), venue)])
    reasons = {r.code: r for r in built.record.review_reasons}
    assert reasons["venue_disagrees"].message.startswith("the venue's metadata says CN, US; the PDF says US")
    assert "backends_disagree" not in reasons
    assert built.record.status == RecordStatus.QUEUED
    assert built.record.provenance.backend == "rules+venue"


def test_a_venue_reading_that_agrees_raises_confidence():
    doc = Document(sha256="b" * 64, source_file="b.pdf")
    rules = _ext({"Stanford University": "US"}, ["Ann Lee"])
    alone = build(doc, [(ExtractionMeta(backend="rules"), rules)]).record
    agreed = build(doc, [(ExtractionMeta(backend="rules"), rules),
                         (ExtractionMeta(backend="venue"), _ext({"Stanford University": "US"}, ["Ann Lee"]))]).record
    assert agreed.confidence > alone.confidence
    assert "venue_disagrees" not in {r.code for r in agreed.review_reasons}


# --------------------------------------------------------------------------- metadata-only records


def test_venue_is_a_registered_backend():
    assert "venue" in available_backends()


def _metadata_store(store) -> list[dict]:
    rows = [
        _paper("m1", [_author("Ann Lee", ("Stanford University, Stanford, CA, USA", "United States")),
                      _author("Bo Chen", ("Tsinghua University, Beijing, China", "China"))],
               labels=["China", "United States"]),
        _paper("m2", [_author("Cy Dee", ("The Chinese University of Hong Kong, Hong Kong", "China"))],
               labels=["China"]),
        _paper("m3", [_author("Di Eve", ("University of Oxford, Oxford, UK", "United Kingdom"))],
               labels=["United States"]),
    ]
    store.upsert_venue_papers(rows)
    return rows


def test_run_without_paths_gives_metadata_only_records(store, tmp_path):
    _metadata_store(store)
    summary = pipeline.run(store, Settings(db=tmp_path / "x.db"), [])
    assert [s.backend for s in summary.extract] == ["rules", "venue"]
    assert summary.reconcile.metadata_only["created"] == 3
    record = store.get_record(paper_id_for(venue_paper_sha256("paperlists:m1")))
    assert record.countries() == ["CN", "US"]
    assert record.provenance.backend == "venue"
    assert record.source_file == "paperlists:m1"
    assert record.status in (RecordStatus.MACHINE, RecordStatus.QUEUED)
    assert store.get_record(paper_id_for(venue_paper_sha256("paperlists:m2"))).countries() == ["HK"]
    assert summary.headline["papers"] == 3
    # a second run rewrites nothing
    again = pipeline.run(store, Settings(db=tmp_path / "x.db"), [])
    assert again.reconcile.metadata_only == {"created": 0, "updated": 0, "unchanged": 3, "superseded": 0,
                                             "no_affiliations": 0}
    assert store.get_record(record.paper_id).version == record.version


def test_eval_lists_disagreements_with_the_source_labels(store, tmp_path):
    _metadata_store(store)
    pipeline.run(store, Settings(db=tmp_path / "x.db"), [])
    report = evaluate_venue_labels(store)
    assert (report.compared, report.agree) == (3, 2)  # HK counts as the source's "China" when comparing
    [d] = report.disagreements
    assert (d.key, d.ours, d.source) == ("paperlists:m3", ["GB"], ["US"])
    assert report.ours_pair == report.source_pair == 1
    assert "paperlists:m3" in render_venue_labels(report)
    assert label_code("Unknown") is None and label_code("United States") == "US"
    assert label_code("USA") == "US" and label_code("UK") == "GB" and label_code("P.R. China") == "CN"


def test_a_pdf_linked_later_supersedes_the_metadata_only_record(store, tmp_path):
    settings = Settings(db=tmp_path / "x.db")
    store.upsert_venue_papers([_paper("m9", [_author("Ada Lovelace", ("University of Cambridge, Cambridge, United Kingdom",
                                                                       "United Kingdom")),
                                             _author("Alan Turing", ("University of Cambridge, Cambridge, United Kingdom",
                                                                      "United Kingdom"))])])
    pipeline.run(store, settings, [])
    meta_pid = paper_id_for(venue_paper_sha256("paperlists:m9"))
    assert store.get_record(meta_pid).status in (RecordStatus.MACHINE, RecordStatus.QUEUED)

    pdf = pf.simple_paper(tmp_path / "m9.pdf")
    sha = hashlib.sha256(Path(pdf).read_bytes()).hexdigest()
    pipeline.ingest(store, settings, [pdf])
    assert store.link_venue_paper("paperlists:m9", sha)
    summary = pipeline.run(store, settings, [])
    assert summary.reconcile.metadata_only["superseded"] == 1

    retired = store.get_record(meta_pid)
    assert retired.status == RecordStatus.REJECTED and not retired.audit
    assert retired.review_reasons[0].code == "superseded"
    doc_record = store.get_record(paper_id_for(sha))
    assert doc_record.provenance.backends == ["rules", "venue"]
    assert summary.headline["papers"] == 1  # counted once
    assert store.verify_log() == []
    # nothing more to do on a third run
    again = pipeline.run(store, settings, [])
    assert again.reconcile.metadata_only["superseded"] == 0


def test_documents_no_venue_lists_are_skipped_not_failed(store, tmp_path):
    settings = Settings(db=tmp_path / "x.db")
    pipeline.ingest(store, settings, [pf.simple_paper(tmp_path / "a.pdf")])
    store.upsert_venue_papers([_paper("z1", [_author("Ann Lee", ("Stanford University", None))])])
    counts = VenueBackend().extract_many(store, store.document_hashes(), run_id=None)
    assert counts["failed"] == 0 and counts["no_metadata"] == 1 and counts["metadata_only"] == 1


@pytest.mark.parametrize("year,expected", [(2016, ["US"]), (2021, ["CN"]), (2012, None)])
def test_profile_positions_follow_the_paper_year_in_a_run(store, tmp_path, year, expected):
    store.upsert_venue_papers([{"source": "openreview", "source_id": f"n{year}", "venue": "X", "year": year,
                                "title": "T", "authors": [{"name": "Moved Later", "id": "~Moved_Later1",
                                                           "affiliations": []}]}])
    store.upsert_author_profiles([{"profile_id": "~Moved_Later1", "names": ["Moved Later"], "history": HISTORY}])
    pipeline.run(store, Settings(db=tmp_path / "x.db"), [])
    pid = paper_id_for(venue_paper_sha256(f"openreview:n{year}"))
    if expected is None:  # no position held then: the listing says nothing, so no record (not the latest position)
        assert store.count_records() == 0
    else:
        assert store.get_record(pid).countries() == expected


def test_a_profile_fetched_later_updates_the_metadata_only_record(store, tmp_path):
    settings = Settings(db=tmp_path / "x.db")
    store.upsert_venue_papers([{"source": "openreview", "source_id": "late", "venue": "X", "year": 2018, "title": "T",
                                "authors": [{"name": "Moved Later", "id": "~Moved_Later1", "affiliations": []},
                                            {"name": "No Profile", "id": "np@ust.hk", "affiliations": []}]}])
    pipeline.run(store, settings, [])
    pid = paper_id_for(venue_paper_sha256("openreview:late"))
    assert store.get_record(pid).countries() == ["HK"]  # the e-mail id's domain; no profile for the other yet
    store.upsert_author_profiles([{"profile_id": "~Moved_Later1", "names": ["Moved Later"], "history": HISTORY}])
    summary = pipeline.run(store, settings, [])
    assert summary.extract[-1].extra["metadata_only"] == 1
    assert store.get_record(pid).countries() == ["HK", "US"]


def test_a_linked_documents_reading_follows_the_metadata(store, tmp_path):
    settings = Settings(db=tmp_path / "x.db")
    pdf = pf.simple_paper(tmp_path / "a.pdf")
    sha = hashlib.sha256(Path(pdf).read_bytes()).hexdigest()
    pipeline.ingest(store, settings, [pdf])
    store.upsert_venue_papers([_paper("l1", [_author("Ada Lovelace", ("University of Cambridge", None))], sha256=sha)])
    pipeline.run(store, settings, [])
    store.upsert_venue_papers([_paper("l1", [_author("Ada Lovelace", ("University of Cambridge", None)),
                                             _author("Alan Turing", ("Stanford University", None))])])
    summary = pipeline.run(store, settings, [])
    assert summary.extract[-1].extra["refreshed"] == 1
    [venue] = [e for m, e, _ in store.extractions_for(sha) if m.backend == "venue"]
    assert venue.countries() == ["GB", "US"]
    assert "venue_disagrees" in {r.code for r in store.get_record(paper_id_for(sha)).review_reasons}


def test_a_listing_without_affiliations_makes_no_record(store, tmp_path):
    store.upsert_venue_papers([{"source": "arxiv", "source_id": "2401.00001", "venue": "arxiv", "year": 2024,
                                "title": "T", "authors": [{"name": "Ann Lee", "id": None, "affiliations": []}]}])
    summary = pipeline.run(store, Settings(db=tmp_path / "x.db"), [])
    assert summary.reconcile.metadata_only["no_affiliations"] == 1
    assert store.count_records() == 0


def test_venue_metadata_read_for_an_empty_pdf_reading_keeps_its_countries():
    # the PDF reading found nothing; the venue's affiliation is not printed on page 1 as the venue spells it
    doc = Document(sha256="c" * 64, source_file="c.pdf", front=FrontMatter(text="A Study of Things\nAnn Lee"))
    built = build(doc, [(ExtractionMeta(backend="rules"), PaperExtraction()),
                        (ExtractionMeta(backend="venue"), _ext({"Stanford University": "US"}, ["Ann Lee"]))])
    assert built.record.countries() == ["US"]
    assert "country_withheld" not in {r.code for r in built.record.review_reasons}


def test_two_sources_listing_one_paper_give_one_record(store, tmp_path):
    settings = Settings(db=tmp_path / "x.db")
    authors = [_author("Ann Lée", ("Stanford University, Stanford, CA, USA", "United States"))]
    store.upsert_venue_papers([
        _paper("d1", authors, title="Learning Things, Fast!"),
        {"source": "openreview", "source_id": "abcXYZ", "venue": "NeurIPS.cc/2018/Conference", "year": 2018,
         "title": "Learning things fast", "authors": [{"name": "Ann Lee", "id": "ann@stanford.edu", "affiliations": []}]},
    ])
    summary = pipeline.run(store, settings, [])
    assert summary.reconcile.metadata_only["created"] == 1
    assert summary.headline["papers"] == 1
    kept = store.get_record(paper_id_for(venue_paper_sha256("paperlists:d1")))
    assert kept.status in (RecordStatus.MACHINE, RecordStatus.QUEUED)
    # the PDF arrives through the OpenReview listing: the paperlists record is superseded too
    pdf = pf.simple_paper(tmp_path / "d1.pdf", title="Learning Things, Fast!", authors="Ann Lee")
    sha = hashlib.sha256(Path(pdf).read_bytes()).hexdigest()
    pipeline.ingest(store, settings, [pdf])
    store.link_venue_paper("openreview:abcXYZ", sha)
    summary = pipeline.run(store, settings, [])
    assert store.get_record(kept.paper_id).status == RecordStatus.REJECTED
    assert summary.headline["papers"] == 1
