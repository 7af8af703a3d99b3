"""Aggregates: collaboration shares, country counts, pair matrices and model flows.

Reads records through :class:`~extractor.store.Store`, never writes. Every
number is an :class:`Estimate` that carries its interval and the method that produced it
(exact, prediction-powered, or plainly machine-only when there is no audit yet).

:func:`summarize` computes every table in one pass over the store, a page of records at
a time, keeping only counts (memory does not grow with the database)::

    s = summarize(store, CountingPolicy(group_hk_mo_with_cn=True), ("US", "CN"))
    print(s.pair_share.text(), "-", s.policy.describe())

For one table at a time on a small database, load the population into memory once and
ask for any table::

    pop = load_population(store, CountingPolicy(group_hk_mo_with_cn=True))
    share = pair_share(pop, ("US", "CN"))

:func:`headline` is the small machine-only summary ``collabscope run`` prints.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from extractor.aggregate.estimate import METHOD_NOTES, Estimate, Tally, estimate_keys, estimate_one
from extractor.aggregate.policy import CountingPolicy
from extractor.aggregate.population import (
    ROLES,
    Population,
    StatusTally,
    Stratum,
    Unit,
    View,
    build_population,
    column_codes,
    iter_units,
    load_population,
    machine_versions,
    status_tally,
)
from extractor.aggregate.summary import (
    AuditSummary,
    ErrorRate,
    PaperListing,
    ReviewProgress,
    Summary,
    SummaryTally,
    audit_summary,
    error_rate,
    review_progress,
    summarize,
)
from extractor.aggregate.tables import (
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
from extractor.schemas import RecordStatus, group_country
from extractor.store import Store

COUNTED = (RecordStatus.MACHINE, RecordStatus.QUEUED, RecordStatus.IN_REVIEW, RecordStatus.VERIFIED)


def headline(store: Store, *, pair: tuple[str, str] = ("US", "CN"), group_hk_mo_with_cn: bool = False,
             all_countries: bool = False) -> dict[str, Any]:
    """Counts for the end-of-run summary: papers, failures, flagged, countries, the pair.

    ``all_countries`` adds ``countries``: every country with its papers, most papers first
    and ties by code, so the summary reads the same on every run and can say how many
    countries it leaves out (from the same pass over the records).

    Machine labels as they stand (no interval): the run has had no review yet. The keys
    are relied on by ``collabscope run``; use :func:`summarize` for defensible numbers.
    Reads the records' indexed columns a page at a time, never their JSON.
    """
    papers = 0
    flagged = 0
    audit_only = 0
    both = 0
    per_country: Counter[str] = Counter()
    with store.read_snapshot():
        for page in store.record_pages([s.value for s in COUNTED]):
            for row in page:
                papers += 1
                if row["status"] == RecordStatus.QUEUED.value:
                    flagged += 1
                    # Drawn for the random audit and queued for no doubt of its own.
                    audit_only += bool(row["audit"]) and all(c == "audit_sample" for c in column_codes(row["reasons"]))
                countries = {group_country(c, group_hk_mo_with_cn) for c in column_codes(row["countries"])}
                per_country.update(sorted(countries))  # type: ignore[arg-type]
                both += set(pair) <= countries
        failed = store.unrecorded_document_count()
    out: dict[str, Any] = {
        "papers": papers,
        "failed": failed,
        "flagged": flagged,
        "flagged_audit_only": audit_only,
        "top_countries": per_country.most_common(8),
        "us_cn": both,
        "us_cn_share": both / papers if papers else 0.0,
    }
    if all_countries:
        out["countries"] = sorted(per_country.items(), key=lambda kv: (-kv[1], kv[0]))
    return out


__all__ = [
    "COUNTED", "DEFAULT_PAIR", "METHOD_NOTES", "ROLES", "AuditSummary", "CountingPolicy", "ErrorRate", "Estimate",
    "GroupRow", "ModelFlows", "PaperListing", "Population", "ReviewProgress", "StatusTally", "Stratum", "Summary",
    "SummaryTally", "Tally", "Unit", "View", "audit_summary", "build_population", "by_group", "country_counts",
    "error_rate", "estimate_keys", "estimate_one", "family_in_country", "headline", "international_share",
    "iter_units", "load_population", "machine_versions", "model_flows", "no_country", "pair_matrix", "pair_share",
    "parse_pair", "review_progress", "status_tally", "summarize", "years",
]
