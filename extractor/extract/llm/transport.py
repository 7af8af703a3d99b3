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
(wrong base URL or model), 429 ``insufficient_quota`` and - after ``CONNECT_ATTEMPTS``
tries - a connection that cannot be opened at all (refused, DNS, TLS handshake, connect
timeout: :class:`EndpointUnreachable`); the messages name the endpoint and what to check,
and never contain the key (:class:`Redactor`).
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

from extractor.config import Settings
from extractor.errors import LLMAuthError, LLMError

RETRY_STATUS = frozenset({408, 409, 429})
MAX_RETRY_AFTER = 300.0  # seconds; a longer wait is a quota problem, not congestion
AZURE_API_VERSION = "2024-10-21"  # GA data-plane version used for the classic Azure URL form


class EndpointError(LLMError):
    """The endpoint cannot serve any document (wrong URL/model, quota exhausted): stop."""


class EndpointUnreachable(EndpointError):
    """No connection could be opened (refused, DNS, TLS, connect timeout): stop the batch."""


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
    limits = _pool_limits(settings.concurrency)
    if limits is not None:
        common["http_client"] = openai.DefaultAsyncHttpxClient(limits=limits, timeout=settings.request_timeout)
    if is_azure_classic(settings.base_url):
        parts = urlsplit(settings.base_url or "")
        return openai.AsyncAzureOpenAI(
            azure_endpoint=f"{parts.scheme}://{parts.netloc}", azure_deployment=settings.model,
            api_version=api_version or AZURE_API_VERSION, **common)
    return openai.AsyncOpenAI(base_url=settings.base_url, **common)


def _pool_limits(concurrency: int | None) -> Any:
    """Connection-pool limits that keep one live connection per request in flight.

    The SDK keeps at most 100 idle connections; above that concurrency every answer would
    close a connection and the next request open a new one (a TCP, and for https a TLS,
    handshake per request). None = the SDK default is enough.
    """
    from openai._constants import DEFAULT_CONNECTION_LIMITS as default

    want = max(1, int(concurrency or 1))  # Transport.slots bounds requests on the wire to this
    if default.max_keepalive_connections is not None and default.max_keepalive_connections >= want:
        return None
    return type(default)(max_connections=max(want, default.max_connections or want), max_keepalive_connections=want)


@dataclass
class Attempt:
    """What one HTTP request did; the caller turns it into an ``llm_calls`` row."""

    kwargs: dict[str, Any]
    started: float
    duration_ms: float
    status_code: int | None
    completion: Any = None
    error: str | None = None
    response_text: str | None = None  # the raw body (an answer's or an error's)
    request_text: str | None = None  # the JSON sent, when already serialised (else from kwargs)


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


#: Attempts (first + retries) for a request that cannot even open a connection. A refused
#: connection, an unknown host or a failed TLS handshake fails the same way for every
#: document, so the batch stops after a short, bounded try instead of failing thousands of
#: documents one by one (or hammering a port that is not listening).
CONNECT_ATTEMPTS = 3


def connect_failure(exc: BaseException) -> str | None:
    """Why no connection could be opened, or None when the failure came later.

    httpx wraps every failure to *open* a connection (refused, DNS, TLS handshake, connect
    timeout) in ``ConnectError`` / ``ConnectTimeout``; a connection torn after the request
    was sent is a ``ReadError`` / ``RemoteProtocolError`` and stays a per-request retry.
    Class names are matched along the cause chain, so the vendored ``httpx2`` of newer
    openai releases and plain ``httpx`` both work.
    """
    import socket
    import ssl

    chain: list[BaseException] = []
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    names = {type(e).__name__ for e in chain}
    if not names & {"ConnectError", "ConnectTimeout"}:
        return None
    for e in chain:
        if isinstance(e, socket.gaierror):
            return "the host name does not resolve (DNS lookup failed)"
        if isinstance(e, ssl.SSLError):
            return (f"the TLS handshake failed ({_first_words(e)}); is the URL https:// for a plain-HTTP "
                    "server, or is a certificate not trusted?")
        if isinstance(e, ConnectionRefusedError):
            return "the connection was refused (nothing listens on that host and port)"
    if "ConnectTimeout" in names:
        return "opening the connection timed out (host down or a firewall drops the packets)"
    return f"no connection could be opened ({_first_words(chain[-1])})"


def _first_words(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def _body_text(exc: BaseException) -> str | None:
    body = getattr(exc, "body", None)
    if body is None:
        return None
    return body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, default=str)


class _BadBody(Exception):
    def __init__(self, message: str, text: str):
        super().__init__(message)
        self.text = text


