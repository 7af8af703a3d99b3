"""Model names written another way: does the rules backend still find the right family?

    .venv/bin/python -m benchmarks.mention_variants                  # every family of the shipped table
    .venv/bin/python -m benchmarks.mention_variants --sample 200 --seed 3 --show 5
    .venv/bin/python -m benchmarks.mention_variants --json /tmp/after.json --compare /tmp/before.json

Papers print one model many ways: with a version, size or variant ("Llama-2-7B-chat",
"ViT-L/14@336px", "BERT_base"), in another case ("gpt-4" as an API id), with a Unicode
hyphen ("GPT‑4"), a possessive or plural, in brackets, before a citation marker, broken by
a line-end hyphen, with a PDF ligature or a footnote mark. For each family of the table
(or a seeded sample) the harness writes its name each of those ways into one sentence and
runs :func:`extractor.extract.rules.mentions.find_mentions` on it, the same call the rules
backend makes. A variant counts as found when that family is among the mentions; a
mention of any other family is a false positive of the variant.

Families the table gates (a name that needs a version or size, "Yi-34B"; one that needs the
model spelled out elsewhere, SAM, which a version number also opens) are left out of the
variants where the gate is meant to hold; a gate that a citation opens ("Falcon [17]")
keeps the cited variants.

Negative cases must yield no mention: software named after a model ("HF Transformers",
"llama.cpp", "Megatron-LM framework"), a gated or case-sensitive name printed as a plain
lower-case word ("we clip the gradients"), ordinary English words that are also model
names, citation keys, and names that occur only in the bibliography.

The variant strings are written here from the families' own names and public facts about
how model names are printed; nothing is read from an evaluation set. Prints a table per
transformation (recall, false positives); ``--json`` keeps the figures and ``--compare``
puts an earlier run's figures beside them.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from extractor.extract.rules.mentions import find_mentions
from extractor.resolve.entries import MODELS_DIR
from extractor.resolve.models import Taxonomy, get_taxonomy
from extractor.schemas import Document

SENTENCE = "In our experiments we compare against {} on the held-out split of the benchmark."


@dataclass(frozen=True)
class Family:
    """A family of the table and the one name the variants are written from."""

    family: str
    base: str
    gated: bool  # bare name not enough: require_suffix, names_versioned only, require_anywhere
    needs_digit: bool  # require_anywhere: only a version or size number opens the gate
    cited_opens: bool  # a citation right after the bare name opens the gate


@dataclass(frozen=True)
class Variant:
    """One way of writing a name: ``write(base)`` is the print (None: not applicable)."""

    key: str
    example: str
    write: Callable[[str], str | None]
    bare: bool = False  # no version or size: a gated family is not expected to be found
    cited: bool = False  # a citation follows the bare name at once
    template: str = SENTENCE


def _ends_letter(b: str) -> bool:
    return b[-1:].isalpha()


def _hub_id(b: str) -> str:
    """The name as an API or hub identifier prints it: lower case, spaces as hyphens."""
    return b.lower().replace(" ", "-")


def _line_break(b: str) -> str | None:
    """The name broken by a typesetter's hyphen between two letters near its middle."""
    if len(b) < 4 or " " in b:
        return None
    for k in sorted(range(2, len(b) - 1), key=lambda k: abs(k - len(b) // 2)):
        if b[k - 1].isalpha() and b[k].isalpha() and b[k - 1] != "-" and b[k] != "-":
            return f"{b[:k]}-\n{b[k:]}"
    return None


def _compound_break(b: str) -> str | None:
    """A hyphenated name broken after its own hyphen ("XLM-\\nRoBERTa")."""
    i = b.find("-")
    return f"{b[: i + 1]}\n{b[i + 1:]}" if 0 < i < len(b) - 1 else None


_LIGATURES = (("ffi", "\ufb03"), ("ffl", "\ufb04"), ("ff", "\ufb00"), ("fi", "\ufb01"), ("fl", "\ufb02"))


def _ligature(b: str) -> str | None:
    out = b
    for plain, lig in _LIGATURES:
        out = out.replace(plain, lig)
    return out if out != b else None


VARIANTS: list[Variant] = [
    Variant("as-listed", "BERT", lambda b: b, bare=True),
    Variant("version -N", "Phi-2", lambda b: f"{b}-2"),
    Variant("version spaced", "Llama 2", lambda b: f"{b} 2"),
    Variant("version glued", "Llama2", lambda b: f"{b}2" if _ends_letter(b) else None),
    Variant("version.minor", "Qwen2.5", lambda b: f"{b}2.5" if _ends_letter(b) else f"{b}-2.5"),
    Variant("vN", "ConvNeXt-v2", lambda b: f"{b}-v2"),
    Variant("size -7B", "Yi-34B", lambda b: f"{b}-7B"),
    Variant("size (7B)", "LLaMA 2 (7B)", lambda b: f"{b} 2 (7B)"),
    Variant("size lower -13b", "Llama2-13b", lambda b: f"{b}2-13b" if _ends_letter(b) else f"{b}-13b"),
    Variant("version-size-chat", "Llama-2-7B-chat", lambda b: f"{b}-2-7B-chat"),
    Variant("version-VL-size-Instruct", "Qwen2.5-VL-7B-Instruct",
            lambda b: f"{b}2.5-VL-7B-Instruct" if _ends_letter(b) else f"{b}-2.5-VL-7B-Instruct"),
    Variant("mixture 8x7B", "Mixtral-8x7B", lambda b: f"{b}-8x7B"),
    Variant("patch -B/16", "ViT-B/16", lambda b: f"{b}-B/16"),
    Variant("patch@res", "ViT-L/14@336px", lambda b: f"{b}-L/14@336px"),
    Variant("_base", "BERT_base", lambda b: f"{b}_base"),
    Variant("-Large", "BERT-Large", lambda b: f"{b}-Large"),
    Variant("-large", "RoBERTa-large", lambda b: f"{b}-large"),
    Variant("-XXL", "T5-XXL", lambda b: f"{b}-XXL"),
    Variant("size glued small caps", "BERTLARGE", lambda b: f"{b}LARGE" if b[-1:].isupper() else None),
    Variant("version-mini", "GPT-4o-mini", lambda b: f"{b}-4o-mini"),
    Variant("spaced version-turbo", "GPT 3.5-turbo", lambda b: f"{b} 3.5-turbo"),
    Variant("non-breaking hyphen U+2011", "GPT\u20114", lambda b: f"{b}\u20114"),
    Variant("hyphen U+2010", "Phi\u20102", lambda b: f"{b}\u20102"),
    Variant("minus sign U+2212", "GPT\u22124", lambda b: f"{b}\u22124"),
    Variant("non-breaking space", "Llama\u00a02", lambda b: f"{b}\u00a02"),
    Variant("Unicode hyphen inside name", "XLM\u2011RoBERTa",
            lambda b: b.replace("-", "\u2011") if "-" in b else None, bare=True),
    Variant("lower-case id with version", "gpt-4", lambda b: f"{_hub_id(b)}-4" if b.lower() != b else None),
    Variant("lower-case id with size", "mistral-7b-instruct",
            lambda b: f"{_hub_id(b)}-7b-instruct" if b.lower() != b else None),
    Variant("lower-case hub id", "bert-base-uncased",
            lambda b: f"{_hub_id(b)}-base-uncased" if b.lower() != b else None),
    Variant("upper case", "QWEN", lambda b: b.upper() if b.upper() != b else None, bare=True),
    Variant("possessive 's", "BERT's", lambda b: f"{b}'s", bare=True),
    Variant("possessive ’s", "BERT’s", lambda b: f"{b}\u2019s", bare=True),
    Variant("plural of an acronym", "BERTs", lambda b: f"{b}s" if b[-1:].isupper() else None, bare=True),
    Variant("in parentheses", "(BERT)", lambda b: f"({b})", bare=True),
    Variant("in brackets", "[BERT]", lambda b: f"[{b}]", bare=True),
    Variant("e.g. list", "(e.g., BERT, ...)", lambda b: f"(e.g., {b}, among others)", bare=True),
    Variant("sentence end", "BERT.", lambda b: f"{b}", bare=True, template="Our baseline is {}. It is strong."),
    Variant("citation [12]", "BERT [12]", lambda b: f"{b} [12]", bare=True, cited=True),
    Variant("citation glued [12]", "BERT[12]", lambda b: f"{b}[12]", bare=True, cited=True),
    Variant("citation [3, 5]", "BERT [3, 5]", lambda b: f"{b} [3, 5]", bare=True, cited=True),
    Variant("citation (Author et al., year)", "LLaMA (Touvron et al., 2023)",
            lambda b: f"{b} (Touvron et al., 2023)", bare=True, cited=True),
    Variant("versioned + citation", "Llama 2 (Touvron et al., 2023)", lambda b: f"{b}-2 (Touvron et al., 2023)"),
    Variant("line-end hyphenation", "Lla-\\nMA", _line_break, bare=True),
    Variant("compound line break", "XLM-\\nRoBERTa", _compound_break, bare=True),
    Variant("versioned line break", "GPT-\\n4", lambda b: f"{b}-\n4"),
    Variant("ligature", "Stable Diﬀusion", _ligature, bare=True),
    Variant("footnote superscript", "GPT-4³", lambda b: f"{b}-4\u00b3"),
    Variant("bare footnote superscript", "BERT¹", lambda b: f"{b}\u00b9", bare=True),
    Variant("footnote mark", "BERT†", lambda b: f"{b}\u2020", bare=True),
    Variant("asterisk", "BERT*", lambda b: f"{b}*", bare=True),
]

# Software, data and metrics named after models, and words: none of these is a model mention.
SOFTWARE = [
    "HF Transformers", "Hugging Face Transformers", "the Transformers library", "the transformers package",
    "vLLM", "the Megatron-LM framework", "PyTorch", "TensorFlow", "JAX", "DeepSpeed", "FlashAttention",
    "llama.cpp", "whisper.cpp", "LLaMA-Factory", "LlamaIndex", "Ollama", "LangChain",
    "sentence-transformers", "the Sentence Transformers library", "BERTScore", "the CLIP score",
    "the Alpaca dataset", "the timm library", "OpenCLIP's codebase", "the Stable Diffusion WebUI repository",
]
# English words that are also model names (public knowledge): in lower case, words
WORDS = [
    "bloom", "falcon", "phi", "glove", "opt", "clip", "palm", "gemini", "claude", "alpaca", "vicuna", "orca",
    "mistral", "jamba", "dino", "sam", "mae", "yi", "albert", "bert", "electra", "sora", "pythia", "chinchilla",
    "gopher", "flamingo", "sparrow", "dolly", "koala", "guanaco", "bard", "galactica", "minerva", "grok",
    "aria", "command", "ernie", "elmo", "pegasus", "marian", "whisper", "imagen", "muse", "zephyr", "granite",
    "arctic", "nova", "titan", "solar", "aquila", "chameleon", "phoenix", "baize", "platypus", "llemma",
    "reformer", "performer", "mamba", "hyena", "retro", "atlas", "realm", "unicorn",
]
WORD_SENTENCES = [
    "We {} the results of the first stage before training.",
    "As shown, the {} of the model is stable across seeds.",
]


def load_families(path: Path | None, sample: int | None, seed: int) -> list[Family]:
    """The families of the table with the name each is written from: the listed name that
    spells the family, else its first case-sensitive name, else its first name."""
    data = json.loads((path or MODELS_DIR / "families.json").read_text(encoding="utf-8"))
    out = []
    for fam in data["families"]:
        names = [*fam.get("names_cs", []), *fam.get("names", []), *fam.get("names_versioned", [])]
        if not names:
            continue
        key = "".join(c for c in fam["family"].casefold() if c.isalnum())
        base = next((n for n in names if "".join(c for c in n.casefold() if c.isalnum()) == key), names[0])
        only_versioned = not fam.get("names") and not fam.get("names_cs")
        gated = bool(fam.get("require_suffix") or fam.get("require_anywhere") or only_versioned
                     or base in fam.get("names_versioned", []))
        out.append(Family(fam["family"], base, gated, bool(fam.get("require_anywhere")),
                          bool(fam.get("cited_bare")) and not only_versioned))
    if sample is not None and sample < len(out):
        out = random.Random(seed).sample(out, sample)
    return out


def mentions_of(text: str, tax: Taxonomy) -> list[str]:
    """Families the rules backend reports for a paper whose body is ``text``."""
    doc = Document(sha256="0" * 64, source_file="variant.pdf", full_text=text)
    return [m.family for m in find_mentions(doc, tax)]


def _bibliography_only(name: str) -> str:
    filler = "We study a method for ranking documents and report results on three benchmarks. " * 8
    return f"{filler}\nReferences\n[1] A. Author. {name}: a model for everything. arXiv, 2023.\n"


def run(families: list[Family], tax: Taxonomy, show: int) -> dict:
    """Recall and false positives per variant, false positives per negative case."""
    rows: dict[str, dict] = {}
    for v in VARIANTS:
        n = found = fp = 0
        misses: list[str] = []
        for f in families:
            if f.gated and v.bare and not (v.cited and f.cited_opens):
                continue
            printed = v.write(f.base)
            if printed is None or (f.needs_digit and not any(c.isdigit() for c in printed.replace(f.base, ""))):
                continue
            got = mentions_of(v.template.format(printed), tax)
            n += 1
            found += f.family in got
            fp += sum(1 for g in got if g != f.family)
            if f.family not in got and len(misses) < show:
                misses.append(f"{printed!r} ({f.family}) -> {got}")
        rows[v.key] = {"example": v.example, "n": n, "found": found, "fp": fp, "misses": misses}
    negatives: dict[str, dict] = {}

    def negative(key: str, texts: list[tuple[str, str | None]]) -> None:
        """``texts``: (text, family that must not be found; None: no mention at all)."""
        fp, shown = 0, []
        for text, fam in texts:
            got = mentions_of(text, tax)
            bad = [g for g in got if fam is None or g == fam]
            fp += bool(bad)
            if bad and len(shown) < show:
                shown.append(f"{text[-90:]!r} -> {bad}")
        negatives[key] = {"n": len(texts), "fp": fp, "examples": shown}

    negative("software, data sets, metrics named after a model",
             [(f"We implement our method with {s} on eight GPUs.", None) for s in SOFTWARE])
    gated_words = [f for f in families if f.base.isalpha() and f.base.lower() != f.base and
                   tax_name_is_case_sensitive(tax, f.base)]
    negative("case-sensitive name as a lower-case word",
             [(s.format(f.base.lower()), f.family) for f in gated_words for s in WORD_SENTENCES])
    negative("English words that are model names (lower case)",
             [(s.format(w), None) for w in WORDS for s in WORD_SENTENCES])
    negative("gated name bare (no version, no citation)",
             [(SENTENCE.format(f.base), f.family) for f in families if f.gated])
    negative("plural of a gated name (\"GLMs\")",
             [(SENTENCE.format(f"{f.base}s"), f.family) for f in families if f.gated and f.base[-1:].isupper()])
    negative("gated name as the tail of a hyphenated word (\"grad-clip-1.0\")",
             [(SENTENCE.format(f"grad-{f.base.lower()}-1.0"), f.family) for f in gated_words])
    negative("citation key (Name, year)",
             [(f"as reported before ({f.base}, 2023), the method works.", f.family) for f in families])
    negative("name only in the bibliography",
             [(_bibliography_only(f.base), f.family) for f in families])
    return {"families": len(families), "variants": rows, "negatives": negatives}


def tax_name_is_case_sensitive(tax: Taxonomy, name: str) -> bool:
    """Is the name matched only in its own case (its lower-case print finds nothing bare)?"""
    return not any(h.start == 0 for h in tax.find(name.lower())) and any(h.start == 0 for h in tax.find(name))


def _pct(a: int, b: int) -> str:
    return f"{a / b:.3f}" if b else "-"


def render(result: dict, before: dict | None) -> str:
    """Markdown tables: per variant recall and false positives, then the negative cases."""
    lines = [f"families: {result['families']}", "",
             "| variant | example | n | recall | false positives |" if before is None else
             "| variant | example | n | recall before → after | false positives before → after |",
             "| --- | --- | --- | --- | --- |"]
    for key, r in result["variants"].items():
        ex = r["example"].replace("\n", "\\n").replace("|", "\\|")
        rec, fp = _pct(r["found"], r["n"]), str(r["fp"])
        if before is not None and key in before["variants"]:
            b = before["variants"][key]
            rec, fp = f"{_pct(b['found'], b['n'])} → {rec}", f"{b['fp']} → {fp}"
        lines.append(f"| {key} | `{ex}` | {r['n']} | {rec} | {fp} |")
    lines += ["", "| negative case | n | texts with a false mention |" if before is None else
              "| negative case | n | texts with a false mention before → after |", "| --- | --- | --- |"]
    for key, r in result["negatives"].items():
        fp = str(r["fp"])
        if before is not None and key in before["negatives"]:
            fp = f"{before['negatives'][key]['fp']} → {fp}"
        lines.append(f"| {key} | {r['n']} | {fp} |")
    tot_n = sum(r["n"] for r in result["variants"].values())
    tot_f = sum(r["found"] for r in result["variants"].values())
    tot_fp = sum(r["fp"] for r in result["variants"].values())
    lines += ["", f"all variants: recall {_pct(tot_f, tot_n)} ({tot_f}/{tot_n}), false positives {tot_fp}; "
              f"negative texts with a false mention: {sum(r['fp'] for r in result['negatives'].values())}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip(),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--families", type=Path, help="a families.json (default: the shipped table)")
    ap.add_argument("--sample", type=int, help="a seeded sample of this many families (default: all)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the sample")
    ap.add_argument("--show", type=int, default=0, help="print up to this many misses per variant")
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--compare", type=Path, help="an earlier --json output to show beside these figures")
    args = ap.parse_args(argv)
    tax = Taxonomy(args.families) if args.families else get_taxonomy()
    result = run(load_families(args.families, args.sample, args.seed), tax, args.show)
    before = json.loads(args.compare.read_text(encoding="utf-8")) if args.compare else None
    print(render(result, before))
    if args.show:
        for key, r in [*result["variants"].items(), *result["negatives"].items()]:
            for line in r.get("misses", r.get("examples", [])):
                print(f"  {key}: {line}", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
