"""AggregateStore: the paged reads of aggregates, the report and export, on real SQLite."""

from __future__ import annotations

import json

import pytest

from extractor.errors import StoreError
from extractor.schemas import Document, ExtractionMeta, PaperRecord, RecordStatus
from extractor.store import Store
from extractor.store.aggregates import PAGE_SIZE
from tests.record_factory import add, paper, put, review


@pytest.fixture
def mixed(store: Store) -> Store:
    """Records of every status, two of them reviewed (one corrected), some in the audit."""
    put(store, paper("c-machine", [["US"], ["CN"]], models=[("Qwen", "used", "CN")], venue="ICML", year=2019))
    put(store, paper("a-queued", [["DE"]], status=RecordStatus.QUEUED, audit=True, title="Zeta"))
    add(store, "b-verified", [["US"]], truth=[["US"], ["GB"]], audit=True, title="alpha")
    add(store, "d-approved", [["FR"]], reviewed=True, title="Émile")
    rejected = put(store, paper("e-rejected", [["JP"]], audit=True))
    review(store, rejected.paper_id, status=RecordStatus.REJECTED)
    put(store, paper("f-none", [[None]], venue=None, year=None, title=None))
    return store


def ids(pages) -> list[str]:
    return [row["paper_id"] for page in pages for row in page]


def test_record_pages_walk_every_record_by_paper_id(mixed: Store) -> None:
    pages = list(mixed.record_pages(page_size=2))
    assert [len(p) for p in pages] == [2, 2, 2]
    assert ids(pages) == sorted(ids(pages)) == ["a-queued", "b-verified", "c-machine", "d-approved", "e-rejected", "f-none"]
    row = pages[1][0]
    assert set(row) == {"paper_id", "status", "version", "audit", "venue", "year", "title", "countries", "reasons",
                        "content"}
    assert (row["paper_id"], row["status"], row["countries"], row["content"]) == ("c-machine", "machine", ",CN,US,", None)


def test_record_pages_filter_statuses_and_carry_the_content_asked_for(mixed: Store) -> None:
    counted = ["machine", "verified"]
    assert ids(mixed.record_pages(counted, page_size=1)) == ["b-verified", "c-machine", "d-approved", "f-none"]
    assert list(mixed.record_pages([])) == []
    models = {r["paper_id"]: r["content"] for p in mixed.record_pages(counted, content="models") for r in p}
    assert json.loads(models["c-machine"])[0]["family"] == "Qwen"
    assert json.loads(models["f-none"]) == []
    records = {r["paper_id"]: r["content"] for p in mixed.record_pages(["verified"], content="record") for r in p}
    assert PaperRecord.model_validate_json(records["b-verified"]).countries() == ["GB", "US"]
    with pytest.raises(ValueError, match="content"):
        next(mixed.record_pages(content="everything"))  # type: ignore[arg-type]


def test_record_pages_have_a_last_partial_page_and_an_exact_one(store: Store) -> None:
    for i in range(5):
        put(store, paper(f"p{i}", [["US"]]))
    assert [len(p) for p in store.record_pages(page_size=5)] == [5]
    assert [len(p) for p in store.record_pages(page_size=2)] == [2, 2, 1]
    assert len(next(store.record_pages())) == 5 <= PAGE_SIZE


def test_record_pages_read_the_primary_key_range_not_a_sort(store: Store) -> None:
    plan = store.db.execute(
        "EXPLAIN QUERY PLAN SELECT paper_id FROM records WHERE paper_id > ? AND +status IN ('machine') "
        "ORDER BY paper_id LIMIT 10", [""]).fetchall()
    text = " ".join(str(r[-1]) for r in plan)
    assert "TEMP B-TREE" not in text and "paper_id>?" in text.replace(" ", "")


def test_listing_pages_follow_the_report_order(mixed: Store) -> None:
    order = ids(mixed.listing_pages(["machine", "queued", "verified"], page_size=2))
    # venue ("" first), year, title case-folded (é after z in code points, as Python sorts), id
    assert order == ["f-none", "c-machine", "b-verified", "a-queued", "d-approved"]
    rows = [r for p in mixed.listing_pages(["verified"], content="columns") for r in p]
    assert [r["content"] for r in rows] == [None, None]
    full = next(mixed.listing_pages(["verified"]))
    assert PaperRecord.model_validate_json(full[0]["content"]).paper_id == "b-verified"


def test_machine_versions_come_from_the_log(mixed: Store) -> None:
    found = mixed.machine_versions(["b-verified", "d-approved", "c-machine", "missing"])
    assert set(found) == {"b-verified", "d-approved"}  # c-machine: nobody changed it
    before = json.loads(found["b-verified"])
    assert [a["country"] for a in before["affiliations"]] == ["US"]  # the machine missed GB
    assert mixed.machine_versions([]) == {}


