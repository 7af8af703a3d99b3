"""Store methods of confidence calibration: labelled signals for fitting, stored fits.

A fit pairs what the machine saw when it reconciled a record (its ``review_signals``
row) with what a reviewer decided (the verified record, and the machine content the
reviewer was shown, from the audit log). Fits are rows of ``calibration``; the newest
row per target is the one in use, and older ones stay as history.
"""

from __future__ import annotations

import json
from typing import Any

from extractor.store.base import StoreBase, insert_sql
from extractor.store.records import fold_machine_versions


class CalibrationStore(StoreBase):
    """Reads and writes of ``calibration``, and the label reads a fit needs."""

    def latest_calibration(self, target: str) -> dict[str, Any] | None:
        """The newest fit of ``target`` (``params`` and ``metrics`` decoded), or None before the first."""
        rows = self._rows("SELECT * FROM calibration WHERE target = ? ORDER BY id DESC LIMIT 1", [target])
        if not rows:
            return None
        row = rows[0]
        return {**row, "params": json.loads(row["params"]), "metrics": json.loads(row["metrics"] or "{}")}

    def add_calibration(self, target: str, *, fitted_at: str, n: int, params: dict[str, Any],
                        metrics: dict[str, Any]) -> int:
        """Store a fit as the newest of its target; returns its id."""
        row = {"target": target, "fitted_at": fitted_at, "n": n, "params": json.dumps(params),
               "metrics": json.dumps(metrics)}
        with self.write():
            cur = self.db.execute(insert_sql("calibration", tuple(row)), list(row.values()))
            assert cur.lastrowid is not None  # an INSERT always sets it
            return cur.lastrowid

    def reviewed_machine_contents(self) -> dict[str, str]:
        """Per record a person changed since the machine last wrote it: the content JSON they were shown.

        Walks the audit log once, oldest first: a machine create/reconcile row resets a paper,
        and the first later row carrying a ``before`` (every human save does) holds what the
        reviewer started from.
        """
        return fold_machine_versions(self.db.execute(
            "SELECT paper_id, action, actor, before FROM reviews "
            "WHERE before IS NOT NULL OR action IN ('create', 'reconcile') ORDER BY id"))

    def verified_signal_rows(self) -> list[dict[str, Any]]:
        """Every verified record with the signals reconcile stored for it, by paper id.

        Rows: ``paper_id``, ``data`` (the verified record's JSON), and from ``review_signals``
        ``features``, ``model_features``, ``countries``, ``families`` (JSON text). A verified
        record without a signals row is left out: there is nothing to pair its label with.
        """
        return self._rows(
            """SELECT r.paper_id, r.data, s.features, s.model_features, s.countries, s.families
               FROM records r JOIN review_signals s USING (paper_id)
               WHERE r.status = 'verified' ORDER BY r.paper_id""")
