"""The oversight curve of a real run: how accurate the dataset is expected to be now, and
after a person reviews the next 5, 10 or 20% of the papers in queue order.

There is no truth to measure against in a real run, so the curve is an *estimate* built
from routing's P(country set wrong) of each machine-owned record (calibrated on the
reviews so far, else the default priors): the expected number of papers with a wrong
country set is the sum of those probabilities; a verified record counts as right. Reviewing
the next papers is assumed to correct every error in them, so the expected errors left
after reviewing the first k records of the queue are the sum over the rest. The curve is
only as good as P(wrong) is calibrated, which is why the report prints it next to the
audit's measured error rate.

Memory: one float per machine-owned record (an ``array``), 8 MB at a million records.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from extractor.store import Store

#: Shares of all counted papers reviewed next, in queue order, that the report shows.
DEFAULT_STEPS = (0.05, 0.10, 0.20)


@dataclass(frozen=True)
class OversightPoint:
    """Expected accuracy after reviewing ``share`` of the papers next (0 = as it stands)."""

    share: float  # of all counted papers, reviewed next in queue order
    reviewed_next: int  # papers that is
    expected_errors: float  # papers expected to have a wrong country set afterwards
    expected_accuracy: float  # 1 - expected_errors / papers


@dataclass(frozen=True)
class OversightCurve:
    """Expected paper-level country-set accuracy now and after more review (an estimate)."""

    papers: int  # counted papers: verified + machine-owned
    verified: int  # already checked by a person (counted as right)
    unscored: int  # machine-owned records without a P(wrong) (counted at ``unscored_p``)
    unscored_p: float
    points: list[OversightPoint] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"papers": self.papers, "verified": self.verified, "unscored": self.unscored,
                "unscored_p": self.unscored_p,
                "points": [vars(p) for p in self.points]}


def oversight_curve(p_wrong_in_queue_order: Iterable[float | None], verified: int,
                    steps: Iterable[float] = DEFAULT_STEPS, *, unscored_p: float = 0.5) -> OversightCurve:
    """The curve from each machine-owned record's P(wrong), in the order review reaches them.

    ``verified`` records count as right and are not in the iterable. A record with no
    P(wrong) (None: never routed) counts at ``unscored_p`` — a coin flip unless told
    otherwise, so an unscored database does not look accurate. Reviewing the next
    ``share`` of the papers means the first ``ceil(share * papers)`` records of the
    iterable; a share beyond what is left reviews everything.
    """
    values = array("d")
    unscored = 0
    for p in p_wrong_in_queue_order:
        if p is None or math.isnan(p):
            unscored += 1
            p = unscored_p
        values.append(min(max(float(p), 0.0), 1.0))
    papers = verified + len(values)
    total = math.fsum(values)
    points = []
    for share in (0.0, *steps):
        k = min(len(values), math.ceil(share * papers - 1e-9)) if papers else 0
        left = total - math.fsum(values[:k])
        left = max(left, 0.0)
        points.append(OversightPoint(share=share, reviewed_next=k, expected_errors=left,
                                     expected_accuracy=1.0 - left / papers if papers else 1.0))
    return OversightCurve(papers=papers, verified=verified, unscored=unscored, unscored_p=unscored_p, points=points)


def store_oversight_curve(store: Store, steps: Iterable[float] = DEFAULT_STEPS) -> OversightCurve:
    """:func:`oversight_curve` of a database: its records' P(wrong) in queue order."""
    verified = sum(r["records"] for r in store.record_status_tallies() if r["status"] == "verified")
    return oversight_curve(store.unreviewed_p_wrong(), verified, steps)
