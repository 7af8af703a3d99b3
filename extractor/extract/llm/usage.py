"""Where the tokens and the money went: per run, per model and per paper, from ``llm_calls``.

Every request is a row with its tokens and cost, so this is a few GROUP BYs. With another
price table the same tokens are re-priced ("what would this run cost on gpt-4.1-mini's
list price?") without touching the log.
"""

from __future__ import annotations

from typing import Any

from ...store import Store
from .costs import PriceTable


def _where(run_id: int | None) -> tuple[str, list[Any]]:
    return ("WHERE c.run_id = ?", [run_id]) if run_id is not None else ("", [])


def cost_report(store: Store, *, run_id: int | None = None, limit: int = 20,
                prices: PriceTable | None = None) -> dict[str, Any]:
    """Totals, and breakdowns by run, model and paper (most expensive papers first).

    Args:
        run_id: only calls made by this run (``runs.id``); None for all.
        limit: how many papers to list.
        prices: re-price the logged tokens with this table (adds ``repriced_usd``).
    """
    where, params = _where(run_id)
    agg = ("count(*) AS requests, sum(c.error IS NOT NULL) AS errors, sum(c.batch_id IS NOT NULL) AS batch_requests, "
           "coalesce(sum(c.prompt_tokens),0) AS prompt_tokens, coalesce(sum(c.completion_tokens),0) AS completion_tokens, "
           "round(coalesce(sum(c.cost_usd),0), 6) AS cost_usd")
    total = store.query(f"SELECT {agg} FROM llm_calls c {where}", params)[0]
    runs = store.query(
        f"SELECT c.run_id, r.command, r.started_at, {agg} FROM llm_calls c LEFT JOIN runs r ON r.id = c.run_id "
        f"{where} GROUP BY c.run_id ORDER BY c.run_id", params)
    models = store.query(f"SELECT c.model, {agg} FROM llm_calls c {where} GROUP BY c.model ORDER BY cost_usd DESC", params)
    papers = store.query(
        f"SELECT substr(c.sha256, 1, 16) AS paper_id, d.source_file, {agg} FROM llm_calls c "
        f"LEFT JOIN documents d ON d.sha256 = c.sha256 {where} GROUP BY c.sha256 "
        f"ORDER BY cost_usd DESC, paper_id LIMIT ?", [*params, limit])
    n_papers = store.query(f"SELECT count(DISTINCT c.sha256) AS n FROM llm_calls c {where}", params)[0]["n"]
    total["papers"] = n_papers
    total["cost_per_paper_usd"] = round(total["cost_usd"] / n_papers, 6) if n_papers else 0.0
    if prices is not None:
        rows = store.query(
            f"SELECT c.model, c.batch_id IS NOT NULL AS batch, coalesce(sum(c.prompt_tokens),0) AS pt, "
            f"coalesce(sum(c.completion_tokens),0) AS ct FROM llm_calls c {where} GROUP BY c.model, batch", params)
        total["repriced_usd"] = round(sum(prices.cost(r["model"], r["pt"], r["ct"], batch=bool(r["batch"]))
                                          for r in rows), 6)
        total["repriced_with"] = prices.source
    return {"run_id": run_id, "total": total, "runs": runs, "models": models, "papers": papers}
