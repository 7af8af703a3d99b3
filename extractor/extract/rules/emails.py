"""Emails -> authors: by how well the local part matches the name, then by print order.

Emails come from layout (brace groups ``{a,b}@x`` already expanded, in print order).
Each (email, author) pair gets a score from the usual local-part patterns (first.last,
flast, lastf, first, initials, surname inside the local part ...); the best pairs are
taken greedily. ``Name <email>`` pairs in a correspondence note bind directly; then a marked
note with one address whose marker one author carries gives it to that author. Emails
left over are placed by print order when they sit between two matched emails whose
authors have exactly one unmatched author between them, or when one grid cell holds as
many unmatched names as unmatched emails.
"""

from __future__ import annotations

import re
import unicodedata

from rapidfuzz import fuzz

from extractor.extract.rules.names import NameSlot

MIN_SCORE = 62.0
_ANGLE_RE = re.compile(r"([A-Z][^\s<>,;:]*(?:\s+[A-Z][^\s<>,;:]*){0,4})\s*<\s*([^<>@\s]+(?:\s[^<>@\s]+)?@[^<>\s]+?)\s*>")


def _fold(text: str) -> str:
    text = text.translate(str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss", "æ": "ae", "đ": "d"}))
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()


def _tokens(name: str) -> list[str]:
    return [t for t in re.split(r"[^a-z]+", _fold(name)) if t]


def match_score(local: str, name: str | list[str]) -> float:
    """0-100: how likely ``local``@... is the address of ``name`` (or its folded tokens)."""
    loc = re.sub(r"[^a-z]", "", _fold(local))
    toks = _tokens(name) if isinstance(name, str) else name
    if not loc or not toks:
        return 0.0
    first, last = toks[0], toks[-1]
    given = "".join(toks[:-1])
    initials = "".join(t[0] for t in toks)
    pats = [given + last, last + given, first + last, last + first, first[0] + last, given[:1] + last,
            first + last[0], last + first[0], first, "".join(toks)]
    if len(last) >= 3:
        pats.append(last)
    score = max(fuzz.ratio(loc, p) for p in pats if p)
    if len(loc) <= 4 and loc in (initials, initials[-1] + initials[:-1]):
        score = max(score, 88.0)
    if len(last) >= 3 and last in loc:
        score = max(score, 84.0)
    elif len(last) == 2 and (loc.endswith(last) or loc.startswith(last)) and any(t[0] in loc for t in toks[:-1]):
        score = max(score, 72.0)
    if len(first) >= 3 and first in loc:
        score = max(score, 80.0)
    if len(loc) >= 3 and (last.startswith(loc) or first.startswith(loc)):
        score = max(score, 74.0)
    if 3 <= len(loc) <= 6 and len(toks) >= 2 and score < MIN_SCORE:
        # "sxf" for Xiaofang Sun: surname initial, then letters of the given name, in order
        for full in (last + given, given + last):
            if full[0] == loc[0] and _subsequence(loc, full) and (given[0] in loc[1:] or last[0] in loc[1:]):
                score = max(score, MIN_SCORE + 1)
    return float(score)


def _subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(c in it for c in short)


def angle_pairs(text: str) -> list[tuple[str, str]]:
    """``Name <email>`` pairs in correspondence notes; a space in the local part was an underscore."""
    out = []
    for m in _ANGLE_RE.finditer(text):
        email = m.group(2).replace(" ", "_").lower().rstrip(".")
        out.append((m.group(1).strip(), email))
    return out


def assign_emails(slots: list[NameSlot], emails: list[str], *, notes_text: str = "",
                  cell_emails: dict[int, list[str]] | None = None,
                  marker_notes: list[tuple[list[str], list[str]]] | None = None) -> None:
    """Set ``slot.email`` for the authors whose address can be told (see module docstring).

    ``marker_notes`` are (markers, emails) of notes that start with a marker
    ("†Corresponding author: x@y"): a note holding one address gives it to the one author
    who carries that marker.
    """
    if not slots or not emails:
        return
    taken_e: set[str] = set()
    taken_s: set[int] = set()

    def take(k: int, e: str) -> None:
        slots[k].email = e
        taken_e.add(e)
        taken_s.add(k)


    for name, email in angle_pairs(notes_text):
        best = max(range(len(slots)), key=lambda k: fuzz.token_sort_ratio(_fold(name), _fold(slots[k].name)))
        if fuzz.token_sort_ratio(_fold(name), _fold(slots[best].name)) >= 80 and best not in taken_s:
            if email not in emails:
                emails = emails + [email]
            take(best, email)
    scored = []
    name_tokens = [_tokens(s.name) for s in slots]
    for i, e in enumerate(emails):
        if e in taken_e:
            continue
        local = e.split("@", 1)[0]
        for k in range(len(slots)):
            score = match_score(local, name_tokens[k])
            scored.append((score, -abs(i - k), e, k))
    for score, _, e, k in sorted(scored, reverse=True):
        if score < MIN_SCORE or e in taken_e or k in taken_s:
            continue
        take(k, e)
    for markers, addrs in marker_notes or []:
        holders = [k for k, s in enumerate(slots) if set(markers) & set(s.markers)]
        if len(addrs) == 1 and len(holders) == 1 and addrs[0] in emails and holders[0] not in taken_s \
                and addrs[0] not in taken_e:
            take(holders[0], addrs[0])
    _by_cells(slots, emails, cell_emails or {}, taken_e, taken_s, take)
    _by_order(slots, emails, taken_e, taken_s, take)


def _by_cells(slots: list[NameSlot], emails: list[str], cell_emails: dict[int, list[str]],
              taken_e: set[str], taken_s: set[int], take) -> None:  # type: ignore[no-untyped-def]
    for cell, addrs in cell_emails.items():
        free_e = [e for e in addrs if e not in taken_e]
        free_s = [k for k, s in enumerate(slots) if s.cell == cell and k not in taken_s]
        if free_e and len(free_e) == len(free_s):
            for k, e in zip(free_s, free_e):
                take(k, e)


def _by_order(slots: list[NameSlot], emails: list[str], taken_e: set[str], taken_s: set[int], take) -> None:  # type: ignore[no-untyped-def]
    """Emails are printed in author order: fill gaps between matched emails one to one.

    Between two matched emails (and before the first / after the last), the unmatched
    emails go to the unmatched authors between the two matched authors, when both lists
    have the same length and the matched authors are in print order.
    """
    pos = {s.email: k for k, s in enumerate(slots) if s.email}
    anchors = [(-1, -1)] + [(i, pos[e]) for i, e in enumerate(emails) if e in pos] + [(len(emails), len(slots))]
    for (i0, k0), (i1, k1) in zip(anchors, anchors[1:]):
        if k1 <= k0:
            continue
        free_e = [emails[i] for i in range(i0 + 1, i1) if emails[i] not in taken_e]
        free_s = [k for k in range(k0 + 1, k1) if k not in taken_s]
        if free_e and len(free_e) == len(free_s):
            for k, e in zip(free_s, free_e):
                take(k, e)
