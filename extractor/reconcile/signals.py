"""Review signals: why a reconciled record may be wrong, and what else it could be.

Reconcile calls :func:`analyse` with the primary extraction, the other backends'
extractions, the document and the resolver. Every signal becomes

* a :class:`~extractor.schemas.ReviewReason` (stable code + a sentence a reviewer can act
  on + detail), listed on the record;
* a feature of the calibrated confidence models (names in :mod:`extractor.reconcile.confidence`);
* where it names one, an *alternative country set* the paper could have instead (another
  backend's reading, the country the affiliation text states, the e-mail country, another
  site of a multi-country company, or an affiliation dropped or of unknown country —
  ``wild``: "plus some other country"). The queue turns the alternatives into impact.

Signals are computed from the extractions, the document and the resolver only, so they can
be recomputed at any time and mean the same thing for every backend.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pycountry
from rapidfuzz import fuzz

from extractor.extract.rules import lines as rule_lines
from extractor.reconcile.confidence import backend_flags
from extractor.resolve import Resolver
from extractor.resolve.countries import COUNTRY_VARIANTS
from extractor.resolve.grounding import locate
from extractor.resolve.text import key as text_key
from extractor.resolve.text import strip_accents
from extractor.schemas import (
    Affiliation,
    Alignment,
    Document,
    ExtractionMeta,
    Method,
    PaperExtraction,
    ReviewReason,
    Where,
)

#: Resolver methods strong enough to contradict a backend's country.
STRONG = frozenset({Method.STATED, Method.GAZETTEER_EXACT, Method.GAZETTEER_ALIAS})
WEAKER = frozenset({Method.CITY, Method.GAZETTEER_FUZZY, Method.EMAIL_DOMAIN, Method.HQ_DEFAULT})
WEAK_INFERENCE = frozenset({Method.EMAIL_DOMAIN, Method.CITY, Method.UNKNOWN})
#: Reasons are listed most telling first.
REASON_ORDER = (
    "no_affiliations", "no_authors", "country_conflict", "affiliation_missing", "backends_disagree", "venue_disagrees",
    "venue_labels_disagree",
    "country_corrected", "affiliation_added", "country_withheld", "country_unknown", "ungrounded", "company_no_site",
    "email_country_conflict", "llm_overruled", "country_conflict_weak", "author_affiliations_disagree", "author_without_affiliation",
    "author_count_mismatch", "affiliation_outside_author_block", "affiliation_without_organisation",
    "affiliation_unlinked", "affiliation_inferred", "linked_by_name", "shared_by_all", "split_line_countries",
    "unit_several_countries", "acronym_country", "linked_by_fallback", "second_opinion",
    "country_inferred", "country_llm_only", "institution_unmatched", "reasked", "llm_unsure",
    "model_families_disagree",
)
#: Backends that read page 1 only (their model mentions outside the title and abstract are not
#: a reading of the body): a family comparison with them is made on the title and abstract.
FRONT_ONLY_BACKENDS = frozenset({"llm"})
#: Backends that read a venue's metadata, not the PDF: no model mentions, and a country set
#: that is an independent reading of the paper (see :func:`_venue_disagrees`).
METADATA_BACKENDS = frozenset({"venue"})
#: What a venue source that labels countries itself (paperlists' ``aff_country_unique``) folds
#: into its "China": a record with HK, MO or TW where the source says China does not disagree.
SOURCE_FOLDED_INTO_CN = frozenset({"HK", "MO", "TW"})
#: Affiliations up to this many count toward the ``n_affiliations`` feature (a share of it).
N_AFFILIATIONS_CAP = 8
#: How an author was tied to affiliations (:attr:`~extractor.schemas.Author.link`): by the names a
#: footnote sentence gives, or by a fallback when no marker links them (a guess, worth a look).
_NAME_LINKS = ("footnote_name",)
_GUESSED_LINKS = {"column": "grid column", "order": "print order", "email": "e-mail domain"}
#: A short upper-case token (an acronym such as MIT, IIT, ENS).
_ACRONYM_RE = re.compile(r"\b[A-Z]{2,5}\b")
#: Where one printed affiliation unit may pass from one organisation to the next ("LCSL – IIT & MIT",
#: "MILA, Google Brain", "University of Amsterdam, and CIFAR").
_UNIT_PARTS_RE = re.compile(r"\s+(?:&|and|/)\s+|;\s*|,\s*(?:and\s+)?|\s+[–—-]\s+")
#: Parts of one unit looked up at most (a long address is not a list of organisations).
_UNIT_PARTS_MAX = 6
#: How the resolver places an organisation it knows in one part of a unit (an e-mail domain alone does not count).
_KNOWN_ORGANISATION = STRONG | {Method.HQ_DEFAULT, Method.CITY}
#: Key of a country printed in a unit that no organisation of the unit accounts for.
PRINTED = "printed:"

#: How the resolver read a country, as the end of a reviewer's sentence.
_HOW = {
    Method.STATED: "the affiliation text states", Method.GAZETTEER_EXACT: "the gazetteer places it in",
    Method.GAZETTEER_ALIAS: "the gazetteer (by alias) places it in", Method.GAZETTEER_FUZZY: "a fuzzy gazetteer match places it in",
    Method.CITY: "the city named places it in", Method.EMAIL_DOMAIN: "the e-mail domain points to",
    Method.HQ_DEFAULT: "no site is named and the company's headquarters is in",
}
#: Legacy form of an overrule: the llm backend's warning sentence (extractor/extract/llm/convert.py),
#: read only for extractions that carry no structured ``country_overrules`` field (see :func:`overrules`).
_LEGACY_OVERRULED_RE = re.compile(r"affiliation (-?\d+): the LLM said ([A-Z]{2}), the text says ([A-Z]{2}) \((\w+)\)")
AFF_MATCH = 85.0
NAME_MATCH = 85.0
LLM_UNSURE_BELOW = 0.6


@dataclass
class Signals:
    reasons: list[ReviewReason] = field(default_factory=list)
    features: dict[str, float] = field(default_factory=dict)
    model_features: dict[str, float] = field(default_factory=dict)
    alternatives: list[dict[str, Any]] = field(default_factory=list)
    #: Codes of findings that put the record in the queue whatever its confidence: two
    #: readings that give the paper different country sets, neither taken on trust.
    doubts: list[str] = field(default_factory=list)
    _found: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict, repr=False)

    def add(self, code: str, message: str, feature: str | None = None, value: float = 1.0, **detail: Any) -> None:
        """Record a finding. One reason per code: a second finding of the same kind joins the
        first one's message (three are spelled out), and ``detail`` becomes ``{"items": [...]}``."""
        if feature:
            self.features[feature] = max(self.features.get(feature, 0.0), value)
        self._found.setdefault(code, []).append((message, detail))
        found = self._found[code]
        text = "; ".join(m for m, _ in found[:3]) + (f" (+{len(found) - 3} more)" if len(found) > 3 else "")
        reason = ReviewReason(code=code, message=text, detail=detail if len(found) == 1 else {"items": [d for _, d in found]})
        for i, r in enumerate(self.reasons):
            if r.code == code:
                self.reasons[i] = reason
                return
        self.reasons.append(reason)

    def alt(self, countries: set[str] | list[str], why: str, wild: bool = False) -> None:
        entry = {"set": sorted(c for c in countries if c), "wild": wild, "why": why}
        if entry not in self.alternatives:
            self.alternatives.append(entry)