def test_a_machine_rewrite_after_a_review_resets_the_machine_version(store: Store) -> None:
    add(store, "x", [["US"]], truth=[["US"], ["CN"]])
    again = store.get_record("x").model_copy(update={"status": RecordStatus.QUEUED})
    store.save_record(again, expected_version=again.version, action="unverify", actor="bob")
    first = json.loads(store.machine_versions(["x"])["x"])
    assert [a["country"] for a in first["affiliations"]] == ["US"]  # the first human change's before
    # reconcile writes the machine's answer again: what came before no longer counts
    fresh = paper("x", [["DE"]])
    assert store.put_machine_record(fresh, input_key="new") == "updated"
    assert store.machine_versions(["x"]) == {}


def test_status_tallies_in_first_appearance_order(mixed: Store) -> None:
    rows = mixed.record_status_tallies()
    assert [r["status"] for r in rows] == ["queued", "verified", "machine", "rejected"]
    by = {r["status"]: (r["records"], r["audit"]) for r in rows}
    assert by == {"queued": (1, 1), "verified": (2, 1), "machine": (2, 0), "rejected": (1, 1)}


def test_provenance_tallies_and_reviewers(mixed: Store) -> None:
    rows = mixed.provenance_tallies()
    assert rows == [{"backend": "rules", "model": None, "prompt_version": None, "records": 6}]
    assert mixed.record_reviewers() == ["alice"]


def test_unrecorded_documents_and_failed_rows(store: Store) -> None:
    assert store.unrecorded_document_count() == 0
    assert list(store.failed_document_rows()) == []
    store.add_document(Document(sha256="b" * 64, source_file="b-broken.pdf", error="not a PDF", error_kind="not_pdf"))
    store.add_document(Document(sha256="a" * 64, source_file="a-empty.pdf"))
    for backend in ("rules", "llm"):
        store.save_extraction("a" * 64, ExtractionMeta(backend=backend), "k", None, error=f"{backend} broke")
    store.add_document(Document(sha256="c" * 64, source_file="c-fine.pdf"))
    put(store, paper("c" * 16, [["US"]]).model_copy(update={"sha256": "c" * 64}))
    assert store.unrecorded_document_count() == 2
    rows = list(store.failed_document_rows(page_size=1))
    assert [r["source_file"] for r in rows] == ["a-empty.pdf", "b-broken.pdf"]
    assert rows[0]["error_kind"] == "extraction" and rows[0]["error"] in ("llm: llm broke | rules: rules broke",
                                                                           "rules: rules broke | llm: llm broke")
    assert sorted(rows[0]["backend"].split("+")) == ["llm", "rules"]
    assert rows[1] == {"sha256": "b" * 64, "source_file": "b-broken.pdf", "error": "not a PDF",
                       "error_kind": "not_pdf", "backend": None}


def test_read_snapshot_sees_one_state(store: Store, store_factory) -> None:
    put(store, paper("p1", [["US"]]))
    writer = store_factory()
    with store.read_snapshot():
        assert [r["records"] for r in store.record_status_tallies()] == [1]
        put(writer, paper("p2", [["US"]]))
        assert [r["records"] for r in store.record_status_tallies()] == [1]  # not yet
        with store.read_snapshot():  # nested: the same snapshot
            assert ids(store.record_pages()) == ["p1"]
    assert [r["records"] for r in store.record_status_tallies()] == [2]


def test_bulk_load_writes_records_log_and_signals(store: Store) -> None:
    machine = paper("m1", [["US"], ["CN"]], models=[("Qwen", "used", "CN")]).model_copy(update={"version": 2})
    human = paper("h1", [["US"], ["GB"]], status=RecordStatus.VERIFIED, audit=True).model_copy(update={"version": 3})
    plain = paper("p1", [["DE"]])
    before = paper("h1", [["US"]]).content().model_dump_json(exclude_none=True)

    def row(rec: PaperRecord, **extra) -> dict:
        out = Store._record_row(rec, rec.model_dump_json(exclude_none=True))
        out.pop("version")
        return out | {"input_key": rec.paper_id} | extra

    signals = {"paper_id": "m1", "input_key": "k", "countries": '["CN", "US"]', "families": '["Qwen"]',
               "features": "{}", "model_features": "{}", "alternatives": "[]"}
    n = store.bulk_load_records([row(machine, signals=signals, routed=True),
                                 row(human, machine_content=before, reviewer="carol", routed=True),
                                 row(plain)])
    assert n == 3 and store.bulk_load_records([]) == 0
    assert store.get_record("m1").countries() == ["CN", "US"]
    assert [store.get_record(p).version for p in ("m1", "h1", "p1")] == [2, 3, 1]
    assert store.verify_log() == []  # the chain is whole and matches the records
    assert [r["action"] for r in store.history("h1")] == ["create", "route", "correct"]
    assert [r["actor"] for r in store.history("h1")] == ["machine", "machine", "carol"]
    assert json.loads(store.machine_versions(["h1"])["h1"])["affiliations"][0]["country"] == "US"
    assert store.machine_versions(["m1", "p1"]) == {}
    assert store.review_signal_keys() == {"m1": "k"}
    assert int(store.db.execute("PRAGMA cache_size").fetchone()[0]) == -2000  # restored
    with pytest.raises(StoreError):
        store.bulk_load_records([row(plain)])  # the paper is there already
