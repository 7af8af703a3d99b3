"""The command line: every command documents itself; exit codes mean what the README says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from extractor.cli import app

runner = CliRunner()
COMMANDS = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
README = Path(__file__).resolve().parents[1] / "README.md"


def test_core_commands_exist() -> None:
    assert {"ingest", "extract", "run", "status", "export", "review", "reconcile"} <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help_with_an_example(name: str) -> None:
    result = runner.invoke(app, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output, f"`collabscope {name} --help` shows no example"
    cmd = typer.main.get_command(app).commands[name]  # type: ignore[attr-defined]
    opts = {o for p in cmd.params if getattr(p, "param_type_name", "") == "option" for o in p.opts}
    assert "--db" in opts, f"{name} has no --db option"


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_is_in_the_readme(name: str) -> None:
    text = README.read_text()
    assert re.search(rf"collabscope {name}\b", text), f"README never shows `collabscope {name}`"


def test_usage_error_exits_2() -> None:
    assert runner.invoke(app, ["ingest", "--no-such-flag", "x"]).exit_code == 2
    assert runner.invoke(app, ["export", "--all", "--verified"]).exit_code == 2


def test_missing_database_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["status", "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 2
    assert "does not exist" in result.output
    assert not (tmp_path / "none.db").exists()


def test_db_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "env.db"
    monkeypatch.setenv("COLLABSCOPE_DB", str(db))
    from tests.pdf_factory import simple_paper

    pdf = simple_paper(tmp_path / "p.pdf")
    result = runner.invoke(app, ["ingest", str(pdf)])
    assert result.exit_code == 0, result.output
    assert db.exists()


def test_ingest_with_a_bad_file_exits_3(tmp_path: Path) -> None:
    from tests.pdf_factory import not_pdf, simple_paper

    folder = tmp_path / "in"
    folder.mkdir()
    simple_paper(folder / "ok.pdf")
    not_pdf(folder / "bad.pdf")
    result = runner.invoke(app, ["ingest", str(folder), "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 3, result.output
    assert "1 failed" in result.output and "not_pdf" in result.output


def test_run_prints_a_summary_that_matches_the_database_and_a_rerun_adds_nothing(tmp_path: Path) -> None:
    """`make demo` is `collabscope run data/samples`: its summary must tell the truth."""
    from extractor.schemas import RecordStatus
    from extractor.store import Store

    samples = Path(__file__).resolve().parents[1] / "data" / "samples"
    db = tmp_path / "demo.db"
    result = runner.invoke(app, ["run", str(samples), "--db", str(db)])
    assert result.exit_code == 0, result.output
    n_pdfs = len(list(samples.glob("*.pdf")))
    assert f"ingested {n_pdfs} new, 0 already known, 0 failed" in result.output
    m = re.search(r"papers: (\d+) with records, 0 failed, (\d+) flagged for review \((\d+) doubtful, (\d+) random audit only\)",
                  result.output)
    assert m, result.output
    papers, flagged, doubtful, audit_only = map(int, m.groups())
    with Store.open(db) as store:
        records = list(store.iter_records())
    queued = [r for r in records if r.status == RecordStatus.QUEUED]
    assert papers == len(records) == n_pdfs
    assert flagged == len(queued) == doubtful + audit_only
    assert audit_only == sum(r.audit and {x.code for x in r.review_reasons} == {"audit_sample"} for r in queued)
    both = sum({"US", "CN"} <= set(r.countries()) for r in records)
    assert f"US–China collaborations: {both} of {papers} papers" in result.output
    assert f"database: {db.resolve()}" in result.output and "collabscope review --db" in result.output

    again = runner.invoke(app, ["run", str(samples), "--db", str(db)])
    assert again.exit_code == 0, again.output
    assert f"ingested 0 new, {n_pdfs} already known, 0 failed" in again.output
    assert "extracted (rules): 0 new, 0 failed" in again.output
