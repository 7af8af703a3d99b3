"""``collabscope review``: loopback by default, remote only with --allow-remote AND an
authentication method the app will enforce; the Streamlit command line it runs."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from extractor.cli import app
from extractor.cli import review as review_cli
from extractor.store import Store

runner = CliRunner()
SECRET = "a-long-random-review-secret"


@pytest.fixture
def launched(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[tuple[list[str], dict[str, str]]]:
    """Capture the streamlit launch instead of running it; no secrets files from $HOME."""
    calls: list[tuple[list[str], dict[str, str]]] = []
    monkeypatch.setattr(review_cli, "serve", lambda cmd, env: calls.append((cmd, env)) or 0)
    monkeypatch.setattr(review_cli.Path, "home", classmethod(lambda cls: tmp_path / "home"))
    monkeypatch.setattr(review_cli, "port_free", lambda host, port: True)
    Store.open(tmp_path / "r.db").close()
    return calls


def test_a_port_in_use_is_refused_with_a_clear_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[object] = []
    monkeypatch.setattr(review_cli, "serve", lambda cmd, env: calls.append(cmd) or 0)
    Store.open(tmp_path / "r.db").close()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert review_cli.port_free("127.0.0.1", port) is False
        result = runner.invoke(app, ["review", "--db", str(tmp_path / "r.db"), "--port", str(port)])
    assert result.exit_code == 2, result.output
    assert f"port {port}" in result.output and "in use" in result.output
    assert calls == []
    assert review_cli.port_free("127.0.0.1", port) is True


@pytest.mark.parametrize("host,expected", [
    ("127.0.0.1", True), ("localhost", True), ("::1", True), ("127.0.0.2", True),
    ("0.0.0.0", False), ("192.168.1.20", False), ("::", False), ("example.org", False),
])
def test_is_loopback(host: str, expected: bool) -> None:
    assert review_cli.is_loopback(host) is expected


def test_default_is_loopback(launched, tmp_path: Path) -> None:
    result = runner.invoke(app, ["review", "--db", str(tmp_path / "r.db"), "--port", "8600"])
    assert result.exit_code == 0, result.output
    cmd, env = launched[0]
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--server.port") + 1] == "8600"
    assert env["COLLABSCOPE_DB"] == str((tmp_path / "r.db").resolve())
    assert "COLLABSCOPE_REVIEW_REMOTE" not in env
    assert cmd[cmd.index("--server.enableXsrfProtection") + 1] == "true"


def test_remote_needs_the_flag(launched, tmp_path: Path) -> None:
    result = runner.invoke(app, ["review", "--db", str(tmp_path / "r.db"), "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "--allow-remote" in result.output
    assert launched == []


def test_remote_needs_authentication(launched, tmp_path: Path) -> None:
    result = runner.invoke(app, ["review", "--db", str(tmp_path / "r.db"), "--host", "0.0.0.0", "--allow-remote"])
    assert result.exit_code == 2 and "without authentication" in result.output
    assert launched == []


def test_remote_with_shared_secret(launched, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLLABSCOPE_REVIEW_SECRET", SECRET)
    result = runner.invoke(app, ["review", "--db", str(tmp_path / "r.db"), "--host", "0.0.0.0", "--allow-remote"])
    assert result.exit_code == 0, result.output
    assert "shared secret" in result.output
    cmd, env = launched[0]
    assert env["COLLABSCOPE_REVIEW_REMOTE"] == "1"
    assert cmd[cmd.index("--client.showErrorDetails") + 1] == "type"  # no tracebacks to strangers


def test_short_secret_is_refused(launched, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLLABSCOPE_REVIEW_SECRET", "short")
    result = runner.invoke(app, ["review", "--db", str(tmp_path / "r.db"), "--host", "0.0.0.0", "--allow-remote"])
    assert result.exit_code == 2 and "shorter than" in result.output


def test_secret_in_secrets_toml(launched, tmp_path: Path) -> None:
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text(f'[collabscope]\nreview_secret = "{SECRET}"\n')
    result = runner.invoke(app, ["review", "--db", str(tmp_path / "r.db"), "--host", "10.0.0.5", "--allow-remote"])
    assert result.exit_code == 0, result.output


def test_oidc_config_is_checked(launched, tmp_path: Path) -> None:
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text('[auth]\nclient_id = "x"\n')
    result = runner.invoke(app, ["review", "--db", str(tmp_path / "r.db"), "--host", "10.0.0.5", "--allow-remote"])
    assert result.exit_code == 2 and "redirect_uri" in result.output


def test_missing_database(launched, tmp_path: Path) -> None:
    result = runner.invoke(app, ["review", "--db", str(tmp_path / "nope.db")])
    assert result.exit_code == 2 and "does not exist" in result.output


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie awaiting its parent counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _poll(predicate: Callable[[], bool], seconds: float) -> bool:
    """Wait until ``predicate()`` holds, checking every 0.2 s for at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads child pids from /proc (Linux)")
def test_sigterm_to_review_stops_the_streamlit_server(tmp_path: Path) -> None:
    """`kill`, systemd and container runtimes signal the command's pid only: the server it
    started must stop with it, freeing the port and the database."""
    exe = shutil.which("collabscope", path=str(Path(sys.executable).parent))
    assert exe, "the collabscope console script is not installed in this environment"
    Store.open(tmp_path / "r.db").close()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLABSCOPE_")}
    proc = subprocess.Popen([exe, "review", "--db", str(tmp_path / "r.db"), "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    children: list[int] = []
    try:
        assert _poll(lambda: _listening(port) or proc.poll() is not None, 120), "the review server never listened"
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        children = _children(proc.pid)
        assert children, "review runs the server as a child process"
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        assert _poll(lambda: not _listening(port), 30), f"port {port} still served after SIGTERM to review"
        assert _poll(lambda: not any(_alive(pid) for pid in children), 30), "the Streamlit child outlived review"
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for pid in children:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
