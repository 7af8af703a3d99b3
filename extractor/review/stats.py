"""Measures of the review itself: inter-reviewer agreement, machine-vs-human agreement,
and throughput per reviewer-hour.

They answer the questions a reader of the dataset asks about the people in the loop: do
two reviewers reach the same answer (Cohen's kappa on the double-review sample), how
often was the machine right on the records people checked (split into the uniform audit
sample, which estimates the machine's error rate without bias, and the routed queue,
which does not), and how much human time the review costs. Everything is computed from
the audit log and the records; nothing here writes.

Floor 3: reads through :class:`~extractor.store.Store`; never imports streamlit.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from extractor.aggregate.intervals import wilson
from extractor.schemas import PaperContent, RecordStatus
from extractor.store import Store

#: Log actions that are a decision on a record (they count for throughput).
DECISION_ACTIONS = ("approve", "correct", "reject", "flag", "second_review")
#: A pause longer than this is a break, not review time.
IDLE_MINUTES = 5.0


# --------------------------------------------------------------------------- kappa


def cohen_kappa(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Cohen's kappa of two raters over categorical labels, with an approximate 95% interval.

    Returns ``{"n", "agree", "observed", "expected", "kappa", "low", "high"}``; kappa is
    None when there are no pairs, and 1.0 when both raters used a single identical label.
    The interval uses the large-sample standard error sqrt(po(1-po)/(n(1-pe)^2)).
    """
    n = len(pairs)
    if n == 0:
        return {"n": 0, "agree": 0, "observed": None, "expected": None, "kappa": None, "low": None, "high": None}
    agree = sum(a == b for a, b in pairs)
    po = agree / n
    first = Counter(a for a, _ in pairs)
    second = Counter(b for _, b in pairs)
    pe = sum(first[c] * second[c] for c in set(first) | set(second)) / (n * n)
    if pe >= 1.0:
        kappa = 1.0 if po == 1.0 else 0.0
        return {"n": n, "agree": agree, "observed": po, "expected": pe, "kappa": kappa, "low": None, "high": None}
    kappa = (po - pe) / (1 - pe)
    se = math.sqrt(po * (1 - po) / (n * (1 - pe) ** 2))
    return {"n": n, "agree": agree, "observed": po, "expected": pe, "kappa": kappa,
            "low": max(-1.0, kappa - 1.96 * se), "high": min(1.0, kappa + 1.96 * se)}


def _pair_member(label: str, pair: tuple[str, str]) -> str:
    if label == "rejected":
        return "rejected"
    codes = set(label.split(","))
    return "both" if set(pair) <= codes else "not both"


def double_review_agreement(store: Store, *, pair: tuple[str, str] = ("US", "CN")) -> dict[str, Any]:
    """Agreement between first and blind second reviews.

    Two kappas: on the paper's country set (the label the dataset stores), and on what
    moves the headline (does the paper count for the country pair, or is it rejected).
    """
    done = store.double_reviews(pending=False)
    pending = len(store.double_reviews(pending=True))
    pairs = [(r["first_label"], r["second_label"]) for r in done]
    country = cohen_kappa(pairs)
    headline = cohen_kappa([(_pair_member(a, pair), _pair_member(b, pair)) for a, b in pairs])
    disagreements = [
        {"paper_id": r["paper_id"], "first": f"{r['first_reviewer']}: {r['first_label']}",
         "second": f"{r['second_reviewer']}: {r['second_label']}"}
        for r in done if r["first_label"] != r["second_label"]
    ]
    return {"completed": len(done), "pending": pending, "country_set": country,
            "pair": {"pair": list(pair), **headline}, "disagreements": disagreements}


# --------------------------------------------------------------------------- machine vs human


def _share(k: int, n: int) -> dict[str, Any]:
    if n == 0:
        return {"k": 0, "n": 0, "share": None, "low": None, "high": None}
    low, high = wilson(k, n)
    return {"k": k, "n": n, "share": k / n, "low": low, "high": high}


