"""The offline ``rules`` backend: page-1 layout + gazetteers -> a PaperExtraction.

Steps (each in its own module): classify the author-block and footnote lines
(:mod:`.lines`), read names with their markers and grid cells (:mod:`.names`), cut
affiliation units from marked lines, footnotes and grid cells (:mod:`.units`, :mod:`.grid`),
give emails to authors (:mod:`.emails`); link authors to units by marker, else by grid
position, footnote sentences naming them, the one shared unit, and when markers are missing
or lost by e-mail domain, column or print order; with no affiliation printed at all, infer
the organisation from a team note, a running header or the e-mail domains; resolve every
unit with the shared resolver; find model mentions with the taxonomy (:mod:`.mentions`).
Deterministic and network-free.

For routing, each author says how it was linked (``Author.link``) and each affiliation
carries the facts of how it was read (``Affiliation.signals``: figure text, no organisation
word, inferred organisation); page-1 figure text itself is kept out of the zones by ingest.
"""

from __future__ import annotations

import re
from collections import Counter

from extractor.config import Settings
from extractor.extract.base import default_cache_key
from extractor.extract.rules.cache import CachedResolver, evidence_in_lines
from extractor.extract.rules.emails import assign_emails
from extractor.extract.rules.grid import assign_lines, merge_stacked, shared_rows
from extractor.extract.rules.lines import (
    ORG_RE,
    VENUE_RE,
    ZLine,
    build_zlines,
    classify,
    institution_share,
    restyle_names,
    split_markers,
    split_wide,
)
from extractor.extract.rules.mentions import find_mentions
from extractor.extract.rules.names import NameSlot, attach_marker_lines, name_cells, same_person
from extractor.extract.rules.units import (
    Unit,
    clean_unit,
    cut_note,
    footnote_units,
    looks_like_affiliation,
    marked_units,
    sequence_units,
    split_institutions,
)
from extractor.resolve import Resolution, get_resolver, get_taxonomy
from extractor.schemas import Affiliation, Author, Document, ExtractionMeta, FrontMatter, Method, PaperExtraction

#: Part of the extraction cache key: raise it when what the rules read or the tables they use change,
#: so stored extractions are redone rather than mixed with new ones.
RULES_VERSION = "8"


