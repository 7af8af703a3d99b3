"""The realistic simulated LLM errs where the page is hard, the way the rules backend does."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from devtools.error_model import ErrorRates, page_facts, realistic_answer, unit_facts
from devtools.simulate import Answerer

POOL = [("US", 5.0), ("CN", 3.0), ("GB", 1.0), ("DE", 1.0), ("JP", 1.0)]
NONE = ErrorRates(**{f: 0.0 for f in ErrorRates.__dataclass_fields__})


def paper(i: int, layout: str, *, n_authors: int = 4, units: list[tuple[str, str]] | None = None,
          mentions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    units = units or [("Stanford University, Stanford, CA, USA", "US"), ("Tsinghua University, Beijing, China", "CN"),
                      ("University of Tokyo, Japan", "JP")]
    return {
        "id": f"p:{i}", "title": f"Paper {i}", "source_file": f"p{i}-{layout}.pdf", "layout": layout,
        "authors": [{"name": f"Author {k}", "affiliations": [k % len(units)], "email": None} for k in range(n_authors)],
        "affiliations": [{"raw": raw, "institution": raw.split(",")[0], "country": cc} for raw, cc in units],
        "model_mentions": mentions or [],
    }


def totals(papers: list[dict[str, Any]], rates: ErrorRates | None = None, seed: int = 0) -> Counter[str]:
    out: Counter[str] = Counter()
    for p in papers:
        _, log = realistic_answer(p, rates or ErrorRates(), seed, POOL, ["bert", "resnet"])
        out.update(log)
    return out


def test_no_rates_gives_the_truth() -> None:
    p = paper(1, "symbols", mentions=[{"name": "BERT", "family": "bert", "role": "used"}])
    ans, log = realistic_answer(p, NONE, 0, POOL, ["bert"])
    assert [a["country"] for a in ans["affiliations"]] == ["US", "CN", "JP"]
    assert [a["affiliation_ids"] for a in ans["authors"]] == [[0], [1], [2], [0]]
    assert [m["name"] for m in ans["model_mentions"]] == ["BERT"]
    assert sum(v for k, v in log.items() if k != "affiliations_changed") == 0


def test_answers_are_deterministic_per_seed() -> None:
    p = paper(2, "footnote", n_authors=14)
    assert realistic_answer(p, ErrorRates().scaled(3), 5, POOL) == realistic_answer(p, ErrorRates().scaled(3), 5, POOL)


def test_mislinks_follow_the_marker_style() -> None:
    """Symbols and footnote markers mislink far more often than affiliations printed under each name."""
    symbols = totals([paper(i, "symbols") for i in range(400)])
    grid = totals([paper(i, "per-author") for i in range(400)])
    assert symbols["mislink"] + symbols["markers_lost"] > 5 * max(1, grid["mislink"] + grid["markers_lost"])
    assert grid["markers_lost"] == 0  # no markers to lose


def test_long_author_lists_lose_authors_and_short_ones_never() -> None:
    short = totals([paper(i, "numbered", n_authors=5) for i in range(300)])
    long = totals([paper(i, "numbered", n_authors=25) for i in range(300)])
    assert short["dropped_authors"] == 0
    assert long["dropped_authors"] > 0


def test_footnote_affiliations_are_missed_only_in_footnote_layouts() -> None:
    foot = totals([paper(i, "footnote") for i in range(300)])
    other = totals([paper(i, "acl-grid") for i in range(300)])
    assert foot["footnote_unit_missed"] + foot["footnote_block_missed"] > 0
    assert other["footnote_unit_missed"] + other["footnote_block_missed"] == 0


def test_country_errors_concentrate_where_the_country_is_not_printed() -> None:
    stated = [paper(i, "per-author") for i in range(300)]
    unprinted = [paper(i, "per-author", units=[("Acme Robotics Lab", "US"), ("Northfield Institute", "CN")])
                 for i in range(300)]
    country = ("stated_country", "unprinted_country", "shared_misreading", "ambiguous_place")
    assert sum(totals(unprinted)[c] for c in country) > 5 * max(1, sum(totals(stated)[c] for c in country))


def test_an_ambiguous_place_gets_its_other_meaning() -> None:
    facts = unit_facts("Microsoft Research, Cambridge")
    assert set(facts.ambiguous) >= {"GB", "US"} and not facts.stated
    p = paper(3, "per-author", units=[("Microsoft Research, Cambridge", "GB")])
    ans, log = realistic_answer(p, ErrorRates(**{**NONE.__dict__, "ambiguous_place": 1.0}), 0, POOL)
    assert log["ambiguous_place"] == 1 and ans["affiliations"][0]["country"] == "US"


def test_a_hong_kong_university_s_shenzhen_campus_is_ambiguous() -> None:
    assert set(unit_facts("The Hong Kong University of Science and Technology (Shenzhen)").ambiguous) == {"HK", "CN"}


def test_a_company_without_a_site_gets_its_headquarters_country() -> None:
    facts = unit_facts("Google")
    assert facts.company_no_site and facts.hq == "US"
    rates = ErrorRates(**{**NONE.__dict__, "company_hq": 1.0})
    ans, log = realistic_answer(paper(4, "per-author", units=[("Google", "CH")]), rates, 0, POOL)
    assert ans["affiliations"][0]["country"] == "US" and log["company_hq"] == 1
    # when the truth is the headquarters country there is nothing to get wrong
    ans, log = realistic_answer(paper(5, "per-author", units=[("Google", "US")]), rates, 0, POOL)
    assert ans["affiliations"][0]["country"] == "US" and log["company_hq"] == 0


def test_a_shared_misreading_repeats_the_gazetteer_s_wrong_country() -> None:
    # the truth label disagrees with what the text and gazetteer say: the model reads it the same wrong way
    rates = ErrorRates(**{**NONE.__dict__, "shared_misreading": 1.0})
    ans, log = realistic_answer(paper(6, "per-author", units=[("Tsinghua University", "SG")]), rates, 0, POOL)
    assert ans["affiliations"][0]["country"] == "CN" and log["shared_misreading"] == 1


def test_departments_names_and_models() -> None:
    p = paper(7, "per-author", units=[("Department of Computer Science, University of Toronto", "CA")],
              mentions=[{"name": "LLaMA-2-7B", "family": "llama", "role": "used"}])
    rates = ErrorRates(**{**NONE.__dict__, "department_as_institution": 1.0, "sibling_family": 1.0,
                          "library_as_model": 1.0})
    ans, log = realistic_answer(p, rates, 0, POOL)
    assert ans["affiliations"][0]["institution"] == "Department of Computer Science"
    names = [m["name"] for m in ans["model_mentions"]]
    assert names[0] in ("Alpaca", "Vicuna") and len(names) == 2
    assert log["sibling_family"] == 1 and log["library_as_model"] == 1


def test_an_author_without_affiliation_gets_an_invented_one() -> None:
    p = paper(8, "numbered", n_authors=3)
    p["authors"][2]["affiliations"] = []
    ans, log = realistic_answer(p, ErrorRates(**{**NONE.__dict__, "invented_affiliation": 1.0}), 0, POOL)
    assert log["invented_affiliation"] == 1 and ans["authors"][2]["affiliation_ids"]


def test_noise_scales_the_mix() -> None:
    assert ErrorRates.for_noise(0.20).mislink_symbols == pytest.approx(2 * ErrorRates().mislink_symbols)
    assert ErrorRates.for_noise(0.05).unprinted_country == pytest.approx(ErrorRates().unprinted_country / 2)
    assert ErrorRates().scaled(1000).company_hq == 1.0


def test_hard_pages_look_hard() -> None:
    easy = page_facts(paper(9, "per-author", n_authors=3))
    hard = page_facts(paper(9, "symbols", n_authors=20, units=[("Acme Robotics Lab", "US")]))
    assert hard.hardness > easy.hardness + 0.3


def test_answerer_switches_between_error_models() -> None:
    truths = [paper(i, "symbols", n_authors=12) for i in range(50)]
    realistic = Answerer(truths, 0.10, 0, "realistic")
    independent = Answerer(truths, 0.10, 0, "independent")
    for t in truths:
        realistic(t)
        independent(t)
    assert "independent_affiliation" in independent.classes and len(independent.classes) == 1
    assert realistic.classes["mislink"] > 0 and "independent_affiliation" not in realistic.classes
