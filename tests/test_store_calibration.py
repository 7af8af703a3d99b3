"""CalibrationStore: stored fits (newest per target wins) and the label reads a fit is made of."""

from __future__ import annotations

import json

from extractor.schemas import RecordStatus
from extractor.store import Store
from tests import record_factory as rf


def test_the_newest_fit_of_a_target_is_the_one_returned(store: Store) -> None:
    assert store.latest_calibration("country") is None
    first = store.add_calibration("country", fitted_at="2024-01-01T00:00:00", n=10,
                                  params={"intercept": 1.0}, metrics={"auc": 0.7})
    models = store.add_calibration("models", fitted_at="2024-01-02T00:00:00", n=3, params={"intercept": -1.0},
                                   metrics={})
    second = store.add_calibration("country", fitted_at="2024-01-01T00:00:00", n=20,
                                   params={"intercept": 2.0, "coef": {"disagree": -1.5}}, metrics={"auc": 0.8})
    assert first < models < second
    latest = store.latest_calibration("country")
    assert latest["id"] == second and latest["n"] == 20
    assert latest["params"] == {"intercept": 2.0, "coef": {"disagree": -1.5}} and latest["metrics"] == {"auc": 0.8}
    assert store.latest_calibration("models")["params"] == {"intercept": -1.0}
    assert store.latest_calibration("nothing") is None


def test_reviewed_machine_contents_hold_what_the_reviewer_was_shown(store: Store) -> None:
    machine = rf.put(store, rf.paper("p1", [["US"]]))
    rf.review(store, "p1", rf.paper("p1", [["CN"]]))
    rf.review(store, "p1", rf.paper("p1", [["JP"]]))  # a second human change: still the machine's answer
    rf.put(store, rf.paper("p2", [["US"]]))  # nobody looked at it
    found = store.reviewed_machine_contents()
    assert set(found) == {"p1"}
    assert json.loads(found["p1"])["affiliations"][0]["country"] == "US"
    assert json.loads(found["p1"]) == json.loads(machine.content().model_dump_json(exclude_none=True))


def test_a_machine_write_after_a_human_change_starts_over(store: Store) -> None:
    rf.put(store, rf.paper("p1", [["US"]]))
    current = store.get_record("p1")
    edited = current.model_copy(update={"status": RecordStatus.QUEUED, "affiliations": rf.paper("p1", [["CN"]]).affiliations})
    store.save_record(edited, expected_version=current.version, action="correct", actor="ana")
    assert set(store.reviewed_machine_contents()) == {"p1"}
    # a queued record is machine-owned: a new reconcile rewrites it, and what ana saw is no longer current
    assert store.put_machine_record(rf.paper("p1", [["DE"]]), "new-key") == "updated"
    assert store.reviewed_machine_contents() == {}


def test_verified_signal_rows_pair_verified_records_with_their_signals(store: Store) -> None:
    for pid in ("p1", "p2", "p3"):
        rf.put(store, rf.paper(pid, [["US"]]))
        if pid != "p3":
            store.put_review_signals({"paper_id": pid, "input_key": f"{pid}-k", "countries": '["US"]',
                                      "families": "[]", "features": json.dumps({"disagree": 1.0}),
                                      "model_features": "{}"})
    rf.review(store, "p2", rf.paper("p2", [["CN"]]))
    rf.review(store, "p3")  # verified, but no signals row: nothing to pair the label with
    rows = store.verified_signal_rows()
    assert [r["paper_id"] for r in rows] == ["p2"]
    (row,) = rows
    assert json.loads(row["features"]) == {"disagree": 1.0} and json.loads(row["countries"]) == ["US"]
    assert '"CN"' in row["data"] and row["model_features"] == "{}" and row["families"] == "[]"
