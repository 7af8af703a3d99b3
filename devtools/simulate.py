"""Simulation mode: measure routing and calibration where the right answer is known.

The review queue can only be judged against truth. This module renders PDFs from a
paperlists file with the generator (so every PDF comes with its truth record), runs the
real pipeline on them (ingest, the ``rules`` backend, an ``llm`` backend, reconcile,
routing), and stands in for two things it cannot have:

* **the LLM**: it answers from the truth through an error model. ``realistic`` (the
  default, :mod:`devtools.error_model`) errs where the page is hard, as a real model does
  and as the rules backend does too: mislinked authors under symbol or footnote markers,
  dropped authors in long lists, paraphrased institutions, guessed countries for
  unprinted, ambiguous places and site-less companies, missed footnote affiliations,
  invented affiliations, wrong model families; ``noise`` scales its mix (0.10 = the
  default). ``independent`` is the page-blind model: each affiliation, with probability
  ``noise``, is given a wrong country (half of the cases, drawn from the corpus's own
  country mix) or dropped (the other half). ``llm_mode="server"`` (also
  ``"auto"``) sends these answers through the real ``llm`` backend and the loopback fake
  OpenAI server (:mod:`devtools.fake_openai`); ``"inject"`` converts them with the
  backend's own converter and stores them as ``llm`` extractions without HTTP, which is
  quicker and leaves the call log empty; ``"none"`` runs the rules backend alone.
* **the reviewers**: the papers are split in two halves by a seeded hash; the records of
  the first half are "verified" with the truth through the store's normal human path
  (audit log ``before`` and all), ``calibrate`` fits on them, and everything is measured on
  the second half, which nobody reviewed.

It also draws the **oversight curve** (:func:`oversight_curve`): reviewing papers in the
order a reviewer gets them (the priority queue, then the audit sample, then the rest by
P(wrong)), what share of papers has the right country set, and how wide the product's 95%
interval of the US–CN share is, after each share of papers reviewed.

The simulation never touches a database it did not create: its database is marked by a
``<db>.simulation`` file next to it, and an existing database without that mark is refused
unless ``force``.

Example::

    collabscope simulate --source naacl2024.jsonl --noise 0.10 --n 775 --out /tmp/sim
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import random
import re
import shutil
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from devtools.error_model import COUNTRY_CLASSES, ErrorRates, realistic_answer
from extractor.aggregate.estimate import Tally
from extractor.aggregate.policy import CountingPolicy
from extractor.aggregate.population import Unit, View, stratum_of
from extractor.aggregate.tables import has_pair
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
from extractor.review.queue import queue_head
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
ERROR_MODELS = ("realistic", "independent")
#: Shares of papers reviewed at which the oversight curve is read.
CURVE_SHARES = (0.0, 0.01, 0.02, 0.05, 0.10, 0.15, 0.20, 0.30, 0.50, 1.0)
#: Below this many papers, shares and calibration figures are not reported (n/a).
MIN_PAPERS = 10


@dataclass
class SimulationResult:
    out: Path
    db: Path
    papers: int
    llm_mode: str
    noise: float
    error_model: str = "realistic"
    noisy_affiliations: int = 0
    affiliations: int = 0
    error_classes: dict[str, int] = field(default_factory=dict)  # error class -> times applied
    before: dict[str, Any] = field(default_factory=dict)  # all papers, default (prior) model
    after: dict[str, Any] = field(default_factory=dict)  # measure half, model fitted on the other half
    after_prior: dict[str, Any] = field(default_factory=dict)  # measure half, default model (what ``after`` is compared with)
    calibration: list[dict[str, Any]] = field(default_factory=list)
    curve: list[dict[str, Any]] = field(default_factory=list)  # oversight curve, all papers, default model
    backends: dict[str, Any] = field(default_factory=dict)  # do rules and llm err on the same papers?
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


class Answerer:
    """The simulated LLM: truth record -> (answer, affiliations changed), counting error classes."""

    def __init__(self, truths: list[dict[str, Any]], noise: float, seed: int, error_model: str = "realistic",
                 rates: ErrorRates | None = None) -> None:
        if error_model not in ERROR_MODELS:
            raise ConfigError(f"error model must be one of {', '.join(ERROR_MODELS)}, not {error_model!r}")
        self.noise, self.seed, self.error_model = noise, seed, error_model
        self.pool, self.families = country_pool(truths), family_pool(truths)
        self.rates = rates or ErrorRates.for_noise(noise)
        self.classes: Counter[str] = Counter()
        self.wrong_set: dict[str, bool] = {}  # source file -> the answer's own country set is wrong

    def __call__(self, truth: dict[str, Any]) -> tuple[dict[str, Any], int]:
        if self.error_model == "independent":
            answer, changed = noisy_answer(truth, self.noise, self.seed, self.pool, self.families)
            self.classes["independent_affiliation"] += changed
        else:
            answer, log = realistic_answer(truth, self.rates, self.seed, self.pool, self.families)
            changed = log.pop("affiliations_changed", 0)
            self.classes.update(log)
        said = sorted({a["country"] for a in answer["affiliations"] if a.get("country")})
        self.wrong_set[str(truth.get("source_file"))] = said != sorted(
            {a["country"] for a in truth.get("affiliations", []) if a.get("country")})
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


def inject_llm(store: Store, truths: dict[str, dict[str, Any]], noise: float, seed: int,
               answerer: Answerer | None = None) -> tuple[int, int]:
    """Store noisy answers as ``llm`` extractions, converted as the backend would, without HTTP.

    Returns (affiliations changed by the noise, affiliations in total).
    """
    answerer = answerer or Answerer(list(truths.values()), noise, seed, "independent")
    key = f"llm|{SIM_MODEL}|{answerer.error_model}|noise={noise}|seed={seed}"
    changed = total = 0
    for doc in store.iter_documents():
        truth = truths.get(doc.source_file)
        if truth is None:
            continue
        answer, n = answerer(truth)
        changed += n
        total += len(truth.get("affiliations", []))
        reasks = 1 if _rng(seed, "reask", doc.source_file).random() < 0.05 else 0
        meta = ExtractionMeta(backend="llm", model=SIM_MODEL, prompt_name="simulation",
                              prompt_version=f"{answerer.error_model}-noise-{noise}", reasks=reasks)
        store.save_extraction(doc.sha256, meta, key, to_extraction(answer, doc))
    return changed, total


def run_llm_server(store: Store, settings: Settings, truths: dict[str, dict[str, Any]], noise: float, seed: int,
                   answerer: Answerer | None = None) -> tuple[int, int]:
    """The real ``llm`` backend against the fake server answering with the error model.

    The front-matter question names the paper id (``Paper <id>, page 1``), which maps to a
    document and its truth; any other question (model roles) gets the fake server's default
    answer (a minimal valid instance: no roles).
    """
    from devtools.fake_openai import FakeOpenAI, request_text
    from devtools.fake_openai import answer as fake_answer

    answerer = answerer or Answerer(list(truths.values()), noise, seed, "independent")
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
        ans, n = answerer(truth)
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


MARK_SUFFIX = ".simulation"


def claim_database(db: Path, *, force: bool = False) -> None:
    """Make ``db`` the simulation's own database, deleting only one the simulation created.

    A database file that exists without the ``<db>.simulation`` mark was not made by a
    simulation (a user's work database named by ``--db`` or ``COLLABSCOPE_DB``): refused
    with :class:`ConfigError` unless ``force``.
    """
    db = Path(db)
    mark = Path(str(db) + MARK_SUFFIX)
    older_run = db.name == "sim.db" and (db.parent / "pdfs" / "truth.jsonl").exists()  # OUT/sim.db before the mark
    if db.exists() and not mark.exists() and not older_run and not force:
        raise ConfigError(f"{db} exists and was not created by a simulation; the simulation replaces its database, "
                          f"so it will not touch this one. Use another --db (default OUT/sim.db, with COLLABSCOPE_DB "
                          f"unset) or --force to overwrite it.")
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    db.parent.mkdir(parents=True, exist_ok=True)
    mark.write_text("database created by collabscope simulate; it is replaced on every run\n", encoding="utf-8")


def run_simulation(source: Path, out: Path, *, n: int | None = None, noise: float = 0.10, seed: int = 0,
                   layouts: list[str] | None = None, workers: int = 1, llm_mode: str = "auto",
                   settings: Settings | None = None, fit_half: bool = True, error_model: str = "realistic",
                   rates: ErrorRates | None = None, db: Path | None = None, force: bool = False) -> SimulationResult:
    """Render, run the pipeline, review half with the truth, calibrate, measure the other half.

    The database is ``db`` (default ``out/sim.db``); one that exists and that no simulation
    created is refused unless ``force`` (see :func:`claim_database`).
    """
    from devtools.generate import generate_corpus

    settings = settings or Settings()
    out = Path(out)
    mode = "server" if llm_mode == "auto" else llm_mode
    if mode not in ("server", "inject", "none"):
        raise ConfigError(f"llm_mode must be auto, server, inject or none, not {llm_mode!r}")
    if error_model not in ERROR_MODELS:
        raise ConfigError(f"error model must be one of {', '.join(ERROR_MODELS)}, not {error_model!r}")
    db = Path(db) if db is not None else out / "sim.db"
    claim_database(db, force=force)
    pdfs = out / "pdfs"
    truth_path = pdfs / "truth.jsonl"
    if not truth_path.exists() or (n is not None and sum(1 for _ in truth_path.open()) != n):
        if pdfs.exists():
            shutil.rmtree(pdfs)
        generate_corpus(Path(source), pdfs, n=n, layouts=layouts, seed=seed, workers=workers)
    gold = load_gold(truth_path)
    truths = {t["source_file"]: t for t in gold}
    result = SimulationResult(out=out, db=db, papers=len(gold), llm_mode=mode, noise=noise, error_model=error_model)
    answerer = Answerer(gold, noise, seed, error_model, rates)
    settings = settings.model_copy(update={"db": db, "seed": settings.seed})
    with Store.open(db) as store:
        ingest_paths(store, [pdfs], limits=IngestLimits(), workers=workers)
        run_extract(store, get_backend("rules", settings))
        if mode == "server":
            result.noisy_affiliations, result.affiliations = run_llm_server(store, settings, truths, noise, seed, answerer)
        elif mode == "none":  # the rules backend alone
            result.affiliations = sum(len(t.get("affiliations", [])) for t in gold)
        else:
            result.noisy_affiliations, result.affiliations = inject_llm(store, truths, noise, seed, answerer)
        result.error_classes = dict(answerer.classes.most_common())
        result.backends = backend_errors(store, truths, answerer.wrong_set)
        run_reconcile(store, confidence_threshold=settings.confidence_threshold, settings=settings)
        result.before = review_metrics(store, gold)
        result.curve = oversight_curve(store, gold)
        if fit_half:
            ids = set(store.record_statuses())
            half_a = {p for p in ids if in_calibration_half(p, seed)}
            result.after_prior = review_metrics(store, gold, paper_ids=ids - half_a)
            verify_with_truth(store, truths, half_a)
            results = conf.calibrate(store)
            result.calibration = [{"target": r.target, "n": r.n, "wrong": r.n - r.positives, "stored": r.stored,
                                   "message": r.message, "model": r.model.to_json()} for r in results]
            route(store, settings)
            result.after = review_metrics(store, gold, paper_ids=ids - half_a)
    result.report = out / "report.md"
    result.report.write_text(simulation_markdown(result, source), encoding="utf-8")
    return result


def backend_errors(store: Store, truths: dict[str, dict[str, Any]], answer_wrong: dict[str, bool]) -> dict[str, Any]:
    """Do the simulated model and the rules backend err on the same papers?

    The measure of what the error model is for. ``answer_*``: the simulated model's own
    answer (its country set, before the llm backend's converter lets the text outrank
    it), against the rules backend's extraction: a realistic model is wrong far more often
    on the papers the rules get wrong than on the others; the page-blind model about
    equally often. ``llm_*``: the llm backend's stored extraction, which shares the
    resolver with the rules backend and so shares some of its errors whatever the model.
    """
    from extractor.evaluation.routing import _gold_countries

    files = {d["sha256"]: d["source_file"] for d in store.document_index(ok_only=True)}
    rules, llm = store.latest_extractions("rules"), store.latest_extractions("llm")
    answer: Counter[tuple[bool, bool]] = Counter()
    stored: Counter[tuple[bool, bool]] = Counter()
    for sha, source_file in files.items():
        truth = truths.get(source_file)
        if truth is None or sha not in rules or source_file not in answer_wrong:
            continue
        rules_wrong = rules[sha].countries() != _gold_countries(truth)
        answer[(rules_wrong, answer_wrong[source_file])] += 1
        if sha in llm:
            stored[(rules_wrong, llm[sha].countries() != _gold_countries(truth))] += 1
    if not answer:
        return {}

    def given(table: Counter[tuple[bool, bool]], rules_wrong: bool) -> float | None:
        n = table[(rules_wrong, True)] + table[(rules_wrong, False)]
        return table[(rules_wrong, True)] / n if n else None

    return {"papers": sum(answer.values()), "rules_wrong": answer[(True, True)] + answer[(True, False)],
            "answer_wrong": answer[(True, True)] + answer[(False, True)], "both_wrong": answer[(True, True)],
            "p_answer_wrong_given_rules_wrong": given(answer, True),
            "p_answer_wrong_given_rules_right": given(answer, False),
            "llm_wrong": stored[(True, True)] + stored[(False, True)],
            "p_llm_wrong_given_rules_wrong": given(stored, True), "p_llm_wrong_given_rules_right": given(stored, False)}


# --------------------------------------------------------------------------- the oversight curve


def review_order(store: Store) -> list[str]:
    """Paper ids in the order reviewers meet them: the priority queue, the audit sample, the rest.

    The rest (records routed to no one) follow by P(wrong), highest first: what a team that
    keeps reviewing after the queue and the audit would pick next.
    """
    total = len(store.record_statuses())
    order = [i.paper_id for i in queue_head(store, n=total, audit=False)]
    order += [i.paper_id for i in queue_head(store, n=total, audit=True)]
    seen = set(order)
    scores = store.signal_scores()
    rest = sorted((p for p in store.record_statuses() if p not in seen),
                  key=lambda p: (-((scores.get(p) or {}).get("p_wrong") or 0.0), p))
    return order + rest


def _view(codes: Iterable[str], policy: CountingPolicy) -> View:
    grouped = frozenset(c for c in (policy.country(x) for x in codes) if c)
    return View(countries=grouped, raw_countries=frozenset(codes), roles={}, developers={})


def oversight_curve(store: Store, gold: list[dict[str, Any]], shares: Iterable[float] = CURVE_SHARES,
                    pair: tuple[str, str] = ("US", "CN")) -> list[dict[str, Any]]:
    """Accuracy and the US–CN interval width after reviewing each share of papers in queue order.

    A reviewed paper takes its true country set (an oracle reviewer); the others keep the
    machine's. ``accuracy``: share of papers whose country set is right. ``us_cn_ci_width``:
    width of the 95% interval of the US–CN share as the product computes it
    (:class:`extractor.aggregate.estimate.Tally`, PPI over the review design: reviewed
    audit records correct the unreviewed frame, queued records not yet reviewed are taken
    at their worst case); None while no audit record is reviewed (the product then reports
    a machine-only figure with no interval).
    """
    from extractor.evaluation.routing import _gold_countries, _match  # the evaluation's own matching

    policy = CountingPolicy()
    matched = _match(store, gold)
    order = [p for p in review_order(store) if p in matched]
    papers = []
    for pid in order:
        record = store.get_record(pid)
        if record.status == RecordStatus.REJECTED:
            continue
        papers.append((record, _gold_countries(matched[pid])))
    n = len(papers)
    out = []
    stat = {"pair": has_pair(*pair)}
    for share in shares:
        k = min(n, math.ceil(share * n - 1e-9))
        tally = Tally(stat)
        right = 0
        for i, (record, truth) in enumerate(papers):
            machine = _view(record.countries(), policy)
            reviewed = i < k
            human = _view(truth, policy) if reviewed else None
            status = RecordStatus.VERIFIED if reviewed else record.status
            stratum = stratum_of(status, record.audit, policy)
            tally.add(Unit(record.paper_id, record.venue, record.year, status, record.audit, stratum, machine, human))
            right += (sorted(truth) if reviewed else record.countries()) == sorted(truth)
        est = tally.estimates("pair", policy, include=(True,))[True]
        width = (est.share_hi - est.share_lo) if est.has_interval and est.share_hi is not None and \
            est.share_lo is not None else None
        out.append({"reviewed_share": share, "reviewed": k, "accuracy": (right / n) if n else None,
                    "us_cn_ci_width": width, "us_cn_share": est.share if n else None, "method": est.method})
    return out


def curve_markdown(curve: list[dict[str, Any]]) -> str:
    if not curve or curve[-1]["reviewed"] == 0:
        return "_no papers to review_"
    lines = ["| papers reviewed (queue, then audit) | country set right | US–CN share | width of its 95% interval |",
             "| --- | --- | --- | --- |"]
    for c in curve:
        width = "n/a (no audit record reviewed: machine-only)" if c["us_cn_ci_width"] is None else \
            f"{c['us_cn_ci_width'] * 100:.2f} pp"
        lines.append(f"| {c['reviewed_share']:.0%} ({c['reviewed']}) | {_pct(c['accuracy'], 2)} | "
                     f"{_pct(c['us_cn_share'], 2)} | {width} |")
    return "\n".join(lines)


def _pct(v: float | None, digits: int = 1) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}%}"


def simulation_markdown(r: SimulationResult, source: Path | str) -> str:
    model = (f"error model `{r.error_model}`" + (f" at {r.noise / 0.10:.1f}x the default mix" if r.error_model == "realistic"
                                                else f", noise {r.noise:.0%}"))
    if r.llm_mode == "none":
        model = "none: rules backend alone"
    lines = [f"# Simulation: {Path(source).name}, {r.papers} PDFs, simulated LLM {model} ({r.llm_mode})", ""]
    if r.papers < MIN_PAPERS:
        lines += [f"**Too few papers ({r.papers}) for shares of the queue or calibration figures to mean anything: "
                  f"they are shown as n/a where undefined. Use --n {MIN_PAPERS * 10} or more.**", ""]
    lines += [f"Affiliations given a wrong country or dropped by the simulated LLM: {r.noisy_affiliations} of "
              f"{r.affiliations}."]
    if r.error_classes:
        country = [f"{k} {v}" for k, v in r.error_classes.items() if k in COUNTRY_CLASSES]
        other = [f"{k} {v}" for k, v in r.error_classes.items() if k not in COUNTRY_CLASSES]
        lines += ["", "Errors applied, by class: " + (", ".join(country) or "none") + " (can change a country set); "
                  + (", ".join(other) or "none") + " (links, names, models)."]
    b = r.backends
    if b:
        lines += ["", f"Country-set errors: rules extraction {b['rules_wrong']}, simulated answer {b['answer_wrong']}, "
                  f"both {b['both_wrong']} of {b['papers']} papers. The answer is wrong on "
                  f"{_pct(b['p_answer_wrong_given_rules_wrong'])} of the papers the rules get wrong and on "
                  f"{_pct(b['p_answer_wrong_given_rules_right'])} of the others; the llm backend's extraction "
                  f"(the text outranks the answer) on {_pct(b['p_llm_wrong_given_rules_wrong'])} and "
                  f"{_pct(b['p_llm_wrong_given_rules_right'])}."]
    lines += ["", "## All papers, default (prior) confidence model", "", format_markdown(r.before)]
    if r.curve:
        lines += ["", "## Oversight curve: all papers, default model, oracle review in queue order", "",
                  curve_markdown(r.curve)]
    if r.after:
        lines += ["", "## Measure half (never reviewed), model fitted on the other half", "", format_markdown(r.after)]
        for c in r.calibration:
            lines += ["", f"Calibration `{c['target']}`: {c['message']}."]
    return "\n".join(lines) + "\n"


def as_json(r: SimulationResult) -> str:
    data = {k: (str(v) if isinstance(v, Path) else v) for k, v in r.__dict__.items()}
    return json.dumps(data, indent=1, default=str)


# --------------------------------------------------------------------------- summaries over seeds


def _pooled_part(runs: list[dict[str, Any]], part: str) -> dict[str, Any]:
    """Queue capture and calibration of one part (``before``/``after``) of several runs.

    ``held``/``errors``: country-set errors in the top 15% of each run's own queue, summed
    over the runs; ``ece``: each run's; ``ece_pooled`` and ``reliability``: the ECE and the
    reliability table of all the runs' records together, from their bins (the same in every run).
    """
    held = total = 0
    eces: list[float | None] = []
    bins: dict[str, list[float]] = {}  # bin -> [records, sum of predictions, sum of rights]
    for r in runs:
        m = r.get(part) or {}
        errors, share = m.get("country_errors") or 0, (m.get("efficiency") or {}).get("top_15%")
        held, total = held + round((share or 0) * errors), total + errors
        calib = m.get("calibration") or {}
        ece = calib.get("ece")
        eces.append(None if ece is None or ece != ece else float(ece))
        for b in calib.get("reliability") or []:
            if b.get("n"):
                acc = bins.setdefault(b["bin"], [0.0, 0.0, 0.0])
                acc[0] += b["n"]
                acc[1] += b["n"] * b["mean_p"]
                acc[2] += b["n"] * b["observed"]
    n = sum(b[0] for b in bins.values())
    pooled_ece = sum(abs(b[1] - b[2]) for b in bins.values()) / n if n else None
    reliability = [{"bin": name, "n": int(k), "mean_p": p / k, "observed": o / k} for name, (k, p, o) in sorted(bins.items())]
    return {"held": held, "errors": total, "share": (held / total) if total else None, "ece": eces,
            "ece_pooled": pooled_ece, "reliability": reliability}


def pool_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """``simulate --json`` outputs of one configuration, pooled over seeds.

    Errors in the top 15% are pooled (summed over the runs, so a seed with few errors
    weighs less); ECE is given per run and pooled over all the runs' records; the curve's
    accuracy and interval width are means over the runs (width None where a run has no
    interval yet); the backends' correlation sums the runs' counts.
    """
    out: dict[str, Any] = {"runs": len(runs), "papers": [r.get("papers") for r in runs],
                           "errors": [(r.get("before") or {}).get("country_errors") for r in runs],
                           "before": _pooled_part(runs, "before"), "after": _pooled_part(runs, "after"),
                           "after_prior": _pooled_part(runs, "after_prior"),
                           "curve": [], "backends": None}
    for i, point in enumerate((runs[0].get("curve") or []) if runs else []):
        acc = [r["curve"][i]["accuracy"] for r in runs]
        widths = [r["curve"][i]["us_cn_ci_width"] for r in runs]
        out["curve"].append({"reviewed_share": point["reviewed_share"], "accuracy": sum(acc) / len(acc),
                             "us_cn_ci_width": None if any(w is None for w in widths) else sum(widths) / len(widths)})
    backends = [r["backends"] for r in runs if (r.get("backends") or {}).get("answer_wrong") is not None]
    if backends:
        both, rules_wrong = sum(b["both_wrong"] for b in backends), sum(b["rules_wrong"] for b in backends)
        out["backends"] = {"both_wrong": both, "rules_wrong": rules_wrong,
                           "answer_wrong_rules_right": sum(b["answer_wrong"] for b in backends) - both,
                           "rules_right": sum(b["papers"] for b in backends) - rules_wrong}
    return out


def summarize(paths: Iterable[Path | str]) -> str:
    """Pool ``simulate --json`` outputs of one configuration over seeds (:func:`pool_runs`) as text."""
    runs = [json.loads(Path(p).read_text(encoding="utf-8")) for p in paths]
    if not runs:
        return "no runs"
    pooled = pool_runs(runs)

    def capture(part: str) -> str:
        p = pooled[part]
        return f"{p['held']}/{p['errors']} = {p['share']:.1%}" if p["errors"] else "n/a (no errors)"

    def eces(part: str) -> str:
        return ", ".join("n/a" if v is None else f"{v:.3f}" for v in pooled[part]["ece"])

    lines = [f"runs: {len(runs)}; papers {pooled['papers']}; country-set errors (all papers) {pooled['errors']}",
             f"top 15% of the queue, all papers, default model: {capture('before')}; ECE {eces('before')}",
             f"top 15% of the queue, measure half, default model: {capture('after_prior')}; ECE {eces('after_prior')}",
             f"top 15% of the queue, measure half, fitted model: {capture('after')}; ECE {eces('after')}"]
    b = pooled["backends"]
    if b:
        both, rw, aw, rr = b["both_wrong"], b["rules_wrong"], b["answer_wrong_rules_right"], b["rules_right"]
        lines.append(f"simulated answer wrong on {both}/{rw} of the papers the rules get wrong"
                     f"{f' ({both / rw:.0%})' if rw else ''}, on {aw}/{rr} of the others"
                     f"{f' ({aw / rr:.1%})' if rr else ''}")
    lines += ["", "| reviewed | country set right (mean) | width of the US–CN 95% interval (mean) |", "| --- | --- | --- |"]
    for c in pooled["curve"]:
        width = "n/a" if c["us_cn_ci_width"] is None else f"{c['us_cn_ci_width'] * 100:.1f} pp"
        lines.append(f"| {c['reviewed_share']:.0%} | {c['accuracy']:.4f} | {width} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m devtools.simulate",
                                     description="Pool `collabscope simulate --json` outputs of one configuration over seeds.",
                                     epilog="Example: python -m devtools.simulate /tmp/sim/realistic_0.10_s*.json")
    parser.add_argument("json", nargs="+", type=Path, help="simulate --json outputs (one per seed)")
    print(summarize(parser.parse_args(argv).json))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
