"""Store latency at review scale: queue head and record fetch with 100,000 records.

Records are realistic clones: a small real run (generated PDFs -> `collabscope run`)
gives template records and their review signals; each clone gets a new paper id and hash,
a random priority and the template's status (so the queued/machine mix is the pipeline's
own), and is written with ``Store.put_machine_record`` (record row + hash-chained log row)
inside one ``store.write()`` transaction; its ``review_signals`` row is copied alongside
(``Store.copy_review_signal_rows``), and ``Store.optimize`` then refreshes the planner's
statistics and checkpoints the WAL, as after any bulk load.

Measured at 1,000 records (the baseline, same run) and at 100,000:

- ``queue.queue_head`` (the review UI's next 20; also with a country filter and in audit
  mode) and ``queue.next_record``;
- ``Store.get_record`` of a random paper (a reviewer opening one record);
- ``queue.queue_counts`` (the dashboard), fewer samples;
- database size per 1,000 records (records + log + signals; the per-paper size with
  documents and extractions is in the end-to-end section).

Target: p95 < 50 ms at 100,000 records.

    python -m benchmarks.bench_store
"""

from __future__ import annotations

import hashlib
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import CLI, OUT, fmt, percentile, scale, table, verdict, write_section
from benchmarks.corpus import subset

TARGET_MS = 50.0


def templates(work: Path) -> tuple[list[Any], dict[str, dict[str, Any]]]:
    """Records and review-signal rows (by paper id) of a small real pipeline run."""
    import subprocess

    from extractor.store import Store

    db = work / "template.db"
    folder = subset(200)
    proc = subprocess.run([*CLI, "run", str(folder), "--db", str(db), "-q"], capture_output=True, text=True)
    if proc.returncode not in (0, 3):
        raise RuntimeError(f"template run failed ({proc.returncode}): {proc.stderr[-1500:]}")
    with Store.open(db, readonly=True) as store:
        records = list(store.iter_records())
        signals = {r["paper_id"]: r for r in store.review_signal_rows()}
    if not records:
        raise RuntimeError("the template run produced no records")
    return records, signals


def build(path: Path, n: int, records: list[Any], signals: dict[str, dict[str, Any]]) -> float:
    """Write ``n`` cloned records and their signals (one transaction); returns records/s."""
    from extractor.store import Store

    rng = random.Random(n)
    store = Store.open(path)
    t0 = time.perf_counter()
    try:
        with store.write():
            cloned_signals = []
            for i in range(n):
                t = records[i % len(records)]
                sha = hashlib.sha256(f"bench-{i}".encode()).hexdigest()
                pid = sha[:16]
                prio = round(rng.random() ** 3, 6)  # many small priorities, a few large: like the real queue
                rec = t.model_copy(update={"paper_id": pid, "sha256": sha, "source_file": f"bench-{i}.pdf",
                                           "priority": prio})
                store.put_machine_record(rec, f"bench-{i}")
                sig = signals.get(t.paper_id)
                if sig:
                    cloned_signals.append({**sig, "paper_id": pid, "priority": prio, "audit_u": rng.random()})
            store.copy_review_signal_rows(cloned_signals)
        rate = n / (time.perf_counter() - t0)
        store.optimize()
    finally:
        store.close()
    return rate


#: The per-click paths the target is about (``queue_counts`` is the dashboard, for information).
TARGET_OPS = ("queue.queue_head(n=20)", "queue.queue_head(country=US)", "queue.queue_head(audit=True)",
              "queue.next_record(peek)", "Store.get_record(random id)")


