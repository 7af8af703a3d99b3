"""Pipeline commands: ingest, extract, reconcile, and run (all three)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..config import Settings
from ..errors import ConfigError
from ..extract.base import ExtractSummary, get_backend, run_extract
from ..ingest import IngestLimits, IngestSummary, ingest_paths
from ..locks import pipeline_lock
from ..reconcile import ReconcileSummary, run_reconcile
from ..store import Store
from .llm import BaseUrlOpt, BatchApiOpt, ConcurrencyOpt, DryRunOpt, ModelOpt, PricesOpt, llm_flags, print_dry_run
from .common import (
    EXIT_OK,
    EXIT_PARTIAL,
    ConfigOpt,
    DbOpt,
    QuietOpt,
    command,
    console_err,
    open_store,
    progress,
    settings_from,
    summary,
)

PathsArg = Annotated[list[Path], typer.Argument(help="PDF files or folders (searched recursively for *.pdf).", show_default=False)]
VenueOpt = Annotated[str | None, typer.Option("--venue", help="Venue label for these files (e.g. NeurIPS); else read from the PDF.")]
YearOpt = Annotated[int | None, typer.Option("--year", help="Year for these files; else read from the PDF.")]
WorkersOpt = Annotated[int | None, typer.Option("--workers", "-w", help="Parser processes (default: all cores).")]
BackendOpt = Annotated[
    str | None,
    typer.Option("--backend", "-b", help="Comma-separated backends: rules (offline, default), llm."),
]
MaxMbOpt = Annotated[float | None, typer.Option("--max-file-mb", help="Skip files larger than this (default 50).")]
MaxPagesOpt = Annotated[int | None, typer.Option("--max-pages", help="Skip PDFs with more pages (default 200).")]
TimeoutOpt = Annotated[float | None, typer.Option("--parse-timeout", help="Seconds allowed to parse one file (default 60).")]
RetryFailedOpt = Annotated[bool, typer.Option("--retry-failed", help="Parse again the files whose earlier ingest failed "
                                             "(timeout, crash, over a limit since raised); their error rows are replaced.")]
EngineOpt = Annotated[str, typer.Option("--engine", help="local: parser processes on this machine; dask: the workers of a "
                                        "Dask cluster parse, this process writes (needs the scale extra: pip install -e '.\\[scale]').")]
SchedulerOpt = Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler address, e.g. tcp://host:8786 "
                                                  "(implies --engine dask; default: a local cluster of --workers processes).")]


def _limits(s: Settings) -> IngestLimits:
    return IngestLimits(max_file_mb=s.max_file_mb, max_pages=s.max_pages, full_text_pages=s.full_text_pages,
                        parse_timeout=s.parse_timeout)


def do_ingest(store: Store, settings: Settings, paths: list[Path], venue: str | None, year: int | None,
              run_id: int | None, quiet: bool, engine: str = "local", scheduler: str | None = None,
              retry_failed: bool = False) -> IngestSummary:
    if scheduler or engine == "dask":
        if retry_failed:
            raise ConfigError("--retry-failed works with the local engine; retry failed files without --engine dask")
        from ..distributed import ingest_paths_dask  # local: Dask is optional and slow to import

        with progress("ingest (dask)", quiet) as (total, advance):
            return ingest_paths_dask(store, paths, scheduler=scheduler, limits=_limits(settings), workers=settings.workers,
                                     venue=venue, year=year, run_id=run_id, on_total=total, on_progress=advance)
    with progress("ingest", quiet) as (total, advance):
        return ingest_paths(store, paths, limits=_limits(settings), workers=settings.workers, venue=venue,
                            year=year, run_id=run_id, on_total=total, on_progress=advance, retry_failed=retry_failed)


def do_extract(store: Store, settings: Settings, run_id: int | None, quiet: bool, limit: int | None = None,
               batch_api: bool = False) -> list[ExtractSummary]:
    out = []
    for name in settings.backends:
        backend = get_backend(name, settings)
        if batch_api and hasattr(backend, "batch_api"):
            backend.batch_api = True  # the llm backend's OpenAI Batch API mode
        with progress(f"extract ({name})", quiet) as (total, advance):
            out.append(run_extract(store, backend, run_id=run_id, limit=limit, on_total=total, on_progress=advance))
    return out


def do_reconcile(store: Store, settings: Settings, quiet: bool) -> ReconcileSummary:
    with progress("reconcile", quiet) as (total, advance):
        return run_reconcile(store, confidence_threshold=settings.confidence_threshold, settings=settings,
                             on_total=total, on_progress=advance)


def _backends(backend: str | None) -> list[str] | None:
    if backend is None:
        return None
    names = [b.strip() for b in backend.split(",") if b.strip()]
    if not names:
        raise ConfigError("--backend needs at least one name (rules, llm)")
    return names


def _ingest_line(s: IngestSummary) -> str:
    errs = ", ".join(f"{k} {v}" for k, v in sorted(s.errors.items()))
    return (f"ingested {s.added - s.failed} new, {s.skipped_known} already known, {s.failed} failed"
            + (f" ({errs})" if errs else ""))


@command("ingest")
def ingest_cmd(
    paths: PathsArg,
    venue: VenueOpt = None,
    year: YearOpt = None,
    workers: WorkersOpt = None,
    max_file_mb: MaxMbOpt = None,
    max_pages: MaxPagesOpt = None,
    parse_timeout: TimeoutOpt = None,
    retry_failed: RetryFailedOpt = False,
    engine: EngineOpt = "local",
    scheduler: SchedulerOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Read PDFs into the database (page-1 layout + text), keyed by file hash.

    Files already ingested (same bytes) are skipped; bad files get a row with the error
    and the batch goes on. With --engine dask the parsing is spread over a Dask cluster
    (workers must see the files at the same paths); only this process writes the database.

    Files that failed before are skipped too, unless --retry-failed.

    Example: collabscope ingest papers/ --venue NeurIPS --year 2024
    """
    if engine not in ("local", "dask"):
        raise ConfigError(f"--engine {engine!r}: choose local or dask")
    settings = settings_from(db, config, workers=workers, max_file_mb=max_file_mb, max_pages=max_pages,
                             parse_timeout=parse_timeout)
    with pipeline_lock(settings.db, "ingest"), open_store(settings) as store:
        run_id = store.start_run("ingest", {"paths": [str(p) for p in paths]})
        s = do_ingest(store, settings, paths, venue, year, run_id, quiet, engine, scheduler, retry_failed)
        store.finish_run(run_id, "partial" if s.failed else "ok", s.__dict__ | {"new_hashes": len(s.new_hashes)})
    summary(_ingest_line(s), quiet)
    raise typer.Exit(EXIT_PARTIAL if s.failed else EXIT_OK)


