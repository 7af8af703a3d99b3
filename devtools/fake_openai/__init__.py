"""A loopback OpenAI-compatible fake server for tests and benchmarks.

collabscope's LLM backend is tested over real HTTP (STYLE habit 8): the official
``openai`` client and instructor talk to this server on 127.0.0.1, and a script of steps
decides each answer -- valid, malformed JSON, 429 with Retry-After, 500, delays longer
than the client timeout, hung or torn connections. The Batch API (files + batches) is
emulated too. No third-party dependencies.

In a test::

    from devtools.fake_openai import FakeOpenAI, answer, malformed, status

    with FakeOpenAI() as srv:
        srv.script(malformed(), answer({"title": "T"}))
        client = openai.OpenAI(base_url=srv.base_url, api_key="test-key", max_retries=0)

As a process (first stdout line is the base URL)::

    python -m devtools.fake_openai --port 0 --latency 0.5 --script steps.jsonl
"""

from devtools.fake_openai.server import FakeOpenAI, RecordedRequest, Responder, key_fingerprint
from devtools.fake_openai.shapes import (
    chat_completion,
    default_responder,
    error_body,
    estimate_tokens,
    request_schema,
    request_text,
    schema_instance,
    tool_name,
)
from devtools.fake_openai.steps import (
    Answer,
    Close,
    Delay,
    Hang,
    Status,
    Step,
    Truncated,
    answer,
    close,
    coerce_step,
    delay,
    hang,
    malformed,
    status,
    step_from_dict,
    truncated,
)

__all__ = [
    "Answer",
    "Close",
    "Delay",
    "FakeOpenAI",
    "Hang",
    "RecordedRequest",
    "Responder",
    "Status",
    "Step",
    "Truncated",
    "answer",
    "chat_completion",
    "close",
    "coerce_step",
    "default_responder",
    "delay",
    "error_body",
    "estimate_tokens",
    "hang",
    "key_fingerprint",
    "malformed",
    "request_schema",
    "request_text",
    "schema_instance",
    "status",
    "step_from_dict",
    "tool_name",
    "truncated",
]
