"""The registry-generated taxonomy, the body zones of model mentions, and one family spelling\nfor every backend.\n\nSelf-contained: the shipped data/models tables, inline strings and small in-memory\ndocuments; the taxonomy builder's pure functions are tested without transformers/timm.\n"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from devtools import build_taxonomy as bt
from extractor.extract.llm.answers import FrontMatterAnswer, LLMModelMention
from extractor.extract.llm.convert import Converter
from extractor.extract.rules.mentions import body_text, find_mentions
from extractor.reconcile.merge import build_record
from extractor.resolve import get_taxonomy
from extractor.resolve.entries import MODELS_DIR
from extractor.resolve.models import ModelHit, canonical_family, canonical_mentions
from extractor.schemas import Document, ExtractionMeta, ModelMention, PaperExtraction, Role, Where


@pytest.fixture(scope="module")
def tax():
    return get_taxonomy()


def families_in(tax, text: str) -> list[str]:
    return [h.family for h in tax.find(text)]


# ---------------------------------------------------------------- the shipped table
def test_shipped_table_is_curated_plus_registries():
    shipped = json.loads((MODELS_DIR / "families.json").read_text(encoding="utf-8"))
    curated = json.loads((MODELS_DIR / "curated.json").read_text(encoding="utf-8"))
    fams = shipped["families"]
    assert [f["family"] for f in fams[: len(curated["families"])]] == [f["family"] for f in curated["families"]]
    sources = {f["source"] for f in fams}
    assert sources == {"curated", "transformers", "timm", "mteb", "vllm", "diffusers", "lmms_eval", "opencompass",
                       "litellm", "genai_prices", "fschat", "mmsegmentation"}
    assert sum(f["source"] == "transformers" for f in fams) >= 100
    assert set(shipped["generated_with"]) == {"transformers", "timm", "mteb", "vllm", "diffusers", "lmms_eval",
                                              "opencompass", "litellm", "genai_prices", "fschat", "mmsegmentation",
                                              "open_clip_torch"}
    for f in fams:
        if f["source"] != "curated":
            assert f["registry"], f  # which registry entries a generated family came from


REGISTRY_NAMES = [
    ("Depth Anything V2", "Depth Anything"), ("ZoeDepth", "ZoeDepth"), ("SegFormer-B5", "SegFormer"),
    ("ViLT", "ViLT"), ("VisualBERT", "VisualBERT"), ("Pegasus", "Pegasus"), ("MusicGen", "MusicGen"),
    ("WavLM", "WavLM"), ("Longformer", "Longformer"), ("BigBird", "BigBird"), ("Mask2Former", "Mask2Former"),
    ("data2vec", "data2vec"), ("Idefics2", "IDEFICS"), ("KOSMOS-2", "KOSMOS-2"), ("Ovis2", "Ovis2"),
    ("HRNet", "hrnet"), ("Res2Net", "res2net"), ("ConvNeXt V2", "ConvNeXT"), ("DPT", "DPT"), ("RWKV", "RWKV"),
]


@pytest.mark.parametrize("name,family", REGISTRY_NAMES, ids=[n for n, _ in REGISTRY_NAMES])
def test_registry_families_are_found(tax, name, family):
    hits = tax.find(f"We compare with {name} on the benchmark.")
    assert [(h.name, h.family) for h in hits] == [(name, family)]
    assert tax.family(family).source in ("transformers", "timm")


def test_registry_family_takes_developer_from_checkpoint_org(tax):
    assert (tax.family("ZoeDepth").developer, tax.family("ZoeDepth").developer_country) == ("Intel", "US")
    assert tax.family("MusicGen").developer == "Meta"


def test_curated_families_own_their_registry_names(tax):
    """Registry spellings of curated families stay with them: no second Qwen, BERT or HuBERT."""
    for name, family in [("Qwen2.5-VL", "Qwen"), ("Megatron-BERT", "Megatron"), ("HuBERT", "HuBERT"),
                         ("DeepSeek-V3", "DeepSeek"), ("XLM-RoBERTa", "RoBERTa")]:
        assert families_in(tax, name) == [family], name
    assert families_in(tax, "Hubert Lee wrote to Bert") == []


NOT_MODELS = [
    "we align the features", "the dogs bark", "a canine unit", "an informer said", "Marian and Luke met",
    "speech-to-text systems", "human perception", "a vitamin", "LED lights", "RAG pipelines", "Acme Pvt. Ltd.",
    "the chameleon changes", "granite rocks", "a funnel", "the realm of", "tapas bar", "mega events",
    "a nest of twins", "the coat and pit", "Eva said", "a parakeet", "moonshine",
]


@pytest.mark.parametrize("text", NOT_MODELS)
def test_registry_words_that_are_ordinary_words_do_not_match(tax, text):
    assert families_in(tax, text) == []


def test_multilingual_prefix_and_glued_variants(tax):
    assert families_in(tax, "mDPR and mBERT") == ["DPR", "BERT"]
    assert [(h.name, h.family) for h in tax.find("DeepSeekMath-7B and QwenVL")] == [
        ("DeepSeekMath-7B", "DeepSeek"), ("QwenVL", "Qwen")]
    assert families_in(tax, "the mAP and mIoU") == []


def test_camel_case_names_printed_split_and_glued_sizes(tax):
    assert [(h.name, h.family) for h in tax.find("Open LLaMA 7B and Open-LLaMA 3B")] == [
        ("Open LLaMA 7B", "OpenLLaMA"), ("Open-LLaMA 3B", "OpenLLaMA")]
    assert families_in(tax, "Open Llama talks") == ["Llama"]  # the split form keeps the name's case
    assert families_in(tax, "BERTbase and T5large") == ["BERT", "T5"]
    assert families_in(tax, "BERTbased methods") == []


def test_ligatures_in_pdf_text(tax):
    assert [(h.name, h.family) for h in tax.find("Stable Diﬀusion v1.5")] == [("Stable Diﬀusion v1.5", "Stable Diffusion")]


def test_gated_names_count_when_cited(tax):
    assert families_in(tax, "TII’s Falcon [17] and MosaicML’s MPT [16]") == ["Falcon", "MPT"]
    assert families_in(tax, "Falcon (Penedo et al., 2023) and Phi (Gunasekar et al., 2023)") == ["Falcon", "Phi"]
    assert families_in(tax, "a falcon flies; Yi Zhang [3]; Yi (2019); a GLM [4]") == []


# ---------------------------------------------------------------- builder (pure functions)
def test_builder_policy_keeps_acronyms_exact_and_drops_ordinary_words():
    assert bt.policy("ZoeDepth") == ("ci", "ZoeDepth")
    assert bt.policy("ALIGN") == ("cs", "ALIGN")
    assert bt.policy("Bark") is None and bt.policy("align") is None and bt.policy("LED") is None
    assert bt.policy("DPT") == ("cs", "DPT") and bt.policy("dpt") is None


def test_builder_groups_versions_and_subconfigs():
    assert bt.base_type("depth_anything_v2") == "depth_anything"
    assert bt.base_type("aimv2_vision_model") == "aimv2"
    assert bt.base_type("t5") == "t5" and bt.base_type("mt5") == "mt5"
    assert bt.spellings({"type": "mlp_mixer"}) == ["mlp-mixer", "mlpmixer"]
    assert bt.spellings({"type": "speech_to_text", "display": "Speech2Text", "config": "Speech2TextConfig"}) == [
        "Speech2Text"]
    assert "Ovis" in bt.spellings({"type": "ovis2", "display": "Ovis2", "config": "Ovis2Config"})


def test_builder_reads_registry_literals_without_importing(tmp_path):
    src = tmp_path / "configuration_auto.py"
    src.write_text("import torch\nfrom collections import OrderedDict\n"
                   "CONFIG_MAPPING_NAMES = OrderedDict[str, str]([('zoedepth', 'ZoeDepthConfig')])\n"
                   "MODEL_NAMES_MAPPING = OrderedDict([('zoedepth', 'ZoeDepth')])\nOTHER = f(1)\n")
    assert bt._dicts_in(src) == {"CONFIG_MAPPING_NAMES": {"zoedepth": "ZoeDepthConfig"},
                                 "MODEL_NAMES_MAPPING": {"zoedepth": "ZoeDepth"}}


# ---------------------------------------------------------------- embedding, serving and generation registries
EXTRA_REGISTRY_NAMES = [
    ("BGE-M3", "BGE"), ("E5-large-v2", "E5"), ("mE5", "E5"), ("GTE-base", "GTE"), ("Contriever", "contriever"),
    ("mContriever", "contriever"), ("jina-embeddings-v2-base-en", "jina"), ("NV-Embed-v2", "NV-Embed"),
    ("GritLM-7B", "GritLM"), ("ReasonIR-8B", "ReasonIR"), ("ColBERT", "ColBERT"), ("XVERSE-13B", "Xverse"),
    ("Molmo-72B", "Molmo"), ("NVLM-D-72B", "NVLM"), ("ControlNet", "ControlNet"), ("T2I-Adapter", "t2i-adapter"),
    ("AudioLDM 2", "AudioLDM"), ("AnimateDiff", "AnimateDiff"), ("LongVA-7B", "LongVA"), ("VILA1.5-40B", "VILA"),
    ("VideoChat2", "VideoChat"), ("mPLUG-Owl2", "mplug"), ("CodeGeeX2", "codegeex"), ("TigerBot-13B", "tigerbot"),
]


@pytest.mark.parametrize("name,family", EXTRA_REGISTRY_NAMES, ids=[n for n, _ in EXTRA_REGISTRY_NAMES])
def test_embedding_serving_and_generation_registry_families_are_found(tax, name, family):
    hits = tax.find(f"We compare with {name} in Table 2.")
    assert [h.family for h in hits] == [family]
    assert tax.family(family).source in ("mteb", "vllm", "diffusers", "lmms_eval", "opencompass")


@pytest.mark.parametrize("text", [
    "the radio signal", "a sensor fusion module", "solar power", "Chroma ↑ and MFCC-DTW ↓",  # words
    "RADIO RECEIVERS", "VILA is a village",  # capitals and bare rare words need a version or citation
    "The embedding E5 in Figure 2 with E4 and E6", "E0 E1 E2 E3 E4 E5",  # symbols of an indexed series
    "see https://atlas.nomic.ai/map or the weights at huggingface.co/jinaai", "mail me@jina.ai",  # addresses
    "a multilingual paraphrase model", "MIMO channel estimation", "the param server",
])
def test_registry_words_symbols_and_addresses_are_not_models(tax, text):
    assert families_in(tax, text) == []


def test_gated_registry_words_count_with_version_or_citation(tax):
    assert families_in(tax, "Aquila-VL-2B and Marigold [23]") == ["Aquila", "Marigold"]
    assert families_in(tax, "the aquila constellation; a Marigold flower") == []


def test_word_policy_drops_words_gates_rarer_ones_and_keeps_short_family_names():
    words, rare = frozenset({"radio", "fusion", "colbert", "vila"}), frozenset({"aquila", "chroma"})
    assert bt.word_policy("radio", words, 3) is None
    assert bt.word_policy("ColBERT", words, 3) == ("cs", "ColBERT")  # a capital inside: a name
    assert bt.word_policy("VILA", words, 1) == ("gated", "VILA")
    assert bt.word_policy("Aquila", words, 1, rare=rare) == ("gated", "Aquila")
    assert bt.word_policy("Chroma", words, 1, exact_title=True, rare=rare) == ("gated", "Chroma")
    assert bt.word_policy("Kolors", words, 1, exact_title=True, rare=rare) == ("cs", "Kolors")
    assert bt.word_policy("bge", words, 25) == ("cs", "BGE")
    assert bt.word_policy("ps3", words, 4) is None  # a short name needs a family of entries
    assert bt.word_policy("MiMo", words, 4) == ("cs", "MiMo")
    assert bt.word_policy("contriever", words, 1) == ("ci", "contriever")
    assert bt.word_policy("Fairseq", words, 1) is None  # software


def test_registry_heads():
    assert bt.mteb_head("bge-m3") == "bge" and bt.mteb_head("e5-large-v2") == "e5"
    assert bt.mteb_head("siglip2-base-patch16-224") == "siglip" and bt.mteb_head("NV-Embed-v2") == "NV-Embed"
    assert bt.mteb_head("monot5-base-msmarco") == "monot5" and bt.mteb_head("mmE5-mllama-11b") == "mmE5"
    assert bt.vllm_head("XverseForCausalLM") == "Xverse" and bt.vllm_head("NVLM_D") == "NVLM"
    assert bt.vllm_head("Ernie4_5_VLMoeForConditionalGeneration") == "Ernie"
    assert bt.vllm_head("HF_ColBERT") == "ColBERT" and bt.vllm_head("HfMoondream") == "Moondream"
    assert bt.diffusers_head({"pipeline": "audioldm2", "display": "AudioLDM"}) == "AudioLDM"
    assert bt.diffusers_head({"pipeline": "t2i_adapter", "display": None}) == "t2i-adapter"


def test_builder_reads_registries_from_wheels_without_importing(tmp_path):
    import zipfile

    whl = tmp_path / "mteb-9.9-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as z:
        z.writestr("mteb/models/model_implementations/x.py",
                   "import torch\nfrom mteb.models.model_meta import ModelMeta\n"
                   "a = ModelMeta(name='BAAI/bge-m3', modalities=['text'], citation='@article{x}')\n"
                   "b = ModelMeta(name='someone/upload', citation=None)\n"
                   "c = ModelMeta(name='openai/clip-vit', modalities=['image', 'text'], citation=CITE)\n")
    pkg = bt.Package("mteb", tmp_path)
    assert pkg.version == "9.9"
    assert bt.read_mteb(pkg) == [{"model": "bge-m3", "org": "BAAI", "kind": "retriever"},
                                 {"model": "clip-vit", "org": "openai", "kind": "multimodal"}]
    whl = tmp_path / "vllm-1.0-cp38-abi3-manylinux_2_28_x86_64.whl"
    with zipfile.ZipFile(whl, "w") as z:
        z.writestr("vllm/model_executor/models/registry.py",
                   "import torch\n_TEXT_GENERATION_MODELS = {'XverseForCausalLM': ('xverse', 'X')}\n"
                   "_SPECULATIVE_DECODING_MODELS = {'EagleLlamaForCausalLM': ('e', 'E')}\n"
                   "_MULTIMODAL_MODELS: dict = {'MolmoForCausalLM': ('molmo', 'M')}\n")
    assert bt.read_vllm(bt.Package("vllm", tmp_path)) == [{"arch": "XverseForCausalLM", "kind": "llm"},
                                                           {"arch": "MolmoForCausalLM", "kind": "multimodal"}]
    whl = tmp_path / "opencompass-0.1-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as z:
        z.writestr("opencompass/configs/models/x/hf_x.py",
                   "from opencompass.models import HuggingFace\n"
                   "models = [dict(type=HuggingFace, abbr='codegeex2-6b', path='THUDM/codegeex2-6b'),\n"
                   "          {'abbr': 'tigerbot-7b-hf', 'path': 'x'}]\n")
    assert sorted(r["model"] for r in bt.read_opencompass(bt.Package("opencompass", tmp_path))) == [
        "codegeex2-6b", "tigerbot-7b-hf"]


def test_vision_lineage_is_read_from_the_model_source():
    assert bt.uses_attention("class WindowAttention(nn.Module):\n    pass")
    assert bt.uses_attention("x = F.scaled_dot_product_attention(q, k, v)")
    assert bt.uses_attention("attn = (q @ k.transpose(-2, -1)) * self.scale")
    assert not bt.uses_attention("class Bottleneck(nn.Module):\n    self.conv1 = nn.Conv2d(3, 64, 7)\n"
                                 "return BaseModelOutputWithNoAttention(x)")
    shipped = {f.family: f for f in get_taxonomy().families()}
    assert shipped["RegNet"].attention is False and shipped["res2net"].attention is False
    assert shipped["BEiT"].attention is None and shipped["SegFormer"].attention is None


# ---------------------------------------------------------------- body zones
def _doc(text: str) -> Document:
    return Document(sha256="e" * 64, source_file="x.pdf", full_text=text)


PAPER = ("Title\nIntroduction\n" + "We fine-tune LLaMA-2-7B on our data. " * 40
         + "\nReferences\n[1] Chinchilla: training compute-optimal models. 2022.\n[2] Gopher. 2021.\n"
         + "\fA\nImplementation Details\nWe also evaluate Mistral-7B in the appendix.\n")


def test_appendix_after_references_is_body_and_bibliography_is_not():
    body = body_text(_doc(PAPER))
    assert len(body) == len(PAPER)
    fams = {m.family for m in find_mentions(_doc(PAPER), get_taxonomy())}
    assert fams == {"Llama", "Mistral"}


def test_line_end_hyphen_does_not_hide_a_name():
    text = "Intro\n" + "We sample images from Stable Diffu-\nsion and Chin-\nchilla, and Llama-\nbased tools. " * 3
    mentions = {m.family: m for m in find_mentions(_doc(text), get_taxonomy())}
    assert set(mentions) == {"Stable Diffusion", "Chinchilla", "Llama"}
    ev = mentions["Stable Diffusion"].evidence
    assert text[ev.start : ev.end] == "Stable Diffu-\nsion"


@pytest.mark.parametrize("text", [
    "We calibrate on the Alpaca dataset and the C4 corpus.",
    "two translation datasets, NLLB and CCMatrix",
    "We report the CLIP score of each image.",
    "following the settings of the Megatron-LM codebase and Megatron-LM tensor parallelism",
    "switching to a newer version of Megatron",
    "we use the Hugging Face Transformers library",
    "We utilize the Transformer\nReinforcement Learning (TRL) library for training",
], ids=["dataset-after", "dataset-list", "metric", "framework", "version-of", "hf-library", "trl-library"])
def test_data_sets_metrics_and_software_are_not_mentions(text):
    assert find_mentions(_doc("Intro\n" + text), get_taxonomy()) == []


# ---------------------------------------------------------------- one spelling per family
def test_canonical_family_names():
    assert canonical_family("gpt") == "GPT"
    assert canonical_family("GPT-4o") == "GPT"
    assert canonical_family("stable-diffusion") == "Stable Diffusion"
    assert canonical_family("depth anything") == "Depth Anything"
    assert canonical_family("  Some   New Model ") == "Some New Model"


def test_canonical_mentions_merge_spellings():
    merged = canonical_mentions([
        ModelMention(name="gpt-4", family="gpt", where=Where.BODY, count=2),
        ModelMention(name="GPT-4o", family="GPT", where=Where.ABSTRACT, count=3, role=Role.USED),
        ModelMention(name="Llama 2", family="llama", count=1, role=Role.FINE_TUNED),
    ])
    assert [(m.family, m.count, m.where, m.role) for m in merged] == [
        ("GPT", 5, Where.ABSTRACT, Role.USED), ("Llama", 1, None, Role.FINE_TUNED)]
    assert merged[0].name == "gpt-4" and merged[0].developer == "OpenAI" and merged[0].developer_country == "US"


def test_llm_converter_uses_the_canonical_family():
    class LowerCaseTaxonomy:  # a taxonomy (or model answer) that spells families its own way
        def find(self, text):
            return [ModelHit("gpt-4", "gpt", "OpenAI", "US", i, i + 5) for i in range(len(text)) if text.startswith("gpt-4", i)]

    doc = _doc("We prompt gpt-4 and gpt-4 again.")
    conv = Converter(resolver=SimpleNamespace(), taxonomy=LowerCaseTaxonomy())
    out = conv.models(doc, FrontMatterAnswer(model_mentions=[LLMModelMention(name="gpt-4")]), None, [], [])
    assert [(m.family, m.count) for m in out] == [("GPT", 2)]


def test_record_has_one_row_per_family_whatever_the_backend():
    doc = _doc("We prompt GPT-4o and gpt-4.")
    ext = PaperExtraction(model_mentions=[ModelMention(name="gpt-4", family="gpt"),
                                          ModelMention(name="GPT-4o", family="GPT")])
    record = build_record(doc, [(ExtractionMeta(backend="llm"), ext)])
    assert record.model_families() == ["GPT"]
