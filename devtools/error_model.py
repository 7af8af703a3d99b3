"""How the simulated LLM gets a paper wrong: errors that depend on the page and the document.

``collabscope simulate`` stands in for the LLM by answering from the generator's truth
record. If its mistakes were independent of the page (a random country for a random
affiliation), the rules backend and the resolver would catch nearly all of them, and every
routing figure measured with it would be optimistic. A real model fails where the page is
hard, and those are the pages where the rules backend fails too: superscript symbols and
footnote affiliations, long author lists, countries that are not printed, places whose
name exists in several countries, companies named without a site.

This module is the *realistic* error model. :func:`page_facts` reads what makes a page hard
from the truth record (the layout says which marker style and whether the affiliations sit
in a footnote; the author and unit counts; for each printed affiliation unit the shared
resolver says whether a country is printed, whether a place is ambiguous, whether it is a
company named without a site). :func:`realistic_answer` then applies each error class of
:class:`ErrorRates` where its condition holds, so the errors concentrate on the same pages
and units where the rules backend is weakest. Rates are per opportunity (per author, per
unit, per paper, as each field says); :meth:`ErrorRates.scaled` multiplies them all (the
simulator's ``--noise``: ``0.10`` is the default mix, ``0.05`` half of it, ``0.20`` double).

The default mix and the reasoning behind each rate are in docs/ACCURACY.md, "The simulated
LLM's error model". The rates are our assumptions (judgement, not measurement), not fitted to
or taken from any published error analysis; they are parameters so that a measured mix can
replace them.

Every draw is seeded by (seed, paper, error class), so an answer is reproducible and the
classes do not shift one another's random streams.
"""

from __future__ import annotations

import functools
import hashlib
import random
import re
from collections import Counter
from dataclasses import dataclass, field, fields, replace
from typing import Any

from extractor.resolve import get_resolver
from extractor.schemas import Method, Sector

#: Rates multiply by ``noise / DEFAULT_NOISE``: ``--noise 0.10`` is the default mix.
DEFAULT_NOISE = 0.10

#: Marker style of each generator layout (devtools/layouts.py): how an author is tied to an
#: affiliation on the page.
MARKER_STYLE = {"symbols": "symbols", "numbered": "numbers", "footnote": "footnote",
                "per-author": "position", "acl-grid": "position"}

#: An author list longer than this starts to lose authors; an affiliation list longer than
#: ``LONG_UNITS`` starts to lose units. Rates grow linearly with the excess.
LONG_AUTHORS = 8
LONG_UNITS = 4

#: Places whose name means different places, and the country a model commonly guesses for
#: each when no country is printed (the first code of the pair that is not the truth).
AMBIGUOUS_PLACES: dict[str, tuple[str, ...]] = {
    "cambridge": ("GB", "US"), "london": ("GB", "CA"), "valencia": ("ES", "VE", "US"),
    "birmingham": ("GB", "US"), "waterloo": ("CA", "BE"), "vancouver": ("CA", "US"),
    "athens": ("GR", "US"), "santiago": ("CL", "ES"), "cordoba": ("AR", "ES"), "córdoba": ("AR", "ES"),
    "paris": ("FR", "US"), "berlin": ("DE", "US"), "hyderabad": ("IN", "PK"), "richmond": ("US", "CA", "GB"),
    "kingston": ("CA", "JM", "GB"), "perth": ("AU", "GB"), "newcastle": ("GB", "AU"),
}

#: A Hong Kong university's mainland campus: a model often gives HK for it (or CN for the
#: Hong Kong campus when "Shenzhen" appears elsewhere in the unit).
_HK_SHENZHEN = re.compile(r"hong kong.*shenzhen|shenzhen.*hong kong", re.I)

_DEPT = re.compile(r"^\s*(?:Dept\.?|Department|School|Faculty|Institute for|Laboratory|Lab|Center|Centre|"
                   r"Division|Graduate School|College of)\b[^,]*,", re.I)

_KNOWN_ORG_METHODS = frozenset({Method.GAZETTEER_EXACT, Method.GAZETTEER_ALIAS, Method.STATED})

