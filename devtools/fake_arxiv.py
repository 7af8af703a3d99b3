"""A fake arXiv API (Atom 1.0) on loopback, for tests of ``collabscope collect arxiv``.

``GET /api/query`` takes the parameters the ``arxiv`` package sends (``search_query``,
``id_list``, ``start``, ``max_results``, ``sortBy``, ``sortOrder``) and answers an Atom
feed in the shape of arXiv's API manual: ``opensearch:totalResults``/``startIndex``/
``itemsPerPage`` in the header; per entry ``id`` (``http://arxiv.org/abs/<id>v<n>``),
``published``, ``updated``, ``title``, ``summary``, ``author/name`` (+ optional
``arxiv:affiliation``), ``link`` elements (the PDF one has ``title="pdf"``),
``arxiv:primary_category`` and ``category``. ``GET /pdf/<id>`` serves the PDF bytes.
A query matches papers whose title contains any of its ``ti:``/``all:`` words (enough for
tests); an empty query with an ``id_list`` returns those ids.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from devtools.fake_http import FakeService, Reply
from devtools.fake_openreview import minimal_pdf


@dataclass
class Paper:
    arxiv_id: str  # without version
    title: str
    authors: list[tuple[str, list[str]]]  # (name, affiliations)
    published: str = "2024-01-15T18:00:00Z"
    version: int = 1
    categories: list[str] = field(default_factory=lambda: ["cs.LG"])


def demo_papers(n: int = 5) -> list[Paper]:
    return [Paper(f"2401.{i:05d}", f"Learning things part {i}",
                  [(f"Alice Author{i}", ["Tsinghua University"]), (f"Bob Builder{i}", [])]) for i in range(1, n + 1)]


class FakeArxiv(FakeService):
    """The fake Atom API; ``papers`` is a plain list the test may change."""

    def __init__(self, papers: list[Paper] | None = None, *, pdf: Callable[[str], bytes] | None = None,
                 **kwargs: Any):
        super().__init__(**kwargs)
        self.papers = list(papers or [])
        self.pdf = pdf or minimal_pdf

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/query"

    def route(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> Reply:
        q = {k: v[-1] for k, v in query.items()}
        if path == "/api/query":
            return Reply(200, self._feed(q).encode(), "application/atom+xml; charset=utf-8")
        m = re.fullmatch(r"/pdf/(.+?)(v\d+)?", path)
        if m and any(p.arxiv_id == m.group(1) for p in self.papers):
            return Reply(200, self.pdf(m.group(1)), "application/pdf")
        return Reply(404, b"not found", "text/plain")

    def _select(self, q: dict[str, str]) -> list[Paper]:
        ids = [i for i in (q.get("id_list") or "").split(",") if i]
        query = q.get("search_query") or ""
        papers = self.papers
        if ids:
            bare = [re.sub(r"v\d+$", "", i) for i in ids]
            papers = [p for i in bare for p in self.papers if p.arxiv_id == i]
        if query:
            words = [w.lower() for w in re.findall(r"(?:ti|all|abs):\"?([^\s\"]+)", query)]
            papers = [p for p in papers if any(w in p.title.lower() for w in words)] if words else papers
        return papers

    def _feed(self, q: dict[str, str]) -> str:
        papers = self._select(q)
        start = int(q.get("start") or 0)
        size = int(q.get("max_results") or 10)
        page = papers[start:start + size]
        entries = "".join(self._entry(p) for p in page)
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
            'xmlns:arxiv="http://arxiv.org/schemas/atom">\n'
            f'  <id>https://arxiv.org/api/fake</id>\n  <title>arXiv Query: {escape(q.get("search_query", ""))}</title>\n'
            '  <updated>2024-02-01T00:00:00Z</updated>\n'
            f'  <opensearch:itemsPerPage>{size}</opensearch:itemsPerPage>\n'
            f'  <opensearch:totalResults>{len(papers)}</opensearch:totalResults>\n'
            f'  <opensearch:startIndex>{start}</opensearch:startIndex>\n'
            f"{entries}</feed>\n"
        )

    def _entry(self, p: Paper) -> str:
        vid = f"{p.arxiv_id}v{p.version}"
        authors = "".join(
            "    <author>\n      <name>" + escape(name) + "</name>\n"
            + "".join(f"      <arxiv:affiliation>{escape(a)}</arxiv:affiliation>\n" for a in affs)
            + "    </author>\n"
            for name, affs in p.authors)
        cats = "".join(f'    <category term="{c}" scheme="http://arxiv.org/schemas/atom"/>\n' for c in p.categories)
        return (
            "  <entry>\n"
            f"    <id>http://arxiv.org/abs/{vid}</id>\n"
            f"    <updated>{p.published}</updated>\n    <published>{p.published}</published>\n"
            f"    <title>{escape(p.title)}</title>\n    <summary>Summary of {escape(p.title)}.</summary>\n"
            f"{authors}"
            f'    <link href="http://arxiv.org/abs/{vid}" rel="alternate" type="text/html"/>\n'
            f'    <link title="pdf" href="{self.url}/pdf/{vid}" rel="related" type="application/pdf"/>\n'
            f'    <arxiv:primary_category term="{p.categories[0]}" scheme="http://arxiv.org/schemas/atom"/>\n'
            f"{cats}"
            "  </entry>\n"
        )
