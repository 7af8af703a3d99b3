"""The pipeline lock: one writer of the pipeline steps per database at a time.

SQLite already keeps the file consistent under concurrent writers (WAL, busy timeout,
short write transactions taken up front, document hashes written at most once), so two
``collabscope run`` processes on one database would not corrupt it. They would still
waste work: both parse every new file, both extract (and pay the LLM for) the same
documents, both rewrite the same records. So the pipeline commands (ingest, extract,
reconcile, run) take this lock, and a second one refuses at once with a message naming
who holds it. Readers (status, export, the review UI, audit) never take it, so reviewing
and exporting go on while a batch runs.

The lock is an ``flock`` on ``<db>.lock`` beside the database. The kernel releases it when
the holder exits, however it exits (``kill -9`` included), so a crash never leaves a stale
lock to clean up by hand. The file's content (pid, host, command, start time) is only a
hint for the message. Platforms without ``fcntl`` run unlocked (documented).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from extractor.errors import CollabscopeError, StoreError

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class LockedError(CollabscopeError):
    """Another pipeline command holds the database's lock."""


def lock_path(db: Path | str) -> Path:
    return Path(f"{db}.lock")


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "another collabscope process"
    return (f"`collabscope {info.get('command', '?')}` (pid {info.get('pid', '?')} on {info.get('host', '?')}, "
            f"since {info.get('started_at', '?')})")


@contextlib.contextmanager
def pipeline_lock(db: Path | str, command: str) -> Iterator[None]:
    """Hold the pipeline lock of ``db`` for the duration of the block.

    Raises:
        LockedError: another process holds it (the message says who and what to do).
        StoreError: the lock file cannot be created (read-only folder, missing folder).
    """
    if str(db) == ":memory:" or fcntl is None:
        yield
        return
    path = lock_path(db)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(
            f"database {db}: cannot create the lock file {path}: {exc.strerror or exc} "
            "(is the folder read-only or missing? pass another --db)"
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockedError(
                f"database {db} is busy: {_holder(path)} is running the pipeline on it. "
                "Wait for it to finish (nothing is lost: re-running later resumes where it stopped), "
                "or use another --db."
            ) from None
        except OSError as exc:  # e.g. a filesystem without locks
            raise StoreError(f"database {db}: cannot lock {path}: {exc.strerror or exc}") from None
        info = {"pid": os.getpid(), "host": socket.gethostname(), "command": command,
                "started_at": datetime.now(UTC).isoformat(timespec="seconds")}
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the flock
