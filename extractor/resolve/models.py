"""The model-family taxonomy: find mentions of AI models in text and name their family.

``data/models/families.json`` lists each family (developer, developer country, kind) with
the names it is written under.  All names compile into one regular expression whose
alternatives are factored into a prefix trie (one pass over a 60k-character paper takes
a few milliseconds).  After the base name, a version/size suffix is absorbed
("LLaMA-2-7B", "Qwen2.5-VL-7B-Instruct", "GPT-3.5-turbo", "ViT-B/16").

Precision rules, because a false "Yi" or "SAM" would put a Chinese or US model into a
paper that never used it:

* ``names`` match case-insensitively; ``names_cs`` only with the exact case, so "opt
  for", "bloom filter", "glove", "clip the gradient", "Albert", "Bert" are not models.
* ``names_versioned`` (names from price lists that look like plain words: "Doubao",
  "Llemma"): any case, only with a version or size ("Doubao 1.5 Pro", "Llemma 7B").
* ``require_suffix`` (Yi, Phi, GLM, Falcon, MPT, Zephyr): the bare word is a surname, a
  letter or a statistics term; only "Yi-34B", "Phi-2", "GLM-4" count. With ``cited_bare``
  the bare name also counts when a citation follows it at once ("Falcon [17]", "MPT
  (MosaicML, 2023)"): a cited proper name is the model, not the word.
* ``name_like`` (Claude, Kimi, Sora): not when followed by a capitalised word or an
  initial ("Claude Shannon", "Claude E. Shannon") or preceded by a hyphen ("Jean-Claude").
* ``require_anywhere`` (SAM, MAE): the bare acronym counts only if the text also spells
  the model out ("Segment Anything", "masked autoencoder"); otherwise SAM is likely
  Sharpness-Aware Minimization and MAE mean absolute error.
* Lower-case "transformer" is a generic word; only "Transformer(s)" is the architecture.
  Likewise a name of plain words keeps its capitals: "Latent Diffusion Models" is the
  model, "latent diffusion models" a kind of model.
* A CamelCase name ("ColBERT", "XLM-RoBERTa", "TinyLlama") is also read in another case
  when the print keeps a capital inside the word ("ColBert", "XLM-Roberta") or carries a
  parameter count ("Tinyllama-1.1B"): "colbert", "Roberta" and "Minimax" stay words.
* Any exact-case name is also read in another case with a version or size joined by a
  hyphen, as API and hub identifiers print it ("gpt-4", "mistral-7b-instruct",
  "bert-base-uncased"); a bare "gpt", "clip" or "glm" stays a word.
* A hit inside a web or e-mail address ("atlas.nomic.ai", "@jina.ai") is not a mention,
  nor is a letter-digit name next to the rest of its series ("E4 E5 E6" in a figure).

Prints the matcher reads as the listed name: Unicode hyphens and non-breaking spaces
("GPT\u20114", see :func:`plain_punctuation`), a plural of a name ending in a capital
("BERTs"; it opens no gate), a footnote's superscript digit after the name ("GPT-4\u00b3") and
a small-caps size glued to it ("BERTLARGE").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from extractor.resolve.entries import MODELS_DIR
from extractor.schemas import ROLE_STRENGTH, ModelMention, Where

_SUFFIX_WORDS = (
    "chat|instruct|base|large|small|mini|tiny|medium|xl|xxl|turbo|pro|ultra|flash|nano|vl|"
    "vision|coder|code|math|omni|moe|lite|plus|max|preview|sonnet|opus|haiku|instant|it|hf|"
    "sft|distill|zero|huge|giant|audio|next|reasoner|guard|[bslhtgr]"
)
_SUFFIX_PART = (
    r"(?:[-_/]?[vV]?\d+(?:\.\d+)*(?:[a-z](?![a-z]))?(?:x\d+)?(?:[BbMmKkTt](?![a-z]))?"  # 2, 3.5, 4o, v5, 7B, 8x7B
    r"|\s\d(?:\.\d+)?(?![\d%.,]\d)(?![\w%])"  # "Llama 2", "Llama 3.1"
    r"|\s[vV]\d+(?:\.\d+)*(?![\w%])"  # "ConvNeXt V2", "Stable Diffusion v1.5"
    r"|\s\d+(?:\.\d+)?[BbMm](?![\w])"  # "Llama 2 70B"
    rf"|[-_/](?i:{_SUFFIX_WORDS})(?![A-Za-z])"  # -Instruct, -VL, -turbo, -B/16
    r"|(?:Math|Coder|Code|Chat|Instruct|Vision|Audio|Omni|MoE|VL|Guard)(?![a-z])"  # DeepSeekMath, QwenVL
    r"|(?:base|large|small|tiny|huge|BASE|LARGE)(?![a-z])"  # BERTbase, BERTLARGE: a subscript size that lost its space
    r"|\s(?:Chat|Instruct|Base|Large|Small|Mini|Turbo|Pro|Ultra|Flash|Nano|VL|Vision|Coder|"
    r"Sonnet|Opus|Haiku|Instant|Omni|XL|XXL|Code)(?![A-Za-z])"
    r"|\+(?![\w+]))"
)
_SUFFIX = f"(?:{_SUFFIX_PART}){{0,6}}"
# after the name: a plural of a name ending in a capital ("BERTs", "LLaMAs"; not a version or
# size, so it opens no gate: "GLMs" stays generalised linear models), then no word character
# other than a footnote's superscript digit ("GPT-4\u00b3")
_END = r"(?P<pl>(?<=[A-Z])s)?(?![^\W\u00b9\u00b2\u00b3\u2070\u2074-\u2079])"
# a version or size joined by a hyphen or underscore: "gpt-4", "gpt-3.5", "mistral-7b", "bloom-560m",
# "bert-base" (an API or hub identifier, printed in lower case); a bare number of three digits
# or more is a count, not a version ("alpaca-256-256": a data sample of 256 examples)
_JOINED_VERSION = re.compile(r"^[-_](?:[vV]?\d{1,2}(?![\d])|\d+(?:\.\d+)?(?:x\d+)?[BbMmKkTt](?![a-z])"
                             r"|(?i:base|large|small|tiny|huge|xl|xxl|instruct|chat)(?![a-z]))")
# a parameter count inside a suffix: "-7B", " 1.1B", "-8x7B", "-350M"
_SIZE_IN_SUFFIX = re.compile(r"\d(?:\.\d+)?(?:[Bb]|M)(?![a-z])")
# a CamelCase joint: "ColBERT", "XLM-RoBERTa", "TinyLlama"
_CAMEL = re.compile(r"[a-z][A-Z]")
# a print that is not a plain word: a capital after a letter, and some lower case ("ColBert", "XLM-Roberta")
_INNER_CAPITAL = re.compile(r"(?<=[A-Za-z])[A-Z]")
# a citation right after a name: "[17]", "[3, 5]", "(Penedo et al., 2023)", "(MosaicML, 2023)"
_CITED_RE = re.compile(r"\s?(?:\[\d+(?:\s?[,–-]\s?\d+)*\]|\([A-Z][^()\n]{0,60}?(?:19|20)\d\d[a-z]?\))")

# PDF text keeps typographic ligatures ("Stable Diﬀusion"); the matcher knows both forms.
_LIGATURES = (("ffi", "\ufb03"), ("ffl", "\ufb04"), ("ff", "\ufb00"), ("fi", "\ufb01"), ("fl", "\ufb02"))


_CAMEL_JOINT = re.compile(r"(?<=[a-z]{2})(?=[A-Z][A-Za-z]{2})")
_PLAIN_WORD = re.compile(r"[A-Z][a-z]+")


def _split_forms(name: str) -> list[str]:
    """"OpenLLaMA" -> "Open LLaMA", "Open-LLaMA" (one joint at a time, lower to upper case).

    Only where the part after the joint is a name of its own shape ("LLaMA", "GPT",
    "GeeX"): split before a plain capitalised word the name is a phrase ("Open Assistant",
    "Video Chat")."""
    if " " in name or "-" in name:
        return []
    out = []
    for m in _CAMEL_JOINT.finditer(name):
        rest = re.match(r"[A-Za-z]+", name[m.start():])
        if rest is not None and _PLAIN_WORD.fullmatch(rest.group(0)):
            continue
        out += [name[: m.start()] + " " + name[m.start():], name[: m.start()] + "-" + name[m.start():]]
    return out


# a name made of plain words ("Latent Diffusion Model", "Wide and Deep", "Segment Anything")
_PHRASE = re.compile(r"[A-Za-z][a-z]+(?: [A-Za-z][a-z]+)+")


def _keeps_capitals(printed: str, spelling: str) -> bool:
    """Does a print of a plain-word name capitalise the words its spelling capitalises?"""
    words = printed.split()
    return len(words) == len(spelling.split()) and all(
        w[:1].isupper() for w, s in zip(words, spelling.split(), strict=True) if s[:1].isupper())


def _ligature_form(name: str) -> str:
    for plain, lig in _LIGATURES:
        name = name.replace(plain, lig)
    return name


_UNLIGATURE = {ord(lig): plain for plain, lig in _LIGATURES}

# PDF text prints a name's hyphen as a Unicode hyphen ("GPT\u20114", "XLM\u2011RoBERTa") and its
# space as a non-breaking one; the names are listed with ASCII. The en dash stays: it joins
# ranges and pairs ("BERT\u2013RoBERTa"), not the parts of one name.
_TYPOGRAPHIC = (("\u2010", "-"), ("\u2011", "-"), ("\u2012", "-"), ("\u2212", "-"),
                ("\u00a0", " "), ("\u2007", " "), ("\u2009", " "), ("\u202f", " "))


def plain_punctuation(text: str) -> str:
    """``text`` with Unicode hyphens and spaces as ASCII ones, one character for one, so
    offsets into it are offsets into ``text``. Replaced one character kind at a time, and
    only the kinds present: a translation table over a whole paper costs milliseconds."""
    if text.isascii():
        return text
    for char, ascii_char in _TYPOGRAPHIC:
        if char in text:
            text = text.replace(char, ascii_char)
    return text


# "atlas.nomic.ai/map", "huggingface.co/…/bge-m3": a name inside a web or e-mail address
_DOMAIN_AFTER = re.compile(r"\.(?:[a-z][a-z0-9-]*\.)*(?:ai|com|org|net|io|co|cn|edu|dev|app|be|me|ly|gl|tv|uk|de|fr|jp)\b"
                           r"|\.[a-z]{2,6}/")
# "E0 … E5 … E10" in a figure: one symbol of an indexed series, not the model E5
_INDEXED = re.compile(r"[A-Z]\d{1,2}")


def _in_address(text: str, start: int, end: int) -> bool:
    """Is text[start:end] part of a host name or e-mail address ("atlas.nomic.ai", "@jina.ai")?"""
    before = text[start - 1 : start] if start else ""
    return before in (".", "@") or _DOMAIN_AFTER.match(text, end) is not None


def _is_indexed_symbol(text: str, start: int, end: int) -> bool:
    """A one-letter-plus-digits name ("E5", "T5") next to other members of its series
    ("E4", "E6" within a few lines) is a symbol in an equation or figure, not a model."""
    name = text[start:end]
    if _INDEXED.fullmatch(name) is None:
        return False
    window = text[max(0, start - 80) : end + 80]
    letter = name[0]
    return any(s != name for s in re.findall(rf"(?<![\w]){letter}\d{{1,2}}(?![\w])", window))


#: Kinds that the model-mention convention puts in its extended tier as a whole.
EXTENDED_KINDS = frozenset({"recsys", "word-embedding"})


@dataclass(frozen=True, slots=True)
class FamilyInfo:
    """A model family: who made it, where that organisation is, what kind of model."""

    family: str
    developer: str | None
    developer_country: str | None
    kind: str
    note: str | None = None
    source: str = "curated"  # curated or the registry it came from: registry families may lack a developer
    attention: bool | None = None  # False: a vision network without self-attention (a CNN or MLP backbone)

    @property
    def extended_tier(self) -> bool:
        """Is the family outside the core tier of the model-mention convention (see
        ``docs/ACCURACY.md``)? The core tier is pretrained models and the Transformer /
        foundation-model lineage; recommender models, static word embeddings and vision
        networks without self-attention (ResNet, VGG, EfficientNet, RegNet …) are "other
        named neural models", listed best-effort only."""
        return self.kind in EXTENDED_KINDS or (self.kind == "vision" and self.attention is False)


