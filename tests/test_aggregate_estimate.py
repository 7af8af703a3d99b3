"""The review design on real databases: exact, prediction-powered, machine-only, bounds."""

from __future__ import annotations

import pytest

from extractor.aggregate import CountingPolicy, Stratum, load_population, pair_share, summarize
from extractor.schemas import RecordStatus
from tests.record_factory import add, paper, put, review

US_CN = [["US"], ["CN"]]
US = [["US"]]


def test_full_audit_gives_the_exact_answer(store) -> None:
    # The machine misses CN on two papers and invents it on one; every record is audited.
    for i in range(6):
        add(store, f"ok{i}", US_CN, audit=True, reviewed=True)
    add(store, "miss1", US, truth=US_CN, audit=True)
    add(store, "miss2", US, truth=US_CN, audit=True)
    add(store, "extra", US_CN, truth=US, audit=True)
    add(store, "plain", US, audit=True, reviewed=True)
    est = pair_share(load_population(store))
    assert est.method == "exact"
    assert est.count == est.lo == est.hi == 8
    assert est.machine == 7 and (est.missed, est.added) == (2, 1)


def test_no_audit_is_labelled_machine_only(store) -> None:
    for i in range(5):
        put(store, paper(f"m{i}", US_CN if i < 2 else US))
    est = pair_share(load_population(store))
    assert est.method == "machine-only"
    assert est.lo is None and est.share_lo is None
    assert est.count == 2
    assert "machine-only" in est.text() and "no interval" in est.text()


def _audit_corpus(store) -> None:
    """40 unreviewed machine records (8 US–CN), 10 audited (machine missed CN once)."""
    for i in range(40):
        put(store, paper(f"m{i:02d}", US_CN if i < 8 else US))
    for i in range(9):
        add(store, f"a{i}", US_CN if i < 2 else US, audit=True, reviewed=True)
    add(store, "a9", US, truth=US_CN, audit=True)


def test_ppi_estimate_is_the_textbook_formula(store) -> None:
    _audit_corpus(store)
    pop = load_population(store)
    assert pop.count(Stratum.AUDITED) == 10 and pop.count(Stratum.UNREVIEWED) == 40
    est = pair_share(pop)
    assert est.method == "ppi"
    # theta = mean(Yhat over all N) + mean(Y - Yhat over the audit) (Angelopoulos et al. 2023)
    yhat = (8 + 2) / 50
    rectifier = 1 / 10
    assert est.share == pytest.approx(yhat + rectifier)
    # ... which equals verified exactly + unreviewed corrected
    assert est.count == pytest.approx(3 + 8 + 40 * 0.1)
    assert est.lo < est.count < est.hi
    assert est.lo >= 3 and est.hi <= 43
    assert "95% CI" in est.text()


def test_verified_non_audit_records_are_known_and_stay_out_of_the_rectifier(store) -> None:
    _audit_corpus(store)
    # A priority-queue review that fixes a machine record: exact, not a rectifier sample.
    review(store, "m10", paper("m10", US_CN))
    est = pair_share(load_population(store))
    assert (est.audited, est.missed) == (10, 1)
    assert est.count == pytest.approx(4 + 8 + 39 * 0.1)


def test_pending_queue_records_take_the_worst_case(store) -> None:
    _audit_corpus(store)
    base = pair_share(load_population(store))
    put(store, paper("q1", US_CN, status=RecordStatus.QUEUED))
    put(store, paper("q2", US, status=RecordStatus.QUEUED))
    pop = load_population(store)
    est = pair_share(pop)
    assert est.pending == 2
    assert est.count == pytest.approx(base.count + 1)
    assert est.hi - est.lo > base.hi - base.lo + 1.5
    assert any("review queue" in n for n in est.notes)
    # If the audit was drawn from all records, queued ones are part of the frame instead.
    frame_all = pair_share(load_population(store, CountingPolicy(audit_frame="all")))
    assert frame_all.pending == 0 and frame_all.unreviewed == 42


def test_audit_records_not_yet_reviewed_count_as_unreviewed(store) -> None:
    _audit_corpus(store)
    put(store, paper("a-wait", US, audit=True, status=RecordStatus.QUEUED))
    pop = load_population(store)
    unit = next(u for u in pop.units if u.paper_id == "a-wait")
    assert unit.stratum == Stratum.UNREVIEWED
    assert summarize(pop).audit.waiting == 1


def test_rejected_audit_records_leave_the_sample(store) -> None:
    _audit_corpus(store)
    put(store, paper("junk", US, audit=True))
    review(store, "junk", status=RecordStatus.REJECTED)
    s = summarize(store)
    assert s.audit.rejected == 1 and s.audit.reviewed == 10 and s.papers == 50


def test_audit_error_rate_has_wilson_and_exact_intervals(store) -> None:
    _audit_corpus(store)
    audit = summarize(store).audit
    assert (audit.country_set.errors, audit.country_set.n) == (1, 10)
    lo, hi = audit.country_set.wilson
    assert lo < 0.1 < hi
    assert audit.country_set.clopper_pearson[1] > hi
    assert "1 of 10" in audit.country_set.text()


def test_everything_reviewed_but_no_audit_is_exact(store) -> None:
    add(store, "v1", US_CN, reviewed=True)
    add(store, "v2", US, truth=US_CN)
    est = pair_share(load_population(store))
    assert est.method == "exact" and est.count == 2


def test_only_pending_queue_records_left_gives_bounds(store) -> None:
    add(store, "v1", US_CN, reviewed=True)
    add(store, "v2", US, reviewed=True)
    put(store, paper("q", US_CN, status=RecordStatus.QUEUED))
    est = pair_share(load_population(store))
    assert est.method == "bounds"
    assert (est.count, est.lo, est.hi) == (2, 1, 2)
    assert "until 1 queued record(s) are reviewed" in est.text()
