"""Model-family taxonomy: coverage, alias mapping, precision on ordinary words, offsets.

Self-contained: uses only data/models/families.json and inline strings."""

from __future__ import annotations

import pytest

from extractor.resolve import ModelHit, get_taxonomy
from extractor.schemas import VALID_COUNTRY_CODES


@pytest.fixture(scope="module")
def tax():
    return get_taxonomy()


def families_in(tax, text: str) -> list[str]:
    return [h.family for h in tax.find(text)]


def test_at_least_sixty_families_with_valid_metadata(tax):
    fams = tax.families()
    assert len(fams) >= 60
    kinds = {"llm", "vision", "multimodal", "diffusion", "architecture", "encoder", "speech", "recsys", "retriever",
             "word-embedding"}
    for f in fams:
        if f.source == "curated":
            assert f.developer and f.developer_country in VALID_COUNTRY_CODES, f
        else:  # registry families: a developer only when the registry's checkpoint organisation is known
            assert f.source in ("transformers", "timm", "mteb", "vllm", "diffusers", "lmms_eval", "opencompass",
                                "litellm", "genai_prices", "fschat", "mmsegmentation"), f
            assert f.developer_country is None or f.developer_country in VALID_COUNTRY_CODES, f
            assert (f.developer is None) == (f.developer_country is None), f
        assert f.kind in kinds, f


ALIASES = [
    ("LLaMA-2-7B", "Llama"), ("Llama 3.1", "Llama"), ("LLaMA2", "Llama"), ("Llama-3.1-8B-Instruct", "Llama"),
    ("CodeLlama-13B", "Llama"), ("Code Llama", "Llama"),
    ("Qwen2.5-VL", "Qwen"), ("Qwen2.5-VL-7B-Instruct", "Qwen"), ("QwQ-32B", "Qwen"),
    ("GPT-4o", "GPT"), ("ChatGPT", "GPT"), ("GPT-3.5", "GPT"), ("GPT-3.5-turbo", "GPT"), ("o1-preview", "GPT"),
    ("GPT-4", "GPT"), ("InstructGPT", "GPT"),
    ("ViT-B/16", "ViT"), ("Vision Transformer", "ViT"), ("BERT", "BERT"), ("BERT-large", "BERT"),
    ("RoBERTa", "RoBERTa"), ("XLM-R", "RoBERTa"), ("T5", "T5"), ("Flan-T5", "T5"), ("mT5", "T5"), ("BART", "BART"),
    ("CLIP", "CLIP"), ("Stable Diffusion", "Stable Diffusion"), ("SDXL", "Stable Diffusion"),
    ("Transformer", "Transformer"), ("DeepSeek-V3", "DeepSeek"), ("DeepSeekMoE", "DeepSeek"),
    ("DeepSeek-R1", "DeepSeek"), ("Mistral-7B", "Mistral"), ("Mixtral-8x7B", "Mistral"), ("Gemma-2B", "Gemma"),
    ("Gemini 1.5 Pro", "Gemini"), ("Claude 3 Opus", "Claude"), ("ChatGLM-6B", "GLM"), ("GLM-4", "GLM"),
    ("InternLM2", "InternLM"), ("Baichuan2-13B", "Baichuan"), ("Yi-34B", "Yi"), ("ERNIE", "ERNIE"),
    ("Phi-3-mini", "Phi"), ("phi-1.5", "Phi"), ("Falcon-40B", "Falcon"), ("OPT-175B", "OPT"), ("BLOOM", "BLOOM"),
    ("Pythia-1.4B", "Pythia"), ("Vicuna-13B", "Vicuna"), ("Alpaca", "Alpaca"), ("GPT-J", "GPT-J"),
    ("GPT-NeoX", "GPT-Neo"), ("MPT-7B", "MPT"), ("PaLM", "PaLM"), ("Chinchilla", "Chinchilla"), ("Gopher", "Gopher"),
    ("LaMDA", "LaMDA"), ("XLNet", "XLNet"), ("ALBERT", "ALBERT"), ("ELMo", "ELMo"), ("DistilBERT", "DistilBERT"),
    ("ResNet-50", "ResNet"), ("VGG-16", "VGG"), ("Inception-v3", "Inception"), ("MobileNetV2", "MobileNet"),
    ("U-Net", "U-Net"), ("YOLOv5", "YOLO"), ("Segment Anything", "SAM"), ("SAM 2", "SAM"), ("DALL-E 2", "DALL-E"),
    ("Whisper", "Whisper"), ("wav2vec 2.0", "wav2vec"), ("HuBERT", "HuBERT"), ("Mamba", "Mamba"),
    ("Switch Transformer", "Switch Transformer"), ("GShard", "GShard"), ("DINOv2", "DINO"), ("Swin-T", "Swin"),
    ("Swin Transformer", "Swin"), ("DETR", "DETR"), ("LLaVA-1.5", "LLaVA"), ("Kimi-VL", "Kimi"),
    ("MiniCPM", "MiniCPM"), ("Grok-1", "Grok"), ("Command R+", "Command"), ("Jamba", "Jamba"),
    ("StarCoder", "StarCoder"), ("word2vec", "Word2Vec"), ("GloVe", "GloVe"), ("fastText", "fastText"),
]


