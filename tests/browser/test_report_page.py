"""The HTML report as a reader sees it, in real headless Chromium at phone and desktop widths:
the headline cards and the country-pair chart fit the screen (nothing to scroll sideways),
so they can be printed or put in a story as they are.

Screenshots of the headline and the pair chart go to test-artifacts/ (gitignored).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from extractor.report import write_report
from extractor.schemas import Document
from tests.browser.harness import ARTIFACTS, CHROMIUM
from tests.record_factory import add, paper, put

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium "
                                                      "(apt-get install chromium chromium-driver; `make test` does it)"),
]

WIDTHS = {"phone": 390, "desktop": 1280}
CODES = ["US", "CN", "GB", "DE", "FR", "CA", "JP", "KR", "IN", "CH", "SG", "HK"]


@pytest.fixture
def report(store, tmp_path: Path) -> Path:
    """A report with a dozen countries, an audit, long file names and a failed document."""
    for i in range(60):
        codes = [[CODES[i % len(CODES)]], [CODES[(i * 7 + 1) % len(CODES)]]]
        rec = paper(f"paper-{i:03d}-with-a-rather-long-identifier", codes, year=2018 + i % 3,
                    models=[("Llama", "fine-tuned" if i % 2 else None, "US")] if i % 4 == 0 else [])
        put(store, rec)
    for i in range(12):
        add(store, f"a{i}", [["US"], ["CN"]] if i % 3 else [["DE"]], audit=True, reviewed=True)
    store.add_document(Document(sha256="f" * 64, source_file="a-very-long-file-name-" * 6 + ".pdf",
                                error="the cross-reference table is damaged", error_kind="corrupt"))
    out = tmp_path / "report.html"
    write_report(store, out)
    return out


@pytest.mark.parametrize("device", list(WIDTHS))
def test_headline_and_pair_chart_fit_the_screen(browser, report: Path, device: str) -> None:
    width = WIDTHS[device]
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.goto(report.as_uri())
        sizes = page.evaluate("""() => ({
            scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
            cards: [...document.querySelectorAll('#headline .card')].map(c => c.getBoundingClientRect().right),
            chart: document.querySelector('#chart-pair_heatmap svg').getBoundingClientRect().width,
            chartRight: document.querySelector('#chart-pair_heatmap').getBoundingClientRect().right,
            tick: Math.min(...[...document.querySelectorAll('#chart-pair_heatmap svg text')]
                           .map(t => t.getBoundingClientRect().height).filter(h => h > 0)),
        })""")
        assert sizes["scroll"] <= sizes["inner"] == width, f"the page scrolls sideways at {width}px: {sizes}"
        assert sizes["cards"] and max(sizes["cards"]) <= width
        assert 0 < sizes["chart"] <= width and sizes["chartRight"] <= width
        assert sizes["tick"] >= 7, f"chart text {sizes['tick']:.1f}px high at {width}px"  # readable on a phone
        page.locator("details summary").first.click()  # an opened paper's evidence does not widen the page
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator("#headline").screenshot(path=str(ARTIFACTS / f"report-headline-{device}.png"))
        page.locator("#chart-pair_heatmap").screenshot(path=str(ARTIFACTS / f"report-pairs-{device}.png"))
    finally:
        page.close()
