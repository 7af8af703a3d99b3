"""Ingest sharded across machines with Dask: the workers parse, this process writes.

``collabscope ingest --engine dask [--scheduler tcp://host:8786]`` runs the same ingest as
the local engine, with the parsing spread over the workers of a Dask cluster (without
``--scheduler``, a local cluster of ``--workers`` processes is started and stopped here).

How the work is cut, and why:

- **The client hashes, the workers parse.** This process lists and hashes the files
  (cheap: ~0.05 ms per front-matter PDF) and skips every hash the database already knows,
  with the plan the local engine makes (:func:`extractor.ingest.batch.plan_ingest`), so a
  re-run sends nothing and ``--retry-failed`` sends the files whose ingest failed.
- **A shard is a local ingest.** Each Dask task takes a few dozen files and runs
  :func:`~extractor.ingest.files.ingest_paths` on them into a throwaway in-memory store, parser
  process and all. The per-file size/page/time limits and the crash isolation of the
  local engine therefore hold on the cluster too, with no second implementation of them,
  and every bad file gets the same error row it would get locally.
- **Only the client writes to SQLite.** SQLite has one writer at a time, and its locking
  relies on the file system: over NFS or SMB it is unsafe, so the database must never be
  opened by processes on several machines. The workers send back their ``documents``
  rows already encoded (:meth:`~extractor.store.Store.document_rows`); this process
  inserts each shard in one transaction (:meth:`~extractor.store.Store.add_document_rows`),
  so the single writer does as little per document as possible. Duplicates (same bytes)
  are resolved by the store's primary key, as locally.
- **Back-pressure.** At most two shards per worker thread are in flight, so results never
  pile up in cluster memory faster than the client can write them.

The workers must see the files at the same paths as the client (a shared or synced file
system) and run the same collabscope version; both are checked, with a message that says
what to fix. For the hard per-file time limit, a worker must be allowed to start a child
process: Dask workers are daemonic by default, which forbids that, so start them with
``DASK_DISTRIBUTED__WORKER__DAEMON=False`` (the local cluster started here does this). On
daemonic workers the shard parses in-process and a file that hangs MuPDF can only be
stopped by restarting that worker.

Dask is an optional dependency (``pip install 'collabscope[scale]'``).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extractor import __version__
from extractor.errors import ConfigError, IngestError
from extractor.ingest.batch import DocumentSink, IngestSummary, plan_ingest
from extractor.ingest.files import IngestLimits, default_workers, ingest_paths, read_document
from extractor.schemas import SCHEMA_VERSION, Document
from extractor.store import Store, document_row, utcnow

log = logging.getLogger(__name__)

#: Files per Dask task: big enough that task overhead (~1 ms) and the shard's parser
#: start-up (~10 ms fork) vanish next to ~5-10 ms of parsing per file, small enough that
#: a crashed worker costs little and progress stays smooth.
DEFAULT_SHARD_SIZE = 32
#: Shards in flight per worker thread (back-pressure on cluster memory).
IN_FLIGHT_PER_THREAD = 2


@dataclass
class ShardResult:
    """What a worker sends back for one shard: ``documents`` rows as its store encoded them."""

    rows: list[dict[str, Any]]
    isolated: bool  # parsed in a supervised child process (hard time limit) or in-thread
    worker_pid: int
    missing: list[str] = field(default_factory=list)


def _worker_identity() -> dict[str, str]:
    """Run on each worker by the client: the versions that must match the client's."""
    return {"collabscope": __version__, "schema": SCHEMA_VERSION}


def parse_shard(paths: list[str], limits: IngestLimits) -> ShardResult:
    """Runs on a Dask worker: the local ingest of ``paths`` into an in-memory store.

    A path the worker cannot see is reported, not turned into an "unreadable" row: the
    client saw that file, so the cluster's file system is what is wrong.
    """
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        return ShardResult([], False, os.getpid(), missing)
    # A daemonic process may not start children; parse in this thread then (soft limits).
    isolate = not multiprocessing.current_process().daemon
    store = Store.open(":memory:")
    try:
        ingest_paths(store, paths, limits=limits, workers=1, isolate=isolate)
        rows = store.document_rows()  # encoded here, in parallel, not by the one writer
    finally:
        store.close()
    return ShardResult(rows, isolate, os.getpid())


def _crash_document(path: Path, sha: str, detail: str) -> Document:
    size = 0
    with contextlib.suppress(OSError):
        size = path.stat().st_size
    return Document(sha256=sha, source_file=path.name, path=str(path), size_bytes=size, error_kind="crash",
                    error=f"the Dask worker parsing this file's shard died ({detail}); the batch went on"[:500],
                    ingested_at=utcnow())


