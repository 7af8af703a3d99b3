"""Review progress, the audit error rate, and everything a report needs in one object.

The audit error rate is the plain proportion of reviewed audit records whose machine
reading was wrong (Wilson and Clopper–Pearson intervals): the figure a reader checks
first, because it says how much the unreviewed records should be trusted.

:func:`summarize` computes all of it in one pass over the records, a page at a time; the
report's list of papers is a :class:`PaperListing` that reads them again when iterated.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from extractor.aggregate.estimate import Estimate, Tally
from extractor.aggregate.intervals import clopper_pearson, wilson
from extractor.aggregate.policy import CountingPolicy
from extractor.aggregate.population import (
    ColumnViews,
    Population,
    Stratum,
    Unit,
    View,
    iter_units,
    status_tally,
    unit_of_columns,
    unit_of_record,
)
from extractor.aggregate.tables import (
    DEFAULT_PAIR,
    FLOW_STATISTICS,
    GroupRow,
    ModelFlows,
    country_keys,
    flows_of,
    group_rows,
    has_pair,
    international_keys,
    no_country_keys,
    pair_codes,
    pair_keys,
    ranked,
    ranked_pairs,
)
from extractor.schemas import PaperRecord
from extractor.store import Store


@dataclass(frozen=True)
class ErrorRate:
    """k errors in n audited records, with Wilson and Clopper–Pearson intervals."""

    what: str
    errors: int
    n: int
    wilson: tuple[float, float]
    clopper_pearson: tuple[float, float]

    @property
    def rate(self) -> float | None:
        return self.errors / self.n if self.n else None

    def text(self) -> str:
        if not self.n:
            return f"{self.what}: no audit record reviewed yet"
        lo, hi = self.wilson
        return f"{self.what}: {self.errors} of {self.n} ({self.rate:.1%}; 95% Wilson {lo:.1%}–{hi:.1%})"


def error_rate(what: str, errors: int, n: int, confidence: float = 0.95) -> ErrorRate:
    return ErrorRate(what, errors, n, wilson(errors, n, confidence), clopper_pearson(errors, n, confidence))


@dataclass(frozen=True)
class AuditSummary:
    drawn: int  # records flagged for the audit (any status)
    reviewed: int  # audit records a person verified: the sample the estimates use
    rejected: int  # audit records rejected as not a paper (left out of the sample)
    waiting: int  # audit records not reviewed yet
    country_set: ErrorRate  # paper's country set (any author, no grouping) differs
    model_set: ErrorRate  # paper's model-family set differs
    missed_country: int  # audited papers where the machine missed a country
    extra_country: int  # ... where it listed a country the person removed


class _AuditTally:
    """The audit's agreement counts, folded a unit at a time."""

    def __init__(self) -> None:
        self.reviewed = self.waiting = self.wrong_country = self.missed = self.extra = self.wrong_model = 0

    def add(self, u: Unit) -> None:
        if u.stratum == Stratum.AUDITED:
            h, mv = u.human or u.machine, u.machine
            self.reviewed += 1
            self.wrong_country += h.raw_countries != mv.raw_countries
            self.missed += bool(h.raw_countries - mv.raw_countries)
            self.extra += bool(mv.raw_countries - h.raw_countries)
            self.wrong_model += h.families != mv.families
        elif u.audit:
            self.waiting += 1

    def summary(self, drawn: int, rejected: int, confidence: float) -> AuditSummary:
        n = self.reviewed
        return AuditSummary(
            drawn=drawn, reviewed=n, rejected=rejected, waiting=self.waiting,
            country_set=error_rate("papers with a wrong country set", self.wrong_country, n, confidence),
            model_set=error_rate("papers with a wrong model-family set", self.wrong_model, n, confidence),
            missed_country=self.missed, extra_country=self.extra,
        )


def audit_summary(pop: Population) -> AuditSummary:
    tally = _AuditTally()
    for u in pop.units:
        tally.add(u)
    return tally.summary(pop.audit_drawn, pop.audit_rejected, pop.policy.confidence)


@dataclass(frozen=True)
class ReviewProgress:
    status_counts: dict[str, int]  # every record in the database, by status
    counted: int  # records in the population under the policy
    strata: dict[str, int]  # verified / audited / unreviewed / pending

    @property
    def reviewed_share(self) -> float:
        done = self.strata.get("verified", 0) + self.strata.get("audited", 0)
        return done / self.counted if self.counted else 0.0


def review_progress(pop: Population) -> ReviewProgress:
    return ReviewProgress(dict(pop.status_counts), pop.size, {s.value: pop.count(s) for s in Stratum})


# --------------------------------------------------------------------------- the papers a report lists


