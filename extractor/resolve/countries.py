"""Country names, variants, demonyms, regions and cities -> ISO alpha-2 codes.

The place index answers "which places does this text name, and where": country names
from pycountry plus the variants people write (USA, U.K., P.R. China, Republic of
Korea, Türkiye ...), demonyms ("Chinese Academy of ..."), sub-national regions (US
states, Canadian provinces, Chinese provinces ...) and the city table shipped in
data/gazetteer/cities.csv.  Each place carries its candidate countries in preference
order, so ambiguous names (Cambridge, Victoria, Georgia, "CA") can be settled later by
the other places in the same string ("Cambridge, MA" -> US).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import pycountry

from extractor.resolve.text import PhraseIndex, Token, compact, key_tokens, title_like, tokenize, transliteration

#: Variants people write, mapped to ISO codes (pycountry supplies the official names).
COUNTRY_VARIANTS: dict[str, str] = {
    "USA": "US", "U.S.A.": "US", "U.S.A": "US", "U.S.": "US", "United States": "US",
    "United States of America": "US", "UK": "GB", "U.K.": "GB", "United Kingdom": "GB",
    "Great Britain": "GB", "Britain": "GB", "England": "GB", "Scotland": "GB", "Wales": "GB",
    "Northern Ireland": "GB", "Korea": "KR", "South Korea": "KR", "Republic of Korea": "KR",
    "Korea (South)": "KR", "ROK": "KR", "North Korea": "KP", "DPRK": "KP",
    "Democratic People's Republic of Korea": "KP", "China": "CN", "P.R. China": "CN",
    "PR China": "CN", "P. R. China": "CN", "P.R.China": "CN", "PRC": "CN", "P.R.C.": "CN",
    "People's Republic of China": "CN", "Mainland China": "CN", "Hong Kong": "HK",
    "Hong Kong SAR": "HK", "HKSAR": "HK", "Hong Kong S.A.R.": "HK", "Macau": "MO",
    "Macao": "MO", "Macau SAR": "MO", "Macao SAR": "MO", "Taiwan": "TW", "Taiwan ROC": "TW",
    "Republic of China": "TW", "R.O.C.": "TW", "Russia": "RU", "Russian Federation": "RU",
    "Iran": "IR", "Viet Nam": "VN", "Vietnam": "VN", "Czechia": "CZ",
    "Czech Republic": "CZ", "Türkiye": "TR", "Turkey": "TR", "The Netherlands": "NL",
    "Netherlands": "NL", "Holland": "NL", "UAE": "AE", "U.A.E.": "AE",
    "United Arab Emirates": "AE", "KSA": "SA", "Saudi Arabia": "SA", "Kingdom of Saudi Arabia": "SA",
    "Syria": "SY", "Laos": "LA", "Moldova": "MD", "Tanzania": "TZ", "Bolivia": "BO",
    "Venezuela": "VE", "Brunei": "BN", "Palestine": "PS", "Ivory Coast": "CI",
    "Cote d'Ivoire": "CI", "Kosovo": "XK", "Deutschland": "DE", "Schweiz": "CH",
    "Suisse": "CH", "España": "ES", "Italia": "IT", "Brasil": "BR", "Österreich": "AT",
    "Sverige": "SE", "Danmark": "DK", "Norge": "NO", "Suomi": "FI", "Polska": "PL",
    "Nippon": "JP", "Slovak Republic": "SK", "Macedonia": "MK", "Swaziland": "SZ",
    "Burma": "MM", "Cape Verde": "CV", "East Timor": "TL", "Vatican": "VA",
}

#: Country names that are also common first names or words: only in location position.
NAME_LIKE_COUNTRIES = frozenset({"Jordan", "Chad", "Niger", "Georgia", "Israel", "Jersey",
                                 "Guernsey", "Panama", "Cuba", "Turkey", "Mali", "Oman",
                                 "Peru", "Togo", "Guinea", "Dominica", "Grenada"})

#: Adjectives of nationality; weak evidence, used for organisations not in the gazetteer.
DEMONYMS: dict[str, str] = {
    "Chinese": "CN", "Japanese": "JP", "Korean": "KR", "German": "DE", "French": "FR",
    "British": "GB", "Canadian": "CA", "Swiss": "CH", "Italian": "IT", "Spanish": "ES",
    "Israeli": "IL", "Indian": "IN", "Australian": "AU", "Dutch": "NL", "Russian": "RU",
    "Swedish": "SE", "Danish": "DK", "Norwegian": "NO", "Finnish": "FI", "Polish": "PL",
    "Austrian": "AT", "Belgian": "BE", "Brazilian": "BR", "Mexican": "MX", "Irish": "IE",
    "Portuguese": "PT", "Greek": "GR", "Turkish": "TR", "Iranian": "IR", "Egyptian": "EG",
    "Saudi": "SA", "Singaporean": "SG", "Taiwanese": "TW", "Vietnamese": "VN", "Thai": "TH",
    "Czech": "CZ", "Hungarian": "HU", "Romanian": "RO", "Ukrainian": "UA", "Pakistani": "PK",
    "Scottish": "GB", "Welsh": "GB", "Emirati": "AE", "Qatari": "QA", "Chilean": "CL",
    "Argentine": "AR", "Colombian": "CO", "Nigerian": "NG", "Kenyan": "KE",
    "Estonian": "EE", "Slovenian": "SI", "Croatian": "HR", "Serbian": "RS", "Bulgarian": "BG",
}

_US_STATES = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA",
    "Colorado": "CO", "Connecticut": "CT", "Delaware": "DE", "Florida": "FL", "Georgia": "GA",
    "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL", "Indiana": "IN", "Iowa": "IA",
    "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA", "Maine": "ME", "Maryland": "MD",
    "Massachusetts": "MA", "Michigan": "MI", "Minnesota": "MN", "Mississippi": "MS",
    "Missouri": "MO", "Montana": "MT", "Nebraska": "NE", "Nevada": "NV", "New Hampshire": "NH",
    "New Jersey": "NJ", "New Mexico": "NM", "New York": "NY", "North Carolina": "NC",
    "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK", "Oregon": "OR", "Pennsylvania": "PA",
    "Rhode Island": "RI", "South Carolina": "SC", "South Dakota": "SD", "Tennessee": "TN",
    "Texas": "TX", "Utah": "UT", "Vermont": "VT", "Virginia": "VA", "Washington": "WA",
    "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY", "District of Columbia": "DC",
    "New England": "", "Washington DC": "DC", "Washington D.C.": "DC", "D.C.": "DC",
}
_CA_PROVINCES = {
    "Ontario": "ON", "Quebec": "QC", "Québec": "QC", "British Columbia": "BC", "Alberta": "AB",
    "Manitoba": "MB", "Saskatchewan": "SK", "Nova Scotia": "NS", "New Brunswick": "NB",
    "Newfoundland": "NL", "Newfoundland and Labrador": "NL", "Prince Edward Island": "PE",
}
_OTHER_REGIONS: dict[str, tuple[str, ...]] = {
    **{p: ("CN",) for p in (
        "Guangdong Jiangsu Zhejiang Sichuan Hubei Hunan Shandong Fujian Anhui Hebei Henan "
        "Liaoning Jilin Heilongjiang Shaanxi Shanxi Yunnan Guizhou Gansu Jiangxi Guangxi "
        "Hainan Xinjiang Ningxia Qinghai").split()},
    "Inner Mongolia": ("CN",), "New South Wales": ("AU",), "Queensland": ("AU",),
    "Victoria": ("CA", "AU"), "Western Australia": ("AU",), "South Australia": ("AU",),
    "Tasmania": ("AU",), "Australian Capital Territory": ("AU",), "Bavaria": ("DE",),
    "Bayern": ("DE",), "Baden-Württemberg": ("DE",), "North Rhine-Westphalia": ("DE",),
    "Saxony": ("DE",), "Hesse": ("DE",), "Lower Saxony": ("DE",), "Karnataka": ("IN",),
    "Maharashtra": ("IN",), "Tamil Nadu": ("IN",), "Telangana": ("IN",), "Kerala": ("IN",),
    "West Bengal": ("IN",), "Uttar Pradesh": ("IN",), "Gujarat": ("IN",), "Rajasthan": ("IN",),
    "Uttarakhand": ("IN",), "Odisha": ("IN",), "Punjab": ("IN", "PK"), "Catalonia": ("ES",),
    "Andalusia": ("ES",), "Lombardy": ("IT",), "Tuscany": ("IT",), "Île-de-France": ("FR",),
    "Ile-de-France": ("FR",), "Brittany": ("FR",), "Flanders": ("BE",), "Wallonia": ("BE",),
    "Gyeonggi": ("KR",), "Gyeonggi-do": ("KR",), "Okinawa": ("JP",), "Hokkaido": ("JP",),
    "New Territories": ("HK",), "Kowloon": ("HK",), "Tbilisi": ("GE",),
}
#: ISO 3166-2 subdivision types read as regions (top level only): the units people write
#: after a city; districts, counties, municipalities and parishes are too small or too
#: often named like a town or a word.
SUBDIVISION_TYPES = frozenset({
    "State", "Province", "Region", "Autonomous region", "Autonomous community", "Land",
    "Canton", "Prefecture", "Voivodship", "Emirate", "Oblast", "Republic", "Regional state",
    "Union territory", "Autonomous province", "Special administrative region", "Capital territory",
    "Federal territory", "Capital district", "Territory", "Metropolitan region", "Administrative region",
})
_COMPASS_WORDS = frozenset("north south east west northern southern eastern western central centre center "
                           "north-east north-west south-east south-west upper lower middle capital "
                           "region province state territory greater coast coastal highlands islands".split())

#: Short codes accepted only in location position ("Pittsburgh, PA 15213", "Toronto, ON").
REGION_ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    **{ab: ("US",) for ab in _US_STATES.values() if ab},
    **{ab: ("CA",) for ab in _CA_PROVINCES.values()},
    "NSW": ("AU",), "QLD": ("AU",), "VIC": ("AU",), "TAS": ("AU",),
}
for _ab in ("CA", "DE", "IL", "IN", "CO", "AR", "ID", "SC", "MT", "PA", "GA", "ME", "MA",
            "AL", "NE", "MD", "MN", "MO", "VA", "SD", "NC", "LA", "KY", "OR", "CT"):
    REGION_ABBREVIATIONS[_ab] = ("US", _ab) if _ab in ("CA", "DE", "IL", "IN", "CO", "AR") else ("US",)
REGION_ABBREVIATIONS["WA"] = ("US", "AU")
REGION_ABBREVIATIONS["NL"] = ("CA", "NL")
#: Older (AP-style) abbreviations of the states and provinces most often behind a city
#: name shared across countries (Cambridge, Mass.; London, Ont.); location position only.
REGION_ABBREVIATIONS.update({"Mass": ("US",), "Calif": ("US",), "Conn": ("US",), "Penn": ("US",),
                             "Wash": ("US",), "Ont": ("CA",), "Que": ("CA",)})
_ABBREV_RE = re.compile(
    r"(?:(?<=,)|(?<=\()|(?<=;))\s*(" + "|".join(sorted(REGION_ABBREVIATIONS, key=len, reverse=True))
    + r")\b\.?(?=\s*(?:\d{5}(?:-\d{4})?|[A-Z]\d[A-Z] ?\d[A-Z]\d)?\s*(?:[,;)]|$))"
    + r"|(?<=\s)(" + "|".join(ab for ab, c in REGION_ABBREVIATIONS.items() if c[0] == "US")
    + r")(?=\s+\d{5}\b)"
)

#: "Cambridge MA", "London ON 2X3": a region code written after a city without a comma
#: (accepted only right after a city that exists in that code's country).
_ABBREV_AFTER_CITY_RE = re.compile(
    r"(?<=\s)(" + "|".join(sorted(REGION_ABBREVIATIONS, key=len, reverse=True))
    + r")\b(?=\s*(?:\d{5}(?:-\d{4})?|[A-Z]\d[A-Z] ?\d[A-Z]\d)?\s*(?:[,;)]|$))"
)


@dataclass(frozen=True, slots=True)
class Place:
    """A named place and the countries it can mean, most likely first."""

    name: str
    kind: str  # country | region | city | demonym
    codes: tuple[str, ...]
    population: int = 0
    location_only: bool = False  # a word or first name too: trust only in location position
    variant: str | None = None  # the spelling indexed, when it differs from ``name``
    segment_only: bool = False  # trust only as a whole comma-separated segment ("…, Kano, Nigeria")


@dataclass(frozen=True, slots=True)
class PlaceHit:
    """A place found in a text, with its character span."""

    place: Place
    start: int
    end: int
    location: bool  # in location position: after a comma/parenthesis or before one/the end

    @property
    def code(self) -> str:
        return self.place.codes[0]


def _location_position(text: str, start: int, end: int) -> tuple[bool, bool]:
    """(loose, strict): loose = next to a separator; strict = after one (or the whole text)."""
    before = text[:start].rstrip()
    after = text[end:].lstrip()
    strict = (bool(before) and before[-1] in ",(;") or (not before and not after)
    loose = strict or not before or not after or after[0] in ",);" or after[0].isdigit()
    return loose, strict


#: Words after which a place name is the first word of an organisation's name ("Mary
#: Institute", "Lincoln Laboratory"), not a location.
_ORG_HEAD_AFTER = frozenset(
    "university institute college school academy laboratory laboratories lab labs center centre hospital "
    "foundation clinic".split())
_NEXT_WORD_RE = re.compile(r"\s*([^\W\d_]+)")


def _names_an_organisation(text: str, end: int) -> bool:
    """Is the word after text[:end] the head of an organisation's name?"""
    m = _NEXT_WORD_RE.match(text, end)
    return m is not None and m.group(1).casefold() in _ORG_HEAD_AFTER


