"""One writer thread for a live run: ``llm_calls`` rows and extractions, batched.

The event loop only queues rows (microseconds); a single thread with its own SQLite
connection takes whatever is queued - up to ``max_rows``, waiting at most ``linger``
seconds for more after the first - and writes it in one transaction. Rows are written
in the order they were queued, so a document's ``llm_calls`` rows are committed before
(or with) its extraction row.

Durability: :meth:`Writer.save_extraction` returns a future that resolves on the event
loop only once the transaction holding that row (and every row queued before it) has
committed. The runner counts a document as done - progress, summary - only then, and a
re-run after kill -9 finds exactly the committed rows: an answer that was received but
not yet committed is lost like one still in flight (asked again, never twice logged).

Errors: the first failed transaction (disk full, read-only database ...) is rolled back
and kept as :attr:`Writer.error` (the store's own :class:`~extractor.errors.StoreError`
message); every pending and later future fails with it and the runner stops the batch.

An in-memory database cannot be shared with a second connection, so for ``:memory:``
the writer is *inline*: each row is written at once on the caller's thread.

Every row goes through a store method (:meth:`~extractor.store.Store.add_llm_calls`,
:meth:`~extractor.store.Store.save_extraction`) on the writer's own :class:`Store`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from typing import Any

from extractor.errors import StoreError
from extractor.schemas import ExtractionMeta, PaperExtraction
from extractor.store import Store

_STOP = object()


def open_writer_store(store: Store) -> Store:
    """A second connection to ``store``'s file, for the writer thread (tests patch this)."""
    return Store.open(store.path, create=False)


class Writer:
    """Queues rows from the event loop; one thread commits them in batches.

    Args:
        store: the run's store (its file is opened a second time for the thread).
        loop: the event loop the futures belong to.
        max_rows: rows per transaction at most.
        linger: seconds to wait for more rows after the first of a batch.
    """

    def __init__(self, store: Store, loop: asyncio.AbstractEventLoop, *, max_rows: int = 256,
                 linger: float = 0.002):
        self.loop = loop
        self.max_rows = max_rows
        self.linger = linger
        self.error: StoreError | None = None
        self.inline = str(store.path) == ":memory:"
        self.store = store if self.inline else open_writer_store(store)
        self.transactions = 0
        self.rows = 0
        self._items: deque[Any] = deque()
        self._ready = threading.Condition(threading.Lock())
        self._thread: threading.Thread | None = None
        if not self.inline:
            self._thread = threading.Thread(target=self._main, name="collabscope-llm-writer", daemon=True)
            self._thread.start()

    # ------------------------------------------------------------------ event-loop side

    def insert_call(self, row: dict[str, Any]) -> None:
        """Queue one ``llm_calls`` row (fire and forget: a failure surfaces on the next future)."""
        if self.inline:
            self.store.add_llm_calls([row])
            return
        if self.error is None:
            self._put(("call", row, None))

    def save_extraction(self, sha256: str, meta: ExtractionMeta, cache_key: str,
                        extraction: PaperExtraction | None, *, error: str | None = None,
                        run_id: int | None = None) -> asyncio.Future[None]:
        """Queue a document's extraction row; the future resolves once it is committed."""
        fut: asyncio.Future[None] = self.loop.create_future()
        if self.inline:
            self.store.save_extraction(sha256, meta, cache_key, extraction, error=error, run_id=run_id)
            fut.set_result(None)
        elif self.error is not None:
            fut.set_exception(self.error)
        else:
            self._put(("extraction", (sha256, meta, cache_key, extraction, error, run_id), fut))
        return fut

    def _put(self, item: Any) -> None:
        with self._ready:
            self._items.append(item)
            if len(self._items) == 1:
                self._ready.notify()

    async def close(self) -> None:
        """Commit everything queued, stop the thread; raises the writer's error if it had one."""
        if self._thread is not None:
            self._put(_STOP)
            await asyncio.to_thread(self._thread.join)
            self._thread = None
            self.store.close()
        if self.error is not None:
            raise self.error

    # ------------------------------------------------------------------ writer thread

    def _take(self) -> tuple[list[Any], bool]:
        with self._ready:
            while not self._items:
                self._ready.wait()
        if self.linger > 0 and len(self._items) < self.max_rows:
            time.sleep(self.linger)  # let the loop queue the rest of a burst of answers
        batch: list[Any] = []
        stop = False
        with self._ready:
            while self._items and len(batch) < self.max_rows:
                item = self._items.popleft()
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
        return batch, stop

    def _main(self) -> None:
        while True:
            batch, stop = self._take()
            if batch:
                self._write(batch)
            if stop:
                return

    def _write(self, batch: list[Any]) -> None:
        futures = [fut for _, _, fut in batch if fut is not None]
        error: BaseException | None = self.error
        if error is None:
            try:
                with self.store.write():
                    calls: list[dict[str, Any]] = []  # consecutive call rows, written together
                    for kind, payload, _ in batch:
                        if kind == "call":
                            calls.append(payload)
                            continue
                        self.store.add_llm_calls(calls)
                        calls = []
                        sha, meta, key, extraction, err, run_id = payload
                        self.store.save_extraction(sha, meta, key, extraction, error=err, run_id=run_id)
                    self.store.add_llm_calls(calls)
                self.transactions += 1
                self.rows += len(batch)
            except StoreError as exc:
                error = self.error = exc
            except Exception as exc:  # not an SQLite error (a bug): still stop the batch with it
                error = self.error = StoreError(f"writing to the database {self.store.path} failed: "
                                                f"{type(exc).__name__}: {exc}")
        if futures:
            self.loop.call_soon_threadsafe(_settle, futures, error)


def _settle(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for fut in futures:
        if fut.done():
            continue
        if error is None:
            fut.set_result(None)
        else:
            fut.set_exception(error)
            fut.exception()  # the runner raises it (close()); no 'never retrieved' noise

