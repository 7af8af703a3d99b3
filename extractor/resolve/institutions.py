"""The institution gazetteer index: exact, alias and fuzzy lookup of organisation names.

Names and aliases are stored by their normalised token tuple in a :class:`PhraseIndex`,
so finding every known organisation inside an affiliation string costs a few dictionary
hits per word.  Fuzzy matching (rapidfuzz) runs only when nothing matched exactly, and
only over candidates that share a rare word with the string — never over all ~10k names.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from rapidfuzz import fuzz

from extractor.resolve.entries import OrgEntry
from extractor.resolve.text import PhraseIndex, Token, compact, key, key_tokens
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
    """All organisations (hand-written table merged with the university list)."""

    def __init__(self, organisations: list[OrgEntry], universities: list[OrgEntry]) -> None:
        self.entries: list[OrgEntry] = []
        self.by_key: dict[str, list[OrgEntry]] = {}
        self.domains: dict[str, OrgEntry] = {}
        self._phrases: PhraseIndex[NameRef] = PhraseIndex()
        self._merge(organisations, universities)
        self._build()

    # ------------------------------------------------------------------ building
    def _merge(self, organisations: list[OrgEntry], universities: list[OrgEntry]) -> None:
        """Fold list entries into the hand-written entry that describes them."""
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
        for k, e in self._auto_aliases().items():
            self._phrases.add(tuple(k.split()), NameRef(e, k, Method.GAZETTEER_ALIAS, False))
            self.by_key.setdefault(k, []).append(e)
        # inverted index of rare words for fuzzy candidates
        df: Counter[str] = Counter()
        names: dict[int, str] = {}
        postings: dict[str, list[int]] = {}
        for e in self.entries:
            k = key(e.name)
            names[e.id] = k
            for tok in set(k.split()) - GENERIC_WORDS:
                df[tok] += 1
                postings.setdefault(tok, []).append(e.id)
        self._fuzzy_names = names
        self._postings = {t: ids for t, ids in postings.items() if df[t] <= MAX_CANDIDATE_DF and len(t) > 1}

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
        if surface.count(",") + surface.count(";") > ref.alias.count(","):
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
            exact = [r for r in h.values if r.method is Method.GAZETTEER_EXACT]
            refs = tuple(exact or h.values) if len({r.entry.id for r in h.values}) == 1 else h.values
            method = Method.GAZETTEER_EXACT if exact and len(exact) == len(h.values) else (
                Method.GAZETTEER_EXACT if exact else Method.GAZETTEER_ALIAS)
            chosen.append(InstitutionMatch(tuple(refs), h.start, h.end, method, 100.0))
        chosen.sort(key=lambda m: m.start)
        return chosen

    def fuzzy(self, segment: str) -> tuple[OrgEntry, float] | None:
        """Best entry for a segment with typos ("Harbin Institue of Technology")."""
        toks = key_tokens(segment)
        if len(toks) < 2:
            return None
        counts: Counter[int] = Counter()
        for tok in set(toks):
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
                    if not score or (best is not None and score <= best[1]):
                        continue
                    # every distinctive word of the candidate must be there (give or take a typo)
                    extra = [w for w in window if w not in GENERIC_WORDS]
                    if all(any(fuzz.ratio(d, w) >= 80 for w in window) for d in distinctive) and all(
                        any(fuzz.ratio(w, d) >= 80 for d in cand_toks) for w in extra
                    ):
                        best = (self.entries[eid], score)
        return best
