"""``collabscope review``: launch the Streamlit review UI on the same database.

Loopback only by default. Serving on any other interface needs ``--allow-remote`` and an
authentication method the app will enforce: Streamlit's ``st.login`` (OpenID Connect,
an ``[auth]`` section in ``.streamlit/secrets.toml``) or a shared secret
(``COLLABSCOPE_REVIEW_SECRET`` or ``[collabscope] review_secret`` in secrets.toml). The
command refuses to start remote without one, and tells the app it is remote so the app
refuses too, even if the configuration disappears later.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Annotated

import typer

from extractor.cli.common import ConfigOpt, DbOpt, command, console_err, require_db, settings_from
from extractor.errors import ConfigError

APP = Path(__file__).resolve().parents[2] / "review_ui" / "app.py"
MIN_SECRET_LENGTH = 12


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def secrets_files(cwd: Path | None = None) -> list[Path]:
    """Where Streamlit looks for secrets.toml: user folder, working folder, app folder."""
    cwd = cwd or Path.cwd()
    return [Path.home() / ".streamlit" / "secrets.toml", cwd / ".streamlit" / "secrets.toml",
            APP.parent / ".streamlit" / "secrets.toml"]


def auth_method(env: dict[str, str] | None = None, cwd: Path | None = None) -> tuple[str | None, str]:
    """("oidc" | "secret" | None, why): the authentication the app will enforce."""
    env = dict(os.environ) if env is None else env
    secret = env.get("COLLABSCOPE_REVIEW_SECRET", "")
    merged: dict = {}
    for path in secrets_files(cwd):
        if path.is_file():
            try:
                merged.update(tomllib.loads(path.read_text()))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise ConfigError(f"cannot read {path}: {exc}") from None
    auth = merged.get("auth")
    if isinstance(auth, dict) and auth:
        missing = [k for k in ("redirect_uri", "cookie_secret") if not auth.get(k)]
        if missing:
            raise ConfigError(f"[auth] in secrets.toml lacks {', '.join(missing)}; see docs/REVIEW.md")
        if importlib.util.find_spec("authlib") is None:
            raise ConfigError('st.login needs Authlib: pip install "Authlib>=1.3.2" (see docs/REVIEW.md)')
        return "oidc", "OpenID Connect via st.login ([auth] in secrets.toml)"
    section = merged.get("collabscope")
    if not secret and isinstance(section, dict):
        secret = str(section.get("review_secret") or "")
    if secret:
        if len(secret) < MIN_SECRET_LENGTH:
            raise ConfigError(f"the review secret is shorter than {MIN_SECRET_LENGTH} characters; use a long random one "
                              "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(24))')")
        return "secret", "shared secret (COLLABSCOPE_REVIEW_SECRET or [collabscope] review_secret)"
    return None, "no authentication configured"


def port_free(host: str, port: int) -> bool:
    """Whether ``host:port`` can be bound now (Streamlit would otherwise pick another port
    silently or die with a traceback; a clear message is kinder)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def streamlit_command(host: str, port: int, remote: bool) -> list[str]:
    """The Streamlit server's command line. ``runner.postScriptGC`` is off: Streamlit would
    otherwise run a full garbage collection after every script run (each key press on the
    record page), which holds the interpreter for tens of milliseconds, keeping the next
    record's form from being sent; Python's own generational collection still runs."""
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", host, "--server.port", str(port),
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none", "--server.runOnSave", "false",
        "--server.enableXsrfProtection", "true", "--global.developmentMode", "false",
        "--runner.postScriptGC", "false",
        "--client.toolbarMode", "minimal", "--client.showErrorDetails", "type" if remote else "full",
    ]


#: Signals a service manager or a terminal sends to stop the command; each is passed on
#: to the Streamlit server, which then shuts down and closes the port and the database.
FORWARDED = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
#: Seconds the server gets to stop after a forwarded signal before it is killed.
STOP_GRACE = 10.0


def serve(cmd: list[str], env: dict[str, str]) -> int:
    """Run the Streamlit server as a child and stop it with this command.

    ``kill``, systemd and container runtimes signal the command's pid only; without the
    forwarding the child would keep serving the port with the database open, and a
    restart would find the port in use. The child is stopped (terminated, then killed
    after :data:`STOP_GRACE`) on any way out of this function. Returns the child's exit
    code, 128 + N when a signal N ended it (the shell's convention).
    """
    child = subprocess.Popen(cmd, env=env)

    def forward(signum: int, _frame: object) -> None:
        if child.poll() is None:
            child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED}
    try:
        code = child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    return 128 - code if code < 0 else code


@command("review")
def review_cmd(
    port: Annotated[int, typer.Option("--port", help="Port to serve on.")] = 8501,
    host: Annotated[str, typer.Option("--host", help="Interface to bind. Anything but loopback needs --allow-remote.")] = "127.0.0.1",
    allow_remote: Annotated[bool, typer.Option("--allow-remote", help="Serve on a non-loopback interface (needs st.login or a shared secret, see docs/REVIEW.md).")] = False,
    double_review: Annotated[float, typer.Option("--double-review", min=0.0, max=1.0, help="Share of first decisions drawn for a blind second review (Cohen's kappa on the dashboard).")] = 0.1,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Open the review queue in the browser (Streamlit), on this database.

    Binds to 127.0.0.1 by default; press Ctrl-C to stop. Keyboard: A approve, F fix
    country, S skip, N/P next/previous, X reject, O second opinion, U undo.

    Example: collabscope review --db demo.db --port 8501
    """
    settings = settings_from(db, config)
    require_db(settings)
    remote = not is_loopback(host)
    if remote and not allow_remote:
        raise ConfigError(f"--host {host} would expose the review UI to the network; add --allow-remote "
                          "and configure authentication (docs/REVIEW.md)")
    env = dict(os.environ, COLLABSCOPE_DB=str(Path(settings.db).resolve()),
               COLLABSCOPE_DOUBLE_REVIEW=str(double_review))
    env.pop("COLLABSCOPE_REVIEW_REMOTE", None)
    if remote:
        method, why = auth_method(env)
        if method is None:
            raise ConfigError(f"refusing to serve on {host} without authentication: set COLLABSCOPE_REVIEW_SECRET "
                              "or an [auth] section (st.login) in .streamlit/secrets.toml; see docs/REVIEW.md")
        env["COLLABSCOPE_REVIEW_REMOTE"] = "1"
        console_err.print(f"authentication: {why}", markup=False)
    if not port_free(host, port):
        raise ConfigError(f"port {port} on {host} is in use (another review server?); pass another --port, "
                          f"e.g. --port {port + 1}")
    console_err.print(f"review UI: http://{host}:{port}  (database {settings.db})", markup=False)
    code = serve(streamlit_command(host, port, remote), env)
    # Stopped by Ctrl-C, kill or a service manager: a normal way to end a server.
    raise typer.Exit(0 if code in (128 + signal.SIGINT, 128 + signal.SIGTERM, 128 + signal.SIGHUP) else code)