@command("extract")
def extract_cmd(
    backend: BackendOpt = None,
    limit: Annotated[int | None, typer.Option("--limit", help="Extract at most this many documents.")] = None,
    concurrency: ConcurrencyOpt = None,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    prices: PricesOpt = None,
    dry_run: DryRunOpt = False,
    batch_api: BatchApiOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Run extraction backends over ingested documents that lack a result.

    Re-running skips documents already extracted with the same backend version, prompt and
    model, so it costs nothing. Then run `collabscope reconcile` (or use `run`).

    Example: collabscope extract --backend rules
    """
    settings = settings_from(db, config, backends=_backends(backend), **llm_flags(concurrency, model, base_url, prices))
    if dry_run:
        with open_store(settings) as store:
            print_dry_run(store, settings, batch_api)
        raise typer.Exit(EXIT_OK)
    with pipeline_lock(settings.db, "extract"), open_store(settings) as store:
        run_id = store.start_run("extract", {"backends": settings.backends})
        results = do_extract(store, settings, run_id, quiet, limit, batch_api)
        failed = sum(r.failed for r in results)
        store.finish_run(run_id, "partial" if failed else "ok", {r.backend: r.__dict__ for r in results})
    summary("; ".join(f"{r.backend}: extracted {r.done}, failed {r.failed}" + (f", skipped {r.extra}" if r.extra else "")
                      for r in results), quiet)
    for r in results:
        for name, err in r.errors[:10]:
            console_err.print(f"  failed {name}: {err}", markup=False)
    raise typer.Exit(EXIT_PARTIAL if failed else EXIT_OK)


@command("reconcile")
def reconcile_cmd(db: DbOpt = None, config: ConfigOpt = None, quiet: QuietOpt = False) -> None:
    """Merge each paper's extractions into one record with confidence and review reasons.

    Records a reviewer has touched are never overwritten.

    Example: collabscope reconcile
    """
    settings = settings_from(db, config)
    with pipeline_lock(settings.db, "reconcile"), open_store(settings) as store:
        s = do_reconcile(store, settings, quiet)
    summary(f"records: {s.created} created, {s.updated} updated, {s.unchanged} unchanged, "
            f"{s.kept_human} kept (human-reviewed); {s.queued} queued for review", quiet)


@command("run")
def run_cmd(
    paths: PathsArg,
    backend: BackendOpt = None,
    venue: VenueOpt = None,
    year: YearOpt = None,
    workers: WorkersOpt = None,
    max_file_mb: MaxMbOpt = None,
    max_pages: MaxPagesOpt = None,
    parse_timeout: TimeoutOpt = None,
    retry_failed: RetryFailedOpt = False,
    concurrency: ConcurrencyOpt = None,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    prices: PricesOpt = None,
    dry_run: DryRunOpt = False,
    batch_api: BatchApiOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """The main job: ingest + extract + reconcile, then print a summary.

    Idempotent: running it twice on the same folder adds nothing and redoes nothing.

    Example: collabscope run data/samples --db demo.db
    """
    from ..aggregate import headline  # local: aggregation is only needed for the summary

    settings = settings_from(db, config, backends=_backends(backend), workers=workers, max_file_mb=max_file_mb,
                             max_pages=max_pages, parse_timeout=parse_timeout,
                             **llm_flags(concurrency, model, base_url, prices))
    with pipeline_lock(settings.db, "run"), open_store(settings) as store:
        run_id = store.start_run("run", {"paths": [str(p) for p in paths], "backends": settings.backends})
        ing = do_ingest(store, settings, paths, venue, year, run_id, quiet, retry_failed=retry_failed)
        if dry_run:  # ingest is free and tells us what there is; estimate, then stop before spending
            print_dry_run(store, settings, batch_api)
            store.finish_run(run_id, "ok", {"dry_run": True, "ingest": ing.__dict__ | {"new_hashes": len(ing.new_hashes)}})
            raise typer.Exit(EXIT_OK)
        ext = do_extract(store, settings, run_id, quiet, batch_api=batch_api)
        rec = do_reconcile(store, settings, quiet)
        failed = ing.failed + sum(r.failed for r in ext)
        head = headline(store, group_hk_mo_with_cn=settings.group_hk_mo_with_cn)
        store.finish_run(run_id, "partial" if failed else "ok",
                         {"ingest": ing.__dict__ | {"new_hashes": len(ing.new_hashes)},
                          "extract": {r.backend: r.__dict__ for r in ext}, "reconcile": rec.__dict__ | {"paper_ids": len(rec.paper_ids)}})
    if not quiet:
        console_err.print(_ingest_line(ing), markup=False)
        for r in ext:
            console_err.print(f"extracted ({r.backend}): {r.done} new, {r.failed} failed", markup=False)
            for name, err in r.errors[:10]:
                console_err.print(f"  failed {name}: {err}", markup=False)
        console_err.print(
            f"papers: {head['papers']} with records, {head['failed']} failed, {head['flagged']} flagged for review "
            f"({head['flagged'] - head['flagged_audit_only']} doubtful, {head['flagged_audit_only']} random audit only); "
            f"countries: {', '.join(f'{c} {n}' for c, n in head['top_countries']) or 'none'}",
            markup=False,
        )
        console_err.print(f"US–China collaborations: {head['us_cn']} of {head['papers']} papers "
                          f"({head['us_cn_share']:.1%}, machine records, not yet reviewed)", markup=False)
        console_err.print(f"database: {Path(settings.db).resolve()}", markup=False)
        console_err.print(f"review queue: collabscope review --db {settings.db}", markup=False)
    raise typer.Exit(EXIT_PARTIAL if failed else EXIT_OK)
