"""Record: one paper at a time — why it is here, the page with evidence, a quick country
fix, the full editor, and the actions (each with a keyboard shortcut).

Keystroke flows (measured by tests/browser and benchmarks/bench_ui.py):
- a correct record: ``A`` (approve, next record) — 1 key;
- one wrong country: ``F`` (focus the first flagged affiliation's country), two letters of
  the code, ``Enter`` (saves the correction, verified, next record) — 4 keys.

All state changes happen in button callbacks through :mod:`extractor.review.actions`, with the
version the reviewer saw; a refused save (someone else changed the record) shows the fresh
record and keeps the reviewer's edits to re-apply.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial

import streamlit as st
from pydantic import ValidationError

from extractor.errors import CollabscopeError, ConflictError, NotFoundError
from extractor.review import actions as review
from extractor.review import double as review_double
from extractor.review import view
from extractor.schemas import PaperContent, RecordStatus
from review_ui import common, editor, keys, render

S = st.session_state
MODES = {"queue": "Review queue (by priority)", "audit": "Audit sample", "double": "Second reviews (blind)"}
#: The views of a record below the quick fix, one shown at a time.
VIEWS = ["Overview", "Affiliations", "Authors", "Title & models", "Backends", "History"]


# --------------------------------------------------------------------------- navigation


def _serve() -> str | None:
    store, who, n = common.store(), common.reviewer(), common.nav()
    if n.mode == "double":
        task = review_double.next_second_review(store, who, skip_ids=n.skipped | set(n.history))
        return task.paper_id if task else None
    rec = review.serve_next(store, who, filters=common.queue_filters(n), audit=n.mode == "audit",
                            skip_ids=n.skipped)
    return rec.paper_id if rec else None


def _advance() -> None:
    n = common.nav()
    if n.cursor < len(n.history) - 1:
        n.cursor += 1
        return
    pid = _serve()
    if pid:
        n.push(pid)
    else:
        n.cursor = len(n.history)
        n.done = True


def _dkey(pid: str) -> str:
    return f"2nd:{pid}" if common.nav().mode == "double" else pid


def _error(prefix: str, exc: Exception) -> None:
    if isinstance(exc, ValidationError):
        common.flash("error", prefix + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    else:
        common.flash("error", prefix + str(exc))


def _conflict(pid: str, exc: ConflictError) -> None:
    draft = editor.get(_dkey(pid))
    kept = editor.is_dirty(draft)
    if kept:
        S.setdefault("stale", {})[pid] = draft
    editor.drop(_dkey(pid))
    common.flash("error", f"Not saved: record {pid} was changed by someone else (you edited version "
                 f"{exc.expected}, it is now version {exc.actual}); nothing was overwritten. The fresh record is shown."
                 + (" Your edits are kept: re-apply them to the fresh record or drop them." if kept else ""))


# --------------------------------------------------------------------------- callbacks


def _second(pid: str, decision: str, content: PaperContent | None = None) -> None:
    try:
        out = review_double.submit_second_review(common.store(), pid, common.reviewer(), decision, content)
    except (CollabscopeError, ValidationError) as exc:
        _error("Second review not saved: ", exc)
        return
    editor.drop(_dkey(pid))
    common.flash("success" if out["agree"] else "warning",
                 f"Second review of {pid} saved: {'agrees' if out['agree'] else 'differs'} "
                 f"(first: {out['first']}, yours: {out['second']}).")
    _advance()


def cb_approve(pid: str, version: int) -> None:
    """A: approve as is, or save the edits when there are any; then the next record."""
    store, who = common.store(), common.reviewer()
    draft = editor.get(_dkey(pid))
    dirty = editor.is_dirty(draft)
    if common.nav().mode == "double":
        try:
            content = editor.content(draft) if dirty else None  # type: ignore[arg-type]
        except ValidationError as exc:
            _error("Not saved: ", exc)
            return
        _second(pid, "correct" if dirty else "approve", content)
        return
    try:
        if dirty:
            rec = review.correct(store, pid, editor.content(draft), who,  # type: ignore[arg-type]
                                 expected_version=draft["base_version"],  # type: ignore[index]
                                 double_fraction=common.double_fraction())
            common.flash("success", f"Saved your corrections to {pid}: verified (version {rec.version}).")
        else:
            rec = review.approve(store, pid, who, expected_version=version, double_fraction=common.double_fraction())
            common.flash("success", f"Approved {pid} (version {rec.version}).")
    except ConflictError as exc:
        _conflict(pid, exc)
        return
    except (CollabscopeError, ValidationError) as exc:
        _error("Not saved: ", exc)
        return
    editor.drop(_dkey(pid))
    _advance()


def cb_quick_fix(pid: str, version: int, aid: int, key: str) -> None:
    """The quick country fix: set one affiliation's country, save as verified, next record.
    A code that is not ISO 3166 is refused with a message; the record stays open."""
    ok, code = editor.parse_country(key)
    if not ok:
        common.flash("error", S.pop("_editor_msg", "Not a country code."))
        return
    if not code:
        return
    store, who = common.store(), common.reviewer()
    dkey = _dkey(pid)
    draft = editor.get(dkey)
    try:
        if draft is not None:
            base_version = draft["base_version"]
            content = review.set_country(editor.content(draft), aid, code)
        else:
            base_version = version
            content = review.set_country(store.get_record(pid).content(), aid, code)
        if common.nav().mode == "double":
            _second(pid, "correct", content)
            return
        rec = review.correct(store, pid, content, who, expected_version=base_version,
                             double_fraction=common.double_fraction())
    except ConflictError as exc:
        _conflict(pid, exc)
        return
    except (CollabscopeError, ValidationError) as exc:
        _error("Not saved: ", exc)
        return
    common.flash("success", f"Affiliation {aid} of {pid} set to {code} · {view.country_name(code)}; "
                 f"record verified (version {rec.version}).")
    editor.drop(dkey)
    _advance()


def cb_skip(pid: str) -> None:
    n = common.nav()
    n.skipped.add(pid)
    if n.mode != "double":
        try:
            review.skip(common.store(), pid, common.reviewer())
        except CollabscopeError as exc:
            _error("Skip: ", exc)
    common.flash("info", f"Skipped {pid}; it stays in the queue for others.")
    _advance()


def cb_next(pid: str) -> None:
    n = common.nav()
    if n.cursor < len(n.history) - 1:
        n.cursor += 1
    else:
        cb_skip(pid)


def cb_prev() -> None:
    n = common.nav()
    if n.history:
        n.cursor = max(0, min(n.cursor, len(n.history)) - 1)
        n.done = False


def cb_reject(pid: str, version: int) -> None:
    reason = S.get("reject_reason") or "not_a_paper"
    if common.nav().mode == "double":
        _second(pid, "reject")
        return
    try:
        review.reject(common.store(), pid, common.reviewer(), expected_version=version, reason=reason,
                      note=(S.get("action_note") or "").strip() or None, double_fraction=common.double_fraction())
    except ConflictError as exc:
        _conflict(pid, exc)
        return
    except CollabscopeError as exc:
        _error("Not rejected: ", exc)
        return
    common.flash("success", f"Rejected {pid} ({review.REJECT_REASONS[reason]}).")
    S["action_note"] = ""
    editor.drop(_dkey(pid))
    _advance()


def cb_flag(pid: str, version: int) -> None:
    try:
        review.flag(common.store(), pid, common.reviewer(), expected_version=version,
                    note=(S.get("action_note") or "").strip() or None)
    except ConflictError as exc:
        _conflict(pid, exc)
        return
    except CollabscopeError as exc:
        _error("Not flagged: ", exc)
        return
    common.nav().skipped.add(pid)
    S["action_note"] = ""
    common.flash("info", f"Asked for a second opinion on {pid}; someone else will see it.")
    _advance()


def cb_undo() -> None:
    store, who, n = common.store(), common.reviewer(), common.nav()
    last = review.last_undoable(store, who)
    try:
        rec = review.undo_last(store, who)
    except ConflictError as exc:
        common.flash("error", f"Cannot undo: {exc}")
        return
    except CollabscopeError as exc:
        common.flash("warning", str(exc))
        return
    editor.drop(rec.paper_id)
    n.skipped.discard(rec.paper_id)
    n.push(rec.paper_id)
    common.flash("success", f"Undid your {last['action'] if last else 'last action'} on {rec.paper_id}; "
                 f"it is {rec.status.value} again (version {rec.version}).")


def cb_reapply(pid: str) -> None:
    stale = S.get("stale", {}).pop(pid, None)
    if not stale:
        return
    fresh = common.store().get_record(pid)
    merged, conflicts = review.rebase_edits(PaperContent.model_validate(stale["base"]),
                                            PaperContent.model_validate(stale["content"]), fresh.content())
    editor.replace(pid, merged, fresh.version, base=fresh.content())
    common.flash("info", "Your edits were re-applied to the fresh record; check and save."
                 + (f" Both of you changed: {', '.join(conflicts)} (your value is used)." if conflicts else ""))


def cb_drop_stale(pid: str) -> None:
    S.get("stale", {}).pop(pid, None)


def cb_mode() -> None:
    n = common.nav()
    pid = n.current()
    if pid and n.mode != "double":
        held = common.store().get_claim(pid)
        if held and held["reviewer"] == common.reviewer():
            review.release(common.store(), pid, common.reviewer())
    n.mode = S["mode"]
    n.reset()


# --------------------------------------------------------------------------- page


def _sidebar(n: common.Nav) -> None:
    with st.sidebar:
        S.setdefault("mode", n.mode)
        st.radio("What to review", list(MODES), key="mode", format_func=MODES.get, on_change=cb_mode)
        if n.filters and any(n.filters.values()):
            st.caption("Filters (set on the Queue page)")
            st.text(", ".join(f"{k}={view.inert(v, 60)}" for k, v in n.filters.items() if v))
        with st.expander("Keyboard shortcuts", expanded=False):
            for key, what in common.SHORTCUTS:
                st.text(f"{key:>10}  {what}")


def _resolve_current(n: common.Nav) -> str | None:
    store, who = common.store(), common.reviewer()
    wanted = st.query_params.get("paper")
    if wanted and wanted != S.get("_qp_seen") and wanted != n.current() and n.mode != "double":
        S["_qp_seen"] = wanted
        try:
            review.open_record(store, wanted, who)
            n.push(wanted)
        except NotFoundError:
            common.flash("error", f"No record {wanted}.")
    if n.current() is None and not n.done:
        _advance()
    pid = n.current()
    S["_qp_seen"] = pid
    if pid and n.mode != "double":
        st.query_params["paper"] = pid
    elif "paper" in st.query_params:
        del st.query_params["paper"]
    return pid


def _renew(pid: str, status: RecordStatus) -> dict | None:
    """Keep this reviewer's lease alive while they work; the holder, if someone else."""
    store, who = common.store(), common.reviewer()
    held = store.get_claim(pid)
    now = datetime.now(UTC)
    if held and held["reviewer"] == who and status == RecordStatus.IN_REVIEW:
        left = datetime.fromisoformat(held["expires_at"]) - now
        if left < timedelta(seconds=review.LEASE_SECONDS / 2):
            review.claim(store, pid, who)
        return None
    if held and held["reviewer"] != who and held["expires_at"] >= now.isoformat(timespec="milliseconds"):
        return held
    return None


