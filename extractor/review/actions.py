"""Review actions: what a person can do to a record, as library functions.

This is the "review" step of the data flow, below the Streamlit UI (which only calls
these functions) and above the store (which does the writing). Every action goes through
:meth:`Store.save_record` with the version the reviewer saw, so the audit log row (who,
when, before, after) is written in the same transaction as the change, and a stale edit
raises :class:`~extractor.errors.ConflictError` instead of overwriting someone else's work.

- **claim / release**: a reviewer who is served a queued record *claims* it (status
  ``in_review`` plus a lease in ``review_claims``), so two reviewers are never served the
  same record; a lease left open by a closed browser tab expires and the record returns
  to the queue.
- **approve / correct / reject / skip / flag**: the decisions. Approve and correct end
  in ``verified``, reject in ``rejected``; skip and flag hand the record back to the
  queue (flag with a ``second_opinion`` reason so someone else looks at it).
- **undo_last**: reverts a reviewer's most recent change, as a new logged change (the
  log is append-only), refusing if someone changed the record since.
- **double review**: a chosen fraction of first decisions is drawn (deterministically,
  by paper id) for a blind second review by someone else (:mod:`extractor.review.double`);
  the pairs give Cohen's kappa (:mod:`extractor.review.stats`).

Serving (:func:`serve_next`) takes the next record from :mod:`extractor.review.queue`.
Never imports streamlit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from extractor.errors import ConflictError
from extractor.review.common import ReviewError, check_reviewer
from extractor.review.double import draw
from extractor.review.queue import QueueFilter, next_record
from extractor.schemas import Method, PaperContent, PaperRecord, RecordStatus, ReviewReason
from extractor.store import Store, utcnow

#: How long a claim lasts without activity before the record returns to the queue.
LEASE_SECONDS = 15 * 60
#: Share of first decisions drawn for a blind second review (override per call).
DOUBLE_REVIEW_FRACTION = 0.10
#: Actor name for changes the system makes on nobody's behalf (expired leases).
SYSTEM_LEASE = "system:lease"

#: Why a record can be rejected; the key goes into the log note and the provenance.
REJECT_REASONS = {
    "not_a_paper": "not a research paper (front matter, erratum, slides, ...)",
    "out_of_scope": "not in scope for this dataset",
    "duplicate": "duplicate of another record",
    "unreadable": "the PDF cannot be read well enough to decide",
}
#: Log actions a reviewer can undo (each changed the record's version).
UNDOABLE = ("approve", "correct", "reject", "flag", "skip", "undo")


# --------------------------------------------------------------------------- helpers


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(dt: datetime) -> str:
    return dt.isoformat(timespec="milliseconds")


def _check_version(record: PaperRecord, expected_version: int) -> None:
    if record.version != expected_version:
        raise ConflictError(record.paper_id, expected_version, record.version)


def _decided(record: PaperRecord, status: RecordStatus, reviewer: str, **provenance: Any) -> PaperRecord:
    """The record with a new status and the reviewer stamped into its provenance."""
    prov = record.provenance.model_copy(update={"reviewer": reviewer, "reviewed_at": utcnow(), **provenance})
    return record.model_copy(update={"status": status, "provenance": prov})


def _with_holder(record: PaperRecord, status: RecordStatus, holder: str | None) -> PaperRecord:
    """The record in a new status with ``provenance.reviewer`` naming who holds it (the
    queue's convention: an in_review record's reviewer is the person reviewing it)."""
    prov = record.provenance.model_copy(update={"reviewer": holder})
    return record.model_copy(update={"status": status, "provenance": prov})


# --------------------------------------------------------------------------- claims


def expire_claims(store: Store, now: datetime | None = None) -> list[str]:
    """Hand records whose lease ran out back to the queue; returns their paper ids."""
    now = now or _now()
    released = []
    for row in store.claims(expired_before=_iso(now)):
        with store.write():
            fresh = store.get_claim(row["paper_id"])
            if not fresh or fresh["expires_at"] >= _iso(now):
                continue  # renewed or released meanwhile
            record = store.get_record(row["paper_id"])
            if record.status == RecordStatus.IN_REVIEW:
                store.save_record(
                    _with_holder(record, RecordStatus(fresh["status_before"] or "queued"), fresh["reviewer_before"]),
                    expected_version=record.version, action="release", actor=SYSTEM_LEASE,
                    note=f"lease of {fresh['reviewer']} expired",
                )
            store.drop_claim(row["paper_id"])
            released.append(row["paper_id"])
    return released


def claim(store: Store, paper_id: str, reviewer: str, *, lease_seconds: int = LEASE_SECONDS,
          now: datetime | None = None) -> PaperRecord | None:
    """Take a queued record for review (status ``in_review`` with a lease).

    Returns the record (renewing the lease when the reviewer holds it already), the record
    unchanged when it is not waiting for review (verified, rejected, machine, failed:
    nothing to claim, editing is still version-checked), or None when another reviewer
    holds a live lease on it.
    """
    reviewer = check_reviewer(reviewer)
    now = now or _now()
    expires = _iso(now + timedelta(seconds=lease_seconds))
    with store.write():
        record = store.get_record(paper_id)
        held = store.get_claim(paper_id)
        if held and held["reviewer"] != reviewer and held["expires_at"] >= _iso(now):
            return None
        if held and held["reviewer"] == reviewer and record.status == RecordStatus.IN_REVIEW:
            store.set_claim(paper_id, reviewer, expires, held["status_before"], held["reviewer_before"])
            return record
        if record.status == RecordStatus.IN_REVIEW and not held and record.provenance.reviewer == reviewer:
            # claimed through the queue module (no lease yet): add the lease
            store.set_claim(paper_id, reviewer, expires, RecordStatus.QUEUED.value, None)
            return record
        if record.status not in (RecordStatus.QUEUED, RecordStatus.IN_REVIEW):
            return record
        if held:
            before, reviewer_before = held["status_before"] or RecordStatus.QUEUED.value, held["reviewer_before"]
        elif record.status == RecordStatus.IN_REVIEW:  # held elsewhere without a lease: take over
            before, reviewer_before = RecordStatus.QUEUED.value, None
        else:
            before, reviewer_before = record.status.value, record.provenance.reviewer
        new = store.save_record(
            _with_holder(record, RecordStatus.IN_REVIEW, reviewer),
            expected_version=record.version, action="claim", actor=reviewer,
            note=f"lease until {expires}" + (f", taken over from {held['reviewer']}" if held else ""),
        )
        store.drop_claim(paper_id)
        store.set_claim(paper_id, reviewer, expires, before, reviewer_before)
        return new


def claim_holder(store: Store, paper_id: str, now: datetime | None = None) -> dict[str, Any] | None:
    """The live lease on a record (reviewer, claimed_at, expires_at), if any."""
    held = store.get_claim(paper_id)
    if held and held["expires_at"] >= _iso(now or _now()):
        return held
    return None


def _released(store: Store, record: PaperRecord, status: RecordStatus | None = None) -> PaperRecord:
    """The record as it was before it was claimed (status and holder), or with ``status``."""
    held = store.get_claim(record.paper_id) or {}
    if record.status == RecordStatus.IN_REVIEW:
        restored = RecordStatus(held.get("status_before") or RecordStatus.QUEUED.value)
        return _with_holder(record, status or restored, held.get("reviewer_before"))
    return record.model_copy(update={"status": status}) if status else record


def release(store: Store, paper_id: str, reviewer: str, *, action: str = "release",
            expected_version: int | None = None, note: str | None = None) -> PaperRecord:
    """Give a claimed record back to the queue (status as before the claim)."""
    reviewer = check_reviewer(reviewer)
    with store.write():
        record = store.get_record(paper_id)
        if expected_version is not None:
            _check_version(record, expected_version)
        if record.status != RecordStatus.IN_REVIEW:
            store.log_event(paper_id, action, reviewer, note=note)
            return record
        new = store.save_record(_released(store, record), expected_version=record.version, action=action,
                                actor=reviewer, note=note)
        store.drop_claim(paper_id)
        return new


# --------------------------------------------------------------------------- decisions


def _after_decision(store: Store, before: PaperRecord, new: PaperRecord, reviewer: str, decision: str,
                    double_fraction: float) -> None:
    """Drop the lease and maybe draw the record for a blind second review."""
    store.drop_claim(new.paper_id)
    draw(store, before, new, reviewer, decision, double_fraction)


def approve(store: Store, paper_id: str, reviewer: str, *, expected_version: int, note: str | None = None,
            double_fraction: float = DOUBLE_REVIEW_FRACTION) -> PaperRecord:
    """The record is right as it is: status ``verified``, content unchanged."""
    reviewer = check_reviewer(reviewer)
    with store.write():
        record = store.get_record(paper_id)
        _check_version(record, expected_version)
        new = store.save_record(_decided(record, RecordStatus.VERIFIED, reviewer),
                                expected_version=expected_version, action="approve", actor=reviewer, note=note)
        _after_decision(store, record, new, reviewer, "approve", double_fraction)
        return new


def _mark_human(old: PaperContent, content: PaperContent) -> PaperContent:
    """Mark values a person changed as decided by a human (confidence and export read it)."""
    old_affs = {a.id: a for a in old.affiliations}
    affs = []
    for aff in content.affiliations:
        prev = old_affs.get(aff.id)
        update: dict[str, Any] = {}
        if prev is None or prev.country != aff.country:
            update["country_method"] = Method.HUMAN
        if prev is None or prev.institution != aff.institution:
            update["institution_method"] = Method.HUMAN
            update["institution_score"] = None
        affs.append(aff.model_copy(update=update) if update else aff)
    return content.model_copy(update={"affiliations": affs})


def content_changes(before: PaperContent, after: PaperContent) -> list[str]:
    """Human-readable differences between two versions of a record's content."""
    out: list[str] = []
    if (before.title or "") != (after.title or ""):
        out.append(f"title: {before.title!r} -> {after.title!r}")
    b_names = [a.name for a in before.authors]
    a_names = [a.name for a in after.authors]
    if b_names != a_names:
        out.append(f"authors: {b_names} -> {a_names}")
    else:
        for b, a in zip(before.authors, after.authors, strict=True):
            if b.affiliation_ids != a.affiliation_ids:
                out.append(f"author {a.name!r} affiliations: {b.affiliation_ids} -> {a.affiliation_ids}")
    b_affs = {x.id: x for x in before.affiliations}
    a_affs = {x.id: x for x in after.affiliations}
    for aid in sorted(set(b_affs) | set(a_affs)):
        old, new = b_affs.get(aid), a_affs.get(aid)
        if old is None and new is not None:
            out.append(f"affiliation {aid} added: {new.raw!r} ({new.country or '?'})")
        elif new is None and old is not None:
            out.append(f"affiliation {aid} removed: {old.raw!r}")
        else:
            for name in ("raw", "institution", "country", "sector", "department", "city"):
                if getattr(old, name) != getattr(new, name):
                    out.append(f"affiliation {aid} {name}: {getattr(old, name)!r} -> {getattr(new, name)!r}")
    b_models = [(m.family, m.role) for m in before.model_mentions]
    a_models = [(m.family, m.role) for m in after.model_mentions]
    if b_models != a_models or [m.name for m in before.model_mentions] != [m.name for m in after.model_mentions]:
        fmt = lambda ms: [f"{m.name}/{m.family}/{m.role.value if m.role else '-'}" for m in ms]  # noqa: E731
        out.append(f"model mentions: {fmt(before.model_mentions)} -> {fmt(after.model_mentions)}")
    return out


