"""Routing: confidence, priority, status and the audit sample of every machine-owned record.

Routing (:func:`route`) runs after reconcile and after every ``collabscope calibrate``. For
each machine-owned record (status machine or queued) it reads the signals reconcile stored
(``review_signals``) and sets:

* ``confidence`` = P(country set right) from the current calibrated model, and
  ``p_wrong = 1 - confidence``;
* ``impact`` = how far a correction could move the aggregates the user asked about. With
  S the record's country set and A the alternative sets its signals name (another
  backend's reading, the stated/e-mail/other-site country of an affiliation, an affiliation
  dropped, or "plus one unknown country")::

      impact = max over T in A of  w_pair * |pair(S) - pair(T)|            (pair = both a and b in the set; default US, CN)
                                 + w_intl * |intl(S) - intl(T)|            (intl = two or more countries)
                                 + w_any  * [S != T]                        (any country count moves)

  with w_pair = 1, w_intl = 0.5, w_any = 0.5. For "plus one unknown country" the term is
  the expectation over the corpus's own country mix (the *prior*, see below). A doubt
  between two Chinese universities names no alternative country set, so its impact is 0;
* ``priority = p_wrong * sqrt(max(impact, w_any))``: P(wrong) is the probability that the
  record's country *set* is wrong, and a wrong set moves at least one country count
  (``w_any``) whatever alternatives the signals could name, so that is the floor; the named
  alternatives raise it when they would move the pair or the international share. Impact
  enters with a square root because it is the largest move over the alternatives the
  signals can name, not the move the actual error makes: taken linearly, a record with a
  dramatic but unlikely alternative outranked likelier errors (the three orders compared on
  the fitting simulations: docs/ACCURACY.md, "Review routing and calibration");
* ``status`` = queued when confidence < ``confidence_threshold``, when the record is
  *doubtful* (two readings give the paper different country sets: neither the model nor
  the rules win by default; flagged ``doubt`` in its features by reconcile) or the record is
  in the audit sample, else machine.

Audit sample: a uniform random sample of the confident records (the frame: machine-owned
records with confidence >= threshold that are not doubtful, plus audit records people already hold). Each
paper gets ``u = sha256(seed:paper_id)`` as a number in [0, 1); the sample is the k
records of the frame with the smallest u, k = min(|frame|, max(ceil(fraction * |frame|),
minimum)), plus every audit record a person already holds. The same database and seed
always give the same sample, a new paper joins exactly when its own u is small enough (so
the sample stays uniform as the corpus grows), and audit items are served in u order, so
any prefix of the audit that people finish is itself a uniform sample.

Routing only what changed. ``route(store, settings, paper_ids=batch)`` re-routes the
records of a reconcile batch, every record changed since the last route (the audit log
names them: a person's decision can move a record into or out of the frame), and the few
records the audit boundary moves past; the result is the same as routing everything. What
makes that possible is kept in the store: the frame itself (``review_signals.audit_u`` is
set exactly for the records in the frame, and indexed), its size, where the sample ends
in it (the k-th smallest draw) and the log position of the last route. The country prior is
state too: it is taken from the corpus at a route and kept until reconcile has rebuilt more
than :data:`PRIOR_REFRESH_SHARE` of the records it was taken over; both kinds of route
follow that rule, so they agree. Anything else that changes every record's scores (another
threshold, audit fraction or seed, pair or weights, a new calibrated model, a prior due
for a refresh, no state from an earlier route) makes the call a full route.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from extractor.config import Settings
from extractor.reconcile import confidence as conf
from extractor.schemas import PaperRecord, RecordStatus, ReviewReason
from extractor.store import Store, utcnow
from extractor.store.queue import MACHINE_OWNED, FrameKey

#: Statuses of records a person holds whose audit mark keeps them in the frame.
HELD_AUDIT = (RecordStatus.IN_REVIEW.value, RecordStatus.VERIFIED.value)
ROUTING_CODES = ("audit_sample", "low_confidence")
#: Lowest impact a priority uses when the weights set ``any_change`` to 0.
IMPACT_FLOOR = 0.02
#: Feature key (not a model feature) marking a doubtful record: queued whatever its confidence.
DOUBT = "doubt"
WILD = "*"  # stands for "some country not otherwise in the set"

#: Records read per page by a full route (bounded memory at any corpus size).
ROUTE_CHUNK = 1000
#: The prior is taken again when reconcile rebuilt more than this share of the records it was taken over.
PRIOR_REFRESH_SHARE = 0.1
#: Version of the routing state kept in ``review_meta``; an older or missing one means a full route.
ROUTING_STATE = 2


@dataclass(frozen=True)
class ImpactWeights:
    pair: float = 1.0
    international: float = 0.5
    any_change: float = 0.5


@dataclass
class RouteSummary:
    """What a route did. A full route counts every record; an ``incremental`` one counts the
    records it re-routed (``audit_target`` and ``audit_frame`` are always the whole frame's)."""

    routed: int = 0
    queued: int = 0
    machine: int = 0
    audit: int = 0
    audit_target: int = 0
    audit_frame: int = 0
    changed: int = 0
    human: int = 0
    no_signals: int = 0
    pair: tuple[str, str] = ("US", "CN")
    models: dict[str, str] = field(default_factory=dict)
    incremental: bool = False


# --------------------------------------------------------------------------- impact


def _delta(s: frozenset[str], t: frozenset[str], pair: tuple[str, str], w: ImpactWeights) -> float:
    def both(x: frozenset[str]) -> bool:
        return pair[0] in x and pair[1] in x

    return (w.pair * abs(both(s) - both(t)) + w.international * abs((len(s) >= 2) - (len(t) >= 2))
            + w.any_change * (s != t))


def impact(countries: Iterable[str], alternatives: list[dict[str, Any]], *, pair: tuple[str, str] = ("US", "CN"),
           prior: dict[str, float] | None = None, weights: ImpactWeights = ImpactWeights()) -> float:
    """Largest move of the aggregates over the alternative country sets (module docstring)."""
    s = frozenset(countries)
    prior = prior or {WILD: 1.0}
    best = 0.0
    for alt in alternatives:
        t = frozenset(alt.get("set", []))
        if alt.get("wild"):
            d = sum(p * _delta(s, t | {c}, pair, weights) for c, p in prior.items())
        else:
            d = _delta(s, t, pair, weights)
        best = max(best, d)
    return round(best, 6)


def priority_of(p_wrong: float, imp: float, weights: ImpactWeights = ImpactWeights()) -> float:
    """Queue priority: P(wrong) x the impact, at least that of any country count moving (module docstring)."""
    return round(p_wrong * math.sqrt(max(imp, weights.any_change, IMPACT_FLOOR)), 6)


def country_prior(store: Store, top: int = 30) -> dict[str, float]:
    """Share of each country among the corpus's paper-country pairs (top ones + the rest)."""
    counts = store.country_counts_of_signals()
    total = sum(counts.values())
    if not total:
        return {WILD: 1.0}
    prior = {c: n / total for c, n in counts.most_common(top)}
    rest = 1.0 - sum(prior.values())
    if rest > 1e-9:
        prior[WILD] = rest
    return prior


def audit_u(seed: int, paper_id: str) -> float:
    """The paper's seeded uniform number in [0, 1): decides audit membership and order."""
    return int(hashlib.sha256(f"{seed}:{paper_id}".encode()).hexdigest()[:15], 16) / 16**15


def audit_target(frame: int, fraction: float, minimum: int) -> int:
    return min(frame, max(math.ceil(fraction * frame), minimum))


# --------------------------------------------------------------------------- writes


def machine_rewrite(store: Store, record: PaperRecord, *, action: str, expected_version: int | None = None) -> bool:
    """Replace a machine-owned record (new version + log row); False if a person holds it now."""
    return store.machine_rewrite_record(record, action, expected_version)


def routing_meta(store: Store) -> dict[str, Any]:
    """The parameters and totals of the last route (pair, weights, threshold, audit frame ...)."""
    return store.review_meta()


def low_confidence_reason(p_right: float, threshold: float) -> ReviewReason:
    return ReviewReason(
        code="low_confidence",
        message=(f"the calibrated model gives P(country set right) = {p_right:.2f}, below {threshold:.2f}, "
                 "even without a specific signal (the base error rate of this backend mix)"),
        detail={"confidence": p_right, "threshold": threshold},
    )


# --------------------------------------------------------------------------- one record


@dataclass(frozen=True)
class _Params:
    """Everything a record's routing depends on besides its own signals and the prior."""

    threshold: float
    fraction: float
    minimum: int
    seed: int
    pair: tuple[str, str]
    weights: ImpactWeights
    models: dict[str, conf.ModelSet]

    def meta(self) -> dict[str, Any]:
        """As stored in ``review_meta``: an incremental route needs all of it unchanged."""
        return {"pair": list(self.pair), "weights": asdict(self.weights), "confidence_threshold": self.threshold,
                "audit_fraction": self.fraction, "audit_min": self.minimum, "seed": self.seed,
                "model_params": {t: m.params() for t, m in self.models.items()}}

    def unchanged_since(self, meta: dict[str, Any]) -> bool:
        return all(meta.get(k) == v for k, v in self.meta().items())


@dataclass(slots=True)
class _Entry:
    """A machine-owned record's new scores (the plan for rewriting it).

    A full route keeps one per machine-owned record until it rewrites them: slots keep
    that at about 100 bytes an entry instead of a dict's few hundred.
    """

    version: int
    u: float
    p_right: float
    p_models: float
    impact: float
    priority: float
    doubt: bool = False  # two readings give different country sets: queued whatever the confidence

    def confident(self, threshold: float) -> bool:
        """Left to the machine (and so in the audit frame) unless drawn for the audit."""
        return self.p_right >= threshold and not self.doubt


def _read(row: dict[str, Any], params: _Params, prior: dict[str, float]) -> tuple[_Entry | None, float | None, bool]:
    """(new scores if machine-owned with signals, frame draw or None, held audit record?) of a routing row."""
    pid, status = row["paper_id"], row["status"]
    u = audit_u(params.seed, pid)
    if status not in MACHINE_OWNED:
        held = bool(row["audit"]) and status in HELD_AUDIT and bool(row["has_signals"])
        return None, u if held else None, held
    if not row["has_signals"]:
        return None, None, False
    features = json.loads(row["features"] or "{}")
    p_right = round(params.models[conf.COUNTRY].predict(features), 4)
    p_models = round(params.models[conf.MODELS].predict(json.loads(row["model_features"] or "{}")), 4)
    imp = impact(json.loads(row["countries"] or "[]"), json.loads(row["alternatives"] or "[]"),
                 pair=params.pair, prior=prior, weights=params.weights)
    entry = _Entry(row["version"], u, p_right, p_models, imp, priority_of(1 - p_right, imp, params.weights),
                   bool(features.get(DOUBT)))
    return entry, u if entry.confident(params.threshold) else None, False


def _count(summary: RouteSummary, row: dict[str, Any]) -> None:
    if row["status"] not in MACHINE_OWNED:
        summary.human += 1
    elif not row["has_signals"]:
        summary.no_signals += 1


def _rewrite(store: Store, plan: dict[str, _Entry], members: set[str], threshold: float,
             summary: RouteSummary) -> None:
    """Give the planned records their new status, scores and reasons (a new version where anything changed)."""
    ids = list(plan)
    for i in range(0, len(ids), ROUTE_CHUNK):
        for pid, data in store.record_json_for(ids[i:i + ROUTE_CHUNK]).items():
            p = plan[pid]
            record = PaperRecord.model_validate_json(data)
            in_audit = pid in members
            queued = in_audit or not p.confident(threshold)
            reasons = [r for r in record.review_reasons if r.code not in ROUTING_CODES]
            if in_audit:
                reasons.append(ReviewReason(code="audit_sample", message=(
                    "drawn for the uniform audit sample of confident records: checking it measures the "
                    "machine's error rate (review it even if it looks right)"), detail={"u": round(p.u, 6)}))
            elif queued and not reasons:
                reasons.append(low_confidence_reason(p.p_right, threshold))
            new = record.model_copy(update={
                "status": RecordStatus.QUEUED if queued else RecordStatus.MACHINE, "audit": in_audit,
                "confidence": p.p_right, "model_confidence": p.p_models, "priority": p.priority,
                "review_reasons": reasons})
            summary.routed += 1
            summary.queued += queued
            summary.machine += not queued
            summary.audit += in_audit
            if new.model_dump(exclude={"provenance"}) != record.model_dump(exclude={"provenance"}):
                summary.changed += store.machine_rewrite_record(new, "route", p.version)


def _signal_rows(plan: dict[str, _Entry], members: set[str], threshold: float, now: str) -> Iterator[dict[str, Any]]:
    for pid, p in plan.items():
        yield {"paper_id": pid, "p_wrong": round(1 - p.p_right, 6), "p_wrong_models": round(1 - p.p_models, 6),
               "impact": p.impact, "priority": p.priority, "frame_u": p.u if p.confident(threshold) else None,
               "audit": pid in members, "routed_at": now}


# --------------------------------------------------------------------------- routing state


def _state_valid(meta: dict[str, Any]) -> bool:
    """The last route finished and left the state an incremental route builds on."""
    return meta.get("routing_state") == ROUTING_STATE and isinstance(meta.get("routed_log_id"), int)


def _rebuilt_since(store: Store, log_id: int) -> int:
    """Records reconcile created or rebuilt since the log stood at ``log_id`` (counted in the store)."""
    return store.count_log_entries_after(log_id, actor="machine", actions=("create", "reconcile"))


def _rebuilt(entries: list[dict[str, Any]]) -> int:
    """Records reconcile created or rebuilt, as the log rows since the last route show."""
    return sum(e["actor"] == "machine" and e["action"] in ("create", "reconcile") for e in entries)


def _kept_prior(meta: dict[str, Any], rebuilt: int | None) -> dict[str, Any] | None:
    """The stored prior with its counter moved on, or None when it must be taken again."""
    if rebuilt is None or "prior" not in meta:
        return None
    changes = meta["prior_changes"] + rebuilt
    if changes > PRIOR_REFRESH_SHARE * meta["prior_records"]:
        return None
    return {"prior": meta["prior"], "prior_records": meta["prior_records"], "prior_changes": changes}


def _fresh_prior(store: Store) -> dict[str, Any]:
    return {"prior": country_prior(store), "prior_records": store.count_review_signals(), "prior_changes": 0}


class _StateDrift(Exception):
    """The stored frame does not add up (changed behind routing's back): route everything instead."""


# --------------------------------------------------------------------------- route


def route(store: Store, settings: Settings, *, pair: tuple[str, str] = ("US", "CN"),
          weights: ImpactWeights = ImpactWeights(), paper_ids: Iterable[str] | None = None) -> RouteSummary:
    """Set status, confidence, priority and the audit sample of the machine-owned records.

    Without ``paper_ids`` every record is routed. With ``paper_ids`` (the records a
    reconcile batch wrote) only those, the records changed since the last route and the
    records the audit boundary moves past are re-routed, with the same result; when the
    stored state does not allow that (see the module docstring) it is a full route.
    """
    params = _Params(settings.confidence_threshold, settings.audit_fraction, settings.audit_min, settings.seed,
                     (pair[0], pair[1]), weights, {t: conf.load_models(store, t) for t in conf.TARGETS})
    if paper_ids is not None:
        try:
            with store.write():
                summary = _route_changed(store, params, set(paper_ids))
        except _StateDrift:
            summary = None
        if summary is not None:
            return summary
    return _route_all(store, params)


def _route_all(store: Store, params: _Params) -> RouteSummary:
    """Route every record: two streaming passes, a few numbers per record in memory."""
    meta = store.review_meta()
    start = store.last_log_id()
    kept = _kept_prior(meta, _rebuilt_since(store, meta["routed_log_id"])) if _state_valid(meta) else None
    prior_state = kept or _fresh_prior(store)
    store.set_review_meta({"routed_log_id": None})  # if this route stops half-way, the next one is full
    summary = RouteSummary(pair=params.pair, models={t: m.source for t, m in params.models.items()})
    plan: dict[str, _Entry] = {}
    frame: list[FrameKey] = []
    held: set[str] = set()
    held_draws: list[tuple[str, float | None]] = []
    after: str | None = None
    while True:
        page = store.routing_rows(after, ROUTE_CHUNK)
        for row in page:
            _count(summary, row)
            entry, draw, is_held = _read(row, params, prior_state["prior"])
            pid = row["paper_id"]
            if entry is not None:
                plan[pid] = entry
            elif row["has_signals"] and row["frame_u"] != draw:
                held_draws.append((pid, draw))
            if is_held:
                held.add(pid)
            if draw is not None:
                frame.append((draw, pid))
        if len(page) < ROUTE_CHUNK:
            break
        after = page[-1]["paper_id"]
    frame.sort()
    k = audit_target(len(frame), params.fraction, params.minimum)
    members = {pid for _, pid in frame[:k]} | held
    now = utcnow()
    _rewrite(store, plan, members, params.threshold, summary)
    store.set_routing(_signal_rows(plan, members, params.threshold, now))
    store.set_audit_frame(held_draws)
    summary.audit, summary.audit_target, summary.audit_frame = len(members), k, len(frame)
    # Log rows written meanwhile by anyone but this route are looked at again by the next route.
    own = store.only_log_entries_after(start, actor="machine", action="route")
    store.set_review_meta({**params.meta(), **prior_state, "routing_state": ROUTING_STATE, "audit_target": k,
                           "audit_frame": len(frame), "audit_boundary": list(frame[k - 1]) if k else None,
                           "routed_at": now, "models": summary.models,
                           "routed_log_id": store.last_log_id() if own else start})
    return summary


def _route_changed(store: Store, params: _Params, paper_ids: set[str]) -> RouteSummary | None:
    """Re-route what changed since the last route (inside the caller's transaction); None: route everything."""
    meta = store.review_meta()
    if not _state_valid(meta) or not params.unchanged_since(meta):
        return None
    entries = store.log_entries_after(meta["routed_log_id"])
    kept = _kept_prior(meta, _rebuilt(entries))
    if kept is None:
        return None
    prior = kept["prior"]
    summary = RouteSummary(pair=params.pair, models={t: m.source for t, m in params.models.items()}, incremental=True)
    stored_end = meta["audit_boundary"]
    old_end: FrameKey | None = (stored_end[0], stored_end[1]) if stored_end else None
    plan: dict[str, _Entry] = {}
    held: set[str] = set()
    draws: dict[str, float | None] = {}
    frame_size = meta["audit_frame"]
    below_old_end = meta["audit_target"]  # frame records at or before the old end of the sample

    def before_end(draw: float | None, pid: str, end: FrameKey | None) -> bool:
        return draw is not None and end is not None and (draw, pid) <= end

    for row in store.routing_rows_for(paper_ids | {e["paper_id"] for e in entries}):
        _count(summary, row)
        entry, draw, is_held = _read(row, params, prior)
        pid = row["paper_id"]
        if entry is not None:
            plan[pid] = entry
        if is_held:
            held.add(pid)
        if row["has_signals"]:
            draws[pid] = draw
            frame_size += (draw is not None) - (row["frame_u"] is not None)
            below_old_end += before_end(draw, pid, old_end) - before_end(row["frame_u"], pid, old_end)
    if frame_size < 0 or below_old_end < 0:
        raise _StateDrift
    store.set_audit_frame(draws.items())
    k = audit_target(frame_size, params.fraction, params.minimum)
    # Move the end of the sample from the old k-th draw to the new one, through the frame index.
    if below_old_end < k:
        movers = store.audit_frame_after(old_end, k - below_old_end)
        if len(movers) != k - below_old_end:
            raise _StateDrift
        end: FrameKey | None = movers[-1]
    else:
        below = store.audit_frame_upto(old_end, below_old_end - k + 1)
        if len(below) != min(below_old_end, below_old_end - k + 1):
            raise _StateDrift
        movers, end = below[:below_old_end - k], (below[-1] if k else None)
    for row in store.routing_rows_for({pid for _, pid in movers} - set(draws)):
        entry, draw, is_held = _read(row, params, prior)
        if entry is not None:
            plan[row["paper_id"]] = entry
        if is_held:
            held.add(row["paper_id"])
    members = held | {pid for pid, p in plan.items() if before_end(p.u if p.confident(params.threshold) else None,
                                                                      pid, end)}
    now = utcnow()
    _rewrite(store, plan, members, params.threshold, summary)
    store.set_routing(_signal_rows(plan, members, params.threshold, now))
    summary.audit_target, summary.audit_frame = k, frame_size
    store.set_review_meta({**kept, "audit_target": k, "audit_frame": frame_size,
                           "audit_boundary": list(end) if end else None, "routed_at": now,
                           "routed_log_id": store.last_log_id()})
    return summary
