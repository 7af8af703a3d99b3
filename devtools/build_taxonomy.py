"""Regenerate ``data/models/families.json`` from model registries and the curated list.

    .venv/bin/pip install --no-deps --target /tmp/taxdeps "transformers==4.57.6" "timm==1.0.31"  # no torch
    .venv/bin/pip download --no-deps -d /tmp/wheels mteb vllm diffusers lmms_eval opencompass open_clip_torch \
        litellm genai-prices fschat mmsegmentation      # the versions of data/README.md, section models
    PYTHONPATH=/tmp/taxdeps .venv/bin/python -m devtools.build_taxonomy --wheels /tmp/wheels
    PYTHONPATH=/tmp/taxdeps .venv/bin/python -m devtools.build_taxonomy --wheels /tmp/wheels --check

(``pip install -e ".[taxonomy]"`` installs transformers and timm into the venv instead.)

Sources, in order (an earlier source owns a name; a later one never overrides it):

1. ``data/models/curated.json``, written by hand: LLM/API families (GPT and the o-series,
   Claude, Gemini, Qwen, DeepSeek, Kimi, GLM, Yi, InternLM, Baichuan, MiniMax, Hunyuan,
   ERNIE, Llama, Mistral, Phi, Gemma, ...), the classic encoders and vision backbones, each
   with developer, developer country and the precision gates that the ordinary-word names
   need (see ``extractor/resolve/models.py``).
2. The ``transformers`` model-type registry (Apache-2.0): ``MODEL_NAMES_MAPPING`` (display
   names) and ``CONFIG_MAPPING_NAMES`` (config classes) of ``models/auto/configuration_auto.py``,
   the task mappings of ``models/auto/modeling_auto.py`` for the kind (causal LM -> llm,
   masked LM -> encoder, speech tasks -> speech, image-text -> multimodal, image tasks ->
   vision), and the first checkpoint named in each model's configuration docstring, whose
   Hub organisation gives the developer when it is in :data:`HUB_ORGS`.
3. ``timm``'s model modules (Apache-2.0): the file names of ``timm/models/*.py``.
4. ``mteb``'s model metadata (Apache-2.0): every ``ModelMeta(name="org/model", citation=...)``
   of ``mteb/models/``: embedding and reranking models (kind ``retriever``), grouped by the
   first word of the model id; the Hub organisation gives the developer.
5. ``vllm``'s model registry (Apache-2.0): the architecture names of
   ``vllm/model_executor/models/registry.py`` (served LLMs, VLMs, embedding models).
6. ``diffusers``' pipelines (Apache-2.0): the pipeline directories, spelled as their
   pipeline classes spell them (ControlNet, AudioLDM, AnimateDiff).
7. ``lmms-eval``'s model registry (MIT): the multimodal models it evaluates (VILA, LongVA).
8. OpenCompass's model configurations (Apache-2.0): the ``abbr`` of each LLM config
   (CodeGeeX, BlueLM, TigerBot, HuatuoGPT), grouped like the mteb ids.
9-11. Catalogues of served and ranked models (``devtools/taxonomy_catalogues.py``):
   ``litellm``'s price table (MIT), ``genai-prices`` (MIT) and FastChat's Chatbot Arena
   registry (Apache-2.0), gated harder than the registries (:data:`CATALOGUES`).
12. ``mmsegmentation``'s model zoo (Apache-2.0): the segmentation methods of its metafiles.

Sources 4-12 are read from wheels (``--wheels``; vllm alone would pull in torch and CUDA) or
from installed distributions. All packages are read as files (zip members or
``importlib.metadata`` file lists, parsed with :mod:`ast`), never imported: importing timm
imports torch, and importing transformers needs a matching tokenizers/huggingface_hub set;
the file contents are the registry either way.

A registry name that starts with an earlier family's name is left to that family (so
"Qwen2_5_VL", "Megatron-BERT" or "Swin Transformer V2" never become families of their own;
"Grounding DINO" does),
and an entry whose id names a known family ("multilingual-e5-large", "flan-t5-base") is that
family's derivative. Ordinary words among registry names (:data:`ORDINARY`: "align", "bark",
"canine", "informer", first names such as "Marian" or "Luke") are kept only in an
all-capitals spelling of at least four letters ("ALIGN", "LUKE") and matched with exact
case; short acronyms (three characters or fewer) are matched with exact case, and the ones
that are everyday abbreviations (:data:`SHORT_COMMON`: LED, RAG, MVP, DAC, PVT ...) are
dropped; generic composites (:data:`SKIP_TYPES`: encoder-decoder wrappers, "time series
transformer", timm helpers) are not model families. Sources 4-8 name hundreds of models
nobody vetted by hand, so their words are tested against a word list instead
(:func:`word_policy`: the byte-pair vocabulary that open_clip ships, MIT).

Vision families record whether the registry's model source computes self-attention
(:func:`uses_attention`); ``"attention": false`` marks a convolutional or MLP network,
which the evaluation's model-mention convention puts in the extended tier.
"""

from __future__ import annotations

import argparse
import ast
import gzip
import json
import re
import sys
import zipfile
from importlib import metadata
from pathlib import Path

from devtools.taxonomy_catalogues import read_fastchat, read_genai_prices, read_litellm, read_mmseg

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "data" / "models"
CURATED = MODELS / "curated.json"
OUT = MODELS / "families.json"

#: Registry model types that are wrappers, generic phrases or helpers, not model families.
SKIP_TYPES = frozenset({
    "encoder-decoder", "speech-encoder-decoder", "vision-encoder-decoder", "vision-text-dual-encoder",
    "timm_backbone", "timm_wrapper", "rag", "time_series_transformer", "trajectory_transformer",
    "auto", "fsmt", "gpt-sw3", "bert-japanese", "t5v1.1", "mms", "madlad-400", "nllb-moe",
    # timm modules that are helpers or generic network builders
    "byobnet", "byoanet", "factory", "features", "fx_features", "helpers", "hub", "registry", "layers",
    "metaformer", "cpubone", "naflexvit", "vision_transformer_hybrid", "vision_transformer_relpos",
    "vision_transformer_sam", "hieradet_sam2", "gemma4_vit", "qwen3_vit", "deepseek_vit", "hardcorenas",
    "sequencer", "starnet", "nest", "twins", "coat", "pit", "eva", "tnt", "volo",
})