def correct(store: Store, paper_id: str, content: PaperContent, reviewer: str, *, expected_version: int,
            note: str | None = None, double_fraction: float = DOUBLE_REVIEW_FRACTION) -> PaperRecord:
    """Save a reviewer's corrected content: status ``verified``, changed values marked human.

    Content equal to the stored one is an approval (logged as such).
    """
    reviewer = check_reviewer(reviewer)
    content = PaperContent.model_validate(content.model_dump())  # re-run the cross-field checks
    with store.write():
        record = store.get_record(paper_id)
        _check_version(record, expected_version)
        old = record.content()
        changes = content_changes(old, content)
        if not changes:
            return approve(store, paper_id, reviewer, expected_version=expected_version, note=note,
                           double_fraction=double_fraction)
        content = _mark_human(old, content)
        edited = record.model_copy(update={
            "title": content.title, "title_evidence": content.title_evidence, "authors": content.authors,
            "affiliations": content.affiliations, "model_mentions": content.model_mentions,
        })
        new = store.save_record(_decided(edited, RecordStatus.VERIFIED, reviewer), expected_version=expected_version,
                                action="correct", actor=reviewer, note=note or "; ".join(changes)[:2000])
        _after_decision(store, record, new, reviewer, "correct", double_fraction)
        return new


