"""A memoising front for the shared resolver, and evidence taken from known line positions.

The rules backend asks the resolver the same questions many times (each line while
classifying, each unit while cutting and splitting, and the same "Stanford University"
in paper after paper). :class:`CachedResolver` answers repeats from a dictionary, which
is what keeps extraction well above 200 papers a second. :func:`evidence_in_lines`
grounds a value in the lines it was read from instead of searching the whole page.
"""

from __future__ import annotations

from typing import Any

from ...grounding import locate
from ...resolve import Resolution, Resolver
from ...schemas import Alignment, Evidence, FrontMatter

_MAX_ENTRIES = 100_000


class CachedResolver:
    """Same answers as :class:`Resolver`, memoised; unknown attributes pass through."""

    def __init__(self, resolver: Resolver):
        self._resolver = resolver
        self._resolve: dict[tuple[str, str | None], Resolution] = {}
        self._countries: dict[str, list[tuple[str, int, int]]] = {}
        self._found: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._resolver, name)

    @property
    def institutions(self) -> Any:
        return _CachedInstitutions(self._resolver.institutions, self._found)

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
        boxes = [front.lines[i].bbox for i in lines if front.lines[i].start < end and front.lines[i].end > start]
        bbox = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)) if boxes else None
        return Evidence(source="front", start=start, end=end, alignment=Alignment.EXACT, score=100.0, bbox=bbox)
    ev = locate(value, window, source="front")
    if ev.start is not None and ev.end is not None:
        start, end = ev.start + lo, ev.end + lo
        boxes = [front.lines[i].bbox for i in lines if front.lines[i].start < end and front.lines[i].end > start]
        bbox = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)) if boxes else None
        return ev.model_copy(update={"start": start, "end": end, "bbox": bbox})
    return locate(value, front.text, source="front", bbox_lines=front)
