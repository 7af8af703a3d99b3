"""Plain Unicode strings made safe for pdflatex, and affiliation strings split into fields.

The LaTeX renderer (:mod:`devtools.latex_render`) prints the same strings the truth record
holds, so escaping must change how a string is typed, never what the page shows: special
characters become their commands, TeX ligatures (``--``, ``''``, ``<<``) are broken with an
empty group, and the math symbols that :func:`devtools.paperprep.latex_to_text` produces go
back into math mode. Publisher classes with structured affiliations (acmart, elsarticle)
want institution, city and country as separate fields; :func:`split_unit` cuts a printed
affiliation string into those fields without changing its text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from devtools import paperprep as pp

_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "#": r"\#", "_": r"\_", "$": r"\$",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}
#: Symbols that pdflatex's default input encoding does not set up, as the commands that print them.
_SYMBOLS = {
    "ℓ": r"$\ell$", "∞": r"$\infty$", "≤": r"$\leq$", "≥": r"$\geq$", "×": r"$\times$", "·": r"$\cdot$",
    "∈": r"$\in$", "≈": r"$\approx$", "±": r"$\pm$", "→": r"$\to$", "…": r"\ldots{}", "∑": r"$\sum$",
    "∏": r"$\prod$", "∂": r"$\partial$", "≠": r"$\neq$", "√": r"$\surd$", "ε": r"$\epsilon$",
    "α": r"$\alpha$", "β": r"$\beta$", "γ": r"$\gamma$", "δ": r"$\delta$", "θ": r"$\theta$",
    "λ": r"$\lambda$", "μ": r"$\mu$", "π": r"$\pi$", "ρ": r"$\rho$", "σ": r"$\sigma$", "τ": r"$\tau$",
    "φ": r"$\phi$", "ω": r"$\omega$", "η": r"$\eta$", "κ": r"$\kappa$", "ν": r"$\nu$", "ξ": r"$\xi$",
    "ζ": r"$\zeta$", "χ": r"$\chi$", "ψ": r"$\psi$", "Φ": r"$\Phi$", "Ω": r"$\Omega$", "Θ": r"$\Theta$",
    "Δ": r"$\Delta$", "Γ": r"$\Gamma$", "Λ": r"$\Lambda$", "Σ": r"$\Sigma$", "Π": r"$\Pi$", "Ψ": r"$\Psi$",
    "∇": r"$\nabla$", "≲": r"$\lesssim$", "≳": r"$\gtrsim$", "∧": r"$\wedge$", "∨": r"$\vee$",
    "∩": r"$\cap$", "∪": r"$\cup$", "⊂": r"$\subset$", "∀": r"$\forall$", "∃": r"$\exists$",
    "¬": r"$\neg$", "∝": r"$\propto$", "∘": r"$\circ$", "–": "--", "—": "---", "“": "``", "”": "''",
    "’": "'", "‘": "`", "ł": r"\l{}", "Ł": r"\L{}", "ø": r"\o{}", "Ø": r"\O{}", "ß": r"\ss{}",
    "æ": r"\ae{}", "Æ": r"\AE{}", "œ": r"\oe{}", "Œ": r"\OE{}", "ı": r"\i{}", "å": r"\aa{}",
    "Å": r"\AA{}", "đ": r"\dj{}", "Đ": r"\DJ{}", "\u00a0": "~",
}
_ACCENTS = {"\u0301": "'", "\u0300": "`", "\u0302": "^", "\u0308": '"', "\u0303": "~", "\u0327": "c",
            "\u030c": "v", "\u0306": "u", "\u030b": "H", "\u0304": "=", "\u0328": "k", "\u0307": "."}
#: Character pairs TeX fonts join into one glyph (dashes, quotes, guillemets, ¡ ¿).
_LIGATURE = re.compile(r"(?<=-)(?=-)|(?<=')(?=')|(?<=`)(?=`)|(?<=<)(?=<)|(?<=>)(?=>)|(?<=,)(?=,)|(?<=[!?])(?=`)")


class UnsupportedText(ValueError):
    """A character pdflatex cannot print with the classes' fonts (CJK, Cyrillic, ...)."""