def set_country(content: PaperContent, affiliation_id: int, country: str | None) -> PaperContent:
    """A copy of the content with one affiliation's country changed (the quick fix)."""
    affs = []
    found = False
    for aff in content.affiliations:
        if aff.id == affiliation_id:
            found = True
            aff = aff.model_copy(update={"country": country})
            aff = type(aff).model_validate(aff.model_dump())  # validate the code
        affs.append(aff)
    if not found:
        raise ReviewError(f"no affiliation {affiliation_id} in this record")
    return content.model_copy(update={"affiliations": affs})


def reject(store: Store, paper_id: str, reviewer: str, *, expected_version: int, reason: str = "not_a_paper",
           note: str | None = None, double_fraction: float = DOUBLE_REVIEW_FRACTION) -> PaperRecord:
    """Not a paper, or not in scope: status ``rejected`` (kept, exported as rejected)."""
    reviewer = check_reviewer(reviewer)
    if reason not in REJECT_REASONS:
        raise ReviewError(f"unknown reject reason {reason!r}; use one of {', '.join(REJECT_REASONS)}")
    with store.write():
        record = store.get_record(paper_id)
        _check_version(record, expected_version)
        new = store.save_record(_decided(record, RecordStatus.REJECTED, reviewer, rejected_because=reason),
                                expected_version=expected_version, action="reject", actor=reviewer,
                                note=reason + (f": {note}" if note else ""))
        _after_decision(store, record, new, reviewer, "reject", double_fraction)
        return new


