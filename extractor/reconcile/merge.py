"""Reconcile: every backend's extraction of a paper -> one record with reasons and confidence.

The primary extraction (the LLM's when there is one, else the rules backend's) gives the
record its content; the others are second opinions. :mod:`extractor.reconcile.signals` reads all of
them against the source text and the shared resolver and returns the reasons a human
should look (each a :class:`~extractor.schemas.ReviewReason`, so a reviewer sees *why*),
the feature vectors of the calibrated confidence models (:mod:`extractor.reconcile.confidence`), and
the plausible alternative country sets that decide a correction's impact
(:mod:`extractor.review.queue`).

Reconcile is idempotent: a record is rebuilt only when the set of extractions it came from
changed (``input_key``), records a human touched are never overwritten, and the signals
of a record are kept as they were when a human took it over, so calibration can pair what
the machine saw with what the reviewer decided. After the records, :func:`run_reconcile`
routes the queue (status, priority, audit sample).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from extractor.config import Settings
from extractor.extract.base import SECOND_OPINION
from extractor.extract.rules.cache import CachedResolver
from extractor.reconcile import confidence as conf
from extractor.reconcile import routing
from extractor.reconcile.routing import low_confidence_reason, machine_rewrite
from extractor.reconcile.signals import (
    METADATA_BACKENDS,
    Signals,
    analyse,
    grounded,
    match_affiliation,
    match_authors,
)
from extractor.resolve import Resolver, get_resolver
from extractor.resolve.models import canonical_mentions
from extractor.schemas import (
    Document,
    ExtractionMeta,
    Method,
    PaperExtraction,
    PaperRecord,
    Provenance,
    RecordStatus,
    paper_id_for,
)
from extractor.store import Store, utcnow
from extractor.store.queue import MACHINE_OWNED

#: Backend preference when choosing the primary extraction.
BACKEND_PRIORITY = ["llm", "rules"]



def input_key(rows: list[dict]) -> str:
    """Hash of the extractions a record is built from; a change triggers a rebuild."""
    parts = sorted(f"{r['backend']}|{r['cache_key']}|{r['id']}|{r['created_at']}" for r in rows)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def choose_primary(
    extractions: list[tuple[ExtractionMeta, PaperExtraction]],
) -> tuple[ExtractionMeta, PaperExtraction]:
    """The preferred backend's extraction, unless it found nothing another backend found."""

    def rank(item: tuple[ExtractionMeta, PaperExtraction]) -> tuple[int, int]:
        meta, ext = item
        empty = int(not ext.authors and not ext.affiliations)
        order = BACKEND_PRIORITY.index(meta.backend) if meta.backend in BACKEND_PRIORITY else len(BACKEND_PRIORITY)
        return empty, order

    return sorted(extractions, key=rank)[0]