class PaperListing:
    """The counted papers in the report's order (venue, year, title, id), read when iterated.

    Holds no paper: each :meth:`units` call reads them again (from the store a page at a
    time, or from a population's units).
    """

    def __init__(self, size: int, units: Callable[[int | None, bool], Iterator[Unit]]) -> None:
        self._size = size
        self._units = units

    def __len__(self) -> int:
        return self._size

    def units(self, limit: int | None = None, *, records: bool = True) -> Iterator[Unit]:
        """The first ``limit`` papers (all of them with None), in listing order.

        With ``records`` each unit carries its validated record; without, only what an
        index of the papers shows (id, title, venue, year, stratum and the countries it
        counts for; no model mentions), read from the indexed columns where the policy
        allows, which is several times cheaper.
        """
        return self._units(limit, records)


def _listing_key(u: Unit) -> tuple[str, int, str, str]:
    r = u.record
    if r is None:
        raise ValueError(f"paper {u.paper_id} has no record loaded: summarize the store to list papers")
    return (r.venue or "", r.year or 0, (r.title or "").lower(), u.paper_id)


def store_listing(store: Store, policy: CountingPolicy, size: int, keep: set[str] | None = None) -> PaperListing:
    """The counted records of ``store`` (only ``keep`` paper ids, when given), streamed in listing order."""
    statuses = [s.value for s in policy.counted_statuses()]

    def units(limit: int | None, records: bool) -> Iterator[Unit]:
        views = None if records or policy.count_by != "any" else ColumnViews(policy)
        left = limit
        for page in store.listing_pages(statuses, content="record" if views is None else "columns"):
            if keep is not None:
                page = [row for row in page if row["paper_id"] in keep]
            machine = store.machine_versions([row["paper_id"] for row in page if row["version"] != 1])
            for row in page:
                if left is not None:
                    if left <= 0:
                        return
                    left -= 1
                before = machine.get(row["paper_id"])
                if views is not None:
                    yield unit_of_columns(row, views, before)
                else:
                    yield unit_of_record(PaperRecord.model_validate_json(row["content"]), policy, before)

    return PaperListing(size, units)


def population_listing(pop: Population) -> PaperListing:
    """A population's papers: read from its store when it has one, else sorted in memory."""
    if pop.store is not None:
        return store_listing(pop.store, pop.policy, pop.size, {u.paper_id for u in pop.units})
    return PaperListing(pop.size, lambda limit, _records: iter(sorted(pop.units, key=_listing_key)[:limit]))


# --------------------------------------------------------------------------- the summary


