"""The ``llm`` backend: an asyncio batch runner over many documents, resumable at any point.

Shape of a run: documents that lack an extraction under this backend's cache key are
queued; the first one that needs the network goes alone (a canary: a bad key, URL or
model then costs one request, not ``concurrency`` of them), then ``concurrency`` workers
take documents from the queue. Per document: the front-matter question, then - when the
taxonomy finds model names in the full text - the model-role question; both go through
the cache first. The answers are converted (resolved, grounded) and the extraction is
saved at once, from the event-loop thread, in a short transaction.

Failures: a document whose question fails for good (validation budget spent, permanent
5xx, timeouts) is saved with the reason and the batch goes on; 401/403, 404,
exhausted quota and an endpoint no connection can be opened to stop the batch at once
(unfinished documents stay pending) (:class:`~extractor.errors.LLMAuthError` /
:class:`~.transport.EndpointError`). Ctrl-C or kill -9 loses nothing already answered: the
re-run skips finished documents and re-uses logged answers (zero requests for them).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from collections.abc import Callable
from typing import Any

from extractor.config import Settings
from extractor.errors import ExtractionError, LLMAuthError, LLMError, StoreError
from extractor.extract.base import default_cache_key
from extractor.extract.llm.answers import FrontMatterAnswer, RolesAnswer
from extractor.extract.llm.asker import Asker, parse_mode
from extractor.extract.llm.batch_api import BatchRunner
from extractor.extract.llm.calls import CallLog, CallSpec
from extractor.extract.llm.convert import Converter
from extractor.extract.llm.costs import load_prices
from extractor.extract.llm.render import Candidate, candidates, front_text, snippets_text
from extractor.extract.llm.stats import RunStats, accepts_info, report_progress
from extractor.extract.llm.transport import EndpointError, Redactor, Transport, make_client
from extractor.extract.llm.writer import Writer
from extractor.prompts import load_prompt
from extractor.schemas import Document, ExtractionMeta, PaperExtraction
from extractor.store import Store

#: Bump when the conversion of answers into extractions changes: extractions are redone
#: from the logged answers (zero requests), because the call cache key does not change.
CONVERSION_VERSION = "1"


class LLMBackend:
    """Extraction with an OpenAI-compatible endpoint; see the module docstring.

    Args:
        settings: endpoint (base_url, api_key, model), instructor_mode, concurrency,
            request_timeout, transport_retries, reask_budget, price_file.
        backoff_base: seconds for the first transport retry's backoff window (tests
            shrink it); doubles per retry, capped at ``backoff_cap``.
        batch_poll_interval: seconds between Batch API status polls.
    """

    name = "llm"

    def __init__(self, settings: Settings, *, backoff_base: float = 0.5, backoff_cap: float = 30.0,
                 batch_poll_interval: float = 30.0, batch_max_wait: float | None = None):
        self.settings = settings
        self.mode = parse_mode(settings.instructor_mode)
        self.front_prompt = load_prompt("front_matter")
        self.roles_prompt = load_prompt("model_roles")
        self.prices = load_prices(settings.price_file)
        self.redact = Redactor(settings.api_key.get_secret_value() if settings.api_key else None)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.batch_api = False  # set by `--batch-api`
        self.batch_poll_interval = batch_poll_interval
        self.batch_max_wait = batch_max_wait
        self._converter: Converter | None = None

    # ------------------------------------------------------------------ identity

    @property
    def model(self) -> str:
        return self.settings.model

    @property
    def endpoint(self) -> str:
        return self.settings.base_url or "https://api.openai.com/v1"

    def cache_key(self) -> str:
        return default_cache_key(self.name, f"conv{CONVERSION_VERSION}", self.front_prompt.label,
                                 self.roles_prompt.label, f"model={self.model}")

    def meta(self) -> ExtractionMeta:
        both = hashlib.sha256((self.front_prompt.sha256 + self.roles_prompt.sha256).encode()).hexdigest()
        return ExtractionMeta(
            backend=self.name,
            prompt_name=f"{self.front_prompt.name}+{self.roles_prompt.name}",
            prompt_version=f"{self.front_prompt.version}+{self.roles_prompt.version}",
            prompt_hash=both,
            model=self.model,
        )

    @property
    def converter(self) -> Converter:
        if self._converter is None:
            from extractor.resolve import get_resolver, get_taxonomy

            self._converter = Converter(get_resolver(), get_taxonomy())
        return self._converter

    # ------------------------------------------------------------------ questions

    def specs_for(self, doc: Document) -> tuple[CallSpec, CallSpec | None, list[Candidate]]:
        """The front-matter question, the model-roles question (if any) and its snippets."""
        if doc.front is None:
            raise ExtractionError(f"{doc.source_file}: no page-1 text to extract from")
        front = CallSpec(doc.sha256, "front_matter", self.front_prompt, FrontMatterAnswer,
                         self.front_prompt.messages(paper_id=doc.paper_id, front_matter=front_text(doc.front)),
                         self.model)
        cands = candidates(doc, self.converter.taxonomy)
        roles = None
        if cands:
            roles = CallSpec(doc.sha256, "model_roles", self.roles_prompt, RolesAnswer,
                             self.roles_prompt.messages(paper_id=doc.paper_id, snippets=snippets_text(cands)),
                             self.model)
        return front, roles, cands

    def new_asker(self, log: CallLog, *, offline: bool = False) -> Asker:
        transport = None
        if not offline:
            transport = Transport(make_client(self.settings), retries=self.settings.transport_retries,
                                  redact=self.redact, endpoint=self.endpoint, backoff_base=self.backoff_base,
                                  backoff_cap=self.backoff_cap, concurrency=self.settings.concurrency)
        return Asker(transport, self.mode, self.settings.reask_budget, log)

    async def process(self, asker: Asker, doc: Document, stats: RunStats) -> tuple[ExtractionMeta, PaperExtraction]:
        """Ask (or re-use) both questions for one document and convert the answers."""
        front_spec, roles_spec, cands = self.specs_for(doc)
        keys = [front_spec.cache_key] + ([roles_spec.cache_key] if roles_spec else [])
        # Spent before this ask (committed rows); this ask's own requests are added from the
        # recorders, since the run's writer may not have committed their rows yet.
        prior = asker.log.spent(keys)
        front = await asker.ask(front_spec)
        stats.add(front)
        roles = None
        if roles_spec is not None:
            roles = await asker.ask(roles_spec)
            stats.add(roles)
        if front.cached and (roles is None or roles.cached):
            stats.cached_docs += 1
        try:
            extraction = self.converter.extraction(doc, front.answer, roles.answer if roles else None, cands)  # type: ignore[arg-type]
        except Exception as exc:  # a conversion bug must not lose the batch; the answer stays cached
            raise LLMError(f"converting the answer failed: {type(exc).__name__}: {exc}") from None
        asked = [front] + ([roles] if roles is not None else [])
        pt = prior[0] + sum(r.prompt_tokens for r in asked)
        ct = prior[1] + sum(r.completion_tokens for r in asked)
        usd = prior[2] + sum(r.cost for r in asked)
        if asker.log.store is None:
            pt, ct, usd = stats.prompt_tokens, stats.completion_tokens, stats.cost_usd
        meta = self.meta().model_copy(update={
            "reasks": front.reasks + (roles.reasks if roles else 0),
            "prompt_tokens": pt, "completion_tokens": ct, "cost_usd": round(usd, 8)})
        return meta, extraction

    # ------------------------------------------------------------------ Backend

    def extract(self, document: Document) -> PaperExtraction:
        """One document, no database (tests, notebooks). Raises ExtractionError on failure."""

        async def one() -> PaperExtraction:
            asker = self.new_asker(CallLog(None, None, self.prices, self.redact))
            try:
                return (await self.process(asker, document, RunStats(total=1)))[1]
            finally:
                if asker.transport is not None:
                    await asker.transport.client.close()

        return asyncio.run(one())

    # ------------------------------------------------------------------ BatchBackend

    def extract_many(self, store: Store, hashes: list[str], *, run_id: int | None,
                     on_progress: Callable[..., None] | None = None) -> dict[str, int]:
        """Extract ``hashes`` (live, or through the Batch API when ``batch_api`` is set)."""
        if self.batch_api:
            return BatchRunner(self, store, run_id).run(hashes, on_progress)
        return asyncio.run(self._run(store, hashes, run_id, on_progress))

    async def _run(self, store: Store, hashes: list[str], run_id: int | None,
                   on_progress: Callable[..., None] | None) -> dict[str, Any]:
        stats = RunStats(total=len(hashes))
        if not hashes:
            return stats.summary()
        self.converter  # load gazetteers before the clock matters  # noqa: B018
        log = CallLog(store, run_id, self.prices, self.redact)
        writer = log.writer = Writer(store, asyncio.get_running_loop())
        asker = self.new_asker(log)
        key = self.cache_key()
        with_info = accepts_info(on_progress)
        queue = deque(hashes)

        async def handle(sha: str) -> None:
            if writer.error is not None:
                raise writer.error
            doc = store.get_document(sha)
            ok = True
            try:
                meta, extraction = await self.process(asker, doc, stats)
            except (LLMAuthError, EndpointError):
                raise
            except ExtractionError as exc:
                ok = False
                saved = writer.save_extraction(sha, self.meta(), key, None, error=self.redact(str(exc)),
                                               run_id=run_id)
            else:
                saved = writer.save_extraction(sha, meta, key, extraction, run_id=run_id)
            await saved  # done (progress, summary) only once committed; a writer error stops the batch
            stats.done += ok
            stats.failed += not ok
            report_progress(on_progress, with_info, sha, ok, stats)

        async def worker() -> None:
            while queue:
                await handle(queue.popleft())

        failing = True
        try:
            while queue and stats.requests == 0:  # canary: until one document has used the network
                await handle(queue.popleft())
            if queue:
                try:
                    async with asyncio.TaskGroup() as tg:  # 2 x: see Transport.slots
                        for _ in range(min(2 * self.settings.concurrency, len(queue))):
                            tg.create_task(worker())
                except BaseExceptionGroup as group:
                    fatal = [e for e in group.exceptions if isinstance(e, (LLMAuthError, EndpointError))]
                    stored = [e for e in group.exceptions if isinstance(e, StoreError)]
                    raise (fatal or stored or list(group.exceptions))[0] from None
        except (LLMAuthError, EndpointError) as exc:
            finished = stats.done + stats.failed
            raise type(exc)(f"{exc} ({finished} of {stats.total} documents finished before the stop)") from None
        else:
            failing = False
        finally:
            try:
                if asker.transport is not None:
                    await asker.transport.client.close()
            finally:
                # commit every queued row (the attempts of a stopped batch included); a writer
                # error is raised here unless another one is already on its way
                try:
                    await writer.close()
                except StoreError:
                    if not failing:
                        raise
        return stats.summary()
