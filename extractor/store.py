"""The SQLite store: the single source of truth, through sqlite-utils.

One file (WAL mode, so readers never block the writer), migrations applied on open.
Documents are keyed by the SHA-256 of the file bytes, extractions by (document, backend,
cache key), records by paper id. Every change to a record appends a row to the hash-
chained ``reviews`` log in the same transaction, and human edits go through optimistic
locking on the record version: two reviewers never overwrite each other silently.

The rest of the library and the review UI call these functions; nobody else writes SQL
against the records.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from . import migrations
from .errors import ConflictError, NotFoundError, StoreError
from .schemas import (
    Document,
    ExtractionMeta,
    FrontMatter,
    Line,
    PaperExtraction,
    PaperRecord,
    RecordStatus,
    Span,
)

GENESIS_HASH = "0" * 64

#: How long :meth:`Store.open` keeps retrying a database another process has locked.
OPEN_RETRY_SECONDS = 30.0


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


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


# --------------------------------------------------------------------------- front codec


def encode_front(front: FrontMatter) -> str:
    """Compact JSON for page-1 layout: arrays instead of objects keep the table small."""
    data = front.model_dump(exclude={"lines", "spans"})
    rows = []
    for ln in front.lines:
        a, b, c, d = ln.bbox
        rows.append([ln.text, round(a, 2), round(b, 2), round(c, 2), round(d, 2), round(ln.size, 2), int(ln.bold),
                     ln.block, ln.start, ln.end])
    data["lines"] = rows
    rows = []
    for s in front.spans:
        a, b, c, d = s.bbox
        rows.append([s.text, round(a, 2), round(b, 2), round(c, 2), round(d, 2), round(s.size, 2), s.flags, s.font,
                     int(s.sup), s.line, s.start, s.end])
    data["spans"] = rows
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def document_row(doc: Document) -> dict[str, Any]:
    """A document as its ``documents`` row (page 1 encoded), without ``run_id``.

    Ingest's parser processes call this, so the writing process receives plain strings
    and numbers to insert (:meth:`Store.add_document_rows`) instead of a model to encode.
    """
    return {
        "sha256": doc.sha256,
        "source_file": doc.source_file,
        "path": doc.path,
        "size_bytes": doc.size_bytes,
        "page_count": doc.page_count,
        "venue": doc.venue,
        "year": doc.year,
        "title": doc.front.title if doc.front else None,
        "front": encode_front(doc.front) if doc.front else None,
        "full_text": doc.full_text,
        "error": doc.error,
        "error_kind": doc.error_kind,
        "ingested_at": doc.ingested_at or utcnow(),
    }


def decode_front(text: str) -> FrontMatter:
    data = json.loads(text)
    data["lines"] = [
        Line(text=t, bbox=(a, b, c, d), size=sz, bold=bool(bo), block=bl, start=st, end=en)
        for t, a, b, c, d, sz, bo, bl, st, en in data["lines"]
    ]
    data["spans"] = [
        Span(text=t, bbox=(a, b, c, d), size=sz, flags=fl, font=fo, sup=bool(su), line=li, start=st, end=en)
        for t, a, b, c, d, sz, fl, fo, su, li, st, en in data["spans"]
    ]
    return FrontMatter.model_validate(data)


#: The audit-log columns covered by the hash chain (everything but id and hash itself).
LOG_FIELDS = (
    "paper_id", "action", "actor", "at", "version_before", "version_after", "status_before",
    "status_after", "before", "after", "after_sha", "note", "prev_hash",
)


def _chain_hash(prev_hash: str, row: dict[str, Any]) -> str:
    body = json.dumps({k: row.get(k) for k in LOG_FIELDS}, sort_keys=True)
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def record_data_hash(data_json: str) -> str:
    return hashlib.sha256(data_json.encode()).hexdigest()


class Store:
    """A collabscope database. Open with :meth:`open`; close when done (or use ``with``)."""

    def __init__(self, db: Database, path: Path | str):
        self.db = db
        self.path = path

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def open(cls, path: Path | str, *, create: bool = True, readonly: bool = False) -> Store:
        """Open (and create/migrate) a database file, in WAL mode with a busy timeout."""
        path = Path(path) if str(path) != ":memory:" else path
        if isinstance(path, Path):
            if not path.exists() and not create:
                raise StoreError(f"database {path} does not exist; run `collabscope ingest` or pass --db")
            if path.parent and not path.parent.exists():
                raise StoreError(f"database folder {path.parent} does not exist")
        # Opening races another process that is creating, switching to WAL or migrating the
        # same file; SQLite answers some of those moments with SQLITE_BUSY *without* calling
        # the busy handler (e.g. while a WAL index is being rebuilt), so retry the whole
        # open for as long as the busy timeout would have waited.
        deadline = time.monotonic() + OPEN_RETRY_SECONDS
        delay = 0.02
        while True:
            try:
                return cls._open_once(path, readonly=readonly)
            except sqlite3.OperationalError as exc:
                text = str(exc).lower()
                if ("locked" in text or "busy" in text) and time.monotonic() < deadline:
                    time.sleep(delay)
                    delay = min(delay * 2, 0.5)
                    continue
                raise _explain(exc, path) from None
            except sqlite3.Error as exc:
                raise _explain(exc, path) from None

    @classmethod
    def _open_once(cls, path: Path | str, *, readonly: bool) -> Store:
        if readonly and isinstance(path, Path):
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        else:
            conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
        try:
            db = Database(conn)
            db.execute("PRAGMA busy_timeout = 30000")
            if not readonly and str(path) != ":memory:":
                mode = db.execute("PRAGMA journal_mode").fetchone()[0]
                if mode != "wal":
                    db.execute("PRAGMA journal_mode = wal")
            db.execute("PRAGMA synchronous = NORMAL")
            store = cls(db, path)
            if not readonly:
                store._migrate()
            return store
        except BaseException:
            conn.close()
            raise

    def _migrate(self) -> None:
        if not migrations.migrations.pending(self.db):
            return
        # Two processes opening a fresh file at once: serialise on a write lock, re-check.
        self.db.execute("BEGIN IMMEDIATE")
        try:
            migrations.apply(self.db)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.rollback()
            raise

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def write(self) -> Iterator[Store]:
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

    def query(self, sql: str, params: Iterable[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        try:
            return list(self.db.query(sql, params))
        except sqlite3.Error as exc:
            raise _explain(exc, self.path) from None

    def integrity_check(self) -> str:
        return self.db.execute("PRAGMA integrity_check").fetchone()[0]

    def applied_migrations(self) -> list[str]:
        return migrations.applied(self.db)

    # ------------------------------------------------------------------ runs

    def start_run(self, command: str, args: dict[str, Any]) -> int:
        with self.write():
            self._close_dead_runs()
            cur = self.db.execute(
                "INSERT INTO runs (command, args, started_at, status, pid, host) VALUES (?,?,?,?,?,?)",
                [command, json.dumps(args, default=str), utcnow(), "running", os.getpid(), socket.gethostname()],
            )
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
        with self.write():
            self.db.execute(
                "UPDATE runs SET finished_at = ?, status = ?, counts = ? WHERE id = ?",
                [utcnow(), status, json.dumps(counts, default=str), run_id],
            )

    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        return self.query("SELECT * FROM runs ORDER BY id DESC LIMIT ?", [limit])

    # ------------------------------------------------------------------ documents

    def known_hashes(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT sha256 FROM documents")}

    def failed_hashes(self) -> set[str]:
        """Documents whose ingest failed (timeout, crash, too large ...): ``--retry-failed`` parses them again."""
        return {r[0] for r in self.db.execute("SELECT sha256 FROM documents WHERE error IS NOT NULL")}

    def add_document(self, doc: Document, run_id: int | None = None) -> bool:
        """Insert a document unless its hash is known; True when it was new."""
        return self.add_document_rows([document_row(doc)], run_id=run_id)[0]

    def document_rows(self) -> list[dict[str, Any]]:
        """Every ``documents`` row as stored (page 1 already encoded), for another store to copy."""
        return self.query("SELECT * FROM documents ORDER BY ingested_at, sha256")

    def add_document_rows(self, rows: Iterable[dict[str, Any]], run_id: int | None = None, *,
                          replace_failed: bool = False) -> list[bool]:
        """Insert encoded ``documents`` rows (:func:`document_row`, :meth:`document_rows`) in one transaction.

        Ingest's parser processes and distributed ingest's workers encode the rows, and the
        one writing process inserts a batch at a time, so nothing is decoded and re-encoded
        where the single writer is the bottleneck. A known hash is skipped, as in
        :meth:`add_document`. Returns, per row, whether it was new. With ``replace_failed``
        a row replaces a stored *failed* row of the same hash (a retried parse); a document
        that was ingested fine is never replaced.
        """
        known = self._document_columns()
        out: list[bool] = []
        statements: dict[tuple[str, ...], str] = {}
        with self.write():
            for row in rows:
                row = {**row, "run_id": run_id}
                cols = tuple(row)
                sql = statements.get(cols)
                if sql is None:
                    unknown = set(cols) - known
                    if unknown:
                        raise StoreError(f"database {self.path}: documents has no column(s) {sorted(unknown)}; "
                                         "the sending store runs another collabscope version")
                    sql = statements[cols] = (f"INSERT OR IGNORE INTO documents ({', '.join(cols)}) "
                                              f"VALUES ({', '.join('?' for _ in cols)})")
                if replace_failed:
                    self.db.execute("DELETE FROM documents WHERE sha256 = ? AND error IS NOT NULL", [row["sha256"]])
                cur = self.db.execute(sql, list(row.values()))
                out.append(cur.rowcount == 1)
        return out

    def _document_columns(self) -> set[str]:
        return {r[1] for r in self.db.execute("PRAGMA table_info(documents)")}

    def get_document(self, sha256: str, *, with_full_text: bool = True) -> Document:
        cols = "*" if with_full_text else "sha256, source_file, path, size_bytes, page_count, venue, year, front, error, error_kind, ingested_at"
        rows = self.query(f"SELECT {cols} FROM documents WHERE sha256 = ?", [sha256])
        if not rows:
            raise NotFoundError(f"no document with sha256 {sha256}")
        return self._doc_from_row(rows[0])

    @staticmethod
    def _doc_from_row(row: dict[str, Any]) -> Document:
        front = decode_front(row["front"]) if row.get("front") else None
        return Document(
            sha256=row["sha256"],
            source_file=row["source_file"],
            path=row.get("path"),
            size_bytes=row.get("size_bytes") or 0,
            page_count=row.get("page_count") or 0,
            venue=row.get("venue"),
            year=row.get("year"),
            front=front,
            full_text=row.get("full_text"),
            error=row.get("error"),
            error_kind=row.get("error_kind"),
            ingested_at=row.get("ingested_at"),
        )

    def iter_documents(self, *, ok_only: bool = True, hashes: Iterable[str] | None = None) -> Iterator[Document]:
        where = "WHERE error IS NULL" if ok_only else ""
        wanted = set(hashes) if hashes is not None else None
        for row in self.db.query(f"SELECT * FROM documents {where} ORDER BY ingested_at, sha256"):
            if wanted is None or row["sha256"] in wanted:
                yield self._doc_from_row(row)

    def failed_documents(self) -> list[dict[str, Any]]:
        return self.query(
            "SELECT sha256, source_file, path, error_kind, error FROM documents WHERE error IS NOT NULL ORDER BY source_file"
        )

    def hashes_needing_extraction(self, backend: str, cache_key: str) -> list[str]:
        """Documents without a successful extraction for this backend and cache key."""
        rows = self.db.execute(
            """SELECT sha256 FROM documents d WHERE error IS NULL AND NOT EXISTS (
                   SELECT 1 FROM extractions e WHERE e.sha256 = d.sha256 AND e.backend = ?
                   AND e.cache_key = ? AND e.error IS NULL)
               ORDER BY ingested_at, sha256""",
            [backend, cache_key],
        )
        return [r[0] for r in rows]

    # ------------------------------------------------------------------ extractions

    def save_extraction(
        self,
        sha256: str,
        meta: ExtractionMeta,
        cache_key: str,
        extraction: PaperExtraction | None,
        error: str | None = None,
        run_id: int | None = None,
    ) -> None:
        """Store one backend's result (or failure) for one document, replacing an older one."""
        row = {
            "sha256": sha256,
            "backend": meta.backend,
            "cache_key": cache_key,
            "prompt_name": meta.prompt_name,
            "prompt_version": meta.prompt_version,
            "prompt_hash": meta.prompt_hash,
            "model": meta.model,
            "schema_version": meta.schema_version,
            "data": extraction.model_dump_json(exclude_none=True) if extraction else None,
            "error": error,
            "reasks": meta.reasks,
            "prompt_tokens": meta.prompt_tokens,
            "completion_tokens": meta.completion_tokens,
            "cost_usd": meta.cost_usd,
            "created_at": utcnow(),
            "run_id": run_id,
        }
        with self.write():
            cols = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            self.db.execute(f"INSERT OR REPLACE INTO extractions ({cols}) VALUES ({marks})", list(row.values()))

    def extractions_for(self, sha256: str, *, ok_only: bool = True) -> list[tuple[ExtractionMeta, PaperExtraction | None, dict[str, Any]]]:
        """All stored extractions of a document: (meta, extraction, raw row)."""
        where = "AND error IS NULL" if ok_only else ""
        out = []
        for row in self.db.query(f"SELECT * FROM extractions WHERE sha256 = ? {where} ORDER BY backend, id", [sha256]):
            meta = ExtractionMeta(
                backend=row["backend"],
                prompt_name=row["prompt_name"],
                prompt_version=row["prompt_version"],
                prompt_hash=row["prompt_hash"],
                model=row["model"],
                schema_version=row["schema_version"] or "1",
                reasks=row["reasks"] or 0,
                prompt_tokens=row["prompt_tokens"] or 0,
                completion_tokens=row["completion_tokens"] or 0,
                cost_usd=row["cost_usd"] or 0.0,
            )
            ext = PaperExtraction.model_validate_json(row["data"]) if row["data"] else None
            out.append((meta, ext, row))
        return out

    def extraction_failures(self) -> list[dict[str, Any]]:
        return self.query(
            """SELECT e.sha256, d.source_file, e.backend, e.error FROM extractions e
               JOIN documents d USING (sha256) WHERE e.error IS NOT NULL ORDER BY d.source_file"""
        )

    # ------------------------------------------------------------------ records

    def _last_hash(self) -> str:
        row = self.db.execute("SELECT hash FROM reviews ORDER BY id DESC LIMIT 1").fetchone()
        return row[0] if row else GENESIS_HASH

    def _append_log(self, row: dict[str, Any]) -> dict[str, Any]:
        row = {"at": utcnow(), **row}
        row["prev_hash"] = self._last_hash()
        row["hash"] = _chain_hash(row["prev_hash"], row)
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        cur = self.db.execute(f"INSERT INTO reviews ({cols}) VALUES ({marks})", list(row.values()))
        row["id"] = cur.lastrowid
        return row

    @staticmethod
    def _record_row(record: PaperRecord, data_json: str) -> dict[str, Any]:
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

    def record_input_keys(self) -> dict[str, str]:
        return {r[0]: r[1] for r in self.db.execute("SELECT sha256, input_key FROM records")}

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
            cols = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            self.db.execute(f"INSERT OR REPLACE INTO records ({cols}) VALUES ({marks})", list(row.values()))
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

    def get_record(self, paper_id: str) -> PaperRecord:
        row = self.db.execute("SELECT data FROM records WHERE paper_id = ?", [paper_id]).fetchone()
        if not row:
            raise NotFoundError(f"no record with paper id {paper_id}")
        return PaperRecord.model_validate_json(row[0])

    def iter_records(self, statuses: Iterable[str] | None = None, *, order: str = "paper_id") -> Iterator[PaperRecord]:
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
        return self.query("SELECT * FROM reviews WHERE paper_id = ? ORDER BY id", [paper_id])

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

    # ------------------------------------------------------------------ summaries

    def status_counts(self) -> dict[str, Any]:
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

    # ------------------------------------------------------------------ review work (claims, double review)
    # Small, additive helpers for extractor.review: the review UI never writes SQL itself.

    def get_claim(self, paper_id: str) -> dict[str, Any] | None:
        """The lease on a record a reviewer has open, if any."""
        rows = self.query("SELECT * FROM review_claims WHERE paper_id = ?", [paper_id])
        return rows[0] if rows else None

    def claims(self, *, reviewer: str | None = None, expired_before: str | None = None) -> list[dict[str, Any]]:
        """Leases, optionally of one reviewer or only those that expired before an ISO time."""
        where, params = [], []
        if reviewer is not None:
            where.append("reviewer = ?")
            params.append(reviewer)
        if expired_before is not None:
            where.append("expires_at < ?")
            params.append(expired_before)
        sql = "SELECT * FROM review_claims" + (" WHERE " + " AND ".join(where) if where else "")
        return self.query(sql + " ORDER BY claimed_at", params)

    def set_claim(self, paper_id: str, reviewer: str, expires_at: str, status_before: str,
                  reviewer_before: str | None = None) -> None:
        """Create or renew a lease (call inside the transaction that changes the record)."""
        with self.write():
            self.db.execute(
                "INSERT OR REPLACE INTO review_claims (paper_id, reviewer, claimed_at, expires_at, status_before, "
                "reviewer_before) VALUES (?, ?, coalesce((SELECT claimed_at FROM review_claims WHERE paper_id = ? "
                "AND reviewer = ?), ?), ?, ?, ?)",
                [paper_id, reviewer, paper_id, reviewer, utcnow(), expires_at, status_before, reviewer_before],
            )

    def drop_claim(self, paper_id: str) -> None:
        with self.write():
            self.db.execute("DELETE FROM review_claims WHERE paper_id = ?", [paper_id])

    def add_double_review(self, row: dict[str, Any]) -> bool:
        """Draw a record into the double-review sample; False if it was drawn already."""
        with self.write():
            cols = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            cur = self.db.execute(f"INSERT OR IGNORE INTO double_reviews ({cols}) VALUES ({marks})", list(row.values()))
            return cur.rowcount == 1

    def complete_double_review(self, paper_id: str, reviewer: str, decision: str, label: str, content_json: str) -> bool:
        """Store the second decision once; False when someone else gave it first."""
        with self.write():
            cur = self.db.execute(
                "UPDATE double_reviews SET second_reviewer = ?, second_decision = ?, second_label = ?, "
                "second_content = ?, second_at = ? WHERE paper_id = ? AND second_at IS NULL AND first_reviewer != ?",
                [reviewer, decision, label, content_json, utcnow(), paper_id, reviewer],
            )
            return cur.rowcount == 1

    def double_reviews(self, *, pending: bool | None = None, exclude_reviewer: str | None = None,
                       paper_id: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Rows of the double-review sample: all, only pending, or only completed ones."""
        where, params = [], []
        if paper_id is not None:
            where.append("paper_id = ?")
            params.append(paper_id)
        if pending is True:
            where.append("second_at IS NULL")
        elif pending is False:
            where.append("second_at IS NOT NULL")
        if exclude_reviewer is not None:
            where.append("first_reviewer != ?")
            params.append(exclude_reviewer)
        sql = "SELECT * FROM double_reviews" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY drawn_at, paper_id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return self.query(sql, params)

    def log_rows(self, *, actor: str | None = None, actions: Iterable[str] | None = None, paper_id: str | None = None,
                 human_only: bool = False, newest_first: bool = False, limit: int | None = None,
                 with_content: bool = False) -> list[dict[str, Any]]:
        """Audit-log rows filtered by who, what and which paper (for undo, throughput, agreement)."""
        cols = "*" if with_content else (
            "id, paper_id, action, actor, at, version_before, version_after, status_before, status_after, note")
        where, params = [], []
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
        sql = f"SELECT {cols} FROM reviews" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY id DESC" if newest_first else " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return self.query(sql, params)

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

    def drop_double_review(self, paper_id: str) -> None:
        """Withdraw a record from the double-review sample while its second review is pending
        (its first decision was undone)."""
        with self.write():
            self.db.execute("DELETE FROM double_reviews WHERE paper_id = ? AND second_at IS NULL", [paper_id])
