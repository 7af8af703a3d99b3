"""Confidence intervals for the numbers collabscope publishes.

Floor 1: pure arithmetic, imports nothing of ours and no numerical library, so the
formulas can be read and checked against a textbook in one place.

Three tools:

* :func:`wilson` and :func:`clopper_pearson` for a plain proportion, e.g. the machine's
  error rate on the uniform audit sample (k errors in n audited records).
* :func:`ppi_total` for a *count of papers* (and so a share) when only some records were
  checked by a person. It is prediction-powered inference (Angelopoulos et al., Science
  2023) for a finite population, stratified the way the review workflow works:

      T̂ = Σ_known Y  +  Σ_unreviewed Ŷ  +  m · mean_audit(Y − Ŷ)

  with Y the human label, Ŷ the machine label, ``m`` the unreviewed records of the audit
  frame. The rectifier ``mean_audit(Y − Ŷ)`` is the mean of a paired difference of two
  binary labels on the same audited papers, so its interval is the matched-pairs
  "Wald+2" interval of Agresti & Min (Statistics in Medicine 2005: add 0.5 to each cell
  of the 2x2 agreement table). Plain Wald would give a zero-width interval whenever the
  audit happens to contain no disagreement, which is common for rare statistics such as
  a US–China pair share; the simulation in ``benchmarks/sim_coverage.py`` shows it then
  under-covers badly. docs/AGGREGATES.md derives the estimator and its variance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

Adjust = Literal["agresti-min", "wald"]


def z_value(confidence: float = 0.95) -> float:
    """Two-sided normal quantile (1.959964 for 95%)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


# --------------------------------------------------------------------------- proportions


def wilson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials (Wilson 1927).

    Preferred over Wald for small n or rare events: it never collapses to zero width at
    k = 0 and never leaves [0, 1].
    """
    _check_counts(k, n)
    if n == 0:
        return (0.0, 1.0)
    z = z_value(confidence)
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (max(0.0, centre - half), min(1.0, centre + half))


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper–Pearson 1934) interval: guaranteed coverage, somewhat conservative."""
    _check_counts(k, n)
    if n == 0:
        return (0.0, 1.0)
    alpha = 1.0 - confidence
    # P(X >= k | p) = I_p(k, n-k+1); P(X <= k | p) = 1 - I_p(k+1, n-k).
    lo = 0.0 if k == 0 else _solve(lambda p: betainc(k, n - k + 1, p) - alpha / 2)
    hi = 1.0 if k == n else _solve(lambda p: (1.0 - betainc(k + 1, n - k, p)) - alpha / 2, increasing=False)
    return (lo, hi)


def _check_counts(k: int, n: int) -> None:
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")


def _solve(f, increasing: bool = True, lo: float = 0.0, hi: float = 1.0) -> float:  # type: ignore[no-untyped-def]
    """Root of a monotone function on [0, 1] by bisection (60 steps: below 1e-15)."""
    for _ in range(60):
        mid = (lo + hi) / 2
        if (f(mid) < 0) == increasing:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b) by Lentz's continued fraction.

    Only Clopper–Pearson needs it; a dozen lines here spare the project a scipy
    dependency. Accurate to ~1e-14 for the integer arguments binomial tails use.
    """
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _beta_cf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_cf(b, a, 1.0 - x) / b


def _beta_cf(a: float, b: float, x: float) -> float:
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        for num in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


# --------------------------------------------------------------------------- PPI


@dataclass(frozen=True)
class AuditCounts:
    """The 2x2 agreement table of one yes/no statistic on the reviewed audit sample.

    Only the two disagreement cells matter for the rectifier: ``missed`` (person says
    yes, machine said no) and ``added`` (person says no, machine said yes).
    """

    n: int
    missed: int = 0
    added: int = 0

    def __post_init__(self) -> None:
        if self.n < 0 or self.missed < 0 or self.added < 0 or self.missed + self.added > self.n:
            raise ValueError(f"impossible audit counts {self}")

    @property
    def rectifier(self) -> float:
        """mean(Y − Ŷ) over the audit sample: the machine's net bias on this statistic."""
        return (self.missed - self.added) / self.n if self.n else 0.0