def _name_key(name: str) -> str:
    return " ".join(sorted(text_key(strip_accents(name or "")).split()))


def _short(values: list[str], n: int = 3) -> str:
    return "; ".join(values[:n]) + (f" (+{len(values) - n} more)" if len(values) > n else "")


def _country_set(affs: list[Affiliation], skip: int | None = None) -> set[str]:
    return {a.country for a in affs if a.country and a.id != skip}


def match_authors(a: list, b: list) -> dict[int, int]:
    """Greedy name alignment (accents, case and token order ignored): index in a -> in b."""
    scored = sorted(((fuzz.ratio(_name_key(x.name), _name_key(y.name)), i, j)
                     for i, x in enumerate(a) for j, y in enumerate(b)), reverse=True)
    out: dict[int, int] = {}
    used: set[int] = set()
    for score, i, j in scored:
        if score < NAME_MATCH:
            break
        if i not in out and j not in used:
            out[i] = j
            used.add(j)
    return out


def match_affiliation(o: Affiliation, primary: list[Affiliation]) -> Affiliation | None:
    """The affiliation of ``primary`` that names the same unit as ``o`` (fuzzy raw text or same institution)."""
    best, best_score = None, 0.0
    for p in primary:
        score = fuzz.token_set_ratio(text_key(o.raw), text_key(p.raw))
        if o.institution and p.institution and o.institution == p.institution:
            score = max(score, 90.0)
        if score > best_score:
            best, best_score = p, score
    return best if best_score >= AFF_MATCH else None


def grounded(value: str, evidence: Any, doc: Document) -> bool:
    if evidence is not None:
        return evidence.alignment != Alignment.NOT_FOUND
    if doc.front is None:
        return True  # nothing to check against; do not accuse
    return locate(value, doc.front.text).alignment != Alignment.NOT_FOUND


@dataclass(frozen=True)
class Overrule:
    """The llm backend kept the resolver's country of an affiliation over the model's own reading."""

    affiliation_id: int
    llm: str  # the model's country
    kept: str  # the country the record holds (the resolver's reading of the text)
    method: str  # how the resolver read it (Method value)


