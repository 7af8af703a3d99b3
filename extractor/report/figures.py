"""Charts of the aggregates as matplotlib Figures, and their self-contained SVG.

Figures are built with the object API (``matplotlib.figure.Figure``, never pyplot), so
they hold no global state: the review UI can ``st.pyplot(fig)`` them from any thread and
the report can serialise them with :func:`to_svg`, which strips everything that could
reach outside the page (XML prolog, DOCTYPE, RDF metadata, namespace URLs).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg", force=False)  # a library must not need a display

from matplotlib.figure import Figure  # noqa: E402

from extractor.aggregate import ROLES, Summary  # noqa: E402
from extractor.aggregate.population import UNKNOWN_ROLE  # noqa: E402
from extractor.review.view import country_name  # noqa: E402

PALETTE = {"verified": "#2b8a3e", "audited": "#1c7ed6", "unreviewed": "#adb5bd", "pending": "#f08c00"}
ROLE_COLOURS = ["#5f3dc4", "#1971c2", "#2f9e44", "#f59f00", "#adb5bd", "#dee2e6"]
_RC = {"svg.fonttype": "none", "font.size": 10, "axes.titlesize": 11, "axes.spines.top": False,
       "axes.spines.right": False}
#: Figure width in inches. The page scales each SVG to its column (at most 640 px, see the
#: template), so text set at 10 pt in a 5-inch figure stays about 10 px high on a 390 px
#: phone and about 17 px on a desktop: small figures, large type.
WIDTH = 5.0


def _new(width: float = WIDTH, height: float = 3.6) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def country_label(code: str) -> str:
    """A country as a reader knows it, with the code the tables use: "China (CN)"."""
    name = country_name(code)
    return f"{name} ({code})" if name and name != code else code


def _annotated_heatmap(fig: Figure, rows: list[str], cols: list[str], values: list[list[float]], title: str,
                       xlabel: str, ylabel: str) -> Figure:
    ax = fig.add_subplot()
    top = max((v for row in values for v in row), default=0) or 1
    image = ax.imshow(values, cmap="Blues", vmin=0, vmax=top, aspect="auto")
    ax.set_xticks(range(len(cols)), cols, rotation=90 if len(cols) > 6 else 0)
    ax.set_yticks(range(len(rows)), rows)
    small = 8 if len(cols) > 8 else 9
    for i, row in enumerate(values):
        for j, v in enumerate(row):
            if v:
                ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=small,
                        color="white" if v > top * 0.6 else "#212529")
    bar = fig.colorbar(image, ax=ax, shrink=0.85, pad=0.02, aspect=30)  # the colour scale: what a shade means
    bar.set_label("papers")
    bar.outline.set_visible(False)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    return fig


def pair_heatmap(s: Summary, top: int = 10) -> Figure | None:
    """Country-pair matrix (CSET-style: each paper once per pair) of the top countries."""
    countries = [c for c in s.countries][:top]
    if len(countries) < 2:
        return None

    def cell(a: str, b: str) -> float:
        est = s.matrix.get(tuple(sorted((a, b)))) if a != b else None  # type: ignore[call-overload]
        return est.count if est else 0.0

    values = [[cell(a, b) for b in countries] for a in countries]
    return _annotated_heatmap(_new(WIDTH, 4.6), countries, countries, values,
                              "Papers co-authored by each pair of countries", "", "")


def country_bars(s: Summary, top: int = 15) -> Figure | None:
    """Papers per country with their intervals (none drawn when the figure is machine-only)."""
    items = list(s.countries.items())[:top]
    if not items:
        return None
    fig = _new(WIDTH, 0.3 * len(items) + 1.1)
    ax = fig.add_subplot()
    names = [country_label(str(k)) for k, _ in items][::-1]
    counts = [e.count for _, e in items][::-1]
    ax.barh(names, counts, color="#4c6ef5")
    if all(e.has_interval for _, e in items):
        lows = [max(0.0, e.count - e.lo) for _, e in items][::-1]  # type: ignore[operator]
        highs = [max(0.0, e.hi - e.count) for _, e in items][::-1]  # type: ignore[operator]
        ax.errorbar(counts, names, xerr=[lows, highs], fmt="none", ecolor="#212529", capsize=2, linewidth=0.8)
    ax.set_title("Papers per country" + (" (bars: 95% interval)" if all(e.has_interval for _, e in items) else ""))
    ax.set_xlabel("papers")
    return fig


def trend(s: Summary) -> Figure | None:
    """Pair and international shares per year, with interval bands; None with fewer than 2 years."""
    rows = [r for r in s.trend if r.year is not None]
    if len(rows) < 2:
        return None
    fig = _new(WIDTH, 3.4)
    ax = fig.add_subplot()
    yrs = [r.year for r in rows]
    for label, get, colour in ((f"{s.pair[0]}–{s.pair[1]} co-authored", lambda r: r.pair, "#e8590c"),
                               ("international", lambda r: r.international, "#1c7ed6")):
        ests = [get(r) for r in rows]
        ax.plot(yrs, [e.share * 100 for e in ests], marker="o", color=colour, label=label)
        if all(e.has_interval for e in ests):
            ax.fill_between(yrs, [e.share_lo * 100 for e in ests], [e.share_hi * 100 for e in ests],
                            color=colour, alpha=0.18, linewidth=0)
    ax.set_xticks(yrs, [str(y) for y in yrs])
    ax.set_ylabel("% of papers")
    ax.set_title("Collaboration shares by year")
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2)
    return fig


def model_flow_heatmap(s: Summary, families: int = 10, countries: int = 8) -> Figure | None:
    """Papers mentioning each model family, by author country."""
    fams = s.flows.top_families(families)
    cols = list(s.countries)[:countries]
    if not fams or not cols:
        return None
    values = [[s.flows.by_country[(f, c)].count if (f, c) in s.flows.by_country else 0.0 for c in cols] for f in fams]
    return _annotated_heatmap(_new(WIDTH, 0.34 * len(fams) + 1.8), fams, cols, values,
                              "Model families by author country", "author country", "")


def model_roles(s: Summary, families: int = 10) -> Figure | None:
    """For each top family, papers by the strongest role the paper gives it.

    Only roles an extractor actually read from the paper are drawn ("unknown" is no
    role); with none known (the rules backend assigns no roles) there is no chart.
    """
    known = {f for (f, role), e in s.flows.by_role.items() if role != UNKNOWN_ROLE and e.count}
    fams = [f for f in s.flows.top_families(families) if f in known]
    if not fams:
        return None
    fig = _new(WIDTH, 0.32 * len(fams) + 1.5)
    ax = fig.add_subplot()
    left = [0.0] * len(fams)
    for role, colour in zip(ROLES, ROLE_COLOURS, strict=True):
        if role == UNKNOWN_ROLE:
            continue
        vals = [s.flows.by_role[(f, role)].count if (f, role) in s.flows.by_role else 0.0 for f in fams]
        if any(vals):
            ax.barh(fams[::-1], vals[::-1], left=left[::-1], color=colour, label=role)
            left = [a + b for a, b in zip(left, vals, strict=True)]
    ax.set_xlabel("papers (where the paper says how it uses the model)")
    ax.set_title("How papers use each model family")
    ax.legend(frameon=False, fontsize=9, ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.3))
    return fig


def developer_flows(s: Summary, top: int = 8) -> Figure | None:
    """Developer country of the models mentioned × author country."""
    cells = s.flows.by_developer
    if not cells:
        return None
    devs = sorted({k[0] for k in cells}, key=lambda d: -sum(e.count for k, e in cells.items() if k[0] == d))[:top]
    cols = list(s.countries)[:top]
    if not cols:
        return None
    values = [[cells[(d, c)].count if (d, c) in cells else 0.0 for c in cols] for d in devs]
    return _annotated_heatmap(_new(WIDTH, 0.34 * len(devs) + 1.8), devs, cols, values,
                              "Model developer country × author country", "author country", "developer country")


def review_progress(s: Summary) -> Figure:
    """Where the counted records stand, and the audit's measured error rate."""
    fig = _new(WIDTH, 3.6)
    ax1, ax2 = fig.subplots(2, 1)  # stacked: side by side, the titles do not fit a phone's width
    left = 0
    for name in ("verified", "audited", "unreviewed", "pending"):
        n = s.progress.strata.get(name, 0)
        if n:
            ax1.barh(["records"], [n], left=left, color=PALETTE[name], label=f"{name} ({n:,})")
            left += n
    ax1.set_title(f"Review progress: {s.progress.reviewed_share:.0%} reviewed")
    if left:
        ax1.legend(frameon=False, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncols=4)
    ax1.set_yticks([])
    rates = [s.audit.country_set, s.audit.model_set]
    shown = [r for r in rates if r.n]
    if shown:
        names = ["country set", "model families"][: len(shown)]
        vals = [r.rate * 100 for r in shown]  # type: ignore[operator]
        err = [[max(0.0, r.rate - r.wilson[0]) * 100 for r in shown],  # type: ignore[operator]
               [max(0.0, r.wilson[1] - r.rate) * 100 for r in shown]]  # type: ignore[operator]
        ax2.errorbar(vals, names, xerr=err, fmt="o", color="#c92a2a", capsize=3)
        ax2.set_xlim(left=0)
        ax2.set_xlabel("% wrong (95% interval)")
        ax2.set_title(f"Audit sample: {shown[0].n} papers checked")
    else:
        ax2.text(0.5, 0.5, "no audit reviewed yet", ha="center", va="center", transform=ax2.transAxes)
        ax2.set_axis_off()
    return fig


