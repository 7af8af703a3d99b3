"""Institution / country resolution: the counting-policy rules, with readable ids.

Self-contained: uses only the shipped tables in data/ and inline strings."""

from __future__ import annotations

import pytest

from extractor.resolve import Resolution, get_resolver
from extractor.schemas import Method, Sector

M = Method


@pytest.fixture(scope="module")
def r():
    return get_resolver()


# (id, raw, email, context, country, country_method or None, institution or None)
CASES = [
    ("msra", "Microsoft Research Asia", None, None, "CN", M.GAZETTEER_ALIAS, "Microsoft"),
    ("msra-beijing", "Microsoft Research Asia, Beijing, China", "microsoft.com", None, "CN", M.STATED, "Microsoft"),
    ("msr-cambridge", "Microsoft Research Cambridge", None, None, "GB", M.CITY, "Microsoft"),
    ("msr-cambridge-comma", "Microsoft Research, Cambridge", None, None, "GB", M.CITY, "Microsoft"),
    ("msr-new-england", "Microsoft Research New England, Cambridge (MA), USA", None, None, "US", M.STATED, "Microsoft"),
    ("msr-india", "Microsoft Research India", None, None, "IN", M.STATED, "Microsoft"),
    ("msr-montreal-pdf-accent", "Microsoft Research Montr ´eal", None, None, "CA", M.CITY, "Microsoft"),
    ("deepmind-london", "Google DeepMind London", None, None, "GB", M.CITY, "Google DeepMind"),
    ("deepmind-paris", "DeepMind Paris, France", None, None, "FR", M.STATED, "Google DeepMind"),
    ("tencent-bellevue", "Tencent AI Lab, Bellevue", None, None, "US", M.CITY, "Tencent"),
    ("tencent-bellevue-wa-usa", "Tencent AI Lab, Bellevue, WA, USA", None, None, "US", M.STATED, "Tencent"),
    ("huawei-montreal", "Huawei Noah's Ark Lab, Montreal", None, None, "CA", M.CITY, "Huawei"),
    ("huawei-hong-kong", "Huawei Noah’s Ark Lab, Hong Kong", None, None, "HK", M.STATED, "Huawei"),
    ("samsung-toronto", "Samsung AI Center Toronto", None, None, "CA", M.CITY, "Samsung"),
    ("google-zurich", "Google, Zurich, Switzerland", None, None, "CH", M.STATED, "Google"),
    ("google-research-nyc", "Google Research, New York, NY", None, None, "US", M.CITY, "Google"),
    ("cuhk-shenzhen", "The Chinese University of Hong Kong, Shenzhen", None, None, "CN", M.GAZETTEER_EXACT,
     "The Chinese University of Hong Kong, Shenzhen"),
    ("cuhk-shenzhen-china", "School of Data Science, The Chinese University of Hong Kong, Shenzhen, China", None,
     None, "CN", M.STATED, "The Chinese University of Hong Kong, Shenzhen"),
    ("cuhk-sz-abbrev", "CUHK-Shenzhen", None, None, "CN", M.GAZETTEER_ALIAS, "The Chinese University of Hong Kong, Shenzhen"),
    ("cuhk-email-only", "", "link.cuhk.edu.cn", None, "CN", M.EMAIL_DOMAIN, "The Chinese University of Hong Kong, Shenzhen"),
    ("cuhk-hong-kong", "Department of Computer Science and Engineering, The Chinese University of Hong Kong", None,
     None, "HK", M.GAZETTEER_EXACT, "The Chinese University of Hong Kong"),
    ("hkust-gz", "HKUST (GZ)", None, None, "CN", M.GAZETTEER_ALIAS, "The Hong Kong University of Science and Technology (Guangzhou)"),
    ("hkust-guangzhou-long", "The Hong Kong University of Science and Technology (Guangzhou), Guangzhou, China", None,
     None, "CN", M.STATED, "The Hong Kong University of Science and Technology (Guangzhou)"),
    ("hkust", "HKUST", None, None, "HK", M.GAZETTEER_ALIAS, "The Hong Kong University of Science and Technology"),
    ("hku", "The University of Hong Kong", None, None, "HK", M.GAZETTEER_EXACT, "The University of Hong Kong"),
    ("hong-kong-china", "City University of Hong Kong, Hong Kong, China", None, None, "HK", M.STATED, "City University of Hong Kong"),
    ("ntu-taiwan", "National Taiwan University", None, None, "TW", M.GAZETTEER_EXACT, "National Taiwan University"),
    ("nthu", "National Tsing Hua University, Hsinchu, Taiwan", None, None, "TW", M.STATED, "National Tsing Hua University"),
    ("nctu", "NCTU", None, None, "TW", M.GAZETTEER_ALIAS, "National Yang Ming Chiao Tung University"),
    ("academia-sinica", "Academia Sinica", None, None, "TW", M.GAZETTEER_EXACT, "Academia Sinica"),
    ("ntu-default-singapore", "NTU", None, None, "SG", M.GAZETTEER_ALIAS, "Nanyang Technological University"),
    ("ntu-taiwan-by-email", "NTU", "csie.ntu.edu.tw", None, "TW", M.GAZETTEER_ALIAS, "National Taiwan University"),
    ("ntu-taiwan-by-context", "NTU", None, "Taipei, Taiwan", "TW", M.GAZETTEER_ALIAS, "National Taiwan University"),
    ("ntu-singapore-by-email", "NTU", "e.ntu.edu.sg", None, "SG", M.GAZETTEER_ALIAS, "Nanyang Technological University"),
    ("georgia-tech", "Georgia Institute of Technology", None, None, "US", M.GAZETTEER_EXACT, "Georgia Institute of Technology"),
    ("georgia-tech-atlanta", "Georgia Institute of Technology, Atlanta, GA", None, None, "US", M.GAZETTEER_EXACT,
     "Georgia Institute of Technology"),
    ("tbilisi-georgia", "Tbilisi State Medical Institute, Tbilisi, Georgia", None, None, "GE", M.CITY, None),
    ("mit-cambridge-ma", "MIT, Cambridge, MA", None, None, "US", M.GAZETTEER_ALIAS, "Massachusetts Institute of Technology"),
    ("cambridge-ma-unknown", "Acme Robotics Lab, Cambridge, MA", None, None, "US", M.CITY, None),
    ("cambridge-uk", "Acme Robotics Lab, Cambridge, UK", None, None, "GB", M.STATED, None),
    ("cambridge-bare", "Acme Robotics Lab, Cambridge", None, None, "GB", M.CITY, None),
    ("university-of-cambridge", "University of Cambridge", None, None, "GB", M.GAZETTEER_EXACT, "University of Cambridge"),
    ("birmingham-al", "Acme Robotics Lab, Birmingham, AL", None, None, "US", M.CITY, None),
    ("victoria-bc", "Acme Robotics Lab, Victoria, BC", None, None, "CA", M.CITY, None),
    ("london-ontario", "Western University, London, Ontario", None, None, "CA", M.GAZETTEER_EXACT, "Western University"),
    ("paris-texas", "Acme Robotics Lab, Paris, TX", None, None, "US", M.CITY, None),
    ("new-england", "Acme Robotics Lab, New England", None, None, "US", M.CITY, None),
    ("new-jersey", "Acme Robotics Lab, Princeton, New Jersey", None, None, "US", M.CITY, None),
    ("washington-university", "Washington University in St. Louis", None, None, "US", M.GAZETTEER_EXACT,
     "Washington University in St. Louis"),
    ("indiana", "Indiana University", None, None, "US", M.GAZETTEER_EXACT, "Indiana University"),
    ("granada", "University of Granada", None, None, "ES", M.GAZETTEER_EXACT, "University of Granada"),
    ("paris-saclay", "Université Paris-Saclay", None, None, "FR", M.GAZETTEER_EXACT, "Université Paris-Saclay"),
    ("columbia", "Columbia University", None, None, "US", M.GAZETTEER_EXACT, "Columbia University"),
    ("peking", "Peking University", None, None, "CN", M.GAZETTEER_EXACT, "Peking University"),
    ("korea", "Acme Robotics Lab, Seoul, Korea", None, None, "KR", M.STATED, None),
    ("republic-of-korea", "Acme Robotics Lab, Republic of Korea", None, None, "KR", M.STATED, None),
    ("north-korea", "Acme Robotics Lab, Democratic People's Republic of Korea", None, None, "KP", M.STATED, None),
    ("inria", "INRIA", None, None, "FR", M.GAZETTEER_EXACT, "Inria"),
    ("eth", "ETH Zurich", None, None, "CH", M.GAZETTEER_EXACT, "ETH Zurich"),
    ("mpi", "MPI for Intelligent Systems", None, None, "DE", M.GAZETTEER_ALIAS, "Max Planck Institute for Intelligent Systems"),
    ("ist-austria", "IST Austria", None, None, "AT", M.GAZETTEER_ALIAS, "Institute of Science and Technology Austria"),
    ("kaust", "KAUST", None, None, "SA", M.GAZETTEER_ALIAS, "King Abdullah University of Science and Technology"),
    ("mila", "Mila", None, None, "CA", M.GAZETTEER_ALIAS, "Mila - Quebec AI Institute"),
    ("vector", "Vector Institute", None, None, "CA", M.GAZETTEER_EXACT, "Vector Institute"),
    ("allen-ai", "Allen Institute for AI", None, None, "US", M.GAZETTEER_EXACT, "Allen Institute for AI"),
    ("email-only-tsinghua", "", "cs.tsinghua.edu.cn", None, "CN", M.EMAIL_DOMAIN, "Tsinghua University"),
    ("email-cctld-unknown-org", "Acme Robotics Lab", "acme-robotics.de", None, "DE", M.EMAIL_DOMAIN, None),
    ("unknown-org-stated", "Foo Robotics Inc., Lyon, France", None, None, "FR", M.STATED, None),
    ("unknown-org-context", "Foo Robotics Inc.", None, "Lyon, France", "FR", M.STATED, None),
    ("typo-fuzzy", "Harbin Institue of Technology", None, None, "CN", M.GAZETTEER_FUZZY, "Harbin Institute of Technology"),
    ("venue-line", "NeurIPS 2024, Vancouver, Canada", None, None, "CA", M.STATED, None),
]


