"""Counts of papers with honest intervals, for any yes/no property of a paper.

A statistic is a function from a :class:`~.population.View` to the set of keys the paper
counts for (``{"pair"}``, a set of countries, a set of (family, country) cells, ...). A
:class:`Tally` fed the papers one at a time keeps, per key, the sums the estimator needs
(verified labels, machine labels of unreviewed and pending records, and the audit's 2x2
disagreement cells) and nothing per paper, and :func:`finish` turns each into an
:class:`Estimate` via :func:`extractor.aggregate.intervals.ppi_total`. Counting every key
in one pass keeps a country-pair matrix or a family × country table as cheap as a single
share, and a million papers as cheap in memory as a hundred.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from extractor.aggregate.intervals import AuditCounts, ppi_total
from extractor.aggregate.policy import CountingPolicy
from extractor.aggregate.population import Population, Stratum, Unit, View

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
Keys = Mapping[str, frozenset[Hashable]]


class _KeyCounts:
    """Per key of one statistic: how many papers count for it, split as the estimator needs.

    Plain dicts counted in a loop: a paper adds a handful of keys, where ``Counter.update``
    would spend more on its argument checks than on the counting.
    """

    __slots__ = ("added", "known", "missed", "pending_predicted", "predicted", "reviewed_machine")

    def __init__(self) -> None:
        self.reviewed_machine: dict[Hashable, int] = {}  # machine label, verified and audited records
        self.known: dict[Hashable, int] = {}  # person's label, verified and audited records
        self.predicted: dict[Hashable, int] = {}  # machine label, unreviewed frame records
        self.pending_predicted: dict[Hashable, int] = {}  # machine label, pending records
        self.missed: dict[Hashable, int] = {}  # audit: person yes, machine no
        self.added: dict[Hashable, int] = {}  # audit: person no, machine yes

    def machine(self, key: Hashable) -> int:
        """Papers whose machine reading counts for ``key``, in every stratum."""
        return self.reviewed_machine.get(key, 0) + self.predicted.get(key, 0) + self.pending_predicted.get(key, 0)


def _count(counts: dict[Hashable, int], keys: Iterable[Hashable]) -> None:
    for key in keys:
        counts[key] = counts.get(key, 0) + 1


_NONE: frozenset[Hashable] = frozenset()


class Tally:
    """The sums behind :class:`Estimate` for named statistics, over papers fed one at a time.

    Per statistic and key it keeps six counts, and per set of papers five design counts,
    whatever the number of papers: a million records cost the same memory as a hundred.
    Feed units with :meth:`add` (or keys already computed with :meth:`add_keys`, to share
    them between tallies) and read :meth:`estimates` at the end.
    """

    def __init__(self, statistics: Mapping[str, KeysOf]) -> None:
        self.statistics = dict(statistics)
        self.size = self.known = self.audited = self.unreviewed = self.pending = 0
        self._counts = {name: _KeyCounts() for name in self.statistics}

    def keys(self, view: View, statistics: Mapping[str, KeysOf] | None = None) -> dict[str, frozenset[Hashable]]:
        """The keys a reading counts for, per statistic (those with none are left out)."""
        out = {}
        for name, keys_of in (statistics or self.statistics).items():
            found = frozenset(keys_of(view))
            if found:
                out[name] = found
        return out

    def add(self, unit: Unit) -> None:
        machine = self.keys(unit.machine)
        self.add_keys(unit.stratum, machine, self.keys(unit.human) if unit.human else None)

    def add_keys(self, stratum: Stratum, machine: Keys, human: Keys | None) -> None:
        """One paper, given the keys its machine and human (None: no person) readings count for.

        ``machine`` and ``human`` map a statistic to its keys; a statistic that is absent
        has none, and statistics this tally does not count are ignored.
        """
        self.size += 1
        counts = self._counts
        if stratum == Stratum.UNREVIEWED:
            self.unreviewed += 1
            for name, keys in machine.items():
                c = counts.get(name)
                if c is not None:
                    d = c.predicted
                    for key in keys:
                        d[key] = d.get(key, 0) + 1
        elif stratum == Stratum.PENDING:
            self.pending += 1
            for name, keys in machine.items():
                c = counts.get(name)
                if c is not None:
                    d = c.pending_predicted
                    for key in keys:
                        d[key] = d.get(key, 0) + 1
        else:
            self.known += 1
            audited = stratum == Stratum.AUDITED
            self.audited += audited
            for name, c in counts.items():
                mk = machine.get(name, _NONE)
                hk = mk if human is None else human.get(name, _NONE)
                _count(c.reviewed_machine, mk)
                _count(c.known, hk)
                if audited and hk != mk:
                    _count(c.missed, hk - mk)
                    _count(c.added, mk - hk)

    def estimates(self, name: str, policy: CountingPolicy,
                  include: Iterable[Hashable] = ()) -> dict[Hashable, Estimate]:
        """One :class:`Estimate` per key any reading of any paper produced (plus ``include``)."""
        c = self._counts[name]
        design = _Design(self.size, self.known, self.audited, self.unreviewed, self.pending,
                         policy.statuses == "verified", policy.confidence)
        keys = dict.fromkeys(include)
        for counts in (c.reviewed_machine, c.predicted, c.pending_predicted, c.known):
            keys.update(dict.fromkeys(counts))
        return {key: finish(_Sums(known=c.known.get(key, 0), predicted=c.predicted.get(key, 0),
                                  pending_predicted=c.pending_predicted.get(key, 0), missed=c.missed.get(key, 0),
                                  added=c.added.get(key, 0), machine=c.machine(key)), design)
                for key in keys}


def estimate_keys(pop: Population, keys_of: KeysOf, *, include: Iterable[Hashable] = ()) -> dict[Hashable, Estimate]:
    """One :class:`Estimate` per key any reading of any paper produced (plus ``include``)."""
    tally = Tally({"keys": keys_of})
    for unit in pop.units:
        tally.add(unit)
    return tally.estimates("keys", pop.policy, include)


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
