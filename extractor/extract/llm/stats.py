"""Counters of an llm run and the progress callback convention, shared by the live and Batch API runners."""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from extractor.extract.llm.asker import AskResult


@dataclass
class RunStats:
    """Live counters for progress lines and the returned summary."""

    total: int = 0
    done: int = 0
    failed: int = 0
    cached_docs: int = 0
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    started: float = field(default_factory=time.monotonic)

    def add(self, r: AskResult) -> None:
        self.requests += r.requests
        self.prompt_tokens += r.prompt_tokens
        self.completion_tokens += r.completion_tokens
        self.cost_usd += r.cost

    def info(self) -> str:
        """'4.1 docs/s · ETA 2m03s · 12,345 tok · $0.0123' for the progress bar."""
        finished = self.done + self.failed
        elapsed = max(1e-6, time.monotonic() - self.started)
        rate = finished / elapsed
        left = self.total - finished
        eta = f"{int(left / rate) // 60}m{int(left / rate) % 60:02d}s" if rate > 0 and left else "-"
        tokens = self.prompt_tokens + self.completion_tokens
        return f"{rate:.1f} docs/s · ETA {eta} · {tokens:,} tok · ${self.cost_usd:.4f}"

    def summary(self) -> dict[str, Any]:
        return {"done": self.done, "failed": self.failed, "from_cache": self.cached_docs,
                "requests": self.requests, "tokens": self.prompt_tokens + self.completion_tokens,
                "cost_usd": round(self.cost_usd, 6)}


def accepts_info(fn: Callable[..., Any] | None) -> bool:
    """Whether a progress callback takes the ``info=`` keyword (the rate/ETA/cost line).

    Progress callbacks are ``fn(sha256, ok)``; one that also accepts ``info`` (by name or
    through ``**kwargs``) is given :meth:`RunStats.info` as well.
    """
    if fn is None:
        return False
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "info" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def report_progress(fn: Callable[..., Any] | None, with_info: bool, sha256: str, ok: bool, stats: RunStats) -> None:
    """Call a progress callback for one finished document, with ``info`` when it takes it."""
    if fn is None:
        return
    if with_info:
        fn(sha256, ok, info=stats.info())
    else:
        fn(sha256, ok)
