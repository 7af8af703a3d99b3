"""The collabscope review UI (Streamlit): a router over page files.

Launched by ``collabscope review``, which passes the database path in COLLABSCOPE_DB.
Every page is behind the same gate (authentication when configured, and a reviewer name
for the audit log); pages call library functions only (extractor.review's actions, queue,
stats and view; aggregate; report; named store methods), never SQL.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from review_ui import auth, common

PAGES = Path(__file__).parent / "views"  # not "pages/": Streamlit would auto-serve those, bypassing the gate

st.set_page_config(page_title="collabscope review", layout="wide")
# Navigation is declared before the gate so a deep link (/record?paper=...) survives the
# sign-in; the chosen page only runs (nav.run) once the gate has let the session through.
nav = st.navigation([
    st.Page(str(PAGES / "queue.py"), title="Queue", url_path="queue", default=True),
    st.Page(str(PAGES / "record.py"), title="Record", url_path="record"),
    st.Page(str(PAGES / "dashboard.py"), title="Dashboard", url_path="dashboard"),
    st.Page(str(PAGES / "overview.py"), title="Database", url_path="database"),
], position="sidebar" if auth.ready() else "hidden")
who = auth.require_reviewer()
with st.sidebar:
    st.caption("Reviewing as")
    common.show_text(who, limit=80)
    if auth.access_mode() != "oidc" and st.button("Change reviewer", key="change_reviewer"):
        st.session_state.pop("reviewer", None)
        st.rerun()
    if auth.access_mode() == "oidc":
        st.button("Log out", key="logout", on_click=st.logout)
nav.run()