#: Registry names that are also ordinary English words, first names or common terms.
ORDINARY = frozenset({
    "align", "aria", "bark", "blt", "bros", "canine", "chameleon", "clap", "doge", "donut", "evolla", "funnel",
    "git", "granite", "helium", "janus", "jukebox", "led", "luke", "marian", "mega", "mimi", "nat",
    "nougat", "realm", "splinter", "tapas", "van", "dia", "bort", "moshi", "arcee",
    "apertus", "csm", "sew", "mvp", "yoso", "esm", "glpn", "mra", "tvp", "dac", "pvt", "ctrl", "bit", "dit",
    "flava", "fuyu", "hiera", "matcha", "lilt", "udop", "vits", "yolos", "dots", "emu", "nezha",
    "cohere", "zamba", "bamba", "jetmoe", "diffllama", "mllama", "swiftformer", "textnet",
    "superpoint", "superglue", "lightglue", "upernet", "dinat", "mamba", "falcon", "phi", "glm", "opt",
    "vitamin", "parakeet", "moonshine", "hubert", "florence", "lxmert", "rwkv", "perception",
})

#: Ordinary words among registry names that ML prose capitalises only for the model: matched
#: in the registry's own spelling, exact case ("Reformer" yes, "reformer" no).
RARE_WORDS = frozenset({"reformer", "informer", "perceiver", "jukebox", "persimmon", "segmenter"})

#: Short acronyms among registry names that everyday text uses for something else.
SHORT_COMMON = frozenset({"LED", "RAG", "MVP", "DAC", "PVT", "NAT", "VAN", "MMS", "CPM", "BLT", "CSM", "MRA", "TVP", "AST",
                          "GIT", "SEW", "ESM", "BiT", "DiT", "GLM", "OPT", "LXM", "TVLT", "CTRL", "LUKE"})

#: Embedding/serving registry names that are software, placeholders or generic words, not models.
REGISTRY_SKIP = frozenset({"fairseq", "terratorch", "param", "multilingual", "paraphrase", "flan", "lgai", "baseline",
                           "mteb", "transformers", "sentence", "consistencymodels", "latentconsistencymodels",
                           "latentdiffusion", "latentdiffusionuncond", "pag", "texttovideosynthesis", "unclip",
                           # diffusion samplers, not models
                           "ddim", "ddpm", "pndm", "scoresdeve", "stochastickarrasve",
                           # evaluation back ends and API clients
                           "vllm", "sglang", "litellmcompatible", "openaicompatible", "asyncopenaichat", "asynchfmodel",
                           "huggingface", "generationapi", "dummy", "fromlog", "batchgpt", "srt", "fastvideo",
                           "whispertt", "whispervllm", "asynchf", "vllmgenerate", "bagellmmsengine",
                           # price-list entries that name a task, a router or an engine of another family
                           "computer", "moderation", "summarize", "uncensored", "rerank", "embed", "switchpoint",
                           "ieit", "davinci", "babbage", "curie", "ada"})

#: Catalogues of served and ranked models (``devtools/taxonomy_catalogues.py``), gated harder than registries.
CATALOGUES = frozenset({"litellm", "genai_prices", "fschat"})
# a name that is not shaped like a plain word: a capital after a letter or a digit ("TinyLlama", "M2M100")
_DISTINCT_SHAPE = re.compile(r"(?<=[A-Za-z])[A-Z]|\d")

#: Hugging Face Hub organisations of registry checkpoints -> (developer, headquarters country).
HUB_ORGS = {
    "facebook": ("Meta", "US"), "FacebookAI": ("Meta", "US"), "meta-llama": ("Meta", "US"), "meta": ("Meta", "US"),
    "google": ("Google", "US"), "google-bert": ("Google", "US"), "google-t5": ("Google", "US"),
    "microsoft": ("Microsoft", "US"), "nvidia": ("NVIDIA", "US"), "openai": ("OpenAI", "US"),
    "openai-community": ("OpenAI", "US"), "Salesforce": ("Salesforce", "US"), "allenai": ("Allen Institute for AI", "US"),
    "apple": ("Apple", "US"), "Intel": ("Intel", "US"), "ibm": ("IBM", "US"), "ibm-granite": ("IBM", "US"),
    "ibm-fms": ("IBM", "US"), "EleutherAI": ("EleutherAI", "US"), "mosaicml": ("MosaicML", "US"),
    "HuggingFaceM4": ("Hugging Face", "US"), "HuggingFaceTB": ("Hugging Face", "US"),
    "huggingface": ("Hugging Face", "US"), "distilbert": ("Hugging Face", "US"), "adept": ("Adept AI", "US"),
    "Zyphra": ("Zyphra", "US"), "LiquidAI": ("Liquid AI", "US"), "suno": ("Suno", "US"),
    "databricks": ("Databricks", "US"), "stabilityai": ("Stability AI", "GB"), "amazon": ("Amazon", "US"),
    "mistralai": ("Mistral AI", "FR"), "kyutai": ("Kyutai", "FR"), "bigscience": ("BigScience", "FR"),
    "laion": ("LAION", "DE"), "CohereForAI": ("Cohere", "CA"), "CohereLabs": ("Cohere", "CA"),
    "tiiuae": ("Technology Innovation Institute", "AE"), "ai21labs": ("AI21 Labs", "IL"),
    "Qwen": ("Alibaba Group", "CN"), "OFA-Sys": ("Alibaba Group", "CN"), "alibaba-damo": ("Alibaba Group", "CN"),
    "deepseek-ai": ("DeepSeek", "CN"), "THUDM": ("Zhipu AI", "CN"), "zai-org": ("Zhipu AI", "CN"),
    "BAAI": ("Beijing Academy of Artificial Intelligence", "CN"), "baidu": ("Baidu", "CN"),
    "tencent": ("Tencent", "CN"), "OpenGVLab": ("Shanghai Artificial Intelligence Laboratory", "CN"),
    "IDEA-Research": ("International Digital Economy Academy", "CN"), "PekingU": ("Peking University", "CN"),
    "ByteDance": ("ByteDance", "CN"), "ByteDance-Seed": ("ByteDance", "CN"), "MiniMaxAI": ("MiniMax", "CN"),
    "moonshotai": ("Moonshot AI", "CN"), "openbmb": ("ModelBest", "CN"), "hustvl": ("Huazhong University of Science and Technology", "CN"),
    "kakaobrain": ("Kakao Brain", "KR"), "LGAI-EXAONE": ("LG AI Research", "KR"), "naver-clova-ix": ("NAVER", "KR"),
    "intfloat": ("Microsoft", "US"), "thenlper": ("Alibaba Group", "CN"), "Alibaba-NLP": ("Alibaba Group", "CN"),
    "jinaai": ("Jina AI", "DE"), "nomic-ai": ("Nomic AI", "US"), "mixedbread-ai": ("Mixedbread", "DE"),
    "Snowflake": ("Snowflake", "US"), "lightonai": ("LightOn", "FR"), "naver": ("NAVER", "KR"),
    "castorini": ("University of Waterloo", "CA"), "codefuse-ai": ("Ant Group", "CN"), "Cohere": ("Cohere", "CA"),
    "perplexity-ai": ("Perplexity AI", "US"), "mongodb": ("MongoDB", "US"), "MongoDB": ("MongoDB", "US"),
    "rinna": ("rinna", "JP"), "abeja": ("ABEJA", "JP"), "sarvamai": ("Sarvam AI", "IN"),
}

