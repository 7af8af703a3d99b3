"""``collabscope collect``: a venue's papers and metadata from OpenReview, arXiv or a paperlists file.

The collectors are :mod:`extractor.collect`; these commands build the polite HTTP session
from the flags, show progress, hand the collected PDFs to the normal ingest step and print
a summary. Exit codes as everywhere: 0 ok, 1 the service failed (venue not found, login
needed, host unreachable: one message), 2 usage, 3 done but some PDFs failed.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from extractor import pipeline
from extractor.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PARTIAL,
    ConfigOpt,
    DbOpt,
    QuietOpt,
    app,
    console_err,
    print_failed,
    progress,
    settings_from,
    summary,
)
from extractor.collect import arxiv as arxiv_collect
from extractor.collect import openreview as or_collect
from extractor.collect import paperlists as pl_collect
from extractor.collect.base import CollectSummary, collect_pdfs, venue_label
from extractor.collect.http import DEFAULT_MAX_BYTES, Downloader, Politeness, PoliteSession
from extractor.errors import CollabscopeError, ConfigError
from extractor.store import Store

collect_app = typer.Typer(
    name="collect",
    help=("Collect a venue: its papers' metadata (authors, ids, affiliations where the source has them) into the "
          "database and, where asked, its PDFs into --out, which then go through ingest.\n\n"
          "Polite by default: one request per host per --interval seconds (arXiv: 3 s), retries honour "
          "Retry-After, re-runs fetch nothing already stored. Limits and terms: docs/COLLECT.md.\n\n"
          "Example: collabscope collect openreview NeurIPS.cc/2024/Conference --accepted-only --out pdfs/neurips2024 "
          "--db neurips.db"),
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(collect_app, name="collect")


@collect_app.callback()
def _collect_group(ctx: typer.Context, db: DbOpt = None) -> None:
    """Collect a venue's papers and metadata (subcommands: openreview, arxiv, paperlists).

    --db here applies to the subcommand (which also takes its own --db).

    Example: collabscope collect paperlists nips2024.json --db neurips.db && collabscope run --db neurips.db
    """
    ctx.obj = {"db": db}


def _db(ctx: typer.Context, db: Path | None) -> Path | None:
    """The subcommand's --db, else the group's."""
    if db is not None:
        return db
    obj = ctx.obj if isinstance(ctx.obj, dict) else {}
    return obj.get("db")

OutOpt = Annotated[Path | None, typer.Option("--out", "-o", help="Folder for the PDFs (created if missing).",
                                             show_default=False)]
IntervalOpt = Annotated[float | None, typer.Option(
    "--interval", help="Seconds between two requests to one host (default: 1; arXiv hosts always at least 3).",
    show_default=False)]
RetriesOpt = Annotated[int, typer.Option("--retries", help="Retries per request after a 429/5xx or a failed "
                                         "connection (Retry-After honoured, else exponential backoff).")]
MaxWaitOpt = Annotated[float, typer.Option("--max-wait", help="Longest Retry-After / quota reset (seconds) to sleep "
                                           "through; a longer one stops the command (re-run later to resume).")]
MaxMbOpt = Annotated[float, typer.Option("--max-pdf-mb", help="Refuse PDFs larger than this.")]
NoIngestOpt = Annotated[bool, typer.Option("--no-ingest", help="Only download; leave the PDFs for a later "
                                           "`collabscope ingest`/`run`.")]
ApiUrlOpt = Annotated[str | None, typer.Option("--api-url", help="Service endpoint (for a mirror or a test server).",
                                               show_default=False)]


def collect_command(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a ``collect`` subcommand whose library errors become one message and their exit code."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kw: Any) -> Any:
            try:
                return func(*args, **kw)
            except CollabscopeError as exc:
                console_err.print(f"[bold red]error[/]: {escape(str(exc))}", highlight=False)
                raise typer.Exit(exc.exit_code) from None
            except KeyboardInterrupt:
                console_err.print("[yellow]interrupted[/]: everything collected so far is saved; re-run to resume")
                raise typer.Exit(EXIT_INTERRUPTED) from None

        collect_app.command(name)(wrapper)
        return func

    return decorate


def _session(interval: float | None, retries: int, hosts: dict[str, float] | None = None, *,
             max_wait: float = 3900.0) -> PoliteSession:
    """The polite session of one command: --interval for every host, never below a source's own floor (``hosts``)."""
    if interval is not None and interval < 0:
        raise ConfigError("--interval must be 0 or more seconds")
    if retries < 0:
        raise ConfigError("--retries must be 0 or more")
    intervals = dict(hosts or {})
    if interval is not None:
        intervals = {h: max(interval, s) for h, s in intervals.items()}
    return PoliteSession(Politeness(intervals=intervals, default=1.0 if interval is None else interval,
                                    retries=retries, max_retry_after=max_wait), on_wait=_say_wait)


