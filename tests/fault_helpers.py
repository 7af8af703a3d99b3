"""Fault injection for the reliability tests: hostile PDFs, misbehaving parsers, killed
processes, and the checks that prove nothing was lost.

Everything here is made by the tests themselves (pymupdf, raw PDF bytes, subprocesses
of this interpreter); nothing is read from outside the repository and nothing touches a
network beyond 127.0.0.1.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from extractor.ingest.files import IngestLimits, read_document_isolated
from extractor.schemas import Document

REPO = Path(__file__).resolve().parents[1]

# --------------------------------------------------------------------------- hostile PDFs


def raw_pdf(objects: dict[int, bytes]) -> bytes:
    """Assemble a PDF from numbered object bodies, with a correct xref table."""
    n = max(objects) + 1
    out = bytearray(b"%PDF-1.4\n")
    offsets: dict[int, int] = {}
    for num in sorted(objects):
        offsets[num] = len(out)
        out += b"%d 0 obj\n" % num + objects[num] + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n" % n
    for i in range(n):
        out += (b"%010d 00000 n \n" % offsets[i]) if i in offsets else b"0000000000 65535 f \n"
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (n, xref)
    return bytes(out)


def _stream(dict_body: bytes, data: bytes) -> bytes:
    return b"<< " + dict_body + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def billion_laughs_pdf(path: Path, depth: int = 8, fan: int = 10) -> Path:
    """A 2 KB PDF whose page draws a form that draws a form ... ``fan**depth`` times.

    MuPDF interprets every repetition inside one C call of ``get_text``: depth 6 takes
    about 10 s, depth 8 about 15 minutes, and no Python signal handler runs meanwhile.
    Only killing the process stops it.
    """
    objs: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
           b"/Resources << /XObject << /X %d 0 R >> >> >>" % (10 + depth),
        4: _stream(b"", b"/X Do\n"),
        10: _stream(b"/Type /XObject /Subtype /Form /BBox [0 0 612 792]", b"0 0 m 1 1 l 2 2 l h S\n" * 10),
    }
    for k in range(1, depth + 1):
        objs[10 + k] = _stream(
            b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << /XObject << /X %d 0 R >> >>" % (9 + k),
            b"/X Do\n" * fan,
        )
    path.write_bytes(raw_pdf(objs))
    return path


def self_referencing_pdf(path: Path) -> Path:
    """A page tree whose /Kids points back at itself, and a form that draws itself."""
    objs = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
           b"/Resources << /XObject << /X 5 0 R >> >> >>",
        4: _stream(b"", b"/X Do\n"),
        5: _stream(b"/Type /XObject /Subtype /Form /BBox [0 0 9 9] /Resources << /XObject << /X 5 0 R >> >>", b"/X Do\n"),
    }
    path.write_bytes(raw_pdf(objs))
    return path


def huge_numbers_pdf(path: Path) -> Path:
    """Absurd sizes: a page count of 2**62, a stream /Length of 10**18, a MediaBox of 1e308."""
    objs = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 4611686018427387904 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 1e308 1e308] /Contents 4 0 R >>",
        4: b"<< /Length 1000000000000000000 >>\nstream\nBT /F1 12 Tf (hi) Tj ET\nendstream",
    }
    path.write_bytes(raw_pdf(objs))
    return path


def deep_nesting_pdf(path: Path, depth: int = 100_000) -> Path:
    """An object that is an array nested 100,000 deep (a parser recursion bomb)."""
    objs = {
        1: b"<< /Type /Catalog /Pages 2 0 R /Deep 5 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        4: _stream(b"", b"q " * depth + b"Q " * depth),
        5: b"[" * depth + b"]" * depth,
    }
    path.write_bytes(raw_pdf(objs))
    return path


def flate_bomb_pdf(path: Path, megabytes: int = 200) -> Path:
    """A content stream that inflates ~1000x (path operators only: no text comes out)."""
    import zlib

    comp = zlib.compressobj(9)
    chunk = b"0 0 m 1 1 l S\n" * 4096
    parts = [comp.compress(chunk) for _ in range(megabytes * 1024 * 1024 // len(chunk))]
    data = b"".join(parts) + comp.flush()
    objs = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        4: _stream(b"/Filter /FlateDecode", data),
    }
    path.write_bytes(raw_pdf(objs))
    return path


# --------------------------------------------------------------------------- misbehaving parsers


def faulty_reader(path: str, limits: IngestLimits, sha256: str | None) -> Document:
    """A parser that misbehaves on cue, by file name; anything else is parsed normally.

    ``segfault*``: a real SIGSEGV in C. ``abort*``: SIGABRT. ``exit*``: the process exits.
    ``hang*``: spins in C with signals blocked (nothing but SIGKILL stops it).
    ``raise*``: a Python exception escapes the parser. ``oom*``: allocates until the
    address-space limit says no.
    """
    name = Path(path).name
    if name.startswith("segfault"):
        ctypes.string_at(0)
    if name.startswith("abort"):
        os.abort()
    if name.startswith("exit"):
        os._exit(7)
    if name.startswith("hang"):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM, signal.SIGTERM, signal.SIGINT})
        while True:
            time.sleep(3600)
    if name.startswith("raise"):
        raise RuntimeError("parser bug")
    if name.startswith("oom"):
        hog = [bytearray(64 * 1024 * 1024) for _ in range(1024)]  # 64 GB: the limit stops it
        return Document(sha256="0" * 64, source_file=name, error=str(len(hog)))
    return read_document_isolated(path, limits, sha256)


# --------------------------------------------------------------------------- corpora


def make_corpus(folder: Path, n: int, *, prefix: str = "paper", pages: int = 1) -> list[Path]:
    """``n`` distinct small papers (distinct titles, so distinct hashes)."""
    from tests.pdf_factory import simple_paper

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        title = f"On the Reliability of Things, Part {i}" + ("" if prefix == "paper" else f" ({prefix})")
        p = simple_paper(folder / f"{prefix}-{i:03d}.pdf", title=title, extra=f"Run {i}.")
        if pages > 1:
            import pymupdf

            doc = pymupdf.open(p)
            for k in range(pages - 1):
                doc.new_page().insert_text((72, 72), f"Page {k + 2} of paper {i}: " + "more words here. " * 30,
                                           fontsize=9)
            data = doc.tobytes(garbage=3, deflate=True, no_new_id=True)
            doc.close()
            p.write_bytes(data)
        out.append(p)
    return out


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- processes


def cli(*args: str | os.PathLike[str]) -> list[str]:
    """argv that runs the ``collabscope`` console script with this interpreter."""
    return [sys.executable, "-c", "from extractor.cli import main; main()", *map(str, args)]


def _patched_cli(patch: str, first: Path, args: tuple[str | os.PathLike[str], ...]) -> list[str]:
    """argv of a ``collabscope`` command that runs ``patch`` (Python, with ``first`` as
    ``marker``) before the CLI starts: a test hook placed in the real command line."""
    code = (
        "import sys, time, pathlib, signal\n"
        "marker = pathlib.Path(sys.argv[1])\n"
        + patch
        + "sys.argv = ['collabscope'] + sys.argv[2:]\n"
        "from extractor.cli import main; main()\n"
    )
    return [sys.executable, "-c", code, str(first), *map(str, args)]


def gated_cli(gate: Path, *args: str | os.PathLike[str]) -> list[str]:
    """argv of a ``collabscope`` run that pauses between ingest and extract, holding its lock.

    It writes ``<gate>.waiting`` when it reaches the pause and goes on once ``gate`` exists,
    so a test can act "while the first run works" without racing a fast machine.
    """
    return _patched_cli(
        "import extractor.pipeline as p\n"
        "original = p.extract_step\n"
        "def paused(*a, **k):\n"
        "    pathlib.Path(str(marker) + '.waiting').touch()\n"
        "    while not marker.exists(): time.sleep(0.01)\n"
        "    return original(*a, **k)\n"
        "p.extract_step = paused\n", gate, args)


def stalled_after_first_commit_cli(waiting: Path, *args: str | os.PathLike[str]) -> list[str]:
    """argv of a ``collabscope`` command whose first committed batch of documents is followed
    by a stall (until a signal arrives): an interrupt then lands mid-ingest for certain, with
    rows committed and the rest still to parse, however fast the machine (batches are cut
    to a few rows, so even a machine that parses every file within one commit window
    commits only some of them first). ``waiting`` is
    created when the stall begins."""
    return _patched_cli(
        "signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C raises, as in a terminal\n"
        "import extractor.ingest.files as files\n"
        "files.COMMIT_ROWS = 4  # small batches: the first commit never holds every file\n"
        "from extractor.store import Store\n"
        "original = Store.add_document_rows\n"
        "def stalled(self, *a, **k):\n"
        "    out = original(self, *a, **k)\n"
        "    if any(out) and not marker.exists():\n"
        "        marker.touch()\n"
        "        while True: time.sleep(0.01)\n"
        "    return out\n"
        "Store.add_document_rows = stalled\n", waiting, args)


def child_env(**extra: str) -> dict[str, str]:
    """The test's environment (already scrubbed by the autouse fixture) plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "COLLABSCOPE_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    env.update(extra)
    return env


