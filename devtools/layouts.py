"""The page layouts of synthetic papers, each imitating a real template's front matter.

All are US Letter except ``acl-grid`` (A4, like the ACL style). What each prints on page 1:

- ``per-author``: NeurIPS 2018 — bold title between rules; a grid of 1–3 author cells per
  row (bold name, wrapped affiliation lines, Courier email); NeurIPS venue footer.
- ``numbered``: arXiv preprint — names with superscript numbers, a numbered affiliation
  list (one line or one per line; numbers raised or on the baseline), a brace-group email
  line, the arXiv identifier rotated 90° in the left margin.
- ``footnote``: ICML — bold names with superscript numbers; affiliations, correspondence
  emails and the proceedings line in a footnote under a short rule in the left column.
- ``symbols``: names with †/‡/§ markers, affiliations under the names, an "∗Equal
  contribution" footnote (not an affiliation) and the venue's own footer.
- ``acl-grid``: ACL/NAACL — two-cell author grid, consecutive co-affiliated authors share a
  cell and a {a,b}@domain email; two text columns; proceedings footer centred at the bottom.
"""

from __future__ import annotations

from collections.abc import Callable

from devtools import paperprep as pp
from devtools.layoutkit import (
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
    symbol_for,
    words_to_atoms,
)
from devtools.pdfcanvas import Canvas, width, wrap


def _unit_lines(spec: PaperSpec, labels: list[list[Run]], size: float, max_width: float, one_line: bool) -> list[list[Run]]:
    """Affiliation list as centred lines: all on one (wrapping) line, or one unit per line."""
    space = [(" ", "rm", size, 0.0)]
    if one_line:
        return flow_atoms(_with_gaps(spec, labels, size), space, max_width)
    lines: list[list[Run]] = []
    for k, unit in enumerate(spec.units):
        lines += flow_atoms(words_to_atoms(labels[k] + [(unit.text, "rm", size, 0)]), space, max_width)
    return lines


def _with_gaps(spec: PaperSpec, labels: list[list[Run]], size: float) -> list[list[Run]]:
    """Word atoms of all units; a wider gap rides on the last word of each unit."""
    atoms: list[list[Run]] = []
    for k, unit in enumerate(spec.units):
        unit_atoms = words_to_atoms(labels[k] + [(unit.text, "rm", size, 0)])
        if k < len(spec.units) - 1:
            unit_atoms[-1] = unit_atoms[-1] + [("  ", "rm", size, 0)]
        atoms += unit_atoms
    return atoms


def _email_lines(tokens: list[str], size: float, max_width: float, sep: str = ",  ") -> list[list[Run]]:
    """Email tokens as centred lines; a brace group too wide for a line breaks after a comma."""
    atoms: list[list[Run]] = []
    for k, token in enumerate(tokens):
        tail = sep if k < len(tokens) - 1 else ""
        pieces = [token]
        if token.startswith("{") and width(token + tail, "tt", size) > max_width:
            names, domain = token[1:].split("}", 1)
            parts = names.split(",")
            pieces = ["{" + parts[0] + ","] + [p + "," for p in parts[1:-1]] + [parts[-1] + "}" + domain]
        atoms += [[(p, "tt", size, 0.0)] for p in pieces[:-1]] + [[(pieces[-1] + tail, "tt", size, 0.0)]]
    return flow_atoms(atoms, [], max_width)


def native_venue(spec: PaperSpec) -> list[str]:
    """The footer the paper's own venue prints (NeurIPS, ICML, ACL family, or a generic one)."""
    v = spec.venue.lower()
    if v in ("nips", "neurips"):
        return [pp.neurips_footer(spec.year)]
    if v == "icml":
        return [pp.icml_footer(spec.year)]
    if v in ("naacl", "acl", "emnlp", "eacl"):
        return pp.acl_footer(v, spec.year, _pages(spec), _volume(spec))
    return [f"Published as a conference paper at {spec.venue.upper()} {spec.year}."]


def _pages(spec: PaperSpec) -> tuple[int, int]:
    start = spec.rng.randint(1, 9000)
    return start, start + spec.rng.randint(8, 15)


def _volume(spec: PaperSpec) -> str | None:
    for key, vol in (("long", "Volume 1: Long Papers"), ("short", "Volume 2: Short Papers"),
                     ("industry", "Volume 6: Industry Track")):
        if f"-{key}." in spec.id:
            return vol
    return None