# transformers task mappings -> kind (first match wins)
_KIND_MAPPINGS = [
    ("multimodal", ("MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES", "MODEL_FOR_VISION_2_SEQ_MAPPING_NAMES",
                    "MODEL_FOR_ZERO_SHOT_IMAGE_CLASSIFICATION_MAPPING_NAMES", "MODEL_FOR_RETRIEVAL_MAPPING_NAMES")),
    ("speech", ("MODEL_FOR_CTC_MAPPING_NAMES", "MODEL_FOR_SPEECH_SEQ_2_SEQ_MAPPING_NAMES",
                "MODEL_FOR_AUDIO_CLASSIFICATION_MAPPING_NAMES", "MODEL_FOR_TEXT_TO_SPECTROGRAM_MAPPING_NAMES",
                "MODEL_FOR_TEXT_TO_WAVEFORM_MAPPING_NAMES", "MODEL_FOR_AUDIO_XVECTOR_MAPPING_NAMES")),
    ("encoder", ("MODEL_FOR_MASKED_LM_MAPPING_NAMES",)),
    ("llm", ("MODEL_FOR_CAUSAL_LM_MAPPING_NAMES", "MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES")),
    ("vision", ("MODEL_FOR_IMAGE_CLASSIFICATION_MAPPING_NAMES", "MODEL_FOR_OBJECT_DETECTION_MAPPING_NAMES",
                "MODEL_FOR_SEMANTIC_SEGMENTATION_MAPPING_NAMES", "MODEL_FOR_UNIVERSAL_SEGMENTATION_MAPPING_NAMES",
                "MODEL_FOR_DEPTH_ESTIMATION_MAPPING_NAMES", "MODEL_FOR_BACKBONE_MAPPING_NAMES",
                "MODEL_FOR_MASK_GENERATION_MAPPING_NAMES", "MODEL_FOR_KEYPOINT_DETECTION_MAPPING_NAMES",
                "MODEL_FOR_IMAGE_MAPPING_NAMES", "MODEL_FOR_VIDEO_CLASSIFICATION_MAPPING_NAMES")),
]

_SUBCONFIG = re.compile(r"(?:[_-](?:text|vision|audio|speech)(?:_model)?|_(?:encoder|decoder|qformer|backbone|"
                        r"hifigan|tokenizer\w*|hiera_det_model|video|vision_tokenizer)|_with_registers)$")
_BAD_DISPLAY = re.compile(r"(?:Model|Config|ForCausalLM|ForConditionalGeneration|Encoder|VisionTransformer)$")
_HUB_LINK = re.compile(r"huggingface\.co/([A-Za-z0-9_.-]+)/[A-Za-z0-9_.-]+")


# ------------------------------------------------------------------ reading the packages
def _dist_file(dist: str, suffix: str) -> Path | None:
    try:
        files = metadata.files(dist) or []
    except metadata.PackageNotFoundError:
        return None
    for f in files:
        if str(f).replace("\\", "/").endswith(suffix):
            return Path(f.locate())
    return None


def _dicts_in(path: Path, names: set[str] | None = None) -> dict[str, dict[str, str]]:
    """Module-level ``NAME = OrderedDict([...])`` / ``{...}`` literals of a source file, by name."""
    out: dict[str, dict[str, str]] = {}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if not isinstance(node, ast.Assign) or not isinstance(node.targets[0], ast.Name):
            continue
        name = node.targets[0].id
        if names is not None and name not in names:
            continue
        value = node.value
        if isinstance(value, ast.Call) and value.args:
            value = value.args[0]
        try:
            lit = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            continue
        if isinstance(lit, dict):
            out[name] = {str(k): str(v) for k, v in lit.items()}
        elif isinstance(lit, list | tuple) and all(isinstance(p, tuple) and len(p) == 2 for p in lit):
            out[name] = {str(k): str(v) for k, v in lit}
    return out


def read_transformers() -> tuple[str, list[dict]]:
    """(version, one row per model type: type, display, config class, kind, checkpoint org)."""
    version = metadata.version("transformers")
    conf = _dist_file("transformers", "models/auto/configuration_auto.py")
    if conf is None:
        raise SystemExit("transformers is not installed: pip install -e '.[taxonomy]'")
    maps = _dicts_in(conf, {"CONFIG_MAPPING_NAMES", "MODEL_NAMES_MAPPING", "SPECIAL_MODEL_TYPE_TO_MODULE_NAME"})
    generated = _dist_file("transformers", "models/auto/auto_mappings.py")  # transformers 5: generated there
    if generated is not None:
        for k, v in _dicts_in(generated, {"CONFIG_MAPPING_NAMES", "SPECIAL_MODEL_TYPE_TO_MODULE_NAME"}).items():
            maps.setdefault(k, {}).update(v)
    configs = maps.get("CONFIG_MAPPING_NAMES", {})
    display = maps.get("MODEL_NAMES_MAPPING", {})
    modules = maps.get("SPECIAL_MODEL_TYPE_TO_MODULE_NAME", {})
    modeling = _dist_file("transformers", "models/auto/modeling_auto.py")
    task = _dicts_in(modeling) if modeling is not None else {}
    models_dir = conf.parent.parent
    rows = []
    for mtype in sorted(set(configs) | set(display)):
        kind = next((k for k, names in _KIND_MAPPINGS if any(mtype in task.get(n, {}) for n in names)), "architecture")
        module = modules.get(mtype, mtype.replace("-", "_"))
        org = None
        cfile = models_dir / module / f"configuration_{module}.py"
        if cfile.exists():
            for m in _HUB_LINK.finditer(cfile.read_text(encoding="utf-8")):
                if m.group(1) not in ("papers", "docs", "datasets", "transformers", "spaces", "models"):
                    org = m.group(1)
                    break
        mfile = models_dir / module / f"modeling_{module}.py"
        source = mfile.read_text(encoding="utf-8") if mfile.exists() else ""
        attention = uses_attention(source) or (None if not source or _BACKBONE_RE.search(source) else False)
        rows.append({"type": mtype, "display": display.get(mtype), "config": configs.get(mtype), "kind": kind,
                     "org": org, "attention": attention})
    return version, rows


