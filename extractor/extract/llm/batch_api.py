"""OpenAI Batch API mode (``--batch-api``): half the price, resumable between every step.

Steps, each persisted in ``llm_batches`` before the next starts, so an interruption at
any point resumes where it stopped instead of paying twice:

    prepared   the JSONL of requests is written next to the database
    uploaded   files.create(purpose="batch") returned an input file id
    submitted  batches.create returned a batch id; polling until it is terminal
    downloaded output and error files are saved next to the JSONL
    ingested   every line went through the same validation / grounding / cache path

The request lines are exactly what the live path would send (captured from instructor),
and each downloaded answer is fed back through instructor as the first attempt of a
normal ask: it is validated, logged in ``llm_calls`` with the batch id and the batch
price, and a validation failure is re-asked live within the usual ``reask_budget``.
Documents whose answers are already cached never enter a batch.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import openai
from openai.types.chat import ChatCompletion

from extractor.errors import ExtractionError, LLMAuthError, LLMError
from extractor.extract.llm.asker import Asker
from extractor.extract.llm.calls import CallLog, CallSpec, Recorder
from extractor.extract.llm.costs import PriceTable
from extractor.extract.llm.render import Candidate
from extractor.extract.llm.stats import RunStats, accepts_info, report_progress
from extractor.extract.llm.transport import Attempt, EndpointError, Redactor
from extractor.schemas import Document, ExtractionMeta, PaperExtraction
from extractor.store import Store

ENDPOINT = "/v1/chat/completions"
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})


class BatchBackend(Protocol):
    """What a Batch API run needs of the llm backend (:class:`~.runner.LLMBackend` is one).

    Declared here so that this module does not import the runner, which starts it.
    """

    name: str
    prices: PriceTable
    redact: Redactor
    batch_poll_interval: float
    batch_max_wait: float | None

    @property
    def model(self) -> str: ...

    @property
    def endpoint(self) -> str: ...

    def cache_key(self) -> str: ...

    def meta(self) -> ExtractionMeta: ...

    def specs_for(self, doc: Document) -> tuple[CallSpec, CallSpec | None, list[Candidate]]: ...

    def new_asker(self, log: CallLog, *, offline: bool = False) -> Asker: ...

    async def process(self, asker: Asker, doc: Document, stats: RunStats) -> tuple[ExtractionMeta, PaperExtraction]: ...


def batch_dir(store: Store) -> Path:
    """``<db>.batches/`` beside the database: the JSONL and downloaded files live there."""
    path = Path(str(store.path))
    folder = path.parent / f"{path.name}.batches" if str(store.path) != ":memory:" else Path.cwd() / "collabscope.batches"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class BatchRunner:
    """Runs (or resumes) Batch API jobs for one backend over one database."""

    def __init__(self, backend: BatchBackend, store: Store, run_id: int | None):
        self.backend = backend
        self.store = store
        self.run_id = run_id
        self.log = CallLog(store, run_id, backend.prices, backend.redact)

    # ------------------------------------------------------------------ run

    def run(self, hashes: list[str], on_progress: Callable[..., None] | None = None) -> dict[str, Any]:
        return asyncio.run(self._run(hashes, on_progress))

    async def _run(self, hashes: list[str], on_progress: Callable[..., None] | None) -> dict[str, Any]:
        stats = RunStats(total=len(hashes))
        asker = self.backend.new_asker(self.log)
        self.client = asker.transport.client  # type: ignore[union-attr]
        self.progress = (on_progress, accepts_info(on_progress))
        pending = 0
        try:
            for row in self.store.open_llm_batches(self.backend.model):  # resume first: never submit a document twice
                if not await self._advance(row, asker, stats):
                    pending += 1
            wanted = set(self.store.hashes_needing_extraction(self.backend.name, self.backend.cache_key()))
            todo = [h for h in hashes if h in wanted and h not in self._in_open_batches()]
            lines, items = [], {}
            for sha in todo:
                doc = self.store.get_document(sha)
                try:
                    front, roles, _ = self.backend.specs_for(doc)
                except ExtractionError as exc:
                    self._fail(sha, str(exc), stats)
                    continue
                specs = [s for s in (front, roles) if s is not None and self.log.cached_answer(s.cache_key) is None]
                if not specs:  # everything cached: convert now, no batch needed
                    await self._finish_doc(sha, asker, stats)
                    continue
                for spec in specs:
                    custom_id = f"{sha[:16]}:{spec.purpose}"
                    body = await asker.capture(spec)
                    lines.append(json.dumps({"custom_id": custom_id, "method": "POST", "url": ENDPOINT,
                                             "body": body}, ensure_ascii=False, default=str))
                    items[custom_id] = {"sha256": sha, "purpose": spec.purpose, "cache_key": spec.cache_key}
            if lines:
                row = self._prepare(lines, items)
                if not await self._advance(row, asker, stats):
                    pending += 1
        finally:
            await self.client.close()
        out = stats.summary()
        out["pending_batches"] = pending
        return out

    def _in_open_batches(self) -> set[str]:
        out: set[str] = set()
        for row in self.store.open_llm_batches(self.backend.model):
            out.update(v["sha256"] for v in json.loads(row["items"] or "{}").values())
        return out

    def _prepare(self, lines: list[str], items: dict[str, Any]) -> dict[str, Any]:
        local_id = self.store.add_llm_batch(model=self.backend.model, backend_key=self.backend.cache_key(),
                                            items=items, request_count=len(lines), run_id=self.run_id)
        path = batch_dir(self.store) / f"batch-{local_id}.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.store.update_llm_batch(local_id, state="prepared", jsonl_path=str(path))
        return self.store.llm_batch(local_id)

    async def _advance(self, row: dict[str, Any], asker: Asker, stats: RunStats) -> bool:
        """Take one batch as far as it can go now; False when it is still running remotely."""
        local_id = row["id"]
        try:
            if row["state"] in ("preparing", "prepared"):
                path = Path(row["jsonl_path"] or "")
                if not path.exists():
                    self.store.update_llm_batch(local_id, state="failed", error=f"request file {path} is missing; re-run to rebuild")
                    return True
                upload = await self.client.files.create(file=(path.name, path.read_bytes()), purpose="batch")
                self.store.update_llm_batch(local_id, state="uploaded", input_file_id=upload.id)
                row = {**row, "state": "uploaded", "input_file_id": upload.id}
            if row["state"] == "uploaded":
                batch = await self.client.batches.create(
                    input_file_id=row["input_file_id"], endpoint=ENDPOINT, completion_window="24h",
                    metadata={"collabscope_batch": str(local_id)})
                self.store.update_llm_batch(local_id, state="submitted", batch_id=batch.id, remote_status=batch.status)
                row = {**row, "state": "submitted", "batch_id": batch.id}
            if row["state"] == "submitted":
                batch = await self._poll(local_id, row["batch_id"])
                if batch is None:
                    return False
                if batch.status == "failed" and not batch.output_file_id:
                    errors = "; ".join(e.message or "" for e in (batch.errors.data if batch.errors and batch.errors.data else []))
                    self.store.update_llm_batch(local_id, state="failed", error=f"batch failed: {errors or 'no reason given'}")
                    return True
                folder = batch_dir(self.store)
                out_path = err_path = None
                for file_id, name in ((batch.output_file_id, "output"), (batch.error_file_id, "errors")):
                    if file_id:
                        content = await self.client.files.content(file_id)
                        target = folder / f"batch-{local_id}.{name}.jsonl"
                        target.write_bytes(content.content)
                        out_path, err_path = (str(target), err_path) if name == "output" else (out_path, str(target))
                self.store.update_llm_batch(local_id, state="downloaded", output_file_id=batch.output_file_id,
                             error_file_id=batch.error_file_id, output_path=out_path, error_path=err_path)
                row = {**row, "state": "downloaded", "output_path": out_path, "error_path": err_path}
            if row["state"] == "downloaded":
                await self._ingest(row, asker, stats)
                self.store.update_llm_batch(local_id, state="ingested")
            return True
        except (openai.AuthenticationError, openai.PermissionDeniedError):
            raise LLMAuthError(f"the endpoint {self.backend.endpoint} refused the API key during Batch API step "
                               f"{row['state']!r}; check OPENAI_API_KEY. Re-run to resume.") from None
        except openai.APIError as exc:
            message = self.backend.redact(f"Batch API step {row['state']!r} failed: {exc}")
            self.store.update_llm_batch(local_id, error=message)
            raise LLMError(f"{message}; the batch state is saved - re-run to resume") from None

    async def _poll(self, local_id: int, batch_id: str) -> Any:
        """Poll until terminal, or return None when ``batch_max_wait`` runs out."""
        loop = asyncio.get_running_loop()
        deadline = None if self.backend.batch_max_wait is None else loop.time() + self.backend.batch_max_wait
        while True:
            batch = await self.client.batches.retrieve(batch_id)
            self.store.update_llm_batch(local_id, remote_status=batch.status)
            if batch.status in TERMINAL:
                return batch
            if deadline is not None and loop.time() >= deadline:
                return None
            await asyncio.sleep(self.backend.batch_poll_interval)

    async def _ingest(self, row: dict[str, Any], asker: Asker, stats: RunStats) -> None:
        items: dict[str, dict[str, str]] = json.loads(row["items"] or "{}")
        results: dict[str, dict[str, Any]] = {}
        for path in (row.get("output_path"), row.get("error_path")):
            if path and Path(path).exists():
                for line in Path(path).read_text(encoding="utf-8").splitlines():
                    if line.strip():
                        entry = json.loads(line)
                        results[entry.get("custom_id", "")] = entry
        failed: dict[str, str] = {}
        for custom_id, item in items.items():
            sha, entry = item["sha256"], results.get(custom_id)
            if sha in failed:
                continue
            doc = self.store.get_document(sha)
            front, roles, _ = self.backend.specs_for(doc)
            spec = next((s for s in (front, roles) if s is not None and s.purpose == item["purpose"]), None)
            if spec is None or spec.cache_key != item["cache_key"]:
                continue  # prompt or model changed since submission: the document is asked again later
            if self.log.cached_answer(spec.cache_key) is not None:
                continue
            response = (entry or {}).get("response") or {}
            if entry is None or response.get("status_code") != 200:
                reason = self._line_error(entry)
                self._log_line_error(spec, row["batch_id"], entry, reason)
                failed[sha] = reason
                continue
            completion = ChatCompletion.model_validate(response["body"])
            try:
                stats.add(await asker.ask(spec, prefetched=completion, batch_id=row["batch_id"]))
            except (LLMAuthError, EndpointError):
                raise
            except LLMError as exc:
                failed[sha] = str(exc)
        for sha in dict.fromkeys(i["sha256"] for i in items.values()):
            if sha in failed:
                self._fail(sha, failed[sha], stats)
            else:
                await self._finish_doc(sha, asker, stats)

    @staticmethod
    def _line_error(entry: dict[str, Any] | None) -> str:
        if entry is None:
            return "the batch returned no result for this request (expired or cancelled); re-run to retry"
        response = entry.get("response") or {}
        error = entry.get("error") or (response.get("body") or {}).get("error") or {}
        status = response.get("status_code")
        return f"batch request failed ({'HTTP ' + str(status) if status else 'no response'}): {error.get('message') or error.get('code') or 'unknown error'}"

    def _log_line_error(self, spec: CallSpec, batch_id: str, entry: dict[str, Any] | None, reason: str) -> None:
        rec = Recorder(self.log, spec)
        status = ((entry or {}).get("response") or {}).get("status_code")
        rec.on_attempt(Attempt({"batch_line": True}, 0.0, 0.0, status, error=reason,
                               response_text=json.dumps(entry) if entry else None), batch_id=batch_id)

    def _fail(self, sha: str, reason: str, stats: RunStats) -> None:
        self.store.save_extraction(sha, self.backend.meta(), self.backend.cache_key(), None,
                                   error=self.backend.redact(reason), run_id=self.run_id)
        stats.failed += 1
        self._report(sha, False, stats)

    async def _finish_doc(self, sha: str, asker: Asker, stats: RunStats) -> None:
        """All answers are cached now: convert and save (zero requests)."""
        doc = self.store.get_document(sha)
        try:
            meta, extraction = await self.backend.process(asker, doc, RunStats())
        except (LLMAuthError, EndpointError):
            raise
        except ExtractionError as exc:
            self._fail(sha, str(exc), stats)
            return
        self.store.save_extraction(sha, meta, self.backend.cache_key(), extraction, run_id=self.run_id)
        stats.done += 1
        self._report(sha, True, stats)

    def _report(self, sha: str, ok: bool, stats: RunStats) -> None:
        report_progress(*self.progress, sha, ok, stats)
