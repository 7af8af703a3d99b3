"""The HTML report: renders, stays self-contained, escapes untrusted text, links to evidence."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from extractor.aggregate import CountingPolicy, summarize
from extractor.report import charts, render_report, to_svg, write_report
from extractor.schemas import RecordStatus
from tests.record_factory import add, paper, put

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//""", re.I)
EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def report_db(store):
    add(store, "evil", [["US"], ["CN"]], title=EVIL, models=[("Qwen", "used", "CN")], audit=True, reviewed=True)
    for i in range(8):
        add(store, f"a{i}", [["US"]] if i % 2 else [["CN"], ["GB"]], audit=True, reviewed=True,
            year=2018 + i % 2, models=[("Transformer", "cited-only", "US")])
    add(store, "fixme", [["US"]], truth=[["US"], ["CN"]], audit=True, year=2019)
    for i in range(20):
        put(store, paper(f"m{i:02d}", [["US"], ["CN"]] if i < 3 else [["DE"]], year=2018 + i % 2,
                         models=[("Llama", "fine-tuned", "US")] if i % 3 == 0 else []))
    put(store, paper("q", [["HK"]], status=RecordStatus.QUEUED))
    return store


def test_report_renders_with_numbers_policy_and_charts(report_db, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = write_report(report_db, out, CountingPolicy(group_hk_mo_with_cn=True))
    html = out.read_text()
    assert result.papers == 31 and result.charts >= 6
    assert "HK and MO counted as CN" in html
    assert "Papers with both US and CN authors" in html
    assert html.count("<svg") == result.charts
    assert "Trend by year" in html  # two years present
    assert "Review progress" in html and "Clopper" in html
    assert not list(tmp_path.glob("*.part"))


def test_report_is_self_contained(report_db) -> None:
    html = render_report(summarize(report_db))
    assert not EXTERNAL.search(html)
    assert "http://" not in html and "https://" not in html  # not even SVG namespace URLs
    assert "<script" not in html.lower() and "<link" not in html.lower() and "@import" not in html


def test_untrusted_title_renders_inert(report_db) -> None:
    html = render_report(summarize(report_db))
    assert EVIL not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "<img" not in html


def test_every_listed_paper_links_to_its_evidence(report_db) -> None:
    html = render_report(summarize(report_db))
    links = set(re.findall(r'href="#(p-[^"]+)"', html))
    anchors = set(re.findall(r'<details id="(p-[^"]+)"', html))
    assert links == anchors and len(links) == 31
    evil = html[html.index('id="p-evil"'):]
    evil = evil[: evil.index("</details>")]
    assert "evil.pdf" in evil and paper("evil", [["US"]]).sha256 in evil
    assert "Institute 1, US" in evil  # the affiliation as printed


def test_machine_only_is_plainly_labelled(store) -> None:
    for i in range(5):
        put(store, paper(f"m{i}", [["US"], ["CN"]]))
    html = render_report(summarize(store))
    assert "No audit has been reviewed yet" in html
    assert "interval" not in html[html.index('id="headline"'):html.index('id="charts"')].split("Method:")[0]


def test_charts_for_the_dashboard(report_db) -> None:
    from matplotlib.figure import Figure

    figs = charts(report_db, CountingPolicy())
    assert {"pair_heatmap", "country_bars", "trend", "model_flows", "model_roles", "review_progress"} <= set(figs)
    assert all(isinstance(f, Figure) for f in figs.values())
    svgs = charts(summarize(report_db), svg=True)
    assert set(svgs) == set(figs)
    for name, svg in svgs.items():
        assert svg.startswith("<svg") and "http" not in svg, name
    ids = re.findall(r'id="([^"]+)"', "".join(svgs.values()))
    assert len(ids) == len(set(ids))  # charts can share one page


def test_single_year_has_no_trend_chart(store) -> None:
    add(store, "x", [["US"]], reviewed=True)
    assert "trend" not in charts(store)


def test_to_svg_strips_metadata() -> None:
    from matplotlib.figure import Figure

    fig = Figure()
    fig.add_subplot().set_title("a <b> & c")
    svg = to_svg(fig, "t", 'title "quoted"')
    assert "<metadata" not in svg and "DOCTYPE" not in svg and "xmlns" not in svg
    assert "a &lt;b&gt; &amp; c" in svg and 'aria-label="title &quot;quoted&quot;"' in svg


def test_report_command(report_db, db_path: Path, tmp_path: Path) -> None:
    from extractor.cli import app

    report_db.close()
    out = tmp_path / "r.html"
    result = CliRunner().invoke(app, ["report", "--db", str(db_path), "--out", str(out), "--pair", "us,cn",
                                      "--count-by", "last", "--statuses", "verified+machine"])
    assert result.exit_code == 0, result.output
    assert out.exists() and "US–CN" in result.output
    bad = CliRunner().invoke(app, ["report", "--db", str(db_path), "--pair", "US"])
    assert bad.exit_code == 2 and "--pair" in bad.output
    same = CliRunner().invoke(app, ["stats", "--db", str(db_path), "--pair", "HK,CN", "--group-hk-mo"])
    assert same.exit_code == 2 and "grouped" in same.output
    stats = CliRunner().invoke(app, ["stats", "--db", str(db_path), "--json"])
    assert stats.exit_code == 0 and '"pair_share"' in stats.output


def test_empty_database_renders_everywhere(store, tmp_path: Path) -> None:
    from extractor.datacard import datacard_text

    s = summarize(store, CountingPolicy(statuses="verified"))
    assert s.papers == 0 and s.pair_share.text() == "no papers counted under this policy"
    html = render_report(s)
    assert "Counting policy" in html and not EXTERNAL.search(html)
    assert "# Data card" in datacard_text(store, files=[tmp_path / "x.csv"], fmt="csv", selection="x", exported=0)
