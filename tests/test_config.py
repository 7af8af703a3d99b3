"""Configuration precedence: flag > environment > config file > default; keys stay secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractor.config import load_settings
from extractor.errors import ConfigError


def test_precedence(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[collabscope]\nmodel = "from-file"\nconcurrency = 3\ndb = "file.db"\n')
    s = load_settings(cfg, env={})
    assert (s.model, s.concurrency, str(s.db)) == ("from-file", 3, "file.db")
    s = load_settings(cfg, env={"COLLABSCOPE_MODEL": "from-env", "COLLABSCOPE_CONCURRENCY": "5"})
    assert (s.model, s.concurrency) == ("from-env", 5)
    s = load_settings(cfg, env={"COLLABSCOPE_MODEL": "from-env"}, model="from-flag", concurrency=None)
    assert (s.model, s.concurrency) == ("from-flag", 3)


def test_default_file_in_working_dir(isolated: Path) -> None:
    (isolated / "collabscope.toml").write_text('backends = ["rules", "llm"]\n')
    assert load_settings(env={}).backends == ["rules", "llm"]
    assert load_settings(env={"COLLABSCOPE_BACKENDS": "llm"}).backends == ["llm"]


def test_api_key_is_secret(tmp_path: Path) -> None:
    key = "sk-test-PLANTED-0123456789"
    s = load_settings(env={"OPENAI_API_KEY": key})
    assert s.api_key.get_secret_value() == key
    assert key not in repr(s) and key not in str(s.public_dict())
    key_file = tmp_path / "key"
    key_file.write_text(key + "\n")
    assert load_settings(env={"COLLABSCOPE_API_KEY_FILE": str(key_file)}).api_key.get_secret_value() == key


@pytest.mark.parametrize(
    "env, message",
    [({"COLLABSCOPE_CONCURRENCY": "zero"}, "concurrency"), ({"COLLABSCOPE_AUDIT_FRACTION": "2"}, "audit_fraction")],
    ids=["not-a-number", "out-of-range"],
)
def test_bad_values_name_the_field(env: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(env=env)


def test_bad_config_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("model = [unclosed")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(bad, env={})
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml", env={})
