"""Classes of model-name prints and the catalogue registries behind the taxonomy.

Self-contained: a small families table written by each test (never the shipped one, so a
rebuilt table cannot make these pass or fail), tiny wheels built in ``tmp_path`` for the
readers, and inline strings.
"""

from __future__ import annotations

import json
import zipfile

import pytest

from devtools import build_taxonomy as bt
from devtools import taxonomy_catalogues as tc
from extractor.extract.rules.mentions import find_mentions
from extractor.resolve.models import Taxonomy
from extractor.schemas import Document

FAMILIES = [
    {"family": "Llama", "developer": "Meta", "developer_country": "US", "kind": "llm", "names": ["Llama", "LLaMA"]},
    {"family": "OpenLLaMA", "developer": None, "developer_country": None, "kind": "llm", "names_cs": ["OpenLLaMA"]},
    {"family": "RoBERTa", "developer": "Meta", "developer_country": "US", "kind": "encoder",
     "names_cs": ["RoBERTa", "XLM-RoBERTa", "XLM-R"]},
    {"family": "XLM", "developer": "Meta", "developer_country": "US", "kind": "encoder", "names_cs": ["XLM"]},
    {"family": "ColBERT", "developer": None, "developer_country": None, "kind": "retriever", "names_cs": ["ColBERT"]},
    {"family": "MiniMax", "developer": "MiniMax", "developer_country": "CN", "kind": "llm", "names_cs": ["MiniMax"]},
    {"family": "TinyLlama", "developer": None, "developer_country": None, "kind": "llm", "names_cs": ["TinyLlama"]},
    {"family": "OpenAssistant", "developer": None, "developer_country": None, "kind": "llm",
     "names": ["OpenAssistant"]},
    {"family": "Doubao", "developer": None, "developer_country": None, "kind": "llm", "names_versioned": ["doubao"]},
    {"family": "Cambrian", "developer": None, "developer_country": None, "kind": "multimodal",
     "names_cs": ["Cambrian"], "require_suffix": True, "cited_bare": True},
    {"family": "MetaMath", "developer": None, "developer_country": None, "kind": "llm", "names": ["MetaMath"]},
    {"family": "WizardLM", "developer": None, "developer_country": None, "kind": "llm", "names": ["WizardLM"]},
    {"family": "Yi", "developer": "01.AI", "developer_country": "CN", "kind": "llm", "names_cs": ["Yi"],
     "require_suffix": True},
]


@pytest.fixture()
def tax(tmp_path):
    path = tmp_path / "families.json"
    path.write_text(json.dumps({"families": FAMILIES}), encoding="utf-8")
    return Taxonomy(path)


def found(tax, text: str) -> list[tuple[str, str]]:
    return [(h.name, h.family) for h in tax.find(text)]


# ---------------------------------------------------------------- CamelCase names in another case
@pytest.mark.parametrize("text,hits", [
    ("Following ColBert (Khattab and Zaharia)", [("ColBert", "ColBERT")]),
    ("the tokenizer of XLM-Roberta", [("XLM-Roberta", "RoBERTa")]),
    ("Tinyllama-1B and Tinyllama 1.1B", [("Tinyllama-1B", "TinyLlama"), ("Tinyllama 1.1B", "TinyLlama")]),
    ("ColBERT and TinyLlama", [("ColBERT", "ColBERT"), ("TinyLlama", "TinyLlama")]),
], ids=["inner-capital", "compound", "with-size", "own-spelling"])
def test_camel_case_names_are_read_in_another_case_when_still_a_name(tax, text, hits):
    assert found(tax, text) == hits


@pytest.mark.parametrize("text", ["Stephen Colbert and colbert", "COLBERT", "Roberta said", "a minimax game",
                                  "the Minimax theorem", "Tinyllama", "tinyllama v2"])
def test_plain_words_that_spell_a_camel_case_name_are_not_models(tax, text):
    assert found(tax, text) == []


def test_a_rejected_camel_case_read_leaves_the_name_inside_it(tax):
    assert found(tax, "Open Llama talks") == [("Llama", "Llama")]
    assert found(tax, "Open LLaMA 7B") == [("Open LLaMA 7B", "OpenLLaMA")]


