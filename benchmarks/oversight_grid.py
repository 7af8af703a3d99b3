"""The oversight grid: `collabscope simulate` over configurations and held-out seeds, as one table.

docs/ACCURACY.md states queue capture, calibration and the oversight curve for several
simulated readers; this command produces all of them from the code as it is, so the docs
can quote one consistent set. For each configuration of :data:`CONFIGS` (the rules backend
alone; rules + the realistic simulated llm at 0.5x, 1x and 2x the default error mix; rules
+ the page-blind llm) and each seed it runs::

    collabscope simulate --source SOURCE --n N --seed SEED <configuration> --out DIR/<config>_s<seed> \\
        --workers W --json -q > DIR/<config>_s<seed>.json

pools the seeds of each configuration (:func:`devtools.simulate.pool_runs`) and writes one
Markdown table, with the command, the code it measured and the machine, to
``DIR/oversight_grid.md`` (``--table`` for another path) and the pooled figures to
``DIR/oversight_grid.json``.

It is resumable: a run whose JSON exists and was made by the same code (a hash of what a
simulation runs: ``extractor/`` but its report, export and collect stages, ``devtools/``,
``data/`` and ``prompts/``; kept in ``DIR/meta/<config>_s<seed>.json``, taken before and
after each run) is not run again; a run made by other code, or while the code changed, is.
Re-running the same command after a change of the resolver or the routing therefore
measures the change instead of reusing stale figures, and the table says when its runs
were not all made by the same code. ``--table-only`` rewrites the table from the runs in
DIR; ``--detail CONFIG`` (default ``realistic_0.10``) adds that configuration's per-seed
table, pooled reliability and the errors below the top 15%.

Seeds 0 and 1 are the ones ``devtools.fit_priors`` fits the shipped ``llm+rules`` prior on;
use others (2 3 4) for figures that are not in-sample.

    .venv/bin/python -m benchmarks.oversight_grid --source ../shared/corpora/paperlists/nips2018.jsonl \\
        --seeds 2 3 4 --n 1000 --out /tmp/grid
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.common import CLI, ROOT
from devtools.simulate import pool_runs


@dataclass(frozen=True)
class Config:
    """One row of the table: a name (file prefix), its label and its `collabscope simulate` flags."""

    name: str
    label: str
    flags: tuple[str, ...]


CONFIGS: tuple[Config, ...] = (
    Config("rules", "rules only (`--llm none`)", ("--llm", "none")),
    Config("realistic_0.05", "rules + llm, realistic 5% mix",
           ("--llm", "inject", "--error-model", "realistic", "--noise", "0.05")),
    Config("realistic_0.10", "rules + llm, realistic 10% mix (default)",
           ("--llm", "inject", "--error-model", "realistic", "--noise", "0.10")),
    Config("realistic_0.20", "rules + llm, realistic 20% mix",
           ("--llm", "inject", "--error-model", "realistic", "--noise", "0.20")),
    Config("independent_0.10", "rules + llm, independent 10% (page-blind)",
           ("--llm", "inject", "--error-model", "independent", "--noise", "0.10")),
)
BY_NAME = {c.name: c for c in CONFIGS}
#: Folders whose content decides what a simulation measures (the fingerprint of a run) ...
CODE_PARTS = ("extractor", "devtools", "data", "prompts")
#: ... except the stages a simulation never runs (reports, exports, collectors).
NOT_SIMULATED = ("extractor/report", "extractor/export", "extractor/collect")
#: Shares of papers reviewed at which the table reads the oversight curve.
ACCURACY_AT = (0.0, 0.05, 0.10, 0.20)
WIDTH_AT = (0.20, 0.30, 0.50)

#: Runs one simulation: (command, path to write its JSON to) -> None.
Runner = Callable[[list[str], Path], None]


# --------------------------------------------------------------------------- the code measured


def code_fingerprint(root: Path = ROOT, parts: Sequence[str] = CODE_PARTS,
                     skip: Sequence[str] = NOT_SIMULATED) -> str:
    """A hash of every file under ``parts`` but not ``skip`` (path and content; caches left out):
    same code, same hash."""
    digest = hashlib.sha256()
    for part in parts:
        base = root / part
        if not base.exists():
            continue
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            rel = path.relative_to(root)
            if "__pycache__" in path.parts or path.suffix == ".pyc" or any(rel.is_relative_to(x) for x in skip):
                continue
            digest.update(str(rel).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def git_state(root: Path = ROOT) -> dict[str, Any]:
    """The commit and whether the measured folders differ from it (read-only git calls)."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    changed = git("status", "--porcelain", "--", *CODE_PARTS)
    return {"commit": git("rev-parse", "--short", "HEAD") or None, "dirty": bool(changed),
            "changed_files": [line[3:] for line in changed.splitlines()]}


