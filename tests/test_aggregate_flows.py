"""Model flows: families by author country, by role, and developer country x author country."""

from __future__ import annotations

import pytest

from extractor.aggregate import CountingPolicy, family_in_country, load_population, model_flows
from tests.record_factory import add


@pytest.fixture
def flows_db(store):
    add(store, "p1", [["CN"]], models=[("Transformer", "used", "US"), ("Llama", "fine-tuned", "US")], reviewed=True)
    add(store, "p2", [["US"], ["CN"]],
        models=[("Qwen", "used", "CN"), ("Transformer", "cited-only", "US"), ("Transformer", "compared", "US")],
        reviewed=True)
    add(store, "p3", [["US"]], models=[("Qwen", "compared", "CN"), ("Mystery", None, None)], reviewed=True)
    add(store, "p4", [["HK"]], models=[("Yi", "used", "HK")], reviewed=True)
    return store


def counts(d):
    return {k: e.count for k, e in d.items()}


def test_families_by_author_country(flows_db) -> None:
    f = model_flows(load_population(flows_db))
    assert counts(f.families) == {"Transformer": 2, "Qwen": 2, "Llama": 1, "Mystery": 1, "Yi": 1}
    by_country = counts(f.by_country)
    assert by_country[("Transformer", "CN")] == 2 and by_country[("Transformer", "US")] == 1
    assert by_country[("Qwen", "US")] == 2 and by_country[("Qwen", "CN")] == 1
    assert f.top_families(2) == ["Qwen", "Transformer"]


def test_role_is_the_strongest_per_paper(flows_db) -> None:
    f = model_flows(load_population(flows_db))
    roles = counts(f.by_country_role)
    assert roles[("Transformer", "CN", "used")] == 1
    assert roles[("Transformer", "CN", "compared")] == 1  # compared beats cited-only in p2
    assert ("Transformer", "CN", "cited-only") not in roles
    assert counts(f.by_role)[("Mystery", "unknown")] == 1
    assert counts(f.by_role)[("Llama", "fine-tuned")] == 1


def test_developer_country_by_author_country(flows_db) -> None:
    dev = counts(model_flows(load_population(flows_db)).by_developer)
    assert dev[("US", "CN")] == 2  # p1 and p2; p1 once although two US-developed models
    assert dev[("US", "US")] == 1 and dev[("CN", "US")] == 2 and dev[("CN", "CN")] == 1
    assert dev[("unknown", "US")] == 1
    assert dev[("HK", "HK")] == 1
    grouped = counts(model_flows(load_population(flows_db, CountingPolicy(group_hk_mo_with_cn=True))).by_developer)
    assert grouped[("CN", "CN")] == 2 and ("HK", "HK") not in grouped


def test_single_flow_with_role(flows_db) -> None:
    pop = load_population(flows_db)
    assert family_in_country(pop, "Qwen", "us").count == 2
    assert family_in_country(pop, "Qwen", "US", role="used").count == 1
    assert family_in_country(pop, "Transformer", "CN").method == "exact"