def merge(
    doc: Document,
    meta: ExtractionMeta,
    primary: PaperExtraction,
    others: list[tuple[ExtractionMeta, PaperExtraction]],
    resolver: Resolver,
) -> tuple[PaperExtraction, list[dict[str, Any]]]:
    """Take from the second opinions what two independent readings agree on.

    Two rules, each leaving a change entry that becomes a review reason and a feature:

    * ``country_corrected``: the affiliation text itself names a country (resolver
      ``stated``), another backend reads the same affiliation with that country, and the
      primary says something else: the record takes the stated country.
    * ``affiliation_added``: another backend found an affiliation that is printed in the
      PDF (grounded), that the resolver places with a stated or gazetteer country, that
      belongs to an author the primary also has, and that matches none of the primary's
      affiliations: it is added and linked to that author.

    And one rule that takes away what nothing supports:

    * ``country_withheld``: a primary affiliation whose text is not found in the PDF
      (ungrounded: a model's invention or paraphrase) and that no other backend reads with
      the same country from a printed affiliation keeps its place and its authors, but its
      country is not counted (set to none); the country becomes an alternative for review.
      Not for a venue's metadata (the primary when no PDF reading found anything): it was
      never read from the PDF, so not finding it printed there is no sign of invention.
    """
    affs = [a.model_copy() for a in primary.affiliations]
    authors = [a.model_copy(update={"affiliation_ids": list(a.affiliation_ids)}) for a in primary.authors]
    changes: list[dict[str, Any]] = []
    for a in affs:
        if not a.country or meta.backend in METADATA_BACKENDS or grounded(a.raw, a.evidence, doc):
            continue
        seconds = [o_meta.backend for o_meta, other in others
                   if (m := match_affiliation(a, other.affiliations)) is not None and m.country == a.country
                   and grounded(m.raw, m.evidence, doc)]
        if not seconds:
            changes.append({"kind": "country_withheld", "raw": a.raw, "from": a.country, "method": a.country_method.value})
            a.country, a.country_method = None, Method.UNKNOWN
    for a in affs:
        if not grounded(a.raw, a.evidence, doc):
            continue  # nothing printed to correct against
        res = resolver.resolve(a.raw)
        if res.country_method != Method.STATED or not res.country or res.country == a.country:
            continue
        seconds = [o_meta.backend for o_meta, other in others
                   if (m := match_affiliation(a, other.affiliations)) is not None and m.country == res.country]
        if seconds:
            changes.append({"kind": "country_corrected", "raw": a.raw, "from": a.country, "to": res.country,
                            "backend": seconds[0]})
            a.country, a.country_method = res.country, Method.STATED
    for o_meta, other in others:
        pairs = match_authors(authors, other.authors)
        by_other = {j: i for i, j in pairs.items()}
        for o in other.affiliations:
            if not o.country or match_affiliation(o, affs) is not None or not grounded(o.raw, o.evidence, doc):
                continue
            holders = [by_other[j] for j, x in enumerate(other.authors) if o.id in x.affiliation_ids and j in by_other]
            if not holders:
                continue
            res = resolver.resolve(o.raw)
            if res.country != o.country or not (res.in_gazetteer or res.country_method == Method.STATED):
                continue
            new_id = max([x.id for x in affs], default=-1) + 1
            affs.append(o.model_copy(update={"id": new_id}))
            for i in holders:
                authors[i].affiliation_ids.append(new_id)
            changes.append({"kind": "affiliation_added", "raw": o.raw, "country": o.country, "backend": o_meta.backend,
                            "authors": [authors[i].name for i in holders]})
    if not changes:
        return primary, changes
    return primary.model_copy(update={"affiliations": affs, "authors": authors}), changes


@functools.cache
def cached_resolver() -> Resolver:
    """The shared resolver behind a memo: reconcile asks it about the same affiliation strings
    (each paper's, again in every signal; "Stanford University" in paper after paper) many times."""
    return CachedResolver(get_resolver())  # type: ignore[return-value]  # same answers, duck-typed


@dataclass
class Built:
    """A record plus what reconcile learnt on the way (stored in ``review_signals``)."""

    record: PaperRecord
    signals: Signals


