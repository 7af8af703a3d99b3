"""Two processes on one database at once.

Policy: pipeline commands (run, ingest, extract, reconcile) take the pipeline lock, so a
second one refuses at once with a message naming who holds it; readers (status, export,
audit, review) never wait for it. Underneath, SQLite alone keeps the data right even when
the lock is bypassed (library callers, platforms without ``fcntl``): the second test runs
two unlocked pipelines at once and checks that nothing is corrupted or duplicated.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

from extractor.store import Store
from tests import fault_helpers as fh

N = 60


def _check_complete(db: Path, files: list[Path]) -> None:
    """Every file is one document, one rules extraction, one record and one "create" log row."""
    assert fh.integrity(db) == "ok"
    with Store.open(db, create=False) as store:
        assert store.verify_log() == []
        docs = store.ingest_outcomes()
        assert sorted(d["source_file"] for d in docs) == sorted(p.name for p in files)
        assert {d["sha256"] for d in docs} == {fh.sha256_of(p) for p in files}
        rules = {d["sha256"]: [m for m, _, _ in store.extractions_for(d["sha256"], ok_only=False) if m.backend == "rules"]
                 for d in docs}
        assert len(rules) == len(files) and all(len(r) == 1 for r in rules.values())
        recs = [r.sha256 for r in store.iter_records()]
        assert len(recs) == len(files) == len(set(recs))
        creates = Counter(r["paper_id"] for r in store.log_rows(actions=["create"]))
        assert len(creates) == len(files) and all(n == 1 for n in creates.values())


def test_second_run_refuses_while_the_first_works(tmp_path: Path) -> None:
    files = fh.make_corpus(tmp_path / "papers", N, pages=3)
    db = tmp_path / "c.db"
    gate = tmp_path / "go"
    first = fh.start(fh.gated_cli(gate, "run", tmp_path / "papers", "--db", db, "--workers", "1"))
    try:
        waiting = Path(str(gate) + ".waiting")
        assert fh.wait_until(lambda: waiting.exists() or first.poll() is not None, 120)
        assert first.poll() is None, first.communicate()[1].decode()[-2000:]
        assert fh.count_rows(db, "documents") == N  # the first run is inside its work, lock held
        second = subprocess.run(fh.cli("run", tmp_path / "papers", "--db", db), env=fh.child_env(),
                                capture_output=True, timeout=60)
        err = second.stderr.decode()
        assert second.returncode == 1, err
        assert f"database {db} is busy" in err and f"pid {first.pid}" in err and "collabscope run" in err
        assert "Traceback" not in err
        # readers are not blocked by the pipeline lock
        status = subprocess.run(fh.cli("status", "--db", db), env=fh.child_env(), capture_output=True, timeout=60)
        assert status.returncode == 0, status.stderr.decode()
        gate.touch()
        _, first_err = first.communicate(timeout=180)
        assert first.returncode == 0, first_err.decode()
    finally:
        if first.poll() is None:
            fh.kill9(first)
    _check_complete(db, files)
    again = subprocess.run(fh.cli("run", tmp_path / "papers", "--db", db), env=fh.child_env(), capture_output=True,
                           timeout=120)
    assert again.returncode == 0
    assert f"ingested 0 new, {N} already known" in again.stderr.decode()
    _check_complete(db, files)


def test_two_unlocked_pipelines_at_once_never_corrupt_or_duplicate(tmp_path: Path) -> None:
    files = fh.make_corpus(tmp_path / "papers", N)
    db = tmp_path / "u.db"
    code = "import sys; from tests.fault_helpers import unlocked_pipeline; unlocked_pipeline(sys.argv[1], sys.argv[2])"
    procs = [fh.start([sys.executable, "-c", code, str(db), str(tmp_path / "papers")]) for _ in range(2)]
    outs = [p.communicate(timeout=180) for p in procs]
    for p, (_, err) in zip(procs, outs):
        assert p.returncode == 0, err.decode()[-3000:]
    added = [int(out.decode().split()[1]) for out, _ in outs]
    assert sum(added) == N  # INSERT OR IGNORE: each document was stored by exactly one of them
    _check_complete(db, files)
