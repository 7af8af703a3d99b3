"""What each LLM call sends: the page-1 text for front matter, snippets for model roles.

Front matter: page 1 with superscript markers made explicit (``Ann Lee^{1,*}``), cut to
the zones that matter (title to end of abstract, plus page-1 footnotes, where
affiliations often hide) so a long introduction does not pay tokens for nothing.

Model roles: the taxonomy finds candidate mentions in the full text; each becomes a
compact numbered snippet of about 200 characters with the mention marked «...». A few
snippets per family are enough to tell "we fine-tune Llama" from a citation, so the
request stays small however long the paper is. Mentions in the bibliography are skipped
(they are citations by definition) unless a family occurs nowhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from extractor.schemas import Document, FrontMatter

#: Characters of context on each side of a mention (a snippet is about 2 x WINDOW long).
WINDOW = 100
#: Snippets per family and per paper; beyond that the extra mentions only add cost.
PER_FAMILY = 3
MAX_SNIPPETS = 30
#: Page-1 text sent for front matter is capped (characters) to bound the prompt.
MAX_FRONT_CHARS = 6000

_CUE_RE = re.compile(
    r"fine-?tun|we (use|adopt|employ|build|train|propose|introduce)|our (model|method)|backbone|baseline|"
    r"compar|outperform|initiali[sz]|distil|based on|built on|as (the|a) (judge|annotator|teacher|encoder)",
    re.IGNORECASE,
)
_REFS_RE = re.compile(r"\n\s*(references|bibliography)\s*\n", re.IGNORECASE)
_SPACE_RE = re.compile(r"\s+")


def front_text(front: FrontMatter) -> str:
    """Page 1 as the model should read it: header zones, then footnotes, markers explicit."""
    zones = front.author_lines + front.affiliation_lines + front.abstract_lines + front.title_lines
    if zones:
        end = max(zones) + 1
        text = front.marked_text(0, end)
        foot = [i for i in front.footnote_lines if i >= end]
        if foot:
            text += "\n[page-1 footnotes]\n" + "\n".join(front.marked_text(i, i + 1) for i in foot)
    else:
        text = front.marked_text()
    return text[:MAX_FRONT_CHARS]


@dataclass(frozen=True)
class Candidate:
    """One model mention to classify: its number in the prompt and where it sits."""

    id: int
    name: str
    family: str
    developer: str | None
    developer_country: str | None
    start: int  # offsets into Document.full_text
    end: int
    snippet: str  # the text shown to the model (mention marked «...»)
    window_start: int  # full_text offset where the snippet's source window starts
    window_end: int


def references_start(text: str) -> int:
    """Offset where the bibliography starts (len(text) when none is found late enough)."""
    m = None
    for m in _REFS_RE.finditer(text):  # noqa: B007 - the last match is the one wanted
        pass
    return m.start() if m and m.start() > len(text) * 0.3 else len(text)


def _snippet(text: str, start: int, end: int) -> tuple[str, int, int]:
    lo, hi = max(0, start - WINDOW), min(len(text), end + WINDOW)
    before = _SPACE_RE.sub(" ", text[lo:start])
    after = _SPACE_RE.sub(" ", text[end:hi])
    mention = _SPACE_RE.sub(" ", text[start:end])
    return f"…{before}«{mention}»{after}…".replace('"', "'"), lo, hi


def candidates(document: Document, taxonomy: object) -> list[Candidate]:
    """Pick the snippets to classify: per family, cue-word windows first, then earliest."""
    text = document.full_text or ""
    if not text:
        return []
    hits = taxonomy.find(text)  # type: ignore[attr-defined]
    refs = references_start(text)
    by_family: dict[str, list] = {}
    for hit in hits:
        by_family.setdefault(hit.family, []).append(hit)
    chosen = []
    for fam_hits in by_family.values():
        body = [h for h in fam_hits if h.start < refs] or fam_hits[:1]

        def rank(h: object) -> tuple[int, int]:
            lo, hi = max(0, h.start - WINDOW), h.end + WINDOW  # type: ignore[attr-defined]
            return (0 if _CUE_RE.search(text, lo, hi) else 1, h.start)  # type: ignore[attr-defined]

        picked: list = []
        for h in sorted(body, key=rank):
            if all(abs(h.start - p.start) > WINDOW for p in picked):  # no overlapping windows
                picked.append(h)
            if len(picked) == PER_FAMILY:
                break
        chosen.extend(picked)
    chosen.sort(key=lambda h: h.start)
    chosen = chosen[:MAX_SNIPPETS]
    out = []
    for i, h in enumerate(chosen, start=1):
        snippet, lo, hi = _snippet(text, h.start, h.end)
        out.append(Candidate(i, h.name, h.family, h.developer, h.developer_country, h.start, h.end, snippet, lo, hi))
    return out


def snippets_text(cands: list[Candidate]) -> str:
    """The numbered list the model_roles prompt shows, one snippet a line."""
    return "\n".join(f'[{c.id}] {c.name} (family {c.family}): "{c.snippet}"' for c in cands)
