"""The loopback fake OpenAI server, driven through the real openai and instructor clients.

Each test talks real HTTP to 127.0.0.1 and asserts both what the client got and what the
server saw, because the fake is only worth having if the official client parses it like
the real API and fails on it the way it fails upstream.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import httpx2
import instructor
import openai
import pytest
from instructor.core import InstructorRetryException
from pydantic import BaseModel, Field

from devtools.fake_openai import (
    FakeOpenAI,
    answer,
    close,
    delay,
    hang,
    key_fingerprint,
    malformed,
    request_text,
    status,
    step_from_dict,
    truncated,
)

REPO = Path(__file__).resolve().parents[1]
CHAT = "/v1/chat/completions"
PAPER = {"title": "Attention Is All You Need", "authors": ["Ashish Vaswani", "Noam Shazeer"], "year": 2017}


class Paper(BaseModel):
    """A tiny stand-in for the real extraction schema."""

    title: str
    authors: list[str] = Field(min_length=1)
    year: int


def client_for(fake_openai: FakeOpenAI, **kwargs: Any) -> openai.OpenAI:
    kwargs.setdefault("max_retries", 0)
    return openai.OpenAI(base_url=fake_openai.base_url, api_key="test-key", **kwargs)


def ask(client: openai.OpenAI, text: str = "Extract doc-1") -> Any:
    return client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": text}])


# -- instructor modes -------------------------------------------------------------------


@pytest.mark.parametrize(
    "mode",
    [instructor.Mode.TOOLS, instructor.Mode.JSON, instructor.Mode.MD_JSON, instructor.Mode.JSON_SCHEMA],
    ids=["tools", "json", "md-json", "json-schema"],
)
def test_instructor_extracts_scripted_answer(fake_openai: FakeOpenAI, mode: instructor.Mode) -> None:
    fake_openai.script(answer(PAPER, prompt_tokens=120, completion_tokens=30))
    with client_for(fake_openai) as raw:
        client = instructor.from_openai(raw, mode=mode)
        paper, completion = client.chat.completions.create_with_completion(
            model="gpt-4o-mini", response_model=Paper, max_retries=0,
            messages=[{"role": "user", "content": "Extract the paper doc-1"}],
        )
    assert paper.model_dump() == PAPER
    assert completion.usage.total_tokens == 150
    (seen,) = fake_openai.requests
    assert seen.path == CHAT and seen.step == "answer"
    assert "doc-1" in seen.text
    if mode is instructor.Mode.TOOLS:
        assert seen.body["tools"][0]["function"]["name"] == "Paper"
        assert completion.choices[0].message.tool_calls[0].function.name == "Paper"
    else:
        assert "tools" not in seen.body
        assert completion.choices[0].message.content == json.dumps(PAPER)


@pytest.mark.parametrize("mode", [instructor.Mode.TOOLS, instructor.Mode.JSON], ids=["tools", "json"])
def test_default_responder_answers_with_a_schema_instance(fake_openai: FakeOpenAI, mode: instructor.Mode) -> None:
    """Benchmarks run unscripted: the default answer must validate against the schema."""
    with client_for(fake_openai) as raw:
        paper = instructor.from_openai(raw, mode=mode).chat.completions.create(
            model="gpt-4o-mini", response_model=Paper, max_retries=0,
            messages=[{"role": "user", "content": "doc-1"}],
        )
    assert isinstance(paper, Paper) and len(paper.authors) == 1


@pytest.mark.parametrize("mode", [instructor.Mode.TOOLS, instructor.Mode.JSON], ids=["tools", "json"])
def test_malformed_json_is_fixed_by_instructor_reask(fake_openai: FakeOpenAI, mode: instructor.Mode) -> None:
    fake_openai.script(malformed('{"title": "x", "authors": ['), answer(PAPER))
    with client_for(fake_openai) as raw:
        paper = instructor.from_openai(raw, mode=mode).chat.completions.create(
            model="gpt-4o-mini", response_model=Paper, max_retries=2,
            messages=[{"role": "user", "content": "doc-1"}],
        )
    assert paper.title == PAPER["title"]
    first, second = fake_openai.requests
    assert len(second.body["messages"]) > len(first.body["messages"])  # the re-ask
    assert '{"title": "x", "authors": [' in second.text


def test_schema_violation_then_fixed(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(answer({"title": "T", "authors": [], "year": 2020}), answer(PAPER))
    with client_for(fake_openai) as raw:
        paper = instructor.from_openai(raw).chat.completions.create(
            model="gpt-4o-mini", response_model=Paper, max_retries=1, messages=[{"role": "user", "content": "x"}],
        )
    assert paper.year == 2017 and fake_openai.count(path=CHAT) == 2


def test_instructor_wraps_transport_errors_in_retry_exception(fake_openai: FakeOpenAI) -> None:
    """Documented for the backend: a 500 via instructor is InstructorRetryException whose
    cause is the openai error, and instructor does not re-ask on it."""
    fake_openai.script(status(500))
    with client_for(fake_openai) as raw:
        with pytest.raises(InstructorRetryException) as info:
            instructor.from_openai(raw).chat.completions.create(
                model="gpt-4o-mini", response_model=Paper, max_retries=2, messages=[{"role": "user", "content": "x"}],
            )
    assert isinstance(info.value.__cause__, openai.InternalServerError)
    assert fake_openai.count(path=CHAT) == 1


# -- transport failures through the openai client ---------------------------------------


def test_429_retry_after_is_honoured(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(status(429, retry_after=1), answer("ok"))
    with client_for(fake_openai, max_retries=2) as client:
        started = time.monotonic()
        result = ask(client)
        waited = time.monotonic() - started
    assert result.choices[0].message.content == "ok"
    assert waited >= 0.9  # behaviour check: the client slept for Retry-After
    first, second = fake_openai.requests
    assert [first.step, second.step] == ["status:429", "answer"]
    assert second.headers["x-stainless-retry-count"] == "1"


def test_permanent_500_fails_after_configured_retries(fake_openai: FakeOpenAI) -> None:
    # retry_after keeps the client's exponential backoff out of the test's run time
    fake_openai.script(status(500, retry_after=0.01), match="doc-9", always=True)
    with client_for(fake_openai, max_retries=2) as client:
        with pytest.raises(openai.InternalServerError) as info:
            ask(client, "Extract doc-9")
    assert info.value.status_code == 500
    assert info.value.body["type"] == "server_error"
    assert fake_openai.count(path=CHAT) == 1 + 2


def test_timeout_raises_api_timeout_error(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(delay(5))
    with client_for(fake_openai, timeout=0.5) as client:
        started = time.monotonic()
        with pytest.raises(openai.APITimeoutError):
            ask(client)
    assert time.monotonic() - started < 4.5  # gave up before the 5 s answer came


@pytest.mark.parametrize("step", [truncated(), truncated('{"id": "chatcmpl-1", "choi'), close()],
                         ids=["truncated-default", "truncated-text", "closed"])
def test_torn_connection_raises_api_connection_error(fake_openai: FakeOpenAI, step: Any) -> None:
    fake_openai.script(step)
    with client_for(fake_openai) as client:
        with pytest.raises(openai.APIConnectionError) as info:
            ask(client)
    assert type(info.value) is openai.APIConnectionError  # not the APITimeoutError subclass
    assert isinstance(info.value.__cause__, httpx2.RemoteProtocolError)
    assert fake_openai.count(path=CHAT) == 1


def test_truncated_then_ok_is_retried_by_the_client(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(truncated(), answer("ok"))
    with client_for(fake_openai, max_retries=1) as client:
        assert ask(client).choices[0].message.content == "ok"
    assert fake_openai.count(path=CHAT) == 2


def test_401_raises_authentication_error_without_retry(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(status(401))
    with client_for(fake_openai, max_retries=2) as client:
        with pytest.raises(openai.AuthenticationError) as info:
            ask(client)
    assert info.value.code == "invalid_api_key"
    assert fake_openai.count(path=CHAT) == 1


def test_hang_times_out_and_stop_is_prompt(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(hang(), hang())
    with client_for(fake_openai, timeout=0.3) as client:
        with pytest.raises(openai.APITimeoutError):
            ask(client)
    errors: list[BaseException] = []

    def blocked() -> None:  # no client timeout: only stop() can end this request
        with client_for(fake_openai, timeout=30) as patient:
            try:
                ask(patient)
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

    worker = threading.Thread(target=blocked)
    worker.start()
    assert fake_openai.wait_for_requests(2, timeout=2)
    started = time.monotonic()
    fake_openai.stop()
    assert time.monotonic() - started < 1.0
    worker.join(2)
    assert not worker.is_alive()
    assert errors and isinstance(errors[0], openai.APIConnectionError)


@pytest.mark.fake_openai(latency=0.3, responder=lambda req: answer(request_text(req)))
def test_async_concurrency_overlaps_requests(fake_openai: FakeOpenAI) -> None:
    async def run() -> list[str]:
        async with openai.AsyncOpenAI(base_url=fake_openai.base_url, api_key="test-key", max_retries=0) as client:
            results = await asyncio.gather(*[
                client.chat.completions.create(model="m", messages=[{"role": "user", "content": f"doc-{i}"}])
                for i in range(32)
            ])
        return [r.choices[0].message.content for r in results]

    started = time.monotonic()
    contents = asyncio.run(run())
    elapsed = time.monotonic() - started
    assert sorted(contents) == sorted(f"doc-{i}" for i in range(32))
    assert fake_openai.max_in_flight >= 16
    assert elapsed < 9.6  # serial would take 32 x 0.3 s


# -- scripting ----------------------------------------------------------------------------


def test_match_keyed_steps_apply_only_to_matching_requests(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(status(500), match="paper-7", always=True)
    fake_openai.script(answer({"n": 2}), match="paper-2")
    fake_openai.script(answer({"n": 0}))
    with client_for(fake_openai) as client:
        for _ in range(2):
            with pytest.raises(openai.InternalServerError):
                ask(client, "Extract paper-7")
        assert ask(client, "Extract paper-2").choices[0].message.content == '{"n": 2}'
        assert ask(client, "Extract paper-3").choices[0].message.content == '{"n": 0}'
        assert ask(client, "Extract paper-2").choices[0].message.content == "This is a fake completion."
    assert fake_openai.pending_steps == 1  # only the "always" step remains


TRUTH = {"doc-1": "Alpha", "doc-2": "Beta"}


def noisy_oracle(request: dict[str, Any]) -> Any:
    """Answers doc-1 with its title, doc-2 with a 503, anything else by raising."""
    doc = next(d for d in TRUTH if d in request_text(request))
    return status(503, retry_after=0.01) if doc == "doc-2" else answer({"title": TRUTH[doc]})


@pytest.mark.fake_openai(responder=noisy_oracle)
def test_responder_simulates_a_noisy_oracle(fake_openai: FakeOpenAI) -> None:
    with client_for(fake_openai) as client:
        assert json.loads(ask(client, "doc-1").choices[0].message.content) == {"title": "Alpha"}
        with pytest.raises(openai.InternalServerError) as info:
            ask(client, "doc-2")
        assert info.value.status_code == 503
        with pytest.raises(openai.InternalServerError, match="fake responder raised"):
            ask(client, "doc-3")  # the oracle's StopIteration surfaces as a 500


def test_authorization_is_never_stored_raw(fake_openai: FakeOpenAI) -> None:
    with client_for(fake_openai) as client:
        ask(client)
        client.models.list()
    assert len(fake_openai.requests) == 2
    for seen in fake_openai.requests:
        assert seen.auth_present and seen.auth_sha256 == key_fingerprint("test-key")
        assert "test-key" not in repr(seen)
        assert seen.headers["authorization"].startswith("<redacted")
    assert fake_openai.count(method="GET") == 1
    fake_openai.reset()
    assert fake_openai.requests == [] and fake_openai.count() == 0


def test_streaming_answer(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(answer("streamed hello world"))
    with client_for(fake_openai) as client:
        stream = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}], stream=True,
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "streamed hello world"
    assert chunks[-1].usage is not None


@pytest.mark.parametrize(
    ("line", "kind"),
    [({"kind": "answer", "content": {"a": 1}}, "Answer"), ({"kind": "malformed"}, "Answer"),
     ({"kind": "status", "code": 429, "retry_after": 1}, "Status"),
     ({"kind": "delay", "seconds": 1, "then": {"kind": "close"}}, "Delay"),
     ({"kind": "hang"}, "Hang"), ({"kind": "truncated"}, "Truncated"), ({"kind": "close"}, "Close")],
    ids=["answer", "malformed", "status", "delay-then-close", "hang", "truncated", "close"],
)
def test_step_from_dict(line: dict[str, Any], kind: str) -> None:
    assert type(step_from_dict(line)).__name__ == kind


def test_step_from_dict_names_the_bad_step() -> None:
    with pytest.raises(ValueError, match="unknown step kind 'explode'"):
        step_from_dict({"kind": "explode"})
    with pytest.raises(ValueError, match="missing field 'code'"):
        step_from_dict({"kind": "status"})


# -- Batch API ----------------------------------------------------------------------------


def batch_jsonl(docs: list[str]) -> bytes:
    lines = [
        {"custom_id": doc, "method": "POST", "url": CHAT,
         "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"Extract {doc}"}]}}
        for doc in docs
    ]
    return "\n".join(json.dumps(line) for line in lines).encode()


def run_batch(client: openai.OpenAI, data: bytes) -> Any:
    upload = client.files.create(file=("batch.jsonl", data), purpose="batch")
    assert upload.purpose == "batch" and upload.bytes == len(data)
    batch = client.batches.create(input_file_id=upload.id, endpoint=CHAT, completion_window="24h")
    assert batch.status == "validating"
    seen = [batch.status]
    for _ in range(10):
        batch = client.batches.retrieve(batch.id)
        seen.append(batch.status)
        if batch.status == "completed":
            break
    assert seen == ["validating", "in_progress", "completed"]
    return batch


def test_batch_round_trip(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(answer({"doc": "B"}), match="doc-b")
    with client_for(fake_openai) as client:
        batch = run_batch(client, batch_jsonl(["doc-a", "doc-b", "doc-c"]))
        assert batch.request_counts.total == 3 and batch.request_counts.completed == 3
        assert batch.error_file_id is None
        lines = [json.loads(x) for x in client.files.content(batch.output_file_id).text.splitlines()]
        assert client.files.retrieve(batch.output_file_id).purpose == "batch_output"
    assert [x["custom_id"] for x in lines] == ["doc-a", "doc-b", "doc-c"]
    assert all(x["response"]["status_code"] == 200 and x["error"] is None for x in lines)
    assert lines[1]["response"]["body"]["choices"][0]["message"]["content"] == '{"doc": "B"}'
    assert fake_openai.count(path="/v1/files", method="POST") == 1
    assert fake_openai.requests[0].body["file"] == {"filename": "batch.jsonl", "bytes": len(batch_jsonl(["doc-a", "doc-b", "doc-c"]))}


def test_batch_failed_lines_go_to_the_error_file(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(status(500), match="doc-b", always=True)
    fake_openai.script(close(), match="doc-c")
    with client_for(fake_openai) as client:
        batch = run_batch(client, batch_jsonl(["doc-a", "doc-b", "doc-c"]))
        errors = [json.loads(x) for x in client.files.content(batch.error_file_id).text.splitlines()]
        outputs = client.files.content(batch.output_file_id).text.splitlines()
    assert batch.request_counts.completed == 1 and batch.request_counts.failed == 2
    assert len(outputs) == 1
    by_id = {e["custom_id"]: e for e in errors}
    assert by_id["doc-b"]["response"]["status_code"] == 500 and by_id["doc-b"]["error"] is None
    assert by_id["doc-c"]["response"] is None and by_id["doc-c"]["error"]["code"] == "server_error"


def test_batch_cancel(fake_openai: FakeOpenAI) -> None:
    with client_for(fake_openai) as client:
        upload = client.files.create(file=("b.jsonl", batch_jsonl(["doc-a"])), purpose="batch")
        batch = client.batches.create(input_file_id=upload.id, endpoint=CHAT, completion_window="24h")
        assert client.batches.cancel(batch.id).status == "cancelling"
        assert client.batches.retrieve(batch.id).status == "cancelled"
        with pytest.raises(openai.NotFoundError):
            client.batches.retrieve("batch_missing")


# -- standalone process -------------------------------------------------------------------


def test_standalone_process_prints_url_and_serves(tmp_path: Path) -> None:
    script = tmp_path / "steps.jsonl"
    script.write_text(
        json.dumps({"kind": "answer", "content": {"title": "from script"}}) + "\n"
        + json.dumps({"kind": "status", "code": 500, "match": "doc-x", "always": True}) + "\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "devtools.fake_openai", "--port", "0", "--script", str(script)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        base_url = proc.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        with openai.OpenAI(base_url=base_url, api_key="test-key", max_retries=0) as client:
            assert json.loads(ask(client).choices[0].message.content) == {"title": "from script"}
            with pytest.raises(openai.InternalServerError):
                ask(client, "doc-x")
        with urllib.request.urlopen(base_url.removesuffix("/v1") + "/_fake/stats", timeout=2) as resp:
            stats = json.load(resp)
        assert stats["by_path"] == {CHAT: 2} and stats["pending_steps"] == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
        proc.stdout.close()
        proc.stderr.close()


def test_standalone_process_loads_a_responder_and_takes_admin_scripts(tmp_path: Path) -> None:
    (tmp_path / "sim_oracle.py").write_text(
        "def oracle(request):\n"
        "    return {'echo': request['messages'][-1]['content']}\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "devtools.fake_openai", "--responder", "sim_oracle:oracle",
         "--latency", "0.01"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )
    try:
        base_url = proc.stdout.readline().strip()
        root = base_url.removesuffix("/v1")
        step = json.dumps({"kind": "status", "code": 503, "match": "doc-z"}).encode()
        with urllib.request.urlopen(urllib.request.Request(f"{root}/_fake/script", data=step), timeout=2) as resp:
            assert json.load(resp)["pending_steps"] == 1
        with openai.OpenAI(base_url=base_url, api_key="test-key", max_retries=0) as client:
            assert json.loads(ask(client, "doc-y").choices[0].message.content) == {"echo": "doc-y"}
            with pytest.raises(openai.InternalServerError):
                ask(client, "doc-z")
        with urllib.request.urlopen(f"{root}/_fake/requests", timeout=2) as resp:
            seen = json.load(resp)
        assert [r["step"] for r in seen] == ["answer", "status:503"]
        assert "test-key" not in json.dumps(seen)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
        proc.stdout.close()
        proc.stderr.close()
