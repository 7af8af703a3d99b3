"""Counts of papers with honest intervals, for any yes/no property of a paper.

A statistic is a function from a :class:`~.population.View` to the set of keys the paper
counts for (``{"pair"}``, a set of countries, a set of (family, country) cells, ...). One
pass over the population fills, per key, the sums the estimator needs (verified labels,
machine labels of unreviewed and pending records, and the audit's 2x2 disagreement
cells), and :func:`finish` turns each into an :class:`Estimate` via
:func:`extractor.intervals.ppi_total`. Counting every key in one pass keeps a country-pair
matrix or a family × country table as cheap as a single share.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ..intervals import AuditCounts, ppi_total
from .population import Population, Stratum, View

Method = Literal["exact", "ppi", "bounds", "machine-only", "verified-subset"]

#: What each method means, for legends in reports and data cards.
METHOD_NOTES: dict[str, str] = {
    "exact": "every counted record was verified by a person; no estimation",
    "ppi": "prediction-powered estimate: machine labels corrected by the uniform audit sample",
    "bounds": "verified records exact; records still waiting in the review queue taken at their worst case",
    "machine-only": "NO AUDIT YET: machine labels as extracted, no correction and no interval",
    "verified-subset": "counted over human-verified records only (not a random sample of the corpus)",
}


@dataclass(frozen=True)
class Estimate:
    """An estimated number of papers out of ``population``, with its interval."""

    count: float
    population: int
    lo: float | None  # interval on the count; None when there is no honest interval
    hi: float | None
    method: Method
    uncorrected: int  # the database as it stands: human labels where verified, else machine
    machine: int  # the machine's labels alone, on every counted record
    known: int  # records whose label a person gave (verified + audited)
    audited: int
    missed: int  # audit: person yes, machine no
    added: int  # audit: person no, machine yes
    unreviewed: int
    pending: int
    confidence: float = 0.95
    notes: tuple[str, ...] = field(default=())

    @property
    def share(self) -> float:
        return self.count / self.population if self.population else 0.0

    @property
    def share_lo(self) -> float | None:
        return None if self.lo is None or not self.population else self.lo / self.population

    @property
    def share_hi(self) -> float | None:
        return None if self.hi is None or not self.population else self.hi / self.population

    @property
    def has_interval(self) -> bool:
        return self.lo is not None

    def text(self, *, as_share: bool = True) -> str:
        """``5.6% (95% CI 4.1–7.3%; 50.0 of 892)`` or a plainly labelled machine-only figure."""
        if not self.population:
            return "no papers counted under this policy"
        if as_share:
            main = f"{self.share:.1%}"
            rng = (f"{self.share_lo:.1%}–{self.share_hi:.1%}" if self.has_interval else "")
        else:
            main = f"{self.count:,.0f}"
            rng = f"{self.lo:,.0f}–{self.hi:,.0f}" if self.has_interval else ""
        of = f"{self.count:,.1f} of {self.population:,} papers" if self.method == "ppi" else f"{self.count:,.0f} of {self.population:,} papers"
        if self.method == "machine-only":
            return f"{main} ({of}; machine-only: no audit reviewed yet, no interval)"
        if self.method == "verified-subset":
            return f"{main} ({of}; verified records only, exact for that subset)"
        if self.method == "exact":
            return f"{main} ({of}; exact, all records verified)"
        if self.method == "bounds":
            return f"{main} ({of}; between {rng} until {self.pending} queued record(s) are reviewed)"
        return f"{main} ({self.confidence:.0%} CI {rng}; {of}; {self.method})"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(share=self.share, share_lo=self.share_lo, share_hi=self.share_hi, notes=list(self.notes))
        return data


@dataclass
class _Sums:
    known: int = 0
    predicted: int = 0  # machine yes among unreviewed frame records
    pending_predicted: int = 0
    missed: int = 0
    added: int = 0
    machine: int = 0


KeysOf = Callable[[View], Iterable[Hashable]]


def estimate_keys(pop: Population, keys_of: KeysOf, *, include: Iterable[Hashable] = ()) -> dict[Hashable, Estimate]:
    """One :class:`Estimate` per key any reading of any paper produced (plus ``include``)."""
    sums: dict[Hashable, _Sums] = defaultdict(_Sums)
    for key in include:
        sums[key]  # noqa: B018 - make sure it is reported even at zero
    n_audit = m = q = known = 0
    for unit in pop.units:
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
    design = _Design(pop.size, known, n_audit, m, q, pop.policy.statuses == "verified", pop.policy.confidence)
    return {key: finish(s, design) for key, s in sums.items()}


def estimate_one(pop: Population, has: Callable[[View], bool]) -> Estimate:
    """A single yes/no statistic (e.g. "has both US and CN authors")."""
    return estimate_keys(pop, lambda v: (True,) if has(v) else (), include=(True,))[True]


@dataclass(frozen=True)
class _Design:
    population: int
    known: int
    audited: int
    unreviewed: int
    pending: int
    verified_only: bool
    confidence: float


def finish(s: _Sums, d: _Design) -> Estimate:
    """Pick the method the review state allows and compute the count and interval."""
    uncorrected = s.known + s.predicted + s.pending_predicted
    common = dict(population=d.population, uncorrected=uncorrected, machine=s.machine, known=d.known,
                  audited=d.audited, missed=s.missed, added=s.added, unreviewed=d.unreviewed,
                  pending=d.pending, confidence=d.confidence)
    if d.verified_only:
        return Estimate(count=s.known, lo=s.known, hi=s.known, method="verified-subset", **common)
    if d.unreviewed == 0 and d.pending == 0:
        return Estimate(count=s.known, lo=s.known, hi=s.known, method="exact", **common)
    if d.unreviewed and d.audited == 0:
        return Estimate(count=uncorrected, lo=None, hi=None, method="machine-only", **common,
                        notes=("no audit record has been reviewed yet",))
    est = ppi_total(known=s.known, predicted=s.predicted, unreviewed=d.unreviewed,
                    audit=AuditCounts(d.audited, s.missed, s.added), pending_predicted=s.pending_predicted,
                    pending=d.pending, confidence=d.confidence)
    notes: list[str] = []
    if d.pending:
        notes.append(f"{d.pending} record(s) still in the review queue are taken at their worst case")
    if d.audited and d.audited < 30:
        notes.append(f"small audit ({d.audited} reviewed): the interval is wide by design")
    method: Method = "ppi" if d.unreviewed else "bounds"
    return Estimate(count=est.total, lo=est.lo, hi=est.hi, method=method, notes=tuple(notes), **common)
