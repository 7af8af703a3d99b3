"""Layouts of other generators: the front matter of Springer LNCS, IEEE journals, ACM sigconf, ICML.

The five layouts of :mod:`devtools.layouts` are what the rules backend was developed on;
papers from users and external evaluators come from other LaTeX classes, which print the
same facts differently. These layouts imitate those classes (written from how their output
looks, not from their code) so the rules can be measured and fixed on them. They are
registered in :data:`devtools.generate.LAYOUTS` but are not in the default round-robin
(:data:`devtools.generate.DEFAULT_LAYOUTS`), so corpora rendered without ``--layouts``
stay byte-identical.

- ``lncs``: names joined by ", " and ", and" with superscript institute numbers, sometimes an
  ORCID in brackets and a "(✉)" corresponding mark; institutes numbered 1..n (no number for
  one), each wrapping over lines, followed by the e-mails of its authors (``{a,b}@x``).
- ``ieee``: names with ", Member, IEEE"-style suffixes; affiliations only in the first-column
  footnote as sentences, "A. Lee and B. Kim are with the Department of ..., City ZIP
  Country (e-mail: a@x; b@y)." after a "Manuscript received" note.
- ``acm``: a grid of author blocks (name, institution lines, "City, State, Country",
  e-mail); co-affiliated neighbours may share a block with their names on one line; the
  ACM rights footnote (with the conference's city and country) in the first column and an
  "ACM Reference Format" paragraph in the body.
- ``icml``: bold names with ``*`` and number marks in one centred paragraph, affiliations in
  a first-column footnote with equal-contribution and "work done at" notes, every
  correspondence address, and the proceedings line.

Affiliation strings vary the way other templates print them (:func:`restyle_units`):
abbreviations ("Univ.", "Dept.", "Inst.", "Lab."), country spellings ("U.S.A.", "United
States of America", "P.R. China", "U.K.") and, in IEEE style, a country after a postal code
without a comma. Truth keeps the metadata's institution and country labels and records the
printed text as ``raw``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from devtools.layoutkit import (
    Block,
    Flow,
    PaperSpec,
    Printed,
    Run,
    body_pages,
    centred_lines,
    draw_title,
    email_line,
    flow_atoms,
    sup,
    words_to_atoms,
)
from devtools.layouts import _email_lines, affiliation_footnote_page
from devtools.pdfcanvas import Canvas, wrap

# --------------------------------------------------------------------------- affiliation text

_ABBREVIATIONS = [(re.compile(r"\bUniversity\b"), "Univ."), (re.compile(r"\bDepartment\b"), "Dept."),
                  (re.compile(r"\bInstitute\b"), "Inst."), (re.compile(r"\bLaboratory\b"), "Lab.")]
_COUNTRY_SPELLINGS = {
    "US": ["USA", "U.S.A.", "United States of America", "United States"],
    "CN": ["China", "P.R. China", "PR China", "People's Republic of China"],
    "GB": ["UK", "U.K.", "United Kingdom"],
    "KR": ["South Korea", "Republic of Korea", "Korea"],
}


def restyle_units(spec: PaperSpec, *, abbreviate: float = 0.35, respell: float = 0.6) -> None:
    """Print each unit the way another template would; one choice per paper, like one author's habit."""
    rng = spec.rng
    short = rng.random() < abbreviate
    spellings = {code: rng.choice(names) for code, names in _COUNTRY_SPELLINGS.items()} if rng.random() < respell else {}
    seen: set[str] = set()
    for unit in spec.units:
        text = unit.text
        if short:
            for pattern, abbr in _ABBREVIATIONS:
                text = pattern.sub(abbr, text)
        if unit.country in spellings:
            parts = text.split(", ")
            if len(parts) > 1 and parts[-1].rstrip(".").lower() in {n.lower().rstrip(".") for n in
                                                                      _COUNTRY_SPELLINGS[unit.country]}:
                parts[-1] = spellings[unit.country]
                text = ", ".join(parts)
        if text not in seen:  # two units never collapse into one printed string
            unit.text = text
        seen.add(unit.text)


def _postal_country(text: str) -> str:
    """IEEE prints "City, ST 02139 USA": no comma between a postal code and the country."""
    parts = text.split(", ")
    if len(parts) >= 3 and re.search(r"\d{4,6}$", parts[-2]) and not re.search(r"\d", parts[-1]):
        return ", ".join(parts[:-2]) + f", {parts[-2]} {parts[-1]}"
    return text


def initials_name(name: str) -> str:
    """"Zhi-Hua Zhou" -> "Z.-H. Zhou"; "Mihaela van der Schaar" -> "M. van der Schaar"."""
    tokens = name.split()
    if len(tokens) < 2:
        return name
    last_i = len(tokens) - 1
    while last_i > 1 and tokens[last_i - 1].lower() in {"van", "der", "den", "de", "la", "von", "di", "da", "del", "du", "le"}:
        last_i -= 1
    given = ["-".join(p[:1] + "." for p in t.split("-") if p) for t in tokens[:last_i]]
    return " ".join(given + tokens[last_i:])


