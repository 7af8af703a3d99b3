"""``collabscope review``: launch the Streamlit review UI on the same database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from ..errors import ConfigError
from .common import ConfigOpt, DbOpt, command, console_err, settings_from

APP = Path(__file__).resolve().parents[2] / "review_ui" / "app.py"


@command("review")
def review_cmd(
    port: Annotated[int, typer.Option("--port", help="Port to serve on.")] = 8501,
    host: Annotated[str, typer.Option("--host", help="Interface to bind. Anything but loopback needs --allow-remote.")] = "127.0.0.1",
    allow_remote: Annotated[bool, typer.Option("--allow-remote", help="Serve on a non-loopback interface (requires authentication to be configured, see README).")] = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Open the review queue in the browser (Streamlit), on this database.

    Binds to 127.0.0.1 by default; press Ctrl-C to stop.

    Example: collabscope review --db demo.db --port 8501
    """
    settings = settings_from(db, config)
    if not Path(settings.db).exists():
        raise ConfigError(f"database {settings.db} does not exist; run `collabscope run PATH` first")
    if host not in ("127.0.0.1", "localhost", "::1") and not allow_remote:
        raise ConfigError(f"--host {host} would expose the review UI to the network; add --allow-remote and configure authentication")
    env = dict(os.environ, COLLABSCOPE_DB=str(Path(settings.db).resolve()))
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", host, "--server.port", str(port),
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]
    console_err.print(f"review UI: http://{host}:{port}  (database {settings.db})", markup=False)
    try:
        raise typer.Exit(subprocess.call(cmd, env=env))
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
