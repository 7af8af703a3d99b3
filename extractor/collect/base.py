"""What every collector shares: the summary it returns and the PDF step (download, verify, link).

A collector runs in steps that each commit before the next starts: the listing (venue
papers upserted in batches), then, for OpenReview, the author profiles, then the PDFs. A
PDF is linked to its venue paper (``sha256``) as soon as it is in place, so a killed run
re-downloads nothing that finished: the next run skips linked papers and reuses files
already in the output folder. The paths returned are for the normal ingest path
(:func:`extractor.ingest.files.ingest_paths`), which keys documents by the same sha256.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extractor.collect.http import CollectError, Downloader, DownloadError
from extractor.store import Store

#: Venue papers per upsert transaction: a kill loses at most this many listed rows.
UPSERT_BATCH = 200


@dataclass
class CollectSummary:
    """Counts of one collector run (what the CLI prints) and the PDFs for ingest."""

    source: str
    venue: str | None = None
    year: int | None = None
    listed: int = 0  # papers the source listed
    new: int = 0  # of which not stored before
    skipped: int = 0  # listed, already stored and not fetched again
    profiles_fetched: int = 0
    profiles_missing: int = 0  # ids the service returned no profile for
    downloaded: int = 0  # PDFs fetched now
    reused: int = 0  # PDFs already in --out (verified, not fetched again)
    already_linked: int = 0  # papers whose PDF was collected by an earlier run
    no_pdf: int = 0  # papers without a PDF link
    failed: list[tuple[str, str]] = field(default_factory=list)  # (key, reason)
    requests: int = 0  # HTTP requests sent (retries included)
    pdfs: list[Path] = field(default_factory=list)  # files to hand to ingest

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k not in ("pdfs", "failed")}
        out["failed"] = len(self.failed)
        out["pdfs"] = len(self.pdfs)
        return out


def venue_label(source: str, venue: str | None) -> str | None:
    """The venue label ingest gives the collected documents: ``NeurIPS.cc/2024/Conference`` -> ``NeurIPS``.

    A paperlists name (``nips``) is passed as is (ingest canonicalises it); arXiv is not a
    venue, so its PDFs keep the venue ingest reads on their first page.
    """
    if not venue or source == "arxiv":
        return None
    if source == "openreview":
        return venue.split("/", 1)[0].split(".", 1)[0] or None
    return venue


def store_in_batches(store: Store, rows: Iterable[dict[str, Any]], *, run_id: int | None = None,
                     batch: int = UPSERT_BATCH) -> int:
    """Upsert venue papers ``batch`` rows per transaction; returns how many were written."""
    pending: list[dict[str, Any]] = []
    written = 0
    for row in rows:
        pending.append(row)
        if len(pending) >= batch:
            written += store.upsert_venue_papers(pending, run_id=run_id)
            pending = []
    if pending:
        written += store.upsert_venue_papers(pending, run_id=run_id)
    return written


def collect_pdfs(store: Store, downloader: Downloader, summary: CollectSummary, *, source: str,
                 venue: str | None = None, keys: set[str] | None = None,
                 on_total: Callable[[int], None] | None = None,
                 on_progress: Callable[..., None] | None = None) -> None:
    """Download the PDFs of this source's stored papers that have none linked yet, verified, linked by sha256.

    ``keys`` limits it to those papers (the ones this run listed). A paper already linked
    counts as ``already_linked`` (its file is handed to ingest again when it is still in
    the output folder; ingest skips hashes it has). A failure of one file (HTTP error, not
    a PDF, too large) is recorded in ``summary.failed`` and the rest go on; an unreachable
    host or a very long Retry-After stops the step (:class:`CollectError`).
    """
    rows = [r for r in store.list_venue_papers(source=source, venue=venue) if keys is None or r["key"] in keys]
    todo = []
    for row in rows:
        name = row["key"].replace(":", "-")
        if row["sha256"]:
            summary.already_linked += 1
            path = downloader.target(name)
            if path.is_file():
                summary.pdfs.append(path)
        elif not row["pdf_url"]:
            summary.no_pdf += 1
        else:
            todo.append((row, name))
    if on_total:
        on_total(len(todo))
    for row, name in todo:
        try:
            got = downloader.fetch(row["pdf_url"], name)
        except DownloadError as exc:
            summary.failed.append((row["key"], exc.reason))
            if on_progress:
                on_progress(info=f"failed {row['key']}")
            continue
        except CollectError:
            raise
        store.link_venue_paper(row["key"], got.sha256)
        summary.pdfs.append(got.path)
        if got.fetched:
            summary.downloaded += 1
        else:
            summary.reused += 1
        if on_progress:
            on_progress(info=row["key"])
