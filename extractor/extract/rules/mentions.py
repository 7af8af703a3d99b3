"""Model mentions: taxonomy hits in the title, abstract and body, never the bibliography.

The body is the document's full text with the parts that are not prose about models
blanked out (same length, so offsets stay valid for evidence): the author block and
page-1 footnotes (an affiliation such as "DeepSeek-AI" or "Mistral AI" is not a use of
the model) and the bibliography, from the last "References" / "Bibliography" heading to
an appendix heading after it or the end (a cited title is not a use; an appendix that
evaluates a model is). Citation keys ("(DeepSeek, 2025)"), software ("LLaMA Factory",
"Hugging Face Transformers", "HF Transformers", "Megatron-LM framework"), data sets ("Alpaca dataset",
"MetaMath (en)", "WizardLM-Evol-Instruct-70K"), programs named by their source file
("llama.cpp") and metrics ("CLIP score") named after a model are not model mentions either.
Role stays null: the LLM backend classifies roles.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from extractor.resolve.models import plain_punctuation
from extractor.schemas import Alignment, Document, Evidence, ModelMention, Where

_REFS_RE = re.compile(r"\n\s*(?:\d+\.?\s*|[IVX]+\.?\s*)?(references|bibliography|literature cited)\s*\n", re.IGNORECASE)


def body_text(document: Document) -> str:
    """Full text with the author block, page-1 footnotes and the bibliography blanked."""
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


# An appendix that follows the bibliography is body text again ("A Appendix", "Appendix A:
# Proofs", "Supplementary Material"): a model used only in the appendix is still used.
# Also a lettered section heading on a line after its letter ("A\nImplementation Details",
# "B.1\nUSER STUDY"): bibliography entries never put a lone capital letter on a line.
_APPENDIX_RE = re.compile(
    r"^[ \t\f]*(?:[A-Z](?:\.\d+)?\.?[ \t]*\n?[ \t]*)?(?:Appendix|APPENDIX|Appendices|APPENDICES|"
    r"Supplementary Materials?|SUPPLEMENTARY MATERIALS?|Supplemental Materials?|Technical Appendix)\b[^\n]{0,80}$"
    r"|^[ \t\f]*[A-H](?:\.1)?[ \t]*\n[ \t]*[A-Z][A-Za-z\-]+(?:[ \t]+[A-Za-z&][\w\-:&]*){0,8}[ \t]*$",
    re.MULTILINE)


def strip_references(text: str) -> str:
    """The text with the bibliography blanked: from the last bibliography heading (when it is
    past the first 30%) to the first appendix heading after it, or to the end.

    Searched backwards with ``rfind`` for the heading words, then checked as a line of
    its own: a regular expression over the whole paper is several times slower. Blanked
    with spaces so offsets into the text stay valid.
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
    if best <= len(text) * 0.3:
        return text
    appendix = _APPENDIX_RE.search(text, best)
    if appendix is None:
        return text[:best]
    return text[:best] + " " * (appendix.start() - best) + text[appendix.start():]


# "(Deepseek, 2025)", "(Kimi et al., 2025)", "Kimi Team, 2025": a citation key, not a model
_CITATION_AFTER_RE = re.compile(r"^[\w\-]*(?:\s+(?:Team|AI|Inc\.?))?(?:\s+et\s+al\.?)?,?\s*\(?(?:19|20)\d\d[a-z]?\b")
# "LLaMA Factory", "Megatron-LM codebase", "Hugging Face Transformers": software, not a model
_SOFTWARE_AFTER_RE = re.compile(  # up to three capitalised words between: "Transformer Reinforcement Learning (TRL) library"
    r"^[\w\-]*(?:['’]s)?(?:[\s\-]+[A-Z][\w\-]*){0,3}[\s\-]*(?:\([^()\n]{0,20}\)\s*)?(?:factory|code\s?base|library|libraries|toolkit|package|framework|repository|"
    r"(?:tensor|pipeline|model)[\s\-]parallel\w*|parallelism)\b", re.IGNORECASE)
# "llama.cpp", "whisper.cpp", "Transformers.js": a program named after the model by its source file
_SOURCE_FILE_AFTER_RE = re.compile(r"^\.(?:cpp|cc|c|h|js|ts|py|jl|rs|go|java)\b")
# "HF Transformers": the Hugging Face library, by the short name of its maker
_LIBRARY_NAME = "Transformers"
_LIBRARY_MAKER_BEFORE_RE = re.compile(r"\b(?:HF|HuggingFace)\s*$")
_SOFTWARE_BEFORE_RE = re.compile(
    r"(?:hugging\s?face(?:'s|’s)?|🤗|(?:version|fork|branch|release)\s+of\s+(?:the\s+)?)\s*$", re.IGNORECASE)
# "Alpaca dataset", "the NLLB corpus", "translation datasets, NLLB", "datasets, such as Tulu-v2",
# "calibration corpora (Alpaca, ...": a data set named after a model
_DATA_AFTER_RE = re.compile(r"^[\w\-]*\s*(?:\([^()\n]{0,60}\)\s*)?(?:data\s?sets?|corpus|corpora)\b", re.IGNORECASE)
_DATA_BEFORE_RE = re.compile(r"(?:data\s?sets?|corpus|corpora)\s*(?:[,:(]\s*)?(?:such as|like|including|e\.g\.,?)?\s*$",
                             re.IGNORECASE)
# a data-mixture table: "MetaMath (en) [281]", "ShareGPT (en&zh)": a language tag marks a corpus
_LANGUAGE_TAG_AFTER_RE = re.compile(
    r"^[\w.+\-]*\s?\((?:en|zh|ja|ko|fr|de|es|ru|ar|pt|it|vi|th|id|hi|tr|pl|nl|cs)"
    r"(?:\s?[&/,+]\s?(?:en|zh|ja|ko|fr|de|es|ru|ar|pt|it|vi|th|id|hi|tr|pl|nl|cs))*\)")
