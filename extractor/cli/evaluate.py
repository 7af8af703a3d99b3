"""``collabscope eval``: score the database's records (or one backend) against gold labels."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from extractor.cli.common import EXIT_OK, ConfigOpt, DbOpt, command, console_out, open_store, settings_from
from extractor.evaluation.gold import (
    EvalReport,
    PaperMiss,
    evaluate,
    load_gold,
    predictions_from_store,
    status_breakdown,
)
from extractor.evaluation.routing import MISSED_BELOW, review_metrics
from extractor.store import Store


def _pct(x: float | None) -> str:
    return "  n/a" if x is None else f"{x:.3f}"


def _counts_line(label: str, c: Any) -> str:
    return (f"{label:<30} F1 {_pct(c['f1'])}  P {_pct(c['precision'])}  R {_pct(c['recall'])}"
            f"  (tp {c['tp']}, fp {c['fp']}, fn {c['fn']})")


def _ratio_line(label: str, r: Any) -> str:
    return f"{label:<30} {_pct(r['value'])}  ({r['hit']}/{r['n']})"


def _miss_lines(m: PaperMiss) -> list[str]:
    head = f"- {m.gold_id} [{m.source_file or 'no document'}]"
    if m.note:
        head += f"  ({m.note})"
    out = [head]
    if m.country_wrong:
        out.append(f"    countries: expected {', '.join(m.countries_expected) or '-'}; got {', '.join(m.countries_got) or '-'}")
    for a in m.author_misses[:8]:
        got = a["got"] if isinstance(a["got"], str) else (", ".join(a["got"]) or "-")
        out.append(f"    author {a['name']}: expected {', '.join(a['expected']) or '-'}; got {got}")
    if len(m.author_misses) > 8:
        out.append(f"    ... {len(m.author_misses) - 8} more authors")
    if m.institutions_missing or m.institutions_extra:
        out.append(f"    institutions missing: {'; '.join(m.institutions_missing) or '-'} | extra: {'; '.join(m.institutions_extra) or '-'}")
    if m.families_missing or m.families_extra:
        out.append(f"    model families missing: {', '.join(m.families_missing) or '-'} | extra: {', '.join(m.families_extra) or '-'}")
    return out


def render_text(report: EvalReport, statuses: dict[str, int], show_misses: int,
                review: dict[str, Any] | None = None) -> str:
    d = report.as_dict()
    lines = [
        f"gold papers {report.n_gold}; matched {report.n_matched}; evaluated: {report.source} "
        f"({', '.join(f'{k} {v}' for k, v in sorted(statuses.items()))})",
        _ratio_line("paper country set exact", d["country_set_exact"]),
        _ratio_line("per-author country accuracy", d["author_country_accuracy"]),
        _counts_line("US–CN collaboration flag", d["us_cn_flag"]),
        _counts_line("institution", d["institution"]),
        _counts_line(f"model family ({report.families_scope})", d["model_family"]),
        _counts_line("author names", d["author_names"]),
        _ratio_line("author emails", d["email_accuracy"]),
    ]
    if len(report.by_group) > 1:
        lines.append("country set exact by layout: " + ", ".join(
            f"{k} {_pct(v.value)} ({v.hit}/{v.n})" for k, v in sorted(report.by_group.items())))
    if review is not None:
        lines += review_lines(review)
    if show_misses:
        country = sum(m.country_wrong for m in report.misses)
        lines.append(f"misses: {len(report.misses)} papers differ from gold ({country} in the country set); "
                     f"showing {min(show_misses, len(report.misses))}")
        for m in report.misses[:show_misses]:
            lines += _miss_lines(m)
    return "\n".join(lines)


def _share(v: Any) -> str:
    return "n/a" if v is None or v != v else f"{v:.1%}"  # v != v: NaN


def _num(v: Any) -> str:
    return "n/a" if not isinstance(v, (int, float)) or v != v else f"{v:.3f}"


def _calibration_line(label: str, c: dict[str, Any]) -> str:
    if not c.get("n"):
        return f"  {label}: no records"
    return (f"  {label}: n {c['n']}, {_share(c.get('share_right'))} right vs mean predicted {_share(c.get('mean_p'))}; "
            f"ECE {_num(c.get('ece'))}, Brier {_num(c.get('brier'))}, log loss {_num(c.get('log_loss'))}, "
            f"AUC {_num(c.get('auc'))}")


def _capture_line(label: str, cap: dict[str, Any]) -> str:
    return f"  {label}: " + (", ".join(f"{k.replace('_', ' ')} {_share(v)}" for k, v in cap.items()) or "n/a")


def review_lines(review: dict[str, Any]) -> list[str]:
    """The review-queue metrics as sentences (``--json`` keeps every figure as data)."""
    if "error" in review:
        return [f"review metrics: not available ({review['error']})"]
    if not review.get("papers"):
        return ["review metrics: no record matches a gold paper"]
    lines = [f"review metrics: {review['papers']} records matched to gold ({review.get('gold_unmatched', 0)} gold "
             f"papers unmatched); {review['country_errors']} with a wrong country set "
             f"({_share(review.get('country_error_rate'))})"]
    lines.append(_calibration_line("calibration of P(country set right)", review.get("calibration") or {}))
    if "model_calibration" in review:
        lines.append(_calibration_line("calibration of P(model families right)", review["model_calibration"]))
    lines.append(_capture_line("country-set errors in the top of the queue", review.get("efficiency") or {}))
    lines.append(_capture_line("... ordered by P(wrong) alone", review.get("efficiency_by_p_wrong") or {}))
    lines.append(_capture_line("... weighted by their impact", review.get("efficiency_impact_weighted") or {}))
    q = review.get("queued") or {}
    lines.append(f"  queued for a doubt: {q.get('records', 0)} records ({_share(q.get('share'))}), holding "
                 f"{_share(q.get('errors_held'))} of the errors; {review.get('queued_without_reason', 0)} queued "
                 "without a reason")
    missed = review.get("missed_errors") or []
    shown = [f"{m['paper_id']} (rank {m['rank']}, P(wrong) {m['p_wrong']:.2f}, reasons: {', '.join(m['codes']) or 'none'})"
             for m in missed[:5]]
    lines.append(f"  errors below the top {MISSED_BELOW:.0%} of the queue: {len(missed)}" + (": " + "; ".join(shown) if shown else "")
                 + (f"; +{len(missed) - 5} more (--json lists them)" if len(missed) > 5 else ""))
    return lines


def _review_metrics(store: Store, gold: list[dict[str, Any]]) -> dict[str, Any]:
    """Calibration and review-efficiency figures; a failure there is reported in the
    section instead of hiding the main figures above it."""
    try:
        return review_metrics(store, gold)
    except Exception as exc:  # noqa: BLE001 - shown as the section's content
        return {"error": f"{type(exc).__name__}: {exc}"}


@command("eval")
def eval_cmd(
    gold: Annotated[Path | None, typer.Option("--gold", help="Gold labels (JSONL, the real-PDF gold format or the generator's truth.jsonl).")] = None,
    backend: Annotated[str | None, typer.Option("--backend", "-b", help="Score this backend's raw extractions instead of the reconciled records.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")] = False,
    show_misses: Annotated[int, typer.Option("--show-misses", help="List this many papers that differ from gold.")] = 20,
    group_hk_mo: Annotated[bool, typer.Option("--group-hk-mo", help="Count HK and MO as CN (default: own codes).")] = False,
    venue_labels: Annotated[bool, typer.Option("--venue-labels", help="Compare the records with the country labels the venue source gave (collected venue metadata) instead of --gold; lists the disagreements.")] = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Score the extracted records against gold labels and list the misses.

    Prints paper-level country-set exact match, per-author country accuracy, US–CN
    collaboration flag precision/recall/F1, institution F1 and model-family F1 (core tier
    when the gold marks tiers). Gold papers are matched to documents by file name, id
    (= file stem) or title. Scoring the reconciled records (no --backend) adds the
    review-queue metrics: calibration and how many errors the top of the queue holds.

    With --venue-labels (no --gold) the records are compared with the venue source's own
    per-paper country labels stored by `collabscope collect` (see
    extractor/evaluation/venue.py): agreement, the US–CN share both ways, the disagreements.

    Example: collabscope eval --db /tmp/naacl.db --gold /tmp/naacl/truth.jsonl --backend rules
    Example: collabscope eval --db nips.db --venue-labels --group-hk-mo
    """
    settings = settings_from(db, config)
    if venue_labels:
        from extractor.evaluation.venue import evaluate_venue_labels, render_venue_labels

        with open_store(settings) as store:
            vreport = evaluate_venue_labels(store, group_hk_mo_with_cn=group_hk_mo)
        if as_json:
            typer.echo(json.dumps(vreport.as_dict(), ensure_ascii=False, indent=1, default=str))
        else:
            console_out.print(render_venue_labels(vreport, show_misses), markup=False, highlight=False)
        raise typer.Exit(EXIT_OK)
    if gold is None:
        raise typer.BadParameter("give --gold FILE, or --venue-labels to compare with collected venue labels")
    gold_rows = load_gold(gold)
    with open_store(settings) as store:
        preds = predictions_from_store(store, backend, group_hk_mo_with_cn=group_hk_mo)
        report = evaluate(gold_rows, preds, source=f"{backend} extractions" if backend else "records",
                          group_hk_mo_with_cn=group_hk_mo)
        review = _review_metrics(store, gold_rows) if backend is None else None
    statuses = status_breakdown(preds)
    if as_json:
        out = report.as_dict() | {"statuses": statuses}
        if review is not None:
            out["review"] = review
        typer.echo(json.dumps(out, ensure_ascii=False, indent=1, default=str))
    else:
        console_out.print(render_text(report, statuses, show_misses, review), markup=False, highlight=False)
    raise typer.Exit(EXIT_OK)
