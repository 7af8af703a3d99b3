"""Store methods that evaluation and simulation read: documents to match gold papers, predictions, scores."""

from __future__ import annotations

from typing import Any

from extractor.schemas import PaperExtraction
from extractor.store.base import StoreBase


class EvaluationStore(StoreBase):
    """Reads for scoring the database against gold labels or simulation truth."""

    def document_index(self, *, ok_only: bool = False) -> list[dict[str, Any]]:
        """Each document's ``sha256``, ``source_file``, ``title`` and ``error``, in ingest order.

        What a gold paper is matched by (file name, file stem, title), without page 1 or the
        full text. ``ok_only`` leaves out documents whose ingest failed.
        """
        where = "WHERE error IS NULL" if ok_only else ""
        return self._rows(f"SELECT sha256, source_file, title, error FROM documents {where} "
                          "ORDER BY ingested_at, sha256")

    def latest_extractions(self, backend: str) -> dict[str, PaperExtraction]:
        """Per document hash, the newest successful extraction by ``backend``."""
        out: dict[str, str] = {}
        for sha, data in self.db.execute(
                "SELECT sha256, data FROM extractions WHERE backend = ? AND error IS NULL AND data IS NOT NULL "
                "ORDER BY id", [backend]):
            out[sha] = data
        return {sha: PaperExtraction.model_validate_json(data) for sha, data in out.items()}

    def signal_scores(self) -> dict[str, dict[str, Any]]:
        """Per paper id, the routing scores of its signals row: ``p_wrong`` and ``priority``."""
        return {r["paper_id"]: r for r in self._rows("SELECT paper_id, p_wrong, priority FROM review_signals")}
