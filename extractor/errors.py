"""One exception hierarchy for the library, so the CLI can map failures to exit codes.

Messages say what failed, where, and what to do next; they never contain secrets.
"""

from __future__ import annotations


class CollabscopeError(Exception):
    """Base class: a failure the user can act on (exit code 1 from the CLI)."""

    exit_code = 1


class ConfigError(CollabscopeError):
    """Bad configuration: a flag, environment variable or config file value."""

    exit_code = 2


class StoreError(CollabscopeError):
    """The database cannot be opened, migrated or written (locked, read-only, disk full)."""


class IngestError(CollabscopeError):
    """A file could not be read as a paper. Ingest records these per document and goes on."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


class ExtractionError(CollabscopeError):
    """A backend could not produce a valid extraction for one document."""


class LLMError(ExtractionError):
    """The LLM endpoint failed in a way retries did not fix."""


class LLMAuthError(LLMError):
    """The endpoint refused the key (401/403): stop the batch at once, do not hammer."""


class ConflictError(CollabscopeError):
    """A record changed since it was read (optimistic locking); reload and redo the edit."""

    def __init__(self, paper_id: str, expected: int, actual: int):
        super().__init__(
            f"record {paper_id} was changed by someone else (you edited version {expected}, "
            f"it is now version {actual}); nothing was overwritten - reload it and redo your edit"
        )
        self.paper_id = paper_id
        self.expected = expected
        self.actual = actual


class NotFoundError(CollabscopeError):
    """A paper, record or run id that does not exist."""
