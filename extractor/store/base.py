"""The connection every store method shares: the sqlite-utils handle, write transactions, errors.

:class:`StoreBase` is what the method groups (:mod:`.documents`, :mod:`.records`,
:mod:`.llm_calls`, :mod:`.queue`, ...) build on; :class:`extractor.store.Store` puts them
together on one connection.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from sqlite_utils import Database

from extractor.errors import StoreError


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def insert_sql(table: str, columns: Sequence[str], *, verb: str = "INSERT") -> str:
    """``INSERT INTO table (a, b) VALUES (?, ?)`` for these columns (``verb``: "INSERT OR IGNORE" ...).

    Column names come from the store's own row builders, never from user input.
    """
    return f"{verb} INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"


def _explain(exc: sqlite3.Error, path: Path | str) -> StoreError:
    """Turn a sqlite3 error into a message that says what to do."""
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        hint = "another collabscope process holds a write lock; wait for it or use another --db"
    elif "readonly" in text or "read-only" in text:
        hint = "the database file or its folder is read-only; check permissions or pass another --db"
    elif "disk is full" in text or "full" in text:
        hint = "the disk is full; free space and re-run (nothing half-written was kept)"
    elif "disk i/o error" in text:
        hint = ("the disk refused a write (full, over a size quota, or failing); free space or fix the disk "
                "and re-run (nothing half-written was kept)")
    elif "unable to open" in text:
        hint = "cannot open the file: check that it and its folder exist and are writable, or pass another --db"
    elif "not a database" in text or "malformed" in text:
        hint = "this file is not a collabscope database or is damaged"
    else:
        hint = "see the SQLite message"
    return StoreError(f"database {path}: {exc} ({hint})")


class StoreBase:
    """One open database: ``db`` (sqlite-utils), ``path``, and the transaction helper."""

    def __init__(self, db: Database, path: Path | str):
        self.db = db
        self.path = path

    @contextlib.contextmanager
    def write(self) -> Iterator[Self]:
        """A write transaction taken up front (BEGIN IMMEDIATE), nested ones as savepoints.

        Taking the lock at the start avoids the deadlock two deferred transactions hit when
        both try to upgrade to writers; a disk-full or read-only error rolls everything back.
        """
        conn = self.db.conn
        try:
            if conn.in_transaction:
                with self.db.atomic():
                    yield self
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise _explain(exc, self.path) from None

    @staticmethod
    def _where(terms: list[str]) -> str:
        """`` WHERE a AND b`` for the filter terms a read builds up, or nothing when there are none."""
        return " WHERE " + " AND ".join(terms) if terms else ""

    def _rows(self, sql: str, params: Iterable[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        """The rows of one read as dicts; an SQLite error becomes a :class:`StoreError` that says what to do.

        Store-internal: everything outside the store reads through a named method.
        """
        try:
            return list(self.db.query(sql, params if isinstance(params, dict) else list(params)))
        except sqlite3.Error as exc:
            raise _explain(exc, self.path) from None
