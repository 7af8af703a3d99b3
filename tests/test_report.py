"""The HTML report: renders, stays self-contained, escapes untrusted text, links to evidence."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from extractor.aggregate import CountingPolicy, summarize
from extractor.report import charts, render_report, to_svg, write_report
from extractor.schemas import RecordStatus
from tests.record_factory import add, paper, put, review

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
    from extractor.export.datacard import datacard_text

    s = summarize(store, CountingPolicy(statuses="verified"))
    assert s.papers == 0 and s.pair_share.text() == "no papers counted under this policy"
    html = render_report(s)
    assert "Counting policy" in html and not EXTERNAL.search(html)
    assert "# Data card" in datacard_text(store, files=[tmp_path / "x.csv"], fmt="csv", selection="x", exported=0)


# The papers section written as Jinja markup: the per-paper HTML extractor.report.html builds
# in Python (index_html / evidence_html) must be this, byte for byte.
JINJA_PAPERS = """<section id="papers">
  <h2>Papers ({{ "{:,}".format(papers|length) }}{% if papers_total > papers|length %} of {{ "{:,}".format(papers_total) }}{% endif %})</h2>
  <table>
    <tr><th>paper</th><th>title</th><th>venue</th><th>year</th><th>countries</th><th>status</th></tr>
    {% for p in papers %}
    <tr><td><a href="#{{ p.anchor }}" class="mono">{{ p.id }}</a></td><td>{{ p.title }}</td><td>{{ p.venue or "" }}</td>
        <td>{{ p.year or "" }}</td><td>{{ p.countries|join(", ") }}</td><td><span class="tag {{ p.stratum }}">{{ p.stratum }}</span></td></tr>
    {% endfor %}
  </table>
  <h3>Evidence</h3>
  {% for p in papers %}
  <details id="{{ p.anchor }}">
    <summary><span class="mono">{{ p.id }}</span> {{ p.title }}</summary>
    <table class="small">
      <tr><th>source file</th><td><code>{{ p.source_file }}</code></td></tr>
      <tr><th>sha256</th><td><code>{{ p.sha256 }}</code></td></tr>
      <tr><th>status</th><td>{{ p.status }} ({{ p.stratum }}{% if p.audit %}, audit sample{% endif %}){% if p.reviewer %}; reviewed by {{ p.reviewer }} at {{ p.reviewed_at }}{% endif %}</td></tr>
      <tr><th>counted for</th><td>{{ p.countries|join(", ") or "no country" }}{% if p.machine_countries is not none %} (machine said: {{ p.machine_countries|join(", ") or "no country" }}){% endif %}</td></tr>
      <tr><th>extracted by</th><td>{{ p.backend }}{% if p.model %} · {{ p.model }}{% endif %}{% if p.prompt_version %} · prompt {{ p.prompt_version }}{% endif %}{% if p.confidence is not none %} · confidence {{ "%.2f"|format(p.confidence) }}{% endif %}</td></tr>
      {% if p.reasons %}<tr><th>review reasons</th><td>{{ p.reasons|join("; ") }}</td></tr>{% endif %}
    </table>
    <table class="small">
      <tr><th>author</th><th>affiliations</th><th>email</th></tr>
      {% for a in p.authors %}<tr><td>{{ a.name }}</td><td>{{ a.affiliation_ids|join(", ") }}</td><td>{{ a.email or "" }}</td></tr>{% endfor %}
    </table>
    <table class="small">
      <tr><th>#</th><th>as printed</th><th>institution</th><th>country</th><th>sector</th><th>how</th></tr>
      {% for f in p.affiliations %}<tr><td>{{ f.id }}</td><td>{{ f.raw }}</td><td>{{ f.institution or "" }}{% if f.department %} ({{ f.department }}){% endif %}</td>
        <td>{{ f.country or "?" }}</td><td>{{ f.sector or "" }}</td><td>{{ f.method }}{% if f.found %}, {{ f.found }} on p. {{ f.page }}{% endif %}</td></tr>{% endfor %}
    </table>
    {% if p.models %}
    <table class="small">
      <tr><th>model as written</th><th>family</th><th>role</th><th>developer</th></tr>
      {% for m in p.models %}<tr><td>{{ m.name }}</td><td>{{ m.family }}</td><td>{{ m.role or "unknown" }}</td><td>{{ m.developer or "" }}{% if m.developer_country %} ({{ m.developer_country }}){% endif %}</td></tr>{% endfor %}
    </table>
    {% endif %}
  </details>
  {% endfor %}
</section>
"""


def test_per_paper_html_is_what_the_jinja_markup_gave(report_db) -> None:
    from jinja2 import Environment, StrictUndefined

    from extractor.report.html import evidence_html, index_html, index_row, paper_row
    from extractor.schemas import ReviewReason

    add(report_db, "odd", [["US"], [None]], title="Quotes \"q\" & 'a' <b>", models=[("X&Y", None, None)])
    review(report_db, "odd", paper("odd", [["US"]], title="Quotes \"q\" & 'a' <b>"), actor="o'neil <x>")
    put(report_db, paper("untitled", [[]], venue=None, year=None).model_copy(update={"title": None}))
    put(report_db, paper("doubt", [["CN"]], status=RecordStatus.QUEUED).model_copy(update={"review_reasons": [
        ReviewReason(code="a", message="company <HQ> & 'site'"), ReviewReason(code="b", message="second")]}))
    env = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    jinja = env.from_string(JINJA_PAPERS)
    for policy in (CountingPolicy(), CountingPolicy(group_hk_mo_with_cn=True, count_by="last")):
        s = summarize(report_db, policy)
        rows = [paper_row(u) for u in s.listing.units()]
        assert len(rows) == 34 and any(r["reasons"] for r in rows) and any(r["machine_countries"] for r in rows)
        assert any(r["title"] == "(no title found)" for r in rows) and any(r["reviewer"] for r in rows)
        expected = jinja.render(papers=rows, papers_total=len(rows))
        index = "".join(index_html(index_row(u)) for u in s.listing.units(records=False))
        evidence = "".join(evidence_html(r) for r in rows)
        head, rest = expected.split("    <tr><th>paper</th><th>title</th><th>venue</th><th>year</th><th>countries</th>"
                                    "<th>status</th></tr>\n", 1)
        assert rest.startswith(index)
        assert rest[len(index):] == "  </table>\n  <h3>Evidence</h3>\n" + evidence + "</section>"
        assert head.startswith('<section id="papers">')
