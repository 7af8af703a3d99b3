"""Model names written another way: each class of print the rules read, and its near misses.

Self-contained: a small families table written by the test (never the shipped one) and
inline strings. ``benchmarks/mention_variants.py`` measures the same classes over the
shipped table.
"""

from __future__ import annotations

import json

import pytest

from extractor.extract.rules.mentions import find_mentions
from extractor.resolve.models import Taxonomy, plain_punctuation
from extractor.schemas import Document

FAMILIES = [
    {"family": "Llama", "kind": "llm", "names": ["LLaMA", "Llama"]},
    {"family": "GPT", "kind": "llm", "names_cs": ["GPT"]},
    {"family": "BERT", "kind": "encoder", "names_cs": ["BERT"]},
    {"family": "RoBERTa", "kind": "encoder", "names_cs": ["RoBERTa", "XLM-RoBERTa"]},
    {"family": "XLM", "kind": "encoder", "names_cs": ["XLM"]},
    {"family": "XLM-V", "kind": "encoder", "names_cs": ["XLM-V"]},
    {"family": "Mistral", "kind": "llm", "names_cs": ["Mistral"]},
    {"family": "CLIP", "kind": "multimodal", "names": ["OpenCLIP"], "names_cs": ["CLIP"]},
    {"family": "Transformer", "kind": "architecture", "names_cs": ["Transformer", "Transformers"]},
    {"family": "Stable Diffusion", "kind": "diffusion", "names": ["Stable Diffusion"]},
    {"family": "Yi", "kind": "llm", "names_cs": ["Yi"], "require_suffix": True},
    {"family": "GLM", "kind": "llm", "names_cs": ["GLM"], "require_suffix": True},
    {"family": "Cobalt", "kind": "retriever", "names": ["Cobalt"]},
    {"family": "mCobalt", "kind": "retriever", "names": ["mCobalt"]},
    {"family": "Nyströmformer", "kind": "encoder", "names": ["Nyströmformer"]},
    {"family": "T2I-Adapter", "kind": "diffusion", "names": ["t2i-adapter"]},
    {"family": "E5", "kind": "retriever", "names_cs": ["E5"]},
]


@pytest.fixture()
def tax(tmp_path):
    rows = [{"developer": None, "developer_country": None, **f} for f in FAMILIES]
    path = tmp_path / "families.json"
    path.write_text(json.dumps({"families": rows}), encoding="utf-8")
    return Taxonomy(path)


def found(tax, text: str) -> list[tuple[str, str]]:
    return [(h.name, h.family) for h in tax.find(text)]


def mentioned(tax, text: str) -> list[str]:
    doc = Document(sha256="0" * 64, source_file="x.pdf", full_text=text)
    return sorted(m.family for m in find_mentions(doc, tax))


# ---------------------------------------------------------------- Unicode hyphens and spaces
@pytest.mark.parametrize("text,hits", [
    ("GPT\u20114 answers", [("GPT-4", "GPT")]),
    ("Yi\u201034B and Yi\u221234B", [("Yi-34B", "Yi"), ("Yi-34B", "Yi")]),
    ("the XLM\u2011RoBERTa encoder", [("XLM-RoBERTa", "RoBERTa")]),
    ("Stable\u00a0Diffusion v1.5", [("Stable Diffusion v1.5", "Stable Diffusion")]),
], ids=["non-breaking-hyphen", "hyphen-and-minus-open-a-gate", "hyphen-inside-a-name", "non-breaking-space"])
def test_unicode_hyphens_and_spaces_read_as_ascii(tax, text, hits):
    assert found(tax, text) == hits


def test_an_en_dash_still_separates_two_names(tax):
    assert found(tax, "BERT\u2013RoBERTa comparison") == [("BERT", "BERT"), ("RoBERTa", "RoBERTa")]


def test_plain_punctuation_keeps_every_offset(tax):
    text = "We use GPT\u20114 and Yi\u201134B\u00a0here."
    plain = plain_punctuation(text)
    assert len(plain) == len(text) and plain == "We use GPT-4 and Yi-34B here."
    doc = Document(sha256="0" * 64, source_file="x.pdf", full_text=text)
    spans = {m.family: (m.evidence.start, m.evidence.end) for m in find_mentions(doc, tax)}
    assert text[slice(*spans["Yi"])] == "Yi\u201134B"


