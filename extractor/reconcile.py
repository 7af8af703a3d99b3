"""Reconcile: every backend's extraction of a paper -> one record with reasons and confidence.

The primary extraction (the LLM's when there is one, else the rules backend's) gives
the record its content; the others are second opinions. Signals that a human should look
are collected as :class:`~extractor.schemas.ReviewReason` objects, so a reviewer sees *why*
a record is queued. Reconcile is idempotent: a record is rebuilt only when the set of
extractions it came from changed, and records a human touched are never overwritten.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from .schemas import (
    INFERRED_COUNTRY_METHODS,
    Alignment,
    Document,
    ExtractionMeta,
    Method,
    PaperExtraction,
    PaperRecord,
    Provenance,
    RecordStatus,
    ReviewReason,
    paper_id_for,
)
from .store import Store, utcnow

#: Backend preference when choosing the primary extraction.
BACKEND_PRIORITY = ["llm", "rules"]


def input_key(rows: list[dict]) -> str:
    """Hash of the extractions a record is built from; a change triggers a rebuild."""
    parts = sorted(f"{r['backend']}|{r['cache_key']}|{r['id']}|{r['created_at']}" for r in rows)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def _primary(extractions: list[tuple[ExtractionMeta, PaperExtraction]]) -> tuple[ExtractionMeta, PaperExtraction]:
    def rank(item: tuple[ExtractionMeta, PaperExtraction]) -> int:
        name = item[0].backend
        return BACKEND_PRIORITY.index(name) if name in BACKEND_PRIORITY else len(BACKEND_PRIORITY)

    return sorted(extractions, key=rank)[0]


def review_reasons(
    primary: PaperExtraction,
    primary_meta: ExtractionMeta,
    others: list[tuple[ExtractionMeta, PaperExtraction]],
) -> list[ReviewReason]:
    """The signals that this record may be wrong, each as a sentence a reviewer can act on."""
    reasons: list[ReviewReason] = []
    if not primary.authors:
        reasons.append(ReviewReason(code="no_authors", message="no authors were found in the front matter"))
    if not primary.affiliations:
        reasons.append(ReviewReason(code="no_affiliations", message="no affiliations were found"))
    missing = [a.raw for a in primary.affiliations if not a.country]
    if missing:
        reasons.append(ReviewReason(code="country_unknown", message=f"no country for: {'; '.join(missing[:3])}",
                                    detail={"affiliations": missing}))
    inferred = [a for a in primary.affiliations if a.country and a.country_method in INFERRED_COUNTRY_METHODS]
    if inferred:
        how = sorted({a.country_method.value for a in inferred})
        reasons.append(ReviewReason(
            code="country_inferred",
            message=f"country inferred ({', '.join(how)}), not stated, for: {'; '.join(a.raw for a in inferred[:3])}",
            detail={"methods": how},
        ))
    hq = [a.raw for a in primary.affiliations if a.country_method == Method.HQ_DEFAULT]
    if hq:
        reasons.append(ReviewReason(code="company_no_site",
                                    message=f"company without a named site, headquarters country used: {'; '.join(hq[:3])}"))
    unmatched = [a.raw for a in primary.affiliations if a.institution is None]
    if unmatched:
        reasons.append(ReviewReason(code="institution_unmatched",
                                    message=f"institution not in the gazetteer: {'; '.join(unmatched[:3])}"))
    ungrounded = [a.raw for a in primary.affiliations if a.evidence and a.evidence.alignment == Alignment.NOT_FOUND]
    ungrounded += [a.name for a in primary.authors if a.evidence and a.evidence.alignment == Alignment.NOT_FOUND]
    if ungrounded:
        reasons.append(ReviewReason(code="ungrounded", message=f"not found in the PDF text: {'; '.join(ungrounded[:3])}",
                                    detail={"values": ungrounded}))
    no_aff = [a.name for a in primary.authors if not a.affiliation_ids]
    if no_aff and primary.affiliations:
        reasons.append(ReviewReason(code="author_without_affiliation",
                                    message=f"authors with no affiliation: {', '.join(no_aff[:4])}"))
    if primary.author_block_count is not None and primary.author_block_count != len(primary.authors):
        reasons.append(ReviewReason(code="author_count_mismatch",
                                    message=f"{primary.author_block_count} names in the author block, {len(primary.authors)} extracted"))
    if primary_meta.reasks:
        reasons.append(ReviewReason(code="reasked", message=f"the LLM answer needed {primary_meta.reasks} validation re-ask(s)"))
    for meta, other in others:
        a, b = primary.countries(), other.countries()
        if a != b:
            reasons.append(ReviewReason(
                code="backends_disagree",
                message=f"{primary_meta.backend} says {', '.join(a) or 'no country'}; {meta.backend} says {', '.join(b) or 'no country'}",
                detail={primary_meta.backend: a, meta.backend: b},
            ))
        if len(other.authors) != len(primary.authors):
            reasons.append(ReviewReason(
                code="author_count_differs",
                message=f"{primary_meta.backend} found {len(primary.authors)} authors, {meta.backend} {len(other.authors)}",
            ))
    return reasons


def heuristic_confidence(reasons: list[ReviewReason]) -> float:
    """P(country set right) before any calibration exists: each signal lowers it."""
    penalty = {
        "no_authors": 0.5, "no_affiliations": 0.6, "country_unknown": 0.35, "backends_disagree": 0.4,
        "ungrounded": 0.2, "country_inferred": 0.1, "company_no_site": 0.1, "institution_unmatched": 0.08,
        "author_without_affiliation": 0.15, "author_count_mismatch": 0.1, "author_count_differs": 0.08,
        "reasked": 0.05,
    }
    p = 0.97
    for r in reasons:
        p *= 1 - penalty.get(r.code, 0.05)
    return round(p, 4)


def build_record(
    doc: Document,
    extractions: list[tuple[ExtractionMeta, PaperExtraction]],
    *,
    confidence_threshold: float = 0.9,
    confidence_fn: Callable[[list[ReviewReason]], float] = heuristic_confidence,
) -> PaperRecord:
    meta, primary = _primary(extractions)
    others = [(m, e) for m, e in extractions if m is not meta]
    reasons = review_reasons(primary, meta, others)
    confidence = confidence_fn(reasons)
    status = RecordStatus.QUEUED if confidence < confidence_threshold else RecordStatus.MACHINE
    backends = sorted({m.backend for m, _ in extractions})
    return PaperRecord(
        paper_id=paper_id_for(doc.sha256),
        sha256=doc.sha256,
        source_file=doc.source_file,
        venue=primary.venue or doc.venue,
        year=primary.year or doc.year,
        title=primary.title,
        title_evidence=primary.title_evidence,
        authors=primary.authors,
        affiliations=primary.affiliations,
        model_mentions=primary.model_mentions,
        status=status,
        confidence=confidence,
        review_reasons=reasons,
        provenance=Provenance(
            backend=meta.backend if len(backends) == 1 else "+".join([meta.backend] + [b for b in backends if b != meta.backend]),
            backends=backends,
            prompt_version=meta.prompt_version,
            model=meta.model,
            reconciled_at=utcnow(),
        ),
    )


@dataclass
class ReconcileSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kept_human: int = 0
    no_extraction: int = 0
    queued: int = 0
    paper_ids: list[str] = field(default_factory=list)


def run_reconcile(
    store: Store,
    *,
    confidence_threshold: float = 0.9,
    on_total: Callable[[int], None] | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> ReconcileSummary:
    """Build or refresh the record of every document whose extractions changed."""
    summary = ReconcileSummary()
    current = store.record_input_keys()
    hashes = [r["sha256"] for r in store.query("SELECT sha256 FROM documents WHERE error IS NULL ORDER BY ingested_at, sha256")]
    if on_total:
        on_total(len(hashes))
    with store.write():
        for sha in hashes:
            rows = store.extractions_for(sha)
            if not rows:
                summary.no_extraction += 1
                if on_progress:
                    on_progress(sha)
                continue
            key = input_key([r for _, _, r in rows])
            if current.get(sha) == key:
                summary.unchanged += 1
                if on_progress:
                    on_progress(sha)
                continue
            doc = store.get_document(sha, with_full_text=False)
            record = build_record(doc, [(m, e) for m, e, _ in rows if e is not None], confidence_threshold=confidence_threshold)
            outcome = store.put_machine_record(record, key)
            if outcome == "created":
                summary.created += 1
            elif outcome == "updated":
                summary.updated += 1
            elif outcome == "kept-human":
                summary.kept_human += 1
            else:
                summary.unchanged += 1
            if outcome in ("created", "updated") and record.status == RecordStatus.QUEUED:
                summary.queued += 1
            summary.paper_ids.append(record.paper_id)
            if on_progress:
                on_progress(sha)
    return summary