def overrules(extraction: PaperExtraction) -> list[Overrule]:
    """The overrules of an extraction, as structured values.

    Read from the extraction's structured ``country_overrules`` field (entries with
    ``affiliation_id``, ``llm``, ``kept``, ``method``) when the backend writes one; an
    extraction stored without that field (the llm backend so far states an overrule only
    as a warning sentence) is read through its warnings, the one place a sentence is parsed.
    """
    structured = getattr(extraction, "country_overrules", None)
    if structured is not None:
        out = []
        for x in structured:
            d = x if isinstance(x, dict) else x.model_dump() if hasattr(x, "model_dump") else vars(x)
            out.append(Overrule(int(d["affiliation_id"]), str(d["llm"]), str(d["kept"]), str(d.get("method") or "")))
        return out
    found = (_LEGACY_OVERRULED_RE.search(w) for w in extraction.warnings)
    return [Overrule(int(m.group(1)), m.group(2), m.group(3), m.group(4)) for m in found if m]


def _set_with(affs: list[Affiliation], replace: dict[int, str | None]) -> set[str]:
    """The paper's country set with some affiliations' countries replaced (None: not counted)."""
    return {c for a in affs if (c := replace[a.id] if a.id in replace else a.country)}


def analyse(
    doc: Document,
    meta: ExtractionMeta,
    primary: PaperExtraction,
    others: list[tuple[ExtractionMeta, PaperExtraction]],
    resolver: Resolver,
    changes: list[dict[str, Any]] = (),
    second_opinions: list[PaperExtraction] = (),
    venue_labels: Iterable[str] | None = None,
) -> Signals:
    """All signals for one paper (``changes``: what reconcile's merge changed; ``second_opinions``:
    narrow llm readings of the record's units, see :mod:`extractor.extract.llm.second_opinion`;
    ``venue_labels``: a venue source's own country names for the paper, compared only, see
    :func:`_venue_labels_disagree`)."""
    sig = Signals()
    flags = backend_flags([meta.backend] + [o.backend for o, _ in others])
    sig.features.update(flags)
    sig.model_features.update(flags)
    for c in changes:
        if c["kind"] == "country_corrected":
            sig.add("country_corrected", f"{c['raw']!r}: {meta.backend} said {c['from'] or 'no country'}, the text "
                    f"states {c['to']} and {c['backend']} agrees; {c['to']} used", "corrected", **c)
            rest = {x.country for x in primary.affiliations if x.raw != c["raw"] and x.country}
            sig.alt(rest | ({c["from"]} if c["from"] else set()), "country_corrected")
        elif c["kind"] == "country_withheld":
            sig.add("country_withheld", f"{c['raw']!r} is not printed in the PDF and no other backend reads it: its "
                    f"country {c['from']} (from {meta.backend}) is not counted", "withheld", **c)
            sig.alt({x.country for x in primary.affiliations if x.country} | {c["from"]}, "country_withheld")
        elif c["kind"] == "affiliation_added":
            sig.add("affiliation_added", f"{c['backend']} found {c['raw']!r} ({c['country']}) for "
                    f"{', '.join(c['authors'][:3])}, which {meta.backend} missed; added", "added", **c)
    affs = primary.affiliations
    S = _country_set(affs)
    emails: dict[int, list[str]] = {}
    for author in primary.authors:
        for i in author.affiliation_ids:
            if author.email and "@" in author.email:
                emails.setdefault(i, []).append(author.email.split("@", 1)[1])
    for _, other in others:  # e-mails the primary lacks, by author name
        for i, j in match_authors(primary.authors, other.authors).items():
            mail = other.authors[j].email
            if not primary.authors[i].email and mail and "@" in mail:
                for a_id in primary.authors[i].affiliation_ids:
                    emails.setdefault(a_id, []).append(mail.split("@", 1)[1])

    if not primary.authors:
        sig.add("no_authors", "no authors were found in the front matter", "no_affiliations")
    if not affs:
        sig.add("no_affiliations", "no affiliations were found", "no_affiliations")
        sig.alt(set(), "no_affiliations", wild=True)

    conflict = conflict_weak = 0
    ungrounded: list[str] = []
    withheld = {c["raw"] for c in changes if c["kind"] == "country_withheld"}
    for a in affs:
        domain = (emails.get(a.id) or [None])[0]
        res = resolver.resolve(a.raw, email_domain=domain)
        rest = _country_set(affs, skip=a.id)
        if not grounded(a.raw, a.evidence, doc):
            ungrounded.append(a.raw)
            sig.alt(rest, "ungrounded")
        if a.country is None and a.raw in withheld:
            continue  # the country_withheld reason says what is missing and why
        if a.country is None:
            hint = f" (the resolver suggests {res.country})" if res.country else ""
            sig.add("country_unknown", f"no country for {a.raw!r}{hint}", "country_unknown", affiliation=a.raw)
            if res.country:
                sig.alt(rest | {res.country}, "country_unknown")
            sig.alt(rest, "country_unknown", wild=True)
            continue
        conflicting = bool(res.country and res.country != a.country and res.country_method in STRONG | WEAKER)
        if conflicting:
            strong = res.country_method in STRONG
            conflict += strong
            conflict_weak += not strong
            sig.add("country_conflict" if strong else "country_conflict_weak",
                    f"{meta.backend} says {a.country} for {a.raw!r}, but {_HOW[res.country_method]} {res.country}",
                    affiliation=a.raw, said=a.country, resolved=res.country, method=res.country_method.value)
            sig.alt(rest | {res.country}, "country_conflict")
        agrees = res.country == a.country
        method = res.country_method if agrees else a.country_method
        if res.multi_country_company or method == Method.HQ_DEFAULT:
            entry = resolver.lookup(res.institution or a.institution or "") if (res.institution or a.institution) else None
            sites = sorted(set((entry.sites or {}).values()) - {a.country}) if entry else []
            sig.add("company_no_site", f"company without a named site, headquarters country {a.country} used: {a.raw!r}"
                    + (f" (it also has labs in {', '.join(sites[:6])})" if sites else ""), "hq_default",
                    affiliation=a.raw, sites=sites)
            for c in sites:
                sig.alt(rest | {c}, "company_no_site")
        elif conflicting:
            pass  # the conflict already says what is wrong with this country
        elif method in WEAK_INFERENCE:
            sig.add("country_inferred", f"country {a.country} inferred ({method.value}), not stated, for {a.raw!r}",
                    "inferred_weak", affiliation=a.raw, method=method.value)
            sig.alt(rest, "country_inferred", wild=True)
        elif method == Method.LLM or (res.country is None and meta.backend == "llm"):
            sig.add("country_llm_only", f"only the LLM supports {a.country} for {a.raw!r}", "llm_only", affiliation=a.raw)
            sig.alt(rest, "country_llm_only", wild=True)
        if not res.in_gazetteer:
            sig.add("institution_unmatched", f"institution not in the gazetteer: {a.raw!r}", "unmatched", affiliation=a.raw)
        for d in emails.get(a.id, []):
            got = resolver.country_of_email(d)
            if got and got[1] != Method.HQ_DEFAULT and got[0] != a.country:
                authors_here = [x for x in primary.authors if a.id in x.affiliation_ids and x.email and x.email.endswith(d)]
                theirs = {c for x in authors_here for i in x.affiliation_ids for y in affs if y.id == i for c in [y.country]}
                if got[0] not in theirs:
                    sig.add("email_country_conflict", f"e-mail domain {d} points to {got[0]}, the affiliation "
                            f"{a.raw!r} to {a.country}", "email_conflict", domain=d, email_country=got[0])
                    sig.alt(rest | {got[0]}, "email_country_conflict")
                    # the e-mail may also show a mislinked or misread affiliation of some other country
                    sig.alt(rest, "email_country_conflict", wild=True)
                    break
    by_id = {a.id: a for a in affs}
    held = [o for o in overrules(primary) if (a := by_id.get(o.affiliation_id)) is not None and a.country == o.kept]
    if held:
        # the set the model's own readings give, all overrules at once (two affiliations the model
        # places elsewhere change the set together, one at a time they may not)
        llm_set = _set_with(affs, {o.affiliation_id: o.llm for o in held})
        moves = llm_set != S
        for o in held:
            a = by_id[o.affiliation_id]
            sig.add("llm_overruled", f"the LLM read {o.llm} for {a.raw!r}; the resolver's {a.country} ({o.method}) was kept"
                    + ("" if moves else " (the paper's country set is the same either way)"),
                    affiliation=a.raw, llm=o.llm, kept=a.country, method=o.method, changes_set=moves)
        if moves:
            # a country the text states rarely loses to the model; a gazetteer, city or
            # headquarters reading is itself an inference and the model may know better
            stated = all(o.method == Method.STATED.value for o in held)
            sig.features["llm_overruled_stated" if stated else "llm_overruled"] = 1.0
            sig.alt(llm_set, "llm_overruled")
            if not stated:
                # the kept country is itself an inference: neither reading wins by default
                sig.doubts.append("llm_overruled")
    if conflict:
        sig.features["conflict"] = min(conflict, 2)
    if conflict_weak:
        sig.features["conflict_weak"] = min(conflict_weak, 2)
    ungrounded_authors = [x.name for x in primary.authors if not grounded(x.name, x.evidence, doc)]
    if ungrounded or ungrounded_authors:
        values = ungrounded + ungrounded_authors
        sig.add("ungrounded", f"not found in the PDF text: {_short(values)}", "ungrounded",
                value=min(len(values), 2), values=values)

    no_aff = [x.name for x in primary.authors if not x.affiliation_ids]
    if no_aff and affs:
        sig.add("author_without_affiliation", f"authors with no affiliation: {_short(no_aff, 4)}",
                "author_without_affiliation", authors=no_aff)
        sig.alt(S, "author_without_affiliation", wild=True)
    block = [n for n in [primary.author_block_count] + [o.author_block_count for _, o in others] if n is not None]
    block += [len(o.authors) for _, o in others]
    if block and any(n != len(primary.authors) for n in block):
        n_block = max(block)
        sig.add("author_count_mismatch", f"{n_block} names in the author block, {len(primary.authors)} extracted",
                "author_count_mismatch", block=n_block, extracted=len(primary.authors))
        if n_block > len(primary.authors):
            sig.alt(S, "author_count_mismatch", wild=True)
    _layout_signals(sig, doc, primary, S, resolver)
    _unit_signals(sig, affs, resolver)
    for second in second_opinions:
        _second_opinion_signal(sig, primary, second, S)
    if meta.reasks:
        sig.add("reasked", f"the LLM answer needed {meta.reasks} validation re-ask(s)", "reasked", reasks=meta.reasks)
    if primary.self_confidence is not None:
        sig.features["llm_unsure"] = round(1.0 - primary.self_confidence, 4)
        if primary.self_confidence < LLM_UNSURE_BELOW:
            sig.reasons.append(ReviewReason(code="llm_unsure", message=f"the LLM rates its own answer {primary.self_confidence:.2f}",
                                            detail={"self_confidence": primary.self_confidence}))
    if not others:
        sig.features["single_backend"] = 1.0

    missing = 0
    disagree = False
    for o_meta, other in others:
        other_set = _country_set(other.affiliations)
        if other_set != S and METADATA_BACKENDS & {meta.backend, o_meta.backend}:
            disagree = True
            _venue_disagrees(sig, meta, S, o_meta, other_set)
        elif other_set != S:
            disagree = True
            sig.add("backends_disagree", f"{meta.backend} says {', '.join(sorted(S)) or 'no country'}; "
                    f"{o_meta.backend} says {', '.join(sorted(other_set)) or 'no country'} (neither reading is "
                    "taken on trust: check which one the page supports)", "disagree",
                    **{meta.backend: sorted(S), o_meta.backend: sorted(other_set)})
            sig.alt(other_set, f"backend:{o_meta.backend}")
            sig.doubts.append("backends_disagree")
        linked = {i for x in other.authors for i in x.affiliation_ids}
        for o in other.affiliations:
            if o.id not in linked or (o.country and o.country in S):
                continue
            if not o.country:
                # a printed affiliation the primary dropped, of a country nobody could tell
                if match_affiliation(o, affs) is None and grounded(o.raw, o.evidence, doc):
                    sig.add("affiliation_missing", f"{o_meta.backend} found {o.raw!r} (country unknown), "
                            f"which {meta.backend} does not list", "missing_unknown", affiliation=o.raw, country=None,
                            backend=o_meta.backend)
                    sig.alt(S, "affiliation_missing", wild=True)
                continue
            if match_affiliation(o, affs) is None and grounded(o.raw, o.evidence, doc):
                missing += 1
                sig.add("affiliation_missing", f"{o_meta.backend} found {o.raw!r} ({o.country}), "
                        f"which {meta.backend} does not list", affiliation=o.raw, country=o.country, backend=o_meta.backend)
                sig.alt(S | {o.country}, "affiliation_missing")
        pairs = match_authors(primary.authors, other.authors)
        p_countries, o_countries = primary.author_countries(), other.author_countries()
        differ = [(i, j) for i, j in pairs.items() if p_countries[i] and o_countries[j] and p_countries[i] != o_countries[j]]
        if differ:
            # what the paper's set would be with the other backend's reading of these authors:
            # an author-level difference matters for the record only when that set differs
            swapped = {i for i, _ in differ}
            T = {c for i, cs in enumerate(p_countries) if i not in swapped for c in cs}
            T |= {c for _, j in differ for c in o_countries[j]}
            T |= {a.country for a in affs if a.country and not any(a.id in x.affiliation_ids for x in primary.authors)}
            moves = T != S
            names = [primary.authors[i].name for i, _ in differ]
            sig.add("author_affiliations_disagree", f"{o_meta.backend} places {_short(names, 4)} in other countries"
                    + (f" (the paper would be {', '.join(sorted(T)) or 'no country'})" if moves
                       else " (the paper's country set is the same either way)"),
                    "author_disagree" if moves else "author_disagree_same_set", authors=names, backend=o_meta.backend,
                    changes_set=moves)
            if moves:
                sig.alt(T, f"authors:{o_meta.backend}")
    if venue_labels:
        _venue_labels_disagree(sig, S, venue_labels)
    if missing:
        sig.features["missing"] = min(missing, 2)
    if disagree and not (conflict or missing):
        sig.features["disagree_unexplained"] = 1.0
    _model_signals(sig, meta, primary, others)
    rank = {code: i for i, code in enumerate(REASON_ORDER)}
    sig.reasons.sort(key=lambda r: rank.get(r.code, len(rank)))
    return sig


