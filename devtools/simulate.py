"""Simulation mode: measure routing and calibration where the right answer is known.

The review queue can only be judged against truth. This module renders PDFs from a
paperlists file with the generator (so every PDF comes with its truth record), runs the
real pipeline on them (ingest, the ``rules`` backend, an ``llm`` backend, reconcile,
routing), and stands in for two things it cannot have:

* **the LLM**: it answers from the truth with controlled noise: each affiliation, with
  probability ``noise``, is given a wrong country (half of the cases, drawn from the
  corpus's own country mix) or dropped (the other half). ``llm_mode="server"`` (also
  ``"auto"``) sends these answers through the real ``llm`` backend and the loopback fake
  OpenAI server (:mod:`devtools.fake_openai`); ``"inject"`` converts them with the
  backend's own converter and stores them as ``llm`` extractions without HTTP, which is
  quicker and leaves the call log empty.
* **the reviewers**: the papers are split in two halves by a seeded hash; the records of
  the first half are "verified" with the truth through the store's normal human path
  (audit log ``before`` and all), ``calibrate`` fits on them, and everything is measured on
  the second half, which nobody reviewed.

Example::

    collabscope simulate --source naacl2024.jsonl --noise 0.10 --n 775 --out /tmp/sim
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import re
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from extractor.config import Settings
from extractor.errors import CollabscopeError, ConfigError
from extractor.evaluation.gold import load_gold
from extractor.evaluation.routing import format_markdown, review_metrics
from extractor.extract.base import get_backend, run_extract
from extractor.extract.llm.answers import FrontMatterAnswer
from extractor.extract.llm.convert import Converter
from extractor.ingest.files import IngestLimits, ingest_paths
from extractor.reconcile import confidence as conf
from extractor.reconcile.merge import run_reconcile
from extractor.reconcile.routing import route
from extractor.resolve import get_resolver, get_taxonomy
from extractor.schemas import (
    Affiliation,
    Author,
    Document,
    ExtractionMeta,
    Method,
    ModelMention,
    PaperContent,
    PaperExtraction,
    RecordStatus,
    paper_id_for,
)
from extractor.store import Store

SIM_MODEL = "simulated-llm"


@dataclass
class SimulationResult:
    out: Path
    db: Path
    papers: int
    llm_mode: str
    noise: float
    noisy_affiliations: int = 0
    affiliations: int = 0
    before: dict[str, Any] = field(default_factory=dict)  # all papers, default (prior) model
    after: dict[str, Any] = field(default_factory=dict)  # measure half, model fitted on the other half
    calibration: list[dict[str, Any]] = field(default_factory=list)
    report: Path | None = None


# --------------------------------------------------------------------------- the noisy LLM


def _rng(seed: int, *parts: Any) -> random.Random:
    return random.Random(int(hashlib.sha256(":".join(map(str, (seed, *parts))).encode()).hexdigest()[:16], 16))


def noisy_answer(truth: dict[str, Any], noise: float, seed: int, pool: list[tuple[str, float]],
                 family_pool: list[str] | None = None) -> tuple[dict[str, Any], int]:
    """The truth as an LLM might return it, each affiliation wrong or dropped with P=noise.

    Model mentions get the same rate: each true family is dropped with P=noise, and with
    P=noise one family from ``family_pool`` the paper does not use is added.

    Returns (answer in PaperExtraction shape, number of affiliations changed). Deterministic
    in (seed, paper); the wrong country is drawn from ``pool`` (country, weight).
    """
    rng = _rng(seed, truth.get("id"), truth.get("source_file"))
    affs, changed, remap = [], 0, {}
    for i, a in enumerate(truth.get("affiliations", [])):
        country = a.get("country")
        if rng.random() < noise:
            changed += 1
            if rng.random() < 0.5:
                continue  # dropped
            others = [(c, w) for c, w in pool if c != country]
            country = rng.choices([c for c, _ in others], [w for _, w in others])[0] if others else country
        remap[i] = len(affs)
        affs.append({"id": len(affs), "raw": a["raw"], "institution": a.get("institution"), "country": country})
    authors = [{"name": au["name"], "affiliation_ids": [remap[i] for i in au.get("affiliations", []) if i in remap],
                "email": au.get("email")} for au in truth.get("authors", [])]
    mentions = [{"name": m.get("name") or m["family"], "family": m["family"], "role": m.get("role")}
                for m in truth.get("model_mentions", []) if rng.random() >= noise]
    if family_pool and rng.random() < noise:  # a family the paper does not use (e.g. read from a citation)
        extra = rng.choice(family_pool)
        if extra not in {m["family"] for m in mentions}:
            mentions.append({"name": extra, "family": extra, "role": "cited-only"})
    answer = {"title": truth.get("title"), "authors": authors, "affiliations": affs, "model_mentions": mentions,
              "self_confidence": round(rng.uniform(0.7, 1.0), 2)}
    return answer, changed


def to_extraction(answer: dict[str, Any], doc: Document) -> PaperExtraction:
    """What the llm backend would store for this front-matter answer, without HTTP.

    The backend's own converter does it: resolver normalisation, grounding, and "the text
    outranks the model".
    """
    return _converter().extraction(doc, FrontMatterAnswer.model_validate(answer), None, [])


@functools.cache
def _converter() -> Converter:
    return Converter(get_resolver(), get_taxonomy())


def country_pool(truths: list[dict[str, Any]]) -> list[tuple[str, float]]:
    counts = Counter(a["country"] for t in truths for a in t.get("affiliations", []) if a.get("country"))
    return [(c, float(n)) for c, n in counts.most_common()]


def family_pool(truths: list[dict[str, Any]]) -> list[str]:
    return sorted({m["family"] for t in truths for m in t.get("model_mentions", []) if m.get("family")})


def inject_llm(store: Store, truths: dict[str, dict[str, Any]], noise: float, seed: int) -> tuple[int, int]:
    """Store noisy answers as ``llm`` extractions, converted as the backend would, without HTTP.

    Returns (affiliations changed by the noise, affiliations in total).
    """
    pool, fams = country_pool(list(truths.values())), family_pool(list(truths.values()))
    key = f"llm|{SIM_MODEL}|noise={noise}|seed={seed}"
    changed = total = 0
    for doc in store.iter_documents():
        truth = truths.get(doc.source_file)
        if truth is None:
            continue
        answer, n = noisy_answer(truth, noise, seed, pool, fams)
        changed += n
        total += len(truth.get("affiliations", []))
        reasks = 1 if _rng(seed, "reask", doc.source_file).random() < 0.05 else 0
        meta = ExtractionMeta(backend="llm", model=SIM_MODEL, prompt_name="simulation",
                              prompt_version=f"noise-{noise}", reasks=reasks)
        store.save_extraction(doc.sha256, meta, key, to_extraction(answer, doc))
    return changed, total


def run_llm_server(store: Store, settings: Settings, truths: dict[str, dict[str, Any]], noise: float, seed: int) -> tuple[int, int]:
    """The real ``llm`` backend against the fake server answering with :func:`noisy_answer`.

    The front-matter question names the paper id (``Paper <id>, page 1``), which maps to a
    document and its truth; any other question (model roles) gets the fake server's default
    answer (a minimal valid instance: no roles).
    """
    from devtools.fake_openai import FakeOpenAI, request_text
    from devtools.fake_openai import answer as fake_answer

    pool, fams = country_pool(list(truths.values())), family_pool(list(truths.values()))
    by_pid = {paper_id_for(d["sha256"]): truths[d["source_file"]]
              for d in store.document_index(ok_only=True)
              if d["source_file"] in truths}
    stats: Counter[str] = Counter()

    def responder(request: dict[str, Any]) -> Any:
        text = request_text(request)
        if "affiliation" not in text.casefold():
            return None  # not the front-matter question
        m = re.search(r"Paper ([0-9a-f]{16})", text)
        truth = by_pid.get(m.group(1)) if m else None
        if truth is None:
            return None
        ans, n = noisy_answer(truth, noise, seed, pool, fams)
        stats["changed"] += n
        stats["total"] += len(truth.get("affiliations", []))
        return fake_answer(ans)

    with FakeOpenAI(responder=responder) as srv:
        llm_settings = settings.model_copy(update={"base_url": srv.base_url, "api_key": SecretStr("simulation"),
                                                 "model": SIM_MODEL})
        summary = run_extract(store, get_backend("llm", llm_settings))
    if summary.failed:
        raise CollabscopeError(f"simulated llm backend failed on {summary.failed} documents: {summary.errors[:3]}")
    return stats["changed"], stats["total"]


# --------------------------------------------------------------------------- simulated reviewers


def truth_content(truth: dict[str, Any]) -> PaperContent:
    affs = [Affiliation(id=i, raw=a["raw"], institution=a.get("institution"), country=a.get("country"),
                        country_method=Method.HUMAN) for i, a in enumerate(truth.get("affiliations", []))]
    authors = [Author(name=au["name"], affiliation_ids=list(au.get("affiliations", [])), email=au.get("email"))
               for au in truth.get("authors", [])]
    mentions = [ModelMention(name=m.get("name") or m["family"], family=m["family"]) for m in truth.get("model_mentions", [])]
    return PaperContent(title=truth.get("title"), authors=authors, affiliations=affs, model_mentions=mentions)


def in_calibration_half(paper_id: str, seed: int) -> bool:
    return int(hashlib.sha256(f"half:{seed}:{paper_id}".encode()).hexdigest()[:8], 16) % 2 == 0


def verify_with_truth(store: Store, truths: dict[str, dict[str, Any]], paper_ids: set[str], reviewer: str = "simulated") -> int:
    """Verify these records with the truth through the store's human save (optimistic lock, audit ``before``)."""
    done = 0
    for record in list(store.iter_records([RecordStatus.MACHINE.value, RecordStatus.QUEUED.value])):
        if record.paper_id not in paper_ids or record.source_file not in truths:
            continue
        content = truth_content(truths[record.source_file])
        new = record.model_copy(update={**{k: getattr(content, k) for k in ("authors", "affiliations", "model_mentions")},
                                        "status": RecordStatus.VERIFIED})
        new.provenance.reviewer = reviewer
        store.save_record(new, expected_version=record.version, action="verify", actor=reviewer)
        done += 1
    return done


