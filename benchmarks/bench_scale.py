"""Aggregates at scale: stats, report and export at 100,000 and 1,000,000 records.

``collabscope stats``, ``report`` and ``export`` read the records a page at a time and keep
only counts, so their memory must not grow with the database and their time must grow
linearly. This benchmark builds synthetic databases (:mod:`benchmarks.synthetic_records`:
realistic record JSON, about 3% US–CN papers, every review status, an audit sample with
disagreements, an audit-log history and routing signals per record) through
``Store.bulk_load_records``, the smaller one first and then grown to the larger size in
place, and runs the commands as a user does, as subprocesses, measuring wall time and
the peak RSS the kernel reports for the command (``wait4``):

- ``collabscope stats --json`` (3 runs per size, median),
- ``collabscope report --out report.html`` (every paper with its evidence; 3 runs at the
  smaller size, 1 at the larger, where one run takes minutes),
- ``collabscope export --format jsonl --out export.jsonl --no-datacard`` (same runs).

Then a 1,000-paper batch into a copy of one of the databases (``--reconcile-at``, by default
the smallest): the first 1,000 PDFs of the benchmark corpus are ingested and extracted
(rules), and ``collabscope reconcile`` is timed. Routing keeps state between routes that
bulk-loaded records lack, so one ``collabscope reconcile`` first settles them (timed and
reported on its own: a full route, about 9 minutes at 1,000,000 records, which is why the
default run does the batch at the smaller size).

Targets at 1,000,000 records: stats < 60 s, report < 5 min, peak memory < 1 GiB and flat
(within ±20% from 100,000 to 1,000,000), reconcile of the batch < 15 s. Everything is written
in a temporary folder that is deleted at the end (about 10 GB at 1,000,000 records).

    python -m benchmarks.bench_scale                  # 100,000 and 1,000,000 (about 15 min)
    python -m benchmarks.bench_scale --reconcile-at 1000000   # the batch at 1,000,000 too (+10 min)
    python -m benchmarks.bench_scale --quick          # 10,000 and 50,000 (a few minutes)
    python -m benchmarks.bench_scale --sizes 20000,100000 --runs 1 --no-reconcile
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.common import (
    CLI,
    PYTHON,
    ROOT,
    Measured,
    cores,
    fmt,
    median,
    mib,
    run_measured,
    table,
    verdict,
    write_section,
)
from benchmarks.synthetic_records import CHUNK, US_CN_DRAW, chunk_rows

GiB = 1024**3
TARGETS = {"stats_s": 60.0, "report_s": 300.0, "peak_bytes": 1.0 * GiB, "flat": 0.20, "reconcile_s": 15.0}
FULL_SIZES = (100_000, 1_000_000)
QUICK_SIZES = (10_000, 50_000)
BATCH = 1_000
#: Rows per bulk-load transaction: large transactions spare SQLite re-writing the same
#: index pages at every commit.
ROWS_PER_LOAD = 25_000
SEED = 1


def build(db: Path, start: int, stop: int) -> float:
    """Grow the database from ``start`` to ``stop`` synthetic records; returns seconds.

    Runs in a child process: the kernel's peak-RSS figure for a command counts the memory
    of the process that started it, so this one must stay small.
    """
    t0 = time.perf_counter()
    subprocess.run([PYTHON, "-m", "benchmarks.bench_scale", "--build", str(db), str(start), str(stop)],
                   check=True, cwd=ROOT)
    return time.perf_counter() - t0


def _build_here(db: Path, start: int, stop: int) -> None:
    """Worker processes generate chunks of rows (deterministic per chunk) while this
    process writes them, a bounded number of chunks ahead so memory stays small."""
    from extractor.store import Store

    if start % CHUNK:
        raise ValueError(f"sizes must be multiples of {CHUNK}")
    store = Store.open(db)
    try:
        chunks = iter(range(start // CHUNK, math.ceil(stop / CHUNK)))
        with ProcessPoolExecutor(max_workers=max(1, cores())) as pool:
            ahead: deque[Future[list[dict[str, Any]]]] = deque()
            for chunk in chunks:
                ahead.append(pool.submit(chunk_rows, chunk, stop, SEED))
                if len(ahead) >= 2 * cores():
                    break
            batch: list[dict[str, Any]] = []
            while ahead:
                rows = ahead.popleft().result()
                nxt = next(chunks, None)
                if nxt is not None:
                    ahead.append(pool.submit(chunk_rows, nxt, stop, SEED))
                batch += rows
                if len(batch) >= ROWS_PER_LOAD or not ahead:
                    store.bulk_load_records(batch)
                    batch = []
    finally:
        store.close()


def measure(name: str, args: list[str], runs: int, out: Path | None = None) -> dict[str, Any]:
    """Run ``collabscope <args>`` ``runs`` times; wall times, CPU, peak RSS and the output size."""
    results: list[Measured] = []
    size = None
    for i in range(runs):
        m = run_measured([*CLI, *args])
        print(f"   {name} run {i + 1}: {m.wall:.1f} s, peak RSS {m.max_rss_single / 2**20:.0f} MiB (rc {m.rc})", flush=True)
        if m.rc != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({m.rc}): {m.stderr[-1500:]}")
        results.append(m)
        if out is not None and out.exists():
            size = out.stat().st_size
            out.unlink()
    walls = [m.wall for m in results]
    return {"name": name, "runs": runs, "median": median(walls), "min": min(walls), "max": max(walls),
            "cpu": median([m.cpu for m in results]), "peak_rss": max(m.max_rss_single for m in results),
            "peak_rss_tree": max(m.peak_rss_tree for m in results), "output_bytes": size,
            "command": "collabscope " + " ".join(_short(a) for a in args)}


def _short(arg: str) -> str:
    return Path(arg).name if os.sep in arg else arg


def _shown(command: str) -> str:
    """A command as the tables show it: without the ``--db`` every one of them has."""
    return re.sub(r" --db \S+", "", command)


def reconcile_batch(db: Path, records: int) -> dict[str, Any]:
    """Settle the bulk-loaded records with one reconcile, then time a 1,000-paper batch."""
    # The corpus is prepared in a child process, which keeps the generator (and pymupdf)
    # out of this one's memory, and so out of the measured commands' peak RSS.
    proc = subprocess.run([PYTHON, "-c", f"from benchmarks.corpus import subset; print(subset({BATCH}))"],
                          check=True, cwd=ROOT, capture_output=True, text=True)
    folder = Path(proc.stdout.strip().splitlines()[-1])
    out: dict[str, Any] = {"batch": BATCH, "records": records, "steps": []}
    steps = [
        ("settle: route the bulk-loaded records (a full route)", ["reconcile", "--db", str(db), "-q"]),
        ("ingest the batch", ["ingest", str(folder), "--db", str(db), "-q"]),
        ("extract the batch (rules)", ["extract", "--backend", "rules", "--db", str(db), "-q"]),
        ("reconcile the batch", ["reconcile", "--db", str(db), "-q"]),
    ]
    for name, args in steps:
        m = run_measured([*CLI, *args])
        print(f"   {name}: {m.wall:.1f} s, peak RSS {m.max_rss_single / 2**20:.0f} MiB (rc {m.rc})", flush=True)
        if m.rc not in (0, 3):  # 3: partial (a file that failed ingest), still a batch
            raise RuntimeError(f"{name} failed ({m.rc}): {m.stderr[-1500:]}")
        out["steps"].append({"name": name, "wall": m.wall, "cpu": m.cpu, "peak_rss": m.max_rss_single,
                             "command": "collabscope " + " ".join(_short(a) for a in args)})
    return out


def run(sizes: list[int], runs: int, big_runs: int, reconcile_at: int | None, keep: Path | None) -> dict[str, Any]:
    base = keep or Path(tempfile.mkdtemp(prefix="bench-scale-", dir=os.environ.get("BENCH_SCALE_TMP")))
    base.mkdir(parents=True, exist_ok=True)
    db = base / "scale.db"
    per: dict[int, dict[str, Any]] = {}
    rec = None
    try:
        have = 0
        for n in sorted(sizes):
            print(f"== {n:,} records", flush=True)
            secs = build(db, have, n)
            print(f"   built {n - have:,} more records in {secs:.0f} s", flush=True)
            have = n
            r = runs if n != max(sizes) else big_runs
            report, export = base / "report.html", base / "export.jsonl"
            per[n] = {
                "build_s": secs, "built": n, "db_bytes": db.stat().st_size,
                "stats": measure("stats", ["stats", "--json", "--db", str(db)], runs),
                "report": measure("report", ["report", "--db", str(db), "--out", str(report), "-q"], r, report),
                "export": measure("export", ["export", "--format", "jsonl", "--out", str(export), "--no-datacard",
                                             "--db", str(db), "-q"], r, export),
            }
            if n == reconcile_at:
                # on a copy: the settle rewrites most records and the batch adds some, and
                # the next size grows the untouched database
                copy = base / "reconcile.db"
                shutil.copyfile(db, copy)
                try:
                    rec = reconcile_batch(copy, n)
                finally:
                    copy.unlink(missing_ok=True)
    finally:
        if keep is None:
            shutil.rmtree(base, ignore_errors=True)
    return {"sizes": sorted(sizes), "per": per, "reconcile": rec, "runs": runs, "big_runs": big_runs,
            "cores": cores(), "targets": TARGETS, "verdicts": verdicts(per, sorted(sizes), rec)}


def verdicts(per: dict[int, dict[str, Any]], sizes: list[int], rec: dict[str, Any] | None) -> dict[str, Any]:
    small, big = sizes[0], sizes[-1]
    peak = {n: max(per[n][k]["peak_rss"] for k in ("stats", "report", "export")) for n in sizes}
    growth = {k: per[big][k]["peak_rss"] / per[small][k]["peak_rss"] - 1 for k in ("stats", "report", "export")}
    out: dict[str, Any] = {
        "stats": per[big]["stats"]["median"] < TARGETS["stats_s"],
        "report": per[big]["report"]["median"] < TARGETS["report_s"],
        "memory": peak[big] < TARGETS["peak_bytes"],
        "flat": all(abs(g) <= TARGETS["flat"] for g in growth.values()),
        "peak": peak, "growth": growth, "full_size": big >= 1_000_000,
    }
    if rec is not None:
        out["reconcile_s"] = rec["steps"][-1]["wall"]
        out["reconcile_records"] = rec["records"]
        out["reconcile"] = out["reconcile_s"] < TARGETS["reconcile_s"]
    return out


def render(res: dict[str, Any], argv: list[str]) -> str:
    sizes, per, v = res["sizes"], res["per"], res["verdicts"]
    small, big = sizes[0], sizes[-1]
    cmd = "python -m benchmarks.bench_scale" + (" " + " ".join(argv) if argv else "")
    rows = []
    for n in sizes:
        for key in ("stats", "report", "export"):
            m = per[n][key]
            out = mib(m["output_bytes"]) if m["output_bytes"] else "–"
            rows.append([f"{n:,}", f"`{_shown(m['command'])}`", m["runs"], fmt(m["median"]),
                         f"{fmt(m['min'])}–{fmt(m['max'])}", fmt(m["cpu"]), mib(m["peak_rss"]), out])
    lines = [
        "## Aggregates at scale",
        "",
        f"`{cmd}` on {res['cores']} cores. Synthetic databases (`benchmarks/synthetic_records.py`, written with "
        "`Store.bulk_load_records`): record JSON like reconcile writes (authors, affiliations and model mentions "
        f"with evidence; ~2.7 KB), 1–4 countries per paper from 40 (US–CN drawn for {US_CN_DRAW:.1%} of papers, "
        "about 3% after unresolved affiliations), status mix ~78% machine, 15% queued, 5% verified, 0.7% "
        "rejected, an audit sample of ~3% with machine/human disagreements in the log, and a routing-signals row "
        "per machine-owned record. The smaller database is grown in place to the larger one.",
        "",
        table(["records", "build (s)", "database"],
              [[f"{n:,}", fmt(per[n]["build_s"], 0), mib(per[n]["db_bytes"])] for n in sizes]),
        "",
        "Each command ran with `--db` on the database. Wall time in seconds (median of the runs, and the "
        "range), CPU seconds (median), peak RSS of the command (`wait4`, the kernel's high-water mark) and the "
        "output's size. The report lists every paper with its evidence (no `--max-papers`).",
        "",
        table(["records", "command", "runs", "median (s)", "range (s)", "CPU (s)", "peak RSS", "output"], rows),
        "",
        f"Peak RSS from {small:,} to {big:,} records: "
        + ", ".join(f"{k} {v['growth'][k]:+.0%}" for k in ("stats", "report", "export")) + ".",
    ]
    rec = res.get("reconcile")
    if rec:
        lines += [
            "",
            f"Reconcile a {rec['batch']:,}-paper batch into the {rec['records']:,}-record database (a copy; the "
            f"first {rec['batch']:,} PDFs of the benchmark corpus). Routing keeps state from one route to the next, "
            "which bulk-loaded records lack, so the first reconcile routes all of them (a full route: the one-time "
            "cost of loading records behind routing's back); the last line is the target's figure.",
            "",
            table(["step", "command", "wall (s)", "CPU (s)", "peak RSS"],
                  [[s["name"], f"`{_shown(s['command'])}`", fmt(s["wall"]), fmt(s["cpu"]),
                    mib(s["peak_rss"])] for s in rec["steps"]]),
        ]
    t = res["targets"]
    targets = [
        [f"`stats --json` at {big:,} < {t['stats_s']:.0f} s", f"{fmt(per[big]['stats']['median'])} s", verdict(v["stats"])],
        [f"`report` at {big:,} < {t['report_s'] / 60:.0f} min", f"{fmt(per[big]['report']['median'])} s",
         verdict(v["report"])],
        [f"peak memory at {big:,} < 1 GiB", mib(v["peak"][big]), verdict(v["memory"])],
        [f"memory flat (±{t['flat']:.0%}) from {small:,} to {big:,}",
         ", ".join(f"{k} {v['growth'][k]:+.0%}" for k in ("stats", "report", "export")), verdict(v["flat"])],
    ]
    if "reconcile" in v:
        targets.append([f"reconcile a {BATCH:,}-paper batch into {v['reconcile_records']:,} < {t['reconcile_s']:.0f} s",
                        f"{fmt(v['reconcile_s'])} s", verdict(v["reconcile"])])
    lines += ["", "Targets" + ("" if v["full_size"] else f" (checked at {big:,} records: a reduced run)") + ":", "",
              table(["target", "this run", "verdict"], targets)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES[0]:,} and {QUICK_SIZES[1]:,}")
    parser.add_argument("--sizes", default="", help="comma-separated record counts (multiples of 5,000)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each command per size (median)")
    parser.add_argument("--big-runs", type=int, default=1, help="runs of report and export at the largest size")
    parser.add_argument("--reconcile-at", type=int, default=None,
                        help="time the 1,000-paper reconcile batch on a copy of the database at this size "
                             "(default: the smallest size; its first, full route takes ~9 min at 1,000,000)")
    parser.add_argument("--no-reconcile", action="store_true", help="skip the 1,000-paper reconcile batch")
    parser.add_argument("--keep", type=Path, default=None, help="keep the databases in this folder")
    parser.add_argument("--build", nargs=3, metavar=("DB", "START", "STOP"), help=argparse.SUPPRESS)
    raw = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(raw)
    if args.build:
        _build_here(Path(args.build[0]), int(args.build[1]), int(args.build[2]))
        return 0
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()] or list(
        QUICK_SIZES if args.quick else FULL_SIZES)
    reconcile_at = None if args.no_reconcile else (args.reconcile_at or min(sizes))
    if reconcile_at is not None and reconcile_at not in sizes:
        parser.error(f"--reconcile-at {reconcile_at} is not one of the sizes {sizes}")
    res = run(sizes, args.runs, args.big_runs if len(sizes) > 1 else args.runs, reconcile_at, args.keep)
    md = render(res, raw)
    write_section("scale", md, res)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