def _line_of(doc: Document, offset: int) -> int | None:
    """Index of the page-1 line holding a character offset of the front-matter text."""
    front = doc.front
    if front is None:
        return None
    for i, line in enumerate(front.lines):
        if line.start <= offset <= line.end:
            return i
    return None


def _layout_signals(sig: Signals, doc: Document, primary: PaperExtraction, S: set[str], resolver: Resolver) -> None:
    """Doubts a single reader can have about its own reading of the page layout.

    These carry the ranking when no second backend can disagree: an affiliation read from
    outside the author block (figure labels, captions), one that names neither an
    organisation nor a known place, one no author points at, every author given every
    affiliation across countries (unsplit journal footnotes), organisations inferred from a
    logo, header or e-mail domain, and links made through a footnote sentence naming authors.
    """
    affs, authors = primary.affiliations, primary.authors
    front = doc.front
    if affs:
        sig.features["n_affiliations"] = round(min(len(affs), N_AFFILIATIONS_CAP) / N_AFFILIATIONS_CAP, 4)
    block = set(front.author_lines) | set(front.footnote_lines) | set(front.affiliation_lines) if front else set()
    figure = set(getattr(front, "figure_lines", None) or ()) if front else set()
    org_re = getattr(rule_lines, "ORG_RE", None)
    linked = {i for x in authors for i in x.affiliation_ids}
    for a in affs:
        rest = _country_set(affs, skip=a.id)
        ev = a.evidence
        line = _line_of(doc, ev.start) if ev is not None and ev.source == "front" and ev.start is not None else None
        facts = set(getattr(a, "signals", None) or ())
        if "figure_region" in facts or line in figure or (block and line is not None and line not in block):
            sig.add("affiliation_outside_author_block", f"{a.raw!r} is read from outside the author block and the "
                    "footnotes (a figure or caption?)", "outside_author_block", affiliation=a.raw, line=line)
            sig.alt(rest, "affiliation_outside_author_block")
        res = resolver.resolve(a.raw)
        if "no_org_word" in facts or (not res.in_gazetteer and not (org_re is not None and org_re.search(a.raw))
                                      and res.country_method not in STRONG):
            sig.add("affiliation_without_organisation", f"{a.raw!r} names no organisation the gazetteer or an "
                    "organisation word (university, institute, lab, inc. …) supports", "unit_no_org", affiliation=a.raw)
            sig.alt(rest, "affiliation_without_organisation")
        if authors and a.id not in linked:
            sig.add("affiliation_unlinked", f"no author points at {a.raw!r} ({a.country or 'no country'})",
                    "affiliation_unlinked", affiliation=a.raw)
            sig.alt(rest, "affiliation_unlinked")
        how = sorted(f.split("_", 1)[1].replace("_", " ") for f in facts if f.startswith("inferred_"))
        if how:
            sig.add("affiliation_inferred", f"the organisation of {a.raw!r} is inferred from {' and '.join(how)}, "
                    "not printed as an affiliation", "org_inferred", affiliation=a.raw, inferred_from=how)
            sig.alt(rest, "affiliation_inferred", wild=True)
    by_link: dict[str, list[str]] = {}
    for x in authors:
        link = getattr(x, "link", None)
        if link in _NAME_LINKS or link in _GUESSED_LINKS:
            by_link.setdefault(link, []).append(x.name)
    named = [n for k in _NAME_LINKS for n in by_link.get(k, [])]
    if named:
        sig.add("linked_by_name", f"linked to their affiliations by the names a footnote sentence gives: {_short(named, 4)}",
                "linked_by_name", authors=named)
        sig.alt(S, "linked_by_name", wild=True)
    guessed = {k: v for k, v in by_link.items() if k in _GUESSED_LINKS}
    if guessed:
        sig.add("linked_by_fallback", "no marker links these authors to their affiliations; linked by "
                + "; ".join(f"{_GUESSED_LINKS[k]}: {_short(v, 3)}" for k, v in sorted(guessed.items())),
                "link_fallback", authors=[n for v in guessed.values() for n in v])
        sig.alt(S, "linked_by_fallback", wild=True)
    line_of = {a.id: _line_of(doc, a.evidence.start) for a in affs
               if a.evidence is not None and a.evidence.source == "front" and a.evidence.start is not None}
    by_id = {a.id: a for a in affs}
    for x in authors:
        lines: dict[int, set[str]] = {}
        for i in x.affiliation_ids:
            if (ln := line_of.get(i)) is not None and i in by_id and by_id[i].country:
                lines.setdefault(ln, set()).add(by_id[i].country)
        split = [cs for cs in lines.values() if len(cs) >= 2]
        if split:
            sig.add("split_line_countries", f"one printed line of {x.name} was split into affiliations in "
                    f"{', '.join(sorted(split[0]))}: one place or several?", "split_line_countries", author=x.name)
            for c in sorted(split[0]):
                sig.alt((S - split[0]) | {c} | {a.country for a in affs if a.country and line_of.get(a.id) not in lines},
                        "split_line_countries")
            break
    for a in affs:
        if a.country and a.country_method == Method.GAZETTEER_ALIAS and _ACRONYM_RE.search(a.raw):
            sig.add("acronym_country", f"the country {a.country} of {a.raw!r} rests on an acronym (ambiguous)",
                    "acronym_country", affiliation=a.raw)
            sig.alt(_country_set(affs, skip=a.id), "acronym_country", wild=True)
    if len(authors) >= 2 and len(affs) >= 2 and len(S) >= 2 and all(set(x.affiliation_ids) == {a.id for a in affs}
                                                                       for x in authors):
        sig.add("shared_by_all", f"every author has every affiliation ({', '.join(sorted(S))}): unsplit footnotes "
                "or lost markers?", "shared_by_all")
        sig.alt(S, "shared_by_all", wild=True)


