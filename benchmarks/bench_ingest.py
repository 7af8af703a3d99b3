"""Ingest throughput against the practical limit: bare pymupdf on the same files.

Three measurements on the same files, interleaved round by round so the machine's noise
hits them alike, all using the same number of processes:

- **limit**: a process pool that opens each PDF, loads page 1 and calls
  ``get_text("dict")``, returning nothing big. No ingest can beat this on these files.
- **parse**: the same pool running ``extractor.ingest.read_document`` (layout zones, the
  text of later pages, the ``Document`` model) but no database: the cost of what ingest
  keeps, without the cost of keeping it.
- **ingest**: ``extractor.ingest.ingest_paths`` into a fresh SQLite file (hashing,
  supervised parser processes, results sent back, one row written per file).

The target is ingest ≥ 0.5 × limit with all cores. A per-document breakdown of the
parent's share (unpickling a Document, encoding page 1 as JSON, the INSERT) explains what
is left between *parse* and *ingest*.

    python -m benchmarks.bench_ingest [--workers N]
"""

from __future__ import annotations

import argparse
import pickle
import sys
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path

import pymupdf

from .common import cores, fmt, median, scale, table, verdict, write_section
from .corpus import describe, files_of, subset

TARGET = 0.5


def bare_page1(path: str) -> int:
    """The practical limit: open, page 1, ``get_text("dict")``; return a tiny result."""
    with pymupdf.open(path) as doc:
        return len(doc.load_page(0).get_text("dict")["blocks"])


def parse_only(path: str) -> int:
    from extractor.ingest import read_document

    doc = read_document(path)
    return len(doc.full_text or "")


def _quiet() -> None:
    pymupdf.TOOLS.mupdf_display_errors(False)
    pymupdf.TOOLS.mupdf_display_warnings(False)


def pool_rate(func, files: list[Path], workers: int) -> float:
    paths = [str(p) for p in files]
    chunk = max(1, min(16, len(paths) // (workers * 8) or 1))
    t0 = time.perf_counter()
    with get_context("fork").Pool(workers, initializer=_quiet) as pool:
        for _ in pool.imap_unordered(func, paths, chunksize=chunk):
            pass
    return len(paths) / (time.perf_counter() - t0)


def ingest_rate(folder: Path, n: int, workers: int) -> float:
    from extractor.ingest import ingest_paths
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
    """Milliseconds per document of the work the parent process does for each result."""
    from extractor.ingest import read_document
    from extractor.store import Store, encode_front

    docs = [read_document(p) for p in files[:k]]
    blobs = [pickle.dumps(d, protocol=pickle.HIGHEST_PROTOCOL) for d in docs]
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    for b in blobs:
        pickle.loads(b)
    out["unpickle Document"] = (time.perf_counter() - t0) / k * 1e3
    t0 = time.perf_counter()
    for d in docs:
        pickle.dumps(d, protocol=pickle.HIGHEST_PROTOCOL)
    out["pickle Document (worker side)"] = (time.perf_counter() - t0) / k * 1e3
    t0 = time.perf_counter()
    for d in docs:
        encode_front(d.front)  # type: ignore[arg-type]
    out["encode_front (JSON)"] = (time.perf_counter() - t0) / k * 1e3
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        store = Store.open(Path(tmp) / "p.db")
        t0 = time.perf_counter()
        for d in docs:
            store.add_document(d)
        out["add_document (encode + INSERT + COMMIT)"] = (time.perf_counter() - t0) / k * 1e3
        store.close()
    from extractor.ingest import hash_file

    t0 = time.perf_counter()
    for p in files[:k]:
        hash_file(p)
    out["hash_file (before parsing)"] = (time.perf_counter() - t0) / k * 1e3
    out["pickled size (KiB)"] = median([len(b) for b in blobs]) / 1024
    return out


def run(workers: int | None = None) -> dict:
    sc = scale()
    w = workers or cores()
    folder = subset(sc.ingest_files)
    files = files_of(folder)
    rounds: list[dict[str, float]] = []
    for r in range(sc.ingest_rounds):
        row = {
            "limit": pool_rate(bare_page1, files, w),
            "parse": pool_rate(parse_only, files, w),
            "ingest": ingest_rate(folder, len(files), w),
        }
        row["ratio"] = row["ingest"] / row["limit"]
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
    med = {k: median([r[k] for r in rounds]) for k in rounds[0]}
    return {"workers": w, "files": len(files), "rounds": rounds, "median": med,
            "single": single, "single_median": {k: median([r[k] for r in single]) for k in single[0]} if single else {},
            "parent_ms": costs, "target": TARGET, "met": med["ratio"] >= TARGET, "corpus": describe()}


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
        f"Target ingest ≥ {res['target']} × limit: {verdict(res['met'])} ({fmt(med['ratio'], 2)}).",
    ]
    if res["single"]:
        sm = res["single_median"]
        md += ["", f"With one parser process (`--workers 1`, {len(res['single'])} rounds): limit "
                   f"{fmt(sm['limit'], 0)} PDFs/s, ingest {fmt(sm['ingest'], 0)} PDFs/s, ratio {fmt(sm['ratio'], 2)}; "
                   f"all cores / one core: ingest ×{fmt(med['ingest'] / sm['ingest'], 2)}, limit ×{fmt(med['limit'] / sm['limit'], 2)}."]
    md += ["", "Where the time between *limit* and *ingest* goes, per document (ms, one process, median file):", "",
           table(["step", "ms / doc"], [[k, fmt(v, 2)] for k, v in res["parent_ms"].items()])]
    return "\n".join(md)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Ingest PDFs/s vs bare pymupdf on the same files.")
    parser.add_argument("--workers", type=int, default=None, help="processes for every column (default: all cores)")
    args = parser.parse_args(argv)
    res = run(args.workers)
    write_section("ingest", render(res), res)
    print(render(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
