"""The offline ``rules`` backend (see :mod:`.backend`); registered under the name ``rules``."""

from __future__ import annotations

from extractor.extract.base import register_backend
from extractor.extract.rules.backend import RULES_VERSION, RulesBackend
from extractor.extract.rules.lines import looks_like_names

register_backend("rules", lambda settings: RulesBackend(settings))

__all__ = ["RULES_VERSION", "RulesBackend", "looks_like_names"]
