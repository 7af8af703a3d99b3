"""The one keyboard binding Streamlit buttons cannot express: "F" focuses a widget.

Button shortcuts (``st.button(..., shortcut="A")``) cover approve, skip, next, previous,
reject, second opinion and undo. The quick country fix needs the keyboard focus moved to
a select box, so the reviewer can type two letters and press Enter: this tiny component
(our own static JavaScript, no paper text) listens for "F" outside text fields and
focuses the country select of the first flagged affiliation.
"""

from __future__ import annotations

import streamlit as st

_JS = """
export default function (component) {
  const { data } = component;
  const target = data && data.target;
  const handler = (e) => {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
    if (e.key !== 'f' && e.key !== 'F') return;
    const t = e.target;
    if (t && (t.isContentEditable || ['input', 'textarea', 'select'].includes((t.tagName || '').toLowerCase()))) return;
    if (!target) return;
    const box = document.querySelector('.st-key-' + target);
    const input = box && box.querySelector('input');
    if (!input) return;
    e.preventDefault();
    e.stopPropagation();
    input.focus();
  };
  document.addEventListener('keydown', handler, true);
  document.body.dataset.collabscopeFix = target || '';  // tests wait for this: the key is live
  return () => document.removeEventListener('keydown', handler, true);
}
"""

_focus_key = st.components.v2.component("collabscope_focus_key", js=_JS)


def bind_fix_key(widget_key: str | None) -> None:
    """Make "F" focus the widget with this key (a no-op when there is nothing to fix)."""
    safe = "".join(ch if ch.isalnum() or ch in "_-" else "-" for ch in widget_key) if widget_key else None
    _focus_key(key="focus_key", data={"target": safe}, height=0)
