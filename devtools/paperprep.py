"""Text preparation for the synthetic paper generator: what gets printed, and its truth.

Metadata strings are not print-ready: titles and abstracts carry LaTeX, affiliation strings
carry footnote marks, ligatures and TeX spacing accents (``Universit ´e``), and there are no
emails, only domains. These helpers turn them into the exact strings a layout prints, so the
truth record can be built from the same strings and always matches the page.
"""

from __future__ import annotations

import re
import unicodedata

import pycountry

# --------------------------------------------------------------------------- LaTeX

_LATEX_SYMBOLS = {
    "ell": "ℓ", "infty": "∞", "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥", "times": "×",
    "cdot": "·", "in": "∈", "approx": "≈", "pm": "±", "to": "→", "rightarrow": "→",
    "ldots": "…", "dots": "…", "cdots": "…", "sum": "∑", "prod": "∏", "partial": "∂",
    "neq": "≠", "ne": "≠", "sqrt": "√", "sim": "~", "log": "log", "exp": "exp", "min": "min",
    "max": "max", "eg": "e.g.", "ie": "i.e.", "etal": "et al.", "%": "%", "&": "&", "_": "_",
    "#": "#", "$": "$", "{": "(", "}": ")", "epsilon": "ε", "varepsilon": "ε", "alpha": "α",
    "beta": "β", "gamma": "γ", "delta": "δ", "theta": "θ", "lambda": "λ", "mu": "μ", "pi": "π",
    "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ", "varphi": "φ", "omega": "ω", "eta": "η",
    "kappa": "κ", "nu": "ν", "xi": "ξ", "zeta": "ζ", "chi": "χ", "psi": "ψ", "Phi": "Φ",
    "Omega": "Ω", "Theta": "Θ", "Delta": "Δ", "Gamma": "Γ", "Lambda": "Λ", "Sigma": "Σ",
    "Pi": "Π", "Psi": "Ψ", "ln": "ln", "nabla": "∇", "R": "R", "L": "Ł", "AA": "Å", "top": "T",
    "ll": "<<", "gg": ">>", "lesssim": "≲", "gtrsim": "≳", "land": "∧", "lor": "∨", "vert": "|",
    "mid": "|", "cap": "∩", "cup": "∪", "subset": "⊂", "forall": "∀", "exists": "∃", "neg": "¬",
    "propto": "∝", "circ": "∘", "star": "*", "ast": "*", "circledast": "*", "quad": " ", "qquad": " ",
    "textendash": "–", "textemdash": "—", "det": "det", "Pr": "Pr", "sin": "sin", "cos": "cos",
}
_CITE = re.compile(r"\\cite[pt]?\*?(?:\[[^\]]*\])*\{([^{}]*)\}")
_TEX_ACCENT = re.compile(r"\\(['\"`^~])\{?([A-Za-z])\}?")
_TEX_ACCENTS = {"'": "\u0301", '"': "\u0308", "`": "\u0300", "^": "\u0302", "~": "\u0303"}
_DROP_WITH_ARG = re.compile(r"\\(?:ref|eqref|label|footnote|url|begin|end)\*?\{[^{}]*\}")
_SQRT = re.compile(r"\\sqrt\{([^{}]*)\}")
_FRAC = re.compile(r"\\[dt]?frac\{([^{}]*)\}\{([^{}]*)\}")
_KEEP_ARG = re.compile(
    r"\\(?:emph|textbf|textit|texttt|textsc|textrm|text|mathrm|mathbf|mathcal|mathbb|mathit|"
    r"boldsymbol|bm|operatorname|mbox|hat|tilde|bar|widetilde|widehat|overline|vec)\*?\{([^{}]*)\}"
)