def machine_human_agreement(store: Store) -> dict[str, Any]:
    """How often the machine's answer survived human review, on records people decided.

    Split by how the record reached a person: ``audit`` (the uniform sample of confident
    records: an unbiased estimate of the machine's accuracy there) and ``queued`` (routed
    because the machine was unsure: expected to be lower, and not representative). Also
    lists the most common country corrections (machine -> human).
    """
    machine = store.machine_contents()
    groups: dict[str, Counter[str]] = defaultdict(Counter)
    corrections: Counter[tuple[str, str]] = Counter()
    for record in store.iter_records([RecordStatus.VERIFIED.value, RecordStatus.REJECTED.value]):
        before_json = machine.get(record.paper_id)
        if before_json is None:
            continue
        before = PaperContent.model_validate_json(before_json)
        for group in ("all", "audit" if record.audit else "queued"):
            g = groups[group]
            g["records"] += 1
            if record.status == RecordStatus.REJECTED:
                g["rejected"] += 1
                continue
            g["decided"] += 1
            g["country_set_agree"] += before.countries() == record.countries()
            g["families_agree"] += before.model_families() == record.model_families()
            g["unchanged"] += before.model_dump() == record.content().model_dump()
            old = {a.id: a.country for a in before.affiliations}
            for aff in record.affiliations:
                if aff.id in old:
                    g["affiliations"] += 1
                    g["affiliations_agree"] += old[aff.id] == aff.country
                    if group == "all" and old[aff.id] != aff.country:
                        corrections[(old[aff.id] or "?", aff.country or "?")] += 1
    out: dict[str, Any] = {}
    for group in ("all", "audit", "queued"):
        g = groups.get(group, Counter())
        out[group] = {
            "records": g["records"],
            "rejected": g["rejected"],
            "country_set": _share(g["country_set_agree"], g["decided"]),
            "affiliation_country": _share(g["affiliations_agree"], g["affiliations"]),
            "model_families": _share(g["families_agree"], g["decided"]),
            "unchanged": _share(g["unchanged"], g["decided"]),
        }
    out["top_corrections"] = [{"machine": a, "human": b, "count": n} for (a, b), n in corrections.most_common(10)]
    return out


# --------------------------------------------------------------------------- throughput


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts)


def throughput(store: Store, *, idle_minutes: float = IDLE_MINUTES,
               rows: Iterable[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Records decided per reviewer-hour, from the audit log's timestamps.

    Active time is the sum of the gaps between a reviewer's consecutive logged actions
    that are shorter than ``idle_minutes`` (a longer gap is a break). Returns per reviewer
    and overall: decisions, active hours, decisions per hour and the median seconds per
    decision.
    """
    by_actor: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows if rows is not None else store.log_rows(human_only=True):
        by_actor[row["actor"]].append(row)
    cap = idle_minutes * 60
    people = []
    total_dec, total_sec = 0, 0.0
    all_gaps: list[float] = []
    for actor, acts in sorted(by_actor.items()):
        acts.sort(key=lambda r: r["at"])
        active = 0.0
        gaps: list[float] = []
        prev: datetime | None = None
        prev_decision: datetime | None = None
        decisions = 0
        for row in acts:
            t = _parse(row["at"])
            if prev is not None:
                gap = (t - prev).total_seconds()
                if gap <= cap:
                    active += gap
            if row["action"] in DECISION_ACTIONS:
                decisions += 1
                if prev_decision is not None:
                    gap = (t - prev_decision).total_seconds()
                    if gap <= cap:
                        gaps.append(gap)
                prev_decision = t
            prev = t
        hours = active / 3600
        people.append({
            "reviewer": actor, "decisions": decisions, "active_hours": round(hours, 3),
            "per_hour": round(decisions / hours, 1) if hours > 0 else None,
            "median_seconds": round(statistics.median(gaps), 1) if gaps else None,
        })
        total_dec += decisions
        total_sec += active
        all_gaps.extend(gaps)
    hours = total_sec / 3600
    return {
        "reviewers": people,
        "decisions": total_dec,
        "active_hours": round(hours, 3),
        "per_hour": round(total_dec / hours, 1) if hours > 0 else None,
        "median_seconds": round(statistics.median(all_gaps), 1) if all_gaps else None,
        "idle_minutes": idle_minutes,
    }