def machine() -> dict[str, Any]:
    model = ""
    try:
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), "")
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"cpu": model or platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "load_average": [round(x, 1) for x in load] if load else None, "python": platform.python_version(),
            "system": platform.system()}


# --------------------------------------------------------------------------- running


def run_name(config: Config, seed: int) -> str:
    return f"{config.name}_s{seed}"


def simulate_command(config: Config, seed: int, source: Path, n: int, out: Path, workers: int) -> list[str]:
    """The `collabscope simulate` arguments of one run (without the executable)."""
    return ["simulate", "--source", str(source), "--n", str(n), "--seed", str(seed), *config.flags,
            "--out", str(out / run_name(config, seed)), "--workers", str(workers), "--json", "-q"]


def _subprocess_runner(command: list[str], json_path: Path) -> None:
    """Run `collabscope <command>`, its stdout to ``json_path`` (written whole or not at all)."""
    env = {k: v for k, v in os.environ.items() if k != "COLLABSCOPE_DB"}  # the run's own OUT/sim.db
    tmp = json_path.with_suffix(".json.partial")
    with tmp.open("w", encoding="utf-8") as fh:
        subprocess.run([*CLI, *command], stdout=fh, check=True, env=env, cwd=ROOT)
    json.loads(tmp.read_text(encoding="utf-8"))  # a run that printed no JSON fails here, not in the table
    tmp.replace(json_path)


def meta_path(out: Path, name: str) -> Path:
    """Where a run's bookkeeping (code fingerprint, command, time) is kept: OUT/meta/<run>.json, out of
    the way of ``python -m devtools.simulate OUT/<config>_s*.json``."""
    return out / "meta" / f"{name}.json"


def is_current(out: Path, name: str, fingerprint: str) -> bool:
    """Has this run a JSON made by the code with this fingerprint?"""
    data, meta = out / f"{name}.json", meta_path(out, name)
    if not (data.exists() and meta.exists()):
        return False
    try:
        json.loads(data.read_text(encoding="utf-8"))
        return json.loads(meta.read_text(encoding="utf-8")).get("fingerprint") == fingerprint
    except ValueError:
        return False


def run_grid(configs: Sequence[Config], seeds: Sequence[int], *, source: Path, n: int, out: Path, workers: int = 1,
             runner: Runner = _subprocess_runner, fingerprint: Callable[[], str] = code_fingerprint,
             log: Callable[[str], None] = lambda s: print(s, file=sys.stderr)) -> list[str]:
    """Run every (configuration, seed) that has no JSON made by the current code; returns the runs made.

    The fingerprint is taken before and after each run: a run during which the code changed
    (other work in the same tree) is recorded as such and made again next time.
    """
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for config in configs:
        for seed in seeds:
            name = run_name(config, seed)
            before = fingerprint()
            if is_current(out, name, before):
                log(f"{name}: done earlier by this code, kept")
                continue
            command = simulate_command(config, seed, source, n, out, workers)
            log(f"{name}: collabscope {' '.join(command)}")
            start = time.monotonic()
            runner(command, out / f"{name}.json")
            seconds = time.monotonic() - start
            after = fingerprint()
            meta = {"fingerprint": before if after == before else f"{before} (changed during the run)",
                    **git_state(), "command": ["collabscope", *command], "seconds": round(seconds, 1),
                    "finished": datetime.now(UTC).isoformat(timespec="seconds")}
            meta_path(out, name).parent.mkdir(exist_ok=True)
            meta_path(out, name).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
            log(f"{name}: {seconds:.0f} s" + ("" if after == before else "; the code changed during the run"))
            made.append(name)
    return made


