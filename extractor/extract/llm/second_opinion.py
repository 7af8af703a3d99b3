"""A cheap second opinion for uncertain records: one narrow llm question per paper.

The front-matter question asks the model for everything at once (authors, markers, links,
affiliations, countries); its errors concentrate where the page is hard, which is also
where the rules backend fails. For the records whose calibrated P(country set right) is in
the uncertain band (:data:`BAND`: not so low that a person will look anyway, not so high
that the answer is settled) this asks one much narrower question: for every affiliation
unit the record holds, shown on its own with its verbatim text, which institution, city
and country it names, with the page's e-mail domains as a hint (prompt
``prompts/second_opinion.v1.toml``).

The answer is stored as an extraction of the pseudo-backend :data:`SECOND_OPINION` (same
affiliation ids and author links as the record, each unit's country the model's reading,
normalised through the resolver's country codes). Reconcile reads it as a signal, never as
content: when it gives the paper another country set, the record carries the reason
``second_opinion`` naming both readings, the feature ``second_opinion_differs`` and the
alternative set (:func:`extractor.reconcile.signals.analyse`). A rebuilt record with new
content gets a new question (the units are part of the cache key through the prompt text).

Every request goes through the llm backend's machinery (:class:`~.asker.Asker`,
:class:`~.transport.Transport`, the ``llm_calls`` log and cache, purpose
``second_opinion``), so ``collabscope costs`` counts it.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from extractor.config import Settings
from extractor.errors import LLMAuthError, LLMError
from extractor.extract.base import SECOND_OPINION
from extractor.extract.llm.asker import Asker, parse_mode
from extractor.extract.llm.calls import CallLog, CallSpec
from extractor.extract.llm.convert import country_code
from extractor.extract.llm.costs import load_prices
from extractor.extract.llm.transport import EndpointError, Redactor, Transport, make_client
from extractor.prompts import Prompt, load_prompt
from extractor.schemas import (
    VALID_COUNTRY_CODES,
    Affiliation,
    Document,
    ExtractionMeta,
    Method,
    PaperExtraction,
    PaperRecord,
    RecordStatus,
)
from extractor.store import Store

#: Records with P(country set right) in [low, high) get a second opinion.
BAND = (0.5, 0.95)
PURPOSE = "second_opinion"


class UnitReading(BaseModel):
    """The model's reading of one affiliation unit."""

    id: int = Field(description="the unit number as given")
    institution: str | None = Field(default=None, description="the organisation the unit names, as written")
    city: str | None = Field(default=None, description="the city written in the unit")
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2 code of the unit's country, or null")


class UnitsAnswer(BaseModel):
    """One reading per unit number."""

    units: list[UnitReading] = Field(default_factory=list)


@dataclass
class SecondOpinionSummary:
    """What a pass asked and found (figures for the run summary and the cost per error found)."""

    candidates: int = 0  # records in the band
    asked: int = 0  # questions answered (from the endpoint or the cache)
    cached: int = 0
    failed: int = 0
    differs: int = 0  # answers that give the paper another country set
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    differing: list[str] = field(default_factory=list)  # paper ids


def email_domains(doc: Document | None, record: PaperRecord) -> list[str]:
    """The e-mail domains of page 1 and of the record's authors, in print order."""
    mails = list(doc.front.emails) if doc is not None and doc.front is not None else []
    mails += [a.email for a in record.authors if a.email]
    return list(dict.fromkeys(m.split("@", 1)[1].lower() for m in mails if m and "@" in m))


def units_text(record: PaperRecord) -> str:
    """The numbered units the prompt shows: ``[id] verbatim text``, one a line."""
    return "\n".join(f"[{a.id}] {' '.join(a.raw.split())}" for a in record.affiliations)


@dataclass(frozen=True)
class UnitsSpec(CallSpec):
    """A second-opinion call: the cache key also covers the units asked about (a rebuilt
    record with other units is a new question)."""

    units_hash: str = ""

    @property
    def cache_key(self) -> str:
        return f"{super().cache_key}|units={self.units_hash}"


def question(prompt: Prompt, doc: Document | None, record: PaperRecord, model: str) -> UnitsSpec:
    """The call for one record."""
    units = units_text(record)
    domains = ", ".join(email_domains(doc, record)) or "none"
    tag = hashlib.sha256(f"{units}\n{domains}".encode()).hexdigest()[:16]
    return UnitsSpec(record.sha256, PURPOSE, prompt, UnitsAnswer,
                     prompt.messages(paper_id=record.paper_id, units=units, email_domains=domains), model, tag)


def _country(value: str | None) -> str | None:
    """An ISO code from a code or a country name the model wrote ("China" -> CN); else None."""
    code = country_code(value)
    return code if code in VALID_COUNTRY_CODES else None