@dataclass(frozen=True)
class TotalEstimate:
    """An estimated count of papers with its interval (counts, not shares)."""

    total: float
    lo: float
    hi: float
    se: float


def rectifier_interval_terms(audit: AuditCounts, adjust: Adjust = "agresti-min") -> tuple[float, float]:
    """(centre, variance of one draw of Y − Ŷ) for the rectifier, adjusted or plain.

    ``agresti-min`` adds 0.5 to each cell of the audit's 2x2 table (so n + 2) and uses the
    matched-pairs Wald variance p₊ + p₋ − (p₊ − p₋)²; ``wald`` is the textbook sample
    variance with the n − 1 denominator.
    """
    n, b, c = audit.n, audit.missed, audit.added
    if adjust == "agresti-min":
        nt = n + 2
        pb, pc = (b + 0.5) / nt, (c + 0.5) / nt
        return pb - pc, pb + pc - (pb - pc) ** 2
    if adjust == "wald":
        if n < 2:
            return audit.rectifier, 1.0  # no variance estimate yet: the largest a {-1, 0, 1} value can have
        mean = audit.rectifier
        return mean, max(0.0, (b + c - n * mean * mean) / (n - 1))
    raise ValueError(f"unknown adjustment {adjust!r}")


def ppi_total(
    *,
    known: float,
    predicted: float,
    unreviewed: int,
    audit: AuditCounts,
    pending_predicted: float = 0.0,
    pending: int = 0,
    confidence: float = 0.95,
    adjust: Adjust = "agresti-min",
) -> TotalEstimate:
    """Prediction-powered estimate of a finite-population count of papers.

    Args:
        known: Σ Y over records a person verified (the audit ones included).
        predicted: Σ Ŷ over the ``unreviewed`` records of the audit frame.
        unreviewed: m, how many records of the audit frame nobody has reviewed.
        audit: agreement counts on the reviewed audit sample (a uniform sample of the frame).
        pending_predicted, pending: Σ Ŷ and count of records outside the audit frame
            that are still waiting in the review queue. Nothing random speaks for them,
            so the interval takes the worst case (each may be yes or no).
        confidence: two-sided level.
        adjust: ``agresti-min`` (default) or ``wald`` (for the coverage benchmark).

    Returns:
        The point estimate ``known + predicted + m·r̄ + pending_predicted`` (r̄ the plain
        audit mean of Y − Ŷ, so a complete audit gives the exact count), and an interval
        centred on the adjusted rectifier with variance ``(m²/n' + m)·s²``: the first
        term is the uncertainty of the audit mean, the second the finite-population
        sampling variance of the m unseen labels around it. The interval is clipped to
        the logically possible range [known, known + m + pending].
    """
    if unreviewed < 0 or pending < 0:
        raise ValueError("record counts cannot be negative")
    m = unreviewed
    base = known + predicted
    if audit.n == 0:
        if m:
            raise ValueError("no reviewed audit records: a PPI interval is not defined (report machine-only)")
        centre_r, var1, n_eff = 0.0, 0.0, 1
    else:
        centre_r, var1 = rectifier_interval_terms(audit, adjust)
        n_eff = audit.n + 2 if adjust == "agresti-min" else audit.n
    total = base + m * audit.rectifier + pending_predicted
    variance = (m * m / n_eff + m) * var1 if m else 0.0
    se = math.sqrt(variance)
    z = z_value(confidence)
    centre = base + m * centre_r + pending_predicted
    lo = centre - z * se - pending_predicted
    hi = centre + z * se + (pending - pending_predicted)
    floor, ceiling = known, known + m + pending
    lo, hi = max(floor, lo), min(ceiling, hi)
    return TotalEstimate(total=min(max(total, floor), ceiling), lo=min(lo, total), hi=max(hi, total), se=se)
