"""A supervised process pool: per-task deadlines the parent enforces by killing the worker.

Why not ``concurrent.futures.ProcessPoolExecutor``: a worker that segfaults breaks the
whole executor (every pending future fails with ``BrokenProcessPool``), and nothing can
stop a worker stuck inside a long C call (MuPDF interpreting a hostile content stream
never returns to Python, so a ``SIGALRM`` handler never runs). Here each worker is a
long-lived child process fed a task or two at a time over its own pipe; the parent watches
every pipe, every process sentinel and every deadline, so:

- a task that outlives its deadline gets its worker killed (SIGKILL) and replaced; only
  that task is reported as ``timeout``;
- a worker that dies (segfault, out-of-memory kill) reports only *its* task as ``crash``;
  a replacement takes the rest;
- when nothing goes wrong no process is spawned per task: the cost is one pipe round trip.

Workers are forked (cheap, and no re-import of ``__main__``) where the platform allows,
ask the kernel to kill them if the parent dies (``PR_SET_PDEATHSIG`` on Linux, so a
``kill -9`` of the parent leaves no orphan parsing a hostile file), never write core
files, and may run under an address-space limit. This module imports nothing of ours.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing import get_all_start_methods, get_context
from multiprocessing.connection import Connection, wait
from typing import Any

#: How long a new worker may take to report ready before the pool gives up on the platform.
STARTUP_TIMEOUT = 60.0


class PoolStartupError(RuntimeError):
    """Worker processes die before they can take any task (broken environment)."""


@dataclass
class Outcome:
    """What happened to one task: a value, or ``failure`` = "timeout" / "crash" with detail."""

    key: Any
    value: Any = None
    failure: str | None = None
    detail: str = ""
    seconds: float = 0.0


def _signal_name(code: int | None) -> str:
    if code is None:
        return "unknown exit"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"signal {signal.Signals(-code).name}"
        return f"signal {-code}"
    return f"exit code {code}"


def _die_with_parent() -> None:
    """Linux: SIGKILL this process when its parent dies, even mid C call."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    except Exception:  # noqa: BLE001 - best effort: not Linux, no libc
        pass


def _address_space_bytes() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _limit_resources(memory_mb: float | None) -> None:
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash must not litter core files
    if memory_mb:
        # On top of what the worker already maps (a forked worker inherits the parent's
        # address space, which may be large in a long-lived app), not an absolute cap.
        limit = int(memory_mb * 1024 * 1024) + _address_space_bytes()
        with contextlib.suppress(ValueError, OSError):
            _, hard = resource.getrlimit(resource.RLIMIT_AS)
            if hard != resource.RLIM_INFINITY:
                limit = min(limit, hard)
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _serve(conn: Connection, func: Callable[..., Any], initializer: Callable[[], None] | None,
           memory_mb: float | None, parent_pid: int) -> None:
    """Worker main loop: one task in, one result out, until told to stop or the parent goes."""
    code = 0
    try:
        _die_with_parent()
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(0)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        faulthandler.disable()  # a crash is reported by the parent, not as a dump on the terminal
        _limit_resources(memory_mb)
        if initializer is not None:
            initializer()
        conn.send(("ready", None))
        while True:
            try:
                task = conn.recv()
            except (EOFError, OSError):
                break
            if task is None:
                break
            try:
                result = ("ok", func(*task))
            except BaseException as exc:  # noqa: BLE001 - reported to the parent, never lost
                result = ("error", f"{type(exc).__name__}: {exc}"[:500])
            try:
                conn.send(result)
            except (EOFError, OSError):
                break
            except Exception as exc:  # noqa: BLE001 - e.g. the result cannot be pickled
                conn.send(("error", f"result could not be sent back: {type(exc).__name__}: {exc}"[:500]))
    except BaseException:  # noqa: BLE001
        code = 1
    finally:
        # Leave at once: no interpreter teardown and no flushing of stdio buffers a forked
        # child may share with a parent thread (that is how forked children deadlock).
        os._exit(code)