@pytest.mark.parametrize("name,family", ALIASES, ids=[n for n, _ in ALIASES])
def test_aliases_map_to_family(tax, name, family):
    text = f"We compare with {name} on the benchmark."
    hits = tax.find(text)
    assert [h.family for h in hits] == [family]
    assert hits[0].name == name
    assert tax.family(name).family == family


def test_family_info_carries_developer(tax):
    assert (tax.family("GPT-4o").developer, tax.family("GPT-4o").developer_country) == ("OpenAI", "US")
    assert tax.family("BERT").developer == "Google" and tax.family("RoBERTa").developer == "Meta"
    assert tax.family("Qwen2.5-VL").developer_country == "CN"
    assert tax.family("Llama").kind == "llm" and tax.family("ViT").kind == "vision"
    assert tax.family("no such model") is None


NOT_MODELS = [
    ("same", "the same model as before"),
    ("opt-for", "we opt for a smaller step size"),
    ("yield", "this should yield better results"),
    ("bloom-filter", "a bloom filter and a Bloom filter index"),
    ("phi-coefficient", "the phi coefficient and Phi values"),
    ("yi-surname", "Yi Zhang and Xu Yi wrote this"),
    ("lower-transformer", "a transformer block maps features"),
    ("clip-gradients", "we clip gradients and Clip values"),
    ("glove-word", "a glove box"),
    ("albert-name", "Albert Gu and Bert Kappen"),
    ("claude-shannon", "following Claude Shannon and Claude E. Shannon"),
    ("jean-claude", "Jean-Claude Latombe"),
    ("sam-optimizer", "we train with SAM (sharpness-aware minimization)"),
    ("mae-metric", "the MAE is 0.31 and the RMSE is 0.4"),
    ("glm-statistics", "a GLM with a logit link"),
    ("deepseek-org", "authors from DeepSeek-AI"),
    ("mistral-company", "Mistral AI is a company"),
    ("whisper-verb", "they whisper quietly"),
    ("llama-inside-word", "the llamas grazed; ollamac"),
    ("bert-in-word", "BERTology studies"),
    ("gpt-inside-minigpt", "MiniGPT-4"),
]


@pytest.mark.parametrize("text", [t for _, t in NOT_MODELS], ids=[i for i, _ in NOT_MODELS])
def test_no_false_positives(tax, text):
    fams = families_in(tax, text)
    assert not [f for f in fams if f not in ("MiniGPT-4",)], fams


def test_sam_and_mae_count_when_spelled_out(tax):
    text = "We prompt SAM (Segment Anything) and compare with MAE, a masked autoencoder."
    assert families_in(tax, text) == ["SAM", "SAM", "MAE", "MAE"]


def test_capitalised_transformer_is_the_architecture(tax):
    assert families_in(tax, "The Transformer and Transformers") == ["Transformer", "Transformer"]


