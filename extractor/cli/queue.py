"""Review-queue commands: ``queue`` (head and counts), ``calibrate`` (refit confidence), ``simulate``."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from extractor.cli.common import (
    EXIT_OK,
    ConfigOpt,
    DbOpt,
    QuietOpt,
    check_country,
    command,
    console_out,
    open_store,
    settings_from,
    summary,
)
from extractor.errors import ConfigError
from extractor.reconcile.confidence import calibrate, reset_models
from extractor.reconcile.routing import ROUTING_CODES, ImpactWeights, route
from extractor.reconcile.signals import REASON_ORDER
from extractor.review.queue import QueueFilter, queue_counts, queue_head, review_progress

PairOpt = Annotated[str, typer.Option("--pair", help="Country pair whose joint share matters most, e.g. US,CN.")]
WeightsOpt = Annotated[
    str | None,
    typer.Option("--weights", help="Impact weights pair=1,intl=0.5,countries=0.5 (any subset)."),
]


def _pair(text: str) -> tuple[str, str]:
    parts = [p.strip().upper() for p in text.split(",") if p.strip()]
    if len(parts) != 2:
        raise ConfigError(f"--pair needs two country codes like US,CN, not {text!r}")
    for code in parts:
        check_country(code, "--pair")
    return parts[0], parts[1]


#: Reason codes a record can be queued with: the reconcile signals, then routing's own.
KNOWN_REASONS = (*REASON_ORDER, *ROUTING_CODES)


def _check_reason(reason: str, in_db: list[str]) -> None:
    """Refuse a reason code no record can have (a typo would otherwise show an empty queue)."""
    valid = sorted(set(KNOWN_REASONS) | set(in_db))
    if reason not in valid:
        raise ConfigError(f"--reason {reason!r} is not a reason code; choose one of: {', '.join(valid)}")


def _weights(text: str | None) -> ImpactWeights:
    if not text:
        return ImpactWeights()
    names = {"pair": "pair", "intl": "international", "international": "international", "countries": "any_change"}
    values = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        if name.strip() not in names:
            raise ConfigError(f"--weights: unknown weight {name!r}; use pair, intl, countries")
        try:
            values[names[name.strip()]] = float(value)
        except ValueError:
            raise ConfigError(f"--weights: {part!r} is not name=number") from None
    return ImpactWeights(**values)


@command("queue")
def queue_cmd(
    n: Annotated[int, typer.Option("--n", "-n", help="How many records of the queue head to show.")] = 20,
    venue: Annotated[str | None, typer.Option("--venue", help="Only this venue.")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Only records with this reason code.")] = None,
    country: Annotated[str | None, typer.Option("--country", help="Only records whose country set holds this code.")] = None,
    audit: Annotated[bool | None, typer.Option("--audit/--no-audit", help="Only audit items (draw order) / only the priority queue.")] = None,
    reroute: Annotated[bool, typer.Option("--route", help="Re-route first (after changing the pair, weights or settings).")] = False,
    pair: PairOpt = "US,CN",
    weights: WeightsOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")] = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Show the head of the review queue, counts by reason, the audit and review progress.

    Priority = P(country set wrong) x impact (how far a correction can move the US–CN
    share, the international share and the country counts). Read-only unless --route.

    Example: collabscope queue --n 10 --reason backends_disagree
    """
    settings = settings_from(db, config)
    if country is not None:
        country = check_country(country.strip().upper(), "--country")
    the_pair, the_weights = _pair(pair), _weights(weights)
    filters = QueueFilter(venue=venue, reason=reason, country=country)
    with open_store(settings) as store:
        if reason is not None:
            _check_reason(reason, list(queue_counts(store, QueueFilter())["by_reason"]))
        if reroute:
            route(store, settings, pair=the_pair, weights=the_weights)
        head = queue_head(store, n=n, filters=filters, audit=audit)
        counts = queue_counts(store, filters)
        progress = review_progress(store)
    if as_json:
        typer.echo(json.dumps({"head": [asdict(i) for i in head], "counts": counts, "progress": progress}, indent=1))
        raise typer.Exit(EXIT_OK)
    # No vertical rules, so an 80-column terminal fits every column. Ids, numbers and reason
    # codes never break (an id is copied into `audit log`, a code into --reason); the
    # country list and the "+N" after a code wrap at spaces.
    table = Table(title="review queue (priority = P(wrong) x impact)", title_justify="left", show_lines=False,
                  box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, padding=0)
    for col in ("#", "paper", "priority", "P(wrong)", "impact"):
        table.add_column(col, no_wrap=True, min_width=16 if col == "paper" else None)
    table.add_column("countries", min_width=2)
    longest = max((len(i.reason_codes[0]) for i in head if i.reason_codes), default=0)
    table.add_column("first reason", min_width=max(longest, 6))
    for i, item in enumerate(head, 1):
        first = (item.reason_codes[0] if item.reason_codes else "") + (f" +{len(item.reason_codes) - 1}" if len(item.reason_codes) > 1 else "")
        table.add_row(str(i), item.paper_id, f"{item.priority:.3f}", f"{item.p_wrong:.2f}", f"{item.impact:.2f}",
                      " ".join(item.countries), first)
    console_out.print(table)
    for i, item in enumerate(head[:5], 1):
        console_out.print(f"{i}. {item.title or item.paper_id}: {item.reasons[0] if item.reasons else ''}", markup=False, soft_wrap=False)
    console_out.print("by status: " + ", ".join(f"{k} {v}" for k, v in sorted(counts["by_status"].items())), markup=False, soft_wrap=False)
    console_out.print("queued, by reason: " + (", ".join(f"{k} {v}" for k, v in counts["by_reason"].items()) or "none"), markup=False, soft_wrap=False)
    a = counts["audit"]
    console_out.print(f"audit sample: {a['drawn']} drawn, {a['done']} done, {a['pending'] + a['in_review']} to do", markup=False, soft_wrap=False)
    summary(f"review progress: {progress['share_reviewed']:.0%} of the expected-impact mass reviewed; {progress['message']}", quiet)


