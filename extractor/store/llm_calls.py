"""Store methods of the llm backend: the ``llm_calls`` log, Batch API jobs, usage and cost reads.

``llm_calls`` holds one row per HTTP request (first asks, re-asks, retries, Batch API
lines) with the request, the raw response, tokens, cost and error; a row whose answer
validated carries ``parsed``, which is the answer cache. ``llm_batches`` holds one row per
Batch API job and the step it reached, so an interrupted job resumes where it stopped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from extractor.errors import NotFoundError, StoreError
from extractor.store.base import StoreBase, insert_sql, utcnow

#: The columns an ``llm_calls`` row may set (``id`` is assigned by SQLite).
LLM_CALL_COLUMNS = frozenset({
    "sha256", "purpose", "cache_key", "model", "prompt_name", "prompt_version", "prompt_hash", "schema_version",
    "request", "response", "parsed", "attempt", "error", "status_code", "duration_ms", "prompt_tokens",
    "completion_tokens", "cost_usd", "batch_id", "created_at", "run_id", "call_id", "reask",
})

#: The columns of an ``llm_batches`` row that :meth:`LLMCallStore.update_llm_batch` may change.
LLM_BATCH_MUTABLE = frozenset({
    "state", "remote_status", "jsonl_path", "input_file_id", "batch_id", "output_file_id", "error_file_id",
    "output_path", "error_path", "error",
})

#: Batch states after which a job needs nothing more.
BATCH_FINISHED = ("ingested", "failed")

_USAGE_SUMS = (
    "count(*) AS requests, sum(c.error IS NOT NULL) AS errors, sum(c.batch_id IS NOT NULL) AS batch_requests, "
    "coalesce(sum(c.prompt_tokens),0) AS prompt_tokens, coalesce(sum(c.completion_tokens),0) AS completion_tokens, "
    "round(coalesce(sum(c.cost_usd),0), 6) AS cost_usd"
)


def _run_filter(run_id: int | None) -> tuple[str, list[Any]]:
    return ("WHERE c.run_id = ?", [run_id]) if run_id is not None else ("", [])


class LLMCallStore(StoreBase):
    """Reads and writes of ``llm_calls`` and ``llm_batches``."""

    # ------------------------------------------------------------------ the call log and cache

    def add_llm_calls(self, rows: Iterable[dict[str, Any]]) -> int:
        """Append ``llm_calls`` rows in one write; returns how many were written.

        Inside a caller's transaction (the llm writer thread's batch) this is a savepoint of
        it, so the rows commit with whatever else that transaction holds. A row with a
        column the table does not have is refused with :class:`StoreError` and nothing of
        the call is written.
        """
        prepared: list[tuple[tuple[str, ...], list[Any]]] = []
        for row in rows:
            cols = tuple(row)
            unknown = set(cols) - LLM_CALL_COLUMNS
            if unknown:
                raise StoreError(f"database {self.path}: llm_calls has no column(s) {sorted(unknown)}")
            prepared.append((cols, list(row.values())))
        if not prepared:
            return 0
        with self.write():
            if len({cols for cols, _ in prepared}) == 1:
                self.db.conn.executemany(insert_sql("llm_calls", prepared[0][0]), [v for _, v in prepared])
            else:
                for cols, values in prepared:
                    self.db.execute(insert_sql("llm_calls", cols), values)
        return len(prepared)

    def cached_llm_answer(self, cache_key: str) -> str | None:
        """The latest validated answer (JSON) logged under this cache key, or None."""
        row = self.db.execute(
            "SELECT parsed FROM llm_calls WHERE cache_key = ? AND parsed IS NOT NULL ORDER BY id DESC LIMIT 1",
            [cache_key]).fetchone()
        return row[0] if row else None

    def llm_spend(self, cache_keys: Sequence[str]) -> tuple[int, int, float]:
        """Prompt tokens, completion tokens and USD of every request ever logged under these keys."""
        if not cache_keys:
            return 0, 0, 0.0
        marks = ",".join("?" for _ in cache_keys)
        pt, ct, usd = self.db.execute(
            f"SELECT coalesce(sum(prompt_tokens),0), coalesce(sum(completion_tokens),0), coalesce(sum(cost_usd),0) "
            f"FROM llm_calls WHERE cache_key IN ({marks})", list(cache_keys)).fetchone()
        return int(pt), int(ct), float(usd)

    def average_completion_tokens(self, prompt_hash: str) -> int | None:
        """Mean completion tokens of this prompt's validated answers (None before the first one)."""
        row = self.db.execute(
            "SELECT avg(completion_tokens) FROM llm_calls WHERE prompt_hash = ? AND parsed IS NOT NULL "
            "AND completion_tokens > 0", [prompt_hash]).fetchone()
        return int(row[0]) if row and row[0] else None

    # ------------------------------------------------------------------ usage and cost

    def llm_usage(self, *, run_id: int | None = None, limit: int = 20) -> dict[str, Any]:
        """Request, error, token and cost sums: in total, per run, per model and per paper.

        ``total`` also carries ``papers``, the number of documents asked about; ``papers``
        lists the ``limit`` most expensive ones. ``run_id`` limits everything to one run.
        """
        where, params = _run_filter(run_id)
        total = self._rows(f"SELECT {_USAGE_SUMS} FROM llm_calls c {where}", params)[0]
        total["papers"] = self.db.execute(f"SELECT count(DISTINCT c.sha256) FROM llm_calls c {where}", params).fetchone()[0]
        runs = self._rows(
            f"SELECT c.run_id, r.command, r.started_at, {_USAGE_SUMS} FROM llm_calls c LEFT JOIN runs r ON r.id = c.run_id "
            f"{where} GROUP BY c.run_id ORDER BY c.run_id", params)
        models = self._rows(f"SELECT c.model, {_USAGE_SUMS} FROM llm_calls c {where} GROUP BY c.model "
                            f"ORDER BY cost_usd DESC", params)
        papers = self._rows(
            f"SELECT substr(c.sha256, 1, 16) AS paper_id, d.source_file, {_USAGE_SUMS} FROM llm_calls c "
            f"LEFT JOIN documents d ON d.sha256 = c.sha256 {where} GROUP BY c.sha256 "
            f"ORDER BY cost_usd DESC, paper_id LIMIT ?", [*params, limit])
        return {"total": total, "runs": runs, "models": models, "papers": papers}

    def llm_tokens_by_model(self, *, run_id: int | None = None) -> list[dict[str, Any]]:
        """Token sums per (model, Batch API or live): what re-pricing with another table needs.

        Rows: ``model``, ``batch`` (bool), ``prompt_tokens``, ``completion_tokens``.
        """
        where, params = _run_filter(run_id)
        rows = self._rows(
            f"SELECT c.model, c.batch_id IS NOT NULL AS batch, coalesce(sum(c.prompt_tokens),0) AS prompt_tokens, "
            f"coalesce(sum(c.completion_tokens),0) AS completion_tokens FROM llm_calls c {where} "
            f"GROUP BY c.model, batch ORDER BY c.model, batch", params)
        return [{**r, "batch": bool(r["batch"])} for r in rows]

    # ------------------------------------------------------------------ Batch API jobs

    def add_llm_batch(self, *, model: str, backend_key: str, items: dict[str, Any], request_count: int,
                      run_id: int | None) -> int:
        """Record a Batch API job being prepared (state "preparing"); returns its local id.

        ``items`` maps each request's custom id to the document and question it asks
        (``{custom_id: {sha256, purpose, cache_key}}``).
        """
        now = utcnow()
        row = {"state": "preparing", "model": model, "backend_key": backend_key, "items": json.dumps(items),
               "request_count": request_count, "created_at": now, "updated_at": now, "run_id": run_id}
        with self.write():
            cur = self.db.execute(insert_sql("llm_batches", tuple(row)), list(row.values()))
            assert cur.lastrowid is not None  # an INSERT always sets it
            return cur.lastrowid

    def update_llm_batch(self, local_id: int, /, **values: Any) -> None:
        """Persist the step a job reached (state, remote ids, file paths, error) and stamp ``updated_at``.

        ``local_id`` is the row's id; ``batch_id`` among ``values`` is the API's id of the job.
        """
        unknown = set(values) - LLM_BATCH_MUTABLE
        if unknown:
            raise StoreError(f"database {self.path}: llm_batches has no settable column(s) {sorted(unknown)}")
        values["updated_at"] = utcnow()
        sets = ", ".join(f"{k} = ?" for k in values)
        with self.write():
            cur = self.db.execute(f"UPDATE llm_batches SET {sets} WHERE id = ?", [*values.values(), local_id])
            if cur.rowcount != 1:
                raise NotFoundError(f"no Batch API job with local id {local_id}")

    def llm_batch(self, local_id: int) -> dict[str, Any]:
        """One job's ``llm_batches`` row; :class:`NotFoundError` when there is none."""
        rows = self._rows("SELECT * FROM llm_batches WHERE id = ?", [local_id])
        if not rows:
            raise NotFoundError(f"no Batch API job with local id {local_id}")
        return rows[0]

    def open_llm_batches(self, model: str) -> list[dict[str, Any]]:
        """Jobs for this model that are neither ingested nor failed (to resume), oldest first."""
        return self._rows("SELECT * FROM llm_batches WHERE state NOT IN (?, ?) AND model = ? ORDER BY id",
                          [*BATCH_FINISHED, model])

