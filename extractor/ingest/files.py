"""Ingest: files -> ``documents`` rows keyed by the SHA-256 of their bytes.

Each file is read once: hash, open with pymupdf, keep page 1 with layout (see
:mod:`extractor.ingest.layout`) and the text of the first pages for model mentions. A bad file
(not a PDF, corrupt, encrypted, no text layer, zero pages, too big, unreadable, too slow)
gets a row with a clear ``error`` and the batch goes on; nothing a file contains can stop
the batch. Parsing runs in supervised worker processes (all cores unless capped, see
:mod:`extractor.ingest.workerpool`) that send back each file's ``documents`` row already encoded;
the database writes stay in the parent process, which inserts the rows in batches (one
transaction per :data:`COMMIT_ROWS` rows or :data:`COMMIT_SECONDS`, whichever comes first,
so a killed batch loses at most the rows of one uncommitted batch, which a re-run parses
again). A file already known by its hash is never parsed again: which files a batch parses
and how their rows are labelled and counted is :mod:`extractor.ingest.batch`, which the
Dask engine (:mod:`extractor.ingest.distributed`) shares.

Per-file limits (:class:`IngestLimits`) really hold: size and page count are checked
before parsing, and the parse-time limit is enforced by the parent, which kills a worker
stuck in a C call (MuPDF spinning on a hostile content stream cannot be interrupted from
inside) and records that file as ``timeout``. A worker that crashes (segfault, out of
memory) costs only its own file a ``crash`` row; a replacement worker takes the rest.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymupdf

from extractor.errors import IngestError
from extractor.ingest.batch import DocumentSink, IngestSummary, hash_file, plan_ingest
from extractor.ingest.layout import canonical_venue, detect_venue_year, figure_regions, front_matter_from_page_dict
from extractor.ingest.workerpool import PoolStartupError, SupervisedPool
from extractor.schemas import Document
from extractor.store import Store, document_row, utcnow

pymupdf.TOOLS.mupdf_display_errors(False)
pymupdf.TOOLS.mupdf_display_warnings(False)

PDF_MAGIC = b"%PDF-"
MIN_TEXT_CHARS = 25  # page-1 text shorter than this means a scan without a text layer
#: The parent inserts parsed rows in batches, one transaction each: at most this many rows,
#: and a row waits at most COMMIT_SECONDS (so an interrupted batch loses little, and
#: progress shows in the database as it goes).
COMMIT_ROWS = 256
COMMIT_SECONDS = 0.1


@dataclass(frozen=True)
class IngestLimits:
    """Per-file limits, so one hostile or huge file cannot stall a batch."""

    max_file_mb: float = 50.0
    max_pages: int = 200
    full_text_pages: int = 60
    #: Seconds one file may take; past it the parser process is killed (``timeout`` row).
    parse_timeout: float = 60.0
    #: Address space a parser process may add beyond what it starts with (None: no cap);
    #: a decompression bomb then fails that file (``corrupt``/``crash``) instead of the machine.
    max_memory_mb: float | None = 2048.0


class _ParseTimeout(Exception):
    pass


def _failed(sha: str, path: Path, kind: str, message: str, size: int = 0, pages: int = 0) -> Document:
    return Document(
        sha256=sha,
        source_file=path.name,
        path=str(path),
        size_bytes=size,
        page_count=pages,
        error=message,
        error_kind=kind,
        ingested_at=utcnow(),
    )


def _metadata_venue_year(meta: dict[str, str] | None) -> tuple[str | None, int | None]:
    """Venue/year a producer put in the PDF metadata (``venue=nips;year=2018``)."""
    if not meta:
        return None, None
    blob = " ".join(str(meta.get(k) or "") for k in ("subject", "keywords"))
    venue = re.search(r"venue\s*[=:]\s*([\w\- ]+?)\s*(?:[;,]|$)", blob, re.IGNORECASE)
    year = re.search(r"year\s*[=:]\s*(\d{4})", blob, re.IGNORECASE)
    return (canonical_venue(venue.group(1)) if venue else None, int(year.group(1)) if year else None)


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise _ParseTimeout after ``seconds`` (POSIX main thread only; else no limit)."""
    usable = hasattr(signal, "SIGALRM") and seconds > 0
    try:
        import threading

        usable = usable and threading.current_thread() is threading.main_thread()
    except Exception:  # pragma: no cover
        usable = False
    if not usable:
        yield
        return

    def _raise(signum: int, frame: object) -> None:
        raise _ParseTimeout()

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _unreadable_key(path: Path) -> str:
    """A stable key for a file whose bytes cannot be read (so it still gets one row)."""
    try:
        where = path.resolve()
    except (OSError, RuntimeError):  # symlink loop
        where = path.absolute()
    return hashlib.sha256(f"unreadable:{where}".encode()).hexdigest()


