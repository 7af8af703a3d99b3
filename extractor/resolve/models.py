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
* ``require_suffix`` (Yi, Phi, GLM, Falcon, MPT, Zephyr): the bare word is a surname, a
  letter or a statistics term; only "Yi-34B", "Phi-2", "GLM-4" count.
* ``name_like`` (Claude, Kimi, Sora): not when followed by a capitalised word or an
  initial ("Claude Shannon", "Claude E. Shannon") or preceded by a hyphen ("Jean-Claude").
* ``require_anywhere`` (SAM, MAE): the bare acronym counts only if the text also spells
  the model out ("Segment Anything", "masked autoencoder"); otherwise SAM is likely
  Sharpness-Aware Minimization and MAE mean absolute error.
* Lower-case "transformer" is a generic word; only "Transformer(s)" is the architecture.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from extractor.resolve.entries import MODELS_DIR

_SUFFIX_WORDS = (
    "chat|instruct|base|large|small|mini|tiny|medium|xl|xxl|turbo|pro|ultra|flash|nano|vl|"
    "vision|coder|code|math|omni|moe|lite|plus|max|preview|sonnet|opus|haiku|instant|it|hf|"
    "sft|distill|zero|huge|giant|audio|next|reasoner|guard|[bslhtgr]"
)
_SUFFIX_PART = (
    r"(?:[-_/]?[vV]?\d+(?:\.\d+)*(?:[a-z](?![a-z]))?(?:x\d+)?(?:[BbMmKkTt](?![a-z]))?"  # 2, 3.5, 4o, v5, 7B, 8x7B
    r"|\s\d(?:\.\d+)?(?![\d%.,]\d)(?![\w%])"  # "Llama 2", "Llama 3.1"
    r"|\s\d+(?:\.\d+)?[BbMm](?![\w])"  # "Llama 2 70B"
    rf"|[-_/](?i:{_SUFFIX_WORDS})(?![A-Za-z])"  # -Instruct, -VL, -turbo, -B/16
    r"|\s(?:Chat|Instruct|Base|Large|Small|Mini|Turbo|Pro|Ultra|Flash|Nano|VL|Vision|Coder|"
    r"Sonnet|Opus|Haiku|Instant|Omni|XL|XXL)(?![A-Za-z])"
    r"|\+(?![\w+]))"
)
_SUFFIX = f"(?:{_SUFFIX_PART}){{0,6}}"


@dataclass(frozen=True, slots=True)
class FamilyInfo:
    """A model family: who made it, where that organisation is, what kind of model."""

    family: str
    developer: str | None
    developer_country: str | None
    kind: str
    note: str | None = None


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
        self._insensitive: dict[str, _Rule] = {}  # casefolded name -> rule
        self._sensitive: dict[str, _Rule] = {}  # exact name -> rule
        for fam in data["families"]:
            info = FamilyInfo(fam["family"], fam.get("developer"), fam.get("developer_country"),
                              fam["kind"], fam.get("note"))
            if info.family in self._families:
                raise ValueError(f"families.json: family {info.family!r} is listed twice")
            self._families[info.family] = info
            anywhere = re.compile(fam["require_anywhere"]) if fam.get("require_anywhere") else None
            # matched with .match(text, end): anchored at the end of the hit already
            veto = re.compile(fam["veto_next"].lstrip("^")) if fam.get("veto_next") else None
            for name in fam.get("names", []):
                self._insensitive[name.casefold()] = _Rule(info, False, veto_next=veto)
            for name in fam.get("names_cs", []):
                self._sensitive[name] = _Rule(info, True, bool(fam.get("require_suffix")),
                                              bool(fam.get("name_like")), anywhere, veto)
        trie_i = _trie_regex(sorted(self._insensitive))
        trie_s = _trie_regex(sorted(self._sensitive))
        self._regex = re.compile(
            rf"(?<![\w])(?:(?P<i>(?i:{trie_i}))|(?P<s>{trie_s}))(?P<suf>{_SUFFIX})(?![\w])")

    # ------------------------------------------------------------------ queries
    def families(self) -> list[FamilyInfo]:
        return list(self._families.values())

    def family(self, name: str) -> FamilyInfo | None:
        """Family of a model name ("LLaMA-2-7B" -> Llama) or of a family name itself."""
        if name in self._families:
            return self._families[name]
        for fam, info in self._families.items():
            if fam.casefold() == name.strip().casefold():
                return info
        hits = self.find(name.strip())
        return self._families[hits[0].family] if hits and hits[0].start == 0 else None

    def find(self, text: str) -> list[ModelHit]:
        """Every model mention in ``text`` in order (callers count and aggregate)."""
        hits: list[ModelHit] = []
        anywhere_cache: dict[str, bool] = {}
        for m in self._regex.finditer(text):
            base_i, base_s, suffix = m.group("i"), m.group("s"), m.group("suf")
            rule = self._insensitive.get(base_i.casefold()) if base_i else self._sensitive.get(base_s)
            if rule is None:
                continue
            end = m.end()
            if rule.veto_next is not None and rule.veto_next.match(text, end):
                continue
            if rule.case_sensitive and not self._gates_pass(rule, text, m.start(), end, suffix, anywhere_cache):
                continue
            name = text[m.start() : end]
            info = rule.info
            hits.append(ModelHit(name, info.family, info.developer, info.developer_country, m.start(), end))
        return hits

    @staticmethod
    def _gates_pass(rule: _Rule, text: str, start: int, end: int, suffix: str,
                    anywhere_cache: dict[str, bool]) -> bool:
        if rule.require_suffix and not any(c.isdigit() for c in suffix) and not suffix.strip("-_ "):
            return False
        if rule.require_suffix and not suffix:
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
