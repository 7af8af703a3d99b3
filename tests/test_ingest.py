"""Ingest: good files keep page-1 layout; every kind of bad file gets a clear error row."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractor.ingest.files import IngestLimits, ingest_paths, read_document
from extractor.store import Store
from tests import pdf_factory as pf


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return pf.simple_paper(tmp_path / "good.pdf")


def test_good_pdf_keeps_layout_and_zones(good: Path) -> None:
    doc = read_document(good)
    assert doc.error is None
    assert doc.page_count == 1
    front = doc.front
    assert front is not None
    assert front.title == "A Study of Things"
    author_text = [front.lines[i].text for i in front.author_lines]
    assert "Ada Lovelace, Alan Turing" in author_text
    assert any("University of Cambridge" in t for t in author_text)
    assert front.emails == ["ada@cam.ac.uk"]
    assert front.abstract and "We study things" in front.abstract
    # every span indexes the page text exactly
    for span in front.spans:
        assert front.text[span.start:span.end] == span.text
    assert "fine-tune BERT" in doc.full_text


BAD = {
    "encrypted": (pf.encrypted, "encrypted", "password"),
    "no-text-layer": (pf.scanned, "no_text", "needs OCR"),
    "zero-pages": (pf.zero_pages, "empty", "zero pages"),
    "garbage": (pf.garbage_pdf, "corrupt", "corrupt"),
    "not-a-pdf": (pf.not_pdf, "not_pdf", "not a PDF"),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_inputs_get_a_clear_error(tmp_path: Path, case: str) -> None:
    make, kind, words = BAD[case]
    path = make(tmp_path / f"{case}.pdf")
    doc = read_document(path)
    assert doc.error_kind == kind, doc.error
    assert words.lower() in doc.error.lower()
    assert len(doc.sha256) == 64


def test_truncated_pdf(tmp_path: Path, good: Path) -> None:
    doc = read_document(pf.truncated(tmp_path / "cut.pdf", good))
    # MuPDF may repair a truncated file; either it is read or it fails with a clear error
    assert doc.error is None or doc.error_kind in {"corrupt", "no_text", "empty"}


def test_too_large_and_too_many_pages(tmp_path: Path, good: Path) -> None:
    doc = read_document(good, IngestLimits(max_file_mb=0.0001))
    assert doc.error_kind == "too_large" and "--max-file-mb" in doc.error
    doc = read_document(good, IngestLimits(max_pages=0 + 1))
    assert doc.error is None
    import pymupdf

    multi = tmp_path / "multi.pdf"
    d = pymupdf.open()
    for _ in range(3):
        d.new_page().insert_text((72, 72), "Some page text that is long enough to be a text layer.")
    d.save(multi)
    doc = read_document(multi, IngestLimits(max_pages=2))
    assert doc.error_kind == "too_many_pages" and "3 pages" in doc.error


def test_unreadable_path(tmp_path: Path) -> None:
    doc = read_document(tmp_path / "missing.pdf")
    assert doc.error_kind == "unreadable"
    assert "missing.pdf" in doc.error


@pytest.mark.parametrize("workers", [1, 2], ids=["in-process", "process-pool"])
def test_batch_goes_on_and_dedupes(tmp_path: Path, good: Path, workers: int) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    pf.simple_paper(folder / "a.pdf", title="Paper A")
    pf.simple_paper(folder / "b.pdf", title="Paper B")
    (folder / "copy-of-a.pdf").write_bytes((folder / "a.pdf").read_bytes())
    pf.encrypted(folder / "locked.pdf")
    pf.not_pdf(folder / "notes.pdf")
    (folder / "readme.txt").write_text("ignored: not a .pdf in a folder")
    with Store.open(tmp_path / "x.db") as store:
        s = ingest_paths(store, [folder], workers=workers)
        assert s.seen == 5
        assert s.added == 4  # a, b, locked, notes; the copy has a's hash
        assert s.failed == 2
        assert s.errors == {"encrypted": 1, "not_pdf": 1}
        again = ingest_paths(store, [folder], workers=workers)
        assert again.added == 0 and again.skipped_known == 5
        rows = store.ingest_outcomes()
        assert [r["error_kind"] for r in rows if r["source_file"] in ("locked.pdf", "notes.pdf")] == ["encrypted", "not_pdf"]
        assert len(rows) == 4


def test_venue_and_year_from_flags_and_venue_line(tmp_path: Path) -> None:
    path = pf.simple_paper(tmp_path / "v.pdf", extra="")
    with Store.open(tmp_path / "v.db") as store:
        ingest_paths(store, [path], venue="nips", year=2018)
        doc = next(store.iter_documents())
        assert (doc.venue, doc.year) == ("NeurIPS", 2018)


def test_workers_send_encoded_rows_and_the_parent_inserts_them_as_is(tmp_path: Path) -> None:
    """The parser process returns the ``documents`` row ready to insert: the same row the
    in-process path (Document -> Store.add_document) writes, bad files included."""
    from extractor.ingest.files import read_document_row
    from extractor.store import document_row
    from extractor.store.documents import decode_front, encode_front

    folder = tmp_path / "in"
    folder.mkdir()
    good = pf.simple_paper(folder / "a.pdf", title="Paper A")
    bad = pf.not_pdf(folder / "notes.pdf")
    for path in (good, bad):
        row = read_document_row(str(path), IngestLimits(), None)
        assert isinstance(row, dict) and isinstance(row["front"] or "", str)
        expected = document_row(read_document(path))
        assert {k: v for k, v in row.items() if k != "ingested_at"} == {
            k: v for k, v in expected.items() if k != "ingested_at"}

    columns = ["sha256", "source_file", "size_bytes", "page_count", "venue", "year", "title", "front",
               "full_text", "error", "error_kind", "run_id"]
    tables = []
    for workers, isolate in ((2, True), (1, False)):
        with Store.open(tmp_path / f"{workers}.db") as store:
            run_id = store.start_run("ingest", {})
            s = ingest_paths(store, [folder], workers=workers, isolate=isolate, run_id=run_id)
            assert (s.added, s.failed, s.errors) == (2, 1, {"not_pdf": 1})
            rows = [{k: r[k] for k in columns} for r in sorted(store.document_rows(), key=lambda r: r["sha256"])]
            assert {r["run_id"] for r in rows} == {run_id}
            tables.append([{k: v for k, v in r.items() if k != "run_id"} for r in rows])
            parsed = read_document(good)
            stored = store.get_document(parsed.sha256)
            assert parsed.front is not None  # the stored layout is what was parsed (bboxes to 0.01 pt)
            assert stored.front == decode_front(encode_front(parsed.front))
    assert tables[0] == tables[1]


def test_rows_are_committed_in_batches_while_the_batch_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One transaction per batch of rows, not per file; every row still lands, once."""
    import extractor.ingest.files as ingest_mod

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(7):
        pf.simple_paper(folder / f"p{i}.pdf", title=f"Paper number {i}")
    calls: list[int] = []
    with Store.open(tmp_path / "b.db") as store:
        real = store.add_document_rows

        def spy(rows, run_id=None, **kw):  # type: ignore[no-untyped-def]
            rows = list(rows)
            calls.append(len(rows))
            return real(rows, run_id=run_id, **kw)

        monkeypatch.setattr(store, "add_document_rows", spy)
        monkeypatch.setattr(ingest_mod, "COMMIT_ROWS", 3)
        monkeypatch.setattr(ingest_mod, "COMMIT_SECONDS", 3600.0)
        progress: list[object] = []
        s = ingest_paths(store, [folder], workers=2, on_progress=progress.append)
        assert s.added == 7 and len(progress) == 7
        assert calls == [3, 3, 1]
        assert len(store.known_hashes()) == 7


