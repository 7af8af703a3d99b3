"""The ``venue`` backend (see :mod:`.backend`): a venue's own metadata as an extraction; registered as ``venue``."""

from __future__ import annotations

from extractor.extract.base import register_backend
from extractor.extract.venue.backend import VENUE_VERSION, VenueBackend, iter_venue_papers
from extractor.extract.venue.reading import positions_at, read_paper

register_backend("venue", lambda settings: VenueBackend(settings))

__all__ = ["VENUE_VERSION", "VenueBackend", "iter_venue_papers", "positions_at", "read_paper"]
