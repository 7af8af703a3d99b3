"""A memoising front for the shared resolver, and evidence taken from known line positions.

The rules backend asks the resolver the same questions many times (each line while
classifying, each unit while cutting and splitting, and the same "Stanford University"
in paper after paper). :class:`CachedResolver` answers repeats from a dictionary, which
is what keeps extraction well above 200 papers a second. :func:`evidence_in_lines`
grounds a value in the lines it was read from instead of searching the whole page.
"""

from __future__ import annotations

from typing import Any

from extractor.resolve import Resolution, Resolver
from extractor.resolve.grounding import locate
from extractor.schemas import Alignment, Evidence, FrontMatter

_MAX_ENTRIES = 100_000


class CachedResolver:
    """Same answers as :class:`Resolver`, memoised; unknown attributes pass through."""

    def __init__(self, resolver: Resolver):
        self._resolver = resolver
        self._resolve: dict[tuple[str, str | None], Resolution] = {}
        self._countries: dict[str, list[tuple[str, int, int]]] = {}
        self._found: dict[str, Any] = {}
        self._spans: dict[str, tuple[str, list[tuple[str, int, int]]]] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._resolver, name)

    @property
    def institutions(self) -> Any:
        return _CachedInstitutions(self._resolver.institutions, self._found)

    def institution_spans(self, text: str) -> tuple[str, list[tuple[str, int, int]]]:
        """(cleaned text, [(entry name, start, end)]) of the known institutions ``text`` names."""
        hit = self._spans.get(text)
        if hit is None:
            from extractor.resolve.text import clean, tokenize

            cleaned = clean(text)
            found = [(e.name, m.start, m.end) for m in self._resolver.institutions.find(cleaned, tokenize(cleaned))
                     for e in m.entries]
            if len(self._spans) > _MAX_ENTRIES:
                self._spans.clear()
            hit = self._spans[text] = (cleaned, found)
        return hit

    def resolve(self, raw: str, email_domain: str | None = None, context: str | None = None) -> Resolution:
        if context is not None:
            return self._resolver.resolve(raw, email_domain=email_domain, context=context)
        key = (raw, email_domain)
        hit = self._resolve.get(key)
        if hit is None:
            if len(self._resolve) > _MAX_ENTRIES:
                self._resolve.clear()
            hit = self._resolve[key] = self._resolver.resolve(raw, email_domain=email_domain)
        return hit

    def find_countries(self, text: str) -> list[tuple[str, int, int]]:
        hit = self._countries.get(text)
        if hit is None:
            if len(self._countries) > _MAX_ENTRIES:
                self._countries.clear()
            hit = self._countries[text] = self._resolver.find_countries(text)
        return hit


class _CachedInstitutions:
    def __init__(self, index: Any, cache: dict[str, Any]):
        self._index = index
        self._cache = cache

    def find(self, text: str, tokens: Any) -> Any:
        hit = self._cache.get(text)
        if hit is None:
            if len(self._cache) > _MAX_ENTRIES:
                self._cache.clear()
            hit = self._cache[text] = self._index.find(text, tokens)
        return hit

    def __getattr__(self, name: str) -> Any:
        return getattr(self._index, name)


def evidence_in_lines(front: FrontMatter, value: str, lines: list[int]) -> Evidence:
    """Where ``value`` sits within the given page-1 lines (exact, else normalised/fuzzy there)."""
    if not lines:
        return locate(value, front.text, source="front", bbox_lines=front)
    lo = min(front.lines[i].start for i in lines)
    hi = max(front.lines[i].end for i in lines)
    window = front.text[lo:hi]
    pos = window.find(value)
    if pos >= 0:
        start, end = lo + pos, lo + pos + len(value)
        return Evidence(source="front", start=start, end=end, alignment=Alignment.EXACT, score=100.0,
                        bbox=_bbox(front, lines, start, end))
    # the same text with line breaks and runs of spaces read as one space
    squeezed, where = _squeeze(window)
    pos = squeezed.find(" ".join(value.split()))
    if pos >= 0:
        start, end = lo + where[pos], lo + where[pos + len(" ".join(value.split())) - 1] + 1
        return Evidence(source="front", start=start, end=end, alignment=Alignment.EXACT, score=100.0,
                        bbox=_bbox(front, lines, start, end))
    ev = locate(value, window, source="front")
    if ev.start is not None and ev.end is not None:
        start, end = ev.start + lo, ev.end + lo
        return ev.model_copy(update={"start": start, "end": end, "bbox": _bbox(front, lines, start, end)})
    return ev


def _bbox(front: FrontMatter, lines: list[int], start: int, end: int) -> tuple[float, float, float, float] | None:
    boxes = [front.lines[i].bbox for i in lines if front.lines[i].start < end and front.lines[i].end > start]
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _squeeze(text: str) -> tuple[str, list[int]]:
    """Whitespace runs as one space, and the index in ``text`` of every kept character."""
    out: list[str] = []
    where: list[int] = []
    space = False
    for i, c in enumerate(text):
        if c.isspace():
            if not space:
                out.append(" ")
                where.append(i)
            space = True
        else:
            out.append(c)
            where.append(i)
            space = False
    return "".join(out), where
