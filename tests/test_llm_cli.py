"""The CLI side of the llm backend: flags, --dry-run (zero requests), costs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from devtools.fake_openai import FakeOpenAI, status
from extractor.cli import app
from extractor.store import Store
from tests import sqlhelp
from tests.test_llm_support import CHAT, PLANTED_KEY, assert_no_key_anywhere, oracle, seed

runner = CliRunner()
pytestmark = pytest.mark.fake_openai(responder=oracle)


def invoke(args: list[str], srv: FakeOpenAI):
    env = {"OPENAI_API_KEY": PLANTED_KEY, "OPENAI_BASE_URL": srv.base_url}
    return runner.invoke(app, args, env=env, catch_exceptions=False)


def test_extract_llm_then_costs(db_path: Path, fake_openai: FakeOpenAI) -> None:
    with Store.open(db_path) as store:
        seed(store, 2)
    dry = invoke(["extract", "--backend", "llm", "--db", str(db_path), "--dry-run"], fake_openai)
    assert dry.exit_code == 0, dry.output
    assert "dry run: 2 documents -> 4 requests" in dry.output and "estimated cost $" in dry.output
    assert fake_openai.count() == 0  # a dry run sends nothing
    result = invoke(["extract", "--backend", "llm", "--db", str(db_path), "--concurrency", "2",
                     "--model", "gpt-4.1-mini", "-q"], fake_openai)
    assert result.exit_code == 0, result.output
    assert fake_openai.count(path=CHAT) == 4 and fake_openai.requests[0].body["model"] == "gpt-4.1-mini"
    again = invoke(["extract", "--backend", "llm", "--db", str(db_path), "--model", "gpt-4.1-mini",
                    "--dry-run"], fake_openai)
    assert "dry run: 0 documents -> 0 requests" in again.output
    sqlhelp.execute(db_path, "DELETE FROM extractions")  # answers stay logged: a dry run sees them cached
    again = invoke(["extract", "--backend", "llm", "--db", str(db_path), "--model", "gpt-4.1-mini",
                    "--dry-run"], fake_openai)
    assert "2 documents -> 0 requests (4 answered from cache)" in again.output and "$0.0000" in again.output
    assert fake_openai.count(path=CHAT) == 4
    out = runner.invoke(app, ["costs", "--db", str(db_path), "--json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert report["total"]["requests"] == 4 and report["total"]["papers"] == 2 and report["total"]["cost_usd"] > 0
    assert [m["model"] for m in report["models"]] == ["gpt-4.1-mini"]
    assert report["runs"][0]["command"] == "extract"
    table = runner.invoke(app, ["costs", "--db", str(db_path), "--run", str(report["runs"][0]["run_id"])])
    assert table.exit_code == 0 and "by paper" in table.output and "total: 4 requests" in table.output
    assert_no_key_anywhere(db_path, dry.output, result.output, out.output)


def test_costs_reprices_with_another_table(db_path: Path, tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    with Store.open(db_path) as store:
        seed(store, 1)
    assert invoke(["extract", "--backend", "llm", "--db", str(db_path), "-q"], fake_openai).exit_code == 0
    prices = tmp_path / "p.toml"
    prices.write_text('[meta]\nbatch_discount = 0.5\n[models."gpt-4o-mini"]\ninput = 1000.0\noutput = 0.0\n')
    out = json.loads(runner.invoke(app, ["costs", "--db", str(db_path), "--json", "--prices", str(prices)]).output)
    assert out["total"]["repriced_usd"] == round(out["total"]["prompt_tokens"] * 1000.0 / 1e6, 6)


@pytest.mark.fake_openai()
def test_bad_key_exits_with_a_clear_message(db_path: Path, fake_openai: FakeOpenAI) -> None:
    with Store.open(db_path) as store:
        seed(store, 3)
    fake_openai.script(status(401), match="<<<PAPER", always=True)
    result = invoke(["extract", "--backend", "llm", "--db", str(db_path), "-q"], fake_openai)
    assert fake_openai.count(path=CHAT) == 1
    assert result.exit_code == 1
    assert "refused the API key" in result.output and PLANTED_KEY not in result.output


def test_run_dry_run_ingests_then_estimates_and_stops(tmp_path: Path, db_path: Path, fake_openai: FakeOpenAI) -> None:
    from tests.pdf_factory import simple_paper

    papers = tmp_path / "papers"
    papers.mkdir()
    simple_paper(papers / "a.pdf")
    result = invoke(["run", str(papers), "--backend", "rules,llm", "--db", str(db_path), "--dry-run",
                     "--batch-api"], fake_openai)
    assert fake_openai.count() == 0
    assert result.exit_code == 0, result.output
    assert "rules: offline backend, no cost" in result.output
    assert "dry run: 1 documents -> 2 requests" in result.output and "at Batch API prices" in result.output
    with Store.open(db_path) as store:
        counts = store.status_counts()
        assert counts["documents"] == 1
        assert counts["extractions"] == {} and counts["extraction_failures"] == 0
