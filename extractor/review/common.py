"""What every review action shares: who may act, the decisions, the error, the machine's answer.

:mod:`extractor.review.actions` (the decisions, claims, undo) and
:mod:`extractor.review.double` (the blind second review) both build on these; neither
imports the other's internals.
"""

from __future__ import annotations

from extractor.errors import CollabscopeError
from extractor.schemas import PaperContent
from extractor.store import Store

#: The decisions a reviewer can give on a record (first or blind second review).
DECISIONS = ("approve", "correct", "reject")


class ReviewError(CollabscopeError):
    """A review action that cannot be done as asked (bad input, wrong state)."""


def check_reviewer(reviewer: str) -> str:
    """The reviewer's name, stripped; refuses an empty name and the machine's reserved names."""
    name = (reviewer or "").strip()
    if not name:
        raise ReviewError("a reviewer name is required for every review action")
    if name == "machine" or name.startswith("system:"):
        raise ReviewError(f"{name!r} is reserved for the machine; choose another reviewer name")
    return name


def machine_content(store: Store, paper_id: str) -> PaperContent | None:
    """What the machine said before any person touched the record (from the log)."""
    rows = store.log_rows(paper_id=paper_id, human_only=True, with_content=True, limit=1)
    if rows and rows[0]["before"]:
        return PaperContent.model_validate_json(rows[0]["before"])
    return None
