"""The loopback HTTP server: routing, the script queue, the request log, shutdown.

Why a real socket and not a mocked transport: the failures the extraction backend must
survive (Retry-After waits, timeouts, torn connections, connection-pool reuse) live in the
openai client's HTTP stack, and only real HTTP exercises them. A thread per connection
(``ThreadingHTTPServer``, HTTP/1.1 keep-alive) keeps slow scripted requests from blocking
each other, so hundreds of concurrent 0.5 s requests overlap as they would upstream.
"""

from __future__ import annotations

import hashlib
import json
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from email import policy
from email.parser import BytesParser
from typing import Any

from devtools.fake_openai.batches import BatchStore, LineResult
from devtools.fake_openai.shapes import (
    chat_completion,
    chat_completion_chunks,
    default_responder,
    error_body,
    request_text,
)
from devtools.fake_openai.steps import Answer, Close, Delay, Hang, Status, Step, Truncated, coerce_step, step_from_dict
from devtools.fake_openai.wire import Handler, Server

__all__ = ["FakeOpenAI", "RecordedRequest", "Responder", "key_fingerprint"]

#: ``responder(request_json) -> step`` (or a dict/str answer, or None for the default).
Responder = Callable[[dict[str, Any]], Any]

_SECRET_HEADERS = frozenset({"authorization", "api-key", "x-api-key", "proxy-authorization"})
MODEL_IDS = ("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "fake-model")


def key_fingerprint(key: str) -> str:
    """Short sha256 of an API key (``Bearer `` stripped): lets a test check *which* key
    was sent without the log ever holding the key itself."""
    if key.lower().startswith("bearer "):
        key = key[7:]
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


@dataclass
class RecordedRequest:
    """One request as the server saw it; secret headers are replaced by fingerprints."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    timestamp: float
    auth_present: bool
    auth_sha256: str | None
    step: str = ""  # what the server did: "answer", "status:429", "hang", ...

    @property
    def text(self) -> str:
        """All message text of a chat request (empty for other endpoints)."""
        return request_text(self.body) if isinstance(self.body, dict) else ""


class FakeOpenAI:
    """A loopback OpenAI-compatible server with a scripted queue of behaviours.

    Example::

        with FakeOpenAI(latency=0.0) as srv:
            srv.script(malformed(), answer({"title": "T"}))
            srv.script(status(500), match="doc-7", always=True)
            client = openai.OpenAI(base_url=srv.base_url, api_key="test-key")
            ...
            assert srv.count(path="/v1/chat/completions") == 2

    Which step answers a chat request: the first keyed step whose ``match`` occurs in
    the request (raw body or message text), else the next unkeyed step, else
    ``responder(request)``, else :func:`default_responder` (a schema instance).

    Args:
        latency: Seconds added to every API request (models upstream latency).
        jitter: Uniform extra 0..jitter seconds on top of ``latency``.
        responder: Fallback when no scripted step applies.
        host: Interface to bind; keep the loopback default.
        port: 0 picks a free port.
        batch_polls: Retrieve polls until a batch completes.
        batch_seconds: If set, complete batches after this many seconds instead.
        keep_bodies: Log request bodies; turn off for long benchmarks to bound memory.
    """

    def __init__(self, *, latency: float = 0.0, jitter: float = 0.0, responder: Responder | None = None,
                 host: str = "127.0.0.1", port: int = 0, batch_polls: int = 2,
                 batch_seconds: float | None = None, keep_bodies: bool = True) -> None:
        self.latency = latency
        self.jitter = jitter
        self.responder = responder
        self.keep_bodies = keep_bodies
        self._host, self._want_port = host, port
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._queue: deque[Step] = deque()
        self._keyed: list[tuple[str, Step, bool]] = []
        self._log: list[RecordedRequest] = []
        self._conns: set[socket.socket] = set()
        self._in_flight = 0
        self.max_in_flight = 0
        self.batches = BatchStore(self._run_batch_line, batch_polls, batch_seconds)
        self._httpd: Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> FakeOpenAI:
        """Bind and serve in a daemon thread; returns self for chaining."""
        self._stopping.clear()
        self._httpd = Server((self._host, self._want_port), self)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake-openai-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop promptly: wake delayed/hanging handlers, cut open connections, unbind."""
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout)
        deadline = time.monotonic() + timeout
        with self._changed:  # let handlers unwind so nothing writes after stop() returns
            while self._in_flight and time.monotonic() < deadline:
                self._changed.wait(0.05)
        self._httpd = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (known only once started, as the default asks for a free one)."""
        if self._httpd is None:
            raise RuntimeError("FakeOpenAI is not running; call start() or use it as a context manager")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:PORT``."""
        return f"http://{self._host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What to pass as the openai client's ``base_url``."""
        return f"{self.url}/v1"

    # -- scripting and inspection ----------------------------------------------------
    def script(self, *steps: Step, match: str | None = None, always: bool = False) -> FakeOpenAI:
        """Queue steps (FIFO) for chat requests.

        Args:
            steps: What to do, in order, e.g. ``malformed(), answer({...})``.
            match: Apply only to requests whose raw body or message text contains this
                substring; keyed steps are consulted, in the order queued, before the
                unkeyed queue. Use something unique to one document (its id): schema
                field names occur in every instructor request.
            always: Keep a keyed step forever instead of consuming it (e.g. "this
                paper always gets 500"); later steps with the same key never run.

        Raises:
            ValueError: ``always`` without ``match``.
        """
        if always and match is None:
            raise ValueError("always=True needs match=...; use responder= for a global behaviour")
        with self._lock:
            for step in steps:
                if match is None:
                    self._queue.append(step)
                else:
                    self._keyed.append((match, step, always))
        return self

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the request log (admin ``/_fake`` calls excluded)."""
        with self._lock:
            return list(self._log)

    @property
    def pending_steps(self) -> int:
        """Scripted steps not yet consumed (``always`` steps included)."""
        with self._lock:
            return len(self._queue) + len(self._keyed)

    @property
    def in_flight(self) -> int:
        """Requests being handled right now (``max_in_flight`` keeps the high-water mark)."""
        with self._lock:
            return self._in_flight

    def count(self, path: str | None = None, method: str | None = None) -> int:
        """How many requests matched ``path`` (exact, query excluded) and ``method``."""
        with self._lock:
            return sum(1 for r in self._log if (path is None or r.path == path)
                       and (method is None or r.method == method.upper()))

    def wait_for_requests(self, n: int, timeout: float = 5.0, path: str | None = None) -> bool:
        """Block until at least ``n`` requests (to ``path``) arrived; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while sum(1 for r in self._log if path is None or r.path == path) < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
        return True

    def reset(self) -> None:
        """Forget the script, the log and the concurrency high-water mark."""
        with self._lock:
            self._queue.clear()
            self._keyed.clear()
            self._log.clear()
            self.max_in_flight = self._in_flight

    def stats(self) -> dict[str, Any]:
        """Counters for benchmarks: requests by path, in-flight now and at most."""
        with self._lock:
            by_path: dict[str, int] = {}
            for r in self._log:
                by_path[r.path] = by_path.get(r.path, 0) + 1
            return {"requests": len(self._log), "by_path": by_path, "in_flight": self._in_flight,
                    "max_in_flight": self.max_in_flight, "pending_steps": len(self._queue) + len(self._keyed)}

    # -- step resolution ---------------------------------------------------------------
    def next_step(self, body: dict[str, Any], raw: str = "") -> Step:
        """Choose (and consume) the step for a chat request; see the class docstring."""
        haystack = f"{raw}\n{request_text(body)}"
        with self._lock:
            for i, (match, step, always) in enumerate(self._keyed):
                if match in haystack:
                    if not always:
                        del self._keyed[i]
                    return step
            if self._queue:
                return self._queue.popleft()
        return self._respond(body)

    def _respond(self, body: dict[str, Any]) -> Step:
        if self.responder is not None:
            try:
                step = coerce_step(self.responder(body))
            except Exception as exc:  # a broken simulation should be visible, not a hang
                return Status(500, error_body(500, f"fake responder raised {exc!r}"))
            if step is not None:
                return step
        return default_responder(body)

    def _run_batch_line(self, body: dict[str, Any]) -> LineResult:
        step = self.next_step(body, json.dumps(body, ensure_ascii=False))
        while isinstance(step, Delay):  # no waiting inside a batch
            step = step.then if step.then is not None else self._respond(body)
        if isinstance(step, Answer):
            return 200, chat_completion(body, step)
        if isinstance(step, Status):
            return step.code, step.body if step.body is not None else error_body(step.code)
        return None, {"code": "server_error", "message": f"fake {type(step).__name__.lower()} step in batch"}

    # -- request handling --------------------------------------------------------------
    def track_connection(self, conn: socket.socket, add: bool) -> None:
        """Remember open sockets so stop() can cut idle keep-alive and hung ones."""
        with self._lock:
            (self._conns.add if add else self._conns.discard)(conn)

    def handle_request(self, h: Handler) -> None:
        """One HTTP request: read, record, wait ``latency``, route; counts in-flight."""
        path, _, query = h.path.partition("?")
        try:
            raw = h.read_body()
        except (OSError, ValueError):
            h.drop()
            return
        if path.startswith("/_fake/"):
            self._admin(h, path, raw)
            return
        body = self._parse_body(h, raw)
        record = self._record(h, path, query, body)
        with self._changed:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            wait = self.latency + (random.uniform(0, self.jitter) if self.jitter else 0.0)
            if wait > 0 and self._stopping.wait(wait):
                h.drop()
                return
            self._route(h, path, body, raw, record)
        except OSError:  # the client went away (e.g. its timeout fired); nothing to answer
            h.close_connection = True
        finally:
            with self._changed:
                self._in_flight -= 1
                self._changed.notify_all()

    def _parse_body(self, h: Handler, raw: bytes) -> Any:
        ctype = h.headers.get("Content-Type") or ""
        if ctype.startswith("multipart/form-data"):
            msg = BytesParser(policy=policy.HTTP).parsebytes(
                b"Content-Type: " + ctype.encode("latin-1") + b"\r\n\r\n" + raw)
            fields: dict[str, Any] = {}
            for part in msg.iter_parts():
                name = part.get_param("name", header="content-disposition")
                data = part.get_payload(decode=True) or b""
                filename = part.get_filename()
                fields[str(name)] = {"filename": filename, "bytes": len(data), "data": data} if filename \
                    else data.decode("utf-8", "replace")
            return fields
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", "replace")

    def _record(self, h: Handler, path: str, query: str, body: Any) -> RecordedRequest:
        headers: dict[str, str] = {}
        auth: str | None = None
        for name, value in h.headers.items():
            low = name.lower()
            if low in _SECRET_HEADERS:
                auth = auth or value
                value = f"<redacted sha256:{key_fingerprint(value)}>"
            headers[low] = value
        logged = body
        if isinstance(body, dict) and any(isinstance(v, dict) and "data" in v for v in body.values()):
            logged = {k: ({kk: vv for kk, vv in v.items() if kk != "data"} if isinstance(v, dict) else v)
                      for k, v in body.items()}
        record = RecordedRequest(h.command, path, query, headers, logged if self.keep_bodies else None, time.time(),
                                 auth is not None, key_fingerprint(auth) if auth else None)
        with self._changed:
            self._log.append(record)
            self._changed.notify_all()
        return record

    def _route(self, h: Handler, path: str, body: Any, raw: bytes, record: RecordedRequest) -> None:
        method, parts = h.command, path.strip("/").split("/")
        if method == "POST" and path == "/v1/chat/completions":
            if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
                record.step = "status:400"
                h.send_json(400, error_body(400, "body must be a JSON object with a 'messages' list"))
                return
            step = self.next_step(body, raw.decode("utf-8", "replace"))
            self._perform(h, body, step, record)
        elif method == "GET" and path == "/v1/models":
            h.send_json(200, {"object": "list", "data": [_model(m) for m in MODEL_IDS]})
        elif method == "GET" and parts[:2] == ["v1", "models"] and len(parts) == 3:
            h.send_json(200, _model(parts[2]))
        elif method == "POST" and path == "/v1/files":
            upload = (body or {}).get("file") if isinstance(body, dict) else None
            if not isinstance(upload, dict):
                h.send_json(400, error_body(400, "multipart field 'file' is required"))
                return
            h.send_json(200, self.batches.add_file(upload["filename"], str(body.get("purpose", "batch")),
                                                   upload["data"]))
        elif method == "GET" and path == "/v1/files":
            h.send_json(200, self.batches.list_files())
        elif parts[:2] == ["v1", "files"] and len(parts) == 3:
            h.send_json(*(self.batches.delete_file(parts[2]) if method == "DELETE" else self.batches.file(parts[2])))
        elif method == "GET" and parts[:2] == ["v1", "files"] and len(parts) == 4 and parts[3] == "content":
            code, data = self.batches.file_content(parts[2])
            if isinstance(data, bytes):
                h.send(code, data, content_type="application/octet-stream")
            else:
                h.send_json(code, data)
        elif method == "POST" and path == "/v1/batches":
            h.send_json(*self.batches.create_batch(body if isinstance(body, dict) else {}))
        elif method == "GET" and path == "/v1/batches":
            h.send_json(200, self.batches.list_batches())
        elif method == "GET" and parts[:2] == ["v1", "batches"] and len(parts) == 3:
            h.send_json(*self.batches.retrieve_batch(parts[2]))
        elif method == "POST" and parts[:2] == ["v1", "batches"] and len(parts) == 4 and parts[3] == "cancel":
            h.send_json(*self.batches.cancel_batch(parts[2]))
        else:
            h.send_json(404, error_body(404, f"fake server has no route {method} {path}"))

    def _perform(self, h: Handler, body: dict[str, Any], step: Step, record: RecordedRequest) -> None:
        """Carry out one step on the wire."""
        while isinstance(step, Delay):
            record.step = record.step or "delay"
            if self._stopping.wait(step.seconds):
                h.drop()
                return
            step = step.then if step.then is not None else self._respond(body)
        name = type(step).__name__.lower()
        record.step = f"{record.step}+{name}" if record.step else name
        if isinstance(step, Answer):
            completion = chat_completion(body, step)
            if body.get("stream"):
                include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
                events = chat_completion_chunks(completion)
                h.send_sse(events if include_usage else events[:-1])
            else:
                h.send_json(200, completion)
        elif isinstance(step, Status):
            record.step = record.step.replace("status", f"status:{step.code}")
            h.send_json(step.code, step.body if step.body is not None else error_body(step.code), step.headers)
        elif isinstance(step, Hang):
            self._stopping.wait()
            h.drop()
        elif isinstance(step, Truncated):
            text = step.text
            if text is None:
                fallback = self._respond(body)
                full = json.dumps(chat_completion(body, fallback if isinstance(fallback, Answer) else Answer({})))
                text = full[: len(full) // 2]
            data = text.encode("utf-8")
            h.send(200, data, content_length=len(data) + 100)
            h.drop()
        elif isinstance(step, Close):
            h.drop()

    def _admin(self, h: Handler, path: str, raw: bytes) -> None:
        """``/_fake/*``: control a server running in another process (benchmarks)."""
        try:
            payload = json.loads(raw) if raw else {}
            if path == "/_fake/stats":
                h.send_json(200, self.stats())
            elif path == "/_fake/requests":
                h.send_json(200, [asdict(r) for r in self.requests])
            elif path == "/_fake/reset" and h.command == "POST":
                self.reset()
                h.send_json(200, {"ok": True})
            elif path == "/_fake/script" and h.command == "POST":
                items = payload.get("steps") or [payload]
                self.script(*[step_from_dict(s) for s in items], match=payload.get("match"),
                            always=bool(payload.get("always")))
                h.send_json(200, {"ok": True, "pending_steps": self.pending_steps})
            else:
                h.send_json(404, error_body(404, f"no admin route {h.command} {path}"))
        except ValueError as exc:
            h.send_json(400, error_body(400, str(exc)))


def _model(model_id: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": 1700000000, "owned_by": "fake-openai"}
