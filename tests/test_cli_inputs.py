"""The command line with bad inputs and on the outputs people read: usage errors store
nothing, a missing database is never created, exit codes follow the README table, failed
files are named, exports select the same records in every format, lists are ordered."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from extractor.cli import app
from extractor.store import Store
from tests.pdf_factory import not_pdf, simple_paper

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
README = ROOT / "README.md"


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make demo`'s database (the sample PDFs through `run`), built once; copy it to change it."""
    db = tmp_path_factory.mktemp("demo") / "demo.db"
    result = runner.invoke(app, ["run", str(SAMPLES), "--db", str(db), "--quiet"])
    assert result.exit_code == 0, result.output
    return db


@pytest.fixture
def demo_copy(demo_db: Path, tmp_path: Path) -> Path:
    """A private copy of the demo database (checkpointed, so the copy is complete)."""
    with Store.open(demo_db) as store:
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db = tmp_path / "copy.db"
    shutil.copy(demo_db, db)
    return db


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


# --------------------------------------------------------------------------- run / ingest inputs


@pytest.mark.parametrize("command", ["run", "ingest"])
def test_a_missing_path_is_a_usage_error_and_stores_nothing(tmp_path: Path, command: str) -> None:
    db = tmp_path / "x.db"
    result = runner.invoke(app, [command, str(tmp_path / "does-not-exist"), "--db", str(db)])
    assert result.exit_code == 2, result.output
    assert "does-not-exist does not exist" in result.output
    assert _files(tmp_path) == set()  # no database, no lock file


