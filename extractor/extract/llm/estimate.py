"""``--dry-run``: what an llm run would send and cost, with zero HTTP requests.

Each document that still needs an extraction gets its questions built exactly as the
real run would (instructor prepares the request; we capture it instead of sending), then
tokens are estimated at 4 characters a token (see :mod:`.costs`) over the messages plus
the schema instructor attaches. Completion tokens come from the average of this prompt's
logged answers when there are any, else the prompt file's ``expected_completion_tokens``.
Questions whose answer is already cached cost nothing and are counted as such.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from extractor.errors import ExtractionError
from extractor.extract.llm.calls import CallLog
from extractor.extract.llm.costs import estimate_tokens
from extractor.store import Store

if TYPE_CHECKING:
    from extractor.extract.llm.runner import LLMBackend


@dataclass
class Estimate:
    documents: int = 0
    requests: int = 0
    cached_requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    model: str = ""
    batch_api: bool = False
    priced: bool = True
    price_source: str = ""
    skipped: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        """One-line summary for the CLI."""
        price = f"${self.cost_usd:.4f}" if self.priced else f"unknown (no price for {self.model!r}; add it with --prices)"
        mode = " at Batch API prices" if self.batch_api else ""
        return (f"dry run: {self.documents} documents -> {self.requests} requests ({self.cached_requests} answered "
                f"from cache), ~{self.prompt_tokens:,} prompt + ~{self.completion_tokens:,} completion tokens "
                f"(4 chars/token), estimated cost {price}{mode} with {self.model}; nothing was sent")


def estimate_run(backend: LLMBackend, store: Store, hashes: list[str]) -> Estimate:
    """Estimate tokens and money for extracting ``hashes``; sends nothing."""
    return asyncio.run(_estimate(backend, store, hashes))


async def _estimate(backend: LLMBackend, store: Store, hashes: list[str]) -> Estimate:
    log = CallLog(store, None, backend.prices, backend.redact)
    asker = backend.new_asker(log, offline=True)
    est = Estimate(model=backend.model, batch_api=backend.batch_api, priced=backend.prices.price(backend.model) is not None,
                   price_source=backend.prices.source)
    expected = {}
    for prompt in (backend.front_prompt, backend.roles_prompt):
        expected[prompt.name] = store.average_completion_tokens(prompt.sha256) or prompt.spec.expected_completion_tokens
    for sha in hashes:
        doc = store.get_document(sha)
        try:
            front, roles, _ = backend.specs_for(doc)
        except ExtractionError as exc:
            est.skipped.append(str(exc))
            continue
        est.documents += 1
        for spec in (front, roles):
            if spec is None:
                continue
            if log.cached_answer(spec.cache_key) is not None:
                est.cached_requests += 1
                continue
            body = await asker.capture(spec)
            schema = {k: v for k, v in body.items() if k in ("tools", "tool_choice", "response_format")}
            pt = estimate_tokens(json.dumps(body.get("messages", []), ensure_ascii=False) + json.dumps(schema))
            ct = expected[spec.prompt.name]
            est.requests += 1
            est.prompt_tokens += pt
            est.completion_tokens += ct
            est.cost_usd += backend.prices.cost(backend.model, pt, ct, batch=backend.batch_api)
    est.cost_usd = round(est.cost_usd, 6)
    return est