def read_timm() -> tuple[str, dict[str, bool]]:
    """(version, {model module name of timm/models/*.py: does the model use self-attention}),
    read from the installed file list. A module that builds on another one (deit on
    vision_transformer) inherits that module's attention."""
    version = metadata.version("timm")
    texts: dict[str, str] = {}
    for f in metadata.files("timm") or []:
        parts = str(f).replace("\\", "/").split("/")
        if len(parts) == 3 and parts[0] == "timm" and parts[1] == "models" and parts[2].endswith(".py"):
            stem = parts[2][:-3]
            if not stem.startswith("_"):
                texts[stem] = Path(f.locate()).read_text(encoding="utf-8")
    own = {m: uses_attention(t) for m, t in texts.items()}
    out = {}
    for m, t in texts.items():
        bases = re.findall(r"^from \.(\w+) import", t, re.MULTILINE)
        out[m] = own[m] or any(own.get(b, False) for b in bases)
    return version, dict(sorted(out.items()))


_ATTENTION_RE = re.compile(r"class \w*Attention\w*\(|scaled_dot_product_attention|fused_attn|MultiheadAttention|"
                           r"\bAttention\(|\battn\s*=\s*\w*Attention|softmax\(\s*(?:attn|q\s*@)|"
                           r"@\s*k\w*\.transpose\(|k\w*\.transpose\(-2,\s*-1\)|matmul\(\s*q\w*,\s*k\w*\.transpose")
#: a model built around a backbone loaded by name (any architecture): its lineage is unknown
_BACKBONE_RE = re.compile(r"load_backbone\(|AutoModel\w*\.from_config\(")


def uses_attention(source: str) -> bool:
    """Does a model's source file compute self-attention? A vision model that does not is a
    convolutional (or MLP) network: the project's mention convention puts those in the
    extended tier, the Transformer lineage in the core one."""
    return _ATTENTION_RE.search(source) is not None


class Package:
    """One registry package's files, from a wheel in ``wheels`` (``pip download --no-deps``:
    vllm alone would pull in torch and CUDA) or else from the installed distribution."""

    def __init__(self, dist: str, wheels: Path | None) -> None:
        self.dist = dist
        self.version: str | None = None
        self._zip: zipfile.ZipFile | None = None
        stem = re.sub(r"[-_.]+", "_", dist).casefold()
        found = sorted(wheels.glob("*.whl")) if wheels is not None and wheels.is_dir() else []
        for whl in found:
            name, _, rest = whl.name.partition("-")
            if name.casefold() == stem:
                self._zip = zipfile.ZipFile(whl)
                self.version = rest.split("-")[0]
        if self._zip is None:
            try:
                self.version = metadata.version(dist)
            except metadata.PackageNotFoundError:
                pass

    def names(self) -> list[str]:
        if self._zip is not None:
            return self._zip.namelist()
        return [str(f).replace("\\", "/") for f in (metadata.files(self.dist) or [])]

    def read(self, name: str) -> bytes:
        if self._zip is not None:
            return self._zip.read(name)
        f = next(f for f in metadata.files(self.dist) or [] if str(f).replace("\\", "/") == name)
        return Path(f.locate()).read_bytes()


def _literal(node: ast.AST | None):
    try:
        return ast.literal_eval(node) if node is not None else None
    except (ValueError, SyntaxError, TypeError):
        return None


