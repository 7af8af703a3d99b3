"""Aggregates: country counts and collaboration shares over records.

This first version gives the machine-only headline the `run` summary prints; the full
aggregation (pairs, matrices, model flows, intervals) builds on the same record iterator.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from .schemas import RecordStatus
from .store import Store

COUNTED = (RecordStatus.MACHINE, RecordStatus.QUEUED, RecordStatus.IN_REVIEW, RecordStatus.VERIFIED)


def headline(store: Store, *, pair: tuple[str, str] = ("US", "CN"), group_hk_mo_with_cn: bool = False) -> dict[str, Any]:
    """Counts for the end-of-run summary: papers, failures, flagged, countries, the pair."""
    papers = 0
    flagged = 0
    both = 0
    per_country: Counter[str] = Counter()
    for record in store.iter_records([s.value for s in COUNTED]):
        papers += 1
        flagged += record.status == RecordStatus.QUEUED
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
        "top_countries": per_country.most_common(8),
        "us_cn": both,
        "us_cn_share": both / papers if papers else 0.0,
    }
