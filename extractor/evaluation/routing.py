"""Review metrics for ``collabscope eval``: is the confidence calibrated, does the queue find the errors?

Given gold labels (the real-PDF gold format or the generator's ``truth.jsonl``), each
record's *machine* answer (the record itself, or for a record a person changed, the
audit log's ``before`` of the first human change after the last machine write) is
compared with the gold country set and model-family set. Then:

* **calibration** of ``confidence`` = P(country set right) and ``model_confidence``:
  expected calibration error (ECE, 10 equal-width bins: sum of bin share x |mean
  predicted - observed|), Brier score, AUC, and the reliability table;
* **review efficiency**: order the records as the queue serves them (priority, then
  P(wrong)) and report the share of all paper-level country-set errors that sit in the top
  5%, 10%, 15% and 20% of that order (percentages of all matched records), plus the same
  with P(wrong) alone, the same with each error weighted by how far it moves the
  aggregates (its impact, as the queue defines it), and the share of errors the queued
  records hold;
* every queued record has at least one reason (count of those that do not);
* the errors ranked below the top 15% (``missed_errors``), each with its rank, P(wrong)
  and reason codes: where to look for the signal that would have caught them.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from extractor.errors import NotFoundError
from extractor.evaluation.gold import load_gold
from extractor.reconcile.confidence import machine_versions, reliability
from extractor.reconcile.confidence import metrics as calib_metrics
from extractor.reconcile.routing import ImpactWeights, impact, routing_meta
from extractor.schemas import PaperContent, RecordStatus, paper_id_for
from extractor.store import Store

CUTOFFS = (0.05, 0.10, 0.15, 0.20)
#: Errors ranked below this share of the queue are listed (``missed_errors``): the queue should hold
#: the errors within its top 15%.
MISSED_BELOW = 0.15


def _norm_title(t: str | None) -> str:
    return " ".join("".join(ch for ch in (t or "").casefold() if ch.isalnum() or ch.isspace()).split())


def machine_contents(store: Store) -> dict[str, PaperContent]:
    """Machine version of every record a person changed since the machine last wrote it."""
    return {pid: PaperContent.model_validate_json(text) for pid, text in machine_versions(store).items()}


def _match(store: Store, gold: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """paper_id -> gold row, by file name, then file stem = gold id, then normalised title."""
    docs = store.document_index(ok_only=True)
    by_file = {d["source_file"]: paper_id_for(d["sha256"]) for d in docs}
    by_stem = {Path(d["source_file"]).stem: paper_id_for(d["sha256"]) for d in docs}
    by_title = {_norm_title(d["title"]): paper_id_for(d["sha256"]) for d in docs if d["title"]}
    out = {}
    for g in gold:
        pid = (by_file.get(g.get("source_file") or "") or by_stem.get(str(g.get("id", "")).replace(":", "-"))
               or by_stem.get(str(g.get("id", ""))) or by_title.get(_norm_title(g.get("title"))))
        if pid:
            out[pid] = g
    return out


def _gold_countries(g: dict[str, Any]) -> list[str]:
    if "countries" in g:
        return sorted(set(g["countries"]))
    return sorted({a["country"] for a in g.get("affiliations", []) if a.get("country")})


def _gold_families(g: dict[str, Any]) -> list[str] | None:
    if "model_mentions" not in g:
        return None
    fams = [m.get("family") for m in g["model_mentions"] if m.get("tier", "core") == "core"]
    return sorted({f for f in fams if f})


def capture(order: list[float], cutoffs: Iterable[float] = CUTOFFS) -> dict[str, float | None]:
    """Share of the error weight (True/1 per error, or an impact) within the first k% of ``order``."""
    total = sum(order)
    out: dict[str, float | None] = {}
    for c in cutoffs:
        top = math.ceil(c * len(order))
        out[f"top_{round(c * 100)}%"] = (sum(order[:top]) / total) if total else None
    return out


def _true_impact(machine: list[str], gold: list[str], meta: dict[str, Any]) -> float:
    """How far the machine's error moves the aggregates: the queue's impact of the real correction."""
    w = ImpactWeights(**meta["weights"]) if meta.get("weights") else ImpactWeights()
    pair = tuple(meta.get("pair") or ("US", "CN"))
    return impact(machine, [{"set": gold, "wild": False}], pair=pair, weights=w)  # type: ignore[arg-type]


def review_metrics(store: Store, gold: list[dict[str, Any]] | Path | str, *, paper_ids: Iterable[str] | None = None,
                   bins: int = 10, cutoffs: Iterable[float] = CUTOFFS) -> dict[str, Any]:
    """Calibration and review-efficiency figures for the records that match gold papers."""
    gold_rows = load_gold(gold) if isinstance(gold, (str, Path)) else list(gold)
    matched = _match(store, gold_rows)
    wanted = set(paper_ids) if paper_ids is not None else None
    machine = machine_contents(store)
    meta = routing_meta(store)
    signals = store.signal_scores()
    rows = []
    for pid, g in matched.items():
        if wanted is not None and pid not in wanted:
            continue
        try:
            record = store.get_record(pid)
        except NotFoundError:
            continue
        if record.status == RecordStatus.REJECTED:
            continue
        content = machine.get(pid) or record
        s = signals.get(pid) or {}
        p_wrong = s.get("p_wrong") if s.get("p_wrong") is not None else 1 - (record.confidence or 0.0)
        fams = _gold_families(g)
        rows.append({
            "paper_id": pid,
            "country_right": content.countries() == _gold_countries(g),
            "true_impact": _true_impact(content.countries(), _gold_countries(g), meta),
            "families_right": None if fams is None else content.model_families() == fams,
            "p_right": 1 - p_wrong,
            "p_models": record.model_confidence,
            "priority": s.get("priority") if s.get("priority") is not None else record.priority,
            "p_wrong": p_wrong,
            "queued": record.status in (RecordStatus.QUEUED, RecordStatus.IN_REVIEW) and not record.audit,
            "audit": record.audit,
            "reasons": len(record.review_reasons),
            "codes": [r.code for r in record.review_reasons],
            "source_file": record.source_file,
            "status": record.status.value,
        })
    n = len(rows)
    errors = [not r["country_right"] for r in rows]
    by_queue = sorted(rows, key=lambda r: (-(r["priority"] or 0.0), -r["p_wrong"], r["paper_id"]))
    by_p = sorted(rows, key=lambda r: (-r["p_wrong"], r["paper_id"]))
    queued = [r for r in rows if r["queued"]]
    fam_rows = [r for r in rows if r["families_right"] is not None and r["p_models"] is not None]
    out: dict[str, Any] = {
        "papers": n,
        "gold_unmatched": len(gold_rows) - len(matched),
        "country_errors": sum(errors),
        "country_error_rate": (sum(errors) / n) if n else None,
        "calibration": {**calib_metrics([r["p_right"] for r in rows], [int(r["country_right"]) for r in rows], bins),
                        "reliability": reliability([r["p_right"] for r in rows], [int(r["country_right"]) for r in rows], bins)},
        "efficiency": capture([not r["country_right"] for r in by_queue], cutoffs),
        "efficiency_by_p_wrong": capture([not r["country_right"] for r in by_p], cutoffs),
        "efficiency_impact_weighted": capture([r["true_impact"] for r in by_queue], cutoffs),
        "queued": {"records": len(queued), "share": (len(queued) / n) if n else None,
                   "errors_held": (sum(not r["country_right"] for r in queued) / sum(errors)) if sum(errors) else None},
        "queued_without_reason": sum(1 for r in rows if r["status"] in ("queued", "in_review") and r["reasons"] == 0),
        "missed_errors": missed_errors(by_queue, MISSED_BELOW),
    }
    if fam_rows:
        out["model_calibration"] = calib_metrics([r["p_models"] for r in fam_rows], [int(r["families_right"]) for r in fam_rows], bins)
    return out


def missed_errors(order: list[dict[str, Any]], share: float) -> list[dict[str, Any]]:
    """The errors below the top ``share`` of the queue order, with what the machine saw in them.

    For finding the signal that would have caught them: rank, P(wrong), priority and the
    reason codes the record carried (an empty list: nothing fired).
    """
    top = math.ceil(share * len(order))
    return [{"paper_id": r["paper_id"], "source_file": r["source_file"], "rank": i, "p_wrong": round(r["p_wrong"], 4),
             "priority": r["priority"], "codes": r["codes"]}
            for i, r in enumerate(order) if i >= top and not r["country_right"]]


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.1%}"


def _num(v: float | None, digits: int = 3) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def format_markdown(m: dict[str, Any]) -> str:
    """The review metrics as Markdown (for docs/ACCURACY.md and the simulation report)."""
    if not m or not m.get("papers"):
        return "_no records matched the gold papers_"
    c = m["calibration"]
    lines = [
        f"- papers: {m['papers']}; machine country-set errors: {m['country_errors']} ({_pct(m['country_error_rate'])})",
        f"- calibration of P(country set right): ECE {_num(c.get('ece'))}, Brier {_num(c.get('brier'))}, "
        f"AUC {_num(c.get('auc'))}, mean predicted {_pct(c.get('mean_p'))} vs observed {_pct(c.get('share_right'))}",
    ]
    if "model_calibration" in m:
        mc = m["model_calibration"]
        lines.append(f"- calibration of P(model-family set right): ECE {_num(mc.get('ece'))}, "
                     f"observed {_pct(mc.get('share_right'))} vs mean predicted {_pct(mc.get('mean_p'))}")
    lines.append(f"- queued for review (excluding audit): {m['queued']['records']} records "
                 f"({_pct(m['queued']['share'])}), holding {_pct(m['queued']['errors_held'])} of the errors; "
                 f"queued records without a reason: {m['queued_without_reason']}")
    missed = m.get("missed_errors") or []
    if missed:
        codes = Counter(c for e in missed for c in (e["codes"] or ["(no reason)"]))
        lines.append(f"- errors below the top {MISSED_BELOW:.0%} of the queue: {len(missed)}; their reasons: "
                     + ", ".join(f"{c} {k}" for c, k in codes.most_common()))
    lines += ["", "| share of errors in the top … of the queue | " + " | ".join(m["efficiency"]) + " |",
              "| --- | " + " | ".join("---" for _ in m["efficiency"]) + " |",
              "| queue order (priority = P(wrong) × impact) | " + " | ".join(_pct(v) for v in m["efficiency"].values()) + " |",
              "| P(wrong) alone | " + " | ".join(_pct(v) for v in m["efficiency_by_p_wrong"].values()) + " |",
              "| queue order, errors weighted by their impact | "
              + " | ".join(_pct(v) for v in m.get("efficiency_impact_weighted", {}).values()) + " |",
              "", "| P(right) bin | records | mean predicted | observed right |", "| --- | --- | --- | --- |"]
    for r in c.get("reliability", []):
        if r["n"]:
            lines.append(f"| {r['bin']} | {r['n']} | {_pct(r['mean_p'])} | {_pct(r['observed'])} |")
    return "\n".join(lines)