def _action_bar(pid: str, version: int, dirty: bool, double: bool) -> None:
    # One horizontal container rather than columns: a column is an element of its own,
    # and every element is one more message for the browser to apply on each record.
    with st.container(horizontal=True, key="actions"):
        st.button("Save & next" if dirty else "Approve", key="approve", type="primary", shortcut="A",
                  on_click=cb_approve, args=(pid, version), width="stretch",
                  help="Approve as is (or save your edits), then the next record")
        st.button("Skip", key="skip", shortcut="S", on_click=cb_skip, args=(pid,), width="stretch")
        st.button("Prev", key="prev", shortcut="P", on_click=cb_prev, width="stretch",
                  disabled=common.nav().cursor <= 0)
        st.button("Next", key="next", shortcut="N", on_click=cb_next, args=(pid,), width="stretch")
        st.button("2nd opinion", key="flag", shortcut="O", on_click=cb_flag, args=(pid, version),
                  width="stretch", disabled=double)
        st.button("Reject", key="reject", shortcut="X", on_click=cb_reject, args=(pid, version), width="stretch")
        st.button("Undo", key="undo", shortcut="U", on_click=cb_undo, width="stretch", disabled=double)
    with st.expander("Reject reason and note", expanded=False):
        st.selectbox("Reject because", list(review.REJECT_REASONS), key="reject_reason",
                     format_func=lambda k: review.REJECT_REASONS[k])
        st.text_input("Note (for reject or second opinion)", key="action_note", max_chars=500)


