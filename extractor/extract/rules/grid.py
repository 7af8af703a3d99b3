"""Author grids: which names an unmarked affiliation line belongs to, by position.

Templates without markers print each author's affiliation under the name (NeurIPS and
ACL grids, ACM's three columns), or one shared affiliation under a row of names (BERT,
OPT). Both are read the same way:

1. Names stacked in one column with nothing between them form one cell (ACM prints
   "A. Lee / B. Kim" above their shared lines).
2. A content line belongs to the nearest cell above it that overlaps it horizontally
   (nearest by centre when none overlaps).
3. If no other content line sits beside it at the same height, it is a shared line and
   belongs to the whole row of cells (a line centred under four names is theirs, not
   only of the two it happens to overlap).
"""

from __future__ import annotations

from extractor.extract.rules.lines import ZLine
from extractor.extract.rules.names import Cell


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return min(a1, b1) - max(a0, b0)


def merge_stacked(cells: list[Cell], content: list[ZLine]) -> list[Cell]:
    """Join cells printed directly under one another in the same column (no lines between)."""
    cells = sorted(cells, key=lambda c: (c.y0, c.x0))
    merged: list[Cell] = []
    for c in cells:
        target = None
        for m in merged:
            gap = c.y0 - m.y1
            if gap < -0.5 * (c.y1 - c.y0) or gap > 0.9 * max(4.0, c.y1 - c.y0):
                continue
            if _overlap(m.x0, m.x1, c.x0, c.x1) <= 0:
                continue
            between = [z for z in content if m.y1 - 1 <= (z.bbox[1] + z.bbox[3]) / 2 <= c.y0 + 1
                       and _overlap(z.bbox[0], z.bbox[2], min(m.x0, c.x0), max(m.x1, c.x1)) > 0]
            if between:
                continue
            # one row of separate cells (same y) must not chain-merge across columns
            if any(abs(o.y0 - c.y0) < 2 and o is not c and _overlap(o.x0, o.x1, m.x0, m.x1) > 0 for o in cells
                   if o.y0 > m.y0 + 2):
                continue
            target = m
            break
        if target is None:
            merged.append(Cell(c.id, list(c.slots), c.x0, c.x1, c.y0, c.y1, list(c.lines), c.wide))
        else:
            target.slots += c.slots
            target.x0, target.x1 = min(target.x0, c.x0), max(target.x1, c.x1)
            target.y1 = max(target.y1, c.y1)
            target.lines += c.lines
            for s in c.slots:
                s.cell = target.id
    return merged


def assign_lines(cells: list[Cell], content: list[ZLine]) -> dict[int, list[ZLine]]:
    """Cell id -> the unmarked content lines that belong to it (see the module docstring).

    A shared line is given to the first cell of its row and recorded on the others by
    the caller through :func:`row_of`.
    """
    out: dict[int, list[ZLine]] = {c.id: [] for c in cells}
    if not cells:
        return out
    for zl in content:
        top = zl.bbox[1]
        above = [c for c in cells if c.y0 < top - 0.5]
        if not above:
            continue
        hits = [c for c in above if _overlap(c.x0, c.x1, zl.bbox[0], zl.bbox[2]) > 0]
        if hits:
            cell = max(hits, key=lambda c: (c.y0, -abs(c.cx - zl.cx)))
        else:
            row_y = max(c.y0 for c in above)
            row = [c for c in above if abs(c.y0 - row_y) < 3]
            cell = min(row, key=lambda c: abs(c.cx - zl.cx))
        out[cell.id].append(zl)
    return out


def shared_rows(cells: list[Cell], assigned: dict[int, list[ZLine]]) -> dict[int, list[int]]:
    """Cell id -> the cells whose lines it reads (itself, plus a row's shared lines).

    In a row of several cells, lines printed closer to the centre of the whole row than
    to the centre of the cell that holds them (one affiliation centred under four names)
    belong to every cell of the row that has no lines of its own.
    """
    out: dict[int, list[int]] = {c.id: [c.id] for c in cells}
    rows: list[list[Cell]] = []
    for c in sorted(cells, key=lambda c: c.y0):
        for row in rows:
            if abs(row[0].y0 - c.y0) < 3:
                row.append(c)
                break
        else:
            rows.append([c])
    for row in rows:
        if len(row) < 2:
            continue
        row_cx = (min(c.x0 for c in row) + max(c.x1 for c in row)) / 2
        empty = [c for c in row if not assigned.get(c.id)]
        owners = [c for c in row if assigned.get(c.id)
                  and all(abs(z.cx - row_cx) < abs(z.cx - c.cx) or abs(z.cx - row_cx) < 8 for z in assigned[c.id])]
        if not empty or not owners:
            continue
        for c in empty:
            out[c.id] = [c.id] + [o.id for o in owners]
    return out
