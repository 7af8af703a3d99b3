"""Benchmark of the llm backend against the fake OpenAI server (500 ms per answer).

    python -m benchmarks.bench_llm                 # full: repeats 3, 1,000-doc kill test
    python -m benchmarks.bench_llm --quick         # one repeat, 200-doc kill test

Measures, with the fake server in its own process (so its threads do not share our GIL):

1. throughput at concurrency 1, 8, 32, 64 as a ratio of the ideal (concurrency / latency),
   over 16 "waves" of documents each; reported overall (including the one-document
   canary the runner sends first) and steady-state (after the canary);
2. client CPU time per call (the extracting process only: instructor, parsing,
   conversion with gazetteers and grounding, SQLite writes - those on the runner's
   writer thread, counted too);
3. a 1,000-document run killed with SIGKILL at about 50 % and resumed: requests sent in
   total versus 1,000 + requests in flight at the kill, and duplicate rows.

Prints a Markdown section and writes it to bench-out/llm.md (+ llm.json). Not a test:
nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = Path(os.environ.get("BENCH_OUT") or ROOT / "bench-out")
LATENCY = 0.5
KEY = "sk-bench-not-a-real-key"


# ------------------------------------------------------------------ fixtures


def synthetic_doc(i: int):
    """A small page 1 with one author block and one affiliation; no model names."""
    import hashlib

    from extractor.schemas import Document, FrontMatter, Line

    texts = [f"Benchmark Paper {i:05d}", "Ada Lovelace, Alan Turing",
             "University of Cambridge, Cambridge, United Kingdom", "Abstract", "We measure things."]
    lines, pos = [], 0
    for k, t in enumerate(texts):
        lines.append(Line(text=t, bbox=(72, 90 + 20 * k, 300, 104 + 20 * k), size=10, start=pos, end=pos + len(t)))
        pos += len(t) + 1
    front = FrontMatter(text="\n".join(texts), lines=lines, title=texts[0], title_lines=[0], author_lines=[1, 2],
                        affiliation_lines=[2], abstract_lines=[4])
    sha = hashlib.sha256(f"bench-{i}".encode()).hexdigest()
    return Document(sha256=sha, source_file=f"bench-{i:05d}.pdf", page_count=1, front=front,
                    full_text=front.text + "\nNo model names in this body.\n")


def make_db(path: Path, n: int) -> None:
    from extractor.store import Store

    with Store.open(path) as store:
        for i in range(n):
            store.add_document(synthetic_doc(i))


class Server:
    """The fake server as a separate process; the first stdout line is its base URL."""

    def __init__(self, latency: float):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "devtools.fake_openai", "--port", "0", "--latency", str(latency),
             "--no-bodies"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.base_url = self.proc.stdout.readline().strip()  # type: ignore[union-attr]
        self.root = self.base_url.removesuffix("/v1")

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.root}/_fake/stats", timeout=5) as resp:
            return json.load(resp)

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(f"{self.root}/_fake/reset", data=b"{}"), timeout=5).close()

    def close(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(10)
        self.proc.stdout.close()  # type: ignore[union-attr]


#: Runs one extraction in a fresh interpreter and prints JSON timings (the client side).
CHILD = r"""
import json, sys, time
sys.path.insert(0, {root!r})
from extractor.config import Settings
from extractor.extract.base import run_extract
from extractor.extract.llm import LLMBackend
from extractor.store import Store
s = Settings(db={db!r}, base_url={url!r}, api_key={key!r}, model="gpt-4o-mini", concurrency={c},
             request_timeout=30, transport_retries=2, reask_budget=1)
backend = LLMBackend(s)
backend.converter  # load gazetteers before timing
marks = []
def progress(sha, ok, info=None):
    marks.append(time.perf_counter())
with Store.open({db!r}) as store:
    cpu0, t0 = time.process_time(), time.perf_counter()
    summary = run_extract(store, backend, on_progress=progress)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0
print(json.dumps({{"wall": wall, "cpu": cpu, "done": summary.done, "failed": summary.failed,
                  "requests": summary.extra.get("requests", 0), "t0": t0, "first": marks[0] if marks else t0,
                  "end": t0 + wall}}))
