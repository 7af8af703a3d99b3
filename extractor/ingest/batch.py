"""One ingest batch, whichever engine parses it: which files to parse, and how their rows land.

Both engines, :mod:`extractor.ingest.files` (parser processes on this machine) and
:mod:`extractor.ingest.distributed` (the workers of a Dask cluster), start from the same
:class:`IngestPlan` and write through the same :class:`DocumentSink`. So what counts as
already known, what ``--retry-failed`` parses again, how ``--venue``/``--year`` label the
rows and how the summary counts them are decided once, here, and cannot differ between
the engines; an engine only decides where the parsing happens.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extractor.ingest.layout import canonical_venue
from extractor.store import Store


@dataclass
class IngestSummary:
    """The counts of one ingest; ``added`` includes the ``failed`` rows (new error rows)."""

    seen: int = 0
    added: int = 0
    skipped_known: int = 0
    failed: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    new_hashes: list[str] = field(default_factory=list)


def find_input_files(paths: Iterable[Path | str]) -> list[Path]:
    """Expand folders to the PDFs inside (recursively); files given by name are kept as is.

    A named file that is not a PDF still goes through ingest, so it gets an error row
    ("not a PDF") instead of vanishing.
    """
    out: list[Path] = []
    seen: set[Path] = set()
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found = sorted(q for q in p.rglob("*") if q.suffix.lower() == ".pdf" and q.is_file())
        else:
            found = [p]
        for q in found:
            key = q.resolve() if q.exists() else q
            if key not in seen:
                seen.add(key)
                out.append(q)
    return out


def hash_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


@dataclass
class IngestPlan:
    """What one ingest will parse: the files found, minus those the store already has.

    ``todo`` keeps the order the files were found in; its hash is None for a file this
    process could not hash (missing, unreadable, not a regular file), which still gets
    an error row. The same bytes found twice are parsed once.
    """

    seen: int
    todo: list[tuple[Path, str | None]]
    skipped_known: int
    #: Stored error rows of the files in ``todo`` are replaced by their new rows.
    retry_failed: bool = False


def plan_ingest(store: Store, paths: Iterable[Path | str], *, retry_failed: bool = False) -> IngestPlan:
    """Find the files under ``paths``, hash them, and keep those ``store`` does not skip.

    With ``retry_failed`` a file whose earlier ingest failed is planned again
    (:meth:`~extractor.store.Store.hashes_to_skip`); a file ingested fine never is.
    """
    files = find_input_files(paths)
    known = store.hashes_to_skip(retry_failed=retry_failed)
    todo: list[tuple[Path, str | None]] = []
    skipped = 0
    for f in files:
        try:
            sha = hash_file(f) if f.is_file() else None
        except OSError:
            sha = None
        if sha is not None and sha in known:
            skipped += 1
            continue
        if sha is not None:
            known.add(sha)  # the same bytes twice in one batch are parsed once
        todo.append((f, sha))
    return IngestPlan(seen=len(files), todo=todo, skipped_known=skipped, retry_failed=retry_failed)


class DocumentSink:
    """Writes the parsed ``documents`` rows of one planned ingest and counts them.

    Each :meth:`write` is one transaction (:meth:`~extractor.store.Store.add_document_rows`);
    the engine decides how many rows go in one. A row whose hash is stored by then (the
    same bytes under another name, or a concurrent ingest) counts as already known.
    """

    def __init__(self, store: Store, plan: IngestPlan, *, venue: str | None = None, year: int | None = None,
                 run_id: int | None = None, on_progress: Callable[[Any], None] | None = None):
        self.store = store
        self.venue = canonical_venue(venue) if venue else None
        self.year = year
        self.run_id = run_id
        self.replace_failed = plan.retry_failed
        self.on_progress = on_progress
        self.summary = IngestSummary(seen=plan.seen, skipped_known=plan.skipped_known)

    def write(self, rows: list[dict[str, Any]]) -> None:
        """Label ``rows`` with the batch's venue/year (given ones win over the PDF's), insert, count.

        ``on_progress`` is called with None once per row, after its transaction commits.
        """
        if not rows:
            return
        for row in rows:
            if self.venue:
                row["venue"] = self.venue
            if self.year:
                row["year"] = self.year
        s = self.summary
        for row, new in zip(rows, self.store.add_document_rows(rows, run_id=self.run_id,
                                                               replace_failed=self.replace_failed), strict=True):
            if new:
                s.added += 1
                s.new_hashes.append(row["sha256"])
                if row.get("error"):
                    kind = row.get("error_kind") or "error"
                    s.failed += 1
                    s.errors[kind] = s.errors.get(kind, 0) + 1
            else:
                s.skipped_known += 1
            if self.on_progress:
                self.on_progress(None)