def _stale_panel(pid: str, current: PaperContent) -> None:
    stale = S.get("stale", {}).get(pid)
    if not stale:
        return
    with st.container(border=True, key="stale_box"):
        st.error("Someone else saved this record while you were editing. Nothing was overwritten. "
                 "Your unsaved edits:")
        try:
            changes = review.content_changes(current, PaperContent.model_validate(stale["content"]))
        except ValidationError:
            changes = ["(your draft does not validate)"]
        for line in changes or ["(none relative to the fresh record)"]:
            common.show_text("• " + line, limit=400)
        a, b = st.columns(2)
        a.button("Re-apply my edits to the fresh record", key="reapply", on_click=cb_reapply, args=(pid,),
                 type="primary")
        b.button("Drop my edits", key="drop_stale", on_click=cb_drop_stale, args=(pid,))


def _qf_key(dkey: str, aid: int | str) -> str:
    return f"qf-{dkey.replace(':', '-')}-{aid}"


def cb_quick_add(dkey: str, key: str) -> None:
    """A record without affiliations: add the one typed (to the draft, unsaved)."""
    raw = (S.get(key) or "").strip()
    if raw and editor.get(dkey) is not None:
        editor.add_affiliation(dkey, raw)
        S[key] = ""
        common.flash("info", "Affiliation added to your edits: F sets its country, A saves.")


