"""End to end in real headless Chromium: the keyboard flows, two reviewers on one record,
and hostile paper text. Starts the real ``collabscope review`` on a fixture database.

Screenshots of the record page go to test-artifacts/ (gitignored).
"""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest

from extractor.schemas import Method, RecordStatus
from extractor.store import Store
from tests.browser.harness import (
    ARTIFACTS,
    CHROMIUM,
    Keys,
    free_port,
    review_server,
    sign_in,
    start_reviewing,
    status_locator,
    wait_fix_key,
    wait_record,
)
from tests.review_fixtures import build

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium "
                                                      "(apt-get install chromium chromium-driver; `make test` does it)"),
]


@pytest.fixture
def page_factory(browser):  # type: ignore[no-untyped-def]
    contexts = []

    def make():  # type: ignore[no-untyped-def]
        ctx = browser.new_context(viewport={"width": 1500, "height": 1100})
        ctx.set_default_timeout(20000)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def record(db: Path, pid: str):  # type: ignore[no-untyped-def]
    with Store.open(db) as s:
        return s.get_record(pid)


def test_keyboard_fix_country_approve_next(tmp_path: Path, page_factory) -> None:
    ids = build(tmp_path / "k.db", tmp_path / "pdfs")
    with review_server(tmp_path / "k.db") as url:
        page = page_factory()
        sign_in(page, url, "alice")
        start_reviewing(page)
        wait_record(page, ids["munich"])
        wait_fix_key(page, ids["munich"])
        # the flagged affiliation's crop sits with its country field, enlarged: the 10-point
        # line is drawn wider than the whole page-1 view shows it
        crop = page.locator(".st-key-quickfix [data-testid='stImage'] img")
        crop.wait_for()
        page.wait_for_function("el => el.complete && el.naturalWidth > 0", arg=crop.element_handle())
        widths = page.evaluate("() => [...document.querySelectorAll('[data-testid=\"stImage\"] img')]"
                               ".map(i => i.naturalWidth)")
        assert len(widths) == 2 and widths[1] >= 900  # the page view, then the crop rendered ~960 px wide
        shot(page, "record-page")

        keys = Keys(page)  # one wrong country: F, two letters, Enter
        keys.press("f")
        keys.type("de")
        keys.press("Enter")
        wait_record(page, ids["cambridge"])
        assert keys.count == 4
        # Enter left the field: on the next record the letter keys are shortcuts, not text
        assert page.evaluate("() => !['INPUT', 'TEXTAREA'].includes(document.activeElement.tagName)")
        rec = record(tmp_path / "k.db", ids["munich"])
        assert rec.status == RecordStatus.VERIFIED
        assert (rec.affiliations[0].country, rec.affiliations[0].country_method) == ("DE", Method.HUMAN)

        keys = Keys(page)  # a correct record: A
        keys.press("a")
        wait_record(page, ids["tsinghua"])
        assert keys.count == 1
        assert record(tmp_path / "k.db", ids["cambridge"]).status == RecordStatus.VERIFIED
        shot(page, "record-page-next")

        page.keyboard.press("u")  # undo the approval: back on cambridge, in review again
        wait_record(page, ids["cambridge"])
        assert record(tmp_path / "k.db", ids["cambridge"]).status == RecordStatus.IN_REVIEW
        page.keyboard.press("s")  # skip it
        wait_record(page, ids["tsinghua"])
        page.keyboard.press("p")  # previous
        wait_record(page, ids["cambridge"])
        assert record(tmp_path / "k.db", ids["cambridge"]).status == RecordStatus.QUEUED

        page.keyboard.press("n")  # forward again, and fix to US at full speed: the letters
        wait_record(page, ids["tsinghua"])  # "u" and "s" must reach the code field,
        for key in ("f", "u", "s", "Enter"):  # never the undo and skip shortcuts
            page.keyboard.press(key)
        wait_record(page, ids["eth"])
        rec = record(tmp_path / "k.db", ids["tsinghua"])
        assert rec.status == RecordStatus.VERIFIED and rec.affiliations[0].country == "US"

        keys = Keys(page)  # nothing flagged on eth: F still lands in a field (its first
        for key in ("f", "a", "t", "Enter"):  # affiliation's code, CH, replaced by what is typed)
            keys.press(key)
        wait_record(page, ids["toronto"])
        assert keys.count == 4
        rec = record(tmp_path / "k.db", ids["eth"])
        assert rec.status == RecordStatus.VERIFIED and rec.affiliations[0].country == "AT"
        with Store.open(tmp_path / "k.db") as s:
            assert [r["action"] for r in s.log_rows(actor="alice")].count("undo") == 1


