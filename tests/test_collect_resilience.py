"""Collectors under pressure: rate limits counted server-side, 429 storms, kill -9 and resume, clear errors.

Request times are read on a test clock that moves only when the limiter sleeps, so the
spacing the fakes see is exactly what the limiter enforced and no test waits for it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from devtools.fake_arxiv import FakeArxiv, demo_papers
from devtools.fake_openreview import FakeOpenReview, demo_venue
from extractor.cli import app
from extractor.collect import arxiv as arxiv_collect
from extractor.collect import openreview as or_collect
from extractor.collect.base import CollectSummary, collect_pdfs
from extractor.collect.http import CollectError, Downloader, DownloadError, retry_after_seconds
from extractor.store import Store
from tests.collect_helpers import VENUE, FakeClock, polite, running_fake_openreview

runner = CliRunner()


@pytest.fixture
def fake_or() -> Iterator[FakeOpenReview]:
    yield from running_fake_openreview()
ROOT = Path(__file__).resolve().parents[1]


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in zip(times, times[1:], strict=False)]


def test_no_request_closer_than_the_host_interval_listing_and_pdfs(store: Store, tmp_path: Path) -> None:
    clock = FakeClock()
    with FakeArxiv(demo_papers(5), clock=clock.now) as fake:
        session = polite(clock, intervals={"127.0.0.1": 3.0})
        client = arxiv_collect.make_client(session, api_url=fake.api_url, page_size=2, delay_seconds=0)
        fake.refuse("/api/query", times=1, retry_after=None)  # a retry must wait its slot too
        s = arxiv_collect.collect_arxiv(store, client, query="ti:learning", api_url=fake.api_url)
        collect_pdfs(store, Downloader(session, tmp_path), s, source="arxiv")
        times = [r.at for r in fake.log]
    assert s.listed == 5 and s.downloaded == 5
    assert len(times) == 3 + 1 + 5  # three pages, one refused attempt, five PDFs
    too_close = [g for g in gaps(times) if g < 3.0 - 1e-9]
    assert too_close == [], f"requests closer than 3 s: {too_close}"


def test_a_429_storm_is_waited_out_as_retry_after_asks(store: Store, fake_or) -> None:
    clock = fake_or.test_clock
    fake_or.refuse("/notes", times=4, status=429, retry_after="30")
    client = or_collect.make_client(fake_or.url, polite(clock, default=1.0))
    s = or_collect.collect_openreview(store, client, VENUE, accepted_only=True, api_url=fake_or.url)
    assert s.listed == 5
    notes = fake_or.requests("/notes")
    assert [r.status for r in notes[:5]] == [429, 429, 429, 429, 200]
    assert all(g >= 30.0 for g in gaps([r.at for r in notes[:5]]))
    # Every request after a refusal, to any path of the host, waited the Retry-After.
    refused_at = [r.at for r in fake_or.log if r.status == 429]
    later = [r.at for r in fake_or.log if r.at > refused_at[0]]
    assert min(later) >= refused_at[0] + 30.0
    assert min(gaps([r.at for r in fake_or.log])) >= 1.0  # and never closer than the 1 s interval


def test_openreview_rate_limit_body_reset_time_is_honoured(store: Store, fake_or) -> None:
    """OpenReview's RateLimitError names when the quota resets in its JSON body, with no Retry-After header."""
    reset = (datetime.now(UTC) + timedelta(seconds=600)).isoformat().replace("+00:00", "Z")
    fake_or.refuse("/notes", times=1, retry_after=None, body={
        "name": "RateLimitError", "message": "Too many requests: You have made 37 requests, surpassing the limit "
        "of 36 requests.", "status": 429, "details": {"limit": 36, "remaining": 0, "resetTime": reset}})
    client = or_collect.make_client(fake_or.url, polite(fake_or.test_clock))
    or_collect.collect_openreview(store, client, VENUE, accepted_only=True, api_url=fake_or.url)
    first, second = fake_or.requests("/notes")[:2]
    assert first.status == 429 and second.status == 200
    assert 590 <= second.at - first.at <= 600


def test_backoff_doubles_without_retry_after_and_gives_up_with_one_error(store: Store, fake_or) -> None:
    clock = fake_or.test_clock
    fake_or.refuse("/notes", times=10, status=503, retry_after=None)
    client = or_collect.make_client(fake_or.url, polite(clock, retries=3))
    with pytest.raises(CollectError, match="OpenReview .* failed to list venue"):
        or_collect.collect_openreview(store, client, VENUE, accepted_only=True, api_url=fake_or.url)
    assert gaps([r.at for r in fake_or.requests("/notes")]) == [2.0, 4.0, 8.0]


def test_a_retry_after_too_long_stops_with_a_message(store: Store, fake_or) -> None:
    fake_or.refuse("/groups", times=1, retry_after="86400")
    client = or_collect.make_client(fake_or.url, polite(fake_or.test_clock))
    with pytest.raises(CollectError, match="asks to wait 86400 s"):
        or_collect.collect_openreview(store, client, VENUE, api_url=fake_or.url)


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=90), usegmt=True), now=now) == 90.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_size_limit_and_http_errors_leave_no_file(tmp_path: Path, fake_or) -> None:
    session = polite(fake_or.test_clock)
    down = Downloader(session, tmp_path, max_bytes=100)
    with pytest.raises(DownloadError, match="limit"):
        down.fetch(f"{fake_or.url}/pdf?id=paper0001", "a")
    with pytest.raises(DownloadError, match="HTTP 404"):
        down.fetch(f"{fake_or.url}/pdf?id=missing", "b")
    assert list(tmp_path.iterdir()) == []