def build(
    doc: Document,
    extractions: list[tuple[ExtractionMeta, PaperExtraction]],
    *,
    confidence_threshold: float = 0.9,
    models: dict[str, conf.LogisticModel | conf.ModelSet] | None = None,
    venue_labels: list[str] | None = None,
) -> Built:
    """Merge one paper's extractions into a record with reasons and calibrated confidence.

    Each target's confidence comes from the model of the record's backend set (rules only,
    rules+llm, ...): ``models`` maps a target to a :class:`~extractor.reconcile.confidence.ModelSet`
    (or one model for every set); the default priors when None. ``venue_labels``: the
    country names a venue source gives the paper itself (:func:`venue_labels_of`), compared
    with the record's set and never used as its answer.
    """
    sets = {t: conf.as_model_set(m) for t, m in (models or {}).items()}
    sets = {t: sets.get(t) or conf.default_models(t) for t in conf.TARGETS}
    # second opinions (narrow llm questions about the units of an uncertain record) are a signal, not a reading
    seconds = [e for m, e in extractions if m.backend == SECOND_OPINION]
    extractions = [(m, e) for m, e in extractions if m.backend != SECOND_OPINION] or extractions
    meta, primary = choose_primary(extractions)
    others = [(m, e) for m, e in extractions if m is not meta]
    resolver = cached_resolver()
    primary, changes = merge(doc, meta, primary, others, resolver)
    sig = analyse(doc, meta, primary, others, resolver, changes=changes, second_opinions=seconds,
                  venue_labels=venue_labels)
    if sig.doubts:
        sig.features[routing.DOUBT] = 1.0
    p_right = round(sets[conf.COUNTRY].predict(sig.features), 4)
    p_models = round(sets[conf.MODELS].predict(sig.model_features), 4)
    reasons = list(sig.reasons)
    status = RecordStatus.QUEUED if p_right < confidence_threshold or sig.doubts else RecordStatus.MACHINE
    if status == RecordStatus.QUEUED and not reasons:
        reasons.append(low_confidence_reason(p_right, confidence_threshold))
    backends = sorted({m.backend for m, _ in extractions})
    record = PaperRecord(
        paper_id=paper_id_for(doc.sha256),
        sha256=doc.sha256,
        source_file=doc.source_file,
        venue=primary.venue or doc.venue,
        year=primary.year or doc.year,
        title=primary.title,
        title_evidence=primary.title_evidence,
        authors=primary.authors,
        affiliations=primary.affiliations,
        model_mentions=canonical_mentions(primary.model_mentions),  # one spelling per family, whatever the backend
        status=status,
        confidence=p_right,
        model_confidence=p_models,
        review_reasons=reasons,
        provenance=Provenance(
            backend=meta.backend if len(backends) == 1 else "+".join([meta.backend] + [b for b in backends if b != meta.backend]),
            backends=backends,
            prompt_version=meta.prompt_version,
            model=meta.model,
            reconciled_at=utcnow(),
        ),
    )
    return Built(record, sig)


def venue_labels_of(store: Store, sha256: str, extractions: list[tuple[ExtractionMeta, Any]]) -> list[str] | None:
    """The venue sources' own country names for a document read with a metadata backend
    (``venue_papers.source_countries`` of every listing linked to it), None when there are none.

    Read from the store when the record is built, not from the venue extraction: the labels
    are no reading of ours. A re-collected listing whose labels alone changed is compared
    at the record's next rebuild.
    """
    if not any(m.backend in METADATA_BACKENDS for m, _ in extractions):
        return None
    names = {str(x) for row in store.venue_papers_for_document(sha256) for x in row.get("source_countries") or [] if x}
    return sorted(names) or None


def build_record(
    doc: Document,
    extractions: list[tuple[ExtractionMeta, PaperExtraction]],
    *,
    confidence_threshold: float = 0.9,
    models: dict[str, conf.LogisticModel | conf.ModelSet] | None = None,
) -> PaperRecord:
    """The record alone (see :func:`build`)."""
    return build(doc, extractions, confidence_threshold=confidence_threshold, models=models).record


def save_signals(store: Store, paper_id: str, key: str, built: Built) -> None:
    """Upsert the signals row of a machine-owned record (routing fills the rest)."""
    rec, sig = built.record, built.signals
    row = {
        "paper_id": paper_id,
        "input_key": key,
        "countries": json.dumps(rec.countries()),
        "families": json.dumps(rec.model_families()),
        "features": json.dumps(sig.features, sort_keys=True),
        "model_features": json.dumps(sig.model_features, sort_keys=True),
        "alternatives": json.dumps(sig.alternatives),
        "p_wrong": round(1 - (rec.confidence or 0.0), 6),
        "p_wrong_models": round(1 - (rec.model_confidence or 0.0), 6),
        "computed_at": utcnow(),
    }
    store.put_review_signals(row)


