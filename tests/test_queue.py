"""The review queue: priority order, impact, the audit sample, states and versions, the UI's calls."""

from __future__ import annotations

import json
import math
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from extractor.config import Settings
from extractor.export.writers import record_to_export
from extractor.reconcile import confidence as conf
from extractor.reconcile import routing
from extractor.reconcile.merge import run_reconcile
from extractor.reconcile.routing import ImpactWeights, audit_u, impact, route
from extractor.review.queue import (
    QueueFilter,
    audit_design,
    next_record,
    queue_counts,
    queue_head,
    review_progress,
)
from extractor.schemas import ExportRecord, Method, RecordStatus, paper_id_for
from extractor.store import Store
from tests.test_reconcile_fixtures import (
    FRONT_TEXT,
    LLM,
    MSR,
    PEKING,
    RULES,
    STANFORD,
    TSINGHUA,
    add_paper,
    aff,
    document,
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


def test_us_cn_doubt_outranks_a_cn_cn_doubt_even_when_less_likely_wrong(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conf, "_fitted_priors", lambda: {})  # the hand-set prior: both records are queued
    uscn = add_paper(store, "uscn.pdf", [
        (LLM, extraction(affs=[aff(0, MSR, "US", Method.HQ_DEFAULT), aff(1, TSINGHUA, "CN")])),
        (RULES, extraction(affs=[aff(0, MSR, "US", Method.HQ_DEFAULT), aff(1, TSINGHUA, "CN")]))])
    unmatched = "Zhongguancun Widget Academy, Beijing, China"
    doc = document("cncn.pdf", text=FRONT_TEXT + "\n" + unmatched)  # printed: its country is counted
    store.add_document(doc)
    cncn = paper_id_for(doc.sha256)
    for meta, ext in [(LLM.model_copy(update={"reasks": 2}),
                       extraction(affs=[aff(0, unmatched, "CN"), aff(1, PEKING, "CN")], self_confidence=0.3)),
                      (RULES, extraction(affs=[aff(0, unmatched, "CN"), aff(1, PEKING, "CN")]))]:
        store.save_extraction(doc.sha256, meta, f"{meta.backend}|test", ext)
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


def _table(store: Store) -> list[dict]:
    """Every record with its signals' scores, read straight from SQLite (the tests' own oracle)."""
    cur = store.db.execute(
        """SELECT r.paper_id, r.status, r.audit, r.reviewer, r.venue, r.countries, r.data, r.priority, r.confidence,
                  s.priority AS s_priority, s.p_wrong AS s_p_wrong, s.audit_u
           FROM records r LEFT JOIN review_signals s USING (paper_id)""")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def _documented_order(store: Store, audit: bool | None, statuses: tuple[str, ...] = ("queued",),
                      reviewer: str | None = None) -> list[str]:
    """The queue order as documented, by brute force: audit items by (u, paper id), the rest by
    (priority, highest first; a missing one last), then confidence (missing = 1), then paper id."""
    rows = [r for r in _table(store)
            if (r["status"] in statuses or (reviewer and r["status"] == "in_review" and r["reviewer"] == reviewer))
            and (audit is None or bool(r["audit"]) == audit)]
    if audit:
        return [r["paper_id"] for r in sorted(rows, key=lambda r: (1 if r["audit_u"] is None else r["audit_u"],
                                                                    r["paper_id"]))]
    return [r["paper_id"] for r in sorted(rows, key=lambda r: (
        math.inf if r["priority"] is None else -r["priority"], 1 if r["confidence"] is None else r["confidence"],
        r["paper_id"]))]


def test_keyset_pages_keep_the_documented_order(store: Store) -> None:
    _routed(store)
    for audit in (None, False, True):
        expected = _documented_order(store, audit)
        assert expected, audit
        assert [i.paper_id for i in queue_head(store, n=len(expected) + 5, audit=audit)] == expected
        assert [i.paper_id for i in queue_head(store, n=3, audit=audit)] == expected[:3]
        for batch in (1, 2, 3, 500):
            assert [r["paper_id"] for r in store.queue_rows(None, ["queued"], audit, batch=batch)] == expected
    audit_ids = _documented_order(store, True)
    with store.write():  # an audit record without a draw (u counts as 1) comes after the drawn ones
        store.db.execute("UPDATE review_signals SET audit_u = NULL WHERE paper_id = ?", [audit_ids[0]])
    expected = _documented_order(store, True)
    assert expected[-1] == audit_ids[0]
    for batch in (1, 2, 500):
        assert [r["paper_id"] for r in store.queue_rows(None, ["queued"], True, batch=batch)] == expected


def test_keyset_pages_across_ties(store: Store) -> None:
    """Many records with equal priority and confidence: every page boundary inside a tie group."""
    _routed(store, n_ok=14, n_bad=2)
    ids = sorted(r["paper_id"] for r in _table(store))
    with store.write():  # three priority groups, two confidence groups each, all queued
        for i, pid in enumerate(ids):
            store.db.execute("UPDATE records SET status = 'queued', priority = ?, confidence = ? WHERE paper_id = ?",
                             [[0.5, 0.25, 0.0][i % 3], [0.9, None][i % 2], pid])
            store.db.execute("UPDATE review_signals SET priority = NULL, p_wrong = NULL WHERE paper_id = ?", [pid])
    expected = _documented_order(store, None)
    assert len(expected) == len(ids)
    assert expected[:2] != sorted(expected[:2]) or expected != sorted(expected), "the order is not just by id"
    for batch in (1, 2, 4, 5, 7, 100):
        got = [r["paper_id"] for r in store.queue_rows(None, ["queued"], None, batch=batch)]
        assert got == expected, batch
    assert [i.paper_id for i in queue_head(store, n=len(ids))] == expected


def test_reviewer_filter_merges_in_review_records_in_order(store: Store) -> None:
    _routed(store)
    held = next_record(store, "ana", audit=None, claim=True)
    assert held is not None
    queued = _documented_order(store, None, ("queued",))
    with_ana = [i.paper_id for i in queue_head(store, n=100, filters=QueueFilter(reviewer="ana"))]
    brute = _documented_order(store, None, ("queued",), reviewer="ana")
    assert with_ana == brute and held.paper_id in with_ana and set(with_ana) == set(queued) | {held.paper_id}
    rows = list(store.queue_rows(QueueFilter(reviewer="ana"), ["queued"], None, batch=2))
    assert [r["paper_id"] for r in rows] == brute
    assert held.paper_id not in {i.paper_id for i in queue_head(store, n=100, filters=QueueFilter(reviewer="ben"))}


def test_next_record_pages_past_skipped_and_claimed_records(store: Store) -> None:
    _routed(store)
    order = _documented_order(store, False)
    assert len(order) >= 3
    assert next_record(store, "cem", skip_ids=order[:-1]).paper_id == order[-1]
    assert next_record(store, "cem", skip_ids=order) is None
    claimed = [next_record(store, f"r{i}", claim=True).paper_id for i in range(len(order))]
    assert claimed == order, "claims are handed out in queue order, each once"
    assert next_record(store, "zed", claim=True) is None
    audit_order = _documented_order(store, True)
    assert [next_record(store, f"a{i}", audit=True, claim=True).paper_id for i in range(len(audit_order))] == audit_order
    assert next_record(store, "a1", audit=True).paper_id == audit_order[1], "a reviewer resumes their audit record"
    assert next_record(store, "a1", audit=True, skip_ids=[audit_order[1]]) is None


def _counts_brute(store: Store, f: QueueFilter | None) -> dict:
    f = f or QueueFilter()
    by_status, by_reason, audit = Counter(), Counter(), Counter()
    remaining = 0.0
    for row in _table(store):
        codes = {r["code"] for r in json.loads(row["data"]).get("review_reasons", [])}
        if ((f.venue and (row["venue"] or "").lower() != f.venue.lower()) or (f.reason and f.reason not in codes)
                or (f.country and f",{f.country.upper()}," not in row["countries"])):
            continue
        st = row["status"]
        by_status[st] += 1
        if st in ("queued", "in_review"):
            by_reason.update(codes)
            if not row["audit"]:
                remaining += next((p for p in (row["s_priority"], row["priority"]) if p is not None), 0.0)
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
    assert queue_counts(store, QueueFilter(venue="nowhere"))["by_status"] == {}


def test_route_in_small_chunks_gives_the_same_result(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    agreeing(store, 25)
    for i in range(5):
        disagreeing(store, f"d{i}.pdf")
    run_reconcile(store, route=False)
    settings = Settings(confidence_threshold=0.95, audit_fraction=0.1, audit_min=3, seed=8)
    monkeypatch.setattr(routing, "ROUTE_CHUNK", 2)
    small = route(store, settings)
    state = {r.paper_id: (r.status, r.audit, r.priority, r.confidence, r.version) for r in store.iter_records()}
    monkeypatch.setattr(routing, "ROUTE_CHUNK", 1000)
    again = route(store, settings)
    assert again.changed == 0
    assert {r.paper_id: (r.status, r.audit, r.priority, r.confidence, r.version) for r in store.iter_records()} == state
    for k in ("routed", "queued", "machine", "audit", "audit_target", "audit_frame", "human", "no_signals"):
        assert getattr(small, k) == getattr(again, k), k
    assert small.routed == 30 and small.changed > 0 and store.verify_log() == []


# --------------------------------------------------------------------------- routing only what changed


INC = Settings(confidence_threshold=0.95, audit_fraction=0.1, audit_min=2, seed=7)


def _route_batch(store: Store, settings: Settings = INC) -> routing.RouteSummary:
    """Reconcile what is new without routing, then route only the records reconcile wrote."""
    rec = run_reconcile(store, settings=settings, confidence_threshold=settings.confidence_threshold, route=False)
    return route(store, settings, paper_ids=rec.paper_ids)


def _copy(store: Store, store_factory, path: Path) -> Store:
    dst = sqlite3.connect(path)
    store.db.conn.backup(dst)
    dst.close()
    return store_factory(path)


def _routing_state(store: Store) -> dict:
    """Everything routing decides, per record and in total (timestamps left out)."""
    records = {r.paper_id: r.model_dump(mode="json") for r in store.iter_records()}
    cur = store.db.execute("SELECT paper_id, p_wrong, p_wrong_models, impact, priority, audit_u, audit, "
                           "audit_drawn_at IS NOT NULL FROM review_signals ORDER BY paper_id")
    meta = store.review_meta()
    return {"records": records, "signals": cur.fetchall(),
            "meta": {k: meta.get(k) for k in ("audit_frame", "audit_target", "audit_boundary", "prior")}}


def _assert_same_as_full_route(store: Store, store_factory, path: Path) -> None:
    """A full route of a copy of the database changes nothing: the incremental route got it all right."""
    before = _routing_state(store)
    with _copy(store, store_factory, path) as copy:
        full = route(copy, INC)
        assert not full.incremental and full.changed == 0, full
        assert _routing_state(copy) == before
        assert copy.audit_frame_size() == full.audit_frame == before["meta"]["audit_frame"]
        assert copy.verify_log() == []


def _frame_members(store: Store) -> tuple[list[str], set[str]]:
    """(the frame's records, by draw; the records people hold with an audit mark), from the records.

    A doubtful record (two readings give different country sets) is queued whatever its
    confidence and is never in the frame."""
    doubtful = {row["paper_id"] for row in store.review_signal_rows()
                if json.loads(row["features"] or "{}").get(routing.DOUBT)}
    frame, held = [], set()
    for r in store.iter_records():
        if r.status.value in ("machine", "queued") and (r.confidence or 0) >= INC.confidence_threshold \
                and r.paper_id not in doubtful:
            frame.append(r.paper_id)
        elif r.audit and r.status.value in ("in_review", "verified"):
            frame.append(r.paper_id)
            held.add(r.paper_id)
    return sorted(frame, key=lambda p: audit_u(INC.seed, p)), held


def test_routing_a_batch_gives_what_routing_everything_gives(store: Store, store_factory, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(routing, "PRIOR_REFRESH_SHARE", 0.5)  # keep the prior, so batches stay incremental
    agreeing(store, 40, prefix="a")
    bad = [disagreeing(store, f"bad{i}.pdf") for i in range(6)]
    first = _route_batch(store)
    assert not first.incremental, "no earlier state: the first route is a full one"
    copies = iter(tmp_path / f"copy{i}.db" for i in range(20))
    _assert_same_as_full_route(store, store_factory, next(copies))

    # A batch of new confident papers: the frame grows, k grows, the end of the sample moves.
    agreeing(store, 12, prefix="b")
    s = _route_batch(store)
    assert s.incremental and s.audit_frame == 52 and s.audit_target == 6
    assert s.routed <= 12 + 6, "the batch and the records the end of the sample moved past"
    _assert_same_as_full_route(store, store_factory, next(copies))

    # People: an audit record verified, one rejected (it leaves the frame), a confident record
    # corrected (it leaves the frame), one released back to the queue, and a disagreeing record
    # verified and then flagged back into the queue.
    ana = next_record(store, "ana", audit=True, claim=True)
    store.save_record(ana.model_copy(update={"status": RecordStatus.VERIFIED}), expected_version=ana.version,
                      action="approve", actor="ana")
    ben = next_record(store, "ben", audit=True, claim=True)
    store.save_record(ben.model_copy(update={"status": RecordStatus.REJECTED}), expected_version=ben.version,
                      action="reject", actor="ben")
    confident = next(r for r in store.iter_records(["machine"]))
    store.save_record(confident.model_copy(update={"status": RecordStatus.VERIFIED}),
                      expected_version=confident.version, action="correct", actor="cem")
    cem = next_record(store, "cem", audit=True, claim=True)
    released = store.save_record(cem.model_copy(update={"status": RecordStatus.QUEUED}),
                                 expected_version=cem.version, action="release", actor="cem")
    assert released.audit
    doubt = store.get_record(bad[0])
    done = store.save_record(doubt.model_copy(update={"status": RecordStatus.VERIFIED}),
                             expected_version=doubt.version, action="approve", actor="dee")
    store.save_record(done.model_copy(update={"status": RecordStatus.QUEUED}), expected_version=done.version,
                      action="flag", actor="dee")
    s = route(store, INC, paper_ids=[])
    assert s.incremental and s.audit_frame == 52 - 2
    _assert_same_as_full_route(store, store_factory, next(copies))

    # A reconcile batch that moves records across the confidence threshold, both ways.
    sinking = next(r.paper_id for r in store.iter_records(["machine"]))
    rising = bad[1]
    store.save_extraction(store.get_record(sinking).sha256, RULES, "rules|test",
                          extraction(affs=[aff(0, STANFORD, "US"), aff(1, TSINGHUA, "JP")]))
    store.save_extraction(store.get_record(rising).sha256, RULES, "rules|test", extraction())
    agreeing(store, 3, prefix="c")
    s = _route_batch(store)
    assert s.incremental
    assert store.get_record(sinking).status == RecordStatus.QUEUED and not store.get_record(sinking).audit
    assert (store.get_record(rising).confidence or 0) >= INC.confidence_threshold
    _assert_same_as_full_route(store, store_factory, next(copies))

    frame, held = _frame_members(store)
    k = routing.audit_target(len(frame), INC.audit_fraction, INC.audit_min)
    marked = {r.paper_id for r in store.iter_records() if r.audit and r.status != RecordStatus.REJECTED}
    assert marked == set(frame[:k]) | held, "still the k smallest draws of the frame, and what people hold"
    assert ben.paper_id in audit_design(store)["members"], "a rejected audit item keeps its mark"
    assert store.verify_log() == []


def test_shrinking_frame_moves_the_end_of_the_sample_back(store: Store, store_factory, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(routing, "PRIOR_REFRESH_SHARE", 1.0)
    ids = agreeing(store, 60)
    _route_batch(store)
    before = audit_design(store)
    assert before["target"] == 6
    # Eleven confident records leave the frame (corrected by a person): k falls from 6 to 5, and
    # records between the new and the old end of the sample leave it.
    for pid in [p for p in ids if p not in before["members"]][:11]:
        r = store.get_record(pid)
        store.save_record(r.model_copy(update={"status": RecordStatus.VERIFIED}), expected_version=r.version,
                          action="correct", actor="ana")
    s = route(store, INC, paper_ids=[])
    assert s.incremental and (s.audit_frame, s.audit_target) == (49, 5)
    after = audit_design(store)["members"]
    assert len(after) == 5 and set(after) < set(before["members"])
    _assert_same_as_full_route(store, store_factory, tmp_path / "copy.db")


def test_what_changes_every_record_makes_it_a_full_route(store: Store) -> None:
    agreeing(store, 20)
    disagreeing(store, "d.pdf")
    _route_batch(store)
    assert route(store, INC, paper_ids=[]).incremental
    assert not route(store, INC.model_copy(update={"seed": 8}), paper_ids=[]).incremental
    assert not route(store, INC, paper_ids=[], pair=("US", "DE")).incremental
    assert route(store, INC, paper_ids=[], pair=("US", "DE")).incremental, "the new pair is the state now"
    conf.save_model(store, conf.LogisticModel(target=conf.COUNTRY, intercept=0.5, coef={}, source="fit"))
    assert not route(store, INC, paper_ids=[]).incremental, "a new calibrated model"
    agreeing(store, 3, prefix="new")  # 3 rebuilt > 10% of the 21 records the prior was taken over
    assert not _route_batch(store).incremental
    assert store.review_meta()["prior_changes"] == 0 and store.review_meta()["prior_records"] == 24


def test_a_route_that_stopped_half_way_is_followed_by_a_full_one(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    agreeing(store, 20)
    _route_batch(store)

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    conf.save_model(store, conf.LogisticModel(target=conf.COUNTRY, intercept=0.5, coef={}, source="fit"))
    monkeypatch.setattr(store, "set_routing", stop)
    with pytest.raises(KeyboardInterrupt):
        route(store, INC)
    monkeypatch.undo()
    assert store.review_meta()["routed_log_id"] is None
    s = route(store, INC, paper_ids=[])
    assert not s.incremental and s.routed == 20
    assert route(store, INC, paper_ids=[]).incremental
