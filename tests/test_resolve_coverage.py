"""Resolver coverage mechanisms: listed companies, ISO 3166-2 regions, names in another
word order.

Self-contained: small tables built here (invented organisation names) and the shipped
tables in data/ for the region and builder checks."""

from __future__ import annotations

import pytest

from devtools.build_gazetteer import company_country
from extractor.resolve import OrgEntry, Resolver, get_resolver
from extractor.resolve.entries import load_companies
from extractor.schemas import Method, Sector


def _company(name: str, country: str, domains: tuple[str, ...] = ()) -> OrgEntry:
    return OrgEntry(id=-1, name=name, country=country, sector=Sector.INDUSTRY, domains=list(domains),
                    multi_country=True, source="companies")


def _university(name: str, country: str) -> OrgEntry:
    return OrgEntry(id=-1, name=name, country=country, sector=Sector.ACADEMIA, source="universities")


@pytest.fixture(scope="module")
def small() -> Resolver:
    """Invented names: two listed companies (one of them a one-word name), a hand-written
    organisation, and universities whose names are written in another order below."""
    organisations = [OrgEntry(id=-1, name="Brightwell Analytics", country="GB", sector=Sector.INDUSTRY,
                              domains=["brightwell.co.uk"])]
    universities = [_university("University of Quentaris", "NZ"),
                    _university("Coastal Institute of Technology, Marrowby", "IN"),
                    _university("Harbour University of Science", "AU"),
                    _university("Quirinale University of Rome", "IT"),
                    _university("University of Science Harbour", "CA")]
    companies = [_company("Quillfeather Systems, Inc.", "US", ("quillfeather.com",)),
                 _company("Zarnow", "DE"),
                 _company("Brightwell Analytics", "US", ("brightwell-analytics.com",)),
                 _company("Lyon", "FR")]
    return Resolver(organisations=organisations, universities=universities, companies=companies)


# ------------------------------------------------------------------ listed companies

def test_listed_company_named_without_a_place_gets_its_headquarters(small):
    res = small.resolve("Quillfeather Systems")
    assert (res.institution, res.country) == ("Quillfeather Systems, Inc.", "US")
    assert res.country_method is Method.HQ_DEFAULT and res.multi_country_company
    assert res.sector is Sector.INDUSTRY


def test_listed_company_with_a_stated_place_takes_the_place(small):
    res = small.resolve("Quillfeather Systems, Munich, Germany")
    assert (res.institution, res.country, res.country_method) == ("Quillfeather Systems, Inc.", "DE", Method.STATED)


def test_listed_company_at_the_head_of_a_later_segment(small):
    res = small.resolve("Applied Vision Group, Quillfeather Systems Inc.")
    assert (res.institution, res.country) == ("Quillfeather Systems, Inc.", "US")


def test_listed_company_web_domain_places_an_unknown_unit(small):
    res = small.resolve("Vortex Modelling Team", email_domain="mail.quillfeather.com")
    assert res.country == "US"


@pytest.mark.parametrize("raw", ["Zarnow", "Zarnow Research", "Zarnow AI Labs GmbH", "Dept. of Physics, Zarnow"])
def test_one_word_company_as_its_own_unit(small, raw):
    res = small.resolve(raw)
    assert (res.institution, res.country) == ("Zarnow", "DE")


@pytest.mark.parametrize("raw", ["Zarnow Smith Hall", "Institute for Zarnow Studies", "zarnow"])
def test_one_word_company_inside_another_name_is_not_the_company(small, raw):
    assert small.resolve(raw).institution != "Zarnow"
    assert small.resolve(raw).country is None


def test_hand_written_entry_keeps_a_name_the_list_also_holds(small):
    res = small.resolve("Brightwell Analytics")
    assert (res.institution, res.country) == ("Brightwell Analytics", "GB")
    assert small.resolve("Foo Unit", email_domain="brightwell-analytics.com").country is None


def test_listed_company_named_like_a_place_stays_a_place(small):
    res = small.resolve("Robotics Group, Lyon")
    assert res.institution != "Lyon" and res.country == "FR" and res.country_method is Method.CITY


def test_shipped_company_table_loads_as_industry_with_headquarters():
    companies = load_companies()
    assert len(companies) > 1000
    assert all(c.sector is Sector.INDUSTRY and c.multi_country and c.country and len(c.country) == 2
               for c in companies)


