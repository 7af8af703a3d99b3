"""The HTML report: one self-contained page of numbers, intervals, charts and evidence.

Reads aggregates, renders ``templates/report.html.j2`` with Jinja2 (autoescape
on: titles, names and affiliation strings come from PDFs and are untrusted), inlines the
charts as SVG, and writes the page atomically, streamed: the papers are read from the
database while their rows are written, so a million-paper page never sits in memory.
Nothing on the page loads anything from the network: no scripts, fonts, images or
stylesheets from elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from extractor.aggregate import (
    DEFAULT_PAIR,
    METHOD_NOTES,
    CountingPolicy,
    Estimate,
    PaperListing,
    Summary,
    Unit,
    summarize,
)
from extractor.aggregate.oversight import OversightCurve, store_oversight_curve
from extractor.aggregate.population import UNKNOWN_ROLE
from extractor.errors import CollabscopeError
from extractor.report.figures import build_figures, country_label, to_svg
from extractor.review.view import country_name
from extractor.store import Store

CHART_TITLES = {
    "pair_heatmap": "Country pairs: papers with authors in both countries (each paper once per pair)",
    "country_bars": "Papers per country",
    "trend": "Trend by year",
    "model_flows": "Model families by author country",
    "model_roles": "Model families by role",
    "developer_flows": "Developer country × author country",
    "review_progress": "Review progress and audit error rate",
}


#: What each estimation method means, in words for the headline cards (the technical
#: notes, :data:`~extractor.aggregate.METHOD_NOTES`, are in the methods section).
PLAIN_METHOD = {
    "ppi": "estimate corrected by the human-checked audit sample",
    "bounds": "papers checked by people as checked; those still waiting for review at their worst case",
    "exact": "every paper checked by a person",
    "machine-only": "machine reading only, not yet checked by people",
    "verified-subset": "only the papers people have checked",
}
#: Failed documents the page names; the rest are counted.
FAILED_SHOWN = 200


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("extractor.report", "templates"),
        autoescape=True,  # every value is escaped unless explicitly marked safe
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["share"] = fmt_share
    env.filters["count"] = fmt_count
    env.filters["country"] = country_label
    env.filters["plain"] = lambda method: PLAIN_METHOD.get(method, method)
    return env


def fmt_share(e: Estimate) -> str:
    """``5.6% [4.1–7.3]`` for interval estimates, ``5.6%`` otherwise."""
    if e.has_interval and e.method in ("ppi", "bounds"):
        return f"{e.share:.1%} [{e.share_lo:.1%}–{e.share_hi:.1%}]"
    return f"{e.share:.1%}"


def fmt_count(e: Estimate) -> str:
    if e.has_interval and e.method in ("ppi", "bounds"):
        return f"{e.count:,.0f} [{e.lo:,.0f}–{e.hi:,.0f}]"
    return f"{e.count:,.0f}"


def charts_svg(s: Summary) -> dict[str, str]:
    """Every chart as inline SVG (the same figures :func:`extractor.report.charts` returns)."""
    out = {}
    for name, fig in build_figures(s).items():
        out[name] = to_svg(fig, name, CHART_TITLES.get(name))
        fig.clear()
    return out


def paper_row(unit: Unit) -> dict[str, Any]:
    """Everything a reader needs to check one paper's counting against its source."""
    r = unit.record
    if r is None:
        raise ValueError(f"paper {unit.paper_id}: the listing needs the unit's record")
    machine = sorted(unit.machine.countries)
    current = sorted(unit.current.countries)
    return {
        "id": r.paper_id,
        "anchor": f"p-{r.paper_id}",
        "title": r.title or "(no title found)",
        "venue": r.venue, "year": r.year,
        "countries": current,
        "machine_countries": machine if machine != current else None,
        "status": r.status.value, "stratum": unit.stratum.value, "audit": r.audit,
        "confidence": r.confidence,
        "source_file": r.source_file, "sha256": r.sha256,
        "reviewer": r.provenance.reviewer, "reviewed_at": r.provenance.reviewed_at,
        "backend": r.provenance.backend, "model": r.provenance.model, "prompt_version": r.provenance.prompt_version,
        "authors": [{"name": a.name, "email": a.email, "affiliation_ids": a.affiliation_ids} for a in r.authors],
        "affiliations": [
            {"id": a.id, "raw": a.raw, "institution": a.institution, "department": a.department, "city": a.city,
             "country": a.country, "sector": a.sector.value if a.sector else None,
             "method": a.country_method.value,
             "found": a.evidence.alignment.value if a.evidence else None,
             "page": a.evidence.page + 1 if a.evidence else None}
            for a in r.affiliations
        ],
        "models": [{"name": m.name, "family": m.family, "role": m.role.value if m.role else None,
                    "developer": m.developer, "developer_country": m.developer_country} for m in r.model_mentions],
        "reasons": [x.message for x in r.review_reasons],
    }


