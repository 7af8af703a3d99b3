"""The oversight curve: expected country-set accuracy now and after reviewing more of the queue."""

from __future__ import annotations

import pytest

from extractor.aggregate.oversight import oversight_curve, store_oversight_curve
from extractor.schemas import RecordStatus
from tests.record_factory import paper, put, review


def test_curve_from_p_wrong_in_queue_order() -> None:
    c = oversight_curve([0.5, 0.3, 0.1, 0.1], verified=6)
    assert c.papers == 10 and c.verified == 6 and c.unscored == 0
    acc = {p.share: round(p.expected_accuracy, 6) for p in c.points}
    # now: 1.0 expected wrong papers in 10; next 5% = 1 paper (the 0.5); 20% = 2 papers
    assert acc == {0.0: 0.9, 0.05: 0.95, 0.10: 0.95, 0.20: 0.98}
    assert [p.reviewed_next for p in c.points] == [0, 1, 1, 2]
    assert c.points[-1].expected_errors == pytest.approx(0.2)


def test_unscored_records_are_not_counted_as_right() -> None:
    c = oversight_curve([None, float("nan"), 0.0], verified=1, steps=(1.0,))
    assert c.unscored == 2 and c.points[0].expected_accuracy == pytest.approx(0.75)
    assert c.points[-1].expected_accuracy == 1.0 and c.points[-1].reviewed_next == 3


def test_empty_database_is_not_a_division_by_zero() -> None:
    c = oversight_curve([], verified=0)
    assert c.papers == 0 and all(p.expected_accuracy == 1.0 for p in c.points)


def test_store_curve_follows_the_queue_then_the_machine_records(store) -> None:
    def rec(pid: str, status: RecordStatus, confidence: float, priority: float):
        return paper(pid, [["US"]], status=status).model_copy(update={"confidence": confidence, "priority": priority})

    put(store, rec("m1", RecordStatus.MACHINE, 0.6, 0.9))  # machine: after every queued record
    put(store, rec("q1", RecordStatus.QUEUED, 0.9, 0.5))
    put(store, rec("q2", RecordStatus.QUEUED, 0.8, 0.7))
    put(store, rec("v1", RecordStatus.QUEUED, 0.1, 0.9))
    review(store, "v1")  # verified: right, not in the stream
    put(store, rec("x", RecordStatus.REJECTED, 0.1, 0.9))  # rejected: not counted
    assert [round(p, 6) for p in store.unreviewed_p_wrong()] == [0.2, 0.1, 0.4]
    c = store_oversight_curve(store, steps=(0.25, 0.5))
    assert c.papers == 4 and c.verified == 1
    assert [round(p.expected_errors, 6) for p in c.points] == [0.7, 0.5, 0.4]
