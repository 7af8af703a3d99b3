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
from extractor.evaluation.routing import review_metrics
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
        lines.append("review metrics:")
        for k, v in review.items():
            shown = json.dumps(v, default=str, ensure_ascii=False) if isinstance(v, (dict, list)) else v
            lines.append(f"  {k}: {shown}")
    if show_misses:
        country = sum(m.country_wrong for m in report.misses)
        lines.append(f"misses: {len(report.misses)} papers differ from gold ({country} in the country set); "
                     f"showing {min(show_misses, len(report.misses))}")
        for m in report.misses[:show_misses]:
            lines += _miss_lines(m)
    return "\n".join(lines)


def _review_metrics(store: Store, gold: list[dict[str, Any]]) -> dict[str, Any]:
    """Calibration and review-efficiency figures; a failure there is reported in the
    section instead of hiding the main figures above it."""
    try:
        return review_metrics(store, gold)
    except Exception as exc:  # noqa: BLE001 - shown as the section's content
        return {"error": f"{type(exc).__name__}: {exc}"}


@command("eval")
def eval_cmd(
    gold: Annotated[Path, typer.Option("--gold", help="Gold labels (JSONL, the real-PDF gold format or the generator's truth.jsonl).")],
    backend: Annotated[str | None, typer.Option("--backend", "-b", help="Score this backend's raw extractions instead of the reconciled records.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")] = False,
    show_misses: Annotated[int, typer.Option("--show-misses", help="List this many papers that differ from gold.")] = 20,
    group_hk_mo: Annotated[bool, typer.Option("--group-hk-mo", help="Count HK and MO as CN (default: own codes).")] = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Score the extracted records against gold labels and list the misses.

    Prints paper-level country-set exact match, per-author country accuracy, US–CN
    collaboration flag precision/recall/F1, institution F1 and model-family F1 (core tier
    when the gold marks tiers). Gold papers are matched to documents by file name, id
    (= file stem) or title. Scoring the reconciled records (no --backend) adds the
    review-queue metrics: calibration and how many errors the top of the queue holds.

    Example: collabscope eval --db /tmp/naacl.db --gold /tmp/naacl/truth.jsonl --backend rules
    """
    settings = settings_from(db, config)
    gold_rows = load_gold(gold)
    with open_store(settings, create=False) as store:
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