def start(argv: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
          **kw: Any) -> subprocess.Popen[bytes]:
    """Start a child in its own session, so the test can find (and reap) its whole group."""
    return subprocess.Popen(list(argv), env=env or child_env(), cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True, **kw)


def kill9(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process itself (not its group: its workers must clean up on their own)."""
    try:
        os.kill(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(30)


def group_gone(pgid: int, timeout: float = 10.0) -> bool:
    """True once no process of the group is left (workers die with their parent)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # pragma: no cover
            pass
        time.sleep(0.05)
    return False


def reap_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def count_rows(db: Path, table: str, where: str = "") -> int:
    """Count rows through a read-only connection; 0 while the table does not exist yet."""
    if not db.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute(f"SELECT count(*) FROM {table} {where}").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.005) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def integrity(db: Path) -> str:
    con = sqlite3.connect(db)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def files_containing(needle: bytes, paths: Iterable[Path]) -> list[str]:
    """Which of these files (recursively for folders) contain ``needle`` in their bytes."""
    hits = []
    for p in paths:
        candidates = [q for q in p.rglob("*") if q.is_file()] if p.is_dir() else [p]
        for q in candidates:
            try:
                if needle in q.read_bytes():
                    hits.append(str(q))
            except OSError:
                continue
    return hits