def read_document(path: Path | str, limits: IngestLimits = IngestLimits(), sha256: str | None = None,
                  *, soft_timeout: bool = True) -> Document:
    """Read one file into a :class:`Document`; never raises for a bad file.

    Called directly (in-process), the parse-time limit is a ``SIGALRM`` that only fires
    between Python bytecodes: it cannot stop MuPDF inside one long C call. Ingest runs it
    in a worker process instead, where the parent enforces the limit by killing the worker
    (``soft_timeout=False`` there, so the two limits do not race). ``sha256`` is the hash
    the caller computed; the key stored is always the hash of the bytes actually parsed,
    so a file changed between hashing and parsing cannot get a mismatched row.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        return _failed(_unreadable_key(path), path, "unreadable", f"cannot read {path}: {exc.strerror or exc}")
    if not path.is_file():
        return _failed(_unreadable_key(path), path, "unreadable", f"{path} is not a regular file")
    try:
        if size > limits.max_file_mb * 1024 * 1024:
            sha = sha256 or hash_file(path)
            return _failed(
                sha, path, "too_large",
                f"file is {size / 1048576:.1f} MB, over the {limits.max_file_mb:g} MB limit (raise --max-file-mb to ingest it)",
                size,
            )
        data = path.read_bytes()
    except OSError as exc:
        return _failed(_unreadable_key(path), path, "unreadable", f"cannot read {path}: {exc.strerror or exc}")
    sha = hashlib.sha256(data).hexdigest()
    size = len(data)
    if size == 0:
        return _failed(sha, path, "empty", "file is empty (0 bytes)")
    if PDF_MAGIC not in data[:1024]:
        return _failed(sha, path, "not_pdf", "not a PDF (no %PDF- header in the first 1 KB)", size)
    try:
        with _time_limit(limits.parse_timeout if soft_timeout else 0):
            return _parse_pdf(path, data, sha, size, limits)
    except _ParseTimeout:
        return _failed(sha, path, "timeout", f"parsing took longer than {limits.parse_timeout:g} s and was stopped", size)
    except MemoryError:
        return _failed(sha, path, "corrupt", "parsing ran out of memory (hostile or broken file)", size)
    except Exception as exc:  # pymupdf raises many types for broken files
        return _failed(sha, path, "corrupt", f"corrupt or unreadable PDF: {type(exc).__name__}: {exc}"[:500], size)


def _parse_pdf(path: Path, data: bytes, sha: str, size: int, limits: IngestLimits) -> Document:
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception as exc:
        return _failed(sha, path, "corrupt", f"corrupt PDF, pymupdf cannot open it: {exc}"[:500], size)
    with doc:
        if doc.needs_pass and not doc.authenticate(""):
            return _failed(sha, path, "encrypted", "encrypted PDF: it needs a password to open", size)
        pages = doc.page_count
        if pages == 0:
            # MuPDF rebuilds a damaged file (a cut-off download, a broken cross-reference
            # table) from whatever objects it finds; when that finds no page, the file is
            # broken, not a PDF that holds no pages.
            if doc.is_repaired or b"%%EOF" not in data[-1024:]:
                return _failed(sha, path, "corrupt", "corrupt PDF: it is truncated or damaged and no page could "
                               "be recovered (download or copy it again)", size)
            return _failed(sha, path, "empty", "the PDF has zero pages", size)
        if pages > limits.max_pages:
            return _failed(
                sha, path, "too_many_pages",
                f"{pages} pages, over the {limits.max_pages}-page limit (raise --max-pages to ingest it)",
                size, pages,
            )
        page = doc.load_page(0)
        page_dict = page.get_text("dict", flags=pymupdf.TEXTFLAGS_DICT & ~pymupdf.TEXT_PRESERVE_IMAGES)
        front = front_matter_from_page_dict(page_dict, figure_regions(page))
        if len(front.text.strip()) < MIN_TEXT_CHARS:
            return _failed(
                sha, path, "no_text",
                "page 1 has no text layer (a scan?): needs OCR before collabscope can read it",
                size, pages,
            )
        texts = [front.text]
        for i in range(1, min(pages, limits.full_text_pages)):
            try:
                texts.append(doc.load_page(i).get_text())
            except Exception:  # a broken later page loses only its own text
                texts.append("")
        venue, year = _metadata_venue_year(doc.metadata)
        if (venue is None or year is None) and front.venue_line is not None:
            v2, y2 = detect_venue_year(front.lines[front.venue_line].text)
            venue, year = venue or v2, year or y2
        return Document(
            sha256=sha,
            source_file=path.name,
            path=str(path),
            size_bytes=size,
            page_count=pages,
            venue=venue,
            year=year,
            front=front,
            full_text="\f".join(texts),
            ingested_at=utcnow(),
        )


def _worker_init() -> None:
    """Per parser process: MuPDF must not print to a terminal the parent owns."""
    pymupdf.TOOLS.mupdf_display_errors(False)
    pymupdf.TOOLS.mupdf_display_warnings(False)


def read_document_isolated(path: str, limits: IngestLimits, sha256: str | None) -> Document:
    """:func:`read_document` with the limit left to the parent (a parser process's view)."""
    return read_document(path, limits, sha256, soft_timeout=False)


def read_document_row(path: str, limits: IngestLimits, sha256: str | None) -> dict[str, Any]:
    """What a parser process runs: the file's ``documents`` row, ready to insert.

    Encoding page 1 here, in parallel, leaves the one writing process only an unpickle of
    a few strings and one row write per file (:meth:`Store.add_document_rows`).
    """
    return document_row(read_document_isolated(path, limits, sha256))


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def _outcome_document(outcome_failure: str, detail: str, path: Path, sha: str | None, limits: IngestLimits) -> Document:
    key = sha or _unreadable_key(path)
    size = 0
    with contextlib.suppress(OSError):
        size = path.stat().st_size
    if outcome_failure == "timeout":
        return _failed(key, path, "timeout",
                       f"parsing took longer than {limits.parse_timeout:g} s, so the parser process was stopped "
                       f"(a hostile or pathological file?; to try again: --retry-failed, perhaps with a larger --parse-timeout)", size)
    return _failed(key, path, "crash", f"the parser process crashed on this file ({detail}); the batch went on"[:500], size)


def ingest_paths(
    store: Store,
    paths: Iterable[Path | str],
    *,
    limits: IngestLimits = IngestLimits(),
    workers: int = 0,
    venue: str | None = None,
    year: int | None = None,
    run_id: int | None = None,
    on_total: Callable[[int], None] | None = None,
    on_progress: Callable[[Document | None], None] | None = None,
    isolate: bool = True,
    reader: Callable[[str, IngestLimits, str | None], dict[str, Any] | Document] = read_document_row,
    retry_failed: bool = False,
) -> IngestSummary:
    """Ingest files and folders into ``store``; returns counts. Idempotent by file hash.

    Args:
        workers: parser processes (0 = all cores). Even 1 means one child process, because
            only a separate process can be stopped when MuPDF hangs in C.
        isolate: False parses in this process (no fork; the time limit is then only the
            best-effort ``SIGALRM``); for callers that are themselves disposable workers.
        reader: the function a worker runs per file (module level, so it can be sent to
            a worker), returning the encoded row (:func:`read_document_row`) or a
            :class:`Document`; tests substitute one that crashes or hangs on cue.
        on_progress: called with None once per file, when its row is written.
        retry_failed: parse again the files whose earlier ingest failed (a timeout on a
            busy machine, a limit since raised); their error rows are replaced.

    Raises:
        StoreError: the database cannot be written (what was committed stays committed).
        IngestError: the parser processes cannot start at all.
    """
    plan = plan_ingest(store, paths, retry_failed=retry_failed)
    sink = DocumentSink(store, plan, venue=venue, year=year, run_id=run_id, on_progress=on_progress)
    if on_total:
        on_total(len(plan.todo))

    batch: list[dict[str, Any]] = []
    first_at = 0.0

    def flush() -> None:
        rows = batch[:]
        batch.clear()
        sink.write(rows)

    def record(row: dict[str, Any] | Document) -> None:
        nonlocal first_at
        if isinstance(row, Document):
            row = document_row(row)
        now = time.monotonic()
        if not batch:
            first_at = now
        batch.append(row)
        if len(batch) >= COMMIT_ROWS or now - first_at >= COMMIT_SECONDS:
            flush()

    if not plan.todo:
        return sink.summary
    try:
        if not isolate:
            for f, sha in plan.todo:
                record(read_document(f, limits, sha))
        else:
            _run_pool(plan.todo, limits, workers, reader, record)
        flush()
    except BaseException:
        # Interrupted (Ctrl-C, a pool that cannot start): keep what was parsed. A store
        # that cannot be written is not tried again; the original error is what counts.
        with contextlib.suppress(Exception):
            flush()
        raise
    return sink.summary


def _is_row(value: object) -> bool:
    return isinstance(value, dict) and isinstance(value.get("sha256"), str) and isinstance(value.get("source_file"), str)


def _run_pool(todo: list[tuple[Path, str | None]], limits: IngestLimits, workers: int,
              reader: Callable[[str, IngestLimits, str | None], dict[str, Any] | Document],
              record: Callable[[dict[str, Any] | Document], None]) -> None:
    """Parse ``todo`` in supervised parser processes; ``record`` each row as it arrives."""
    n_workers = min(workers or default_workers(), len(todo))
    pool = SupervisedPool(reader, n_workers, limits.parse_timeout, initializer=_worker_init,
                          memory_mb=limits.max_memory_mb)
    tasks = [(i, (str(f), limits, sha)) for i, (f, sha) in enumerate(todo)]
    try:
        with contextlib.closing(pool.run(tasks)) as outcomes:
            for out in outcomes:
                f, sha = todo[out.key]
                if out.failure is None and (isinstance(out.value, Document) or _is_row(out.value)):
                    record(out.value)
                else:
                    record(_outcome_document(out.failure or "crash", out.detail or "no result", f, sha, limits))
    except PoolStartupError as exc:
        raise IngestError("pool", f"cannot start parser processes: {exc}; try --workers 1 or check the "
                                  "machine's process and memory limits") from None
    finally:
        pool.close()
