"""The streamed summary equals a straightforward in-memory computation, number for number.

``summarize(store)`` reads the records a page at a time (indexed columns and model
mentions only) and keeps counts; the reference below loads every record, validates it,
recovers machine versions by walking the whole audit log, and counts each statistic with
plain loops, the textbook way. A few hundred records with every status, audit flags,
corrections, HK/MO/TW and unresolved countries, several venues and years.
"""

from __future__ import annotations

import random
from collections import defaultdict
from itertools import combinations

import pytest

from extractor.aggregate import (
    COUNTED,
    CountingPolicy,
    Stratum,
    build_population,
    headline,
    load_population,
    summarize,
)
from extractor.aggregate.estimate import _Design, _Sums, finish
from extractor.schemas import PaperContent, RecordStatus, group_country
from extractor.store import Store
from tests.record_factory import add, paper, put, review

CODES = ["US", "US", "CN", "CN", "GB", "DE", "HK", "MO", "TW", "FR", None]
FAMILIES = [("Transformer", "US"), ("Qwen", "CN"), ("Llama", "US"), ("Yi", "HK"), ("Mystery", None)]
ROLES = [None, "used", "compared", "fine-tuned", "cited-only", "proposed"]


def _authors(rng: random.Random) -> list[list[str | None]]:
    return [[rng.choice(CODES) for _ in range(rng.choice([0, 1, 1, 1, 2]))] for _ in range(rng.randint(1, 4))]


@pytest.fixture
def corpus(store: Store) -> Store:
    rng = random.Random(7)
    for i in range(320):
        pid = f"p{i:03d}"
        kw = dict(
            models=[(f, rng.choice(ROLES), d) for f, d in rng.sample(FAMILIES, rng.randint(0, 3))],
            venue=rng.choice(["NeurIPS", "ICML", None]), year=rng.choice([2018, 2019, 2020, None]),
            title=rng.choice([None, f"Paper {i}", f"étude {i}", f"Zeta {i}"]),
        )
        kind = rng.random()
        audit = rng.random() < 0.3
        if kind < 0.45:
            status = rng.choice([RecordStatus.MACHINE, RecordStatus.MACHINE, RecordStatus.QUEUED, RecordStatus.IN_REVIEW])
            put(store, paper(pid, _authors(rng), status=status, audit=audit, **kw))
        elif kind < 0.75:  # verified as is
            add(store, pid, _authors(rng), reviewed=True, audit=audit, **kw)
        elif kind < 0.9:  # verified with a correction
            add(store, pid, _authors(rng), truth=_authors(rng), audit=audit, **kw)
        else:  # rejected, or corrected and sent back to the queue
            put(store, paper(pid, _authors(rng), audit=audit, **kw))
            if rng.random() < 0.5:
                review(store, pid, status=RecordStatus.REJECTED)
            else:
                review(store, pid, paper(pid, _authors(rng), **kw), status=RecordStatus.QUEUED)
    return store


def reference_machine_versions(store: Store) -> dict[str, PaperContent]:
    """The whole log, in order: a machine write resets a paper, the next human ``before`` is its machine version."""
    found: dict[str, str | None] = {}
    for row in store.log_rows(with_content=True):
        if row["action"] in ("create", "reconcile"):
            found[row["paper_id"]] = None
        elif found.get(row["paper_id"]) is None and row["before"]:
            found[row["paper_id"]] = row["before"]
    return {pid: PaperContent.model_validate_json(text) for pid, text in found.items() if text}


def reference(units, policy, keys_of, include=()):
    """Per key: the sums of the estimator counted paper by paper, then the same formula."""
    sums: dict = defaultdict(_Sums)
    for key in include:
        sums[key]  # noqa: B018
    n_audit = m = q = known = 0
    for unit in units:
        machine_keys = set(keys_of(unit.machine))
        for key in machine_keys:
            sums[key].machine += 1
        if unit.stratum in (Stratum.VERIFIED, Stratum.AUDITED):
            known += 1
            human_keys = set(keys_of(unit.human)) if unit.human else machine_keys
            for key in human_keys:
                sums[key].known += 1
            if unit.stratum == Stratum.AUDITED:
                n_audit += 1
                for key in human_keys - machine_keys:
                    sums[key].missed += 1
                for key in machine_keys - human_keys:
                    sums[key].added += 1
        elif unit.stratum == Stratum.UNREVIEWED:
            m += 1
            for key in machine_keys:
                sums[key].predicted += 1
        else:
            q += 1
            for key in machine_keys:
                sums[key].pending_predicted += 1
    design = _Design(len(units), known, n_audit, m, q, policy.statuses == "verified", policy.confidence)
    return {key: finish(s, design) for key, s in sums.items()}


def dev_keys(v):
    return {(dev, c) for f in v.roles for dev in (v.developers.get(f) or {"unknown"}) for c in v.countries}