def test_killed_run_resumes_without_downloading_any_file_again(tmp_path: Path) -> None:
    db, out = tmp_path / "c.db", tmp_path / "pdfs"
    fake = FakeOpenReview(*demo_venue(VENUE)).start()
    try:
        held = fake.hold("/pdf", nth=4)
        args = ["collect", "openreview", VENUE, "--accepted-only", "--out", str(out), "--db", str(db),
                "--api-url", fake.url, "--interval", "0", "--quiet"]
        proc = subprocess.Popen([sys.executable, "-c", "from extractor.cli import main; main()", *args], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert held.arrived.wait(120), proc.stderr.read() if proc.poll() is not None else "no 4th PDF request"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        held.release.set()
        done_first = {r.query["id"][0] for r in fake.requests("/pdf")[:3]}
        on_disk = {p.name for p in out.iterdir()}
        assert on_disk == {f"openreview-{i}.pdf" for i in done_first}  # no half file under a final name
        with Store.open(db) as store:  # the listing and the finished PDFs were committed
            assert store.count_venue_papers(source="openreview")["papers"] == 5
            assert store.count_venue_papers(source="openreview")["linked"] == 3
        n_before = len(fake.requests("/pdf"))
        result = runner.invoke(app, args[:-1])
        assert result.exit_code == 0, result.output
        again = {r.query["id"][0] for r in fake.requests("/pdf")[n_before:]}
        assert again.isdisjoint(done_first), f"re-downloaded {again & done_first}"
        assert len(again) == 2
        assert "PDFs 2 downloaded, 0 reused, 3 already collected" in result.output
        assert "ingested 5 new" in result.output
        assert not [p for p in out.iterdir() if p.name.startswith(".")]
    finally:
        fake.stop()


def test_unknown_venue_is_one_clear_error(tmp_path: Path, fake_or) -> None:
    result = runner.invoke(app, ["collect", "openreview", "Nope.cc/2024/Conference", "--out", str(tmp_path / "o"),
                                 "--db", str(tmp_path / "c.db"), "--api-url", fake_or.url, "--interval", "0"])
    assert result.exit_code == 1
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "venue 'Nope.cc/2024/Conference' does not exist on OpenReview" in lines[0]
    assert "Traceback" not in result.output
    assert len(fake_or.log) == 1  # it stopped at the first answer
    with Store.open(tmp_path / "c.db") as store:
        run = store.runs(1)[0]
        assert (run["command"], run["status"]) == ("collect", "failed") and "does not exist" in run["counts"]


def test_venue_with_nothing_listed_says_why(tmp_path: Path, store: Store) -> None:
    """A venue group that exists but lists no papers on API v2 (an API v1 venue, decisions not out)."""
    with FakeOpenReview([], [], venues=["ICML.cc/2019/Conference"]) as fake:
        client = or_collect.make_client(fake.url, polite(FakeClock()))
        with pytest.raises(CollectError, match="lists no accepted papers .* API v1"):
            or_collect.collect_openreview(store, client, "ICML.cc/2019/Conference", accepted_only=True,
                                          api_url=fake.url)


def test_login_needed_is_one_clear_error(tmp_path: Path) -> None:
    with FakeOpenReview(*demo_venue(VENUE), require_login=True) as fake:
        result = runner.invoke(app, ["collect", "openreview", VENUE, "--no-pdfs", "--db", str(tmp_path / "c.db"),
                                     "--api-url", fake.url, "--interval", "0"])
    assert result.exit_code == 1
    assert "without a login" in result.output and "OPENREVIEW_USERNAME" in result.output


def test_unreachable_host_is_one_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = runner.invoke(app, ["collect", "openreview", VENUE, "--no-pdfs", "--db", str(tmp_path / "c.db"),
                                 "--api-url", f"http://127.0.0.1:{port}", "--retries", "0"])
    assert result.exit_code == 1
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "127.0.0.1 is unreachable" in lines[0]


def test_out_is_required_to_download(tmp_path: Path) -> None:
    result = runner.invoke(app, ["collect", "openreview", VENUE, "--db", str(tmp_path / "c.db")])
    assert result.exit_code == 2 and "--out DIR is required" in result.output


def test_summary_counts_a_failed_pdf_and_exits_3(tmp_path: Path) -> None:
    fake = FakeOpenReview(*demo_venue(VENUE, n=2), pdf=lambda nid: b"not a pdf at all " * 100).start()
    try:
        result = runner.invoke(app, ["collect", "openreview", VENUE, "--accepted-only", "--out", str(tmp_path / "o"),
                                     "--db", str(tmp_path / "c.db"), "--api-url", fake.url, "--interval", "0"])
    finally:
        fake.stop()
    assert result.exit_code == 3, result.output
    assert "2 failed" in result.output and "not a PDF" in result.output
    s = CollectSummary(source="openreview")
    assert s.as_dict()["failed"] == 0
