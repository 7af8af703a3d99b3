"""``kill -9`` at the worst moments: during ingest, at every step of ``collabscope run``, and
while reviewers save. After each kill the database must pass ``PRAGMA integrity_check``,
a re-run must finish the job without redoing what was done, and every save a process
reported as committed must be there with its audit-log row.

The processes are real (``collabscope`` via this interpreter) and killed with SIGKILL, so
no Python cleanup runs: what survives is what SQLite committed.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from extractor.cli import app
from extractor.config import Settings
from extractor.extract.base import get_backend
from extractor.store import Store
from tests import fault_helpers as fh

N = 60


@pytest.fixture
def corpus(tmp_path: Path) -> list[Path]:
    # three pages each, so a batch takes long enough to be killed in the middle
    return fh.make_corpus(tmp_path / "papers", N, pages=3)


def _kill_when(argv: list[str], ready: fh.Callable[[], bool], timeout: float = 60) -> tuple[int, str]:
    """Start ``argv``, SIGKILL it (only it, not its workers) once ``ready()``; returns (pgid, stderr)."""
    proc = fh.start(argv)
    pgid = proc.pid
    try:
        fired = fh.wait_until(lambda: ready() or proc.poll() is not None, timeout)
        assert fired and proc.poll() is None, (
            f"the process ended before it could be killed mid-work: {proc.stderr.read().decode()[-2000:]}"
        )
        fh.kill9(proc)
        err = proc.stderr.read().decode()
        # the parser workers must not outlive their parent (PR_SET_PDEATHSIG)
        assert fh.group_gone(pgid), "parser processes survived their killed parent"
        return pgid, err
    finally:
        fh.reap_group(pgid)
        if proc.poll() is None:
            fh.kill9(proc)


def _documents(db: Path) -> dict[str, dict]:
    with Store.open(db, create=False) as store:
        rows = [{k: r[k] for k in ("sha256", "source_file", "run_id", "ingested_at")} for r in store.ingest_outcomes()]
    names = [r["source_file"] for r in rows]
    assert len(names) == len(set(names)), "a file has two rows"
    return {r["source_file"]: r for r in rows}


def test_kill9_during_ingest_then_resume(tmp_path: Path, corpus: list[Path]) -> None:
    db = tmp_path / "k.db"
    waiting = tmp_path / "stalled"  # the first committed batch is followed by a stall: the kill lands mid-ingest
    argv = fh.stalled_after_first_commit_cli(waiting, "ingest", corpus[0].parent, "--db", db, "--workers", "1")
    _kill_when(argv, waiting.exists)
    assert fh.integrity(db) == "ok"
    before = _documents(db)
    assert 0 < len(before) < N, f"kill landed after {len(before)} of {N} documents"

    rerun = fh.start(fh.cli("ingest", corpus[0].parent, "--db", db, "--workers", "2"))
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err.decode()
    # the resumed run parsed only what was missing, and skipped what was committed
    assert f"ingested {N - len(before)} new, {len(before)} already known, 0 failed" in err.decode()

    after = _documents(db)
    assert fh.integrity(db) == "ok"
    assert sorted(after) == sorted(p.name for p in corpus)  # every file exactly one row
    assert {r["sha256"] for r in after.values()} == {fh.sha256_of(p) for p in corpus}
    for name, row in before.items():  # rows from before the kill are untouched
        assert after[name] == row
    with Store.open(db, create=False) as store:
        runs = {r["id"]: r for r in store.runs()}
    assert [r["status"] for r in sorted(runs.values(), key=lambda r: r["id"])] == ["interrupted", "ok"]


def test_kill9_at_each_step_of_run_then_resume(tmp_path: Path, corpus: list[Path]) -> None:
    """Kill `collabscope run` during ingest, then during extract, then during reconcile."""
    db = tmp_path / "r.db"
    run = fh.cli("run", corpus[0].parent, "--db", db, "--workers", "1", "--quiet")
    waiting = tmp_path / "stalled"
    _kill_when(fh.stalled_after_first_commit_cli(waiting, "run", corpus[0].parent, "--db", db, "--workers", "1", "--quiet"),
               waiting.exists)
    docs_1 = fh.count_rows(db, "documents")
    _kill_when(run, lambda: fh.count_rows(db, "extractions") >= 5)
    ext_2 = fh.count_rows(db, "extractions")
    _kill_when(run, lambda: fh.count_rows(db, "records") >= 5)
    rec_3 = fh.count_rows(db, "records")
    assert fh.integrity(db) == "ok"
    assert docs_1 < N and ext_2 < N and rec_3 < N, (docs_1, ext_2, rec_3)
    ext_before = fh.count_rows(db, "extractions")

    final = fh.start(fh.cli("run", corpus[0].parent, "--db", db))
    _, err = final.communicate(timeout=180)
    assert final.returncode == 0, err.decode()
    # the resumed run redid nothing: no file parsed again, no document extracted again
    assert f"ingested 0 new, {N} already known" in err.decode()
    assert f"extracted (rules): {N - ext_before} new, 0 failed" in err.decode()

    assert fh.integrity(db) == "ok"
    with Store.open(db, create=False) as store:
        assert store.verify_log() == []
        counts = store.status_counts()
        assert counts["documents"] == N
        # N successful extractions and none missing: exactly one per document
        assert counts["extractions"].get("rules") == N
        assert store.hashes_needing_extraction("rules", get_backend("rules", Settings()).cache_key()) == []
        assert sum(counts["records"].values()) == N
        # each record was created exactly once; no paper was reconciled into two records
        creates = store.log_rows(actions=["create"])
        assert len(creates) == len({r["paper_id"] for r in creates}) == N
        statuses = [r["status"] for r in sorted(store.runs(), key=lambda r: r["id"])]
    assert statuses[:3] == ["interrupted"] * 3 and statuses[3] in ("ok", "partial")


def test_kill9_during_review_saves_loses_no_committed_save(tmp_path: Path) -> None:
    """Two reviewer processes edit the same records concurrently; both are killed."""
    fh.make_corpus(tmp_path / "papers", 12)
    db = tmp_path / "rev.db"
    result = CliRunner().invoke(app, ["run", str(tmp_path / "papers"), "--db", str(db), "--quiet"])
    assert result.exit_code == 0, result.output

    code = "import sys; from tests.fault_helpers import save_loop; save_loop(sys.argv[1], sys.argv[2])"
    procs = [fh.start([sys.executable, "-c", code, str(db), actor]) for actor in ("alice", "bob")]
    try:
        fh.wait_until(lambda: fh.count_rows(db, "reviews", "WHERE actor != 'machine'") >= 60, 60)
    finally:
        for p in procs:
            fh.kill9(p)
    promised: list[tuple[str, int]] = []
    for p in procs:
        out = p.stdout.read().decode()
        promised += [(m[1], int(m[2])) for m in re.finditer(r"^saved (\S+) (\d+)$", out, re.M)]
    assert len(promised) >= 30

    assert fh.integrity(db) == "ok"
    with Store.open(db, create=False) as store:
        assert store.verify_log() == []  # chain intact; every record matches its last log row
        versions = {r.paper_id: r.version for r in store.iter_records()}  # every record still parses
        log = [r for r in store.log_rows() if r["actor"] != "machine"]
    logged = {(r["paper_id"], r["version_after"]) for r in log}
    assert len(logged) == len(log), "two log rows claim the same record version"
    for pid, version in promised:
        assert (pid, version) in logged, f"save {pid} v{version} was reported committed but has no log row"
        assert versions[pid] >= version


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"], ids=["ctrl-c-to-the-group", "sigterm"])
def test_ctrl_c_and_sigterm_mid_ingest_are_also_safe(tmp_path: Path, corpus: list[Path], sig: str) -> None:
    """Ctrl-C in a terminal (SIGINT to the whole process group, workers included) and
    SIGTERM (what `kill` and container stops send): same guarantees as kill -9."""
    import signal

    db = tmp_path / "t.db"
    waiting = tmp_path / "stalled"
    proc = fh.start(fh.stalled_after_first_commit_cli(waiting, "ingest", corpus[0].parent, "--db", db, "--workers", "2"))
    try:
        assert fh.wait_until(lambda: waiting.exists() or proc.poll() is not None, 60)
        assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
        assert 0 < fh.count_rows(db, "documents") < len(corpus)  # mid-ingest: some committed, some not
        if sig == "SIGINT":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            os.kill(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert fh.group_gone(proc.pid)
    finally:
        fh.reap_group(proc.pid)
    if sig == "SIGINT":
        assert proc.returncode == 130 and b"Traceback" not in err, err.decode()[-2000:]
    assert fh.integrity(db) == "ok"
    rerun = fh.start(fh.cli("ingest", corpus[0].parent, "--db", db))
    rerun.communicate(timeout=120)
    assert rerun.returncode == 0
    assert sorted(_documents(db)) == sorted(p.name for p in corpus)
    with Store.open(db, create=False) as store:
        assert [r["status"] for r in sorted(store.runs(), key=lambda r: r["id"])] == ["interrupted", "ok"]
