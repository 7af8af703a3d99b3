"""The store's routing and queue methods (QueueStore), on a real SQLite file.

Records go in through the store's public writers (``put_machine_record``,
``put_review_signals``, ``save_record``); the answers are checked against values worked
out by hand.
"""

from __future__ import annotations

import json

import pytest

from extractor.schemas import RecordStatus, ReviewReason
from extractor.store import Store
from extractor.store.queue import QueueFilter
from tests.record_factory import paper

#: paper id -> (status, priority, confidence, venue, countries, reason codes)
ROWS = {
    "p1": (RecordStatus.QUEUED, 0.6, 0.4, "ICML", [["US"], ["CN"]], ["backends_disagree"]),
    "p2": (RecordStatus.QUEUED, 0.6, 0.4, "NeurIPS", [["DE"]], ["country_inferred"]),
    "p3": (RecordStatus.QUEUED, 0.6, 0.2, "NeurIPS", [["US"]], ["backends_disagree", "reasked"]),
    "p4": (RecordStatus.QUEUED, 0.9, 0.7, "NeurIPS", [["CN"]], []),
    "p5": (RecordStatus.QUEUED, None, None, "NeurIPS", [["FR"]], []),
    "p6": (RecordStatus.MACHINE, 0.01, 0.99, "NeurIPS", [["US"], ["CN"]], []),
    "p7": (RecordStatus.MACHINE, 0.0, 0.99, "ICML", [["GB"]], []),
}
#: The documented priority order of the queued ones: priority (highest first, missing last),
#: then confidence (lowest first), then paper id.
QUEUED_ORDER = ["p4", "p3", "p1", "p2", "p5"]


def _fill(store: Store) -> None:
    for pid, (status, priority, confidence, venue, countries, codes) in ROWS.items():
        record = paper(pid, countries, status=status, venue=venue).model_copy(update={
            "priority": priority, "confidence": confidence,
            "review_reasons": [ReviewReason(code=c, message=c) for c in codes]})
        store.put_machine_record(record, input_key=f"k-{pid}")
        store.put_review_signals({"paper_id": pid, "input_key": f"k-{pid}",
                                  "countries": json.dumps(sorted({c for cs in countries for c in cs})),
                                  "features": json.dumps({"backends_disagree": float("backends_disagree" in codes)}),
                                  "model_features": "{}", "alternatives": "[]"})


def _ids(rows) -> list[str]:
    return [r["paper_id"] for r in rows]


@pytest.fixture
def filled(store: Store) -> Store:
    _fill(store)
    return store


# --------------------------------------------------------------------------- queue pages


@pytest.mark.parametrize("batch", [1, 2, 3, 200])
def test_queue_rows_come_in_priority_order_whatever_the_page_size(filled: Store, batch: int) -> None:
    assert _ids(filled.queue_rows(None, ["queued"], None, batch=batch)) == QUEUED_ORDER
    both = _ids(filled.queue_rows(None, ["queued", "machine"], None, batch=batch))
    assert both == QUEUED_ORDER[:-1] + ["p6", "p7", "p5"], "statuses merged in one priority order"


def test_queue_rows_filter_by_venue_reason_and_country(filled: Store) -> None:
    assert _ids(filled.queue_rows(QueueFilter(venue="icml"), ["queued"], None)) == ["p1"]
    assert _ids(filled.queue_rows(QueueFilter(reason="backends_disagree"), ["queued"], None)) == ["p3", "p1"]
    assert _ids(filled.queue_rows(QueueFilter(country="us"), ["queued", "machine"], None)) == ["p3", "p1", "p6"]
    assert _ids(filled.queue_rows(QueueFilter(reason="reasked", country="DE"), ["queued"], None)) == []


def test_queue_rows_audit_order_is_the_draw_and_reviewer_rows_join(filled: Store) -> None:
    for pid in ("p2", "p4", "p5"):
        r = filled.get_record(pid)
        filled.save_record(r.model_copy(update={"audit": True}), expected_version=r.version, action="t", actor="t")
    filled.set_audit_frame([("p2", 0.5), ("p4", 0.25)])  # p5 has no draw: it comes last
    assert _ids(filled.queue_rows(None, ["queued"], True, batch=1)) == ["p4", "p2", "p5"]
    assert _ids(filled.queue_rows(None, ["queued"], False)) == ["p3", "p1"]
    r = filled.get_record("p1")
    held = r.model_copy(update={"status": RecordStatus.IN_REVIEW,
                                "provenance": r.provenance.model_copy(update={"reviewer": "ana"})})
    filled.save_record(held, expected_version=r.version, action="claim", actor="ana")
    assert _ids(filled.queue_rows(QueueFilter(reviewer="ana"), ["queued"], False)) == ["p3", "p1"]
    assert _ids(filled.queue_rows(QueueFilter(reviewer="ben"), ["queued"], False)) == ["p3"]
    assert _ids(filled.queue_rows(None, ["in_review"], None, reviewer="ana")) == ["p1"]
    assert _ids(filled.queue_rows(None, ["in_review"], None, reviewer="ben")) == []
    row = next(iter(filled.queue_rows(None, ["queued"], None)))
    assert (row["priority"], row["p_wrong"], row["ccol"], row["venue"]) == (0.9, pytest.approx(0.3), ",CN,", "NeurIPS")


