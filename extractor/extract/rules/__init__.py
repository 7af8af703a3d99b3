"""The offline ``rules`` backend (see :mod:`.backend`); registered under the name ``rules``."""

from __future__ import annotations

from ..base import register_backend
from .backend import RULES_VERSION, RulesBackend
from .lines import looks_like_names

register_backend("rules", lambda settings: RulesBackend(settings))

__all__ = ["RULES_VERSION", "RulesBackend", "looks_like_names"]