def organisations_of_unit(raw: str, resolver: Resolver) -> dict[str, str]:
    """The organisations one affiliation unit names, part by part, with their countries (name -> code).

    Parts are cut at the joins a unit uses between organisations (``&``, ``and``, ``/``, ``;``,
    commas, dashes); a part counts when the resolver knows it as an organisation and places it
    (gazetteer, a printed country or city, a company's headquarters), not by an e-mail alone.
    A part that is a piece of the one name the whole unit resolves to ("University of Science"
    of "University of Science and Technology of China") is not an organisation of its own. One
    printed country settles the unit (empty result); with several printed, they all count (as
    ``printed:<code>`` when no part names an organisation there) and only parts placed in one
    of them do.
    """
    parts = list(dict.fromkeys(p.strip() for p in _UNIT_PARTS_RE.split(raw or "") if p and p.strip()))
    if len(parts) < 2:
        return {}
    printed = {c for h in resolver.places.find(raw) if h.place.kind == "country" for c in h.place.codes}
    if len(printed) == 1:
        return {}
    whole_name = strip_accents(resolver.resolve(raw).institution or "").casefold()
    found: dict[str, str] = {}
    for part in parts[:_UNIT_PARTS_MAX]:
        res = resolver.resolve(part)
        if not (res.in_gazetteer and res.institution and res.country and res.country_method in _KNOWN_ORGANISATION):
            continue
        if printed and res.country not in printed:
            continue
        if strip_accents(res.institution).casefold() != whole_name and re.search(
                rf"\b{re.escape(strip_accents(part).casefold())}\b", whole_name):
            continue
        found.setdefault(res.institution, res.country)
    for code in sorted(printed - set(found.values())):
        found[f"{PRINTED}{code}"] = code
    return found


