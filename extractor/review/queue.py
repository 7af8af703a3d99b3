"""The review queue, read side: what the review UI and `collabscope queue` page through.

Items come in priority order (expected aggregate impact, then P(wrong), then paper id),
with the audit sample served apart in ``u`` order; routing itself (status, priority, the
audit draw) is :mod:`extractor.reconcile.routing`, and the pages are read by key through
:meth:`~extractor.store.Store.queue_rows`, so a page costs the same at any depth.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from extractor.errors import ConflictError
from extractor.schemas import PaperRecord, RecordStatus
from extractor.store import Store
from extractor.store.queue import QueueFilter

__all__ = ["QueueFilter", "QueueItem", "audit_design", "next_record", "queue_counts", "queue_head",
           "review_progress"]


@dataclass
class QueueItem:
    paper_id: str
    title: str | None
    status: str
    priority: float
    p_wrong: float
    impact: float
    reasons: list[str]  # sentences a reviewer can act on
    audit: bool
    countries: list[str]
    venue: str | None
    year: int | None
    reason_codes: list[str] = field(default_factory=list)
    version: int = 0
    reviewer: str | None = None
    source_file: str | None = None


def _item(row: dict[str, Any]) -> QueueItem:
    record = json.loads(row["data"])
    reasons = record.get("review_reasons", [])
    return QueueItem(
        paper_id=row["paper_id"], title=row["title"], status=row["status"], priority=row["priority"] or 0.0,
        p_wrong=row["p_wrong"] or 0.0, impact=row["impact"] or 0.0, reasons=[r["message"] for r in reasons],
        audit=bool(row["audit"]), countries=[c for c in (row["ccol"] or "").split(",") if c], venue=row["venue"],
        year=row["year"], reason_codes=[r["code"] for r in reasons], version=row["version"],
        reviewer=row["reviewer"], source_file=row["source_file"])


def queue_head(store: Store, *, n: int = 20, filters: QueueFilter | None = None,
               audit: bool | None = None) -> list[QueueItem]:
    """The next ``n`` queued records: priority order; audit=True -> audit items in draw (u) order."""
    if n <= 0:
        return []
    rows = store.queue_rows(filters, [RecordStatus.QUEUED.value], audit, batch=n)
    return [_item(r) for r in itertools.islice(rows, n)]


def next_record(store: Store, reviewer: str, *, filters: QueueFilter | None = None, audit: bool | None = False,
                skip_ids: Iterable[str] = (), claim: bool = False) -> PaperRecord | None:
    """The record ``reviewer`` should look at next, or None when the queue is empty.

    A record the reviewer already has in review comes first (resume). Then the queue:
    audit=False the priority queue without audit items, True the audit items in draw
    order, None everything by priority. With ``claim`` the record is moved to in_review for
    this reviewer under optimistic locking; a record someone else claimed first is
    skipped, so two reviewers never get the same record.
    """
    skip = set(skip_ids)
    f = filters or QueueFilter()
    mine = QueueFilter(f.venue, f.reason, f.country, None)
    for row in store.queue_rows(mine, [RecordStatus.IN_REVIEW.value], audit, reviewer=reviewer, batch=20):
        if row["reviewer"] == reviewer and row["paper_id"] not in skip:
            return PaperRecord.model_validate_json(row["data"])
    for row in store.queue_rows(mine, [RecordStatus.QUEUED.value], audit, batch=max(20, len(skip) + 1)):
        if row["paper_id"] in skip:
            continue
        record = PaperRecord.model_validate_json(row["data"])
        if not claim:
            return record
        prov = record.provenance.model_copy(update={"reviewer": reviewer})
        try:
            return store.save_record(record.model_copy(update={"status": RecordStatus.IN_REVIEW, "provenance": prov}),
                                     expected_version=record.version, action="claim", actor=reviewer)
        except ConflictError:
            continue
    return None


def queue_counts(store: Store, filters: QueueFilter | None = None) -> dict[str, Any]:
    """Counts by status and by reason code, the audit's progress and the impact still queued.

    One grouped pass over the records (:meth:`~extractor.store.Store.queue_count_groups`):
    the ``reasons`` column holds the record's reason codes, written with the record.
    """
    by_status: Counter[str] = Counter()
    by_reason: Counter[str] = Counter()
    audit: Counter[str] = Counter()
    remaining = 0.0
    for g in store.queue_count_groups(filters):
        st, n = g["status"], g["n"]
        by_status[st] += n
        if st in (RecordStatus.QUEUED.value, RecordStatus.IN_REVIEW.value):
            for code in {c for c in (g["reasons"] or "").split(",") if c}:
                by_reason[code] += n
            if not g["audit"]:
                remaining += g["mass"] or 0.0
        if g["audit"]:
            audit["drawn"] += n
            key = {"verified": "done", "rejected": "rejected", "in_review": "in_review"}.get(st, "pending")
            audit[key] += n
    return {"by_status": dict(sorted(by_status.items())),
            "by_reason": dict(sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0]))),
            "audit": {k: audit.get(k, 0) for k in ("drawn", "pending", "in_review", "done", "rejected")},
            "remaining_impact_mass": round(remaining, 4)}


def review_progress(store: Store, *, epsilon: float = 0.5) -> dict[str, Any]:
    """Share of the expected-impact mass already reviewed, and whether what is left matters.

    Mass is the sum of ``priority`` (expected papers by which a correction moves the
    aggregates) as routed last; reviewed records keep the value they had when taken over.
    ``done`` means the queued remainder is below ``epsilon``: everything that can change the
    result has been reviewed; the confident (unqueued) records' residual mass is what the
    audit sample estimates.
    """
    total = reviewed = queued = confident = 0.0
    for g in store.priority_mass():
        p = g["mass"] or 0.0
        total += p
        if g["status"] in (RecordStatus.VERIFIED.value, RecordStatus.REJECTED.value):
            reviewed += p
        elif g["status"] == RecordStatus.MACHINE.value or g["audit"]:
            confident += p
        else:
            queued += p
    done = queued < epsilon
    return {
        "total_mass": round(total, 4), "reviewed_mass": round(reviewed, 4), "queued_mass": round(queued, 4),
        "confident_mass": round(confident, 4), "share_reviewed": round(reviewed / total, 4) if total else 1.0,
        "epsilon": epsilon, "done": done,
        "message": ("everything that can change the result is reviewed" if done and reviewed > 0 or queued == 0 else
                    f"everything that can change the result is reviewed (the queue's expected corrections, "
                    f"{queued:.2f}, are below {epsilon})" if done else
                    f"{queued:.2f} expected aggregate-moving corrections still in the queue"),
    }


def audit_design(store: Store) -> dict[str, Any]:
    """What an estimator needs to know about the audit sample: frame size, target, members."""
    meta = store.review_meta()
    return {"frame": meta.get("audit_frame"), "target": meta.get("audit_target"), "seed": meta.get("seed"),
            "fraction": meta.get("audit_fraction"), "minimum": meta.get("audit_min"),
            "members": store.audit_members()}
