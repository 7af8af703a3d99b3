"""CSV and Parquet exports: round trip, formula escaping, the data card, atomic writes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from extractor.export.datacard import datacard_text, write_datacard
from extractor.export.writers import (
    AUTHOR_COLUMNS,
    PAPER_COLUMNS,
    companion_path,
    escape_formula,
    export_csv,
    export_jsonl,
    export_parquet,
    validate_line,
)
from extractor.schemas import RecordStatus
from tests.record_factory import add, paper, put, review

FORMULA = '=HYPERLINK("http://evil.example","click")'


@pytest.fixture
def export_db(store):
    add(store, "v1", [["US", "CN"], ["GB"]], models=[("Qwen", "used", "CN"), ("Llama", None, "US")],
        audit=True, reviewed=True, title=FORMULA)
    add(store, "v2", [[], ["DE"]], truth=[["FR"], ["DE"]], audit=True)  # corrected by a person
    rec = paper("v3", [["US"]], title="+1 -2 @cmd\ttab")
    put(store, rec)
    review(store, "v3", rec.model_copy(update={"affiliations": [rec.affiliations[0].model_copy(update={"raw": "-Lab, US"})]}))
    put(store, paper("m1", [["JP"]]))
    put(store, paper("q1", [["KR"]], status=RecordStatus.QUEUED))
    return store


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_csv_round_trip_verified_by_default(export_db, tmp_path: Path) -> None:
    out = tmp_path / "papers.csv"
    n = export_csv(export_db, out, verified_only=True)
    assert n == 3
    papers = read_csv(out)
    authors = read_csv(companion_path(out))
    assert list(papers[0]) == PAPER_COLUMNS and list(authors[0]) == AUTHOR_COLUMNS
    by_id = {p["paper_id"]: p for p in papers}
    assert set(by_id) == {"v1", "v2", "v3"}
    v1 = by_id["v1"]
    assert v1["countries"] == "CN; GB; US" and v1["n_authors"] == "2" and v1["n_affiliations"] == "3"
    assert v1["model_families"] == "Llama; Qwen" and v1["model_roles"] == "Llama:unknown; Qwen:used"
    assert v1["reviewer"] == "alice" and v1["reviewed_at"] and v1["backend"] == "rules"
    assert v1["sha256"] == paper("v1", []).sha256
    assert by_id["v2"]["countries"] == "DE; FR"  # the person's correction, not the machine's
    rows = [a for a in authors if a["paper_id"] == "v1"]
    assert [(a["author_index"], a["affiliation_id"], a["country"]) for a in rows] == [
        ("1", "1", "US"), ("1", "2", "CN"), ("2", "3", "GB")]  # multi-affiliation author: one row each


def test_author_without_affiliation_and_orphan_affiliation_rows(store, tmp_path: Path) -> None:
    rec = paper("o", [[], ["US"]])
    rec = rec.model_copy(update={"affiliations": [*rec.affiliations, rec.affiliations[0].model_copy(update={"id": 9, "raw": "Orphan Lab"})]})
    put(store, rec)
    out = tmp_path / "p.csv"
    export_csv(store, out, verified_only=False)
    rows = [(a["author_index"], a["author"], a["affiliation_id"]) for a in read_csv(companion_path(out))]
    assert rows == [("1", "Author 1", ""), ("2", "Author 2", "1"), ("", "", "9")]


def test_csv_escapes_formulas_but_parquet_and_jsonl_keep_raw(export_db, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    export_csv(export_db, tmp_path / "p.csv", verified_only=True)
    by_id = {p["paper_id"]: p for p in read_csv(tmp_path / "p.csv")}
    assert by_id["v1"]["title"] == "'" + FORMULA
    assert by_id["v3"]["title"] == "'+1 -2 @cmd\ttab"
    raw = [a["affiliation_raw"] for a in read_csv(tmp_path / "p.authors.csv") if a["paper_id"] == "v3"]
    assert raw == ["'-Lab, US"]
    export_parquet(export_db, tmp_path / "p.parquet", verified_only=True)
    titles = dict(zip(*pq.read_table(tmp_path / "p.parquet", columns=["paper_id", "title"]).to_pydict().values(), strict=True))
    assert titles["v1"] == FORMULA
    out = tmp_path / "p.jsonl"
    export_jsonl(export_db, out, verified_only=True)
    assert json.loads(out.read_text().splitlines()[0])["title"] == FORMULA


@pytest.mark.parametrize(("value", "escaped"), [
    ("=1+1", "'=1+1"), ("+cmd", "'+cmd"), ("-x", "'-x"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("plain", "plain"), ("a=b", "a=b"), (-3, -3), (None, None), ("", ""),
])
def test_escape_formula(value, escaped) -> None:
    assert escape_formula(value) == escaped


def test_parquet_round_trip_matches_csv(export_db, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    export_parquet(export_db, tmp_path / "p.parquet", verified_only=False, include_failed=True)
    export_csv(export_db, tmp_path / "p.csv", verified_only=False, include_failed=True)
    table = pq.read_table(tmp_path / "p.parquet")
    assert table.column_names == PAPER_COLUMNS
    import pyarrow as pa

    assert pa.types.is_list(table.schema.field("countries").type)
    assert table.schema.field("countries").type.value_type == pa.string()
    rows = {r["paper_id"]: r for r in table.to_pylist()}
    assert set(rows) == {"v1", "v2", "v3", "m1", "q1"}
    assert rows["v1"]["countries"] == ["CN", "GB", "US"] and rows["q1"]["status"] == "machine"
    csv_rows = {r["paper_id"]: r for r in read_csv(tmp_path / "p.csv")}
    for pid, r in rows.items():
        assert "; ".join(r["countries"]) == csv_rows[pid]["countries"]
        assert r["year"] == int(csv_rows[pid]["year"])
    authors = pq.read_table(tmp_path / "p.authors.parquet")
    assert authors.column_names == AUTHOR_COLUMNS and authors.num_rows == len(read_csv(tmp_path / "p.authors.csv"))


def test_tables_agree_with_the_jsonl_contract(export_db, tmp_path: Path) -> None:
    out = tmp_path / "p.jsonl"
    export_jsonl(export_db, out)
    lines = [validate_line(json.loads(x)) for x in out.read_text().splitlines()]
    export_csv(export_db, tmp_path / "p.csv", verified_only=False)
    assert {x.paper_id: x.countries for x in lines} == {
        r["paper_id"]: r["countries"].split("; ") for r in read_csv(tmp_path / "p.csv")}


def test_writes_are_atomic_and_errors_are_clear(export_db, tmp_path: Path, monkeypatch) -> None:
    from extractor.errors import CollabscopeError
    from extractor.export import writers as export_mod

    out = tmp_path / "p.csv"
    out.write_text("old")
    boom = RuntimeError("disk on fire")

    def explode(*a, **k):
        raise boom

    monkeypatch.setattr(export_mod.csv, "writer", explode)
    with pytest.raises(RuntimeError):
        export_csv(export_db, out, verified_only=True)
    assert out.read_text() == "old" and not list(tmp_path.glob(".*.part"))
    monkeypatch.undo()
    with pytest.raises(CollabscopeError, match="does not exist"):
        export_csv(export_db, tmp_path / "missing" / "p.csv", verified_only=True)


def test_datacard_content(export_db, tmp_path: Path) -> None:
    files = [tmp_path / "p.csv", tmp_path / "p.authors.csv"]
    text = datacard_text(export_db, files=files, fmt="csv", selection="human-verified records", exported=3)
    for needle in ("# Data card", "`p.csv`", "`p.authors.csv`", "human-verified records — 3 papers",
                   "| verified | 3 |", "| machine | 1 |", "| queued | 1 |", "`rules` (5)",
                   "papers with a wrong country set: **1 of 2**", "Wilson", "Clopper–Pearson",
                   "## Counting policy", "HK, MO and TW kept separate", "## Limits", "formulas"):
        assert needle in text, needle
    path = write_datacard(export_db, tmp_path, files=files, fmt="csv", selection="x", exported=3)
    assert path.name == "DATACARD.md" and path.read_text().startswith("# Data card")


def test_datacard_without_audit_says_unknown(store) -> None:
    put(store, paper("m", [["US"]]))
    text = datacard_text(store, files=[Path("x.jsonl")], fmt="jsonl", selection="all", exported=1)
    assert "the machine's error rate is unknown" in text and "machine-only" in text


def test_export_command_csv_defaults_to_all_but_rejected_and_writes_card(export_db, db_path: Path,
                                                                         tmp_path: Path) -> None:
    """CSV selects what JSONL selects (the README's one default); --verified narrows it."""
    from extractor.cli import app

    export_db.close()
    out = tmp_path / "out" / "papers.csv"
    out.parent.mkdir()
    result = CliRunner().invoke(app, ["export", "--db", str(db_path), "-f", "csv", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "exported 5 papers (all records except rejected)" in result.output
    assert {p["paper_id"] for p in read_csv(out)} == {"v1", "v2", "v3", "m1", "q1"}
    verified = CliRunner().invoke(app, ["export", "--db", str(db_path), "-f", "csv", "--verified", "--no-datacard",
                                        "--out", str(tmp_path / "verified.csv")])
    assert "exported 3 papers (human-verified records)" in verified.output
    assert sorted(p.name for p in out.parent.iterdir()) == ["DATACARD.md", "papers.authors.csv", "papers.csv"]
    result = CliRunner().invoke(app, ["export", "--db", str(db_path), "-f", "parquet", "--all", "--no-datacard",
                                      "--out", str(tmp_path / "all.parquet")])
    assert result.exit_code == 0, result.output
    assert "exported 5 papers" in result.output
    assert (tmp_path / "all.authors.parquet").exists() and not (tmp_path / "DATACARD.md").exists()
    missing = CliRunner().invoke(app, ["export", "--db", str(db_path), "-f", "csv"])
    assert missing.exit_code == 2 and "--out" in missing.output
