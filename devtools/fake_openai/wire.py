"""HTTP plumbing for the fake server: keep-alive handler, quiet threaded server.

Kept apart from the routing and scripting in ``server.py`` because it is the part that
decides whether the fake behaves like a real upstream on the wire: HTTP/1.1 keep-alive
(the openai client pools connections), TCP_NODELAY (no 40 ms Nagle stalls between header
and body writes), a deep accept backlog (64+ clients connect at once), and deliberate
ways to break a response (drop, short body).
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from devtools.fake_openai.shapes import new_id

__all__ = ["Handler", "RequestSink", "Server"]


class RequestSink(Protocol):
    """What the wire layer hands requests to (``FakeOpenAI``): it decides every answer.

    A protocol rather than the server class itself, so this module does not import
    ``server.py`` (which imports this one).
    """

    def track_connection(self, conn: socket.socket, add: bool) -> None: ...

    def handle_request(self, h: Handler) -> None: ...


class Server(ThreadingHTTPServer):
    """One daemon thread per connection, so slow scripted answers never queue up."""

    daemon_threads = True
    block_on_close = False  # FakeOpenAI.stop() waits, bounded, for handlers itself
    request_queue_size = 1024  # 64+ clients connecting at once must not overflow the backlog
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], fake: RequestSink) -> None:
        self.fake = fake
        super().__init__(address, Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up mid-response is routine here (timeouts); stay quiet."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    """Reads requests and writes responses; all decisions are made by the server's ``fake``."""

    protocol_version = "HTTP/1.1"  # keep-alive, so the client's connection pool is used
    server: Server
    server_version = "FakeOpenAI/1.0"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.fake.track_connection(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake.track_connection(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silence per-request logging; srv.requests is the log."""

    def do_GET(self) -> None:  # noqa: N802
        self.server.fake.handle_request(self)

    do_POST = do_DELETE = do_GET  # noqa: N815

    # -- low-level I/O used by FakeOpenAI -------------------------------------------
    def read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def send(self, code: int, body: bytes, content_type: str = "application/json",
             headers: Iterable[tuple[str, str]] = (), content_length: int | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if content_length is None else content_length))
        self.send_header("x-request-id", new_id("req_"))
        self.send_header("openai-processing-ms", "1")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, code: int, obj: Any, headers: Iterable[tuple[str, str]] = ()) -> None:
        self.send(code, json.dumps(obj).encode("utf-8"), headers=headers)

    def send_sse(self, events: list[dict[str, Any]]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-request-id", new_id("req_"))
        self.end_headers()
        for payload in [json.dumps(e) for e in events] + ["[DONE]"]:
            data = f"data: {payload}\n\n".encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")

    def drop(self) -> None:
        """End the connection with no (further) bytes."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
