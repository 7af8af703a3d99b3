"""Affiliation string -> institution, department, city, country, sector (with how each was decided).

Reconcile and every extraction backend call :meth:`Resolver.resolve` on each raw
affiliation.  The country rules (DESIGN.md, "Counting policy") live here:

1. Places *inside* the matched institution's name are not locations ("University of
   Hong Kong", "Georgia Institute of Technology", "The Chinese University of Hong Kong,
   Shenzhen").
2. A country written in the affiliation (``STATED``) wins; "Hong Kong, China" and
   "Taipei, Taiwan, China" keep HK / TW.
3. Companies take the country of a site named anywhere in the string (Microsoft Research
   *Asia*, Tencent AI Lab, *Bellevue*), then in the context; with no site, a
   multi-country company gets its headquarters country as ``HQ_DEFAULT``; so does a
   listed company (``companies.csv``), which is known by its headquarters only.
4. A city or region (``CITY``) comes next; ambiguous cities are settled by the other
   places and by the gazetteer ("Cambridge, MA" -> US, "MIT, Cambridge" -> US).  A state
   or province cue (", MA", "(MA)", " MA" right after the city, "Massachusetts", "Mass.")
   also decides which city a company site is ("Microsoft Research New England,
   Cambridge (MA)" -> US, not the Cambridge UK lab).
5. Then the gazetteer country, then the e-mail domain, then the context, then weak
   web-mail hints.

Institution: a known name or alias as written, else a part of the string whose words are a
known name's in another order, else a fuzzy match (a tie between namesakes goes to the
country the string names).  When several organisations are named, the last (largest) one,
except that a known sub-unit named together with its parent resolves to the parent, the
sub-unit going to ``department`` ("Courant Institute ..., New York University" -> NYU); member institutes
of an umbrella body (CASIA of CAS) and sub-units abroad (NYU Shanghai) stay themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from pydantic import BaseModel, Field

from extractor.resolve.countries import PlaceHit, PlaceIndex
from extractor.resolve.emails import EmailEvidence, EmailIndex
from extractor.resolve.entries import GAZETTEER_DIR, OrgEntry, load_companies, load_organisations, load_universities
from extractor.resolve.institutions import InstitutionIndex, InstitutionMatch
from extractor.resolve.parts import CONJ_RE, PAREN_RE, VENUE_RE, department, infer_sector, org_segment, partial_name
from extractor.resolve.text import clean, key, strip_accents, tokenize
from extractor.schemas import CountryCode, Method, Sector


class Resolution(BaseModel):
    """What the resolver decided for one affiliation string, and how."""

    institution: str | None = None  # canonical English name (as written when not in the gazetteer)
    department: str | None = None
    city: str | None = None
    country: CountryCode = None
    sector: Sector | None = None
    institution_method: Method = Method.UNKNOWN
    institution_score: float | None = None  # 0-100; 100 for exact/alias matches
    country_method: Method = Method.UNKNOWN
    multi_country_company: bool = False  # HQ country used because no site was named
    in_gazetteer: bool = False
    notes: list[str] = Field(default_factory=list)




@dataclass(slots=True)
class _Decision:
    country: str | None = None
    method: Method = Method.UNKNOWN
    city: str | None = None
    multi: bool = False


class Resolver:
    """Build once (see :func:`get_resolver`); ``resolve`` is pure and thread-safe."""

    def __init__(self, organisations: list[OrgEntry] | None = None,
                 universities: list[OrgEntry] | None = None,
                 companies: list[OrgEntry] | None = None) -> None:
        """Tables default to the shipped files; a caller that passes its own organisations
        or universities gets no listed companies unless it passes those too."""
        orgs = organisations if organisations is not None else load_organisations()
        unis = universities if universities is not None else load_universities()
        if companies is None:
            companies = load_companies() if organisations is None and universities is None else []
        self.places = PlaceIndex(GAZETTEER_DIR / "cities.csv")
        # a listed company called like a place ("Phoenix", "Lincoln") would hide the place
        companies = [c for c in companies if not self.places.is_place_name(c.name)]
        self.institutions = InstitutionIndex(orgs, unis, companies, self.places.city_spellings())
        self.emails = EmailIndex(self.institutions.domains)
        self._site_patterns: dict[int, list[tuple[re.Pattern[str], str, Method, tuple[str, ...]]]] = {}

    # ------------------------------------------------------------------ public helpers
    def country_of_email(self, domain: str) -> tuple[str, Method] | None:
        """(ISO code, method) for an e-mail domain; None for generic mail or nothing known."""
        return self.emails.country_of_email(domain)

    def find_countries(self, text: str) -> list[tuple[str, int, int]]:
        """Countries, regions, demonyms and cities named in ``text`` with offsets into it."""
        return self.places.find_countries(text)

    def institution_names(self) -> list[str]:
        return [e.name for e in self.institutions.entries]

    def lookup(self, name: str) -> OrgEntry | None:
        """The gazetteer entry for a canonical name or alias (default one if ambiguous)."""
        return self.institutions.lookup(name)

    # ------------------------------------------------------------------ resolve
    def resolve(self, raw: str, email_domain: str | None = None, context: str | None = None) -> Resolution:
        """Resolve one affiliation string; see the module docstring for the rules."""
        notes: list[str] = []
        text = clean(raw or "")
        email = self.emails.evidence(email_domain)
        if email is not None and email.note:
            notes.append(email.note)
        toks = tokenize(text)
        places = self.places.find(text, toks) if text else []
        matches = self.institutions.find(text, toks) if text else []
        ctx_places = self._context_places(context)

        entry, match, inst_method, score, sub_unit = self._choose_institution(
            text, matches, places, email, ctx_places, notes)
        if entry is not None and match is not None and entry.source == "universities":
            better = self._longer_fuzzy(text, match, entry)
            if better is not None:
                entry, score, inst_method = better[0], better[1], Method.GAZETTEER_FUZZY
                notes.append(f"fuzzy match preferred over the partial name {text[match.start:match.end]!r}")
        org_seg = None
        if entry is None and text:
            reordered = self.institutions.by_words(text)
            if reordered is not None:
                entry, start, end = reordered
                inst_method, score = Method.GAZETTEER_ALIAS, 100.0
                match = InstitutionMatch((), start, end, inst_method, score)
                notes.append(f"{text[start:end].strip()!r} is {entry.name!r} in another word order")
        if entry is None and text:
            fuzzy_seg = org_segment(text, places)
            if fuzzy_seg is not None:
                hit = self.institutions.fuzzy(fuzzy_seg[0], {c for p in places for c in p.place.codes})
                if hit is not None:
                    entry, score = hit
                    inst_method = Method.GAZETTEER_FUZZY
                    match = InstitutionMatch((), fuzzy_seg[1], fuzzy_seg[2], inst_method, score)
                    notes.append(f"fuzzy match {fuzzy_seg[0]!r} -> {entry.name!r} ({score:.0f})")
                else:
                    org_seg = fuzzy_seg
        if entry is None and email is not None and email.entry is not None and org_seg is None and not VENUE_RE.search(text):
            entry, inst_method, score = email.entry, Method.EMAIL_DOMAIN, None
            notes.append(f"institution from e-mail domain {email.domain}")

        spans = [(m.start, m.end) for m in matches] + ([(match.start, match.end)] if match else [])
        loc = [p for p in places if not any(s <= p.start and p.end <= e for s, e in spans)] if entry else places
        if match is not None and len(matches) > 1 and match is not matches[-1]:
            # several organisations: only places before the next one belong to this one
            nxt = next(m.start for m in matches if m.start >= match.end)
            loc = [p for p in loc if p.start < nxt]
        if entry is not None and _mainland_campus(entry):
            loc = [p for p in loc if p.code not in ("HK", "MO")]
        decision = self._decide_country(text, entry, inst_method, loc, email, ctx_places, notes,
                                        clean(context) if context else None)

        if entry is None and VENUE_RE.search(text) and not matches:
            notes.append("looks like a venue or event line, not an affiliation: no institution")
            org_seg = None
        institution = entry.name if entry else (org_seg[0] if org_seg else None)
        if entry is None and org_seg is not None:
            notes.append("institution not in the gazetteer; name kept as written")
        dept = department(text, match, org_seg, places)
        if sub_unit is not None and entry is not None and match is not None:
            dept = _with_sub_unit(dept, text[sub_unit.start : sub_unit.end])
        sector = entry.sector if entry else (infer_sector(org_seg[0]) if org_seg else None)
        city = decision.city or (entry.city if entry and not entry.multi_country and decision.country == entry.country else None)
        return Resolution(
            institution=institution, department=dept, city=city, country=decision.country,
            sector=sector, institution_method=inst_method if entry else Method.UNKNOWN,
            institution_score=score if entry else None, country_method=decision.method,
            multi_country_company=decision.multi, in_gazetteer=entry is not None, notes=notes,
        )

    # ------------------------------------------------------------------ institution
    def _choose_institution(self, text: str, matches: list[InstitutionMatch], places: list[PlaceHit],
                            email: EmailEvidence | None, ctx_places: list[PlaceHit], notes: list[str]
                            ) -> tuple[OrgEntry | None, InstitutionMatch | None, Method, float | None,
                                       InstitutionMatch | None]:
        """(entry, its match, method, score, the sub-unit named with it if the entry is its parent)."""
        matches = [m for m in matches if not partial_name(text, m)]
        if not matches:
            return None, None, Method.UNKNOWN, None, None
        chosen = matches[-1]  # affiliation strings run from the smallest unit to the largest
        i = len(matches) - 1
        while i > 0 and CONJ_RE.match(PAREN_RE.sub("", text[matches[i - 1].end : matches[i].start])):
            i -= 1  # "Bar-Ilan University and Google": the first of a list of equals
        chosen = matches[i]
        names = {e.name for m in matches for e in m.entries}
        unit = _sub_unit_with_parent(matches, names)
        sub_unit = None
        if unit is not None:
            sub, parent_match, keep_sub = unit
            if keep_sub:  # a member institute of an umbrella body (CASIA of CAS), or abroad
                chosen = sub
            else:  # a school or centre of its parent: "Courant Institute ..., New York University"
                chosen = parent_match
                sub_unit = sub
                notes.append(f"sub-unit {text[sub.start:sub.end]!r} named with its parent {sub.entries[0].parent}: "
                             "institution is the parent")
        if len(matches) > 1 and len({e.id for m in matches for e in m.entries}) > 1:
            notes.append("several organisations named: " + "; ".join(sorted(names)))
        entries = chosen.entries
        entry = entries[0] if len(entries) == 1 else self._disambiguate(chosen, places, email, ctx_places, notes)
        method = chosen.method
        if len(entries) > 1:  # an ambiguous spelling: exact only if it is the chosen one's name
            exact = key(entry.name) == key(text[chosen.start : chosen.end])
            method = Method.GAZETTEER_EXACT if exact else Method.GAZETTEER_ALIAS
        return entry, chosen, method, chosen.score, sub_unit

    def _disambiguate(self, match: InstitutionMatch, places: list[PlaceHit], email: EmailEvidence | None,
                      ctx_places: list[PlaceHit], notes: list[str]) -> OrgEntry:
        stated = {p.code for p in places if p.place.kind == "country"}
        nearby = {c for p in places if p.place.kind in ("city", "region") for c in p.place.codes}
        ctx = {p.code for p in ctx_places if p.place.kind in ("country", "city")}
        alias_key = key(match.refs[0].alias)

        def score(e: OrgEntry) -> float:
            s = 0.0
            s += 8 if e.country in stated else 0
            s += 4 if e.country in nearby else 0
            if email is not None:
                s += 6 if email.entry is e else (3 if email.country == e.country and email.strength in ("institution", "cctld") else 0)
            s += 2 if e.country in ctx else 0
            s += 1 if any(key(a) == alias_key for a in e.default_for) else 0
            s += 0.5 if e.source == "organisations" else 0
            return s

        ranked = sorted(match.entries, key=score, reverse=True)
        notes.append(f"{match.refs[0].alias!r} is ambiguous ({', '.join(e.name for e in ranked)}): chose {ranked[0].name}")
        return ranked[0]

    def _longer_fuzzy(self, text: str, match: InstitutionMatch, entry: OrgEntry) -> tuple[OrgEntry, float] | None:
        """A list name found inside a longer segment ("Harbin Institue of Technology" holds
        the list name "Institue of Technology") may be a typo of a longer known name."""
        seg_start = max(text.rfind(",", 0, match.start), text.rfind(";", 0, match.start)) + 1
        seg_end = min([i for i in (text.find(",", match.end), text.find(";", match.end)) if i >= 0] or [len(text)])
        segment = text[seg_start:seg_end].strip()
        if len(key(segment)) <= len(key(entry.name)) + 2:
            return None
        hit = self.institutions.fuzzy(segment, {c for p in self.places.find(text) for c in p.place.codes})
        if hit is not None and hit[0] is not entry and len(key(hit[0].name)) > len(key(entry.name)):
            return hit
        return None

    # ------------------------------------------------------------------ country
    def _decide_country(self, text: str, entry: OrgEntry | None, inst_method: Method, loc: list[PlaceHit],
                        email: EmailEvidence | None, ctx_places: list[PlaceHit], notes: list[str],
                        context: str | None = None) -> _Decision:
        stated = self._stated(loc, notes)
        has_sites = entry is not None and bool(entry.sites)
        if entry is not None and has_sites:
            site = self._find_site(entry, text, loc)
            if stated is not None:
                if site and site[0] != stated[0]:
                    notes.append(f"stated country {stated[0]} differs from the {site[1]!r} site ({site[0]})")
                return _Decision(stated[0], Method.STATED, self._city(loc))
            if site is not None:
                return _Decision(site[0], site[2], site[1] if site[2] is Method.CITY else self._city(loc))
        elif stated is not None:
            if entry is not None and entry.country and entry.country != stated[0]:
                notes.append(f"stated country {stated[0]} differs from the gazetteer ({entry.name}: {entry.country})")
            return _Decision(stated[0], Method.STATED, self._city(loc))
        prefer = [entry.country] if entry is not None and entry.country else []
        if email is not None and email.country and email.strength != "weak":
            prefer.append(email.country)
        from_places = self._from_places(loc, prefer, notes)
        if from_places is not None:
            code, city = from_places
            if entry is not None and code == entry.country and not has_sites:
                return _Decision(code, _gazetteer_method(inst_method), city)
            if entry is not None and entry.country and code != entry.country:
                notes.append(f"place named in the affiliation ({code}) overrides the gazetteer ({entry.country})")
            return _Decision(code, Method.CITY, city)
        if has_sites and entry is not None:
            site = self._find_site(entry, context) if context else None
            if site is not None:
                notes.append(f"site {site[1]!r} named in the context")
                return _Decision(site[0], site[2], site[1] if site[2] is Method.CITY else None)
            if entry.multi_country:
                notes.append(f"{entry.name} has labs in several countries and none is named: headquarters country")
                return _Decision(entry.country, Method.HQ_DEFAULT, None, True)
        if entry is not None and entry.country and entry.multi_country:
            notes.append(f"{entry.name} is known by its headquarters only and no site is named")
            return _Decision(entry.country, Method.HQ_DEFAULT, None, True)
        if entry is not None and entry.country:
            return _Decision(entry.country, _gazetteer_method(inst_method))
        if email is not None and email.country and email.strength not in ("weak", "none"):
            if email.method is Method.HQ_DEFAULT:
                return _Decision(email.country, Method.HQ_DEFAULT, None, True)
            return _Decision(email.country, Method.EMAIL_DOMAIN)
        ctx_codes = [p.code for p in ctx_places if p.place.kind == "country"]
        if ctx_codes:
            notes.append("country taken from the text around the affiliation")
            return _Decision(_prefer_sar(ctx_codes)[-1], Method.STATED)
        if email is not None and email.strength == "weak" and email.country:
            notes.append("only a web-mail hint for the country")
            return _Decision(email.country, Method.EMAIL_DOMAIN)
        demonyms = [p for p in loc if p.place.kind == "demonym"]
        if demonyms:
            notes.append(f"country inferred from the word {demonyms[-1].place.name!r}")
            return _Decision(demonyms[-1].code, Method.STATED)
        return _Decision()

    @staticmethod
    def _stated(loc: list[PlaceHit], notes: list[str]) -> tuple[str, PlaceHit] | None:
        countries = [p for p in loc if p.place.kind == "country"]
        if not countries:
            return None
        codes = _prefer_sar([p.code for p in countries])
        if len(set(codes)) > 1:
            notes.append(f"several countries stated ({', '.join(dict.fromkeys(codes))}): took the last")
        last = [p for p in countries if p.code == codes[-1]][-1]
        return codes[-1], last

    @staticmethod
    def _from_places(loc: list[PlaceHit], prefer: list[str], notes: list[str]) -> tuple[str, str | None] | None:
        """Country from regions and cities: the one every place can mean, else the last."""
        rc = [p for p in loc if p.place.kind in ("region", "city")]
        if not rc:
            return None
        city = next((p.place.name for p in reversed(rc) if p.place.kind == "city"), None)
        common = set(rc[0].place.codes)
        for p in rc[1:]:
            common &= set(p.place.codes)
        if common:
            for code in prefer:
                if code in common:
                    return code, city
            for p in reversed(rc):
                if p.code in common:
                    if len(p.place.codes) > 1:
                        notes.append(f"{p.place.name!r} is ambiguous ({', '.join(p.place.codes)}): took {p.code}")
                    return p.code, city
        last = rc[-1]
        code = next((c for c in prefer if c in last.place.codes), last.code)
        return code, city

    @staticmethod
    def _city(loc: list[PlaceHit]) -> str | None:
        return next((p.place.name for p in reversed(loc) if p.place.kind == "city"), None)

    def _find_site(self, entry: OrgEntry, text: str, loc: list[PlaceHit] | None = None
                   ) -> tuple[str, str, Method] | None:
        """(country, site name, method) of the last company site named in ``text``.

        A site that is an ambiguous city (Cambridge: GB, US, CA) does not decide against
        the other cues: a state or province named with it ("Cambridge (MA)", "Cambridge,
        Massachusetts"), or another named site in one of the city's countries ("Microsoft
        Research New England, Cambridge"), picks which Cambridge it is.
        """
        pats = self._site_patterns.get(entry.id)
        if pats is None:
            pats = []
            for name, code in entry.sites.items():
                spelling = strip_accents(name)  # as written, or in the capitals of an all-caps line
                pat = re.compile(r"(?<![\w])(?:" + re.escape(spelling) + "|" + re.escape(spelling.upper())
                                 + r")(?![\w])")
                found = self.places.find(name)
                kind = {p.place.kind for p in found}
                method = Method.STATED if "country" in kind else (Method.CITY if kind & {"city", "region"} else Method.GAZETTEER_ALIAS)
                cands = tuple(dict.fromkeys(c for p in found if p.place.kind == "city" for c in p.place.codes))
                pats.append((pat, code, method, cands))
            self._site_patterns[entry.id] = pats
        folded = strip_accents(text)
        hits: list[tuple[int, str, str, Method, tuple[str, ...]]] = []
        for (pat, code, method, cands), name in zip(pats, entry.sites):
            for m in pat.finditer(folded):
                hits.append((m.start(), code, name, method, cands))
        if not hits:
            return None
        hits.sort(key=lambda h: h[0])
        _, code, name, method, cands = hits[-1]
        if len(cands) > 1:
            regions = [c for p in loc or () if p.place.kind == "region" for c in p.place.codes]
            others = [h[1] for h in hits[:-1] if h[2] != name]
            for cue in (regions, others):
                agree = [c for c in cue if c in cands]
                if agree and code not in agree:
                    return agree[-1], name, method
        return code, name, method

    def _context_places(self, context: str | None) -> list[PlaceHit]:
        if not context:
            return []
        ctx = clean(context)
        return [p for p in self.places.find(ctx) if p.place.kind != "demonym" and (p.place.kind == "country" or p.location)]


def _sub_unit_with_parent(matches: list[InstitutionMatch], names: set[str]
                          ) -> tuple[InstitutionMatch, InstitutionMatch, bool] | None:
    """(sub-unit match, parent match, keep the sub-unit?) when a string names a gazetteer
    entry together with its parent.  The parent is the institution ("Courant Institute,
    New York University" -> NYU; "BNRist, Tsinghua University" -> Tsinghua) unless the
    parent is an umbrella of autonomous institutes (CAS, Max Planck Society, A*STAR: the
    institute is the institution) or the sub-unit is in another country (NYU Shanghai)."""
    for m in matches:
        for e in m.entries:
            if not e.parent or e.parent not in names or e.parent == e.name:
                continue
            for pm in matches:
                parent = next((p for p in pm.entries if p.name == e.parent), None)
                if parent is not None and pm is not m:
                    keep = parent.umbrella or (e.country is not None and e.country != parent.country)
                    return m, pm, keep
    return None


def _with_sub_unit(dept: str | None, unit: str) -> str:
    """The department with the named sub-unit added (once, at the end)."""
    unit = unit.strip(" ,;")
    if unit.count("(") > unit.count(")"):  # "... Technology (BNRist" when the alias stops inside
        unit = unit[: unit.rindex("(")].rstrip(" ,;")
    if not dept:
        return unit
    return dept if unit in dept else f"{dept}, {unit}"


def _prefer_sar(codes: list[str]) -> list[str]:
    """'Hong Kong, China' is HK; 'Taipei, Taiwan, China' is TW."""
    special = {"HK", "MO", "TW"} & set(codes)
    return [c for c in codes if c != "CN"] if special and "CN" in codes else codes


def _mainland_campus(entry: OrgEntry) -> bool:
    """CUHK-Shenzhen, HKUST(GZ) ...: their 'Hong Kong' must not make them HK."""
    return entry.country == "CN" and any(
        s and ("Hong Kong" in s or "HK" in s) for s in (entry.name, entry.parent))


def _gazetteer_method(inst_method: Method) -> Method:
    return inst_method if inst_method in (Method.GAZETTEER_EXACT, Method.GAZETTEER_ALIAS,
                                          Method.GAZETTEER_FUZZY, Method.EMAIL_DOMAIN) else Method.GAZETTEER_EXACT


@lru_cache(maxsize=1)
def get_resolver() -> Resolver:
    """The shared resolver: built on first use (well under a second), then reused."""
    return Resolver()