@dataclass(frozen=True, slots=True)
class ModelHit:
    """One mention: the name as written and its character span in the searched text."""

    name: str
    family: str
    developer: str | None
    developer_country: str | None
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class _Rule:
    info: FamilyInfo
    case_sensitive: bool
    require_suffix: bool = False
    name_like: bool = False
    require_anywhere: re.Pattern[str] | None = None
    veto_next: re.Pattern[str] | None = None
    cited_bare: bool = False


def _family_key(name: str) -> str:
    """A family name compared without case, spaces or punctuation ("Stable-Diffusion")."""
    return re.sub(r"[\W_]+", "", name.casefold())


def _trie_regex(words: list[str]) -> str:
    """A regex matching exactly ``words``, factored by common prefixes (longest first)."""
    trie: dict = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict) -> str:
        alts = [re.escape(ch) + build(sub) for ch, sub in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(trie)


class Taxonomy:
    """Model families and the compiled matcher; build with :func:`get_taxonomy`."""

    def __init__(self, path: Path | None = None) -> None:
        data = json.loads((path or MODELS_DIR / "families.json").read_text(encoding="utf-8"))
        self._families: dict[str, FamilyInfo] = {}
        self._by_key: dict[str, FamilyInfo] | None = None  # _family_key(family) -> info, built on first use
        self._insensitive_names: list[tuple[str, _Rule]] = []  # as written, for the split forms
        self._insensitive: dict[str, _Rule] = {}  # casefolded name -> rule
        self._sensitive: dict[str, _Rule] = {}  # exact name -> rule
        self._camel: dict[str, tuple[str, _Rule]] = {}  # casefolded exact-case name -> (its spelling, rule)
        self._phrases: dict[str, str] = {}  # casefolded name of plain words -> its spelling ("Latent Diffusion Model")
        for fam in data["families"]:
            info = FamilyInfo(fam["family"], fam.get("developer"), fam.get("developer_country"),
                              fam["kind"], fam.get("note"), fam.get("source", "curated"), fam.get("attention"))
            if info.family in self._families:
                raise ValueError(f"families.json: family {info.family!r} is listed twice")
            self._families[info.family] = info
            anywhere = re.compile(fam["require_anywhere"]) if fam.get("require_anywhere") else None
            # matched with .match(text, end): anchored at the end of the hit already
            veto = re.compile(fam["veto_next"].lstrip("^")) if fam.get("veto_next") else None
            # the first family listing a name keeps it: curated entries precede registry ones
            for name in fam.get("names", []):
                self._insensitive.setdefault(name.casefold(), _Rule(info, False, veto_next=veto))
                self._insensitive_names.append((name, self._insensitive[name.casefold()]))
                if _PHRASE.fullmatch(name) and any(c.isupper() for c in name):
                    self._phrases.setdefault(name.casefold(), name)
            for name in fam.get("names_versioned", []):  # any case, only with a version or size
                self._insensitive.setdefault(name.casefold(), _Rule(info, False, True, veto_next=veto))
            for name in fam.get("names_cs", []):
                self._sensitive.setdefault(name, _Rule(info, True, bool(fam.get("require_suffix")),
                                                       bool(fam.get("name_like")), anywhere, veto,
                                                       bool(fam.get("cited_bare"))))
        # "Grounding DINO" is also printed "Grounding-DINO", "Stable Diffusion" "Stable-Diffusion"
        for name, rule in list(self._insensitive.items()):
            if " " in name:
                self._insensitive.setdefault(name.replace(" ", "-"), rule)
        for name, rule in list(self._sensitive.items()):
            if " " in name:
                self._sensitive.setdefault(name.replace(" ", "-"), rule)
        # "OpenLLaMA" is also printed "Open LLaMA" / "Open-LLaMA": the split forms, exact case only
        for name, rule in [*self._sensitive.items(), *((n, r) for n, r in self._insensitive_names)]:
            for form in _split_forms(name):
                self._sensitive.setdefault(form, replace(rule, case_sensitive=True, require_suffix=False,
                                                         name_like=False, require_anywhere=None))
        for name, rule in list(self._sensitive.items()):
            self._sensitive.setdefault(_ligature_form(name), rule)
        # "ColBERT" printed "ColBert", "XLM-RoBERTa" printed "XLM-Roberta", "GPT" printed "gpt-4":
        # read in any case, checked in find()
        for name, rule in list(self._sensitive.items()):
            key = name.casefold()
            if key not in self._insensitive and name.isascii():
                self._camel.setdefault(key, (name, rule))
        words_i = set(self._insensitive) | set(self._camel)
        words_i |= {_ligature_form(n) for n in words_i}  # casefold undoes it
        trie_i = _trie_regex(sorted(words_i))
        trie_s = _trie_regex(sorted(self._sensitive))
        # an optional multilingual "m" before a capital: mBERT, mT5, mDPR, mE5, mContriever; tried
        # after the name as listed, so a family listed with its "m" ("mDenseOn") keeps it
        self._regex = re.compile(
            rf"(?<![\w])(?:m(?=[A-Z]))??(?:(?P<i>(?i:{trie_i}))|(?P<s>{trie_s}))(?P<suf>{_SUFFIX}){_END}")
        self._trie_s = trie_s
        self._exact: re.Pattern[str] | None = None  # the exact-case names alone, compiled on first use

    def _exact_regex(self) -> re.Pattern[str]:
        """The matcher of the exact-case names alone, for a position where the any-case
        names matched a print that is not read."""
        if self._exact is None:
            self._exact = re.compile(rf"(?:m(?=[A-Z]))??(?P<s>{self._trie_s})(?P<suf>{_SUFFIX}){_END}")
        return self._exact

    # ------------------------------------------------------------------ queries
    def families(self) -> list[FamilyInfo]:
        return list(self._families.values())

    def family(self, name: str) -> FamilyInfo | None:
        """Family of a model name ("LLaMA-2-7B" -> Llama) or of a family name in any case or
        punctuation ("gpt", "stable-diffusion")."""
        if name in self._families:
            return self._families[name]
        if self._by_key is None:
            keys: dict[str, FamilyInfo] = {}
            for fam, fam_info in self._families.items():
                keys.setdefault(_family_key(fam), fam_info)
            self._by_key = keys
        found = self._by_key.get(_family_key(name))
        if found is not None:
            return found
        hits = self.find(name.strip())
        return self._families[hits[0].family] if hits and hits[0].start == 0 else None

    def canonical(self, name: str) -> str:
        """The one spelling of a family every backend, the store and the reports use: the
        taxonomy's family name when the name is known ("gpt", "GPT-4o" -> "GPT"), else the
        name with its whitespace normalised (a family the taxonomy lacks stays itself)."""
        info = self.family(name)
        return info.family if info is not None else " ".join(name.split())

    def find(self, text: str) -> list[ModelHit]:
        """Every model mention in ``text`` in order (callers count and aggregate)."""
        text = plain_punctuation(text)
        hits: list[ModelHit] = []
        anywhere_cache: dict[str, bool] = {}
        pos = 0
        while (m := self._regex.search(text, pos)) is not None:
            pos = m.end()
            base_i, base_s, suffix = m.group("i"), m.group("s"), m.group("suf")
            rule = self._insensitive.get(base_i.casefold()) if base_i else self._sensitive.get(base_s)
            if rule is None and base_i:  # an exact-case name, maybe printed in another case
                rule = self._sensitive.get(base_i) or self._other_case_rule(text, m.start(), base_i, suffix)
            elif base_i and base_i.casefold() in self._phrases and \
                    not _keeps_capitals(base_i, self._phrases[base_i.casefold()]):
                rule = None  # "latent diffusion models" is a kind of model, "Latent Diffusion Models" the one
            if rule is None and base_i:
                # a name of another case that is not read ("XLM-v" of "XLM-v2"; "clip") may
                # begin with an exact-case name ("XLM"); else "Open Llama" is not OpenLLaMA,
                # but its "Llama" is still a name
                exact = self._exact_regex().match(text, m.start())
                if exact is None:
                    pos = m.start() + 1
                    continue
                m, base_i, base_s, suffix = exact, None, exact.group("s"), exact.group("suf")
                rule, pos = self._sensitive.get(base_s), exact.end()
            if rule is None:
                continue
            end = m.end()
            if rule.veto_next is not None and rule.veto_next.match(text, end):
                continue
            if _in_address(text, m.start(), end) or \
                    ((base_s or rule.case_sensitive) and _is_indexed_symbol(text, m.start(), end)):
                continue
            if (rule.case_sensitive or rule.require_suffix) and \
                    not self._gates_pass(rule, text, m.start(), end, suffix, anywhere_cache):
                continue
            name = text[m.start() : end]
            info = rule.info
            hits.append(ModelHit(name, info.family, info.developer, info.developer_country, m.start(), end))
        return hits

    def _other_case_rule(self, text: str, start: int, printed: str, suffix: str) -> _Rule | None:
        """The rule of an exact-case name read in another case, when the print is still a
        name: its own spelling; a CamelCase name with a capital inside the word and some lower
        case ("ColBert", "XLM-Roberta") or with a parameter count ("Tinyllama-1.1B"); any name
        with a version or size joined by a hyphen, as API and hub identifiers print it
        ("gpt-4", "mistral-7b-instruct", "bert-base-uncased"), unless the name is itself the
        tail of a hyphenated word ("grad-clip-1.0"). A plain word ("colbert", "Roberta",
        "Minimax", "clip") or all capitals is not the model."""
        found = self._camel.get(printed.casefold())  # casefold undoes ligatures
        if found is None:
            return None
        spelling, rule = found
        if printed.translate(_UNLIGATURE) == spelling:
            return rule
        if _CAMEL.search(spelling) and len(spelling) >= 4:
            if _INNER_CAPITAL.search(printed) and any(c.islower() for c in printed):
                return rule
            if _SIZE_IN_SUFFIX.search(suffix):
                return rule
        if _JOINED_VERSION.match(suffix) and text[start - 1 : start] not in ("-", "_"):
            return rule
        return None

    @staticmethod
    def _gates_pass(rule: _Rule, text: str, start: int, end: int, suffix: str,
                    anywhere_cache: dict[str, bool]) -> bool:
        if rule.require_suffix and (not suffix or (not any(c.isdigit() for c in suffix) and not suffix.strip("-_ "))):
            if not (rule.cited_bare and _CITED_RE.match(text, end)):
                return False
        if rule.name_like and not suffix:
            after = text[end : end + 4]
            if re.match(r"\s+(?:[A-Z]\.|[A-Z][a-z])", after) or (start > 0 and text[start - 1] == "-"):
                return False
        if rule.require_anywhere is not None and not any(c.isdigit() for c in suffix):
            key = rule.require_anywhere.pattern
            if key not in anywhere_cache:
                anywhere_cache[key] = rule.require_anywhere.search(text) is not None
            if not anywhere_cache[key]:
                return False
        return True


@lru_cache(maxsize=1)
def get_taxonomy() -> Taxonomy:
    """The shared taxonomy, compiled on first use."""
    return Taxonomy()


def canonical_family(name: str) -> str:
    """:meth:`Taxonomy.canonical` of the shared taxonomy."""
    return get_taxonomy().canonical(name)


_WHERE_ORDER = {Where.TITLE: 0, Where.ABSTRACT: 1, Where.BODY: 2}


def canonical_mentions(mentions: list[ModelMention], taxonomy: Taxonomy | None = None) -> list[ModelMention]:
    """Mentions with canonical family names, one per family.

    Backends name families their own way (an LLM answer may say "gpt" where the rules say
    "GPT"); a report counts families, so two spellings would be two rows. Mentions that
    fall into one family are merged: counts add up, the strongest role and the earliest
    zone win, the first mention keeps its name and evidence. A known family also takes the
    taxonomy's developer and developer country when the mention has none.
    """
    tax = taxonomy or get_taxonomy()
    merged: dict[str, ModelMention] = {}
    for m in mentions:
        family = tax.canonical(m.family)
        info = tax.family(family)
        update: dict = {"family": family}
        if info is not None and m.developer is None and m.developer_country is None:
            update |= {"developer": info.developer, "developer_country": info.developer_country}
        cur = merged.get(family)
        if cur is None:
            merged[family] = m.model_copy(update=update)
            continue
        cur.count += m.count
        if m.role is not None and (cur.role is None or ROLE_STRENGTH[m.role] > ROLE_STRENGTH[cur.role]):
            cur.role = m.role
        if m.where is not None and (cur.where is None or _WHERE_ORDER[m.where] < _WHERE_ORDER[cur.where]):
            cur.where = m.where
        if cur.evidence is None and m.evidence is not None:
            cur.evidence = m.evidence
    return sorted(merged.values(), key=lambda m: (-m.count, m.family))
