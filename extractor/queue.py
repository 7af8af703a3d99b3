"""The review queue: routing, priority, the audit sample, and the functions the review UI calls.

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
  the expectation over the corpus's own country mix. A doubt between two Chinese
  universities names no alternative country set, so its impact is 0;
* ``priority = p_wrong * max(impact, 0.02)``: the expected number of papers by which
  reviewing this record moves the chosen aggregates (the floor keeps zero-impact doubts in
  P(wrong) order at the very end of the queue);
* ``status`` = queued when confidence < ``confidence_threshold`` or the record is in the
  audit sample, else machine.

Audit sample: a uniform random sample of the confident records (the frame: machine-owned
records with confidence >= threshold, plus audit records people already hold). Each
paper gets ``u = sha256(seed:paper_id)`` as a number in [0, 1); the sample is the k
records of the frame with the smallest u, k = min(|frame|, max(ceil(fraction * |frame|),
minimum)), plus every audit record a person already holds. The same database and seed
always give the same sample, a new paper joins exactly when its own u is small enough (so
the sample stays uniform as the corpus grows), and audit items are served in u order, so
any prefix of the audit that people finish is itself a uniform sample.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from . import confidence as conf
from .config import Settings
from .errors import ConflictError
from .schemas import PaperRecord, RecordStatus, ReviewReason
from .store import Store, record_data_hash, utcnow

MACHINE_OWNED = (RecordStatus.MACHINE.value, RecordStatus.QUEUED.value)
ROUTING_CODES = ("audit_sample", "low_confidence")
IMPACT_FLOOR = 0.02
WILD = "*"  # stands for "some country not otherwise in the set"


@dataclass(frozen=True)
class ImpactWeights:
    pair: float = 1.0
    international: float = 0.5
    any_change: float = 0.5


@dataclass
class QueueFilter:
    venue: str | None = None
    reason: str | None = None  # a reason code, e.g. backends_disagree
    country: str | None = None  # records whose (machine) set holds this code
    reviewer: str | None = None  # also show this reviewer's records in review; hide others'


@dataclass
class QueueItem:
    paper_id: str
    title: str | None
    status: str
    priority: float
    p_wrong: float
    impact: float
    reasons: list[str]  # sentences a reviewer can act on
    audit: bool
    countries: list[str]
    venue: str | None
    year: int | None
    reason_codes: list[str] = field(default_factory=list)
    version: int = 0
    reviewer: str | None = None
    source_file: str | None = None


@dataclass
class RouteSummary:
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


def country_prior(store: Store, top: int = 30) -> dict[str, float]:
    """Share of each country among the corpus's paper-country pairs (top ones + the rest)."""
    counts: Counter[str] = Counter()
    for row in store.query("SELECT countries FROM review_signals"):
        counts.update(json.loads(row["countries"] or "[]"))
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
    """Replace a machine-owned record (new version + log row); False if a person holds it now.

    Written here because :class:`~extractor.store.Store` has no public method for a machine
    change that is not a reconcile; it keeps the store's row layout and hash-chained log.
    """
    with store.write():
        row = store.db.execute("SELECT version, status FROM records WHERE paper_id = ?", [record.paper_id]).fetchone()
        if row is None or row[1] not in MACHINE_OWNED:
            return False
        if expected_version is not None and row[0] != expected_version:
            return False
        new = record.model_copy(update={"version": row[0] + 1})
        data = new.model_dump_json(exclude_none=True)
        out = store._record_row(new, data)
        sets = ", ".join(f"{k} = ?" for k in out if k != "paper_id")
        store.db.execute(f"UPDATE records SET {sets} WHERE paper_id = ? AND version = ?",
                         [v for k, v in out.items() if k != "paper_id"] + [record.paper_id, row[0]])
        store._append_log({"paper_id": record.paper_id, "action": action, "actor": "machine",
                           "version_before": row[0], "version_after": new.version, "status_before": row[1],
                           "status_after": new.status.value, "after_sha": record_data_hash(data)})
        return True


def _set_meta(store: Store, values: dict[str, Any]) -> None:
    with store.write():
        for k, v in values.items():
            store.db.execute("INSERT OR REPLACE INTO review_meta (key, value, updated_at) VALUES (?,?,?)",
                             [k, json.dumps(v), utcnow()])


def routing_meta(store: Store) -> dict[str, Any]:
    return {r["key"]: json.loads(r["value"]) for r in store.query("SELECT key, value FROM review_meta")}


