"""A planted API key must never reach the database, logs, exports, reports, stdout/stderr
or error messages, on the happy path and on the failure paths (refused key, unreachable
endpoint), whether it comes from the environment or a secrets file.

Every command runs as a real subprocess; then every byte the run left behind is searched.
The fake server checks the key was really sent (by fingerprint), so the test cannot pass
by never using it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from devtools.fake_openai import key_fingerprint, status
from tests import fault_helpers as fh
from tests.test_llm_support import oracle

if TYPE_CHECKING:
    from tests.conftest import FakeOpenAIFactory

KEYS = {
    "openai-style": "sk-PLANTED-7d1e0c4b9a2f-reliability-do-not-leak",
    "azure-style-hex": "0f3a9c7e5b1d4a2e8c6f0b9d7a5e3c1f",  # no sk- prefix for a pattern to catch
}


def _closed_port() -> int:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.parametrize(("kind", "source"), [("openai-style", "env"), ("azure-style-hex", "secrets-file")],
                         ids=["openai-style-key-in-env", "hex-key-in-secrets-file"])
def test_planted_key_is_nowhere(tmp_path: Path, fake_openai_factory: FakeOpenAIFactory, kind: str, source: str) -> None:
    key = KEYS[kind]
    work = tmp_path / "work"
    work.mkdir()
    fh.make_corpus(work / "papers", 3)
    fh.make_corpus(work / "more", 2, prefix="more")
    fh.make_corpus(work / "offline", 2, prefix="offline")
    db = work / "s.db"
    if source == "env":
        env = fh.child_env(OPENAI_API_KEY=key)
        secrets = None
    else:
        secrets = tmp_path / "secret-key.txt"  # outside the searched folder: it holds the key
        secrets.write_text(key + "\n")
        env = fh.child_env(COLLABSCOPE_API_KEY_FILE=str(secrets))
    env.update(COLLABSCOPE_TRANSPORT_RETRIES="1", COLLABSCOPE_REQUEST_TIMEOUT="2")
    outputs: list[str] = []

    def run(*args: object, ok: tuple[int, ...] = (0, 3)) -> subprocess.CompletedProcess[bytes]:
        proc = subprocess.run(fh.cli(*args), env=env, cwd=work, capture_output=True, timeout=180)
        outputs.append(proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace"))
        assert proc.returncode in ok, f"{args}: {outputs[-1][-2000:]}"
        return proc

    good = fake_openai_factory(responder=oracle)
    run("run", "papers", "--backend", "rules,llm", "--base-url", good.base_url, "--db", db)
    sent = [r for r in good.requests if r.path.endswith("/chat/completions")]
    assert sent and all(r.auth_sha256 == key_fingerprint(key) for r in sent), "the key was not used"
    refusing = fake_openai_factory(responder=oracle)  # a server that echoes the key back in its error
    refusing.script(status(401, {"error": {"message": f"Incorrect API key provided: {key}. You can find "
                                                      "your API key at https://platform.openai.com",
                                           "type": "invalid_request_error", "code": "invalid_api_key"}}),
                    match="Part", always=True)
    proc = run("run", "more", "--backend", "llm", "--base-url", refusing.base_url, "--db", db, ok=(1,))
    assert b"refused the API key" in proc.stderr
    # unreachable endpoint: the batch stops with one message; each attempt is logged with its reason
    proc = run("run", "offline", "--backend", "llm", "--base-url", f"http://127.0.0.1:{_closed_port()}/v1", "--db", db,
               ok=(1,))
    assert b"cannot reach the endpoint" in proc.stderr
    run("status", "--db", db)
    run("export", "--format", "jsonl", "--all", "--out", "out.jsonl", "--db", db)
    run("export", "--format", "csv", "--all", "--out", "out.csv", "--db", db)
    run("costs", "--db", db)
    run("audit", "verify", "--db", db)
    run("report", "--out", "report.html", "--db", db)

    needle = key.encode()
    assert fh.files_containing(needle, [work]) == [], "the key was written to disk"
    for text in outputs:
        assert key not in text, f"the key was printed: ...{text[max(0, text.find(key) - 200):][:400]}"
    # the error paths really ran and stored their reasons (without the key)
    assert fh.count_rows(db, "llm_calls", "WHERE error LIKE '%refused%' AND status_code IS NULL") >= 1
    assert fh.count_rows(db, "llm_calls", "WHERE status_code = 401") >= 1
    if secrets is not None:
        assert secrets.read_text().strip() == key  # untouched
