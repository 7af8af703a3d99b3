"""Shared plumbing for the benchmarks: scale, output files, statistics, process-tree memory.

Every benchmark writes ``bench-out/<name>.md`` (a section of docs/BENCHMARKS.md) and
``bench-out/<name>.json`` (the numbers, for the summary table). Timings are medians of
repeated runs and are always shown next to a baseline measured in the same run, because
this machine is shared and noisy: an absolute number from another day means little, a
ratio taken minutes apart means a lot. Nothing here asserts a timing.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: Scratch for corpora, databases and sections (gitignored); BENCH_OUT relocates it.
OUT = Path(os.environ.get("BENCH_OUT") or ROOT / "bench-out")
#: Benchmarks may read the shared corpora next to the repository (tests may not).
SHARED = Path(os.environ.get("COLLABSCOPE_SHARED") or ROOT.parent / "shared")
PYTHON = sys.executable
_SCRIPT = Path(PYTHON).with_name("collabscope")
#: The `collabscope` command of this interpreter (the console script, else the same entry point).
CLI = [str(_SCRIPT)] if _SCRIPT.exists() else [PYTHON, "-c", "import sys; from extractor.cli import main; sys.exit(main())"]


@dataclass(frozen=True)
class Scale:
    """Sizes for one benchmark run: ``full`` is the documented run, ``small`` a quick check."""

    name: str
    corpus: int  # PDFs generated (growth and e2e take prefixes of this corpus)
    ingest_files: int  # files per ingest trial
    ingest_rounds: int
    e2e: int  # the NeurIPS-sized end-to-end run
    growth: tuple[int, ...]
    store_records: int
    store_baseline_records: int
    latency_samples: int


SCALES = {
    "full": Scale("full", corpus=10_000, ingest_files=2_000, ingest_rounds=3, e2e=5_290,
                  growth=(1_000, 5_000, 10_000), store_records=100_000, store_baseline_records=1_000,
                  latency_samples=2_000),
    "small": Scale("small", corpus=1_000, ingest_files=300, ingest_rounds=3, e2e=500,
                   growth=(200, 500, 1_000), store_records=10_000, store_baseline_records=1_000,
                   latency_samples=500),
}


def scale() -> Scale:
    """``BENCH_SCALE=small`` for a quick run; anything else (or unset) is the full run."""
    name = os.environ.get("BENCH_SCALE", "full").strip().lower() or "full"
    if name not in SCALES:
        raise SystemExit(f"BENCH_SCALE={name!r}: choose full or small")
    return SCALES[name]


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


# --------------------------------------------------------------------------- statistics


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); exact enough for latency tables."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def linear_fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float, float]:
    """Least-squares line y = a + b x; returns (a, b, R²)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    b = sxy / sxx if sxx else 0.0
    a = my - b * mx
    ss_tot = sum((y - my) ** 2 for y in ys)
    ss_res = sum((y - (a + b * x)) ** 2 for x, y in zip(xs, ys, strict=True))
    return a, b, (1 - ss_res / ss_tot) if ss_tot else 1.0


# --------------------------------------------------------------------------- formatting


def fmt(x: float | None, digits: int = 1) -> str:
    if x is None or x != x:  # None or NaN
        return "–"
    return f"{x:,.{digits}f}"


def mib(nbytes: float | None) -> str:
    return "–" if nbytes is None else f"{nbytes / 1048576:,.0f} MiB"


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def verdict(ok: bool | None) -> str:
    return "–" if ok is None else ("**met**" if ok else "**missed**")


def write_section(name: str, markdown: str, data: dict[str, Any]) -> Path:
    """Write bench-out/<name>.md and .json; run_all pastes the .md into BENCHMARKS.md."""
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    path = OUT / f"{name}.md"
    path.write_text(markdown.rstrip() + "\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------- memory of a process tree


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: parse after the last ')'
        fields = stat[stat.rfind(b")") + 2:].split()
        kids.setdefault(int(fields[1]), []).append(int(entry))
    return kids


def tree_pids(root: int) -> list[int]:
    kids = _children_map()
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def _mem_of(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in bytes; PSS splits pages shared by forked workers fairly."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss, pss


@dataclass
class TreeSampler:
    """Samples the summed RSS and PSS of a process and all its descendants.

    RSS summed over forked workers counts shared pages once per process (an upper bound);
    PSS counts each page once, so the PSS peak is what the machine actually needs.
    """

    root: int
    interval: float = 0.1
    peak_rss: int = 0
    peak_pss: int = 0
    peak_procs: int = 0
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> TreeSampler:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        pids = tree_pids(self.root)
        rss = pss = 0
        for pid in pids:
            r, p = _mem_of(pid)
            rss += r
            pss += p
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_pss = max(self.peak_pss, pss)
        self.peak_procs = max(self.peak_procs, len(pids))
        self.samples += 1

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()


@dataclass
class Measured:
    """One subprocess run: wall time, memory peaks, exit code and the tail of stderr."""

    cmd: list[str]
    wall: float
    rc: int
    peak_rss_tree: int
    peak_pss_tree: int
    max_rss_single: int  # largest single process (getrusage of waited-for children)
    stderr: str
    cpu: float = 0.0  # user + system seconds of the command and every child it waited for

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


def run_measured(cmd: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
                 timeout: float | None = None) -> Measured:
    """Run ``cmd`` as a child, sampling its process tree's memory until it exits.

    ``max_rss_single`` comes from ``wait4`` on that child: the kernel reports the largest
    RSS of the child and of every descendant it waited for, for this command alone.
    """
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err: list[str] = []
    reader = threading.Thread(target=lambda: err.append(proc.stderr.read() if proc.stderr else ""), daemon=True)
    reader.start()
    killer = threading.Timer(timeout, proc.kill) if timeout else None
    if killer:
        killer.start()
    with TreeSampler(proc.pid) as sampler:
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if killer:
        killer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    reader.join(10)
    return Measured(cmd=[str(c) for c in cmd], wall=wall, rc=proc.returncode, peak_rss_tree=sampler.peak_rss,
                    peak_pss_tree=sampler.peak_pss, max_rss_single=usage.ru_maxrss * 1024,
                    stderr="".join(err)[-2000:], cpu=usage.ru_utime + usage.ru_stime)


# --------------------------------------------------------------------------- machine


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on: CPU, cores, RAM, Python, key packages, commit."""
    cpu = next((ln.split(":", 1)[1].strip() for ln in _read("/proc/cpuinfo").splitlines()
                if ln.startswith("model name")), platform.processor() or platform.machine())
    mem = next((int(ln.split()[1]) * 1024 for ln in _read("/proc/meminfo").splitlines()
                if ln.startswith("MemTotal:")), 0)
    versions = {}
    from importlib import metadata

    for pkg in ("pymupdf", "pydantic", "sqlite-utils", "rapidfuzz", "dask", "distributed", "typer"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = "not installed"
    import sqlite3

    versions["sqlite"] = sqlite3.sqlite_version

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    return {
        "cpu": cpu,
        "cores": cores(),
        "ram_gib": round(mem / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
        "commit": (git("rev-parse", "--short", "HEAD") or "unknown") + (" (+ uncommitted changes)" if dirty else ""),
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
    }
