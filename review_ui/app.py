"""The collabscope review UI (Streamlit): a router over page files.

Launched by ``collabscope review``, which passes the database path in COLLABSCOPE_DB.
Pages call library functions only (extractor.store / queue / aggregate), never SQL.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

PAGES = Path(__file__).parent / "pages"

st.set_page_config(page_title="collabscope review", layout="wide")
nav = st.navigation([st.Page(str(PAGES / "overview.py"), title="Overview", default=True)])
nav.run()
