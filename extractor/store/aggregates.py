"""Store methods that aggregates, the report and export read: records a page at a time.

Aggregates must cost the same memory at a thousand records and at a million, so nothing
here returns a whole table. Records come in pages of :data:`PAGE_SIZE` in paper-id order
(keyset paging on the primary key, so a page costs the same at any depth) with only the
columns the caller asked for: the indexed columns (status, audit, venue, year, the
``,CN,US,`` countries list, the reason codes) always, and of the record JSON either
nothing, only its ``model_mentions`` (extracted by SQLite, so the rest of the JSON never
reaches Python), or all of it. Everything else is a small tally computed by SQLite.

:meth:`AggregateStore.bulk_load_records` is the one writer: it exists so benchmarks and
tests can build a large database in seconds, and nothing in the pipeline calls it.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

from extractor.store.base import StoreBase, _explain, insert_sql, utcnow
from extractor.store.records import LOG_FIELDS, _chain_hash, fold_machine_versions, record_data_hash

#: Records per page: large enough that a page's query overhead is noise, small enough
#: that a page of full record JSON is a few megabytes.
PAGE_SIZE = 2_000
#: Paper ids per ``IN (...)`` list, well under SQLite's bound-parameter limit.
_IN_CHUNK = 500

Content = Literal["columns", "models", "record"]
#: What of the record JSON a page carries, as the ``content`` column.
_CONTENT_SQL: dict[str, str] = {
    "columns": "NULL",
    "models": "json_extract(data, '$.model_mentions')",
    "record": "data",
}
_PAGE_COLUMNS = "paper_id, status, version, audit, venue, year, title, countries, reasons"
#: The order the report lists papers in: venue, year, title (case-folded as Python's
#: ``str.lower`` does, which SQLite's ``lower`` only does for ASCII), paper id.
_LISTING_ORDER = "coalesce(venue, ''), coalesce(year, 0), collabscope_lower(coalesce(title, '')), paper_id"


def _lower(text: str | None) -> str | None:
    return None if text is None else text.lower()


class AggregateStore(StoreBase):
    """Paged reads for aggregates, the report and export (and a bulk loader for benchmarks)."""

    # ------------------------------------------------------------------ consistency

    @contextlib.contextmanager
    def read_snapshot(self) -> Iterator[None]:
        """Every read inside sees the database as it was at the first one.

        A report reads the records several times (tallies, then the paper listing); in
        WAL mode one read transaction gives all of them the same snapshot while writers
        carry on. Inside a transaction already open this does nothing.
        """
        conn = self.db.conn
        if conn.in_transaction:
            yield
            return
        try:
            conn.execute("BEGIN")
        except sqlite3.Error as exc:
            raise _explain(exc, self.path) from None
        try:
            yield
        finally:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("COMMIT")

    # ------------------------------------------------------------------ tallies

    def record_status_tallies(self) -> list[dict[str, Any]]:
        """Per status, the number of records and of audit records among them.

        Rows ``{"status", "records", "audit"}`` in the order each status first appears by
        paper id, which is the order a walk over the records by paper id meets them.
        """
        return self._rows(
            "SELECT status, count(*) AS records, coalesce(sum(audit != 0), 0) AS audit FROM records "
            "GROUP BY status ORDER BY min(paper_id)"
        )

    def unrecorded_document_count(self) -> int:
        """Documents that failed ingest or never became a record (failed extraction)."""
        rows = self._rows(
            "SELECT count(*) AS n FROM documents d WHERE error IS NOT NULL "
            "OR NOT EXISTS (SELECT 1 FROM records r WHERE r.sha256 = d.sha256)"
        )
        return rows[0]["n"]

    def provenance_tallies(self) -> list[dict[str, Any]]:
        """Records per (backend, model, prompt version) of their provenance.

        Rows ``{"backend", "model", "prompt_version", "records"}``, in the order each
        combination first appears by paper id, so counters folded from them break ties
        the way a walk over the records would.
        """
        return self._rows(
            "SELECT json_extract(data, '$.provenance.backend') AS backend, "
            "json_extract(data, '$.provenance.model') AS model, "
            "json_extract(data, '$.provenance.prompt_version') AS prompt_version, count(*) AS records "
            "FROM records GROUP BY 1, 2, 3 ORDER BY min(paper_id)"
        )

    def record_reviewers(self) -> list[str]:
        """The distinct reviewers named on records (the provenance's ``reviewer``), sorted."""
        rows = self._rows("SELECT DISTINCT reviewer FROM records WHERE reviewer IS NOT NULL AND reviewer != '' "
                          "ORDER BY reviewer")
        return [r["reviewer"] for r in rows]

    # ------------------------------------------------------------------ record pages

    def record_pages(self, statuses: Iterable[str] | None = None, *, content: Content = "columns",
                     order: Literal["paper_id", "storage"] = "paper_id",
                     page_size: int = PAGE_SIZE) -> Iterator[list[dict[str, Any]]]:
        """Records ``page_size`` at a time, each page a list of dicts.

        Every row has ``paper_id, status, version, audit, venue, year, title, countries``
        (``",CN,US,"``), ``reasons`` (``",code,"``) and ``content``: ``None``
        (``"columns"``), the JSON text of the record's ``model_mentions`` (``"models"``;
        ``None`` when it has none) or the whole record JSON (``"record"``). ``statuses``
        keeps only records with one of those statuses.

        ``order="paper_id"`` pages along the primary key (exports promise that order);
        ``order="storage"`` along the table's rowid, the order the rows sit in the file,
        which reads the pages sequentially instead of one random page per record (about
        twice as fast on a database larger than the cache) for callers that only count.
        Keyset paging either way, so a page costs the same at any depth.
        """
        if content not in _CONTENT_SQL:
            raise ValueError(f"content must be one of {sorted(_CONTENT_SQL)}, not {content!r}")
        key = {"paper_id": "paper_id", "storage": "rowid"}[order]
        where, params = f"{key} > ?", []
        if statuses is not None:
            wanted = [str(s) for s in statuses]
            if not wanted:
                return
            # The unary + keeps SQLite from serving the status filter from an index: the
            # key must drive the scan so each page is a range read, not a sort.
            where += f" AND +status IN ({', '.join('?' for _ in wanted)})"
            params = wanted
        sql = (f"SELECT {_PAGE_COLUMNS}, {_CONTENT_SQL[content]} AS content, {key} AS page_key FROM records "
               f"WHERE {where} ORDER BY {key} LIMIT ?")
        after: str | int = "" if order == "paper_id" else -(2**63)
        while True:
            page = self._rows(sql, [after, *params, page_size])
            if not page:
                return
            after = page[-1]["page_key"]
            for row in page:
                del row["page_key"]
            yield page
            if len(page) < page_size:
                return

    def listing_pages(self, statuses: Iterable[str] | None = None, *, content: Content = "record",
                      page_size: int = PAGE_SIZE) -> Iterator[list[dict[str, Any]]]:
        """Records in the report's listing order, a page at a time.

        The order is venue, year, case-folded title, paper id (missing venue and title
        first, a missing year as 0). One cursor walks the sorted keys (SQLite sorts them,
        spilling to a temporary file when they do not fit its cache); each page's rows,
        as :meth:`record_pages` gives them for ``content``, are then read by primary key.
        """
        if content not in _CONTENT_SQL:
            raise ValueError(f"content must be one of {sorted(_CONTENT_SQL)}, not {content!r}")
        where, params = "", []
        if statuses is not None:
            wanted = [str(s) for s in statuses]
            if not wanted:
                return
            where, params = f"WHERE status IN ({', '.join('?' for _ in wanted)})", wanted
        conn = self.db.conn
        try:
            conn.create_function("collabscope_lower", 1, _lower, deterministic=True)
            cursor = conn.execute(f"SELECT paper_id FROM records {where} ORDER BY {_LISTING_ORDER}", params)
        except sqlite3.Error as exc:
            raise _explain(exc, self.path) from None
        try:
            while True:
                try:
                    ids = [r[0] for r in cursor.fetchmany(page_size)]
                except sqlite3.Error as exc:
                    raise _explain(exc, self.path) from None
                if not ids:
                    return
                rows: dict[str, dict[str, Any]] = {}
                for i in range(0, len(ids), _IN_CHUNK):
                    chunk = ids[i:i + _IN_CHUNK]
                    for row in self._rows(f"SELECT {_PAGE_COLUMNS}, {_CONTENT_SQL[content]} AS content FROM records "
                                          f"WHERE paper_id IN ({', '.join('?' for _ in chunk)})", chunk):
                        rows[row["paper_id"]] = row
                yield [rows[pid] for pid in ids if pid in rows]
        finally:
            cursor.close()

    def machine_versions(self, paper_ids: Iterable[str]) -> dict[str, str]:
        """The machine's content (JSON) of each of these records a person changed.

        Read from the audit log: the ``before`` of the first human change after the last
        machine write (a ``create`` or ``reconcile`` row) of the paper. Nothing else in the
        log is trusted for it; a paper nobody changed since the machine wrote it is absent
        (its record is its machine version).
        """
        ids = list(dict.fromkeys(paper_ids))
        out: dict[str, str] = {}
        for i in range(0, len(ids), _IN_CHUNK):
            chunk = ids[i:i + _IN_CHUNK]
            out.update(fold_machine_versions(self.db.execute(
                f"SELECT paper_id, action, actor, before FROM reviews WHERE paper_id IN ({', '.join('?' for _ in chunk)}) "
                "AND (before IS NOT NULL OR action IN ('create', 'reconcile')) ORDER BY paper_id, id", chunk)))
        return out

    def failed_document_rows(self, page_size: int = PAGE_SIZE) -> Iterator[dict[str, Any]]:
        """Documents with no record because ingest or every extraction failed, by source file.

        Rows ``{"sha256", "source_file", "error", "error_kind", "backend"}``: an ingest
        failure carries its own error and kind (``backend`` None); a document whose
        extractions all failed carries their errors joined (``backend: error | ...``), kind
        ``extraction`` and the backends joined with ``+``. Streamed from one cursor.
        """
        try:
            cursor = self.db.conn.execute(
                """SELECT d.sha256, d.source_file, d.error, d.error_kind, NULL AS backend FROM documents d
                   WHERE d.error IS NOT NULL
                   UNION ALL
                   SELECT d.sha256, d.source_file, group_concat(e.backend || ': ' || e.error, ' | '), 'extraction',
                          group_concat(e.backend, '+')
                   FROM documents d JOIN extractions e USING (sha256)
                   WHERE d.error IS NULL AND e.error IS NOT NULL
                     AND NOT EXISTS (SELECT 1 FROM records r WHERE r.sha256 = d.sha256)
                   GROUP BY d.sha256
                   ORDER BY 2"""
            )
        except sqlite3.Error as exc:
            raise _explain(exc, self.path) from None
        names = ("sha256", "source_file", "error", "error_kind", "backend")
        for values in self._stream_rows(cursor, page_size):
            yield dict(zip(names, values, strict=True))

    def unreviewed_p_wrong(self, page_size: int = PAGE_SIZE) -> Iterator[float | None]:
        """P(country set wrong) of every machine-owned record, in the order review reaches them.

        Machine-owned = status queued, in_review or machine (verified, rejected and failed
        records are left out). The order is the review queue's (queued and in-review
        records first, by routing priority, then P(wrong), then paper id), then the
        confident machine records in the same order. The value is routing's stored
        ``review_signals.p_wrong``, else ``1 - confidence``, else None (never scored).
        Streamed from one cursor: one float per record reaches Python.
        """
        try:
            cursor = self.db.conn.execute(
                """SELECT coalesce(s.p_wrong, 1 - r.confidence) FROM records r
                   LEFT JOIN review_signals s USING (paper_id)
                   WHERE r.status IN ('queued', 'in_review', 'machine')
                   ORDER BY r.status = 'machine', r.priority DESC, coalesce(r.confidence, 1), r.paper_id""")
        except sqlite3.Error as exc:
            raise _explain(exc, self.path) from None
        for (value,) in self._stream_rows(cursor, page_size):
            yield value

    def _stream_rows(self, cursor: sqlite3.Cursor, page_size: int) -> Iterator[tuple[Any, ...]]:
        """The cursor's rows a page at a time, so a large result never sits in memory whole;
        a database error while paging names the database, and the cursor is closed however
        the caller stops."""
        try:
            while True:
                try:
                    batch = cursor.fetchmany(page_size)
                except sqlite3.Error as exc:
                    raise _explain(exc, self.path) from None
                if not batch:
                    return
                yield from batch
        finally:
            cursor.close()

    # ------------------------------------------------------------------ bulk load (benchmarks, tests)

    #: Columns :meth:`bulk_load_records` requires of each row (the ``records`` layout).
    BULK_COLUMNS = ("paper_id", "sha256", "source_file", "venue", "year", "status", "confidence",
                    "model_confidence", "priority", "audit", "countries", "reasons", "title", "data",
                    "input_key", "reviewer", "reviewed_at", "updated_at")

    def bulk_load_records(self, rows: Iterable[Mapping[str, Any]], *, cache_mib: int = 256) -> int:
        """Insert new records in one transaction, with the audit-log rows a real history has.

        For benchmarks and tests that need a large database quickly; the pipeline never
        calls it and nothing is validated, so the caller gives rows already in the
        ``records`` layout (:data:`BULK_COLUMNS`; ``data`` the record JSON, whose
        ``version`` should be the one this method gives the row). Each record gets a
        ``create`` log row by the machine (version 1); a row with ``routed`` true a
        ``route`` row by the machine after it, as routing leaves one on nearly every record
        (version 2); a row with ``machine_content`` (the content JSON the machine had
        produced) then a human ``correct`` row by its ``reviewer`` whose ``before`` is that
        content, as a review leaves it (the last version). A row with a ``signals`` mapping
        gets that ``review_signals`` row. The log rows are hash-chained like every other.
        SQLite's page cache is raised to ``cache_mib`` for the load (random keys touch every
        index page) and restored after. Returns the number of records written.
        """
        columns = (*self.BULK_COLUMNS, "version")
        records: list[list[Any]] = []
        signals: dict[tuple[str, ...], list[list[Any]]] = {}
        log: list[dict[str, Any]] = []
        at = utcnow()
        for row in rows:
            reviewed = row.get("machine_content") is not None
            data_sha = record_data_hash(row["data"])
            machine_status = row.get("machine_status") or ("queued" if reviewed else row["status"])
            history = [("create", "machine", None, None)]
            if row.get("routed"):
                history.append(("route", "machine", None, None))
            if reviewed:
                history.append(("correct", row.get("reviewer") or "bench", row["machine_content"],
                                row.get("human_content")))
            status_before = None
            for version, (action, actor, before, after) in enumerate(history, start=1):
                last = version == len(history)
                status_after = row["status"] if last else machine_status
                log.append({"paper_id": row["paper_id"], "action": action, "actor": actor, "at": at,
                            "version_before": version - 1 or None, "version_after": version,
                            "status_before": status_before, "status_after": status_after, "before": before,
                            "after": after, "after_sha": data_sha if last else None})
                status_before = status_after
            records.append([*(row[c] for c in self.BULK_COLUMNS), len(history)])
            sig = row.get("signals")
            if sig:
                signals.setdefault(tuple(sig), []).append(list(sig.values()))
        if not records:
            return 0
        log_columns = (*LOG_FIELDS, "hash")
        previous_cache = self.db.execute("PRAGMA cache_size").fetchone()[0]
        try:
            self.db.execute(f"PRAGMA cache_size = {-1024 * int(cache_mib)}")
            with self.write():
                self.db.conn.executemany(insert_sql("records", columns), records)
                for cols, values in signals.items():
                    self.db.conn.executemany(insert_sql("review_signals", cols, verb="INSERT OR REPLACE"),
                                             values)
                prev = self._last_hash()
                chained = []
                for entry in log:
                    entry["prev_hash"] = prev
                    prev = entry["hash"] = _chain_hash(prev, entry)
                    chained.append([entry.get(c) for c in log_columns])
                self.db.conn.executemany(insert_sql("reviews", log_columns), chained)
        except sqlite3.Error as exc:
            raise _explain(exc, self.path) from None
        finally:
            self.db.execute(f"PRAGMA cache_size = {previous_cache}")
        return len(records)

    if TYPE_CHECKING:  # provided by RecordStore on the assembled Store
        def _last_hash(self) -> str: ...
