"""Records and their audit log: one reconciled record per paper, every change a hash-chained log row.

Records are keyed by paper id. Every change to a record appends a row to the ``reviews``
log in the same transaction, each row carrying the hash of the one before it, so an edit
or a deletion behind the store's back shows up in :meth:`RecordStore.verify_log`. Human
edits go through optimistic locking on the record version: two reviewers never overwrite
each other silently, and a machine refresh never overwrites a human decision.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any

from extractor.errors import ConflictError, NotFoundError
from extractor.schemas import PaperRecord, RecordStatus
from extractor.store.base import StoreBase, insert_sql, utcnow

GENESIS_HASH = "0" * 64

#: The audit-log columns covered by the hash chain (everything but id and hash itself).
LOG_FIELDS = (
    "paper_id", "action", "actor", "at", "version_before", "version_after", "status_before",
    "status_after", "before", "after", "after_sha", "note", "prev_hash",
)


def _chain_hash(prev_hash: str, row: dict[str, Any]) -> str:
    body = json.dumps({k: row.get(k) for k in LOG_FIELDS}, sort_keys=True)
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def record_data_hash(data_json: str) -> str:
    """The hash of a record's stored JSON that the log keeps as ``after_sha``."""
    return hashlib.sha256(data_json.encode()).hexdigest()



def fold_machine_versions(rows: Iterable[tuple[str, str, str, str | None]]) -> dict[str, str]:
    """Per paper, the content JSON a person was shown: from audit rows (paper_id, action, actor, before).

    ``rows`` run oldest first per paper: a machine create/reconcile row resets the paper, and
    the first later row carrying a ``before`` (every human save does) holds what the person
    started from. Papers nobody changed since the machine wrote them are absent.
    """
    found: dict[str, str | None] = {}
    for paper_id, action, actor, before in rows:
        if action in ("create", "reconcile") and actor == "machine":
            found[paper_id] = None
        elif found.get(paper_id) is None and before:
            found[paper_id] = before
    return {pid: text for pid, text in found.items() if text}