@dataclass
class Summary:
    """Every aggregate a report shows, computed once under one policy."""

    policy: CountingPolicy
    pair: tuple[str, str]
    papers: int
    pair_share: Estimate
    international: Estimate
    no_country: Estimate
    countries: dict[str, Estimate]
    matrix: dict[tuple[str, str], Estimate]
    groups: list[GroupRow]  # per venue and year
    trend: list[GroupRow]  # per year, all venues together
    flows: ModelFlows
    audit: AuditSummary
    progress: ReviewProgress
    listing: PaperListing = field(repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (keys of tables joined with "|")."""

        def table(d: dict[Hashable, Estimate]) -> dict[str, Any]:
            return {"|".join(map(str, k)) if isinstance(k, tuple) else str(k): e.as_dict() for k, e in d.items()}

        return {
            "policy": self.policy.model_dump(),
            "policy_text": self.policy.describe(),
            "pair": list(self.pair),
            "papers": self.papers,
            "pair_share": self.pair_share.as_dict(),
            "international": self.international.as_dict(),
            "no_country": self.no_country.as_dict(),
            "countries": table(self.countries),  # type: ignore[arg-type]
            "matrix": table(self.matrix),  # type: ignore[arg-type]
            "groups": [g.as_dict() for g in self.groups],
            "trend": [g.as_dict() for g in self.trend],
            "flows": {name: table(getattr(self.flows, name)) for name in
                      ("families", "by_country", "by_country_role", "by_role", "by_developer")},
            "audit": asdict(self.audit) | {"country_set_text": self.audit.country_set.text()},
            "progress": asdict(self.progress),
        }


class SummaryTally:
    """Every aggregate of a :class:`Summary`, folded from the units one at a time.

    Per paper it computes the keys of each statistic once and adds them to the corpus
    tally, its venue-and-year group's and its year's; what it keeps is bounded by the
    number of distinct keys and groups, never by the number of papers. The statistics of
    the country set alone are computed once per distinct set (papers share few), the
    model-flow ones only for papers that mention a model.
    """

    #: Cached key sets kept at most (the first ones seen, which are the frequent ones): a
    #: few megabytes, whatever the number of papers.
    _MAX_CACHED = 5_000

    def __init__(self, policy: CountingPolicy, pair: tuple[str, str] = DEFAULT_PAIR) -> None:
        a, b = pair_codes(policy, pair)
        self.policy, self.pair = policy, pair
        self._group_statistics = {"pair": has_pair(a, b), "international": international_keys}
        self._country_statistics = {**self._group_statistics, "no_country": no_country_keys,
                                    "countries": country_keys, "matrix": pair_keys}
        self.corpus = Tally({**self._country_statistics, **FLOW_STATISTICS})
        # keys of the country statistics (all, and the groups' two) per country set; keys
        # of the flow statistics per (country set, roles, developers)
        self._by_countries: dict[frozenset[str], tuple[dict[str, frozenset[Any]], dict[str, frozenset[Any]]]] = {}
        self._by_models: dict[tuple[Any, ...], dict[str, frozenset[Any]]] = {}
        self.groups: dict[tuple[str | None, int | None], Tally] = {}
        self.years: dict[tuple[str | None, int | None], Tally] = {}
        self.strata: Counter[str] = Counter()
        self.audit = _AuditTally()

    def keys(self, view: View) -> tuple[dict[str, frozenset[Any]], dict[str, frozenset[Any]]]:
        """The non-empty keys of every statistic for one reading, and of the groups' statistics.

        The same keys ``self.corpus.keys(view)`` computes, looked up instead where papers
        share them: most papers share their country set with many others, and many their
        model families and roles too.
        """
        known = self._by_countries.get(view.countries)
        if known is None:
            by_country = self.corpus.keys(view, self._country_statistics)
            known = (by_country, {name: by_country[name] for name in self._group_statistics if name in by_country})
            if len(self._by_countries) < self._MAX_CACHED:
                self._by_countries[view.countries] = known
        if not view.roles:
            return known
        signature = (view.countries, frozenset(view.roles.items()), frozenset(view.developers.items()))
        flows = self._by_models.get(signature)
        if flows is None:
            flows = known[0] | self.corpus.keys(view, FLOW_STATISTICS)
            if len(self._by_models) < self._MAX_CACHED:
                self._by_models[signature] = flows
        return flows, known[1]

    def add(self, unit: Unit) -> None:
        machine, machine_groups = self.keys(unit.machine)
        human, human_groups = self.keys(unit.human) if unit.human else (None, None)
        self.corpus.add_keys(unit.stratum, machine, human)
        for tallies, key in ((self.groups, (unit.venue, unit.year)), (self.years, (None, unit.year))):
            tally = tallies.get(key)
            if tally is None:
                tally = tallies[key] = Tally(self._group_statistics)
            tally.add_keys(unit.stratum, machine_groups, human_groups)
        self.strata[unit.stratum.value] += 1
        self.audit.add(unit)

    def summary(self, status_counts: dict[str, int], audit_drawn: int, audit_rejected: int,
                listing: PaperListing) -> Summary:
        t, policy = self.corpus, self.policy
        return Summary(
            policy=policy,
            pair=self.pair,
            papers=t.size,
            pair_share=t.estimates("pair", policy, (True,))[True],
            international=t.estimates("international", policy, (True,))[True],
            no_country=t.estimates("no_country", policy, (True,))[True],
            countries=ranked(t.estimates("countries", policy)),  # type: ignore[arg-type]
            matrix=ranked_pairs(t.estimates("matrix", policy)),  # type: ignore[arg-type]
            groups=group_rows(self.groups, policy),
            trend=group_rows(self.years, policy),
            flows=flows_of(t, policy),
            audit=self.audit.summary(audit_drawn, audit_rejected, policy.confidence),
            progress=ReviewProgress(dict(status_counts), t.size, {s.value: self.strata[s.value] for s in Stratum}),
            listing=listing,
        )


def summarize(source: Store | Population, policy: CountingPolicy | None = None,
              pair: tuple[str, str] = DEFAULT_PAIR) -> Summary:
    """Compute every aggregate in one pass (pass a Population to reuse one already loaded).

    Given the store, the records are read a page at a time inside one read snapshot and
    folded into a :class:`SummaryTally`: memory stays flat however many records there
    are. Given a population, its units are folded the same way, so both give the same
    numbers.
    """
    if isinstance(source, Population):
        tally = SummaryTally(source.policy, pair)
        for unit in source.units:
            tally.add(unit)
        return tally.summary(source.status_counts, source.audit_drawn, source.audit_rejected,
                             population_listing(source))
    policy = policy or CountingPolicy()
    tally = SummaryTally(policy, pair)
    with source.read_snapshot():
        for unit in iter_units(source, policy, order="storage"):
            tally.add(unit)
        status = status_tally(source)
    return tally.summary(status.status_counts, status.audit_drawn, status.audit_rejected,
                         store_listing(source, policy, tally.corpus.size))
