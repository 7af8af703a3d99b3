"""The :class:`Store`: one SQLite file, opened in WAL mode and migrated, with every store method on it.

One file (WAL mode, so readers never block the writer), migrations applied on open. The
methods live in one module per part of the schema or stage that calls them, each a class
on :class:`~extractor.store.base.StoreBase`:

- :mod:`.runs`          runs and the status summary
- :mod:`.documents`     documents (page 1 in a compact codec) and extractions
- :mod:`.records`       records and the hash-chained audit log
- :mod:`.review_work`   claim leases and the double-review sample
- :mod:`.ingest`        what ingest and the pipeline lock write
- :mod:`.llm_calls`     the LLM call log and cache, Batch API jobs, usage and cost
- :mod:`.reconcile`     the signals reconcile stores per record
- :mod:`.calibration`   stored confidence fits and the labels they are fitted on
- :mod:`.queue`         routing and the review queue
- :mod:`.aggregates`    paged reads for aggregates, the report and export
- :mod:`.evaluation`    what evaluation and simulation read
- :mod:`.venue`         venue metadata from collectors and OpenReview author profiles

:class:`Store` itself holds the lifecycle (open, migrate, close) and the file-level
upkeep: checks, statistics and checkpoint (:meth:`Store.optimize`), and a consistent copy
(:meth:`Store.copy_to`). Nothing outside this package writes SQL.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from pathlib import Path

from sqlite_utils import Database

from extractor.errors import StoreError
from extractor.store import migrations
from extractor.store.aggregates import AggregateStore
from extractor.store.base import _explain, utcnow
from extractor.store.calibration import CalibrationStore
from extractor.store.documents import DocumentStore, document_row
from extractor.store.evaluation import EvaluationStore
from extractor.store.ingest import DocumentIngestStore
from extractor.store.llm_calls import LLMCallStore
from extractor.store.queue import QueueStore
from extractor.store.reconcile import ReconcileStore
from extractor.store.records import RecordStore, record_data_hash
from extractor.store.review_work import ReviewWorkStore
from extractor.store.runs import RunStore
from extractor.store.venue import VenueStore

__all__ = ["OPEN_RETRY_SECONDS", "Store", "document_row", "record_data_hash", "utcnow"]

#: How long :meth:`Store.open` keeps retrying a database another process has locked.
OPEN_RETRY_SECONDS = 30.0


class Store(RunStore, DocumentStore, RecordStore, ReviewWorkStore, DocumentIngestStore, LLMCallStore,
            ReconcileStore, CalibrationStore, QueueStore, AggregateStore, EvaluationStore, VenueStore):
    """A collabscope database. Open with :meth:`open`; close when done (or use ``with``).

    The methods are grouped by the part of the schema or the stage that calls them, one
    module each (see the module docstring); this class puts them together on one connection.
    """

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def open(cls, path: Path | str, *, create: bool = True, readonly: bool = False) -> Store:
        """Open (and create/migrate) a database file, in WAL mode with a busy timeout."""
        path = Path(path) if str(path) != ":memory:" else path
        if isinstance(path, Path):
            if not path.exists() and not create:
                raise StoreError(f"database {path} does not exist; run `collabscope ingest` or pass --db")
            if path.parent and not path.parent.exists():
                raise StoreError(f"database folder {path.parent} does not exist")
        # Opening races another process that is creating, switching to WAL or migrating the
        # same file; SQLite answers some of those moments with SQLITE_BUSY *without* calling
        # the busy handler (e.g. while a WAL index is being rebuilt), so retry the whole
        # open for as long as the busy timeout would have waited.
        deadline = time.monotonic() + OPEN_RETRY_SECONDS
        delay = 0.02
        while True:
            try:
                return cls._open_once(path, readonly=readonly)
            except sqlite3.OperationalError as exc:
                text = str(exc).lower()
                if ("locked" in text or "busy" in text) and time.monotonic() < deadline:
                    time.sleep(delay)
                    delay = min(delay * 2, 0.5)
                    continue
                raise _explain(exc, path) from None
            except sqlite3.Error as exc:
                raise _explain(exc, path) from None

    @classmethod
    def _open_once(cls, path: Path | str, *, readonly: bool) -> Store:
        if readonly and isinstance(path, Path):
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        else:
            conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
        try:
            db = Database(conn)
            db.execute("PRAGMA busy_timeout = 30000")
            if not readonly and str(path) != ":memory:":
                mode = db.execute("PRAGMA journal_mode").fetchone()[0]
                if mode != "wal":
                    db.execute("PRAGMA journal_mode = wal")
            db.execute("PRAGMA synchronous = NORMAL")
            store = cls(db, path)
            if not readonly:
                store._migrate()
            return store
        except BaseException:
            conn.close()
            raise

    def _migrate(self) -> None:
        if not migrations.migrations.pending(self.db):
            return
        # Two processes opening a fresh file at once: serialise on a write lock, re-check.
        self.db.execute("BEGIN IMMEDIATE")
        try:
            migrations.apply(self.db)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.rollback()
            raise

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ upkeep and checks

    def integrity_check(self) -> str:
        """SQLite's own check of the file's structure: "ok", or what is damaged."""
        return self.db.execute("PRAGMA integrity_check").fetchone()[0]

    def applied_migrations(self) -> list[str]:
        return migrations.applied(self.db)

    def optimize(self) -> bool:
        """Refresh the query planner's statistics, then write the WAL back into the file and truncate it.

        After a bulk load the planner knows nothing about the new rows (``ANALYZE`` tells it
        how selective each index is), and the rows sit in the WAL until a checkpoint: a
        file copied or measured then is not the whole database. The checkpoint waits, up to
        the busy timeout, for readers of an older snapshot. Returns True when the WAL was
        written back completely; False when a connection elsewhere still held part of it
        (nothing is lost: the rest is checkpointed later).
        """
        try:
            self.db.execute("ANALYZE")
            busy, _, _ = self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except sqlite3.Error as exc:
            raise _explain(exc, self.path) from None
        return busy == 0

    def copy_to(self, path: Path | str) -> Path:
        """Write a consistent, compacted copy of the database to a new file (``VACUUM INTO``).

        The copy is one snapshot, the WAL's committed rows included, taken while other
        connections go on reading and writing; a plain file copy of a WAL database can
        miss rows or tear. Works on a store opened read-only. ``path`` must not exist yet
        (SQLite refuses to overwrite a database); the copy opens with :meth:`open` like any
        other database. Returns the path of the copy.
        """
        path = Path(path)
        if path.exists():
            raise StoreError(f"database {self.path}: cannot copy to {path}: the file exists (remove it first)")
        try:
            self.db.execute("VACUUM INTO ?", [str(path)])
        except sqlite3.Error as exc:
            raise _explain(exc, path) from None
        return path

    def duplicate_counts(self) -> dict[str, int]:
        """Keys that hold more than one row where the pipeline keeps one, per kind (all 0 when sound).

        - ``extractions``: (document, backend) pairs with more than one extraction row;
        - ``answers``: LLM cache keys with more than one validated answer (an answer paid twice).

        Runs that are killed and resumed must leave both at 0: a resumed run re-uses what
        was committed before the kill instead of asking or storing it again.
        """
        one = lambda sql: self.db.execute(sql).fetchone()[0]  # noqa: E731
        try:
            return {
                "extractions": one("SELECT count(*) FROM (SELECT 1 FROM extractions GROUP BY sha256, backend "
                                   "HAVING count(*) > 1)"),
                "answers": one("SELECT count(*) FROM (SELECT 1 FROM llm_calls WHERE parsed IS NOT NULL "
                               "GROUP BY cache_key HAVING count(*) > 1)"),
            }
        except sqlite3.Error as exc:
            raise _explain(exc, self.path) from None