def _accented(ch: str) -> str | None:
    """'é' -> \\'{e}: an accent command over an ASCII letter, or None when it is not one."""
    parts = unicodedata.normalize("NFD", ch)
    if len(parts) != 2 or not parts[0].isascii() or parts[1] not in _ACCENTS:
        return None
    base = r"\i" if parts[0] == "i" else parts[0]
    return f"\\{_ACCENTS[parts[1]]}{{{base}}}"


def tex(s: str | None, *, strict: bool = False, utf8: bool = False) -> str:
    """Plain Unicode text -> pdflatex source that prints exactly that text.

    Args:
        strict: raise :class:`UnsupportedText` for a character with no LaTeX spelling
            (names and affiliations, whose truth must match the page); otherwise such a
            character becomes ``?`` (body text, which no metric reads character by character).
        utf8: leave accented letters as UTF-8 for LaTeX's input encoding to map; needed in
            elsarticle's key=value affiliation fields, where accent commands break the parse.
    """
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", s or ""):
        if ch in _SPECIAL:
            out.append(_SPECIAL[ch])
        elif utf8 and not ch.isascii() and (_accented(ch) is not None or _SYMBOLS.get(ch, "").endswith("{}")):
            out.append(ch)
        elif ch in _SYMBOLS:
            out.append(_SYMBOLS[ch])
        elif ch.isascii():
            out.append(ch)
        elif (acc := _accented(ch)) is not None:
            out.append(acc)
        elif strict:
            raise UnsupportedText(f"no LaTeX spelling for {ch!r} (U+{ord(ch):04X}) in {s!r}")
        else:
            out.append("?")
    return _LIGATURE.sub("{}", "".join(out))


def printable(s: str | None) -> bool:
    """Whether :func:`tex` can spell every character of ``s`` (so the page shows ``s``)."""
    try:
        tex(s, strict=True)
    except UnsupportedText:
        return False
    return True


# --------------------------------------------------------------------------- affiliation fields

_ORG_WORDS = re.compile(
    r"\b(?:universit|institut|college|school|lab|laborator|department|dept|faculty|centre|center|"
    r"research|academy|inc|corp|ltd|llc|gmbh|company|hospital|foundation|group|polytechn|ecole|école)",
    re.IGNORECASE)


@dataclass
class UnitFields:
    """An affiliation string cut into the fields structured classes print separately."""

    department: str = ""
    institution: str = ""
    city: str = ""
    state: str = ""
    country: str = ""

    def printed(self) -> str:
        """The fields joined in print order, which is the original string."""
        return ", ".join(p for p in (self.department, self.institution, self.city, self.state, self.country) if p)


def split_unit(text: str, country_code: str | None, country_source: str | None, institution: str | None) -> UnitFields:
    """Cut 'Dept, University, City, ST, Country' into fields, keeping every character in order.

    The country is the last part when it names ``country_code``; a trailing two-letter
    upper-case part is a state; the part before that is the city unless it names an
    organisation or the string is two parts without a country ('Lab, Company'); the institution is the part naming ``institution`` (else the last one
    left), and anything before it is the department. Anything after the institution that is
    neither city nor state stays with the institution, so :meth:`UnitFields.printed` is
    always ``text``.
    """
    parts = [p.strip() for p in text.split(", ")]
    f = UnitFields()
    if country_code and len(parts) > 1 and parts[-1].rstrip(".").lower() in pp.country_aliases(country_code, country_source):
        f.country = parts.pop()
    if len(parts) > 2 and re.fullmatch(r"[A-Z]{2}", parts[-1]):
        f.state = parts.pop()
    if (f.country or len(parts) > 2) and len(parts) > 1 and not _ORG_WORDS.search(parts[-1]) and len(parts[-1]) <= 40:
        f.city = parts.pop()
    key = (institution or "").lower()
    pick = next((i for i, p in enumerate(parts) if key and key in p.lower()), len(parts) - 1)
    f.department = ", ".join(parts[:pick])
    f.institution = ", ".join(parts[pick:])
    if not f.institution:  # everything looked like a place: print it as the institution
        f.institution, f.city = f.city, ""
    return f