def _say_wait(host: str, seconds: float) -> None:
    console_err.print(f"[yellow]{escape(host)} asks to wait {seconds:.0f} s[/] (rate limit); waiting - Ctrl-C stops, "
                      "a re-run resumes", highlight=False)


def _check_out(out: Path | None, needed: bool) -> Path | None:
    if out is None:
        if needed:
            raise ConfigError("--out DIR is required to download PDFs")
        return None
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file, not a folder")
    return out


def _end_failed(store: Store, run_id: int, exc: BaseException, session: PoliteSession,
                counts: dict[str, Any] | None = None) -> None:
    """Close the run row of a command that stopped: interrupted (Ctrl-C) or failed."""
    status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
    store.finish_run(run_id, status, (counts or {}) | {"requests": session.requests_sent, "error": str(exc)[:500]})


@contextlib.contextmanager
def _listing(store: Store, run_id: int, session: PoliteSession) -> Iterator[None]:
    """The listing step of a collect command: a stop there (an error, Ctrl-C) still closes
    the run row, as failed or interrupted, before it propagates."""
    try:
        yield
    except BaseException as exc:
        _end_failed(store, run_id, exc, session)
        raise


def _finish(store: Store, settings: Any, s: CollectSummary, *, session: PoliteSession, out: Path | None,
            download: bool, ingest: bool, quiet: bool, run_id: int, max_pdf_mb: float) -> None:
    """The PDF step, the ingest of what was collected, the run row, the summary line and the exit code."""
    prog = functools.partial(progress, quiet=quiet)
    ingested = None
    try:
        if download and out is not None:
            downloader = Downloader(session, out, max_bytes=int(max_pdf_mb * 1024 * 1024))
            with prog(f"PDFs ({s.source})") as (on_total, on_progress):
                collect_pdfs(store, downloader, s, source=s.source, venue=s.venue, on_total=on_total,
                             on_progress=on_progress)
            if ingest and s.pdfs:
                ingested = pipeline.ingest_step(store, settings, s.pdfs, venue=venue_label(s.source, s.venue),
                                                year=s.year, run_id=run_id, progress=prog)
    except BaseException as exc:
        s.requests = session.requests_sent
        _end_failed(store, run_id, exc, session, s.as_dict())
        raise
    s.requests = session.requests_sent
    counts = s.as_dict() | ({"ingested_new": ingested.added} if ingested else {})
    store.finish_run(run_id, "partial" if s.failed else "ok", counts)
    parts = [f"{s.source}: {s.listed} papers listed ({s.new} new, {s.skipped} already stored)"]
    if s.source == "openreview":
        parts.append(f"profiles {s.profiles_fetched} fetched, {s.profiles_missing} missing")
    if download:
        parts.append(f"PDFs {s.downloaded} downloaded, {s.reused} reused, {s.already_linked} already collected, "
                     f"{s.no_pdf} without a link, {len(s.failed)} failed")
    if ingested is not None:
        parts.append(f"ingested {ingested.added - ingested.failed} new, {ingested.skipped_known} already known")
    parts.append(f"{s.requests} requests")
    summary("; ".join(parts), quiet)
    if s.failed and not quiet:
        print_failed(s.failed, hint="re-run to retry them")
    raise typer.Exit(EXIT_PARTIAL if s.failed else EXIT_OK)