# --------------------------------------------------------------------------- layouts


def per_author(spec: PaperSpec) -> tuple[Canvas, Printed]:
    cv, pr = Canvas(612, 792), Printed()
    cv.new_page()
    x0, tw = 108.0, 396.0
    cv.rule(0, x0, 76, x0 + tw, 4)
    y = draw_title(cv, spec, 80, 17, tw - 16) + 10
    cv.rule(0, x0, y, x0 + tw, 1)
    y += 14
    n = len(spec.authors)
    ncols = 1
    for cols in (3, 2):  # widest grid whose cells fit every name and email
        if n >= cols and all(width(a.name, "bf", 10) < tw / cols - 8 and
                             (a.email is None or width(a.email, "tt", 9) < tw / cols - 8) for a in spec.authors):
            ncols = 2 if cols == 3 and n in (2, 4) else cols
            break
    cell_w = tw / ncols
    for start in range(0, n, ncols):
        row = list(range(start, min(start + ncols, n)))
        left = x0 + (tw - len(row) * cell_w) / 2
        bottoms = []
        for j, i in enumerate(row):
            a, cx, yy = spec.authors[i], left + cell_w * (j + 0.5), y + 11
            cv.centred(0, cx, yy, a.name, "bf", 10)
            for u in a.units:
                for line in wrap(spec.units[u].text, "rm", 10, cell_w - 10, comma_break=True):
                    yy += 11.5
                    cv.centred(0, cx, yy, line, "rm", 10)
            if a.email:
                yy += 11.5
                cv.centred(0, cx, yy, a.email, "tt", 9)
                pr.emails[i] = a.email
            bottoms.append(yy)
        y = max(bottoms) + 14
    cv.text(0, x0, 752, pp.neurips_footer(spec.year), "rm", 8.5)
    flow = Flow(cv, spec, pr, size=10, heading_size=12, abstract_indent=36)
    body_pages(cv, spec, flow, [(x0, x0 + tw)], [(x0, x0 + tw, y - 6, 736)], 72, 736)
    return cv, pr


def numbered(spec: PaperSpec) -> tuple[Canvas, Printed]:
    cv, pr, rng = Canvas(612, 792), Printed(), spec.rng
    cv.new_page()
    x0, tw, base = 72.0, 468.0, 11.0
    y = draw_title(cv, spec, 58, 16, tw) + 10
    atoms = []
    for a in spec.authors:
        marks = ",".join(str(u + 1) for u in a.units) + ("∗" if a.equal else "")
        atoms.append([(a.name, "rm", base, 0.0)] + ([sup(marks, base)] if marks else []))
    sep = [(", ", "rm", base, 0.0)] if rng.random() < 0.6 else [("    ", "rm", base, 0.0)]
    y = centred_lines(cv, y, flow_atoms(atoms, sep, tw), base * 1.4) + 4
    asize = 9.5
    raised = rng.random() < 0.75
    labels = [[sup(str(k + 1), asize)] if raised else [(f"{k + 1} ", "rm", asize, 0.0)]
              for k in range(len(spec.units))]
    one_line = len(spec.units) > 1 and rng.random() < 0.5
    y = centred_lines(cv, y, _unit_lines(spec, labels, asize, tw, one_line), asize * 1.3)
    tokens = email_line(spec, list(range(len(spec.authors))), pr, spec.email_groups)
    if tokens:
        y = centred_lines(cv, y + 2, _email_lines(tokens, 9, tw), 11)
    bottom = 740.0
    if any(a.equal for a in spec.authors):
        cv.rule(0, x0, 724, x0 + 144, 0.4)
        cv.runs(0, x0 + 10, 736, [sup("∗", 9), ("Equal contribution.", "rm", 9, 0.0)])
        bottom = 712.0
    cv.stamp(0, 34, 590, pp.arxiv_stamp(spec.venue, spec.year, rng.randint(1, 19999), rng.randint(1, 28),
                                         rng.randint(1, 12), rng.randint(1, 3)))
    flow = Flow(cv, spec, pr, size=10, heading_size=12, abstract_indent=36)
    body_pages(cv, spec, flow, [(x0, x0 + tw)], [(x0, x0 + tw, y + 4, bottom)], 72, 740)
    return cv, pr


