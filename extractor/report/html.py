"""The HTML report: one self-contained page of numbers, intervals, charts and evidence.

Floor 4: reads aggregates, renders ``templates/report.html.j2`` with Jinja2 (autoescape
on: titles, names and affiliation strings come from PDFs and are untrusted), inlines the
charts as SVG, and writes the page atomically. Nothing on the page loads anything from
the network: no scripts, fonts, images or stylesheets from elsewhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from ..aggregate import DEFAULT_PAIR, METHOD_NOTES, CountingPolicy, Estimate, Summary, Unit, summarize
from ..errors import CollabscopeError
from ..store import Store
from .figures import build_figures, to_svg

CHART_TITLES = {
    "pair_heatmap": "Country-pair matrix",
    "country_bars": "Papers per country",
    "trend": "Trend by year",
    "model_flows": "Model families by author country",
    "model_roles": "Model families by role",
    "developer_flows": "Developer country × author country",
    "review_progress": "Review progress and audit error rate",
}


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


def build_context(s: Summary, *, database: str | None = None, title: str | None = None,
                  max_papers: int | None = None, generated_at: str | None = None) -> dict[str, Any]:
    """The template's data: plain values, estimates and pre-rendered SVG charts."""
    units = sorted(s.population.units, key=lambda u: (u.record.venue or "", u.record.year or 0,
                                                       (u.record.title or "").lower(), u.paper_id))
    shown = units if max_papers is None else units[:max_papers]
    pair = f"{s.pair[0]}–{s.pair[1]}"
    headline = [
        (f"Papers with both {s.pair[0]} and {s.pair[1]} authors", s.pair_share),
        ("International papers (two or more countries)", s.international),
        ("Papers with no country", s.no_country),
    ]
    flows = [(f"{fam} in papers with {c} authors", e) for (fam, c), e in _top(s.flows.by_country, 25)]  # type: ignore[misc]
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
        "countries": _top(s.countries, 25),
        "pairs": [(f"{a}–{b}", e) for (a, b), e in _top(s.matrix, 25)],
        "flows": flows,
        "roles": [(f"{fam}: {role}", e) for (fam, role), e in _top(s.flows.by_role, 25)],  # type: ignore[misc]
        "charts": {k: Markup(v) for k, v in charts_svg(s).items()},  # our own escaped SVG
        "chart_titles": CHART_TITLES,
        "papers": [paper_row(u) for u in shown],
        "papers_total": len(units),
    }


def render_report(s: Summary, **kwargs: Any) -> str:
    """The report page as a string (see :func:`build_context` for the options)."""
    return _env().get_template("report.html.j2").render(**build_context(s, **kwargs))


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
    """Compute the aggregates and write the page atomically (tmp file + rename)."""
    s = summarize(store, policy, pair)
    text = render_report(s, database=Path(str(store.path)).name, title=title, max_papers=max_papers)
    out = Path(out)
    if not out.parent.is_dir():
        raise CollabscopeError(f"cannot write {out}: folder {out.parent} does not exist; create it or choose another --out")
    tmp = out.with_name(f".{out.name}.{os.getpid()}.part")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)
    except OSError as exc:
        raise CollabscopeError(f"cannot write {out}: {exc.strerror or exc}; nothing was replaced") from None
    finally:
        tmp.unlink(missing_ok=True)
    return ReportResult(out, len(s.population.units), text.count("<svg"), len(text.encode()), s)
