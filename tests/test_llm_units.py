"""Small pure parts of the llm backend: backoff, Retry-After, redaction, prices, countries,
client construction (Azure), instructor modes, snippets."""

from __future__ import annotations

import random
from pathlib import Path

import httpx2
import openai
import pytest
from pydantic import SecretStr

from extractor.config import Settings
from extractor.errors import ConfigError, LLMAuthError
from extractor.extract.llm.asker import parse_mode
from extractor.extract.llm.convert import country_code, sector_of
from extractor.extract.llm.costs import estimate_tokens, load_prices
from extractor.extract.llm.render import candidates, snippets_text
from extractor.extract.llm.transport import Redactor, backoff, is_azure_classic, make_client, retry_after
from extractor.resolve import get_resolver, get_taxonomy
from extractor.schemas import Sector
from tests.test_llm_support import PLANTED_KEY, synthetic_doc


def status_error(headers: dict[str, str]) -> openai.APIStatusError:
    request = httpx2.Request("POST", "http://x/v1/chat/completions")
    return openai.RateLimitError("slow down", response=httpx2.Response(429, headers=headers, request=request), body=None)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [({"retry-after-ms": "1500"}, 1.5), ({"retry-after": "2"}, 2.0), ({"retry-after": "0.25"}, 0.25),
     ({"retry-after-ms": "100", "retry-after": "9"}, 0.1), ({}, None)],
    ids=["ms", "seconds", "fractional", "ms-wins", "none"],
)
def test_retry_after_headers(headers: dict[str, str], seconds: float | None) -> None:
    assert retry_after(status_error(headers)) == seconds


def test_backoff_is_jittered_exponential_or_the_servers_wait() -> None:
    rng = random.Random(1)
    waits = [backoff(i, None, 0.5, 8.0, rng) for i in range(8) for _ in range(50)]
    assert all(0 <= w <= 8.0 for w in waits)
    assert max(backoff(0, None, 0.5, 8.0, rng) for _ in range(100)) <= 0.5
    assert 2.0 <= backoff(3, 2.0, 0.5, 8.0, rng) <= 2.2  # honours Retry-After, adds a little jitter


def test_redactor_removes_the_key_and_key_shaped_strings() -> None:
    r = Redactor(PLANTED_KEY)
    assert r(f"bad key {PLANTED_KEY}!") == "bad key [REDACTED]!"
    assert "sk-proj-abcdef123456" not in r("Incorrect API key provided: sk-proj-abcdef123456")
    assert r("Authorization: Bearer abcdefghijkl") == "Authorization: [REDACTED]"
    assert r(None) is None and Redactor(None)("plain") == "plain"


def test_prices_exact_prefix_unknown_and_batch(tmp_path: Path) -> None:
    table = load_prices()
    assert table.meta.as_of and table.price("gpt-4o-mini").input == 0.15
    assert table.price("gpt-4o-mini-2024-07-18") == table.price("gpt-4o-mini")  # longest prefix
    assert table.price("gpt-4o-2024-08-06") == table.price("gpt-4o")
    assert table.price("llama3.1:8b") is None and table.cost("llama3.1:8b", 10**6, 10**6) == 0.0
    assert table.cost("gpt-4o-mini", 1_000_000, 1_000_000) == pytest.approx(0.75)
    assert table.cost("gpt-4o-mini", 1_000_000, 1_000_000, batch=True) == pytest.approx(0.375)
    bad = tmp_path / "bad.toml"
    bad.write_text('[models."m"]\ninput = -1\noutput = 1\n')
    with pytest.raises(ConfigError, match="models.m.input"):
        load_prices(bad)
    assert estimate_tokens("x" * 400) == 100 and estimate_tokens("") == 1


@pytest.mark.parametrize(
    ("value", "code"),
    [("US", "US"), ("uk", "GB"), ("USA", "US"), ("United States", "US"), ("Germany", "DE"), ("XX", None),
     ("", None), (None, None), ("Hong Kong", "HK")],
)
def test_country_code_from_whatever_the_model_wrote(value: str | None, code: str | None) -> None:
    assert country_code(value, get_resolver()) == code


