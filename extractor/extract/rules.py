"""The offline ``rules`` backend: layout heuristics + gazetteers, no network, deterministic.

It reads the author block and page-1 footnotes that ingest found, splits names from
superscript markers, pairs markers with numbered affiliations (or, without markers,
names with the affiliation lines printed under them in an author grid), assigns emails,
and resolves each affiliation to an institution and country with the shared resolver.
Model mentions come from the taxonomy over title, abstract and body; their role stays
null here (the LLM backend classifies roles).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from ..config import Settings
from ..resolve import get_resolver, get_taxonomy
from ..schemas import (
    Affiliation,
    Alignment,
    Author,
    Document,
    Evidence,
    ExtractionMeta,
    FrontMatter,
    ModelMention,
    PaperExtraction,
    Where,
)
from .base import default_cache_key, register_backend
from ..grounding import locate

RULES_VERSION = "1"

_SKIP_RE = re.compile(
    r"(equal(ly)? contribut|contributed equally|correspond|work (was )?(done|performed)|during (an )?internship|"
    r"\bintern\b|listing order|project (lead|page)|https?://|www\.|github\.com|conference on|proceedings of|"
    r"preprint|under review|copyright|©|\barxiv\b|published as|licen[cs]e|workshop|\bpmlr\b)",
    re.IGNORECASE,
)
_ORG_RE = re.compile(
    r"\b(univ|universit|universidad|universidade|università|universität|université|institut|institute|college|"
    r"school|academy|academia|laborator|lab\b|labs\b|research|department|dept\.?|faculty|center|centre|"
    r"inc\.?|ltd|llc|corp|corporation|company|group|gmbh|technologies|technology|polytechnic|hospital|"
    r"foundation|council|agency|ministry|national|ai\b|google|microsoft|facebook|meta\b|amazon|nvidia|ibm|"
    r"deepmind|openai|alibaba|tencent|baidu|huawei|bytedance|samsung|intel|apple|adobe|salesforce|mila|inria|"
    r"cnrs|max planck|eth\b|epfl|kaist|riken|csiro|a\*star)",
    re.IGNORECASE,
)
_NAME_WORD = re.compile(r"^[A-ZÀ-ÖØ-ÞŁŚŹŻĆŃÓ][\w'’.\-À-ÿ]*$|^(van|von|der|den|de|la|le|du|da|di|del|dos|das|bin|al|el|y|ten|ter|mc)$", re.UNICODE)
_LEADING_MARKER_RE = re.compile(r"^\s*([0-9]{1,2}|[*∗†‡§¶♠♣♥♦♢♡⋆★#])\s*(?=[A-Z\u00C0-\u024F])")
_SPLIT_NAMES_RE = re.compile(r"\s*(?:,|;|\band\b|&|\s{3,})\s*")


@dataclass
class ZLine:
    """A line of the author zone with its text split into plain runs and marker runs."""

    index: int
    text: str
    pieces: list[tuple[str, bool]]  # (text, is_marker)
    bbox: tuple[float, float, float, float]
    kind: str = "?"


@dataclass
class NameSlot:
    name: str
    markers: list[str]
    line: int
    x0: float
    x1: float
    y: float
    email: str | None = None
    units: list[int] = field(default_factory=list)


def _pieces(front: FrontMatter, index: int) -> list[tuple[str, bool]]:
    """Split a line into runs: consecutive superscript spans form one marker run."""
    out: list[tuple[str, bool]] = []
    for span in (s for s in front.spans if s.line == index):
        is_marker = span.sup and bool(span.text.strip())
        if out and out[-1][1] == is_marker:
            out[-1] = (out[-1][0] + span.text, is_marker)
        else:
            out.append((span.text, is_marker))
    if not out:
        out = [(front.lines[index].text, False)]
    # a leading plain marker ("1 Momenta", "†Google") counts as a marker run
    text, is_marker = out[0]
    m = _LEADING_MARKER_RE.match(text) if not is_marker else None
    if m:
        out[0] = (text[m.end():], False)
        out.insert(0, (m.group(1), True))
    return out


def _markers(text: str) -> list[str]:
    """'1,2∗' -> ['1', '2', '∗']: marker runs hold numbers, letters and symbols."""
    return re.findall(r"\d+|[a-z]|[^\s,\d]", text.replace(" ", ""))


def looks_like_names(text: str) -> bool:
    parts = [p for p in _SPLIT_NAMES_RE.split(text.strip().strip(",")) if p]
    if not parts:
        return False
    good = 0
    for part in parts:
        words = part.split()
        if 1 <= len(words) <= 6 and sum(bool(_NAME_WORD.match(w)) for w in words) >= max(1, len(words) - 1) \
                and not re.search(r"\d|@", part):
            good += 1
    return good >= max(1, int(0.7 * len(parts)))


class RulesBackend:
    """Offline extraction from page-1 layout; see the module docstring."""

    name = "rules"

    def __init__(self, settings: Settings | None = None):
        self.resolver = get_resolver()
        self.taxonomy = get_taxonomy()

    def cache_key(self) -> str:
        return default_cache_key(self.name, f"v{RULES_VERSION}")

    def meta(self) -> ExtractionMeta:
        return ExtractionMeta(backend=self.name, model=f"rules-v{RULES_VERSION}")

    # ------------------------------------------------------------------ classify

    def _classify(self, front: FrontMatter, index: int) -> ZLine:
        pieces = _pieces(front, index)
        text = front.lines[index].text
        zl = ZLine(index, text, pieces, front.lines[index].bbox)
        plain = "".join(t for t, m in pieces if not m).strip()
        if not plain:
            zl.kind = "marker-only"
        elif "@" in plain and len(plain.replace(" ", "")) - len(re.sub(r"\S+@\S+", "", plain).replace(" ", "")) > 0.5 * len(plain.replace(" ", "")):
            zl.kind = "email"
        elif _SKIP_RE.search(plain) and not (pieces[0][1] and _ORG_RE.search(plain) and not re.search(r"equal|correspond|intern|while|during", plain, re.I)):
            zl.kind = "skip"
        elif _ORG_RE.search(plain) or self.resolver.find_countries(plain):
            zl.kind = "aff"
        elif looks_like_names(plain):
            zl.kind = "names"
        elif pieces[0][1]:
            zl.kind = "aff"
        else:
            zl.kind = "other"
        return zl

    # ------------------------------------------------------------------ extract

    def extract(self, document: Document) -> PaperExtraction:
        front = document.front
        if front is None:
            return PaperExtraction(warnings=["no front matter"])
        zone = sorted(set(front.author_lines))
        zlines = [self._classify(front, i) for i in zone]
        foot = [self._classify(front, i) for i in front.footnote_lines if i not in zone]
        foot = [z for z in foot if z.kind == "aff" and z.pieces and z.pieces[0][1]]

        slots = self._names(zlines)
        units, unit_markers, unit_lines = self._affiliation_units(zlines, foot, slots)
        self._link(slots, units, unit_markers, unit_lines, zlines)
        self._emails(front, slots, zlines)

        affiliations: list[Affiliation] = []
        used_units = sorted({u for s in slots for u in s.units}) if slots else list(range(len(units)))
        if not used_units:
            used_units = list(range(len(units)))
        remap: dict[int, int] = {}
        for new_id, u in enumerate(used_units):
            remap[u] = new_id
            domain = next((s.email.split("@", 1)[1] for s in slots if u in s.units and s.email), None)
            affiliations.append(self._affiliation(front, new_id, units[u], domain))
        authors = [
            Author(
                name=s.name,
                affiliation_ids=[remap[u] for u in s.units if u in remap],
                email=s.email,
                evidence=locate(s.name, front.text, source="front", bbox_lines=front),
            )
            for s in slots
        ]
        return PaperExtraction(
            title=front.title,
            title_evidence=locate(front.title, front.text, source="front", bbox_lines=front) if front.title else None,
            authors=authors,
            affiliations=affiliations,
            model_mentions=self._models(document),
            venue=document.venue,
            year=document.year,
            author_block_count=len(slots),
        )

    def _names(self, zlines: list[ZLine]) -> list[NameSlot]:
        slots: list[NameSlot] = []
        for zl in zlines:
            if zl.kind != "names":
                continue
            pending: NameSlot | None = None
            width = (zl.bbox[2] - zl.bbox[0]) / max(1, len(zl.text))
            pos = zl.bbox[0]
            for text, is_marker in zl.pieces:
                if is_marker:
                    if pending is not None:
                        pending.markers.extend(_markers(text))
                    pos += width * len(text)
                    continue
                for part in re.split(r"(\s*(?:,|;|\band\b|&)\s*)", text):
                    clean = part.strip().strip(",;").strip()
                    if clean and not re.fullmatch(r"(?:,|;|and|&)", clean):
                        clean = re.sub(r"\s+", " ", clean)
                        pending = NameSlot(clean, [], zl.index, pos, pos + width * len(part), zl.bbox[1])
                        slots.append(pending)
                    pos += width * len(part)
        return slots

    def _affiliation_units(
        self, zlines: list[ZLine], foot: list[ZLine], slots: list[NameSlot]
    ) -> tuple[list[str], list[list[str]], list[list[ZLine]]]:
        """Cut affiliation lines into units; a marker starts a unit, wrapped lines join it."""
        units: list[str] = []
        markers: list[list[str]] = []
        lines: list[list[ZLine]] = []
        prev_line: ZLine | None = None
        for zl in [z for z in zlines if z.kind in ("aff", "other", "marker-only")] + foot:
            started_here = False
            for text, is_marker in zl.pieces:
                if is_marker:
                    units.append("")
                    markers.append(_markers(text))
                    lines.append([zl])
                    started_here = True
                    continue
                chunk = text.strip()
                if not chunk:
                    continue
                continues = (
                    units
                    and prev_line is not None
                    and not started_here
                    and self._continues(units[-1], chunk, prev_line, zl)
                )
                if continues:
                    sep = "" if units[-1].endswith("-") else " "
                    units[-1] = (units[-1][:-1] if sep == "" else units[-1]) + sep + chunk
                    if zl not in lines[-1]:
                        lines[-1].append(zl)
                elif started_here and units and units[-1] == "":
                    units[-1] = chunk
                else:
                    units.append(chunk)
                    markers.append([])
                    lines.append([zl])
                started_here = False
            prev_line = zl
        keep = [i for i, u in enumerate(units) if u.strip(" ,.;")]
        return (
            [re.sub(r"\s+", " ", units[i]).strip(" ,;") for i in keep],
            [markers[i] for i in keep],
            [lines[i] for i in keep],
        )

    def _continues(self, current: str, chunk: str, prev: ZLine, line: ZLine) -> bool:
        """Does ``chunk`` (next line) continue the unit ``current`` rather than start one?"""
        if not current:
            return True
        vertical_gap = line.bbox[1] - prev.bbox[3]
        x_overlap = min(prev.bbox[2], line.bbox[2]) - max(prev.bbox[0], line.bbox[0])
        if vertical_gap > 8 or x_overlap <= 0:
            return False
        if current.endswith(("-", ",", " of", " and", " for", " &")) or chunk[:1].islower():
            return True
        head = self.resolver.resolve(chunk)
        if head.in_gazetteer and head.institution and head.institution_method.value.startswith("gazetteer"):
            cur = self.resolver.resolve(current)
            return not cur.in_gazetteer or cur.institution == head.institution
        return True

    def _link(
        self,
        slots: list[NameSlot],
        units: list[str],
        unit_markers: list[list[str]],
        unit_lines: list[list[ZLine]],
        zlines: list[ZLine],
    ) -> None:
        """Give each author their affiliation units: by marker, else by grid column, else all."""
        by_marker: dict[str, list[int]] = {}
        for i, ms in enumerate(unit_markers):
            for m in ms:
                by_marker.setdefault(m, []).append(i)
        if by_marker and any(s.markers for s in slots):
            for s in slots:
                s.units = sorted({u for m in s.markers for u in by_marker.get(m, [])})
            unmarked = [i for i, ms in enumerate(unit_markers) if not ms]
            if unmarked and not by_marker.keys() & {m for s in slots for m in s.markers}:
                for s in slots:
                    s.units = unmarked
            return
        if not units:
            return
        if len(units) == 1:
            for s in slots:
                s.units = [0]
            return
        # author grid: a unit belongs to the names above it whose column it overlaps
        for i, zls in enumerate(unit_lines):
            first = zls[0]
            cx0, cx1 = min(z.bbox[0] for z in zls), max(z.bbox[2] for z in zls)
            above = [s for s in slots if s.y <= first.bbox[1] + 1]
            if not above:
                continue
            row_y = max(s.y for s in above)
            row = [s for s in above if abs(s.y - row_y) < 2]
            # the nearest name row above this unit, names whose span overlaps it
            hits = [s for s in row if min(s.x1, cx1) - max(s.x0, cx0) > 0]
            if not hits:
                centre = (cx0 + cx1) / 2
                hits = [min(row, key=lambda s: abs((s.x0 + s.x1) / 2 - centre))]
            for s in hits:
                if i not in s.units:
                    s.units.append(i)
        orphans = [s for s in slots if not s.units]
        if orphans:
            # names with nothing under them (a shared affiliation line below a row of names)
            for s in orphans:
                below = [i for i, zls in enumerate(unit_lines) if zls[0].bbox[1] > s.y]
                if below:
                    s.units = [below[0]]

    def _emails(self, front: FrontMatter, slots: list[NameSlot], zlines: list[ZLine]) -> None:
        """Pair emails with authors by how well the local part matches the name."""
        emails = list(front.emails)
        if not emails or not slots:
            return
        scored = []
        for e in emails:
            local = re.sub(r"[^a-z]", "", e.split("@")[0].lower())
            for k, s in enumerate(slots):
                name = re.sub(r"[^a-z ]", "", s.name.lower())
                parts = name.split()
                initials = "".join(p[0] for p in parts if p)
                score = max(
                    fuzz.partial_ratio(local, name.replace(" ", "")),
                    fuzz.ratio(local, (parts[0][:1] + parts[-1]) if parts else ""),
                    fuzz.ratio(local, initials) if len(local) <= 4 else 0,
                    100 if parts and (parts[-1] in local and len(parts[-1]) > 2) else 0,
                )
                scored.append((score, -k, e, k))
        taken_e: set[str] = set()
        taken_s: set[int] = set()
        for score, _, e, k in sorted(scored, reverse=True):
            if score < 60 or e in taken_e or k in taken_s:
                continue
            slots[k].email = e
            taken_e.add(e)
            taken_s.add(k)

    def _affiliation(self, front: FrontMatter, aff_id: int, raw: str, domain: str | None) -> Affiliation:
        res = self.resolver.resolve(raw, email_domain=domain)
        return Affiliation(
            id=aff_id,
            raw=raw,
            institution=res.institution,
            department=res.department,
            city=res.city,
            country=res.country,
            sector=res.sector,
            institution_method=res.institution_method,
            institution_score=res.institution_score,
            country_method=res.country_method,
            evidence=locate(raw, front.text, source="front", bbox_lines=front),
        )

    def _models(self, document: Document) -> list[ModelMention]:
        front = document.front
        zones: list[tuple[Where, str]] = []
        if front and front.title:
            zones.append((Where.TITLE, front.title))
        if front and front.abstract:
            zones.append((Where.ABSTRACT, front.abstract))
        body = document.full_text or ""
        found: dict[str, ModelMention] = {}
        for where, text in zones + [(Where.BODY, _strip_references(body))]:
            for hit in self.taxonomy.find(text):
                m = found.get(hit.family)
                if m is None:
                    found[hit.family] = ModelMention(
                        name=hit.name,
                        family=hit.family,
                        developer=hit.developer,
                        developer_country=hit.developer_country,
                        where=where,
                        count=1,
                        evidence=Evidence(source="full", start=hit.start, end=hit.end, alignment=Alignment.EXACT)
                        if where == Where.BODY else None,
                    )
                elif where == Where.BODY:
                    m.count += 1
        return sorted(found.values(), key=lambda m: (-m.count, m.family))


def _strip_references(text: str) -> str:
    """Body text without the bibliography, where names are citations, not uses."""
    m = None
    for m in re.finditer(r"\n\s*(references|bibliography)\s*\n", text, re.IGNORECASE):
        pass
    return text[: m.start()] if m and m.start() > len(text) * 0.3 else text


register_backend("rules", lambda settings: RulesBackend(settings))
