"""The record editor: a draft per record in session state, widgets bound to it.

A draft starts as the record's content at the version the reviewer opened; every widget
change writes into the draft (on_change callbacks), structural edits (add, remove,
reorder) rewrite it and reset the widgets they affect. Saving sends the draft with the
version it started from, so a record someone else changed meanwhile is refused, never
overwritten; the draft survives a refused save, navigation to other records and back.

Widget keys are stable and predictable (``ed-<paper>-af-<id>-country``) so tests and the
keyboard flow can address them. Labels are fixed strings: paper text never goes into a
label (labels render markdown), only into values and plain-text elements.
"""

from __future__ import annotations

import copy
from typing import Any

import streamlit as st
from pydantic import ValidationError
from streamlit.delta_generator import DeltaGenerator

from extractor.review.view import country_code, country_name, inert
from extractor.schemas import PaperContent, Role, Sector
from review_ui.common import _md_escape

SECTORS: list[str | None] = [None, *[s.value for s in Sector]]
ROLES: list[str | None] = [None, *[r.value for r in Role]]


def _drafts() -> dict[str, dict[str, Any]]:
    return st.session_state.setdefault("drafts", {})


def wkey(dkey: str, *parts: object) -> str:
    """A widget key made only of characters Streamlit keeps in the element's CSS class."""
    safe = dkey.replace(":", "-")
    return "ed-" + "-".join([safe, *[str(p) for p in parts]])


def get(dkey: str) -> dict[str, Any] | None:
    return _drafts().get(dkey)


def ensure(dkey: str, content: PaperContent, version: int) -> dict[str, Any]:
    """The draft for a record, created from its content when there is none."""
    draft = _drafts().get(dkey)
    if draft is None:
        base = content.model_dump(mode="json")
        draft = {"base_version": version, "base": base, "content": copy.deepcopy(base)}
        _drafts()[dkey] = draft
    return draft


def drop(dkey: str) -> None:
    _drafts().pop(dkey, None)
    clear_widgets(dkey)


def clear_widgets(dkey: str, section: str | None = None) -> None:
    """Forget widget values so they re-initialise from the draft (only from callbacks)."""
    prefix = wkey(dkey) + "-" + (f"{section}-" if section else "")
    for k in [k for k in st.session_state if isinstance(k, str) and k.startswith(prefix)]:
        del st.session_state[k]


def is_dirty(draft: dict[str, Any] | None) -> bool:
    return bool(draft) and draft["content"] != draft["base"]


def content(draft: dict[str, Any]) -> PaperContent:
    """The draft as validated content (raises pydantic.ValidationError with field names)."""
    return PaperContent.model_validate(draft["content"])


def replace(dkey: str, new: PaperContent, version: int, base: PaperContent | None = None) -> None:
    """Point the draft at new content (after a rebase) and reset its widgets."""
    base_dump = (base or new).model_dump(mode="json")
    _drafts()[dkey] = {"base_version": version, "base": base_dump, "content": new.model_dump(mode="json")}
    clear_widgets(dkey)


# --------------------------------------------------------------------------- callbacks


def _set(dkey: str, path: tuple, key: str, transform: Any = None) -> None:
    draft = get(dkey)
    if draft is None:
        return
    value = st.session_state.get(key)
    if transform is not None:
        value = transform(value)
    target = draft["content"]
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = value