#: Institution rewrites a model makes (expansions, abbreviations, re-orderings).
_PARAPHRASES: list[tuple[str, str]] = [
    (r"\bUniversity of California,? ", "UC "), (r"\bUC ", "University of California, "),
    (r"\bMassachusetts Institute of Technology\b", "MIT"), (r"\bMIT\b", "Massachusetts Institute of Technology"),
    (r"\bCarnegie Mellon University\b", "CMU"), (r"\bCMU\b", "Carnegie Mellon University"),
    (r"\bUniversity\b", "Univ."), (r"\bUniv\.", "University"), (r"\bInstitute\b", "Inst."),
    (r"\bTechnology\b", "Tech."), (r"\bResearch\b", "Res."), (r"\bGoogle Brain\b", "Google"),
    (r"\bDeepMind\b", "Google DeepMind"), (r"\bFacebook AI Research\b", "Meta AI"), (r"\bFAIR\b", "Facebook AI Research"),
    (r"\bInc\.?$", "Incorporated"), (r"\bLtd\.?$", "Limited"), (r"\bNational\b", "Natl."),
]

#: Software libraries a model lists as "models"; "Transformers" is also a taxonomy family.
LIBRARIES = ("PyTorch", "TensorFlow", "Transformers", "scikit-learn", "JAX", "Keras")

#: Model families a model confuses with each other (name printed for the sibling family).
SIBLINGS: dict[str, tuple[str, ...]] = {
    "llama": ("Alpaca", "Vicuna"), "alpaca": ("LLaMA", "Vicuna"), "vicuna": ("LLaMA", "Alpaca"),
    "bert": ("RoBERTa",), "roberta": ("BERT",), "gpt": ("GPT-J", "GPT-Neo"), "t5": ("BERT",),
    "qwen": ("DeepSeek",), "mistral": ("Mixtral", "LLaMA"), "gemma": ("Gemini",), "resnet": ("VGG-16",),
    "vgg": ("ResNet-50",), "alexnet": ("VGG-16",), "elmo": ("BERT",), "glove": ("word2vec",), "word2vec": ("GloVe",),
    "vit": ("CLIP",), "clip": ("ViT-B/16",), "transformer": ("BERT",), "deepseek": ("Qwen",), "inception": ("ResNet-50",),
}


@dataclass(frozen=True)
class ErrorRates:
    """Probability of each error class per opportunity (see docs/ACCURACY.md for the default mix).

    Link errors (per author, by marker style): the author is tied to a neighbouring unit.
    """

    mislink_symbols: float = 0.12  # per author, markers are symbols (†, ‡, §, ∗)
    mislink_footnote: float = 0.07  # per author, numbers pointing into a footnote
    mislink_numbers: float = 0.04  # per author, superscript numbers with the list under the names
    mislink_position: float = 0.01  # per author, affiliation printed under the name (grid)
    markers_lost: float = 0.04  # per paper with markers: markers ignored, authors linked by guesswork
    drop_author_long: float = 0.03  # per paper, x (authors - LONG_AUTHORS): the list is cut short
    drop_unit_long: float = 0.02  # per unit, x (units - LONG_UNITS): a unit left out
    footnote_unit_missed: float = 0.08  # per unit printed only in a footnote
    footnote_block_missed: float = 0.03  # per footnote layout paper: the whole footnote missed
    invented_affiliation: float = 0.30  # per author with no affiliation: one is made up
    paraphrase: float = 0.15  # per unit: institution name reworded (expanded, abbreviated)
    raw_paraphrase: float = 0.04  # per unit: the "verbatim" text reworded too (no longer on the page)
    department_as_institution: float = 0.25  # per unit starting with a department
    ambiguous_place: float = 0.35  # per unit naming an ambiguous place, no country printed
    company_hq: float = 0.50  # per company unit naming no site: headquarters country
    shared_misreading: float = 0.40  # per unprinted unit the gazetteer places wrongly: the same misreading
    unprinted_country: float = 0.05  # per other unit with no country printed
    unknown_institution: float = 0.12  # ... when the institution is not in the gazetteer either
    stated_country: float = 0.005  # per unit with a printed country: a slip
    bibliography_model: float = 0.08  # per paper: a family read from the references
    library_as_model: float = 0.05  # per paper: a software library listed as a model
    sibling_family: float = 0.06  # per true mention: a sibling family's name instead
    model_missed: float = 0.05  # per true mention: left out

    def scaled(self, factor: float) -> ErrorRates:
        """Every rate times ``factor``, capped at 1 (``--noise`` picks the factor)."""
        return replace(self, **{f.name: min(1.0, getattr(self, f.name) * factor) for f in fields(self)})

    @classmethod
    def for_noise(cls, noise: float) -> ErrorRates:
        return cls().scaled(noise / DEFAULT_NOISE)


@dataclass
class UnitFacts:
    """What the page makes hard about one printed affiliation unit."""

    stated: bool  # a country is printed in the unit
    ambiguous: tuple[str, ...] = ()  # countries an ambiguous place in it can mean
    company_no_site: bool = False  # a multi-country company, no site named: HQ country
    hq: str | None = None
    in_gazetteer: bool = False
    resolver_country: str | None = None
    department_first: bool = False


