"""Aggregates on hand-built databases whose answers are known by construction."""

from __future__ import annotations

import pytest

from extractor.aggregate import (
    CountingPolicy,
    Stratum,
    by_group,
    country_counts,
    headline,
    international_share,
    load_population,
    no_country,
    pair_matrix,
    pair_share,
    parse_pair,
    summarize,
)
from extractor.schemas import RecordStatus
from tests.record_factory import add, paper, put

ALL_VERIFIED = dict(reviewed=True)


@pytest.fixture
def corpus(store):
    """Nine verified papers (so every estimate is exact) covering the policy corners."""
    add(store, "us-cn", [["US"], ["CN"]], **ALL_VERIFIED)
    add(store, "multi", [["US", "CN"]], **ALL_VERIFIED)  # one author, two affiliations
    add(store, "us-hk", [["US"], ["HK"]], **ALL_VERIFIED)
    add(store, "us-tw", [["US"], ["TW"]], **ALL_VERIFIED)
    add(store, "us-mo", [["MO"], ["US"]], **ALL_VERIFIED)
    add(store, "us-only", [["US"], ["US"]], **ALL_VERIFIED)
    add(store, "none", [[None], []], **ALL_VERIFIED)  # no country resolved
    add(store, "cn-gb-us", [["CN"], ["GB"], ["US"]], venue="ICML", year=2019, **ALL_VERIFIED)
    add(store, "de", [["DE"]], venue="ICML", year=2019, **ALL_VERIFIED)
    return store


def test_pair_share_counts_multi_affiliation_authors_and_papers_without_country(corpus) -> None:
    pop = load_population(corpus)
    est = pair_share(pop)
    assert est.method == "exact"
    assert est.population == 9  # the paper with no country stays in the denominator
    assert est.count == 3  # us-cn, multi (two affiliations of one author), cn-gb-us
    assert est.lo == est.hi == 3
    assert no_country(pop).count == 1


@pytest.mark.parametrize(
    ("group", "expected"),
    [pytest.param(False, 3, id="hk-mo-separate"), pytest.param(True, 5, id="hk-mo-grouped")],
)
def test_hk_and_mo_grouping_and_tw_never(corpus, group: bool, expected: int) -> None:
    pop = load_population(corpus, CountingPolicy(group_hk_mo_with_cn=group))
    assert pair_share(pop).count == expected  # us-tw never counts as US–CN
    counts = country_counts(pop)
    assert counts["TW"].count == 1
    assert ("HK" in counts) is (not group)


def test_international_share(corpus) -> None:
    assert international_share(load_population(corpus)).count == 6  # us-cn, multi, us-hk, us-tw, us-mo, cn-gb-us


def test_country_counts_count_each_paper_once_per_country(corpus) -> None:
    counts = {k: e.count for k, e in country_counts(load_population(corpus)).items()}
    assert counts == {"US": 7, "CN": 3, "HK": 1, "TW": 1, "MO": 1, "GB": 1, "DE": 1}
    assert list(counts)[0] == "US"  # largest first


def test_pair_matrix_is_cset_style(corpus) -> None:
    matrix = {k: e.count for k, e in pair_matrix(load_population(corpus)).items()}
    assert matrix[("CN", "US")] == 3
    assert matrix[("CN", "GB")] == 1 and matrix[("GB", "US")] == 1  # 3-country paper: once per pair
    assert matrix[("HK", "US")] == 1 and ("DE", "US") not in matrix
    assert sum(matrix.values()) == 3 + 1 + 1 + 1 + 1 + 1  # us-cn, multi, hk, tw, mo + cn-gb-us's 3 pairs


def test_first_and_last_author_counting(store) -> None:
    add(store, "a", [["US"], ["CN"], ["GB"]], reviewed=True)
    add(store, "b", [["CN"], ["US"]], reviewed=True)
    add(store, "c", [[], ["CN"]], reviewed=True)  # first author has no affiliation
    first = {k: e.count for k, e in country_counts(load_population(store, CountingPolicy(count_by="first"))).items()}
    last = {k: e.count for k, e in country_counts(load_population(store, CountingPolicy(count_by="last"))).items()}
    assert first == {"US": 1, "CN": 1}
    assert last == {"GB": 1, "US": 1, "CN": 1}
    assert pair_share(load_population(store, CountingPolicy(count_by="first"))).count == 0


def test_status_filter_and_rejected_never_count(store) -> None:
    add(store, "v", [["US"], ["CN"]], reviewed=True)
    put(store, paper("m", [["US"], ["CN"]]))
    put(store, paper("q", [["US"]], status=RecordStatus.QUEUED))
    rej = put(store, paper("r", [["US"], ["CN"]]))
    from tests.record_factory import review

    review(store, rej.paper_id, status=RecordStatus.REJECTED)
    verified = load_population(store, CountingPolicy(statuses="verified"))
    assert verified.size == 1
    est = pair_share(verified)
    assert (est.method, est.count, est.population) == ("verified-subset", 1, 1)
    everything = load_population(store)
    assert everything.size == 3  # v, m, q; rejected left out
    assert pair_share(everything).method == "machine-only"  # unreviewed records, no audit


def test_per_venue_and_year(corpus) -> None:
    rows = {(r.venue, r.year): r for r in by_group(load_population(corpus))}
    assert set(rows) == {("ICML", 2019), ("NeurIPS", 2018)}
    assert rows[("NeurIPS", 2018)].papers == 7 and rows[("NeurIPS", 2018)].pair.count == 2
    assert rows[("ICML", 2019)].papers == 2 and rows[("ICML", 2019)].pair.count == 1
    years = by_group(load_population(corpus), by=("year",))
    assert [(r.year, r.papers) for r in years] == [(2018, 7), (2019, 2)]


def test_machine_version_comes_from_the_audit_log(store) -> None:
    add(store, "fix", [["US"]], truth=[["US"], ["CN"]], audit=True)
    pop = load_population(store)
    unit = pop.units[0]
    assert unit.stratum == Stratum.AUDITED
    assert unit.machine.countries == {"US"} and unit.human.countries == {"US", "CN"}
    s = summarize(pop)
    assert s.audit.country_set.errors == 1 and s.audit.missed_country == 1


def test_headline_keeps_its_keys(corpus) -> None:
    head = headline(corpus)
    assert set(head) == {"papers", "failed", "flagged", "flagged_audit_only", "top_countries", "us_cn", "us_cn_share"}
    assert head["us_cn"] == 3 and head["papers"] == 9
    assert 0 <= head["flagged_audit_only"] <= head["flagged"]


def test_parse_pair() -> None:
    assert parse_pair("us, uk") == ("US", "GB")
    with pytest.raises(ValueError, match="two different"):
        parse_pair("US")
    with pytest.raises(ValueError, match="same country"):
        pair_share(load_population_of_nothing(), ("HK", "CN"))


def load_population_of_nothing():
    from extractor.aggregate import build_population

    return build_population([], CountingPolicy(group_hk_mo_with_cn=True), {})


def test_policy_is_printed_with_results(corpus) -> None:
    s = summarize(corpus, CountingPolicy(group_hk_mo_with_cn=True, count_by="last"))
    text = s.policy.describe()
    assert "HK and MO counted as CN" in text and "last author" in text and "TW never grouped" in text
    data = s.as_dict()
    assert data["policy"]["count_by"] == "last" and data["pair_share"]["count"] == 1  # last author must hold both: only "multi"
