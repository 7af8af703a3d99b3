"""Benchmark (and dev accuracy check) of the affiliation resolver.

    .venv/bin/python benchmarks/bench_resolve.py              # strings/s, median of 5 runs
    .venv/bin/python benchmarks/bench_resolve.py --accuracy   # + nips2018 silver-label accuracy

Reads every raw affiliation string (with its author's e-mail domain) from
../shared/corpora/paperlists/nips2018.jsonl; without ../shared it times a small built-in
list so the script still runs on a fresh clone.  The labels are the source project's
automatic output (silver): "country accuracy" is the share of labelled affiliations whose
resolved country equals the label; "institution match" is the share whose resolved
institution is the label's gazetteer entry (or its parent/child).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from extractor.resolve import get_resolver  # noqa: E402
from extractor.resolve.text import key  # noqa: E402

NIPS = ROOT.parent / "shared" / "corpora" / "paperlists" / "nips2018.jsonl"
FALLBACK = [
    ("Department of Computer Science, Stanford University, Stanford, CA 94305, USA", "cs.stanford.edu"),
    ("Microsoft Research Asia, Beijing, China", "microsoft.com"),
    ("DeepMind, London, UK", "google.com"),
    ("The Chinese University of Hong Kong, Shenzhen", "cuhk.edu.cn"),
    ("School of Computer Science, Peking University", "pku.edu.cn"),
    ("Google Brain", "google.com"),
    ("Tencent AI Lab, Bellevue, WA, USA", "tencent.com"),
    ("Mila, Université de Montréal", "umontreal.ca"),
    ("National Taiwan University", "ntu.edu.tw"),
    ("Unknown Robotics GmbH, Berlin, Germany", None),
] * 50


def load_rows() -> list[dict]:
    rows = []
    with NIPS.open(encoding="utf-8") as fh:
        for line in fh:
            paper = json.loads(line)
            for author in paper["authors"]:
                for aff in author["affiliations"]:
                    rows.append({"raw": aff["raw"], "email": author.get("email_domain"),
                                 "institution": aff.get("institution"), "country": aff.get("country")})
    return rows


def bench(strings: list[tuple[str, str | None]], runs: int = 5) -> tuple[float, float]:
    """(strings per wall-clock second, strings per CPU second), medians of ``runs``: on a
    shared machine the CPU figure is the one that compares across runs."""
    resolver = get_resolver()
    rates, cpu_rates = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        for raw, email in strings:
            resolver.resolve(raw, email)
        rates.append(len(strings) / (time.perf_counter() - t0))
        cpu_rates.append(len(strings) / max(time.process_time() - c0, 1e-9))
    return statistics.median(rates), statistics.median(cpu_rates)


def same_institution(resolver, predicted: str | None, label: str | None) -> bool:
    if not predicted or not label:
        return False
    if key(predicted) == key(label):
        return True
    p, lab = resolver.lookup(predicted), resolver.lookup(label)
    if p is None or lab is None:
        return False
    return p is lab or p.parent == lab.name or lab.parent == p.name or (p.parent is not None and p.parent == lab.parent)


def accuracy(rows: list[dict], show: int = 0) -> None:
    resolver = get_resolver()
    n_country = ok_country = n_inst = ok_inst = 0
    errors = []
    for row in rows:
        res = resolver.resolve(row["raw"], row["email"])
        if row["country"]:
            n_country += 1
            if res.country == row["country"]:
                ok_country += 1
            else:
                errors.append((row["raw"], row["email"], row["country"], res.country, res.country_method.value, res.institution))
        if row["institution"]:
            n_inst += 1
            ok_inst += same_institution(resolver, res.institution, row["institution"])
    print(f"nips2018 country accuracy: {ok_country / n_country:.4f} ({ok_country}/{n_country})")
    print(f"nips2018 institution match rate: {ok_inst / n_inst:.4f} ({ok_inst}/{n_inst})")
    for err in errors[:show]:
        print("  ", err)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accuracy", action="store_true", help="also score against nips2018 silver labels")
    parser.add_argument("--show-errors", type=int, default=0, help="print this many country errors")
    parser.add_argument("--repeat", type=int, default=3, help="times the string list is repeated per run")
    args = parser.parse_args()
    t0 = time.perf_counter()
    get_resolver()
    print(f"resolver built in {time.perf_counter() - t0:.2f} s")
    if NIPS.exists():
        rows = load_rows()
        strings = [(r["raw"], r["email"]) for r in rows]
        source = f"{NIPS.name} ({len(strings)} affiliation strings)"
    else:
        rows, strings, source = [], FALLBACK, f"built-in list ({len(FALLBACK)} strings; ../shared not found)"
    rate, cpu_rate = bench(strings * args.repeat)
    print(f"resolve(): {rate:,.0f} strings/s, {cpu_rate:,.0f} strings per CPU second "
          f"(median of 5 runs over {source} x{args.repeat})")
    if args.accuracy and rows:
        accuracy(rows, args.show_errors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