# --------------------------------------------------------------------------- review saves


def save_loop(db: str, actor: str, rounds: int = 1_000_000) -> None:
    """Edit every record again and again, as a reviewer would; print each committed save.

    Run in a child process that the test kills with SIGKILL. A line ``<paper_id> <version>``
    is printed (and flushed) only after ``save_record`` returned, i.e. after COMMIT, so each
    printed line is a promise the database must keep.
    """
    from extractor.errors import ConflictError
    from extractor.schemas import RecordStatus
    from extractor.store import Store

    store = Store.open(db, create=False)
    ids = [r.paper_id for r in store.iter_records()]
    for n in range(rounds):
        for pid in ids:
            rec = store.get_record(pid)
            edited = rec.model_copy(update={
                "title": f"{(rec.title or '').split(' [')[0]} [{actor} edit {n}]",
                "status": RecordStatus.VERIFIED if n % 2 == 0 else RecordStatus.QUEUED,
            })
            try:
                saved = store.save_record(edited, expected_version=rec.version, action="correct", actor=actor,
                                          note=f"edit {n}")
            except ConflictError:
                print(f"conflict {pid}", flush=True)
                continue
            print(f"saved {pid} {saved.version}", flush=True)


def unlocked_pipeline(db: str, folder: str) -> None:
    """ingest + rules + reconcile through the library, without the CLI's pipeline lock.

    Two of these at once on one database show what SQLite alone guarantees (WAL, busy
    timeout, INSERT OR IGNORE, one write transaction per step), lock or no lock.
    """
    from extractor.config import Settings
    from extractor.extract.base import get_backend, run_extract
    from extractor.ingest.files import ingest_paths
    from extractor.reconcile.merge import run_reconcile
    from extractor.store import Store

    with Store.open(db) as store:
        s = ingest_paths(store, [folder], workers=1)
        e = run_extract(store, get_backend("rules", Settings()))
        r = run_reconcile(store)
        print(f"added {s.added} extracted {e.done} created {r.created} updated {r.updated}", flush=True)


# --------------------------------------------------------------------------- read-only as root


def without_root_file_powers() -> None:
    """``preexec_fn``: drop the capabilities that let root ignore file permissions.

    Tests run as root in CI, where ``chmod 444`` stops nobody. Dropping CAP_DAC_OVERRIDE,
    CAP_DAC_READ_SEARCH and CAP_FOWNER from the bounding set before ``exec`` leaves the
    child root by uid (it can still run the interpreter under /root) but bound by the
    permission bits, like any user. Needs Linux and CAP_SETPCAP (root has it).
    """
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop = 24
    for cap in (1, 2, 3):  # DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER
        if libc.prctl(pr_capbset_drop, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def file_size_limit(limit: int) -> Callable[[], None]:
    """``preexec_fn`` factory: the child cannot write past ``limit`` bytes in any file
    (RLIMIT_FSIZE; Python ignores SIGXFSZ, so the write fails with EFBIG like a full disk)."""

    def apply() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply
