"""Documents and extractions: the ``documents`` rows (page 1 in a compact codec) and each backend's result.

Documents are keyed by the SHA-256 of the file bytes, so the same PDF is stored once
whatever its name; extractions by (document, backend, cache key), so a re-run with the
same backend, prompt and model finds its result instead of redoing it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from extractor.errors import NotFoundError, StoreError
from extractor.schemas import Document, ExtractionMeta, FrontMatter, Line, PaperExtraction, Span
from extractor.store.base import StoreBase, insert_sql, utcnow

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


def decode_front(text: str) -> FrontMatter:
    """The :class:`FrontMatter` that :func:`encode_front` encoded."""
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


def document_row(doc: Document) -> dict[str, Any]:
    """A document as its ``documents`` row (page 1 encoded), without ``run_id``.

    Ingest's parser processes call this, so the writing process receives plain strings
    and numbers to insert (:meth:`DocumentStore.add_document_rows`) instead of a model to encode.
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


def _meta_from_row(row: dict[str, Any]) -> ExtractionMeta:
    return ExtractionMeta(
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


class DocumentStore(StoreBase):
    """Reads and writes of ``documents`` and ``extractions``."""

    # ------------------------------------------------------------------ documents

    def known_hashes(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT sha256 FROM documents")}

    def failed_hashes(self) -> set[str]:
        """Documents whose ingest failed (timeout, crash, too large ...): ``--retry-failed`` parses them again."""
        return {r[0] for r in self.db.execute("SELECT sha256 FROM documents WHERE error IS NOT NULL")}

    def document_hashes(self, *, ok_only: bool = True) -> list[str]:
        """Document hashes in ingest order (the order reconcile and the backends walk them)."""
        where = "WHERE error IS NULL" if ok_only else ""
        return [r[0] for r in self.db.execute(f"SELECT sha256 FROM documents {where} ORDER BY ingested_at, sha256")]

    def add_document(self, doc: Document, run_id: int | None = None) -> bool:
        """Insert a document unless its hash is known; True when it was new."""
        return self.add_document_rows([document_row(doc)], run_id=run_id)[0]

    def document_rows(self) -> list[dict[str, Any]]:
        """Every ``documents`` row as stored (page 1 already encoded), for another store to copy."""
        return self._rows("SELECT * FROM documents ORDER BY ingested_at, sha256")

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
                    sql = statements[cols] = insert_sql("documents", cols, verb="INSERT OR IGNORE")
                if replace_failed:
                    self.db.execute("DELETE FROM documents WHERE sha256 = ? AND error IS NOT NULL", [row["sha256"]])
                cur = self.db.execute(sql, list(row.values()))
                out.append(cur.rowcount == 1)
        return out

    def _document_columns(self) -> set[str]:
        return {r[1] for r in self.db.execute("PRAGMA table_info(documents)")}

    def get_document(self, sha256: str, *, with_full_text: bool = True) -> Document:
        cols = "*" if with_full_text else "sha256, source_file, path, size_bytes, page_count, venue, year, front, error, error_kind, ingested_at"
        rows = self._rows(f"SELECT {cols} FROM documents WHERE sha256 = ?", [sha256])
        if not rows:
            raise NotFoundError(f"no document with sha256 {sha256}")
        return _doc_from_row(rows[0])

    def iter_documents(self, *, ok_only: bool = True, hashes: Iterable[str] | None = None) -> Iterator[Document]:
        where = "WHERE error IS NULL" if ok_only else ""
        wanted = set(hashes) if hashes is not None else None
        for row in self.db.query(f"SELECT * FROM documents {where} ORDER BY ingested_at, sha256"):
            if wanted is None or row["sha256"] in wanted:
                yield _doc_from_row(row)

    def failed_documents(self) -> list[dict[str, Any]]:
        return self._rows(
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
            self.db.execute(insert_sql("extractions", tuple(row), verb="INSERT OR REPLACE"), list(row.values()))

    def extractions_for(self, sha256: str, *, ok_only: bool = True) -> list[tuple[ExtractionMeta, PaperExtraction | None, dict[str, Any]]]:
        """All stored extractions of a document: (meta, extraction, raw row)."""
        where = "AND error IS NULL" if ok_only else ""
        out = []
        for row in self.db.query(f"SELECT * FROM extractions WHERE sha256 = ? {where} ORDER BY backend, id", [sha256]):
            ext = PaperExtraction.model_validate_json(row["data"]) if row["data"] else None
            out.append((_meta_from_row(row), ext, row))
        return out

    def extraction_failures(self) -> list[dict[str, Any]]:
        return self._rows(
            """SELECT e.sha256, d.source_file, e.backend, e.error FROM extractions e
               JOIN documents d USING (sha256) WHERE e.error IS NOT NULL ORDER BY d.source_file"""
        )