def skip(store: Store, paper_id: str, reviewer: str, *, expected_version: int | None = None) -> PaperRecord:
    """Not now: a claimed record goes back to the queue for others; otherwise only logged."""
    return release(store, paper_id, reviewer, action="skip", expected_version=expected_version)


def flag(store: Store, paper_id: str, reviewer: str, *, expected_version: int, note: str | None = None) -> PaperRecord:
    """Ask for a second opinion: back to the queue with a ``second_opinion`` reason."""
    reviewer = check_reviewer(reviewer)
    with store.write():
        record = store.get_record(paper_id)
        _check_version(record, expected_version)
        reason = ReviewReason(code="second_opinion",
                              message=f"{reviewer} asks for a second opinion" + (f": {note}" if note else ""),
                              detail={"by": reviewer, "at": utcnow()})
        released = _released(store, record, RecordStatus.QUEUED)
        new = store.save_record(
            released.model_copy(update={"review_reasons": [*record.review_reasons, reason]}),
            expected_version=expected_version, action="flag", actor=reviewer, note=note,
        )
        store.drop_claim(paper_id)
        return new


# --------------------------------------------------------------------------- undo

_UNDO_NOTE = re.compile(r"^undo #(\d+)")


def last_undoable(store: Store, reviewer: str, *, paper_id: str | None = None) -> dict[str, Any] | None:
    """The reviewer's most recent change that has not been undone yet (with its content)."""
    undone: set[int] = set()
    for row in store.log_rows(actor=reviewer, actions=UNDOABLE, paper_id=paper_id, newest_first=True,
                              with_content=True, limit=200):
        if row["action"] == "undo":
            m = _UNDO_NOTE.match(row["note"] or "")
            if m:
                undone.add(int(m.group(1)))
            continue
        if row["id"] in undone or row["version_after"] == row["version_before"]:
            continue
        return row
    return None