# --------------------------------------------------------------------------- the table


def load_runs(out: Path, config: Config, seeds: Sequence[int]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(simulate JSONs, their meta) of one configuration's seeds that exist in ``out``."""
    runs, metas = [], []
    for seed in seeds:
        name = run_name(config, seed)
        data = out / f"{name}.json"
        if not data.exists():
            continue
        runs.append(json.loads(data.read_text(encoding="utf-8")))
        meta = meta_path(out, name)
        metas.append(json.loads(meta.read_text(encoding="utf-8")) if meta.exists() else {})
    return runs, metas


def _point(curve: list[dict[str, Any]], share: float) -> dict[str, Any] | None:
    return next((c for c in curve if abs(c["reviewed_share"] - share) < 1e-9), None)


def _capture(part: dict[str, Any]) -> str:
    return f"{part['held']}/{part['errors']} = {part['share']:.1%}" if part["errors"] else "n/a (no errors)"


def _ece(part: dict[str, Any]) -> str:
    values = [v for v in part["ece"] if v is not None]
    if part["ece_pooled"] is None or not values:
        return "n/a"
    spread = f"{min(values):.3f}–{max(values):.3f}" if len(values) > 1 else f"{values[0]:.3f}"
    return f"{part['ece_pooled']:.3f} ({spread})"


def table_row(config: Config, pooled: dict[str, Any]) -> str:
    curve = pooled["curve"]
    acc = [_point(curve, s) for s in ACCURACY_AT]
    widths = [_point(curve, s) for s in WIDTH_AT]
    accuracy = " / ".join("n/a" if p is None else f"{p['accuracy']:.4f}" for p in acc)
    width = " / ".join("n/a" if p is None or p["us_cn_ci_width"] is None else f"{p['us_cn_ci_width'] * 100:.1f}"
                       for p in widths)
    errors = ", ".join("n/a" if e is None else str(e) for e in pooled["errors"])
    return (f"| {config.label} | {errors} | {_capture(pooled['before'])} | {_capture(pooled['after_prior'])} | "
            f"{_capture(pooled['after'])} | {_ece(pooled['before'])} | {_ece(pooled['after'])} | {accuracy} | {width} pp |")


HEADER = ("| configuration | country-set errors per seed | top 15%, default model | "
          "top 15%, measure half, default model | top 15%, measure half, fitted | "
          "ECE default, pooled (per seed) | ECE fitted, pooled (per seed) | "
          "right after reviewing " + " / ".join(f"{s:.0%}" for s in ACCURACY_AT) + " | "
          "US–CN interval width at " + " / ".join(f"{s:.0%}" for s in WIDTH_AT) + " |")


def _share(part: dict[str, Any]) -> str:
    errors, top = part.get("country_errors") or 0, (part.get("efficiency") or {}).get("top_15%")
    return f"{errors}, {round((top or 0) * errors)}" + (f" ({top:.1%})" if errors and top is not None else "")


def _num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None or value != value else f"{value:.{digits}f}"


def detail_markdown(config: Config, runs: list[dict[str, Any]], seeds: Sequence[int]) -> str:
    """Per seed and pooled reliability of one configuration (the docs' routing section)."""
    lines = [f"Per seed, {config.label}:", "",
             "| seed | default model: errors, in the top 15% | ECE | measure half, default model: errors, in the top 15% | "
             "measure half after calibrating: errors, in the top 15% | ECE | reviewing 10% (queue order): country sets "
             "right | queued | queued without a reason |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for seed, r in zip(seeds, runs, strict=False):
        before, after = r.get("before") or {}, r.get("after") or {}
        at10 = _point(r.get("curve") or [], 0.10)
        right = None if at10 is None else at10["accuracy"]
        queued = (before.get("queued") or {}).get("share")
        lines.append(f"| {seed} | {_share(before)} | {_num((before.get('calibration') or {}).get('ece'))} | "
                     f"{_share(r.get('after_prior') or {})} | {_share(after)} | {_num((after.get('calibration') or {}).get('ece'))} | "
                     f"{_num(right, 4)} | {'n/a' if queued is None else f'{queued:.1%}'} | "
                     f"{before.get('queued_without_reason', 'n/a')} |")
    pooled = pool_runs(runs)["before"]["reliability"]
    lines += ["", f"Reliability, default model, the {len(runs)} seeds pooled ({sum(b['n'] for b in pooled)} papers):", "",
              "| P(right) bin | records | mean predicted | observed right |", "| --- | --- | --- | --- |"]
    lines += [f"| {b['bin']} | {b['n']} | {b['mean_p']:.1%} | {b['observed']:.1%} |" for b in pooled]
    missed = [(seed, m) for seed, r in zip(seeds, runs, strict=False) for m in (r.get("before") or {}).get("missed_errors") or []]
    if missed:
        lines += ["", "Errors below the top 15% (default model): " + "; ".join(
            f"seed {seed} rank {m['rank']}, P(wrong) {m['p_wrong']:.4f}, {', '.join(m['codes']) or 'no reason'}"
            for seed, m in missed) + "."]
    return "\n".join(lines)


def grid_markdown(out: Path, configs: Sequence[Config], seeds: Sequence[int], *, command: str,
                  host: dict[str, Any] | None = None, detail: Config | None = None) -> tuple[str, dict[str, Any]]:
    """The table (Markdown) and the pooled figures (JSON-ready) of the runs found in ``out``; with
    ``detail``, that configuration's per-seed table and pooled reliability after it."""
    rows, pooled_all, fingerprints, commits, dirty, missing, seconds = [], {}, set(), set(), False, [], []
    correlation = []
    for config in configs:
        runs, metas = load_runs(out, config, seeds)
        missing += [run_name(config, s) for s in seeds if not (out / f"{run_name(config, s)}.json").exists()]
        if not runs:
            continue
        pooled = pool_runs(runs)
        pooled_all[config.name] = pooled
        rows.append(table_row(config, pooled))
        for m in metas:
            fingerprints.add(m.get("fingerprint"))
            commits.add(m.get("commit"))
            dirty = dirty or bool(m.get("dirty"))
            if m.get("seconds") is not None:
                seconds.append(m["seconds"])
        b = pooled["backends"]
        if b and b["rules_wrong"] and b["rules_right"] and config.flags[:2] != ("--llm", "none"):
            correlation.append(f"{config.label}: {b['both_wrong']}/{b['rules_wrong']} = "
                               f"{b['both_wrong'] / b['rules_wrong']:.0%} vs {b['answer_wrong_rules_right']}/"
                               f"{b['rules_right']} = {b['answer_wrong_rules_right'] / b['rules_right']:.1%}")
    host = host or machine()
    code = ", ".join(sorted(str(c) for c in commits)) or "unknown"
    same = len(fingerprints) == 1 and None not in fingerprints
    lines = [f"Seeds {' '.join(map(str, seeds))}; pooled = errors summed over the seeds, each seed's own queue. "
             "\"Default model\" = all papers, the shipped priors; \"measure half\" = the half nobody reviewed, "
             "scored by the default model and, \"fitted\", after `calibrate` on the other half. Accuracy and width: "
             "means over the seeds of the oversight curve (default model, oracle review in queue order); width n/a = no audit record reviewed yet.", "",
             HEADER, "|" + " --- |" * HEADER.count(" | ") + " --- |", *rows]
    if correlation:
        lines += ["", "The simulated answer's country set is wrong on this share of the papers the rules extraction "
                  "gets wrong vs of the others (pooled): " + "; ".join(correlation) + "."]
    changing = sum("changed" in str(f) for f in fingerprints)
    state = f"fingerprint {next(iter(fingerprints))}" if same else (
        f"**the runs were not all made by the same code**: {len(fingerprints)} states"
        + (f", {changing} of them changing while a run went on" if changing else "")
        + "; run the command again once the tree is still to measure one state")
    lines += ["", "```sh", command, "```", "",
              f"Code: commit {code}" + (" with uncommitted changes in " + ", ".join(CODE_PARTS) if dirty else "")
              + f"; {state}. "
              f"Machine: {host.get('cpu')}, {host.get('cores')} cores, load average "
              f"{' / '.join(map(str, host.get('load_average') or [])) or 'n/a'} at the end, Python {host.get('python')}"
              + (f"; {sum(seconds) / len(seconds):.0f} s per run on average" if seconds else "") + "."]
    if detail is not None:
        runs, _ = load_runs(out, detail, seeds)
        if runs:
            lines += ["", detail_markdown(detail, runs, [s for s in seeds if (out / f"{run_name(detail, s)}.json").exists()])]
    if missing:
        lines += ["", f"**Missing runs (not in the table):** {', '.join(missing)}."]
    data = {"seeds": list(seeds), "configs": pooled_all, "command": command, "commits": sorted(map(str, commits)),
            "dirty": dirty, "fingerprints": sorted(map(str, fingerprints)), "same_code": same, "missing": missing,
            "machine": host}
    return "\n".join(lines) + "\n", data


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.oversight_grid", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="configurations: " + ", ".join(c.name for c in CONFIGS))
    ap.add_argument("--source", type=Path, required=True, help="paperlists-format JSONL (nips2018.jsonl)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[2, 3, 4], help="seeds (0 1 fit the shipped prior)")
    ap.add_argument("--n", type=int, default=1000, help="PDFs per run")
    ap.add_argument("--out", type=Path, required=True, help="folder for the runs, their JSON and the table")
    ap.add_argument("--configs", nargs="+", default=[c.name for c in CONFIGS], choices=[c.name for c in CONFIGS],
                    metavar="CONFIG", help="configurations to run (default: all)")
    ap.add_argument("--workers", type=int, default=1, help="render and ingest processes per run")
    ap.add_argument("--table", type=Path, default=None, help="where to write the table (default OUT/oversight_grid.md)")
    ap.add_argument("--table-only", action="store_true", help="write the table from the runs already in OUT")
    ap.add_argument("--detail", default="realistic_0.10", choices=[c.name for c in CONFIGS], metavar="CONFIG",
                    help="configuration shown per seed, with its reliability (default realistic_0.10)")
    args = ap.parse_args(argv)
    configs = [BY_NAME[name] for name in args.configs]
    if not args.table_only:
        if not args.source.is_file():
            ap.error(f"--source {args.source} does not exist")
        run_grid(configs, args.seeds, source=args.source, n=args.n, out=args.out, workers=args.workers)
    command = (f".venv/bin/python -m benchmarks.oversight_grid --source {args.source} --seeds "
               f"{' '.join(map(str, args.seeds))} --n {args.n} --out {args.out}"
               + (f" --configs {' '.join(args.configs)}" if len(configs) != len(CONFIGS) else ""))
    markdown, data = grid_markdown(args.out, configs, args.seeds, command=command,
                                   detail=BY_NAME[args.detail] if args.detail in args.configs else None)
    table = args.table or args.out / "oversight_grid.md"
    table.parent.mkdir(parents=True, exist_ok=True)
    table.write_text(markdown, encoding="utf-8")
    (args.out / "oversight_grid.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(markdown)
    print(f"wrote {table}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