def to_extraction(record: PaperRecord, answer: UnitsAnswer) -> PaperExtraction:
    """The record's units and author links with each unit's country as the model reads it.

    A unit the answer leaves out keeps no country (the model said nothing about it); an
    answer for a number the record does not have is ignored.
    """
    by_id = {u.id: u for u in answer.units}
    affs = []
    for a in record.affiliations:
        u = by_id.get(a.id)
        affs.append(Affiliation(id=a.id, raw=a.raw, institution=(u.institution if u else None) or a.institution,
                                city=u.city if u else None, country=_country(u.country) if u else None,
                                country_method=Method.LLM if u and _country(u.country) else Method.UNKNOWN,
                                evidence=a.evidence))
    return PaperExtraction(title=record.title, authors=[a.model_copy() for a in record.authors], affiliations=affs)


def read_countries(record: PaperRecord, second: PaperExtraction) -> list[str]:
    """The paper's country set with each unit's country as the second opinion reads it; a
    unit it reads no country for keeps the record's (the rule reconcile's signal uses)."""
    read = {a.id: a.country for a in second.affiliations if a.country}
    return sorted({c for a in record.affiliations if (c := read.get(a.id, a.country))})


def candidates(store: Store, band: tuple[float, float] | None = None) -> list[PaperRecord]:
    """Machine-owned records with affiliations whose confidence lies in ``band`` (default :data:`BAND`)."""
    lo, hi = band or BAND
    return [r for r in store.iter_records([RecordStatus.MACHINE, RecordStatus.QUEUED])
            if r.affiliations and r.confidence is not None and lo <= r.confidence < hi]


class SecondOpinion:
    """Asks the second-opinion question through the llm backend's transport, log and cache."""

    def __init__(self, settings: Settings, *, backoff_base: float = 0.5):
        self.settings = settings
        self.prompt = load_prompt("second_opinion")
        self.prices = load_prices(settings.price_file)
        self.redact = Redactor(settings.api_key.get_secret_value() if settings.api_key else None)
        self.backoff_base = backoff_base

    def meta(self) -> ExtractionMeta:
        return ExtractionMeta(backend=SECOND_OPINION, prompt_name=self.prompt.name, prompt_version=self.prompt.version,
                              prompt_hash=self.prompt.sha256, model=self.settings.model)

    def run(self, store: Store, records: Iterable[PaperRecord], *, run_id: int | None = None) -> SecondOpinionSummary:
        return asyncio.run(self._run(store, list(records), run_id))

    async def _run(self, store: Store, records: list[PaperRecord], run_id: int | None) -> SecondOpinionSummary:
        summary = SecondOpinionSummary(candidates=len(records))
        if not records:
            return summary
        log = CallLog(store, run_id, self.prices, self.redact)
        transport = Transport(make_client(self.settings), retries=self.settings.transport_retries, redact=self.redact,
                              endpoint=self.settings.base_url or "https://api.openai.com/v1",
                              backoff_base=self.backoff_base, concurrency=self.settings.concurrency)
        asker = Asker(transport, parse_mode(self.settings.instructor_mode), self.settings.reask_budget, log)
        sem = asyncio.Semaphore(max(1, self.settings.concurrency))

        async def one(record: PaperRecord) -> None:
            doc = store.get_document(record.sha256, with_full_text=False)
            spec = question(self.prompt, doc, record, self.settings.model)
            async with sem:
                try:
                    result = await asker.ask(spec)
                except (LLMAuthError, EndpointError):
                    raise
                except LLMError:
                    summary.failed += 1
                    return
            summary.asked += 1
            summary.cached += result.cached
            summary.requests += result.requests
            summary.prompt_tokens += result.prompt_tokens
            summary.completion_tokens += result.completion_tokens
            summary.cost_usd += result.cost
            ext = to_extraction(record, result.answer)  # type: ignore[arg-type]
            if read_countries(record, ext) != record.countries():
                summary.differs += 1
                summary.differing.append(record.paper_id)
            meta = self.meta().model_copy(update={"reasks": result.reasks, "prompt_tokens": result.prompt_tokens,
                                                  "completion_tokens": result.completion_tokens,
                                                  "cost_usd": round(result.cost, 8)})
            store.save_extraction(record.sha256, meta, spec.cache_key, ext, run_id=run_id)

        try:
            await asyncio.gather(*(one(r) for r in records))
        finally:
            await transport.client.close()
        summary.cost_usd = round(summary.cost_usd, 8)
        return summary


def run_second_opinion(store: Store, settings: Settings, *, band: tuple[float, float] | None = None,
                       run_id: int | None = None, **kwargs: Any) -> SecondOpinionSummary:
    """Ask the second opinion for every record in ``band``; reconcile again afterwards to use it."""
    return SecondOpinion(settings, **kwargs).run(store, candidates(store, band), run_id=run_id)
