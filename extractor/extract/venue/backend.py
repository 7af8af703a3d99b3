"""The ``venue`` backend: the venue's own metadata as one more, independent reading of a paper.

Two kinds of paper get a venue extraction:

* a document (an ingested PDF) that a collector linked to a venue paper: the extraction
  is stored under the document's hash and reconcile weighs it against the PDF readings;
* a venue paper with no usable document (metadata only, or its PDF failed to ingest): the
  extraction is stored under :func:`~extractor.schemas.venue_paper_sha256` of its key, and
  :mod:`extractor.reconcile.venue` makes a record of it alone, so ``stats`` and ``report``
  have a first estimate before any PDF is read.

Documents no venue lists are skipped (counted, not failed): the backend runs whenever the
database holds venue papers and has nothing to say about the rest. Every venue paper's
reading is made again on each run (resolver answers are cached: a few milliseconds a
paper) and stored only when it changed (a re-collected listing, a profile fetched later),
so reconcile sees the change and nothing else is redone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from extractor.config import Settings
from extractor.errors import ExtractionError
from extractor.extract.base import default_cache_key
from extractor.extract.rules.cache import CachedResolver
from extractor.extract.venue.reading import read_paper
from extractor.resolve import get_resolver
from extractor.schemas import Document, ExtractionMeta, PaperExtraction, venue_paper_sha256
from extractor.store import Store

VENUE_VERSION = "1"
#: Venue papers read per page.
PAGE = 500


def iter_venue_papers(store: Store, page: int = PAGE) -> Iterator[list[dict[str, Any]]]:
    """Every venue paper, a page at a time, by key."""
    after: str | None = None
    while True:
        rows = store.list_venue_papers(after_key=after, limit=page)
        if rows:
            yield rows
        if len(rows) < page:
            return
        after = rows[-1]["key"]


def _profile_ids(rows: Iterable[dict[str, Any]]) -> set[str]:
    return {a["id"] for r in rows for a in r.get("authors") or []
            if a.get("id") and "@" not in a["id"] and not a.get("affiliations")}


def _richness(ext: PaperExtraction) -> tuple[int, int]:
    return sum(bool(a.affiliation_ids) for a in ext.authors), len(ext.authors)


class VenueBackend:
    """Venue metadata -> PaperExtraction; see the module docstring."""

    name = "venue"

    def __init__(self, settings: Settings | None = None):
        self.resolver = CachedResolver(get_resolver())

    def cache_key(self) -> str:
        return default_cache_key(self.name, f"v{VENUE_VERSION}")

    def meta(self) -> ExtractionMeta:
        return ExtractionMeta(backend=self.name, model=f"venue-v{VENUE_VERSION}")

    def read(self, rows: list[dict[str, Any]], profiles: dict[str, dict[str, Any]]) -> PaperExtraction:
        """The reading of a paper several sources list: the one that places most authors."""
        readings = [read_paper(r, profiles, self.resolver) for r in rows]
        return max(readings, key=_richness)

    def extract(self, document: Document) -> PaperExtraction:
        raise ExtractionError("the venue backend reads venue metadata from the store: run it with extract_many")

    def extract_many(self, store: Store, hashes: list[str], *, run_id: int | None,
                     on_progress: Callable[[str, bool], None] | None = None) -> dict[str, int]:
        """Read the venue metadata of the documents ``hashes``, then refresh every venue paper's reading."""
        meta, key = self.meta(), self.cache_key()
        counts = {"done": 0, "failed": 0, "no_metadata": 0, "metadata_only": 0, "refreshed": 0, "unchanged": 0}
        for start in range(0, len(hashes), PAGE):
            with store.write():  # one transaction a page of documents
                for sha in hashes[start:start + PAGE]:
                    rows = store.venue_papers_for_document(sha)
                    if not rows:
                        counts["no_metadata"] += 1
                    else:
                        ext = self.read(rows, store.author_profiles(_profile_ids(rows)))
                        store.save_extraction(sha, meta, key, ext, run_id=run_id)
                        counts["done"] += 1
                    if on_progress:
                        on_progress(sha, True)
        self.refresh(store, run_id=run_id, counts=counts, skip=set(hashes))
        return counts

    def refresh(self, store: Store, *, run_id: int | None = None, counts: dict[str, int] | None = None,
                skip: Iterable[str] = ()) -> dict[str, int]:
        """Bring every venue paper's stored reading up to date with the metadata and profiles stored now.

        A paper without a usable document is read under its stand-in hash (``metadata_only``
        counts the new or changed ones); a linked document's reading is rewritten when it
        changed (``refreshed``: a re-collected listing, a profile fetched later). ``skip``:
        documents just read.
        """
        counts = counts if counts is not None else {"metadata_only": 0, "refreshed": 0, "unchanged": 0}
        documents = set(store.document_hashes(ok_only=True))
        seen: set[str] = set(skip)
        for page in iter_venue_papers(store):
            profiles = store.author_profiles(_profile_ids(page))
            with store.write():  # one transaction a page: a commit per paper costs more than the reading
                self._refresh_page(store, page, profiles, documents, seen, counts, run_id)
        return counts

    def _refresh_page(self, store: Store, page: list[dict[str, Any]], profiles: dict[str, dict[str, Any]],
                      documents: set[str], seen: set[str], counts: dict[str, int], run_id: int | None) -> None:
        meta, key = self.meta(), self.cache_key()
        for row in page:
            doc_sha = row.get("sha256")
            if doc_sha in documents:
                if doc_sha in seen:
                    continue
                seen.add(doc_sha)
                rows = store.venue_papers_for_document(doc_sha)
                sha, ext, kind = doc_sha, self.read(rows, store.author_profiles(_profile_ids(rows))), "refreshed"
            else:
                sha, ext, kind = venue_paper_sha256(row["key"]), read_paper(row, profiles, self.resolver), "metadata_only"
            stored = [e for m, e, r in store.extractions_for(sha) if m.backend == self.name and r["cache_key"] == key]
            if stored and stored[0] == ext:
                counts["unchanged"] += 1
                continue
            store.save_extraction(sha, meta, key, ext, run_id=run_id)
            counts[kind] += 1