def _empty_to_none(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _move_author(dkey: str, i: int, delta: int) -> None:
    authors = get(dkey)["content"]["authors"]  # type: ignore[index]
    j = i + delta
    if 0 <= j < len(authors):
        authors[i], authors[j] = authors[j], authors[i]
        clear_widgets(dkey, "au")


def _remove_author(dkey: str, i: int) -> None:
    authors = get(dkey)["content"]["authors"]  # type: ignore[index]
    if 0 <= i < len(authors):
        authors.pop(i)
        clear_widgets(dkey, "au")


def _add_author(dkey: str) -> None:
    get(dkey)["content"]["authors"].append({"name": "", "affiliation_ids": [], "email": None, "evidence": None})  # type: ignore[index]
    clear_widgets(dkey, "au")


def _remove_aff(dkey: str, aid: int) -> None:
    c = get(dkey)["content"]  # type: ignore[index]
    c["affiliations"] = [a for a in c["affiliations"] if a["id"] != aid]
    for a in c["authors"]:
        a["affiliation_ids"] = [i for i in a["affiliation_ids"] if i != aid]
    clear_widgets(dkey, "af")
    clear_widgets(dkey, "au")


def add_affiliation(dkey: str, raw: str) -> None:
    """Append an affiliation as printed (no country yet) to the draft."""
    c = get(dkey)["content"]  # type: ignore[index]
    new_id = max([a["id"] for a in c["affiliations"]] + [-1]) + 1
    c["affiliations"].append({"id": new_id, "raw": raw, "institution": None, "department": None, "city": None,
                              "country": None, "sector": None, "institution_method": "human",
                              "institution_score": None, "country_method": "human", "evidence": None})
    clear_widgets(dkey, "au")


def _add_aff(dkey: str) -> None:
    raw_key = wkey(dkey, "newaff")
    raw = (st.session_state.get(raw_key) or "").strip()
    if not raw:
        st.session_state["_editor_msg"] = "Type the affiliation text first, then add it."
        return
    add_affiliation(dkey, raw)
    st.session_state[raw_key] = ""


def _add_mention(dkey: str) -> None:
    get(dkey)["content"]["model_mentions"].append(  # type: ignore[index]
        {"name": "", "family": "", "developer": None, "developer_country": None, "role": "used",
         "where": None, "count": 1, "evidence": None})
    clear_widgets(dkey, "mm")


def _remove_mention(dkey: str, i: int) -> None:
    mentions = get(dkey)["content"]["model_mentions"]  # type: ignore[index]
    if 0 <= i < len(mentions):
        mentions.pop(i)
        clear_widgets(dkey, "mm")


def _discard(dkey: str) -> None:
    draft = get(dkey)
    if draft is not None:
        draft["content"] = copy.deepcopy(draft["base"])
        clear_widgets(dkey)


# --------------------------------------------------------------------------- widgets


def _init(key: str, value: Any) -> None:
    if key not in st.session_state:
        st.session_state[key] = value


def country_field(key: str, value: str | None, *, on_change: Any = None, args: tuple = (),
                  row: DeltaGenerator | None = None) -> None:
    """A two-letter ISO 3166 code field with the country's name beside it.

    A text field rather than a select of 250 countries: the browser has no option list to
    draw per record or to filter per key press, so "F, two letters, Enter" costs little
    more than the save. The name beside it says what the code in the field means; a code
    that is not ISO 3166 alpha-2 is refused by the callbacks (:func:`parse_country`).
    ``row`` is a horizontal container of the caller's to put the field (narrow) and the name
    in: fewer elements for the browser to draw than the two columns the field gets without it."""
    _init(key, value or "")
    typed = str(st.session_state.get(key) or "").strip()
    code = country_code(typed)
    a, b = (row, row) if row is not None else st.columns([2, 5], vertical_alignment="center")
    a.text_input("Country code", key=key, placeholder="code", on_change=on_change, args=args,
                 label_visibility="collapsed", width=90 if row is not None else "stretch")
    b.text(country_name(code) if code else ("— no country —" if not typed else f"{inert(typed, 20)}: not an ISO code"))


def parse_country(key: str) -> tuple[bool, str | None]:
    """(ok, code) for what a country field holds: empty is (True, None); a valid code is
    written back upper-case; anything else is (False, None) with a warning queued for the
    reviewer (only from callbacks, which may set widget values)."""
    typed = str(st.session_state.get(key) or "").strip()
    if not typed:
        return True, None
    code = country_code(typed)
    if code is None:
        st.session_state["_editor_msg"] = (f"{typed!r} is not an ISO 3166 two-letter country code "
                                           "(e.g. DE for Germany, GB for the United Kingdom); nothing changed.")
        return False, None
    st.session_state[key] = code
    return True, code


def _set_country(dkey: str, path: tuple, key: str) -> None:
    ok, code = parse_country(key)
    if ok:
        _set(dkey, path, key, lambda _v: code)


def _aff_label(aff: dict[str, Any]) -> str:
    return f"{aff['id']}: {inert(aff.get('institution') or aff['raw'], 50)}"


def render_affiliations(dkey: str, flags: dict[int, list[str]]) -> None:
    c = get(dkey)["content"]  # type: ignore[index]
    if not c["affiliations"]:
        st.text("No affiliations. Add one below.")
    for idx, aff in enumerate(c["affiliations"]):
        aid = aff["id"]
        with st.container(border=True, key=wkey(dkey, "afbox", aid)):
            head, rm = st.columns([12, 1])
            head.text(f"[{aid}] {inert(aff['raw'], 300)}")
            if aid in flags:
                head.caption("⚠ " + " · ".join(flags[aid]))
            rm.button("", icon=":material/close:", key=wkey(dkey, "af", aid, "rm"), help="Remove this affiliation",
                      on_click=_remove_aff, args=(dkey, aid))
            c1, c2, c3 = st.columns([5, 4, 3])
            k = wkey(dkey, "af", aid, "inst")
            _init(k, aff.get("institution") or "")
            c1.text_input("Institution", key=k, placeholder="institution", label_visibility="collapsed",
                          on_change=_set, args=(dkey, ("affiliations", idx, "institution"), k, _empty_to_none))
            k = wkey(dkey, "af", aid, "country")
            with c2:
                country_field(k, aff.get("country"), on_change=_set_country,
                              args=(dkey, ("affiliations", idx, "country"), k))
            k = wkey(dkey, "af", aid, "sector")
            _init(k, aff.get("sector"))
            c3.selectbox("Sector", SECTORS, key=k, format_func=lambda v: v or "— sector —",
                         label_visibility="collapsed", on_change=_set,
                         args=(dkey, ("affiliations", idx, "sector"), k))
    a, b = st.columns([5, 2])
    a.text_input("New affiliation", key=wkey(dkey, "newaff"), placeholder="new affiliation, as printed",
                 label_visibility="collapsed")
    b.button("Add affiliation", key=wkey(dkey, "addaff"), on_click=_add_aff, args=(dkey,))
    msg = st.session_state.pop("_editor_msg", None)
    if msg:
        st.warning(msg)


def render_authors(dkey: str) -> None:
    c = get(dkey)["content"]  # type: ignore[index]
    aff_ids = [a["id"] for a in c["affiliations"]]
    labels = {a["id"]: _aff_label(a) for a in c["affiliations"]}
    n = len(c["authors"])
    for i, author in enumerate(c["authors"]):
        cols = st.columns([1, 1, 5, 6, 1])
        cols[0].button("", icon=":material/arrow_upward:", key=wkey(dkey, "au", i, "up"), on_click=_move_author, args=(dkey, i, -1),
                       disabled=i == 0, help="Move up")
        cols[1].button("", icon=":material/arrow_downward:", key=wkey(dkey, "au", i, "down"), on_click=_move_author, args=(dkey, i, 1),
                       disabled=i == n - 1, help="Move down")
        k = wkey(dkey, "au", i, "name")
        _init(k, author["name"])
        cols[2].text_input("Name", key=k, label_visibility="collapsed", placeholder="author name",
                           on_change=_set, args=(dkey, ("authors", i, "name"), k, lambda v: (v or "").strip()))
        k = wkey(dkey, "au", i, "affs")
        _init(k, [x for x in author["affiliation_ids"] if x in aff_ids])
        cols[3].multiselect("Affiliations", aff_ids, key=k, format_func=lambda x: labels.get(x, str(x)),
                            label_visibility="collapsed", placeholder="affiliations",
                            on_change=_set, args=(dkey, ("authors", i, "affiliation_ids"), k))
        cols[4].button("", icon=":material/close:", key=wkey(dkey, "au", i, "rm"), on_click=_remove_author, args=(dkey, i),
                       help="Remove this author")
    st.button("Add author", key=wkey(dkey, "addau"), on_click=_add_author, args=(dkey,))


def render_title_and_models(dkey: str) -> None:
    c = get(dkey)["content"]  # type: ignore[index]
    k = wkey(dkey, "title")
    _init(k, c.get("title") or "")
    st.text_input("Title", key=k, on_change=_set, args=(dkey, ("title",), k, _empty_to_none))
    st.caption("Model mentions: family and role")
    if not c["model_mentions"]:
        st.text("No model mentions.")
    for i, m in enumerate(c["model_mentions"]):
        cols = st.columns([4, 4, 3, 1])
        k = wkey(dkey, "mm", i, "name")
        _init(k, m["name"])
        cols[0].text_input("Name as written", key=k, label_visibility="collapsed", placeholder="name as written",
                           on_change=_set, args=(dkey, ("model_mentions", i, "name"), k))
        k = wkey(dkey, "mm", i, "family")
        _init(k, m["family"])
        cols[1].text_input("Family", key=k, label_visibility="collapsed", placeholder="family",
                           on_change=_set, args=(dkey, ("model_mentions", i, "family"), k))
        k = wkey(dkey, "mm", i, "role")
        _init(k, m.get("role"))
        cols[2].selectbox("Role", ROLES, key=k, format_func=lambda v: v or "— role —", label_visibility="collapsed",
                          on_change=_set, args=(dkey, ("model_mentions", i, "role"), k))
        cols[3].button("", icon=":material/close:", key=wkey(dkey, "mm", i, "rm"), on_click=_remove_mention, args=(dkey, i))
    st.button("Add model mention", key=wkey(dkey, "addmm"), on_click=_add_mention, args=(dkey,))


def render_save_bar(dkey: str, on_save: Any, args: tuple) -> None:
    """Save / discard, and what stops the draft from saving (validation problems named);
    shown only while the draft has edits: with none there is nothing to save or discard
    (the buttons would be disabled), and the browser has fewer elements to draw per record."""
    draft = get(dkey)
    if draft is None or not is_dirty(draft):
        return
    with st.container(horizontal=True, key="save_bar"):
        st.button("Save corrections", key="save", type="primary", shortcut="Ctrl+Enter",
                  on_click=on_save, args=args, width="stretch")
        st.button("Discard my edits", key="discard", on_click=_discard, args=(dkey,), width="stretch")
    try:
        content(draft)
    except ValidationError as exc:
        st.error(_md_escape("These edits cannot be saved yet: " + "; ".join(e["msg"] for e in exc.errors())))
