"""Model mentions: taxonomy hits in the title, abstract and body, never the bibliography.

The body is the document's full text with the parts that are not prose about models
blanked out (same length, so offsets stay valid for evidence): the author block and
page-1 footnotes (an affiliation such as "DeepSeek-AI" or "Mistral AI" is not a use of
the model) and everything from the last "References" / "Bibliography" heading on
(a cited title is not a use). Role stays null: the LLM backend classifies roles.
"""

from __future__ import annotations

import re

from extractor.schemas import Alignment, Document, Evidence, ModelMention, Where

_REFS_RE = re.compile(r"\n\s*(?:\d+\.?\s*|[IVX]+\.?\s*)?(references|bibliography|literature cited)\s*\n", re.IGNORECASE)


def body_text(document: Document) -> str:
    """Full text without the author block, page-1 footnotes and the bibliography."""
    text = document.full_text or ""
    front = document.front
    if front is not None and text.startswith(front.text[:200]):
        chars = list(text)
        skip = set(front.author_lines) | set(front.footnote_lines)
        if front.venue_line is not None:
            skip.add(front.venue_line)
        for i in skip:
            if 0 <= i < len(front.lines):
                ln = front.lines[i]
                for k in range(ln.start, min(ln.end, len(chars))):
                    if chars[k] != "\n":
                        chars[k] = " "
        text = "".join(chars)
    return strip_references(text)


def strip_references(text: str) -> str:
    """Text before the last bibliography heading (when it is past the first 30%).

    Searched backwards with ``rfind`` for the heading words, then checked as a line of
    its own: a regular expression over the whole paper is several times slower.
    """
    low = text.lower()
    best = -1
    for word in ("references", "bibliography", "literature cited"):
        pos = len(low)
        while True:
            pos = low.rfind(word, 0, pos)
            if pos <= best or pos < 0:
                break
            start = max(low.rfind("\n", 0, pos), low.rfind("\f", 0, pos)) + 1  # page breaks end lines too
            end = low.find("\n", pos)
            line = low[start : end if end >= 0 else len(low)]
            if _REFS_RE.fullmatch("\n" + line + "\n"):
                best = start
                break
    return text[:best] if best > len(text) * 0.3 else text


# "(Deepseek, 2025)", "(Kimi et al., 2025)", "Kimi Team, 2025": a citation key, not a model
_CITATION_AFTER_RE = re.compile(r"^[\w\-]*(?:\s+(?:Team|AI|Inc\.?))?(?:\s+et\s+al\.?)?,?\s*\(?(?:19|20)\d\d[a-z]?\b")
# "LLaMA Factory", "Megatron-LM codebase", "Hugging Face Transformers": software, not a model
_SOFTWARE_AFTER_RE = re.compile(r"^[\w\-]*[\s\-]*(?:factory|codebase|library|libraries|toolkit|package)\b", re.IGNORECASE)
_SOFTWARE_BEFORE_RE = re.compile(r"(?:hugging\s?face(?:'s|’s)?|🤗)\s*$", re.IGNORECASE)


def is_citation_or_software(text: str, start: int, end: int) -> bool:
    """Is the hit at text[start:end] a citation key or the name of a software package?"""
    after = text[end : end + 40]
    if _CITATION_AFTER_RE.match(after):
        before = text[max(0, start - 3) : start]
        if "(" in before or ";" in before or "," in before or after.lstrip().startswith(("et al", "Team")):
            return True
    if _SOFTWARE_AFTER_RE.match(after):
        return True
    return bool(_SOFTWARE_BEFORE_RE.search(text[max(0, start - 20) : start]))


def find_mentions(document: Document, taxonomy: object) -> list[ModelMention]:
    """One mention per family: where it is first named, how often the body names it."""
    find = getattr(taxonomy, "find", None)
    if find is None:
        return []
    front = document.front
    zones: list[tuple[Where, str]] = []
    if front is not None and front.title:
        zones.append((Where.TITLE, front.title))
    if front is not None and front.abstract:
        zones.append((Where.ABSTRACT, front.abstract))
    zones.append((Where.BODY, body_text(document)))
    found: dict[str, ModelMention] = {}
    for where, text in zones:
        for hit in find(text):
            if is_citation_or_software(text, hit.start, hit.end):
                continue
            m = found.get(hit.family)
            if m is None:
                found[hit.family] = ModelMention(
                    name=hit.name,
                    family=hit.family,
                    developer=getattr(hit, "developer", None),
                    developer_country=getattr(hit, "developer_country", None),
                    where=where,
                    count=1 if where == Where.BODY else 0,
                    evidence=Evidence(source="full", start=hit.start, end=hit.end, alignment=Alignment.EXACT)
                    if where == Where.BODY else None,
                )
            elif where == Where.BODY:
                m.count += 1
                if m.evidence is None:
                    m.evidence = Evidence(source="full", start=hit.start, end=hit.end, alignment=Alignment.EXACT)
    for m in found.values():
        m.count = max(m.count, 1)
    return sorted(found.values(), key=lambda m: (-m.count, m.family))