@dataclass
class PageFacts:
    """What the page makes hard about a paper (from its truth record and the resolver)."""

    layout: str
    marker_style: str
    authors: int
    units: list[UnitFacts] = field(default_factory=list)
    authors_without: int = 0

    @property
    def hardness(self) -> float:
        """0 (easy page) .. 1 (hard): symbol/footnote markers, long lists, unprinted or ambiguous countries."""
        h = {"symbols": 0.35, "footnote": 0.3, "numbers": 0.15, "position": 0.0}.get(self.marker_style, 0.1)
        h += min(0.3, 0.03 * max(0, self.authors - LONG_AUTHORS))
        if self.units:
            h += 0.35 * sum((not u.stated) or bool(u.ambiguous) or u.company_no_site for u in self.units) / len(self.units)
        return min(1.0, h)


@functools.lru_cache(maxsize=65536)
def unit_facts(raw: str) -> UnitFacts:
    """Resolver facts for one printed unit (cached: units repeat across a corpus)."""
    res = get_resolver().resolve(raw)
    places = get_resolver().places.find(raw)
    stated = res.country_method == Method.STATED or any(h.place.kind == "country" for h in places)
    ambiguous: tuple[str, ...] = ()
    # A place only misleads when the country rests on it: a known institution ("University of
    # Cambridge", "MIT, Cambridge, MA") settles the country for a model as for the gazetteer.
    rests_on_place = res.country_method not in _KNOWN_ORG_METHODS or res.multi_country_company or \
        res.sector == Sector.INDUSTRY
    regions = any(h.place.kind == "region" for h in places)
    for h in places if rests_on_place and not stated and not regions else ():
        if h.place.kind != "city":
            continue
        known = AMBIGUOUS_PLACES.get(raw[h.start:h.end].casefold())
        if known:
            ambiguous = known
        elif len(h.place.codes) > 1 and (h.place.population or 0) >= 100_000:
            ambiguous = tuple(h.place.codes[:3])
    if _HK_SHENZHEN.search(raw):
        ambiguous = ("HK", "CN")
    hq = None
    if res.multi_country_company:
        hq = res.country
    return UnitFacts(stated=stated, ambiguous=ambiguous, company_no_site=res.multi_country_company, hq=hq,
                     in_gazetteer=res.in_gazetteer, resolver_country=res.country,
                     department_first=bool(_DEPT.match(raw)))


def page_facts(truth: dict[str, Any]) -> PageFacts:
    layout = str(truth.get("layout") or "")
    authors = truth.get("authors", [])
    return PageFacts(layout=layout, marker_style=MARKER_STYLE.get(layout, "numbers"), authors=len(authors),
                     units=[unit_facts(a["raw"]) for a in truth.get("affiliations", [])],
                     authors_without=sum(1 for a in authors if not a.get("affiliations")))


def _rng(seed: int, *parts: Any) -> random.Random:
    return random.Random(int(hashlib.sha256(":".join(map(str, (seed, *parts))).encode()).hexdigest()[:16], 16))


def _paraphrase(text: str, rng: random.Random) -> str | None:
    options = [(p, r) for p, r in _PARAPHRASES if re.search(p, text)]
    if not options:
        return None
    pattern, repl = rng.choice(options)
    out = re.sub(pattern, repl, text, count=1).strip()
    return out if out != text else None


#: Countries a model mixes up when it has to guess (neighbours, shared languages, a parent
#: country, the US as the default guess for an English-language institution).
CONFUSABLE: dict[str, tuple[str, ...]] = {
    "US": ("CA", "GB"), "CA": ("US",), "GB": ("US", "IE"), "IE": ("GB",), "CN": ("HK", "SG", "TW"),
    "HK": ("CN",), "TW": ("CN",), "SG": ("CN", "MY"), "MO": ("CN", "HK"), "DE": ("AT", "CH"),
    "AT": ("DE",), "CH": ("DE", "FR"), "FR": ("BE", "CH", "CA"), "BE": ("NL", "FR"), "NL": ("BE", "DE"),
    "AU": ("NZ", "GB"), "NZ": ("AU",), "KR": ("JP", "US"), "JP": ("KR", "US"), "IN": ("US", "GB"),
    "IL": ("US",), "SE": ("DK", "NO", "FI"), "DK": ("SE", "NO"), "NO": ("SE", "DK"), "FI": ("SE",),
    "ES": ("PT", "MX"), "PT": ("ES", "BR"), "IT": ("CH", "ES"), "RU": ("UA",), "BR": ("PT",),
}


