"""Ask one question through instructor, with every request logged and answers cached.

instructor builds the request from the response model (tool schema, JSON mode ...),
validates the answer, and re-asks with the validation error up to ``reask_budget``
times. We give it our own ``create`` function (``instructor.patch(create=...)``) so that
each request goes through :class:`~.transport.Transport` (our retries, our log rows) and
so the same path can also (a) *capture* the request without sending it - for
``--dry-run`` estimates and Batch API files - and (b) answer the first attempt with a
completion downloaded from a Batch API output file, with re-asks going live. The
per-ask :class:`~.calls.Recorder` travels in a context variable, which asyncio copies per
task, so concurrent asks never mix their rows.
"""

from __future__ import annotations

import contextvars
import functools
import logging
from dataclasses import dataclass
from typing import Any

import instructor
from instructor.core.exceptions import IncompleteOutputException, InstructorRetryException
from instructor.core.hooks import Hooks
from instructor.processing import response_schema
from pydantic import BaseModel, ValidationError

from extractor.errors import LLMAuthError, LLMError
from extractor.extract.llm.calls import CallLog, CallSpec, Recorder
from extractor.extract.llm.transport import Attempt, EndpointError, Transport

# instructor logs every failed attempt at ERROR level on stderr, which breaks the progress
# bar and repeats what llm_calls and the per-document error already record.
logging.getLogger("instructor.v2.retry").setLevel(logging.CRITICAL)

_RECORDER: contextvars.ContextVar[Recorder] = contextvars.ContextVar("collabscope_llm_recorder")

#: instructor modes that suit OpenAI-compatible chat endpoints.
SUPPORTED_MODES = ("TOOLS", "TOOLS_STRICT", "JSON", "MD_JSON", "JSON_SCHEMA")


def parse_mode(value: str) -> instructor.Mode:
    """'tools', 'TOOLS', 'md_json' -> instructor.Mode; anything else is a configuration error."""
    from extractor.errors import ConfigError

    name = (value or "").strip().upper().replace("-", "_")
    if name not in SUPPORTED_MODES:
        raise ConfigError(f"instructor_mode {value!r} is not supported; choose one of {', '.join(SUPPORTED_MODES)}")
    return instructor.Mode[name]


@functools.cache
def _prepared(model: type[BaseModel]) -> type[BaseModel]:
    """instructor's schema-carrying subclass of ``model``, built once.

    Given a plain model, instructor derives a new subclass on every call, so its
    lru-cached schema generation never hits and each request rebuilt the JSON schema
    (about 10 ms of CPU - the largest client cost at high concurrency). Handing it the
    prepared class makes both steps no-ops after the first call.
    """
    prepared = response_schema(model)
    _skip_revisits(prepared)
    return prepared


#: Response models instructor has already walked for async validators (see below).
_NO_ASYNC_VALIDATORS: set[type] = set()


def _skip_revisits(model: type[BaseModel]) -> None:
    """Walk ``model`` for instructor async validators once, not five times per request.

    instructor (1.17, v2 core) calls ``reject_async_validators`` on the response model at
    every layer of every request - the patched create, model preparation (twice), the retry
    loop, the response parser - and each call walks every field of every nested model
    through ``typing.get_args``: about 2 ms of CPU per request, the largest client cost at
    high concurrency. The answer cannot change for a given class, so our prepared classes
    are checked once here (a violation still raises) and skipped afterwards; any other model
    goes through instructor's own check unchanged.
    """
    try:
        import instructor.v2.core.patch as patch_mod
        import instructor.v2.validation.async_validators as av_mod
    except ImportError:  # another instructor layout: keep its behaviour
        return
    original = getattr(av_mod.reject_async_validators, "__wrapped_original__", av_mod.reject_async_validators)
    original(model)  # raises for a model with async validators, as instructor would
    _NO_ASYNC_VALIDATORS.add(model)
    if getattr(av_mod.reject_async_validators, "__wrapped_original__", None) is not None:
        return

    def reject_async_validators(response_model: Any) -> None:
        try:
            if response_model in _NO_ASYNC_VALIDATORS:
                return
        except TypeError:  # an unhashable annotation
            pass
        original(response_model)

    reject_async_validators.__wrapped_original__ = original  # type: ignore[attr-defined]
    av_mod.reject_async_validators = reject_async_validators
    if getattr(patch_mod, "reject_async_validators", None) is original:
        patch_mod.reject_async_validators = reject_async_validators


class _Captured(Exception):
    """Raised instead of sending: carries the request instructor prepared."""

    def __init__(self, kwargs: dict[str, Any]):
        super().__init__("captured")
        self.kwargs = kwargs


