"""Ingest throughput against the practical limit: bare pymupdf on the same files.

Three measurements on the same files, interleaved round by round so the machine's noise
hits them alike, all using the same number of processes:

- **limit**: a process pool that opens each PDF, loads page 1 and calls
  ``get_text("dict")``, returning nothing big. No ingest can beat this on these files.
- **parse**: the same pool running ``extractor.ingest.files.read_document`` (layout zones, the
  text of later pages, the ``Document`` model) but no database: the cost of what ingest
  keeps, without the cost of keeping it.
- **ingest**: ``extractor.ingest.files.ingest_paths`` into a fresh SQLite file (hashing,
  supervised parser processes, results sent back, one row written per file).

The target is ingest ≥ 0.5 × limit with all cores. A per-document breakdown (the row a
parser process encodes and pickles, the parent's unpickle and batched INSERT) explains
what is left between *parse* and *ingest*.

    python -m benchmarks.bench_ingest [--workers N] [--no-dask]    # BENCH_SCALE=small: 300 files
"""

from __future__ import annotations

import argparse
import pickle
import resource
import sys
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path

import pymupdf

from benchmarks.common import cores, fmt, median, scale, table, verdict, write_section
from benchmarks.corpus import describe, files_of, subset

TARGET = 0.5


def bare_page1(path: str) -> int:
    """The practical limit: open, page 1, ``get_text("dict")``; return a tiny result."""
    with pymupdf.open(path) as doc:
        return len(doc.load_page(0).get_text("dict")["blocks"])


def parse_only(path: str) -> int:
    from extractor.ingest.files import read_document

    doc = read_document(path)
    return len(doc.full_text or "")


def _quiet() -> None:
    pymupdf.TOOLS.mupdf_display_errors(False)
    pymupdf.TOOLS.mupdf_display_warnings(False)


