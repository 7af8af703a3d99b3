"""LLM commands and options: ``costs``, plus the flags ``extract``/``run`` share for the llm backend.

``extractor.extract.llm`` is imported inside the commands that need it: importing the
package loads openai and instructor, which an offline ``ingest`` or ``run`` never should.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from extractor.cli.common import ConfigOpt, DbOpt, command, console_out, open_store, settings_from
from extractor.config import Settings
from extractor.errors import ConfigError, LLMAuthError
from extractor.extract.base import get_backend
from extractor.store import Store

ConcurrencyOpt = Annotated[int | None, typer.Option("--concurrency", help="LLM requests in flight at once (default 8).")]
ModelOpt = Annotated[str | None, typer.Option("--model", help="LLM model, or the Azure deployment name (env COLLABSCOPE_MODEL).")]
BaseUrlOpt = Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible endpoint, e.g. http://localhost:8000/v1 (env OPENAI_BASE_URL).")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Estimate the llm backend's tokens and cost; send nothing.")]
BatchApiOpt = Annotated[bool, typer.Option("--batch-api", help="Use the OpenAI Batch API (half price, hours not minutes; resumable).")]
PricesOpt = Annotated[Path | None, typer.Option("--prices", help="Price table TOML (USD per 1M tokens); default data/prices.toml.")]


def llm_flags(concurrency: int | None, model: str | None, base_url: str | None, prices: Path | None) -> dict[str, Any]:
    """Settings overrides from the llm flags (None = not given, falls through to env/file)."""
    return {"concurrency": concurrency, "model": model, "base_url": base_url, "price_file": prices}


def check_api_key(settings: Settings) -> None:
    """Refuse to start (:class:`ConfigError`, exit 2) when the llm backend is asked for and
    no API key is configured, before the database is touched.

    Building the client is the one check the llm backend itself makes (a local
    ``--base-url`` needs no key); it sends nothing.
    """
    if "llm" not in settings.backends:
        return
    from extractor.extract.llm.transport import make_client

    try:
        make_client(settings)
    except LLMAuthError as exc:
        raise ConfigError(str(exc)) from None


def print_dry_run(store: Store, settings: Settings, batch_api: bool) -> None:
    """Print the cost estimate of every llm backend in ``settings.backends``."""
    from extractor.extract.llm.estimate import estimate_run

    for name in settings.backends:
        if name != "llm":
            console_out.print(f"{name}: offline backend, no cost", markup=False)
            continue
        backend = get_backend(name, settings)
        backend.batch_api = batch_api  # type: ignore[attr-defined]
        hashes = store.hashes_needing_extraction(name, backend.cache_key())
        console_out.print(estimate_run(backend, store, hashes).line(), markup=False)  # type: ignore[arg-type]


def _table(title: str, rows: list[dict[str, Any]], cols: list[str]) -> Table:
    table = Table(title=title, title_justify="left")
    for c in cols:
        table.add_column(c, justify="left" if c in ("command", "model", "source_file", "paper_id", "started_at") else "right")
    for r in rows:
        table.add_row(*[f"{r[c]:.6f}" if c == "cost_usd" and r[c] is not None else str(r[c] if r[c] is not None else "-")
                        for c in cols])
    return table


@command("costs")
def costs_cmd(
    run: Annotated[int | None, typer.Option("--run", help="Only calls made by this run id (see `collabscope status`).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    limit: Annotated[int, typer.Option("--limit", help="How many papers to list (most expensive first).")] = 20,
    prices: PricesOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Tokens and money spent on LLM calls, per run, per model and per paper.

    Exact for what was spent: every request (re-asks and retries too) is logged with
    its tokens and cost. --prices FILE re-prices the same tokens with another table.

    Example: collabscope costs --run 3 --json
    """
    from extractor.extract.llm.costs import load_prices
    from extractor.extract.llm.usage import cost_report

    settings = settings_from(db, config)
    with open_store(settings) as store:
        report = cost_report(store, run_id=run, limit=limit, prices=load_prices(prices) if prices else None)
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
        return
    if not report["total"]["requests"]:
        where = f"run {run}" if run is not None else "this database"
        console_out.print(f"no LLM calls recorded for {where}: nothing spent (the llm backend runs with "
                          "--backend llm)", markup=False)
        return
    agg = ["requests", "errors", "batch_requests", "prompt_tokens", "completion_tokens", "cost_usd"]
    console_out.print(_table("by run", report["runs"], ["run_id", "command", "started_at", *agg]))
    console_out.print(_table("by model", report["models"], ["model", *agg]))
    console_out.print(_table(f"by paper (top {limit})", report["papers"], ["paper_id", "source_file", *agg]))
    t = report["total"]
    line = (f"total: {t['requests']} requests ({t['errors']} failed), {t['prompt_tokens']:,} prompt + "
            f"{t['completion_tokens']:,} completion tokens, ${t['cost_usd']:.4f} over {t['papers']} papers "
            f"(${t['cost_per_paper_usd']:.5f}/paper)")
    if "repriced_usd" in t:
        line += f"; with {t['repriced_with']}: ${t['repriced_usd']:.4f}"
    console_out.print(line, markup=False)