@dataclass
class AskResult:
    answer: BaseModel
    cached: bool
    reasks: int = 0
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0


def _first_line(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        errs = exc.errors()
        if errs:
            e = errs[0]
            where = ".".join(str(p) for p in e.get("loc", ())) or "answer"
            more = f" (+{len(errs) - 1} more)" if len(errs) > 1 else ""
            return f"{where}: {e.get('msg')}{more}"
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


class Asker:
    """Sends :class:`CallSpec` questions; one per backend run, shared by all workers."""

    def __init__(self, transport: Transport | None, mode: instructor.Mode, reask_budget: int, log: CallLog):
        self.transport = transport
        self.mode = mode
        self.reask_budget = reask_budget
        self.log = log
        self._create = instructor.patch(create=self._send, mode=mode)

    async def _send(self, *args: Any, **kwargs: Any) -> Any:
        rec = _RECORDER.get()
        if rec.capture:
            raise _Captured(kwargs)
        if rec.prefetched is not None:
            completion, rec.prefetched = rec.prefetched, None
            rec.on_attempt(Attempt(kwargs, 0.0, 0.0, 200, completion=completion), batch_id=rec.batch_id)
            return completion
        if self.transport is None:
            raise LLMError("no endpoint configured for a live request")
        return await self.transport.send(kwargs, rec.on_attempt)

    async def _run(self, spec: CallSpec, rec: Recorder) -> BaseModel:
        hooks = Hooks()
        hooks.on("parse:error", rec.on_parse_error)
        token = _RECORDER.set(rec)
        try:
            return await self._create(
                response_model=_prepared(spec.response_model),
                messages=[dict(m) for m in spec.messages],
                model=spec.model,
                max_retries=self.reask_budget,
                strict=False,
                hooks=hooks,
            )
        finally:
            _RECORDER.reset(token)

    async def ask(self, spec: CallSpec, *, prefetched: Any = None, batch_id: str | None = None,
                  use_cache: bool = True) -> AskResult:
        """The validated answer: from the cache, else from the endpoint (or a batch line).

        Raises:
            LLMAuthError / EndpointError: stop the batch.
            LLMError: this question failed for good (the message says why).
        """
        if use_cache:
            parsed = self.log.cached_answer(spec.cache_key)
            if parsed is not None:
                try:
                    return AskResult(spec.response_model.model_validate_json(parsed), cached=True)
                except ValidationError:
                    pass  # an answer cached by an older, compatible-looking model: ask again
        rec = Recorder(self.log, spec)
        rec.prefetched, rec.batch_id = prefetched, batch_id
        try:
            answer = await self._run(spec, rec)
        except InstructorRetryException as exc:
            cause = exc.__cause__
            if isinstance(cause, (LLMAuthError, EndpointError)):
                rec.fail(str(cause))
                raise cause from None
            if isinstance(cause, LLMError):
                rec.fail(str(cause))
                raise LLMError(f"{spec.purpose}: {cause}") from None
            message = (f"{spec.purpose}: the answer failed validation after {exc.n_attempts} attempt(s) "
                       f"(re-ask budget {self.reask_budget}): {_first_line(cause or exc)}")
            rec.fail(message)
            raise LLMError(message) from None
        except (LLMAuthError, EndpointError) as exc:
            rec.fail(str(exc))
            raise
        except IncompleteOutputException:
            message = f"{spec.purpose}: the answer was cut off (finish_reason=length); the output limit is too small"
            rec.fail(message)
            raise LLMError(message) from None
        except LLMError as exc:
            rec.fail(str(exc))
            raise LLMError(f"{spec.purpose}: {exc}") from None
        except Exception as exc:  # instructor or the client failing in a way we did not foresee
            message = f"{spec.purpose}: {type(exc).__name__}: {_first_line(exc)}"
            rec.fail(message)
            raise LLMError(self.log.redact(message) or message) from None
        rec.succeed(answer)
        return AskResult(answer, cached=False, reasks=rec.reask, requests=rec.requests,
                         prompt_tokens=rec.prompt_tokens, completion_tokens=rec.completion_tokens, cost=rec.cost)

    async def capture(self, spec: CallSpec) -> dict[str, Any]:
        """The request body instructor would send for this spec; nothing is sent."""
        rec = Recorder(CallLog(None, None, self.log.prices, self.log.redact), spec)
        rec.capture = True
        try:
            await self._run(spec, rec)
        except InstructorRetryException as exc:
            if isinstance(exc.__cause__, _Captured):
                return exc.__cause__.kwargs
            raise
        except _Captured as exc:
            return exc.kwargs
        raise LLMError("capture: the request was sent instead of captured")  # pragma: no cover
