"""Pipeline commands: ingest, extract, reconcile, and run (all three).

The work, the lock and the ``runs`` bookkeeping are :mod:`extractor.pipeline`; these
commands turn flags into settings, show progress bars, print the summaries and choose
the exit code.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

import typer

from extractor import pipeline
from extractor.cli.common import (
    EXIT_OK,
    EXIT_PARTIAL,
    FAILED_SHOWN,
    ConfigOpt,
    DbOpt,
    QuietOpt,
    command,
    console_err,
    country_list,
    first_few,
    open_store,
    print_failed,
    progress,
    settings_from,
    summary,
)
from extractor.cli.llm import (
    BaseUrlOpt,
    BatchApiOpt,
    ConcurrencyOpt,
    DryRunOpt,
    ModelOpt,
    PricesOpt,
    check_api_key,
    llm_flags,
    print_dry_run,
)
from extractor.errors import ConfigError
from extractor.ingest.batch import IngestSummary, find_input_files
from extractor.store import Store

PathsArg = Annotated[list[Path], typer.Argument(help="PDF files or folders (searched recursively for *.pdf).",
                                                show_default=False, metavar="PATH")]
RunPathsArg = Annotated[list[Path] | None, typer.Argument(
    help="PDF files or folders (searched recursively for *.pdf). Without any, run works on what the database "
         "already holds.", show_default=False, metavar="PATH")]
#: How many countries the end-of-run summary lists before "+N more".
RUN_COUNTRIES = 8
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


def _progress(quiet: bool) -> pipeline.Progress:
    """The library's per-step progress hook: a bar per step on a terminal, silent with --quiet."""
    return functools.partial(progress, quiet=quiet)


def _backends(backend: str | None) -> list[str] | None:
    if backend is None:
        return None
    names = [b.strip() for b in backend.split(",") if b.strip()]
    if not names:
        raise ConfigError("--backend needs at least one name (rules, llm)")
    return names


def check_paths(paths: list[Path]) -> None:
    """Refuse, before anything is stored, a path that does not exist or inputs holding no PDF.

    Either is a mistyped argument: storing a "failed document" for it would keep the typo
    in the database for good, and an empty folder would otherwise pass in silence.
    """
    missing = [p for p in paths if not p.exists() and not p.is_symlink()]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise ConfigError(f"{missing[0]} does not exist{more}; nothing was stored")
    if not find_input_files(paths):
        where = ", ".join(str(p) for p in paths[:3]) + (", ..." if len(paths) > 3 else "")
        raise ConfigError(f"no PDF files in {where} (folders are searched recursively for *.pdf); nothing was stored")


def _new_failures(store: Store, s: IngestSummary) -> list[tuple[str, str]]:
    """``(file, why)`` for the files this ingest stored as failed."""
    new = set(s.new_hashes)
    return [(d["source_file"], f"{d['error_kind']}: {d['error']}") for d in store.failed_documents() if d["sha256"] in new]


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
    pipeline.check_engine(engine)
    check_paths(paths)
    settings = settings_from(db, config, workers=workers, max_file_mb=max_file_mb, max_pages=max_pages,
                             parse_timeout=parse_timeout)
    with pipeline.open_pipeline(settings, "ingest") as store:
        s = pipeline.ingest(store, settings, paths, venue=venue, year=year, engine=engine, scheduler=scheduler,
                            retry_failed=retry_failed, progress=_progress(quiet))
        failures = _new_failures(store, s) if s.failed else []
    summary(_ingest_line(s), quiet)
    if not quiet:
        print_failed(failures)
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
    check_api_key(settings)
    with pipeline.open_pipeline(settings, "extract", create=False) as store:
        results = pipeline.extract(store, settings, limit=limit, batch_api=batch_api, progress=_progress(quiet))
    failed = sum(r.failed for r in results)
    summary("; ".join(f"{r.backend}: extracted {r.done}, failed {r.failed}" + (f", skipped {r.extra}" if r.extra else "")
                      for r in results), quiet)
    if not quiet:
        print_failed([e for r in results for e in r.errors])
    raise typer.Exit(EXIT_PARTIAL if failed else EXIT_OK)


SecondOpinionOpt = Annotated[bool, typer.Option(
    "--second-opinion", help="One extra, narrow LLM question per record in the uncertain confidence band "
    "(per affiliation unit: institution, city, country); its answer becomes a review signal. Costs tokens.")]


