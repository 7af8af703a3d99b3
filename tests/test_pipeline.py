"""The pipeline commands as library calls (extractor.pipeline): summaries, ``runs`` rows, the lock.

Real PDFs (tests/pdf_factory.py), a real SQLite file and the offline rules backend; the
CLI is not involved, so these are what a notebook or another program gets.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from extractor import pipeline
from extractor.config import Settings
from extractor.errors import ConfigError
from extractor.locks import LockedError
from extractor.store import Store
from tests import pdf_factory as pf


@pytest.fixture
def papers(tmp_path: Path) -> Path:
    folder = tmp_path / "papers"
    folder.mkdir()
    pf.simple_paper(folder / "a.pdf", title="Collaboration Across Borders")
    pf.simple_paper(folder / "b.pdf", title="Another Study of Things", authors="Grace Hopper",
                    affiliation="Tsinghua University, Beijing, China")
    pf.not_pdf(folder / "notes.pdf")
    return folder


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(db=tmp_path / "p.db", workers=1)


class Recorder:
    """A progress hook that remembers each step's label, total and number of advances."""

    def __init__(self) -> None:
        self.steps: list[list[Any]] = []

    @contextlib.contextmanager
    def __call__(self, label: str) -> Iterator[tuple[Any, Any]]:
        step: list[Any] = [label, None, 0]
        self.steps.append(step)

        def on_total(n: int) -> None:
            step[1] = n

        def on_progress(*args: Any, **kwargs: Any) -> None:
            step[2] += 1

        yield on_total, on_progress


def _as_json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _runs(settings: Settings) -> list[dict[str, Any]]:
    with Store.open(settings.db, create=False) as store:
        rows = sorted(store.runs(), key=lambda r: r["id"])
    return [{**r, "args": json.loads(r["args"]), "counts": json.loads(r["counts"]) if r["counts"] else None}
            for r in rows]


def test_run_returns_every_summary_and_records_one_run(papers: Path, settings: Settings) -> None:
    progress = Recorder()
    with pipeline.open_pipeline(settings, "run") as store:
        out = pipeline.run(store, settings, [papers], progress=progress)
    assert (out.ingest.seen, out.ingest.added, out.ingest.failed, out.ingest.errors) == (3, 3, 1, {"not_pdf": 1})
    assert [(r.backend, r.done, r.failed) for r in out.extract] == [("rules", 2, 0)]
    assert out.reconcile is not None and out.reconcile.created == 2
    assert out.headline["papers"] == 2 and out.headline["failed"] == 1  # the bad file has no record
    assert out.failed == 1 and not out.dry_run
    assert progress.steps == [["ingest", 3, 3], ["extract (rules)", 2, 2], ["reconcile", 2, 2]]

    [row] = _runs(settings)
    assert (row["command"], row["status"]) == ("run", "partial")  # a file failed
    assert row["args"] == {"paths": [str(papers)], "backends": ["rules"]}
    assert row["counts"] == _as_json({
        "ingest": out.ingest.__dict__ | {"new_hashes": 3},
        "extract": {"rules": out.extract[0].__dict__},
        "reconcile": out.reconcile.__dict__ | {"paper_ids": 2},
    })

    with pipeline.open_pipeline(settings, "run") as store:  # idempotent: nothing new, nothing failed now
        again = pipeline.run(store, settings, [papers])
    assert (again.ingest.added, again.ingest.skipped_known) == (0, 3)
    assert [(r.done, r.failed) for r in again.extract] == [(0, 0)]
    assert again.reconcile is not None and again.reconcile.created == 0
    assert [r["status"] for r in _runs(settings)] == ["partial", "ok"]


def test_the_steps_as_separate_commands(papers: Path, settings: Settings) -> None:
    with pipeline.open_pipeline(settings, "ingest") as store:
        ing = pipeline.ingest(store, settings, [papers], venue="nips", year=2018)
        assert {(d.venue, d.year) for d in store.iter_documents()} == {("NeurIPS", 2018)}
    with pipeline.open_pipeline(settings, "extract") as store:
        ext = pipeline.extract(store, settings)
    with pipeline.open_pipeline(settings, "reconcile") as store:
        rec = pipeline.reconcile(store, settings)
    assert (ing.added, ing.failed) == (3, 1)
    assert [(r.backend, r.done) for r in ext] == [("rules", 2)]
    assert rec.created == 2

    runs = _runs(settings)
    assert [(r["command"], r["status"]) for r in runs] == [("ingest", "partial"), ("extract", "ok")]  # reconcile: none
    assert runs[0]["args"] == {"paths": [str(papers)]}
    assert runs[0]["counts"] == _as_json(pipeline.ingest_counts(ing)) and runs[0]["counts"]["new_hashes"] == 3
    assert runs[1]["args"] == {"backends": ["rules"]}
    assert runs[1]["counts"] == _as_json({"rules": ext[0].__dict__})


def test_a_dry_run_stops_after_ingest(papers: Path, settings: Settings) -> None:
    with pipeline.open_pipeline(settings, "run") as store:
        out = pipeline.run(store, settings, [papers], dry_run=True)
        assert store.status_counts()["extractions"] == {}  # nothing extracted, nothing spent
    assert out.dry_run and out.extract == [] and out.reconcile is None
    [row] = _runs(settings)
    assert row["status"] == "ok"
    assert row["counts"] == _as_json({"dry_run": True, "ingest": pipeline.ingest_counts(out.ingest)})


def test_retry_failed_through_the_pipeline(papers: Path, settings: Settings) -> None:
    strict = settings.model_copy(update={"max_file_mb": 0.0001})
    with pipeline.open_pipeline(strict, "ingest") as store:
        first = pipeline.ingest(store, strict, [papers])
    assert first.errors == {"too_large": 3}
    with pipeline.open_pipeline(settings, "ingest") as store:
        assert pipeline.ingest(store, settings, [papers]).skipped_known == 3
        retried = pipeline.ingest(store, settings, [papers], retry_failed=True)
    assert (retried.added, retried.failed, retried.errors) == (3, 1, {"not_pdf": 1})


def test_a_second_pipeline_command_is_refused_while_one_holds_the_lock(settings: Settings) -> None:
    with pipeline.open_pipeline(settings, "run"):
        with pytest.raises(LockedError, match="collabscope run"), pipeline.open_pipeline(settings, "ingest"):
            pass
    with pipeline.open_pipeline(settings, "ingest") as store:  # released on exit
        assert store.runs() == []


def test_an_unknown_engine_is_refused_before_anything_is_recorded(papers: Path, settings: Settings) -> None:
    with pipeline.open_pipeline(settings, "ingest") as store:
        with pytest.raises(ConfigError, match="choose local or dask"):
            pipeline.ingest(store, settings, [papers], engine="spark")
        assert store.runs() == [] and store.known_hashes() == set()