def _top(d: dict[Any, Estimate], k: int) -> list[tuple[Any, Estimate]]:
    return list(d.items())[:k]


def index_row(unit: Unit) -> dict[str, Any]:
    """One line of the page's index of papers (what :func:`paper_row` gives for those keys)."""
    return {
        "id": unit.paper_id,
        "anchor": f"p-{unit.paper_id}",
        "title": unit.title or "(no title found)",
        "venue": unit.venue, "year": unit.year,
        "countries": sorted(unit.current.countries),
        "stratum": unit.stratum.value,
    }


# --------------------------------------------------------------------------- per-paper HTML
# The two per-paper pieces of the page (a line of the index, a <details> of evidence) are
# built here rather than in the template: Jinja's per-value machinery would be most of a
# million-paper report's time. They give the same bytes as the equivalent Jinja markup
# (autoescaped values, trim_blocks/lstrip_blocks whitespace); tests/test_report.py renders
# the same rows through that markup and compares.

_ESCAPES = (("&", "&amp;"), (">", "&gt;"), ("<", "&lt;"), ("'", "&#39;"), ('"', "&#34;"))


def _e(value: Any) -> str:
    """A value as Jinja's autoescape prints it (markupsafe.escape of its text)."""
    text = value if type(value) is str else str(value)
    if "&" in text or "<" in text or ">" in text or "'" in text or '"' in text:
        for char, entity in _ESCAPES:
            text = text.replace(char, entity)
    return text


def index_html(p: dict[str, Any]) -> Markup:
    """One row of the index table (an :func:`index_row` or :func:`paper_row`)."""
    return Markup(
        f'    <tr><td><a href="#{_e(p["anchor"])}" class="mono">{_e(p["id"])}</a></td><td>{_e(p["title"])}</td>'
        f'<td>{_e(p["venue"] or "")}</td>\n'
        f'        <td>{_e(p["year"] or "")}</td><td>{_e(", ".join(p["countries"]))}</td>'
        f'<td><span class="tag {_e(p["stratum"])}">{_e(p["stratum"])}</span></td></tr>\n'
    )


