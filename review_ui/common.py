"""Shared plumbing of the review pages: the database, the reviewer, messages, safe text.

Each browser session gets its own :class:`~extractor.store.Store` (one SQLite connection,
used by that session's script runs one at a time), so one reviewer's transaction never
mixes with another's. Untrusted paper text is always shown through :func:`show_text`
or dataframes: never as markdown or HTML.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import streamlit as st

from extractor.review import actions as review
from extractor.review.queue import QueueFilter
from extractor.review.view import inert
from extractor.store import Store
from review_ui import auth

#: Page files, relative to app.py (st.switch_page and AppTest.switch_page take these).
QUEUE_PAGE = "views/queue.py"
RECORD_PAGE = "views/record.py"
DASHBOARD_PAGE = "views/dashboard.py"
OVERVIEW_PAGE = "views/overview.py"

SHORTCUTS = [
    ("A", "approve as is (or save your edits) and go to the next record"),
    ("F", "fix country: focus the first flagged (else the first) affiliation's country code; type it, Enter saves & next"),
    ("S", "skip: back to the queue for someone else, next record"),
    ("N / P", "next / previous record of this session"),
    ("X", "reject (not a paper / not in scope)"),
    ("O", "ask for a second opinion"),
    ("U", "undo your last action"),
    ("Ctrl+Enter", "save corrections (works while typing in a field)"),
]


def db_path() -> str:
    return os.environ.get("COLLABSCOPE_DB", "collabscope.db")


def double_fraction() -> float:
    """Share of first decisions drawn for a blind second review (COLLABSCOPE_DOUBLE_REVIEW)."""
    raw = os.environ.get("COLLABSCOPE_DOUBLE_REVIEW")
    try:
        value = float(raw) if raw else review.DOUBLE_REVIEW_FRACTION
    except ValueError:
        value = review.DOUBLE_REVIEW_FRACTION
    return min(max(value, 0.0), 1.0)


def store() -> Store:
    """This session's connection to the database (opened once, kept in session state)."""
    path = db_path()
    s = st.session_state.get("_store")
    if s is None or str(s.path) != str(path):
        try:
            s = Store.open(path, create=False)
        except Exception as exc:  # shown, not raised: the page must say what is wrong
            st.error(f"Cannot open the database {path}: {exc}")
            st.stop()
        st.session_state["_store"] = s
    return s


def reviewer() -> str:
    """The signed-in reviewer's name; stops the page if there is none (defence in depth:
    app.py's gate runs before any page, this holds even if a page is run another way)."""
    name = st.session_state.get("reviewer", "")
    if not name:
        return auth.require_reviewer()
    return name


# --------------------------------------------------------------------------- session navigation


@dataclass
class Nav:
    """Where this reviewer is: the records seen this session, in order, and the mode."""

    history: list[str] = field(default_factory=list)
    cursor: int = -1
    skipped: set[str] = field(default_factory=set)
    mode: str = "queue"  # queue, audit, double
    filters: dict[str, str | None] = field(default_factory=dict)
    done: bool = False  # the queue ran out for these filters

    def current(self) -> str | None:
        if 0 <= self.cursor < len(self.history):
            return self.history[self.cursor]
        return None

    def push(self, paper_id: str) -> None:
        if self.current() == paper_id:
            return
        self.history = [p for p in self.history if p != paper_id] + [paper_id]
        self.cursor = len(self.history) - 1
        self.done = False

    def reset(self) -> None:
        self.history, self.cursor, self.done = [], -1, False


def nav() -> Nav:
    if "nav" not in st.session_state:
        st.session_state["nav"] = Nav()
    return st.session_state["nav"]


def queue_filters(n: Nav) -> QueueFilter | None:
    """The queue filters this session chose (None when nothing is filtered)."""
    return review.make_filters(**n.filters) if n.filters else None


# --------------------------------------------------------------------------- messages


def flash(kind: str, text: str) -> None:
    """Queue a message for the next render (callbacks run before the page draws)."""
    st.session_state.setdefault("_flash", []).append((kind, text))


def show_flash() -> None:
    """Show queued messages. Bodies are our own sentences plus inert values, as text."""
    for kind, text in st.session_state.pop("_flash", []):
        box = {"success": st.success, "error": st.error, "warning": st.warning}.get(kind, st.info)
        box(_md_escape(text))


_MD_SPECIAL = "\\`*_{}[]()<>#+-.!|~$"


def _md_escape(text: str) -> str:
    """Backslash-escape markdown/HTML syntax so a string shows literally in markdown-only
    elements (alerts). Paper text in messages goes through :func:`inert` first."""
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in inert(text, 2000))


def show_text(text: str | None, *, limit: int = 600, empty: str = "—") -> None:
    """Untrusted text, shown as plain text (no markdown, no HTML, bidi/zero-width made visible)."""
    st.text(inert(text, limit) if text else empty)
