"""Text normalisation and phrase lookup shared by the resolver and its gazetteers.

Every gazetteer name, alias, place name and affiliation string goes through the same
:func:`tokenize` / :func:`norm_token`, so a lookup is a dictionary hit on a tuple of
normalised tokens rather than a scan over thousands of names.  Tokens keep their
character offsets in the cleaned text, which lets callers tell *where* a name was found
(a place inside an institution's own name is not a stated location).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

# Footnote marks and symbols that PDF text puts before/after affiliation strings.
_MARKS = "*†‡§¶‖#♢♦♣♠♥❤⋆∗★☆✝✦✧•◇◆○●□■△▲▽▼✉⊥⊤⊣⊢⋄∘¹²³⁴⁵⁶⁷⁸⁹⁰"
_MARK_RE = re.compile(f"[{re.escape(_MARKS)}]")
_LEAD_NUM_RE = re.compile(r"^\s*(?:\d{1,2}|[a-z])(?=[A-Z])")  # "2Microsoft", "aDept."
#: The first word of a text, when it starts with a lower-case letter before a capital.
_LEAD_LETTER_WORD_RE = re.compile(r"^\s*([a-z][A-Z][\w.&-]*)")
_SPACING_ACCENT_RE = re.compile(r"\s?[´`¨ˆ˜˚¸]\s?")  # "Montr ´eal" from PDF extraction
_WS_RE = re.compile(r"\s+")
#: A spaced dash, middle dot, bullet or bar that other templates print between the parts of
#: an affiliation where NeurIPS prints a comma ("Dept. of EE – Duke University – Durham").
_SEPARATOR_RE = re.compile(r"\s+[-–—·•∙|]\s+")
_TOKEN_RE = re.compile(r"[^\W_]+(?:['’&][^\W_]+)*")  # AT&T, A&M, R&D stay one token
_ELISION_RE = re.compile(r"^[ldLD]['’]")

#: Words that carry no identity in a name ("University *of* X" == "X University"? no:
#: order is kept, only these are dropped so "Institute for X" == "Institute of X").
STOPWORDS = frozenset(
    "of the de di da do der des du la le les del della delle degli dei for fur für at "
    "in and und et y".split()
)

#: Company-form suffixes: "Google Inc." and "Google" are the same organisation.
CORPORATE_SUFFIXES = frozenset(
    "inc incorporated ltd limited llc corp corporation co gmbh ag plc sa srl bv kk".split()
)

#: Abbreviations and foreign forms mapped to one English token (applied to every name).
EXPANSIONS = {
    "univ": "university", "universitat": "university", "universite": "university",
    "universidad": "university", "universita": "university", "universiteit": "university",
    "universitet": "university", "universidade": "university", "uniwersytet": "university",
    "universiti": "university", "universitas": "university", "universitaet": "university",
    "inst": "institute", "institut": "institute", "instituto": "institute",
    "istituto": "institute", "technol": "technology", "tech": "technology",
    "dept": "department", "depts": "departments", "sci": "science", "natl": "national",
    "lab": "laboratory", "labs": "laboratory", "laboratories": "laboratory",
    "labo": "laboratory", "centre": "center", "ctr": "center", "st": "saint",
    "intl": "international", "engg": "engineering", "eng": "engineering",
    "coll": "college", "acad": "academy", "maths": "mathematics", "math": "mathematics",
    "comp": "computer", "elec": "electrical", "organisation": "organization",
    "polytechnique": "polytechnic", "politecnico": "polytechnic",
    # the abbreviations of ISO 4 and IEEE reference style that affiliation lines print
    "res": "research", "nat": "national", "info": "information", "inf": "information",
    "dep": "department", "grad": "graduate", "comput": "computer", "sciences": "science",
}

_DROP = STOPWORDS | CORPORATE_SUFFIXES
_SPECIAL = str.maketrans({"ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "ł": "l", "Ł": "l",
                          "đ": "d", "Đ": "d", "ı": "i", "œ": "oe", "Œ": "oe", "ð": "d",
                          "þ": "th", "’": "", "'": ""})


_GERMAN_ASCII = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})


def transliteration(name: str) -> str | None:
    """The ASCII spelling German writes for its umlauts ("München" -> "Muenchen", "Zürich"
    -> "Zuerich"), which :func:`strip_accents` does not give; None if there is none."""
    out = name.translate(_GERMAN_ASCII)
    return out if out != name else None


def strip_accents(text: str) -> str:
    """ASCII-fold Latin text: Zürich -> Zurich, Montréal -> Montreal, Łódź -> Lodz."""
    text = text.translate(_SPECIAL)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def clean(raw: str) -> str:
    """Tidy a raw affiliation string as PDFs give it; offsets refer to this result.

    NFKC folds ligatures ("Artiﬁcial"), a spaced dash, dot or bar between parts becomes a
    comma (:func:`separators` counts them alike in names), footnote marks and a leading footnote number or
    letter are dropped (not the "i" of "iFLYTEK" or the "e" of "eBay"), PDF spacing accents are rejoined and whitespace collapses to single spaces.
    """
    text = _SPACING_ACCENT_RE.sub("", raw) if ("´" in raw or "`" in raw or "¨" in raw) else raw
    text = unicodedata.normalize("NFKC", text)
    text = _SEPARATOR_RE.sub(", ", text)
    text = _MARK_RE.sub(" ", text)
    if not _keeps_lead_letter(text):
        text = _LEAD_NUM_RE.sub("", text)
    text = _WS_RE.sub(" ", text).strip(" ,;:-–—.")
    return text


def separators(text: str) -> int:
    """How many part separators a text or a name holds: commas, semicolons and the spaced
    dashes that :func:`clean` turns into commas ("Mila - Quebec AI Institute" has one)."""
    return text.count(",") + text.count(";") + len(_SEPARATOR_RE.findall(text))


def _keeps_lead_letter(text: str) -> bool:
    """Is a leading "aB..." a name that starts in lower case (iFLYTEK, eBay, xAI) rather
    than a footnote letter before a name ("aDepartment", "bGoogle")?

    A footnote letter and such a name have the same shape ("eBay" / "aBeijing", "iFLYTEK"
    / "aMIT"), so the word decides: it is kept whole when it is a known name that starts
    in lower case (see :func:`lower_prefixed_names`).
    """
    m = _LEAD_LETTER_WORD_RE.match(text)
    if m is None:
        return False
    word = m.group(1).rstrip(".-")
    return word.casefold() in lower_prefixed_names()


@functools.cache
def lower_prefixed_names() -> frozenset[str]:
    """Casefolded first words of gazetteer names and aliases that start with a lower-case
    letter before a capital ("iFLYTEK", "eBay", "xAI"): never a footnote letter + name.
    Read once from organisations.jsonl (names and aliases, not the derived tables)."""
    words: set[str] = set()
    try:
        from extractor.resolve.entries import load_organisations

        for e in load_organisations():
            for spelling in (e.name, *e.aliases):
                m = _LEAD_LETTER_WORD_RE.match(spelling)
                if m:
                    words.add(m.group(1).rstrip(".-").casefold())
    except (OSError, ValueError):
        pass
    return frozenset(words)


@dataclass(frozen=True, slots=True)
class Token:
    """A word of the cleaned text: its normalised form ("" if dropped) and its span."""

    norm: str
    start: int
    end: int


_norm_cache: dict[str, str] = {}


def norm_token(word: str, drop: frozenset[str] = _DROP) -> str:
    """Normalise one word; stop words and company suffixes become ""."""
    cached = _norm_cache.get(word)
    if cached is not None and drop is _DROP:
        return cached
    w = _ELISION_RE.sub("", word)
    w = strip_accents(w).casefold()
    w = EXPANSIONS.get(w, w)
    out = "" if w in drop else w
    if drop is _DROP and len(_norm_cache) < 200_000:
        _norm_cache[word] = out
    return out


def tokenize(text: str) -> list[Token]:
    """Words of ``text`` with offsets; dropped words are kept with ``norm == ""``."""
    return [Token(norm_token(m.group()), m.start(), m.end()) for m in _TOKEN_RE.finditer(text)]


def key_tokens(text: str) -> tuple[str, ...]:
    """The lookup key of a name: its normalised, non-dropped tokens."""
    return tuple(t for t in (norm_token(m.group()) for m in _TOKEN_RE.finditer(text)) if t)


def key(text: str) -> str:
    """The lookup key of a name as one string ("Univ. of Tübingen" -> "university tubingen")."""
    return " ".join(key_tokens(text))


def compact(text: str) -> str:
    """Letters and digits only, case kept: compares 'M.I.T.' with 'MIT'."""
    return "".join(c for c in text if c.isalnum())


@dataclass(frozen=True, slots=True)
class PhraseHit(Generic[T]):
    """A phrase found in a text: token range, character span and matching values."""

    tok_start: int
    tok_end: int
    start: int
    end: int
    values: tuple[T, ...]


class PhraseIndex(Generic[T]):
    """Multi-token phrase dictionary: finds known phrases in tokenised text in O(tokens).

    Phrases are stored by their normalised token tuple; for each first token we keep the
    phrase lengths that start with it, so a scan tries only lengths that can match.
    """

    def __init__(self) -> None:
        self._phrases: dict[tuple[str, ...], list[T]] = {}
        self._lengths: dict[str, tuple[int, ...]] = {}
        self._building: dict[str, set[int]] = {}

    def add(self, tokens: tuple[str, ...], value: T) -> None:
        if not tokens:
            return
        self._phrases.setdefault(tokens, []).append(value)
        self._building.setdefault(tokens[0], set()).add(len(tokens))
        self._lengths.pop(tokens[0], None)

    def get(self, tokens: tuple[str, ...]) -> list[T]:
        return self._phrases.get(tokens, [])

    def __len__(self) -> int:
        return len(self._phrases)

    def values(self) -> Iterable[list[T]]:
        """The values stored under each phrase."""
        return self._phrases.values()

    def _lens(self, first: str) -> tuple[int, ...]:
        lens = self._lengths.get(first)
        if lens is None:
            lens = tuple(sorted(self._building.get(first, ()), reverse=True))
            self._lengths[first] = lens
        return lens

    def scan(
        self,
        text: str,
        tokens: list[Token],
        accept: Callable[[T, str], bool] | None = None,
        greedy: bool = True,
    ) -> list[PhraseHit[T]]:
        """Find phrases, longest first at each position.

        Args:
            text: the cleaned text the tokens index (for ``accept`` checks on the surface form).
            tokens: from :func:`tokenize`; dropped tokens are skipped when matching.
            accept: optional filter ``(value, surface_text) -> bool`` (case rules).
            greedy: if True, hits do not overlap (left to right, longest first);
                otherwise the longest hit starting at every token is returned.
        """
        kept = [i for i, t in enumerate(tokens) if t.norm]
        norms = [tokens[i].norm for i in kept]
        hits: list[PhraseHit[T]] = []
        n = len(kept)
        i = 0
        while i < n:
            matched = 0
            for length in self._lens(norms[i]):
                if i + length > n:
                    continue
                values = self._phrases.get(tuple(norms[i : i + length]))
                if not values:
                    continue
                first, last = tokens[kept[i]], tokens[kept[i + length - 1]]
                surface = text[first.start : last.end]
                ok = tuple(v for v in values if accept is None or accept(v, surface))
                if ok:
                    hits.append(PhraseHit(kept[i], kept[i + length - 1] + 1, first.start, last.end, ok))
                    matched = length
                    break
            i += matched if (greedy and matched) else 1
        return hits


def title_like(surface: str) -> bool:
    """True if the surface form starts with an upper-case letter (or digit)."""
    return bool(surface) and (surface[0].isupper() or surface[0].isdigit())


def iter_unique(values: Iterable[T]) -> list[T]:
    """Order-preserving de-duplication."""
    seen: set[T] = set()
    out = []
    for v in values:
        if v not in seen:
            seen.add(v)
            out.append(v)
    return out