"""


#: The same request body sent by a bare openai client (no instructor, no conversion, no
#: database): the ceiling this machine and server allow right now, to read our ratio against.
BARE = r"""
import asyncio, json, sys, time
sys.path.insert(0, {root!r})
import openai
from openai.types.chat import ChatCompletion
from benchmarks.bench_llm import synthetic_doc
from extractor.config import Settings
from extractor.extract.llm import LLMBackend
from extractor.extract.llm.calls import CallLog
b = LLMBackend(Settings(api_key={key!r}, base_url={url!r}))
async def main():
    asker = b.new_asker(CallLog(None, None, b.prices, b.redact), offline=True)
    body = await asker.capture(b.specs_for(synthetic_doc(0))[0])
    client = openai.AsyncOpenAI(base_url={url!r}, api_key={key!r}, max_retries=0)
    left = [{n}]
    async def worker():
        while left[0] > 0:
            left[0] -= 1
            await client.post("/chat/completions", body=body, cast_to=ChatCompletion)
    t0 = time.perf_counter()
    await asyncio.gather(*[worker() for _ in range({c})])
    print(json.dumps({{"wall": time.perf_counter() - t0}}))
    await client.close()
asyncio.run(main())
"""


def bare_ratio(server: Server, concurrency: int, waves: int) -> float:
    n = max(16, concurrency * waves)
    code = BARE.format(root=str(ROOT), key=KEY, url=server.base_url, n=n, c=concurrency)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    wall = json.loads(out.strip().splitlines()[-1])["wall"]
    return (n / wall) / (concurrency / LATENCY)


def child(db: Path, url: str, concurrency: int) -> subprocess.Popen:
    code = CHILD.format(root=str(ROOT), db=str(db), url=url, key=KEY, c=concurrency)
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)


# ------------------------------------------------------------------ measurements


def throughput(server: Server, concurrency: int, waves: int, work: Path) -> dict[str, float]:
    n = max(16, concurrency * waves)
    db = work / f"tp-{concurrency}-{time.monotonic_ns()}.db"
    make_db(db, n)
    server.reset()
    proc = child(db, server.base_url, concurrency)
    out, _ = proc.communicate()
    r = json.loads(out.strip().splitlines()[-1])
    ideal = concurrency / LATENCY
    steady = (n - 1) / max(1e-9, r["end"] - r["first"])
    return {"docs": n, "wall": r["wall"], "rate": n / r["wall"], "ratio": (n / r["wall"]) / ideal,
            "steady_ratio": steady / ideal, "cpu_ms_per_call": 1000 * r["cpu"] / max(1, r["requests"]),
            "requests": r["requests"], "failed": r["failed"]}


def counts(db: Path) -> dict[str, int]:
    """Extractions (all, and without error) and logged requests, read through a read-only store."""
    from extractor.store import Store

    with Store.open(db, readonly=True) as store:
        status = store.status_counts()
    ok = sum(status["extractions"].values())
    return {"extractions": ok + status["extraction_failures"], "extractions_ok": ok, "llm_calls": status["llm_calls"]}


def kill_and_resume(server: Server, n: int, concurrency: int, work: Path) -> dict[str, Any]:
    from extractor.errors import StoreError
    from extractor.store import Store

    db = work / "kill.db"
    make_db(db, n)
    server.reset()
    proc = child(db, server.base_url, concurrency)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        time.sleep(0.05)
        try:
            if counts(db)["extractions"] >= n // 2:
                break
        except StoreError:  # the child holds the file at that moment (creating, migrating): look again
            continue
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()  # type: ignore[union-attr]
    time.sleep(LATENCY + 0.3)  # requests already on the wire reach the server and finish
    at_kill = server.stats()
    before = counts(db)
    in_flight = at_kill["requests"] - before["llm_calls"]  # sent, never answered to the killed client
    resumed = child(db, server.base_url, concurrency)
    out, _ = resumed.communicate()
    r = json.loads(out.strip().splitlines()[-1])
    total = server.stats()["requests"]
    with Store.open(db, readonly=True) as store:
        duplicates = store.duplicate_counts()
    return {
        "docs": n, "concurrency": concurrency, "killed_after": before["extractions"],
        "requests_before_kill": at_kill["requests"], "in_flight_at_kill": in_flight, "resumed_requests": r["requests"],
        "total_requests": total, "bound": n + in_flight, "within_bound": total <= n + in_flight,
        "extractions": counts(db)["extractions_ok"],
        "duplicate_extractions": duplicates["extractions"],
        "duplicate_answers": duplicates["answers"],
    }


def machine() -> str:
    import instructor
    import openai

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
            f"openai {openai.__version__}, instructor {instructor.__version__}, load average {load:.2f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="one repeat and a 200-document kill test")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--waves", type=int, default=16, help="documents per run = concurrency x waves")
    ap.add_argument("--kill-docs", type=int, default=None)
    args = ap.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    kill_docs = args.kill_docs or (200 if args.quick else 1000)
    server = Server(LATENCY)
    results: dict[str, Any] = {"latency_s": LATENCY, "repeats": repeats, "throughput": {}, "machine": machine()}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-llm-") as tmp:
            work = Path(tmp)
            for c in (1, 8, 32, 64):
                runs = [throughput(server, c, args.waves, work) | {"bare_ratio": bare_ratio(server, c, args.waves)}
                        for _ in range(repeats)]
                results["throughput"][c] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
                print(f"concurrency {c}: {results['throughput'][c]}", file=sys.stderr)
            results["kill"] = kill_and_resume(server, kill_docs, 32, work)
            print(f"kill test: {results['kill']}", file=sys.stderr)
    finally:
        server.close()
    results["machine"] += f" at the start; {os.getloadavg()[0]:.2f} at the end" if hasattr(os, "getloadavg") else ""
    md = render(results)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "llm.md").write_text(md)
    (OUT / "llm.json").write_text(json.dumps(results, indent=2, default=str))
    print(md)
    return 0


def render(res: dict[str, Any]) -> str:
    rows = ["| concurrency | documents | wall s | docs/s | ideal docs/s | ratio (overall) | ratio (steady) | "
            "bare-client ratio | client CPU ms/call |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for c, r in res["throughput"].items():
        rows.append(f"| {c} | {r['docs']:.0f} | {r['wall']:.2f} | {r['rate']:.1f} | {int(c) / res['latency_s']:.0f} | "
                    f"{r['ratio']:.3f} | {r['steady_ratio']:.3f} | {r['bare_ratio']:.3f} | {r['cpu_ms_per_call']:.2f} |")
    k = res["kill"]
    r32 = res["throughput"][32]
    target = "met" if r32["ratio"] >= 0.85 else "NOT met"
    return "\n".join([
        "## LLM backend (fake OpenAI server, 500 ms per answer)",
        "",
        f"Command: `python -m benchmarks.bench_llm` (medians of {res['repeats']} runs; the fake server runs in its own "
        "process; each run extracts concurrency x 16 synthetic documents, one request each).",
        f"Machine: {res['machine']}.",
        "",
        *rows,
        "",
        f"Target >= 0.85 of ideal at concurrency 32: **{target}** ({r32['ratio']:.3f} overall, including the "
        "one-document canary the runner sends alone before fanning out; steady state excludes it). The bare-client "
        "ratio is the same request body sent by a plain openai client with nothing else to do, measured in the same "
        "run: the ceiling this machine and the fake server allow at that moment. Client CPU per call covers "
        "instructor, response parsing, conversion (resolver + grounding) and the SQLite writes (made by the "
        "runner's writer thread, in the same process).",
        "",
        f"Reading: at concurrency 32 the runner reaches {r32['ratio'] / max(1e-9, r32['bare_ratio']):.0%} of what a "
        f"bare client achieved in the same minutes. The rest is client CPU per call (about {r32['cpu_ms_per_call']:.1f} "
        "ms, the SQLite writes on a writer thread) mostly serialised on one event loop: when 32 answers land "
        "together, the last one is handled, and its document's next request sent, only after the others' "
        "HTTP handling, parsing and conversion; on a shared "
        "machine (see the load average) each of those milliseconds stretches. More concurrency, or one "
        "process per shard of the database, raises throughput further when the endpoint allows it.",
        "",
        f"Kill -9 and resume ({k['docs']} documents, concurrency {k['concurrency']}): killed after {k['killed_after']} "
        f"saved extractions with {k['requests_before_kill']} requests sent, {k['in_flight_at_kill']} of them in flight "
        f"(sent, unanswered when the client died). The resumed run sent {k['resumed_requests']} requests; total "
        f"{k['total_requests']} <= {k['docs']} + {k['in_flight_at_kill']} = {k['bound']}: "
        f"**{'yes' if k['within_bound'] else 'NO'}**. Extractions: {k['extractions']} of {k['docs']}; duplicate "
        f"extraction rows: {k['duplicate_extractions']}; duplicate cached answers: {k['duplicate_answers']}.",
        "",
    ])


if __name__ == "__main__":
    sys.exit(main())
