"""Report: the aggregates as charts and one self-contained HTML page.

The review UI dashboard and ``collabscope report`` share these functions, so a
chart looks the same everywhere::

    figs = charts(store, CountingPolicy())             # name -> matplotlib Figure
    svgs = charts(store, CountingPolicy(), svg=True)   # name -> inline SVG string
    write_report(store, Path("report.html"))
"""

from __future__ import annotations

from matplotlib.figure import Figure

from extractor.aggregate import DEFAULT_PAIR, CountingPolicy, Summary, summarize
from extractor.report.figures import CHARTS, build_figures, to_svg
from extractor.report.html import (
    CHART_TITLES,
    ReportResult,
    build_context,
    charts_svg,
    paper_row,
    render_report,
    write_report,
)
from extractor.store import Store


def charts(source: Store | Summary, policy: CountingPolicy | None = None, pair: tuple[str, str] = DEFAULT_PAIR,
           *, svg: bool = False) -> dict[str, Figure] | dict[str, str]:
    """Every chart with data, by name: Figures (for ``st.pyplot``) or inline SVG strings.

    Pass a :class:`~extractor.aggregate.Summary` to reuse aggregates already computed.
    """
    s = source if isinstance(source, Summary) else summarize(source, policy, pair)
    return charts_svg(s) if svg else build_figures(s)


__all__ = [
    "CHARTS", "CHART_TITLES", "ReportResult", "build_context", "build_figures", "charts", "charts_svg",
    "paper_row", "render_report", "to_svg", "write_report",
]