def evidence_html(p: dict[str, Any]) -> Markup:
    """One paper's evidence block (a :func:`paper_row`)."""
    status = f'{_e(p["status"])} ({_e(p["stratum"])}{", audit sample" if p["audit"] else ""})'
    if p["reviewer"]:
        status += f'; reviewed by {_e(p["reviewer"])} at {_e(p["reviewed_at"])}'
    counted = _e(", ".join(p["countries"]) or "no country")
    if p["machine_countries"] is not None:
        counted += f' (machine said: {_e(", ".join(p["machine_countries"]) or "no country")})'
    by = _e(p["backend"])
    if p["model"]:
        by += f' · {_e(p["model"])}'
    if p["prompt_version"]:
        by += f' · prompt {_e(p["prompt_version"])}'
    if p["confidence"] is not None:
        by += f' · confidence {p["confidence"]:.2f}'
    out = [
        f'  <details id="{_e(p["anchor"])}">\n',
        f'    <summary><span class="mono">{_e(p["id"])}</span> {_e(p["title"])}</summary>\n',
        '    <table class="small">\n',
        f'      <tr><th>source file</th><td><code>{_e(p["source_file"])}</code></td></tr>\n',
        f'      <tr><th>sha256</th><td><code>{_e(p["sha256"])}</code></td></tr>\n',
        f"      <tr><th>status</th><td>{status}</td></tr>\n",
        f"      <tr><th>counted for</th><td>{counted}</td></tr>\n",
        f"      <tr><th>extracted by</th><td>{by}</td></tr>\n",
    ]
    if p["reasons"]:
        out.append(f'<tr><th>review reasons</th><td>{_e("; ".join(p["reasons"]))}</td></tr>')
    out += ['    </table>\n', '    <table class="small">\n',
            "      <tr><th>author</th><th>affiliations</th><th>email</th></tr>\n"]
    out += [f'<tr><td>{_e(a["name"])}</td><td>{_e(", ".join(map(str, a["affiliation_ids"])))}</td>'
            f'<td>{_e(a["email"] or "")}</td></tr>' for a in p["authors"]]
    out += ['    </table>\n', '    <table class="small">\n',
            "      <tr><th>#</th><th>as printed</th><th>institution</th><th>country</th><th>sector</th><th>how</th></tr>\n"]
    for f in p["affiliations"]:
        dept = f' ({_e(f["department"])})' if f["department"] else ""
        found = f', {_e(f["found"])} on p. {_e(f["page"])}' if f["found"] else ""
        out.append(f'<tr><td>{_e(f["id"])}</td><td>{_e(f["raw"])}</td><td>{_e(f["institution"] or "")}{dept}</td>\n'
                   f'        <td>{_e(f["country"] or "?")}</td><td>{_e(f["sector"] or "")}</td>'
                   f'<td>{_e(f["method"])}{found}</td></tr>')
    out.append("    </table>\n")
    if p["models"]:
        roles = any(m["role"] for m in p["models"])  # a role column only when the paper's roles were read
        out += ['    <table class="small">\n',
                f"      <tr><th>model as written</th><th>family</th>{'<th>role</th>' if roles else ''}"
                "<th>developer</th></tr>\n"]
        for m in p["models"]:
            dev = f' ({_e(m["developer_country"])})' if m["developer_country"] else ""
            role = f'<td>{_e(m["role"] or "")}</td>' if roles else ""
            out.append(f'<tr><td>{_e(m["name"])}</td><td>{_e(m["family"])}</td>{role}'
                       f'<td>{_e(m["developer"] or "")}{dev}</td></tr>')
        out.append("    </table>\n")
    out.append("  </details>\n")
    return Markup("".join(out))


class PaperRows:
    """The papers the page lists as HTML pieces, read from the listing each time it is iterated.

    The template walks the papers twice (the index, then the evidence) and asks for their
    number; this gives it both without holding a single paper beyond the one being
    written. ``evidence=False`` gives the index lines, which need no record.
    """

    def __init__(self, listing: PaperListing, limit: int | None = None, *, evidence: bool = True) -> None:
        self.listing = listing
        self.limit = limit
        self.evidence = evidence

    def __len__(self) -> int:
        n = len(self.listing)
        return n if self.limit is None else min(n, self.limit)

    def __iter__(self) -> Iterator[Markup]:
        if self.evidence:
            return (evidence_html(paper_row(u)) for u in self.listing.units(self.limit))
        return (index_html(index_row(u)) for u in self.listing.units(self.limit, records=False))


@dataclass(frozen=True)
class FailedDocuments:
    """The documents that gave no record (ingest or every extraction failed): the first
    :data:`FAILED_SHOWN` by source file, and how many there are in all."""

    rows: list[dict[str, Any]]
    total: int

    @classmethod
    def from_store(cls, store: Store, shown: int = FAILED_SHOWN) -> FailedDocuments:
        rows, total = [], 0
        for row in store.failed_document_rows():
            total += 1
            if len(rows) < shown:
                rows.append(row)
        return cls(rows, total)


