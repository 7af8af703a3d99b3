"""Store methods of ingest: which files it may skip, and the verdict it left per document.

Ingest writes ``documents`` rows through :meth:`~extractor.store.Store.add_document_rows`;
the reads here are the ones it (and whoever checks its work) needs around those writes,
without loading the page text, which is most of a row's bytes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from extractor.store.base import StoreBase, _explain

#: The ``documents`` columns that say what ingest made of a file (no page text).
OUTCOME_COLUMNS = ("sha256", "source_file", "path", "size_bytes", "page_count", "venue", "year",
                   "error_kind", "error", "run_id", "ingested_at")
#: Hashes per ``IN (...)`` list, well under SQLite's bound-parameter limit.
_IN_CHUNK = 500


class DocumentIngestStore(StoreBase):
    """Ingest-side reads of the ``documents`` table."""

    def hashes_to_skip(self, *, retry_failed: bool = False) -> set[str]:
        """The file hashes an ingest does not parse again.

        Every stored document by default, so a re-run sends nothing to the parsers. With
        ``retry_failed`` only the documents that were ingested fine: a file whose ingest
        failed (a timeout on a busy machine, a limit since raised) is parsed again, and
        its new row replaces the error row.
        """
        sql = "SELECT sha256 FROM documents" + (" WHERE error IS NULL" if retry_failed else "")
        try:
            return {r[0] for r in self.db.execute(sql)}
        except sqlite3.Error as exc:
            raise _explain(exc, self.path) from None

    def ingest_outcomes(self, hashes: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """What ingest recorded per document (:data:`OUTCOME_COLUMNS`), by source file then hash.

        The light view of ``documents``: which file each row came from, whether it failed
        and why, and which run wrote it. ``hashes`` limits it to those documents (unknown
        hashes are simply absent).
        """
        cols = ", ".join(OUTCOME_COLUMNS)
        order = " ORDER BY source_file, sha256"
        try:
            if hashes is None:
                return list(self.db.query(f"SELECT {cols} FROM documents{order}"))
            wanted = sorted(set(hashes))
            rows: list[dict[str, Any]] = []
            for i in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[i:i + _IN_CHUNK]
                marks = ", ".join("?" for _ in chunk)
                rows += self.db.query(f"SELECT {cols} FROM documents WHERE sha256 IN ({marks})", chunk)
        except sqlite3.Error as exc:
            raise _explain(exc, self.path) from None
        return sorted(rows, key=lambda r: (r["source_file"] or "", r["sha256"]))
