"""Data commands: status and export."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from extractor.cli.common import (
    ConfigOpt,
    DbOpt,
    QuietOpt,
    command,
    console_err,
    console_out,
    open_store,
    print_failed,
    settings_from,
    summary,
)
from extractor.errors import ConfigError
from extractor.export.writers import export_csv, export_jsonl, export_parquet, write_papers_csv


@command("status")
def status_cmd(
    db: DbOpt = None,
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show what the database holds: documents, failures, extractions, records by status, LLM cost.

    Example: collabscope status --db demo.db
    """
    settings = settings_from(db, config)
    with open_store(settings) as store:
        counts = store.status_counts()
        failures = store.failed_documents()
        runs = store.runs(5)
    if as_json:
        console_out.print_json(json.dumps({"db": str(settings.db), **counts, "failed": failures}))
        return
    console_out.print(f"database        {settings.db}", markup=False)
    console_out.print(f"documents       {counts['documents']} ({counts['failed_documents']} failed)", markup=False)
    for kind, n in sorted(_by_kind(failures).items()):
        console_out.print(f"  failed: {kind:<16} {n}", markup=False)
    print_failed([(f["source_file"], f"{f['error_kind'] or 'error'}: {f['error']}") for f in failures],
                 console=console_out)
    ext = ", ".join(f"{k} {v}" for k, v in sorted(counts["extractions"].items())) or "none"
    console_out.print(f"extractions     {ext} ({counts['extraction_failures']} failed)", markup=False)
    rec = ", ".join(f"{k} {v}" for k, v in sorted(counts["records"].items())) or "none"
    console_out.print(f"records         {rec}", markup=False)
    console_out.print(f"LLM calls       {counts['llm_calls']} (${counts['llm_cost_usd']:.4f})", markup=False)
    for r in runs:
        console_out.print(f"run {r['id']:>4}  {r['started_at']}  {r['command']:<10} {r['status']}", markup=False)


def _by_kind(failures: list[dict]) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in failures:
        out[f["error_kind"] or "error"] = out.get(f["error_kind"] or "error", 0) + 1
    return out


class ExportFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"
    parquet = "parquet"


@command("export")
def export_cmd(
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f", help="jsonl (the documented contract), csv or parquet.")] = ExportFormat.jsonl,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output file, or - for stdout (jsonl: the default; csv: the papers table). "
                                             "csv/parquet files also get <stem>.authors.<ext>.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every record, plus failed documents (status failed, with error).")] = False,
    verified: Annotated[bool, typer.Option("--verified", help="Only human-verified records.")] = False,
    group_hk_mo: Annotated[bool | None, typer.Option("--group-hk-mo/--no-group-hk-mo", help="Count HK and MO as CN in `countries`.")] = None,
    datacard: Annotated[bool, typer.Option("--datacard/--no-datacard", help="Write DATACARD.md beside the export file.")] = True,
    db: DbOpt = None,
    config: ConfigOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Export records. JSONL writes one contract object per paper (see README).

    Every format selects the same records: without flags every record except rejected
    ones, --verified only human-verified records, --all every record plus the documents
    that failed. CSV and Parquet write two tables: papers (--out) and author-affiliation
    pairs (<stem>.authors.csv / .parquet); --out - writes JSONL, or the CSV papers table,
    to stdout. CSV text cells starting with = + - @ are prefixed with ' against formula
    injection. A DATACARD.md (provenance, counts, audit error rate, counting policy,
    limits) is written beside any --out file. An empty export is a warning on stderr.

    Example: collabscope export --format csv --out papers.csv
    """
    if all_ and verified:
        raise typer.BadParameter("choose --all or --verified, not both")
    to_stdout = out is None or str(out) == "-"
    if fmt == ExportFormat.parquet and to_stdout:
        raise ConfigError("--format parquet needs --out FILE (Parquet is a file format, not a stream)")
    if fmt == ExportFormat.csv and out is None:
        raise ConfigError("--format csv needs --out FILE, or --out - for the papers table on stdout")
    settings = settings_from(db, config, group_hk_mo_with_cn=group_hk_mo)
    selection = "all records and failed documents" if all_ else (
        "human-verified records" if verified else "all records except rejected")
    with open_store(settings) as store:
        kwargs = {"verified_only": verified, "include_failed": all_, "group_hk_mo_with_cn": settings.group_hk_mo_with_cn}
        if to_stdout:
            n = (export_jsonl(store, None, sys.stdout, **kwargs) if fmt == ExportFormat.jsonl
                 else write_papers_csv(store, sys.stdout, **kwargs))
            sys.stdout.flush()
        else:
            assert out is not None
            writer = {ExportFormat.jsonl: export_jsonl, ExportFormat.csv: export_csv,
                      ExportFormat.parquet: export_parquet}[fmt]
            n = writer(store, out, **kwargs)
        card = None
        if datacard and not to_stdout:
            assert out is not None
            from extractor.aggregate import CountingPolicy
            from extractor.export.datacard import write_datacard
            from extractor.export.writers import companion_path

            files = [out] + ([companion_path(out)] if fmt != ExportFormat.jsonl else [])
            card = write_datacard(store, out.resolve().parent, files=files, fmt=fmt.value, selection=selection,
                                  exported=n, policy=CountingPolicy(group_hk_mo_with_cn=settings.group_hk_mo_with_cn))
        records = store.status_counts()["records"] if n == 0 else {}
    if n == 0:
        held = ", ".join(f"{k} {v}" for k, v in sorted(records.items())) or "none"
        console_err.print(f"warning: the export is empty: no paper matches the selection ({selection}); "
                          f"records in the database by status: {held}", markup=False, highlight=False)
    where = "" if to_stdout else f" to {out}"
    summary(f"exported {n} papers ({selection}){where}" + (f" (+ {card.name})" if card else ""), quiet)
