"""The oversight grid's bookkeeping on fake `simulate --json` outputs: resuming, pooling, the table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.oversight_grid import BY_NAME, code_fingerprint, grid_markdown, meta_path, run_grid

RULES, MIX = BY_NAME["rules"], BY_NAME["realistic_0.10"]


def fake_run(errors: int, top: float, bins: list[tuple[str, int, float, float]], *, ece: float,
             accuracy: tuple[float, ...] = (0.98, 0.99, 0.995, 0.999), width: float | None = 0.08) -> dict[str, Any]:
    """A `simulate --json` output with only what the grid reads."""
    part = {"country_errors": errors, "efficiency": {"top_15%": top}, "queued": {"share": 0.06},
            "queued_without_reason": 0, "missed_errors": [{"rank": 40, "p_wrong": 0.004, "codes": []}] if top < 1 else [],
            "calibration": {"ece": ece, "reliability": [{"bin": b, "n": n, "mean_p": p, "observed": o}
                                                        for b, n, p, o in bins]}}
    shares = (0.0, 0.05, 0.10, 0.20, 0.30, 0.50, 1.0)
    curve = [{"reviewed_share": s, "accuracy": a, "us_cn_ci_width": None if s < 0.2 else width}
             for s, a in zip(shares, (*accuracy, 1.0, 1.0, 1.0), strict=True)]
    # the measure half scored by the default model: half the errors, every one in the top 15%
    prior_half = {**part, "country_errors": errors // 2, "efficiency": {"top_15%": 1.0}}
    return {"papers": 100, "before": part, "after": part, "after_prior": prior_half, "curve": curve,
            "backends": {"papers": 100, "rules_wrong": 5, "answer_wrong": 4, "both_wrong": 2}}


def write(out: Path, name: str, run: dict[str, Any], fingerprint: str = "f1") -> None:
    (out / f"{name}.json").write_text(json.dumps(run))
    meta_path(out, name).parent.mkdir(exist_ok=True)
    meta_path(out, name).write_text(json.dumps({"fingerprint": fingerprint, "commit": "abc1234", "dirty": False,
                                                       "seconds": 60.0}))


def test_the_grid_runs_what_is_missing_and_reruns_what_other_code_made(tmp_path: Path) -> None:
    calls: list[list[str]] = []

    def runner(command: list[str], json_path: Path) -> None:
        calls.append(command)
        json_path.write_text(json.dumps(fake_run(1, 1.0, [], ece=0.0)))

    def grid(code: str) -> list[str]:
        return run_grid([RULES, MIX], [2, 3], source=tmp_path / "src.jsonl", n=50, out=tmp_path / "g",
                        runner=runner, fingerprint=lambda: code, log=lambda _: None)

    assert grid("f1") == ["rules_s2", "rules_s3", "realistic_0.10_s2", "realistic_0.10_s3"]
    assert calls[2][:7] == ["simulate", "--source", str(tmp_path / "src.jsonl"), "--n", "50", "--seed", "2"]
    assert {"--error-model", "realistic", "--noise", "0.10", "--json"} <= set(calls[2])
    pooled_by_glob = sorted(p.name for p in (tmp_path / "g").glob("realistic_0.10_s*.json"))
    assert pooled_by_glob == ["realistic_0.10_s2.json", "realistic_0.10_s3.json"], "bookkeeping stays out of the glob"
    assert grid("f1") == [], "a run made by the same code is kept"
    meta_path(tmp_path / "g", "rules_s3").unlink()
    assert grid("f1") == ["rules_s3"], "a run whose code is unknown is made again"
    assert len(grid("f2")) == 4, "new code: every run is made again"


def test_code_fingerprint_follows_what_a_simulation_runs(tmp_path: Path) -> None:
    (tmp_path / "extractor" / "__pycache__").mkdir(parents=True)
    (tmp_path / "extractor" / "a.py").write_text("x = 1\n")
    first = code_fingerprint(tmp_path)
    (tmp_path / "extractor" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    assert code_fingerprint(tmp_path) == first
    (tmp_path / "extractor" / "report").mkdir()
    (tmp_path / "extractor" / "report" / "html.py").write_text("y = 1\n")
    assert code_fingerprint(tmp_path) == first, "a stage the simulation never runs"
    (tmp_path / "extractor" / "a.py").write_text("x = 2\n")
    assert code_fingerprint(tmp_path) != first


def test_the_table_pools_seeds_and_says_what_is_missing(tmp_path: Path) -> None:
    # seed 2: 4 errors, half in the top 15%; seed 3: 6 errors, all of them: 8 of 10 pooled
    write(tmp_path, "realistic_0.10_s2", fake_run(4, 0.5, [("0.0-0.1", 10, 0.05, 0.0), ("0.9-1.0", 90, 0.95, 1.0)],
                                                  ece=0.05, width=0.10))
    write(tmp_path, "realistic_0.10_s3", fake_run(6, 1.0, [("0.9-1.0", 100, 0.99, 0.97)], ece=0.02,
                                                  accuracy=(0.96, 0.97, 0.985, 0.997), width=0.06))
    text, data = grid_markdown(tmp_path, [RULES, MIX], [2, 3], command="CMD", host={"cpu": "cpu", "cores": 2})
    row = next(line for line in text.splitlines() if line.startswith("| rules + llm, realistic 10%"))
    assert "| 4, 6 | 8/10 = 80.0% | 5/5 = 100.0% | 8/10 = 80.0% |" in row
    # pooled ECE from the bins: (|85.5 + 99 - 90 - 97| + |0.5 - 0|) / 200 = 0.015
    assert "| 0.015 (0.020–0.050) |" in row
    assert "| 0.9700 / 0.9800 / 0.9900 / 0.9980 |" in row
    assert row.endswith("| 8.0 / 8.0 / 8.0 pp |")
    assert "4/10 = 40% vs 4/190 = 2.1%" in text  # answer wrong when the rules are wrong, when they are right
    assert "CMD" in text and "abc1234" in text and "not all made by the same code" not in text
    assert "rules_s2, rules_s3" in text and data["missing"] == ["rules_s2", "rules_s3"]
    assert abs(data["configs"]["realistic_0.10"]["before"]["ece_pooled"] - 0.015) < 1e-12
    assert not any(line.startswith("| rules only") for line in text.splitlines()), "no runs, no row"


def test_the_table_says_when_runs_come_from_different_code(tmp_path: Path) -> None:
    write(tmp_path, "rules_s2", fake_run(2, 0.5, [], ece=0.01), fingerprint="f1")
    write(tmp_path, "rules_s3", fake_run(2, 0.5, [], ece=0.01), fingerprint="f2")
    text, data = grid_markdown(tmp_path, [RULES], [2, 3], command="CMD", host={})
    assert "not all made by the same code" in text and not data["same_code"]
    row = next(line for line in text.splitlines() if line.startswith("| rules only"))
    assert "| 2/4 = 50.0% |" in row and "| n/a |" in row  # no reliability bins: no pooled ECE


def test_the_detail_of_one_configuration_is_per_seed_with_the_pooled_reliability(tmp_path: Path) -> None:
    write(tmp_path, "realistic_0.10_s2", fake_run(4, 0.5, [("0.0-0.1", 10, 0.05, 0.0), ("0.9-1.0", 90, 0.95, 1.0)],
                                                  ece=0.05))
    write(tmp_path, "realistic_0.10_s3", fake_run(6, 1.0, [("0.9-1.0", 100, 0.99, 0.97)], ece=0.02))
    text, _ = grid_markdown(tmp_path, [MIX], [2, 3], command="CMD", host={}, detail=MIX)
    assert "| 2 | 4, 2 (50.0%) | 0.050 | 2, 2 (100.0%) | 4, 2 (50.0%) | 0.050 | 0.9950 | 6.0% | 0 |" in text
    assert "| 3 | 6, 6 (100.0%) | 0.020 |" in text
    assert "| 0.0-0.1 | 10 | 5.0% | 0.0% |" in text and "| 0.9-1.0 | 190 | 97.1% | 98.4% |" in text
    assert "seed 2 rank 40, P(wrong) 0.0040, no reason" in text and "seed 3 rank" not in text
