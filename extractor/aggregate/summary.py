"""Review progress, the audit error rate, and everything a report needs in one object.

The audit error rate is the plain proportion of reviewed audit records whose machine
reading was wrong (Wilson and Clopper–Pearson intervals): the figure a reader checks
first, because it says how much the unreviewed records should be trusted.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import asdict, dataclass, field
from typing import Any

from ..intervals import clopper_pearson, wilson
from ..store import Store
from .estimate import Estimate
from .policy import CountingPolicy
from .population import Population, Stratum, load_population
from .tables import (
    DEFAULT_PAIR,
    GroupRow,
    ModelFlows,
    by_group,
    country_counts,
    international_share,
    model_flows,
    no_country,
    pair_matrix,
    pair_share,
)


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


def audit_summary(pop: Population) -> AuditSummary:
    audited = [u for u in pop.units if u.stratum == Stratum.AUDITED]
    waiting = sum(u.record.audit and u.stratum != Stratum.AUDITED for u in pop.units)
    conf = pop.policy.confidence
    wrong_c = missed = extra = wrong_m = 0
    for u in audited:
        h, mv = u.human or u.machine, u.machine
        wrong_c += h.raw_countries != mv.raw_countries
        missed += bool(h.raw_countries - mv.raw_countries)
        extra += bool(mv.raw_countries - h.raw_countries)
        wrong_m += h.families != mv.families
    n = len(audited)
    return AuditSummary(
        drawn=pop.audit_drawn, reviewed=n, rejected=pop.audit_rejected, waiting=waiting,
        country_set=error_rate("papers with a wrong country set", wrong_c, n, conf),
        model_set=error_rate("papers with a wrong model-family set", wrong_m, n, conf),
        missed_country=missed, extra_country=extra,
    )


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
    population: Population = field(repr=False)

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


def summarize(source: Store | Population, policy: CountingPolicy | None = None,
              pair: tuple[str, str] = DEFAULT_PAIR) -> Summary:
    """Compute every aggregate once (pass a Population to reuse one already loaded)."""
    pop = source if isinstance(source, Population) else load_population(source, policy)
    return Summary(
        policy=pop.policy,
        pair=pair,
        papers=pop.size,
        pair_share=pair_share(pop, pair),
        international=international_share(pop),
        no_country=no_country(pop),
        countries=country_counts(pop),
        matrix=pair_matrix(pop),
        groups=by_group(pop, pair, ("venue", "year")),
        trend=by_group(pop, pair, ("year",)),
        flows=model_flows(pop),
        audit=audit_summary(pop),
        progress=review_progress(pop),
        population=pop,
    )
