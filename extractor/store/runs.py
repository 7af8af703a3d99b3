"""Runs and the status summary: what was run, when, by which process, and what the database holds now.

Every command that changes the database is a ``runs`` row (started, finished, counts);
a run whose process died without closing its row is marked "interrupted" by the next one.
"""

from __future__ import annotations

import json
import os
import socket
from typing import Any

from extractor.store.base import StoreBase, utcnow


class RunStore(StoreBase):
    """Reads and writes of ``runs``, and the cross-table counts of ``status``."""

    def start_run(self, command: str, args: dict[str, Any]) -> int:
        """Record a command that starts now (pid and host, to tell a killed run later); returns its id."""
        with self.write():
            self._close_dead_runs()
            cur = self.db.execute(
                "INSERT INTO runs (command, args, started_at, status, pid, host) VALUES (?,?,?,?,?,?)",
                [command, json.dumps(args, default=str), utcnow(), "running", os.getpid(), socket.gethostname()],
            )
            assert cur.lastrowid is not None  # an INSERT always sets it
            return cur.lastrowid

    def _close_dead_runs(self) -> None:
        """Mark "running" runs whose process on this host is gone (killed) as "interrupted"."""
        host = socket.gethostname()
        for run_id, pid in self.db.execute(
            "SELECT id, pid FROM runs WHERE status = 'running' AND host = ?", [host]
        ).fetchall():
            try:
                os.kill(pid, 0)
                continue  # still alive (or the pid was reused: leave it)
            except ProcessLookupError:
                pass
            except (PermissionError, OverflowError, TypeError):
                continue
            self.db.execute("UPDATE runs SET status = 'interrupted', finished_at = ? WHERE id = ?", [utcnow(), run_id])

    def finish_run(self, run_id: int, status: str, counts: dict[str, Any]) -> None:
        """Close a run with its status (ok, partial, failed, interrupted) and its summary counts."""
        with self.write():
            self.db.execute(
                "UPDATE runs SET finished_at = ?, status = ?, counts = ? WHERE id = ?",
                [utcnow(), status, json.dumps(counts, default=str), run_id],
            )

    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        """The newest ``limit`` runs, newest first."""
        return self._rows("SELECT * FROM runs ORDER BY id DESC LIMIT ?", [limit])

    def status_counts(self) -> dict[str, Any]:
        """What ``collabscope status`` prints: documents, extractions, records by status, LLM calls and cost."""
        one = lambda sql: self.db.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "documents": one("SELECT count(*) FROM documents"),
            "failed_documents": one("SELECT count(*) FROM documents WHERE error IS NOT NULL"),
            "extractions": dict(self.db.execute("SELECT backend, count(*) FROM extractions WHERE error IS NULL GROUP BY backend").fetchall()),
            "extraction_failures": one("SELECT count(*) FROM extractions WHERE error IS NOT NULL"),
            "records": dict(self.db.execute("SELECT status, count(*) FROM records GROUP BY status").fetchall()),
            "llm_calls": one("SELECT count(*) FROM llm_calls"),
            "llm_cost_usd": one("SELECT coalesce(sum(cost_usd), 0) FROM llm_calls"),
        }