def _and_list(items: list[str], serial: bool = True) -> str:
    if len(items) <= 1:
        return "".join(items)
    if len(items) == 2:
        return f"{items[0]} and {items[1]}"
    return ", ".join(items[:-1]) + ("," if serial else "") + f" and {items[-1]}"


# --------------------------------------------------------------------------- lncs


def lncs(spec: PaperSpec) -> tuple[Canvas, Printed]:
    cv, pr, rng = Canvas(612, 792), Printed(), spec.rng
    cv.new_page()
    restyle_units(spec)
    tw = 347.0
    x0 = (612 - tw) / 2
    y = draw_title(cv, spec, 86, 14, tw) + 14
    numbered = len(spec.units) > 1
    orcid = rng.random() < 0.3
    corresponding = rng.choice([0, len(spec.authors) - 1]) if spec.authors and rng.random() < 0.6 else -1
    envelope = "(✉)" if rng.random() < 0.5 else "(B)"  # the Springer envelope glyph often extracts as "(B)"
    base = 10.0
    atoms: list[list[Run]] = []
    for i, a in enumerate(spec.authors):
        marks = ",".join(str(u + 1) for u in a.units) if numbered else ""
        atom: list[Run] = [(a.name, "rm", base, 0.0)]
        if marks:
            atom.append(sup(marks, base))
        if i == corresponding:
            atom.append((envelope, "rm", base * 0.8, 0.0))
        if orcid:
            digits = f"0000−000{rng.randint(1, 3)}−{rng.randint(1000, 9999)}−{rng.randint(100, 999)}{rng.choice('0123456789X')}"
            atom.append(sup(f"[{digits}]", base))
        n = len(spec.authors)
        if i < n - 1:
            atom.append((", and" if i == n - 2 and n > 2 else (" and" if n == 2 else ","), "rm", base, 0.0))
        atoms.append(atom)
    y = centred_lines(cv, y, flow_atoms(atoms, [(" ", "rm", base, 0.0)], tw), base * 1.3) + 10
    size = 9.0
    for k, unit in enumerate(spec.units):
        label = [sup(str(k + 1), size)] if numbered else []
        lines = flow_atoms(words_to_atoms(label + [(unit.text, "rm", size, 0.0)]), [(" ", "rm", size, 0.0)], tw)
        y = centred_lines(cv, y, lines, size * 1.25)
        owners = [i for i, a in enumerate(spec.authors) if a.units and a.units[0] == k]
        tokens = email_line(spec, owners, pr, spec.email_groups)
        if tokens:
            y = centred_lines(cv, y, _email_lines(tokens, size, tw, ", "), size * 1.25)
        y += 4
    flow = Flow(cv, spec, pr, size=9.5, heading_size=11, abstract_indent=20)
    body_pages(cv, spec, flow, [(x0, x0 + tw)], [(x0, x0 + tw, y + 8, 720)], 90, 720)
    return cv, pr


# --------------------------------------------------------------------------- ieee

_MEMBERSHIP = [None, None, "Member, IEEE", "Student Member, IEEE", "Senior Member, IEEE", "Fellow, IEEE"]
_MONTHS = "January February March April May June July August September October November December".split()


