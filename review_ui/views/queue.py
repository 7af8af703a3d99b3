"""Queue: what waits for review and in which order, counts by state and reason, filters,
and progress toward "everything that can change the result is reviewed".

The order and the audit sample come from :mod:`extractor.review.queue`; this page only shows
them and starts the record page in the chosen mode.
"""

from __future__ import annotations

import streamlit as st

from extractor.review import actions as review
from extractor.review import queue
from extractor.review.view import country_label, inert
from review_ui import common

S = st.session_state
FILTERS = ("venue", "reason", "country", "reviewer")


def cb_filters() -> None:
    n = common.nav()
    n.filters = {k: S.get(f"f_{k}") or None for k in FILTERS}
    n.reset()


def cb_mode(mode: str) -> None:
    n = common.nav()
    n.mode = mode
    n.reset()


@st.cache_data(ttl=30, max_entries=32, show_spinner="Counting…")
def _counts(db: str, filters: tuple[tuple[str, str | None], ...]) -> tuple[dict, dict]:
    """queue_counts and review_progress, cached briefly: they read every record."""
    store = common.store()
    f = review.make_filters(**dict(filters)) if filters else None
    return queue.queue_counts(store, f), queue.review_progress(store)


@st.cache_data(ttl=30, max_entries=8, show_spinner=False)
def _facets(db: str) -> dict:
    """Filter options (distinct venues, reasons, countries, reviewers), cached briefly."""
    return common.store().record_facets()


def main() -> None:
    common.reviewer()
    store, n = common.store(), common.nav()
    st.title("Review queue")
    common.show_flash()

    facets = _facets(common.db_path())
    cols = st.columns(4)
    for k in FILTERS:
        S.setdefault(f"f_{k}", n.filters.get(k) or "")
    cols[0].selectbox("Venue", ["", *sorted(facets["venues"])], key="f_venue", on_change=cb_filters,
                      format_func=lambda v: "all venues" if not v else inert(v, 60))
    cols[1].selectbox("Reason", ["", *sorted(facets["reasons"])], key="f_reason", on_change=cb_filters,
                      format_func=lambda v: "all reasons" if not v else f"{v} ({facets['reasons'][v]})")
    cols[2].selectbox("Country", ["", *sorted(facets["countries"])], key="f_country", on_change=cb_filters,
                      format_func=lambda v: "all countries" if not v else country_label(v))
    cols[3].selectbox("Reviewer", ["", *facets["reviewers"]], key="f_reviewer", on_change=cb_filters,
                      format_func=lambda v: "anyone" if not v else inert(v, 60))
    filters = common.queue_filters(n)

    pending2 = len(store.double_reviews(pending=True, exclude_reviewer=common.reviewer()))
    a, b, c = st.columns(3)
    a.button("Review the queue", key="mode_queue", type="primary" if n.mode == "queue" else "secondary",
             on_click=cb_mode, args=("queue",), width="stretch")
    b.button("Review the audit sample", key="mode_audit", type="primary" if n.mode == "audit" else "secondary",
             on_click=cb_mode, args=("audit",), width="stretch")
    c.button(f"Second reviews ({pending2})", key="mode_double", type="primary" if n.mode == "double" else "secondary",
             on_click=cb_mode, args=("double",), width="stretch", disabled=pending2 == 0 and n.mode != "double")
    if st.button("Start reviewing", key="start", type="primary", shortcut="Enter"):
        st.switch_page(common.RECORD_PAGE)

    left, right = st.columns([3, 1])
    with left:
        audit_mode = n.mode == "audit"
        st.subheader("Next in the audit sample" if audit_mode else "Next by priority")
        head = queue.queue_head(store, n=25, filters=filters, audit=audit_mode)
        if not head:
            st.text("Nothing waiting here.")
        else:
            st.dataframe([{
                "paper": item.paper_id,
                "title": inert(item.title, 120),
                "priority": round(item.priority, 4),
                "P(wrong)": round(item.p_wrong, 3),
                "impact": round(item.impact, 3),
                "countries": ", ".join(item.countries),
                "why": inert("; ".join(item.reasons), 300),
                "audit": item.audit,
            } for item in head], hide_index=True, width="stretch")
            pick = st.selectbox("Open a record", [i.paper_id for i in head], key="open_pick",
                                format_func=lambda p: f"{p} · {inert(next(i.title for i in head if i.paper_id == p), 70)}")
            if st.button("Open", key="open"):
                st.switch_page(common.RECORD_PAGE, query_params={"paper": pick})

    # Counts last: they read every record, and nothing above waits for them.
    counts, progress = _counts(common.db_path(), tuple(sorted((n.filters or {}).items())))
    with right:
        st.subheader("By reason")
        st.dataframe([{"reason": k, "records": v} for k, v in counts["by_reason"].items()], hide_index=True,
                     width="stretch")
        st.caption(f"Expected corrections still queued: {counts['remaining_impact_mass']:.2f}")
    st.subheader("Progress")
    st.progress(min(max(progress["share_reviewed"], 0.0), 1.0),
                text=f"{progress['share_reviewed']:.0%} of the expected aggregate-moving corrections reviewed — "
                     f"{progress['message']}")
    by_status = counts["by_status"]
    m = st.columns(6)
    for col, status in zip(m, ("queued", "in_review", "verified", "rejected", "machine", "failed"), strict=True):
        col.metric(status.replace("_", " "), by_status.get(status, 0))
    audit = counts["audit"]
    st.caption(f"Audit sample: {audit['drawn']} drawn, {audit['done']} verified, {audit['rejected']} rejected, "
               f"{audit['pending']} waiting · second reviews waiting for you: {pending2} · "
               f"counts refresh every 30 s")


main()
