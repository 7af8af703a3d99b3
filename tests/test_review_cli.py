"""``collabscope review``: loopback by default, remote only with --allow-remote AND an
authentication method the app will enforce; the Streamlit command line it runs."""

from __future__ import annotations

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
    monkeypatch.setattr(review_cli.subprocess, "call", lambda cmd, env: calls.append((cmd, env)) or 0)
    monkeypatch.setattr(review_cli.Path, "home", classmethod(lambda cls: tmp_path / "home"))
    monkeypatch.setattr(review_cli, "port_free", lambda host, port: True)
    Store.open(tmp_path / "r.db").close()
    return calls


def test_a_port_in_use_is_refused_with_a_clear_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import socket

    calls: list[object] = []
    monkeypatch.setattr(review_cli.subprocess, "call", lambda cmd, env: calls.append(cmd) or 0)
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