def _quick_fix(pid: str, version: int, dkey: str, content: dict, flagged: list[int],
               flags: dict[int, list[str]], crops: dict[int, Callable[[], render.PageImage]]) -> None:
    """Country code fields for the flagged affiliations, each with the PDF where its text
    is printed (enlarged); the first field is what "F" focuses. With nothing flagged the
    first affiliation's country is offered (so F always lands in a field), and with no
    affiliation at all a field to add one. A crop is rendered after its field is on the
    page, so a render that is not cached yet never delays the keyboard."""
    by_id = {a["id"]: a for a in content["affiliations"]}
    targets = flagged or [a["id"] for a in content["affiliations"][:1]]
    with st.container(border=True, key="quickfix"):
        if not targets:
            st.caption("No affiliations — F focuses this field: type one as printed, Enter adds it to your edits")
            st.text_input("New affiliation", key=_qf_key(dkey, "new"), placeholder="affiliation, as printed",
                          label_visibility="collapsed", on_change=cb_quick_add, args=(dkey, _qf_key(dkey, "new")))
            return
        st.caption(("Fix country — F focuses the first" if flagged else "Nothing flagged — F focuses the first "
                    "affiliation's country") + "; type the two-letter code, Enter saves and opens the next record")
        for aid in targets:
            aff = by_id[aid]
            key = _qf_key(dkey, aid)
            # One row, one element per part (the affiliation with its flags, the code, its name):
            # every element is one more message for the browser to apply on each record.
            row = st.container(horizontal=True, vertical_alignment="center")
            row.text(f"[{aid}] {view.inert(aff['raw'], 160)}" + (f"\n⚠ {' · '.join(flags[aid])}" if flags.get(aid) else ""),
                     width="stretch")
            editor.country_field(key, aff.get("country"), on_change=cb_quick_fix, args=(pid, version, aid, key),
                                 row=row)
            if aid not in flagged:
                continue
            make = crops.get(aid)
            crop = make() if make is not None else None
            if crop is not None and crop.png:
                st.image(crop.png, width="stretch")
            elif crop is None:
                st.caption("Not found on the page: see the whole page or page 2 on the left.")


def main() -> None:
    common.reviewer()
    keys.bind_fix_key()  # first, and outside the fragment: mounted once, live for every record
    _sidebar(common.nav())
    record_view()


@st.fragment
def record_view() -> None:
    """The record and its actions, as a fragment: a decision reruns only this part of the
    page (not the router, the sign-in gate or the sidebar), so the next record shows sooner.
    While it runs the background prefetch of the next pages waits (:func:`render.page_run`)."""
    with render.page_run():
        _record_view()


