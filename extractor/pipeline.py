"""The pipeline commands as library calls: ingest, extract, reconcile, and run (all three).

Each command function takes an open :class:`~extractor.store.Store` and the
:class:`~extractor.config.Settings`, runs its stages, records the command in the ``runs``
table (what was asked, how it ended, its counts as JSON) and returns the summaries; it
prints nothing, so the CLI, a notebook or a test decide what to show.

Commands run under the pipeline lock (:mod:`extractor.locks`): :func:`open_pipeline` takes
it before it opens the store, so a refused command never touches the database, and two
commands never parse, extract (and pay for) the same documents twice. The command
functions assume the caller holds it; the stage functions underneath (``ingest_paths``,
``run_extract``, ``run_reconcile``) stay usable without it, as SQLite alone keeps the data
right.

Progress: each step reports through ``progress(label)``, a callable returning a context
manager that yields the step's ``(on_total, on_progress)`` callbacks, the plain callables
the stages take. ``label`` names the step ("ingest", "ingest (dask)", "extract (rules)",
"reconcile"); the default, :func:`no_progress`, reports nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extractor.config import Settings
from extractor.errors import ConfigError
from extractor.extract.base import ExtractSummary, get_backend, run_extract
from extractor.ingest.batch import IngestSummary
from extractor.ingest.files import IngestLimits, ingest_paths
from extractor.locks import pipeline_lock
from extractor.reconcile.merge import ReconcileSummary, run_reconcile
from extractor.store import Store

#: ``progress(label)`` -> a context manager yielding ``(on_total, on_progress)``.
Progress = Callable[[str], contextlib.AbstractContextManager[tuple[Callable[[int], None], Callable[..., None]]]]
#: Where ingest can parse: ``local`` (parser processes here) or ``dask`` (a Dask cluster).
ENGINES = ("local", "dask")


@contextlib.contextmanager
def no_progress(label: str) -> Iterator[tuple[Callable[[int], None], Callable[..., None]]]:
    """The default :data:`Progress`: callbacks that do nothing."""
    yield (lambda total: None), (lambda *args, **kwargs: None)


@contextlib.contextmanager
def open_pipeline(settings: Settings, command: str, *, create: bool = True) -> Iterator[Store]:
    """Take the pipeline lock of ``settings.db`` for ``command``, then open (create, migrate) the store.

    With ``create=False`` the database must exist already: commands that only work on what
    an earlier ingest stored (``extract``, ``reconcile``, ``run`` without paths) would
    otherwise turn a mistyped path into a new empty database. That check comes before the
    lock, so a refused command leaves no file behind.

    Raises:
        ConfigError: ``create`` is False and the database does not exist.
        LockedError: another process runs a pipeline command on this database.
        StoreError: the lock file or the database cannot be created or opened.
    """
    if not create and str(settings.db) != ":memory:" and not Path(settings.db).exists():
        raise ConfigError(f"database {settings.db} does not exist; check --db / COLLABSCOPE_DB, or create it "
                          "with `collabscope run PATH`")
    with pipeline_lock(settings.db, command), Store.open(settings.db, create=create) as store:
        yield store


def check_engine(engine: str) -> None:
    """Raise :class:`ConfigError` unless ``engine`` is one of :data:`ENGINES`."""
    if engine not in ENGINES:
        raise ConfigError(f"--engine {engine!r}: choose local or dask")


def ingest_limits(settings: Settings) -> IngestLimits:
    """The per-file ingest limits the settings ask for."""
    return IngestLimits(max_file_mb=settings.max_file_mb, max_pages=settings.max_pages,
                        full_text_pages=settings.full_text_pages, parse_timeout=settings.parse_timeout)


# ---------------------------------------------------------------------- steps (no runs row)


def ingest_step(store: Store, settings: Settings, paths: Sequence[Path | str], *, venue: str | None = None,
                year: int | None = None, run_id: int | None = None, engine: str = "local",
                scheduler: str | None = None, retry_failed: bool = False,
                progress: Progress = no_progress) -> IngestSummary:
    """Ingest ``paths`` with the local engine, or on Dask when ``engine`` is dask or a ``scheduler`` is given."""
    check_engine(engine)
    if scheduler or engine == "dask":
        # Imported on use: Dask is optional and slow to import.
        from extractor.ingest.distributed import ingest_paths_dask

        with progress("ingest (dask)") as (on_total, on_progress):
            return ingest_paths_dask(store, paths, scheduler=scheduler, limits=ingest_limits(settings),
                                     workers=settings.workers, venue=venue, year=year, run_id=run_id,
                                     on_total=on_total, on_progress=on_progress, retry_failed=retry_failed)
    with progress("ingest") as (on_total, on_progress):
        return ingest_paths(store, paths, limits=ingest_limits(settings), workers=settings.workers, venue=venue,
                            year=year, run_id=run_id, on_total=on_total, on_progress=on_progress,
                            retry_failed=retry_failed)


def extract_step(store: Store, settings: Settings, *, run_id: int | None = None, limit: int | None = None,
                 batch_api: bool = False, progress: Progress = no_progress) -> list[ExtractSummary]:
    """Run every backend of ``settings.backends`` over the documents it has no result for, in order.

    The ``venue`` backend is added whenever the database holds venue metadata (free and
    offline: the collected metadata is a reading of its own, see :mod:`extractor.extract.venue`).
    """
    out = []
    for name in backends_for(store, settings):
        backend = get_backend(name, settings)
        if batch_api and hasattr(backend, "batch_api"):
            backend.batch_api = True  # the llm backend's OpenAI Batch API mode
        with progress(f"extract ({name})") as (on_total, on_progress):
            out.append(run_extract(store, backend, run_id=run_id, limit=limit, on_total=on_total,
                                   on_progress=on_progress))
    return out


def backends_for(store: Store, settings: Settings) -> list[str]:
    """``settings.backends``, plus ``venue`` when the database holds venue metadata."""
    names = list(settings.backends)
    if "venue" not in names and store.count_venue_papers()["papers"]:
        names.append("venue")
    return names


def reconcile_step(store: Store, settings: Settings, *, progress: Progress = no_progress) -> ReconcileSummary:
    """Merge each paper's extractions into its record, score it and route it.

    With venue metadata in the database, the venue papers known from metadata alone get
    records too, and those whose PDF now has a record are superseded
    (:mod:`extractor.reconcile.venue`), before routing.
    """
    venue = bool(store.count_venue_papers()["papers"])
    with progress("reconcile") as (on_total, on_progress):
        summary = run_reconcile(store, confidence_threshold=settings.confidence_threshold, settings=settings,
                                route=not venue, on_total=on_total, on_progress=on_progress)
    if not venue:
        return summary
    # Imported on use: only a database with venue metadata needs them.
    from extractor.reconcile import routing
    from extractor.reconcile.venue import reconcile_venue_papers
    from extractor.schemas import RecordStatus

    with progress("reconcile (venue metadata)") as (on_total, on_progress):
        v = reconcile_venue_papers(store, confidence_threshold=settings.confidence_threshold, on_progress=on_progress)
    summary.created += v.created
    summary.updated += v.updated
    summary.paper_ids += v.paper_ids
    summary.metadata_only = {"created": v.created, "updated": v.updated, "unchanged": v.unchanged,
                             "superseded": v.superseded, "no_affiliations": v.no_affiliations}
    summary.route = routing.route(store, settings, paper_ids=summary.paper_ids).__dict__
    summary.queued = store.count_records(RecordStatus.QUEUED)
    return summary


# ---------------------------------------------------------------------- the commands


def ingest_counts(s: IngestSummary) -> dict[str, Any]:
    """An ingest summary as the ``runs`` row keeps it (the new hashes as their number)."""
    return s.__dict__ | {"new_hashes": len(s.new_hashes)}


def ingest(store: Store, settings: Settings, paths: Sequence[Path | str], *, venue: str | None = None,
           year: int | None = None, engine: str = "local", scheduler: str | None = None,
           retry_failed: bool = False, progress: Progress = no_progress) -> IngestSummary:
    """The ``ingest`` command: read PDFs into ``store``; the run is ``partial`` when a file failed."""
    check_engine(engine)
    run_id = store.start_run("ingest", {"paths": [str(p) for p in paths]})
    s = ingest_step(store, settings, paths, venue=venue, year=year, run_id=run_id, engine=engine,
                    scheduler=scheduler, retry_failed=retry_failed, progress=progress)
    store.finish_run(run_id, "partial" if s.failed else "ok", ingest_counts(s))
    return s


def extract(store: Store, settings: Settings, *, limit: int | None = None, batch_api: bool = False,
            progress: Progress = no_progress) -> list[ExtractSummary]:
    """The ``extract`` command: one summary per backend; the run is ``partial`` when a document failed."""
    run_id = store.start_run("extract", {"backends": settings.backends})
    results = extract_step(store, settings, run_id=run_id, limit=limit, batch_api=batch_api, progress=progress)
    failed = sum(r.failed for r in results)
    store.finish_run(run_id, "partial" if failed else "ok", {r.backend: r.__dict__ for r in results})
    return results


def reconcile(store: Store, settings: Settings, *, progress: Progress = no_progress,
              second_opinion: bool = False) -> ReconcileSummary:
    """The ``reconcile`` command; it records no ``runs`` row unless a second opinion spends tokens."""
    summary = reconcile_step(store, settings, progress=progress)
    if second_opinion:
        run_id = store.start_run("reconcile", {"second_opinion": True})
        summary = second_opinion_step(store, settings, summary, run_id=run_id, progress=progress)
        store.finish_run(run_id, "ok", {"second_opinion": summary.second_opinion})
    return summary


def second_opinion_step(store: Store, settings: Settings, before: ReconcileSummary, *, run_id: int | None = None,
                        progress: Progress = no_progress) -> ReconcileSummary:
    """Ask the narrow second-opinion question for the records in the uncertain band, then
    reconcile again so the answers become signals (:mod:`extractor.extract.llm.second_opinion`)."""
    # Imported on use: only a run that asks for a second opinion needs the llm machinery.
    from extractor.extract.llm.second_opinion import run_second_opinion

    so = run_second_opinion(store, settings, run_id=run_id)
    after = reconcile_step(store, settings, progress=progress) if so.asked else before
    after.second_opinion = {k: v for k, v in so.__dict__.items() if k != "differing"}
    return after


@dataclass
class RunSummary:
    """What ``run`` did: each step's summary and the headline counts of the records.

    A dry run stops after ingest (free, and it tells what there is to extract), so only
    ``ingest`` is set.
    """

    ingest: IngestSummary
    extract: list[ExtractSummary] = field(default_factory=list)
    reconcile: ReconcileSummary | None = None
    #: :func:`extractor.aggregate.headline` after reconcile (machine records, not reviewed),
    #: with every country (``countries``).
    headline: dict[str, Any] = field(default_factory=dict)
    dry_run: bool = False

    @property
    def failed(self) -> int:
        """Files whose ingest failed plus documents whose extraction failed."""
        return self.ingest.failed + sum(r.failed for r in self.extract)


def run(store: Store, settings: Settings, paths: Sequence[Path | str], *, venue: str | None = None,
        year: int | None = None, retry_failed: bool = False, batch_api: bool = False, dry_run: bool = False,
        progress: Progress = no_progress, second_opinion: bool = False) -> RunSummary:
    """The ``run`` command: ingest, extract with every backend, reconcile; one ``runs`` row for all.

    Idempotent: a second run on the same files adds nothing and redoes nothing. With
    ``dry_run`` it stops after ingest, before anything is spent. With no ``paths`` there is
    no ingest: extract, reconcile and route work on what the database already holds
    (documents stored earlier, and records other sources added), and the ingest summary
    is all zeros.
    """
    run_id = store.start_run("run", {"paths": [str(p) for p in paths], "backends": settings.backends})
    ing = (ingest_step(store, settings, paths, venue=venue, year=year, run_id=run_id, retry_failed=retry_failed,
                       progress=progress) if paths else IngestSummary())
    if dry_run:
        store.finish_run(run_id, "ok", {"dry_run": True, "ingest": ingest_counts(ing)})
        return RunSummary(ing, dry_run=True)
    ext = extract_step(store, settings, run_id=run_id, batch_api=batch_api, progress=progress)
    rec = reconcile_step(store, settings, progress=progress)
    if second_opinion:
        rec = second_opinion_step(store, settings, rec, run_id=run_id, progress=progress)
    # Imported on use: only a full run's summary needs aggregation.
    from extractor.aggregate import headline

    out = RunSummary(ing, ext, rec, headline(store, group_hk_mo_with_cn=settings.group_hk_mo_with_cn,
                                             all_countries=True))
    store.finish_run(run_id, "partial" if out.failed else "ok",
                     {"ingest": ingest_counts(ing), "extract": {r.backend: r.__dict__ for r in ext},
                      "reconcile": rec.__dict__ | {"paper_ids": len(rec.paper_ids)}})
    return out