def _set_editor_country(page, pid: str, letters: str) -> None:  # type: ignore[no-untyped-def]
    box = page.locator(f".st-key-ed-{pid}-af-0-country input")
    if not box.count():  # the editor is not shown yet (the record opens on the overview)
        page.locator(".st-key-record_tab").get_by_role("radio", name="Affiliations").click()
    box.click()
    box.fill(letters)
    page.keyboard.press("Enter")
    page.locator(".st-key-save button:not([disabled])").wait_for()


def test_two_reviewers_one_record(tmp_path: Path, page_factory) -> None:
    db = tmp_path / "c.db"
    ids = build(db, tmp_path / "pdfs")
    pid = ids["munich"]
    with review_server(db) as url:
        alice, bob = page_factory(), page_factory()
        sign_in(alice, url, "alice")
        start_reviewing(alice)
        status_locator(alice, pid).wait_for()
        sign_in(bob, url, "bob", path=f"/record?paper={pid}")  # a link someone shared
        status_locator(bob, pid).wait_for()
        bob.get_by_text("alice has this record open").wait_for()

        _set_editor_country(alice, pid, "at")
        _set_editor_country(bob, pid, "ch")
        alice.locator(".st-key-save button").click()
        status_locator(alice, ids["cambridge"]).wait_for()
        assert record(db, pid).affiliations[0].country == "AT"

        bob.locator(".st-key-save button").click()
        bob.get_by_text("Someone else saved this record while you were editing").wait_for()
        shot(bob, "conflict")
        conflicts = bob.locator('[data-testid="stAlert"]', has_text="changed by someone else")
        assert conflicts.count() == 1
        assert alice.locator('[data-testid="stAlert"]', has_text="changed by someone else").count() == 0
        assert record(db, pid).affiliations[0].country == "AT"  # nothing overwritten
        bob.get_by_text("country: 'AT' -> 'CH'").wait_for()  # bob's edit is kept and shown

        bob.locator(".st-key-reapply button").click()
        bob.locator(".st-key-save button:not([disabled])").wait_for()
        bob.locator(".st-key-save button").click()
        bob.get_by_text("Saved your corrections").wait_for()
        assert record(db, pid).affiliations[0].country == "CH"
        with Store.open(db) as s:
            actions = [(r["actor"], r["action"]) for r in s.log_rows(paper_id=pid)]
            assert ("alice", "correct") in actions and actions[-1] == ("bob", "correct")
            assert s.verify_log() == []


class _Tracker(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        _Tracker.hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_hostile_title_renders_as_plain_text(tmp_path: Path, page_factory) -> None:
    port = free_port()
    tracker = http.server.HTTPServer(("127.0.0.1", port), _Tracker)
    threading.Thread(target=tracker.serve_forever, daemon=True).start()
    host = f"127.0.0.1:{port}"
    try:
        ids = build(tmp_path / "h.db", tmp_path / "pdfs", hostile_host=host)
        with review_server(tmp_path / "h.db") as url:
            page = page_factory()
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            dialogs: list[str] = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            sign_in(page, url, "alice")
            start_reviewing(page)
            status_locator(page, ids["hostile"]).wait_for()
            page.get_by_text("<script>window.__pwned = 1</script>", exact=False).first.wait_for()
            page.wait_for_timeout(1000)
            shot(page, "hostile-title")
            assert page.evaluate("window.__pwned") is None
            assert dialogs == []
            assert [u for u in requests if host in u] == []
            assert _Tracker.hits == []
            assert page.locator("strong", has_text="bold").count() == 0  # **bold** not rendered
            assert page.locator(f'img[src*="{host}"], a[href*="{host}"], a[href^="javascript"]').count() == 0
            assert page.get_by_text("⟨RLO⟩", exact=False).count() >= 1
    finally:
        tracker.shutdown()
