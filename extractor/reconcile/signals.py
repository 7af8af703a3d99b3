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
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from extractor.resolve import Resolver
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
)

#: Resolver methods strong enough to contradict a backend's country.
STRONG = frozenset({Method.STATED, Method.GAZETTEER_EXACT, Method.GAZETTEER_ALIAS})
WEAKER = frozenset({Method.CITY, Method.GAZETTEER_FUZZY, Method.EMAIL_DOMAIN, Method.HQ_DEFAULT})
WEAK_INFERENCE = frozenset({Method.EMAIL_DOMAIN, Method.CITY, Method.UNKNOWN})
#: Reasons are listed most telling first.
REASON_ORDER = (
    "no_affiliations", "no_authors", "country_conflict", "affiliation_missing", "backends_disagree",
    "country_corrected", "affiliation_added", "country_withheld", "country_unknown", "ungrounded", "company_no_site",
    "email_country_conflict", "llm_overruled", "country_conflict_weak", "author_affiliations_disagree", "author_without_affiliation",
    "author_count_mismatch", "country_inferred", "country_llm_only", "institution_unmatched", "reasked", "llm_unsure",
    "model_families_disagree",
)

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
) -> Signals:
    """All signals for one paper (``changes``: what reconcile's merge changed); see the module docstring."""
    sig = Signals()
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
        if other_set != S:
            disagree = True
            sig.add("backends_disagree", f"{meta.backend} says {', '.join(sorted(S)) or 'no country'}; "
                    f"{o_meta.backend} says {', '.join(sorted(other_set)) or 'no country'}", "disagree",
                    **{meta.backend: sorted(S), o_meta.backend: sorted(other_set)})
            sig.alt(other_set, f"backend:{o_meta.backend}")
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
    if missing:
        sig.features["missing"] = min(missing, 2)
    if disagree and not (conflict or missing):
        sig.features["disagree_unexplained"] = 1.0
    _model_signals(sig, meta, primary, others)
    rank = {code: i for i, code in enumerate(REASON_ORDER)}
    sig.reasons.sort(key=lambda r: rank.get(r.code, len(rank)))
    return sig


def _model_signals(sig: Signals, meta: ExtractionMeta, primary: PaperExtraction,
                   others: list[tuple[ExtractionMeta, PaperExtraction]]) -> None:
    fams = set(primary.model_families())
    mf = sig.model_features
    mf["n_families"] = min(len(fams), 5) / 5
    if any(m.count <= 1 and (m.where is None or m.where.value == "body") for m in primary.model_mentions):
        mf["body_single"] = 1.0
    if not others:
        mf["single_backend"] = 1.0
    if meta.reasks:
        mf["reasked"] = 1.0
    if primary.self_confidence is not None:
        mf["llm_unsure"] = round(1.0 - primary.self_confidence, 4)
    for o_meta, other in others:
        o_fams = set(other.model_families())
        if o_fams != fams:
            mf["families_disagree"] = 1.0
            if not o_fams or not fams:
                mf["only_one_backend_found"] = 1.0
            only_p, only_o = sorted(fams - o_fams), sorted(o_fams - fams)
            sig.reasons.append(ReviewReason(
                code="model_families_disagree",
                message=f"model families: only {meta.backend} names {', '.join(only_p) or 'nothing more'}; "
                        f"only {o_meta.backend} names {', '.join(only_o) or 'nothing more'}",
                detail={meta.backend: sorted(fams), o_meta.backend: sorted(o_fams)},
            ))
