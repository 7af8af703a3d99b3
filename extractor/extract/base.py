"""The interface every extraction backend shares, the registry, and the extract step.

A backend turns one :class:`~extractor.schemas.Document` into one
:class:`~extractor.schemas.PaperExtraction`. Backends are registered by name so the CLI
can pick them (``--backend rules,llm``) and tests can register a fake one. A backend's
``cache_key`` names everything that changes its answer (prompt version, model, schema
version): the extract step skips documents that already have an extraction under the
same key, so re-running costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from extractor.config import Settings
from extractor.errors import ConfigError, ExtractionError, LLMAuthError
from extractor.schemas import SCHEMA_VERSION, Document, ExtractionMeta, PaperExtraction
from extractor.store import Store


@runtime_checkable
class Backend(Protocol):
    """What a backend provides. ``extract`` may raise ExtractionError for one document."""

    name: str

    def cache_key(self) -> str: ...

    def meta(self) -> ExtractionMeta: ...

    def extract(self, document: Document) -> PaperExtraction: ...


@runtime_checkable
class BatchBackend(Backend, Protocol):
    """A backend that is faster over many documents at once (the async LLM runner)."""

    def extract_many(
        self,
        store: Store,
        hashes: list[str],
        *,
        run_id: int | None,
        on_progress: Callable[[str, bool], None] | None = None,
    ) -> dict[str, int]: ...


_REGISTRY: dict[str, Callable[[Settings], Backend]] = {}


def register_backend(name: str, factory: Callable[[Settings], Backend]) -> None:
    """Make a backend available by name; a later registration replaces an earlier one."""
    _REGISTRY[name] = factory


#: Built-in backends, imported on first use: a rules-only run never imports the LLM stack
#: (openai, instructor: over a second of start-up per process).
_BUILTIN = {"rules": "rules", "llm": "llm", "venue": "venue"}

#: The pseudo-backend under which second-opinion answers are stored. It lives here, not in
#: ``llm.second_opinion``, so reconcile can recognise those rows without loading the LLM stack.
SECOND_OPINION = "second_opinion"


def available_backends() -> list[str]:
    """Every backend that can be used (importing the built-in ones to find out)."""
    for name in _BUILTIN:
        _load_builtin(name)
    return sorted(_REGISTRY)


def get_backend(name: str, settings: Settings) -> Backend:
    if name not in _REGISTRY and name in _BUILTIN:
        try:
            _load_builtin(name, strict=True)
        except ImportError as exc:
            raise ConfigError(f"the {name} backend cannot be loaded ({exc}); is collabscope fully installed?") from None
    if name not in _REGISTRY:
        raise ConfigError(f"unknown backend {name!r}; choose from {', '.join(sorted(set(_REGISTRY) | set(_BUILTIN)))}")
    return _REGISTRY[name](settings)


def _load_builtin(name: str, *, strict: bool = False) -> None:
    """Import one built-in backend (it registers itself); lazily, so importing this module
    stays cheap and cycle-free and only the backends asked for are imported."""
    import importlib

    try:
        importlib.import_module(f".{_BUILTIN[name]}", __package__)
    except ImportError:  # pragma: no cover - e.g. the llm backend's dependencies are missing
        if strict:
            raise


def default_cache_key(backend: str, *parts: Any) -> str:
    return "|".join([backend, *(str(p) for p in parts), f"schema={SCHEMA_VERSION}"])


@dataclass
class ExtractSummary:
    backend: str
    todo: int = 0
    done: int = 0
    failed: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def run_extract(
    store: Store,
    backend: Backend,
    *,
    run_id: int | None = None,
    limit: int | None = None,
    on_total: Callable[[int], None] | None = None,
    on_progress: Callable[[str, bool], None] | None = None,
) -> ExtractSummary:
    """Extract every ingested document that lacks a result for this backend's cache key.

    One document's failure is stored with its reason and the batch goes on; an
    authentication failure stops the batch at once (every further call would fail too).
    """
    key = backend.cache_key()
    hashes = store.hashes_needing_extraction(backend.name, key)
    if limit is not None:
        hashes = hashes[:limit]
    summary = ExtractSummary(backend=backend.name, todo=len(hashes))
    if on_total:
        on_total(len(hashes))
    if isinstance(backend, BatchBackend):
        counts = backend.extract_many(store, hashes, run_id=run_id, on_progress=on_progress)
        summary.done = counts.get("done", 0)
        summary.failed = counts.get("failed", 0)
        summary.extra = {k: v for k, v in counts.items() if k not in ("done", "failed")}
        return summary
    meta = backend.meta()
    for sha in hashes:
        doc = store.get_document(sha)
        try:
            extraction = backend.extract(doc)
        except LLMAuthError:
            raise
        except ExtractionError as exc:
            store.save_extraction(sha, meta, key, None, error=str(exc), run_id=run_id)
            summary.failed += 1
            summary.errors.append((doc.source_file, str(exc)))
            if on_progress:
                on_progress(sha, False)
            continue
        except Exception as exc:  # a bug on one odd document must not lose the batch
            message = f"{backend.name} backend crashed: {type(exc).__name__}: {exc}"
            store.save_extraction(sha, meta, key, None, error=message, run_id=run_id)
            summary.failed += 1
            summary.errors.append((doc.source_file, message))
            if on_progress:
                on_progress(sha, False)
            continue
        store.save_extraction(sha, meta, key, extraction, run_id=run_id)
        summary.done += 1
        if on_progress:
            on_progress(sha, True)
    return summary