def test_count_groups_and_priority_mass(filled: Store) -> None:
    groups = {(g["status"], g["audit"], g["reasons"]): (g["n"], g["mass"]) for g in filled.queue_count_groups()}
    assert groups[("queued", 0, ",backends_disagree,")] == (1, 0.6)
    assert groups[("queued", 0, ",")] == (2, 0.9)  # p4 and p5 (no priority counts 0)
    assert groups[("machine", 0, ",")] == (2, 0)  # confident records are not waiting
    assert sum(n for n, _ in groups.values()) == 7
    assert {g["n"] for g in filled.queue_count_groups(QueueFilter(venue="ICML"))} == {1}
    # The mass of progress is routing's signals priority: none stored yet, so zero everywhere.
    assert {(g["status"], g["mass"]) for g in filled.priority_mass()} == {("queued", 0.0), ("machine", 0.0)}
    filled.set_routing([{"paper_id": "p1", "p_wrong": 0.6, "p_wrong_models": 0.1, "impact": 1.0, "priority": 0.6,
                         "frame_u": None, "audit": False, "routed_at": "t"},
                        {"paper_id": "p6", "p_wrong": 0.01, "p_wrong_models": 0.1, "impact": 1.0,
                         "priority": 0.01, "frame_u": 0.3, "audit": False, "routed_at": "t"}])
    mass = {(g["status"], g["audit"]): (g["mass"], g["n"]) for g in filled.priority_mass()}
    assert mass == {("queued", 0): (0.6, 5), ("machine", 0): (0.01, 2)}


def test_audit_members_in_draw_order(filled: Store) -> None:
    for pid in ("p6", "p7", "p2"):
        r = filled.get_record(pid)
        filled.save_record(r.model_copy(update={"audit": True}), expected_version=r.version, action="t", actor="t")
    filled.set_audit_frame([("p6", 0.9), ("p7", 0.1)])
    assert filled.audit_members() == ["p7", "p6", "p2"]


# --------------------------------------------------------------------------- routing reads


def test_routing_rows_page_by_paper_id(filled: Store) -> None:
    filled.put_machine_record(paper("p0", [["US"]]), input_key="k-p0")  # a record without signals
    first = filled.routing_rows(None, 3)
    assert _ids(first) == ["p0", "p1", "p2"]
    assert first[0]["has_signals"] == 0 and first[0]["features"] is None
    assert first[1]["has_signals"] == 1 and json.loads(first[1]["features"]) == {"backends_disagree": 1.0}
    assert _ids(filled.routing_rows("p2", 3)) == ["p3", "p4", "p5"]
    assert _ids(filled.routing_rows("p5", 3)) == ["p6", "p7"]
    assert _ids(filled.routing_rows_for(["p7", "p1", "nope", "p1"])) == ["p1", "p7"]
    assert "data" not in first[0]


def test_record_json_and_country_counts(filled: Store) -> None:
    data = filled.record_json_for(["p2", "p6", "nope"])
    assert set(data) == {"p2", "p6"} and json.loads(data["p2"])["paper_id"] == "p2"
    assert filled.country_counts_of_signals() == {"US": 3, "CN": 3, "DE": 1, "FR": 1, "GB": 1}
    assert filled.count_review_signals() == 7


# --------------------------------------------------------------------------- the audit frame


def test_audit_frame_walks_by_draw_both_ways(filled: Store) -> None:
    filled.set_audit_frame([("p1", 0.5), ("p2", 0.25), ("p3", 0.25), ("p6", 0.75)])
    assert filled.audit_frame_size() == 4
    assert filled.audit_frame_after(None, 2) == [(0.25, "p2"), (0.25, "p3")]
    assert filled.audit_frame_after((0.25, "p2"), 10) == [(0.25, "p3"), (0.5, "p1"), (0.75, "p6")]
    assert filled.audit_frame_upto((0.5, "p1"), 2) == [(0.5, "p1"), (0.25, "p3")]
    assert filled.audit_frame_upto((0.4, "zz"), 5) == [(0.25, "p3"), (0.25, "p2")]
    assert filled.audit_frame_upto(None, 5) == [] and filled.audit_frame_after(None, 0) == []
    filled.set_audit_frame([("p3", None)])
    assert filled.audit_frame_size() == 3 and filled.audit_frame_after(None, 1) == [(0.25, "p2")]


