"""Ingest on a Dask cluster (``--engine dask``) stores exactly what the local engine stores.

A real local cluster (two worker processes) is started by the test; the PDFs are made
by the project's generator from the committed samples, plus bad files, so parity covers
error rows and duplicates too. No timing is asserted.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("distributed")

import dask  # noqa: E402
from distributed import LocalCluster  # noqa: E402

from devtools.generate import generate_corpus  # noqa: E402
from extractor.cli import app  # noqa: E402
from extractor.ingest.distributed import parse_shard  # noqa: E402
from extractor.ingest.files import IngestLimits  # noqa: E402
from extractor.store import Store  # noqa: E402
from tests.pdf_factory import garbage_pdf, not_pdf, truncated  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples" / "papers.jsonl"
runner = CliRunner()
#: Columns that legitimately differ between two ingests of the same bytes.
VOLATILE = {"ingested_at", "run_id"}


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A two-process local Dask cluster; workers may start the supervised parser process."""
    with dask.config.set({"distributed.worker.daemon": False}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seven generated papers in all layouts, one duplicate and three bad files."""
    folder = tmp_path_factory.mktemp("dask-pdfs")
    generate_corpus(SAMPLES, folder, n=7)
    (folder / "truth.jsonl").unlink()
    first = good_pdf(folder)
    shutil.copy(first, folder / "zz-duplicate-of-first.pdf")
    not_pdf(folder / "notes.pdf")
    garbage_pdf(folder / "garbage.pdf")
    truncated(folder / "truncated.pdf", first)
    return folder


def good_pdf(folder: Path) -> Path:
    return sorted(folder.glob("nips*.pdf"))[0]


def documents(db: Path) -> list[dict]:
    with Store.open(db, create=False) as store:
        rows = sorted(store.document_rows(), key=lambda r: r["sha256"])
    return [{k: v for k, v in r.items() if k not in VOLATILE} for r in rows]


def ingest(folder: Path, db: Path, *extra: str) -> tuple[int, str]:
    result = runner.invoke(app, ["ingest", str(folder), "--db", str(db), *extra])
    return result.exit_code, result.output


def test_dask_engine_stores_the_same_documents_as_the_local_engine(pdfs: Path, scheduler: str, tmp_path: Path) -> None:
    code_local, out_local = ingest(pdfs, tmp_path / "local.db")
    code_dask, out_dask = ingest(pdfs, tmp_path / "dask.db", "--engine", "dask", "--scheduler", scheduler)
    assert code_local == code_dask == 3, (out_local, out_dask)  # 3: finished, some files failed
    assert out_dask.strip().splitlines()[-1] == out_local.strip().splitlines()[-1]
    local, remote = documents(tmp_path / "local.db"), documents(tmp_path / "dask.db")
    assert len(local) == 10  # 7 papers + 3 bad files; the duplicate is the first paper's row
    assert remote == local
    assert sorted(r["source_file"] for r in remote if r["error"]) == ["garbage.pdf", "notes.pdf", "truncated.pdf"]


def test_dask_engine_is_idempotent(pdfs: Path, scheduler: str, tmp_path: Path) -> None:
    db = tmp_path / "again.db"
    ingest(pdfs, db, "--engine", "dask", "--scheduler", scheduler)
    code, out = ingest(pdfs, db, "--engine", "dask", "--scheduler", scheduler)
    assert code == 0, out
    assert "ingested 0 new, 11 already known, 0 failed" in out


def test_dask_engine_retries_failed_files_as_the_local_engine_does(pdfs: Path, scheduler: str, tmp_path: Path) -> None:
    """--retry-failed with --engine dask: the failed files are parsed again and their error
    rows replaced, the files ingested fine are not sent again; the same rows as local."""
    reference = tmp_path / "fresh.db"
    ingest(pdfs, reference)
    lines = {}
    for engine, extra in (("local", ()), ("dask", ("--engine", "dask", "--scheduler", scheduler))):
        db = tmp_path / f"{engine}.db"
        code, out = ingest(pdfs, db, *extra, "--max-file-mb", "0.0001")
        assert code == 3, out
        assert "ingested 0 new, 1 already known, 10 failed (too_large 10)" in out  # the size limit is checked first
        assert "0 new, 11 already known" in ingest(pdfs, db, *extra)[1]  # without the flag, failed files stay failed

        code, out = ingest(pdfs, db, *extra, "--retry-failed")
        assert code == 3, out  # the three bad files are still bad
        lines[engine] = next(line for line in out.splitlines() if line.startswith("ingested "))
        assert lines[engine].startswith("ingested 7 new, 1 already known, 3 failed"), out
        assert documents(db) == documents(reference)

        code, out = ingest(pdfs, db, *extra, "--retry-failed")
        assert "ingested 0 new, 8 already known, 3 failed" in out, out  # only the bad files again
        assert documents(db) == documents(reference)
    assert lines["dask"] == lines["local"]


def test_dask_engine_starts_its_own_local_cluster(pdfs: Path, tmp_path: Path) -> None:
    one = tmp_path / "one"
    one.mkdir()
    shutil.copy(good_pdf(pdfs), one / "paper.pdf")
    code, out = ingest(one, tmp_path / "own.db", "--engine", "dask", "--workers", "1")
    assert code == 0, out
    assert "ingested 1 new" in out


def test_a_worker_that_cannot_see_the_files_is_an_error_not_a_row(tmp_path: Path) -> None:
    result = parse_shard([str(tmp_path / "only-on-the-client.pdf")], IngestLimits())
    assert result.missing == [str(tmp_path / "only-on-the-client.pdf")]
    assert result.rows == []


def test_rows_copied_between_stores_keep_every_column_and_skip_known_hashes(pdfs: Path, tmp_path: Path,
                                                                           store_factory) -> None:
    from extractor.errors import StoreError
    from extractor.ingest.files import ingest_paths

    worker = store_factory(":memory:")
    ingest_paths(worker, [good_pdf(pdfs)], workers=1)
    rows = worker.document_rows()
    client = store_factory(tmp_path / "client.db")
    assert client.add_document_rows(rows, run_id=7) == [True]
    assert client.add_document_rows(rows) == [False]
    copied = client.document_rows()[0]
    assert copied == {**rows[0], "run_id": 7}
    assert client.get_document(rows[0]["sha256"]) == worker.get_document(rows[0]["sha256"])
    with pytest.raises(StoreError, match="no column"):
        client.add_document_rows([{**rows[0], "sha256": "0" * 64, "surprise": 1}])


def test_unknown_engine_is_a_usage_error(tmp_path: Path) -> None:
    code, out = ingest(tmp_path, tmp_path / "x.db", "--engine", "spark")
    assert code == 2
    assert "choose local or dask" in out
