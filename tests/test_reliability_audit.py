"""``collabscope audit verify``: tampering behind the log's back is found and named.

Each case edits the database with raw SQL, as someone with the file and a SQLite shell
could (dropping the append-only triggers first where needed), and expects exit 1 with a
message naming the record or the log row.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from extractor.cli import app
from extractor.schemas import RecordStatus
from extractor.store import Store
from tests import fault_helpers as fh
from tests import sqlhelp

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    fh.make_corpus(tmp_path / "papers", 4)
    path = tmp_path / "a.db"
    res = runner.invoke(app, ["run", str(tmp_path / "papers"), "--db", str(path), "--quiet"])
    assert res.exit_code == 0, res.output
    with Store.open(path) as store:
        rec = next(store.iter_records())
        store.save_record(rec.model_copy(update={"status": RecordStatus.VERIFIED}), expected_version=rec.version,
                          action="approve", actor="alice")
    return path


def _first(con: sqlite3.Connection, sql: str) -> str:
    return con.execute(sql).fetchone()[0]


def _drop_triggers(con: sqlite3.Connection) -> None:
    con.execute("DROP TRIGGER reviews_no_update")
    con.execute("DROP TRIGGER reviews_no_delete")


def _edit_log_actor(con: sqlite3.Connection) -> str:
    _drop_triggers(con)
    row = _first(con, "SELECT id FROM reviews WHERE actor = 'alice'")
    con.execute("UPDATE reviews SET actor = 'mallory' WHERE id = ?", [row])
    return f"log row {row}"


def _delete_middle_log_row(con: sqlite3.Connection) -> str:
    _drop_triggers(con)
    row = _first(con, "SELECT min(id) + 1 FROM reviews")
    con.execute("DELETE FROM reviews WHERE id = ?", [row])
    return f"log row {row + 1}"


def _edit_record_data(con: sqlite3.Connection) -> str:
    pid = _first(con, "SELECT paper_id FROM records ORDER BY paper_id LIMIT 1")
    con.execute("UPDATE records SET data = replace(data, '\"GB\"', '\"CN\"') WHERE paper_id = ?", [pid])
    return f"record {pid}"


def _flip_status_column(con: sqlite3.Connection) -> str:
    pid = _first(con, "SELECT paper_id FROM records WHERE status != 'verified' ORDER BY paper_id LIMIT 1")
    con.execute("UPDATE records SET status = 'verified' WHERE paper_id = ?", [pid])
    return f"record {pid}"


def _bump_version(con: sqlite3.Connection) -> str:
    pid = _first(con, "SELECT paper_id FROM records ORDER BY paper_id LIMIT 1")
    con.execute("UPDATE records SET version = version + 5 WHERE paper_id = ?", [pid])
    return f"record {pid}"


def _delete_record(con: sqlite3.Connection) -> str:
    pid = _first(con, "SELECT paper_id FROM records ORDER BY paper_id LIMIT 1")
    con.execute("DELETE FROM records WHERE paper_id = ?", [pid])
    return f"record {pid}"


def _insert_unlogged_record(con: sqlite3.Connection) -> str:
    con.execute("INSERT INTO records (paper_id, sha256, version, status, data) "
                "SELECT 'forged000000000', 'f' || sha256, 1, 'verified', data FROM records LIMIT 1")
    return "record forged000000000"


def _drop_triggers_only(con: sqlite3.Connection) -> str:
    _drop_triggers(con)
    return "trigger reviews_no_update"


def _rewrite_chain(con: sqlite3.Connection) -> str:
    """A careful forger recomputes the hash of the row they edit, but not the rows after."""
    from extractor.store.records import _chain_hash

    _drop_triggers(con)
    con.row_factory = sqlite3.Row
    row = dict(con.execute("SELECT * FROM reviews ORDER BY id LIMIT 1").fetchone())
    row["actor"] = "mallory"
    new_hash = _chain_hash(row["prev_hash"], row)
    con.execute("UPDATE reviews SET actor = 'mallory', hash = ? WHERE id = ?", [new_hash, row["id"]])
    return f"log row {row['id'] + 1}"


TAMPER: dict[str, Callable[[sqlite3.Connection], str]] = {
    "edit-log-row": _edit_log_actor,
    "delete-log-row": _delete_middle_log_row,
    "rehash-edited-row": _rewrite_chain,
    "edit-record-data": _edit_record_data,
    "flip-status-column": _flip_status_column,
    "bump-version": _bump_version,
    "delete-record": _delete_record,
    "forged-record": _insert_unlogged_record,
    "drop-triggers": _drop_triggers_only,
}


def test_clean_database_verifies(db: Path) -> None:
    res = runner.invoke(app, ["audit", "verify", "--db", str(db), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["ok"] is True and out["problems"] == [] and out["log_rows"] >= 5 and len(out["head"]) == 64


@pytest.mark.parametrize("case", list(TAMPER), ids=list(TAMPER))
def test_tampering_is_found_and_named(db: Path, case: str) -> None:
    con = sqlite3.connect(db)
    expected = TAMPER[case](con)
    con.commit()
    con.close()
    res = runner.invoke(app, ["audit", "verify", "--db", str(db)])
    assert res.exit_code == 1, res.output
    assert "problem:" in res.stdout and expected in res.stdout, res.stdout
    assert "audit FAILED" in res.stderr


def test_truncated_tail_is_caught_by_an_anchor(db: Path) -> None:
    res = runner.invoke(app, ["audit", "verify", "--db", str(db), "--json"])
    head = json.loads(res.stdout)["head"]
    con = sqlite3.connect(db)
    _drop_triggers(con)
    con.execute("DELETE FROM reviews WHERE id = (SELECT max(id) FROM reviews)")
    # the forger also restores the triggers and rolls the record back by hand
    con.executescript(
        """
        CREATE TRIGGER reviews_no_update BEFORE UPDATE ON reviews
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER reviews_no_delete BEFORE DELETE ON reviews
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        """
    )
    con.commit()
    con.close()
    res = runner.invoke(app, ["audit", "verify", "--db", str(db), "--anchor", head])
    assert res.exit_code == 1
    assert "anchor" in res.stdout


def test_audit_log_shows_one_papers_history(db: Path) -> None:
    with Store.open(db) as store:
        pid = sqlhelp.rows(store, "SELECT paper_id FROM records WHERE status = 'verified'")[0]["paper_id"]
    res = runner.invoke(app, ["audit", "log", pid, "--db", str(db)])
    assert res.exit_code == 0, res.output
    assert "alice" in res.stdout and "approve" in res.stdout and "machine" in res.stdout
    assert runner.invoke(app, ["audit", "log", "nosuchpaper", "--db", str(db)]).exit_code == 1
    assert runner.invoke(app, ["audit", "log", "--db", str(db)]).exit_code == 2


def test_audit_on_a_missing_or_foreign_file(tmp_path: Path) -> None:
    res = runner.invoke(app, ["audit", "verify", "--db", str(tmp_path / "none.db")])
    assert res.exit_code == 2 and "does not exist" in res.stderr
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    res = runner.invoke(app, ["audit", "verify", "--db", str(junk)])
    assert res.exit_code == 1 and "junk.db" in res.stderr