def _whole_segment(text: str, start: int, end: int) -> bool:
    """Is text[start:end] a segment of its own: separators (or the ends) on both sides,
    a postcode allowed after it ("…, Selangor 43400, Malaysia")?"""
    before, after = text[:start].rstrip(), text[end:].lstrip()
    return (not before or before[-1] in ",(;") and (not after or after[0] in ",);" or after[0].isdigit())


class PlaceIndex:
    """Finds countries, regions, cities and demonyms in text (token dictionary scan)."""

    def __init__(self, cities_csv: Path | None) -> None:
        self._index: PhraseIndex[Place] = PhraseIndex()
        self.cities_by_key: dict[tuple[str, ...], list[Place]] = {}
        self._add_countries()
        self._add_regions()
        for name, code in DEMONYMS.items():
            self._add(Place(name, "demonym", (code,)))
        if cities_csv is not None and cities_csv.exists():
            self._add_cities(cities_csv)
        self._add_subdivisions()  # last: a name already known (a city, a country) keeps its place

    # ------------------------------------------------------------------ building
    def _add(self, place: Place, spelling: str | None = None) -> None:
        toks = key_tokens(spelling or place.name)
        if spelling and spelling != place.name:
            place = Place(place.name, place.kind, place.codes, place.population, place.location_only, spelling,
                          place.segment_only)
        self._index.add(toks, place)

    def _add_countries(self) -> None:
        for c in pycountry.countries:
            for attr in ("name", "common_name", "official_name"):
                name = getattr(c, attr, None)
                if name and name not in NAME_LIKE_COUNTRIES:
                    self._add(Place(name, "country", (c.alpha_2,)))
        for name, code in COUNTRY_VARIANTS.items():
            self._add(Place(name, "country", (code,), location_only=name in NAME_LIKE_COUNTRIES))
        for name in NAME_LIKE_COUNTRIES - {"Georgia", "Turkey"}:
            country = pycountry.countries.get(name=name) or pycountry.countries.get(common_name=name)
            if country is not None:
                self._add(Place(name, "country", (country.alpha_2,), location_only=True))

    def _add_regions(self) -> None:
        for name in _US_STATES:
            codes: tuple[str, ...] = ("US", "GE") if name == "Georgia" else ("US",)
            self._add(Place(name, "region", codes))
        for name in _CA_PROVINCES:
            self._add(Place(name, "region", ("CA",)))
        for name, codes in _OTHER_REGIONS.items():
            self._add(Place(name, "region", codes))

    def _add_subdivisions(self) -> None:
        """Top-level states, provinces and regions of every country (ISO 3166-2 via pycountry)
        that the hand lists and the city table do not hold: "Kanagawa", "Lombardia",
        "Selangor", "Grand-Est".  A one-word name counts only as a comma-separated segment of
        its own ("…, Kano, Nigeria", not "…, Kano Lab"), since "Assam", "Nelson" or "Mary" may
        also be a word or a name; a name made only of compass or kind words ("Central",
        "North West") is left out."""
        found: dict[tuple[str, ...], tuple[str, set[str]]] = {}
        for sub in pycountry.subdivisions:
            if sub.type not in SUBDIVISION_TYPES or sub.parent_code is not None:
                continue
            name = sub.name.split(" [")[0].split(" (")[0].strip()
            toks = key_tokens(name)
            if "," in name or "/" in name or not toks or self._index.get(toks):
                continue  # a country, city or hand-listed region; or a form such as "X, Région de"
            if all(t in _COMPASS_WORDS for t in toks) or (len(toks) == 1 and len(toks[0]) < 4):
                continue
            found.setdefault(toks, (name, set()))[1].add(sub.country_code)
        for toks, (name, codes) in found.items():
            one_word = len(toks) == 1
            self._add(Place(name, "region", tuple(sorted(codes)), location_only=one_word, segment_only=one_word))

    def _add_cities(self, path: Path) -> None:
        by_name: dict[str, list[tuple[int, str, bool, bool, list[str]]]] = {}
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                flags = row["flags"].split()
                aliases = [a for a in row["aliases"].split("|") if a]
                by_name.setdefault(row["name"], []).append(
                    (int(row["population"] or 0), row["country"], "preferred" in flags,
                     "location_only" in flags, aliases))
        for name, rows in by_name.items():
            rows.sort(key=lambda r: (not r[2], -r[0]))  # preferred first, then most populous
            codes = tuple(dict.fromkeys(r[1] for r in rows))
            place = Place(name, "city", codes, rows[0][0], any(r[3] for r in rows))
            self._add(place)
            self.cities_by_key.setdefault(key_tokens(name), []).append(place)
            spellings = {a for r in rows for a in r[4]} | {name}
            for alias in spellings - {name}:
                self._add(place, alias)
            for german in {transliteration(a) for a in spellings} - {None} - spellings:
                self._add(place, german)  # "Muenchen", "Zuerich"

    # ------------------------------------------------------------------ lookups
    @staticmethod
    def _accept(place: Place, surface: str) -> bool:
        spelling = place.variant or place.name
        if spelling.replace(".", "").isupper() and len(compact(spelling)) <= 5:
            return compact(surface) == compact(spelling)  # USA, UK, PRC, NYC: exact case
        if surface.isupper() and len(compact(surface)) <= 4:
            return False  # "ISE", "CS": an acronym, not the city of Ise
        return title_like(surface) and not surface.islower()

    def find(self, text: str, tokens: list[Token] | None = None) -> list[PlaceHit]:
        """All places in ``text`` (longest match wins; "New Jersey" is not "Jersey")."""
        toks = tokens if tokens is not None else tokenize(text)
        hits: list[PlaceHit] = []
        for hit in self._index.scan(text, toks, self._accept):
            place = _best(hit.values)
            loc, strict = _location_position(text, hit.start, hit.end)
            if place.location_only and (not strict or _names_an_organisation(text, hit.end)):
                continue
            if place.segment_only and not _whole_segment(text, hit.start, hit.end):
                continue
            end = hit.end
            if (place.variant or place.name).endswith(".") and text[end : end + 1] == ".":
                end += 1  # "U.K." keeps its final dot
            hits.append(PlaceHit(place, hit.start, end, loc))
        if "," in text or "(" in text or any(c.isdigit() for c in text):
            taken = [(h.start, h.end) for h in hits]
            for m in _ABBREV_RE.finditer(text):
                ab = m.group(1) or m.group(2)
                start = m.start(1) if m.group(1) else m.start(2)
                if any(s <= start < e for s, e in taken):
                    continue
                place = Place(ab, "region", REGION_ABBREVIATIONS[ab])
                hits.append(PlaceHit(place, start, start + len(ab), True))
                taken.append((start, start + len(ab)))
            hits.sort(key=lambda h: h.start)
        cities = [h for h in hits if h.place.kind == "city"]
        if cities:
            added = False
            for m in _ABBREV_AFTER_CITY_RE.finditer(text):
                ab, start = m.group(1), m.start(1)
                codes = REGION_ABBREVIATIONS[ab]
                if any(h.start <= start < h.end for h in hits):
                    continue
                if any(text[c.end : start].strip() == "" and set(codes) & set(c.place.codes) for c in cities):
                    hits.append(PlaceHit(Place(ab, "region", codes), start, start + len(ab), True))
                    added = True
            if added:
                hits.sort(key=lambda h: h.start)
        return hits

    def find_countries(self, text: str) -> list[tuple[str, int, int]]:
        """(code, start, end) for country names, demonyms, regions and major cities.

        Smaller cities (population under one million) count only in location position,
        so a surname or a word in running text is not taken for a place.
        """
        out = []
        for h in self.find(text):
            if h.place.kind == "city" and h.place.population < 1_000_000 and not h.location:
                continue
            out.append((h.code, h.start, h.end))
        return out

    def city_spellings(self) -> dict[str, str]:
        """One-word city spellings -> the table's name ("roma" -> "rome", "munchen" ->
        "munich"), as normalised tokens: "Università di Roma" is "University of Rome"."""
        out: dict[str, str] = {}
        for places in self._index.values():
            for p in places:
                if p.kind != "city" or p.variant is None:
                    continue
                alias, name = key_tokens(p.variant), key_tokens(p.name)
                if len(alias) == 1 and len(name) == 1 and alias != name:
                    out[alias[0]] = name[0]
        return out

    def is_place_name(self, name: str) -> bool:
        """Is ``name`` (as a whole) a country, region, demonym or city of the index?"""
        return bool(self._index.get(key_tokens(name)))

    def city_candidates(self, name: str) -> list[Place]:
        return self.cities_by_key.get(key_tokens(name), [])


_KIND_RANK = {"country": 0, "region": 1, "city": 2, "demonym": 3}


def _best(values: tuple[Place, ...]) -> Place:
    """One place per phrase: a country beats a region beats a city of the same name."""
    if len(values) == 1:
        return values[0]
    ranked = sorted(values, key=lambda p: (_KIND_RANK[p.kind], -p.population))
    first = ranked[0]
    if first.kind == "city" or (first.kind == "region" and any(p.kind == "city" for p in ranked)):
        codes = tuple(dict.fromkeys(c for p in ranked for c in p.codes))
        return Place(first.name, first.kind, codes, max(p.population for p in ranked),
                     all(p.location_only for p in ranked), first.variant)
    return first