class RulesBackend:
    """Offline extraction from page-1 layout; see the module docstring."""

    name = "rules"

    def __init__(self, settings: Settings | None = None):
        self.resolver = CachedResolver(get_resolver())
        self.taxonomy = get_taxonomy()

    def cache_key(self) -> str:
        return default_cache_key(self.name, f"v{RULES_VERSION}")

    def meta(self) -> ExtractionMeta:
        return ExtractionMeta(backend=self.name, model=f"rules-v{RULES_VERSION}")

    def resolve(self, raw: str, domain: str | None = None) -> Resolution:
        return self.resolver.resolve(raw, email_domain=domain)

    # ------------------------------------------------------------------ extract

    def extract(self, document: Document) -> PaperExtraction:
        front = document.front
        if front is None:
            return PaperExtraction(warnings=["no front matter"])
        warnings: list[str] = []
        zone = sorted(set(front.author_lines))
        zlines = build_zlines(front, zone)
        for zl in zlines:
            zl.kind = classify(zl, self.resolver)
        restyle_names(zlines, self.resolver)
        foot = build_zlines(front, [i for i in front.footnote_lines if i not in set(zone)], footnote=True)
        for zl in foot:
            zl.kind = classify(zl, self.resolver)
            if zl.kind == "names":
                zl.kind = "other"  # footnotes hold no name lines ("Collegium de Lyon.")

        slots, cells = name_cells(zlines)
        attach_marker_lines(slots, zlines)
        expected = {m for s in slots for m in s.markers}
        content = [z for z in zlines if z.kind in ("aff", "other", "marker", "email", "skip")]
        marked, loose = marked_units(content, expected)
        marked = self._tidy(marked)
        defined = {m for u in marked for m in u.markers}
        foot_units = footnote_units(foot, expected, defined)

        loose = [part for z in loose if z.kind in ("aff", "other") for part in split_wide(z)]
        cells = merge_stacked(cells, loose)
        assigned = assign_lines(cells, loose)
        shared = shared_rows(cells, assigned)
        cell_units: list[Unit] = []
        for cell in cells:
            cell_units += sequence_units(assigned.get(cell.id, []), self.resolver, cell.id)
        if not slots and loose:
            cell_units = sequence_units(loose, self.resolver)
        units = self._split(self._keep(marked + foot_units + self._tidy(cell_units)))
        self._emails(front, slots, zlines, foot, cells)
        self._link(slots, units, shared)
        if slots and not any(s.units for s in slots):
            units = self._footnote_fallback(slots, foot, units)
        self._fallback_links(slots, units)
        if slots and not any(s.units for s in slots):
            units = self._inferred(front, slots, zlines + foot, units)
        if not slots:
            warnings.append("no author names found in the author block")

        affiliations, remap = self._affiliations(front, slots, units)
        authors = [
            Author(
                name=s.name,
                affiliation_ids=sorted({remap[u] for u in s.units if u in remap}),
                email=s.email,
                evidence=evidence_in_lines(front, s.name, [s.line]),
                link=s.link if any(u in remap for u in s.units) else None,
            )
            for s in slots
        ]
        title = re.sub(r"[\s∗*†‡§¶]+$", "", front.title).strip() if front.title else None
        return PaperExtraction(
            title=title,
            title_evidence=evidence_in_lines(front, title, front.title_lines) if title else None,
            authors=authors,
            affiliations=affiliations,
            model_mentions=find_mentions(document, self.taxonomy),
            venue=document.venue,
            year=document.year,
            author_block_count=len(slots),
            warnings=warnings,
        )

    # ------------------------------------------------------------------ units

    @staticmethod
    def _tidy(units: list[Unit]) -> list[Unit]:
        """Clean unit text; a unit that is a note (equal contribution ...) is dropped."""
        out = []
        for u in units:
            text = clean_unit(cut_note(u.text.strip()))
            if text:
                u.text = text
                out.append(u)
        return out

    def _keep(self, units: list[Unit]) -> list[Unit]:
        """Drop units that name neither an organisation nor a place (stray lines, figure
        labels). A unit a printed marker points at may be a bare company name ("Spiketrap"):
        it is kept, flagged ``no_org_word``; an unmarked one is not an affiliation."""
        out = []
        for u in units:
            res = self.resolve(u.text)
            if res.in_gazetteer or res.country or res.institution or ORG_RE.search(u.text):
                out.append(u)
            elif looks_like_affiliation(u.text) and (u.markers or u.who or u.all_authors):
                u.signals.append("no_org_word")
                out.append(u)
        return out

    def _split(self, units: list[Unit]) -> list[Unit]:
        out = []
        for u in units:
            parts = split_institutions(u.text, self.resolver)
            for p in parts:
                out.append(Unit(p.strip(" ,;"), list(u.markers), list(u.lines), u.source, u.all_authors, u.cell,
                                list(u.who), list(u.signals)))
        return out

    @staticmethod
    def _link(slots: list[NameSlot], units: list[Unit], shared: dict[int, list[int]]) -> None:
        """Authors -> units: by marker, else the units of their grid cell (or shared row);
        footnote sentences naming an author and units for every author add to that. Each
        slot records how it was linked (``link``)."""
        by_marker: dict[str, list[int]] = {}
        for i, u in enumerate(units):
            for m in u.markers:
                by_marker.setdefault(m, []).append(i)
        by_cell: dict[int, list[int]] = {}
        for i, u in enumerate(units):
            if u.cell is not None:
                by_cell.setdefault(u.cell, []).append(i)
        everyone = [i for i, u in enumerate(units) if u.all_authors]
        named = [(i, u.who) for i, u in enumerate(units) if u.who]
        for s in slots:
            picked = [i for m in s.markers for i in by_marker.get(m, []) or
                      [j for part in _decompose(m, by_marker) for j in by_marker[part]]]
            link = "marker" if picked else None
            if not picked:
                for c in shared.get(s.cell, [s.cell]):
                    picked += by_cell.get(c, [])
                link = "cell" if picked else None
            by_name = [i for i, who in named if any(same_person(w, s.name) for w in who)]
            picked += by_name
            link = link or ("footnote_name" if by_name else ("all_authors" if everyone else None))
            s.units = list(dict.fromkeys(picked + everyone))
            s.link = link if s.units else None
        lonely = [s for s in slots if not s.units]
        candidates = [i for i, u in enumerate(units) if not u.all_authors and not u.who]
        if lonely and len(candidates) == 1 and (len(lonely) == len(slots) or not units[candidates[0]].markers):
            for s in lonely:
                s.units = [candidates[0]]
                s.link = "single_unit"

    def _fallback_links(self, slots: list[NameSlot], units: list[Unit]) -> None:
        """Authors still without a unit when markers are missing or lost.

        By e-mail domain (the unit naming the institution the address belongs to) for any
        such author. When no author is linked by a marker: by column (the one unit set under
        the name), then by print order when the unlinked authors and the unclaimed units
        are as many. An author without a marker among marked ones stays unlinked otherwise:
        the block gives them no affiliation.
        """
        lonely = [s for s in slots if not s.units]
        if not lonely or not units:
            return
        inst = [self.resolve(u.text).institution for u in units]
        for s in lonely:
            owner = self._email_institution(s.email)
            if owner is None:
                continue
            hits = [i for i, name in enumerate(inst) if name == owner]
            if len(hits) == 1:
                s.units, s.link = hits, "email"
        if any(s.link == "marker" for s in slots):
            return
        lonely = [s for s in slots if not s.units]
        claimed = {i for s in slots for i in s.units}
        free = [i for i, u in enumerate(units) if i not in claimed and not u.all_authors and not u.who]
        if not lonely or not free:
            return
        for s in lonely:
            under = [i for i in free if units[i].lines and units[i].lines[0].bbox[1] > s.y
                     and s.x0 - 10 <= units[i].lines[0].cx <= s.x1 + 10]
            if len(under) == 1 and not any(o is not s and o.x0 - 10 <= units[under[0]].lines[0].cx <= o.x1 + 10
                                           for o in lonely):
                s.units, s.link = under, "column"
        lonely = [s for s in slots if not s.units]
        claimed = {i for s in slots for i in s.units}
        free = [i for i in free if i not in claimed]
        if len(lonely) >= 2 and len(lonely) == len(free):
            for s, i in zip(lonely, free):
                s.units, s.link = [i], "order"

    def _footnote_fallback(self, slots: list[NameSlot], foot: list[ZLine], units: list[Unit]) -> list[Unit]:
        """No affiliation anywhere near the names: an unmarked page-1 footnote that names a
        known institution (journal style "Department of X, University Y, City, Country")
        is every author's."""
        lines = [z for z in foot if z.kind == "aff" and not z.markers and self.resolve(z.plain).in_gazetteer
                 and not _TEAM_RE.search(z.plain)]  # a team note is read by _inferred
        extra = self._split(self._keep(self._tidy(sequence_units(lines, self.resolver))))
        if not extra or len(extra) > 3:
            return units
        start = len(units)
        for s in slots:
            s.units = list(range(start, start + len(extra)))
            s.link = "all_authors"
        return units + extra

    def _inferred(self, front: FrontMatter, slots: list[NameSlot], lines: list[ZLine], units: list[Unit]) -> list[Unit]:
        """No affiliation printed at all (company reports): the organisation comes from a team
        note ("a project of the X team", "X Team"), else a running header above the title that
        names a known organisation, else the authors' e-mail domains. Units made so carry an
        ``inferred_*`` signal; a team note or header is every author's, a domain is the
        organisation of the authors writing from it."""
        texts = [z.plain for z in lines]
        for text in texts:
            for m in _TEAM_RE.finditer(text):
                org = (m.group("a") or m.group("b") or "").strip()
                res = self.resolve(org) if org else None
                if res is not None and res.in_gazetteer:
                    return self._give_all(slots, units, Unit(org, signals=["inferred_team_note"]))
        title_top = min((front.lines[i].bbox[1] for i in front.title_lines), default=0.0)
        for i, ln in enumerate(front.lines):
            if ln.bbox[1] >= title_top or i in front.title_lines:
                break
            text = ln.text.strip()
            if 2 < len(text) < 60 and not VENUE_RE.search(text) and self.resolve(text).in_gazetteer \
                    and institution_share(text, self.resolver) >= 0.5:
                return self._give_all(slots, units, Unit(text, signals=["inferred_header"]))
        extra: list[Unit] = []
        by_inst: dict[str, int] = {}
        for s in slots:
            owner = self._email_institution(s.email)
            if owner is None:
                continue
            if owner not in by_inst:
                by_inst[owner] = len(units) + len(extra)
                extra.append(Unit(owner, signals=["inferred_email"]))
            s.units, s.link = [by_inst[owner]], "email"
        return units + extra

    def _email_institution(self, email: str | None) -> str | None:
        """The institution an address's domain names (a known institution domain, not a
        country TLD or web mail), or None."""
        if not email or "@" not in email:
            return None
        owner = self.resolver.resolve("", email_domain=email.split("@", 1)[1])
        if owner.institution is None or owner.institution_method != Method.EMAIL_DOMAIN:
            return None
        return owner.institution

    @staticmethod
    def _give_all(slots: list[NameSlot], units: list[Unit], unit: Unit) -> list[Unit]:
        unit.all_authors = True
        for s in slots:
            s.units, s.link = [len(units)], "all_authors"
        return units + [unit]

    # ------------------------------------------------------------------ emails

    @staticmethod
    def _emails(front: FrontMatter, slots: list[NameSlot], zlines: list[ZLine], foot: list[ZLine], cells: list) -> None:
        from extractor.ingest.layout import expand_emails

        cell_emails: dict[int, list[str]] = {}
        email_lines = [part for z in zlines if z.kind == "email" for part in split_wide(z)]
        if cells and email_lines:
            loose_assign = assign_lines(cells, email_lines)
            for cid, lines in loose_assign.items():
                found = [e for z in lines for e in expand_emails(z.plain)]
                if found:
                    cell_emails[cid] = found
        notes = " ".join(z.plain for z in foot) + " " + " ".join(z.plain for z in zlines if z.kind == "skip")
        marker_notes = [(z.markers[:1] and split_markers(z.pieces[0].text), expand_emails(z.plain))
                        for z in foot if z.starts_with_marker and "@" in z.plain]
        assign_emails(slots, list(front.emails), notes_text=notes, cell_emails=cell_emails, marker_notes=marker_notes)

    # ------------------------------------------------------------------ resolve

    def _affiliations(self, front: FrontMatter, slots: list[NameSlot], units: list[Unit]) -> tuple[list[Affiliation], dict[int, int]]:
        used = sorted({u for s in slots for u in s.units}) if slots else list(range(len(units)))
        affiliations: list[Affiliation] = []
        remap: dict[int, int] = {}
        by_text: dict[str, int] = {}
        for u in used:
            raw = units[u].text
            key = raw.casefold()
            if key in by_text:
                remap[u] = by_text[key]
                continue
            domains = Counter(s.email.split("@", 1)[1] for s in slots if u in s.units and s.email)
            domain = domains.most_common(1)[0][0] if domains else None
            res = self.resolve(raw, domain)
            signals = list(units[u].signals)
            if _in_figure(front, units[u]):
                signals.append("figure_region")
            new_id = len(affiliations)
            by_text[key] = remap[u] = new_id
            affiliations.append(Affiliation(
                id=new_id,
                raw=raw,
                institution=res.institution,
                department=res.department,
                city=res.city,
                country=res.country,
                sector=res.sector,
                institution_method=res.institution_method,
                institution_score=res.institution_score,
                country_method=res.country_method,
                evidence=evidence_in_lines(front, raw, sorted({z.index for z in units[u].lines})),
                signals=sorted(set(signals)),
            ))
        return affiliations, remap


