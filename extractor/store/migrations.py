"""Numbered schema migrations, applied in order whenever a database is opened.

Each migration is a small function registered on one sqlite-utils ``Migrations`` set;
the set records what ran in ``_sqlite_migrations`` so an older database is upgraded
step by step and a fresh one gets every step. Never edit a migration that has shipped:
add a new one.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("collabscope")


@migrations(name="m001_initial")
def m001_initial(db: Database) -> None:
    """Documents, extractions, records and runs: the core tables."""
    db.table("runs").create(
        {
            "id": int,
            "command": str,
            "args": str,  # JSON, secrets removed
            "started_at": str,
            "finished_at": str,
            "status": str,  # running, ok, partial, failed, interrupted
            "counts": str,  # JSON summary
            "pid": int,
            "host": str,
        },
        pk="id",
    )
    db.table("documents").create(
        {
            "sha256": str,
            "source_file": str,
            "path": str,
            "size_bytes": int,
            "page_count": int,
            "venue": str,
            "year": int,
            "title": str,
            "front": str,  # JSON FrontMatter (lines, spans, zones)
            "full_text": str,
            "error": str,
            "error_kind": str,
            "ingested_at": str,
            "run_id": int,
        },
        pk="sha256",
    )
    db.table("documents").create_index(["error_kind"])
    db.table("extractions").create(
        {
            "id": int,
            "sha256": str,
            "backend": str,
            "cache_key": str,  # backend + prompt version + model + schema version
            "prompt_name": str,
            "prompt_version": str,
            "prompt_hash": str,
            "model": str,
            "schema_version": str,
            "data": str,  # JSON PaperExtraction, null when failed
            "error": str,
            "reasks": int,
            "prompt_tokens": int,
            "completion_tokens": int,
            "cost_usd": float,
            "created_at": str,
            "run_id": int,
        },
        pk="id",
    )
    db.table("extractions").create_index(["sha256", "backend", "cache_key"], unique=True)
    db.table("records").create(
        {
            "paper_id": str,
            "sha256": str,
            "source_file": str,
            "venue": str,
            "year": int,
            "status": str,
            "version": int,
            "confidence": float,
            "model_confidence": float,
            "priority": float,
            "audit": int,
            "countries": str,  # ",CN,US," for cheap LIKE filters
            "reasons": str,  # ",code1,code2,"
            "title": str,
            "data": str,  # JSON PaperRecord
            "input_key": str,  # hash of the extractions it was reconciled from
            "reviewer": str,
            "reviewed_at": str,
            "updated_at": str,
        },
        pk="paper_id",
    )
    db.table("records").create_index(["sha256"], unique=True)
    db.table("records").create_index(["status", "priority"])


@migrations(name="m002_llm_calls")
def m002_llm_calls(db: Database) -> None:
    """One row per LLM HTTP call (each re-ask too): the cost log and the cache."""
    db.table("llm_calls").create(
        {
            "id": int,
            "sha256": str,
            "purpose": str,  # front_matter, model_roles, ...
            "cache_key": str,
            "model": str,
            "prompt_name": str,
            "prompt_version": str,
            "prompt_hash": str,
            "schema_version": str,
            "request": str,  # JSON messages (never the key)
            "response": str,  # raw response text
            "parsed": str,  # JSON of the validated object, when parsing succeeded
            "attempt": int,
            "error": str,
            "status_code": int,
            "duration_ms": float,
            "prompt_tokens": int,
            "completion_tokens": int,
            "cost_usd": float,
            "batch_id": str,
            "created_at": str,
            "run_id": int,
        },
        pk="id",
    )
    db.table("llm_calls").create_index(["cache_key"])
    db.table("llm_calls").create_index(["sha256"])
    db.table("llm_calls").create_index(["run_id"])


@migrations(name="m003_reviews")
def m003_reviews(db: Database) -> None:
    """The append-only audit log of every record change, hash-chained."""
    db.table("reviews").create(
        {
            "id": int,
            "paper_id": str,
            "action": str,  # create, reconcile, approve, correct, reject, skip, flag, undo, claim
            "actor": str,  # reviewer name, or "machine"
            "at": str,
            "version_before": int,
            "version_after": int,
            "status_before": str,
            "status_after": str,
            "before": str,  # JSON content before (human actions)
            "after": str,  # JSON content after (human actions)
            "after_sha": str,  # hash of the record data after the action
            "note": str,
            "prev_hash": str,
            "hash": str,
        },
        pk="id",
    )
    db.table("reviews").create_index(["paper_id", "id"])
    db.table("reviews").create_index(["actor"])
    db.executescript(
        """
        CREATE TRIGGER reviews_no_update BEFORE UPDATE ON reviews
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER reviews_no_delete BEFORE DELETE ON reviews
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        """
    )
    db.table("calibration").create(
        {"id": int, "target": str, "fitted_at": str, "n": int, "params": str, "metrics": str},
        pk="id",
    )



@migrations(name="m004_review_signals")
def m004_review_signals(db: Database) -> None:
    """Review routing: the signals reconcile saw, calibrated P(wrong), impact, audit draw.

    One row per paper, written by reconcile for machine-owned records and kept as it was
    when a human took the record over, so calibration can pair what the machine saw with
    what the reviewer decided. ``review_meta`` holds the last routing's parameters.
    """
    db.table("review_signals").create(
        {
            "paper_id": str,
            "input_key": str,  # the extractions the signals were computed from
            "countries": str,  # JSON machine country set at reconcile time
            "families": str,  # JSON machine model-family set
            "features": str,  # JSON {feature: value} for the country-set model
            "model_features": str,  # JSON {feature: value} for the model-family model
            "alternatives": str,  # JSON [{"set": [...], "wild": bool, "why": str}]
            "p_wrong": float,
            "p_wrong_models": float,
            "impact": float,
            "priority": float,
            "audit_u": float,  # seeded uniform draw; set only while the record is in the audit frame
            "audit": int,
            "audit_drawn_at": str,
            "computed_at": str,
            "routed_at": str,
        },
        pk="paper_id",
    )
    db.table("review_signals").create_index(["priority"])
    db.table("review_meta").create({"key": str, "value": str, "updated_at": str}, pk="key")


@migrations(name="m005_review_work")
def m005_review_work(db: Database) -> None:
    """Review work in progress: claim leases and the double-review sample.

    ``review_claims`` holds one lease per record a reviewer has open (status in_review),
    so two reviewers are never served the same record and an abandoned claim expires.
    ``double_reviews`` holds the records drawn for an independent second review: the
    first decision when it was drawn, the second (blind) decision when it is made; the
    pairs give Cohen's kappa. Both are working tables; the audit log stays the record of
    what happened.
    """
    db.table("review_claims").create(
        {
            "paper_id": str,
            "reviewer": str,
            "claimed_at": str,
            "expires_at": str,  # ISO UTC; a lease past this is released by the next reviewer
            "status_before": str,  # status to restore when the claim is released
            "reviewer_before": str,  # provenance.reviewer to restore (the claim sets it to the holder)
        },
        pk="paper_id",
    )
    db.table("review_claims").create_index(["reviewer"])
    db.table("double_reviews").create(
        {
            "paper_id": str,
            "drawn_at": str,
            "first_reviewer": str,
            "first_decision": str,  # approve, correct, reject
            "first_label": str,  # country set "CN,US" or "rejected"
            "machine": str,  # JSON PaperContent the first reviewer started from
            "second_reviewer": str,
            "second_decision": str,
            "second_label": str,
            "second_content": str,  # JSON PaperContent the second reviewer submitted
            "second_at": str,
        },
        pk="paper_id",
    )
    db.table("double_reviews").create_index(["second_at"])


@migrations(name="m006_llm_batches")
def m006_llm_batches(db: Database) -> None:
    """LLM call grouping (call_id, reask) and the OpenAI Batch API jobs, for resume."""
    db.table("llm_calls").add_column("call_id", str)  # one logical ask: the first request and its re-asks
    db.table("llm_calls").add_column("reask", int)  # 0 = first ask, 1 = first validation re-ask, ...
    db.table("llm_calls").create_index(["call_id"])
    db.table("llm_batches").create(
        {
            "id": int,
            "state": str,  # prepared, uploaded, submitted, downloaded, ingested, failed
            "remote_status": str,  # the API's batch status (validating, in_progress, completed, ...)
            "model": str,
            "backend_key": str,  # the extraction cache key the batch was made for
            "jsonl_path": str,  # the request file written before upload
            "items": str,  # JSON {custom_id: {sha256, purpose, cache_key}}
            "request_count": int,
            "input_file_id": str,
            "batch_id": str,
            "output_file_id": str,
            "error_file_id": str,
            "output_path": str,
            "error_path": str,
            "error": str,
            "created_at": str,
            "updated_at": str,
            "run_id": int,
        },
        pk="id",
    )
    db.table("llm_batches").create_index(["state"])


@migrations(name="m007_queue_order_index")
def m007_queue_order_index(db: Database) -> None:
    """An index that serves the review queue's priority order with no sort.

    ``extractor.review.queue`` orders a status's records by ``priority DESC, coalesce(confidence,
    1), paper_id`` (confidence = 1 - P(wrong), so the same order as P(wrong) descending)
    and pages by key: with this index the next page starts where the last one stopped,
    whatever the size of the queue or of a group of equal priorities. The audit sample is
    served in draw order from ``review_signals (audit_u, paper_id)`` the same way.
    """
    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_records_queue_order "
        "ON records (status, priority DESC, coalesce(confidence, 1), paper_id)"
    )
    db.execute("CREATE INDEX IF NOT EXISTS idx_review_signals_audit_u ON review_signals (audit_u, paper_id)")


@migrations(name="m008_venue_metadata")
def m008_venue_metadata(db: Database) -> None:
    """What collectors found at a venue (``venue_papers``) and OpenReview author profiles (``author_profiles``).

    A venue paper is keyed ``"{source}:{source_id}"`` and linked to its document by
    ``sha256`` once its PDF was collected; see :mod:`extractor.store.venue`.
    """
    db.table("venue_papers").create(
        {
            "key": str,  # "{source}:{source_id}"
            "source": str,  # openreview, arxiv, paperlists
            "source_id": str,
            "venue": str,
            "year": int,
            "title": str,
            "decision": str,
            "pdf_url": str,
            "site_url": str,
            "sha256": str,  # the document, once the PDF was collected; NULL = metadata only
            "authors": str,  # JSON list, paper order: name, id, email_domain, affiliations
            "source_countries": str,  # JSON: the source's own country labels, for comparison only
            "extra": str,  # JSON
            "collected_at": str,
            "run_id": int,
        },
        pk="key",
        if_not_exists=True,
    )
    db.table("venue_papers").create_index(["source", "source_id"], unique=True, if_not_exists=True)
    db.table("venue_papers").create_index(["sha256"], if_not_exists=True)
    db.table("venue_papers").create_index(["venue", "year"], if_not_exists=True)
    db.table("author_profiles").create(
        {
            "profile_id": str,
            "source": str,
            "names": str,  # JSON list
            "history": str,  # JSON list of positions: position, institution, domain, country, start, end
            "email_domains": str,  # JSON list
            "fetched_at": str,
        },
        pk="profile_id",
        if_not_exists=True,
    )


def apply(db: Database) -> list[str]:
    """Apply pending migrations; returns the names applied now."""
    pending = [m.name for m in migrations.pending(db)]
    if pending:
        migrations.apply(db)
    return pending


def applied(db: Database) -> list[str]:
    return [m.name for m in migrations.applied(db)]