def _unit_signals(sig: Signals, affs: list[Affiliation], resolver: Resolver) -> None:
    """One printed unit naming organisations in several countries ("LCSL – IIT & MIT", "MILA, Google Brain").

    Whatever the reader did with it (kept it whole and placed it by one organisation, or cut
    it), the paper's country set rests on a convention: one place, the first one, or all of
    them. The alternatives are each of those countries alone and all of them together.
    """
    for a in affs:
        found = organisations_of_unit(a.raw, resolver)
        countries = set(found.values())
        if len(countries) < 2:
            continue
        rest = _country_set(affs, skip=a.id)
        named = "; ".join(f"{'printed' if name.startswith(PRINTED) else name} ({code})"
                          for name, code in sorted(found.items(), key=lambda kv: kv[1]))
        sig.add("unit_several_countries", f"{a.raw!r} names organisations in {', '.join(sorted(countries))} ({named}); "
                f"the record counts {a.country or 'no country'} for it: one place or several?", "unit_several_countries",
                affiliation=a.raw, countries=sorted(countries), counted=a.country)
        for c in sorted(countries):
            sig.alt(rest | {c}, "unit_several_countries")
        sig.alt(rest | countries, "unit_several_countries")


def _second_opinion_signal(sig: Signals, primary: PaperExtraction, second: PaperExtraction, S: set[str]) -> None:
    """The second opinion's country per unit (a unit it reads no country for keeps the record's)."""
    read = {a.id: a.country for a in second.affiliations if a.country}
    changed = {a.id: read[a.id] for a in primary.affiliations if a.id in read and read[a.id] != a.country}
    if not changed:
        return
    T = _set_with(primary.affiliations, changed)
    if T == S:
        return
    units = [f"{a.raw!r}: {a.country or 'no country'} -> {changed[a.id]}" for a in primary.affiliations if a.id in changed]
    sig.add("second_opinion", f"a second llm reading of each unit gives {', '.join(sorted(T)) or 'no country'} instead of "
            f"{', '.join(sorted(S)) or 'no country'} ({_short(units, 3)}); neither is taken on trust",
            "second_opinion_differs", record=sorted(S), second_opinion=sorted(T))
    sig.alt(T, "second_opinion")
    sig.doubts.append("second_opinion")


