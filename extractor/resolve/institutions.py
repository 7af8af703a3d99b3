"""The institution gazetteer index: exact, alias and fuzzy lookup of organisation names.

Names and aliases are stored by their normalised token tuple in a :class:`PhraseIndex`,
so finding every known organisation inside an affiliation string costs a few dictionary
hits per word.  Fuzzy matching (rapidfuzz) runs only when nothing matched exactly, and
only over candidates that share a rare word with the string — never over all ~10k names.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, replace

from rapidfuzz import fuzz

from extractor.resolve.entries import OrgEntry
from extractor.resolve.text import (
    CORPORATE_SUFFIXES,
    PhraseIndex,
    Token,
    compact,
    key,
    key_tokens,
    norm_token,
    separators,
    transliteration,
)
from extractor.schemas import Method

#: A word in more names than this is too common to propose fuzzy candidates.
MAX_CANDIDATE_DF = 150
FUZZY_CUTOFF = 90.0
#: Words that say what kind of organisation a name is, not which one: they neither
#: propose fuzzy candidates nor count as evidence that a candidate is the right one.
GENERIC_WORDS = frozenset("""
university institute college school laboratory center academy technology science sciences
research national state key engineering applied studies advanced international group
company foundation hospital medical polytechnic systems information computer ai
artificial intelligence data department faculty graduate federal central southern
northern eastern western south north east west new city technical normal open
""".split())


#: Words that may follow a one-word listed-company name in its segment ("Visa Research",
#: "Acme AI Labs, Inc."): what kind of unit of the company it is, not another name.
COMPANY_UNIT_WORDS = frozenset("""
research ai laboratory technology technologies group applied science sciences data ml
nlp digital cloud innovation innovations center company corporate health foundation
""".split()) | CORPORATE_SUFFIXES
#: Text right before a segment's first word: start, a separator, or a conjunction.
_SEGMENT_HEAD_RE = re.compile(r"(?:^|[,;(/&+–—]|\band|\bat)\s*$", re.IGNORECASE)
_SEGMENT_END_RE = re.compile(r"[,;()]")
_WORD_RE = re.compile(r"[^\W_]+")
_PART_RE = re.compile(r"[^,;]+")
_PART_END_RE = re.compile(r"\s*(?:[,;()/&]|and\b|$)")


def company_in_place(text: str, start: int, end: int, single_word: bool) -> bool:
    """Is a listed-company name found at text[start:end] written as an organisation?

    The company list holds names that are also words or surnames ("Target", "Universal",
    "Lindsay"), so its names count only where an affiliation names its organisation: in
    capitals, at the head of a comma-separated segment ("Dept. X, Acme Corp"; "U of Y and
    Acme"); a one-word name only with nothing after it in its segment but a corporate
    suffix or a unit word ("Visa Research", "Comcast Inc.").
    """
    surface = text[start:end]
    if not surface[:1].isupper() or not _SEGMENT_HEAD_RE.search(text[:start]):
        return False
    if not single_word:
        return True
    stop = _SEGMENT_END_RE.search(text, end)
    rest = text[end : stop.start() if stop else len(text)]
    return all(norm_token(w) in COMPANY_UNIT_WORDS or norm_token(w) == "" for w in _WORD_RE.findall(rest))


@dataclass(frozen=True, slots=True)
class NameRef:
    """An indexed spelling of an entry: its canonical name or one of its aliases."""

    entry: OrgEntry
    alias: str
    method: Method  # GAZETTEER_EXACT for the name, GAZETTEER_ALIAS otherwise
    exact_case: bool  # short upper-case aliases (MIT, NTU, FAIR) must match in case


@dataclass(frozen=True, slots=True)
class InstitutionMatch:
    """An organisation found in a text (several refs when a spelling is ambiguous)."""

    refs: tuple[NameRef, ...]
    start: int
    end: int
    method: Method
    score: float

    @property
    def entries(self) -> list[OrgEntry]:
        return list(dict.fromkeys(r.entry for r in self.refs))


def _needs_exact_case(alias: str, entry: OrgEntry) -> bool:
    c = compact(alias)
    return alias in entry.case_sensitive or (c.isupper() and len(c) <= 6) or len(c) <= 3


class InstitutionIndex:
    """All organisations: the hand-written table merged with the university list, then the
    listed companies that no other entry names."""

    def __init__(self, organisations: list[OrgEntry], universities: list[OrgEntry],
                 companies: list[OrgEntry] | None = None, spellings: dict[str, str] | None = None) -> None:
        """``spellings``: word -> the one spelling names are compared in when their words
        are matched as a set (city names: "roma" -> "rome"), see :meth:`by_words`."""
        self._spellings = spellings or {}
        self.entries: list[OrgEntry] = []
        self.by_key: dict[str, list[OrgEntry]] = {}
        self.domains: dict[str, OrgEntry] = {}
        self._phrases: PhraseIndex[NameRef] = PhraseIndex()
        self._merge(organisations, universities, companies or [])
        self._build()

    # ------------------------------------------------------------------ building
    def _merge(self, organisations: list[OrgEntry], universities: list[OrgEntry],
               companies: list[OrgEntry]) -> None:
        """Fold list entries into the hand-written entry that describes them.

        A listed company takes part only when no other entry answers to its name: the
        hand-written table and the university list decide every name they hold."""
        by_domain: dict[str, OrgEntry] = {}
        by_name: dict[tuple[str, str | None], OrgEntry] = {}
        for org in organisations:
            for d in org.domains:
                by_domain.setdefault(d, org)
            for spelling in [org.name, *org.aliases]:
                by_name.setdefault((key(spelling), org.country), org)
        kept: list[OrgEntry] = []
        for uni in universities:
            owner = next((by_domain[d] for d in uni.domains if d in by_domain), None)
            owner = owner or by_name.get((key(uni.name), uni.country))
            if owner is None or owner.country != uni.country:
                kept.append(uni)
                continue
            if key(uni.name) != key(owner.name) and uni.name not in owner.aliases:
                owner.aliases.append(uni.name)
            owner.domains.extend(d for d in uni.domains if d not in owner.domains)
        taken = {key(s) for e in organisations + kept for s in (e.name, *e.aliases)}
        owned = {d for e in organisations + kept for d in e.domains}
        for co in companies:
            owner = next((by_domain[d] for d in co.domains if d in by_domain), None)
            if owner is not None and owner.country == co.country:
                continue  # the hand-written entry describes it (and knows its sites)
            if key(co.name) in taken or not key(co.name):
                continue
            co.domains = [d for d in co.domains if d not in owned]
            taken.add(key(co.name))
            kept.append(co)
        self.entries = organisations + kept
        for i, e in enumerate(self.entries):
            e.id = i

    def _auto_aliases(self) -> dict[str, OrgEntry]:
        """'University of Michigan - Ann Arbor' also answers to 'University of Michigan'
        when no other entry claims that shorter name."""
        proposals: dict[str, list[OrgEntry]] = {}
        for e in self.entries:
            if e.source != "universities":
                continue
            for sep in (" - ", ", "):
                if sep in e.name:
                    head = e.name.split(sep, 1)[0].strip()
                    if len(key_tokens(head)) >= 2:
                        proposals.setdefault(key(head), []).append(e)
        return {k: v[0] for k, v in proposals.items() if len(v) == 1 and k not in self.by_key}

    def _build(self) -> None:
        for e in self.entries:
            for d in e.domains:
                self.domains.setdefault(d, e)
            self._add(e, e.name, Method.GAZETTEER_EXACT)
            for alias in e.aliases:
                self._add(e, alias, Method.GAZETTEER_ALIAS)
            for spelling in (e.name, *e.aliases):
                german = transliteration(spelling)
                if german is not None:
                    self._add(e, german, Method.GAZETTEER_ALIAS)
        for k, e in self._auto_aliases().items():
            self._phrases.add(tuple(k.split()), NameRef(e, k, Method.GAZETTEER_ALIAS, False))
            self.by_key.setdefault(k, []).append(e)
        # inverted index of rare words for fuzzy candidates
        df: Counter[str] = Counter()
        names: dict[int, str] = {}
        postings: dict[str, list[int]] = {}
        for e in self.entries:
            if e.source == "companies":
                continue  # a listed company is found only as written (see company_in_place)
            k = key(e.name)
            names[e.id] = k
            for tok in set(k.split()) - GENERIC_WORDS:
                df[tok] += 1
                postings.setdefault(tok, []).append(e.id)
        self._fuzzy_names = names
        self._postings = {t: ids for t, ids in postings.items() if df[t] <= MAX_CANDIDATE_DF and len(t) > 1}
        self._bags = self._word_bags()

    def _word_bags(self) -> dict[frozenset[str], OrgEntry]:
        """Each name's set of words -> its entry, for names written in another word order
        ("University of Tsinghua", "Rome Tor Vergata University"); a set that two entries
        share, of fewer than two words or of generic words only, is left out."""
        bags: dict[frozenset[str], set[int]] = {}
        for e in self.entries:
            if e.source == "companies":
                continue
            for spelling in (e.name, *e.aliases):
                toks = key_tokens(spelling)
                if len(set(toks) - GENERIC_WORDS) < 1 or len(toks) < 2 or len(toks) != len(set(toks)):
                    continue
                bags.setdefault(self._bag(toks), set()).add(e.id)
        return {bag: self.entries[next(iter(ids))] for bag, ids in bags.items() if len(ids) == 1}

    def _bag(self, toks: tuple[str, ...]) -> frozenset[str]:
        return frozenset(self._spellings.get(t, t) for t in toks)

    def by_words(self, text: str) -> tuple[OrgEntry, int, int] | None:
        """(entry, start, end) of the last comma-separated part of ``text`` (or two adjacent
        parts: "Institute of Technology X, Delhi") whose words are exactly a known name's
        words in another order, a city in either of its spellings ("Università di Roma Tor
        Vergata" for "Tor Vergata University of Rome")."""
        parts = [(m.start(), m.end()) for m in _PART_RE.finditer(text)]
        best = None
        for i, (start, _end) in enumerate(parts):
            for j in (i, i + 1):
                if j >= len(parts):
                    continue
                toks = key_tokens(text[start : parts[j][1]])
                if len(toks) < 2:
                    continue
                hit = self._bags.get(self._bag(toks))
                if hit is not None and len(toks) == len(set(toks)):
                    best = (hit, start, parts[j][1])
                    break
        return best

    def _add(self, entry: OrgEntry, spelling: str, method: Method) -> None:
        toks = key_tokens(spelling)
        if not toks or len("".join(toks)) < 2:
            return  # "AT&T" keys to ("t",): too short to look for
        ref = NameRef(entry, spelling, method, method is Method.GAZETTEER_ALIAS and _needs_exact_case(spelling, entry))
        self._phrases.add(toks, ref)
        self.by_key.setdefault(" ".join(toks), []).append(entry)

    # ------------------------------------------------------------------ lookups
    @staticmethod
    def _accept(ref: NameRef, surface: str) -> bool:
        if separators(surface) > separators(ref.alias):
            return False  # "Duke University, Durham" is not "University of Durham"
        if not ref.exact_case:
            return True
        s, a = compact(surface), compact(ref.alias)
        return s == a or (s == a.upper() and s.isupper() and len(a) > 3)

    def lookup(self, name: str) -> OrgEntry | None:
        """The entry a name or alias denotes (the default one when ambiguous)."""
        entries = self.by_key.get(key(name))
        if not entries:
            return None
        for e in entries:
            if any(key(a) == key(name) for a in e.default_for):
                return e
        return entries[0]

    def find(self, text: str, tokens: list[Token]) -> list[InstitutionMatch]:
        """Known names in the text, longest first, without overlaps, in text order."""
        hits = self._phrases.scan(text, tokens, self._accept, greedy=False)
        hits.sort(key=lambda h: (-(h.end - h.start), h.start))
        chosen: list[InstitutionMatch] = []
        for h in hits:
            if any(h.start < c.end and c.start < h.end for c in chosen):
                continue
            if separators(text[h.start : h.end]) and not _PART_END_RE.match(text, h.end):
                continue  # a name of several parts ends where a part ends: not "X, PSL" of "X, PSL University"
            if any(r.entry.source == "companies" for r in h.values):
                single = len(key_tokens(text[h.start : h.end])) == 1
                values = tuple(r for r in h.values if r.entry.source != "companies"
                               or company_in_place(text, h.start, h.end, single))
                if not values:
                    continue
                h = replace(h, values=values)
            exact = [r for r in h.values if r.method is Method.GAZETTEER_EXACT]
            refs = tuple(exact or h.values) if len({r.entry.id for r in h.values}) == 1 else h.values
            method = Method.GAZETTEER_EXACT if exact and len(exact) == len(h.values) else (
                Method.GAZETTEER_EXACT if exact else Method.GAZETTEER_ALIAS)
            chosen.append(InstitutionMatch(tuple(refs), h.start, h.end, method, 100.0))
        chosen.sort(key=lambda m: m.start)
        return chosen

    def fuzzy(self, segment: str, countries: Collection[str] = ()) -> tuple[OrgEntry, float] | None:
        """Best entry for a segment with typos ("Harbin Institue of Technology").

        Two entries can score the same (one name in two countries): of those, the one in
        a country of ``countries`` (the places the affiliation names) wins."""
        toks = key_tokens(segment)
        if len(toks) < 2:
            return None
        counts: Counter[int] = Counter()
        for tok in dict.fromkeys(toks):  # text order, so ties rank the same in every process
            for eid in self._postings.get(tok, ()):
                counts[eid] += 1
        if not counts:
            return None
        best: tuple[OrgEntry, float] | None = None
        for eid, _ in counts.most_common(25):
            cand = self._fuzzy_names[eid]
            if len(cand) < 12:
                continue  # short names fuzzy-match too many strings
            cand_toks = cand.split()
            distinctive = [t for t in cand_toks if t not in GENERIC_WORDS]
            n = len(cand_toks)
            for width in (n, n + 1):
                if width > len(toks):
                    continue
                for i in range(len(toks) - width + 1):
                    window = toks[i : i + width]
                    score = fuzz.ratio(" ".join(window), cand, score_cutoff=FUZZY_CUTOFF)
                    placed = self.entries[eid].country in countries
                    if not score or (best is not None and (score < best[1] or (
                            score == best[1] and (best[0].country in countries or not placed)))):
                        continue
                    # every distinctive word of the candidate must be there (give or take a typo)
                    extra = [w for w in window if w not in GENERIC_WORDS]
                    if all(any(fuzz.ratio(d, w) >= 80 for w in window) for d in distinctive) and all(
                        any(fuzz.ratio(w, d) >= 80 for d in cand_toks) for w in extra
                    ):
                        best = (self.entries[eid], score)
        return best