@command("reconcile")
def reconcile_cmd(db: DbOpt = None, config: ConfigOpt = None, quiet: QuietOpt = False,
                  second_opinion: SecondOpinionOpt = False) -> None:
    """Merge each paper's extractions into one record with confidence and review reasons.

    Records a reviewer has touched are never overwritten.

    Example: collabscope reconcile
    """
    settings = settings_from(db, config)
    if second_opinion:
        check_api_key(settings.model_copy(update={"backends": [*settings.backends, "llm"]}))
    with pipeline.open_pipeline(settings, "reconcile", create=False) as store:
        s = pipeline.reconcile(store, settings, progress=_progress(quiet), second_opinion=second_opinion)
    summary(f"records: {s.created} created, {s.updated} updated, {s.unchanged} unchanged, "
            f"{s.kept_human} kept (human-reviewed); {s.queued} queued for review", quiet)
    if s.second_opinion:
        so = s.second_opinion
        summary(f"second opinion: {so['asked']} of {so['candidates']} uncertain records asked ({so['cached']} cached, "
                f"{so['failed']} failed), {so['differs']} read another country set; ${so['cost_usd']:.4f}", quiet)


@command("run")
def run_cmd(
    paths: RunPathsArg = None,
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
    second_opinion: SecondOpinionOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """The main job: ingest + extract + reconcile, then print a summary.

    Idempotent: running it twice on the same folder adds nothing and redoes nothing.
    Without PATH it works on what an existing database already holds: extract, reconcile
    and route the documents stored earlier (e.g. after adding --backend llm).

    Example: collabscope run data/samples --db demo.db
    """
    paths = paths or []
    if paths:
        check_paths(paths)
    settings = settings_from(db, config, backends=_backends(backend), workers=workers, max_file_mb=max_file_mb,
                             max_pages=max_pages, parse_timeout=parse_timeout,
                             **llm_flags(concurrency, model, base_url, prices))
    if not dry_run:
        check_api_key(settings)
        if second_opinion and "llm" not in settings.backends:
            check_api_key(settings.model_copy(update={"backends": [*settings.backends, "llm"]}))
    with pipeline.open_pipeline(settings, "run", create=bool(paths)) as store:
        out = pipeline.run(store, settings, paths, venue=venue, year=year, retry_failed=retry_failed,
                           batch_api=batch_api, dry_run=dry_run, progress=_progress(quiet),
                           second_opinion=second_opinion)
        if out.dry_run:  # ingest is free and tells what there is; estimate, then stop before spending
            print_dry_run(store, settings, batch_api)
            raise typer.Exit(EXIT_OK)
        failures = _new_failures(store, out.ingest) if out.ingest.failed else []
        # Failures from earlier runs still count in the papers line: name them too.
        earlier = ([] if failures or not out.headline.get("failed") else
                   [(d["source_file"], d["error_kind"] or "error") for d in store.failed_documents()])
    ing, ext, head = out.ingest, out.extract, out.headline
    if not quiet:
        console_err.print(_ingest_line(ing) if paths else "ingest: no PATH given; working on the stored documents",
                          markup=False)
        print_failed(failures)
        for r in ext:
            console_err.print(f"extracted ({r.backend}): {r.done} new, {r.failed} failed", markup=False)
            print_failed(r.errors)
        console_err.print(
            f"papers: {head['papers']} with records, {head['failed']} failed, {head['flagged']} flagged for review "
            f"({head['flagged'] - head['flagged_audit_only']} doubtful, {head['flagged_audit_only']} random audit only); "
            f"countries: {country_list(head['countries'], RUN_COUNTRIES)}",
            markup=False,
        )
        if earlier:
            shown, more = first_few([f"{name} ({kind})" for name, kind in earlier], FAILED_SHOWN)
            console_err.print(f"  failed before: {', '.join(shown)}" + (f", {more}" if more else "")
                              + " (`collabscope status` lists them)", markup=False)
        console_err.print(f"US–China collaborations: {head['us_cn']} of {head['papers']} papers "
                          f"({head['us_cn_share']:.1%}, machine records, not yet reviewed)", markup=False)
        console_err.print(f"database: {Path(settings.db).resolve()}", markup=False)
        console_err.print(f"review queue: collabscope review --db {settings.db}", markup=False)
    raise typer.Exit(EXIT_PARTIAL if out.failed else EXIT_OK)