@pytest.mark.parametrize(("headquarters", "field", "isin", "expected"), [
    ("Springfield, Ohio, U.S.", "Springfield, Ohio", "US0000000000", "US"),  # all agree
    ("Osaka, Japan", "United Kingdom", "JP0000000000", "JP"),  # a wrong field, the ISIN agrees with the HQ
    ("Leiden, Netherlands (legal) Toulouse, France (operations)", "Netherlands", "NL0000000000", None),  # two HQs
    (None, "Houston, Texas", None, "US"),  # only the field
    (None, "Houston, Texas", "GB0000000000", None),  # the field against the ISIN
    ("Bonn, Germany", "Canada", "CA0000000000", None),  # nothing agrees with the HQ
])
def test_company_country_needs_agreeing_sources(headquarters, field, isin, expected):
    assert company_country(headquarters, field, isin) == expected


# ------------------------------------------------------------------ ISO 3166-2 regions

@pytest.fixture(scope="module")
def r() -> Resolver:
    return get_resolver()


@pytest.mark.parametrize(("raw", "country"), [
    ("Velaro Robotics, Kanagawa", "JP"),  # a prefecture (pycountry), not in the hand lists
    ("Orvane Labs, Lombardia, 20100", "IT"),  # a region, postcode after it
    ("Pellwick Data, Selangor 43400", "MY"),
    ("Tarnish AI, Grand-Est", "FR"),
])
def test_subdivision_named_as_a_segment_places_an_unknown_org(r, raw, country):
    res = r.resolve(raw)
    assert res.country == country and res.country_method is Method.CITY


def test_one_word_subdivision_inside_a_name_is_not_a_place(r):
    assert r.resolve("Kanagawa Velaro Robotics Lab").country is None
    assert r.resolve("Velaro Robotics, Kanagawa Lab").country is None


# ------------------------------------------------------------------ word order

@pytest.mark.parametrize("raw", ["Quentaris University", "Dept. of Mathematics, Quentaris University"])
def test_university_name_in_another_word_order(small, raw):
    res = small.resolve(raw)
    assert (res.institution, res.country) == ("University of Quentaris", "NZ")
    assert res.institution_method is Method.GAZETTEER_ALIAS


def test_university_name_and_campus_across_a_comma(small):
    res = small.resolve("School of Design, Coastal Institute of Technology, Marrowby")
    assert (res.institution, res.country) == ("Coastal Institute of Technology, Marrowby", "IN")


@pytest.mark.parametrize("raw", ["Università di Roma Quirinale", "Univ. of Roma Quirinale, Italy"])
def test_city_in_its_other_spelling_within_a_name(small, raw):
    """Roma is Rome (the city table's spellings), so the name's words match as a set."""
    res = small.resolve(raw)
    assert (res.institution, res.country) == ("Quirinale University of Rome", "IT")


def test_word_set_shared_by_two_names_decides_nothing(small):
    res = small.resolve("Science University Harbour")
    assert not res.in_gazetteer and res.country is None


# ------------------------------------------------------------------ fuzzy ties

@pytest.mark.parametrize(("raw", "country"), [
    ("Wexbridge Institute of Technolgy, Nigeria", "NG"),
    ("Wexbridge Institute of Technolgy, Egypt", "EG"),
])
def test_fuzzy_tie_between_namesakes_goes_to_the_named_country(raw, country):
    """One name in two countries scores the same against a misspelling: the country the
    affiliation names decides, in whichever order the tables list the two."""
    for order in (("EG", "NG"), ("NG", "EG")):
        resolver = Resolver(organisations=[], universities=[_university("Wexbridge Institute of Technology", c) for c in order])
        res = resolver.resolve(raw)
        assert res.institution_method is Method.GAZETTEER_FUZZY
        assert res.country == country
        assert not any("differs from the gazetteer" in n for n in res.notes)  # the namesake there chosen


def test_an_ampersand_inside_a_name_keeps_it_one_word() -> None:
    """"AT&T" is one token: split at the "&", its "at" was a stop word and "AT&T Labs"
    keyed like any "T-Labs"."""
    from extractor.resolve.text import key

    assert key("AT&T Labs") != key("T-Labs")
    assert key("Texas A&M University") == "texas a&m university"
    r = get_resolver()
    assert r.resolve("Quarkwerk T-Labs").institution != "AT&T Labs"
    assert r.resolve("AT&T Labs Research").country == "US"


@pytest.mark.parametrize(
    ("text", "country"),
    [
        ("Dept. of Physics, Mary Institute", None),  # Mary (TM) begins an organisation's name
        ("Turkmen Polytechnic, Mary", "TM"),  # the same city as a location
        ("Lab of Soils, Davis Institute", None),
        ("Plant Sciences, Davis, CA", "US"),
    ],
)
def test_a_first_name_city_before_an_organisation_word_is_not_a_place(text: str, country: str | None) -> None:
    assert get_resolver().resolve(text).country == country