@pytest.mark.parametrize("raw,email,context,country,method,institution",
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_resolve_country(r, raw, email, context, country, method, institution):
    res = r.resolve(raw, email_domain=email, context=context)
    assert isinstance(res, Resolution)
    assert res.country == country, res.notes
    if method is not None:
        assert res.country_method == method, res
    assert res.institution == (institution if institution else res.institution)
    if institution:
        assert res.in_gazetteer


NO_SITE = [
    ("google", "Google Brain", "Google", "US"),
    ("google-research", "Google Research", "Google", "US"),
    ("deepmind", "DeepMind", "Google DeepMind", "GB"),
    ("microsoft", "Microsoft Research", "Microsoft", "US"),
    ("meta-fair", "FAIR", "Meta", "US"),
    ("facebook", "Facebook AI Research", "Meta", "US"),
    ("ibm", "IBM Research", "IBM", "US"),
    ("huawei", "Huawei Noah's Ark Lab", "Huawei", "CN"),
    ("tencent", "Tencent AI Lab", "Tencent", "CN"),
    ("alibaba-damo", "DAMO Academy", "Alibaba Group", "CN"),
    ("samsung", "Samsung AI Center", "Samsung", "KR"),
    ("nvidia", "NVIDIA", "NVIDIA", "US"),
    ("baidu", "Baidu Research", "Baidu", "CN"),
    ("bytedance", "ByteDance", "ByteDance", "CN"),
    ("sony", "Sony AI", "Sony", "JP"),
]


@pytest.mark.parametrize("raw,institution,hq", [c[1:] for c in NO_SITE], ids=[c[0] for c in NO_SITE])
def test_company_without_site_gets_hq_default(r, raw, institution, hq):
    res = r.resolve(raw)
    assert (res.institution, res.country) == (institution, hq)
    assert res.country_method == Method.HQ_DEFAULT
    assert res.multi_country_company is True
    assert res.sector == Sector.INDUSTRY


def test_company_site_from_context(r):
    res = r.resolve("Tencent AI Lab", context="Tencent AI Lab\nBellevue, WA 98004")
    assert res.country == "US" and not res.multi_country_company


def test_single_country_company_is_gazetteer_not_hq_default(r):
    res = r.resolve("OpenAI")
    assert (res.country, res.country_method, res.multi_country_company) == ("US", Method.GAZETTEER_EXACT, False)


ALIASES = [
    ("MIT", "Massachusetts Institute of Technology"), ("CMU", "Carnegie Mellon University"),
    ("UC Berkeley", "University of California, Berkeley"), ("UCB", "University of California, Berkeley"),
    ("UCLA", "University of California, Los Angeles"), ("UCSD", "University of California, San Diego"),
    ("UIUC", "University of Illinois Urbana-Champaign"), ("UW", "University of Washington"),
    ("NYU", "New York University"), ("USC", "University of Southern California"),
    ("THU", "Tsinghua University"), ("PKU", "Peking University"), ("SJTU", "Shanghai Jiao Tong University"),
    ("ZJU", "Zhejiang University"), ("USTC", "University of Science and Technology of China"),
    ("HIT", "Harbin Institute of Technology"), ("HUST", "Huazhong University of Science and Technology"),
    ("NJU", "Nanjing University"), ("FDU", "Fudan University"), ("CUHK", "The Chinese University of Hong Kong"),
    ("HKU", "The University of Hong Kong"), ("HKPolyU", "The Hong Kong Polytechnic University"),
    ("NUS", "National University of Singapore"), ("KAIST", "Korea Advanced Institute of Science and Technology"),
    ("POSTECH", "Pohang University of Science and Technology"), ("SNU", "Seoul National University"),
    ("UofT", "University of Toronto"), ("UBC", "University of British Columbia"), ("ETH", "ETH Zurich"),
    ("EPFL", "EPFL"), ("TUM", "Technical University of Munich"), ("MPI", "Max Planck Society"),
    ("UCL", "University College London"), ("MSRA", "Microsoft"), ("MSR", "Microsoft"), ("FAIR", "Meta"),
    ("DAMO", "Alibaba Group"), ("BAAI", "Beijing Academy of Artificial Intelligence"),
    ("CASIA", "Institute of Automation, Chinese Academy of Sciences"),
    ("ICT CAS", "Institute of Computing Technology, Chinese Academy of Sciences"),
]


@pytest.mark.parametrize("alias,name", ALIASES, ids=[a for a, _ in ALIASES])
def test_abbreviation_aliases(r, alias, name):
    res = r.resolve(alias)
    assert res.institution == name
    assert res.institution_method == Method.GAZETTEER_ALIAS or res.institution == alias
    assert r.lookup(alias).name == name


@pytest.mark.parametrize("text", ["mit", "fair", "damo", "Department of Hit Songs"], ids=["mit-lower", "fair-lower", "damo-lower", "hit-title"])
def test_short_aliases_need_exact_case(r, text):
    assert r.resolve(text).institution not in ("Massachusetts Institute of Technology", "Meta", "Alibaba Group",
                                               "Harbin Institute of Technology")


def test_department_split(r):
    res = r.resolve("Department of Computer Science, Stanford University, Stanford, CA 94305, USA")
    assert res.institution == "Stanford University"
    assert res.department == "Department of Computer Science"
    assert res.city == "Stanford" and res.country == "US" and res.country_method == Method.STATED
    assert res.sector == Sector.ACADEMIA


def test_unknown_org_keeps_name_and_unknown_method(r):
    res = r.resolve("Quux Analytics GmbH, Berlin, Germany")
    assert res.institution == "Quux Analytics GmbH"
    assert res.institution_method == Method.UNKNOWN and res.institution_score is None
    assert not res.in_gazetteer
    assert (res.country, res.country_method, res.city) == ("DE", Method.STATED, "Berlin")
    assert res.sector == Sector.INDUSTRY


def test_venue_line_has_no_institution(r):
    res = r.resolve("NeurIPS 2024, Vancouver, Canada")
    assert res.institution is None and res.country == "CA" and res.city == "Vancouver"
    assert any("venue" in n for n in res.notes)


def test_fuzzy_match_has_score(r):
    res = r.resolve("Harbin Institue of Technology")
    assert res.institution_method == Method.GAZETTEER_FUZZY
    assert 90 <= res.institution_score < 100


def test_stated_country_beats_gazetteer_and_is_noted(r):
    res = r.resolve("Carnegie Mellon University, Kigali, Rwanda")
    assert res.country == "RW" and res.country_method == Method.STATED
    assert any("differs from the gazetteer" in n for n in res.notes)


@pytest.mark.parametrize("sector,raw", [
    (Sector.GOVERNMENT, "CNRS"), (Sector.GOVERNMENT, "Shanghai AI Laboratory"), (Sector.GOVERNMENT, "Zhejiang Lab"),
    (Sector.GOVERNMENT, "National Research Council Canada"), (Sector.GOVERNMENT, "Max Planck Institute for Informatics"),
    (Sector.NONPROFIT, "Mila"), (Sector.NONPROFIT, "Allen Institute for AI"), (Sector.NONPROFIT, "Vector Institute"),
    (Sector.INDUSTRY, "OpenAI"), (Sector.ACADEMIA, "KAIST"),
], ids=lambda v: v if isinstance(v, str) else v.value)
def test_sectors(r, sector, raw):
    assert r.resolve(raw).sector == sector


EMAILS = [
    ("cs.tsinghua.edu.cn", ("CN", Method.EMAIL_DOMAIN)), ("mit.edu", ("US", Method.EMAIL_DOMAIN)),
    ("ox.ac.uk", ("GB", Method.EMAIL_DOMAIN)), ("unknown-college.ac.uk", ("GB", Method.EMAIL_DOMAIN)),
    ("lab.ntt.co.jp", ("JP", Method.EMAIL_DOMAIN)), ("ntu.edu.tw", ("TW", Method.EMAIL_DOMAIN)),
    ("ust.hk", ("HK", Method.EMAIL_DOMAIN)), ("cuhk.edu.cn", ("CN", Method.EMAIL_DOMAIN)),
    ("some-unlisted-college.edu", ("US", Method.EMAIL_DOMAIN)), ("nasa.gov", ("US", Method.EMAIL_DOMAIN)),
    ("google.com", ("US", Method.HQ_DEFAULT)), ("zurich.ibm.com", ("CH", Method.EMAIL_DOMAIN)),
    ("in.ibm.com", ("IN", Method.EMAIL_DOMAIN)), ("gmail.com", None), ("qq.com", None), ("startup.ai", None),
    ("example.io", None), ("not a domain", None), ("alum.mit.edu", None),
]


@pytest.mark.parametrize("domain,expected", EMAILS, ids=[d for d, _ in EMAILS])
def test_country_of_email(r, domain, expected):
    assert r.country_of_email(domain) == expected


def test_weak_webmail_used_only_as_last_resort(r):
    res = r.resolve("Acme Robotics Lab", "163.com")
    assert res.country == "CN" and any("web-mail" in n for n in res.notes)
    assert r.resolve("Acme Robotics Lab, Paris, France", "163.com").country == "FR"


FIND = [
    ("Beijing, China", [("CN", 0, 7), ("CN", 9, 14)]),
    ("USA", [("US", 0, 3)]),
    ("U.K.", [("GB", 0, 4)]),
    ("Republic of Korea", [("KR", 0, 17)]),
    ("P.R. China", [("CN", 0, 10)]),
    ("Hong Kong SAR", [("HK", 0, 13)]),
    ("Taiwan ROC", [("TW", 0, 10)]),
    ("Viet Nam", [("VN", 0, 8)]),
    ("Türkiye", [("TR", 0, 7)]),
    ("Czechia", [("CZ", 0, 7)]),
    ("Scotland", [("GB", 0, 8)]),
]


@pytest.mark.parametrize("text,expected", FIND, ids=[t for t, _ in FIND])
def test_find_countries(r, text, expected):
    assert r.find_countries(text) == expected


def test_find_countries_offsets_in_running_text(r):
    text = "We thank colleagues in Germany and the United Kingdom."
    found = r.find_countries(text)
    assert [(c, text[s:e]) for c, s, e in found] == [("DE", "Germany"), ("GB", "United Kingdom")]
    assert r.find_countries("we opt for china plates") == []


def test_institution_names_and_lookup(r):
    names = set(r.institution_names())
    assert {"Massachusetts Institute of Technology", "Tsinghua University", "Google DeepMind"} <= names
    assert len(names) > 5000
    entry = r.lookup("Tsinghua")
    assert entry is not None and entry.country == "CN" and "tsinghua.edu.cn" in entry.domains
    assert r.lookup("No Such Organisation Anywhere") is None


def test_every_organisation_has_valid_country_and_sector(r):
    from extractor.resolve.entries import load_organisations
    from extractor.schemas import VALID_COUNTRY_CODES

    for e in load_organisations():
        assert e.country in VALID_COUNTRY_CODES, e.name
        assert e.sector is not None, e.name
        assert all(c in VALID_COUNTRY_CODES for c in e.sites.values()), e.name


# ---------------------------------------------------------------- regressions (resolver fixes)
@pytest.mark.parametrize("raw,cleaned", [
    ("iFLYTEK Research", "iFLYTEK Research"), ("iFlytek Co., Ltd.", "iFlytek Co., Ltd"),
    ("eBay Inc.", "eBay Inc"), ("xAI", "xAI"), ("imec", "imec"), ("iQIYI", "iQIYI"),
    ("aDept. of Computer Science", "Dept. of Computer Science"), ("2Microsoft Research", "Microsoft Research"),
    ("bGoogle Research", "Google Research"),
], ids=["iflytek-caps", "iflytek-title", "ebay", "xai", "imec", "iqiyi", "letter-marker", "number-marker",
        "letter-marker-company"])
def test_clean_keeps_names_that_start_in_lower_case(raw, cleaned):
    from extractor.resolve.text import clean

    assert clean(raw) == cleaned


@pytest.mark.parametrize("raw,institution,country", [
    ("iFLYTEK Research", "iFLYTEK", "CN"), ("iFlytek", "iFLYTEK", "CN"), ("eBay Inc.", "eBay", "US"),
    ("imec", "imec", "BE"), ("xAI", "xAI", "US"),
], ids=["iflytek-research", "iflytek", "ebay", "imec", "xai"])
def test_lower_case_initial_names_resolve(r, raw, institution, country):
    res = r.resolve(raw)
    assert (res.institution, res.country) == (institution, country), res.notes


STATE_CUES = [
    ("msr-ne-paren-ma", "Microsoft Research New England, Cambridge (MA)", "US"),
    ("msr-ne-cambridge", "Microsoft Research New England, Cambridge", "US"),
    ("msr-cambridge-comma-ma", "Microsoft Research, Cambridge, MA", "US"),
    ("msr-cambridge-massachusetts", "Microsoft Research, Cambridge, Massachusetts", "US"),
    ("msr-cambridge-space-ma", "Microsoft Research Cambridge MA", "US"),
    ("msr-cambridge-still-gb", "Microsoft Research Cambridge", "GB"),
    ("google-london-ontario", "Google Research, London, ON", "CA"),
    ("google-london-still-gb", "Google Research, London", "GB"),
    ("unknown-cambridge-space-ma", "Acme Robotics Lab, Cambridge MA", "US"),
    ("unknown-cambridge-mass", "Acme Robotics Lab, Cambridge, Mass.", "US"),
    ("unknown-cambridge-paren-ma", "Acme Robotics Lab, Cambridge (MA)", "US"),
    ("unknown-london-space-on", "Acme Robotics Lab, London ON", "CA"),
    ("unknown-london-ont", "Acme Robotics Lab, London, Ont.", "CA"),
    ("unknown-perth-wa", "Acme Robotics Lab, Perth WA", "AU"),
]


@pytest.mark.parametrize("raw,country", [c[1:] for c in STATE_CUES], ids=[c[0] for c in STATE_CUES])
def test_state_and_province_cues_settle_ambiguous_cities(r, raw, country):
    assert r.resolve(raw).country == country, r.resolve(raw).notes


def test_sub_unit_named_with_its_parent_resolves_to_the_parent(r):
    res = r.resolve("Courant Institute of Mathematical Sciences, New York University")
    assert (res.institution, res.country) == ("New York University", "US")
    assert res.department == "Courant Institute of Mathematical Sciences"
    res = r.resolve("Department of Computer Science, Courant Institute, New York University, New York, NY, USA")
    assert res.institution == "New York University"
    assert res.department == "Department of Computer Science, Courant Institute"
    res = r.resolve("Center for Advanced Intelligence Project, RIKEN, Tokyo, Japan")
    assert (res.institution, res.country) == ("RIKEN", "JP")
    # alone, the sub-unit is itself
    assert r.resolve("Courant Institute").institution == "Courant Institute of Mathematical Sciences"


@pytest.mark.parametrize("raw,institution,country", [
    ("Institute of Computing Technology, CAS, Chinese Academy of Sciences",
     "Institute of Computing Technology, Chinese Academy of Sciences", "CN"),
    ("Max Planck Institute for Intelligent Systems, Max Planck Society",
     "Max Planck Institute for Intelligent Systems", "DE"),
    ("NYU Shanghai, New York University", "NYU Shanghai", "CN"),
    ("DeepMind, Google", "Google DeepMind", "GB"),
], ids=["umbrella-cas", "umbrella-mpg", "abroad-nyu-shanghai", "abroad-deepmind"])
def test_sub_unit_keeps_its_identity_under_an_umbrella_or_abroad(r, raw, institution, country):
    res = r.resolve(raw)
    assert (res.institution, res.country) == (institution, country), res.notes


AI_LABS = [
    ("TeleAI", "China Telecom", "CN", Sector.INDUSTRY),
    ("AI Lab of TeleAI, Beijing", "China Telecom", "CN", Sector.INDUSTRY),
    ("Research Group on Speech, China Telecom", "China Telecom", "CN", Sector.INDUSTRY),
    ("China Telecom", "China Telecom", "CN", Sector.INDUSTRY),
    ("Shanghai AI Lab", "Shanghai Artificial Intelligence Laboratory", "CN", Sector.GOVERNMENT),
    ("Shanghai Artificial Intelligence Laboratory", "Shanghai Artificial Intelligence Laboratory", "CN", Sector.GOVERNMENT),
    ("Shanghai AILab", "Shanghai Artificial Intelligence Laboratory", "CN", Sector.GOVERNMENT),
    ("PJLab", "Shanghai Artificial Intelligence Laboratory", "CN", Sector.GOVERNMENT),
    ("Shanghai Innovation Institute", "Shanghai Innovation Institute", "CN", Sector.ACADEMIA),
    ("SII", "Shanghai Innovation Institute", "CN", Sector.ACADEMIA),
    ("GAIR", "Shanghai Jiao Tong University", "CN", Sector.ACADEMIA),
    ("Generative AI Research Lab (GAIR), Shanghai Jiao Tong University", "Shanghai Jiao Tong University", "CN",
     Sector.ACADEMIA),
    ("BIGAI", "Beijing Institute for General Artificial Intelligence", "CN", Sector.NONPROFIT),
    ("HKGAI", "Hong Kong Generative AI Research and Development Center", "HK", Sector.ACADEMIA),
    ("Inception Institute of Artificial Intelligence, Abu Dhabi", "Inception Institute of Artificial Intelligence",
     "AE", Sector.INDUSTRY),
    ("AIRI, Moscow", "Artificial Intelligence Research Institute", "RU", Sector.NONPROFIT),
    ("Center for AI Safety", "Center for AI Safety", "US", Sector.NONPROFIT),
]


@pytest.mark.parametrize("raw,institution,country,sector", AI_LABS, ids=[c[0] for c in AI_LABS])
def test_prominent_ai_labs(r, raw, institution, country, sector):
    res = r.resolve(raw)
    assert (res.institution, res.country, res.sector) == (institution, country, sector), res.notes
