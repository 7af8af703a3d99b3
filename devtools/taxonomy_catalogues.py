"""Model catalogues of API gateways and chat arenas, read for ``devtools.build_taxonomy``.

The transformers/timm/mteb/vllm registries list models that ship weights; the families a
paper compares against through an API (Doubao, Voyage) or a hosted endpoint (Llemma,
Platypus) are listed by the services that price or rank them:

* ``litellm``'s ``model_prices_and_context_window_backup.json`` (MIT, BerriAI): every model
  id the gateway prices, across ~100 providers, with its ``mode`` (chat, embedding, image
  generation, speech ...);
* ``genai-prices``' ``data.py`` (MIT, Pydantic): the ``ModelInfo(id=..., name=...)`` of
  each provider it prices, with the display name when it has one;
* FastChat's ``fastchat/model/model_registry.py`` (Apache-2.0, LMSYS): the
  ``register_model_info([...ids], "Display name", ...)`` calls of the Chatbot Arena models.

Like the other registries the packages are read as files from their wheels, never
imported. Each reader gives rows ``{"model": id or display name, "org": None, "kind": ...}``
that ``build_taxonomy`` groups by their first word and tests against the word list.
Nobody vetted these lists as model families, so the builder gates them harder than the
model registries: a litellm name must be priced by two providers or more (one provider's
product or operation, "inpaint", "classify", is not a family), names of three characters
or fewer are dropped ("o1", "r1" are versions of other families), and a name shaped like a
plain word ("Doubao", "Pareto") counts only with a version or size after it.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Protocol


class Files(Protocol):
    """What a reader needs of a package (``build_taxonomy.Package``)."""

    def names(self) -> list[str]: ...

    def read(self, name: str) -> bytes: ...


#: litellm ``mode`` -> kind (modes that name no model family, such as ``search`` or ``ocr``, are skipped)
LITELLM_MODES = {"chat": "llm", "completion": "llm", "responses": "llm", "realtime": "llm",
                 "embedding": "retriever", "rerank": "retriever",
                 "image_generation": "diffusion", "video_generation": "diffusion",
                 "audio_transcription": "speech", "audio_speech": "speech"}

# routing in an id: "bedrock/us.anthropic.claude-3", "global.openai.gpt-5", "system.ai.kimi-k3",
# "ollama/llama2:13b", "claude-3-5-sonnet@20240620", "accounts/fireworks/models/qwen2-72b"
_ROUTE_PART = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_VERSION_PART = re.compile(r"[vV]?\d")
_TAG = re.compile(r"[@:~].*$")


def model_id_name(model_id: str) -> str:
    """The model part of a gateway id: the last path segment without region, vendor or tag
    ("bedrock/us.anthropic.claude-3-haiku" -> claude-3-haiku, "eu.deepseek.v3.2" ->
    deepseek.v3.2, "ollama/llama2:13b" -> llama2)."""
    name = _TAG.sub("", model_id.strip("/~").rsplit("/", 1)[-1])
    parts = name.split(".")
    # a dotted part is a region or vendor while the next one starts a name, not a version
    while len(parts) > 1 and _ROUTE_PART.fullmatch(parts[0]) and parts[1][:1].isalpha() \
            and not _VERSION_PART.match(parts[1]):
        parts = parts[1:]
    return ".".join(parts)


def read_litellm(pkg: Files) -> list[dict]:
    """Rows of litellm's price table: every priced model id with a model-family mode."""
    path = "litellm/model_prices_and_context_window_backup.json"
    if path not in pkg.names():
        return []
    table = json.loads(pkg.read(path).decode("utf-8"))
    rows = []
    for model_id, spec in table.items():
        if not isinstance(spec, dict) or model_id.startswith("ft:"):
            continue
        kind = LITELLM_MODES.get(str(spec.get("mode")))
        if kind is not None:
            rows.append({"model": model_id_name(model_id), "org": None, "kind": kind, "id": model_id,
                         "provider": str(spec.get("litellm_provider") or "")})
    return rows


def read_genai_prices(pkg: Files) -> list[dict]:
    """Rows of genai-prices: each ``ModelInfo`` of ``genai_prices/data.py``, by its display
    name ("Llemma 7b") when it has one, else by its id."""
    path = "genai_prices/data.py"
    if path not in pkg.names():
        return []
    rows = []
    for node in ast.walk(ast.parse(pkg.read(path).decode("utf-8"))):
        if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ModelInfo"):
            continue
        kw = {k.arg: k.value for k in node.keywords}
        model_id = _constant(kw.get("id"))
        name = _constant(kw.get("name"))
        if isinstance(model_id, str) and model_id:
            rows.append({"model": name if isinstance(name, str) and name else model_id_name(model_id),
                         "org": None, "kind": "llm", "id": model_id})
    return rows


def read_fastchat(pkg: Files) -> list[dict]:
    """Rows of FastChat's model registry: the display name of each
    ``register_model_info(ids, "Display name", link, description)`` call."""
    path = "fastchat/model/model_registry.py"
    if path not in pkg.names():
        return []
    rows = []
    for node in ast.walk(ast.parse(pkg.read(path).decode("utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "register_model_info" and \
                len(node.args) >= 2:
            display = _constant(node.args[1])
            ids = _constant(node.args[0])
            if isinstance(display, str) and display:
                rows.append({"model": display, "org": None, "kind": "llm",
                             "id": ids[0] if isinstance(ids, list) and ids else display})
    return rows


def _constant(node: ast.AST | None):
    try:
        return ast.literal_eval(node) if node is not None else None
    except (ValueError, SyntaxError, TypeError):
        return None


_COLLECTION = re.compile(r"^- Name: (.+)$", re.MULTILINE)
_PAPER_TITLE = re.compile(r"^    Title: (.+(?:\n {6,}\S.*)*)", re.MULTILINE)
# a paper that names its network a Transformer (or built on one) is of the Transformer lineage
_TRANSFORMER_TITLE = re.compile(r"Transformer|Self-Attention|ViT\b", re.IGNORECASE)


def read_mmseg(pkg: Files) -> list[dict]:
    """Rows of OpenMMLab's segmentation model zoo (``mmsegmentation``, Apache-2.0): the
    ``Collections`` of each ``configs/*/metafile.yaml`` (one per method: SETR, PSPNet,
    DeepLabV3, SegNeXt), with the title of the method's paper. A method whose paper title
    calls it a Transformer is of the Transformer lineage; the others (PSPNet, BiSeNet,
    DeepLabV3) are convolutional networks, ``attention: False``."""
    rows = []
    for name in pkg.names():
        if not (name.startswith("mmseg/.mim/configs/") and name.endswith("/metafile.yaml")):
            continue
        text = pkg.read(name).decode("utf-8")
        block = text.split("\nModels:", 1)[0]
        if not block.startswith("Collections:"):
            continue
        for entry in re.split(r"\n(?=- Name: )", block)[1:]:
            coll = _COLLECTION.search(entry)
            title = _PAPER_TITLE.search(entry)
            if coll is None:
                continue
            paper = " ".join(title.group(1).split()) if title else ""
            rows.append({"arch": coll.group(1).strip(), "kind": "vision", "paper": paper,
                         "attention": bool(_TRANSFORMER_TITLE.search(paper))})
    return rows