def test_set_routing_keeps_the_first_draw_time_and_clears_it_on_leaving(filled: Store) -> None:
    def row(audit: bool, at: str) -> dict:
        return {"paper_id": "p6", "p_wrong": 0.25, "p_wrong_models": 0.5, "impact": 2.0, "priority": 0.5,
                "frame_u": 0.125, "audit": audit, "routed_at": at}

    def signals() -> tuple:
        return filled.db.execute("SELECT p_wrong, p_wrong_models, impact, priority, audit_u, audit, audit_drawn_at, "
                                 "routed_at FROM review_signals WHERE paper_id = 'p6'").fetchone()

    filled.set_routing([row(True, "t1")])
    assert signals() == (0.25, 0.5, 2.0, 0.5, 0.125, 1, "t1", "t1")
    filled.set_routing([row(True, "t2")])
    assert signals()[6:] == ("t1", "t2"), "drawn at the first draw"
    filled.set_routing([row(False, "t3")])
    assert signals()[5:] == (0, None, "t3")


# --------------------------------------------------------------------------- machine rewrites


def test_machine_rewrite_writes_a_version_and_its_log_row(filled: Store) -> None:
    before = filled.get_record("p6")
    head = filled.last_log_id()
    new = before.model_copy(update={"status": RecordStatus.QUEUED, "audit": True, "priority": 0.02})
    assert filled.machine_rewrite_record(new, "route", expected_version=before.version)
    after = filled.get_record("p6")
    assert (after.version, after.status, after.audit) == (before.version + 1, RecordStatus.QUEUED, True)
    entries = filled.log_entries_after(head)
    assert [(e["paper_id"], e["actor"], e["action"]) for e in entries] == [("p6", "machine", "route")]
    assert filled.last_log_id() == entries[0]["id"]
    assert not filled.machine_rewrite_record(new, "route", expected_version=before.version), "stale version"
    assert filled.get_record("p6").version == after.version
    assert filled.verify_log() == []


def test_machine_rewrite_leaves_records_people_hold(filled: Store) -> None:
    r = filled.get_record("p1")
    filled.save_record(r.model_copy(update={"status": RecordStatus.VERIFIED}), expected_version=r.version,
                       action="approve", actor="ana")
    head = filled.last_log_id()
    assert not filled.machine_rewrite_record(r.model_copy(update={"priority": 0.0}), "route")
    assert not filled.machine_rewrite_record(paper("missing", [["US"]]), "route")
    assert filled.get_record("p1").status == RecordStatus.VERIFIED and filled.log_entries_after(head) == []


def test_machine_rewrite_is_one_transaction(filled: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    before = filled.get_record("p6")

    def broken_log(row: dict) -> dict:
        raise RuntimeError("log append failed")

    monkeypatch.setattr(filled, "_append_log", broken_log)
    with pytest.raises(RuntimeError):
        filled.machine_rewrite_record(before.model_copy(update={"priority": 0.5}), "route")
    monkeypatch.undo()
    assert filled.get_record("p6") == before, "no record change without its log row"
    assert filled.verify_log() == []


# --------------------------------------------------------------------------- routing state


def test_review_meta_round_trips_json_values(store: Store) -> None:
    assert store.review_meta() == {}
    store.set_review_meta({"seed": 3, "pair": ["US", "CN"], "prior": {"US": 0.5, "*": 0.5}, "routed_log_id": None})
    store.set_review_meta({"seed": 4})
    assert store.review_meta() == {"seed": 4, "pair": ["US", "CN"], "prior": {"US": 0.5, "*": 0.5},
                                   "routed_log_id": None}


def test_log_entries_after_name_every_change(filled: Store) -> None:
    assert filled.last_log_id() == 7  # one create row per record
    assert [e["paper_id"] for e in filled.log_entries_after(5)] == ["p6", "p7"]
    filled.log_event("p2", "view", "ana")
    assert [(e["paper_id"], e["actor"], e["action"]) for e in filled.log_entries_after(7)] == [("p2", "ana", "view")]
    assert filled.log_entries_after(filled.last_log_id()) == []


def test_log_counts_and_checks_after_an_id(filled: Store) -> None:
    # the fixture's seven records were each created by the machine
    assert filled.count_log_entries_after(0, actor="machine", actions=("create", "reconcile")) == 7
    assert filled.count_log_entries_after(5, actor="machine", actions=("create",)) == 2
    assert filled.count_log_entries_after(0, actor="ana", actions=("create",)) == 0
    assert filled.only_log_entries_after(0, actor="machine", action="create")
    assert filled.only_log_entries_after(filled.last_log_id(), actor="machine", action="route")  # nothing newer
    filled.log_event("p2", "view", "ana")
    assert not filled.only_log_entries_after(7, actor="machine", action="create")
    assert filled.only_log_entries_after(8, actor="machine", action="create")
