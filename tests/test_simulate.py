"""Simulation mode: noisy answers from truth, the full pipeline on generated PDFs, the metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from devtools.simulate import country_pool, noisy_answer, run_simulation
from extractor.cli import app
from extractor.evaluation.routing import capture, format_markdown
from extractor.store import Store

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
    assert result.after_prior["papers"] == result.after["papers"], "the default model is scored on the same measure half"
    report = result.report.read_text()
    assert "share of errors in the top" in report and "Calibration" in report
    assert (tmp_path / "sim" / "pdfs" / "truth.jsonl").exists()


@pytest.mark.slow
def test_simulation_through_the_fake_server_and_the_cli(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    result = CliRunner().invoke(app, ["simulate", "--source", str(SAMPLES), "--out", str(out), "--n", "4",
                                      "--noise", "0.2", "--llm", "server", "--workers", "1", "--json"])
    assert result.exit_code == 0, result.output
    data, _ = json.JSONDecoder().raw_decode(result.output, result.output.index("{"))
    assert data["llm_mode"] == "server" and data["papers"] == 4
    with Store.open(out / "sim.db", readonly=True) as store:
        counts = store.status_counts()
    assert counts["extractions"].get("llm") == 4
    assert counts["llm_calls"] >= 4
    assert "|" in format_markdown(data["before"])


def test_a_wrong_country_of_the_simulated_llm_is_a_structured_overrule_with_its_alternative() -> None:
    from devtools.simulate import to_extraction
    from extractor.reconcile.merge import build
    from extractor.reconcile.signals import Overrule, overrules
    from extractor.schemas import ExtractionMeta
    from tests.test_reconcile_fixtures import RULES, STANFORD, TSINGHUA, aff, author, document, extraction

    answer = {"title": "A Study of Things", "self_confidence": 0.9, "model_mentions": [],
              "authors": [{"name": "Alice Smith", "affiliation_ids": [0]}, {"name": "Bob Jones", "affiliation_ids": [1]}],
              "affiliations": [{"id": 0, "raw": STANFORD, "country": "US"}, {"id": 1, "raw": TSINGHUA, "country": "JP"}]}
    doc = document()
    llm = to_extraction(answer, doc)
    assert overrules(llm) == [Overrule(1, "JP", "CN", "stated")]
    rules = extraction([author("Alice Smith", [0]), author("Bob Jones", [1])], [aff(0, STANFORD, "US"), aff(1, TSINGHUA, "CN")])
    built = build(doc, [(ExtractionMeta(backend="llm", model="simulated-llm"), llm), (RULES, rules)])
    assert built.record.countries() == ["CN", "US"], "the text outranks the model"
    assert {"set": ["JP", "US"], "wild": False, "why": "llm_overruled"} in built.signals.alternatives
    assert built.signals.features.get("llm_overruled_stated") == 1.0


def test_missed_errors_lists_errors_below_the_cutoff_with_their_reasons() -> None:
    from extractor.evaluation.routing import missed_errors

    order = [{"paper_id": f"p{i}", "source_file": f"p{i}.pdf", "p_wrong": 0.5 - i / 100, "priority": 0.1,
              "codes": ["llm_overruled"] if i else [], "country_right": i not in (0, 7)} for i in range(10)]
    missed = missed_errors(order, 0.15)
    assert [(e["paper_id"], e["rank"], e["codes"]) for e in missed] == [("p7", 7, ["llm_overruled"])]
    text = format_markdown({"papers": 10, "country_errors": 2, "country_error_rate": 0.2, "calibration": {},
                            "queued": {"records": 1, "share": 0.1, "errors_held": 0.5}, "queued_without_reason": 0,
                            "efficiency": {}, "efficiency_by_p_wrong": {}, "missed_errors": missed})
    assert "below the top 15% of the queue: 1; their reasons: llm_overruled 1" in text


# --------------------------------------------------------------------------- databases the simulation did not create


def _precious(path: Path) -> bytes:
    with Store.open(path) as store:
        store.status_counts()
    return path.read_bytes()


@pytest.mark.parametrize("how", ["flag", "env"])
def test_simulate_refuses_an_existing_database_it_did_not_create(tmp_path: Path, how: str) -> None:
    precious = tmp_path / "precious.db"
    before = _precious(precious)
    args = ["simulate", "--source", str(SAMPLES), "--out", str(tmp_path / "sim"), "--n", "2", "--llm", "inject",
            "--workers", "1"]
    env = {"COLLABSCOPE_DB": str(precious)} if how == "env" else {}
    if how == "flag":
        args += ["--db", str(precious)]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 2, result.output
    assert "was not created by a simulation" in result.output and "--force" in result.output
    assert precious.read_bytes() == before
    assert not (tmp_path / "sim" / "pdfs").exists(), "refused before doing any work"


def test_claim_database_keeps_its_own_and_overwrites_others_only_with_force(tmp_path: Path) -> None:
    from devtools.simulate import claim_database
    from extractor.errors import ConfigError

    db = tmp_path / "mine.db"
    claim_database(db)  # a fresh path: claimed and marked
    db.write_bytes(b"simulation data")
    claim_database(db)  # the simulation's own database: replaced
    assert not db.exists()
    other = tmp_path / "other.db"
    other.write_bytes(b"someone's work")
    with pytest.raises(ConfigError):
        claim_database(other)
    assert other.read_bytes() == b"someone's work"
    claim_database(other, force=True)
    assert not other.exists()


@pytest.mark.slow
def test_simulate_with_two_papers_prints_no_nan_and_force_overwrites(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    _precious(db)
    result = CliRunner().invoke(app, ["simulate", "--source", str(SAMPLES), "--out", str(tmp_path / "sim"), "--n", "2",
                                      "--llm", "inject", "--workers", "1", "--db", str(db), "--force"])
    assert result.exit_code == 0, result.output
    assert "nan" not in result.output.lower()
    assert "too few papers" in result.output.lower() and "n/a" in result.output


@pytest.mark.slow
def test_json_keeps_its_keys_and_adds_the_oversight_curve(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    result = CliRunner().invoke(app, ["simulate", "--source", str(SAMPLES), "--out", str(out), "--n", "12",
                                      "--noise", "0.3", "--llm", "inject", "--workers", "1", "--json", "-q"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {"before", "after", "calibration", "curve", "error_model", "error_classes", "backends"} <= set(data)
    assert data["backends"]["papers"] == 12 and data["backends"]["answer_wrong"] >= data["backends"]["both_wrong"]
    assert {"efficiency", "calibration"} <= set(data["before"])
    assert data["error_model"] == "realistic"
    curve = data["curve"]
    assert [c["reviewed_share"] for c in curve][0] == 0.0 and curve[-1]["reviewed_share"] == 1.0
    assert all({"reviewed_share", "accuracy", "us_cn_ci_width"} <= set(c) for c in curve)
    accuracy = [c["accuracy"] for c in curve]
    assert accuracy == sorted(accuracy) and accuracy[-1] == 1.0, "oracle review only ever fixes records"
    assert curve[0]["us_cn_ci_width"] is None, "no audit reviewed yet: machine-only, no interval"
    assert curve[-1]["us_cn_ci_width"] == 0.0, "everything reviewed: the exact count"



def test_summarize_pools_errors_over_seeds(tmp_path: Path) -> None:
    from devtools.simulate import summarize

    def run(errors: int, top: float, width: float | None) -> dict:
        m = {"papers": 100, "country_errors": errors, "efficiency": {"top_15%": top}, "calibration": {"ece": 0.02}}
        return {"papers": 100, "before": m, "after": m,
                "curve": [{"reviewed_share": 0.0, "accuracy": 0.98, "us_cn_ci_width": None},
                          {"reviewed_share": 1.0, "accuracy": 1.0, "us_cn_ci_width": width}],
                "backends": {"papers": 100, "rules_wrong": 4, "answer_wrong": 3, "both_wrong": 2}}

    paths = []
    for i, (errors, top) in enumerate(((4, 0.5), (6, 1.0))):
        paths.append(tmp_path / f"s{i}.json")
        paths[-1].write_text(json.dumps(run(errors, top, 0.0)))
    text = summarize(paths)
    assert "8/10 = 80.0%" in text  # 2 of 4 plus 6 of 6
    assert "| 0% | 0.9800 | n/a |" in text and "| 100% | 1.0000 | 0.0 pp |" in text
    assert "4/8 of the papers the rules get wrong (50%)" in text and "2/192 of the others" in text
