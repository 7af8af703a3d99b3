"""Files and Batch API state for the fake server.

Batch mode is where a resumable pipeline is hardest to test: uploads, a status that only
moves when polled, an output file and an error file keyed by ``custom_id``. This store
keeps it all in memory and makes progress deterministic: a batch is ``validating`` when
created, ``in_progress`` on the first poll, and ``completed`` after ``polls_to_complete``
polls (or ``seconds_to_complete`` seconds); only then are its lines run through the same
responder as ``/v1/chat/completions``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devtools.fake_openai.shapes import error_body, new_id

__all__ = ["BatchStore", "LineResult"]

#: What running one batch line produced: (status_code, body) for an HTTP answer, or
#: (None, {"code", "message"}) for a transport failure (hang, close, truncated).
LineResult = tuple[int | None, dict[str, Any]]

SUPPORTED_ENDPOINTS = ("/v1/chat/completions",)


@dataclass
class _File:
    id: str
    filename: str
    purpose: str
    data: bytes
    created_at: int = field(default_factory=lambda: int(time.time()))

    def obj(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "expires_at": None,
            "status_details": None,
        }


class BatchStore:
    """Thread-safe in-memory ``/v1/files`` and ``/v1/batches``; bodies mirror openai types."""

    def __init__(
        self,
        run_line: Callable[[dict[str, Any]], LineResult],
        polls_to_complete: int = 2,
        seconds_to_complete: float | None = None,
    ) -> None:
        self._run_line = run_line
        self.polls_to_complete = polls_to_complete
        self.seconds_to_complete = seconds_to_complete
        self._lock = threading.RLock()
        self.files: dict[str, _File] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self._polls: dict[str, int] = {}

    # -- files ---------------------------------------------------------------------
    def add_file(self, filename: str, purpose: str, data: bytes) -> dict[str, Any]:
        """Store an upload and return its FileObject."""
        f = _File(new_id("file-"), filename, purpose, data)
        with self._lock:
            self.files[f.id] = f
        return f.obj()

    def file(self, file_id: str) -> tuple[int, Any]:
        with self._lock:
            f = self.files.get(file_id)
        return (200, f.obj()) if f else (404, error_body(404, f"No such File object: {file_id}"))

    def file_content(self, file_id: str) -> tuple[int, bytes | dict[str, Any]]:
        with self._lock:
            f = self.files.get(file_id)
        return (200, f.data) if f else (404, error_body(404, f"No such File object: {file_id}"))

    def delete_file(self, file_id: str) -> tuple[int, Any]:
        with self._lock:
            f = self.files.pop(file_id, None)
        if f is None:
            return 404, error_body(404, f"No such File object: {file_id}")
        return 200, {"id": file_id, "object": "file", "deleted": True}

    def list_files(self) -> dict[str, Any]:
        with self._lock:
            data = [f.obj() for f in self.files.values()]
        return {"object": "list", "data": data, "has_more": False}

    # -- batches -------------------------------------------------------------------
    def create_batch(self, body: dict[str, Any]) -> tuple[int, Any]:
        """POST /v1/batches: validate the request and start in ``validating``."""
        input_file_id = body.get("input_file_id")
        endpoint = body.get("endpoint")
        if not input_file_id or not endpoint or not body.get("completion_window"):
            return 400, error_body(400, "input_file_id, endpoint and completion_window are required")
        with self._lock:
            if input_file_id not in self.files:
                return 404, error_body(404, f"No such File object: {input_file_id}")
        if endpoint not in SUPPORTED_ENDPOINTS:
            return 400, error_body(400, f"endpoint {endpoint!r} is not supported by the fake server")
        now = int(time.time())
        batch: dict[str, Any] = {
            "id": new_id("batch_"),
            "object": "batch",
            "endpoint": endpoint,
            "errors": None,
            "input_file_id": input_file_id,
            "completion_window": body["completion_window"],
            "status": "validating",
            "output_file_id": None,
            "error_file_id": None,
            "created_at": now,
            "in_progress_at": None,
            "expires_at": now + 24 * 3600,
            "finalizing_at": None,
            "completed_at": None,
            "failed_at": None,
            "expired_at": None,
            "cancelling_at": None,
            "cancelled_at": None,
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "metadata": body.get("metadata"),
            "_created": time.monotonic(),
        }
        with self._lock:
            self.batches[batch["id"]] = batch
            self._polls[batch["id"]] = 0
        return 200, _public(batch)

    def retrieve_batch(self, batch_id: str) -> tuple[int, Any]:
        """GET /v1/batches/{id}: each poll may move the batch one step forward."""
        with self._lock:
            batch = self.batches.get(batch_id)
            if batch is None:
                return 404, error_body(404, f"No such Batch object: {batch_id}")
            self._polls[batch_id] += 1
            self._advance(batch)
            return 200, _public(batch)

    def cancel_batch(self, batch_id: str) -> tuple[int, Any]:
        with self._lock:
            batch = self.batches.get(batch_id)
            if batch is None:
                return 404, error_body(404, f"No such Batch object: {batch_id}")
            if batch["status"] in ("completed", "failed", "expired", "cancelled"):
                return 400, error_body(400, f"Cannot cancel a batch with status {batch['status']!r}")
            batch["status"] = "cancelling"
            batch["cancelling_at"] = int(time.time())
            return 200, _public(batch)

    def list_batches(self) -> dict[str, Any]:
        with self._lock:
            data = [_public(b) for b in self.batches.values()]
        return {"object": "list", "data": data, "has_more": False,
                "first_id": data[0]["id"] if data else None, "last_id": data[-1]["id"] if data else None}

    def _advance(self, batch: dict[str, Any]) -> None:
        now = int(time.time())
        status = batch["status"]
        if status == "cancelling":
            batch.update(status="cancelled", cancelled_at=now)
        elif status in ("validating", "in_progress"):
            if self.seconds_to_complete is not None:
                ready = time.monotonic() - batch["_created"] >= self.seconds_to_complete
            else:
                ready = self._polls[batch["id"]] >= self.polls_to_complete
            if status == "validating":
                batch.update(status="in_progress", in_progress_at=now)
            if ready:
                self._complete(batch)

    def _complete(self, batch: dict[str, Any]) -> None:
        """Run every input line through the responder and write output/error files."""
        lines = self.files[batch["input_file_id"]].data.decode("utf-8").splitlines()
        outputs: list[str] = []
        errors: list[str] = []
        problems: list[dict[str, Any]] = []
        parsed: list[dict[str, Any]] = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                if not isinstance(item.get("custom_id"), str) or not isinstance(item.get("body"), dict):
                    raise ValueError("custom_id (str) and body (object) are required")
            except (ValueError, AttributeError) as exc:
                problems.append({"code": "invalid_json_line", "line": number, "message": str(exc), "param": None})
                continue
            parsed.append(item)
        now = int(time.time())
        if problems or not parsed:
            problems = problems or [{"code": "empty_file", "line": None, "message": "no requests", "param": None}]
            batch.update(status="failed", failed_at=now, errors={"object": "list", "data": problems})
            return
        for item in parsed:
            body = dict(item["body"])
            code, payload = self._run_line(body)
            row: dict[str, Any] = {"id": new_id("batch_req_"), "custom_id": item["custom_id"]}
            if code is None:
                row.update(response=None, error=payload)
            else:
                row.update(response={"status_code": code, "request_id": new_id("req_"), "body": payload}, error=None)
            (outputs if code == 200 else errors).append(json.dumps(row))
        counts = {"total": len(parsed), "completed": len(outputs), "failed": len(errors)}
        batch.update(finalizing_at=now, completed_at=now, status="completed", request_counts=counts)
        if outputs:
            batch["output_file_id"] = self.add_file(
                "batch_output.jsonl", "batch_output", ("\n".join(outputs) + "\n").encode())["id"]
        if errors:
            batch["error_file_id"] = self.add_file(
                "batch_errors.jsonl", "batch_output", ("\n".join(errors) + "\n").encode())["id"]


def _public(batch: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in batch.items() if not k.startswith("_")}