@collect_command("openreview")
def openreview_cmd(
    ctx: typer.Context,
    venue_id: Annotated[str, typer.Argument(help="OpenReview venue id, e.g. NeurIPS.cc/2024/Conference.",
                                            show_default=False, metavar="VENUE_ID")],
    out: OutOpt = None,
    accepted_only: Annotated[bool, typer.Option("--accepted-only", help="Only accepted papers (content.venueid == "
                                                "VENUE_ID); default: every public submission.")] = False,
    no_pdfs: Annotated[bool, typer.Option("--no-pdfs", help="Metadata and profiles only; no PDF is downloaded.")] = False,
    no_profiles: Annotated[bool, typer.Option("--no-profiles", help="Do not fetch author profiles.")] = False,
    api_url: ApiUrlOpt = None,
    interval: IntervalOpt = None,
    retries: RetriesOpt = 5,
    max_wait: MaxWaitOpt = 3900.0,
    max_pdf_mb: MaxMbOpt = DEFAULT_MAX_BYTES / 1024 / 1024,
    no_ingest: NoIngestOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Collect an OpenReview venue: papers, author ids, decisions, author profiles (institution history), PDFs.

    Public venues need no account; for others set OPENREVIEW_USERNAME and OPENREVIEW_PASSWORD.
    Re-running fetches only what is missing (profiles and PDFs already stored are skipped).

    Example: collabscope collect openreview NeurIPS.cc/2024/Conference --accepted-only --out pdfs/neurips2024
    """
    out = _check_out(out, needed=not no_pdfs)
    url = api_url or or_collect.DEFAULT_API_URL
    settings = settings_from(_db(ctx, db), config)
    session = _session(interval, retries, max_wait=max_wait)
    with pipeline.open_pipeline(settings, "collect") as store:
        run_id = store.start_run("collect", {"source": "openreview", "venue": venue_id, "out": str(out),
                                             "accepted_only": accepted_only})
        with _listing(store, run_id, session):
            client = or_collect.make_client(url, session)
            s = or_collect.collect_openreview(store, client, venue_id, accepted_only=accepted_only, api_url=url,
                                              profiles=not no_profiles, run_id=run_id,
                                              progress=functools.partial(progress, quiet=quiet))
        s.skipped = s.listed - s.new
        _finish(store, settings, s, session=session, out=out, download=not no_pdfs, ingest=not no_ingest,
                quiet=quiet, run_id=run_id, max_pdf_mb=max_pdf_mb)


@collect_command("arxiv")
def arxiv_cmd(
    ctx: typer.Context,
    ids: Annotated[Path | None, typer.Option("--ids", help="File of arXiv ids, one per line (2401.01234, "
                                             "https://arxiv.org/abs/2401.01234v2, cs/0101001).",
                                             show_default=False)] = None,
    query: Annotated[str | None, typer.Option("--query", "-q", help='arXiv search query, e.g. "cat:cs.LG AND '
                                              'ti:transformer".', show_default=False)] = None,
    max_results: Annotated[int | None, typer.Option("--max-results", help="Stop a --query after this many papers.",
                                                    show_default=False)] = None,
    out: OutOpt = None,
    no_pdfs: Annotated[bool, typer.Option("--no-pdfs", help="Metadata only; no PDF is downloaded.")] = False,
    api_url: ApiUrlOpt = None,
    interval: IntervalOpt = None,
    retries: RetriesOpt = 5,
    max_wait: MaxWaitOpt = 3900.0,
    max_pdf_mb: MaxMbOpt = DEFAULT_MAX_BYTES / 1024 / 1024,
    no_ingest: NoIngestOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Collect arXiv papers by id list or search query: metadata (authors, categories, dates) and PDFs.

    arXiv asks for one request every 3 seconds; that is the floor for its hosts whatever
    --interval says (and --api-url pointing elsewhere gets --interval).

    Example: collabscope collect arxiv --ids ids.txt --out pdfs/arxiv
    """
    if (ids is None) == (query is None):
        raise ConfigError("give exactly one of --ids FILE or --query Q")
    if ids is not None and not ids.is_file():
        raise ConfigError(f"--ids {ids} does not exist")
    out = _check_out(out, needed=not no_pdfs)
    url = api_url or arxiv_collect.DEFAULT_API_URL
    settings = settings_from(_db(ctx, db), config)
    hosts = {h: arxiv_collect.ARXIV_INTERVAL for h in arxiv_collect.ARXIV_HOSTS}
    session = _session(interval, retries, hosts, max_wait=max_wait)
    id_list = arxiv_collect.read_ids(ids) if ids is not None else None
    with pipeline.open_pipeline(settings, "collect") as store:
        run_id = store.start_run("collect", {"source": "arxiv", "ids": str(ids) if ids else None, "query": query,
                                             "out": str(out)})
        with _listing(store, run_id, session):
            # The package's own delay is for arXiv's hosts; a test server or mirror relies on --interval.
            delay = arxiv_collect.ARXIV_INTERVAL if api_url is None else (interval or 0.0)
            client = arxiv_collect.make_client(session, api_url=url, delay_seconds=delay)
            with progress("arXiv listing", quiet=quiet):
                s = arxiv_collect.collect_arxiv(store, client, ids=id_list, query=query, max_results=max_results,
                                                api_url=url, run_id=run_id)
        _finish(store, settings, s, session=session, out=out, download=not no_pdfs, ingest=not no_ingest,
                quiet=quiet, run_id=run_id, max_pdf_mb=max_pdf_mb)


@collect_command("paperlists")
def paperlists_cmd(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A Paper Copilot paperlists file (e.g. nips2024.json; JSON list or "
                                         "JSON Lines).", show_default=False, metavar="FILE.json")],
    download: Annotated[bool, typer.Option("--download", help="Also download the PDFs the file links (pdf field) "
                                           "into --out.")] = False,
    accepted_only: Annotated[bool, typer.Option("--accepted-only", help="Leave out entries whose status says "
                                                "rejected or withdrawn (Reject, Withdraw, Desk Reject).")] = False,
    out: OutOpt = None,
    venue: Annotated[str | None, typer.Option("--venue", help="Venue label (default: from the file name, nips2024 "
                                              "-> nips).", show_default=False)] = None,
    year: Annotated[int | None, typer.Option("--year", help="Year (default: from the file name).",
                                             show_default=False)] = None,
    interval: IntervalOpt = None,
    retries: RetriesOpt = 5,
    max_wait: MaxWaitOpt = 3900.0,
    max_pdf_mb: MaxMbOpt = DEFAULT_MAX_BYTES / 1024 / 1024,
    no_ingest: NoIngestOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Read a paperlists file: authors, affiliation strings, normalised institutions (metadata only, no network).

    The source's own country labels are stored for comparison only; countries come from
    collabscope's resolver when the venue backend runs (`collabscope run --db DB`).

    Example: collabscope collect paperlists nips2024.json && collabscope run
    """
    if not file.is_file():
        raise ConfigError(f"{file} does not exist")
    out = _check_out(out, needed=download)
    settings = settings_from(_db(ctx, db), config)
    session = _session(interval, retries, max_wait=max_wait)
    with pipeline.open_pipeline(settings, "collect") as store:
        run_id = store.start_run("collect", {"source": "paperlists", "file": str(file), "download": download,
                                             "accepted_only": accepted_only})
        with _listing(store, run_id, session):
            s = pl_collect.collect_paperlists(store, file, venue=venue, year=year, accepted_only=accepted_only,
                                              run_id=run_id)
        _finish(store, settings, s, session=session, out=out, download=download, ingest=not no_ingest,
                quiet=quiet, run_id=run_id, max_pdf_mb=max_pdf_mb)
