"""HTTP to the endpoint: the client, transport retries with backoff, and secret hygiene.

Why our own retry loop and not the openai client's ``max_retries``: every HTTP request
must be a row in ``llm_calls`` (a 429 costs nothing but explains a slow run; a 500 storm
explains failures), and the client's internal retries are invisible. So the client runs
with ``max_retries=0`` and :class:`Transport` retries 408/409/429/5xx, timeouts and torn
connections itself: exponential backoff with full jitter (AWS architecture blog,
"Exponential Backoff And Jitter"), honouring ``retry-after-ms`` / ``Retry-After`` when the
server sends them. Validation re-asks are instructor's job and have their own, separate,
budget (``reask_budget``); instructor 1.17 only re-asks on validation errors, never on a
transport error, so the two budgets do not multiply.

401/403 stop the whole batch (every further call would fail the same way), as do 404
(wrong base URL or model) and 429 ``insufficient_quota``; the messages name the endpoint
and what to check, and never contain the key (:class:`Redactor`).
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import openai
from openai.types.chat import ChatCompletion

from ...config import Settings
from ...errors import LLMAuthError, LLMError

RETRY_STATUS = frozenset({408, 409, 429})
MAX_RETRY_AFTER = 300.0  # seconds; a longer wait is a quota problem, not congestion
AZURE_API_VERSION = "2024-10-21"  # GA data-plane version used for the classic Azure URL form


class EndpointError(LLMError):
    """The endpoint cannot serve any document (wrong URL/model, quota exhausted): stop."""


class TransportError(LLMError):
    """One request failed for good after its transport retries."""

    def __init__(self, message: str, status_code: int | None = None):
        super().__init__(message)
        self.status_code = status_code


class Redactor:
    """Removes the API key (and anything key-shaped) from text before it is stored or shown."""

    _PATTERNS = re.compile(r"(sk-[A-Za-z0-9_\-*]{6,}|Bearer\s+[A-Za-z0-9._\-]{8,})")

    def __init__(self, secret: str | None):
        self.secret = secret or ""

    def __call__(self, text: str | None) -> str | None:
        if text is None:
            return None
        if self.secret and len(self.secret) >= 4:
            text = text.replace(self.secret, "[REDACTED]")
        return self._PATTERNS.sub("[REDACTED]", text)


def is_azure_classic(base_url: str | None) -> bool:
    """An Azure resource URL without the v1 path needs the Azure client and api-version."""
    if not base_url:
        return False
    parts = urlsplit(base_url)
    host = (parts.hostname or "").lower()
    azure = host.endswith((".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com"))
    return azure and "/openai/v1" not in parts.path


def make_client(settings: Settings, *, api_version: str | None = None) -> openai.AsyncOpenAI:
    """The async client for the configured endpoint; retries are ours (``max_retries=0``).

    Azure: the v1 URL (``https://RESOURCE.openai.azure.com/openai/v1/``) works with the
    plain client; the classic resource URL gets :class:`openai.AsyncAzureOpenAI` with the
    model as deployment and ``OPENAI_API_VERSION`` (default ``AZURE_API_VERSION``).
    """
    key = settings.api_key.get_secret_value() if settings.api_key else None
    if not key:
        if settings.base_url and not (urlsplit(settings.base_url).hostname or "").endswith("openai.com"):
            key = "unused"  # local servers (vLLM, Ollama, llama.cpp) accept any key
        else:
            raise LLMAuthError(
                "no API key for the llm backend: set OPENAI_API_KEY (or COLLABSCOPE_API_KEY_FILE), "
                "or point --base-url at a local server"
            )
    common: dict[str, Any] = {"api_key": key, "max_retries": 0, "timeout": settings.request_timeout}
    if is_azure_classic(settings.base_url):
        parts = urlsplit(settings.base_url or "")
        return openai.AsyncAzureOpenAI(
            azure_endpoint=f"{parts.scheme}://{parts.netloc}", azure_deployment=settings.model,
            api_version=api_version or AZURE_API_VERSION, **common)
    return openai.AsyncOpenAI(base_url=settings.base_url, **common)


@dataclass
class Attempt:
    """What one HTTP request did; the caller turns it into an ``llm_calls`` row."""

    kwargs: dict[str, Any]
    started: float
    duration_ms: float
    status_code: int | None
    completion: Any = None
    error: str | None = None
    response_text: str | None = None


def retry_after(exc: BaseException) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms`` first, then ``Retry-After``)."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    try:
        if ms is not None:
            return float(ms) / 1000
        value = headers.get("retry-after")
        if value is None:
            return None
        return float(value)
    except ValueError:
        import email.utils

        parsed = email.utils.parsedate_tz(headers.get("retry-after", ""))
        return max(0.0, email.utils.mktime_tz(parsed) - time.time()) if parsed else None


def backoff(retry: int, server_wait: float | None, base: float, cap: float, rng: random.Random) -> float:
    """Full-jitter exponential backoff, or the server's wait plus a little jitter."""
    if server_wait is not None and server_wait >= 0:
        return server_wait + rng.uniform(0, min(1.0, 0.1 * server_wait))
    return rng.uniform(0, min(cap, base * 2**retry))


def _body_text(exc: BaseException) -> str | None:
    body = getattr(exc, "body", None)
    if body is None:
        return None
    return body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, default=str)


