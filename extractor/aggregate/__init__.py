"""Aggregates: collaboration shares, country counts, pair matrices and model flows.

Floor 3: reads records through :class:`~extractor.store.Store`, never writes. Load the
counted population once under a :class:`CountingPolicy`, then ask for any table; every
number is an :class:`Estimate` that carries its interval and the method that produced it
(exact, prediction-powered, or plainly machine-only when there is no audit yet).

Typical use (the review UI dashboard does the same)::

    pop = load_population(store, CountingPolicy(group_hk_mo_with_cn=True))
    share = pair_share(pop, ("US", "CN"))
    print(share.text(), "-", pop.policy.describe())

:func:`headline` is the small machine-only summary ``collabscope run`` prints.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..schemas import RecordStatus
from ..store import Store
from .estimate import METHOD_NOTES, Estimate, estimate_keys, estimate_one
from .policy import CountingPolicy
from .population import ROLES, Population, Stratum, Unit, View, build_population, load_population, machine_versions
from .summary import AuditSummary, ErrorRate, ReviewProgress, Summary, audit_summary, error_rate, review_progress, summarize
from .tables import (
    DEFAULT_PAIR,
    GroupRow,
    ModelFlows,
    by_group,
    country_counts,
    family_in_country,
    international_share,
    model_flows,
    no_country,
    pair_matrix,
    pair_share,
    parse_pair,
    years,
)

COUNTED = (RecordStatus.MACHINE, RecordStatus.QUEUED, RecordStatus.IN_REVIEW, RecordStatus.VERIFIED)


def headline(store: Store, *, pair: tuple[str, str] = ("US", "CN"), group_hk_mo_with_cn: bool = False) -> dict[str, Any]:
    """Counts for the end-of-run summary: papers, failures, flagged, countries, the pair.

    Machine labels as they stand (no interval): the run has had no review yet. The keys
    are relied on by ``collabscope run``; use :func:`summarize` for defensible numbers.
    """
    papers = 0
    flagged = 0
    audit_only = 0
    both = 0
    per_country: Counter[str] = Counter()
    for record in store.iter_records([s.value for s in COUNTED]):
        papers += 1
        if record.status == RecordStatus.QUEUED:
            flagged += 1
            # Drawn for the random audit and queued for no doubt of its own.
            audit_only += bool(record.audit) and all(r.code == "audit_sample" for r in record.review_reasons)
        countries = set(record.countries(group_hk_mo_with_cn))
        per_country.update(countries)
        both += set(pair) <= countries
    failed = store.query(
        "SELECT count(*) AS n FROM documents d WHERE error IS NOT NULL OR NOT EXISTS (SELECT 1 FROM records r WHERE r.sha256 = d.sha256)"
    )[0]["n"]
    return {
        "papers": papers,
        "failed": failed,
        "flagged": flagged,
        "flagged_audit_only": audit_only,
        "top_countries": per_country.most_common(8),
        "us_cn": both,
        "us_cn_share": both / papers if papers else 0.0,
    }


__all__ = [
    "COUNTED", "DEFAULT_PAIR", "METHOD_NOTES", "ROLES", "AuditSummary", "CountingPolicy", "ErrorRate", "Estimate",
    "GroupRow", "ModelFlows", "Population", "ReviewProgress", "Stratum", "Summary", "Unit", "View",
    "audit_summary", "build_population", "by_group", "country_counts", "error_rate", "estimate_keys",
    "estimate_one", "family_in_country", "headline", "international_share", "load_population",
    "machine_versions", "model_flows", "no_country", "pair_matrix", "pair_share", "parse_pair",
    "review_progress", "summarize", "years",
]
