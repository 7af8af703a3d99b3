"""Growth: time and memory at 1k, 5k and 10k papers -- is the cost linear in the work?

Each size is a fresh database and the first N PDFs of the one benchmark corpus, run as
the user runs it, stage by stage (``collabscope ingest``, ``extract``, ``reconcile``,
``report``) so a super-linear stage can be named, then ``collabscope run``
again on the same folder (the idempotent re-run a user does after adding files).

For each stage and the total: a least-squares line t = a + b·n (slope b in seconds per
1,000 papers, R²), the ratio t(10k)/t(1k) (10 for a purely linear cost, less when fixed
start-up costs weigh in, more when something grows faster than n), and the cost per
1,000 papers at each size: a cost per paper that climbs with n is the mark of a
quadratic step. Peak memory (PSS of the process tree) should stay flat: nothing may hold
all papers in memory.

    python -m benchmarks.bench_growth
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.bench_e2e import stage
from benchmarks.common import OUT, fmt, linear_fit, mib, scale, table, write_section
from benchmarks.corpus import subset


def run() -> dict[str, Any]:
    sc = scale()
    sizes = list(sc.growth)
    work = Path(tempfile.mkdtemp(prefix="bench-growth-", dir=OUT if OUT.exists() else None))
    per: dict[int, dict[str, Any]] = {}
    try:
        for n in sizes:
            folder = subset(n)
            db = work / f"g{n}.db"
            print(f"{n} papers", flush=True)
            st = {
                "ingest": stage("ingest", ["ingest", str(folder), "--db", str(db), "-q"]),
                "extract": stage("extract", ["extract", "--backend", "rules", "--db", str(db), "-q"]),
                "reconcile": stage("reconcile", ["reconcile", "--db", str(db), "-q"]),
                "report": stage("report", ["report", "--db", str(db), "--out", str(work / f"g{n}.html")]),
            }
            rerun = stage("run again", ["run", str(folder), "--db", str(db), "-q"])
            per[n] = {"stages": {k: v.as_dict() for k, v in st.items()}, "rerun": rerun.as_dict(),
                      "total": sum(v.wall for v in st.values()),
                      "peak_pss": max(v.peak_pss_tree for v in st.values()),
                      "db_bytes": db.stat().st_size}
            db.unlink(missing_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    series: dict[str, list[float]] = {name: [per[n]["stages"][name]["wall"] for n in sizes] for name in per[sizes[0]]["stages"]}
    series["total"] = [per[n]["total"] for n in sizes]
    series["run again (no-op)"] = [per[n]["rerun"]["wall"] for n in sizes]
    # CPU seconds: the same curve without the shared machine's noise
    series["total CPU"] = [sum(per[n]["stages"][k].get("cpu", 0.0) for k in per[n]["stages"]) for n in sizes]
    fits = {}
    for name, ys in series.items():
        a, b, r2 = linear_fit(sizes, ys)
        fits[name] = {"intercept_s": a, "slope_s_per_1k": b * 1000, "r2": r2, "ratio": ys[-1] / ys[0],
                      "per_1k": [y / (n / 1000) for y, n in zip(ys, sizes, strict=True)], "walls": ys}
    mem = [per[n]["peak_pss"] for n in sizes]
    _, mem_slope, mem_r2 = linear_fit(sizes, mem)
    return {"sizes": sizes, "per": per, "fits": fits, "mem": mem, "mem_slope_per_1k": mem_slope * 1000,
            "mem_r2": mem_r2}


def render(res: dict[str, Any]) -> str:
    sizes = res["sizes"]
    lo, hi = sizes[0], sizes[-1]
    rows = []
    for name, f in res["fits"].items():
        label = {"total": "**total (wall)**", "total CPU": "**total (CPU s)**"}.get(name, f"`{name}`")
        rows.append([label, *[fmt(w) for w in f["walls"]],
                     *[fmt(p, 2) for p in f["per_1k"]], fmt(f["slope_s_per_1k"], 2), fmt(f["intercept_s"], 1),
                     fmt(f["r2"], 4), fmt(f["ratio"], 1)])
    hdr = ["stage", *[f"s @ {n:,}" for n in sizes], *[f"s/1k @ {n:,}" for n in sizes], "slope s/1k", "intercept s",
           "R²", f"t({hi // 1000 or hi}k)/t({lo // 1000 or lo}k)" if lo >= 1000 else f"t({hi})/t({lo})"]
    mrows = [[f"{n:,}", *[mib(res["per"][n]["stages"][k]["peak_pss_tree"]) for k in res["per"][n]["stages"]],
              mib(res["per"][n]["rerun"]["peak_pss_tree"]), f"{res['per'][n]['db_bytes'] / 1048576:,.0f} MiB"]
             for n in sizes]
    tot = res["fits"]["total"]
    cpu = res["fits"]["total CPU"]
    md = [
        "## Growth",
        "",
        "Fresh database per size, first N PDFs of the benchmark corpus, one process per stage. Wall seconds, "
        "seconds per 1,000 papers at each size, and a least-squares line per stage:",
        "",
        table(hdr, rows),
        "",
        f"Total: **{fmt(tot['slope_s_per_1k'], 2)} s per 1,000 papers** (R² {fmt(tot['r2'], 4)}), "
        f"t({hi:,})/t({lo:,}) = {fmt(tot['ratio'], 2)} for {hi / lo:g}× the papers; in CPU seconds (immune to the "
        f"machine's other jobs) {fmt(cpu['slope_s_per_1k'], 2)} s per 1,000 papers, R² {fmt(cpu['r2'], 4)}, ratio "
        f"{fmt(cpu['ratio'], 2)}. A stage whose s/1k climbs with N grows faster than linearly; a falling s/1k is a "
        "fixed start-up cost being spread.",
        "",
        "Peak memory (PSS of the process tree) per stage:",
        "",
        table(["papers", *res["per"][sizes[0]]["stages"].keys(), "run again", "database"], mrows),
        "",
        f"Peak memory grows {res['mem_slope_per_1k'] / 1048576:,.1f} MiB per 1,000 papers (R² {fmt(res['mem_r2'], 3)}).",
    ]
    return "\n".join(md)


def main(argv: list[str] | None = None) -> int:
    res = run()
    write_section("growth", render(res), res)
    print(render(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
