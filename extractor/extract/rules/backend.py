"""The offline ``rules`` backend: page-1 layout + gazetteers -> a PaperExtraction.

Steps (each in its own module): classify the author-block and footnote lines
(:mod:`.lines`), read names with their markers and grid cells (:mod:`.names`), cut
affiliation units from marked lines, footnotes and grid cells (:mod:`.units`, :mod:`.grid`),
link authors to units by marker, else by grid position, else the one shared unit; give
emails to authors (:mod:`.emails`); resolve every unit with the shared resolver; find model
mentions with the taxonomy (:mod:`.mentions`). Deterministic and network-free.
"""

from __future__ import annotations

import re
from collections import Counter

from extractor.config import Settings
from extractor.extract.base import default_cache_key
from extractor.extract.rules.cache import CachedResolver, evidence_in_lines
from extractor.extract.rules.emails import assign_emails
from extractor.extract.rules.grid import assign_lines, merge_stacked, shared_rows
from extractor.extract.rules.lines import ZLine, build_zlines, classify, restyle_names, split_wide
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
from extractor.schemas import Affiliation, Author, Document, ExtractionMeta, FrontMatter, PaperExtraction

RULES_VERSION = "6"  # 6: resolver sub-units, state cues, gazetteer and taxonomy additions


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
        self._link(slots, units, shared)
        if slots and not any(s.units for s in slots):
            units = self._footnote_fallback(slots, foot, units)
        self._emails(front, slots, zlines, foot, cells)
        if not slots:
            warnings.append("no author names found in the author block")

        affiliations, remap = self._affiliations(front, slots, units)
        authors = [
            Author(
                name=s.name,
                affiliation_ids=sorted({remap[u] for u in s.units if u in remap}),
                email=s.email,
                evidence=evidence_in_lines(front, s.name, [s.line]),
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
        """Drop units that name neither an organisation nor a place (stray lines)."""
        out = []
        for u in units:
            res = self.resolve(u.text)
            if res.in_gazetteer or res.country or res.institution or looks_like_affiliation(u.text):
                out.append(u)
        return out

    def _split(self, units: list[Unit]) -> list[Unit]:
        out = []
        for u in units:
            parts = split_institutions(u.text, self.resolver)
            for p in parts:
                out.append(Unit(p.strip(" ,;"), list(u.markers), list(u.lines), u.source, u.all_authors, u.cell))
        return out

    @staticmethod
    def _link(slots: list[NameSlot], units: list[Unit], shared: dict[int, list[int]]) -> None:
        """Authors -> units: by marker, else the units of their grid cell (or shared row)."""
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
            if not picked:
                for c in shared.get(s.cell, [s.cell]):
                    picked += by_cell.get(c, [])
            picked += [i for i, who in named if any(same_person(w, s.name) for w in who)]
            s.units = list(dict.fromkeys(picked + everyone))
        lonely = [s for s in slots if not s.units]
        candidates = [i for i, u in enumerate(units) if not u.all_authors and not u.who]
        if lonely and len(candidates) == 1 and (len(lonely) == len(slots) or not units[candidates[0]].markers):
            for s in lonely:
                s.units = [candidates[0]]

    def _footnote_fallback(self, slots: list[NameSlot], foot: list[ZLine], units: list[Unit]) -> list[Unit]:
        """No affiliation anywhere near the names: an unmarked page-1 footnote that names a
        known institution (journal style "Department of X, University Y, City, Country")
        is every author's."""
        lines = [z for z in foot if z.kind == "aff" and not z.markers and self.resolve(z.plain).in_gazetteer]
        extra = self._split(self._keep(self._tidy(sequence_units(lines, self.resolver))))
        if not extra or len(extra) > 3:
            return units
        start = len(units)
        for s in slots:
            s.units = list(range(start, start + len(extra)))
        return units + extra

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
        assign_emails(slots, list(front.emails), notes_text=notes, cell_emails=cell_emails)

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
            ))
        return affiliations, remap


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