class RecordStore(StoreBase):
    """Reads and writes of ``records`` and the ``reviews`` audit log."""

    def _last_hash(self) -> str:
        """The hash the next log row chains to (the genesis hash on an empty log)."""
        row = self.db.execute("SELECT hash FROM reviews ORDER BY id DESC LIMIT 1").fetchone()
        return row[0] if row else GENESIS_HASH

    def _append_log(self, row: dict[str, Any]) -> dict[str, Any]:
        """Append one audit-log row chained to the last one; call inside the write that changes the record."""
        row = {"at": utcnow(), **row}
        row["prev_hash"] = self._last_hash()
        row["hash"] = _chain_hash(row["prev_hash"], row)
        cur = self.db.execute(insert_sql("reviews", tuple(row)), list(row.values()))
        row["id"] = cur.lastrowid
        return row

    @staticmethod
    def _record_row(record: PaperRecord, data_json: str) -> dict[str, Any]:
        """A record as its ``records`` row: the JSON plus the columns queues and filters read."""
        countries = record.countries()
        return {
            "paper_id": record.paper_id,
            "sha256": record.sha256,
            "source_file": record.source_file,
            "venue": record.venue,
            "year": record.year,
            "status": record.status.value,
            "version": record.version,
            "confidence": record.confidence,
            "model_confidence": record.model_confidence,
            "priority": record.priority,
            "audit": int(record.audit),
            "countries": "," + ",".join(countries) + "," if countries else ",",
            "reasons": "," + ",".join(r.code for r in record.review_reasons) + "," if record.review_reasons else ",",
            "title": record.title,
            "data": data_json,
            "reviewer": record.provenance.reviewer,
            "reviewed_at": record.provenance.reviewed_at,
            "updated_at": utcnow(),
        }

    def put_machine_record(self, record: PaperRecord, input_key: str) -> str:
        """Create or refresh a machine record. Human-touched records are never overwritten.

        Returns "created", "updated", "kept-human" or "unchanged".
        """
        with self.write():
            existing = self.db.execute(
                "SELECT paper_id, version, status, input_key FROM records WHERE paper_id = ?", [record.paper_id]
            ).fetchone()
            if existing and existing[3] == input_key:
                return "unchanged"
            if existing and existing[2] in (RecordStatus.VERIFIED, RecordStatus.REJECTED, RecordStatus.IN_REVIEW):
                self.db.execute("UPDATE records SET input_key = ? WHERE paper_id = ?", [input_key, record.paper_id])
                return "kept-human"
            record = record.model_copy(update={"version": (existing[1] + 1) if existing else 1})
            data = record.model_dump_json(exclude_none=True)
            row = self._record_row(record, data)
            row["input_key"] = input_key
            self.db.execute(insert_sql("records", tuple(row), verb="INSERT OR REPLACE"), list(row.values()))
            self._append_log(
                {
                    "paper_id": record.paper_id,
                    "action": "reconcile" if existing else "create",
                    "actor": "machine",
                    "version_before": existing[1] if existing else None,
                    "version_after": record.version,
                    "status_before": existing[2] if existing else None,
                    "status_after": record.status.value,
                    "after_sha": record_data_hash(data),
                }
            )
            return "updated" if existing else "created"

    def record_statuses(self) -> dict[str, str]:
        """Per paper id, the record's status."""
        return dict(self.db.execute("SELECT paper_id, status FROM records").fetchall())

    def count_records(self, status: str | None = None) -> int:
        """How many records there are (with this status, when given)."""
        if status is None:
            return self.db.execute("SELECT count(*) FROM records").fetchone()[0]
        return self.db.execute("SELECT count(*) FROM records WHERE status = ?", [str(status)]).fetchone()[0]

    def get_record(self, paper_id: str) -> PaperRecord:
        """The record of a paper; :class:`NotFoundError` when there is none."""
        row = self.db.execute("SELECT data FROM records WHERE paper_id = ?", [paper_id]).fetchone()
        if not row:
            raise NotFoundError(f"no record with paper id {paper_id}")
        return PaperRecord.model_validate_json(row[0])

    def iter_records(self, statuses: Iterable[str] | None = None, *, order: str = "paper_id") -> Iterator[PaperRecord]:
        """Every record (of these statuses), by paper id or by priority (highest first)."""
        order_sql = {"paper_id": "paper_id", "priority": "priority DESC, paper_id"}[order]
        if statuses is None:
            cur = self.db.execute(f"SELECT data FROM records ORDER BY {order_sql}")
        else:
            statuses = [str(s) for s in statuses]
            marks = ",".join("?" for _ in statuses)
            cur = self.db.execute(f"SELECT data FROM records WHERE status IN ({marks}) ORDER BY {order_sql}", statuses)
        for (data,) in cur:
            yield PaperRecord.model_validate_json(data)

    def save_record(
        self,
        record: PaperRecord,
        *,
        expected_version: int,
        action: str,
        actor: str,
        note: str | None = None,
    ) -> PaperRecord:
        """Write a human change if the record is still at ``expected_version``.

        Raises :class:`ConflictError` when someone else changed it first; nothing is
        overwritten. The audit log row (who, when, before, after) is written in the same
        transaction, so a saved review can never lack its log entry or the reverse.
        """
        with self.write():
            row = self.db.execute(
                "SELECT version, status, data FROM records WHERE paper_id = ?", [record.paper_id]
            ).fetchone()
            if not row:
                raise NotFoundError(f"no record with paper id {record.paper_id}")
            version, status_before, before_json = row
            if version != expected_version:
                raise ConflictError(record.paper_id, expected_version, version)
            new = record.model_copy(update={"version": version + 1})
            data = new.model_dump_json(exclude_none=True)
            out_row = self._record_row(new, data)
            sets = ", ".join(f"{k} = ?" for k in out_row if k != "paper_id")
            cur = self.db.execute(
                f"UPDATE records SET {sets} WHERE paper_id = ? AND version = ?",
                [v for k, v in out_row.items() if k != "paper_id"] + [record.paper_id, version],
            )
            if cur.rowcount != 1:  # pragma: no cover - guarded by the lock above
                raise ConflictError(record.paper_id, expected_version, version + 1)
            before = PaperRecord.model_validate_json(before_json)
            self._append_log(
                {
                    "paper_id": record.paper_id,
                    "action": action,
                    "actor": actor,
                    "version_before": version,
                    "version_after": new.version,
                    "status_before": status_before,
                    "status_after": new.status.value,
                    "before": before.content().model_dump_json(exclude_none=True),
                    "after": new.content().model_dump_json(exclude_none=True),
                    "after_sha": record_data_hash(data),
                    "note": note,
                }
            )
            return new

    def log_event(self, paper_id: str, action: str, actor: str, note: str | None = None) -> None:
        """Append a log row for an action that does not change the record (skip, view)."""
        with self.write():
            row = self.db.execute("SELECT version, status FROM records WHERE paper_id = ?", [paper_id]).fetchone()
            if not row:
                raise NotFoundError(f"no record with paper id {paper_id}")
            self._append_log(
                {
                    "paper_id": paper_id,
                    "action": action,
                    "actor": actor,
                    "version_before": row[0],
                    "version_after": row[0],
                    "status_before": row[1],
                    "status_after": row[1],
                    "note": note,
                }
            )

    def history(self, paper_id: str) -> list[dict[str, Any]]:
        """A paper's audit-log rows, oldest first."""
        return self._rows("SELECT * FROM reviews WHERE paper_id = ? ORDER BY id", [paper_id])

    def verify_log(self, anchor: str | None = None) -> list[str]:
        """Re-walk the hash chain and check it against the records; returns problems found.

        Also checks that each record's status column matches its last log entry (exports
        filter on it), that no logged record has vanished, and that the triggers keeping the
        log append-only are in place. ``anchor`` is a head hash printed by an earlier
        ``collabscope audit verify``: the log must still contain it, which is how a truncated
        tail (undetectable by the chain alone) shows up.
        """
        problems: list[str] = []
        prev = GENESIS_HASH
        last_by_paper: dict[str, dict[str, Any]] = {}
        anchor_found = anchor is None
        for row in self.db.query("SELECT * FROM reviews ORDER BY id"):
            if row["prev_hash"] != prev:
                problems.append(f"log row {row['id']}: chain broken (prev_hash does not match row before)")
            if _chain_hash(row["prev_hash"], row) != row["hash"]:
                problems.append(f"log row {row['id']}: contents do not match its hash (edited?)")
            prev = row["hash"]
            anchor_found = anchor_found or row["hash"] == anchor
            if row["version_after"] != row["version_before"]:
                last_by_paper[row["paper_id"]] = row
        if not anchor_found:
            problems.append(f"log: the anchor hash {anchor} is no longer in the log (truncated or rewritten)")
        seen: set[str] = set()
        for paper_id, version, status, data in self.db.execute("SELECT paper_id, version, status, data FROM records"):
            seen.add(paper_id)
            last = last_by_paper.get(paper_id)
            if last is None:
                problems.append(f"record {paper_id}: no log entry")
            elif last["version_after"] != version:
                problems.append(f"record {paper_id}: version {version} but log ends at {last['version_after']}")
            elif last["after_sha"] and last["after_sha"] != record_data_hash(data):
                problems.append(f"record {paper_id}: data differs from what the log recorded")
            elif last["status_after"] and last["status_after"] != status:
                problems.append(f"record {paper_id}: status {status} but the log says {last['status_after']}")
        for paper_id in sorted(set(last_by_paper) - seen):
            problems.append(f"record {paper_id}: in the log but missing from the records table (deleted?)")
        triggers = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'reviews'")}
        for name in ("reviews_no_update", "reviews_no_delete"):
            if name not in triggers:
                problems.append(f"log: trigger {name} is missing, so the log is no longer append-only")
        return problems

    def log_head(self) -> tuple[int, str]:
        """(number of log rows, hash of the last one): an anchor to note down or publish."""
        row = self.db.execute("SELECT count(*), (SELECT hash FROM reviews ORDER BY id DESC LIMIT 1) FROM reviews").fetchone()
        return row[0], row[1] or GENESIS_HASH


    def log_rows(self, *, actor: str | None = None, actions: Iterable[str] | None = None, paper_id: str | None = None,
                 human_only: bool = False, newest_first: bool = False, limit: int | None = None,
                 with_content: bool = False) -> list[dict[str, Any]]:
        """Audit-log rows filtered by who, what and which paper (for undo, throughput, agreement)."""
        cols = "*" if with_content else (
            "id, paper_id, action, actor, at, version_before, version_after, status_before, status_after, note")
        where: list[str] = []
        params: list[Any] = []
        if actor is not None:
            where.append("actor = ?")
            params.append(actor)
        if actions is not None:
            actions = list(actions)
            where.append(f"action IN ({','.join('?' for _ in actions)})")
            params.extend(actions)
        if paper_id is not None:
            where.append("paper_id = ?")
            params.append(paper_id)
        if human_only:
            where.append("actor != 'machine' AND actor NOT LIKE 'system:%'")
        sql = f"SELECT {cols} FROM reviews" + self._where(where)
        sql += " ORDER BY id DESC" if newest_first else " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return self._rows(sql, params)

    def machine_contents(self) -> dict[str, str]:
        """Per paper a person touched: the content JSON just before the first human action.

        That is the machine's answer the person started from; comparing it with the final
        record measures machine-vs-human agreement.
        """
        rows = self.db.execute(
            """SELECT paper_id, before FROM reviews WHERE id IN (
                   SELECT min(id) FROM reviews WHERE actor != 'machine' AND actor NOT LIKE 'system:%'
                   AND before IS NOT NULL GROUP BY paper_id)"""
        )
        return {paper_id: before for paper_id, before in rows}

    def record_facets(self) -> dict[str, Any]:
        """Distinct venues, years, statuses, reason codes and countries of the records, with
        counts, plus the people in the log: the options of the review queue's filters."""
        venues: dict[str, int] = {}
        years: dict[int, int] = {}
        statuses: dict[str, int] = {}
        reasons: dict[str, int] = {}
        countries: dict[str, int] = {}
        for venue, year, status, reason_s, country_s in self.db.execute(
            "SELECT venue, year, status, reasons, countries FROM records"
        ):
            if venue:
                venues[venue] = venues.get(venue, 0) + 1
            if year:
                years[year] = years.get(year, 0) + 1
            statuses[status] = statuses.get(status, 0) + 1
            for code in (reason_s or "").strip(",").split(","):
                if code:
                    reasons[code] = reasons.get(code, 0) + 1
            for code in (country_s or "").strip(",").split(","):
                if code:
                    countries[code] = countries.get(code, 0) + 1
        reviewers = [r[0] for r in self.db.execute(
            "SELECT DISTINCT actor FROM reviews WHERE actor != 'machine' AND actor NOT LIKE 'system:%' ORDER BY actor")]
        return {"venues": venues, "years": years, "statuses": statuses, "reasons": reasons,
                "countries": countries, "reviewers": reviewers}