def _record_view() -> None:
    store, n = common.store(), common.nav()
    pid = _resolve_current(n)
    common.show_flash()
    if pid is None:
        st.success("Nothing left to review here for these filters." if n.history or n.done
                   else "The queue is empty.")
        a, b = st.columns(2)
        a.button("Previous record", key="prev_empty", on_click=cb_prev, disabled=not n.history, shortcut="P")
        if b.button("Back to the queue", key="to_queue"):
            st.switch_page(common.QUEUE_PAGE)
        st.stop()

    double = n.mode == "double"
    if double:
        task = review_double.second_review_task(store, pid, common.reviewer())
        if task is None:
            common.flash("info", f"{pid} no longer needs a second review.")
            n.history = [p for p in n.history if p != pid]
            n.cursor = len(n.history) - 1
            _advance()
            st.rerun()
        record, base = task.record, task.machine
    else:
        try:
            record = store.get_record(pid)
        except NotFoundError:
            st.error(f"No record {pid}.")
            st.stop()
        base = record.content()
    dkey = _dkey(pid)
    draft = editor.get(dkey)
    if draft is not None and draft["base_version"] != record.version and not double:
        if editor.is_dirty(draft):
            S.setdefault("stale", {})[pid] = draft
        editor.drop(dkey)
    draft = editor.ensure(dkey, base, record.version)
    dirty = editor.is_dirty(draft)

    view_record = record.model_copy(update={
        "title": base.title, "title_evidence": base.title_evidence, "authors": base.authors,
        "affiliations": base.affiliations, "model_mentions": base.model_mentions}) if double else record
    doc, pairs = render.record_evidence(store, record)
    flags = view.affiliation_flags(view_record, pairs)
    flagged = render.display_flagged(view_record, pairs, {a["id"] for a in draft["content"]["affiliations"]})
    boxes = view.evidence_boxes(view_record, doc.front, flagged) if doc is not None else []
    crops = ({c.aff_id: partial(render.crop_image, doc, boxes, c)
              for c in view.flagged_crops(view_record, doc.front, flagged)} if doc is not None else {})

    _action_bar(pid, record.version, dirty, double)
    other = None if double else _renew(pid, record.status)

    bits = [pid, record.status.value, f"version {record.version}"]
    if record.confidence is not None:
        bits.append(f"confidence {record.confidence:.2f}")
    if record.audit:
        bits.append("AUDIT SAMPLE")
    if record.venue or record.year:
        bits.append(f"{view.inert(record.venue or '', 40)} {record.year or ''}".strip())
    if record.provenance.reviewer and record.status in (RecordStatus.VERIFIED, RecordStatus.REJECTED) and not double:
        bits.append(f"decided by {view.inert(record.provenance.reviewer, 60)}")
    st.text(" · ".join(bits) + f"   ({n.cursor + 1} of {len(n.history)} this session)")
    if double:
        st.info("Blind second review: you see the machine's version, not the first reviewer's decision. "
                "Decide as if you were first.")
    if other:
        st.warning(common._md_escape(f"{other['reviewer']} has this record open (since {other['claimed_at'][:16]}). "
                                     "If they save first, your save will be refused and nothing is lost."))
    left, right = st.columns([5, 6], gap="medium")
    with right:  # the form first: it is what the keyboard acts on; the page image follows
        if dirty:
            st.caption("You have unsaved edits on this record: A saves them, Discard drops them.")
        _stale_panel(pid, record.content())
        st.caption("Title")
        common.show_text(record.title if not double else base.title, limit=400, empty="(no title)")
        with st.container(border=True, key="reasons"):
            st.caption("Why this record is in the queue")
            st.text("\n".join("• " + view.inert(r.message, 400) for r in record.review_reasons or [])
                    or "• no machine doubts (audit sample or opened directly)")
            rows = [r for r in view.backend_comparison(view_record, pairs) if r["differs"]] if len(pairs) > 1 else []
            if rows:
                st.caption("Backends disagree on")
                for r in rows:
                    st.text(f"{r['field']} —  " + "   ·   ".join(f"{k}: {view.inert(str(v), 200)}" for k, v in r.items()
                                                                 if k not in ("field", "differs")))
        _quick_fix(pid, record.version, dkey, draft["content"], flagged, flags, crops)
        # One view at a time, picked with a segmented control (one element; tabs would be a
        # block per tab, which the browser redraws on every record). The first is a plain-text
        # overview: the editors' selects and inputs are most of what the browser draws per
        # record, so an editor is built only once the reviewer picks it (the choice is kept
        # in the session, so it stays picked for the next records).
        S.setdefault("record_tab", VIEWS[0])
        shown = st.segmented_control("Show", VIEWS, key="record_tab", required=True, label_visibility="collapsed")
        if shown == "Affiliations":
            editor.render_affiliations(dkey, flags)
        elif shown == "Authors":
            editor.render_authors(dkey)
        elif shown == "Title & models":
            editor.render_title_and_models(dkey)
        elif shown == "Backends":
            rows = view.backend_comparison(view_record, pairs)
            st.dataframe([{k: view.inert(str(v), 300) for k, v in r.items()} for r in rows], hide_index=True,
                         width="stretch")
        elif shown == "History":
            _history(store, pid, double)
        else:
            _overview(draft["content"], flags)
        editor.render_save_bar(dkey, cb_approve, (pid, record.version))
    with left:
        _page(doc, boxes, view_record)
    if not double:  # render the next records' pages while the reviewer reads this one
        render.prefetch(common.db_path(), filters=common.queue_filters(n), audit=n.mode == "audit")


