"""Ingest under hostile conditions: parsers that crash, hang in C or eat memory, files
built to make MuPDF spin, and inputs that are not files at all. Every file must end with
exactly one ``documents`` row, good files next to bad ones must be read, and nothing may
hold the batch past the per-file timeout.

Timing bounds here are generous ceilings (a real hang would take minutes or forever), not
performance assertions.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from extractor.ingest.files import IngestLimits, ingest_paths, read_document
from extractor.store import Store
from tests import fault_helpers as fh
from tests import pdf_factory as pf

#: What a bad input may end as; ``None`` (parsed fine) is allowed for files MuPDF repairs.
ERROR_KINDS = {None, "corrupt", "empty", "no_text", "not_pdf", "encrypted", "timeout", "crash", "unreadable",
               "too_large", "too_many_pages"}


def _rows(store: Store) -> dict[str, dict]:
    rows = store.ingest_outcomes()
    by_name: dict[str, dict] = {}
    for r in rows:
        assert r["source_file"] not in by_name, f"two rows for {r['source_file']}"
        by_name[r["source_file"]] = r
    return by_name


FAULTS = {
    "segfault.pdf": ("crash", "SIGSEGV"),
    "abort.pdf": ("crash", "SIGABRT"),
    "exit.pdf": ("crash", "exit code 7"),
    "raise.pdf": ("crash", "RuntimeError"),
    "oom.pdf": ("crash", "MemoryError"),
    "hang.pdf": ("timeout", "longer than 3 s"),
}


@pytest.mark.parametrize("workers", [1, 2], ids=["one-worker", "two-workers"])
def test_a_crashing_or_hanging_parser_costs_only_its_own_file(tmp_path: Path, workers: int) -> None:
    folder = tmp_path / "in"
    good = fh.make_corpus(folder, 8)
    for name in FAULTS:
        pf.simple_paper(folder / name, title=f"Paper that triggers {name}")
    limits = IngestLimits(parse_timeout=3.0, max_memory_mb=256)
    t0 = time.monotonic()
    with Store.open(tmp_path / "x.db") as store:
        s = ingest_paths(store, [folder], workers=workers, limits=limits, reader=fh.faulty_reader)
        rows = _rows(store)
        assert store.integrity_check() == "ok"
    elapsed = time.monotonic() - t0
    assert s.seen == len(good) + len(FAULTS) == len(rows)
    for p in good:
        assert rows[p.name]["error_kind"] is None, rows[p.name]
        assert rows[p.name]["sha256"] == fh.sha256_of(p)
    for name, (kind, words) in FAULTS.items():
        assert rows[name]["error_kind"] == kind, rows[name]
        assert words in rows[name]["error"], rows[name]
        assert rows[name]["sha256"] == fh.sha256_of(folder / name)
    assert s.errors == {"crash": 5, "timeout": 1}
    assert elapsed < 30, f"a hung parser held the batch for {elapsed:.0f} s"


def test_alarm_alone_cannot_stop_mupdf_but_the_pool_can(tmp_path: Path) -> None:
    """The billion-laughs PDF keeps MuPDF inside one C call; the parent's kill stops it."""
    hostile = fh.billion_laughs_pdf(tmp_path / "laughs.pdf", depth=5)  # ~1 s of pure C
    t0 = time.monotonic()
    doc = read_document(hostile, IngestLimits(parse_timeout=0.02))  # in-process: SIGALRM only
    overran = time.monotonic() - t0
    assert overran > 0.15, "the alarm stopped MuPDF mid-call: this test no longer shows the gap"
    assert doc.error_kind in {"timeout", "no_text"}
    big = fh.billion_laughs_pdf(tmp_path / "big-laughs.pdf", depth=8)  # ~15 min of C
    folder = tmp_path / "batch"
    fh.make_corpus(folder, 3)
    t0 = time.monotonic()
    with Store.open(tmp_path / "x.db") as store:
        ingest_paths(store, [folder, big], workers=1, limits=IngestLimits(parse_timeout=1.0))
        rows = _rows(store)
    assert time.monotonic() - t0 < 20
    assert rows["big-laughs.pdf"]["error_kind"] == "timeout"
    assert sum(r["error_kind"] is None for r in rows.values()) == 3


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _symlink_loop(path: Path) -> Path:
    path.symlink_to(path)
    return path