def test_rows_parsed_before_an_interrupt_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C between two results: the rows already parsed are written, nothing twice on re-run."""
    import extractor.ingest.files as ingest_mod

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(4):
        pf.simple_paper(folder / f"p{i}.pdf", title=f"Paper number {i}")
    monkeypatch.setattr(ingest_mod, "COMMIT_SECONDS", 3600.0)
    real_record_pool = ingest_mod._run_pool

    def pool_then_interrupt(todo, limits, workers, reader, record):  # type: ignore[no-untyped-def]
        real_record_pool(todo[:2], limits, workers, reader, record)
        raise KeyboardInterrupt

    monkeypatch.setattr(ingest_mod, "_run_pool", pool_then_interrupt)
    with Store.open(tmp_path / "i.db") as store:
        with pytest.raises(KeyboardInterrupt):
            ingest_paths(store, [folder], workers=1)
        assert len(store.known_hashes()) == 2
        monkeypatch.setattr(ingest_mod, "_run_pool", real_record_pool)
        again = ingest_paths(store, [folder], workers=1)
        assert (again.added, again.skipped_known) == (2, 2)


def test_rules_only_paths_do_not_import_the_llm_stack(tmp_path: Path) -> None:
    """`collabscope ingest` and a rules-only `collabscope run` never import openai/instructor
    (over a second of start-up); asking for the llm backend does."""
    import json
    import subprocess
    import sys

    from tests import fault_helpers as fh

    fh.make_corpus(tmp_path / "papers", 2)
    script = """
import json, sys
from typer.testing import CliRunner
from extractor.cli import app
folder, db = sys.argv[1], sys.argv[2]
heavy = ("openai", "instructor", "extractor.extract.llm")
out = {}
for step, argv in (("ingest", ["ingest", folder, "--db", db, "--workers", "1"]),
                   ("run", ["run", folder, "--db", db, "--backend", "rules", "--quiet"])):
    res = CliRunner().invoke(app, argv)
    assert res.exit_code == 0, res.output
    out[step] = [m for m in heavy if m in sys.modules]