POLICIES = [
    CountingPolicy(),
    CountingPolicy(group_hk_mo_with_cn=True),
    CountingPolicy(count_by="first"),
    CountingPolicy(count_by="last", group_hk_mo_with_cn=True),
    CountingPolicy(statuses="verified"),
    CountingPolicy(audit_frame="all", confidence=0.9),
]


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: f"{p.count_by}-{p.statuses}-{p.audit_frame}-{p.group_hk_mo_with_cn}")
def test_streamed_summary_equals_the_in_memory_reference(corpus: Store, policy: CountingPolicy) -> None:
    pair = ("US", "CN")
    s = summarize(corpus, policy, pair)
    records = list(corpus.iter_records())
    pop = build_population(records, policy, reference_machine_versions(corpus))
    units = pop.units
    a, b = (policy.country(c) for c in pair)

    def one(has):
        return reference(units, policy, lambda v: (True,) if has(v) else (), (True,))[True]

    assert s.papers == len(units) == sum(r.status in policy.counted_statuses() for r in records)
    assert s.pair_share == one(lambda v: a in v.countries and b in v.countries)
    assert s.international == one(lambda v: len(v.countries) >= 2)
    assert s.no_country == one(lambda v: not v.countries)
    assert s.countries == reference(units, policy, lambda v: v.countries)
    assert s.matrix == reference(units, policy, lambda v: combinations(sorted(v.countries), 2))
    assert s.flows.families == reference(units, policy, lambda v: v.roles.keys())
    assert s.flows.by_country == reference(units, policy, lambda v: [(f, c) for f in v.roles for c in v.countries])
    assert s.flows.by_country_role == reference(
        units, policy, lambda v: [(f, c, r) for f, r in v.roles.items() for c in v.countries])
    assert s.flows.by_role == reference(units, policy, lambda v: v.roles.items())
    assert s.flows.by_developer == reference(units, policy, dev_keys)
    groups = {(g.venue, g.year): g for g in s.groups}
    assert len(groups) == len({(u.venue, u.year) for u in units})
    for (venue, year), g in groups.items():
        sub = [u for u in units if (u.venue, u.year) == (venue, year)]
        assert g.papers == len(sub)
        assert g.pair == reference(sub, policy, lambda v: (True,) if a in v.countries and b in v.countries else (),
                                   (True,))[True]
        assert g.international == reference(sub, policy, lambda v: (True,) if len(v.countries) >= 2 else (),
                                             (True,))[True]
    assert [(g.year, g.papers) for g in s.trend] == sorted(
        ((y, sum(u.year == y for u in units)) for y in {u.year for u in units}), key=lambda t: t[0] or 0)
    # the audit and the review progress
    audited = [u for u in units if u.stratum == Stratum.AUDITED]
    assert s.audit.reviewed == len(audited)
    assert s.audit.country_set.errors == sum(u.human.raw_countries != u.machine.raw_countries for u in audited)
    assert s.audit.model_set.errors == sum(u.human.families != u.machine.families for u in audited)
    assert s.audit.waiting == sum(u.record.audit and u.stratum != Stratum.AUDITED for u in units)
    assert s.audit.drawn == sum(r.audit for r in records)
    assert s.audit.rejected == sum(r.audit and r.status == RecordStatus.REJECTED for r in records)
    assert s.progress.status_counts == pop.status_counts
    assert list(s.progress.status_counts) == list(pop.status_counts)  # first-appearance order too
    assert s.progress.strata == {st.value: sum(u.stratum == st for u in units) for st in Stratum}
    # and the in-memory path gives the same numbers
    assert summarize(pop, pair=pair).as_dict() == s.as_dict()
    assert summarize(load_population(corpus, policy), pair=pair).as_dict() == s.as_dict()


def test_the_corpus_covers_every_stratum_and_disagreement(corpus: Store) -> None:
    s = summarize(corpus)
    assert all(n > 5 for n in s.progress.strata.values()), s.progress.strata
    assert s.audit.country_set.errors > 0 and s.pair_share.method == "ppi"
    assert set(s.progress.status_counts) == {"machine", "queued", "in_review", "verified", "rejected"}


def test_the_listing_holds_no_paper_and_reads_them_in_order(corpus: Store) -> None:
    s = summarize(corpus)
    assert len(s.listing) == s.papers
    listed = list(s.listing.units())
    expected = sorted(load_population(corpus).units, key=lambda u: u.paper_id)
    key = lambda u: (u.record.venue or "", u.record.year or 0, (u.record.title or "").lower(), u.paper_id)  # noqa: E731
    assert [u.paper_id for u in listed] == [u.paper_id for u in sorted(listed, key=key)]
    assert {u.paper_id for u in listed} == {u.paper_id for u in expected}
    light = list(s.listing.units(records=False))
    assert [(u.paper_id, u.title, u.current.countries, u.stratum) for u in light] == [
        (u.paper_id, u.record.title, u.current.countries, u.stratum) for u in listed]
    assert [u.paper_id for u in s.listing.units(5)] == [u.paper_id for u in listed[:5]]


def test_headline_reads_columns_and_agrees_with_the_records(corpus: Store) -> None:
    for group in (False, True):
        head = headline(corpus, group_hk_mo_with_cn=group)
        counted = [r for r in corpus.iter_records() if r.status in COUNTED]
        both = sum({"US", "CN"} <= set(r.countries(group)) for r in counted)
        assert (head["papers"], head["us_cn"]) == (len(counted), both)
        assert head["flagged"] == sum(r.status == RecordStatus.QUEUED for r in counted)
        per = defaultdict(int)
        for r in counted:
            for c in r.countries(group):
                per[c] += 1
        assert dict(head["top_countries"]) == dict(sorted(per.items(), key=lambda kv: -kv[1])[:8]) or \
            sorted(v for _, v in head["top_countries"]) == sorted(sorted(per.values())[-8:])
        assert all(group_country(c, group) == c for c, _ in head["top_countries"])
