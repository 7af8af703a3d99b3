"""OpenAI wire shapes and the default responder.

The fake is only useful if the official ``openai`` client and instructor parse what it
sends exactly as they parse the real API, so every body here mirrors the openai package's
types (``ChatCompletion``, ``FileObject``, ``Batch``) rather than a simplified guess. The
default responder answers any request with an instance of the schema the request asked
for, so a benchmark can run thousands of requests with no script at all.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from devtools.fake_openai.steps import Answer

__all__ = [
    "chat_completion",
    "chat_completion_chunks",
    "default_responder",
    "error_body",
    "estimate_tokens",
    "request_schema",
    "request_text",
    "schema_instance",
    "tool_name",
]

_ERROR_KINDS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Bad request (fake server)."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided (fake server)."),
    403: ("invalid_request_error", "unsupported_country_region_territory", "Forbidden (fake server)."),
    404: ("invalid_request_error", "not_found", "Not found (fake server)."),
    408: ("timeout", None, "Request timed out (fake server)."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached (fake server)."),
    500: ("server_error", None, "The server had an error processing your request (fake server)."),
    502: ("server_error", None, "Bad gateway (fake server)."),
    503: ("server_error", "service_unavailable", "The engine is currently overloaded (fake server)."),
}


def new_id(prefix: str) -> str:
    """An OpenAI-looking id such as ``chatcmpl-3f2a...``."""
    return f"{prefix}{uuid.uuid4().hex[:24]}"


def error_body(code: int, message: str | None = None) -> dict[str, Any]:
    """``{"error": {...}}`` as the real API sends it, so the client builds a good message."""
    kind, err_code, default_message = _ERROR_KINDS.get(
        code, ("server_error" if code >= 500 else "invalid_request_error", None, f"HTTP {code} (fake server).")
    )
    return {"error": {"message": message or default_message, "type": kind, "param": None, "code": err_code}}


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # [{"type": "text", "text": ...}, {"type": "image_url", ...}]
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def request_text(request: dict[str, Any]) -> str:
    """All message text of a chat request joined by newlines (for responders and matching)."""
    parts: list[str] = []
    for message in request.get("messages") or []:
        if isinstance(message, dict):
            parts.append(_content_text(message.get("content")))
            for call in message.get("tool_calls") or []:
                parts.append(str((call.get("function") or {}).get("arguments", "")))
    return "\n".join(parts)


def estimate_tokens(text: str) -> int:
    """Roughly 4 characters a token; never 0 so cost maths has something to chew on."""
    return max(1, len(text) // 4)


def tool_name(request: dict[str, Any]) -> str | None:
    """The function the request offers (``tools[0].function.name``), or None."""
    tools = request.get("tools") or []
    if tools and isinstance(tools[0], dict):
        return (tools[0].get("function") or {}).get("name")
    return None


def chat_completion(request: dict[str, Any], step: Answer) -> dict[str, Any]:
    """A ``chat.completion`` body answering ``request`` with ``step``.

    The answer becomes a tool call when the request offered tools (instructor
    Mode.TOOLS), and ``message.content`` otherwise (JSON, MD_JSON, JSON_SCHEMA modes).
    """
    text = step.text
    name = tool_name(request)
    as_tool = step.as_tool if step.as_tool is not None else name is not None
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
    if as_tool:
        message["tool_calls"] = [
            {
                "id": new_id("call_"),
                "type": "function",
                "function": {"name": name or "answer", "arguments": text},
            }
        ]
        finish = "tool_calls"
        if isinstance(request.get("tool_choice"), dict):
            finish = "stop"  # what the real API reports for a forced tool choice
    else:
        message["content"] = text
        finish = "stop"
    prompt_tokens = step.prompt_tokens
    if prompt_tokens is None:
        prompt_tokens = estimate_tokens(request_text(request))
    completion_tokens = step.completion_tokens
    if completion_tokens is None:
        completion_tokens = estimate_tokens(text)
    return {
        "id": new_id("chatcmpl-"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model") or "fake-model",
        "system_fingerprint": "fp_fake",
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": step.finish_reason or finish}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def chat_completion_chunks(completion: dict[str, Any], pieces: int = 3) -> list[dict[str, Any]]:
    """Split a completion into ``chat.completion.chunk`` events for ``stream: true``."""
    choice = completion["choices"][0]
    message = choice["message"]
    base = {k: completion[k] for k in ("id", "created", "model", "system_fingerprint")}
    base["object"] = "chat.completion.chunk"

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}], **extra}

    calls = message.get("tool_calls")
    text = calls[0]["function"]["arguments"] if calls else (message.get("content") or "")
    size = max(1, -(-len(text) // pieces))
    slices = [text[i : i + size] for i in range(0, len(text), size)] or [""]
    events = [chunk({"role": "assistant", "content": None if calls else ""})]
    for i, piece in enumerate(slices):
        if calls:
            call: dict[str, Any] = {"index": 0, "function": {"arguments": piece}}
            if i == 0:
                call.update(id=calls[0]["id"], type="function")
                call["function"]["name"] = calls[0]["function"]["name"]
            events.append(chunk({"tool_calls": [call]}))
        else:
            events.append(chunk({"content": piece}))
    events.append(chunk({}, choice["finish_reason"]))
    events.append({**base, "choices": [], "usage": completion["usage"]})
    return events


def request_schema(request: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema the request wants answered: tool parameters, response_format, or
    the schema instructor's JSON/MD_JSON modes paste into the system prompt."""
    tools = request.get("tools") or []
    if tools and isinstance(tools[0], dict):
        params = (tools[0].get("function") or {}).get("parameters")
        if isinstance(params, dict):
            return params
    fmt = request.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema")
        if isinstance(schema, dict):
            return schema
    text = request_text(request)
    marker = text.find("json_schema:")
    if marker >= 0:
        start = text.find("{", marker)
        if start >= 0:
            try:
                schema, _ = json.JSONDecoder().raw_decode(text, start)
            except ValueError:
                return None
            return schema if isinstance(schema, dict) else None
    return None


def schema_instance(schema: dict[str, Any], root: dict[str, Any] | None = None, depth: int = 0) -> Any:
    """A minimal value valid for ``schema`` (required fields only, first enum/anyOf option).

    Enough for pydantic models made of the usual parts; it does not try to satisfy
    patterns, formats or custom validators.
    """
    root = root if root is not None else schema
    if depth > 20:
        return None
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        defs = root.get("$defs") or root.get("definitions") or {}
        return schema_instance(defs.get(name, {}), root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if options:
            non_null = [o for o in options if o.get("type") != "null"]
            if key != "allOf" and len(non_null) < len(options):
                return None
            return schema_instance((non_null or options)[0], root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = "null" if "null" in kind else kind[0]
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        required = schema.get("required") or []
        return {k: schema_instance(props.get(k, {}), root, depth + 1) for k in required}
    if kind == "array":
        item = schema.get("items") or {}
        return [schema_instance(item, root, depth + 1) for _ in range(int(schema.get("minItems", 0)))]
    if kind == "string":
        return "x" * max(1, int(schema.get("minLength", 1)))
    if kind == "integer":
        return int(schema.get("minimum", 0))
    if kind == "number":
        return float(schema.get("minimum", 0))
    if kind == "boolean":
        return False
    return None


def default_responder(request: dict[str, Any]) -> Answer:
    """Answer with a minimal instance of the requested schema, or a plain sentence."""
    schema = request_schema(request)
    if schema is not None:
        return Answer(schema_instance(schema))
    fmt = (request.get("response_format") or {}).get("type")
    return Answer("{}" if fmt == "json_object" else "This is a fake completion.")