def build_context(s: Summary, *, database: str | None = None, title: str | None = None,
                  max_papers: int | None = None, generated_at: str | None = None,
                  failed: FailedDocuments | None = None, oversight: OversightCurve | None = None) -> dict[str, Any]:
    """The template's data: plain values, estimates, pre-rendered SVG charts, and the papers
    (by venue, year, title), read from the summary's listing while the page is written.

    ``failed`` and ``oversight`` come from the database (:func:`write_report` reads them);
    without them their sections are left out.
    """
    pair = f"{s.pair[0]}–{s.pair[1]}"
    a, b = (country_name(c) or c for c in s.pair)
    headline = [
        (f"Papers with authors in both {a} and {b}", s.pair_share),
        ("International papers (authors in two or more countries)", s.international),
        ("Papers with no country found", s.no_country),
    ]
    flows = [(f"{fam} in papers with authors in {country_label(c)}", e)
             for (fam, c), e in _top(s.flows.by_country, 25)]  # type: ignore[misc]
    roles = [(f"{fam}: {role}", e) for (fam, role), e in s.flows.by_role.items()  # type: ignore[misc]
             if role != UNKNOWN_ROLE][:25]
    coded = list(s.countries)[:10]  # the codes the charts show (at most the heatmap's ten), with their names
    return {
        "title": title or f"collabscope report: {pair} collaboration",
        "generated_at": generated_at or datetime.now(UTC).isoformat(timespec="seconds"),
        "database": database,
        "pair": pair,
        "s": s,
        "method": s.pair_share.method,
        "method_note": METHOD_NOTES[s.pair_share.method],
        "method_notes": METHOD_NOTES,
        "policy_rows": s.policy.as_rows(),
        "policy_text": s.policy.describe(),
        "headline": headline,
        "countries": [(country_label(c), e) for c, e in _top(s.countries, 25)],
        "pairs": [(f"{country_label(x)} – {country_label(y)}", e) for (x, y), e in _top(s.matrix, 25)],
        "flows": flows,
        "roles": roles,
        "roles_unknown": any(role == UNKNOWN_ROLE for (_f, role) in s.flows.by_role),  # type: ignore[misc]
        "charts": {k: Markup(v) for k, v in charts_svg(s).items()},  # our own escaped SVG
        "chart_titles": CHART_TITLES,
        "country_key": [(c, country_name(c) or c) for c in coded],
        "failed": failed,
        "oversight": oversight,
        "audit_rate": s.audit.country_set,
        "papers": PaperRows(s.listing, max_papers),
        "paper_index": PaperRows(s.listing, max_papers, evidence=False),
        "papers_total": len(s.listing),
    }


def render_report(s: Summary, **kwargs: Any) -> str:
    """The report page as a string (see :func:`build_context` for the options)."""
    return "".join(_chunks(s, **kwargs))


def _chunks(s: Summary, **kwargs: Any) -> Iterator[str]:
    """The page as the template produces it, in pieces of a few hundred outputs each."""
    stream = _env().get_template("report.html.j2").stream(**build_context(s, **kwargs))
    stream.enable_buffering(256)
    return iter(stream)


@dataclass(frozen=True)
class ReportResult:
    path: Path
    papers: int
    charts: int
    bytes: int
    summary: Summary


def write_report(store: Store, out: Path, policy: CountingPolicy | None = None,
                 pair: tuple[str, str] = DEFAULT_PAIR, *, title: str | None = None,
                 max_papers: int | None = None) -> ReportResult:
    """Compute the aggregates and write the page atomically (tmp file + rename).

    The page is written as the template produces it, so its size (every paper with its
    evidence) never has to fit in memory; the aggregates and the paper list are read
    from one snapshot of the database.
    """
    out = Path(out)
    if not out.parent.is_dir():
        raise CollabscopeError(f"cannot write {out}: folder {out.parent} does not exist; create it or choose another --out")
    tmp = out.with_name(f".{out.name}.{os.getpid()}.part")
    charts = 0
    tail = ""
    try:
        with store.read_snapshot():
            s = summarize(store, policy, pair)
            failed = FailedDocuments.from_store(store)
            curve = store_oversight_curve(store)
            with tmp.open("w", encoding="utf-8") as fh:
                for chunk in _chunks(s, database=Path(str(store.path)).name, title=title, max_papers=max_papers,
                                     failed=failed, oversight=curve):
                    fh.write(chunk)
                    seen = tail + chunk  # a tag split between two pieces still counts once
                    charts += seen.count("<svg")
                    tail = seen[-3:]
        size = tmp.stat().st_size
        tmp.replace(out)
    except OSError as exc:
        raise CollabscopeError(f"cannot write {out}: {exc.strerror or exc}; nothing was replaced") from None
    finally:
        tmp.unlink(missing_ok=True)
    return ReportResult(out, s.papers, charts, size, s)