def test_split_forms_only_before_a_name_shaped_part(tax):
    assert found(tax, "Open Assistant 1 [13] and Open-Assistant") == []
    assert found(tax, "OpenAssistant") == [("OpenAssistant", "OpenAssistant")]


# ---------------------------------------------------------------- gates of registry words
def test_versioned_names_need_a_version_or_size_in_any_case(tax):
    assert found(tax, "Doubao 1.5 Pro and doubao-1.5-pro") == [("Doubao 1.5 Pro", "Doubao"),
                                                               ("doubao-1.5-pro", "Doubao")]
    assert found(tax, "Doubao [3], the doubao app and doubao-seed") == []


def test_rarer_registry_words_need_a_version_size_or_citation(tax):
    assert found(tax, "Cambrian-34B [234] and Cambrian [4]") == [("Cambrian-34B", "Cambrian"), ("Cambrian", "Cambrian")]
    assert found(tax, "the Cambrian explosion") == []


# ---------------------------------------------------------------- body text
def _doc(text: str) -> Document:
    return Document(sha256="c" * 64, source_file="c.pdf", full_text="Intro\n" + text)


def test_a_compound_broken_after_its_hyphen_is_one_name(tax):
    mentions = find_mentions(_doc("We use an XLM-\nRoBERTa model and a Llama-\nbased tool."), tax)
    assert sorted(m.family for m in mentions) == ["Llama", "RoBERTa"]


@pytest.mark.parametrize("text", [
    "TallyQA (en) [2], MetaMath (en) [281], GEOS (en) [206]",
    "SlimOrca (en) [142], WizardLM-Evol-Instruct-70K [265]",
    "a corpus of open-source datasets, such as WizardLM-v2 [12] and others",
    "calibration corpora (MetaMath, WikiText2, PTB, C4)",
], ids=["language-tag", "example-count", "such-as", "bracketed-list"])
def test_data_sets_named_after_models_are_not_mentions(tax, text):
    assert find_mentions(_doc(text), tax) == []


def test_a_context_length_after_a_parameter_count_is_still_a_model(tax):
    assert [m.family for m in find_mentions(_doc("We evaluate Yi-34B-200K on long inputs."), tax)] == ["Yi"]