# --------------------------------------------------------------------------- route


#: Records read per page by :func:`route` (bounded memory at any corpus size).
ROUTE_CHUNK = 1000
_ROUTE_SQL = """SELECT r.paper_id, r.status, r.version, r.audit, s.paper_id IS NOT NULL AS has_signals, s.features,
                       s.model_features, s.countries, s.alternatives
                FROM records r LEFT JOIN review_signals s USING (paper_id)"""


def _paged_by_id(store: Store, sql: str, chunk: int) -> Iterator[dict[str, Any]]:
    """Rows of ``sql`` (aliasing records as r, no WHERE) in paper-id order, ``chunk`` per query."""
    return _keyset_pages(store, sql + " WHERE 1", [], "r.paper_id", "r.paper_id > ?", lambda row: [row["paper_id"]],
                         chunk)


def _plan_records(store: Store, plan: dict[str, dict[str, Any]],
                  chunk: int) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(paper id, plan entry, record JSON) for the planned records, read ``chunk`` at a time.

    A record deleted since the plan was made is left out (as its rewrite would fail).
    """
    ids = list(plan)
    for i in range(0, len(ids), chunk):
        part = ids[i:i + chunk]
        data = dict(store.db.execute(f"SELECT paper_id, data FROM records WHERE paper_id IN ({','.join('?' for _ in part)})",
                                     part).fetchall())
        for pid in part:
            if pid in data:
                yield pid, plan[pid], data[pid]


def route(store: Store, settings: Settings, *, pair: tuple[str, str] = ("US", "CN"),
          weights: ImpactWeights = ImpactWeights()) -> RouteSummary:
    """Set status, confidence, priority and the audit sample of every machine-owned record."""
    models = {t: conf.load_model(store, t) for t in conf.TARGETS}
    prior = country_prior(store)
    thr = settings.confidence_threshold
    summary = RouteSummary(pair=tuple(pair), models={t: m.source for t, m in models.items()})
    plan: dict[str, dict[str, Any]] = {}
    frame: list[tuple[float, str]] = []
    held_audit: set[str] = set()
    # Pass 1 streams the records with their signals a page at a time (by paper id, no record
    # JSON) and keeps a few numbers per machine-owned record; pass 2 reads the JSON of those
    # records a chunk at a time to rewrite them. Memory: ~200 bytes per record, not the data.
    for row in _paged_by_id(store, _ROUTE_SQL, ROUTE_CHUNK):
        pid, status = row["paper_id"], row["status"]
        s = row if row["has_signals"] else None
        u = audit_u(settings.seed, pid)
        if status not in MACHINE_OWNED:
            summary.human += 1
            if row["audit"] and status in (RecordStatus.IN_REVIEW.value, RecordStatus.VERIFIED.value):
                held_audit.add(pid)
                frame.append((u, pid))
            continue
        if s is None:
            summary.no_signals += 1
            continue
        p_right = round(models[conf.COUNTRY].predict(json.loads(s["features"] or "{}")), 4)
        p_models = round(models[conf.MODELS].predict(json.loads(s["model_features"] or "{}")), 4)
        imp = impact(json.loads(s["countries"] or "[]"), json.loads(s["alternatives"] or "[]"),
                     pair=pair, prior=prior, weights=weights)
        plan[pid] = {"version": row["version"], "u": u, "p_right": p_right, "p_models": p_models, "impact": imp,
                     "priority": round((1 - p_right) * max(imp, IMPACT_FLOOR), 6)}
        if p_right >= thr:
            frame.append((u, pid))
    k = audit_target(len(frame), settings.audit_fraction, settings.audit_min)
    members = {pid for _, pid in sorted(frame)[:k]} | held_audit
    summary.audit_target, summary.audit_frame = k, len(frame)
    now = utcnow()
    for pid, p, data in _plan_records(store, plan, ROUTE_CHUNK):
        record = PaperRecord.model_validate_json(data)
        in_audit = pid in members
        queued = in_audit or p["p_right"] < thr
        status = RecordStatus.QUEUED if queued else RecordStatus.MACHINE
        reasons = [r for r in record.review_reasons if r.code not in ROUTING_CODES]
        if in_audit:
            reasons.append(ReviewReason(code="audit_sample", message=(
                "drawn for the uniform audit sample of confident records: checking it measures the "
                "machine's error rate (review it even if it looks right)"), detail={"u": round(p["u"], 6)}))
        elif queued and not reasons:
            from .reconcile import low_confidence_reason  # local: reconcile imports this module

            reasons.append(low_confidence_reason(p["p_right"], thr))
        new = record.model_copy(update={"status": status, "audit": in_audit, "confidence": p["p_right"],
                                        "model_confidence": p["p_models"], "priority": p["priority"],
                                        "review_reasons": reasons})
        summary.routed += 1
        summary.queued += queued
        summary.machine += not queued
        summary.audit += in_audit
        if new.model_dump(exclude={"provenance"}) != record.model_dump(exclude={"provenance"}):
            summary.changed += machine_rewrite(store, new, action="route", expected_version=p["version"])
    with store.write():
        for pid, p in plan.items():
            store.db.execute(
                """UPDATE review_signals SET p_wrong = ?, p_wrong_models = ?, impact = ?, priority = ?, audit_u = ?,
                   audit = ?, audit_drawn_at = CASE WHEN ? = 1 THEN coalesce(audit_drawn_at, ?) ELSE NULL END,
                   routed_at = ? WHERE paper_id = ?""",
                [round(1 - p["p_right"], 6), round(1 - p["p_models"], 6), p["impact"], p["priority"], p["u"],
                 int(pid in members), int(pid in members), now, now, pid])
    summary.audit = len(members)
    _set_meta(store, {"pair": list(pair), "weights": asdict(weights), "confidence_threshold": thr,
                      "audit_fraction": settings.audit_fraction, "audit_min": settings.audit_min,
                      "seed": settings.seed, "audit_target": k, "audit_frame": len(frame), "routed_at": now,
                      "models": summary.models})
    return summary


# --------------------------------------------------------------------------- read side for the UI


_ITEM_SQL = """SELECT r.paper_id, r.title, r.status, r.version, r.venue, r.year, r.audit, r.countries AS ccol,
                      r.reviewer, r.source_file, r.data, coalesce(s.priority, r.priority, 0) AS priority,
                      coalesce(s.p_wrong, 1 - r.confidence, 0) AS p_wrong, coalesce(s.impact, 0) AS impact,
                      coalesce(s.audit_u, 1) AS u, r.priority AS k_priority, coalesce(r.confidence, 1) AS k_conf
               FROM records r LEFT JOIN review_signals s USING (paper_id)"""

#: The priority order. ``records.priority`` is the priority routing wrote (the same value it
#: writes to ``review_signals``) and ``confidence`` is 1 - P(wrong), so this is "expected
#: impact, then P(wrong), then paper id" on the record's own columns: within one status the
#: index ``idx_records_queue_order`` (migration m007) serves it with no sort, and a page
#: starts where the last one stopped (keyset paging), however many records tie.
_PRIORITY_ORDER = " ORDER BY r.priority DESC, coalesce(r.confidence, 1), r.paper_id"
_AUDIT_ORDER_COLUMNS = "u, r.paper_id"
_AUDIT_ORDER = " ORDER BY " + _AUDIT_ORDER_COLUMNS


def _filter_clauses(filters: QueueFilter | None, audit: bool | None) -> tuple[list[str], list[Any]]:
    """The WHERE terms of the filters other than status/reviewer."""
    f = filters or QueueFilter()
    clauses: list[str] = []
    params: list[Any] = []
    if f.venue:
        clauses.append("lower(r.venue) = lower(?)")
        params.append(f.venue)
    if f.reason:
        clauses.append("r.reasons LIKE ?")
        params.append(f"%,{f.reason},%")
    if f.country:
        clauses.append("r.countries LIKE ?")
        params.append(f"%,{f.country.upper()},%")
    if audit is not None:
        clauses.append("r.audit = ?")
        params.append(int(audit))
    return clauses, params


def _where(filters: QueueFilter | None, statuses: Iterable[str], audit: bool | None) -> tuple[str, list[Any]]:
    f = filters or QueueFilter()
    status_list = list(statuses)
    clauses = [f"(r.status IN ({','.join('?' for _ in status_list)})"]
    params: list[Any] = list(status_list)
    if f.reviewer:
        clauses[0] += " OR (r.status = 'in_review' AND r.reviewer = ?))"
        params.append(f.reviewer)
    else:
        clauses[0] += ")"
    more, more_params = _filter_clauses(f, audit)
    return " WHERE " + " AND ".join(clauses + more), params + more_params


def _order(audit: bool | None) -> str:
    return _AUDIT_ORDER if audit else _PRIORITY_ORDER


def _item(row: dict[str, Any]) -> QueueItem:
    record = json.loads(row["data"])
    reasons = record.get("review_reasons", [])
    return QueueItem(
        paper_id=row["paper_id"], title=row["title"], status=row["status"], priority=row["priority"] or 0.0,
        p_wrong=row["p_wrong"] or 0.0, impact=row["impact"] or 0.0, reasons=[r["message"] for r in reasons],
        audit=bool(row["audit"]), countries=[c for c in (row["ccol"] or "").split(",") if c], venue=row["venue"],
        year=row["year"], reason_codes=[r["code"] for r in reasons], version=row["version"],
        reviewer=row["reviewer"], source_file=row["source_file"])


def _priority_key(row: dict[str, Any]) -> tuple[float, float, str]:
    """The priority order as an ascending Python key (a NULL priority sorts last, as in SQL)."""
    p = row["k_priority"]
    return (-p if p is not None else math.inf, row["k_conf"], row["paper_id"])


def _keyset(store: Store, where: str, params: list[Any], batch: int) -> Iterator[dict[str, Any]]:
    """One status's rows in priority order, ``batch`` at a time, each page found by key.

    A page after the first is the rest of the last row's priority group (same priority and
    confidence, larger paper id; then same priority, larger confidence) followed by the lower
    priorities; all are index range scans of ``idx_records_queue_order``, so a page costs the
    same at any depth of the queue (OFFSET paging re-read every earlier row: quadratic). Each page is read completely
    before it is yielded, so a caller may write (claim) between rows.
    """
    rows = store.query(_ITEM_SQL + where + _PRIORITY_ORDER + " LIMIT ?", params + [batch])
    while True:
        yield from rows
        if len(rows) < batch:
            return
        last = rows[-1]
        p, c, pid = last["k_priority"], last["k_conf"], last["paper_id"]
        same = where + " AND r.priority IS ? AND coalesce(r.confidence, 1) "  # index ranges, never a sort
        rows = store.query(_ITEM_SQL + same + "= ? AND r.paper_id > ? ORDER BY r.paper_id LIMIT ?",
                           params + [p, c, pid, batch])
        if len(rows) < batch:
            rows += store.query(_ITEM_SQL + same + "> ?" + _PRIORITY_ORDER + " LIMIT ?", params + [p, c, batch - len(rows)])
        if len(rows) < batch and p is not None:  # NULL priorities come last: nothing below them
            rows += store.query(_ITEM_SQL + where + " AND r.priority < ?" + _PRIORITY_ORDER + " LIMIT ?",
                                params + [p, batch - len(rows)])


#: The audit order read from review_signals' (audit_u, paper_id) index (m007), each row's
#: record looked up by key: the first rows of the draw are found without reading the queue.
_AUDIT_SQL = _ITEM_SQL.replace("FROM records r LEFT JOIN review_signals s USING (paper_id)",
                               "FROM review_signals s CROSS JOIN records r ON r.paper_id = s.paper_id")


def _audit_rows(store: Store, terms: str, params: list[Any], batch: int) -> Iterator[dict[str, Any]]:
    """Rows passing ``terms`` (on ``r``) in audit draw order ``(coalesce(audit_u, 1), paper_id)``, by key.

    Records with a drawn ``audit_u`` come from the signals index in draw order; records
    without one (u counts as 1, after every draw in [0, 1)) follow in paper-id order.
    """
    drawn = _AUDIT_SQL + " WHERE s.audit_u IS NOT NULL AND " + terms
    yield from _keyset_pages(store, drawn, params, "s.audit_u, s.paper_id", "(s.audit_u, s.paper_id) > (?, ?)",
                             lambda row: [row["u"], row["paper_id"]], batch)
    undrawn = _ITEM_SQL + " WHERE s.audit_u IS NULL AND " + terms
    yield from _keyset_pages(store, undrawn, params, "r.paper_id", "r.paper_id > ?", lambda row: [row["paper_id"]], batch)


def _keyset_pages(store: Store, sql: str, params: list[Any], order: str, after: str,
                  key: Callable[[dict[str, Any]], list[Any]], batch: int) -> Iterator[dict[str, Any]]:
    """Rows of ``sql`` (a query ending in a WHERE clause) in ``order``, ``batch`` at a time.

    Keyset paging: each page starts after the last row's key (``after`` compares the
    ``order`` columns with it), so a page costs the same at any depth, unlike OFFSET.
    """
    rows = store.query(f"{sql} ORDER BY {order} LIMIT ?", params + [batch])
    while True:
        yield from rows
        if len(rows) < batch:
            return
        rows = store.query(f"{sql} AND {after} ORDER BY {order} LIMIT ?", params + key(rows[-1]) + [batch])


def _sources(filters: QueueFilter | None, statuses: Iterable[str], reviewer: str | None) -> list[tuple[str, list[Any]]]:
    """One (status [and reviewer]) WHERE clause per stream that an index keeps in order."""
    f = filters or QueueFilter()
    status_list = list(dict.fromkeys(statuses))
    out = [("r.status = ?" + (" AND r.reviewer = ?" if reviewer else ""), [s, reviewer] if reviewer else [s])
           for s in status_list]
    if f.reviewer and not reviewer and RecordStatus.IN_REVIEW.value not in status_list:
        out.append(("r.status = ? AND r.reviewer = ?", [RecordStatus.IN_REVIEW.value, f.reviewer]))
    return out


def _iter_items(store: Store, filters: QueueFilter | None, audit: bool | None, statuses: Iterable[str],
                batch: int = 200, *, reviewer: str | None = None) -> Iterator[dict[str, Any]]:
    """Rows of the records with these statuses that pass the filters, in queue order.

    ``audit`` True: the audit items in draw (u) order; otherwise priority order. With
    ``filters.reviewer`` the in-review records of that reviewer are included; ``reviewer``
    restricts every status to records that reviewer holds. Pages are found by key (never
    OFFSET), so reading the whole queue is linear in its size.
    """
    more, more_params = _filter_clauses(filters, audit)
    sources = _sources(filters, statuses, reviewer)
    if not sources:
        return
    terms = ["(" + " OR ".join(f"({c})" for c, _ in sources) + ")", *more]
    params = [p for _, ps in sources for p in ps] + more_params
    if audit and reviewer:
        # One reviewer's open records: a handful, found through the records index and sorted.
        yield from _keyset_pages(store, _ITEM_SQL + " WHERE " + " AND ".join(terms), params, _AUDIT_ORDER_COLUMNS,
                                 "(u, r.paper_id) > (?, ?)", lambda row: [row["u"], row["paper_id"]], batch)
        return
    if audit:
        yield from _audit_rows(store, " AND ".join(terms), params, batch)
        return
    streams = [_keyset(store, " WHERE " + " AND ".join([c, *more]), ps + more_params, batch) for c, ps in sources]
    yield from streams[0] if len(streams) == 1 else heapq.merge(*streams, key=_priority_key)


def queue_head(store: Store, *, n: int = 20, filters: QueueFilter | None = None, audit: bool | None = None) -> list[QueueItem]:
    """The next ``n`` queued records: priority order; audit=True -> audit items in draw (u) order."""
    if n <= 0:
        return []
    rows = _iter_items(store, filters, audit, [RecordStatus.QUEUED.value], batch=n)
    return [_item(r) for r in itertools.islice(rows, n)]


def next_record(store: Store, reviewer: str, *, filters: QueueFilter | None = None, audit: bool | None = False,
                skip_ids: Iterable[str] = (), claim: bool = False) -> PaperRecord | None:
    """The record ``reviewer`` should look at next, or None when the queue is empty.

    A record the reviewer already has in review comes first (resume). Then the queue:
    audit=False the priority queue without audit items, True the audit items in draw
    order, None everything by priority. With ``claim`` the record is moved to in_review for
    this reviewer under optimistic locking; a record someone else claimed first is
    skipped, so two reviewers never get the same record.
    """
    skip = set(skip_ids)
    f = filters or QueueFilter()
    mine = QueueFilter(f.venue, f.reason, f.country, None)
    for row in _iter_items(store, mine, audit, [RecordStatus.IN_REVIEW.value], batch=20, reviewer=reviewer):
        if row["reviewer"] == reviewer and row["paper_id"] not in skip:
            return PaperRecord.model_validate_json(row["data"])
    for row in _iter_items(store, mine, audit, [RecordStatus.QUEUED.value], batch=max(20, len(skip) + 1)):
        if row["paper_id"] in skip:
            continue
        record = PaperRecord.model_validate_json(row["data"])
        if not claim:
            return record
        prov = record.provenance.model_copy(update={"reviewer": reviewer})
        try:
            return store.save_record(record.model_copy(update={"status": RecordStatus.IN_REVIEW, "provenance": prov}),
                                     expected_version=record.version, action="claim", actor=reviewer)
        except ConflictError:
            continue
    return None


def queue_counts(store: Store, filters: QueueFilter | None = None) -> dict[str, Any]:
    """Counts by status and by reason code, the audit's progress and the impact still queued.

    One grouped pass over the records (no ORDER BY, no JSON): the ``reasons`` column holds
    the record's reason codes, written with the record.
    """
    statuses = [s.value for s in RecordStatus]
    more, more_params = _filter_clauses(filters, None)
    where = " WHERE " + " AND ".join([f"r.status IN ({','.join('?' for _ in statuses)})", *more])
    by_status: Counter[str] = Counter()
    by_reason: Counter[str] = Counter()
    audit: Counter[str] = Counter()
    remaining = 0.0
    rows = store.db.execute(
        "SELECT r.status, coalesce(r.audit, 0) != 0, r.reasons, count(*), sum(CASE WHEN r.status IN "
        "('queued', 'in_review') AND NOT coalesce(r.audit, 0) THEN coalesce((SELECT s.priority FROM review_signals s WHERE s.paper_id = r.paper_id), "
        "r.priority, 0) ELSE 0 END) FROM records r" + where + " GROUP BY 1, 2, 3", statuses + more_params)
    for st, aud, reasons, n, prio in rows:
        by_status[st] += n
        if st in (RecordStatus.QUEUED.value, RecordStatus.IN_REVIEW.value):
            for code in {c for c in (reasons or "").split(",") if c}:
                by_reason[code] += n
            if not aud:
                remaining += prio or 0.0
        if aud:
            audit["drawn"] += n
            key = {"verified": "done", "rejected": "rejected", "in_review": "in_review"}.get(st, "pending")
            audit[key] += n
    return {"by_status": dict(sorted(by_status.items())),
            "by_reason": dict(sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0]))),
            "audit": {k: audit.get(k, 0) for k in ("drawn", "pending", "in_review", "done", "rejected")},
            "remaining_impact_mass": round(remaining, 4)}


def review_progress(store: Store, *, epsilon: float = 0.5) -> dict[str, Any]:
    """Share of the expected-impact mass already reviewed, and whether what is left matters.

    Mass is the sum of ``priority`` (expected papers by which a correction moves the
    aggregates) as routed last; reviewed records keep the value they had when taken over.
    ``done`` means the queued remainder is below ``epsilon``: everything that can change the
    result has been reviewed; the confident (unqueued) records' residual mass is what the
    audit sample estimates.
    """
    rows = store.query("""SELECT r.status, r.audit, coalesce(s.priority, 0) AS priority FROM records r
                          LEFT JOIN review_signals s USING (paper_id) WHERE r.status != 'failed'""")
    total = reviewed = queued = confident = 0.0
    for row in rows:
        p = row["priority"] or 0.0
        total += p
        if row["status"] in (RecordStatus.VERIFIED.value, RecordStatus.REJECTED.value):
            reviewed += p
        elif row["status"] == RecordStatus.MACHINE.value or row["audit"]:
            confident += p
        else:
            queued += p
    done = queued < epsilon
    return {
        "total_mass": round(total, 4), "reviewed_mass": round(reviewed, 4), "queued_mass": round(queued, 4),
        "confident_mass": round(confident, 4), "share_reviewed": round(reviewed / total, 4) if total else 1.0,
        "epsilon": epsilon, "done": done,
        "message": ("everything that can change the result is reviewed" if done and reviewed > 0 or queued == 0 else
                    f"everything that can change the result is reviewed (the queue's expected corrections, "
                    f"{queued:.2f}, are below {epsilon})" if done else
                    f"{queued:.2f} expected aggregate-moving corrections still in the queue"),
    }


def audit_design(store: Store) -> dict[str, Any]:
    """What an estimator needs to know about the audit sample: frame size, target, members."""
    meta = routing_meta(store)
    members = [r["paper_id"] for r in store.query(
        "SELECT r.paper_id FROM records r LEFT JOIN review_signals s USING (paper_id) WHERE r.audit = 1 "
        "ORDER BY coalesce(s.audit_u, 1), r.paper_id")]
    return {"frame": meta.get("audit_frame"), "target": meta.get("audit_target"), "seed": meta.get("seed"),
            "fraction": meta.get("audit_fraction"), "minimum": meta.get("audit_min"), "members": members}