def _wrong_country(truth_cc: str | None, f: UnitFacts, cls: str, pool: list[tuple[str, float]],
                   rng: random.Random) -> str | None:
    """The country a model would wrongly give this unit, or None when the class cannot err here.

    An ambiguous place gives its other meaning; a company its headquarters; an unprinted
    country the resolver's own misreading when it has one (the same world knowledge the
    gazetteer encodes, wrong the same way), else a confusable neighbour.
    """
    if cls == "ambiguous_place":
        others = [c for c in f.ambiguous if c != truth_cc]
        return others[0] if others else None
    if cls == "company_hq":
        return f.hq if f.hq and f.hq != truth_cc else None
    if cls == "shared_misreading":
        return f.resolver_country
    if cls == "unprinted_country" and f.resolver_country and f.resolver_country != truth_cc:
        return f.resolver_country
    near = CONFUSABLE.get(truth_cc or "")
    if near and rng.random() < 0.8:
        return rng.choice(near)
    weighted = [(c, w) for c, w in pool if c != truth_cc]
    return rng.choices([c for c, _ in weighted], [w for _, w in weighted])[0] if weighted else None


def realistic_answer(truth: dict[str, Any], rates: ErrorRates, seed: int, pool: list[tuple[str, float]],
                     families: list[str] | None = None, facts: PageFacts | None = None
                     ) -> tuple[dict[str, Any], Counter[str]]:
    """The truth as a real model might read this page, and the error classes applied.

    Returns (answer in the FrontMatterAnswer shape, Counter of error class -> times).
    Deterministic in (seed, paper).
    """
    facts = facts or page_facts(truth)
    key = (truth.get("id"), truth.get("source_file"))
    log: Counter[str] = Counter()

    def rng(name: str) -> random.Random:
        return _rng(seed, *key, name)

    units = [dict(raw=a["raw"], institution=a.get("institution"), country=a.get("country"))
             for a in truth.get("affiliations", [])]
    n_units = len(units)
    links = [list(a.get("affiliations", [])) for a in truth.get("authors", [])]
    names = [a["name"] for a in truth.get("authors", [])]
    emails = [a.get("email") for a in truth.get("authors", [])]

    # --- author <-> affiliation links (marker style)
    style = facts.marker_style
    r = rng("links")
    if style != "position" and n_units > 1 and r.random() < rates.markers_lost:
        log["markers_lost"] += 1
        every = r.random() < 0.5
        links = [list(range(n_units)) if every else [min(i, n_units - 1)] for i in range(len(links))]
    else:
        rate = getattr(rates, f"mislink_{style}", rates.mislink_numbers)
        for i, ids in enumerate(links):
            if ids and n_units > 1 and r.random() < rate:
                log["mislink"] += 1
                k = r.randrange(len(ids))
                step = r.choice((-1, 1))
                links[i] = list(dict.fromkeys(ids[:k] + [(ids[k] + step) % n_units] + ids[k + 1:]))

    # --- invented affiliations for authors without one
    r = rng("invented")
    extra_units: list[dict[str, Any]] = []
    for i, ids in enumerate(links):
        if not ids and not truth["authors"][i].get("affiliations") and r.random() < rates.invented_affiliation:
            log["invented_affiliation"] += 1
            near = next((links[j] for j in (i - 1, i + 1) if 0 <= j < len(links) and links[j]), None)
            if near and r.random() < 0.7:
                links[i] = list(near)
            else:
                domain = (emails[i] or "").rpartition("@")[2]
                stem = domain.split(".")[-2] if domain.count(".") >= 1 else "Independent"
                extra_units.append(dict(raw=f"{stem.capitalize()} University", institution=f"{stem.capitalize()} University",
                                        country=_wrong_country(None, UnitFacts(stated=False), "invented", pool, r)))
                links[i] = [n_units + len(extra_units) - 1]

    # --- country readings (unit facts)
    r = rng("country")
    changed: set[int] = set()
    for k, u in enumerate(units):
        f = facts.units[k] if k < len(facts.units) else UnitFacts(stated=True)
        if f.ambiguous:
            p, cls = rates.ambiguous_place, "ambiguous_place"
        elif f.stated:
            p, cls = rates.stated_country, "stated_country"
        elif f.company_no_site:
            p, cls = rates.company_hq, "company_hq"
        elif f.resolver_country and u["country"] and f.resolver_country != u["country"]:
            p, cls = rates.shared_misreading, "shared_misreading"
        elif not f.in_gazetteer:
            p, cls = rates.unknown_institution, "unprinted_country"
        else:
            p, cls = rates.unprinted_country, "unprinted_country"
        if u["country"] and r.random() < p:
            wrong = _wrong_country(u["country"], f, cls, pool, r)
            if wrong and wrong != u["country"]:
                u["country"] = wrong
                changed.add(k)
                log[cls] += 1

    # --- institution names
    r = rng("names")
    for k, u in enumerate(units):
        f = facts.units[k] if k < len(facts.units) else UnitFacts(stated=True)
        if f.department_first and r.random() < rates.department_as_institution:
            u["institution"] = u["raw"].split(",")[0].strip()
            log["department_as_institution"] += 1
        elif u["institution"] and r.random() < rates.paraphrase:
            new = _paraphrase(u["institution"], r)
            if new:
                u["institution"] = new
                log["paraphrase"] += 1
        if r.random() < rates.raw_paraphrase:
            new = _paraphrase(u["raw"], r) or (", ".join(u["raw"].split(", ")[:-1]) if ", " in u["raw"] else None)
            if new:
                u["raw"] = new
                log["raw_paraphrase"] += 1

    # --- what is left out: footnotes, long lists
    r = rng("drops")
    dropped_units: set[int] = set()
    if facts.layout == "footnote" and n_units:
        if r.random() < rates.footnote_block_missed:
            dropped_units = set(range(n_units))
            log["footnote_block_missed"] += 1
        else:
            for k in range(n_units):
                if r.random() < rates.footnote_unit_missed:
                    dropped_units.add(k)
                    log["footnote_unit_missed"] += 1
    p_unit = min(0.3, rates.drop_unit_long * max(0, n_units - LONG_UNITS))
    for k in range(n_units):
        if k not in dropped_units and r.random() < p_unit:
            dropped_units.add(k)
            log["dropped_unit"] += 1
    keep_authors = len(names)
    if r.random() < min(0.6, rates.drop_author_long * max(0, len(names) - LONG_AUTHORS)):
        keep_authors = r.randint(max(1, (2 * len(names)) // 3), len(names) - 1)
        log["dropped_authors"] += len(names) - keep_authors
        kept_ids = {i for ids in links[:keep_authors] for i in ids}
        for i in {i for ids in links[keep_authors:] for i in ids} - kept_ids:
            if i < n_units and r.random() < 0.5:
                dropped_units.add(i)

    log["affiliations_changed"] = len(changed | dropped_units)
    all_units = units + extra_units
    remap: dict[int, int] = {}
    affs: list[dict[str, Any]] = []
    for k, u in enumerate(all_units):
        if k in dropped_units:
            continue
        remap[k] = len(affs)
        affs.append({"id": len(affs), "raw": u["raw"], "institution": u["institution"], "country": u["country"]})
    authors = [{"name": names[i], "affiliation_ids": [remap[j] for j in links[i] if j in remap], "email": emails[i]}
               for i in range(keep_authors)]

    # --- model mentions
    r = rng("models")
    mentions = []
    for m in truth.get("model_mentions", []):
        name = m.get("name") or m["family"]
        sib = SIBLINGS.get(str(m["family"]).casefold())
        if r.random() < rates.model_missed:
            log["model_missed"] += 1
            continue
        if sib and r.random() < rates.sibling_family:
            name = r.choice(sib)
            log["sibling_family"] += 1
        mentions.append({"name": name, "role": m.get("role")})
    present = {str(m["name"]).casefold() for m in mentions}
    if families and r.random() < rates.bibliography_model:
        fam = r.choice(families)
        if fam.casefold() not in present:
            mentions.append({"name": fam, "role": "used"})
            log["bibliography_model"] += 1
    if r.random() < rates.library_as_model:
        mentions.append({"name": r.choice(LIBRARIES), "role": "used"})
        log["library_as_model"] += 1

    # self-reported confidence follows how hard the page looks, not whether the answer is right
    conf = _rng(seed, *key, "confidence").uniform(0.75, 1.0) - 0.15 * facts.hardness
    answer = {"title": truth.get("title"), "authors": authors, "affiliations": affs, "model_mentions": mentions,
              "self_confidence": round(max(0.3, conf), 2)}
    return answer, log


#: Error classes that can change a paper's country set (the rest change links, names or models).
COUNTRY_CLASSES = ("stated_country", "ambiguous_place", "company_hq", "shared_misreading", "unprinted_country",
                   "footnote_unit_missed", "footnote_block_missed", "dropped_unit", "invented_affiliation",
                   "raw_paraphrase")
