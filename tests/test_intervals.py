"""Interval code against textbook values and closed forms."""

from __future__ import annotations

import math

import pytest

from extractor.aggregate.intervals import (
    AuditCounts,
    betainc,
    clopper_pearson,
    ppi_total,
    rectifier_interval,
    rectifier_interval_terms,
    tango_score,
    wilson,
    z_value,
)


def test_z_value() -> None:
    assert z_value(0.95) == pytest.approx(1.959964, abs=1e-6)
    with pytest.raises(ValueError):
        z_value(1.0)


@pytest.mark.parametrize(
    ("k", "n", "lo", "hi"),
    [
        pytest.param(5, 100, 0.0215, 0.1118, id="5-of-100"),
        pytest.param(81, 263, 0.2553, 0.3662, id="newcombe-81-of-263"),
        pytest.param(0, 10, 0.0, 0.2775, id="newcombe-0-of-10"),
    ],
)
def test_wilson_against_published_values(k: int, n: int, lo: float, hi: float) -> None:
    got = wilson(k, n)
    assert got == pytest.approx((lo, hi), abs=5e-5)


def test_clopper_pearson_against_published_and_closed_forms() -> None:
    assert clopper_pearson(5, 100) == pytest.approx((0.0164, 0.1128), abs=5e-5)
    # k = 0 and k = n have closed forms: 1 - (a/2)^(1/n) and (a/2)^(1/n).
    assert clopper_pearson(0, 50)[1] == pytest.approx(1 - 0.025 ** (1 / 50), rel=1e-9)
    assert clopper_pearson(50, 50)[0] == pytest.approx(0.025 ** (1 / 50), rel=1e-9)
    lo, hi = clopper_pearson(3, 7)
    assert lo < wilson(3, 7)[0] and hi > wilson(3, 7)[1]  # exact is the more conservative


def test_betainc_is_a_binomial_tail() -> None:
    # I_p(k, n-k+1) = P(Bin(n, p) >= k); Bin(4, 0.4) >= 2 = 1 - 0.6^4 - 4*0.4*0.6^3.
    assert betainc(2, 3, 0.4) == pytest.approx(1 - 0.6**4 - 4 * 0.4 * 0.6**3, rel=1e-12)
    assert betainc(30, 71, 0.3) == pytest.approx(
        sum(math.comb(100, i) * 0.3**i * 0.7 ** (100 - i) for i in range(30, 101)), rel=1e-10)


def test_bad_counts_are_refused() -> None:
    with pytest.raises(ValueError):
        wilson(3, 2)
    with pytest.raises(ValueError):
        AuditCounts(n=5, missed=4, added=2)


def test_agresti_min_matches_the_published_formula() -> None:
    # Agresti & Min (2005) "Wald+2": diff = (b-c)/(n+2), sd = sqrt((b+c+1) - (b-c)^2/(n+2)) / (n+2).
    n, b, c = 50, 3, 1
    centre, var1 = rectifier_interval_terms(AuditCounts(n, b, c))
    assert centre == pytest.approx((b - c) / (n + 2))
    assert math.sqrt(var1 / (n + 2)) == pytest.approx(math.sqrt((b + c + 1) - (b - c) ** 2 / (n + 2)) / (n + 2))


def test_wald_variance_is_the_sample_variance() -> None:
    # Y - Yhat over 20 audited papers: two +1, eighteen 0 -> mean 0.1, s^2 = 1.8 / 19.
    centre, var1 = rectifier_interval_terms(AuditCounts(20, 2, 0), "wald")
    assert centre == pytest.approx(0.1)
    assert var1 == pytest.approx(1.8 / 19)