# ---------------------------------------------------------------- API and hub identifiers
@pytest.mark.parametrize("text,hits", [
    ("we query gpt-4 and Gpt-3.5", [("gpt-4", "GPT"), ("Gpt-3.5", "GPT")]),
    ("mistral-7b-instruct", [("mistral-7b-instruct", "Mistral")]),
    ("bert-base-uncased", [("bert-base", "BERT")]),
    ("roberta-large and yi-34b", [("roberta-large", "RoBERTa"), ("yi-34b", "Yi")]),
    ("mistral-560m and gpt-3.5-turbo-16k", [("mistral-560m", "Mistral"), ("gpt-3.5-turbo-16k", "GPT")]),
], ids=["lower-version", "lower-size", "hub-id", "camel-and-gated", "size-unit-and-context-length"])
def test_an_exact_case_name_counts_in_lower_case_with_a_joined_version(tax, text, hits):
    assert found(tax, text) == hits


@pytest.mark.parametrize("text", [
    "we clip the gradients", "the mistral wind", "gpt is short", "grad-clip-1.0 in the config",
    "bert base", "yi-ching", "glm fits", "roberta v2", "calibrated on mistral-256-256 samples",
])
def test_lower_case_words_without_a_joined_version_are_not_models(tax, text):
    assert found(tax, text) == []


def test_an_exact_case_name_inside_an_unread_print_is_still_read(tax):
    """"XLM-v2" is not XLM-V in another case, but its "XLM" is XLM with a version."""
    assert found(tax, "XLM-v2 and XLM-V") == [("XLM-v2", "XLM"), ("XLM-V", "XLM-V")]


def test_a_lower_case_name_in_an_indexed_series_is_still_a_symbol(tax):
    assert found(tax, "e5 e4 e6 in the figure") == []
    assert found(tax, "E4 E5 E6") == []


# ---------------------------------------------------------------- plurals, footnotes, small caps
def test_plural_of_a_name_ending_in_a_capital(tax):
    assert found(tax, "two BERTs and LLaMAs") == [("BERTs", "BERT"), ("LLaMAs", "Llama")]


def test_a_plural_opens_no_gate(tax):
    """"GLMs" are generalised linear models: the plural is not a version."""
    assert found(tax, "we fit GLMs and Yis") == []
    assert found(tax, "GLM-4s") == [("GLM-4s", "GLM")]


def test_lower_case_plural_is_a_word(tax):
    assert found(tax, "two llamas grazing") == []


@pytest.mark.parametrize("text,name", [("GPT-4\u00b3 was used", "GPT-4"), ("BERT\u00b9 encodes", "BERT"),
                                       ("LLaMA\u2070", "LLaMA")])
def test_a_footnote_superscript_ends_the_name(tax, text, name):
    assert [h.name for h in tax.find(text)] == [name]


def test_a_glued_letter_still_makes_another_word(tax):
    assert found(tax, "BERTx and GPTq") == []


def test_small_caps_sizes_glued_to_the_name(tax):
    assert found(tax, "BERTBASE and BERTLARGE") == [("BERTBASE", "BERT"), ("BERTLARGE", "BERT")]


def test_a_family_listed_with_a_multilingual_m_keeps_it(tax):
    assert found(tax, "mCobalt and Cobalt") == [("mCobalt", "mCobalt"), ("Cobalt", "Cobalt")]
    assert found(tax, "mBERT") == [("mBERT", "BERT")]


# ---------------------------------------------------------------- line-end breaks
@pytest.mark.parametrize("text,family", [
    ("we fine-tune Lla-\nMA on it", "Llama"),
    ("the Nyströ-\nmformer encoder", "Nyströmformer"),
    ("a t2i-\nadapter on top", "T2I-Adapter"),
], ids=["lower-upper-split", "non-ascii-letter", "lower-case-compound"])
def test_a_name_broken_at_a_line_end_is_read_either_way(tax, text, family):
    assert mentioned(tax, text) == [family]


def test_a_compound_after_a_broken_name_keeps_one_hit(tax):
    doc = Document(sha256="0" * 64, source_file="x.pdf", full_text="a Llama-\nbased agent")
    (m,) = find_mentions(doc, tax)
    assert (m.family, m.count, m.evidence.start, m.evidence.end) == ("Llama", 1, 2, 7)


# ---------------------------------------------------------------- software named after a model
@pytest.mark.parametrize("text", [
    "implemented with HF Transformers on 8 GPUs",
    "served locally with llama.cpp for speed",
    "we start from OpenCLIP's codebase",
])
def test_software_named_after_a_model_is_not_a_mention(tax, text):
    assert mentioned(tax, text) == []


def test_the_architecture_and_the_model_stay_mentions(tax):
    assert mentioned(tax, "Transformers (Vaswani et al., 2017) and OpenCLIP's ViT") == ["CLIP", "Transformer"]
    assert mentioned(tax, "We run LLaMA. Code is in C.") == ["Llama"]
