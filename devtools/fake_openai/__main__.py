"""Run the fake server as a process: ``python -m devtools.fake_openai``.

A separate process is what kill -9 / resume tests and benchmarks need: the client under
test can be killed and restarted while the server (and its request log) lives on. The
first stdout line is the base URL, flushed, so a parent can read it and connect.

Example::

    python -m devtools.fake_openai --port 0 --latency 0.5 \\
        --script steps.jsonl --responder mypkg.sim:oracle

Each ``--script`` line is a step (``{"kind": "status", "code": 429, "retry_after": 1}``)
with optional ``"match"`` and ``"always"``. While running, ``GET /_fake/stats``,
``GET /_fake/requests``, ``POST /_fake/script`` and ``POST /_fake/reset`` control it.
Stops cleanly on SIGTERM or SIGINT (exit 0).
"""

from __future__ import annotations

import argparse
import importlib
import json
import signal
import sys
import threading
from pathlib import Path

from devtools.fake_openai.server import FakeOpenAI, Responder
from devtools.fake_openai.steps import step_from_dict


def load_responder(spec: str) -> Responder:
    """Import ``module:function``.

    Raises:
        SystemExit: the spec is malformed or does not name a callable.
    """
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise SystemExit(f"--responder {spec!r}: expected module:function, e.g. mypkg.sim:oracle")
    target = getattr(importlib.import_module(module_name), attr, None)
    if not callable(target):
        raise SystemExit(f"--responder {spec!r}: {attr!r} is not a callable in {module_name}")
    return target


def load_script(srv: FakeOpenAI, path: Path) -> int:
    """Queue every step of a JSONL script file; returns the number of steps."""
    n = 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            d = json.loads(line)
            srv.script(step_from_dict(d), match=d.get("match"), always=bool(d.get("always")))
        except ValueError as exc:
            raise SystemExit(f"--script {path}:{number}: {exc}") from None
        n += 1
    return n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.fake_openai",
        description="Loopback OpenAI-compatible fake server. Prints its base URL first.",
        epilog="example: python -m devtools.fake_openai --port 0 --latency 0.5",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    parser.add_argument("--jitter", type=float, default=0.0, help="extra uniform 0..J seconds")
    parser.add_argument("--script", type=Path, help="JSONL file of steps to queue")
    parser.add_argument("--responder", help="module:function answering unscripted requests")
    parser.add_argument("--batch-polls", type=int, default=2, help="polls until a batch completes")
    parser.add_argument("--batch-seconds", type=float, help="complete batches after N seconds instead")
    parser.add_argument("--no-bodies", action="store_true", help="do not log request bodies (long runs)")
    args = parser.parse_args(argv)

    responder = load_responder(args.responder) if args.responder else None
    srv = FakeOpenAI(latency=args.latency, jitter=args.jitter, responder=responder, host=args.host,
                     port=args.port, batch_polls=args.batch_polls, batch_seconds=args.batch_seconds,
                     keep_bodies=not args.no_bodies)
    if args.script:
        load_script(srv, args.script)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    srv.start()
    print(srv.base_url, flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
