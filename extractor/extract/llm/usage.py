"""Where the tokens and the money went: per run, per model and per paper, from ``llm_calls``.

Every request is a row with its tokens and cost, so this is a few sums
(:meth:`~extractor.store.Store.llm_usage`). With another price table the same tokens are
re-priced ("what would this run cost on gpt-4.1-mini's list price?") without touching
the log.
"""

from __future__ import annotations

from typing import Any

from extractor.extract.llm.costs import PriceTable
from extractor.store import Store


def cost_report(store: Store, *, run_id: int | None = None, limit: int = 20,
                prices: PriceTable | None = None) -> dict[str, Any]:
    """Totals, and breakdowns by run, model and paper (most expensive papers first).

    Args:
        run_id: only calls made by this run (``runs.id``); None for all.
        limit: how many papers to list.
        prices: re-price the logged tokens with this table (adds ``repriced_usd``).
    """
    usage = store.llm_usage(run_id=run_id, limit=limit)
    total = usage["total"]
    n_papers = total["papers"]
    total["cost_per_paper_usd"] = round(total["cost_usd"] / n_papers, 6) if n_papers else 0.0
    if prices is not None:
        total["repriced_usd"] = round(sum(prices.cost(r["model"], r["prompt_tokens"], r["completion_tokens"],
                                                      batch=r["batch"])
                                          for r in store.llm_tokens_by_model(run_id=run_id)), 6)
        total["repriced_with"] = prices.source
    return {"run_id": run_id, "total": total, "runs": usage["runs"], "models": usage["models"],
            "papers": usage["papers"]}