def _in_scope(mentions: list[Any], front_only: bool) -> set[str]:
    """Families of the mentions a comparison covers: all, or all but those read in the body."""
    return {m.family for m in mentions if not front_only or m.where != Where.BODY}


def _venue_disagrees(sig: Signals, meta: ExtractionMeta, S: set[str], o_meta: ExtractionMeta, other_set: set[str]) -> None:
    """The venue's metadata and the PDF reading give the paper different country sets: a reason
    naming both readings (both resolved by our resolver), the other reading as an alternative,
    and a doubt (neither is taken on trust: a venue's listing can be stale or incomplete)."""
    venue_first = meta.backend in METADATA_BACKENDS
    venue_set, pdf_set = (S, other_set) if venue_first else (other_set, S)
    pdf_backend = o_meta.backend if venue_first else meta.backend
    sig.add("venue_disagrees", f"the venue's metadata says {', '.join(sorted(venue_set)) or 'no country'}; "
            f"the PDF says {', '.join(sorted(pdf_set)) or 'no country'} ({pdf_backend})", "disagree",
            venue=sorted(venue_set), pdf=sorted(pdf_set), pdf_backend=pdf_backend)
    sig.alt(other_set, f"backend:{o_meta.backend}")
    sig.doubts.append("venue_disagrees")