def affiliation_footnote_page(cv: Canvas, spec: PaperSpec, pr: Printed, runs: list[Run], corr: list[int],
                              fs: float, x0: float, tw: float, colw: float, y: float) -> tuple[Canvas, Printed]:
    """The ICML-style rest of page 1: the affiliation footnote (``runs``, then "Correspondence
    to:" the authors ``corr``) and the venue line at the foot of the first column, and the
    two-column body from ``y`` down to it."""
    if corr:
        who = ", ".join(f"{spec.authors[i].name} <{spec.authors[i].email}>" for i in corr)
        pr.emails.update({i: spec.authors[i].email for i in corr})  # type: ignore[misc]
        runs.append((f"Correspondence to: {who}.", "rm", fs, 0.0))
    lines = flow_atoms(words_to_atoms(runs), [(" ", "rm", fs, 0.0)], colw)
    venue = wrap(pp.icml_footer(spec.year), "it", fs, colw)
    foot_top = 748 - (len(lines) + len(venue)) * fs * 1.2 - 6
    cv.rule(0, x0, foot_top, x0 + 72, 0.4)
    yy = foot_top + 1
    for line in lines:
        yy += fs * 1.2
        cv.runs(0, x0, yy, line)
    yy += 5
    for line in venue:
        yy += fs * 1.2
        cv.text(0, x0, yy, line, "it", fs)
    flow = Flow(cv, spec, pr, size=10, heading_size=11, heading_sep=". ", abstract_indent=12)
    right = x0 + tw - colw
    body_pages(cv, spec, flow, [(x0, x0 + colw), (right, x0 + tw)],
               [(x0, x0 + colw, y, foot_top - 8), (right, x0 + tw, y, 740)], 72, 740)
    return cv, pr


def footnote(spec: PaperSpec) -> tuple[Canvas, Printed]:
    cv, pr, rng = Canvas(612, 792), Printed(), spec.rng
    cv.new_page()
    x0, tw, colw, base, fs = 63.0, 486.0, 234.0, 10.0, 8.0
    cv.rule(0, x0, 72, x0 + tw, 1)
    y = draw_title(cv, spec, 76, 14, tw - 20) + 9
    cv.rule(0, x0, y, x0 + tw, 1)
    atoms = []
    for a in spec.authors:
        marks = " ".join((["*"] if a.equal else []) + [str(u + 1) for u in a.units])
        atoms.append([(a.name, "bf", base, 0.0)] + ([sup(marks, base)] if marks else []))
    y = centred_lines(cv, y + 8, flow_atoms(atoms, [("  ", "bf", base, 0.0)], tw), 13) + 10
    runs: list[Run] = []
    if any(a.equal for a in spec.authors):
        runs += [sup("*", fs), ("Equal contribution ", "rm", fs, 0.0)]
    period = rng.random() < 0.7
    for k, unit in enumerate(spec.units):
        end = "." if (period or k == len(spec.units) - 1) and not unit.text.endswith(".") else ""
        runs += [sup(str(k + 1), fs), (unit.text + end + " ", "rm", fs, 0.0)]
    corr = [i for i, a in enumerate(spec.authors) if a.email][:1]
    with_email = [i for i, a in enumerate(spec.authors) if a.email]
    if len(with_email) > 1 and rng.random() < 0.4:
        corr.append(with_email[-1])
    return affiliation_footnote_page(cv, spec, pr, runs, corr, fs, x0, tw, colw, y)


