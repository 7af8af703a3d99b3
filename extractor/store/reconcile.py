"""Store methods of reconcile: the ``review_signals`` row it writes for each machine-owned record.

The row holds what reconcile saw (feature vectors, machine country and family sets,
alternative sets, calibrated P(wrong)) keyed by the extractions it came from; routing
fills in impact, priority and the audit draw later. A record a human took over keeps its
row as it was, so calibration can pair what the machine saw with what the reviewer decided.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from extractor.errors import StoreError
from extractor.store.base import StoreBase, insert_sql, utcnow

#: The columns of ``review_signals`` reconcile writes (routing owns the others).
RECONCILE_SIGNAL_COLUMNS = frozenset({
    "paper_id", "input_key", "countries", "families", "features", "model_features", "alternatives",
    "p_wrong", "p_wrong_models", "computed_at",
})


class ReconcileStore(StoreBase):
    """Reads and writes of the reconcile-time part of ``review_signals``, and whole rows for copying."""

    def put_review_signals(self, row: dict[str, Any]) -> None:
        """Insert a paper's signals row, or replace the reconcile-time columns of an existing one.

        Columns routing wrote (impact, priority, audit draw) are left as they are until the
        next routing. ``row`` must hold ``paper_id`` and only columns of
        :data:`RECONCILE_SIGNAL_COLUMNS`.
        """
        unknown = set(row) - RECONCILE_SIGNAL_COLUMNS
        if unknown or "paper_id" not in row:
            raise StoreError(f"database {self.path}: a review_signals row from reconcile needs paper_id and only "
                             f"{sorted(RECONCILE_SIGNAL_COLUMNS)}; got {sorted(unknown) or 'no paper_id'}")
        updates = ", ".join(f"{k} = excluded.{k}" for k in row if k != "paper_id")
        conflict = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
        with self.write():
            self.db.execute(f"{insert_sql('review_signals', tuple(row))} ON CONFLICT(paper_id) {conflict}",
                            list(row.values()))

    def review_signal_keys(self) -> dict[str, str]:
        """Per paper id, the key of the extractions its signals were computed from."""
        return dict(self.db.execute("SELECT paper_id, input_key FROM review_signals").fetchall())

    def review_signal_rows(self) -> list[dict[str, Any]]:
        """Every ``review_signals`` row as stored (routing's columns too), by paper id, for another store to copy."""
        return self._rows("SELECT * FROM review_signals ORDER BY paper_id")

    def copy_review_signal_rows(self, rows: Iterable[dict[str, Any]]) -> int:
        """Insert rows read by :meth:`review_signal_rows` (of this or another store), replacing a paper's row.

        Columns the table does not have are refused with :class:`StoreError` and nothing is
        written. Returns how many rows were written.
        """
        known = {r[1] for r in self.db.execute("PRAGMA table_info(review_signals)")}
        n = 0
        with self.write():
            for row in rows:
                unknown = set(row) - known
                if unknown:
                    raise StoreError(f"database {self.path}: review_signals has no column(s) {sorted(unknown)}")
                self.db.execute(insert_sql("review_signals", tuple(row), verb="INSERT OR REPLACE"), list(row.values()))
                n += 1
        return n

    # ------------------------------------------------------------------ what a reconcile must look at

    def extraction_watermark(self) -> int:
        """The newest ``extractions`` row id: read before a reconcile starts, stored when it ends."""
        return self.db.execute("SELECT coalesce(max(id), 0) FROM extractions").fetchone()[0]

    def reconciled_watermark(self) -> int | None:
        """The watermark the last complete reconcile stored (None: never, or a database from before)."""
        row = self.db.execute("SELECT value FROM review_meta WHERE key = ?", [_WATERMARK_KEY]).fetchone()
        return int(json.loads(row[0])) if row else None

    def set_reconciled_watermark(self, watermark: int) -> None:
        with self.write():
            self.db.execute("INSERT OR REPLACE INTO review_meta (key, value, updated_at) VALUES (?, ?, ?)",
                            [_WATERMARK_KEY, json.dumps(watermark), utcnow()])

    def hashes_to_reconcile(self, since: int | None) -> list[str]:
        """Documents (ingested fine) whose record may be stale, in ingest order.

        With ``since`` = the watermark of the last complete reconcile, that is documents with
        an extraction row written since (``id > since``; a replaced row gets a new, higher
        id), documents without a record, and machine-owned records whose signals row was
        computed from other extractions. Every other document's record was built
        from exactly the extractions it has now, so a batch costs O(batch), not O(database).
        With ``since`` None every document is a candidate.
        """
        if since is None:
            return [r[0] for r in self.db.execute(
                "SELECT sha256 FROM documents WHERE error IS NULL ORDER BY ingested_at, sha256")]
        return [r[0] for r in self.db.execute(
            """SELECT d.sha256 FROM documents d WHERE d.error IS NULL AND (
                   d.sha256 IN (SELECT sha256 FROM extractions WHERE id > ?)
                   OR NOT EXISTS (SELECT 1 FROM records r WHERE r.sha256 = d.sha256)
                   OR EXISTS (SELECT 1 FROM records r LEFT JOIN review_signals s ON s.paper_id = r.paper_id
                              WHERE r.sha256 = d.sha256 AND r.status IN ('machine', 'queued')
                              AND (s.input_key IS NULL OR s.input_key != r.input_key)))
               ORDER BY d.ingested_at, d.sha256""", [since])]

    def count_ingested_documents(self) -> int:
        """How many documents were ingested without error (what a full reconcile walks)."""
        return self.db.execute("SELECT count(*) FROM documents WHERE error IS NULL").fetchone()[0]

    def reconcile_state(self, sha256: str) -> tuple[str | None, str | None, str | None]:
        """(record input key, record status, signals input key) of a document's paper; None where absent."""
        row = self.db.execute(
            """SELECT r.input_key, r.status, s.input_key FROM records r
               LEFT JOIN review_signals s ON s.paper_id = r.paper_id WHERE r.sha256 = ?""", [sha256]).fetchone()
        return (row[0], row[1], row[2]) if row else (None, None, None)


#: The ``review_meta`` key of the reconcile watermark.
_WATERMARK_KEY = "reconciled_extractions_from"