# "WizardLM-Evol-Instruct-70K", "ToRA-69k": a count of examples in the name marks a data set
# ("Yi-34B-200K" counts tokens of context after a parameter count and stays a model)
_EXAMPLE_COUNT_AFTER_RE = re.compile(r"^[\w.+\-]*?-\d+(?:\.\d+)?[Kk](?![\w])")
_PARAMS_RE = re.compile(r"\d(?:[Bb]|M)(?![a-z])")
# "CLIP score", "Inception Score": a metric computed with a model, not a mention of using it
_METRIC_AFTER_RE = re.compile(r"^[\s\-]?scores?\b", re.IGNORECASE)


def is_citation_or_software(text: str, start: int, end: int) -> bool:
    """Is the hit at text[start:end] a citation key, software, a data set or a metric named
    after a model rather than the model itself?"""
    after = text[end : end + 40]
    if _METRIC_AFTER_RE.match(after) or _DATA_AFTER_RE.match(after) or _LANGUAGE_TAG_AFTER_RE.match(after):
        return True
    count = _EXAMPLE_COUNT_AFTER_RE.match(after)
    if count is not None and not _PARAMS_RE.search(text[start:end] + count.group(0)):
        return True
    if _DATA_BEFORE_RE.search(text[max(0, start - 40) : start]):
        return True
    if _CITATION_AFTER_RE.match(after):
        before = text[max(0, start - 3) : start]
        if "(" in before or ";" in before or "," in before or after.lstrip().startswith(("et al", "Team")):
            return True
    if _SOFTWARE_AFTER_RE.match(after) or _SOURCE_FILE_AFTER_RE.match(after):
        return True
    if text[start:end] == _LIBRARY_NAME and _LIBRARY_MAKER_BEFORE_RE.search(text[max(0, start - 20) : start]):
        return True
    return bool(_SOFTWARE_BEFORE_RE.search(text[max(0, start - 30) : start]))


# a name broken at a line end: a word the typesetter split ("Stable Diffu-\nsion", "Chin-\nchilla")
# loses its hyphen; a compound broken after its own hyphen ("XLM-\nRoBERTa", "GPT-\n4") keeps it
_LINE_BREAK_HYPHEN = re.compile(r"(?<=[^\W_])-\n(?=[^\W_])")  # any script's letters: "Nyströ-\nmformer"


def _hits(find: Callable[[str], list], text: str) -> list:
    """Taxonomy hits of ``text``, plus the names that a line-end hyphen splits.

    Each split is looked at in a short window around it (a second pass over the whole
    paper would double the matching time): between two lower-case letters the hyphen is
    likelier the typesetter's and is removed first, otherwise (a capital on either side)
    likelier the name's own and only the line end is; between two letters the other reading
    is tried when the first crosses no name ("Lla-\nMA" is LLaMA, "t2i-\nadapter" keeps its
    hyphen). A digit on either side keeps it ("GPT-\n4"). Only hits that cross the break are added,
    mapped back to the original offsets, and they replace the hits of the first half
    alone ("XLM" of "XLM-\nRoBERTa"); a real compound broken after its hyphen
    ("Llama-\nbased") keeps its ordinary hit.
    """
    hits = find(text)
    if "-\n" not in text:
        return hits
    extra = []
    for m in _LINE_BREAK_HYPHEN.finditer(text):
        b = m.start()
        lo = text.find(" ", max(0, b - 40), b)  # start the window at a word start
        lo = 0 if b < 40 else (lo + 1 if lo >= 0 else b - 1)
        hi = text.rfind(" ", b + 2, b + 42)
        hi = hi if hi > b + 2 else min(len(text), b + 42)
        typeset = text[b - 1].islower() and text[b + 2].islower()
        forms: tuple[str, ...] = ("", "-") if typeset else ("-", "")  # what stays of "-\n", the likelier first
        if not (text[b - 1].isalpha() and text[b + 2].isalpha()):
            forms = forms[:1]  # a digit on either side: the name's own hyphen ("GPT-\n4")
        for keep in forms:
            cut, removed = b - lo + len(keep), 2 - len(keep)
            crossing = [h for h in find(text[lo:b] + keep + text[b + 2 : hi]) if h.start < cut < h.end]
            if crossing:
                extra += [replace(h, start=lo + h.start, end=lo + h.end + removed) for h in crossing]
                break
    if not extra:
        return hits
    covered = [(h.start, h.end) for h in extra]
    kept = [h for h in hits if not any(s <= h.start < e for s, e in covered)]
    return sorted(kept + extra, key=lambda h: h.start)


def _derivative_bases(text: str, hits: list) -> set[int]:
    """Indexes of hits that name the base model inside another model's name: a second family
    in the same hyphen-joined token ("Ovis1.6-Gemma2-9B", "LLaVA-NeXT-Vicuna-13B") is what
    the first was built on, not a model the paper names."""
    out = set()
    for i in range(1, len(hits)):
        h, prev = hits[i], hits[i - 1]
        if h.family != prev.family and prev.start < h.start and text[h.start - 1 : h.start] == "-" and \
                not any(c.isspace() for c in text[prev.start : h.start]):
            out.add(i)
    return out


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
    for where, printed in zones:
        text = plain_punctuation(printed)  # same length: offsets stay those of the document
        hits = _hits(find, text)
        bases = _derivative_bases(text, hits)
        for i, hit in enumerate(hits):
            if i in bases or is_citation_or_software(text, hit.start, hit.end):
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