def undo_last(store: Store, reviewer: str, *, paper_id: str | None = None,
              lease_seconds: int = LEASE_SECONDS) -> PaperRecord:
    """Revert the reviewer's last change (optionally on one paper) as a new logged change.

    Raises :class:`ConflictError` when the record changed since that action (someone
    else's later work is never undone), :class:`ReviewError` when there is nothing to undo.
    """
    reviewer = check_reviewer(reviewer)
    with store.write():
        row = last_undoable(store, reviewer, paper_id=paper_id)
        if row is None:
            raise ReviewError(f"nothing of {reviewer}'s to undo" + (f" on record {paper_id}" if paper_id else ""))
        record = store.get_record(row["paper_id"])
        _check_version(record, row["version_after"])
        before = PaperContent.model_validate_json(row["before"]) if row["before"] else record.content()
        status = RecordStatus(row["status_before"]) if row["status_before"] else record.status
        prov = record.provenance.model_dump()
        prov.pop("rejected_because", None)
        if status == RecordStatus.IN_REVIEW:
            prov.update(reviewer=reviewer)
        elif status in (RecordStatus.VERIFIED, RecordStatus.REJECTED):
            earlier = [r for r in store.log_rows(paper_id=record.paper_id)
                       if r["id"] < row["id"] and r["version_after"] == row["version_before"]]
            if earlier:
                prov.update(reviewer=earlier[-1]["actor"], reviewed_at=earlier[-1]["at"])
        else:
            prov.update(reviewer=None, reviewed_at=None)
        provenance = type(record.provenance).model_validate(prov)
        reasons = record.review_reasons
        if row["action"] == "flag":
            mine = [i for i, r in enumerate(reasons) if r.code == "second_opinion" and r.detail.get("by") == reviewer]
            if mine:
                reasons = [r for i, r in enumerate(reasons) if i != mine[-1]]
        restored = record.model_copy(update={
            "title": before.title, "title_evidence": before.title_evidence, "authors": before.authors,
            "affiliations": before.affiliations, "model_mentions": before.model_mentions,
            "status": status, "provenance": provenance, "review_reasons": reasons,
        })
        new = store.save_record(restored, expected_version=record.version, action="undo", actor=reviewer,
                                note=f"undo #{row['id']} ({row['action']})")
        store.drop_double_review(new.paper_id)
        if status == RecordStatus.IN_REVIEW:
            store.drop_claim(new.paper_id)
            store.set_claim(new.paper_id, reviewer, _iso(_now() + timedelta(seconds=lease_seconds)),
                            RecordStatus.QUEUED.value)
        else:
            store.drop_claim(new.paper_id)
        return new


# --------------------------------------------------------------------------- serving


def make_filters(*, venue: str | None = None, reason: str | None = None, country: str | None = None,
                 reviewer: str | None = None) -> QueueFilter | None:
    """The queue filters the UI's choices stand for (empty choices do not filter); None when none is set."""
    f = QueueFilter(venue=venue or None, reason=reason or None, country=country or None, reviewer=reviewer or None)
    return f if any((f.venue, f.reason, f.country, f.reviewer)) else None


def _matches(record: PaperRecord, filters: QueueFilter | None) -> bool:
    if filters is None:
        return True
    if filters.venue and record.venue != filters.venue:
        return False
    if filters.reason and filters.reason not in {r.code for r in record.review_reasons}:
        return False
    if filters.country and filters.country not in record.countries():
        return False
    return True