def _timed(fn, samples: int) -> list[float]:
    out = []
    for _ in range(samples):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def measure(path: Path, samples: int) -> dict[str, Any]:
    """Latency samples (ms) of each operation on one database, opened like the UI opens it."""
    from extractor.review import queue
    from extractor.store import Store

    store = Store.open(path)
    try:
        ids = list(store.record_statuses())
        rng = random.Random(7)
        res: dict[str, Any] = {"records": len(ids), "queued": store.count_records("queued")}
        ops: dict[str, list[float]] = {}
        ops["queue.queue_head(n=20)"] = _timed(lambda: queue.queue_head(store, n=20), samples)
        ops["queue.queue_head(country=US)"] = _timed(
            lambda: queue.queue_head(store, n=20, filters=queue.QueueFilter(country="US")), max(20, samples // 10))
        ops["queue.queue_head(audit=True)"] = _timed(
            lambda: queue.queue_head(store, n=20, audit=True), max(20, samples // 10))
        ops["queue.next_record(peek)"] = _timed(lambda: queue.next_record(store, "bench"), samples)
        ops["Store.get_record(random id)"] = _timed(lambda: store.get_record(rng.choice(ids)), samples)
        ops["queue.queue_counts()"] = _timed(lambda: queue.queue_counts(store), max(5, samples // 20))
        res["ops"] = {k: {"p50": percentile(v, 50), "p95": percentile(v, 95), "p99": percentile(v, 99),
                          "n": len(v)} for k, v in ops.items()}
    finally:
        store.close()
    res["bytes"] = path.stat().st_size
    return res


def run() -> dict[str, Any]:
    sc = scale()
    work = Path(tempfile.mkdtemp(prefix="bench-store-", dir=OUT if OUT.exists() else None))
    try:
        records, signals = templates(work)
        base_db, big_db = work / "base.db", work / "big.db"
        base_rate = build(base_db, sc.store_baseline_records, records, signals)
        big_rate = build(big_db, sc.store_records, records, signals)
        base = measure(base_db, sc.latency_samples)
        big = measure(big_db, sc.latency_samples)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    worst = max((v["p95"] for k, v in big["ops"].items() if k in TARGET_OPS), default=float("nan"))
    return {"n": sc.store_records, "n_base": sc.store_baseline_records, "templates": len(records),
            "with_signals": bool(signals), "insert_rate": {"base": base_rate, "big": big_rate},
            "base": base, "big": big, "target_ms": TARGET_MS, "worst_p95": worst, "met": worst < TARGET_MS}


def render(res: dict[str, Any]) -> str:
    base, big = res["base"], res["big"]
    rows = []
    for op, v in big["ops"].items():
        b = base["ops"].get(op, {})
        rows.append([op, v["n"], fmt(b.get("p50"), 2), fmt(b.get("p95"), 2), fmt(v["p50"], 2), fmt(v["p95"], 2),
                     fmt(v["p99"], 2), fmt(v["p95"] / b["p95"], 1) if b.get("p95") else "–"])
    n, nb = res["n"], res["n_base"]
    md = [
        "## Store",
        "",
        f"Clones of {res['templates']} real records (statuses and signals from a real run; random priority), "
        f"written with `Store.put_machine_record` in one transaction: {fmt(res['insert_rate']['big'], 0)} records/s "
        f"at {n:,} ({fmt(res['insert_rate']['base'], 0)} records/s at {nb:,}). "
        f"{big['queued']:,} of {big['records']:,} are queued. Latency in ms:",
        "",
        table(["operation", "samples", f"p50 @ {nb:,}", f"p95 @ {nb:,}", f"p50 @ {n:,}", f"p95 @ {n:,}",
               f"p99 @ {n:,}", "p95 ratio"], rows),
        "",
        f"Target p95 < {res['target_ms']:g} ms at {n:,} records (queue head and record fetch): "
        f"{verdict(res['met'])} (worst p95 {fmt(res['worst_p95'], 1)} ms). "
        "The target covers the queue head and the record fetch; `queue_counts` (the dashboard) is for "
        "information.",
    ]
    md += ["", f"Database size: {big['bytes'] / 1048576:,.1f} MiB for {n:,} records = "
               f"{big['bytes'] / 1048576 / (n / 1000):,.2f} MiB per 1,000 records (records, audit log"
               f"{', review signals' if res['with_signals'] else ''}; no documents or extractions)."]
    return "\n".join(md)


def main(argv: list[str] | None = None) -> int:
    res = run()
    write_section("store", render(res), res)
    print(render(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