def parse_completion(raw: Any) -> ChatCompletion:
    """The answer as the SDK's ``ChatCompletion``: validated by pydantic-core in one pass,
    or - for a server whose answer is not quite the OpenAI shape (a missing ``created``, an
    odd ``finish_reason``) - built leniently the way the SDK itself would."""
    if isinstance(raw, ChatCompletion):
        return raw
    if not isinstance(raw, (str, bytes)):
        raise _BadBody(f"unexpected {type(raw).__name__}", str(raw))
    try:
        return ChatCompletion.model_validate_json(raw)
    except ValueError:
        pass
    try:
        data = json.loads(raw)
    except ValueError:
        raise _BadBody("not JSON", raw if isinstance(raw, str) else raw.decode("utf-8", "replace")) from None
    if not isinstance(data, dict):
        raise _BadBody("not a JSON object", raw if isinstance(raw, str) else raw.decode("utf-8", "replace"))
    from openai._models import construct_type

    return construct_type(type_=ChatCompletion, value=data)  # type: ignore[no-any-return]


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
            EndpointUnreachable: no connection could be opened ``CONNECT_ATTEMPTS`` times
                (refused, DNS, TLS, connect timeout): no document can succeed either.
            TransportError: this request failed after its retries (the document fails).
        """
        last: str = ""
        status: int | None = None
        # Serialised once: the same text goes on the wire (every attempt) and into the log.
        payload = json.dumps(kwargs, ensure_ascii=False, separators=(",", ":"), default=str)
        body = payload.encode("utf-8")
        unreachable = 0
        for retry in range(self.retries + 1):
            t0 = time.perf_counter()
            started = time.time()
            try:
                if self.slots is None:
                    raw = await self._post(body)
                else:
                    async with self.slots:
                        t0 = time.perf_counter()  # waiting for a slot is not request time
                        started = time.time()
                        raw = await self._post(body)
                    # The slot just freed woke a worker whose next request is built; let it
                    # go on the wire before this answer is parsed, converted and saved.
                    # Without this, when many answers land together every one of them is
                    # processed before any freed slot is refilled, and the endpoint idles.
                    await asyncio.sleep(0)
                completion = parse_completion(raw)
            except openai.APIStatusError as exc:
                status = exc.status_code
                ms = (time.perf_counter() - t0) * 1000
                message = self.redact(f"HTTP {status}: {exc.message}") or ""
                on_attempt(Attempt(kwargs, started, ms, status, error=message,
                                   response_text=self.redact(_body_text(exc)), request_text=payload))
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
                why = connect_failure(exc)
                if why is not None:
                    unreachable += 1
                    last = self.redact(f"connection failed: {why}") or "connection failed"
                    on_attempt(Attempt(kwargs, started, ms, None, error=last, request_text=payload))
                    if unreachable >= min(CONNECT_ATTEMPTS, self.retries + 1):
                        raise EndpointUnreachable(
                            f"cannot reach the endpoint {self.endpoint}: {why} ({unreachable} attempt(s)). "
                            "Check --base-url / OPENAI_BASE_URL, the network and that the server is running. "
                            "The batch was stopped; documents not finished stay pending - re-run to resume."
                        ) from None
                else:
                    kind = "timed out" if isinstance(exc, openai.APITimeoutError) else "connection failed"
                    last = self.redact(f"{kind} after {ms / 1000:.1f} s ({type(exc).__name__})") or kind
                    on_attempt(Attempt(kwargs, started, ms, None, error=last, request_text=payload))
                wait = None
            except _BadBody as exc:
                status = 200
                ms = (time.perf_counter() - t0) * 1000
                last = self.redact(f"HTTP 200 with a body that is not a chat completion: {exc}") or "bad body"
                on_attempt(Attempt(kwargs, started, ms, 200, error=last,
                                   response_text=self.redact(exc.text[:20000]), request_text=payload))
                wait = None
            else:
                on_attempt(Attempt(kwargs, started, (time.perf_counter() - t0) * 1000, 200, completion=completion,
                                   response_text=raw, request_text=payload))
                return completion
            if retry < self.retries:
                await self.sleep(backoff(retry, wait, self.backoff_base, self.backoff_cap, self.rng))
        raise TransportError(f"{last} (gave up after {self.retries + 1} attempts)", status)

    async def _post(self, body: bytes) -> str:
        """POST the serialised request; the raw response text (errors raise as usual).

        ``content=`` bytes, not ``body=``: chat.completions.create() would walk the whole
        request (few-shot messages, tool schema) through its TypedDict transform and
        post(body=...) would serialise it again; ``cast_to=str`` skips the SDK's recursive
        ``construct_type`` of the answer, which :func:`parse_completion` does ~30x faster.
        """
        return await self.client.post("/chat/completions", content=body, cast_to=str,
                                      options={"headers": {"Content-Type": "application/json"}})

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