@command("calibrate")
def calibrate_cmd(
    l2: Annotated[float, typer.Option("--l2", help="Pull of a full refit toward the prior coefficients (higher = trust the prior more).")] = 2.0,
    min_labels: Annotated[int, typer.Option("--min-labels", help="Keep the current model below this many reviewed records.")] = 20,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Fit and print, but store nothing and do not re-route.")] = False,
    reset: Annotated[bool, typer.Option("--reset", help="Go back to the default (prior) coefficients.")] = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Refit the confidence models from reviewed records, print them, and re-route the queue.

    Label: the verified record's country set (model-family set) equals the machine's, as
    the audit log shows it. Per backend set it keeps the prior, recalibrates it (intercept
    + slope) or refits every coefficient (50+ reviewed errors), whichever has the lowest
    cross-validated log-loss, and says which and why. Prints every coefficient and the fit's metrics (in-sample,
    5-fold cross-validated, and the prior's on the same records).

    Example: collabscope calibrate --dry-run
    """
    settings = settings_from(db, config)
    with open_store(settings) as store:
        if reset:
            reset_models(store)
            results = []
        else:
            results = calibrate(store, l2=l2, min_labels=min_labels, dry_run=dry_run)
        if not dry_run:
            route(store, settings)
    for r in results:
        table = Table(title=f"{r.target}: {r.message}")
        table.add_column("feature")
        table.add_column("prior", justify="right")
        table.add_column("now", justify="right")
        table.add_row("(intercept)", f"{r.prior.intercept:+.3f}", f"{r.model.intercept:+.3f}")
        for name in r.model.names:
            table.add_row(name, f"{r.prior.coef.get(name, 0):+.3f}", f"{r.model.coef.get(name, 0):+.3f}")
        console_out.print(table)
        for label, m in (r.model.metrics or {}).items():
            console_out.print(f"  {label}: n {m.get('n')}, ECE {m.get('ece', float('nan')):.3f}, Brier {m.get('brier', float('nan')):.3f}, "
                              f"log loss {m.get('log_loss', float('nan')):.3f}, AUC {m.get('auc') if m.get('auc') is None else round(m['auc'], 3)}",
                              markup=False)
    summary("reset to the default models" if reset else
            "; ".join(f"{r.target}: {r.mode}, {'stored' if r.stored else 'not stored'} ({r.n} labels, {r.n - r.positives} wrong)"
                      f" - {r.reason}" for r in results), quiet)


@command("simulate")
def simulate_cmd(
    source: Annotated[Path, typer.Option("--source", help="paperlists-format JSONL to render PDFs from.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the PDFs, truth.jsonl, sim.db and report.md.")],
    noise: Annotated[float, typer.Option("--noise", help="Error level of the simulated LLM: for realistic, 0.10 is the default mix (0.05 half, 0.20 double); for independent, the share of affiliations wrong or dropped.")] = 0.10,
    error_model: Annotated[str, typer.Option("--error-model", help="realistic (errors where the page is hard) | independent (page-blind).")] = "realistic",
    n: Annotated[int | None, typer.Option("--n", help="Number of PDFs (default one per paper).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed for rendering, noise and the half split.")] = 0,
    llm: Annotated[str, typer.Option("--llm", help="auto | server (real llm backend + fake server) | inject (no HTTP) | none (rules alone).")] = "auto",
    workers: Annotated[int, typer.Option("--workers", "-w", help="Processes for rendering and ingest.")] = 4,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing --db / COLLABSCOPE_DB database that no simulation created.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Measure routing, calibration and the oversight curve on generated PDFs with known truth (no network).

    Renders PDFs from SOURCE, runs ingest + rules + a simulated LLM (the fake OpenAI
    server answering from the truth through --error-model) + reconcile, prints the
    oversight curve (accuracy and US–CN interval width after reviewing each share of papers
    in queue order), verifies a random half with the truth, calibrates on it and measures
    the other half. Writes OUT/report.md. The database is OUT/sim.db, or --db /
    COLLABSCOPE_DB; it is replaced on every run, so an existing one that no simulation
    created is refused unless --force.

    Example: collabscope simulate --source nips2018.jsonl --n 1000 --out /tmp/sim
    """
    from devtools.simulate import ERROR_MODELS, MIN_PAPERS, run_simulation
    from devtools.simulate import as_json as result_json

    if llm not in ("auto", "server", "inject", "none"):
        raise ConfigError(f"--llm must be auto, server, inject or none, not {llm!r}")
    if error_model not in ERROR_MODELS:
        raise ConfigError(f"--error-model must be one of {', '.join(ERROR_MODELS)}, not {error_model!r}")
    if not source.is_file():
        raise ConfigError(f"--source {source} does not exist")
    settings = settings_from(db or out / "sim.db", config)
    result = run_simulation(source, out, n=n, noise=noise, seed=seed, workers=workers, llm_mode=llm, settings=settings,
                            error_model=error_model, db=settings.db, force=force)
    if as_json:
        typer.echo(result_json(result))
    elif not quiet:
        console_out.print(result.report.read_text(encoding="utf-8"), markup=False)
    after = result.after or result.before
    top = (after.get("efficiency") or {}).get("top_15%")
    ece = (after.get("calibration") or {}).get("ece")
    at10 = next((c for c in result.curve if abs(c["reviewed_share"] - 0.10) < 1e-9), None)
    few = result.papers < MIN_PAPERS

    def pct(v: float | None, digits: int = 1) -> str:
        return "n/a" if v is None or v != v or few else f"{v:.{digits}%}"

    summary(f"simulation: {result.papers} papers ({error_model} errors), top 15% of the queue holds "
            f"{pct(top) if top is not None else 'n/a (no errors)'} of the country-set errors; ECE "
            f"{'n/a' if ece is None or ece != ece or few else f'{ece:.3f}'}; country sets right after reviewing 10%: "
            f"{pct(at10['accuracy'] if at10 else None, 2)}"
            f"{f' (too few papers for these figures: use --n {MIN_PAPERS * 10} or more)' if few else ''}; "
            f"report {result.report}", quiet)
