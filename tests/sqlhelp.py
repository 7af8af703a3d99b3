"""Raw SQL for tests that check what is in a database file, on a connection of their own.

The store has no public raw-SQL method; a test that needs to look at (or tamper with) the
tables opens the file with :mod:`sqlite3` directly, so what it sees is what was committed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from extractor.store import Store


def _path(path_or_store: Path | str | Store) -> str:
    path = str(path_or_store.path if isinstance(path_or_store, Store) else path_or_store)
    if path == ":memory:":
        raise ValueError("an in-memory database cannot be opened a second time; use a file")
    return path


def rows(path_or_store: Path | str | Store, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
    """The rows of one read, as dicts."""
    conn = sqlite3.connect(_path(path_or_store), timeout=30)
    try:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(sql, list(params))]
    finally:
        conn.close()


def one(path_or_store: Path | str | Store, sql: str, params: Iterable[Any] = ()) -> Any:
    """The first column of the first row (``count(*)`` and the like)."""
    (row,) = rows(path_or_store, sql, params)[:1] or [{}]
    return next(iter(row.values()), None)


def execute(path_or_store: Path | str | Store, sql: str, params: Iterable[Any] = ()) -> int:
    """Run one write and commit it; returns the number of rows it changed."""
    conn = sqlite3.connect(_path(path_or_store), timeout=30)
    try:
        cur = conn.execute(sql, list(params))
        conn.commit()
        return cur.rowcount
    finally:
        conn.close()