@dataclass
class ReconcileSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kept_human: int = 0
    no_extraction: int = 0
    queued: int = 0
    paper_ids: list[str] = field(default_factory=list)
    route: dict | None = None  # the routing summary (see extractor.reconcile.routing.RouteSummary)
    second_opinion: dict | None = None  # the second-opinion pass, when asked (SecondOpinionSummary)
    metadata_only: dict | None = None  # venue papers without a PDF (see extractor.reconcile.venue)


def write_built(store: Store, built: Built, paper_id: str, key: str, *, refresh: bool, status: str | None) -> str:
    """Store one built record and its signals in one transaction; returns the outcome.

    ``refresh``: the stored record already comes from these inputs (same input key), so a
    machine-owned record is rewritten in place with its signals ("refreshed") and a record a
    person holds is left alone. Otherwise the store decides: "created", "updated",
    "unchanged" or "kept-human" (a person's record is never overwritten), and signals are
    saved only for a record that was written.
    """
    with store.write():
        if refresh:
            if status in MACHINE_OWNED:
                machine_rewrite(store, built.record, action="reconcile")
                save_signals(store, paper_id, key, built)
            return "refreshed"
        outcome = store.put_machine_record(built.record, key)
        if outcome in ("created", "updated"):
            save_signals(store, paper_id, key, built)
        return outcome


def run_reconcile(
    store: Store,
    *,
    confidence_threshold: float = 0.9,
    settings: Settings | None = None,
    route: bool = True,
    on_total: Callable[[int], None] | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> ReconcileSummary:
    """Build or refresh the record of every document whose extractions changed, then route.

    Args:
        confidence_threshold: records below it are queued for review.
        settings: audit fraction / minimum / seed for routing (defaults when None).
        route: set queue status, priority and the audit sample afterwards.
    """

    settings = settings or Settings()
    if settings.confidence_threshold != confidence_threshold:
        settings = settings.model_copy(update={"confidence_threshold": confidence_threshold})
    models = {t: conf.load_models(store, t) for t in conf.TARGETS}
    summary = ReconcileSummary()
    # Only documents whose extractions changed since the last complete reconcile (or that
    # lack a record or current signals) are read; every other record is up to date.
    watermark = store.extraction_watermark()
    since = store.reconciled_watermark()
    hashes = store.hashes_to_reconcile(since)
    if since is not None:
        summary.unchanged = store.count_ingested_documents() - len(hashes)
    if on_total:
        on_total(len(hashes))
    for sha in hashes:
        pid = paper_id_for(sha)
        rows = store.extractions_for(sha)
        usable = [(m, e) for m, e, _ in rows if e is not None]
        if not usable:
            summary.no_extraction += 1
            if on_progress:
                on_progress(sha)
            continue
        key = input_key([r for _, _, r in rows])
        record_key, status, signals_key = store.reconcile_state(sha)
        fresh = record_key == key
        if fresh and signals_key == key:
            summary.unchanged += 1
            if on_progress:
                on_progress(sha)
            continue
        doc = store.get_document(sha, with_full_text=False)
        built = build(doc, usable, confidence_threshold=confidence_threshold, models=models,
                      venue_labels=venue_labels_of(store, sha, usable))
        # same extractions but no signals row for them: the record and its signals are
        # refreshed in place, which is not a change of content
        outcome = write_built(store, built, pid, key, refresh=fresh, status=status)
        if outcome == "refreshed":
            outcome = "unchanged"
        if outcome == "created":
            summary.created += 1
        elif outcome == "updated":
            summary.updated += 1
        elif outcome == "kept-human":
            summary.kept_human += 1
        else:
            summary.unchanged += 1
        summary.paper_ids.append(pid)
        if on_progress:
            on_progress(sha)
    store.set_reconciled_watermark(watermark)
    if route:
        rs = routing.route(store, settings, paper_ids=summary.paper_ids)
        summary.route = rs.__dict__
    summary.queued = store.count_records(RecordStatus.QUEUED)
    return summary