def latex_to_text(s: str | None) -> str:
    """Simplify LaTeX in titles/abstracts to the plain Unicode a PDF would show ($\\ell_1$ -> ℓ1)."""
    if not s:
        return ""
    counter = iter(range(1, 10_000))

    def _numbered(m: re.Match[str]) -> str:  # \cite{a,b} -> [1, 2], as a numeric style prints it
        return "[" + ", ".join(str(next(counter)) for _ in m.group(1).split(",")) + "]"

    s = _CITE.sub(_numbered, s)
    s = _TEX_ACCENT.sub(lambda m: unicodedata.normalize("NFC", m.group(2) + _TEX_ACCENTS[m.group(1)]), s)
    s = _DROP_WITH_ARG.sub("", s)
    for _ in range(3):  # nested \emph{\textbf{..}}
        s = _KEEP_ARG.sub(r"\1", s)
        s = _SQRT.sub(lambda m: "√" + (m.group(1) if len(m.group(1)) <= 1 else f"({m.group(1)})"), s)
        s = _FRAC.sub(r"\1/\2", s)
    s = s.replace("---", "—").replace("--", "–").replace("``", "“").replace("''", "”")
    # known commands become their symbol; unknown ones (\em, \it, \left, \item, macros) vanish
    def _command(m: re.Match[str]) -> str:
        out = _LATEX_SYMBOLS.get(m.group(1), "")
        return out + " " if m.group(0)[-1].isspace() and re.fullmatch(r"[a-z.]+", out) else out

    s = re.sub(r"\\([A-Za-z]+|[%&_#${},;!])\s?", _command, s)
    s = s.replace("\\\\", " ").replace("\\", "")
    s = re.sub(r"[$^{}]", "", s)
    s = re.sub(r"(?<=[\w)ℓ])_(?=\w)", "", s)  # subscripts: x_1 -> x1
    s = s.replace("~", " ")
    s = re.sub(r"\s+", " ", s).strip()
    return re.sub(r"\s+([,.;:])", r"\1", s)


# --------------------------------------------------------------------------- affiliations

