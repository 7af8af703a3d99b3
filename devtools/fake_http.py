"""A small loopback HTTP service for the collectors' fakes: routing, a request log, scripted refusals, holds.

The fakes of OpenReview (:mod:`devtools.fake_openreview`) and arXiv
(:mod:`devtools.fake_arxiv`) subclass :class:`FakeService` and answer with the shapes the
real services document. What tests need from every fake lives here:

- a log of every request (method, path, query, body, headers, and the time on the
  test's clock when it arrived), so a test counts requests and their spacing server-side;
- scripted refusals (:meth:`FakeService.refuse`): the next N requests under a path answer
  429/503 with a ``Retry-After``;
- holds (:meth:`FakeService.hold`): the Nth request under a path waits until the test
  releases it, so a test can kill a client mid-download at a known point.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Logged:
    """One request as the fake saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes
    headers: dict[str, str]
    at: float  # the test clock's time when the request arrived
    status: int = 0


@dataclass
class _Refusal:
    prefix: str
    status: int
    retry_after: str | None
    left: int
    body: dict[str, Any] | None = None


@dataclass
class _Hold:
    prefix: str
    nth: int  # 1-based: which matching request is held
    seen: int = 0
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(obj: Any, status: int = 200) -> Reply:
    return Reply(status, json.dumps(obj).encode(), "application/json")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, fake: FakeService):
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # clients hanging up mid-answer are routine here
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        reply = self.server.fake._dispatch(self.command, self.path, body, dict(self.headers.items()))
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for k, v in reply.headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = _any


class FakeService:
    """Base of the fakes: start/stop on a free loopback port, log, refusals, holds; subclasses route."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.log: list[Logged] = []
        self._refusals: list[_Refusal] = []
        self._holds: list[_Hold] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeService:
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        for hold in self._holds:
            hold.release.set()
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # ------------------------------------------------------------------ scripting

    def refuse(self, prefix: str, *, times: int, status: int = 429, retry_after: str | None = "1",
               body: dict[str, Any] | None = None) -> None:
        """The next ``times`` requests whose path starts with ``prefix`` answer ``status`` (+ Retry-After, + ``body``)."""
        with self._lock:
            self._refusals.append(_Refusal(prefix, status, retry_after, times, body))

    def hold(self, prefix: str, nth: int) -> _Hold:
        """Make the ``nth`` request under ``prefix`` wait until ``.release`` is set; ``.arrived`` is set when it comes."""
        hold = _Hold(prefix, nth)
        with self._lock:
            self._holds.append(hold)
        return hold

    def requests(self, prefix: str = "/", method: str | None = None) -> list[Logged]:
        with self._lock:
            return [r for r in self.log if r.path.startswith(prefix) and (method is None or r.method == method)]

    # ------------------------------------------------------------------ dispatch

    def _dispatch(self, method: str, raw_path: str, body: bytes, headers: dict[str, str]) -> Reply:
        parts = urlsplit(raw_path)
        entry = Logged(method, parts.path, parse_qs(parts.query, keep_blank_values=True), body, headers, self.clock())
        held = None
        with self._lock:
            self.log.append(entry)
            for hold in self._holds:
                if parts.path.startswith(hold.prefix):
                    hold.seen += 1
                    if hold.seen == hold.nth:
                        held = hold
            refusal = next((r for r in self._refusals if r.left > 0 and parts.path.startswith(r.prefix)), None)
            if refusal:
                refusal.left -= 1
        if held:
            held.arrived.set()
            held.release.wait(60)
        if refusal:
            headers_out = {"Retry-After": refusal.retry_after} if refusal.retry_after is not None else {}
            body_out = refusal.body or {"name": "TooManyRequestsError", "message": "slow down", "status": refusal.status}
            reply = Reply(refusal.status, json.dumps(body_out).encode(), headers=headers_out)
        else:
            try:
                reply = self.route(method, parts.path, entry.query, body)
            except Exception as exc:  # a bug in a fake must show in the test, not hang it
                reply = json_reply({"name": "Error", "message": repr(exc), "status": 500}, 500)
        entry.status = reply.status
        return reply

    def route(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> Reply:
        raise NotImplementedError
