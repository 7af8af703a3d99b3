"""Simulation mode: noisy answers from truth, the full pipeline on generated PDFs, the metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from extractor.cli import app
from extractor.evaluate_review import capture, format_markdown
from extractor.simulate import country_pool, llm_backend_usable, noisy_answer, run_simulation

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples" / "papers.jsonl"

TRUTH = {
    "id": "t:1", "title": "T", "source_file": "t.pdf",
    "authors": [{"name": "A", "affiliations": [0], "email": None}, {"name": "B", "affiliations": [1, 2], "email": None}],
    "affiliations": [{"raw": "U1, USA", "country": "US"}, {"raw": "U2, China", "country": "CN"},
                     {"raw": "U3, Japan", "country": "JP"}],
    "model_mentions": [{"name": "BERT", "family": "BERT", "role": "used"}],
}
POOL = [("US", 3.0), ("CN", 2.0), ("JP", 1.0), ("DE", 1.0)]


def test_noisy_answer_without_noise_is_the_truth() -> None:
    ans, changed = noisy_answer(TRUTH, 0.0, 1, POOL, ["BERT", "GPT"])
    assert changed == 0
    assert [a["country"] for a in ans["affiliations"]] == ["US", "CN", "JP"]
    assert ans["authors"][1]["affiliation_ids"] == [1, 2]
    assert [m["name"] for m in ans["model_mentions"]] == ["BERT"]


def test_noisy_answer_changes_every_affiliation_at_full_noise_and_is_deterministic() -> None:
    ans, changed = noisy_answer(TRUTH, 1.0, 1, POOL, ["BERT", "GPT"])
    assert changed == 3
    truth = {a["raw"]: a["country"] for a in TRUTH["affiliations"]}
    assert all(truth[a["raw"]] != a["country"] for a in ans["affiliations"]), "kept ones got a wrong country"
    ids = {a["id"] for a in ans["affiliations"]}
    assert all(set(au["affiliation_ids"]) <= ids for au in ans["authors"]), "dropped ones are unlinked"
    assert noisy_answer(TRUTH, 1.0, 1, POOL, ["BERT", "GPT"]) == (ans, changed)


def test_country_pool_counts_affiliations() -> None:
    assert country_pool([TRUTH, TRUTH])[0] == ("US", 2.0)


def test_capture_counts_errors_in_the_top_share() -> None:
    order = [True, False, True, False, False, False, False, False, False, True]
    out = capture(order, (0.1, 0.3, 1.0))
    assert out == {"top_10%": pytest.approx(1 / 3), "top_30%": pytest.approx(2 / 3), "top_100%": 1.0}


@pytest.mark.slow
def test_simulation_smoke_on_sample_metadata(tmp_path: Path) -> None:
    result = run_simulation(SAMPLES, tmp_path / "sim", n=8, noise=0.3, seed=2, workers=1, llm_mode="inject")
    assert result.papers == 8 and result.llm_mode == "inject"
    assert result.before["papers"] == 8
    assert result.before["queued_without_reason"] == 0
    assert set(result.before["efficiency"]) == {"top_5%", "top_10%", "top_15%", "top_20%"}
    assert result.after["papers"] + len({c["n"] for c in result.calibration}) >= 1
    report = result.report.read_text()
    assert "share of errors in the top" in report and "Calibration" in report
    assert (tmp_path / "sim" / "pdfs" / "truth.jsonl").exists()


@pytest.mark.slow
@pytest.mark.skipif(not llm_backend_usable(), reason="the llm backend is not importable")
def test_simulation_through_the_fake_server_and_the_cli(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    result = CliRunner().invoke(app, ["simulate", "--source", str(SAMPLES), "--out", str(out), "--n", "4",
                                      "--noise", "0.2", "--llm", "server", "--workers", "1", "--json"])
    assert result.exit_code == 0, result.output
    data, _ = json.JSONDecoder().raw_decode(result.output, result.output.index("{"))
    assert data["llm_mode"] == "server" and data["papers"] == 4
    from extractor.store import Store

    with Store.open(out / "sim.db") as store:
        assert store.query("SELECT count(*) AS n FROM extractions WHERE backend = 'llm' AND error IS NULL")[0]["n"] == 4
        assert store.query("SELECT count(*) AS n FROM llm_calls")[0]["n"] >= 4
    assert "|" in format_markdown(data["before"])
