"""Overview: what the database holds (documents, records by status, failures)."""

from __future__ import annotations

import os

import streamlit as st

from extractor.store import Store

db_path = os.environ.get("COLLABSCOPE_DB", "collabscope.db")
st.title("collabscope")
st.caption(f"database: {db_path}")
try:
    with Store.open(db_path, create=False) as store:
        counts = store.status_counts()
except Exception as exc:  # shown, not raised: the page must say what is wrong
    st.error(f"cannot open the database: {exc}")
    st.stop()
cols = st.columns(4)
cols[0].metric("documents", counts["documents"])
cols[1].metric("failed", counts["failed_documents"])
cols[2].metric("records", sum(counts["records"].values()))
cols[3].metric("queued for review", counts["records"].get("queued", 0))
st.subheader("records by status")
st.table({"status": list(counts["records"]), "count": list(counts["records"].values())})
