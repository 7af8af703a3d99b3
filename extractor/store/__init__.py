"""The store: the one SQLite file that is the source of truth, and the only code that speaks SQL.

Every read and write the pipeline, the review UI and the reports make goes through a named
method of :class:`Store`; schema changes are numbered migrations in :mod:`.migrations`.
"""

from extractor.store.database import Store, document_row, record_data_hash, utcnow

__all__ = ["Store", "document_row", "record_data_hash", "utcnow"]
