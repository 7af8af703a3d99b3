"""Collect papers from arXiv through the ``arxiv`` package (the Atom API at export.arxiv.org).

arXiv's API terms ask for no more than one request every three seconds; the client keeps
its own 3 s delay and every request also waits its slot at the shared
:class:`~extractor.collect.http.RateLimiter` (3 s for arXiv's hosts by default). Papers
are keyed by their id without the version (``arxiv:2401.01234``); with ``--ids`` the ids
already stored are not asked for again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from extractor.collect.base import CollectSummary, store_in_batches
from extractor.collect.http import CollectError, PoliteSession
from extractor.store import Store

DEFAULT_API_URL = "https://export.arxiv.org/api/query"
#: arXiv's own limit: one request every 3 seconds, for the API and for PDFs.
ARXIV_INTERVAL = 3.0
ARXIV_HOSTS = ("export.arxiv.org", "arxiv.org", "www.arxiv.org")
#: Ids per id_list request (the URL stays short; arXiv pages at this size anyway).
ID_BATCH = 100
_VERSION = re.compile(r"v\d+$")
_ID_IN_TEXT = re.compile(r"(\d{4}\.\d{4,5}(?:v\d+)?|[a-z-]+(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?)")


def make_client(session: PoliteSession, *, api_url: str = DEFAULT_API_URL, page_size: int = 100,
                delay_seconds: float = ARXIV_INTERVAL, num_retries: int = 3) -> Any:
    """An ``arxiv.Client`` on ``api_url`` whose requests go through ``session``.

    ``query_url_format`` is the client's documented endpoint attribute; the session is its
    ``_session`` attribute (the package offers no public hook for it).
    """
    import arxiv

    client = arxiv.Client(page_size=page_size, delay_seconds=delay_seconds, num_retries=num_retries)
    client.query_url_format = api_url.rstrip("?") + "?{}"
    client._session = session
    return client


def bare_id(text: str) -> str:
    """``2401.01234v2`` or ``https://arxiv.org/abs/2401.01234v2`` -> ``2401.01234`` (old ids keep their archive)."""
    text = text.strip()
    m = re.search(r"arxiv\.org/(?:abs|pdf)/(.+?)(?:\.pdf)?$", text)
    if m:
        text = m.group(1)
    return _VERSION.sub("", text)


def read_ids(path: Path) -> list[str]:
    """arXiv ids from a file: one per line (or anything containing one), ``#`` comments and blanks skipped."""
    ids: list[str] = []
    seen: set[str] = set()
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = _ID_IN_TEXT.search(line)
        if not m:
            raise CollectError(f"{path}: {line!r} is not an arXiv id (e.g. 2401.01234 or cs/0101001)")
        aid = bare_id(m.group(1))
        if aid not in seen:
            seen.add(aid)
            ids.append(aid)
    return ids


def result_row(result: Any) -> dict[str, Any]:
    """A ``venue_papers`` row from an ``arxiv.Result`` (affiliations only when arXiv has them)."""
    short = result.get_short_id()
    aid = bare_id(short)
    authors = [{"name": a.name, "id": None, "email_domain": None,
                "affiliations": [{"raw": aff, "institution": None, "country_label": None}
                                 for aff in (getattr(a, "affiliation", None) or [])]}
               for a in result.authors]
    published = result.published
    return {
        "source": "arxiv",
        "source_id": aid,
        "venue": "arxiv",
        "year": published.year if published else None,
        "title": result.title,
        "decision": None,
        "pdf_url": result.pdf_url,
        "site_url": result.entry_id,
        "authors": authors,
        "source_countries": [],
        "extra": {"version": short[len(aid):] or None, "date": published.date().isoformat() if published else None,
                  "primary_category": result.primary_category, "categories": list(result.categories),
                  "journal_ref": result.journal_ref, "doi": result.doi, "comment": result.comment,
                  "abstract": result.summary},
    }


def _search_error(exc: BaseException, api_url: str) -> CollectError:
    status = getattr(exc, "status", None)
    if status is not None:
        return CollectError(f"arXiv API {api_url} answered HTTP {status} after every retry; re-run later "
                            "(what was collected is kept)")
    return CollectError(f"arXiv API {api_url}: {exc}")


def collect_arxiv(store: Store, client: Any, *, ids: Iterable[str] | None = None, query: str | None = None,
                  max_results: int | None = None, api_url: str = DEFAULT_API_URL,
                  run_id: int | None = None) -> CollectSummary:
    """List arXiv papers (by ids, or by a search query) into the store; PDFs are a separate step.

    With ``ids`` the ones already stored are skipped (``summary.skipped``); a query is
    listed again (its result set changes over time), and stored papers are updated.
    """
    import arxiv

    if (ids is None) == (query is None):
        raise CollectError("give either arXiv ids or a query, not both")
    summary = CollectSummary(source="arxiv", venue="arxiv")
    before = store.venue_paper_keys("arxiv")
    searches: list[Any] = []
    if ids is not None:
        wanted = list(dict.fromkeys(bare_id(i) for i in ids))
        todo = [i for i in wanted if f"arxiv:{i}" not in before]
        summary.skipped = len(wanted) - len(todo)
        summary.listed = len(wanted)
        for start in range(0, len(todo), ID_BATCH):
            chunk = todo[start:start + ID_BATCH]
            searches.append(arxiv.Search(id_list=chunk, max_results=len(chunk)))
    else:
        searches.append(arxiv.Search(query=query or "", max_results=max_results,
                                     sort_by=arxiv.SortCriterion.SubmittedDate))
    def counted(results: Iterable[Any]) -> Iterable[dict[str, Any]]:
        for result in results:
            row = result_row(result)
            if query is not None:
                summary.listed += 1
            if f"arxiv:{row['source_id']}" not in before:
                summary.new += 1
            yield row

    try:
        for search in searches:
            # Streamed into the store a batch at a time: a long query killed midway keeps its pages.
            store_in_batches(store, counted(client.results(search)), run_id=run_id)
    except arxiv.ArxivError as exc:
        raise _search_error(exc, api_url) from None
    if query is not None:
        summary.skipped = summary.listed - summary.new
    return summary