class Transport:
    """One chat-completion request with retries; reports every attempt to ``on_attempt``."""

    def __init__(self, client: openai.AsyncOpenAI, *, retries: int, redact: Redactor, endpoint: str,
                 backoff_base: float = 0.5, backoff_cap: float = 30.0, seed: int | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, concurrency: int | None = None):
        self.client = client
        # Bounds requests on the wire, not documents in progress: a worker that has its next
        # request built waits here and goes the moment a slot frees, while the worker that
        # just got its answer parses, converts and saves it off the critical path.
        self.slots = asyncio.Semaphore(concurrency) if concurrency else None
        self.retries = retries
        self.redact = redact
        self.endpoint = endpoint
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.rng = random.Random(seed)
        self.sleep = sleep

    async def send(self, kwargs: dict[str, Any], on_attempt: Callable[[Attempt], None]) -> Any:
        """POST /chat/completions until it answers, a retry budget runs out, or it must stop.

        Raises:
            LLMAuthError: 401/403: the key is refused.
            EndpointError: 404 or insufficient quota: no document can succeed.
            TransportError: this request failed after its retries (the document fails).
        """
        last: str = ""
        status: int | None = None
        for retry in range(self.retries + 1):
            t0 = time.perf_counter()
            started = time.time()
            try:
                # post() with the plain JSON body: chat.completions.create() would first walk
                # the whole request (few-shot messages, tool schema) through its TypedDict
                # transform, the largest client CPU cost after schema building.
                if self.slots is None:
                    completion = await self.client.post("/chat/completions", body=kwargs, cast_to=ChatCompletion)
                else:
                    async with self.slots:
                        t0 = time.perf_counter()  # waiting for a slot is not request time
                        started = time.time()
                        completion = await self.client.post("/chat/completions", body=kwargs,
                                                            cast_to=ChatCompletion)
            except openai.APIStatusError as exc:
                status = exc.status_code
                ms = (time.perf_counter() - t0) * 1000
                message = self.redact(f"HTTP {status}: {exc.message}") or ""
                on_attempt(Attempt(kwargs, started, ms, status, error=message,
                                   response_text=self.redact(_body_text(exc))))
                self._raise_if_fatal(exc, status)
                if not (status in RETRY_STATUS or status >= 500):
                    raise TransportError(f"{message} (not retried)", status) from None
                wait = retry_after(exc)
                if wait is not None and wait > MAX_RETRY_AFTER:
                    raise TransportError(f"{message}; the server asks to wait {wait:.0f} s, more than "
                                         f"{MAX_RETRY_AFTER:.0f} s - re-run later", status) from None
                last = message
            except openai.APIConnectionError as exc:  # includes APITimeoutError
                status = None
                ms = (time.perf_counter() - t0) * 1000
                kind = "timed out" if isinstance(exc, openai.APITimeoutError) else "connection failed"
                last = self.redact(f"{kind} after {ms / 1000:.1f} s ({type(exc).__name__})") or kind
                on_attempt(Attempt(kwargs, started, ms, None, error=last))
                wait = None
            else:
                on_attempt(Attempt(kwargs, started, (time.perf_counter() - t0) * 1000, 200, completion=completion))
                return completion
            if retry < self.retries:
                await self.sleep(backoff(retry, wait, self.backoff_base, self.backoff_cap, self.rng))
        raise TransportError(f"{last} (gave up after {self.retries + 1} attempts)", status)

    def _raise_if_fatal(self, exc: openai.APIStatusError, status: int) -> None:
        code = getattr(exc, "code", None)
        if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)) or status in (401, 403):
            raise LLMAuthError(
                f"the endpoint {self.endpoint} refused the API key (HTTP {status}"
                f"{', ' + str(code) if code else ''}); check OPENAI_API_KEY / COLLABSCOPE_API_KEY_FILE "
                "and that the key may use this model. The batch was stopped; re-run to resume."
            ) from None
        if status == 404:
            raise EndpointError(
                f"the endpoint {self.endpoint} answered 404 for the chat completions call: check --base-url "
                "(it usually ends in /v1) and --model (for Azure, the deployment name). The batch was stopped."
            ) from None
        if status == 429 and code == "insufficient_quota":
            raise EndpointError(
                f"the endpoint {self.endpoint} reports insufficient quota (HTTP 429 insufficient_quota): add "
                "credit or raise the limit, then re-run; finished documents are kept."
            ) from None
