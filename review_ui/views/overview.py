"""Database: what the database holds (documents, records by status, failures)."""

from __future__ import annotations

import streamlit as st

from review_ui import common

common.reviewer()
store = common.store()
st.title("Database")
common.show_text(f"database: {common.db_path()}", limit=400)
counts = store.status_counts()
cols = st.columns(4)
cols[0].metric("documents", counts["documents"])
cols[1].metric("failed", counts["failed_documents"])
cols[2].metric("records", sum(counts["records"].values()))
cols[3].metric("queued for review", counts["records"].get("queued", 0))
st.subheader("records by status")
st.dataframe([{"status": k, "count": v} for k, v in sorted(counts["records"].items())], hide_index=True)