def ieee(spec: PaperSpec) -> tuple[Canvas, Printed]:
    cv, pr, rng = Canvas(612, 792), Printed(), spec.rng
    cv.new_page()
    restyle_units(spec)
    for unit in spec.units:
        unit.text = _postal_country(unit.text)
    x0, tw, colw = 43.0, 526.0, 256.0
    y = draw_title(cv, spec, 52, 22, tw - 40) + 12
    base = 11.0
    atoms: list[list[Run]] = []
    n = len(spec.authors)
    for i, a in enumerate(spec.authors):
        member = rng.choice(_MEMBERSHIP)
        atom: list[Run] = [(a.name, "rm", base, 0.0)]
        if member:
            atom += [(",", "rm", base, 0.0), (" " + member, "it", base, 0.0)]
        if i < n - 1:
            atom.append((", and" if i == n - 2 and (n > 2 or member) else (" and" if i == n - 2 else ","),
                         "rm", base, 0.0))
        atoms.append(atom)
    y = centred_lines(cv, y, flow_atoms(atoms, [(" ", "rm", base, 0.0)], tw - 30), base * 1.3) + 8
    fs = 8.0
    month = rng.randint(1, 12)
    notes = [f"Manuscript received {_MONTHS[month - 1]} {rng.randint(1, 28)}, {spec.year - 1}; revised "
             f"{_MONTHS[(month + 3) % 12]} {rng.randint(1, 28)}, {spec.year}."]
    if spec.authors and rng.random() < 0.5:
        notes[0] += f" (Corresponding author: {spec.authors[0].name}.)"
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, a in enumerate(spec.authors):
        if a.units:
            groups.setdefault(tuple(a.units), []).append(i)
    for units, idxs in groups.items():
        who = _and_list([initials_name(spec.authors[i].name) for i in idxs])
        verb = "is" if len(idxs) == 1 else "are"
        where = []
        for k, u in enumerate(units):
            text = spec.units[u].text
            the = "the " if re.match(r"(?:Department|Dept\.|School|Faculty|Institute|Inst\.|Laboratory|Lab\.|"
                                     r"College|Center|Centre|Division)\b", text) else ""
            where.append(("" if k == 0 else "and also with ") + the + text)
        sentence = f"{who} {verb} with " + ", ".join(where)
        mails = [spec.authors[i].email for i in idxs if spec.authors[i].email]
        if mails:
            for i in idxs:
                if spec.authors[i].email:
                    pr.emails[i] = spec.authors[i].email  # type: ignore[assignment]
            label = "e-mail" if len(mails) == 1 else rng.choice(["e-mail", "e-mails"])
            sentence += f" ({label}: " + "; ".join(mails) + ")"
        notes.append(sentence + ".")
    notes.append(f"Digital Object Identifier 10.1109/TPAMI.{spec.year}.{rng.randint(1000000, 9999999)}")
    lines: list[str] = []
    for note in notes:
        lines += wrap(note, "rm", fs, colw - 8)
    foot_top = 742 - len(lines) * fs * 1.2 - 4
    cv.rule(0, x0, foot_top, x0 + 60, 0.4)
    yy = foot_top + 2
    for line in lines:
        yy += fs * 1.2
        cv.text(0, x0 + 4, yy, line, "rm", fs)
    flow = Flow(cv, spec, pr, size=10, heading_size=10, heading_sep=". ", abstract_indent=0)
    right = x0 + tw - colw
    body_pages(cv, spec, flow, [(x0, x0 + colw), (right, x0 + tw)],
               [(x0, x0 + colw, y, foot_top - 8), (right, x0 + tw, y, 740)], 60, 740)
    return cv, pr


# --------------------------------------------------------------------------- acm

_ORG_PART = re.compile(r"Univ|Inst|Lab|Dep|Dept|School|College|Facult|Cent|Research|Inc\b|Ltd|Corp|Academ|"
                       r"Group|Hospital|Foundation|Google|Microsoft|Facebook|Amazon|IBM|Tech|AI\b", re.IGNORECASE)
_ACM_VENUES = ["Conference’17, July 2017, Washington, DC, USA",
               "KDD ’18, August 19–23, 2018, London, United Kingdom",
               "WWW 2018, April 23–27, 2018, Lyon, France",
               "SIGIR ’18, July 8–12, 2018, Ann Arbor, MI, USA"]


def acm_lines(text: str) -> list[str]:
    """An affiliation as acmart prints it: organisation parts on their own lines, then the place on one."""
    parts = text.split(", ")
    last_org = max((k for k, p in enumerate(parts) if _ORG_PART.search(p)), default=0)
    lines = parts[: last_org + 1]
    if last_org + 1 < len(parts):
        lines.append(", ".join(parts[last_org + 1:]))
    return lines