def _shards(items: list[tuple[Path, str]], size: int) -> Iterator[list[tuple[Path, str]]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


@contextlib.contextmanager
def dask_client(scheduler: str | None, workers: int) -> Iterator[Any]:
    """A client of the cluster at ``scheduler``, or of a local cluster started for this call."""
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError("--engine dask needs Dask: pip install 'collabscope[scale]' "
                          "(or 'dask[distributed]')") from None
    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise IngestError("scheduler", f"cannot reach the Dask scheduler at {scheduler}: {exc}; "
                                         "start it with `dask scheduler` and check the address") from None
        try:
            yield client
        finally:
            client.close()
        return
    n = workers or default_workers()
    # Non-daemonic workers may start the supervised parser process each shard uses.
    with dask.config.set({"distributed.worker.daemon": False}):
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0")
        client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _check_workers(client: Any) -> int:
    """Number of worker threads; raises when a worker runs another collabscope."""
    client.wait_for_workers(1, timeout=60)
    try:
        info = client.scheduler_info(n_workers=-1)  # newer Dask lists only 5 workers by default
    except TypeError:
        info = client.scheduler_info()
    workers = info.get("workers", {})
    mine = _worker_identity()
    for addr, ident in client.run(_worker_identity).items():
        if ident != mine:
            raise IngestError("version", f"the Dask worker at {addr} runs collabscope {ident['collabscope']} (schema "
                                    f"{ident['schema']}), this client {mine['collabscope']} (schema {mine['schema']}); "
                                    "install the same version on every worker")
    return sum(int(w.get("nthreads", 1)) for w in workers.values()) or 1


def ingest_paths_dask(
    store: Store,
    paths: Iterable[Path | str],
    *,
    scheduler: str | None = None,
    limits: IngestLimits = IngestLimits(),
    workers: int = 0,
    venue: str | None = None,
    year: int | None = None,
    run_id: int | None = None,
    shard_size: int = DEFAULT_SHARD_SIZE,
    on_total: Callable[[int], None] | None = None,
    on_progress: Callable[[Document | None], None] | None = None,
    retry_failed: bool = False,
) -> IngestSummary:
    """Ingest files and folders into ``store`` with a Dask cluster parsing; same result as local.

    The files to parse are planned as for the local engine (:func:`~extractor.ingest.batch.plan_ingest`),
    and the rows are written and counted the same way (:class:`~extractor.ingest.batch.DocumentSink`).

    Args:
        scheduler: address of a running scheduler (``tcp://host:8786``); None starts a local
            cluster of ``workers`` processes (0 = all cores) for this call.
        shard_size: files per Dask task.
        on_progress: called with None once per file, when its row is written.
        retry_failed: parse again the files whose earlier ingest failed; their error rows
            are replaced.

    Raises:
        ConfigError: Dask is not installed.
        IngestError: the scheduler cannot be reached, a worker runs another version, or a
            worker cannot see the files at the client's paths.
        StoreError: the database cannot be written (what was committed stays committed).
    """
    from distributed import as_completed

    plan = plan_ingest(store, paths, retry_failed=retry_failed)
    sink = DocumentSink(store, plan, venue=venue, year=year, run_id=run_id, on_progress=on_progress)
    remote = [(f, sha) for f, sha in plan.todo if sha is not None]
    local = [f for f, sha in plan.todo if sha is None]  # not hashable here: its error row is made here
    if on_total:
        on_total(len(plan.todo))

    for f in local:
        sink.write([document_row(read_document(f, limits))])
    if not remote:
        return sink.summary

    with dask_client(scheduler, workers) as client:
        threads = _check_workers(client)
        pending = list(_shards(remote, max(1, shard_size)))
        pending.reverse()  # pop() from the end keeps the files' order
        in_flight: dict[Any, list[tuple[Path, str]]] = {}

        def submit(ac: Any | None = None) -> None:
            shard = pending.pop()
            fut = client.submit(parse_shard, [str(p) for p, _ in shard], limits, pure=False)
            in_flight[fut] = shard
            if ac is not None:
                ac.add(fut)

        for _ in range(min(len(pending), threads * IN_FLIGHT_PER_THREAD)):
            submit()
        ac = as_completed(list(in_flight))
        warned_soft = False
        for fut in ac:
            shard = in_flight.pop(fut)
            if pending:
                submit(ac)  # keep the workers busy while this shard is written
            try:
                result: ShardResult = fut.result()
            except Exception as exc:  # noqa: BLE001 - KilledWorker and friends: the shard is lost, not the batch
                sink.write([document_row(_crash_document(p, sha, f"{type(exc).__name__}: {exc}")) for p, sha in shard])
                continue
            finally:
                fut.release()
            if result.missing:
                for other in list(in_flight):
                    other.cancel()
                raise IngestError("paths",
                                  f"a Dask worker (pid {result.worker_pid}) cannot see {result.missing[0]} "
                                  f"({len(result.missing)} file(s) of one shard): the workers must reach the files "
                                  "at the client's paths (a shared file system); nothing of that shard was written")
            if not result.isolated and not warned_soft:
                warned_soft = True
                log.warning("the Dask workers are daemonic, so files are parsed in-thread without the hard "
                            "%g s time limit; start them with DASK_DISTRIBUTED__WORKER__DAEMON=False", limits.parse_timeout)
            sink.write(result.rows)  # one transaction per shard
    return sink.summary