def _overview(content: dict, flags: dict[int, list[str]]) -> None:
    """The record as it stands (with any unsaved edits), as plain text: each author with
    their affiliation ids, each affiliation with its country. Editing is on the next views."""
    st.caption("Authors → affiliations, and what each affiliation was read as. Edit under Affiliations, "
               "Authors and Title & models above (the view you pick stays shown for the next records).")
    people = "; ".join(f"{view.inert(a['name'], 80)} [{', '.join(map(str, a['affiliation_ids'])) or '–'}]"
                       for a in content["authors"])
    st.text(people or "(no authors)")
    lines = []
    for aff in content["affiliations"]:
        where = view.inert(aff.get("institution") or "", 80)
        line = f"[{aff['id']}] {view.inert(aff['raw'], 200)} → {view.country_label(aff.get('country'))}"
        if where and where not in line:
            line += f" ({where})"
        if aff["id"] in flags:
            line += "   ⚠ " + " · ".join(flags[aff["id"]])
        lines.append(line)
    st.text("\n".join(lines) or "(no affiliations)")  # one element for all: fewer for the browser to draw


def _history(store, pid: str, double: bool) -> None:  # type: ignore[no-untyped-def]
    if double:
        st.text("Hidden during a blind second review.")
        return
    hist = store.log_rows(paper_id=pid)
    st.dataframe([{"at": h["at"][:19], "who": view.inert(h["actor"], 60), "action": h["action"],
                   "status": f"{h['status_before'] or ''} → {h['status_after'] or ''}",
                   "version": h["version_after"], "note": view.inert(h["note"], 200)}
                  for h in hist], hide_index=True, width="stretch")


def _page(doc, boxes: list[view.EvidenceBox], view_record) -> None:  # type: ignore[no-untyped-def]
    """Page 1 with evidence boxes (where the evidence is, or the whole page on demand),
    and page 2 when the author block continues there; if the PDF is gone, say so and
    show the extracted text."""
    if doc is None:
        st.warning("The source document is not in the database; the form still works.")
        return
    whole = st.toggle("Whole pages", key="whole_pages", help="Show page 1 uncut (and page 2), larger")
    pages = view.pages_to_show(view_record, doc.front, doc.page_count)
    if whole and doc.page_count >= 2 and 1 not in pages:
        pages.append(1)
    img = render.page_image(doc, boxes, zoom=2.0 if whole else 1.4, whole=whole)
    if img.problem:
        st.warning(common._md_escape(img.problem))
    if img.png:
        st.image(img.png, caption=render.LEGEND, width="stretch")
        for page in pages[1:]:
            more = render.page_image(doc, boxes, zoom=2.0 if whole else 1.4, page=page)
            if more.png:
                st.caption(f"Page {page + 1}" + ("" if whole else ": the author block continues here"))
                st.image(more.png, width="stretch")
    elif doc.front is not None:
        st.caption("Page 1 text (as extracted)")
        st.code("\n".join(view.inert(line, 300) for line in doc.front.text.splitlines()[:80]), language=None,
                wrap_lines=True)

main()