def serve_next(store: Store, reviewer: str, *, filters: QueueFilter | None = None, audit: bool = False,
               skip_ids: Iterable[str] = (), lease_seconds: int = LEASE_SECONDS) -> PaperRecord | None:
    """The next record this reviewer should see, claimed for them; None when none is left.

    A record the reviewer already holds comes first (a reload does not lose their place);
    then the queue's next record by priority (or the audit sample), skipping ids the
    session has passed over and records someone else claimed a moment earlier.
    """
    reviewer = check_reviewer(reviewer)
    expire_claims(store)
    skip = set(skip_ids)
    for held in store.claims(reviewer=reviewer):
        if held["paper_id"] in skip:
            continue
        record = store.get_record(held["paper_id"])
        if record.status == RecordStatus.IN_REVIEW and record.audit == audit and _matches(record, filters):
            return claim(store, record.paper_id, reviewer, lease_seconds=lease_seconds)
    for _ in range(20):
        candidate = next_record(store, reviewer, filters=filters, audit=audit, skip_ids=tuple(skip))
        if candidate is None:
            return None
        got = claim(store, candidate.paper_id, reviewer, lease_seconds=lease_seconds)
        if got is not None and got.status == RecordStatus.IN_REVIEW:
            return got
        skip.add(candidate.paper_id)
    return None


def open_record(store: Store, paper_id: str, reviewer: str, *, lease_seconds: int = LEASE_SECONDS) -> PaperRecord:
    """Open one record by id (a deep link): claim it if it waits for review and is free."""
    try:
        got = claim(store, paper_id, reviewer, lease_seconds=lease_seconds)
    except ConflictError:
        got = None
    return got if got is not None else store.get_record(paper_id)


# --------------------------------------------------------------------------- conflicts


_AFF_FIELDS = ("raw", "institution", "department", "city", "country", "sector",
               "institution_method", "institution_score", "country_method", "evidence")


def rebase_edits(base: PaperContent, mine: PaperContent, theirs: PaperContent) -> tuple[PaperContent, list[str]]:
    """Re-apply a reviewer's edits (``base`` -> ``mine``) onto a newer version (``theirs``).

    Used after a refused save: the fresh record is shown and the reviewer can carry their
    edits over without retyping and without silently undoing the other person's changes
    to fields they did not touch. Returns the merged content and the fields both people
    changed differently (there, the reviewer's value is taken; the list is shown).
    """
    b, m, t = base.model_dump(), mine.model_dump(), theirs.model_dump()
    out = t
    conflicts: list[str] = []

    def take(name: str, bv: Any, mv: Any, tv: Any) -> Any:
        if mv == bv:
            return tv
        if tv != bv and tv != mv:
            conflicts.append(name)
        return mv

    out["title"] = take("title", b["title"], m["title"], t["title"])
    if out["title"] == m["title"]:
        out["title_evidence"] = m["title_evidence"]
    b_aff = {a["id"]: a for a in b["affiliations"]}
    m_aff = {a["id"]: a for a in m["affiliations"]}
    t_aff = {a["id"]: a for a in t["affiliations"]}
    remap: dict[int, int] = {}
    merged = []
    for aid, ta in t_aff.items():
        if aid in b_aff and aid not in m_aff:  # I removed it
            if ta != b_aff[aid]:
                conflicts.append(f"affiliation {aid} (removed by you, changed by them)")
            continue
        if aid in b_aff and aid in m_aff:
            ta = dict(ta)
            for f in _AFF_FIELDS:
                ta[f] = take(f"affiliation {aid} {f}", b_aff[aid].get(f), m_aff[aid].get(f), ta.get(f))
        merged.append(ta)
    next_id = max([a["id"] for a in merged] + [a["id"] for a in m["affiliations"]] + [-1]) + 1
    for aid, ma in m_aff.items():
        if aid in b_aff:
            continue  # existing: handled above (or removed by them: their removal stands)
        if aid in t_aff:  # we both added an affiliation with this id
            remap[aid] = next_id
            next_id += 1
        merged.append({**ma, "id": remap.get(aid, aid)})
    out["affiliations"] = merged
    my_authors = [{**a, "affiliation_ids": [remap.get(i, i) for i in a["affiliation_ids"]]} for a in m["authors"]]
    out["authors"] = take("authors", b["authors"], my_authors if remap else m["authors"], t["authors"])
    known = {a["id"] for a in merged}
    out["authors"] = [{**a, "affiliation_ids": [i for i in a["affiliation_ids"] if i in known]} for a in out["authors"]]
    out["model_mentions"] = take("model mentions", b["model_mentions"], m["model_mentions"], t["model_mentions"])
    return PaperContent.model_validate(out), conflicts