def test_every_occurrence_with_offsets(tax):
    text = "LLaMA-2-7B beats GPT-4o? No: GPT-4o beats LLaMA-2-7B, and Qwen2.5-VL too."
    hits = tax.find(text)
    assert [h.name for h in hits] == ["LLaMA-2-7B", "GPT-4o", "GPT-4o", "LLaMA-2-7B", "Qwen2.5-VL"]
    for h in hits:
        assert isinstance(h, ModelHit)
        assert text[h.start : h.end] == h.name
    assert hits[0].developer == "Meta" and hits[0].developer_country == "US"


@pytest.mark.parametrize("text,name", [
    ("(LLaMA, 2023)", "LLaMA"), ("GPT-4.", "GPT-4"), ("BERT-based encoders", "BERT"),
    ("Llama 2 70B chat", "Llama 2 70B"), ("ResNet-101,", "ResNet-101"),
], ids=["parenthesis", "sentence-end", "bert-based", "space-size", "comma"])
def test_suffix_boundaries(tax, text, name):
    assert tax.find(text)[0].name == name


def test_find_handles_a_full_paper(tax):
    """60,000 characters (the text kept per paper) in one pass; speed is in benchmarks/bench_rules."""
    paragraph = ("We fine-tune LLaMA-2-7B and compare with BERT, T5 and GPT-4 on the same data; "
                 "results for ResNet-50 and ViT-B/16 follow the protocol of prior work. ")
    text = (paragraph * (60_000 // len(paragraph) + 1))[:60_000]
    hits = tax.find(text)
    assert len(hits) > 1000
    assert {h.family for h in hits} == {"Llama", "BERT", "T5", "GPT", "ResNet", "ViT"}


# ---------------------------------------------------------------- regressions (taxonomy gaps)
NEW_FAMILIES = [
    ("InferSent", "InferSent", "US"), ("Skip-Thought", "Skip-Thought", "CA"),
    ("skip-thought", "Skip-Thought", "CA"), ("OpenLLaMA-7B", "OpenLLaMA", "US"),
    ("RedPajama-INCITE-7B-Base", "RedPajama-INCITE", "US"), ("BlenderBot", "BlenderBot", "US"),
    ("BlenderBot 3", "BlenderBot", "US"), ("Guanaco-65B", "Guanaco", "US"), ("WizardLM-13B", "WizardLM", "US"),
    ("Xwin-LM-70B", "Xwin-LM", "CN"), ("Megatron-LM", "Megatron", "US"), ("Megatron", "Megatron", "US"),
    ("Megatron-Turing NLG 530B", "Megatron", "US"), ("Nemotron-4 340B", "Nemotron", "US"),
]


@pytest.mark.parametrize("name,family,country", NEW_FAMILIES, ids=[n for n, _, _ in NEW_FAMILIES])
def test_added_families(tax, name, family, country):
    hits = tax.find(f"We compare with {name} on the benchmark.")
    assert [(h.name, h.family, h.developer_country) for h in hits] == [(name, family, country)]


def test_cove_needs_its_word_vectors_or_authors(tax):
    assert families_in(tax, "ELMo and CoVe (McCann et al., 2017) give contextualized word vectors") == ["ELMo", "CoVe"]
    assert tax.find("CoVe (McCann et al., 2017)")[0].developer_country == "US"
    assert families_in(tax, "We apply CoVe (Chain-of-Verification) to reduce hallucination") == []


def test_megatron_and_nemotron_are_different_families(tax):
    assert tax.family("Megatron-LM").family == "Megatron" and tax.family("Megatron").developer == "NVIDIA"
    assert tax.family("Nemotron-4").family == "Nemotron"


@pytest.mark.parametrize("name", ["unet", "UNet", "U-Net", "U-net", "Unet", "nnU-Net"])
def test_unet_spellings_are_u_net(tax, name):
    assert families_in(tax, f"a {name} backbone") == ["U-Net"]


@pytest.mark.parametrize("text", ["a sheltered cove", "a guanaco grazes", "the RedPajama data set",
                                  "Open Llama talks"],
                         ids=["cove", "guanaco-animal", "redpajama-data", "open-llama-words"])
def test_added_families_no_false_positives(tax, text):
    assert not [f for f in families_in(tax, text) if f in ("CoVe", "Guanaco", "RedPajama-INCITE", "OpenLLaMA")]