def symbols(spec: PaperSpec) -> tuple[Canvas, Printed]:
    cv, pr, rng = Canvas(612, 792), Printed(), spec.rng
    cv.new_page()
    x0, tw, base = 72.0, 468.0, 12.0
    y = draw_title(cv, spec, 62, 15, tw) + 12
    joiner = "," if rng.random() < 0.5 else ""
    atoms = []
    for a in spec.authors:
        marks = ("∗" if a.equal else "") + joiner.join(symbol_for(u) for u in a.units)
        atoms.append([(a.name, "rm", base, 0.0)] + ([sup(marks, base)] if marks else []))
    sep = [(",  ", "rm", base, 0.0)] if rng.random() < 0.5 else [("     ", "rm", base, 0.0)]
    y = centred_lines(cv, y, flow_atoms(atoms, sep, tw), base * 1.4) + 4
    asize = 10.0
    labels = [[sup(symbol_for(k), asize)] for k in range(len(spec.units))]
    one_line = len(spec.units) > 1 and rng.random() < 0.5
    y = centred_lines(cv, y, _unit_lines(spec, labels, asize, tw, one_line), asize * 1.3)
    tokens = email_line(spec, list(range(len(spec.authors))), pr, spec.email_groups)
    if tokens:
        y = centred_lines(cv, y + 2, _email_lines(tokens, 9, tw, "   "), 11)
    venue = [line for v in native_venue(spec) for line in wrap(v, "rm", 8.5, tw)]
    yy = 758 - len(venue) * 10.5
    bottom = yy - 14
    if any(a.equal for a in spec.authors):
        cv.runs(0, x0 + 10, yy - 4, [sup("∗", 9), ("Equal contribution.", "rm", 9, 0.0)])
        bottom = yy - 30
    cv.rule(0, x0, bottom + 6, x0 + 144, 0.4)
    for line in venue:
        yy += 10.5
        cv.text(0, x0, yy, line, "rm", 8.5)
    flow = Flow(cv, spec, pr, size=10, heading_size=12, abstract_indent=36)
    body_pages(cv, spec, flow, [(x0, x0 + tw)], [(x0, x0 + tw, y + 4, bottom)], 72, 740)
    return cv, pr


def acl_grid(spec: PaperSpec) -> tuple[Canvas, Printed]:
    cv, pr, rng = Canvas(595.28, 841.89), Printed(), spec.rng
    cv.new_page()
    x0, tw, colw = 70.87, 453.54, 219.69
    y = draw_title(cv, spec, 60, 15, tw) + 12
    cells: list[list[int]] = []
    for i, a in enumerate(spec.authors):  # co-affiliated neighbours may share one cell
        prev = spec.authors[cells[-1][-1]] if cells else None
        if (prev and a.email and prev.email and prev.units == a.units and len(cells[-1]) < 3
                and prev.email.split("@")[1] == a.email.split("@")[1] and rng.random() < 0.6):
            cells[-1].append(i)
        else:
            cells.append([i])
    cell_w = tw / (2 if len(cells) > 1 else 1)
    for start in range(0, len(cells), 2):
        row = cells[start:start + 2]
        left = x0 + (tw - len(row) * cell_w) / 2
        bottoms = []
        for j, cell in enumerate(row):
            cx, yy = left + cell_w * (j + 0.5), y
            names = [[(spec.authors[i].name, "bf", 11, 0.0)] for i in cell]
            sep = " and " if len(cell) == 2 else ", "
            yy = centred_lines(cv, yy, flow_atoms(names, [(sep, "bf", 11, 0.0)], cell_w - 8), 13, cx)
            for u in spec.authors[cell[0]].units:
                for line in wrap(spec.units[u].text, "rm", 10.5, cell_w - 10, comma_break=True):
                    yy += 12.5
                    cv.centred(0, cx, yy, line, "rm", 10.5)
            tokens = email_line(spec, cell, pr, grouped=len(cell) > 1)
            if tokens:
                yy = centred_lines(cv, yy, _email_lines(tokens, 9.5, cell_w - 8), 12, cx)
            bottoms.append(yy)
        y = max(bottoms) + 16
    footer = native_venue(spec) if spec.venue.lower() in ("naacl", "acl", "emnlp", "eacl") else \
        pp.acl_footer("naacl", spec.year, _pages(spec), None)
    yy = 800.0
    for line in footer:
        for part in wrap(line, "rm", 9, tw):
            cv.centred(0, cv.width / 2, yy, part, "rm", 9)
            yy += 11
    flow = Flow(cv, spec, pr, size=10, heading_size=12, abstract_indent=17)
    right = x0 + tw - colw
    body_pages(cv, spec, flow, [(x0, x0 + colw), (right, x0 + tw)],
               [(x0, x0 + colw, y, 780), (right, x0 + tw, y, 780)], 72, 780)
    return cv, pr


LAYOUTS: dict[str, Callable[[PaperSpec], tuple[Canvas, Printed]]] = {
    "per-author": per_author,
    "numbered": numbered,
    "footnote": footnote,
    "symbols": symbols,
    "acl-grid": acl_grid,
}