_MARKERS = set("*†‡§¶‖∗⇤♭⋆×♢♠♣♥♦◇◆○●△▲▽▼♮♯⋄∘•✝✠☆★")
_LIGATURES = {"ﬁ": "fi", "ﬂ": "fl", "ﬀ": "ff", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"}
_SPACING_ACCENTS = {"´": "\u0301", "¨": "\u0308", "ˆ": "\u0302", "˜": "\u0303", "¸": "\u0327"}


def _is_marker(ch: str) -> bool:
    return ch in _MARKERS or unicodedata.category(ch) == "So"


def _fix_accents(s: str) -> str:
    """Rejoin TeX spacing accents that PDF-to-text tools split off: 'Montr ´eal' -> 'Montréal'."""
    for spacing, combining in _SPACING_ACCENTS.items():
        if spacing not in s:
            continue
        s = re.sub(rf"(?<=[a-z]) ?{spacing}([a-z])", lambda m, c=combining: m.group(1) + c, s)
        s = re.sub(rf"{spacing}([A-Za-z])", lambda m, c=combining: m.group(1) + c, s)
    return unicodedata.normalize("NFC", s)


def clean_affiliation(raw: str, institution: str | None = None) -> str:
    """The affiliation text to print: no footnote marks, ligatures or split accents.

    A source string that glues two affiliations with a mark ('DeepMind‡University of
    Oxford') keeps the part that names the labelled institution, so the printed unit and its
    labels agree.
    """
    s = "".join(_LIGATURES.get(ch, ch) for ch in raw)
    s = _fix_accents(s)
    if not s.startswith("4Paradigm"):
        s = re.sub(r"^\d{1,2}(?=[A-Z])", "", s)  # '2Microsoft Research' -> 'Microsoft Research'
    parts = [p.strip(" ,;") for p in re.split(r"[" + re.escape("".join(_MARKERS)) + r"]+", s)]
    parts = [p for p in parts if p and not all(_is_marker(c) or c in " ,;" for c in p)]
    if not parts:
        return re.sub(r"\s+", " ", s).strip(" ,;")
    chosen = parts[0]
    if len(parts) > 1 and institution:
        key = institution.lower()
        first_word = next((w for w in re.findall(r"\w+", key) if len(w) > 3), key)
        for p in parts:
            if key in p.lower() or first_word in p.lower():
                chosen = p
                break
    chosen = "".join(c for c in chosen if not _is_marker(c))
    return re.sub(r"\s+", " ", chosen).strip(" ,;")


_DISPLAY = {"US": "USA", "GB": "UK", "KR": "South Korea", "CN": "China", "HK": "Hong Kong",
            "TW": "Taiwan", "MO": "Macau", "RU": "Russia", "IR": "Iran", "CZ": "Czech Republic",
            "AE": "UAE", "VN": "Vietnam"}
_ALIASES = {
    "US": {"usa", "u.s.a", "united states", "united states of america", "us", "u.s"},
    "GB": {"uk", "u.k", "united kingdom", "england", "scotland", "great britain"},
    "CN": {"china", "p.r. china", "pr china", "p. r. china", "p.r.china", "people's republic of china"},
    "KR": {"korea", "south korea", "republic of korea", "korea (south)"},
    "HK": {"hong kong", "hong kong sar", "hksar"},
    "TW": {"taiwan", "taiwan roc", "r.o.c"},
}


def country_display(code: str | None, source_name: str | None = None) -> str | None:
    """How a paper would print a country (USA, UK, China, Hong Kong ...)."""
    if not code:
        return None
    if code in _DISPLAY:
        return _DISPLAY[code]
    c = pycountry.countries.get(alpha_2=code)
    if c is None:
        return source_name
    return getattr(c, "common_name", None) or c.name


def country_aliases(code: str, source_name: str | None) -> set[str]:
    names = set(_ALIASES.get(code, ()))
    for n in (source_name, country_display(code)):
        if n:
            names.add(n.lower())
    c = pycountry.countries.get(alpha_2=code)
    if c is not None:
        names |= {c.name.lower(), getattr(c, "official_name", c.name).lower()}
    return names


def with_country_mode(text: str, code: str | None, source_name: str | None, mode: str) -> str:
    """Add or drop a trailing country ('keep' | 'add' | 'drop'); truth keeps the label anyway."""
    if not code or mode == "keep":
        return text
    aliases = country_aliases(code, source_name)
    parts = text.split(", ")
    last = parts[-1].strip().rstrip(".").lower()
    if mode == "drop":
        return ", ".join(parts[:-1]) if len(parts) > 1 and last in aliases else text
    if any(p.strip().rstrip(".").lower() in aliases for p in parts):
        return text
    return f"{text}, {country_display(code, source_name)}"


# --------------------------------------------------------------------------- emails

_FOLD = {"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ß": "ss", "æ": "ae",
         "Æ": "AE", "œ": "oe", "Œ": "OE", "ı": "i", "þ": "th", "ð": "d"}
_PARTICLES = {"van", "der", "den", "de", "la", "von", "di", "da", "del", "dos", "du", "le", "ten", "ter", "al"}
EMAIL_STYLES = ("flast", "first.last", "lastf", "first")


def ascii_fold(s: str) -> str:
    """Lower-case ASCII letters and digits only: 'Mikołaj Bińkowski' -> 'mikolajbinkowski'."""
    s = "".join(_FOLD.get(ch, ch) for ch in s)
    s = unicodedata.normalize("NFKD", s)
    return re.sub(r"[^a-z0-9]", "", s.lower())


def email_local(name: str, style: str) -> str:
    """A plausible mailbox for an author: the truth email is exactly this plus the domain."""
    tokens = re.sub(r"\([^)]*\)", " ", name).replace(".", ". ").split()
    tokens = [t for t in tokens if ascii_fold(t)] or ["x"]
    last_i = len(tokens) - 1
    while last_i > 1 and tokens[last_i - 1].lower() in _PARTICLES:
        last_i -= 1
    given, last = tokens[: max(last_i, 1)], "".join(ascii_fold(t) for t in tokens[last_i:])
    first = ascii_fold(given[0]) if last_i > 0 else last
    initials = "".join(ascii_fold(p)[:1] for p in given[0].split("-")) if last_i > 0 else ""
    if style == "first.last" and last_i > 0:
        return f"{first}.{last}"
    if style == "lastf":
        return f"{last}{initials}" or first
    if style == "first":
        return first
    return f"{initials}{last}" or first


def clean_domain(domain: str | None) -> str | None:
    """A printable email domain, or None for the source's garbled ones ('g o o g l e . c o m' is fixed)."""
    if not domain:
        return None
    d = re.sub(r"\s+", "", domain).lower().strip(".")
    return d if re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", d) else None


def email_groups(emails: list[tuple[str, str]]) -> list[str]:
    """Fold (local, domain) pairs into '{a,b}@domain' groups, in order of first appearance."""
    by_domain: dict[str, list[str]] = {}
    for local, domain in emails:
        by_domain.setdefault(domain, []).append(local)
    return [f"{{{','.join(ls)}}}@{d}" if len(ls) > 1 else f"{ls[0]}@{d}" for d, ls in by_domain.items()]


# --------------------------------------------------------------------------- venue lines

_NEURIPS_PLACES = {2016: "Barcelona, Spain", 2017: "Long Beach, CA, USA", 2018: "Montréal, Canada",
                   2019: "Vancouver, Canada", 2020: "Vancouver, Canada", 2021: "Sydney, Australia"}
_ICML = {2017: ("Sydney, Australia", 70), 2018: ("Stockholm, Sweden", 80),
         2019: ("Long Beach, California", 97), 2020: ("Vienna, Austria", 119),
         2021: ("Online", 139), 2022: ("Baltimore, Maryland, USA", 162),
         2023: ("Honolulu, Hawaii, USA", 202), 2024: ("Vienna, Austria", 235),
         2025: ("Vancouver, Canada", 267)}
_ACL_NAMES = {
    "naacl": "North American Chapter of the Association for Computational Linguistics: Human Language Technologies",
    "acl": "Annual Meeting of the Association for Computational Linguistics",
    "emnlp": "Conference on Empirical Methods in Natural Language Processing",
    "eacl": "European Chapter of the Association for Computational Linguistics",
}
_ACL_DATES = {("naacl", 2018): "New Orleans, Louisiana, June 1 - 6, 2018",
              ("naacl", 2019): "Minneapolis, Minnesota, June 2 - June 7, 2019",
              ("naacl", 2022): "July 10-15, 2022", ("naacl", 2024): "June 16-21, 2024",
              ("acl", 2018): "Melbourne, Australia, July 15 - 20, 2018",
              ("acl", 2019): "Florence, Italy, July 28 - August 2, 2019",
              ("emnlp", 2018): "Brussels, Belgium, October 31 - November 4, 2018"}


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def neurips_footer(year: int) -> str:
    """NeurIPS page-1 footer; names a host country that is never an affiliation."""
    name = "NeurIPS" if year >= 2018 else "NIPS"
    place = _NEURIPS_PLACES.get(year)
    tail = f", {place}." if place else "."
    return f"{ordinal(year - 1986)} Conference on Neural Information Processing Systems ({name} {year}){tail}"


def icml_footer(year: int) -> str:
    place, volume = _ICML.get(year, ("Vienna, Austria", 0))
    pmlr = f", PMLR {volume}" if volume else ""
    return (f"Proceedings of the {ordinal(year - 1983)} International Conference on Machine "
            f"Learning, {place}{pmlr}, {year}. Copyright {year} by the author(s).")


def acl_footer(venue: str, year: int, pages: tuple[int, int], volume: str | None = None) -> list[str]:
    """ACL Anthology page-1 footer, two centred lines."""
    v = venue if venue in _ACL_NAMES else "naacl"
    vol = f" (Volume {volume})" if volume else ""
    when = _ACL_DATES.get((v, year), str(year))
    return [f"Proceedings of the {year} Conference of the {_ACL_NAMES[v]}{vol}, pages {pages[0]}–{pages[1]}",
            f"{when} ©{year} Association for Computational Linguistics"]


def arxiv_stamp(venue: str, year: int, number: int, day: int, month: int, version: int) -> str:
    """The identifier arXiv prints rotated in the left margin of page 1."""
    months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
    cat = "cs.CL" if venue in _ACL_NAMES else "cs.LG"
    return f"arXiv:{year % 100:02d}{month:02d}.{number:05d}v{version}  [{cat}]  {day} {months[month - 1]} {year}"
