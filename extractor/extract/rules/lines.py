"""Lines of the author block as the rules backend sees them: text runs, markers, a kind.

Every later step (names, affiliation units, grid cells, emails) works on :class:`ZLine`
objects built here from the page-1 spans that ingest kept. A line is cut into
:class:`Piece` runs that are either plain text or a footnote marker (superscript
``1,2``, ``∗``, ``†`` ... or a leading baseline label such as ``1 Momenta``), each with
its horizontal extent so that names and affiliations can be placed in grid columns.
The classifier then says what a line is: names, affiliation, email, a note to skip
(equal contribution, correspondence, venue line, URL), marker-only, or other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from extractor.resolve import Resolver
from extractor.schemas import FrontMatter, Span

# Notes printed near the author block that are not affiliations.
NOTE_RE = re.compile(
    r"(equal(ly)?[\s-]+contribut|contributed equally|these authors contributed|joint first|co-first|"
    r"correspond|work (was |is )?(partly |partially |mainly )?(done|performed|conducted|completed)|"
    r"(during|while) (an |his |her |their )?(internship|interning|visiting|at\b)|part of (this|the) work|"
    r"\bintern(ship)?\b|listing order|order (is )?random|project (lead|page)|"
    r"now (at|with)\b|currently (at|with)\b|\bjoined\b|can be reached|moved to\b|supported by|funded by|code (is )?available|"
    r"\bindicates?\b|\bdenotes?\b|senior author|(?:core|main|lead|key) contributors?\b|(?:first|last|lead|co-?)[\s-]?authors?\b|advis(ing|ed)|https?://|www\.|github\.com|"
    r"warning:|content that may be)",
    re.IGNORECASE,
)
# Venue / template lines ("NeurIPS 2024, Vancouver, Canada", "Proceedings of the 35th ICML").
VENUE_RE = re.compile(
    r"(conference on|proceedings of|workshop on|symposium on|\bpmlr\b|published as|under review|"
    r"\bpreprint\b|copyright|©|\(c\)\s*\d{4}|arxiv:\s*\d|technical report|"
    r"\b(?:neurips|nips|icml|iclr|acl|naacl|emnlp|eacl|coling|cvpr|iccv|eccv|aaai|ijcai|kdd|sigir|www|"
    r"aistats|uai|colt|icassp|interspeech|miccai|wacv|bmvc|corl|rss|icra|iros|tacl|tmlr|jmlr)\b\s*'?\d{2,4}|"
    r"\b(?:19|20)\d\d\b.{0,40}\b(?:vancouver|montr[eé]al|long beach|new orleans|stockholm|vienna|"
    r"baltimore|honolulu|seattle|singapore|bangkok|mexico city|miami|toronto|dublin|seoul)\b)",
    re.IGNORECASE,
)
# Words that make a line an organisation. Short ones that are also given names or common
# words (Ai, Mila, Eth, Meta) count only in capitals, as organisations print them.
ORG_RE = re.compile(
    r"\b(?:(?i:univ\w*|institu\w*|instituto|istituto|college|colegio|school|academ\w*|laborat\w*|labs?|"
    r"research|department|dept|faculty|cent(?:er|re|ro)\w*|inc|ltd|llc|corp\w*|company|group|gmbh|"
    r"technolog\w*|tech|polytechn\w*|politecnico|hospital|clinic|foundation|council|agency|ministry|"
    r"national|google|microsoft|facebook|amazon|nvidia|deepmind|openai|alibaba|tencent|baidu|"
    r"huawei|bytedance|samsung|salesforce|inria|hochschule|ecole|école|escuela|scuola|universit\w*|"
    r"division|unit|team|office|studio|cloud|programme|program|initiative|observatory|museum|bureau)"
    r"|AI|ETH|IBM|CNRS|EPFL|KAIST|RIKEN|CSIRO|MILA|Mila(?=[\s,-]*(?:Qu[eé]bec|$|,))|A\*STAR|Meta|Intel|Apple|Adobe)\b",
)
EMAIL_TOKEN_RE = re.compile(r"\S*@\S+|\{[^}]*\}\s*@\s*\S+|\[[^\]]*\]\s*@\s*\S+|[\[{][\w.+\-]+(?:\s*,\s*[\w.+\-]+)*,?\s*$")
# A marker printed on the baseline at the start of a line: "1 Momenta", "†Google", "* Equal".
_LEADING_MARKER_RE = re.compile(r"^\s*(\d{1,2}|[*∗†‡§¶♠♣♥♦♢♡⋆★#]+)\s*(?=[A-Z\u00C0-\u024F(])")
_MARKER_TOKEN_RE = re.compile(r"\d+|[a-z]|([^\s,;\d a-z])\1*")
_MARKER_FIX = {"∗": "*", "⋆": "*", "⁎": "*", "✱": "*"}
_SUPERSCRIPT_DIGITS = str.maketrans("¹²³⁴⁵⁶⁷⁸⁹⁰", "1234567890")


def split_markers(text: str) -> list[str]:
    """'1,2∗' -> ['1', '2', '*']; '††' stays one marker (LaTeX's fifth symbol)."""
    text = text.translate(_SUPERSCRIPT_DIGITS)
    out = []
    for m in _MARKER_TOKEN_RE.finditer(text):
        tok = m.group()
        tok = "".join(_MARKER_FIX.get(c, c) for c in tok)
        if tok.isdigit():
            tok = str(int(tok))
        out.append(tok)
    return out


@dataclass
class Piece:
    """A run of one line: plain text or a marker, with its horizontal extent."""

    text: str
    marker: bool
    x0: float
    x1: float
    chars: list[tuple[str, float]] = field(default_factory=list)  # plain text: (char, x) pairs


@dataclass
class ZLine:
    """One line of the author block or the footnotes, cut into pieces and classified."""

    index: int
    text: str
    pieces: list[Piece]
    bbox: tuple[float, float, float, float]
    size: float
    bold: bool
    block: int
    footnote: bool = False
    kind: str = "other"  # names | aff | email | skip | marker | other

    @property
    def plain(self) -> str:
        return re.sub(r"\s+", " ", "".join(p.text for p in self.pieces if not p.marker)).strip()

    @property
    def name_text(self) -> str:
        """Text with markers as separators and wide gaps kept: what the names test reads."""
        return "".join(", " if p.marker else p.text for p in self.pieces).strip(" ,")

    @property
    def starts_with_marker(self) -> bool:
        return bool(self.pieces) and self.pieces[0].marker

    @property
    def markers(self) -> list[str]:
        return [m for p in self.pieces if p.marker for m in split_markers(p.text)]

    @property
    def y(self) -> float:
        return self.bbox[1]

    @property
    def cx(self) -> float:
        return (self.bbox[0] + self.bbox[2]) / 2


def _span_chars(span: Span) -> list[tuple[str, float]]:
    """Characters of a span with an interpolated x position (spans keep only a bbox)."""
    text = span.text
    if not text:
        return []
    x0, x1 = span.bbox[0], span.bbox[2]
    step = (x1 - x0) / max(1, len(text))
    return [(c, x0 + step * (k + 0.5)) for k, c in enumerate(text)]


def build_zline(front: FrontMatter, index: int, spans: list[Span], footnote: bool = False) -> ZLine:
    """Cut one line into plain and marker pieces (consecutive superscripts form one marker)."""
    line = front.lines[index]
    pieces: list[Piece] = []
    for span in spans:
        text, is_marker, chars = span.text, span.sup and bool(span.text.strip()), None
        if _ORCID_RE.search(text):
            text, chars, is_marker = _without_orcid(span, max(s.size for s in spans))
            if not text:
                continue
        if not is_marker and pieces and pieces[-1].marker and not text.strip():
            pieces[-1].text += text  # keep "* 1" together
            continue
        if chars is None:
            chars = [] if is_marker else _span_chars(span)
        if pieces and pieces[-1].marker == is_marker:
            p = pieces[-1]
            p.text += text
            p.x0, p.x1 = min(p.x0, span.bbox[0]), max(p.x1, span.bbox[2])
            p.chars += chars
        else:
            pieces.append(Piece(text, is_marker, span.bbox[0], span.bbox[2], chars))
    if not pieces:
        pieces = [Piece(line.text, False, line.bbox[0], line.bbox[2],
                        [(c, line.bbox[0]) for c in line.text])]
    first = pieces[0]
    m = _LEADING_MARKER_RE.match(first.text) if not first.marker else None
    if m and not re.match(r"^\s*\d{1,2}\s*(?:st|nd|rd|th)\b", first.text):
        cut = m.end()
        mx = first.chars[cut - 1][1] if first.chars and cut <= len(first.chars) else first.x0
        rest = Piece(first.text[cut:], False, mx, first.x1, first.chars[cut:])
        pieces[0:1] = [Piece(m.group(1), True, first.x0, mx), rest]
    return ZLine(index, line.text, _without_author_notes(pieces), line.bbox, line.size, line.bold, line.block, footnote)


# Marks a class prints next to a name that say nothing about affiliation: an ORCID iD in
# brackets (Springer LNCS "Ana Lima¹[0000-0002-1825-0097]") and the corresponding-author
# envelope, which many PDFs give back as "(B)".
_ORCID_RE = re.compile(r"\[?\s?\d{4}(?:\s?[-−‐–]\s?\d{3}[\dX]){3}\s?\]?")
_ENVELOPE_RE = re.compile(r"\s?\((?:B|✉)\)|✉")


def _without_orcid(span: Span, line_size: float) -> tuple[str, list[tuple[str, float]], bool]:
    """A span without its ORCID iD: (text, chars, is_marker).

    The iD is set as a superscript glued to the institute number ("1[0000-0002-...]"); such a
    span is too long to pass as a marker, so what is left of a span smaller than the line's
    largest type is the marker.
    """
    ids = [m.span() for m in _ORCID_RE.finditer(span.text)]
    chars = [c for k, c in enumerate(_span_chars(span)) if not any(a <= k < b for a, b in ids)]
    text = "".join(c for c, _ in chars)
    small = span.size <= 0.85 * line_size
    is_marker = (span.sup or small) and bool(re.fullmatch(r"[\s,]*[\d*∗†‡§¶]+(?:[\s,]+[\d*∗†‡§¶]+)*[\s,]*", text))
    if small and not is_marker and not text.strip(" ,"):
        return "", [], False
    return text, ([] if is_marker else chars), is_marker


def _without_author_notes(pieces: list[Piece]) -> list[Piece]:
    """Plain pieces without the envelope mark; a piece left empty is dropped."""
    if not any(not p.marker and _ENVELOPE_RE.search(p.text) for p in pieces):
        return pieces
    out = []
    for p in pieces:
        if not p.marker and _ENVELOPE_RE.search(p.text):
            spans = [m.span() for m in _ENVELOPE_RE.finditer(p.text)]
            keep = [k for k in range(len(p.text)) if not any(a <= k < b for a, b in spans)]
            p.chars = [p.chars[k] for k in keep if k < len(p.chars)] if p.chars else []
            p.text = "".join(p.text[k] for k in keep)
        if p.text:
            out.append(p)
    return out or pieces


def build_zlines(front: FrontMatter, indices: list[int], footnote: bool = False) -> list[ZLine]:
    by_line: dict[int, list[Span]] = {}
    wanted = set(indices)
    for span in front.spans:
        if span.line in wanted:
            by_line.setdefault(span.line, []).append(span)
    return [build_zline(front, i, by_line.get(i, []), footnote) for i in indices]


# --------------------------------------------------------------------------- names test

_NAME_SEP_RE = re.compile(r"\s*(?:,|;|\band\b|&|[·•|]|\s{2,})\s*")
_PARTICLES = frozenset("van von der den de la le du da di del della dos das do bin ibn al el y ten ter st mc".split())
_SUFFIXES = frozenset("jr jr. sr sr. ii iii iv".split())
_HONORIFIC_RE = re.compile(r",?\s*\(?(?:(?:senior|student|life)\s+)?(?:member|fellow),?\s+(?:ieee|acm)\)?", re.IGNORECASE)


def name_word(word: str) -> bool:
    """A word that can be part of a person's name as printed (Latin or CJK script)."""
    w = word.strip(".,")
    if not w:
        return False
    if w.lower() in _PARTICLES or w.lower() in _SUFFIXES:
        return True
    if re.fullmatch(r"[\u4e00-\u9fff\u3040-\u30ff\uac00-\ud7af]{1,4}", w):
        return True
    if not w[0].isupper():
        return False
    return bool(re.fullmatch(r"[^\W\d_](?:[^\W\d_]|['’.\-])*", w))


def name_part_ok(part: str, relaxed: bool = False) -> bool:
    """Does one comma-separated part read as a single person's name?

    ``relaxed`` (for a line already known to hold names) also accepts a name printed in
    lower case ("anne martin"), as some authors write it.
    """
    part = re.sub(r"\s*\([^()]{1,20}\)", "", part)  # "Xiaoming (Sam) Li": a nickname in brackets
    words = part.split()
    if not 1 <= len(words) <= 6 or re.search(r"\d|@|[()\[\]:/]", part):
        return False
    if ORG_RE.search(part):
        return False
    good = sum(name_word(w) for w in words)
    lowered = [w for w in words if w[0].islower() and w.lower() not in _PARTICLES]
    if len(words) == 1:
        return good == 1 and len(words[0]) > 1
    if relaxed and 2 <= len(words) <= 4 and all(re.fullmatch(r"[^\W\d_][\w'’.\-]*", w) for w in words):
        return True
    return good >= len(words) - 1 and len(lowered) <= 1


def looks_like_names(text: str, resolver: Resolver | None = None) -> bool:
    """True when most separated parts of ``text`` are person names (and not places)."""
    text = _HONORIFIC_RE.sub("", text)
    if re.search(r"[a-z]{2}[.;:] +[A-Za-z]", text):
        return False  # a sentence ("... perspectives. Empirically, the method ...")
    parts = [p for p in _NAME_SEP_RE.split(text.strip().strip(",")) if p and p.strip()]
    if not parts:
        return False
    good = 0
    multi = 0
    for part in parts:
        if resolver is not None and _is_place(part, resolver):
            return False  # "Télécom ParisTech, France": names lines do not name countries
        if not name_part_ok(part):
            continue
        good += 1
        multi += len(part.split()) > 1
    need = len(parts) if len(parts) <= 2 else round(0.7 * len(parts))
    return multi >= 1 and good >= need


def _is_place(text: str, resolver: Resolver) -> bool:
    """Is the whole text a place name ("Hong Kong", "New York")?"""
    hits = resolver.find_countries(text)
    covered = sum(e - s for _, s, e in hits)
    letters = len(re.sub(r"[^\w]", "", text))
    return letters > 0 and covered >= 0.8 * len(text.strip())


def is_place_line(text: str, resolver: Resolver) -> bool:
    """A line that only names places ("Beijing, China", "USA", "Kowloon, Hong Kong")."""
    parts = [p.strip() for p in re.split(r"[,;]", text) if p.strip()]
    if not parts:
        return False
    for p in parts:
        p = re.sub(r"\b\d{3,6}(?:-\d{3,4})?\b", "", p).strip(" .")  # postal codes
        if p and not _is_place(p, resolver) and not re.fullmatch(r"[A-Z]{2}", p):
            return False
    return True


# --------------------------------------------------------------------------- classify


def email_share(text: str) -> float:
    """Share of the non-space characters of ``text`` that belong to email tokens."""
    compact = text.replace(" ", "")
    if "@" not in compact or not compact:
        return 0.0
    taken = sum(len(m.group().replace(" ", "")) for m in EMAIL_TOKEN_RE.finditer(text))
    return taken / len(compact)


def classify(zl: ZLine, resolver: Resolver) -> str:
    """What a line is: names, aff, email, skip, marker, other (see the module docstring)."""
    plain = zl.plain
    if not plain:
        return "marker"
    if email_share(plain) > 0.5:
        return "email"
    if NOTE_RE.search(plain) or VENUE_RE.search(plain):
        if zl.starts_with_marker and ORG_RE.search(plain) and not NOTE_RE.search(plain[:40]) \
                and not VENUE_RE.search(plain):
            return "aff"
        return "skip"
    if ORG_RE.search(plain):
        return "names" if _names_with_one_org_word(zl, resolver) else "aff"
    if _EMAIL_FRAGMENT_RE.match(plain):
        return "email"  # "{anirban.laha," : a brace group broken over lines
    if zl.starts_with_marker:
        return "aff"  # names carry markers after them; a leading marker labels an affiliation
    if looks_like_names(zl.name_text, resolver):
        return "aff" if names_an_institution(zl.name_text, resolver) else "names"
    if resolver.find_countries(plain) or resolver.resolve(plain).in_gazetteer:
        return "aff"
    return "other"


def _names_with_one_org_word(zl: ZLine, resolver: Resolver) -> bool:
    """"Ana Lima, OpenAI Ben Ortiz, Carla Mendes": a list of names in which one
    part holds an organisation word is still a names line."""
    parts = [p for p in _NAME_SEP_RE.split(zl.name_text) if p and p.strip()]
    org = [p for p in parts if ORG_RE.search(p)]
    rest = [p for p in parts if not ORG_RE.search(p)]
    if len(org) != 1 or len(rest) < 2 or not (zl.markers or len(parts) >= 4):
        return False
    return looks_like_names(", ".join(rest), resolver) and not zl.starts_with_marker


_EMAIL_FRAGMENT_RE = re.compile(r"^\s*[{(][\w.+\-]+(?:\s*,\s*[\w.+\-]+)*,?\s*$")


def names_an_institution(text: str, resolver: Resolver) -> bool:
    """Are half the separated parts of ``text`` mostly known institutions ("EECS, UC Berkeley")?

    Half, not one: a person's name can hold an alias (a Chinese given name can spell a company's Chinese
    name), but a names line is not mostly institutions.
    """
    parts = [p for p in _NAME_SEP_RE.split(text) if p and p.strip()]
    hits = sum(institution_share(part, resolver) >= 0.6 for part in parts)
    return bool(parts) and hits >= 0.5 * len(parts)


def institution_share(text: str, resolver: Resolver) -> float:
    """Share of the letters of ``text`` that belong to known institution names."""
    spans = getattr(resolver, "institution_spans", None)
    if spans is not None:
        cleaned, found = spans(text)
        ranges = {(s, e) for _, s, e in found}
    else:
        from extractor.resolve.text import clean, tokenize

        cleaned = clean(text)
        ranges = {(m.start, m.end) for m in resolver.institutions.find(cleaned, tokenize(cleaned))}
    letters = sum(c.isalnum() for c in cleaned)
    if not letters:
        return 0.0
    return sum(sum(c.isalnum() for c in cleaned[s:e]) for s, e in ranges) / letters


def _style(z: ZLine) -> tuple[bool, int]:
    return z.bold, round(z.size)


def line_above(z: ZLine, lines: list[ZLine]) -> ZLine | None:
    """The closest line printed directly above ``z`` in the same column."""
    best = None
    for o in lines:
        if o is z or o.bbox[1] >= z.bbox[1] - 1:
            continue
        if min(o.bbox[2], z.bbox[2]) - max(o.bbox[0], z.bbox[0]) <= 0:
            continue
        if best is None or o.bbox[1] > best.bbox[1]:
            best = o
    return best


def restyle_names(zlines: list[ZLine], resolver: Resolver | None = None) -> None:
    """Make the names/affiliation call agree with the type the block sets each in.

    Templates set names in one style (bold, or larger) and affiliations in another. When
    the block shows two such styles, a 'names' line set like the affiliations is an
    affiliation that reads like a name ("Aurora Innovation", "Fédérale de Lausanne"), and
    an affiliation or 'other' line set like the names that reads like a name is a name
    (a name that holds a company's alias, a name in lower case). The names style is voted by the names lines, the
    confident ones (markers, several names, top of their column) counting more.
    """
    names = [z for z in zlines if z.kind == "names"]
    if not names:
        return
    votes: dict[tuple[bool, int], float] = {}
    for z in names:
        above = line_above(z, zlines)
        top_of_cell = above is None or above.kind in ("email", "skip") or z.bbox[1] - above.bbox[3] > 0.8 * z.size
        weight = 1.0 + bool(z.markers) + (len(_NAME_SEP_RE.split(z.name_text)) > 1) + 2 * top_of_cell + z.bold
        votes[_style(z)] = votes.get(_style(z), 0.0) + weight
    name_style = max(votes, key=lambda k: votes[k])
    aff_votes: dict[tuple[bool, int], int] = {}
    for z in zlines:
        if z.kind == "aff" and _style(z) != name_style:
            aff_votes[_style(z)] = aff_votes.get(_style(z), 0) + 1
    if not aff_votes:
        return
    aff_style = max(aff_votes, key=lambda k: aff_votes[k])
    for z in names:
        if _style(z) == aff_style:
            z.kind = "aff"
    for z in zlines:
        if z.kind in ("aff", "other") and _style(z) == name_style and not z.starts_with_marker:
            parts = [p for p in _NAME_SEP_RE.split(z.name_text) if p and p.strip()]
            if parts and all(name_part_ok(p, relaxed=True) for p in parts) and any(len(p.split()) > 1 for p in parts) \
                    and not (resolver is not None and is_place_line(z.plain, resolver)):
                z.kind = "names"


def split_wide(zl: ZLine) -> list[ZLine]:
    """Cut an unmarked line at wide gaps (two or more spaces) into one line per piece.

    Neighbouring grid cells can come out of a PDF as one line ("University of Toronto  Peking
    University") when the gap between them is narrow; each part belongs to its own column.
    """
    if len(zl.pieces) != 1 or zl.pieces[0].marker or not re.search(r"\S\s{2,}\S", zl.pieces[0].text):
        return [zl]
    piece = zl.pieces[0]
    chars = piece.chars or [(c, piece.x0) for c in piece.text]
    out = []
    for m in re.finditer(r"\S+(?:\s\S+)*", piece.text):
        part = chars[m.start() : m.end()]
        xs = [x for _, x in part]
        width = (piece.x1 - piece.x0) / max(1, len(piece.text))
        x0, x1 = min(xs) - width / 2, max(xs) + width / 2
        sub = Piece(m.group(), False, x0, x1, part)
        out.append(ZLine(zl.index, m.group(), [sub], (x0, zl.bbox[1], x1, zl.bbox[3]), zl.size, zl.bold,
                         zl.block, zl.footnote, zl.kind))
    return out or [zl]
