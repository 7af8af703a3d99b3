"""Institution, country and model-family resolution shared by every extraction backend.

Floor 2: imports only :mod:`extractor.schemas` plus third-party libraries.

    from extractor.resolve import get_resolver, get_taxonomy
    res = get_resolver().resolve("Microsoft Research Asia, Beijing")   # -> CN
    hits = get_taxonomy().find("We fine-tune LLaMA-2-7B and Qwen2.5-VL")
"""

from extractor.resolve.entries import OrgEntry
from extractor.resolve.models import ModelHit, Taxonomy, get_taxonomy
from extractor.resolve.resolver import Resolution, Resolver, get_resolver

__all__ = ["ModelHit", "OrgEntry", "Resolution", "Resolver", "Taxonomy", "get_resolver", "get_taxonomy"]
