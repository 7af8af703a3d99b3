"""The ``llm`` extraction backend: instructor + the openai async client, any compatible endpoint.

Modules, in the order a document meets them:

- :mod:`.render`    what is sent: page-1 text with explicit markers; model-mention snippets
- :mod:`.answers`   the response models the LLM fills (forgiving; strictness comes later)
- :mod:`.asker`     one question through instructor: cache, re-asks, capture, batch lines
- :mod:`.transport` HTTP with retries/backoff honouring Retry-After; key redaction
- :mod:`.calls`     the ``llm_calls`` log (one row per request) and the answer cache
- :mod:`.convert`   answer -> PaperExtraction: resolver normalisation and grounding
- :mod:`.runner`    the backend and its asyncio batch runner (bounded concurrency)
- :mod:`.stats`     run counters and progress callbacks, shared by both runners
- :mod:`.writer`    the live run's writer thread (batched transactions)
- :mod:`.batch_api` OpenAI Batch API mode (JSONL, upload, poll, ingest; resumable)
- :mod:`.costs`     price table, call cost, dry-run token estimates
- :mod:`.estimate`  ``--dry-run``: what a run would cost, with zero requests
- :mod:`.usage`     where the tokens and the money went (``collabscope costs``)
"""

from __future__ import annotations

from extractor.extract.base import register_backend
from extractor.extract.llm.runner import LLMBackend

register_backend("llm", lambda settings: LLMBackend(settings))

__all__ = ["LLMBackend"]