def acm(spec: PaperSpec) -> tuple[Canvas, Printed]:
    cv, pr, rng = Canvas(612, 792), Printed(), spec.rng
    cv.new_page()
    restyle_units(spec, abbreviate=0.15)
    x0, tw, colw = 54.0, 504.0, 241.0
    y = draw_title(cv, spec, 60, 14.4, tw) + 16
    blocks: list[list[int]] = []
    for i, a in enumerate(spec.authors):
        prev = spec.authors[blocks[-1][-1]] if blocks else None
        if prev is not None and a.units and prev.units == a.units and len(blocks[-1]) < 3 and rng.random() < 0.5:
            blocks[-1].append(i)
        else:
            blocks.append([i])
    per_row = 3 if len(blocks) != 4 else 2
    cell_w = tw / min(per_row, len(blocks))
    for start in range(0, len(blocks), per_row):
        row = blocks[start:start + per_row]
        left = x0 + (tw - len(row) * cell_w) / 2
        bottoms = []
        for j, cell in enumerate(row):
            cx, yy = left + cell_w * (j + 0.5), y
            names = [[(spec.authors[i].name, "rm", 11, 0.0)] for i in cell]
            yy = centred_lines(cv, yy, flow_atoms(names, [(", ", "rm", 11, 0.0)], cell_w - 8), 13, cx)
            for u in spec.authors[cell[0]].units:
                for part in acm_lines(spec.units[u].text):
                    for line in wrap(part, "rm", 10, cell_w - 10):
                        yy += 12
                        cv.centred(0, cx, yy, line, "rm", 10)
            tokens = email_line(spec, cell, pr, grouped=len(cell) > 1 and rng.random() < 0.5)
            if tokens:
                yy = centred_lines(cv, yy, _email_lines(tokens, 9.5, cell_w - 8), 12, cx)
            bottoms.append(yy)
        y = max(bottoms) + 16
    venue = rng.choice(_ACM_VENUES)
    year = spec.year % 100
    rights = (f"Permission to make digital or hard copies of all or part of this work for personal or classroom "
              f"use is granted without fee provided that copies are not made or distributed for profit. {venue} "
              f"© {spec.year} Association for Computing Machinery. ACM ISBN 978-1-4503-{rng.randint(1000, 9999)}-"
              f"{rng.randint(0, 9)}/{year:02d}/{rng.randint(1, 12):02d}...$15.00 https://doi.org/10.1145/"
              f"{rng.randint(3000000, 3999999)}.{rng.randint(3000000, 3999999)}")
    fs = 7.0
    lines = wrap(rights, "rm", fs, colw)
    foot_top = 740 - len(lines) * fs * 1.2 - 4
    yy = foot_top
    for line in lines:
        yy += fs * 1.2
        cv.text(0, x0, yy, line, "rm", fs)
    names = _and_list([a.name for a in spec.authors])
    reference = (f"ACM Reference Format: {names}. {spec.year}. {spec.title}. In Proceedings of ACM Conference "
                 f"(Conference’{year:02d}). ACM, New York, NY, USA, {rng.randint(8, 12)} pages.")
    at = next((k + 1 for k, b in enumerate(spec.blocks) if b.kind == "abstract"), 0)
    spec.blocks.insert(at, Block("para", reference))
    flow = Flow(cv, spec, pr, size=9, heading_size=10.5, abstract_indent=0)
    right = x0 + tw - colw
    body_pages(cv, spec, flow, [(x0, x0 + colw), (right, x0 + tw)],
               [(x0, x0 + colw, y, foot_top - 8), (right, x0 + tw, y, 740)], 60, 740)
    return cv, pr


# --------------------------------------------------------------------------- icml

_WORK_DONE = ["Work done while at {org}.", "Work done during an internship at {org}.",
              "Now at {org}."]


def icml(spec: PaperSpec) -> tuple[Canvas, Printed]:
    cv, pr, rng = Canvas(612, 792), Printed(), spec.rng
    cv.new_page()
    restyle_units(spec)
    x0, tw, colw, base, fs = 63.0, 486.0, 234.0, 10.0, 8.0
    cv.rule(0, x0, 72, x0 + tw, 1)
    y = draw_title(cv, spec, 76, 14, tw - 20) + 9
    cv.rule(0, x0, y, x0 + tw, 1)
    noted = rng.randrange(len(spec.authors)) if spec.authors and rng.random() < 0.3 else -1
    atoms = []
    for i, a in enumerate(spec.authors):
        marks = (["*"] if a.equal else []) + [str(u + 1) for u in a.units] + (["†"] if i == noted else [])
        atoms.append([(a.name, "bf", base, 0.0)] + ([sup(" ".join(marks), base)] if marks else []))
    y = centred_lines(cv, y + 8, flow_atoms(atoms, [("   ", "bf", base, 0.0)], tw), 13) + 10
    runs: list[Run] = []
    if any(a.equal for a in spec.authors):
        runs += [sup("*", fs), ("Equal contribution ", "rm", fs, 0.0)]
    if noted >= 0:
        org = rng.choice(["Google Brain", "Microsoft Research", "Facebook AI Research", "DeepMind"])
        runs += [sup("†", fs), (rng.choice(_WORK_DONE).format(org=org) + " ", "rm", fs, 0.0)]
    for k, unit in enumerate(spec.units):
        end = " " if unit.text.endswith(".") or (rng.random() < 0.3 and k < len(spec.units) - 1) else ". "
        runs += [sup(str(k + 1), fs), (unit.text + end, "rm", fs, 0.0)]
    corr = [i for i, a in enumerate(spec.authors) if a.email]
    corr = corr[: rng.randint(1, 3)] if corr else []
    return affiliation_footnote_page(cv, spec, pr, runs, corr, fs, x0, tw, colw, y)


MORE_LAYOUTS: dict[str, Callable[[PaperSpec], tuple[Canvas, Printed]]] = {
    "lncs": lncs,
    "ieee": ieee,
    "acm": acm,
    "icml": icml,
}

__all__ = ["MORE_LAYOUTS", "acm_lines", "initials_name", "restyle_units"]
