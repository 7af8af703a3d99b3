"""Store methods of venue metadata: the papers a collector found, and OpenReview author profiles.

A venue's own listing (OpenReview notes, arXiv entries, a paperlists file) says who wrote
each paper and, sometimes, where they worked, before any PDF is read. ``venue_papers``
holds one row per paper of a source, keyed ``"{source}:{source_id}"``, with the author list
as JSON and the hash of the document once its PDF was collected and ingested;
``author_profiles`` holds the institution history of OpenReview profiles. A source's own
country labels are kept (``source_countries``, ``country_label``) only to compare our
answer with: countries always come from our resolver.

Collectors write here and skip what is already stored, so a re-run fetches nothing twice;
the ``venue`` extraction backend reads these rows as an independent reading of a paper.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from extractor.store.base import StoreBase, insert_sql, utcnow

#: The columns of ``venue_papers``, in table order.
VENUE_PAPER_COLUMNS = ("key", "source", "source_id", "venue", "year", "title", "decision", "pdf_url", "site_url",
                       "sha256", "authors", "source_countries", "extra", "collected_at", "run_id")
#: Columns of ``venue_papers`` that hold JSON (decoded on read, encoded on write when not a string).
_PAPER_JSON: dict[str, Any] = {"authors": [], "source_countries": [], "extra": {}}
#: The columns of ``author_profiles``, in table order.
PROFILE_COLUMNS = ("profile_id", "source", "names", "history", "email_domains", "fetched_at")
_PROFILE_JSON: dict[str, Any] = {"names": [], "history": [], "email_domains": []}
#: Keys per ``IN (...)`` list, well under SQLite's bound-parameter limit.
_IN_CHUNK = 500


def venue_key(source: str, source_id: str) -> str:
    """The primary key of a venue paper: ``"{source}:{source_id}"``."""
    return f"{source}:{source_id}"


def _encode(row: dict[str, Any], json_cols: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for col, empty in json_cols.items():
        value = out.get(col)
        if value is None:
            value = empty
        if not isinstance(value, str):
            value = json.dumps(value, ensure_ascii=False, sort_keys=isinstance(value, dict))
        out[col] = value
    return out


def _decode(row: dict[str, Any], json_cols: dict[str, Any]) -> dict[str, Any]:
    for col, empty in json_cols.items():
        text = row.get(col)
        row[col] = json.loads(text) if text else type(empty)()
    return row


class VenueStore(StoreBase):
    """Reads and writes of ``venue_papers`` and ``author_profiles``."""

    # ------------------------------------------------------------------ venue papers

    def upsert_venue_papers(self, rows: Iterable[dict[str, Any]], *, run_id: int | None = None) -> int:
        """Insert or replace venue papers by key; returns the number of rows written.

        ``source`` and ``source_id`` are required; ``key`` is built from them when absent.
        JSON columns (``authors``, ``source_countries``, ``extra``) may be Python objects.
        A stored ``sha256`` survives an update that carries none, so refreshing metadata
        never unlinks a collected PDF. All rows go in one transaction: a killed collector
        loses at most the batch it was writing.
        """
        now = utcnow()
        prepared = []
        for row in rows:
            r = {c: row.get(c) for c in VENUE_PAPER_COLUMNS}
            if not r["source"] or not r["source_id"]:
                raise ValueError("a venue paper needs source and source_id")
            r["key"] = r["key"] or venue_key(r["source"], str(r["source_id"]))
            r["source_id"] = str(r["source_id"])
            r["collected_at"] = r["collected_at"] or now
            r["run_id"] = r["run_id"] if r["run_id"] is not None else run_id
            prepared.append(_encode(r, _PAPER_JSON))
        if not prepared:
            return 0
        cols = [c for c in VENUE_PAPER_COLUMNS if c != "sha256"]
        updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c != "key")
        sql = (insert_sql("venue_papers", VENUE_PAPER_COLUMNS)
               + f" ON CONFLICT(key) DO UPDATE SET {updates}, sha256 = coalesce(excluded.sha256, venue_papers.sha256)")
        with self.write():
            self.db.conn.executemany(sql, [[r[c] for c in VENUE_PAPER_COLUMNS] for r in prepared])
        return len(prepared)

    def link_venue_paper(self, key: str, sha256: str) -> bool:
        """Record that the PDF of venue paper ``key`` is the document ``sha256``; False when no such paper."""
        with self.write():
            cur = self.db.execute("UPDATE venue_papers SET sha256 = ? WHERE key = ?", [sha256, key])
        return cur.rowcount > 0

    def list_venue_papers(self, *, source: str | None = None, venue: str | None = None, year: int | None = None,
                          linked: bool | None = None, after_key: str | None = None,
                          limit: int | None = None) -> list[dict[str, Any]]:
        """Venue papers ordered by key, JSON columns decoded.

        ``linked``: True keeps the papers whose PDF was collected (a ``sha256``), False the
        metadata-only ones. Page through a large venue with ``after_key`` (the last key of
        the previous page) and ``limit``.
        """
        where, params = self._paper_filter(source=source, venue=venue, year=year, linked=linked)
        if after_key is not None:
            where.append("key > ?")
            params.append(after_key)
        sql = "SELECT * FROM venue_papers" + self._where(where) + " ORDER BY key"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [_decode(r, _PAPER_JSON) for r in self._rows(sql, params)]

    def venue_paper(self, key: str) -> dict[str, Any] | None:
        """One venue paper by key (JSON decoded), or None."""
        rows = self._rows("SELECT * FROM venue_papers WHERE key = ?", [key])
        return _decode(rows[0], _PAPER_JSON) if rows else None

    def venue_papers_for_document(self, sha256: str) -> list[dict[str, Any]]:
        """The venue papers linked to document ``sha256`` (one per source that listed it), by key."""
        rows = self._rows("SELECT * FROM venue_papers WHERE sha256 = ? ORDER BY key", [sha256])
        return [_decode(r, _PAPER_JSON) for r in rows]

    def venue_paper_keys(self, source: str | None = None, *, linked: bool | None = None) -> set[str]:
        """The keys already stored (of one source; ``linked`` as in :meth:`list_venue_papers`): what a re-run skips."""
        where, params = self._paper_filter(source=source, linked=linked)
        sql = "SELECT key FROM venue_papers" + self._where(where)
        return {r["key"] for r in self._rows(sql, params)}

    def count_venue_papers(self, *, source: str | None = None, venue: str | None = None) -> dict[str, int]:
        """``papers`` stored, how many are ``linked`` to a document, and the number of author ``profiles``."""
        where, params = self._paper_filter(source=source, venue=venue)
        sql = ("SELECT count(*) AS papers, count(sha256) AS linked FROM venue_papers"
               + self._where(where))
        row = self._rows(sql, params)[0]
        profiles = self._rows("SELECT count(*) AS n FROM author_profiles")[0]["n"]
        return {"papers": row["papers"], "linked": row["linked"], "profiles": profiles}

    @staticmethod
    def _paper_filter(*, source: str | None = None, venue: str | None = None, year: int | None = None,
                      linked: bool | None = None) -> tuple[list[str], list[Any]]:
        where: list[str] = []
        params: list[Any] = []
        for col, value in (("source", source), ("venue", venue), ("year", year)):
            if value is not None:
                where.append(f"{col} = ?")
                params.append(value)
        if linked is not None:
            where.append("sha256 IS NOT NULL" if linked else "sha256 IS NULL")
        return where, params

    # ------------------------------------------------------------------ author profiles

    def upsert_author_profiles(self, rows: Iterable[dict[str, Any]]) -> int:
        """Insert or replace author profiles by ``profile_id``; returns the number written (one transaction)."""
        now = utcnow()
        prepared = []
        for row in rows:
            r = {c: row.get(c) for c in PROFILE_COLUMNS}
            if not r["profile_id"]:
                raise ValueError("an author profile needs a profile_id")
            r["source"] = r["source"] or "openreview"
            r["fetched_at"] = r["fetched_at"] or now
            prepared.append(_encode(r, _PROFILE_JSON))
        if not prepared:
            return 0
        sql = insert_sql("author_profiles", PROFILE_COLUMNS, verb="INSERT OR REPLACE")
        with self.write():
            self.db.conn.executemany(sql, [[r[c] for c in PROFILE_COLUMNS] for r in prepared])
        return len(prepared)

    def author_profiles(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Stored profiles by id (JSON decoded); ids with no stored profile are absent."""
        wanted = sorted(set(ids))
        out: dict[str, dict[str, Any]] = {}
        for i in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[i:i + _IN_CHUNK]
            marks = ", ".join("?" for _ in chunk)
            for r in self._rows(f"SELECT * FROM author_profiles WHERE profile_id IN ({marks})", chunk):
                out[r["profile_id"]] = _decode(r, _PROFILE_JSON)
        return out

    def author_profile_ids(self) -> set[str]:
        """The ids of every stored profile: what a re-run of the profile fetch skips."""
        return {r["profile_id"] for r in self._rows("SELECT profile_id FROM author_profiles")}
