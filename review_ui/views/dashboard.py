"""Dashboard: review progress, machine-vs-human agreement, reviewer-vs-reviewer agreement
(Cohen's kappa on the double-review sample), throughput per reviewer-hour, the current
aggregates with their intervals, and the same charts as the HTML report.

Everything is computed by library functions (extractor.review.queue and .stats, aggregate,
report) and cached until the audit log changes (its head hash is part of the cache key).
"""

from __future__ import annotations

import io
from typing import Any

import streamlit as st

from extractor.review import queue
from extractor.review import stats as review_stats
from extractor.review.view import country_codes, country_label, inert
from review_ui import common

S = st.session_state


@st.cache_data(ttl=120, max_entries=8, show_spinner="Computing review statistics…")
def _review_numbers(db: str, head: tuple[int, str], pair: tuple[str, str]) -> dict[str, Any]:
    store = common.store()
    return {
        "progress": queue.review_progress(store),
        "by_status": store.status_counts()["records"],  # one GROUP BY; queue_counts reads every record
        "machine": review_stats.machine_human_agreement(store),
        "double": review_stats.double_review_agreement(store, pair=pair),
        "throughput": review_stats.throughput(store),
    }


@st.cache_data(ttl=120, max_entries=8, show_spinner="Computing aggregates and charts…")
def _aggregates(db: str, head: tuple[int, str], pair: tuple[str, str], group: bool) -> dict[str, Any]:
    from extractor.aggregate import CountingPolicy, summarize
    from extractor.report import CHART_TITLES, charts

    s = summarize(common.store(), CountingPolicy(group_hk_mo_with_cn=group), pair)
    pngs = {}
    for name, fig in charts(s).items():
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        pngs[CHART_TITLES.get(name, name)] = buf.getvalue()
    return {
        "policy": s.policy.describe(),
        "papers": s.papers,
        "pair_share": s.pair_share.text(),
        "international": s.international.text(),
        "no_country": s.no_country.text(),
        "countries": [{"country": country_label(str(k)), "papers": e.text(as_share=False), "share": e.text()}
                      for k, e in sorted(s.countries.items(), key=lambda kv: -kv[1].count)[:20]],
        "audit": s.audit.country_set.text(),
        "charts": pngs,
    }


def _share(d: dict[str, Any]) -> str:
    if not d["n"]:
        return "—"
    return f"{d['share']:.1%} ({d['k']}/{d['n']}; 95% CI {d['low']:.0%}–{d['high']:.0%})"


def _kappa(d: dict[str, Any]) -> str:
    if d["kappa"] is None:
        return "— (no pairs yet)"
    rng = f"; 95% CI {d['low']:.2f}–{d['high']:.2f}" if d["low"] is not None else ""
    return f"κ = {d['kappa']:.2f} (agreement {d['observed']:.0%} on {d['n']} pairs{rng})"


def main() -> None:
    common.reviewer()
    store = common.store()
    st.title("Dashboard")
    head = store.log_head()
    codes = list(country_codes())
    a, b, c = st.columns([2, 2, 3])
    S.setdefault("dash_a", "US")
    S.setdefault("dash_b", "CN")
    a.selectbox("Country pair", codes, key="dash_a", format_func=country_label)
    b.selectbox("and", codes, key="dash_b", format_func=country_label)
    group = c.toggle("Count Hong Kong and Macau as China", key="dash_group")
    pair = (S["dash_a"], S["dash_b"])
    nums = _review_numbers(common.db_path(), head, pair)

    st.subheader("Review progress")
    prog = nums["progress"]
    st.progress(min(max(prog["share_reviewed"], 0.0), 1.0), text=prog["message"])
    cols = st.columns(5)
    for col, status in zip(cols, ("queued", "in_review", "verified", "rejected", "machine"), strict=True):
        col.metric(status.replace("_", " "), nums["by_status"].get(status, 0))

    st.subheader("Machine vs human")
    mh = nums["machine"]
    st.dataframe([{
        "records people decided": name,
        "n": mh[key]["records"],
        "country set kept": _share(mh[key]["country_set"]),
        "affiliation countries kept": _share(mh[key]["affiliation_country"]),
        "model families kept": _share(mh[key]["model_families"]),
        "rejected": mh[key]["rejected"],
    } for key, name in (("audit", "audit sample (unbiased)"), ("queued", "routed queue"), ("all", "all"))],
        hide_index=True, width="stretch")
    if mh["top_corrections"]:
        st.caption("Most common country corrections (machine → person)")
        st.dataframe(mh["top_corrections"], hide_index=True)

    st.subheader("Reviewer agreement (double review)")
    dbl = nums["double"]
    st.text(f"Country set: {_kappa(dbl['country_set'])}")
    st.text(f"Counts for {pair[0]}–{pair[1]} (both / not both / rejected): {_kappa(dbl['pair'])}")
    st.caption(f"{dbl['completed']} second reviews done, {dbl['pending']} waiting; "
               f"{common.double_fraction():.0%} of first decisions are drawn for a blind second review.")
    if dbl["disagreements"]:
        st.dataframe([{k: inert(str(v), 120) for k, v in r.items()} for r in dbl["disagreements"]],
                     hide_index=True, width="stretch")

    st.subheader("Throughput")
    tp = nums["throughput"]
    cols = st.columns(3)
    cols[0].metric("records per reviewer-hour", tp["per_hour"] if tp["per_hour"] is not None else "—")
    cols[1].metric("median seconds per decision", tp["median_seconds"] if tp["median_seconds"] is not None else "—")
    cols[2].metric("decisions", tp["decisions"])
    if tp["reviewers"]:
        st.dataframe([{**r, "reviewer": inert(r["reviewer"], 60)} for r in tp["reviewers"]], hide_index=True,
                     width="stretch")
    st.caption(f"Active time counts gaps under {tp['idle_minutes']:.0f} minutes between a reviewer's actions.")

    st.subheader("Aggregates so far")
    try:
        agg = _aggregates(common.db_path(), head, pair, group)
    except Exception as exc:  # aggregation problems must not hide the review numbers above
        st.warning(f"Aggregates unavailable: {type(exc).__name__}")
        return
    st.text(f"Papers counted: {agg['papers']:,}. Policy: {agg['policy']}")
    st.text(f"{pair[0]}–{pair[1]} collaborations: {agg['pair_share']}")
    st.text(f"International papers: {agg['international']}")
    st.text(f"Papers with no country: {agg['no_country']}")
    st.text(f"Machine error on the audit sample (country set): {agg['audit']}")
    st.dataframe(agg["countries"], hide_index=True, width="stretch")
    if agg["charts"]:
        st.subheader("Charts (as in the HTML report)")
        cols = st.columns(2)
        for i, (title, png) in enumerate(agg["charts"].items()):
            cols[i % 2].image(png, caption=title, width="stretch")


main()