# ------------------------------------------------------------------ written another way

def _org(name: str, country: str, **kw) -> OrgEntry:
    return OrgEntry(id=-1, name=name, country=country, sector=kw.pop("sector", Sector.ACADEMIA), **kw)


@pytest.fixture(scope="module")
def variants() -> Resolver:
    """Invented organisations for affiliations printed by other templates."""
    organisations = [
        _org("Vellmoor Institute of Information Sciences", "DE"),
        _org("National Research Center for Kestrel Studies", "FI"),
        _org("Quentaris University", "NZ"),
        _org("Duncliffe University", "US"),
        _org("University of Marrowby", "GB"),
        _org("Orbital Vantage", "US", sector=Sector.INDUSTRY, multi_country=True,
             sites={"Asia": "CN", "India": "IN"}),
        _org("Brightwell Analytics", "GB", sector=Sector.INDUSTRY),
        _org("Institut Verlaine", "FR", aliases=["Institut Verlaine - PSQ"]),
        _org("PSQ University", "FR"),
        _org("Polytechnic College", "PH"),
        _org("Quentaris Polytechnic College", "NZ"),
        _org("Universität Blümenthal", "DE"),
    ]
    return Resolver(organisations=organisations, universities=[], companies=[])


@pytest.mark.parametrize("raw", [
    "Vellmoor Inst. of Inf. Sci.",
    "Dep. of Physics, Vellmoor Institute of Information Sci.",
    "Grad. School of Comput. Science, Vellmoor Inst. of Info. Sciences",
])
def test_reference_style_abbreviations_are_the_full_words(variants, raw):
    assert variants.resolve(raw).institution == "Vellmoor Institute of Information Sciences"


def test_national_and_research_abbreviated(variants):
    res = variants.resolve("Nat. Res. Ctr. for Kestrel Studies")
    assert (res.institution, res.country) == ("National Research Center for Kestrel Studies", "FI")


def test_an_abbreviation_dot_before_and_keeps_a_list_of_equals(variants):
    res = variants.resolve("Quentaris Univ. and Brightwell Analytics")
    assert (res.institution, res.country) == ("Quentaris University", "NZ")


@pytest.mark.parametrize(("raw", "country"), [
    ("ORBITAL VANTAGE RESEARCH ASIA", "CN"), ("ORBITAL VANTAGE, INDIA", "IN"), ("Orbital Vantage Asia", "CN"),
    ("ORBITAL VANTAGE", "US"),
])
def test_company_site_named_in_capitals(variants, raw, country):
    assert variants.resolve(raw).country == country


@pytest.mark.parametrize("sep", [" – ", " — ", " - ", " · ", " | "])
def test_a_spaced_dash_or_dot_separates_parts_like_a_comma(variants, sep):
    raw = sep.join(["Dept. of Mathematics", "Duncliffe University", "Marrowby"])
    res = variants.resolve(raw)
    assert (res.institution, res.country) == ("Duncliffe University", "US")
    assert res.department == "Dept. of Mathematics"


def test_a_name_of_two_parts_must_end_where_a_part_ends(variants):
    assert variants.resolve("Lab of Verse, Institut Verlaine - PSQ").institution == "Institut Verlaine"
    assert variants.resolve("Lab of Verse, Institut Verlaine, PSQ University").institution == "PSQ University"


def test_a_generic_name_that_goes_on_is_not_that_name(variants):
    res = variants.resolve("Polytechnic College of Quentaris")
    assert (res.institution, res.country) == ("Quentaris Polytechnic College", "NZ")
    assert variants.resolve("Polytechnic College, Manila").institution == "Polytechnic College"


def test_german_ascii_spelling_of_umlauts(variants):
    assert variants.resolve("Universitaet Bluementhal").institution == "Universität Blümenthal"
    res = get_resolver().resolve("Zorvath Imaging Group, Muenchen")
    assert (res.country, res.city) == ("DE", "Munich")


@pytest.mark.parametrize(("raw", "institution"), [
    ("Graduate School of Informatics, Institute of Zorvath Studies", "Institute of Zorvath Studies"),
    ("Zorvath Res. Ctr., Quentaris", "Zorvath Res. Ctr."),
    ("Institut Zorvath (LAB, Zorvath 2)", "Institut Zorvath"),
])
def test_unknown_organisation_is_the_largest_unit_named(variants, raw, institution):
    assert variants.resolve(raw).institution == institution


def test_corporate_suffix_in_capitals_stays_with_its_name(variants):
    assert variants.resolve("ZORVATH ML, INC.").institution.startswith("ZORVATH ML")
