"""Money: the price table, the cost of one call, and token estimates for --dry-run.

Prices are data (``data/prices.toml``: USD per 1M input/output tokens, public list prices
as of a stated date, a batch discount). The user overrides them with ``price_file`` /
``--prices FILE``; an unknown model costs 0 and is reported, never guessed.

Token estimates use 4 characters per token (no tokenizer dependency, works offline for
every model). For English prompts with JSON schemas this is within about 10-20% of
tiktoken's count, which is good enough to decide whether a run costs $2 or $200.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from extractor.errors import ConfigError
from extractor.resolve.entries import DATA_DIR

DEFAULT_PRICE_FILE = DATA_DIR / "prices.toml"
CHARS_PER_TOKEN = 4


class ModelPrice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    input: float = Field(ge=0, description="USD per 1M prompt tokens")
    output: float = Field(ge=0, description="USD per 1M completion tokens")


class PriceMeta(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    as_of: str | None = None
    batch_discount: float = Field(default=0.5, ge=0, le=1)


class PriceTable(BaseModel):
    """A validated price file: ``[meta]`` plus ``[models."name"]`` tables."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    meta: PriceMeta = Field(default_factory=PriceMeta)
    models: dict[str, ModelPrice] = Field(default_factory=dict)
    source: str = ""

    def price(self, model: str | None) -> ModelPrice | None:
        """Exact name, else the longest key the model name starts with."""
        if not model:
            return None
        if model in self.models:
            return self.models[model]
        keys = [k for k in self.models if model.startswith(k)]
        return self.models[max(keys, key=len)] if keys else None

    def cost(self, model: str | None, prompt_tokens: int, completion_tokens: int, *, batch: bool = False) -> float:
        """USD for one call; 0.0 for a model the table does not know."""
        p = self.price(model)
        if p is None:
            return 0.0
        usd = (prompt_tokens * p.input + completion_tokens * p.output) / 1_000_000
        if batch:
            usd *= 1.0 - self.meta.batch_discount
        return round(usd, 8)


def estimate_tokens(text: str) -> int:
    """Characters / 4, at least 1: see the module docstring for why no tokenizer."""
    return max(1, len(text) // CHARS_PER_TOKEN)


def load_prices(path: Path | str | None = None) -> PriceTable:
    """Load a price file (default: the shipped table).

    Raises:
        ConfigError: the file is missing, not TOML, or has a bad field.
    """
    return _load(str(Path(path) if path else DEFAULT_PRICE_FILE))


@lru_cache(maxsize=8)
def _load(path: str) -> PriceTable:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read price file {path}: {exc.strerror} (set price_file or --prices)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"price file {path} is not valid TOML: {exc}") from None
    try:
        return PriceTable.model_validate({**data, "source": path})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"price file {path} is invalid: {problems}") from None