@pytest.mark.parametrize("command", ["run", "ingest"])
def test_a_folder_without_pdfs_is_a_usage_error_and_stores_nothing(tmp_path: Path, command: str) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a paper")
    result = runner.invoke(app, [command, str(folder), "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 2, result.output
    assert "no PDF files in" in result.output
    assert _files(tmp_path) == {"empty"}


def test_a_missing_path_next_to_a_good_one_stores_nothing_either(demo_copy: Path, tmp_path: Path) -> None:
    with Store.open(demo_copy) as store:
        before = store.status_counts()["documents"]
    paper = simple_paper(tmp_path / "good.pdf")
    result = runner.invoke(app, ["run", str(paper), str(tmp_path / "typo"), "--db", str(demo_copy)])
    assert result.exit_code == 2, result.output
    with Store.open(demo_copy) as store:
        assert store.status_counts()["documents"] == before
        assert store.failed_documents() == []


def test_run_without_a_path_works_on_what_the_database_holds(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    folder = tmp_path / "in"
    folder.mkdir()
    simple_paper(folder / "a.pdf")
    assert runner.invoke(app, ["ingest", str(folder), "--db", str(db), "-q"]).exit_code == 0
    with Store.open(db) as store:
        assert list(store.iter_records()) == []
    result = runner.invoke(app, ["run", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "extracted (rules): 1 new, 0 failed" in result.output
    assert "papers: 1 with records" in result.output
    with Store.open(db) as store:
        assert len(list(store.iter_records())) == 1


def test_run_without_a_path_needs_an_existing_database(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "--db", str(tmp_path / "typo.db")])
    assert result.exit_code == 2, result.output
    assert "does not exist" in result.output
    assert _files(tmp_path) == set()


# --------------------------------------------------------------------------- a missing database

MISSING_DB_COMMANDS = {
    "extract": ["extract"],
    "extract --dry-run": ["extract", "--dry-run"],
    "reconcile": ["reconcile"],
    "queue": ["queue"],
    "calibrate": ["calibrate"],
    "stats": ["stats"],
    "report": ["report", "--out", "{tmp}/r.html"],
    "export": ["export"],
    "export csv": ["export", "--format", "csv", "--out", "{tmp}/o.csv"],
    "status": ["status"],
    "audit verify": ["audit", "verify"],
    "audit log": ["audit", "log", "0123456789abcdef"],
    "costs": ["costs"],
    "eval": ["eval", "--gold", str(SAMPLES / "truth.jsonl")],
    "review": ["review"],
}


@pytest.mark.parametrize("case", list(MISSING_DB_COMMANDS), ids=list(MISSING_DB_COMMANDS))
def test_commands_that_read_refuse_a_database_that_does_not_exist(tmp_path: Path, case: str) -> None:
    db = tmp_path / "typo.db"
    args = [a.replace("{tmp}", str(tmp_path)) for a in MISSING_DB_COMMANDS[case]]
    result = runner.invoke(app, [*args, "--db", str(db)])
    assert result.exit_code == 2, result.output
    assert f"database {db} does not exist" in result.output
    assert _files(tmp_path) == set(), "a refused command left a file behind"


def test_every_command_but_the_creating_ones_is_checked() -> None:
    """A new command must join the table above (or be one that creates a database)."""
    names = set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    covered = {c.split()[0] for c in MISSING_DB_COMMANDS}
    assert names - covered <= {"run", "ingest", "collect", "simulate"}


# --------------------------------------------------------------------------- exit codes


def test_the_exit_code_table_is_in_the_readme() -> None:
    text = README.read_text()
    table = text[text.index("## Exit codes"):]
    table = table[:table.index("\n## ", 5)]
    for code in ("0", "1", "2", "3", "130"):
        assert re.search(rf"^\| {code} \|", table, re.MULTILINE), f"exit code {code} is not in the README table"
    row2 = re.search(r"^\| 2 \|.*$", table, re.MULTILINE).group(0)  # type: ignore[union-attr]
    assert "database" in row2 and "API key" in row2 and "path" in row2


def test_exit_0_when_everything_worked(demo_db: Path) -> None:
    assert runner.invoke(app, ["status", "--db", str(demo_db)]).exit_code == 0


def test_exit_1_for_an_error_the_user_must_look_at(demo_db: Path) -> None:
    result = runner.invoke(app, ["audit", "log", "0123456789abcdef", "--db", str(demo_db)])
    assert result.exit_code == 1, result.output


@pytest.mark.parametrize("case", ["unknown flag", "bad value", "missing database", "missing API key", "missing path"])
def test_exit_2_for_usage_and_configuration_errors(demo_copy: Path, tmp_path: Path, case: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("COLLABSCOPE_API_KEY_FILE", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    args = {
        "unknown flag": ["status", "--no-such-flag"],
        "bad value": ["export", "--format", "xlsx"],
        "missing database": ["status", "--db", str(tmp_path / "none.db")],
        "missing API key": ["extract", "--backend", "llm"],
        "missing path": ["run", str(tmp_path / "none")],
    }[case]
    result = runner.invoke(app, args + ([] if "--db" in args else ["--db", str(demo_copy)]))
    assert result.exit_code == 2, result.output
    if case == "missing API key":
        assert "no API key" in result.output
        with Store.open(demo_copy) as store:
            assert store.runs(5)[0]["command"] == "run"  # the refused extract recorded no run


def test_exit_3_when_some_documents_failed(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    simple_paper(folder / "ok.pdf")
    not_pdf(folder / "bad.pdf")
    assert runner.invoke(app, ["run", str(folder), "--db", str(tmp_path / "x.db")]).exit_code == 3


def test_exit_130_when_interrupted(demo_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from extractor import pipeline

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "reconcile", interrupted)
    result = runner.invoke(app, ["reconcile", "--db", str(demo_copy)])
    assert result.exit_code == 130, result.output
    assert "interrupted" in result.output


# --------------------------------------------------------------------------- bad files, named


def _truncated_sample(path: Path) -> Path:
    """The first half of a real generated paper, as a cut-off download leaves it."""
    data = sorted(SAMPLES.glob("*.pdf"))[0].read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def test_a_truncated_pdf_is_corrupt_not_empty(tmp_path: Path) -> None:
    from extractor.ingest.files import read_document
    from tests.pdf_factory import zero_pages

    doc = read_document(_truncated_sample(tmp_path / "cut.pdf"))
    assert doc.error_kind == "corrupt", doc.error
    assert "truncated" in (doc.error or "")
    assert read_document(zero_pages(tmp_path / "zero.pdf")).error_kind == "empty"  # a real zero-page PDF


def test_run_and_status_name_the_failed_files(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    simple_paper(folder / "good.pdf")
    _truncated_sample(folder / "cut.pdf")
    for i in range(7):
        (folder / f"junk{i}.pdf").write_text(f"notes {i}, not a paper")  # distinct bytes: one row each
    db = tmp_path / "x.db"
    result = runner.invoke(app, ["run", str(folder), "--db", str(db)])
    assert result.exit_code == 3, result.output
    assert "8 failed (corrupt 1, not_pdf 7)" in result.output
    named = re.findall(r"^  failed (\S+): ", result.output, re.MULTILINE)
    assert len(named) == 5 and set(named) <= {"cut.pdf", *(f"junk{i}.pdf" for i in range(7))}
    assert "  +3 more" in result.output
    assert "failed cut.pdf: corrupt:" in result.output  # names sort first

    status = runner.invoke(app, ["status", "--db", str(db)])
    assert status.exit_code == 0, status.output
    assert re.findall(r"^  failed (\S+): ", status.output, re.MULTILINE) == named
    assert "  +3 more" in status.output

    again = runner.invoke(app, ["run", str(folder), "--db", str(db)])  # nothing new fails, 8 still count
    assert "papers: 1 with records, 8 failed" in again.output
    assert "  failed before: cut.pdf (corrupt), junk0.pdf (not_pdf)," in again.output and ", +3 more" in again.output


# --------------------------------------------------------------------------- export


def _reject_one(db: Path) -> str:
    from extractor.review.actions import reject

    with Store.open(db) as store:
        record = next(iter(store.iter_records()))
        reject(store, record.paper_id, "tester", expected_version=record.version)
    return record.paper_id


def test_every_format_exports_every_record_except_rejected_ones_by_default(demo_copy: Path, tmp_path: Path) -> None:
    rejected = _reject_one(demo_copy)
    with Store.open(demo_copy) as store:
        expected = {r.paper_id for r in store.iter_records()} - {rejected}
    out = runner.invoke(app, ["export", "--db", str(demo_copy), "--no-datacard"])
    assert out.exit_code == 0, out.output
    jsonl = {json.loads(line)["paper_id"] for line in out.stdout.splitlines() if line.strip()}
    assert jsonl == expected
    res = runner.invoke(app, ["export", "--format", "csv", "--out", str(tmp_path / "p.csv"), "--db", str(demo_copy)])
    assert res.exit_code == 0, res.output
    with (tmp_path / "p.csv").open(encoding="utf-8") as fh:
        assert {row["paper_id"] for row in csv.DictReader(fh)} == expected
    pq = pytest.importorskip("pyarrow.parquet")
    res = runner.invoke(app, ["export", "--format", "parquet", "--out", str(tmp_path / "p.parquet"),
                              "--db", str(demo_copy)])
    assert res.exit_code == 0, res.output
    assert set(pq.read_table(tmp_path / "p.parquet").column("paper_id").to_pylist()) == expected


def test_an_empty_export_warns(demo_db: Path, tmp_path: Path) -> None:
    res = runner.invoke(app, ["export", "--verified", "--format", "csv", "--out", str(tmp_path / "v.csv"),
                              "--db", str(demo_db)])
    assert res.exit_code == 0, res.output
    assert "warning: the export is empty" in res.stderr
    assert "queued" in res.stderr  # says what the database does hold
    full = runner.invoke(app, ["export", "--format", "csv", "--out", str(tmp_path / "a.csv"), "--db", str(demo_db)])
    assert "warning" not in full.stderr


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_out_dash_is_stdout(demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["export", "--format", fmt, "--out", "-", "--db", str(demo_db)])
    assert res.exit_code == 0, res.output
    assert _files(tmp_path) == set(), "--out - wrote a file"
    with Store.open(demo_db) as store:
        n = len(list(store.iter_records()))
    if fmt == "jsonl":
        assert len([json.loads(line) for line in res.stdout.splitlines() if line.strip()]) == n
    else:
        rows = list(csv.DictReader(io.StringIO(res.stdout)))
        assert len(rows) == n and "countries" in rows[0]


def test_parquet_to_stdout_is_refused(demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["export", "--format", "parquet", "--out", "-", "--db", str(demo_db)])
    assert res.exit_code == 2 and "--out FILE" in res.output
    assert _files(tmp_path) == set()


# --------------------------------------------------------------------------- countries, ordered


def test_country_lists_are_ordered_and_say_how_many_more(tmp_path: Path) -> None:
    from extractor.cli.common import country_list

    assert country_list([("FI", 1), ("US", 8), ("DK", 1), ("CN", 6)], 3) == "US 8, CN 6, DK 1, +1 more"
    assert country_list([("FI", 1), ("DK", 1)]) == "DK 1, FI 1"
    assert country_list([]) == "none"
    db = tmp_path / "x.db"
    res = runner.invoke(app, ["run", str(SAMPLES), "--db", str(db)])
    assert res.exit_code == 0, res.output
    line = re.search(r"countries: (.*)$", res.output, re.MULTILINE).group(1)  # type: ignore[union-attr]
    shown = [tuple(x.split()) for x in line.split(", ") if not x.startswith("+")]
    assert len(shown) == 8
    assert shown == sorted(shown, key=lambda cn: (-int(cn[1]), cn[0]))
    stats = json.loads(runner.invoke(app, ["stats", "--json", "--db", str(db)]).stdout)
    assert f"+{len(stats['countries']) - 8} more" in line


def test_stats_lists_every_country_the_json_has(demo_db: Path) -> None:
    text = runner.invoke(app, ["stats", "--db", str(demo_db)])
    assert text.exit_code == 0, text.output
    data = json.loads(runner.invoke(app, ["stats", "--json", "--db", str(demo_db)]).stdout)
    line = re.search(r"^countries\s+(.*)$", text.stdout, re.MULTILINE).group(1)  # type: ignore[union-attr]
    listed = [x.split()[0] for x in line.split(", ")]
    assert set(listed) == set(data["countries"]) and len(listed) > 10
    counts = {c: int(x.split()[1]) for c, x in zip(listed, line.split(", "), strict=True)}
    assert listed == sorted(listed, key=lambda c: (-counts[c], c))


# --------------------------------------------------------------------------- filters


def test_an_unknown_reason_names_the_valid_ones(demo_db: Path) -> None:
    res = runner.invoke(app, ["queue", "--reason", "bogus", "--db", str(demo_db)])
    assert res.exit_code == 2, res.output
    assert "'bogus' is not a reason code" in res.output
    assert "backends_disagree" in res.output and "audit_sample" in res.output
    assert runner.invoke(app, ["queue", "--reason", "audit_sample", "--db", str(demo_db)]).exit_code == 0


@pytest.mark.parametrize("args", [["stats", "--pair", "us,xx"], ["report", "--pair", "us,xx"],
                                  ["queue", "--route", "--pair", "us,xx"], ["queue", "--country", "zz"]])
def test_an_unknown_country_code_is_refused(demo_db: Path, tmp_path: Path, args: list[str]) -> None:
    res = runner.invoke(app, [*args, "--db", str(demo_db)] + (["--out", str(tmp_path / "r.html")] if args[0] == "report" else []))
    assert res.exit_code == 2, res.output
    assert "is not a country code" in res.output and "ISO 3166-1 alpha-2" in res.output


def test_an_anchor_that_is_not_a_hash_is_refused(demo_db: Path) -> None:
    res = runner.invoke(app, ["audit", "verify", "--anchor", "abc", "--db", str(demo_db)])
    assert res.exit_code == 2, res.output
    assert "is not a log hash" in res.output


# --------------------------------------------------------------------------- costs, eval


def test_costs_without_llm_calls_is_one_line(demo_db: Path) -> None:
    res = runner.invoke(app, ["costs", "--db", str(demo_db)])
    assert res.exit_code == 0, res.output
    assert res.stdout.strip().splitlines() == [
        "no LLM calls recorded for this database: nothing spent (the llm backend runs with --backend llm)"]


def test_eval_prints_review_metrics_as_text(demo_db: Path) -> None:
    res = runner.invoke(app, ["eval", "--gold", str(SAMPLES / "truth.jsonl"), "--show-misses", "0",
                              "--db", str(demo_db)])
    assert res.exit_code == 0, res.output
    review = res.stdout[res.stdout.index("review metrics:"):]
    assert "{" not in review and "[" not in review, review
    assert "calibration of P(country set right): n 12" in review
    assert "top 15%" in review and "queued for a doubt" in review


def test_error_messages_keep_their_square_brackets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich markup must not eat a config section name such as [auth] in an error."""
    from extractor.cli import review as review_cli

    monkeypatch.setattr(review_cli.Path, "home", classmethod(lambda cls: tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COLLABSCOPE_REVIEW_SECRET", raising=False)
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text('[auth]\nclient_id = "x"\n')
    Store.open(tmp_path / "r.db").close()
    res = runner.invoke(app, ["review", "--db", str(tmp_path / "r.db"), "--host", "10.0.0.5", "--allow-remote"])
    assert res.exit_code == 2
    assert "[auth] in secrets.toml lacks" in res.output
    (tmp_path / ".streamlit" / "secrets.toml").unlink()
    res = runner.invoke(app, ["review", "--db", str(tmp_path / "r.db"), "--host", "10.0.0.5", "--allow-remote"])
    assert res.exit_code == 2
    assert "or an [auth] section (st.login)" in res.output
