"""Export: records -> the public JSONL contract, and CSV / Parquet tables of the same data.

JSONL is :class:`~extractor.schemas.ExportRecord`, one object per paper, documented in the
README; other tools depend on it, so fields are only ever added. Queued and in-review
records export as status ``machine`` (they are still the machine's answer); with
``--all``, documents that failed ingest or extraction are exported with status ``failed``
and an ``error`` field, so a dataset always accounts for every file it was given.

CSV and Parquet are built from those same contract lines (so the formats never disagree)
as two tables: papers, and author-affiliation pairs (``papers.csv`` + ``papers.authors.csv``).
CSV cells that a spreadsheet would run as a formula are escaped. Every format is written
as the records are read, a page at a time (Parquet one row group per batch of papers),
so an export of a million papers needs no more memory than one of a thousand. Every file
is written through a temporary file and renamed, so a crash never leaves a half-written
export under the real name. :mod:`extractor.export.datacard` writes the DATACARD.md that goes beside them.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from extractor.errors import CollabscopeError
from extractor.schemas import EXPORT_STATUS, ExportRecord, PaperRecord, RecordStatus, paper_id_for
from extractor.store import Store

VERIFIED_STATUSES = (RecordStatus.VERIFIED,)
#: Papers per Parquet row group (and per batch of CSV rows) in the table exports.
ROWS_PER_GROUP = 10_000


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
    for row in store.failed_document_rows():
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
    """Contract dicts in paper-id order (then failed documents by file name), a page of records at a time."""
    statuses = [s.value for s in VERIFIED_STATUSES] if verified_only else None
    skip_rejected = not verified_only and not include_failed
    for page in store.record_pages(statuses, content="record"):
        for row in page:
            if skip_rejected and row["status"] == RecordStatus.REJECTED.value:
                continue
            yield record_to_export(PaperRecord.model_validate_json(row["content"]), group_hk_mo_with_cn)
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


# --------------------------------------------------------------------------- tables (CSV, Parquet)
#
# Two tables for spreadsheets and dataframes, built from the same contract dicts as JSONL
# so the three formats never disagree: one row per paper, and one row per
# (author, affiliation) pair (an author without affiliation gets one row with empty
# affiliation columns; an affiliation no author points at gets one with no author).

PAPER_COLUMNS = [
    "paper_id", "sha256", "source_file", "title", "venue", "year", "status", "confidence", "countries",
    "n_countries", "n_authors", "n_affiliations", "model_families", "model_roles", "review_reasons", "error",
    "backend", "prompt_version", "model", "reviewer", "reviewed_at", "extracted_at", "reconciled_at", "schema_version",
]
AUTHOR_COLUMNS = [
    "paper_id", "sha256", "status", "author_index", "author", "email", "affiliation_id", "affiliation_raw",
    "institution", "department", "city", "country", "sector",
]
#: Paper columns that are lists: joined with "; " in CSV, list<string> in Parquet.
LIST_COLUMNS = ("countries", "model_families", "model_roles", "review_reasons")
#: Characters that make a spreadsheet read a cell as a formula (or hide a leading one).
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
_PROVENANCE = ("backend", "prompt_version", "model", "reviewer", "reviewed_at", "extracted_at", "reconciled_at",
               "schema_version")


def companion_path(out: Path, table: str = "authors") -> Path:
    """``papers.csv`` -> ``papers.authors.csv`` (the second table sits beside the first)."""
    return out.with_name(f"{out.stem}.{table}{out.suffix}")


def _roles(mentions: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, str] = {}
    for m in mentions:
        seen.setdefault(m["family"], m["role"] or "unknown")
    return [f"{fam}:{role}" for fam, role in sorted(seen.items())]


def paper_row(line: dict[str, Any]) -> dict[str, Any]:
    """One contract line -> one paper-table row (lists kept as lists)."""
    prov = line.get("provenance") or {}
    return {
        "paper_id": line["paper_id"], "sha256": line["sha256"], "source_file": line["source_file"],
        "title": line.get("title"), "venue": line.get("venue"), "year": line.get("year"),
        "status": line["status"], "confidence": line.get("confidence"),
        "countries": list(line["countries"]), "n_countries": len(line["countries"]),
        "n_authors": len(line["authors"]), "n_affiliations": len(line["affiliations"]),
        "model_families": sorted({m["family"] for m in line["model_mentions"]}),
        "model_roles": _roles(line["model_mentions"]),
        "review_reasons": list(line.get("review_reasons") or []),
        "error": line.get("error"),
        **{k: prov.get(k) for k in _PROVENANCE},
    }


def author_rows(line: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """One contract line -> its author-affiliation rows."""
    affs = {a["id"]: a for a in line["affiliations"]}
    used: set[int] = set()
    base = {"paper_id": line["paper_id"], "sha256": line["sha256"], "status": line["status"]}
    empty = dict.fromkeys(("affiliation_id", "affiliation_raw", "institution", "department", "city", "country", "sector"))

    def aff_cols(a: dict[str, Any]) -> dict[str, Any]:
        return {"affiliation_id": a["id"], "affiliation_raw": a["raw"], "institution": a["institution"],
                "department": a["department"], "city": a["city"], "country": a["country"], "sector": a["sector"]}

    for i, author in enumerate(line["authors"], start=1):
        who = {"author_index": i, "author": author["name"], "email": author["email"]}
        ids = [j for j in author["affiliation_ids"] if j in affs]
        for j in ids:
            used.add(j)
            yield {**base, **who, **aff_cols(affs[j])}
        if not ids:
            yield {**base, **who, **empty}
    for j, a in affs.items():
        if j not in used:
            yield {**base, "author_index": None, "author": None, "email": None, **aff_cols(a)}


def escape_formula(value: Any) -> Any:
    """Neutralise spreadsheet formulas: a text cell starting with = + - @ TAB CR gets a leading '.

    Only text is touched (numbers stay numbers); JSONL and Parquet keep the raw value.
    """
    if isinstance(value, str) and value.startswith(FORMULA_LEADS):
        return "'" + value
    return value


def _csv_cell(value: Any) -> Any:
    if isinstance(value, list):
        value = "; ".join(value)
    return "" if value is None else escape_formula(value)


def _atomic(outs: list[Path], write: Callable[[list[Path]], None]) -> None:
    """Write through temporary files in the same folders, then rename each over its ``out``.

    The files are renamed in the order given, only once all of them are written.
    """
    for out in outs:
        if not out.parent.is_dir():
            raise CollabscopeError(f"cannot write {out}: folder {out.parent} does not exist; create it or choose another --out")
    tmps = [out.with_name(f".{out.name}.{os.getpid()}.part") for out in outs]
    try:
        write(tmps)
        for tmp, out in zip(tmps, outs, strict=True):
            tmp.replace(out)
    except OSError as exc:
        names = " and ".join(str(out) for out in outs)
        raise CollabscopeError(f"cannot write {names}: {exc.strerror or exc}; nothing was replaced") from None
    finally:
        for tmp in tmps:
            tmp.unlink(missing_ok=True)


def _table_batches(store: Store, batch: int = ROWS_PER_GROUP,
                   **kwargs: Any) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """(paper rows, author rows) of up to ``batch`` exported papers at a time."""
    papers: list[dict[str, Any]] = []
    authors: list[dict[str, Any]] = []
    for line in iter_export(store, **kwargs):
        papers.append(paper_row(line))
        authors.extend(author_rows(line))
        if len(papers) >= batch:
            yield papers, authors
            papers, authors = [], []
    if papers:
        yield papers, authors


def export_csv(store: Store, out: Path, **kwargs: Any) -> int:
    """Write ``out`` (papers) and ``<stem>.authors.csv``; UTF-8, formula-escaped. Returns papers.

    Both tables are written as the papers are read, a batch at a time.
    """
    n = 0

    def write(tmps: list[Path]) -> None:
        nonlocal n
        with tmps[0].open("w", encoding="utf-8", newline="") as af, tmps[1].open("w", encoding="utf-8", newline="") as pf:
            authors_csv, papers_csv = csv.writer(af), csv.writer(pf)
            authors_csv.writerow(AUTHOR_COLUMNS)
            papers_csv.writerow(PAPER_COLUMNS)
            for papers, authors in _table_batches(store, **kwargs):
                authors_csv.writerows([_csv_cell(row[c]) for c in AUTHOR_COLUMNS] for row in authors)
                papers_csv.writerows([_csv_cell(row[c]) for c in PAPER_COLUMNS] for row in papers)
                n += len(papers)

    _atomic([companion_path(Path(out)), Path(out)], write)
    return n


def write_papers_csv(store: Store, out: IO[str], **kwargs: Any) -> int:
    """The papers table alone, as CSV, to an open stream; returns papers.

    For ``--out -``: a pipe carries one table, and the papers table is the one a reader of
    a stream wants (the author table needs a file of its own).
    """
    papers_csv = csv.writer(out)
    papers_csv.writerow(PAPER_COLUMNS)
    n = 0
    for papers, _authors in _table_batches(store, **kwargs):
        papers_csv.writerows([_csv_cell(row[c]) for c in PAPER_COLUMNS] for row in papers)
        n += len(papers)
    return n


def _arrow_schemas() -> tuple[Any, Any]:
    import pyarrow as pa  # local: only Parquet export needs it

    s, i, f, ls = pa.string(), pa.int64(), pa.float64(), pa.list_(pa.string())
    types = {"year": i, "confidence": f, "n_countries": i, "n_authors": i, "n_affiliations": i,
             **dict.fromkeys(LIST_COLUMNS, ls)}
    paper_schema = pa.schema([(c, types.get(c, s)) for c in PAPER_COLUMNS])
    author_schema = pa.schema([(c, i if c in ("author_index", "affiliation_id") else s) for c in AUTHOR_COLUMNS])
    return paper_schema, author_schema


def export_parquet(store: Store, out: Path, **kwargs: Any) -> int:
    """Write ``out`` (papers) and ``<stem>.authors.parquet``, raw values and list columns.

    One row group per :data:`ROWS_PER_GROUP` papers (and their author rows), written as
    the papers are read.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    paper_schema, author_schema = _arrow_schemas()
    n = 0

    def write(tmps: list[Path]) -> None:
        nonlocal n
        with pq.ParquetWriter(tmps[0], author_schema) as aw, pq.ParquetWriter(tmps[1], paper_schema) as pw:
            for papers, authors in _table_batches(store, **kwargs):
                aw.write_table(pa.Table.from_pylist(authors, schema=author_schema))
                pw.write_table(pa.Table.from_pylist(papers, schema=paper_schema))
                n += len(papers)

    _atomic([companion_path(Path(out)), Path(out)], write)
    return n