def test_ppi_total_by_hand() -> None:
    # Adjusted-Wald variant, so the whole interval can be written out by hand.
    est = ppi_total(known=10, predicted=40, unreviewed=100, audit=AuditCounts(20, 2, 0), adjust="agresti-min")
    assert est.total == pytest.approx(10 + 40 + 100 * 0.1)
    pb, pc = 2.5 / 22, 0.5 / 22
    half = 1.959964 * 100 * math.sqrt((pb + pc - (pb - pc) ** 2) * (1 / 22 + 1 / 100))
    centre = 50 + 100 * (pb - pc)
    assert (est.lo, est.hi) == pytest.approx((centre - half, centre + half), abs=1e-3)
    # The reported standard error is the plain PPI one: m * sqrt(s^2 (1/n + 1/m)).
    assert est.se == pytest.approx(100 * math.sqrt(1.8 / 19 * (1 / 20 + 1 / 100)))


def test_tango_score_is_mcnemar_at_zero() -> None:
    assert tango_score(7, 2, 60, 0.0) == pytest.approx((7 - 2) / math.sqrt(7 + 2))
    assert tango_score(2, 7, 60, 0.1) == pytest.approx(-tango_score(7, 2, 60, -0.1))


def test_tango_uses_the_restricted_mle() -> None:
    # Maximise the trinomial likelihood under p(missed) - p(added) = delta by brute force.
    n, b, c, delta = 50, 4, 1, 0.02
    def loglik(q: float) -> float:
        return b * math.log(q + delta) + c * math.log(q) + (n - b - c) * math.log(1 - 2 * q - delta)
    q_best = max((i / 200000 for i in range(1, 98000)), key=loglik)
    expected = (b - c - n * delta) / math.sqrt(n * (2 * q_best + delta * (1 - delta)))
    assert tango_score(b, c, n, delta) == pytest.approx(expected, rel=1e-4)


def test_tango_interval_closed_form_with_no_disagreement() -> None:
    # b = c = 0: the upper bound solves n*d / (1 - d) = z^2, i.e. d = z^2 / (n + z^2).
    z2 = z_value() ** 2
    lo, hi = rectifier_interval(AuditCounts(50), unreviewed=10**12)
    assert hi == pytest.approx(z2 / (50 + z2), rel=1e-9) and lo == pytest.approx(-hi, rel=1e-9)


def test_tango_interval_is_asymmetric_and_inflated_for_unseen_records() -> None:
    lo, hi = rectifier_interval(AuditCounts(200, 3, 0), unreviewed=10**12)
    est = 3 / 200
    assert hi - est > est - lo > 0  # skewed away from zero
    lo2, hi2 = rectifier_interval(AuditCounts(200, 3, 0), unreviewed=200)  # as many unseen as audited
    assert lo2 < lo and hi2 > hi


def test_ppi_total_uses_the_score_interval() -> None:
    est = ppi_total(known=10, predicted=40, unreviewed=100, audit=AuditCounts(20, 2, 0))
    r_lo, r_hi = rectifier_interval(AuditCounts(20, 2, 0), 100)
    assert est.total == pytest.approx(60)
    assert (est.lo, est.hi) == pytest.approx((50 + 100 * r_lo, 50 + 100 * r_hi))


def test_full_audit_is_exact() -> None:
    est = ppi_total(known=37, predicted=0, unreviewed=0, audit=AuditCounts(200, 5, 1))
    assert est.total == est.lo == est.hi == 37 and est.se == 0


def test_pending_records_widen_to_the_worst_case() -> None:
    base = ppi_total(known=10, predicted=40, unreviewed=100, audit=AuditCounts(20, 2, 0))
    wide = ppi_total(known=10, predicted=40, unreviewed=100, audit=AuditCounts(20, 2, 0),
                     pending_predicted=3, pending=5)
    assert wide.total == pytest.approx(base.total + 3)
    assert wide.lo == pytest.approx(base.lo) and wide.hi == pytest.approx(base.hi + 5)


def test_interval_stays_in_the_possible_range() -> None:
    est = ppi_total(known=0, predicted=0, unreviewed=10, audit=AuditCounts(3, 0, 0))
    assert est.lo == 0 and est.hi <= 10


def test_no_audit_has_no_interval() -> None:
    with pytest.raises(ValueError, match="machine-only"):
        ppi_total(known=1, predicted=5, unreviewed=10, audit=AuditCounts(0))
