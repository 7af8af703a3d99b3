"""Polite HTTP for the collectors: a per-host rate limit, retries that honour ``Retry-After``, verified PDF downloads.

Every request a collector makes (the ``openreview-py`` and ``arxiv`` clients included: their
``requests`` session is replaced by a :class:`PoliteSession`) goes through one
:class:`RateLimiter`, so no host sees two requests closer together than its interval, retries
and redirects included. A 429 or 503 answer pushes the host's next slot back by its
``Retry-After`` (or by an exponential backoff when it has none), for every request to that
host, not only the one that was refused. The clock and the sleep are injectable so tests
count the spacing of requests without waiting for it.

:class:`Downloader` writes a PDF only after it checked it: the bytes start with the PDF
magic, stay under the size limit, and their sha256 is computed on the way. The file is
written to a temporary name in the output folder and renamed into place, so a process
killed mid-download leaves no file that looks complete; a file already in place is kept
and never fetched again.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from extractor import __version__
from extractor.errors import CollabscopeError
from extractor.ingest.batch import hash_file
from extractor.ingest.files import PDF_MAGIC


def user_agent() -> str:
    """``collabscope/<version> (+<contact>)``: the tool, and who to ask about it when the
    deployment names a contact (a URL or ``mailto:``) in ``COLLABSCOPE_CONTACT``. The tool has
    no public home of its own to point at, so without a contact the agent names the tool only."""
    contact = os.environ.get("COLLABSCOPE_CONTACT", "").strip()
    return f"collabscope/{__version__} (+{contact})" if contact else f"collabscope/{__version__}"


#: Statuses that mean "later", never "no": retried after Retry-After or a backoff.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: How far into a file the PDF magic may start (a few producers put junk before it; the spec
#: allows 1024 bytes), as ingest reads it.
_MAGIC_WINDOW = 1024
#: A host-imposed wait at least this long is reported through ``PoliteSession.on_wait``.
NOTICE_WAIT = 10.0
#: Default cap on one PDF (a conference paper with its appendix is a few MB).
DEFAULT_MAX_BYTES = 50 * 1024 * 1024


class CollectError(CollabscopeError):
    """A collector cannot go on: the venue does not exist, the service wants a login, the host is unreachable.

    One clear message; what was collected before it stays stored (exit code 1).
    """


class HostUnreachable(CollectError):
    """Connections to a host keep failing (DNS, refused, timeouts) after every retry."""


class RateLimiter:
    """The earliest moment each host may see its next request, spaced by a per-host interval.

    ``intervals`` maps host names to seconds between request starts; other hosts get
    ``default``. :meth:`defer` moves a host's next slot later (a ``Retry-After``).
    ``clock``/``sleep`` default to the monotonic clock and :func:`time.sleep`; tests pass a
    fake pair so no test waits.
    """

    def __init__(self, intervals: Mapping[str, float] | None = None, *, default: float = 1.0,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self.intervals = dict(intervals or {})
        self.default = default
        self.clock = clock
        self.sleep = sleep
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def interval(self, host: str) -> float:
        return self.intervals.get(host, self.default)

    def wait(self, host: str) -> float:
        """Block until ``host`` may be asked again, and book the slot after this one; returns seconds slept."""
        with self._lock:
            now = self.clock()
            slot = max(now, self._next.get(host, now))
            self._next[host] = slot + self.interval(host)
        slept = 0.0
        while True:
            delay = slot - self.clock()
            if delay <= 0:
                return slept
            self.sleep(delay)
            slept += delay

    def defer(self, host: str, seconds: float) -> None:
        """No request to ``host`` before ``seconds`` from now (a Retry-After, a backoff)."""
        with self._lock:
            self._next[host] = max(self._next.get(host, 0.0), self.clock() + max(0.0, seconds))


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date), or None when absent/unreadable."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def reset_time_seconds(response: requests.Response, *, now: datetime | None = None) -> float | None:
    """Seconds until the ``details.resetTime`` of a JSON 429 body (OpenReview's RateLimitError), or None.

    OpenReview answers a spent quota with a body like ``{"name": "RateLimitError",
    "details": {"resetTime": "2026-08-31T08:59:25.212Z", ...}}`` and no Retry-After
    header; waiting a short backoff instead would only spend retries on more refusals.
    """
    try:
        details = response.json().get("details") or {}
        reset = datetime.fromisoformat(str(details["resetTime"]).replace("Z", "+00:00"))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if reset.tzinfo is None:
        reset = reset.replace(tzinfo=UTC)
    return max(0.0, (reset - (now or datetime.now(UTC))).total_seconds())


@dataclass
class Politeness:
    """How hard a collector may push a host.

    ``intervals``: seconds between requests per host (``default`` for the rest). ``retries``:
    extra attempts after a 429/5xx or a connection failure. ``backoff``: first backoff in
    seconds, doubled per attempt up to ``max_backoff``, used when a refusal carries no
    Retry-After. ``max_retry_after``: a Retry-After (or quota reset) longer than this stops
    the collector with a message instead of sleeping for hours.
    """

    intervals: dict[str, float] = field(default_factory=dict)
    default: float = 1.0
    retries: int = 5
    backoff: float = 2.0
    max_backoff: float = 120.0
    max_retry_after: float = 3900.0  # OpenReview's hourly quotas reset within about an hour
    timeout: float = 60.0
    user_agent: str = field(default_factory=user_agent)


class PoliteSession(requests.Session):
    """A ``requests`` session whose every send waits its turn at the host and retries refusals politely.

    Retries happen here, not in urllib3 (the adapters are mounted with no retries), so
    each attempt takes its own slot from the :class:`RateLimiter`. ``on_request`` is
    called with the host and URL before each attempt (counting, progress); ``on_wait`` with
    the host and the seconds of every long wait a refusal imposes.
    """

    def __init__(self, politeness: Politeness | None = None, limiter: RateLimiter | None = None, *,
                 on_request: Callable[[str, str], None] | None = None,
                 on_wait: Callable[[str, float], None] | None = None):
        super().__init__()
        self.politeness = politeness or Politeness()
        p = self.politeness
        self.limiter = limiter or RateLimiter(p.intervals, default=p.default)
        self.on_request = on_request
        self.on_wait = on_wait  # told of every wait of NOTICE_WAIT seconds or more (a person may be watching)
        self.requests_sent = 0  # attempts sent, retries and redirects included
        self.headers["User-Agent"] = p.user_agent
        adapter = HTTPAdapter(max_retries=0)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        p = self.politeness
        host = urlsplit(request.url or "").hostname or ""
        kwargs.setdefault("timeout", p.timeout)
        # Client libraries set their own User-Agent per request; the host should see ours.
        request.headers["User-Agent"] = p.user_agent
        attempt = 0
        while True:
            self.limiter.wait(host)
            self.requests_sent += 1
            if self.on_request:
                self.on_request(host, request.url or "")
            try:
                response = super().send(request, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt >= p.retries:
                    raise HostUnreachable(f"{host} is unreachable after {attempt + 1} attempts ({type(exc).__name__}); "
                                          "check the network or the URL and re-run (what was collected is kept)") from None
                self.limiter.defer(host, self._backoff(attempt))
                attempt += 1
                continue
            if response.status_code not in RETRY_STATUSES or attempt >= p.retries:
                return response
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            if wait is None and response.status_code == 429:
                wait = reset_time_seconds(response)
            if wait is not None and wait > p.max_retry_after:
                raise CollectError(f"{host} asks to wait {wait:.0f} s before the next request (Retry-After or quota reset); "
                                   "re-run later - what was collected is kept")
            response.close()
            delay = wait if wait is not None else self._backoff(attempt)
            if self.on_wait and delay >= NOTICE_WAIT:
                self.on_wait(host, delay)
            self.limiter.defer(host, delay)
            attempt += 1

    def _backoff(self, attempt: int) -> float:
        p = self.politeness
        return min(p.max_backoff, p.backoff * (2 ** attempt))


@dataclass
class Download:
    """One verified PDF in the output folder."""

    path: Path
    sha256: str
    size: int
    fetched: bool  # False when the file was already there


class DownloadError(CollectError):
    """One file could not be collected (not a PDF, too large, HTTP error); the collector records it and goes on."""

    def __init__(self, url: str, reason: str):
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


def safe_name(text: str) -> str:
    """A file name from a source id: letters, digits, ``.-_`` kept, the rest becomes ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "paper"


def is_pdf_file(path: Path) -> bool:
    """True when ``path`` exists and starts (within 1024 bytes) with the PDF magic."""
    try:
        with path.open("rb") as fh:
            return PDF_MAGIC in fh.read(_MAGIC_WINDOW)
    except OSError:
        return False


class Downloader:
    """Fetches PDFs into ``out`` through a :class:`PoliteSession`, verified, atomically, at most once."""

    def __init__(self, session: PoliteSession, out: Path, *, max_bytes: int = DEFAULT_MAX_BYTES):
        self.session = session
        self.out = Path(out)
        self.max_bytes = max_bytes
        self.out.mkdir(parents=True, exist_ok=True)
        for stale in self.out.glob(".*.part*"):
            # A temporary file of a killed run: never renamed, so never counted.
            with contextlib.suppress(OSError):
                stale.unlink()

    def target(self, name: str) -> Path:
        return self.out / f"{safe_name(name)}.pdf"

    def existing(self, name: str) -> Download | None:
        """The verified file already in place for ``name``, or None."""
        path = self.target(name)
        if path.is_file() and is_pdf_file(path):
            return Download(path, hash_file(path), path.stat().st_size, fetched=False)
        return None

    def fetch(self, url: str, name: str) -> Download:
        """The PDF at ``url`` as ``out/<name>.pdf``: reused when already there, else downloaded and verified.

        Raises:
            DownloadError: HTTP error, not a PDF, or larger than the limit (nothing is written).
            HostUnreachable, CollectError: the host cannot be reached or asks for a very long wait.
        """
        done = self.existing(name)
        if done is not None:
            return done
        path = self.target(name)
        tmp = path.with_name(f".{path.name}.part{os.getpid()}")
        digest = hashlib.sha256()
        size = 0
        try:
            with self.session.get(url, stream=True) as response:
                if response.status_code != 200:
                    raise DownloadError(url, f"HTTP {response.status_code}")
                length = response.headers.get("Content-Length")
                if length and length.isdigit() and int(length) > self.max_bytes:
                    raise DownloadError(url, f"{int(length)} bytes is over the {self.max_bytes}-byte limit")
                head = b""
                with tmp.open("wb") as fh:
                    for chunk in response.iter_content(chunk_size=1 << 16):
                        if not chunk:
                            continue
                        if len(head) < _MAGIC_WINDOW:
                            head += chunk[:_MAGIC_WINDOW - len(head)]
                            if len(head) >= _MAGIC_WINDOW and PDF_MAGIC not in head:
                                raise DownloadError(url, "not a PDF (no %PDF- header)")
                        size += len(chunk)
                        if size > self.max_bytes:
                            raise DownloadError(url, f"over the {self.max_bytes}-byte limit")
                        digest.update(chunk)
                        fh.write(chunk)
                    fh.flush()
                    os.fsync(fh.fileno())
                if PDF_MAGIC not in head:
                    raise DownloadError(url, "not a PDF (no %PDF- header)")
            os.replace(tmp, path)
        except requests.RequestException as exc:
            raise DownloadError(url, f"{type(exc).__name__}: {exc}") from None
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
        return Download(path, digest.hexdigest(), size, fetched=True)
