"""Store methods of routing and the review queue: routing pages, the audit frame, queue pages, counts.

Routing (:mod:`extractor.reconcile.routing`) reads each record with its ``review_signals``
row, writes the scores it computes back to both, and keeps its parameters and running
totals in ``review_meta``. The review queue (:mod:`extractor.review.queue`) reads records
in priority order or audit draw order, a page at a time.

Two indexes carry the orders (migration ``m007_queue_order_index``):

- ``idx_records_queue_order (status, priority DESC, coalesce(confidence, 1), paper_id)``:
  the priority order within one status, served with no sort;
- ``idx_review_signals_audit_u (audit_u, paper_id)``: the audit frame in draw order.
  ``review_signals.audit_u`` holds the paper's seeded draw while the record is in the
  audit frame (confident machine-owned records and audit records people hold) and is NULL
  otherwise, so this index *is* the frame: its first k rows are the audit sample, and
  routing finds where the sample ends without reading the frame.

Every page is found by key (keyset paging), never by OFFSET, so a page costs the same at
any depth of the queue.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from heapq import merge
from typing import TYPE_CHECKING, Any

from extractor.schemas import PaperRecord, RecordStatus
from extractor.store.base import StoreBase, utcnow
from extractor.store.records import record_data_hash

#: Statuses the machine may rewrite; the others belong to people.
MACHINE_OWNED = (RecordStatus.MACHINE.value, RecordStatus.QUEUED.value)

#: Ids per ``IN (...)`` list (well below SQLite's limit on bound parameters).
ID_CHUNK = 500


@dataclass
class QueueFilter:
    """What a reviewer narrowed the queue to; empty fields do not filter."""

    venue: str | None = None
    reason: str | None = None  # a reason code, e.g. backends_disagree
    country: str | None = None  # records whose (machine) set holds this code
    reviewer: str | None = None  # also show this reviewer's records in review; hide others'


#: One audit-frame position: the paper's draw and its id (ties in the draw go by id).
FrameKey = tuple[float, str]

# --------------------------------------------------------------------------- SQL of the queue

#: A queue row: the record's columns and its routing scores. ``k_priority`` and ``k_conf``
#: are the priority-order key (see :data:`_PRIORITY_ORDER`), ``u`` the audit-order key.
_ITEM_SQL = """SELECT r.paper_id, r.title, r.status, r.version, r.venue, r.year, r.audit, r.countries AS ccol,
                      r.reviewer, r.source_file, r.data, coalesce(s.priority, r.priority, 0) AS priority,
                      coalesce(s.p_wrong, 1 - r.confidence, 0) AS p_wrong, coalesce(s.impact, 0) AS impact,
                      coalesce(s.audit_u, 1) AS u, r.priority AS k_priority, coalesce(r.confidence, 1) AS k_conf
               FROM records r LEFT JOIN review_signals s USING (paper_id)"""

#: The audit order read from the frame index, each row's record looked up by key: the
#: first rows of the draw are found without reading the queue.
_AUDIT_SQL = _ITEM_SQL.replace("FROM records r LEFT JOIN review_signals s USING (paper_id)",
                               "FROM review_signals s CROSS JOIN records r ON r.paper_id = s.paper_id")

#: The priority order. ``records.priority`` is the priority routing wrote (the same value it
#: writes to ``review_signals``) and ``confidence`` is 1 - P(wrong), so this is "expected
#: impact, then P(wrong), then paper id" on the record's own columns: within one status
#: ``idx_records_queue_order`` serves it with no sort.
_PRIORITY_ORDER = " ORDER BY r.priority DESC, coalesce(r.confidence, 1), r.paper_id"
_AUDIT_ORDER_COLUMNS = "u, r.paper_id"

#: A record with its signals, as routing reads it (no record JSON). ``frame_u`` is the
#: stored draw of a record in the audit frame, NULL outside it.
_ROUTING_SQL = """SELECT r.paper_id, r.status, r.version, r.audit, s.paper_id IS NOT NULL AS has_signals,
                         s.features, s.model_features, s.countries, s.alternatives, s.audit_u AS frame_u
                  FROM records r LEFT JOIN review_signals s USING (paper_id)"""


def _filter_clauses(filters: QueueFilter | None, audit: bool | None) -> tuple[list[str], list[Any]]:
    """The WHERE terms of the filters other than status and reviewer, on records ``r``."""
    f = filters or QueueFilter()
    clauses: list[str] = []
    params: list[Any] = []
    if f.venue:
        clauses.append("lower(r.venue) = lower(?)")
        params.append(f.venue)
    if f.reason:
        clauses.append("r.reasons LIKE ?")
        params.append(f"%,{f.reason},%")
    if f.country:
        clauses.append("r.countries LIKE ?")
        params.append(f"%,{f.country.upper()},%")
    if audit is not None:
        clauses.append("r.audit = ?")
        params.append(int(audit))
    return clauses, params


def _sources(filters: QueueFilter | None, statuses: Iterable[str], reviewer: str | None) -> list[tuple[str, list[Any]]]:
    """One (status [and reviewer]) WHERE clause per stream that an index keeps in order."""
    f = filters or QueueFilter()
    status_list = list(dict.fromkeys(statuses))
    out = [("r.status = ?" + (" AND r.reviewer = ?" if reviewer else ""), [s, reviewer] if reviewer else [s])
           for s in status_list]
    if f.reviewer and not reviewer and RecordStatus.IN_REVIEW.value not in status_list:
        out.append(("r.status = ? AND r.reviewer = ?", [RecordStatus.IN_REVIEW.value, f.reviewer]))
    return out


def _priority_key(row: dict[str, Any]) -> tuple[float, float, str]:
    """The priority order as an ascending Python key (a NULL priority sorts last, as in SQL)."""
    p = row["k_priority"]
    return (-p if p is not None else float("inf"), row["k_conf"], row["paper_id"])


def _chunks(ids: Iterable[str]) -> Iterator[list[str]]:
    part: list[str] = []
    for pid in ids:
        part.append(pid)
        if len(part) == ID_CHUNK:
            yield part
            part = []
    if part:
        yield part


def _marks(values: Sequence[Any]) -> str:
    return ",".join("?" for _ in values)


class QueueStore(StoreBase):
    """Reads and writes of routing (``review_signals`` scores, ``review_meta``) and the queue's reads."""

    if TYPE_CHECKING:  # defined by RecordStore; the assembled Store has both
        def _append_log(self, row: dict[str, Any]) -> dict[str, Any]: ...

        @staticmethod
        def _record_row(record: PaperRecord, data_json: str) -> dict[str, Any]: ...

    # ------------------------------------------------------------------ paging

    def _keyset_pages(self, sql: str, params: list[Any], order: str, after: str,
                      key: Callable[[dict[str, Any]], list[Any]], batch: int) -> Iterator[dict[str, Any]]:
        """Rows of ``sql`` (a query ending in a WHERE clause) in ``order``, ``batch`` at a time.

        Each page starts after the last row's key (``after`` compares the ``order`` columns
        with ``key(last row)``), so a page costs the same at any depth, unlike OFFSET. A page
        is read completely before its rows are yielded, so the caller may write between rows.
        """
        rows = self._rows(f"{sql} ORDER BY {order} LIMIT ?", params + [batch])
        while True:
            yield from rows
            if len(rows) < batch:
                return
            rows = self._rows(f"{sql} AND {after} ORDER BY {order} LIMIT ?", params + key(rows[-1]) + [batch])

    def _priority_pages(self, where: str, params: list[Any], batch: int) -> Iterator[dict[str, Any]]:
        """One status's queue rows in priority order, ``batch`` at a time, each page found by key.

        A page after the first is the rest of the last row's priority group (same priority
        and confidence, larger paper id; then same priority, larger confidence) followed by
        the lower priorities and then the records without one: index range scans of
        ``idx_records_queue_order`` only, however many records tie.
        """
        rows = self._rows(_ITEM_SQL + where + _PRIORITY_ORDER + " LIMIT ?", params + [batch])
        while True:
            yield from rows
            if len(rows) < batch:
                return
            last = rows[-1]
            p, c, pid = last["k_priority"], last["k_conf"], last["paper_id"]
            same = where + " AND r.priority IS ? AND coalesce(r.confidence, 1) "
            rows = self._rows(_ITEM_SQL + same + "= ? AND r.paper_id > ? ORDER BY r.paper_id LIMIT ?",
                              params + [p, c, pid, batch])
            if len(rows) < batch:
                rows += self._rows(_ITEM_SQL + same + "> ?" + _PRIORITY_ORDER + " LIMIT ?",
                                   params + [p, c, batch - len(rows)])
            if len(rows) < batch and p is not None:  # NULL priorities come last: nothing below them
                rows += self._rows(_ITEM_SQL + where + " AND r.priority < ?" + _PRIORITY_ORDER + " LIMIT ?",
                                   params + [p, batch - len(rows)])
                if len(rows) < batch:  # ``<`` never matches NULL: they follow the lowest priority
                    rows += self._rows(_ITEM_SQL + where + " AND r.priority IS NULL" + _PRIORITY_ORDER + " LIMIT ?",
                                       params + [batch - len(rows)])

    def _audit_pages(self, terms: str, params: list[Any], batch: int) -> Iterator[dict[str, Any]]:
        """Queue rows passing ``terms`` (on ``r``) in audit draw order ``(coalesce(audit_u, 1), paper_id)``.

        Records in the audit frame come from the frame index in draw order; the others (u
        counts as 1, after every draw in [0, 1)) follow in paper-id order.
        """
        drawn = _AUDIT_SQL + " WHERE s.audit_u IS NOT NULL AND " + terms
        yield from self._keyset_pages(drawn, params, "s.audit_u, s.paper_id", "(s.audit_u, s.paper_id) > (?, ?)",
                                      lambda row: [row["u"], row["paper_id"]], batch)
        undrawn = _ITEM_SQL + " WHERE s.audit_u IS NULL AND " + terms
        yield from self._keyset_pages(undrawn, params, "r.paper_id", "r.paper_id > ?",
                                      lambda row: [row["paper_id"]], batch)

    # ------------------------------------------------------------------ queue reads

    def queue_rows(self, filters: QueueFilter | None, statuses: Iterable[str], audit: bool | None, *,
                   reviewer: str | None = None, batch: int = 200) -> Iterator[dict[str, Any]]:
        """Records with these statuses that pass the filters, in queue order, ``batch`` per read.

        ``audit`` True: only audit records, in draw (u) order; False: none; None: both, and
        both in priority order ("expected impact, then P(wrong), then paper id"). With
        ``filters.reviewer`` that reviewer's in-review records are included; ``reviewer``
        restricts every status to records that reviewer holds.

        Rows: ``paper_id``, ``title``, ``status``, ``version``, ``venue``, ``year``,
        ``audit``, ``ccol`` (the ``,CN,US,`` country column), ``reviewer``, ``source_file``,
        ``data`` (record JSON), ``priority``, ``p_wrong``, ``impact``, ``u`` (routing's
        scores) and the order keys ``k_priority``, ``k_conf``. Reading the whole queue is
        linear in its size: each status is its own index-ordered stream, merged here.
        """
        more, more_params = _filter_clauses(filters, audit)
        sources = _sources(filters, statuses, reviewer)
        if not sources:
            return
        if audit:
            terms = ["(" + " OR ".join(f"({c})" for c, _ in sources) + ")", *more]
            params = [p for _, ps in sources for p in ps] + more_params
            if reviewer:
                # One reviewer's open records: a handful, found through the records index and sorted.
                yield from self._keyset_pages(_ITEM_SQL + " WHERE " + " AND ".join(terms), params,
                                              _AUDIT_ORDER_COLUMNS, "(u, r.paper_id) > (?, ?)",
                                              lambda row: [row["u"], row["paper_id"]], batch)
            else:
                yield from self._audit_pages(" AND ".join(terms), params, batch)
            return
        streams = [self._priority_pages(" WHERE " + " AND ".join([c, *more]), ps + more_params, batch)
                   for c, ps in sources]
        yield from streams[0] if len(streams) == 1 else merge(*streams, key=_priority_key)

    def queue_count_groups(self, filters: QueueFilter | None = None) -> list[dict[str, Any]]:
        """The records passing the filters, grouped by (status, audit, reason-code column), in one pass.

        Rows: ``status``, ``audit`` (0/1), ``reasons`` (the ``,code,code,`` column), ``n``,
        and ``mass``: the summed priority (routing's signals value, else the record's) of
        the group's non-audit records waiting for review (queued or in review). No ORDER
        BY and no JSON: a grouped scan of the records.
        """
        statuses = [s.value for s in RecordStatus]
        more, more_params = _filter_clauses(filters, None)
        where = " WHERE " + " AND ".join([f"r.status IN ({_marks(statuses)})", *more])
        return self._rows(
            "SELECT r.status AS status, coalesce(r.audit, 0) != 0 AS audit, r.reasons AS reasons, count(*) AS n, "
            "sum(CASE WHEN r.status IN ('queued', 'in_review') AND NOT coalesce(r.audit, 0) THEN "
            "coalesce((SELECT s.priority FROM review_signals s WHERE s.paper_id = r.paper_id), r.priority, 0) "
            "ELSE 0 END) AS mass FROM records r" + where + " GROUP BY 1, 2, 3", statuses + more_params)

    def priority_mass(self) -> list[dict[str, Any]]:
        """Routing's priority summed per (status, audit) over the records that did not fail.

        Rows: ``status``, ``audit`` (0/1), ``mass`` (sum of ``review_signals.priority``; a
        record without signals counts 0), ``n``. What review progress is measured in.
        """
        return self._rows(
            """SELECT r.status AS status, coalesce(r.audit, 0) != 0 AS audit,
                      total(coalesce(s.priority, 0)) AS mass, count(*) AS n
               FROM records r LEFT JOIN review_signals s USING (paper_id)
               WHERE r.status != 'failed' GROUP BY 1, 2""")

    def audit_members(self) -> list[str]:
        """Paper ids of the records marked as audit items, in draw order (undrawn ones last, by id)."""
        return [r["paper_id"] for r in self._rows(
            "SELECT r.paper_id FROM records r LEFT JOIN review_signals s USING (paper_id) WHERE r.audit = 1 "
            "ORDER BY coalesce(s.audit_u, 1), r.paper_id")]

    # ------------------------------------------------------------------ routing reads

    def routing_rows(self, after_id: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """A page of every record with its signals, by paper id, starting after ``after_id``.

        Rows: ``paper_id``, ``status``, ``version``, ``audit``, ``has_signals`` (0/1), the
        signals' ``features``, ``model_features``, ``countries``, ``alternatives`` (JSON
        text, None without signals) and ``frame_u`` (the stored draw while in the audit
        frame, else None). No record JSON: a full route keeps a few numbers per record.
        """
        if after_id is None:
            return self._rows(_ROUTING_SQL + " ORDER BY r.paper_id LIMIT ?", [limit])
        return self._rows(_ROUTING_SQL + " WHERE r.paper_id > ? ORDER BY r.paper_id LIMIT ?", [after_id, limit])

    def routing_rows_for(self, paper_ids: Iterable[str]) -> list[dict[str, Any]]:
        """The :meth:`routing_rows` of these papers (those that have a record), by paper id."""
        out: list[dict[str, Any]] = []
        for part in _chunks(sorted(set(paper_ids))):
            out += self._rows(_ROUTING_SQL + f" WHERE r.paper_id IN ({_marks(part)})", part)
        return sorted(out, key=lambda r: r["paper_id"])

    def record_json_for(self, paper_ids: Iterable[str]) -> dict[str, str]:
        """The stored JSON of these papers' records (papers without a record are left out)."""
        out: dict[str, str] = {}
        for part in _chunks(paper_ids):
            out.update(self.db.execute(f"SELECT paper_id, data FROM records WHERE paper_id IN ({_marks(part)})",
                                       part).fetchall())
        return out

    def country_counts_of_signals(self) -> Counter[str]:
        """How often each country code occurs in the machine country sets of all signals rows."""
        counts: Counter[str] = Counter()
        for (countries,) in self.db.execute("SELECT countries FROM review_signals"):
            counts.update(json.loads(countries or "[]"))
        return counts

    def count_review_signals(self) -> int:
        """How many records have a signals row."""
        return self.db.execute("SELECT count(*) FROM review_signals").fetchone()[0]

    # ------------------------------------------------------------------ the audit frame

    def audit_frame_after(self, key: FrameKey | None, limit: int) -> list[FrameKey]:
        """The next ``limit`` audit-frame positions after ``key`` (from the start when None), in draw order."""
        if limit <= 0:
            return []
        if key is None:
            rows = self.db.execute("SELECT audit_u, paper_id FROM review_signals WHERE audit_u IS NOT NULL "
                                   "ORDER BY audit_u, paper_id LIMIT ?", [limit])
        else:
            rows = self.db.execute("SELECT audit_u, paper_id FROM review_signals WHERE audit_u IS NOT NULL "
                                   "AND (audit_u, paper_id) > (?, ?) ORDER BY audit_u, paper_id LIMIT ?",
                                   [key[0], key[1], limit])
        return [(u, pid) for u, pid in rows]

    def audit_frame_upto(self, key: FrameKey | None, limit: int) -> list[FrameKey]:
        """The last ``limit`` audit-frame positions at or before ``key``, latest first (none when None)."""
        if key is None or limit <= 0:
            return []
        rows = self.db.execute("SELECT audit_u, paper_id FROM review_signals WHERE audit_u IS NOT NULL "
                               "AND (audit_u, paper_id) <= (?, ?) ORDER BY audit_u DESC, paper_id DESC LIMIT ?",
                               [key[0], key[1], limit])
        return [(u, pid) for u, pid in rows]

    def audit_frame_size(self) -> int:
        """How many records are in the audit frame now (a count over the frame index)."""
        return self.db.execute("SELECT count(*) FROM review_signals WHERE audit_u IS NOT NULL").fetchone()[0]

    def set_audit_frame(self, draws: Iterable[tuple[str, float | None]]) -> None:
        """Put records into the audit frame with their draw, or take them out (None).

        Only ``audit_u`` changes: for records people hold, the rest of the signals row stays
        as it was when they took it over.
        """
        with self.write():
            self.db.conn.executemany("UPDATE review_signals SET audit_u = ? WHERE paper_id = ?",
                                [(u, pid) for pid, u in draws])

    # ------------------------------------------------------------------ routing writes

    def set_routing(self, rows: Iterable[dict[str, Any]]) -> None:
        """Store routing's scores in the signals rows of machine-owned records, in one transaction.

        Each row: ``paper_id``, ``p_wrong``, ``p_wrong_models``, ``impact``, ``priority``,
        ``frame_u`` (the draw while in the audit frame, else None), ``audit`` (in the
        sample), ``routed_at``. ``audit_drawn_at`` keeps the time a record was first drawn
        and is cleared when it leaves the sample.
        """
        with self.write():
            self.db.conn.executemany(
                """UPDATE review_signals SET p_wrong = ?, p_wrong_models = ?, impact = ?, priority = ?, audit_u = ?,
                   audit = ?, audit_drawn_at = CASE WHEN ? = 1 THEN coalesce(audit_drawn_at, ?) ELSE NULL END,
                   routed_at = ? WHERE paper_id = ?""",
                ((r["p_wrong"], r["p_wrong_models"], r["impact"], r["priority"], r["frame_u"], int(r["audit"]),
                  int(r["audit"]), r["routed_at"], r["routed_at"], r["paper_id"]) for r in rows))  # streamed

    def machine_rewrite_record(self, record: PaperRecord, action: str, expected_version: int | None = None) -> bool:
        """Replace a machine-owned record with a new version and its audit-log row, in one transaction.

        Returns False, writing nothing, when the record is gone, a person holds it now
        (status not machine or queued), or it is no longer at ``expected_version``.
        """
        with self.write():
            row = self.db.execute("SELECT version, status FROM records WHERE paper_id = ?",
                                  [record.paper_id]).fetchone()
            if row is None or row[1] not in MACHINE_OWNED:
                return False
            if expected_version is not None and row[0] != expected_version:
                return False
            new = record.model_copy(update={"version": row[0] + 1})
            data = new.model_dump_json(exclude_none=True)
            out = self._record_row(new, data)
            sets = ", ".join(f"{k} = ?" for k in out if k != "paper_id")
            self.db.execute(f"UPDATE records SET {sets} WHERE paper_id = ? AND version = ?",
                            [v for k, v in out.items() if k != "paper_id"] + [record.paper_id, row[0]])
            self._append_log({"paper_id": record.paper_id, "action": action, "actor": "machine",
                              "version_before": row[0], "version_after": new.version, "status_before": row[1],
                              "status_after": new.status.value, "after_sha": record_data_hash(data)})
            return True

    # ------------------------------------------------------------------ routing state

    def review_meta(self) -> dict[str, Any]:
        """Routing's stored parameters and running totals (``review_meta``), values decoded."""
        return {k: json.loads(v) for k, v in self.db.execute("SELECT key, value FROM review_meta")}

    def set_review_meta(self, values: dict[str, Any]) -> None:
        """Set routing parameters and totals (JSON-encoded values), in one transaction."""
        now = utcnow()
        with self.write():
            self.db.conn.executemany("INSERT OR REPLACE INTO review_meta (key, value, updated_at) VALUES (?,?,?)",
                                [(k, json.dumps(v), now) for k, v in values.items()])

    def last_log_id(self) -> int:
        """The id of the newest audit-log row (0 on an empty log)."""
        return self.db.execute("SELECT coalesce(max(id), 0) FROM reviews").fetchone()[0]

    def count_log_entries_after(self, log_id: int, *, actor: str, actions: Iterable[str]) -> int:
        """How many audit-log rows newer than ``log_id`` this actor wrote with one of these actions."""
        acts = list(actions)
        return self.db.execute(
            f"SELECT count(*) FROM reviews WHERE id > ? AND actor = ? AND action IN ({','.join('?' for _ in acts)})",
            [log_id, actor, *acts]).fetchone()[0]

    def only_log_entries_after(self, log_id: int, *, actor: str, action: str) -> bool:
        """True when every audit-log row newer than ``log_id`` is this actor's ``action`` (or there is none)."""
        return not self.db.execute(
            "SELECT EXISTS (SELECT 1 FROM reviews WHERE id > ? AND NOT (actor = ? AND action = ?))",
            [log_id, actor, action]).fetchone()[0]

    def log_entries_after(self, log_id: int) -> list[dict[str, Any]]:
        """Audit-log rows newer than ``log_id``, oldest first: ``id``, ``paper_id``, ``actor``, ``action``.

        Every change to a record appends a row, so these name every record changed since
        the log stood at ``log_id`` (a primary-key range: the cost is the number of changes).
        """
        return self._rows("SELECT id, paper_id, actor, action FROM reviews WHERE id > ? ORDER BY id", [log_id])
