"""Fuzzing ingest: mutated PDFs must never crash the batch, hang it, or go missing.

Seeds are small PDFs the test makes itself (a generated paper, a multi-page one, an
uncompressed hand-built one whose syntax mutations can reach, an encrypted one, an empty
page tree). Mutations: bit flips, byte overwrites, truncation, splices of another seed,
deleted and duplicated regions, PDF keywords swapped, and absurd numbers written over
xref offsets, object numbers, /Length and /Count values.

Property, for every batch of mutated files ingested through the real supervised pool:
the call returns, it returns within the per-file timeout budget, and every file ends with
exactly one ``documents`` row (ok or error).

Budget: ``COLLABSCOPE_FUZZ_SECONDS`` (default 60) of wall time for the pytest run. For
longer campaigns run the module as a script::

    .venv/bin/python -m tests.test_fuzz_ingest --seconds 600 --out fuzz-findings/

which prints executions, duration and outcome counts and keeps every input that ended as
``crash`` or ``timeout`` for triage.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from extractor.ingest.files import IngestLimits, ingest_paths
from extractor.store import Store

FUZZ_SECONDS = float(os.environ.get("COLLABSCOPE_FUZZ_SECONDS", "60"))
BATCH = 6
PARSE_TIMEOUT = 5.0

KEYWORDS = [b"obj", b"endobj", b"stream", b"endstream", b"xref", b"trailer", b"startxref", b"/Length", b"/Count",
            b"/Kids", b"/Type", b"/Page", b"/Pages", b"/Root", b"/Filter", b"/FlateDecode", b"R", b"<<", b">>",
            b"[", b"]", b"(", b")", b"%%EOF", b"/Resources", b"/Font", b"Tj", b"BT", b"ET"]
HUGE = [b"99999999999999999999", b"-1", b"2147483647", b"2147483648", b"4294967296", b"-2147483649",
        b"1e308", b"0", b"18446744073709551616", b"9" * 300, b"-0", b"NaN"]


# --------------------------------------------------------------------------- seeds


def make_seeds(folder: Path) -> list[bytes]:
    """Small, varied, valid-or-nearly inputs for the mutator to start from."""
    import pymupdf

    from tests import fault_helpers as fh
    from tests import pdf_factory as pf

    folder.mkdir(parents=True, exist_ok=True)
    seeds = [pf.simple_paper(folder / "a.pdf").read_bytes()]
    doc = pymupdf.open()
    for i in range(3):
        doc.new_page().insert_text((72, 72 + i), f"Page {i}: Ada Lovelace, University of Cambridge, UK. " * 2,
                                   fontsize=9)
    seeds.append(doc.tobytes(no_new_id=True))  # uncompressed streams: syntax mutations bite
    doc.close()
    content = b"BT /F1 14 Tf 72 700 Td (Attention Is All You Need) Tj 0 -20 Td (Google Brain, USA) Tj ET"
    seeds.append(fh.raw_pdf({
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
           b"/Resources << /Font << /F1 5 0 R >> >> >>",
        4: b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        5: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    }))
    seeds.append(pf.encrypted(folder / "e.pdf").read_bytes())
    seeds.append(pf.zero_pages(folder / "z.pdf").read_bytes())
    seeds.append(fh.billion_laughs_pdf(folder / "l.pdf", depth=3).read_bytes())
    return seeds


# --------------------------------------------------------------------------- mutations


def _numbers(data: bytes) -> list[tuple[int, int]]:
    out, i, n = [], 0, len(data)
    while i < n and len(out) < 4000:
        if 48 <= data[i] <= 57:
            j = i
            while j < n and 48 <= data[j] <= 57:
                j += 1
            out.append((i, j))
            i = j
        else:
            i += 1
    return out


def mutate(data: bytes, op: str, pos: float, arg: int, other: bytes) -> bytes:
    """Apply one mutation; ``pos`` in [0, 1) picks where, ``arg`` picks how (bytes, sizes)."""
    if not data:
        return other[: arg % 512]
    i = int(pos * len(data)) % len(data)
    if op == "flip":
        return data[:i] + bytes([data[i] ^ (1 << (arg % 8))]) + data[i + 1:]
    if op == "byte":
        return data[:i] + bytes([arg % 256]) + data[i + 1:]
    if op == "truncate":
        return data[:i]
    if op == "splice":
        j = arg % max(1, len(other))
        return data[:i] + other[j:j + 1 + arg % 2048] + data[i:]
    if op == "delete":
        return data[:i] + data[i + 1 + arg % 512:]
    if op == "duplicate":
        chunk = data[i:i + 1 + arg % 512]
        return data[:i] + chunk * (2 + arg % 8) + data[i:]
    if op == "keyword":
        kw = KEYWORDS[arg % len(KEYWORDS)]
        at = data.find(kw, i)
        repl = KEYWORDS[(arg // len(KEYWORDS)) % len(KEYWORDS)]
        return data if at < 0 else data[:at] + repl + data[at + len(kw):]
    if op == "number":
        nums = _numbers(data)
        if not nums:
            return data
        a, b = nums[int(pos * len(nums)) % len(nums)]
        return data[:a] + HUGE[arg % len(HUGE)] + data[b:]
    raise ValueError(op)


OPS = ["flip", "byte", "truncate", "splice", "delete", "duplicate", "keyword", "number"]


def random_case(rng: random.Random, seeds: list[bytes]) -> bytes:
    data = rng.choice(seeds)
    for _ in range(rng.randint(1, 6)):
        data = mutate(data, rng.choice(OPS), rng.random(), rng.randrange(1 << 30), rng.choice(seeds))
    return data


# --------------------------------------------------------------------------- the property


@dataclass
class Tally:
    executions: int = 0
    batches: int = 0
    seconds: float = 0.0
    kinds: Counter = field(default_factory=Counter)
    slowest_batch: float = 0.0


def check_batch(store: Store, folder: Path, cases: list[bytes], tally: Tally, workers: int = 2) -> list[Path]:
    """Ingest one batch of mutated files; assert the property; return files that crashed or timed out."""
    folder.mkdir(parents=True)
    files = []
    for k, data in enumerate(cases):
        p = folder / f"case-{k}.pdf"
        p.write_bytes(data)
        files.append(p)
    t0 = time.monotonic()
    summary = ingest_paths(store, [folder], workers=workers, limits=IngestLimits(parse_timeout=PARSE_TIMEOUT,
                                                                                  max_memory_mb=1024))
    took = time.monotonic() - t0
    budget = PARSE_TIMEOUT * (len(files) / workers + 1) + 10
    assert took < budget, f"batch took {took:.1f} s, over the {budget:.0f} s the per-file timeout allows"
    assert summary.seen == len(files)
    hashes = {hashlib.sha256(p.read_bytes()).hexdigest(): p for p in files}
    rows = {r["sha256"]: r for r in store.ingest_outcomes(hashes)}
    missing = [str(p) for h, p in hashes.items() if h not in rows]
    assert not missing, f"files without a documents row: {missing}"
    tally.executions += len(files)
    tally.batches += 1
    tally.seconds += took
    tally.slowest_batch = max(tally.slowest_batch, took)
    findings = []
    for h, p in hashes.items():
        kind = rows[h]["error_kind"] or "ok"
        tally.kinds[kind] += 1
        if kind in ("crash", "timeout"):
            findings.append(p)
    return findings


# --------------------------------------------------------------------------- pytest


@pytest.mark.slow
def test_fuzz_ingest_with_hypothesis(tmp_path: Path) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    seeds = make_seeds(tmp_path / "seeds")
    store = Store.open(tmp_path / "fuzz.db")
    tally = Tally()
    counter = iter(range(10**9))
    op = st.tuples(st.sampled_from(OPS), st.floats(0, 1, exclude_max=True), st.integers(0, 1 << 30),
                   st.integers(0, len(seeds) - 1))
    case = st.tuples(st.integers(0, len(seeds) - 1), st.lists(op, min_size=1, max_size=6))

    def build(c: tuple) -> bytes:
        data = seeds[c[0]]
        for name, pos, arg, other in c[1]:
            data = mutate(data, name, pos, arg, seeds[other])
        return data

    @settings(max_examples=25, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.lists(case, min_size=BATCH, max_size=BATCH))
    def one_batch(cases: list[tuple]) -> None:
        check_batch(store, tmp_path / f"b{next(counter)}", [build(c) for c in cases], tally)

    started = time.monotonic()
    try:
        while time.monotonic() - started < FUZZ_SECONDS:
            one_batch()
    finally:
        store.close()
    duration = time.monotonic() - started
    print(f"\nfuzz: {tally.executions} inputs in {duration:.0f} s ({tally.executions / duration:.1f}/s), "
          f"outcomes {dict(tally.kinds)}, slowest batch {tally.slowest_batch:.1f} s")
    assert tally.executions > 0


def test_mutations_are_deterministic_and_cover_every_op(tmp_path: Path) -> None:
    seeds = make_seeds(tmp_path / "seeds")
    rng1, rng2 = random.Random(7), random.Random(7)
    assert [random_case(rng1, seeds) for _ in range(20)] == [random_case(rng2, seeds) for _ in range(20)]
    for name in OPS:
        out = mutate(seeds[2], name, 0.37, 12345, seeds[0])
        assert isinstance(out, bytes)
    assert b"99999999999999999999" in mutate(seeds[2], "number", 0.5, 0, seeds[0])


# --------------------------------------------------------------------------- script mode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.test_fuzz_ingest",
                                     description="Fuzz collabscope ingest with mutated PDFs for a time budget.")
    parser.add_argument("--seconds", type=float, default=300, help="wall-time budget (default 300)")
    parser.add_argument("--batch", type=int, default=24, help="files per ingest batch (default 24)")
    parser.add_argument("--workers", type=int, default=0, help="parser processes (default: all cores)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: time)")
    parser.add_argument("--out", type=Path, default=Path("fuzz-findings"), help="where crash/timeout inputs go")
    args = parser.parse_args(argv)
    import tempfile

    seed = args.seed if args.seed is not None else int(time.time())
    rng = random.Random(seed)
    workers = args.workers or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2)
    tally = Tally()
    kept = 0
    with tempfile.TemporaryDirectory(prefix="collabscope-fuzz-") as tmp:
        work = Path(tmp)
        seeds = make_seeds(work / "seeds")
        store = Store.open(work / "fuzz.db")
        started = time.monotonic()
        n = 0
        while time.monotonic() - started < args.seconds:
            cases = [random_case(rng, seeds) for _ in range(args.batch)]
            for f in check_batch(store, work / f"b{n}", cases, tally, workers=workers):
                args.out.mkdir(parents=True, exist_ok=True)
                (args.out / f"{seed}-{n}-{f.name}").write_bytes(f.read_bytes())
                kept += 1
            n += 1
        duration = time.monotonic() - started
        store.close()
    print(f"seed {seed}: {tally.executions} inputs in {duration:.0f} s ({tally.executions / duration:.1f}/s) "
          f"with {workers} workers; outcomes {dict(sorted(tally.kinds.items()))}; slowest batch "
          f"{tally.slowest_batch:.1f} s; nothing lost (every input has its row)"
          + (f"; {kept} crash/timeout inputs kept in {args.out}" if kept else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
