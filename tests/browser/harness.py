"""Helpers for the end-to-end browser tests and benchmarks/bench_ui.py.

Starts the real ``collabscope review`` command (a subprocess, random free port) on a
database, and drives Debian's Chromium through Playwright (``executable_path`` is
/usr/bin/chromium: no ``playwright install``, no browser download).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def review_server(db: Path, *, env: dict[str, str] | None = None, timeout: float = 60.0,
                  extra: list[str] = ()) -> Iterator[str]:
    """Run ``collabscope review --db DB --port P`` until the block ends; yields the base URL."""
    port = free_port()
    exe = Path(sys.executable).with_name("collabscope")
    cmd = [str(exe), "review", "--db", str(db), "--port", str(port), *extra]
    full_env = {**os.environ, **(env or {})}
    log = open(db.with_suffix(".server.log"), "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"review server exited ({proc.returncode}): {db.with_suffix('.server.log').read_text()}")
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("review server did not come up")
            time.sleep(0.2)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


class Keys:
    """Keyboard input that counts keystrokes (one per key pressed, characters included)."""

    def __init__(self, page) -> None:  # type: ignore[no-untyped-def]
        self.page = page
        self.count = 0

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)
        self.count += 1

    def type(self, text: str) -> None:
        for ch in text:
            self.page.keyboard.press(ch)
            self.count += 1


def sign_in(page, url: str, name: str, path: str = "/") -> None:  # type: ignore[no-untyped-def]
    """Open the app and give the reviewer name (the gate every session passes once)."""
    page.goto(url + path)
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Start reviewing").click()


def status_locator(page, paper_id: str):  # type: ignore[no-untyped-def]
    """The record page's status line once it shows this paper."""
    return page.locator('[data-testid="stText"]', has_text=re.compile(rf"^{re.escape(paper_id)} · "))


def start_reviewing(page) -> None:  # type: ignore[no-untyped-def]
    page.locator(".st-key-start button").click()
    page.locator(".st-key-approve").wait_for()


def wait_idle(page, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    """Wait until Streamlit has finished the current script run."""
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.match(/Running|Stop/)",
        timeout=timeout * 1000,
    )


def wait_fix_key(page, paper_id: str, aff_id: int = 0, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    """Wait until "F" is live and this record's quick-fix country-code field is on the page."""
    page.wait_for_function(
        "k => document.body.dataset.collabscopeFix === 'live' && !!document.querySelector('.st-key-' + k + ' input')",
        arg=f"qf-{paper_id}-{aff_id}", timeout=timeout * 1000)


RECORD_DONE_JS = """pid => {
  const el = [...document.querySelectorAll('[data-testid="stText"]')].find(e => e.innerText.includes(' · version '));
  const img = document.querySelector('[data-testid="stImage"] img');
  return !!el && el.innerText.startsWith(pid + ' · ') && !el.closest('[data-stale="true"]')
    && !!img && !img.closest('[data-stale="true"]') && img.complete && img.naturalWidth > 0;
}"""


def wait_record(page, paper_id: str, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    """Wait until this record is shown completely (its page image, drawn last, has loaded),
    so the next key press meets a page that has finished updating."""
    status_locator(page, paper_id).wait_for(timeout=timeout * 1000)
    page.wait_for_function(RECORD_DONE_JS, arg=paper_id, timeout=timeout * 1000)
