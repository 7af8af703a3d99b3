"""Export: records -> the public JSONL contract (one JSON object per paper).

The shape is :class:`~extractor.schemas.ExportRecord` and is documented in the README;
other tools depend on it, so fields are only ever added. Queued and in-review records
export as status ``machine`` (they are still the machine's answer); with ``--all``,
documents that failed ingest or extraction are exported with status ``failed`` and an
``error`` field, so a dataset always accounts for every file it was given.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .schemas import EXPORT_STATUS, ExportRecord, PaperRecord, RecordStatus, paper_id_for
from .store import Store

VERIFIED_STATUSES = (RecordStatus.VERIFIED,)


def record_to_export(record: PaperRecord, group_hk_mo_with_cn: bool = False) -> dict[str, Any]:
    """One record as a contract dict (validated by :class:`ExportRecord` in tests)."""
    prov = record.provenance.model_dump(exclude_none=True)
    prov["sha256"] = record.sha256
    return {
        "paper_id": record.paper_id,
        "source_file": record.source_file,
        "sha256": record.sha256,
        "title": record.title,
        "venue": record.venue,
        "year": record.year,
        "authors": [{"name": a.name, "affiliation_ids": a.affiliation_ids, "email": a.email} for a in record.authors],
        "affiliations": [
            {
                "id": a.id,
                "raw": a.raw,
                "institution": a.institution,
                "department": a.department,
                "city": a.city,
                "country": a.country,
                "sector": a.sector.value if a.sector else None,
            }
            for a in record.affiliations
        ],
        "countries": record.countries(group_hk_mo_with_cn),
        "model_mentions": [
            {
                "name": m.name,
                "family": m.family,
                "developer": m.developer,
                "developer_country": m.developer_country,
                "role": m.role.value if m.role else None,
            }
            for m in record.model_mentions
        ],
        "status": EXPORT_STATUS[record.status],
        "confidence": record.confidence,
        "review_reasons": [r.code for r in record.review_reasons],
        "provenance": prov,
    }


def _failed_lines(store: Store) -> Iterator[dict[str, Any]]:
    rows = store.query(
        """SELECT d.sha256, d.source_file, d.error, d.error_kind, NULL AS backend FROM documents d
           WHERE d.error IS NOT NULL
           UNION ALL
           SELECT d.sha256, d.source_file, group_concat(e.backend || ': ' || e.error, ' | '), 'extraction',
                  group_concat(e.backend, '+')
           FROM documents d JOIN extractions e USING (sha256)
           WHERE d.error IS NULL AND e.error IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM records r WHERE r.sha256 = d.sha256)
           GROUP BY d.sha256
           ORDER BY 2"""
    )
    for row in rows:
        yield {
            "paper_id": paper_id_for(row["sha256"]),
            "source_file": row["source_file"],
            "sha256": row["sha256"],
            "title": None,
            "authors": [],
            "affiliations": [],
            "countries": [],
            "model_mentions": [],
            "status": "failed",
            "confidence": None,
            "review_reasons": [],
            "error": row["error"],
            "error_kind": row["error_kind"],
            "provenance": {"backend": row["backend"] or "ingest", "sha256": row["sha256"]},
        }


def iter_export(store: Store, *, verified_only: bool = False, include_failed: bool = False,
                group_hk_mo_with_cn: bool = False) -> Iterator[dict[str, Any]]:
    statuses = [s.value for s in VERIFIED_STATUSES] if verified_only else None
    for record in store.iter_records(statuses):
        if not verified_only and not include_failed and record.status == RecordStatus.REJECTED:
            continue
        yield record_to_export(record, group_hk_mo_with_cn)
    if include_failed:
        yield from _failed_lines(store)


def write_jsonl(lines: Iterator[dict[str, Any]], out: IO[str]) -> int:
    n = 0
    for line in lines:
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
        n += 1
    return n


def validate_line(line: dict[str, Any]) -> ExportRecord:
    return ExportRecord.model_validate(line)


def export_jsonl(store: Store, out_path: Path | None, out_stream: IO[str] | None = None, **kwargs: Any) -> int:
    if out_path is None:
        assert out_stream is not None
        return write_jsonl(iter_export(store, **kwargs), out_stream)
    tmp = out_path.with_name(out_path.name + ".part")
    with tmp.open("w", encoding="utf-8") as fh:
        n = write_jsonl(iter_export(store, **kwargs), fh)
    tmp.replace(out_path)  # a crash never leaves a half-written export under the real name
    return n
