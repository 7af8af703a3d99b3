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
    assert "Papers with authors in both United States and China" in html
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
    assert "interval" not in html[html.index('id="headline"'):html.index('id="charts"')].split("How these are")[0]


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
    {% set roles = p.models|selectattr("role")|list %}
    <table class="small">
      <tr><th>model as written</th><th>family</th>{% if roles %}<th>role</th>{% endif %}<th>developer</th></tr>
      {% for m in p.models %}<tr><td>{{ m.name }}</td><td>{{ m.family }}</td>{% if roles %}<td>{{ m.role or "" }}</td>{% endif %}<td>{{ m.developer or "" }}{% if m.developer_country %} ({{ m.developer_country }}){% endif %}</td></tr>{% endfor %}
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


# --------------------------------------------------------------------------- what a reader sees


def _section(html: str, sid: str) -> str:
    start = html.index(f'<section id="{sid}"')
    return html[start:html.index("</section>", start)]


def test_countries_are_named_with_their_codes(report_db) -> None:
    html = render_report(summarize(report_db))
    tables = _section(html, "tables")
    assert "<td>China (CN)</td>" in tables and "<td>United Kingdom (GB)</td>" in tables
    assert "China (CN) – United States (US)" in tables
    assert "Papers with authors in both United States and China" in _section(html, "headline")
    # charts keep the short codes and name them underneath
    assert "CN China" in _section(html, "charts")


def test_headline_cards_speak_plainly(report_db) -> None:
    headline = _section(render_report(summarize(report_db)), "headline")
    assert "ppi" not in headline and "prediction-powered" not in headline
    assert "estimate corrected by the human-checked audit sample" in headline
    assert "95% interval:" in headline and "Source: collabscope" in headline


def test_heatmaps_have_a_colour_scale_and_charts_fit_the_page(report_db) -> None:
    from extractor.report.figures import WIDTH, build_figures

    s = summarize(report_db)
    figs = build_figures(s)
    for name in ("pair_heatmap", "model_flows", "developer_flows"):
        fig = figs[name]
        assert len(fig.axes) == 2, name  # the heatmap and its colour bar
        assert fig.axes[1].get_ylabel() == "papers", name
    for name, fig in figs.items():
        assert fig.get_figwidth() <= WIDTH, name
        fig.canvas.draw()  # sizes are final after a draw (constrained layout)
        sizes = [t.get_fontsize() for ax in fig.axes for t in
                 [*ax.get_xticklabels(), *ax.get_yticklabels(), ax.title, ax.xaxis.label, ax.yaxis.label]
                 if t.get_text()]
        assert sizes and min(sizes) >= 8, name
    bars = figs["country_bars"].axes[0]
    assert "China (CN)" in [t.get_text() for t in bars.get_yticklabels()]
    assert "<svg" in _section(render_report(s), "charts") and 'figure svg { width: 100%' in render_report(s)


def test_model_roles_only_when_known(store) -> None:
    for i in range(4):  # the rules backend reads no roles
        put(store, paper(f"r{i}", [["US"], ["CN"]], models=[("Llama", None, "US")]))
    s = summarize(store)
    assert "model_roles" not in charts(s)
    html = render_report(s)
    assert "unknown" not in _section(html, "tables")
    assert "strongest role" not in html and "no chart of roles is shown" in html
    evidence = html[html.index('id="p-r0"'):]
    evidence = evidence[:evidence.index("</details>")]
    assert "<th>role</th>" not in evidence and "Llama" in evidence
    put(store, paper("known", [["US"]], models=[("Llama", "fine-tuned", "US"), ("GPT", None, "US")]))
    s = summarize(store)
    html = render_report(s)
    assert "model_roles" in charts(s) and "Llama: fine-tuned" in html and "Llama: unknown" not in html


def test_failed_documents_are_listed(report_db, tmp_path: Path) -> None:
    from extractor.report.html import FailedDocuments
    from extractor.schemas import Document

    for i in range(3):
        report_db.add_document(Document(sha256=f"{i}" * 64, source_file=f"broken-{i}.pdf",
                                        error=f"damaged <xref> {i}", error_kind="corrupt"))
    out = tmp_path / "r.html"
    write_report(report_db, out)
    failed = _section(out.read_text(), "failed")
    assert "Documents that could not be read (3)" in failed
    assert "broken-0.pdf" in failed and "corrupt: damaged &lt;xref&gt; 2" in failed
    few = FailedDocuments.from_store(report_db, shown=1)
    assert few.total == 3 and len(few.rows) == 1
    assert "+2 more" in _section(render_report(summarize(report_db), failed=few), "failed")


def test_report_shows_the_oversight_estimate(report_db, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    write_report(report_db, out)
    section = _section(out.read_text(), "oversight")
    assert "This is an estimate" in section
    for label in ("as it stands", "next 5% of papers", "next 10% of papers", "next 20% of papers"):
        assert label in section
    accuracies = [float(x) for x in re.findall(r'<td class="n">([\d.]+)%</td>', section)]
    assert len(accuracies) == 4 and accuracies == sorted(accuracies) and accuracies[0] < 100
    assert "the random audit sample found" in section