def read_mteb(pkg: Package) -> list[dict]:
    """Rows of the MTEB model registry: every ``ModelMeta(name="org/model", ...)`` of
    ``mteb/models/**.py`` that cites a paper (``citation=``): the embedding and reranking
    models the benchmark evaluates, with their Hub organisation and modalities."""
    rows = []
    for name in pkg.names():
        if not (name.startswith("mteb/models/") and name.endswith(".py")):
            continue
        tree = ast.parse(pkg.read(name).decode("utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ModelMeta"):
                continue
            kw = {k.arg: k.value for k in node.keywords}
            full = _literal(kw.get("name"))
            cited = kw.get("citation")
            if not isinstance(full, str) or "/" not in full or cited is None or _literal(cited) == "":
                continue
            if isinstance(cited, ast.Constant) and cited.value is None:
                continue
            org, _, model = full.partition("/")
            modalities = _literal(kw.get("modalities")) or ["text"]
            kind = ("multimodal" if {"image", "video"} & set(modalities) else
                    "speech" if "audio" in modalities else "retriever")
            row = {"model": model, "org": org, "kind": kind}
            titled = title_name(_literal(cited) or "")
            if titled is not None:
                row["title_name"] = titled
            rows.append(row)
    return rows


_TITLE_FIELD = re.compile(r"\btitle\s*=\s*[{\"]+([^}\"]+)")
# "SGPT: GPT Sentence Embeddings for Semantic Search": the name a paper gives its model
_TITLE_LEAD = re.compile(r"([A-Za-z][\w.+-]{1,30})\s*:\s")


def title_name(citation: str) -> str | None:
    """The model name that a cited paper's title leads with ("SGPT: GPT Sentence Embeddings
    ..." -> SGPT), in its authors' spelling; None for a title without one."""
    m = _TITLE_FIELD.search(citation) if isinstance(citation, str) else None
    lead = _TITLE_LEAD.match(m.group(1).strip()) if m else None
    return lead.group(1) if lead else None


#: vLLM registry tables -> kind (the speculative-decoding and generic "Transformers" tables name no model)
_VLLM_TABLES = {"_TEXT_GENERATION_MODELS": "llm", "_MULTIMODAL_MODELS": "multimodal", "_EMBEDDING_MODELS": "retriever",
                "_LATE_INTERACTION_MODELS": "retriever", "_REWARD_MODELS": "llm",
                "_TRANSFORMERS_SUPPORTED_MODELS": "llm", "_PREVIOUSLY_SUPPORTED_MODELS": "llm"}


def read_vllm(pkg: Package) -> list[dict]:
    """Rows of vLLM's model registry (``vllm/model_executor/models/registry.py``): the Hub
    architecture names it serves ("XverseForCausalLM", "MolmoForCausalLM", "NVLM_D")."""
    path = "vllm/model_executor/models/registry.py"
    if path not in pkg.names():
        return []
    rows = []
    for node in ast.parse(pkg.read(path).decode("utf-8")).body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        kind = _VLLM_TABLES.get(getattr(target, "id", ""))
        if kind is None or not isinstance(node.value, ast.Dict):
            continue
        rows += [{"arch": k.value, "kind": kind} for k in node.value.keys
                 if isinstance(k, ast.Constant) and isinstance(k.value, str)]
    return rows


def read_diffusers(pkg: Package) -> list[dict]:
    """Rows of the diffusers pipeline registry: the directory names of
    ``diffusers/pipelines/`` and ``diffusers/pipelines/deprecated/`` (one per generative
    model family: "controlnet", "t2i_adapter", "audioldm2", "animatediff")."""
    classes: dict[str, set[str]] = {}
    for name in pkg.names():
        parts = name.split("/")
        if parts[:2] == ["diffusers", "pipelines"] and len(parts) >= 4 and parts[-1].endswith(".py"):
            sub = parts[3] if parts[2] == "deprecated" and len(parts) >= 5 else parts[2]
            if sub != "deprecated" and not sub.startswith("_"):
                text = pkg.read(name).decode("utf-8")
                classes.setdefault(sub, set()).update(re.findall(r"^class (\w+?)Pipeline\w*\(", text, re.MULTILINE))
    rows = []
    for sub, names in sorted(classes.items()):
        # the authors' spelling, from the pipeline classes: "controlnet" -> ControlNet, "repaint" -> RePaint
        key = re.sub(r"[^a-z]", "", base_type(sub))
        display = next((c[i : i + len(key)] for c in sorted(names, key=len)
                        if len(key) >= 4 and (i := c.casefold().find(key)) >= 0), None)
        rows.append({"pipeline": sub, "display": display, "kind": "diffusion"})
    return rows


_REGISTERED_CLASS = re.compile(r"^@register_model\([^)]*\)\s*\nclass (\w+)\(", re.MULTILINE)


def read_lmms_eval(pkg: Package) -> list[dict]:
    """Rows of lmms-eval's model registry: the ``AVAILABLE_*_MODELS`` dicts of
    ``lmms_eval/models/__init__.py`` (module name -> class name) and the classes its model
    modules register with ``@register_model(...)``: the multimodal models the evaluation
    suite runs, in their authors' spelling ("VILA", "LongVA", "VideoChat2", "Cambrian")."""
    path = "lmms_eval/models/__init__.py"
    if path not in pkg.names():
        return []
    rows = []
    for name in pkg.names():
        if name.startswith("lmms_eval/models/") and name.endswith(".py"):
            rows += [{"arch": cls, "kind": "multimodal"}
                     for cls in _REGISTERED_CLASS.findall(pkg.read(name).decode("utf-8"))]
    for node in ast.parse(pkg.read(path).decode("utf-8")).body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if not re.fullmatch(r"AVAILABLE_\w*MODELS", getattr(target, "id", "")):
            continue
        table = _literal(node.value)
        if isinstance(table, dict):
            rows += [{"arch": str(cls), "kind": "multimodal"} for cls in table.values()]
    return rows


def read_opencompass(pkg: Package) -> list[dict]:
    """Rows of OpenCompass's model configurations (``opencompass/configs/models/**.py``):
    the ``abbr`` of every open or API LLM the evaluation platform ships a config for
    ("codegeex2-6b", "bluelm-7b-chat-hf", "tigerbot-13b-chat-v2-hf")."""
    rows = []
    for name in pkg.names():
        if not (name.startswith("opencompass/configs/models/") and name.endswith(".py")):
            continue
        for node in ast.walk(ast.parse(pkg.read(name).decode("utf-8"))):
            abbr = None
            if isinstance(node, ast.keyword) and node.arg == "abbr":
                abbr = _literal(node.value)
            elif isinstance(node, ast.Dict):
                abbr = next((_literal(v) for k, v in zip(node.keys, node.values, strict=True)
                             if isinstance(k, ast.Constant) and k.value == "abbr"), None)
            if isinstance(abbr, str) and abbr:
                rows.append({"model": abbr, "org": None, "kind": "llm"})
    return rows


def read_word_list(pkg: Package, merges: int = 49152 - 256 - 2) -> frozenset[str]:
    """Words: the whole-word tokens of the byte-pair vocabulary open_clip ships (OpenAI
    CLIP's, learned from web text). In its first 48,894 merges, the ones CLIP uses, a
    registry name ("radio", "fusion", "solar", "bagel") is an ordinary word before it is a
    model; in the first 100,000 ("chroma", "marigold", "aquila") it is a rarer word, still
    a word when printed without a version or a citation."""
    name = "open_clip/bpe_simple_vocab_16e6.txt.gz"
    if name not in pkg.names():
        return frozenset()
    lines = gzip.decompress(pkg.read(name)).decode("utf-8").split("\n")[1 : merges + 1]
    return frozenset(m.replace(" ", "").removesuffix("</w>") for m in lines if m.endswith("</w>"))


# ------------------------------------------------------------------ names and policy
def _variants(mtype: str) -> list[str]:
    """Hyphenated and joined forms of a type key ("mlp_mixer" -> MLP-Mixer, MLPMixer).

    Never the spaced form: "speech to text" or "visual bert" are phrases before they are names.
    """
    if not re.search(r"[_-]", mtype):
        return [mtype]
    parts = re.split(r"[_-]", mtype)
    return ["-".join(parts), "".join(parts)]


def spellings(row: dict) -> list[str]:
    """Every way a registry row is written: display name and config class stem when the
    registry has them (their case and spacing are the authors'), else the type key's forms."""
    forms = []
    display = row.get("display")
    if display and not _BAD_DISPLAY.search(display) and "Timm" not in display:
        forms.append(display.removeprefix("OpenAI "))
    config = row.get("config")
    if config and row.get("config_unique", True) and config.endswith("Config") and len(config) > 6 \
            and "Timm" not in config:
        forms.append(config[: -len("Config")])
    if not forms:
        forms.extend(_variants(row["type"]))
    for f in list(forms):  # "Ovis2", "Idefics3": the unversioned name is written too (the matcher adds versions)
        m = re.fullmatch(r"([A-Za-z][A-Za-z-]*?[A-Za-z])[-_ ]?[vV]?\d+(?:[._]\d+)*", f)
        if m and len(m.group(1)) >= 4:
            forms.append(m.group(1))
    seen, out = set(), []
    for f in forms:
        f = f.strip()
        if f and f not in seen and re.search(r"[A-Za-z]{2}", f):
            seen.add(f)
            out.append(f)
    return out


def base_type(mtype: str) -> str:
    """The type a variant belongs to: sub-configs and trailing versions removed (qwen3_moe stays)."""
    t = _SUBCONFIG.sub("", mtype)
    stripped = re.sub(r"(?:[_-]?v?\d+(?:[._p]\d+)*)$", "", t)
    return stripped if len(re.sub(r"[^a-z]", "", stripped)) >= 4 else t


def policy(form: str) -> tuple[str, str] | None:
    """("ci" | "cs", form) for a spelling, or None when it is too ambiguous to match at all."""
    letters = re.sub(r"[^A-Za-z0-9]", "", form)
    key = letters.casefold()
    if key in RARE_WORDS and form[:1].isupper():
        return "cs", form
    if key in ORDINARY or key in RARE_WORDS or form.casefold() in ORDINARY:
        if letters.isupper() and len(letters) >= 4 and form not in SHORT_COMMON:
            return "cs", form
        return None
    if len(letters) <= 3 or (len(letters) <= 4 and letters.isupper()):
        if form in SHORT_COMMON or letters.upper() in SHORT_COMMON or letters.islower():
            return None
        return "cs", form
    return "ci", form


# ------------------------------------------------------------------ building
def _curated_matcher(curated: dict):
    sys.path.insert(0, str(ROOT))
    from extractor.resolve.models import Taxonomy

    tmp = MODELS / ".curated-check.json"
    tmp.write_text(json.dumps(curated), encoding="utf-8")
    try:
        return Taxonomy(tmp)
    finally:
        tmp.unlink()


def _named_by(tax, form: str) -> bool:
    """Does ``form`` start with a known family's name ("Qwen2_5_VL", "Megatron-BERT")? A
    family named later in it is a model of its own built on that one ("Grounding DINO",
    "OWL-ViT", "Chinese-CLIP")."""
    return any(h.start == 0 for h in tax.find(form))


def _owned(form: str, curated_keys: set[str]) -> bool:
    """Is ``form`` a curated name in another case, or that name plus a version ("Ernie4_5")?"""
    key = re.sub(r"[^a-z0-9]", "", form.casefold())
    first = re.sub(r"\d.*$", "", re.split(r"[\s_-]", form.casefold())[0])
    return key in curated_keys or (len(first) >= 3 and first in curated_keys) or any(
        len(k) >= 5 and key.startswith(k) for k in curated_keys)


def mteb_head(model: str) -> str:
    """The family part of an MTEB model id: its first word, versions off ("bge-m3" -> bge,
    "siglip2-base-patch16" -> siglip, "e5-large-v2" -> e5); a two-capital prefix takes the
    next word along ("NV-Embed-v2" -> NV-Embed). A name ending in a letter-digit model name
    keeps it ("monot5", "mmE5": T5 and E5 are not versions)."""
    toks = [t for t in re.split(r"[-_ ]", model) if t]
    head = toks[0]
    if len(toks) > 1 and re.fullmatch(r"[A-Z]{1,2}", head):
        head = f"{head}-{toks[1]}"
    m = re.search(r"[-_.]?[vV]?\d+(?:\.\d+)*$", head)
    if m is None or (m.group(0)[:1].isdigit() and re.search(r"[A-Za-z]\d+$", head[: m.end()]) and
                     re.sub(r"\d+$", "", head)[-1:].casefold() in "et" and len(head) > 2):
        return head
    stripped = head[: m.start()]
    return stripped if len(re.sub(r"[^A-Za-z]", "", stripped)) >= 3 else head


_VLLM_TAIL = re.compile(r"(?:For[A-Z]\w*|LMHeadModel|ChatModel|Model|Realtime\w*|Generation|Bidirectional|Draft)$"
                        r"|(?:_?Mo[eE]\w*|_?V?\d\w*|_[A-Z]\w*)$")


def vllm_head(arch: str) -> str:
    """The model name in a vLLM architecture class ("XverseForCausalLM" -> Xverse,
    "Ernie4_5_VLMoeForConditionalGeneration" -> Ernie, "NVLM_D" -> NVLM, "HF_ColBERT" -> ColBERT)."""
    name, prev = re.sub(r"^(?:HF_|Hf(?=[A-Z]))", "", arch), None
    while name != prev:
        prev, name = name, _VLLM_TAIL.sub("", name)
    return name


def catalogue_head(row: dict) -> str:
    """The family part of a price-list or arena name: its first word, versions off, a dot
    separating like a hyphen ("doubao-seed-1.6" -> doubao, "Llemma 7b" -> Llemma,
    "deepseek.v3.2" -> deepseek)."""
    return mteb_head(row["model"].replace(".", "-"))


def diffusers_head(row: dict) -> str:
    """The model name of a diffusers pipeline, versions off: its pipeline classes' spelling
    ("audioldm2" -> AudioLDM, "repaint" -> RePaint), else the directory's ("t2i_adapter" ->
    t2i-adapter)."""
    return row.get("display") or _variants(base_type(row["pipeline"]))[0]


def word_policy(form: str, words: frozenset[str], rows: int, exact_title: bool = False,
                rare: frozenset[str] = frozenset()) -> tuple[str, str] | None:
    """:func:`policy` for the embedding and serving registries, whose names are often plain
    words ("radio", "fusion", "solar"): a name that is an ordinary word (``words``) counts only
    in a spelling with a capital inside it ("ColBERT"), matched exactly; a name of three
    characters or fewer ("bge", "e5") is matched upper-case and exactly, and only when the
    registry lists a family of it (five models or more), not a one-off upload; a four-letter
    name keeps its case unless it is written all lower-case (then it too needs five entries).
    ``exact_title``: a registry whose names are class names matches a plain capitalised word
    only capitalised. A rarer word (``rare``) gives ``("gated", form)``: matched in its
    own case and only with a version/size suffix or a citation right after it."""
    letters = re.sub(r"[^A-Za-z0-9]", "", form)
    if len(letters) < 2 or not re.search(r"[A-Za-z]", letters) or letters.casefold() in REGISTRY_SKIP:
        return None
    word = re.sub(r"\d+$", "", letters).casefold()
    if word in words or letters.casefold() in words or word in ORDINARY:  # "ColBERT", not "radio"
        if re.search(r"[a-z][A-Z]", form):
            return "cs", form
        # an ordinary word in capitals ("VILA", "RADIO") is a heading as often as a model
        return ("gated", form) if letters.isupper() and len(letters) >= 4 else None
    if len(letters) > 3 and (word in rare or letters.casefold() in rare) and not re.search(r"[a-z][A-Z]", form):
        # "Aquila-VL-2B", "Marigold [23]", never "Chroma ↑"
        return "gated", form
    if exact_title and re.fullmatch(r"[A-Z][a-z]+(?: [A-Z][a-z]+)*", form):  # "Kolors", "Stable Audio"
        return "cs", form
    if len(letters) <= 3:
        if rows < 5:
            return None
        form = form.upper()
    elif len(letters) == 4:  # "MiMo" is not "MIMO", "ruri" needs a family of entries
        if letters.islower() and rows < 5:
            return None
        return ("cs", form) if not letters.islower() else ("ci", form)
    return policy(form)


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.casefold())