@lru_cache(maxsize=1024)
def label_code(label: str | None) -> str | None:
    """The ISO code of a source's country name ("United States" -> US, "South Korea" -> KR); None
    for a name neither the resolver's variants nor pycountry know ("Unknown")."""
    name = (label or "").strip()
    if not name:
        return None
    if name in COUNTRY_VARIANTS:
        return COUNTRY_VARIANTS[name]
    try:
        return pycountry.countries.lookup(name).alpha_2
    except LookupError:
        return None


def _venue_labels_disagree(sig: Signals, S: set[str], labels: Iterable[str]) -> None:
    """The venue source's own country labels for the paper differ from the record's country set.

    The labels are a third reading made by someone else (the source's curators), never an
    answer: the record keeps its countries, the difference only makes it doubtful. The source
    folds Hong Kong, Macao and Taiwan into China, so the record is compared on those terms
    (its HK, MO, TW read as CN); names the source could not place ("Unknown") are left out,
    and so is a paper the source labels with no known country. The alternative is the
    source's set with the record's own HK/MO/TW kept where the source says China.
    """
    names = sorted({str(x).strip() for x in labels if x and str(x).strip()})
    codes = {c for x in names if (c := label_code(x))}
    if not codes:
        return
    folded = {"CN" if c in SOURCE_FOLDED_INTO_CN else c for c in S}
    if folded == codes:
        return
    own_folded = S & SOURCE_FOLDED_INTO_CN
    alt = codes - {"CN"}
    if "CN" in codes:
        alt |= own_folded | ({"CN"} if "CN" in S or not own_folded else set())
    sig.add("venue_labels_disagree", f"the venue lists countries {', '.join(sorted(codes))}; the record says "
            f"{', '.join(sorted(S)) or 'no country'} (the venue's own labels, compared only, never the answer; "
            "its CN covers HK, MO and TW)", "labels_disagree", venue_labels=names, venue=sorted(codes),
            record=sorted(S))
    sig.alt(alt, "venue_labels")
    sig.doubts.append("venue_labels_disagree")


def _model_signals(sig: Signals, meta: ExtractionMeta, primary: PaperExtraction,
                   others: list[tuple[ExtractionMeta, PaperExtraction]]) -> None:
    fams = set(primary.model_families())
    mf = sig.model_features
    mf["n_families"] = min(len(fams), 5) / 5
    if any(m.count <= 1 and (m.where is None or m.where.value == "body") for m in primary.model_mentions):
        mf["body_single"] = 1.0
    others = [(m, o) for m, o in others if m.backend not in METADATA_BACKENDS]  # no reading of the body
    if not others:
        mf["single_backend"] = 1.0
    if meta.reasks:
        mf["reasked"] = 1.0
    if primary.self_confidence is not None:
        mf["llm_unsure"] = round(1.0 - primary.self_confidence, 4)
    for o_meta, other in others:
        # a backend that reads page 1 only is compared on what both read: the title and abstract
        front_only = meta.backend in FRONT_ONLY_BACKENDS or o_meta.backend in FRONT_ONLY_BACKENDS
        mine, theirs = _in_scope(primary.model_mentions, front_only), _in_scope(other.model_mentions, front_only)
        if theirs != mine:
            mf["families_disagree"] = 1.0
            if not theirs or not mine:
                mf["only_one_backend_found"] = 1.0
            only_p, only_o = sorted(mine - theirs), sorted(theirs - mine)
            scope = " in the title and abstract" if front_only else ""
            sig.reasons.append(ReviewReason(
                code="model_families_disagree",
                message=f"model families{scope}: only {meta.backend} names {', '.join(only_p) or 'nothing more'}; "
                        f"only {o_meta.backend} names {', '.join(only_o) or 'nothing more'}",
                detail={meta.backend: sorted(mine), o_meta.backend: sorted(theirs),
                        "scope": "title+abstract" if front_only else "all"},
            ))
