"""The review queue: priority order, impact, the audit sample, states and versions, the UI's calls."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from extractor import confidence as conf
from extractor.config import Settings
from extractor.export import record_to_export
from extractor.queue import (
    ImpactWeights,
    QueueFilter,
    audit_design,
    audit_u,
    impact,
    next_record,
    queue_counts,
    queue_head,
    review_progress,
    route,
)
from extractor.reconcile import run_reconcile
from extractor.schemas import ExportRecord, Method, RecordStatus
from extractor.store import Store
from tests.test_reconcile_fixtures import (
    LLM,
    MSR,
    PEKING,
    RULES,
    STANFORD,
    TSINGHUA,
    add_paper,
    aff,
    extraction,
)

SET = Settings(confidence_threshold=0.95, audit_fraction=0.05, audit_min=2, seed=11)


def agreeing(store: Store, n: int, prefix: str = "ok", venue: str = "NeurIPS") -> list[str]:
    return [add_paper(store, f"{prefix}{i}.pdf", [(LLM, extraction()), (RULES, extraction())], venue=venue) for i in range(n)]


def disagreeing(store: Store, name: str) -> str:
    rules = extraction(affs=[aff(0, STANFORD, "US"), aff(1, TSINGHUA, "JP")])
    return add_paper(store, name, [(LLM, extraction()), (RULES, rules)])


# --------------------------------------------------------------------------- impact and order


@pytest.mark.parametrize(("s", "alt", "expected"), [
    (["CN", "US"], {"set": ["CN"]}, 1.0 + 0.5 + 0.5),  # pair and international flip
    (["CN"], {"set": ["CN"]}, 0.0),  # doubt inside one country set: nothing moves
    (["DE"], {"set": ["FR"]}, 0.5),  # only country counts move
    (["DE", "FR"], {"set": ["DE"]}, 0.5 + 0.5),  # international flips
    (["US"], {"set": ["US"], "wild": True}, 0.5 * 1.0 + 1.0 * 0.5 + 1.0 * 0.5),  # + unknown country: prior CN 0.5, XX 0.5
], ids=["us-cn-to-cn", "cn-cn-doubt", "de-to-fr", "intl-to-single", "plus-unknown-country"])
def test_impact(s: list[str], alt: dict, expected: float) -> None:
    prior = {"CN": 0.5, "*": 0.5}
    assert impact(s, [{"wild": False, **alt}], prior=prior) == pytest.approx(expected)


def test_impact_weights_and_pair_are_the_users_choice() -> None:
    assert impact(["DE", "FR"], [{"set": ["DE"], "wild": False}], weights=ImpactWeights(1, 0, 0)) == 0.0
    assert impact(["DE", "FR"], [{"set": ["DE"], "wild": False}], pair=("DE", "FR")) == pytest.approx(2.0)


def test_us_cn_doubt_outranks_a_cn_cn_doubt_even_when_less_likely_wrong(store: Store) -> None:
    uscn = add_paper(store, "uscn.pdf", [
        (LLM, extraction(affs=[aff(0, MSR, "US", Method.HQ_DEFAULT), aff(1, TSINGHUA, "CN")])),
        (RULES, extraction(affs=[aff(0, MSR, "US", Method.HQ_DEFAULT), aff(1, TSINGHUA, "CN")]))])
    unmatched = "Zhongguancun Widget Academy, Beijing, China"
    cncn = add_paper(store, "cncn.pdf", [
        (LLM.model_copy(update={"reasks": 2}), extraction(affs=[aff(0, unmatched, "CN"), aff(1, PEKING, "CN")], self_confidence=0.3)),
        (RULES, extraction(affs=[aff(0, unmatched, "CN"), aff(1, PEKING, "CN")]))])
    run_reconcile(store, settings=SET, confidence_threshold=SET.confidence_threshold)
    head = queue_head(store, n=10, audit=False)
    order = [i.paper_id for i in head]
    by_id = {i.paper_id: i for i in head}
    assert by_id[cncn].p_wrong > by_id[uscn].p_wrong
    assert by_id[cncn].impact == 0.0 and by_id[uscn].impact >= 1.5
    assert order.index(uscn) < order.index(cncn)
    assert all(i.reasons for i in head)


def test_queue_head_filters_and_order(store: Store) -> None:
    agreeing(store, 3)
    a = disagreeing(store, "a.pdf")
    b = add_paper(store, "b.pdf", [(LLM, extraction()), (RULES, extraction(affs=[aff(0, STANFORD, "US"), aff(1, TSINGHUA, "JP")]))],
                  venue="ICML")
    route_all(store)
    head = queue_head(store, audit=False)
    assert {a, b} <= {i.paper_id for i in head}
    assert [i.priority for i in head] == sorted((i.priority for i in head), reverse=True)
    assert [i.paper_id for i in queue_head(store, filters=QueueFilter(venue="icml"), audit=False)] == [b]
    assert {i.paper_id for i in queue_head(store, filters=QueueFilter(reason="backends_disagree"))} == {a, b}
    assert queue_head(store, filters=QueueFilter(country="JP")) == []  # the machine set is the llm's
    assert {i.paper_id for i in queue_head(store, filters=QueueFilter(country="cn"), audit=False)} >= {a, b}


def route_all(store: Store, settings: Settings = SET) -> None:
    run_reconcile(store, settings=settings, confidence_threshold=settings.confidence_threshold)


# --------------------------------------------------------------------------- audit sample


def test_audit_sample_size_labels_and_reasons(store: Store) -> None:
    agreeing(store, 30)
    disagreeing(store, "d.pdf")
    run_reconcile(store, route=False)
    s = route(store, Settings(audit_fraction=0.05, audit_min=5, seed=3))
    assert s.audit_frame == 30 and s.audit_target == 5 and s.audit == 5
    drawn = [r for r in store.iter_records() if r.audit]
    assert len(drawn) == 5
    for r in drawn:
        assert r.status == RecordStatus.QUEUED
        assert r.review_reasons[-1].code == "audit_sample" and "audit" in r.review_reasons[-1].message
    assert [i.audit for i in queue_head(store, audit=True)] == [True] * 5
    assert all(not i.audit for i in queue_head(store, audit=False))


@pytest.mark.parametrize(("n", "fraction", "minimum", "expected"), [
    (30, 0.05, 50, 30),  # capped by the population
    (120, 0.05, 50, 50),  # the minimum
    (120, 0.25, 5, 30),  # the fraction
], ids=["capped-by-population", "minimum-50", "fraction"])
def test_audit_size_rule(store: Store, n: int, fraction: float, minimum: int, expected: int) -> None:
    agreeing(store, n)
    run_reconcile(store, route=False)
    assert route(store, Settings(audit_fraction=fraction, audit_min=minimum)).audit == expected


def test_audit_sample_is_stable_and_seeded(store: Store) -> None:
    agreeing(store, 40)
    run_reconcile(store, route=False)
    settings = Settings(audit_fraction=0.05, audit_min=6, seed=5)
    route(store, settings)
    first = audit_design(store)["members"]
    versions = {r.paper_id: r.version for r in store.iter_records()}
    again = route(store, settings)
    assert again.changed == 0, "a re-run changes nothing"
    assert audit_design(store)["members"] == first
    assert {r.paper_id: r.version for r in store.iter_records()} == versions
    pids = [r.paper_id for r in store.iter_records()]
    assert set(first) == set(sorted(pids, key=lambda p: audit_u(5, p))[:6]), "the 6 smallest seeded draws"
    route(store, settings.model_copy(update={"seed": 6}))
    assert set(audit_design(store)["members"]) != set(first)
    assert store.verify_log() == []


def test_new_records_join_the_sample_by_their_own_draw(store: Store) -> None:
    agreeing(store, 40, prefix="a")
    run_reconcile(store, route=False)
    settings = Settings(audit_fraction=0.1, audit_min=2, seed=9)
    route(store, settings)
    agreeing(store, 40, prefix="b")
    run_reconcile(store, route=False)
    route(store, settings)
    pids = [r.paper_id for r in store.iter_records()]
    expected = sorted(pids, key=lambda p: audit_u(9, p))[:8]
    assert set(audit_design(store)["members"]) == set(expected), "same as drawing once from all 80"


def test_audit_draw_is_uniform_over_records() -> None:
    """Inclusion frequency does not depend on anything but the seeded hash."""
    ids = [f"{i:016x}" for i in range(4000)]
    hits = Counter()
    for seed in range(40):
        chosen = sorted(ids, key=lambda p: audit_u(seed, p))[:200]
        hits.update("first-half" if int(p, 16) < 2000 else "second-half" for p in chosen)
    share = hits["first-half"] / (hits["first-half"] + hits["second-half"])
    assert abs(share - 0.5) < 0.02
    u = [audit_u(1, p) for p in ids]
    assert abs(sum(u) / len(u) - 0.5) < 0.02 and min(u) >= 0 and max(u) < 1


def test_audit_items_people_hold_stay_in_the_sample(store: Store) -> None:
    agreeing(store, 30)
    run_reconcile(store, route=False)
    settings = Settings(audit_fraction=0.05, audit_min=3, seed=2)
    route(store, settings)
    rec = next_record(store, "ana", audit=True, claim=True)
    assert rec is not None and rec.audit and rec.status == RecordStatus.IN_REVIEW
    done = rec.model_copy(update={"status": RecordStatus.VERIFIED})
    store.save_record(done, expected_version=rec.version, action="approve", actor="ana")
    agreeing(store, 100, prefix="more")
    run_reconcile(store, route=False)
    route(store, settings)
    assert rec.paper_id in audit_design(store)["members"]
    assert queue_counts(store)["audit"]["done"] == 1


# --------------------------------------------------------------------------- states, versions, the UI's calls


def test_route_versions_log_and_leaves_people_alone(store: Store) -> None:
    pid = disagreeing(store, "d.pdf")
    other = disagreeing(store, "e.pdf")
    route_all(store)
    rec = next_record(store, "ana", claim=True)
    assert rec is not None and rec.status == RecordStatus.IN_REVIEW and rec.provenance.reviewer == "ana"
    held = rec.paper_id
    conf.save_model(store, conf.LogisticModel(target=conf.COUNTRY, intercept=0.1, coef={}, source="fit"))
    s = route(store, SET)
    assert s.human == 1
    assert store.get_record(held).version == rec.version, "in review: untouched"
    free = other if held == pid else pid
    assert any(r["action"] == "route" for r in store.history(free))
    assert store.verify_log() == []


def test_next_record_resumes_claims_and_never_serves_twice(store: Store) -> None:
    for name in ("a.pdf", "b.pdf", "c.pdf"):
        disagreeing(store, name)
    route_all(store)
    first = next_record(store, "ana", claim=True)
    again = next_record(store, "ana", claim=True)
    assert again is not None and again.paper_id == first.paper_id, "a reviewer resumes their own record"
    other = next_record(store, "ben", claim=True)
    assert other is not None and other.paper_id != first.paper_id
    peek = next_record(store, "cem", skip_ids=[])
    assert peek is not None and peek.status == RecordStatus.QUEUED
    later = next_record(store, "cem", skip_ids=[peek.paper_id])
    assert later is None or later.paper_id != peek.paper_id
    mine = queue_head(store, filters=QueueFilter(reviewer="ana"))
    assert first.paper_id in {i.paper_id for i in mine}


def test_counts_and_progress(store: Store) -> None:
    agreeing(store, 10)
    ids = [disagreeing(store, f"d{i}.pdf") for i in range(3)]
    route_all(store)
    counts = queue_counts(store)
    assert counts["by_status"]["queued"] >= 3
    assert counts["by_reason"]["backends_disagree"] == 3
    assert counts["audit"]["drawn"] == counts["audit"]["pending"] >= 2
    assert counts["remaining_impact_mass"] > 0
    progress = review_progress(store, epsilon=0.01)
    assert progress["share_reviewed"] == 0.0 and not progress["done"]
    for pid in ids:
        rec = store.get_record(pid)
        store.save_record(rec.model_copy(update={"status": RecordStatus.VERIFIED}), expected_version=rec.version,
                          action="approve", actor="ana")
    progress = review_progress(store, epsilon=0.01)
    assert progress["done"] and progress["share_reviewed"] > 0.5
    assert progress["message"] == "everything that can change the result is reviewed"


def test_every_queued_record_lists_a_reason(store: Store) -> None:
    agreeing(store, 8)
    disagreeing(store, "d.pdf")
    run_reconcile(store, route=False)
    conf.save_model(store, conf.LogisticModel(target=conf.COUNTRY, intercept=0.5, coef={}, source="fit"))
    s = route(store, SET)
    assert s.queued == 9
    for r in store.iter_records([RecordStatus.QUEUED.value]):
        assert r.review_reasons and all(x.message for x in r.review_reasons)


@pytest.mark.parametrize("status", [RecordStatus.QUEUED, RecordStatus.IN_REVIEW], ids=["queued", "in-review"])
def test_export_keeps_its_contract(store: Store, status: RecordStatus) -> None:
    pid = disagreeing(store, "d.pdf")
    route_all(store)
    rec = store.get_record(pid)
    if status == RecordStatus.IN_REVIEW:
        rec = next_record(store, "ana", claim=True)
    line = record_to_export(rec)
    assert rec.status == status and line["status"] == "machine"
    ExportRecord.model_validate(line)
    assert line["review_reasons"] and math.isfinite(line["confidence"])


# --------------------------------------------------------------------------- paging by key, counts in one pass


def _routed(store: Store, n_ok: int = 12, n_bad: int = 6) -> None:
    agreeing(store, n_ok)
    for i in range(n_bad):
        disagreeing(store, f"bad{i}.pdf")
    route_all(store, Settings(confidence_threshold=0.95, audit_fraction=0.3, audit_min=4, seed=4))


def _old_order(store: Store, audit: bool | None, statuses: tuple[str, ...] = ("queued",)) -> list[str]:
    """The queue order as documented (expected impact, P(wrong), paper id), by brute force."""
    from extractor.queue import _ITEM_SQL, _where

    where, params = _where(None, statuses, audit)
    order = " ORDER BY u, r.paper_id" if audit else " ORDER BY priority DESC, p_wrong DESC, r.paper_id"
    return [r["paper_id"] for r in store.query(_ITEM_SQL + where + order, params)]


def test_keyset_pages_keep_the_documented_order(store: Store) -> None:
    from extractor.queue import _iter_items

    _routed(store)
    for audit in (None, False, True):
        expected = _old_order(store, audit)
        assert expected, audit
        assert [i.paper_id for i in queue_head(store, n=len(expected) + 5, audit=audit)] == expected
        assert [i.paper_id for i in queue_head(store, n=3, audit=audit)] == expected[:3]
        for batch in (1, 2, 3, 500):
            assert [r["paper_id"] for r in _iter_items(store, None, audit, ["queued"], batch=batch)] == expected
    audit_ids = _old_order(store, True)
    with store.write():  # an audit record without a draw (u counts as 1) comes after the drawn ones
        store.db.execute("UPDATE review_signals SET audit_u = NULL WHERE paper_id = ?", [audit_ids[0]])
    expected = _old_order(store, True)
    assert expected[-1] == audit_ids[0]
    for batch in (1, 2, 500):
        assert [r["paper_id"] for r in _iter_items(store, None, True, ["queued"], batch=batch)] == expected


def test_keyset_pages_across_ties(store: Store) -> None:
    """Many records with equal priority and confidence: every page boundary inside a tie group."""
    from extractor.queue import _iter_items

    _routed(store, n_ok=14, n_bad=2)
    ids = [r["paper_id"] for r in store.query("SELECT paper_id FROM records ORDER BY paper_id")]
    with store.write():  # three priority groups, two confidence groups each, all queued
        for i, pid in enumerate(ids):
            store.db.execute("UPDATE records SET status = 'queued', priority = ?, confidence = ? WHERE paper_id = ?",
                             [[0.5, 0.25, 0.0][i % 3], [0.9, None][i % 2], pid])
            store.db.execute("UPDATE review_signals SET priority = NULL, p_wrong = NULL WHERE paper_id = ?", [pid])
    expected = [r["paper_id"] for r in store.query(
        "SELECT paper_id FROM records ORDER BY priority DESC, coalesce(1 - confidence, 0) DESC, paper_id")]
    assert len(expected) == len(ids)
    for batch in (1, 2, 4, 5, 7, 100):
        got = [r["paper_id"] for r in _iter_items(store, None, None, ["queued"], batch=batch)]
        assert got == expected, batch
    assert [i.paper_id for i in queue_head(store, n=len(ids))] == expected


def test_reviewer_filter_merges_in_review_records_in_order(store: Store) -> None:
    from extractor.queue import _iter_items

    _routed(store)
    held = next_record(store, "ana", audit=None, claim=True)
    assert held is not None
    expected = _old_order(store, None, ("queued",))
    with_ana = [i.paper_id for i in queue_head(store, n=100, filters=QueueFilter(reviewer="ana"))]
    from extractor.queue import _ITEM_SQL, _where

    where, params = _where(QueueFilter(reviewer="ana"), ["queued"], None)
    brute = [r["paper_id"] for r in store.query(_ITEM_SQL + where + " ORDER BY priority DESC, p_wrong DESC, r.paper_id",
                                                 params)]
    assert with_ana == brute and held.paper_id in with_ana and set(with_ana) == set(expected) | {held.paper_id}
    rows = list(_iter_items(store, QueueFilter(reviewer="ana"), None, ["queued"], batch=2))
    assert [r["paper_id"] for r in rows] == brute
    assert held.paper_id not in {i.paper_id for i in queue_head(store, n=100, filters=QueueFilter(reviewer="ben"))}


def test_next_record_pages_past_skipped_and_claimed_records(store: Store) -> None:
    _routed(store)
    order = _old_order(store, False)
    assert len(order) >= 3
    assert next_record(store, "cem", skip_ids=order[:-1]).paper_id == order[-1]
    assert next_record(store, "cem", skip_ids=order) is None
    claimed = [next_record(store, f"r{i}", claim=True).paper_id for i in range(len(order))]
    assert claimed == order, "claims are handed out in queue order, each once"
    assert next_record(store, "zed", claim=True) is None
    audit_order = _old_order(store, True)
    assert [next_record(store, f"a{i}", audit=True, claim=True).paper_id for i in range(len(audit_order))] == audit_order
    assert next_record(store, "a1", audit=True).paper_id == audit_order[1], "a reviewer resumes their audit record"
    assert next_record(store, "a1", audit=True, skip_ids=[audit_order[1]]) is None


def _counts_brute(store: Store, f: QueueFilter | None) -> dict:
    import json

    from extractor.queue import _ITEM_SQL, _where

    where, params = _where(f, [s.value for s in RecordStatus], None)
    by_status, by_reason, audit = Counter(), Counter(), Counter()
    remaining = 0.0
    for row in store.query(_ITEM_SQL + where, params):
        st = row["status"]
        by_status[st] += 1
        if st in ("queued", "in_review"):
            by_reason.update({r["code"] for r in json.loads(row["data"]).get("review_reasons", [])})
            if not row["audit"]:
                remaining += row["priority"] or 0.0
        if row["audit"]:
            audit["drawn"] += 1
            audit[{"verified": "done", "rejected": "rejected", "in_review": "in_review"}.get(st, "pending")] += 1
    return {"by_status": dict(by_status), "by_reason": dict(by_reason),
            "audit": {k: audit.get(k, 0) for k in ("drawn", "pending", "in_review", "done", "rejected")},
            "remaining_impact_mass": round(remaining, 4)}


def test_queue_counts_match_a_record_by_record_count(store: Store) -> None:
    _routed(store)
    rec = next_record(store, "ana", audit=True, claim=True)
    store.save_record(rec.model_copy(update={"status": RecordStatus.VERIFIED}), expected_version=rec.version,
                      action="approve", actor="ana")
    next_record(store, "ben", claim=True)
    for f in (None, QueueFilter(venue="neurips"), QueueFilter(reason="backends_disagree"), QueueFilter(country="CN"),
              QueueFilter(venue="nowhere"), QueueFilter(reviewer="ana")):
        got = queue_counts(store, f)
        assert got == _counts_brute(store, f), f
        assert list(got["by_reason"].values()) == sorted(got["by_reason"].values(), reverse=True)
    assert queue_counts(store)["audit"]["done"] == 1 and queue_counts(store)["audit"]["in_review"] == 0


def test_route_in_small_chunks_gives_the_same_result(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    import extractor.queue as q

    agreeing(store, 25)
    for i in range(5):
        disagreeing(store, f"d{i}.pdf")
    run_reconcile(store, route=False)
    settings = Settings(confidence_threshold=0.95, audit_fraction=0.1, audit_min=3, seed=8)
    monkeypatch.setattr(q, "ROUTE_CHUNK", 2)
    small = route(store, settings)
    state = {r.paper_id: (r.status, r.audit, r.priority, r.confidence, r.version) for r in store.iter_records()}
    monkeypatch.setattr(q, "ROUTE_CHUNK", 1000)
    again = route(store, settings)
    assert again.changed == 0
    assert {r.paper_id: (r.status, r.audit, r.priority, r.confidence, r.version) for r in store.iter_records()} == state
    for k in ("routed", "queued", "machine", "audit", "audit_target", "audit_frame", "human", "no_signals"):
        assert getattr(small, k) == getattr(again, k), k
    assert small.routed == 30 and small.changed > 0 and store.verify_log() == []