def _dangling(path: Path) -> Path:
    path.symlink_to(path.parent / "does-not-exist.pdf")
    return path


def _header_only(path: Path) -> Path:
    path.write_bytes(b"%PDF-1.7\n")
    return path


def _pdf_inside_zip(path: Path) -> Path:
    path.write_bytes(b"PK\x03\x04" + b"\0" * 100 + b"%PDF-1.4 not really")
    return path


def _nul_name(path: Path) -> Path:
    weird = path.with_name("we\u202eird\u200bname-\u0645.pdf")
    pf.simple_paper(weird, title="A Paper With A Right-To-Left Name")
    return weird


def _truncated(path: Path) -> Path:
    src = pf.simple_paper(path.with_name("src-for-trunc.pdf"))
    data = src.read_bytes()
    src.unlink()
    path.write_bytes(data[: len(data) // 2])
    return path


HOSTILE = {
    "billion-laughs": lambda p: fh.billion_laughs_pdf(p, depth=8),
    "flate-bomb": lambda p: fh.flate_bomb_pdf(p, megabytes=400),
    "self-referencing-page-tree": fh.self_referencing_pdf,
    "absurd-numbers": fh.huge_numbers_pdf,
    "nesting-100k-deep": fh.deep_nesting_pdf,
    "header-only": _header_only,
    "zip-with-pdf-magic": _pdf_inside_zip,
    "truncated-half": _truncated,
    "garbage": pf.garbage_pdf,
    "encrypted": pf.encrypted,
    "scanned": pf.scanned,
    "zero-pages": pf.zero_pages,
    "rtl-and-zero-width-name": _nul_name,
}
NOT_FILES = {
    "fifo": _fifo,
    "symlink-loop": _symlink_loop,
    "dangling-symlink": _dangling,
}


@pytest.mark.parametrize("case", list(HOSTILE), ids=list(HOSTILE))
def test_hostile_file_gets_one_row_and_the_batch_goes_on(tmp_path: Path, case: str) -> None:
    folder = tmp_path / "in"
    good = fh.make_corpus(folder, 2)
    bad = HOSTILE[case](folder / f"{case}.pdf")
    t0 = time.monotonic()
    with Store.open(tmp_path / "x.db") as store:
        s = ingest_paths(store, [folder], workers=2, limits=IngestLimits(parse_timeout=2.0))
        rows = _rows(store)
    assert time.monotonic() - t0 < 30
    assert s.seen == len(rows) == 3
    assert rows[bad.name]["error_kind"] in ERROR_KINDS
    assert all(rows[p.name]["error_kind"] is None for p in good)


@pytest.mark.parametrize("case", list(NOT_FILES), ids=list(NOT_FILES))
def test_paths_that_are_not_files_get_an_unreadable_row(tmp_path: Path, case: str) -> None:
    odd = NOT_FILES[case](tmp_path / f"{case}.pdf")
    good = pf.simple_paper(tmp_path / "good.pdf")
    with Store.open(tmp_path / "x.db") as store:
        s = ingest_paths(store, [odd, good], workers=2, limits=IngestLimits(parse_timeout=2.0))
        rows = _rows(store)
    assert s.seen == 2 and len(rows) == 2
    assert rows[odd.name]["error_kind"] == "unreadable"
    assert rows["good.pdf"]["error_kind"] is None


def test_a_folder_with_a_symlink_loop_is_walked_once(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    fh.make_corpus(folder, 2)
    (folder / "loop").symlink_to(folder, target_is_directory=True)
    with Store.open(tmp_path / "x.db") as store:
        s = ingest_paths(store, [folder], workers=1)
        assert s.added == 2 and len(_rows(store)) == 2


def test_a_file_changed_between_hash_and_parse_is_keyed_by_what_was_parsed(tmp_path: Path) -> None:
    p = pf.simple_paper(tmp_path / "p.pdf", title="Before")
    stale = fh.sha256_of(p)
    pf.simple_paper(p, title="After the edit")
    doc = read_document(p, sha256=stale)
    assert doc.sha256 == fh.sha256_of(p) != stale
    assert doc.front is not None and doc.front.title == "After the edit"