# "a project of the X team", "work by the X team", "X Team" (a team as the byline's affiliation)
_TEAM_RE = re.compile(
    r"\b(?:project|work|effort|collaboration|report)\s+(?:of|by|from)\s+(?:the\s+)?"
    r"(?P<a>[A-Z][\w&.\-]*(?:\s+[A-Z][\w&.\-]*){0,3})\s+[Tt]eam\b"
    r"|^\s*(?P<b>[A-Z][\w&.\-]*(?:\s+[A-Z][\w&.\-]*){0,3})\s+Team\b")


def _in_figure(front: FrontMatter, unit: Unit) -> bool:
    """Does the unit's text sit in a page-1 figure (its lines, or level with figure lines in
    the same column)?"""
    fig = front.figure_lines
    if not fig or not unit.lines:
        return False
    fig_set = set(fig)
    if any(z.index in fig_set for z in unit.lines):
        return True
    boxes = [front.lines[i].bbox for i in fig if i < len(front.lines)]
    y0, y1 = min(b[1] for b in boxes), max(b[3] for b in boxes)
    x0, x1 = min(b[0] for b in boxes), max(b[2] for b in boxes)
    return any(y0 <= z.bbox[1] <= y1 and x0 <= z.cx <= x1 for z in unit.lines)


def _decompose(marker: str, known: dict[str, list[int]]) -> list[str]:
    """'†††' printed for '†' + '††' (symbols set side by side with no comma): known markers
    of one repeated symbol, of distinct lengths, that add up to the run."""
    if len(marker) < 2 or len(set(marker)) != 1:
        return []
    sym = marker[0]
    lengths = sorted((len(k) for k in known if k and set(k) == {sym} and len(k) < len(marker)), reverse=True)

    def search(rest: int, options: list[int]) -> list[int] | None:
        if rest == 0:
            return []
        for i, n in enumerate(options):
            if n <= rest:
                found = search(rest - n, options[i + 1:])
                if found is not None:
                    return [n] + found
        return None

    parts = search(len(marker), lengths)
    return [sym * n for n in parts] if parts else []
