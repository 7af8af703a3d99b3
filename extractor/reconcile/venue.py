"""Records of venue papers known from metadata alone, and their retirement once the PDF is read.

A venue paper without a usable document (metadata only, or its PDF failed to ingest) has a
``venue`` extraction under its stand-in hash (:func:`~extractor.schemas.venue_paper_sha256`);
:func:`reconcile_venue_papers` builds its record from that reading alone, through the same
:func:`~extractor.reconcile.merge.build` as any paper (status machine or queued, backend
``venue``, a single-backend confidence), so ``stats`` and ``report`` count it. A listing
that names no affiliation at all (arXiv, OpenReview authors without profiles) makes no
record: it would count as a paper of no country and pull every share down; the paper gets
its record from its PDF.

When a collector later links the paper to an ingested document and that document has a
record, the metadata becomes a second reading *of the document* (the venue backend
extracts it under the document's hash, reconcile weighs it against the PDF), and the
metadata-only record is superseded: the machine rewrites it as ``rejected`` with a
``superseded`` reason naming the document's record (one audit-log row, action
``supersede``), so no paper is counted twice. Two sources listing the same paper (same
year, title and first author's surname) give one metadata-only record, not two (one a
person holds or verified is the one kept).

A metadata-only record a person verified or is reviewing is never rewritten by the machine,
and human work outranks a machine reading: when its PDF's record arrives, that record is
the one set aside (status ``rejected``, reason ``duplicate_of_reviewed`` naming the person's
record and both country sets, log action ``duplicate``), so the paper still counts once and
the verified answer is the one counted. The PDF reading stays in the database for
reference. Should the person's record stop counting (they reject it, or release it to the
queue), the PDF record is rebuilt and counts again (log action ``restore``), and a released
metadata-only record is then superseded as usual.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from extractor.extract.venue import iter_venue_papers
from extractor.reconcile import confidence as conf
from extractor.reconcile.merge import build, input_key, save_signals, venue_labels_of, write_built
from extractor.reconcile.routing import machine_rewrite
from extractor.resolve.text import strip_accents
from extractor.schemas import Document, RecordStatus, ReviewReason, paper_id_for, venue_paper_sha256
from extractor.store import Store
from extractor.store.queue import MACHINE_OWNED


@dataclass
class VenueReconcile:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    superseded: int = 0
    duplicates: int = 0  # PDF records set aside: a person holds or verified the paper's metadata-only record
    restored: int = 0  # PDF records counted again: that person's record no longer counts
    no_affiliations: int = 0  # metadata-only papers left without a record: their listing names no affiliation
    paper_ids: list[str] = field(default_factory=list)


def metadata_document(row: dict) -> Document:
    """The stand-in document of a metadata-only venue paper: no pages, named by its venue key."""
    return Document(sha256=venue_paper_sha256(row["key"]), source_file=row["key"], venue=row.get("venue"),
                    year=row.get("year"))


def supersede(store: Store, paper_id: str, by_paper_id: str, why: str) -> bool:
    """Retire a machine-owned metadata-only record in favour of another record of the same paper.

    False when a person holds or decided it (it is left as it is).
    """
    record = store.get_record(paper_id)
    if record.status not in MACHINE_OWNED:
        return False
    reason = ReviewReason(code="superseded", message=f"superseded by {why} (paper {by_paper_id}); not counted twice",
                          detail={"by": by_paper_id})
    retired = record.model_copy(update={"status": RecordStatus.REJECTED, "audit": False, "priority": 0.0,
                                        "review_reasons": [reason]})
    return machine_rewrite(store, retired, action="supersede")


#: Metadata-only records whose human work outranks a machine reading of the same paper.
HUMAN_COUNTED = (RecordStatus.VERIFIED.value, RecordStatus.IN_REVIEW.value)
DUPLICATE = "duplicate_of_reviewed"


def set_aside_as_duplicate(store: Store, paper_id: str, held_id: str, held_key: str) -> bool:
    """Set aside the machine record ``paper_id`` (a PDF's) because a person holds or verified the
    metadata-only record ``held_id`` of the same paper; the reason names both country sets.

    False when a person holds the PDF record too (nothing is changed then).
    """
    record, held = store.get_record(paper_id), store.get_record(held_id)
    if record.status not in MACHINE_OWNED:
        return False
    doing = "verified" if held.status == RecordStatus.VERIFIED else "is reviewing"
    mine, theirs = record.countries(), held.countries()
    differs = (f"; this PDF reading says {', '.join(mine) or 'no country'} instead (check it against the PDF if "
               "the person's record should change)") if mine != theirs else " (this PDF reading agrees)"
    reason = ReviewReason(
        code=DUPLICATE,
        message=f"a person {doing} the metadata-only record of this paper ({held_key}, paper {held_id}: "
                f"{', '.join(theirs) or 'no country'}); that record is counted, this one is not (not counted twice)"
                + differs,
        detail={"by": held_id, "key": held_key, "status": held.status.value, "held_countries": theirs,
                "pdf_countries": mine})
    aside = record.model_copy(update={"status": RecordStatus.REJECTED, "audit": False, "priority": 0.0,
                                      "review_reasons": [reason] + list(record.review_reasons)})
    return machine_rewrite(store, aside, action="duplicate")


def _set_aside_by_machine(store: Store, paper_id: str) -> bool:
    """The record was set aside by :func:`set_aside_as_duplicate` and no one touched it since."""
    record = store.get_record(paper_id)  # callers check the status first (most records are not set aside)
    if record.status != RecordStatus.REJECTED or not record.review_reasons or record.review_reasons[0].code != DUPLICATE:
        return False
    last = store.history(paper_id)[-1]
    return last.get("actor") == "machine" and last.get("action") == "duplicate"


def restore(store: Store, doc_sha: str, *, confidence_threshold: float,
            models: dict[str, conf.LogisticModel | conf.ModelSet]) -> bool:
    """Count a set-aside PDF record again (rebuilt from its extractions): the person's
    metadata-only record it stood aside for no longer counts. False when it is not ours to undo."""
    pid = paper_id_for(doc_sha)
    if store.reconcile_state(doc_sha)[1] != RecordStatus.REJECTED.value or not _set_aside_by_machine(store, pid):
        return False
    rows = store.extractions_for(doc_sha)
    usable = [(m, e) for m, e, _ in rows if e is not None]
    if not usable:
        return False
    doc = store.get_document(doc_sha, with_full_text=False)
    built = build(doc, usable, confidence_threshold=confidence_threshold, models=models,
                  venue_labels=venue_labels_of(store, doc_sha, usable))
    current = store.get_record(pid)
    store.save_record(built.record, expected_version=current.version, action="restore", actor="machine",
                      note="the metadata-only record it stood aside for no longer counts")
    save_signals(store, pid, input_key([r for _, _, r in rows]), built)
    return True


def same_paper_key(row: dict[str, Any]) -> tuple[Any, str, str]:
    """What makes two venue papers (of two sources) the same paper: year, title and first author's surname,
    compared without case, accents, punctuation or spacing."""
    title = "".join(ch for ch in strip_accents(str(row.get("title") or "")).casefold() if ch.isalnum())
    authors = row.get("authors") or []
    first = str(authors[0].get("name") or "") if authors else ""
    surname = "".join(ch for ch in strip_accents(first.split()[-1] if first.split() else "").casefold() if ch.isalnum())
    return row.get("year"), title, surname


@dataclass
class _Paper:
    """The venue papers (one per source) that list one paper, and which record answers for it."""

    keys: list[str] = field(default_factory=list)
    document: str | None = None  # paper id of a linked document's record
    document_sha: str | None = None
    canonical: str | None = None  # the venue key whose metadata-only record counts
    held: str | None = None  # venue key of a metadata-only record a person holds or verified


def _papers(store: Store, documents: set[str]) -> dict[tuple[Any, str, str], _Paper]:
    """Group the venue papers of all sources by :func:`same_paper_key` (untitled papers stay alone).

    A group with a linked document that has a record is answered by that record. Otherwise
    one metadata-only record counts: the one that exists already (so the choice never
    moves), else the first by source (paperlists, openreview, arxiv: richest affiliations
    first) and key.
    """
    groups: dict[tuple[Any, str, str], _Paper] = {}
    for page in iter_venue_papers(store):
        for row in page:
            ident = same_paper_key(row)
            if not ident[1]:
                ident = (None, row["key"], "")
            paper = groups.setdefault(ident, _Paper())
            paper.keys.append(row["key"])
            doc_sha = row.get("sha256")
            if doc_sha in documents and paper.document is None and store.reconcile_state(doc_sha)[0] is not None:
                paper.document = paper_id_for(doc_sha)
                paper.document_sha = doc_sha
    order = {"paperlists": 0, "openreview": 1, "arxiv": 2}
    for paper in groups.values():
        if paper.document is None and len(paper.keys) == 1:
            paper.canonical = paper.keys[0]
            continue
        status = {k: store.reconcile_state(venue_paper_sha256(k))[1] for k in paper.keys}
        paper.held = next((k for k in paper.keys if status[k] in HUMAN_COUNTED), None)
        if paper.document is not None:
            continue
        live = [k for k in paper.keys if status[k] not in (None, RecordStatus.REJECTED.value)]
        ranked = sorted(live or paper.keys, key=lambda k: (status[k] not in HUMAN_COUNTED, order.get(k.split(":", 1)[0], 9), k))
        paper.canonical = ranked[0]
    return groups


def reconcile_venue_papers(store: Store, *, confidence_threshold: float = 0.9,
                           models: dict[str, conf.LogisticModel | conf.ModelSet] | None = None,
                           on_progress: Callable[[str], None] | None = None) -> VenueReconcile:
    """Build or refresh the metadata-only records; supersede those another record answers for.

    That is a record of the paper's PDF (a linked, ingested document), or the metadata-only
    record of the same paper listed by another source (:func:`same_paper_key`).
    """
    out = VenueReconcile()
    if models is None:
        models = {t: conf.load_models(store, t) for t in conf.TARGETS}
    documents = set(store.document_hashes(ok_only=True))
    groups = _papers(store, documents)
    with store.write():
        for paper in groups.values():
            if paper.document is None or paper.document_sha is None:
                continue
            if paper.held is not None:
                held_id = paper_id_for(venue_paper_sha256(paper.held))
                out.duplicates += set_aside_as_duplicate(store, paper.document, held_id, paper.held)
            elif restore(store, paper.document_sha, confidence_threshold=confidence_threshold, models=models):
                out.restored += 1
                out.paper_ids.append(paper.document)
    for page in iter_venue_papers(store):
        with store.write():  # one transaction a page: a commit per paper costs more than the record
            _reconcile_page(store, page, groups, models, confidence_threshold, out, on_progress)
    return out


def _reconcile_page(store: Store, page: list[dict[str, Any]], groups: dict[tuple[Any, str, str], _Paper],
                    models: dict[str, conf.LogisticModel | conf.ModelSet], confidence_threshold: float,
                    out: VenueReconcile, on_progress: Callable[[str], None] | None) -> None:
    for row in page:
        sha = venue_paper_sha256(row["key"])
        pid = paper_id_for(sha)
        record_key, status, signals_key = store.reconcile_state(sha)
        ident = same_paper_key(row)
        paper = groups[ident if ident[1] else (None, row["key"], "")]
        if paper.document is not None or paper.canonical != row["key"]:
            by, why = ((paper.document, "the record of its PDF") if paper.document is not None else
                       (paper_id_for(venue_paper_sha256(str(paper.canonical))), f"the listing {paper.canonical}"))
            if status in MACHINE_OWNED and supersede(store, pid, by, why):
                out.superseded += 1
            continue
        rows = store.extractions_for(sha)
        usable = [(m, e) for m, e, _ in rows if e is not None]
        if not usable:
            continue
        if record_key is None and not any(e.affiliations for _, e in usable):
            # the listing names no affiliation (arXiv, authors without profiles): nothing to
            # count yet; counting it as "no country" would bias every share down
            out.no_affiliations += 1
            continue
        key = input_key([r for _, _, r in rows])
        if record_key == key and (signals_key == key or status not in MACHINE_OWNED):
            out.unchanged += 1
            continue
        built = build(metadata_document(row), usable, confidence_threshold=confidence_threshold, models=models,
                      venue_labels=[str(x) for x in row.get("source_countries") or [] if x] or None)
        outcome = write_built(store, built, pid, key, refresh=record_key == key, status=status)
        if outcome == "created":
            out.created += 1
        elif outcome in ("updated", "refreshed"):
            out.updated += 1
        else:
            out.unchanged += 1
        out.paper_ids.append(pid)
        if on_progress:
            on_progress(sha)
