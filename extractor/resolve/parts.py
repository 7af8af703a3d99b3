"""Cutting an affiliation string into its parts: organisation, department, location.

Helpers of :mod:`extractor.resolve.resolver` that look only at the text: which
comma-separated segment names an organisation that is not in the gazetteer, which
segments are departments, whether a known name is only the tail of a longer unknown
one, and what sector an unknown organisation's name suggests.
"""

from __future__ import annotations

import re

from extractor.resolve.countries import PlaceHit
from extractor.resolve.institutions import InstitutionMatch
from extractor.resolve.text import EXPANSIONS, strip_accents
from extractor.schemas import Sector

VENUE_RE = re.compile(
    r"\b(NeurIPS|NIPS|ICML|ICLR|CVPR|ICCV|ECCV|ACL|EMNLP|NAACL|COLING|AAAI|IJCAI|KDD|SIGIR|"
    r"AISTATS|UAI|COLT|Conference|Workshop|Symposium|Proceedings)\b")
_DEPT_START = frozenset(
    "department departments school faculty division college graduate laboratory key center "
    "institute group program programme unit chair section lab computer electrical "
    "laboratoire departement dipartimento departamento facultad faculte fakultat lehrstuhl".split())
_ORG_WORDS = frozenset(
    "university college institute school laboratory center academy research technology "
    "technologies hospital foundation polytechnic observatory agency ministry council "
    "society company group ai labs lab corporation inc ltd llc gmbh ag plc tech".split())
_INDUSTRY_WORDS = frozenset("inc ltd llc corp corporation gmbh ag plc company co technologies".split())
_ACADEMIA_WORDS = frozenset("university college polytechnic universitat universite universidad universita school".split())
_GOVERNMENT_WORDS = frozenset("ministry agency government bureau".split())
_WORD_RE = re.compile(r"[^\W_]+")
CONJ_RE = re.compile(r"^[\s,.]*(?:&|and|/|\+)\s*(?:the\s+)?$", re.IGNORECASE)  # "." ends "Univ."
PAREN_RE = re.compile(r"\([^)]*\)")
_HEAD_WORDS = frozenset("university institute institue college school academy polytechnic laboratory center centre".split())
#: The shortened words of :data:`EXPANSIONS` ("inst", "res", "ctr"), not its other spellings
#: ("centre", "universitat"): a part is read as it would be written in full.
_ABBREVIATIONS = {w: full for w, full in EXPANSIONS.items() if len(w) < len(full)}
#: After a name ending in a head word: the name goes on ("... University of Milano").
_NAME_GOES_ON_RE = re.compile(r"\s+(?:of|di|de|del|della|degli)\s+(?:the\s+)?[A-Z]")
_CORP_COMMA_RE = re.compile(r",(\s*)(?=(?i:Inc|Ltd|LLC|Co|Corp|GmbH|AG|S\.A|B\.V|PLC|Limited)\b\.?)")


def org_segment(text: str, places: list[PlaceHit]) -> tuple[str, int, int] | None:
    """The comma-separated part that names the organisation, for unknown ones.

    Abbreviated words are read in full ("Inst.", "Res. Ctr."). A part that
    starts like a unit ("Graduate School of ...", "Institute of ...") is taken only when no
    part names an organisation outright, and then the last such part (the largest unit:
    affiliations run from the smallest unit to the largest)."""
    best = None
    strong = False
    text = _CORP_COMMA_RE.sub(lambda m: " " + m.group(1), text)  # "Foo ML, Inc." is one name
    for m in re.finditer(r"(?:[^,;–—\s]|\s(?![–—-]\s))+", text):  # " – " parts a school from its university
        seg = m.group().strip()
        if seg.count("(") > seg.count(")"):  # "Universite de Lyon (ERIC, Lyon 2)": the name ends before "("
            seg = seg[: seg.index("(")].strip()
        if not seg:
            continue
        start = m.start() + m.group().index(seg)
        words = [_ABBREVIATIONS.get(w, w) for w in (w.casefold() for w in _WORD_RE.findall(strip_accents(seg)))]
        inner = [p for p in places if start <= p.start and p.end <= start + len(seg)]
        covered = sum(p.end - p.start for p in inner)
        if covered >= sum(len(w) for w in words) * 0.6 or not any(w.isalpha() for w in words):
            continue  # a location part ("Beijing 100084", "USA")
        if _ORG_WORDS & set(words) and words and words[0] not in _DEPT_START:
            best, strong = (" ".join(seg.split()), start, start + len(seg)), True
        elif _ORG_WORDS & set(words) and not strong and words and words[0] not in ("department", "school", "faculty", "division"):
            best = (" ".join(seg.split()), start, start + len(seg))
    return best


def department(text: str, match: InstitutionMatch | None, org_segment: tuple[str, int, int] | None,
                places: list[PlaceHit]) -> str | None:
    stop = match.start if match is not None else (org_segment[1] if org_segment else len(text))
    head = text[:stop].strip(" ,;-–")
    if not head:
        return None
    parts = [s.strip() for s in re.split(r"[,;]", head) if s.strip()]
    dept = []
    for part in parts:
        words = [w.casefold() for w in _WORD_RE.findall(strip_accents(part))]
        if words and (words[0] in _DEPT_START or words[0] in ("dept", "depts")):
            dept.append(part)
    return ", ".join(dept) or None


def partial_name(text: str, match: InstitutionMatch) -> bool:
    """True when a generic-headed name is the tail of a longer unknown name:
    "Vidyasirimedhi Institute of Science and Technology" is not "Institute of Science and
    Technology"; "Department of CS University of X" (a department prefix) is fine; or its
    head when the name goes on past it: "Polytechnic University of Milano" is not the
    "Polytechnic University" of another city."""
    words = _WORD_RE.findall(strip_accents(text[match.start : match.end]))
    if words and words[-1].casefold() in _HEAD_WORDS and _NAME_GOES_ON_RE.match(text, match.end):
        return True  # "Polytechnic University" in "Polytechnic University of Milano"
    if not words or words[0].casefold() not in _HEAD_WORDS:
        return False
    seg_start = max(text.rfind(",", 0, match.start), text.rfind(";", 0, match.start)) + 1
    before = _WORD_RE.findall(strip_accents(text[seg_start : match.start]))
    if not before or not before[-1][0].isupper() or before[-1].casefold() in ("the", "and"):
        return False
    return before[0].casefold() not in _DEPT_START and before[0].casefold() not in ("dept", "depts")


def infer_sector(name: str) -> Sector | None:
    words = {w.casefold() for w in _WORD_RE.findall(strip_accents(name))}
    if words & _ACADEMIA_WORDS:
        return Sector.ACADEMIA
    if words & _INDUSTRY_WORDS:
        return Sector.INDUSTRY
    if words & _GOVERNMENT_WORDS or "national laboratory" in name.casefold():
        return Sector.GOVERNMENT
    if "foundation" in words:
        return Sector.NONPROFIT
    return None