def test_sector_words() -> None:
    assert sector_of("Industry") is Sector.INDUSTRY and sector_of("non-profit") is Sector.NONPROFIT
    assert sector_of("other") is None and sector_of(None) is None


@pytest.mark.parametrize("mode", ["TOOLS", "json", "md_json", "JSON_SCHEMA", "tools_strict"])
def test_instructor_modes(mode: str) -> None:
    assert parse_mode(mode).name == mode.upper()


def test_unknown_instructor_mode_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="choose one of"):
        parse_mode("PARALLEL_TOOLS")


def test_clients_for_openai_local_and_azure() -> None:
    key = SecretStr(PLANTED_KEY)
    plain = make_client(Settings(api_key=key, base_url="http://localhost:11434/v1"))
    assert str(plain.base_url).startswith("http://localhost:11434/v1") and plain.max_retries == 0
    local = make_client(Settings(base_url="http://localhost:8080/v1"))  # llama.cpp: no key needed
    assert local.api_key == "unused"
    with pytest.raises(LLMAuthError, match="no API key"):
        make_client(Settings())
    v1 = "https://myres.openai.azure.com/openai/v1/"
    assert not is_azure_classic(v1) and type(make_client(Settings(api_key=key, base_url=v1))) is openai.AsyncOpenAI
    classic = make_client(Settings(api_key=key, base_url="https://myres.openai.azure.com", model="my-deploy"))
    assert isinstance(classic, openai.AsyncAzureOpenAI)
    assert "/openai/deployments/my-deploy" in str(classic.base_url) and classic._custom_query["api-version"]


def test_snippets_mark_the_mention_and_skip_the_bibliography() -> None:
    body = ("We fine-tune Llama-3 on our data. " + "filler " * 200 + "\nReferences\n" +
            "Touvron et al. Llama 2: open models. Brown et al. GPT-3 language models are few-shot learners.")
    doc = synthetic_doc(1, body=body)
    cands = candidates(doc, get_taxonomy())
    families = {c.family for c in cands}
    assert "Llama" in families
    llama = next(c for c in cands if c.family == "Llama")
    assert "«Llama-3»" in llama.snippet and "fine-tune" in llama.snippet
    assert all(doc.full_text[c.start:c.end] == c.name for c in cands)
    text = snippets_text(cands)
    assert text.startswith("[1] ") and "(family " in text


def test_connect_failures_are_told_apart_from_torn_connections() -> None:
    import socket
    import ssl

    import openai

    from extractor.extract.llm.transport import connect_failure

    def wrapped(cause: BaseException, name: str = "ConnectError") -> openai.APIConnectionError:
        inner = type(name, (Exception,), {})(str(cause))
        inner.__cause__ = cause
        exc = openai.APIConnectionError(request=None)  # type: ignore[arg-type]
        exc.__cause__ = inner
        return exc

    assert "refused" in (connect_failure(wrapped(ConnectionRefusedError(111, "refused"))) or "")
    assert "DNS" in (connect_failure(wrapped(socket.gaierror(-2, "Name or service not known"))) or "")
    assert "TLS" in (connect_failure(wrapped(ssl.SSLError(1, "WRONG_VERSION_NUMBER"))) or "")
    assert "timed out" in (connect_failure(wrapped(TimeoutError(), "ConnectTimeout")) or "")
    assert connect_failure(wrapped(OSError("peer closed"), "RemoteProtocolError")) is None  # torn: a retry
    assert connect_failure(wrapped(OSError("reset"), "ReadError")) is None


def test_answer_parsing_is_strict_first_then_lenient() -> None:
    import json

    import pytest as _pytest

    from extractor.extract.llm.transport import _BadBody, parse_completion

    good = {"id": "c1", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "{}"}}]}
    assert parse_completion(json.dumps(good)).choices[0].message.content == "{}"
    odd = dict(good, created=None, choices=[{"index": 0, "message": {"role": "assistant", "content": "x"}}])
    assert parse_completion(json.dumps(odd)).choices[0].message.content == "x"  # like the SDK: lenient
    with _pytest.raises(_BadBody):
        parse_completion("<html>proxy error</html>")
