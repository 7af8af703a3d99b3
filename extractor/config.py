"""Configuration: flag > environment variable > one optional config file > default.

One TOML file (``collabscope.toml`` in the working directory, or the path in
``COLLABSCOPE_CONFIG`` / ``--config``) may set any field of :class:`Settings` under a
``[collabscope]`` table (or at top level). Environment variables are ``COLLABSCOPE_<FIELD>``
plus the conventional ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``. ``COLLABSCOPE_DB`` relocates
all state, because everything (documents, LLM cache, records, audit log) lives in that
one SQLite file.

The API key is a :class:`pydantic.SecretStr`: it is read from the environment or a secrets
file and is never written to the database, logs, exports or error messages.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from extractor.errors import ConfigError

DEFAULT_CONFIG_FILE = "collabscope.toml"

#: Environment variables that are not COLLABSCOPE_<FIELD>.
_ENV_ALIASES = {
    "OPENAI_BASE_URL": "base_url",
    "OPENAI_API_KEY": "api_key",
    "COLLABSCOPE_MODEL": "model",
}


class Settings(BaseModel):
    """Every knob of the tool, with the default a fresh machine uses."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    db: Path = Path("collabscope.db")

    # ingest
    workers: int = Field(default=0, ge=0, description="ingest processes; 0 = all cores")
    max_file_mb: float = Field(default=50.0, gt=0)
    max_pages: int = Field(default=200, gt=0)
    full_text_pages: int = Field(default=60, gt=0, description="pages kept for model mentions")
    parse_timeout: float = Field(default=60.0, gt=0, description="seconds per file")

    # extraction
    backends: list[str] = Field(default_factory=lambda: ["rules"])
    base_url: str | None = None
    api_key: SecretStr | None = None
    model: str = "gpt-4o-mini"
    instructor_mode: str = "TOOLS"
    concurrency: int = Field(default=8, ge=1)
    request_timeout: float = Field(default=120.0, gt=0)
    transport_retries: int = Field(default=5, ge=0)
    reask_budget: int = Field(default=1, ge=0)
    price_file: Path | None = None

    # review and aggregation
    audit_fraction: float = Field(default=0.05, ge=0, le=1)
    audit_min: int = Field(default=50, ge=0)
    confidence_threshold: float = Field(default=0.9, ge=0, le=1)
    group_hk_mo_with_cn: bool = False
    seed: int = 20181203

    def public_dict(self) -> dict[str, Any]:
        """Settings safe to print or store: the key is reduced to whether it is set."""
        data = self.model_dump(mode="json")
        data["api_key"] = "set" if self.api_key else None
        return data


def _coerce_env(name: str, value: str) -> Any:
    field = Settings.model_fields[name]
    if field.annotation == list[str]:
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    section = data.get("collabscope", data)
    if not isinstance(section, dict):
        raise ConfigError(f"config file {path}: [collabscope] must be a table")
    return dict(section)


def load_settings(
    config_path: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    **flags: Any,
) -> Settings:
    """Build settings from defaults, the config file, the environment, then flags.

    Flags whose value is ``None`` are treated as not given, so CLI options can default
    to ``None`` and fall through to the environment and the file.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    values: dict[str, Any] = {}

    path = config_path or environ.get("COLLABSCOPE_CONFIG")
    if path:
        path = Path(path)
        if not path.exists():
            raise ConfigError(f"config file {path} does not exist (from --config or COLLABSCOPE_CONFIG)")
        values.update(_read_config_file(path))
    elif Path(DEFAULT_CONFIG_FILE).exists():
        values.update(_read_config_file(Path(DEFAULT_CONFIG_FILE)))

    for env_name, field in _ENV_ALIASES.items():
        if environ.get(env_name):
            values[field] = environ[env_name]
    for field in Settings.model_fields:
        env_name = f"COLLABSCOPE_{field.upper()}"
        if environ.get(env_name):
            values[field] = _coerce_env(field, environ[env_name])
    key_file = environ.get("COLLABSCOPE_API_KEY_FILE")
    if key_file and "api_key" not in flags:
        try:
            values["api_key"] = Path(key_file).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"cannot read COLLABSCOPE_API_KEY_FILE {key_file}: {exc.strerror}") from None

    values.update({k: v for k, v in flags.items() if v is not None})
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from None