# --------------------------------------------------------------------------- the run


def run_simulation(source: Path, out: Path, *, n: int | None = None, noise: float = 0.10, seed: int = 0,
                   layouts: list[str] | None = None, workers: int = 1, llm_mode: str = "auto",
                   settings: Settings | None = None, fit_half: bool = True) -> SimulationResult:
    """Render, run the pipeline, review half with the truth, calibrate, measure the other half."""
    from devtools.generate import generate_corpus

    settings = settings or Settings()
    out = Path(out)
    pdfs = out / "pdfs"
    truth_path = pdfs / "truth.jsonl"
    if not truth_path.exists() or (n is not None and sum(1 for _ in truth_path.open()) != n):
        if pdfs.exists():
            shutil.rmtree(pdfs)
        generate_corpus(Path(source), pdfs, n=n, layouts=layouts, seed=seed, workers=workers)
    gold = load_gold(truth_path)
    truths = {t["source_file"]: t for t in gold}
    db = Path(settings.db) if settings.db != Settings().db else out / "sim.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    mode = "server" if llm_mode == "auto" else llm_mode
    if mode not in ("server", "inject"):
        raise ConfigError(f"llm_mode must be auto, server or inject, not {llm_mode!r}")
    result = SimulationResult(out=out, db=db, papers=len(gold), llm_mode=mode, noise=noise)
    settings = settings.model_copy(update={"db": db, "seed": settings.seed})
    with Store.open(db) as store:
        ingest_paths(store, [pdfs], limits=IngestLimits(), workers=workers)
        run_extract(store, get_backend("rules", settings))
        if mode == "server":
            result.noisy_affiliations, result.affiliations = run_llm_server(store, settings, truths, noise, seed)
        else:
            result.noisy_affiliations, result.affiliations = inject_llm(store, truths, noise, seed)
        run_reconcile(store, confidence_threshold=settings.confidence_threshold, settings=settings)
        result.before = review_metrics(store, gold)
        if fit_half:
            ids = set(store.record_statuses())
            half_a = {p for p in ids if in_calibration_half(p, seed)}
            verify_with_truth(store, truths, half_a)
            results = conf.calibrate(store)
            result.calibration = [{"target": r.target, "n": r.n, "wrong": r.n - r.positives, "stored": r.stored,
                                   "message": r.message, "model": r.model.to_json()} for r in results]
            route(store, settings)
            result.after = review_metrics(store, gold, paper_ids=ids - half_a)
    result.report = out / "report.md"
    result.report.write_text(simulation_markdown(result, source), encoding="utf-8")
    return result


def simulation_markdown(r: SimulationResult, source: Path | str) -> str:
    lines = [f"# Simulation: {Path(source).name}, {r.papers} PDFs, LLM noise {r.noise:.0%} ({r.llm_mode})", "",
             f"Affiliations given a wrong country or dropped by the simulated LLM: {r.noisy_affiliations} of "
             f"{r.affiliations}.", "", "## All papers, default (prior) confidence model", "",
             format_markdown(r.before)]
    if r.after:
        lines += ["", "## Measure half (never reviewed), model fitted on the other half", "", format_markdown(r.after)]
        for c in r.calibration:
            lines += ["", f"Calibration `{c['target']}`: {c['message']}."]
    return "\n".join(lines) + "\n"


def as_json(r: SimulationResult) -> str:
    data = {k: (str(v) if isinstance(v, Path) else v) for k, v in r.__dict__.items()}
    return json.dumps(data, indent=1, default=str)
