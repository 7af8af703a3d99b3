"""The one keyboard binding Streamlit buttons cannot express: "F" focuses a widget.

Button shortcuts (``st.button(..., shortcut="A")``) cover approve, skip, next, previous,
reject, second opinion and undo. The quick country fix needs the keyboard focus moved to
a text field, so the reviewer can type a two-letter code and press Enter: this tiny
component (our own static JavaScript, no paper text) listens for "F" outside text fields
and focuses the first field of the quick-fix box (the first flagged affiliation's country;
with nothing flagged, the first affiliation's; with no affiliation, the field that adds
one), else the first affiliation's country in the editor. The field's text is selected,
so the letters typed replace the code it holds.

Enter in a quick-fix field submits it and leaves the field, so the keys pressed on the
next record are shortcuts again, never typed into a field that is still focused.

If the field is not on the page yet (the record is still arriving), the letters typed
right after "F" must not fall through to the other shortcuts ("u s" for US would
otherwise undo and skip): for a moment they are held back, and the field is focused as
soon as it appears, so the key being pressed lands in it.
"""

from __future__ import annotations

import streamlit as st

_JS = """
export default function (component) {
  const WINDOW_MS = 1500;
  let pendingUntil = 0;
  const inField = (t) => !!t && (t.isContentEditable
    || ['input', 'textarea', 'select'].includes((t.tagName || '').toLowerCase()));
  const fresh = (sel) => [...document.querySelectorAll(sel)].find((el) => !el.closest('[data-stale="true"]'));
  const find = () => fresh('.st-key-quickfix [class*="st-key-qf-"] input')  // the quick-fix box's first field
    || fresh('[class*="st-key-ed-"][class*="-af-"][class*="-country"] input');  // else the editor's first
  const handler = (e) => {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === 'Enter' && e.target && e.target.closest && e.target.closest('.st-key-quickfix')) {
      const field = e.target;  // Enter submits the quick fix; once Streamlit has taken it, leave the
      setTimeout(() => field.blur(), 0);  // field, so the next record's A and F are shortcuts, not text
      return;
    }
    if (inField(e.target)) return;
    const isF = e.key === 'f' || e.key === 'F';
    if (!isF && Date.now() >= pendingUntil) return;
    const input = find();
    if (input) {
      pendingUntil = 0;
      input.focus();  // focusing during keydown sends this key's character to the input
      if (input.select) input.select();  // ...replacing the code already there
      if (isF) { e.preventDefault(); e.stopImmediatePropagation(); }
      return;
    }
    if (isF) pendingUntil = Date.now() + WINDOW_MS;
    e.preventDefault();  // hold back keys meant for the code field: never a stray shortcut
    e.stopImmediatePropagation();
  };
  window.addEventListener('keydown', handler, true);
  document.body.dataset.collabscopeFix = 'live';  // tests wait for this
  return () => { window.removeEventListener('keydown', handler, true); delete document.body.dataset.collabscopeFix; };
}
"""

_focus_key = st.components.v2.component("collabscope_focus_key", js=_JS)


def bind_fix_key() -> None:
    """Make "F" focus the first field of the quick-fix box (else the first affiliation's
    country in the editor). The targets are
    found on the page when F is pressed, so the component never changes between records
    and stays mounted: no gap in which F does nothing."""
    _focus_key(key="focus_key", height=0)