# ---------------------------------------------------------------- builder: readers and gates
def _wheel(tmp_path, dist: str, files: dict[str, str]) -> bt.Package:
    with zipfile.ZipFile(tmp_path / f"{dist}-1.0-py3-none-any.whl", "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return bt.Package(dist, tmp_path)


def test_gateway_ids_lose_region_vendor_and_tag():
    assert tc.model_id_name("bedrock/us.anthropic.claude-3-haiku") == "claude-3-haiku"
    assert tc.model_id_name("databricks/system.ai.kimi-k3") == "kimi-k3"
    assert tc.model_id_name("eu.deepseek.v3.2") == "deepseek.v3.2"
    assert tc.model_id_name("ollama/llama2:13b") == "llama2"
    assert tc.model_id_name("gpt-3.5-turbo") == "gpt-3.5-turbo"
    assert bt.catalogue_head({"model": "deepseek.v3.2"}) == "deepseek"
    assert bt.catalogue_head({"model": "Llemma 7b"}) == "Llemma"


def test_catalogue_readers_read_wheels_without_importing(tmp_path):
    prices = {"sample_spec": {"mode": "one of: chat, embedding"},
              "volcengine/doubao-seed-1-6": {"mode": "chat", "litellm_provider": "volcengine"},
              "doubao-embedding": {"mode": "embedding", "litellm_provider": "volcengine"},
              "stability/inpaint": {"mode": "image_edit", "litellm_provider": "stability"},
              "ft:gpt-4o:org": {"mode": "chat", "litellm_provider": "openai"}}
    rows = tc.read_litellm(_wheel(tmp_path, "litellm", {
        "litellm/model_prices_and_context_window_backup.json": json.dumps(prices)}))
    assert [(r["model"], r["kind"], r["provider"]) for r in rows] == [
        ("doubao-seed-1-6", "llm", "volcengine"), ("doubao-embedding", "retriever", "volcengine")]
    rows = tc.read_genai_prices(_wheel(tmp_path, "genai_prices", {"genai_prices/data.py": (
        "import x\nproviders = [Provider(id='p', models=[ModelInfo(id='eleutherai/llemma_7b', name='Llemma 7b'),\n"
        "    ModelInfo(id='garage-bAInd/Platypus2-70B-instruct', match=m)])]\n")}))
    assert [r["model"] for r in rows] == ["Llemma 7b", "Platypus2-70B-instruct"]
    rows = tc.read_fastchat(_wheel(tmp_path, "fschat", {"fastchat/model/model_registry.py": (
        "register_model_info(['tinyllama'], 'TinyLlama', 'https://x', 'A model.')\n"
        "def f(full_names, simple_name):\n    register_model_info(full_names, simple_name, '', '')\n")}))
    assert [(r["model"], r["id"]) for r in rows] == [("TinyLlama", "tinyllama")]


def test_segmentation_zoo_reads_methods_and_their_lineage(tmp_path):
    meta = ("Collections:\n- Name: SETR\n  Paper:\n    Title: Rethinking Semantic Segmentation from a Sequence-to-Sequence\n"
            "      Perspective with Transformers\n    URL: https://x\n- Name: PSPNet\n  Paper:\n"
            "    Title: Pyramid Scene Parsing Network\nModels:\n- Name: setr_vit-l\n  In Collection: SETR\n")
    rows = tc.read_mmseg(_wheel(tmp_path, "mmsegmentation", {"mmseg/.mim/configs/setr/metafile.yaml": meta}))
    assert [(r["arch"], r["attention"]) for r in rows] == [("SETR", True), ("PSPNet", False)]


def test_lmms_eval_registered_classes_are_registry_entries(tmp_path):
    pkg = _wheel(tmp_path, "lmms_eval", {
        "lmms_eval/models/__init__.py": "AVAILABLE_SIMPLE_MODELS = {'vila': 'VILA'}\n",
        "lmms_eval/models/simple/cambrian.py": "@register_model(\"cambrian\")\nclass Cambrian(lmms):\n    pass\n"})
    assert sorted(r["arch"] for r in bt.read_lmms_eval(pkg)) == ["Cambrian", "VILA"]


def test_a_cited_papers_title_gives_the_authors_spelling():
    assert bt.title_name("@article{m, title={SGPT: GPT Sentence Embeddings for Semantic Search}}") == "SGPT"
    assert bt.title_name('@inproceedings{w, title="Wav2CLIP: Learning Robust Audio Representations"}') == "Wav2CLIP"
    assert bt.title_name("@article{x, title={Text Embeddings by Weakly-Supervised Contrastive Pre-training}}") is None


@pytest.fixture()
def known(tmp_path, monkeypatch):
    """The builder's "families known so far", from a table written here."""
    path = tmp_path / "known.json"
    path.write_text(json.dumps({"families": FAMILIES}), encoding="utf-8")
    monkeypatch.setattr(bt, "_curated_matcher", lambda _known: Taxonomy(path))
    return {"families": FAMILIES}


def test_catalogue_families_are_gated_harder_than_registry_ones(known):
    words = frozenset({"pareto", "inpaint"})
    rows = [{"model": "doubao-seed-1-6", "kind": "llm", "provider": "volcengine"},
            {"model": "doubao-embedding", "kind": "retriever", "provider": "aihubmix"},
            {"model": "inpaint", "kind": "llm", "provider": "stability"},
            {"model": "solo-model-7b", "kind": "llm", "provider": "one"},
            {"model": "o1-mini", "kind": "llm", "provider": "openai"}, {"model": "o1", "kind": "llm", "provider": "azure"}]
    fams = bt._registry_families(rows, bt.catalogue_head, "litellm", known, set(), set(), words, frozenset())
    assert [(f["family"], f.get("names"), f.get("names_versioned")) for f in fams] == [("Doubao", None, ["doubao"])]
    rows = [{"model": "TinyLlama", "kind": "llm"}, {"model": "Llemma 7b", "kind": "llm"}]
    fams = bt._registry_families(rows, bt.catalogue_head, "fschat", known, set(), set(), words, frozenset())
    assert [(f["family"], f.get("names"), f.get("names_versioned")) for f in fams] == [
        ("Llemma", None, ["Llemma"])]  # TinyLlama is known already; a plain-shaped name needs a version


def test_a_model_its_paper_names_is_not_a_derivative(known):
    rows = [{"model": "sgpt-llama-7b-msmarco", "org": "x", "kind": "retriever",
             "title_name": "SGPT"},
            {"model": "udever-llama-1b1", "org": "y", "kind": "retriever"}]
    fams = bt._registry_families(rows, lambda r: bt.mteb_head(r["model"]), "mteb", known, set(), set(),
                                 frozenset(), frozenset())
    assert [(f["family"], f.get("names_cs")) for f in fams] == [("SGPT", ["SGPT"])]


# ---------------------------------------------------------------- compounds and phrases
PHRASE_FAMILIES = FAMILIES + [
    {"family": "Stable Diffusion", "developer": None, "developer_country": None, "kind": "diffusion",
     "names": ["Stable Diffusion", "Latent Diffusion Models"]},
    {"family": "DINO", "developer": None, "developer_country": None, "kind": "vision", "names_cs": ["DINO"]},
    {"family": "Grounding DINO", "developer": None, "developer_country": None, "kind": "vision",
     "names": ["Grounding DINO"]},
    {"family": "Ovis", "developer": None, "developer_country": None, "kind": "multimodal", "names": ["Ovis"]},
    {"family": "Gemma", "developer": None, "developer_country": None, "kind": "llm", "names": ["Gemma"]},
]


@pytest.fixture()
def ptax(tmp_path):
    path = tmp_path / "phrases.json"
    path.write_text(json.dumps({"families": PHRASE_FAMILIES}), encoding="utf-8")
    return Taxonomy(path)


def test_a_spaced_name_is_also_read_hyphenated(ptax):
    assert found(ptax, "Grounding-DINO-L [153] and Stable-Diffusion v1.5") == [
        ("Grounding-DINO-L", "Grounding DINO"), ("Stable-Diffusion v1.5", "Stable Diffusion")]


def test_a_name_of_plain_words_keeps_its_capitals(ptax):
    assert found(ptax, "Latent Diffusion Models (LDMs) [58] and Stable Diffusion") == [
        ("Latent Diffusion Models", "Stable Diffusion"), ("Stable Diffusion", "Stable Diffusion")]
    assert found(ptax, "using latent diffusion models [43]; Latent Diffusion models (LDMs); a stable diffusion") == []


def test_the_base_model_inside_a_derivative_name_is_not_a_mention(ptax):
    mentions = find_mentions(_doc("Ovis1.6-Gemma2-9B [169] and LLaVA-NeXT-Llama-8B beat Gemma-2B."), ptax)
    assert sorted((m.family, m.count) for m in mentions) == [("Gemma", 1), ("Llama", 1), ("Ovis", 1)]
    mentions = find_mentions(_doc("Ovis1.6-Gemma2-9B [169] is strong."), ptax)
    assert [m.family for m in mentions] == ["Ovis"]


def test_builder_leaves_a_name_to_a_family_only_when_it_starts_with_it(tmp_path):
    path = tmp_path / "known.json"
    base = [f for f in PHRASE_FAMILIES if f["family"] != "Grounding DINO"]
    base.append({"family": "ViT", "developer": None, "developer_country": None, "kind": "vision", "names_cs": ["ViT"]})
    path.write_text(json.dumps({"families": base}), encoding="utf-8")
    known = Taxonomy(path)
    assert bt._named_by(known, "DINOv2") and bt._named_by(known, "Gemma-2B")
    assert not bt._named_by(known, "Grounding DINO") and not bt._named_by(known, "OWL-ViT")
