"""The call log and cache: one ``llm_calls`` row per HTTP request, answers found by key.

Every request - first asks, validation re-asks, transport retries, Batch API lines - is a
row with the exact request, the raw response, tokens, cost, duration and what went wrong,
so any failure can be read back from the table. The cache is a lookup on those rows: a
row whose answer validated has ``parsed`` set, and a later run with the same cache key
(document hash, purpose, prompt name + version + content hash, model, schema version)
re-uses it with zero HTTP requests.

In a live run rows go through the run's :class:`~.writer.Writer` (one thread, batched
transactions, a document counted done only once its rows are committed); elsewhere
(Batch API ingestion, dry runs) each row is its own short transaction. The rows are
written and read by the store's :class:`~extractor.store.llm_calls.LLMCallStore` methods.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from extractor.extract.llm.costs import PriceTable
from extractor.extract.llm.transport import Attempt, Redactor
from extractor.prompts import Prompt
from extractor.schemas import SCHEMA_VERSION
from extractor.store import Store, utcnow


@dataclass(frozen=True)
class CallSpec:
    """One logical question to the model about one document."""

    sha256: str
    purpose: str  # front_matter, model_roles
    prompt: Prompt
    response_model: type[BaseModel]
    messages: list[dict[str, str]]
    model: str

    @property
    def cache_key(self) -> str:
        return call_cache_key(self.sha256, self.purpose, self.prompt, self.model)


def call_cache_key(sha256: str, purpose: str, prompt: Prompt, model: str) -> str:
    """Everything that changes the answer, readable in the table."""
    return (f"{purpose}|{sha256}|{prompt.name}@{prompt.version}#{prompt.sha256[:16]}|{model}"
            f"|schema={SCHEMA_VERSION}")


class CallLog:
    """Reads and writes ``llm_calls``; with no store (single-document use) it only counts."""

    def __init__(self, store: Store | None, run_id: int | None, prices: PriceTable, redact: Redactor):
        self.store = store
        self.run_id = run_id
        self.prices = prices
        self.redact = redact
        self.writer: Any = None  # a .writer.Writer during a live run

    def cached_answer(self, cache_key: str) -> str | None:
        """The latest validated answer for this key, as JSON, or None."""
        if self.store is None:
            return None
        return self.store.cached_llm_answer(cache_key)

    def insert(self, row: dict[str, Any]) -> None:
        """Log one request: through the run's writer thread when there is one, else at once."""
        if self.store is None:
            return
        if self.writer is not None:
            self.writer.insert_call(row)
            return
        self.store.add_llm_calls([row])

    def spent(self, cache_keys: list[str]) -> tuple[int, int, float]:
        """Prompt tokens, completion tokens and USD of every request ever made for these keys."""
        if self.store is None:
            return 0, 0, 0.0
        return self.store.llm_spend(cache_keys)


def _usage(completion: Any) -> tuple[int, int]:
    usage = getattr(completion, "usage", None)
    if usage is None:
        return 0, 0
    return int(getattr(usage, "prompt_tokens", 0) or 0), int(getattr(usage, "completion_tokens", 0) or 0)


def _short(error: BaseException, limit: int = 600) -> str:
    text = str(error).strip().replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Recorder:
    """One logical ask (first request + re-asks + retries) turned into rows as it happens.

    A successful HTTP answer is held back until instructor has parsed it (microseconds
    later), so its row carries either ``parsed`` (the cache entry) or the validation error
    that triggered the next re-ask.
    """

    def __init__(self, log: CallLog, spec: CallSpec):
        self.log = log
        self.spec = spec
        self.call_id = uuid.uuid4().hex
        self.attempt = 0
        self.reask = 0
        self.requests = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.cost = 0.0
        self.prefetched: Any = None  # a Batch API completion to use instead of the first request
        self.batch_id: str | None = None
        self.capture = False  # dry-run / batch building: stop before any HTTP request
        self._pending: dict[str, Any] | None = None

    def on_attempt(self, att: Attempt, *, batch_id: str | None = None) -> None:
        """Called by the transport (or the batch ingester) for every request."""
        self._flush(error="superseded by a later request")
        self.attempt += 1
        if batch_id is None:
            self.requests += 1
        pt, ct = _usage(att.completion) if att.completion is not None else (0, 0)
        cost = self.log.prices.cost(self.spec.model, pt, ct, batch=batch_id is not None)
        self.prompt_tokens += pt
        self.completion_tokens += ct
        self.cost += cost
        spec = self.spec
        row = {
            "sha256": spec.sha256, "purpose": spec.purpose, "cache_key": spec.cache_key, "model": spec.model,
            "prompt_name": spec.prompt.name, "prompt_version": spec.prompt.version,
            "prompt_hash": spec.prompt.sha256, "schema_version": SCHEMA_VERSION,
            "request": self.log.redact(att.request_text if att.request_text is not None
                                       else json.dumps(att.kwargs, ensure_ascii=False, default=str)),
            "response": (att.response_text if att.completion is None
                         else self.log.redact(att.response_text if att.response_text is not None
                                              else att.completion.model_dump_json())),
            "parsed": None, "attempt": self.attempt, "error": att.error, "status_code": att.status_code,
            "duration_ms": round(att.duration_ms, 1), "prompt_tokens": pt, "completion_tokens": ct,
            "cost_usd": cost, "batch_id": batch_id, "created_at": utcnow(), "run_id": self.log.run_id,
            "call_id": self.call_id, "reask": self.reask,
        }
        if att.completion is None:
            self.log.insert(row)
        else:
            self._pending = row

    def on_parse_error(self, error: BaseException, **_: Any) -> None:
        """instructor hook ``parse:error``: the answer did not validate; a re-ask may follow."""
        self._flush(error=f"validation: {_short(error)}")
        self.reask += 1

    def succeed(self, answer: BaseModel) -> None:
        if self._pending is not None:
            self._pending["parsed"] = answer.model_dump_json()
            self.log.insert(self._pending)
            self._pending = None

    def fail(self, message: str) -> None:
        self._flush(error=message)

    def _flush(self, *, error: str) -> None:
        if self._pending is not None:
            self._pending["error"] = self.log.redact(error)
            self.log.insert(self._pending)
            self._pending = None
