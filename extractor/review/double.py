"""Double review: a share of first decisions gets an independent, blind second review.

Why: a dataset built by people is only as good as their agreement. When a reviewer
decides a record (approve, correct, reject), a deterministic draw on the paper id puts a
chosen fraction of those records in ``double_reviews``. Someone else is then served the
*machine's* version (never the first decision) and decides as if first; the pair of
labels (the paper's country set, or "rejected") feeds Cohen's kappa on the dashboard
(:func:`extractor.review.stats.double_review_agreement`). A disagreement sends the record
back to the queue with a ``reviewers_disagree`` reason, for adjudication.

:mod:`extractor.review.actions` calls :func:`draw` after each first decision. Never
imports streamlit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from extractor.errors import NotFoundError
from extractor.review.common import DECISIONS, ReviewError, check_reviewer, machine_content
from extractor.schemas import PaperContent, PaperRecord, RecordStatus, ReviewReason
from extractor.store import Store, utcnow

DOUBLE_REVIEW_SEED = "collabscope-double-review"


def country_label(content: PaperContent | None, decision: str) -> str:
    """A record's outcome as one category: its country set ("CN,US"), or "rejected"."""
    if decision == "reject" or content is None:
        return "rejected"
    return ",".join(content.countries()) or "-"


def in_sample(paper_id: str, fraction: float, seed: str = DOUBLE_REVIEW_SEED) -> bool:
    """Deterministic uniform draw: the same paper is always in or out for a given seed."""
    if fraction <= 0:
        return False
    digest = hashlib.sha256(f"{seed}:{paper_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def draw(store: Store, before: PaperRecord, new: PaperRecord, reviewer: str, decision: str, fraction: float) -> bool:
    """Put a just-decided record in the double-review sample if its draw says so."""
    if not in_sample(new.paper_id, fraction):
        return False
    machine = machine_content(store, new.paper_id) or before.content()
    return store.add_double_review({
        "paper_id": new.paper_id,
        "drawn_at": utcnow(),
        "first_reviewer": reviewer,
        "first_decision": decision,
        "first_label": country_label(new.content(), decision),
        "machine": machine.model_dump_json(exclude_none=True),
    })


@dataclass
class SecondReviewTask:
    """A record drawn for a blind second review: the machine's content, not the first decision."""

    paper_id: str
    record: PaperRecord  # the current record (for the page, evidence, document)
    machine: PaperContent  # what the second reviewer starts from
    first_reviewer: str
    drawn_at: str
    extra: dict[str, Any] = field(default_factory=dict)


def _task(store: Store, row: dict[str, Any]) -> SecondReviewTask | None:
    try:
        record = store.get_record(row["paper_id"])
    except NotFoundError:
        return None
    machine = PaperContent.model_validate_json(row["machine"]) if row["machine"] else record.content()
    return SecondReviewTask(row["paper_id"], record, machine, row["first_reviewer"], row["drawn_at"])


def next_second_review(store: Store, reviewer: str, *, skip_ids: Iterable[str] = ()) -> SecondReviewTask | None:
    """A pending double-review item first decided by someone else, or None."""
    reviewer = check_reviewer(reviewer)
    skip = set(skip_ids)
    for row in store.double_reviews(pending=True, exclude_reviewer=reviewer, limit=len(skip) + 5):
        if row["paper_id"] not in skip:
            task = _task(store, row)
            if task is not None:
                return task
    return None


def second_review_task(store: Store, paper_id: str, reviewer: str) -> SecondReviewTask | None:
    """The pending second review of one record, if this reviewer may do it."""
    rows = store.double_reviews(pending=True, exclude_reviewer=reviewer, paper_id=paper_id)
    return _task(store, rows[0]) if rows else None


def submit_second_review(store: Store, paper_id: str, reviewer: str, decision: str,
                         content: PaperContent | None = None) -> dict[str, Any]:
    """Record the blind second decision; a disagreement sends the record back for adjudication.

    Returns ``{"agree": bool, "first": label, "second": label}``. The record itself is not
    changed on agreement; on disagreement it is queued with a ``reviewers_disagree`` reason.
    """
    reviewer = check_reviewer(reviewer)
    if decision not in DECISIONS:
        raise ReviewError(f"unknown decision {decision!r}; use one of {', '.join(DECISIONS)}")
    with store.write():
        rows = store.double_reviews(paper_id=paper_id)
        if not rows:
            raise ReviewError(f"record {paper_id} is not in the double-review sample")
        row = rows[0]
        if row["first_reviewer"] == reviewer:
            raise ReviewError("the second review must be done by someone other than the first reviewer")
        if decision == "approve" or content is None:
            content = PaperContent.model_validate_json(row["machine"]) if row["machine"] else None
        label = country_label(content, decision)
        content_json = content.model_dump_json(exclude_none=True) if content is not None else None
        if not store.complete_double_review(paper_id, reviewer, decision, label, content_json or ""):
            raise ReviewError(f"record {paper_id} already has its second review")
        agree = label == row["first_label"]
        store.log_event(paper_id, "second_review", reviewer,
                        note=f"{decision}: {label} (first {row['first_reviewer']}: {row['first_label']}; "
                             f"{'agree' if agree else 'disagree'})")
        if not agree:
            record = store.get_record(paper_id)
            reason = ReviewReason(
                code="reviewers_disagree",
                message=f"{row['first_reviewer']} decided {row['first_label']}, {reviewer} decided {label}",
                detail={"first": row["first_label"], "second": label},
            )
            store.save_record(
                record.model_copy(update={"status": RecordStatus.QUEUED,
                                          "review_reasons": [*record.review_reasons, reason]}),
                expected_version=record.version, action="flag", actor=reviewer,
                note="double review disagrees; needs adjudication",
            )
        return {"agree": agree, "first": row["first_label"], "second": label}
