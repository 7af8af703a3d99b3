"""Affiliation units: the printed affiliation strings, cut apart and keyed by their markers.

Three sources, in order of trust:

* **Marked units in the author block**: a marker (``¹``, ``†``, or a baseline label such as
  ``1 Momenta``, also mid-line in "1 Georgia Tech, USA  2 Google Brain, USA") starts a
  unit; the following unmarked text and wrapped lines continue it. A line holding only a
  marker starts a unit whose text comes on the next line.
* **Unmarked lines** (grids, one shared affiliation under a row of names) are handed to
  the grid step, which gives them to the names above; :func:`sequence_units` cuts one
  cell's lines into units (a new institution starts a unit; a country or city on its own
  line, a lower-case start or a dangling "of"/"and"/"," continue one).
* **Page-1 footnotes** (ICML style): marked units there count only for markers the names
  use and the author block does not define; "Equal contribution", "Correspondence to" and
  other notes are cut off, and "The authors are with X" gives X to every author.

Finally a unit naming two institutions ("UIUC & Uchicago", "Zhejiang Lab/Zhejiang
University") is split in two (:func:`split_institutions`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from extractor.extract.rules.lines import (
    EMAIL_TOKEN_RE,
    NOTE_RE,
    ORG_RE,
    VENUE_RE,
    Piece,
    ZLine,
    institution_share,
    is_place_line,
    split_markers,
)
from extractor.resolve import Resolver

_CONNECTOR_END_RE = re.compile(r"(?:[,\-–&/(]|\b(?:of|and|for|the|at|in|de|du|des|di|del|della|für|fur|und|et|y|on))\s*$", re.IGNORECASE)
# IEEE style: "The authors are with X." / "A. Smith and B. Jones are with X (e-mail: ...)."
_IS_WITH_RE = re.compile(r"\b(?:is|are)\s+(?:with|at|from|affiliated with)\s+(?:the\s+)?[A-Z]")
# In one footnote sentence: "<who> is/are with [the] <affiliation>"; the affiliation ends at
# an e-mail note.
_IS_WITH_SPLIT_RE = re.compile(r"\s(?:is|are)\s+(?:with|at|from|affiliated with)\s+(?:the\s+)?(?=[A-Z])")
# Abbreviations that sit inside an organisation's name, never at the end of a sentence ("Univ. Tokyo").
_ABBREVIATION_END_RE = re.compile(r"\b(?:Univ|Dept|Inst|Div|Sch|Coll|Natl|Intl)$")
_LOWER_NEXT_RE = re.compile(r"\s*[a-z]")
# "X is with A, and also with B": one sentence, two affiliations of the same people.
_ALSO_WITH_RE = re.compile(r",?\s+and\s+(?:also\s+)?(?:with|at)\s+(?:the\s+)?(?=[A-Z])")
_AFF_TAIL_RE = re.compile(r"\s*[(,]?\s*\(?e-?mails?\s*:|\s*\(\s*e-?mails?\b", re.IGNORECASE)
_ALL_WHO_RE = re.compile(r"^(?:the|all(?: the)?|both)\s+(?:\w+\s+)?authors$", re.IGNORECASE)
_DEPT_START_RE = re.compile(r"^(?:the\s+)?(?:department|dept\.?|school|faculty|division|college of|graduate school|key lab)", re.IGNORECASE)
_INLINE_LABEL_RE = re.compile(r"(?:^|(?<=\s\s)|(?<=[.;]\s))(\d{1,2})(?:\s?(?=[A-Z\u00C0-\u024F])|\s*$)")
# On a line that already carries a superscript label, later labels may be set on the baseline
# after a comma ("¹ University of A, 2 University of B"): mixed markers from one template.
_MIXED_LABEL_RE = re.compile(r"(?:^|(?<=\s\s)|(?<=[.;,]\s))(\d{1,2})(?:\s?(?=[A-Z\u00C0-\u024F])|\s*$)")
# A subject word that ends an organisation's name and cannot start one, wrapped onto the
# next line with the rest of the unit after a comma ("Technology, Peking University").
_FIELD_WORD_RE = re.compile(
    r"^(?:Technology|Technologies|Sciences?|Engineering|Intelligence|Informatics|Systems|Studies|Mathematics|"
    r"Medicine|Physics|Statistics|Automation|Electronics|Computing|Computation)\s*(?:,|$)")
# A part of an organisation (department, school, lab, centre) and the kind of organisation
# it is part of (a university, an institute of technology, an academy).
_SUBUNIT_RE = re.compile(r"\b(?:department|dept\.?|school|faculty|division|laborator(?:y|ies)|lab\.?|"
                         r"cent(?:er|re)|graduate school|college of)(?=\s|$|\.)", re.IGNORECASE)
_PARENT_RE = re.compile(r"(?:the\s+)?(?:[A-Z][\w.&'’-]*\s+){0,4}(?:Universit\w*|Univ\.|Inst(?:itute|\.) of Technology|"
                        r"Academy|Polytechnic|Politecnico)|(?:the\s+)?(?:Universit\w*|Univ\.)\b")
_SPLIT_SEP_RE = re.compile(r"\s+&\s+|\s*/\s*|\s+and\s+|\s*;\s*|,\s+")


@dataclass
class Unit:
    """One printed affiliation and the markers that point at it."""

    text: str
    markers: list[str] = field(default_factory=list)
    lines: list[ZLine] = field(default_factory=list)
    source: str = "zone"  # zone | cell | footnote
    all_authors: bool = False
    cell: int | None = None
    who: list[str] = field(default_factory=list)  # names a footnote gives this unit to
    signals: list[str] = field(default_factory=list)  # schemas.AFFILIATION_SIGNALS of this unit

    def add(self, text: str, line: ZLine | None) -> None:
        text = text.strip()
        if not text:
            return
        if self.text.endswith("-") and text[:1].islower():
            self.text = self.text[:-1] + text  # "United King-" + "dom"
        elif self.text.endswith(("-", "/")):
            self.text += text
        else:
            self.text = f"{self.text} {text}" if self.text else text
        if line is not None and line not in self.lines:
            self.lines.append(line)

    @property
    def bottom(self) -> float:
        return max(z.bbox[3] for z in self.lines) if self.lines else 0.0


def clean_unit(text: str) -> str:
    """Tidy a unit: no emails, URLs, stray markers, or trailing punctuation."""
    text = EMAIL_TOKEN_RE.sub(" ", text)
    text = re.sub(r"https?://\S+|www\.\S+", " ", text)
    text = re.sub(r"\s+", " ", text).strip(" ,;:.*∗†‡§¶")
    return text


def cut_note(text: str) -> str:
    """The part of a unit before the sentence holding a note.

    "Denmark. Correspondence to: ..." keeps "Denmark"; "A. Lee and B. Kim are the
    corresponding authors" and "This work is done when ..." are notes from their first
    word, so nothing is kept.
    """
    text = re.sub(r"(?<=[.;])\s+[A-Z][a-z]{2,}-$", "", text)  # "USA. Correspon-": a note cut at the line end
    m = NOTE_RE.search(text) or VENUE_RE.search(text)
    if m is None:
        return text
    cut = max(text.rfind(". ", 0, m.start() + 1), text.rfind("; ", 0, m.start() + 1))
    # "A. Smith joined ...": the full stop of an initial does not end the sentence before the
    # note, unless the note starts right after it ("..., U.K. Correspondence to: ...").
    while cut >= 0 and text[cut] == "." and re.search(r"(?:^|[\s.])[A-Z]$", text[:cut]) \
            and text[cut + 1:].lstrip() != text[m.start():]:
        cut = max(text.rfind(". ", 0, cut), text.rfind("; ", 0, cut))
    return text[: cut + 1] if cut >= 0 else ""


def expand_inline_labels(pieces: list[Piece], expected: set[str]) -> list[Piece]:
    """Turn baseline labels in running text ("1 Georgia Tech  2 Google") into marker pieces.

    Only numbers the names use count, and only at the start of a line, after a wide gap
    or after a full stop (or a comma, on a line that already holds a superscript label), so
    "Beijing 100084" or "Room 2" never become markers.
    """
    if not expected:
        return pieces
    label_re = _MIXED_LABEL_RE if any(p.marker for p in pieces) else _INLINE_LABEL_RE
    out: list[Piece] = []
    for p in pieces:
        if p.marker:
            out.append(p)
            continue
        pos = 0
        for m in label_re.finditer(p.text):
            if str(int(m.group(1))) not in expected:
                continue
            if m.start() > pos:
                out.append(Piece(p.text[pos : m.start()], False, p.x0, p.x1, p.chars[pos : m.start()]))
            out.append(Piece(m.group(1), True, p.x0, p.x1))
            pos = m.end()
        if pos == 0:
            out.append(p)
        elif pos < len(p.text):
            out.append(Piece(p.text[pos:], False, p.x0, p.x1, p.chars[pos:]))
    return out


def _adjacent(prev: ZLine, line: ZLine) -> bool:
    gap = line.bbox[1] - prev.bbox[3]
    overlap = min(prev.bbox[2], line.bbox[2]) - max(prev.bbox[0], line.bbox[0])
    return gap < 0.9 * max(line.size, 6.0) and overlap > -2 and line.bbox[1] >= prev.bbox[1] - 1


def marked_units(lines: list[ZLine], expected: set[str], *, source: str = "zone") -> tuple[list[Unit], list[ZLine]]:
    """Units started by markers; returns them and the lines that carry no marked unit."""
    units: list[Unit] = []
    loose: list[ZLine] = []
    current: Unit | None = None
    pending: Unit | None = None
    for zl in lines:
        if zl.kind in ("names", "email", "skip") and not (source == "footnote" and zl.kind == "skip"):
            current = None if zl.kind != "email" else current
            continue
        pieces = expand_inline_labels(zl.pieces, expected)
        if all(p.marker or not p.text.strip() for p in pieces):
            pending = Unit("", split_markers("".join(p.text for p in pieces if p.marker)), [zl], source)
            units.append(pending)
            current = pending
            continue
        starts_marked = pieces[0].marker
        continues = current is not None and current.lines and _adjacent(current.lines[-1], zl)
        if not starts_marked and not continues and pending is None:
            loose.append(zl)
            current = None
            continue
        for p in pieces:
            if p.marker:
                current = Unit("", split_markers(p.text), [zl], source)
                units.append(current)
            elif current is not None:
                current.add(p.text, zl)
        pending = None
    return [u for u in units if u.markers], loose


def footnote_units(lines: list[ZLine], expected: set[str], defined: set[str]) -> list[Unit]:
    """Affiliations in page-1 footnotes, for markers the names use that the block lacks."""
    units, _ = marked_units(lines, expected, source="footnote")
    out = []
    for u in units:
        text = clean_unit(cut_note(u.text))
        if not text or not (set(u.markers) & expected) or set(u.markers) <= defined:
            continue
        if len(text) > 400 or not looks_like_affiliation(text) or _IS_WITH_RE.search(text):
            continue  # "¹The authors are with X": the sentence itself is read by is_with_units
        u.text = text
        out.append(u)
    out += is_with_units(lines)
    return out


def is_with_units(lines: list[ZLine]) -> list[Unit]:
    """Units from "<names> is/are with <affiliation>" sentences (IEEE journals, some preprints).

    The footnote is cut into sentences (a full stop after an initial, "M. Rossi", does not end
    one; nor does one inside parentheses) and each sentence gives its affiliation to the
    authors it names, or to everyone for "The authors are with ...".
    """
    out: list[Unit] = []
    joined = re.sub(r"-\s+(?=[a-z])", "", " ".join(z.plain for z in lines))
    if not _IS_WITH_SPLIT_RE.search(joined):
        return out  # most footnotes: no sentence to cut
    for sentence in _sentences(joined):
        m = _IS_WITH_SPLIT_RE.search(sentence)
        if m is None:
            continue
        who = sentence[: m.start()].rsplit(")", 1)[-1]  # "(Corresponding author: X.) A. Lee and ..."
        who = re.sub(r"^[\s\d*∗†‡§¶]+", "", who).strip(" ,")
        aff = _AFF_TAIL_RE.split(sentence[m.end():], 1)[0]
        texts = [clean_unit(cut_note(part) or part) for part in _ALSO_WITH_RE.split(aff)]
        texts = [t for t in texts if t and looks_like_affiliation(t)]
        if not texts or not who:
            continue
        if _ALL_WHO_RE.match(who):
            out += [Unit(text, [], list(lines), "footnote", all_authors=True) for text in texts]
            continue
        names = [n.strip() for n in re.split(r",\s*(?:and\s+)?|\s+and\s+|\s*&\s*", who) if n.strip()]
        if names and all(1 <= len(n.split()) <= 5 and n[:1].isupper() for n in names):
            out += [Unit(text, [], list(lines), "footnote", who=names) for text in texts]
    return out


def _sentences(text: str) -> list[str]:
    """Sentences of a footnote: cut at "; " and at ". " that follows a word (not an initial)
    outside parentheses and is not followed by a lower-case word (an abbreviation)."""
    out: list[str] = []
    depth = 0
    start = 0
    for i, c in enumerate(text):
        if c == "(":
            depth += 1
        elif c == ")":
            depth = max(0, depth - 1)
        elif depth == 0 and c in ".;" and (i + 1 == len(text) or text[i + 1] == " "):
            if c == "." and re.search(r"(?:^|[\s.(])[A-Z]$", text[start:i]):
                continue  # "M. Rossi": an initial
            if c == "." and (_LOWER_NEXT_RE.match(text, i + 1) or _ABBREVIATION_END_RE.search(text, max(start, i - 5), i)):
                continue  # "Dept. of", "Univ. College London": an abbreviation inside the sentence
            out.append(text[start:i].strip())
            start = i + 1
    out.append(text[start:].strip())
    return [x for x in out if x]


def sequence_units(lines: list[ZLine], resolver: Resolver, cell: int | None = None) -> list[Unit]:
    """Cut the unmarked lines of one cell into units (see the module docstring)."""
    units: list[Unit] = []
    for zl in lines:
        text = zl.plain
        if not text:
            continue
        if units and _continues(units[-1], text, zl, resolver):
            if not _CONNECTOR_END_RE.search(units[-1].text) and (is_place_line(text, resolver)
                                                               or _part_then_level(units[-1].lines[-1].plain, text)):
                units[-1].text += ","  # "... Institute" + "Beijing, China": the place is its own part, as is each level
            units[-1].add(re.sub(r"\s+,", ",", text), zl)
        else:
            units.append(Unit(text, [], [zl], "cell", cell=cell))
    return units


def _part_only(text: str) -> bool:
    """Does the text name only a part of an organisation ("Key Lab. for X", "Machine Learning
    Department"), with no comma-separated organisation or university after it?"""
    return "," not in text and _SUBUNIT_RE.search(text) is not None and not _PARENT_RE.search(text)


def _part_then_level(line: str, text: str) -> bool:
    """A line naming only a part of an organisation, then a line starting its parent."""
    return _part_only(line) and bool(_PARENT_RE.match(text))


def _continues(unit: Unit, text: str, line: ZLine, resolver: Resolver) -> bool:
    prev = unit.lines[-1]
    if line.bbox[1] - prev.bbox[3] > 1.2 * max(line.size, 6.0):
        return False
    if _CONNECTOR_END_RE.search(unit.text) or text[:1] in ",(&":
        return True
    if _FIELD_WORD_RE.match(text):
        return True  # "Wangxuan Institute of Computer" + "Technology, Peking University"
    if is_place_line(text, resolver):
        return True
    if _name_spans_break(unit.text, text, resolver):
        return True  # "..., Massachusetts" + "Institute of Technology"
    if "," in unit.text and is_place_line(unit.text.rsplit(",", 1)[-1], resolver):
        return False  # "Computer Science Division, USA": a unit that ends with its place is complete
    head = resolver.resolve(text)
    if text[:1].islower() and not head.in_gazetteer:
        return True
    cur = resolver.resolve(unit.text)
    has_inst = cur.in_gazetteer or (cur.institution is not None and ORG_RE.search(unit.text) is not None
                                    and not _DEPT_START_RE.match(unit.text))
    if not has_inst:
        return True
    if _DEPT_START_RE.match(text):
        return False
    if _part_only(unit.text) and _PARENT_RE.match(text):
        return True  # ACM prints each level on its own line: "Key Lab. for X" + "Nanjing Univ."
    if head.in_gazetteer:
        return head.institution == cur.institution
    return not ORG_RE.search(text)


def split_institutions(text: str, resolver: Resolver) -> list[str]:
    """'UIUC & Uchicago' -> ['UIUC', 'Uchicago']; one institution stays one unit.

    A cut is made at '&', '/', 'and', ';' or ',' only when the part after it starts with a
    known institution that the part before it does not name, and the part before it names
    one too (so "Paul G. Allen School of CS & Engineering, University of Washington" and
    "MIT, Cambridge, MA" stay whole).
    """
    res = resolver.resolve(text)
    if not res.in_gazetteer or not any("several organisations" in n for n in res.notes):
        return [text]
    for m in _SPLIT_SEP_RE.finditer(text):
        left, right = text[: m.start()].strip(), text[m.end():].strip()
        if not left or not right or right[:1].islower():
            continue
        r_res = resolver.resolve(right)
        if not r_res.in_gazetteer or is_place_line(right, resolver):
            continue
        l_res = resolver.resolve(left)
        if not l_res.in_gazetteer or l_res.institution == r_res.institution:
            continue
        if r_res.institution in named_institutions(left, resolver):
            continue  # "SJTU-UCLA Joint Center, Shanghai Jiao Tong University": one unit
        if _related(l_res.institution, r_res.institution, resolver):
            continue  # "Courant Institute, New York University": a part and its parent
        first = right.split(",")[0]
        if not resolver.resolve(first).in_gazetteer:
            continue  # the right part starts with a department, not an institution
        if not _mostly_institution(re.split(r"[,;]", left)[-1], resolver):
            continue  # "Robert Bosch Center for DS and AI, and Dept of CSE, IIT Madras": one unit
        return split_institutions(left, resolver) + split_institutions(right, resolver)
    return [text]


def named_institutions(text: str, resolver: Resolver) -> set[str]:
    """Canonical names of every gazetteer institution named anywhere in ``text``."""
    spans = getattr(resolver, "institution_spans", None)
    if spans is not None:
        return {name for name, _, _ in spans(text)[1]}
    from extractor.resolve.text import clean, tokenize

    cleaned = clean(text)
    return {e.name for m in resolver.institutions.find(cleaned, tokenize(cleaned)) for e in m.entries}


def _mostly_institution(piece: str, resolver: Resolver) -> bool:
    """Does a known institution name make up most of ``piece`` ("IIT (Italy)", "UIUC")?"""
    return institution_share(re.sub(r"\([^()]*\)", "", piece), resolver) >= 0.5


_LOWER_WORDS_OK = frozenset("of and for the at in de du des di da del della la le für fur und et y on".split())


def looks_like_affiliation(text: str) -> bool:
    """A noun phrase naming an organisation, not a sentence ("Spiketrap", "Ant Financial, China"
    yes; "To evaluate on the private test data, users must submit ..." no)."""
    if ORG_RE.search(text):
        return True
    words = re.findall(r"[^\W\d_][\w'’.\-]*", text)
    if not words or not words[0][0].isupper():
        return False
    lower = [w for w in words if w[0].islower() and w.lower() not in _LOWER_WORDS_OK]
    return len(words) <= 8 and len(lower) <= 1


def _related(a: str | None, b: str | None, resolver: Resolver) -> bool:
    """One institution is the other's parent (or both share one) in the gazetteer."""
    ea, eb = (resolver.lookup(a) if a else None), (resolver.lookup(b) if b else None)
    if ea is None or eb is None:
        return False
    pa, pb = ea.parent or ea.name, eb.parent or eb.name
    return pa == pb or pa == eb.name or pb == ea.name


def _name_spans_break(before: str, after: str, resolver: Resolver) -> bool:
    """Does a known institution name run across the line break between the two texts?"""
    spans = getattr(resolver, "institution_spans", None)
    if spans is None:
        return False
    joined = f"{before} {after}"
    cleaned, found = spans(joined)
    if cleaned != joined:
        return False  # offsets would not line up; do not guess
    cut = len(before)
    return any(start < cut < end for _, start, end in found)
