"""A full disk and a read-only database: a clear error naming the database and what to do,
a non-zero exit, and no half-written document, record or log row.

How the faults are made, so they also hold when the tests run as root (CI):

- **disk full, library**: ``PRAGMA max_page_count`` pinned at the file's current size, so
  SQLite answers SQLITE_FULL exactly as on a full disk.
- **disk full, CLI**: the child runs under ``RLIMIT_FSIZE`` (writes past N bytes fail
  with EFBIG, which SQLite reports as a disk I/O error); root is bound by it too.
- **read-only, library**: ``Store.open(readonly=True)`` (SQLite ``mode=ro``).
- **read-only, CLI**: ``chmod 444`` on the file, and for root the child drops the
  capabilities that bypass permission bits (CAP_DAC_OVERRIDE ...) before ``exec``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from extractor.errors import StoreError
from extractor.ingest.files import read_document
from extractor.schemas import RecordStatus
from extractor.store import Store
from tests import fault_helpers as fh
from tests import pdf_factory as pf


def _pin_size(store: Store) -> None:
    # max_page_count limits the connection it is set on, so it goes on the store's own.
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages}")


def _unpin(store: Store) -> None:
    store.db.execute("PRAGMA max_page_count = 1073741823")


def _documents(db: Path) -> int:
    """How many documents the file holds (read-only: a check must not change what it checks)."""
    with Store.open(db, readonly=True) as store:
        return store.status_counts()["documents"]


def _seed(tmp_path: Path, n: int = 3) -> Path:
    from typer.testing import CliRunner

    from extractor.cli import app

    fh.make_corpus(tmp_path / "seed", n)
    db = tmp_path / "s.db"
    res = CliRunner().invoke(app, ["run", str(tmp_path / "seed"), "--db", str(db), "--quiet"])
    assert res.exit_code == 0, res.output
    return db


def test_disk_full_while_adding_a_document_keeps_nothing_half_written(tmp_path: Path) -> None:
    doc = read_document(pf.simple_paper(tmp_path / "p.pdf"))
    doc = doc.model_copy(update={"full_text": doc.full_text + " more text" * 20_000})  # needs new pages
    with Store.open(tmp_path / "f.db") as store:
        _pin_size(store)
        with pytest.raises(StoreError) as err:
            store.add_document(doc)
        message = str(err.value)
        assert "f.db" in message and "disk is full" in message and "free space" in message
        assert store.status_counts()["documents"] == 0
        _unpin(store)
        assert store.add_document(doc) is True  # after freeing space the same write works
        assert store.integrity_check() == "ok"


def test_disk_full_during_a_review_save_keeps_record_and_log_together(tmp_path: Path) -> None:
    db = _seed(tmp_path)
    with Store.open(db) as store:
        rec = next(store.iter_records())
        log_rows = len(store.history(rec.paper_id))
        _pin_size(store)
        edited = rec.model_copy(update={"status": RecordStatus.VERIFIED, "title": "T" * 20000})
        with pytest.raises(StoreError, match="disk is full"):
            store.save_record(edited, expected_version=rec.version, action="correct", actor="alice", note="n" * 20000)
        _unpin(store)
        assert store.get_record(rec.paper_id) == rec  # the record did not move ...
        assert len(store.history(rec.paper_id)) == log_rows  # ... and no log row claims it did
        assert store.verify_log() == []
        saved = store.save_record(edited, expected_version=rec.version, action="correct", actor="alice")
        assert saved.version == rec.version + 1 and store.verify_log() == []


def test_cli_on_a_full_disk_exits_1_naming_the_database_then_resumes(tmp_path: Path) -> None:
    db = _seed(tmp_path)
    # Ingest commits rows in batches, so the WAL grows ~5 KB per document here: a hundred
    # documents overflow the limit (one per file, the WAL's included); forty no longer did.
    more = fh.make_corpus(tmp_path / "more", 100, prefix="more", pages=3)
    before = _documents(db)
    limit = db.stat().st_size + 100_000  # room for a few documents, not for a hundred
    proc = subprocess.run(fh.cli("ingest", tmp_path / "more", "--db", db, "--workers", "1"), env=fh.child_env(),
                          capture_output=True, preexec_fn=fh.file_size_limit(limit), timeout=120)
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert f"database {db}" in err and "free space" in err, err
    assert "Traceback" not in err
    assert fh.integrity(db) == "ok"
    partial = _documents(db)
    assert before <= partial < before + len(more)
    # space is back: a re-run adds exactly what is missing
    proc = subprocess.run(fh.cli("ingest", tmp_path / "more", "--db", db), env=fh.child_env(), capture_output=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    assert f"{partial - before} already known" in proc.stderr.decode()
    assert _documents(db) == before + len(more)
    with Store.open(db, create=False) as store:
        assert store.verify_log() == []


def test_read_only_store_refuses_writes_with_a_clear_error(tmp_path: Path) -> None:
    db = _seed(tmp_path)
    doc = read_document(pf.simple_paper(tmp_path / "new.pdf", title="New"))
    with Store.open(db, readonly=True) as store:
        rec = next(store.iter_records())
        with pytest.raises(StoreError) as err:
            store.add_document(doc)
        assert "read-only" in str(err.value) and str(db) in str(err.value)
        with pytest.raises(StoreError, match="read-only"):
            store.save_record(rec.model_copy(update={"status": RecordStatus.VERIFIED}), expected_version=rec.version,
                              action="approve", actor="alice")
    with Store.open(db) as store:
        assert store.get_record(rec.paper_id) == rec and store.verify_log() == []


def _permissions_bind_children(tmp_path: Path) -> bool:
    probe = tmp_path / "probe"
    probe.write_text("x")
    probe.chmod(0o444)
    try:
        r = subprocess.run(["sh", "-c", f"echo y >> '{probe}'"], preexec_fn=fh.without_root_file_powers,
                           capture_output=True)
    except OSError:
        return False
    finally:
        probe.chmod(0o644)
    return r.returncode != 0


@pytest.mark.parametrize("what", ["file", "file-and-folder"])
def test_cli_on_a_read_only_database_exits_1_and_changes_nothing(tmp_path: Path, what: str) -> None:
    if not _permissions_bind_children(tmp_path):
        pytest.skip("cannot make file permissions bind a child process here")
    db = _seed(tmp_path)
    fh.make_corpus(tmp_path / "more", 3, prefix="more")
    before = _documents(db)
    db.chmod(0o444)
    if what == "file-and-folder":
        for extra in db.parent.glob(db.name + "*"):
            extra.chmod(0o444)
        db.parent.chmod(0o555)
    try:
        for argv in (fh.cli("run", tmp_path / "more", "--db", db), fh.cli("reconcile", "--db", db)):
            proc = subprocess.run(argv, env=fh.child_env(), capture_output=True, timeout=120,
                                  preexec_fn=fh.without_root_file_powers)
            err = proc.stderr.decode()
            assert proc.returncode == 1, err
            assert str(db) in err and ("read-only" in err or "writable" in err), err
            assert "Traceback" not in err
    finally:
        db.parent.chmod(0o755)
        for extra in db.parent.glob(db.name + "*"):
            extra.chmod(0o644)
    assert fh.integrity(db) == "ok"
    assert _documents(db) == before
    # readers still work on a read-only database
    proc = subprocess.run(fh.cli("audit", "verify", "--db", db), env=fh.child_env(), capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()


def test_missing_database_folder_is_a_clear_error(tmp_path: Path) -> None:
    papers = tmp_path / "papers"
    fh.make_corpus(papers, 1)
    proc = subprocess.run(fh.cli("ingest", papers, "--db", tmp_path / "no" / "such" / "x.db"), env=fh.child_env(),
                          capture_output=True, timeout=60)
    assert proc.returncode == 1
    assert "x.db" in proc.stderr.decode() and "Traceback" not in proc.stderr.decode()
    assert not os.path.exists(tmp_path / "no")