class _Worker:
    def __init__(self, proc: Any, conn: Connection):
        self.proc = proc
        self.conn = conn
        self.ready = False
        self.born = time.monotonic()
        #: Tasks sent and not answered, in the order the worker runs them; the head runs.
        self.tasks: deque[tuple[Any, tuple[Any, ...]]] = deque()
        self.started = 0.0  # when the head task started (as far as the parent can tell)

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            if self.proc.is_alive():
                os.kill(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            self.proc.join(5)
        with contextlib.suppress(Exception):
            self.conn.close()


def default_start_method() -> str:
    """``fork`` where available: a worker starts in milliseconds and ``__main__`` is not
    re-imported (a script without a ``__main__`` guard would otherwise run itself again)."""
    methods = get_all_start_methods()
    return "fork" if "fork" in methods else "spawn"


class SupervisedPool:
    """Run ``func(*args)`` for many tasks in worker processes, each task under a deadline.

    Args:
        func: a module-level function (picklable by reference) run in the workers.
        workers: number of worker processes (at least 1).
        timeout: seconds one task may take; the parent kills the worker after that.
        initializer: run once in each new worker.
        memory_mb: address-space limit per worker (None: no limit).
        start_method: a multiprocessing start method (default: :func:`default_start_method`).
        prefetch: tasks queued per worker (2: the next file is already there when one ends).
    """

    def __init__(self, func: Callable[..., Any], workers: int, timeout: float, *,
                 initializer: Callable[[], None] | None = None, memory_mb: float | None = None,
                 start_method: str | None = None, prefetch: int = 2):
        self.func = func
        self.n = max(1, int(workers))
        self.timeout = float(timeout)
        self.initializer = initializer
        self.memory_mb = memory_mb
        self.prefetch = max(1, int(prefetch))
        self.ctx = get_context(start_method or default_start_method())
        self.workers: list[_Worker] = []
        self.spawned = 0
        self.killed = 0
        self.crashed = 0

    # ------------------------------------------------------------------ lifecycle

    def _spawn(self) -> _Worker:
        parent_conn, child_conn = self.ctx.Pipe(duplex=True)
        proc = self.ctx.Process(
            target=_serve,
            args=(child_conn, self.func, self.initializer, self.memory_mb, os.getpid()),
            daemon=True,
            name="collabscope-worker",
        )
        proc.start()
        child_conn.close()
        self.spawned += 1
        w = _Worker(proc, parent_conn)
        self.workers.append(w)
        return w

    def _retire(self, w: _Worker) -> None:
        w.kill()
        with contextlib.suppress(ValueError):
            self.workers.remove(w)

    def close(self) -> None:
        """Stop every worker: ask politely, then kill what does not leave at once."""
        for w in self.workers:
            with contextlib.suppress(Exception):
                if not w.tasks:
                    w.conn.send(None)
        deadline = time.monotonic() + 2.0
        for w in list(self.workers):
            if not w.tasks:
                with contextlib.suppress(Exception):
                    w.proc.join(max(0.0, deadline - time.monotonic()))
            w.kill()
        self.workers.clear()

    def __enter__(self) -> SupervisedPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ running

    def run(self, tasks: Iterable[tuple[Any, tuple[Any, ...]]]) -> Iterator[Outcome]:
        """Yield one :class:`Outcome` per ``(key, args)`` task, in completion order.

        Every task yields exactly once, whatever happens to its worker. The caller may
        take its time between outcomes (say, writing to a database): a result that
        arrived before its deadline is never counted as a timeout. Each worker holds up to
        ``prefetch`` tasks so it never waits for a busy parent; a task's clock starts when
        the parent sees the task before it finish (a little late, never early), and the
        tasks queued behind a crashed or killed one go back to the queue, untried.

        Raises:
            PoolStartupError: workers die before taking any task, repeatedly.
        """
        pending: deque[tuple[Any, tuple[Any, ...]]] = deque(tasks)
        want = min(self.n, len(pending))
        while len(self.workers) < want:
            self._spawn()
        startup_failures = 0
        try:
            while pending or any(w.tasks for w in self.workers):
                # Replace workers lost to kills and crashes while work remains; hand out work.
                idle = sum(1 for w in self.workers if w.ready and not w.tasks)
                starting = sum(1 for w in self.workers if not w.ready)
                while len(self.workers) < self.n and pending and idle + starting < len(pending):
                    self._spawn()
                    starting += 1
                for depth in range(1, self.prefetch + 1):  # breadth first: every idle worker first
                    for w in self.workers:
                        if not (w.ready and pending and len(w.tasks) < depth):
                            continue
                        task = pending.popleft()
                        try:
                            w.conn.send(task[1])
                        except (OSError, EOFError):
                            pending.appendleft(task)  # it died: the sentinel handles it
                            continue
                        if not w.tasks:
                            w.started = time.monotonic()
                        w.tasks.append(task)
                now = time.monotonic()
                deadlines = [w.started + self.timeout for w in self.workers if w.tasks]
                deadlines += [w.born + STARTUP_TIMEOUT for w in self.workers if not w.ready]
                wait_for = max(0.0, min(deadlines) - now) if deadlines else None
                handles: list[Any] = [w.conn for w in self.workers] + [w.proc.sentinel for w in self.workers]
                if not handles:
                    continue
                ready = set(wait(handles, timeout=wait_for))
                for w in list(self.workers):
                    kind = ""
                    if w.conn in ready or (w.proc.sentinel in ready and w.conn.poll(0)):
                        try:
                            kind, payload = w.conn.recv()
                        except (EOFError, OSError):
                            kind, payload = "died", None
                        except Exception as exc:  # noqa: BLE001 - unreadable result
                            kind, payload = "error", f"result could not be read: {type(exc).__name__}"
                        if kind == "ready":
                            w.ready = True
                            startup_failures = 0
                            continue
                        if kind in ("ok", "error") and w.tasks:
                            key = w.tasks.popleft()[0]
                            now = time.monotonic()
                            took, w.started = now - w.started, now
                            if kind == "ok":
                                yield Outcome(key, value=payload, seconds=took)
                            else:
                                yield Outcome(key, failure="crash", detail=f"the parser raised {payload}", seconds=took)
                            continue
                        if kind != "died":
                            continue
                    if kind == "died" or w.proc.sentinel in ready or not w.proc.is_alive():
                        if kind != "died" and w.conn.poll(0):
                            continue  # read what it sent before dying on the next round
                        w.proc.join(5)
                        how = _signal_name(w.proc.exitcode)
                        self._retire(w)
                        if w.tasks:
                            head = w.tasks.popleft()
                            pending.extendleft(reversed(w.tasks))  # queued behind it: never started
                            w.tasks.clear()
                            self.crashed += 1
                            yield Outcome(head[0], failure="crash", detail=how, seconds=time.monotonic() - w.started)
                        elif not w.ready:
                            startup_failures += 1
                            if startup_failures >= 3:
                                raise PoolStartupError(f"worker processes exit before starting ({how})")
                # Deadlines: kill a worker whose task ran out of time (and left no answer).
                now = time.monotonic()
                for w in list(self.workers):
                    if w.tasks and now - w.started >= self.timeout and not w.conn.poll(0):
                        head, took = w.tasks.popleft(), now - w.started
                        pending.extendleft(reversed(w.tasks))
                        w.tasks.clear()
                        self.killed += 1
                        self._retire(w)
                        yield Outcome(head[0], failure="timeout", detail=f"killed after {took:.1f} s", seconds=took)
                    elif not w.ready and now - w.born >= STARTUP_TIMEOUT:
                        self._retire(w)
                        startup_failures += 1
                        if startup_failures >= 3:
                            raise PoolStartupError(f"worker processes did not start within {STARTUP_TIMEOUT:g} s")
        finally:
            self.close()