from extractor.config import Settings
from extractor.extract.base import get_backend
get_backend("llm", Settings())
out["llm"] = [m for m in heavy if m in sys.modules]
print(json.dumps(out))
"""
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path / "papers"), str(tmp_path / "r.db")],
                          capture_output=True, text=True, timeout=300, env=fh.child_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["ingest"] == [] and out["run"] == [], out
    assert "extractor.extract.llm" in out["llm"]


def test_retry_failed_parses_failed_files_again_and_replaces_only_their_rows(tmp_path: Path) -> None:
    """A file that failed (here: over --max-file-mb; in life often a timeout on a busy
    machine) stays failed on a plain re-run, and is parsed again with --retry-failed."""
    from typer.testing import CliRunner

    from extractor.cli import app
    from tests.pdf_factory import not_pdf, simple_paper

    folder = tmp_path / "in"
    folder.mkdir()
    simple_paper(folder / "big.pdf")
    not_pdf(folder / "bad.pdf")
    db = tmp_path / "r.db"
    cli = CliRunner()
    first = cli.invoke(app, ["ingest", str(folder), "--db", str(db), "--max-file-mb", "0.0001"])
    assert first.exit_code == 3, first.output
    with Store.open(db) as store:
        kinds = {r["source_file"]: r["error_kind"] for r in store.ingest_outcomes()}
    assert kinds == {"big.pdf": "too_large", "bad.pdf": "too_large"}  # the size limit is checked first

    plain = cli.invoke(app, ["ingest", str(folder), "--db", str(db)])
    assert "0 new, 2 already known" in plain.output, plain.output

    retried = cli.invoke(app, ["ingest", str(folder), "--db", str(db), "--retry-failed"])
    assert retried.exit_code == 3, retried.output  # bad.pdf is still not a PDF
    with Store.open(db) as store:
        rows = {r["source_file"]: r for r in store.ingest_outcomes()}
        good_ids = store.known_hashes() - store.failed_hashes()
    assert len(rows) == 2
    assert rows["big.pdf"]["error"] is None
    assert rows["bad.pdf"]["error_kind"] == "not_pdf"  # re-parsed too, with today's verdict
    assert len(good_ids) == 1

    again = cli.invoke(app, ["ingest", str(folder), "--db", str(db), "--retry-failed"])
    with Store.open(db) as store:
        assert len(store.known_hashes()) == 2
        assert store.known_hashes() - store.failed_hashes() == good_ids  # a good document is never re-parsed
    assert "1 already known" in again.output, again.output


def test_the_plan_skips_known_files_once_each_and_retries_only_failed_ones(tmp_path: Path) -> None:
    """plan_ingest is the prelude both engines share: what is known, duplicates, unhashable files."""
    from extractor.ingest.batch import plan_ingest

    folder = tmp_path / "in"
    folder.mkdir()
    a = pf.simple_paper(folder / "a.pdf", title="Paper A")
    b = pf.simple_paper(folder / "b.pdf", title="Paper B")
    (folder / "c-copy-of-a.pdf").write_bytes(a.read_bytes())
    bad = pf.not_pdf(folder / "notes.pdf")
    missing = tmp_path / "missing.pdf"
    with Store.open(tmp_path / "p.db") as store:
        plan = plan_ingest(store, [folder, missing])
        assert (plan.seen, plan.skipped_known, plan.retry_failed) == (5, 1, False)  # the copy of a, once
        assert [(f.name, sha is not None) for f, sha in plan.todo] == [
            ("a.pdf", True), ("b.pdf", True), ("notes.pdf", True), ("missing.pdf", False)]

        ingest_paths(store, [folder, missing], workers=1)
        again = plan_ingest(store, [folder, missing])
        assert [f.name for f, _ in again.todo] == ["missing.pdf"]  # not hashable: always planned (its row is known)
        retry = plan_ingest(store, [folder, missing], retry_failed=True)
        assert [f.name for f, _ in retry.todo] == ["notes.pdf", "missing.pdf"] and retry.retry_failed
        assert {f for f, _ in retry.todo}.isdisjoint({a, b})  # a document ingested fine is never planned again
        assert bad in {f for f, _ in retry.todo}


def test_the_sink_labels_writes_and_counts_rows(tmp_path: Path) -> None:
    from extractor.ingest.batch import DocumentSink, plan_ingest
    from extractor.store import document_row

    folder = tmp_path / "in"
    folder.mkdir()
    good = pf.simple_paper(folder / "a.pdf")
    bad = pf.not_pdf(folder / "notes.pdf")
    with Store.open(tmp_path / "s.db") as store:
        plan = plan_ingest(store, [folder])
        ticks: list[object] = []
        sink = DocumentSink(store, plan, venue="nips", year=2018, run_id=None, on_progress=ticks.append)
        rows = [document_row(read_document(good)), document_row(read_document(bad))]
        sink.write(rows)
        sink.write([document_row(read_document(good))])  # the same bytes again: already known
        sink.write([])
        s = sink.summary
        assert (s.seen, s.added, s.failed, s.skipped_known, s.errors) == (2, 2, 1, 1, {"not_pdf": 1})
        assert s.new_hashes == [r["sha256"] for r in rows] and ticks == [None, None, None]
        assert {(r["venue"], r["year"]) for r in store.ingest_outcomes()} == {("NeurIPS", 2018)}
