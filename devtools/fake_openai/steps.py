"""Scripted steps: what the fake server does with one request.

A test describes the server's behaviour as a queue of steps instead of writing HTTP
handlers, so each failure kind the extraction backend must survive (bad JSON, 429, 500,
timeouts, torn connections) is one readable line: ``srv.script(status(429, retry_after=1))``.
Steps are plain frozen dataclasses so they can also come from a JSONL file
(:func:`step_from_dict`) when the server runs as a separate process.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Answer",
    "Close",
    "Delay",
    "Hang",
    "Status",
    "Step",
    "Truncated",
    "answer",
    "close",
    "coerce_step",
    "delay",
    "hang",
    "malformed",
    "status",
    "step_from_dict",
    "truncated",
]


@dataclass(frozen=True)
class Answer:
    """A 200 chat completion; ``content`` goes into ``message.content`` or tool arguments.

    ``content`` is a str sent verbatim (so it may be deliberately invalid JSON) or any
    other JSON value, which is serialised. Token counts default to a len//4 estimate.
    """

    content: Any
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None
    as_tool: bool | None = None  # None: a tool call iff the request offered tools

    @property
    def text(self) -> str:
        """The exact string the model "said"."""
        if isinstance(self.content, str):
            return self.content
        return json.dumps(self.content, ensure_ascii=False)


@dataclass(frozen=True)
class Status:
    """An HTTP error response with an OpenAI-style error body (or a given one)."""

    code: int
    body: Any = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Delay:
    """Sleep, then do ``then`` (None: whatever the responder would have done)."""

    seconds: float
    then: Step | None = None


@dataclass(frozen=True)
class Hang:
    """Hold the connection open without answering until the server stops."""


@dataclass(frozen=True)
class Truncated:
    """Announce a longer Content-Length than the body sent, then close the connection.

    ``text`` None means: the first half of the completion the responder would have sent.
    """

    text: str | None = None


@dataclass(frozen=True)
class Close:
    """Close the connection without sending any response bytes."""


Step = Answer | Status | Delay | Hang | Truncated | Close
STEP_TYPES = (Answer, Status, Delay, Hang, Truncated, Close)


def answer(
    obj_or_text: Any,
    *,
    prompt_tokens: int | None = None,
    completion_tokens: int | None = None,
    finish_reason: str | None = None,
    as_tool: bool | None = None,
) -> Answer:
    """A valid answer: a dict/list is sent as JSON text, a str verbatim.

    Args:
        obj_or_text: The model output (dict -> JSON string).
        prompt_tokens: Reported ``usage.prompt_tokens``; default len(prompt)//4.
        completion_tokens: Reported ``usage.completion_tokens``; default len(text)//4.
        finish_reason: Override, e.g. "length" to make instructor raise IncompleteOutput.
        as_tool: Force tool-call (True) or content (False) shape; default follows the
            request (``tools`` present -> tool call).
    """
    return Answer(obj_or_text, prompt_tokens, completion_tokens, finish_reason, as_tool)


def malformed(text: str = '{"title": "x", "authors": [') -> Answer:
    """An answer whose text is not valid JSON, to exercise instructor's re-ask."""
    return Answer(text)


def status(
    code: int,
    body: Any = None,
    headers: dict[str, str] | None = None,
    *,
    retry_after: float | None = None,
) -> Status:
    """An HTTP error. ``retry_after`` sets both ``Retry-After`` and ``retry-after-ms``.

    Args:
        code: HTTP status, e.g. 429, 500, 503, 401.
        body: JSON body; default ``{"error": {"message", "type", "code", "param"}}``.
        headers: Extra response headers.
        retry_after: Seconds the client should wait (the openai client prefers the
            millisecond header when both are present).
    """
    hdrs = dict(headers or {})
    if retry_after is not None:
        hdrs.setdefault("Retry-After", f"{retry_after:g}")
        hdrs.setdefault("retry-after-ms", str(int(retry_after * 1000)))
    return Status(code, body, tuple(hdrs.items()))


def delay(seconds: float, then: Step | None = None) -> Delay:
    """Wait ``seconds`` before answering; longer than the client timeout -> timeout."""
    return Delay(seconds, then)


def hang() -> Hang:
    """Never answer; the connection stays open until the client gives up or stop()."""
    return Hang()


def truncated(text: str | None = None) -> Truncated:
    """Send headers promising more bytes than follow, then close (a torn response)."""
    return Truncated(text)


def close() -> Close:
    """Drop the connection without a response (a crashed upstream)."""
    return Close()


def coerce_step(value: Any) -> Step | None:
    """Let responders return a step, a dict/list/str answer, or None (= default)."""
    if value is None or isinstance(value, STEP_TYPES):
        return value
    return Answer(value)


def step_from_dict(d: dict[str, Any]) -> Step:
    """Build a step from its JSON form, as used by ``--script FILE.jsonl`` lines.

    Forms: ``{"kind": "answer", "content": ..., "prompt_tokens": 10}``,
    ``{"kind": "malformed", "text": "{"}``, ``{"kind": "status", "code": 429,
    "retry_after": 1}``, ``{"kind": "delay", "seconds": 2, "then": {...}}``,
    ``{"kind": "hang"}``, ``{"kind": "truncated"}``, ``{"kind": "close"}``.

    Raises:
        ValueError: the kind is unknown or a required field is missing.
    """
    kind = d.get("kind")
    try:
        if kind == "answer":
            return answer(
                d["content"],
                prompt_tokens=d.get("prompt_tokens"),
                completion_tokens=d.get("completion_tokens"),
                finish_reason=d.get("finish_reason"),
                as_tool=d.get("as_tool"),
            )
        if kind == "malformed":
            return malformed(d.get("text", '{"title": "x", "authors": ['))
        if kind == "status":
            return status(d["code"], d.get("body"), d.get("headers"), retry_after=d.get("retry_after"))
        if kind == "delay":
            then = d.get("then")
            return delay(float(d["seconds"]), step_from_dict(then) if then else None)
        if kind == "hang":
            return hang()
        if kind == "truncated":
            return truncated(d.get("text"))
        if kind == "close":
            return close()
    except KeyError as exc:
        raise ValueError(f"step {d!r} of kind {kind!r} is missing field {exc}") from None
    raise ValueError(
        f"unknown step kind {kind!r} in {d!r}; expected one of answer, malformed, "
        "status, delay, hang, truncated, close"
    )