#: Chart name -> builder, in the order the report shows them.
CHARTS: dict[str, Callable[[Summary], Figure | None]] = {
    "pair_heatmap": pair_heatmap,
    "country_bars": country_bars,
    "trend": trend,
    "model_flows": model_flow_heatmap,
    "model_roles": model_roles,
    "developer_flows": developer_flows,
    "review_progress": review_progress,
}


def build_figures(s: Summary) -> dict[str, Figure]:
    """Every chart that has data to show, by name (a chart with nothing to draw is left out)."""
    out = {}
    with matplotlib.rc_context(_RC):
        for name, make in CHARTS.items():
            fig = make(s)
            if fig is not None:
                out[name] = fig
    return out


_STRIP = [
    (re.compile(r"<\?xml[^>]*\?>\s*"), ""),
    (re.compile(r"<!DOCTYPE[^>]*>\s*", re.S), ""),
    (re.compile(r"<metadata>.*?</metadata>\s*", re.S), ""),
    (re.compile(r'\s+xmlns(:\w+)?="[^"]*"'), ""),
    (re.compile(r'<svg([^>]*?)\s+width="[^"]*"\s+height="[^"]*"'), r'<svg\1 width="100%"'),
]


def to_svg(fig: Figure, name: str = "chart", title: str | None = None) -> str:
    """Inline SVG for an HTML page: no external references, ids unique per chart."""
    buf = io.StringIO()
    with matplotlib.rc_context(_RC | {"svg.hashsalt": name}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    text = buf.getvalue()
    for pattern, repl in _STRIP:
        text = pattern.sub(repl, text)
    # Prefix every id (and every reference to one) so several charts can share one page.
    prefix = re.sub(r"[^A-Za-z0-9_-]", "-", name)
    text = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', text)
    text = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}-\1)", text)
    text = re.sub(r'href="#([^"]+)"', rf'href="#{prefix}-\1"', text)
    label = (title or name).replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    return text.replace("<svg", f'<svg role="img" aria-label="{label}"', 1).strip()