def _first_word(name: str) -> str:
    m = re.match(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", name)
    return m.group(0).casefold() if m else ""


def _registry_families(rows: list[dict], head_of, source: str, known: dict, keys: set[str], taken: set[str],
                       words: frozenset[str], rare: frozenset[str]) -> list[dict]:
    """Families of one embedding/serving registry, grouped by the name their entries share;
    a name the table already knows (any case, any version, or its first camel-case word:
    "BgeM3Embedding" is BGE's) stays with that family."""
    tax = _curated_matcher(known)
    catalogue = source in CATALOGUES
    groups: dict[str, list[tuple[str, dict]]] = {}
    for r in rows:
        head = head_of(r)
        key = re.sub(r"[^a-z0-9]", "", head.casefold())
        if len(key) < 2:
            continue
        groups.setdefault(key, []).append((head, r))
    # "SGPT: GPT Sentence Embeddings ...": the cited paper names the model; its spelling is the authors'
    titled = {key: sorted({r["title_name"] for _, r in members if _key(r.get("title_name") or "") == key})
              for key, members in groups.items()}
    # "multilingual-e5-large", "udever-bloom-1b1", "flan-t5-base": an entry whose id names a
    # known family or a larger family of the same registry is that family's derivative, unless
    # a cited paper introduces the model under its own name ("sgpt-bloom-7b1" is SGPT)
    big = {k for k, v in groups.items() if len(v) >= 5}
    for key in list(groups):
        ids = [r.get("model") or r.get("arch") or r.get("pipeline") or "" for _, r in groups[key]]
        if not titled[key] and \
                all(tax.find(i) or any(t.casefold() in big - {key} for t in re.split(r"[-_ ]", i)[1:]) for i in ids):
            del groups[key]
    out = []
    for key, members in sorted(groups.items()):
        heads = sorted({h for h, _ in members} | set(titled[key]), key=lambda h: (-sum(c.isupper() for c in h), h))
        if any(tax.find(h) or _owned(h, keys) or _first_word(h) in keys for h in heads):
            continue
        providers = {r["provider"] for _, r in members if r.get("provider")}
        if catalogue and any("provider" in r for _, r in members) and len(providers) < 2:
            continue  # one provider's product or operation ("inpaint", "classify"), not a family
        names, names_cs, gated = [], [], []
        for h in list(heads):
            parts = re.findall(r"[A-Z][a-z]{2,}", h)
            if source == "diffusers" and len(parts) >= 2 and "".join(parts) == h and \
                    all(len(w) >= 5 and w.casefold() in words for w in parts):
                heads.append(" ".join(parts))  # "StableVideoDiffusion" is printed "Stable Video Diffusion"
        for h in heads:
            if catalogue and len(re.sub(r"[^A-Za-z0-9]", "", h)) <= 3:
                continue  # "o1", "r1", "L3": versions and abbreviations of other families
            p = word_policy(h, words, len(members), exact_title=source == "diffusers", rare=rare)
            if p is None or p[1].casefold() in {n.casefold() for n in names + names_cs + gated}:
                continue
            {"ci": names, "cs": names_cs, "gated": gated}[p[0]].append(p[1])
        if not names and not names_cs:  # a family named only by words is gated as a whole
            names_cs = gated
        if not names and not names_cs:
            continue
        label = (names_cs or names)[0] if names_cs and len(re.sub(r"[^A-Za-z0-9]", "", names_cs[0])) <= 3 \
            else (names + names_cs)[0]
        if label.casefold() in taken:
            continue
        taken.add(label.casefold())
        if catalogue and label.islower():
            label = label[:1].upper() + label[1:]  # "doubao" -> Doubao: a price list spells ids, not names
        kinds = [r["kind"] for _, r in members]
        orgs = [r.get("org") for _, r in members if r.get("org") in HUB_ORGS]
        developer, country = HUB_ORGS[max(set(orgs), key=orgs.count)] if orgs else (None, None)
        fam: dict = {"family": label, "developer": developer, "developer_country": country,
                     "kind": max(kinds, key=kinds.count)}
        if catalogue and not any(_DISTINCT_SHAPE.search(n) for n in names + names_cs):
            # a price-list name shaped like a plain word ("Doubao", "Pareto"): only with a version or size
            fam["names_versioned"] = names + names_cs
            names, names_cs = [], []
        if names:
            fam["names"] = names
        if names_cs:
            fam["names_cs"] = names_cs
        if names_cs is gated:
            fam["require_suffix"] = fam["cited_bare"] = True
        if fam["kind"] == "vision" and all(r.get("attention") is False for _, r in members):
            fam["attention"] = False
        fam["source"] = source
        fam["registry"] = sorted({r.get("id") or r.get("arch") or r.get("pipeline")
                                  or "/".join(filter(None, (r.get("org"), r["model"]))) for _, r in members})
        out.append(fam)
        keys.add(key)
    return out


def build(wheels: Path | None = None) -> dict:
    curated = json.loads(CURATED.read_text(encoding="utf-8"))
    tax = _curated_matcher(curated)
    families = list(curated["families"])
    taken = {f["family"].casefold() for f in families}
    curated_keys = {re.sub(r"[^a-z0-9]", "", n.casefold()) for f in families
                    for n in [f["family"], *f.get("names", []), *f.get("names_cs", [])]}
    for f in families:
        f.setdefault("source", "curated")
    tf_version, rows = read_transformers()
    timm_version, timm_modules = read_timm()
    rows += [{"type": m, "display": None, "config": None, "kind": "vision", "org": None, "source": "timm",
              "attention": att} for m, att in timm_modules.items()]
    by_type = {r["type"]: r for r in rows if "source" not in r}
    config_uses: dict[str, int] = {}
    for r in by_type.values():
        config_uses[r["config"]] = config_uses.get(r["config"], 0) + 1
    for r in by_type.values():
        r["config_unique"] = config_uses.get(r["config"], 0) == 1
    groups: dict[str, list[dict]] = {}
    for r in rows:
        if r["type"] in SKIP_TYPES:
            continue
        if _SUBCONFIG.search(r["type"]) and _SUBCONFIG.sub("", r["type"]) in by_type:
            continue  # the text/vision/audio half of a model listed on its own
        forms = spellings(r)
        if any(_named_by(tax, f) or _owned(f, curated_keys) for f in forms):
            continue  # a curated family owns it (in any case: "Hubert" is not a second HuBERT)
        groups.setdefault(base_type(r["type"]), []).append(r)
    used_forms: set[str] = set()
    for base, members in sorted(groups.items()):
        head = by_type.get(base) or min(members, key=lambda r: (len(r["type"]), r["type"]))
        if base in SKIP_TYPES or head["type"] in SKIP_TYPES:
            continue
        names, names_cs = [], []
        # data2vec-audio/-text -> data2vec; a base that is a plain word ("perception") is not a name
        shared = [{"type": base}] if base not in by_type and base != head["type"] and re.search(r"\d", base) else []
        for r in shared + [head] + [m for m in members if m is not head]:
            for form in spellings(r):
                p = policy(form)
                if p is None or form.casefold() in used_forms:
                    continue
                used_forms.add(form.casefold())
                (names if p[0] == "ci" else names_cs).append(form)
        if not names and not names_cs:
            continue
        label = next((f for r in shared + [head] for f in spellings(r) if policy(f)), (names or names_cs)[0])
        if label.casefold() in taken:
            continue
        taken.add(label.casefold())
        org = next((r["org"] for r in [head, *members] if r.get("org")), None)
        developer, country = HUB_ORGS.get(org, (None, None)) if org else (None, None)
        kinds = [r["kind"] for r in [head, *members]]
        kind = next((k for k in ("multimodal", "speech", "encoder", "llm", "vision") if k in kinds), "architecture")
        fam: dict = {"family": label, "developer": developer, "developer_country": country, "kind": kind}
        if kind == "vision" and all(r.get("attention") is False for r in [head, *members]):
            fam["attention"] = False
        if names:
            fam["names"] = names
        if names_cs:
            fam["names_cs"] = names_cs
        fam["source"] = head.get("source", "transformers")
        fam["registry"] = sorted({r["type"] for r in [head, *members]})
        families.append(fam)
    keys = {re.sub(r"[^a-z0-9]", "", n.casefold()) for f in families
            for n in [f["family"], *f.get("names", []), *f.get("names_cs", [])]}
    words = read_word_list(Package("open_clip_torch", wheels))
    rare = read_word_list(Package("open_clip_torch", wheels), 100_000) - words
    versions = {"transformers": tf_version, "timm": timm_version}
    if not words:
        raise SystemExit("open_clip_torch (its word list) not found: pip download --no-deps -d WHEELS open_clip_torch")
    versions["open_clip_torch"] = Package("open_clip_torch", wheels).version
    for dist, reader, head_of in (("mteb", read_mteb, lambda r: mteb_head(r["model"])),
                                  ("vllm", read_vllm, lambda r: vllm_head(r["arch"])),
                                  ("diffusers", read_diffusers, diffusers_head),
                                  ("lmms_eval", read_lmms_eval, lambda r: vllm_head(r["arch"])),
                                  ("opencompass", read_opencompass, lambda r: mteb_head(r["model"])),
                                  ("litellm", read_litellm, catalogue_head),
                                  ("genai_prices", read_genai_prices, catalogue_head),
                                  ("fschat", read_fastchat, catalogue_head),
                                  ("mmsegmentation", read_mmseg, lambda r: re.sub(r"(?:V\d+)?\+?$", "", r["arch"]))):
        pkg = Package(dist, wheels)
        if pkg.version is None:
            raise SystemExit(f"{dist} not found: pip download --no-deps -d WHEELS {dist}, then --wheels WHEELS")
        versions[dist] = pkg.version
        families += _registry_families(reader(pkg), head_of, dist, {"families": families}, keys, taken, words, rare)
    about = (curated["about"].split(" devtools/build_taxonomy.py")[0]
             + f" Generated by devtools/build_taxonomy.py from data/models/curated.json (CC0), the transformers "
               f"{tf_version} model-type registry, the timm {timm_version} model modules, the mteb "
               f"{versions['mteb']} model metadata, the vllm {versions['vllm']} model registry and the diffusers "
               f"{versions['diffusers']} pipelines (all Apache-2.0), the lmms-eval {versions['lmms_eval']} model registry "
               f"(MIT), the OpenCompass {versions['opencompass']} model configurations (Apache-2.0), "
               f"the litellm {versions['litellm']} and genai-prices {versions['genai_prices']} price tables (MIT) "
               f"the FastChat {versions['fschat']} model registry and the mmsegmentation "
               f"{versions['mmsegmentation']} model zoo (Apache-2.0), "
               f"with the open_clip_torch {versions['open_clip_torch']} byte-pair vocabulary (MIT) as the list of "
               "ordinary words; source says which. Edit curated.json or the builder, not this file.")
    return {"about": about, "generated_with": versions, "families": families}


def render(data: dict) -> str:
    head = {k: v for k, v in data.items() if k != "families"}
    lines = ["{"] + [f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}," for k, v in head.items()]
    lines.append('"families": [')
    lines.append(",\n".join(json.dumps(f, ensure_ascii=False) for f in data["families"]))
    lines += ["]", "}", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if data/models/families.json is stale")
    ap.add_argument("--wheels", type=Path, default=None,
                    help="directory of wheels from `pip download --no-deps mteb vllm ...` (data/README.md) "
                         "(read as zip files; installed distributions are used otherwise)")
    args = ap.parse_args(argv)
    text = render(build(args.wheels))
    if args.check:
        if OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is stale: run python -m devtools.build_taxonomy", file=sys.stderr)
            return 1
        print(f"{OUT} is up to date")
        return 0
    OUT.write_text(text, encoding="utf-8")
    data = json.loads(text)
    by_source: dict[str, int] = {}
    for f in data["families"]:
        by_source[f["source"]] = by_source.get(f["source"], 0) + 1
    print(f"wrote {OUT}: {len(data['families'])} families {by_source}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
