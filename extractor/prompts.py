"""Prompt files: versioned data in ``prompts/``, loaded through a strict pydantic model.

A prompt is not code: it is a TOML file named ``<name>.v<version>.toml`` holding a name,
a version, a description, the system text, a user template (``$variables``, filled with
:class:`string.Template`, so JSON braces in the text need no escaping) and few-shot
examples. Loading checks everything a typo could break (unknown keys, a template
variable not declared or declared and unused, an example answer that is not a JSON
object, a file name that disagrees with its contents) and fails with the file and field
named, before any token is spent.

The SHA-256 of the file bytes is the prompt's content hash: it goes into every LLM call's
log row and into the cache key, so editing a prompt - even without bumping its version -
never silently reuses answers made for the old text.

Floor 2: imports only :mod:`extractor.errors` and third-party code.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from string import Template
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from extractor.errors import ConfigError

#: Override with COLLABSCOPE_PROMPTS_DIR (tests, packaged installs, prompt experiments).
DEFAULT_PROMPTS_DIR = Path(__file__).resolve().parents[1] / "prompts"

_FILE_RE = re.compile(r"^(?P<name>[a-z][a-z0-9_]*)\.v(?P<version>\d+(?:\.\d+)*)\.toml$")


class FewShotExample(BaseModel):
    """One worked example: the text the model would see and the answer it should give."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    text: str = Field(min_length=1, description="the document text, as the user template's data")
    answer: str = Field(min_length=2, description="the answer as a JSON object")

    @field_validator("answer")
    @classmethod
    def _answer_is_json_object(cls, value: str) -> str:
        try:
            data = json.loads(value)
        except ValueError as exc:
            raise ValueError(f"answer is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError("answer must be a JSON object")
        return value

    def answer_data(self) -> dict[str, Any]:
        return json.loads(self.answer)


class PromptSpec(BaseModel):
    """The contents of one prompt file; ``extra="forbid"`` turns a typo into an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    version: str = Field(pattern=r"^\d+(\.\d+)*$")
    description: str = Field(min_length=1)
    variables: list[str] = Field(min_length=1, description="names the user template uses")
    example_variable: str = Field(description="the variable an example's text stands in for")
    system: str = Field(min_length=1)
    user: str = Field(min_length=1)
    expected_completion_tokens: int = Field(default=500, gt=0, description="for --dry-run estimates")
    examples: list[FewShotExample] = Field(default_factory=list)

    @model_validator(mode="after")
    def _template_matches_variables(self) -> PromptSpec:
        template = Template(self.user)
        if not template.is_valid():
            raise ValueError("user template has an invalid $placeholder (write $$ for a literal dollar)")
        used = set(template.get_identifiers())
        declared = set(self.variables)
        if used - declared:
            raise ValueError(f"user template uses undeclared variables {sorted(used - declared)}")
        if declared - used:
            raise ValueError(f"variables {sorted(declared - used)} are declared but not used in the user template")
        if self.example_variable not in declared:
            raise ValueError(f"example_variable {self.example_variable!r} is not one of the variables")
        if "$" in self.system.replace("$$", ""):
            raise ValueError("system text must not contain $placeholders (only the user template is filled)")
        return self


@dataclass(frozen=True)
class Prompt:
    """A loaded prompt: its spec, the file it came from and the file's SHA-256."""

    spec: PromptSpec
    path: Path
    sha256: str

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def version(self) -> str:
        return self.spec.version

    @property
    def label(self) -> str:
        """``front_matter@1#3f2a9c1b`` - short enough for logs, exact enough for humans."""
        return f"{self.spec.name}@{self.spec.version}#{self.sha256[:8]}"

    def render_user(self, **values: str) -> str:
        """Fill the user template; a missing variable is a bug, so it raises KeyError."""
        return Template(self.spec.user).substitute(values)

    def messages(self, **values: str) -> list[dict[str, str]]:
        """System text, each example as a user/assistant pair, then the real request.

        Examples reuse the user template with the example text in ``example_variable``
        (other variables get a neutral placeholder), so the model sees exactly the shape
        its real input will have.
        """
        out = [{"role": "system", "content": self.spec.system}]
        for ex in self.spec.examples:
            filler = {v: f"example-{ex.name}" for v in self.spec.variables}
            filler[self.spec.example_variable] = ex.text
            out.append({"role": "user", "content": self.render_user(**filler)})
            out.append({"role": "assistant", "content": ex.answer})
        out.append({"role": "user", "content": self.render_user(**values)})
        return out


def prompts_dir() -> Path:
    return Path(os.environ.get("COLLABSCOPE_PROMPTS_DIR") or DEFAULT_PROMPTS_DIR)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def available(directory: Path | None = None) -> dict[str, list[str]]:
    """Prompt names -> versions found in the folder, oldest first."""
    found: dict[str, list[str]] = {}
    folder = directory or prompts_dir()
    for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
        m = _FILE_RE.match(path.name)
        if m:
            found.setdefault(m["name"], []).append(m["version"])
    return {k: sorted(v, key=_version_key) for k, v in found.items()}


def load_file(path: Path) -> Prompt:
    """Load and validate one prompt file.

    Raises:
        ConfigError: unreadable file, bad TOML, a field the model rejects, or a file name
            that does not match the name/version inside.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read prompt file {path}: {exc.strerror}") from None
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"prompt file {path} is not valid UTF-8 TOML: {exc}") from None
    try:
        spec = PromptSpec.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(file)'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"prompt file {path} is invalid: {problems}") from None
    m = _FILE_RE.match(path.name)
    if not m or (m["name"], m["version"]) != (spec.name, spec.version):
        raise ConfigError(
            f"prompt file {path.name} must be named {spec.name}.v{spec.version}.toml to match the name and "
            "version inside it"
        )
    return Prompt(spec=spec, path=path, sha256=hashlib.sha256(data).hexdigest())


def load_prompt(name: str, version: str | None = None, directory: Path | None = None) -> Prompt:
    """The prompt ``name`` at ``version`` (default: the highest version in the folder)."""
    folder = directory or prompts_dir()
    return _load_cached(name, version, str(folder))


@lru_cache(maxsize=32)
def _load_cached(name: str, version: str | None, folder: str) -> Prompt:
    versions = available(Path(folder)).get(name)
    if not versions:
        raise ConfigError(f"no prompt named {name!r} in {folder} (expected a file {name}.v1.toml)")
    chosen = version or versions[-1]
    if chosen not in versions:
        raise ConfigError(f"prompt {name!r} has no version {chosen!r} in {folder}; found {', '.join(versions)}")
    return load_file(Path(folder) / f"{name}.v{chosen}.toml")


def clear_cache() -> None:
    """Forget loaded prompts (tests that write prompt files call this)."""
    _load_cached.cache_clear()