def cpu_seconds() -> float:
    """CPU time of this process plus every reaped child: a cost the machine's noise barely moves."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def with_cpu(fn, n: int) -> tuple[float, float]:
    """(rate, CPU ms per file) of ``fn()`` which returns a rate."""
    c0 = cpu_seconds()
    rate = fn()
    return rate, (cpu_seconds() - c0) / n * 1e3


def pool_rate(func, files: list[Path], workers: int) -> float:
    paths = [str(p) for p in files]
    chunk = max(1, min(16, len(paths) // (workers * 8) or 1))
    t0 = time.perf_counter()
    with get_context("fork").Pool(workers, initializer=_quiet) as pool:
        for _ in pool.imap_unordered(func, paths, chunksize=chunk):
            pass
    return len(paths) / (time.perf_counter() - t0)


def ingest_rate(folder: Path, n: int, workers: int) -> float:
    from extractor.ingest.files import ingest_paths
    from extractor.store import Store

    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        store = Store.open(Path(tmp) / "b.db")
        try:
            t0 = time.perf_counter()
            s = ingest_paths(store, [folder], workers=workers)
            secs = time.perf_counter() - t0
        finally:
            store.close()
    if s.added != n or s.failed:
        raise RuntimeError(f"ingest added {s.added} of {n} files, {s.failed} failed")
    return n / secs


def parent_costs(files: list[Path], k: int = 200) -> dict[str, float]:
    """Milliseconds per document of the work left to the parent process for each result.

    A parser process sends the file's ``documents`` row already encoded
    (``read_document_row``); the parent unpickles it and inserts rows in batches
    (``Store.add_document_rows``, one transaction per batch).
    """
    from extractor.ingest.files import IngestLimits, hash_file, read_document, read_document_row
    from extractor.store import Store
    from extractor.store.documents import encode_front

    limits = IngestLimits()
    docs = [read_document(p) for p in files[:k]]
    rows = [read_document_row(str(p), limits, None) for p in files[:k]]
    blobs = [pickle.dumps(r, protocol=pickle.HIGHEST_PROTOCOL) for r in rows]
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    for b in blobs:
        pickle.loads(b)
    out["unpickle row (parent)"] = (time.perf_counter() - t0) / k * 1e3
    t0 = time.perf_counter()
    for r in rows:
        pickle.dumps(r, protocol=pickle.HIGHEST_PROTOCOL)
    out["pickle row (worker side)"] = (time.perf_counter() - t0) / k * 1e3
    t0 = time.perf_counter()
    for d in docs:
        encode_front(d.front)  # type: ignore[arg-type]
    out["encode_front (JSON, worker side)"] = (time.perf_counter() - t0) / k * 1e3
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        store = Store.open(Path(tmp) / "p.db")
        t0 = time.perf_counter()
        for i in range(0, len(rows), 32):
            store.add_document_rows(rows[i:i + 32])
        out["add_document_rows (INSERT, one COMMIT per 32 rows)"] = (time.perf_counter() - t0) / k * 1e3
        store.close()
    t0 = time.perf_counter()
    for p in files[:k]:
        hash_file(p)
    out["hash_file (before parsing)"] = (time.perf_counter() - t0) / k * 1e3
    out["pickled row size (KiB)"] = median([len(b) for b in blobs]) / 1024
    return out


def dask_run(folder: Path, n: int, workers: int, rounds: int) -> dict[str, float] | None:
    """``--engine dask`` on a local cluster started beforehand (start-up not timed).

    What matters for going past one machine is the client's own CPU per document (it
    receives every Document and does every write): 1000 / that = the documents per second
    one client can absorb, however many machines parse.
    """
    try:
        import dask
        from distributed import LocalCluster
    except ImportError:
        return None
    from extractor.ingest.distributed import ingest_paths_dask
    from extractor.store import Store

    rates, client_ms = [], []
    with dask.config.set({"distributed.worker.daemon": False}):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0")
    try:
        for _ in range(rounds):
            with tempfile.TemporaryDirectory(prefix="bench-dask-") as tmp:
                store = Store.open(Path(tmp) / "d.db")
                try:
                    me0 = resource.getrusage(resource.RUSAGE_SELF)
                    t0 = time.perf_counter()
                    s = ingest_paths_dask(store, [folder], scheduler=cluster.scheduler_address)
                    secs = time.perf_counter() - t0
                    me1 = resource.getrusage(resource.RUSAGE_SELF)
                finally:
                    store.close()
            if s.added != n:
                raise RuntimeError(f"dask ingest added {s.added} of {n}")
            rates.append(n / secs)
            client_ms.append(((me1.ru_utime + me1.ru_stime) - (me0.ru_utime + me0.ru_stime)) / n * 1e3)
    finally:
        cluster.close()
    return {"rate": median(rates), "client_cpu_ms": median(client_ms), "rounds": rounds}


def run(workers: int | None = None, dask: bool = True) -> dict:
    sc = scale()
    w = workers or cores()
    folder = subset(sc.ingest_files)
    files = files_of(folder)
    n = len(files)
    pool_rate(bare_page1, files, w)  # warm-up: page cache and imports, discarded
    rounds: list[dict[str, float]] = []
    for r in range(sc.ingest_rounds):
        row: dict[str, float] = {}
        row["limit"], row["limit_cpu_ms"] = with_cpu(lambda: pool_rate(bare_page1, files, w), n)
        row["parse"], row["parse_cpu_ms"] = with_cpu(lambda: pool_rate(parse_only, files, w), n)
        row["ingest"], row["ingest_cpu_ms"] = with_cpu(lambda: ingest_rate(folder, n, w), n)
        row["ratio"] = row["ingest"] / row["limit"]
        row["cpu_ratio"] = row["limit_cpu_ms"] / row["ingest_cpu_ms"]
        rounds.append(row)
        print(f"round {r + 1}: " + ", ".join(f"{k} {v:.2f}" for k, v in row.items()), flush=True)
    single: list[dict[str, float]] = []
    if w > 1:
        small = files[: max(100, len(files) // 2)]
        sub = subset(len(small))
        for _ in range(sc.ingest_rounds):
            row = {"limit": pool_rate(bare_page1, small, 1), "ingest": ingest_rate(sub, len(small), 1)}
            row["ratio"] = row["ingest"] / row["limit"]
            single.append(row)
    costs = parent_costs(files)
    dask_res = dask_run(folder, n, w, sc.ingest_rounds) if dask else None
    med = {k: median([r[k] for r in rounds]) for k in rounds[0]}
    return {"workers": w, "files": len(files), "rounds": rounds, "median": med,
            "single": single, "single_median": {k: median([r[k] for r in single]) for k in single[0]} if single else {},
            "parent_ms": costs, "dask": dask_res, "target": TARGET, "met": med["ratio"] >= TARGET, "corpus": describe()}


def render(res: dict) -> str:
    med = res["median"]
    rows = [[f"round {i + 1}", fmt(r["limit"], 0), fmt(r["parse"], 0), fmt(r["ingest"], 0), fmt(r["ratio"], 2)]
            for i, r in enumerate(res["rounds"])]
    rows.append(["**median**", f"**{fmt(med['limit'], 0)}**", f"**{fmt(med['parse'], 0)}**",
                 f"**{fmt(med['ingest'], 0)}**", f"**{fmt(med['ratio'], 2)}**"])
    md = [
        "## Ingest",
        "",
        f"{res['files']:,} generated front-matter PDFs, {res['workers']} processes for every column "
        f"(`--workers {res['workers']}`), {len(res['rounds'])} interleaved rounds. PDFs/s:",
        "",
        table(["", "limit: bare pymupdf page-1 `get_text(\"dict\")`", "parse: `read_document` (no DB)",
               "ingest: `ingest_paths` into SQLite", "ingest / limit"], rows),
        "",
        f"Target ingest ≥ {res['target']} × limit: {verdict(res['met'])} ({fmt(med['ratio'], 2)}, the median of "
        "the per-round ratios).",
        "",
        "CPU time per file (parent + workers; unlike wall time it hardly moves with the machine's load): "
        f"limit {fmt(med['limit_cpu_ms'], 2)} ms, parse {fmt(med['parse_cpu_ms'], 2)} ms, ingest "
        f"{fmt(med['ingest_cpu_ms'], 2)} ms; limit/ingest = {fmt(med['cpu_ratio'], 2)}, the ratio ingest would reach "
        "with every core busy all the time.",
    ]
    if res["single"]:
        sm = res["single_median"]
        md += ["", f"With one parser process (`--workers 1`, {len(res['single'])} rounds): limit "
                   f"{fmt(sm['limit'], 0)} PDFs/s, ingest {fmt(sm['ingest'], 0)} PDFs/s, ratio {fmt(sm['ratio'], 2)}; "
                   f"all cores / one core: ingest ×{fmt(med['ingest'] / sm['ingest'], 2)}, limit ×{fmt(med['limit'] / sm['limit'], 2)}."]
    if res.get("dask"):
        d = res["dask"]
        md += ["", f"`--engine dask` on a local cluster of {res['workers']} worker processes (cluster start-up not timed, "
                   f"{d['rounds']} runs): {fmt(d['rate'], 0)} PDFs/s = {fmt(d['rate'] / med['ingest'], 2)} × the local "
                   f"engine on one machine. The client's own CPU is {fmt(d['client_cpu_ms'], 2)} ms per document, so one "
                   f"client can absorb about {fmt(1000 / d['client_cpu_ms'], 0)} PDFs/s however many machines parse."]
    md += ["", "Where the time between *limit* and *ingest* goes, per document (ms, one process, median file):", "",
           table(["step", "ms / doc"], [[k, fmt(v, 2)] for k, v in res["parent_ms"].items()])]
    return "\n".join(md)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Ingest PDFs/s vs bare pymupdf on the same files.")
    parser.add_argument("--workers", type=int, default=None, help="processes for every column (default: all cores)")
    parser.add_argument("--no-dask", action="store_true", help="skip the --engine dask measurement")
    args = parser.parse_args(argv)
    res = run(args.workers, dask=not args.no_dask)
    write_section("ingest", render(res), res)
    print(render(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
