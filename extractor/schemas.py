"""The shared vocabulary of collabscope: every step of the data flow speaks these models.

Floor 1: imports nothing of ours. Ingest produces a :class:`Document`, a backend turns it
into a :class:`PaperExtraction`, reconcile merges extractions into a :class:`PaperRecord`,
review edits records, and export writes :class:`ExportRecord` lines (the public contract).

Every extracted string can carry :class:`Evidence`: where it sits in the source (page,
character span in the document's front-matter or full text, bbox) and whether it was
found there exactly, fuzzily or not at all. Reconcile checks grounding from it and the
review UI highlights from it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

#: Bumped whenever a change to these models changes what a backend returns; part of the
#: LLM cache key so a schema change never reuses an answer made for the old shape.
SCHEMA_VERSION = "2"

# --------------------------------------------------------------------------- countries

#: ISO 3166-1 alpha-2 codes pycountry knows, plus Kosovo's user-assigned XK.
VALID_COUNTRY_CODES: frozenset[str] = frozenset(
    [c.alpha_2 for c in pycountry.countries] + ["XK"]
)

#: Common non-ISO spellings that people and models write for a country code.
_COUNTRY_CODE_FIXES = {"UK": "GB", "EL": "GR", "PRC": "CN", "USA": "US"}

#: Places the counting policy may group with mainland China.
GREATER_CHINA_SARS = frozenset({"HK", "MO"})


def normalise_country_code(value: Any) -> Any:
    """Upper-case a code and fix the usual non-ISO spellings (UK -> GB); None stays None."""
    if value is None:
        return None
    if isinstance(value, str):
        code = value.strip().upper()
        if not code:
            return None
        return _COUNTRY_CODE_FIXES.get(code, code)
    return value


def _check_country_code(value: str | None) -> str | None:
    if value is not None and value not in VALID_COUNTRY_CODES:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return value


CountryCode = Annotated[
    str | None,
    BeforeValidator(normalise_country_code),
    AfterValidator(_check_country_code),
]


def group_country(code: str | None, group_hk_mo_with_cn: bool) -> str | None:
    """Apply the HK/MO counting policy to one code (TW is never grouped)."""
    if group_hk_mo_with_cn and code in GREATER_CHINA_SARS:
        return "CN"
    return code


# --------------------------------------------------------------------------- enums


class Sector(StrEnum):
    ACADEMIA = "academia"
    INDUSTRY = "industry"
    GOVERNMENT = "government"
    NONPROFIT = "nonprofit"


class Role(StrEnum):
    """How a paper relates to a model family, strongest first."""

    PROPOSED = "proposed"
    FINE_TUNED = "fine-tuned"
    USED = "used"
    COMPARED = "compared"
    CITED_ONLY = "cited-only"


#: Strength order used when several mentions of one family are merged.
ROLE_STRENGTH = {r: i for i, r in enumerate(reversed(list(Role)))}


class Where(StrEnum):
    TITLE = "title"
    ABSTRACT = "abstract"
    BODY = "body"


class Alignment(StrEnum):
    """Whether an extracted string was found in the source text."""

    EXACT = "exact"
    FUZZY = "fuzzy"
    NOT_FOUND = "not_found"


class Method(StrEnum):
    """How a value (institution or country) was decided; feeds confidence."""

    STATED = "stated"  # written in the affiliation text itself
    GAZETTEER_EXACT = "gazetteer_exact"
    GAZETTEER_ALIAS = "gazetteer_alias"
    GAZETTEER_FUZZY = "gazetteer_fuzzy"
    EMAIL_DOMAIN = "email_domain"
    CITY = "city"
    HQ_DEFAULT = "hq_default"  # company with no named site: headquarters country
    LLM = "llm"  # the model said so and nothing else supports it
    HUMAN = "human"
    UNKNOWN = "unknown"


#: Methods whose country is an inference rather than something the paper states.
INFERRED_COUNTRY_METHODS = frozenset(
    {Method.EMAIL_DOMAIN, Method.CITY, Method.HQ_DEFAULT, Method.LLM, Method.UNKNOWN}
)


class RecordStatus(StrEnum):
    MACHINE = "machine"  # reconciled, confident, not routed to people
    QUEUED = "queued"  # routed to review (or drawn for the audit sample)
    IN_REVIEW = "in_review"
    VERIFIED = "verified"
    REJECTED = "rejected"  # not a paper / out of scope
    FAILED = "failed"  # the document could not be ingested or extracted


#: How internal states appear in the export contract.
EXPORT_STATUS = {
    RecordStatus.MACHINE: "machine",
    RecordStatus.QUEUED: "machine",
    RecordStatus.IN_REVIEW: "machine",
    RecordStatus.VERIFIED: "verified",
    RecordStatus.REJECTED: "rejected",
    RecordStatus.FAILED: "failed",
}


# --------------------------------------------------------------------------- evidence


class Evidence(BaseModel):
    """Where a value was found in the source, and how well it matched."""

    model_config = ConfigDict(extra="forbid")

    source: Literal["front", "full"] = "front"  # which document text the span indexes
    page: int = 0  # 0-based page number
    start: int | None = None  # character offsets into that text
    end: int | None = None
    bbox: tuple[float, float, float, float] | None = None  # PDF points on `page`
    alignment: Alignment = Alignment.NOT_FOUND
    score: float | None = None  # similarity 0-100 for fuzzy matches
    quote: str | None = None  # the quote the backend gave, if any

    @property
    def grounded(self) -> bool:
        return self.alignment != Alignment.NOT_FOUND


# --------------------------------------------------------------------------- ingest output


class Span(BaseModel):
    """One styled run of page-1 text. Offsets index :attr:`FrontMatter.text`."""

    model_config = ConfigDict(extra="forbid")

    text: str
    bbox: tuple[float, float, float, float]
    size: float
    flags: int = 0
    font: str = ""
    sup: bool = False  # superscript marker (flag bit or raised and smaller than its line)
    line: int  # index into FrontMatter.lines
    start: int
    end: int


class Line(BaseModel):
    """A visual line of page 1, in reading order."""

    model_config = ConfigDict(extra="forbid")

    text: str
    bbox: tuple[float, float, float, float]
    size: float  # the dominant (non-superscript) font size
    bold: bool = False
    block: int = 0
    start: int
    end: int


class FrontMatter(BaseModel):
    """Page 1 with layout, plus the zones ingest found in it.

    Zones are line indexes, so a backend can use them or ignore them and read the lines.
    """

    model_config = ConfigDict(extra="forbid")

    text: str  # page-1 text, lines joined by "\n", superscripts inline as printed
    width: float = 612.0
    height: float = 792.0
    lines: list[Line] = Field(default_factory=list)
    spans: list[Span] = Field(default_factory=list)
    title: str | None = None
    title_lines: list[int] = Field(default_factory=list)
    author_lines: list[int] = Field(default_factory=list)  # names and affiliations
    affiliation_lines: list[int] = Field(default_factory=list)
    footnote_lines: list[int] = Field(default_factory=list)
    abstract_lines: list[int] = Field(default_factory=list)
    venue_line: int | None = None
    emails: list[str] = Field(default_factory=list)  # brace groups expanded, print order
    # lines inside a page-1 figure (drawings, images, their caption): in no other zone
    figure_lines: list[int] = Field(default_factory=list)

    @property
    def abstract(self) -> str | None:
        if not self.abstract_lines:
            return None
        return " ".join(self.lines[i].text for i in self.abstract_lines)

    def marked_text(self, start_line: int = 0, end_line: int | None = None) -> str:
        """Lines with superscript markers made explicit as ``^{...}`` (for prompts)."""
        out: list[str] = []
        by_line: dict[int, list[Span]] = {}
        for span in self.spans:
            by_line.setdefault(span.line, []).append(span)
        stop = len(self.lines) if end_line is None else end_line
        for i in range(start_line, stop):
            spans = by_line.get(i)
            if not spans:
                out.append(self.lines[i].text)
                continue
            parts: list[str] = []
            marker: list[str] = []
            for s in spans:
                if s.sup and s.text.strip():
                    marker.append(s.text.strip())
                    continue
                if marker:
                    parts.append("^{" + "".join(marker) + "}")
                    marker = []
                parts.append(s.text)
            if marker:
                parts.append("^{" + "".join(marker) + "}")
            out.append("".join(parts))
        return "\n".join(out)


class Document(BaseModel):
    """An ingested file: keyed by the SHA-256 of its bytes; bad files carry an error."""

    sha256: str
    source_file: str  # file name as ingested
    path: str | None = None
    size_bytes: int = 0
    page_count: int = 0
    venue: str | None = None
    year: int | None = None
    front: FrontMatter | None = None
    full_text: str | None = None
    error: str | None = None
    error_kind: str | None = None  # not_pdf, corrupt, encrypted, no_text, empty, too_large, unreadable, timeout
    ingested_at: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def paper_id(self) -> str:
        return paper_id_for(self.sha256)


def paper_id_for(sha256: str) -> str:
    """Stable short id of a paper: the first 16 hex digits of its file hash."""
    return sha256[:16]


def venue_paper_sha256(key: str) -> str:
    """The stand-in file hash of a venue paper known from metadata alone (no PDF).

    ``key`` is the venue paper's ``"{source}:{source_id}"``; the hash of ``"venue:" + key``
    keys its extraction and record the way a file's hash keys a document's, and its
    :func:`paper_id_for` is the paper id of the metadata-only record. The prefix keeps it
    from ever equalling the hash of a real file's bytes.
    """
    import hashlib

    return hashlib.sha256(f"venue:{key}".encode()).hexdigest()


# --------------------------------------------------------------------------- extraction


class Affiliation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int
    raw: str
    institution: str | None = None
    department: str | None = None
    city: str | None = None
    country: CountryCode = None
    sector: Sector | None = None
    institution_method: Method = Method.UNKNOWN
    institution_score: float | None = None  # gazetteer similarity 0-100
    country_method: Method = Method.UNKNOWN
    evidence: Evidence | None = None
    #: Facts about how the unit was read, for routing (see AFFILIATION_SIGNALS); empty when
    #: it was printed as an affiliation and read as one.
    signals: list[str] = Field(default_factory=list)


#: Values of :attr:`Affiliation.signals`: text from a page-1 figure region; no organisation
#: or place word; organisation inferred (not printed as an affiliation) from a team note, a
#: running header, or the authors' e-mail domains.
AFFILIATION_SIGNALS = frozenset(
    {"figure_region", "no_org_word", "inferred_team_note", "inferred_header", "inferred_email"}
)


class Author(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    affiliation_ids: list[int] = Field(default_factory=list)
    email: str | None = None
    evidence: Evidence | None = None
    #: How the author was tied to their affiliations (see AUTHOR_LINKS); None when the
    #: backend does not say or the author has none.
    link: str | None = None


#: Values of :attr:`Author.link`: a printed marker; the grid cell or shared row under the
#: name; a footnote sentence naming the author; a unit given to every author; the one unit
#: of the block; and the fallbacks used when markers are missing: grid column, print order,
#: e-mail domain.
AUTHOR_LINKS = frozenset({"marker", "cell", "footnote_name", "all_authors", "single_unit", "column", "order", "email"})


class ModelMention(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str  # as written
    family: str
    developer: str | None = None
    developer_country: CountryCode = None
    role: Role | None = None
    where: Where | None = None
    count: int = 1  # occurrences found in the text
    evidence: Evidence | None = None


class PaperContent(BaseModel):
    """What a paper says about itself: the part reviewers edit and exports carry."""

    title: str | None = None
    title_evidence: Evidence | None = None
    authors: list[Author] = Field(default_factory=list)
    affiliations: list[Affiliation] = Field(default_factory=list)
    model_mentions: list[ModelMention] = Field(default_factory=list)

    @model_validator(mode="after")
    def _affiliation_ids_exist(self) -> PaperContent:
        ids = [a.id for a in self.affiliations]
        if len(ids) != len(set(ids)):
            raise ValueError(f"affiliation ids are not unique: {ids}")
        known = set(ids)
        for author in self.authors:
            missing = [i for i in author.affiliation_ids if i not in known]
            if missing:
                raise ValueError(
                    f"author {author.name!r} points at affiliation ids {missing} that do not exist"
                )
        return self

    def countries(self, group_hk_mo_with_cn: bool = False) -> list[str]:
        """Sorted country codes of the paper: any author's affiliation counts."""
        codes = {group_country(a.country, group_hk_mo_with_cn) for a in self.affiliations}
        return sorted(c for c in codes if c)

    def author_countries(self, group_hk_mo_with_cn: bool = False) -> list[list[str]]:
        """Per author (in order), the sorted country codes of their affiliations."""
        by_id = {a.id: a for a in self.affiliations}
        out = []
        for author in self.authors:
            codes = {
                group_country(by_id[i].country, group_hk_mo_with_cn)
                for i in author.affiliation_ids
                if i in by_id
            }
            out.append(sorted(c for c in codes if c))
        return out

    def model_families(self) -> list[str]:
        return sorted({m.family for m in self.model_mentions})


class PaperExtraction(PaperContent):
    """One backend's reading of one document."""

    venue: str | None = None
    year: int | None = None
    author_block_count: int | None = None  # names the layout showed, if the backend counted
    self_confidence: float | None = Field(default=None, ge=0.0, le=1.0)  # LLM's own (weak)
    warnings: list[str] = Field(default_factory=list)


class ExtractionMeta(BaseModel):
    """Who made an extraction and with what; the cache key of the LLM backend."""

    backend: str
    prompt_name: str | None = None
    prompt_version: str | None = None
    prompt_hash: str | None = None
    model: str | None = None
    schema_version: str = SCHEMA_VERSION
    reasks: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


# --------------------------------------------------------------------------- records


class ReviewReason(BaseModel):
    """Why a record needs a human: a stable code plus a sentence a reviewer can act on."""

    code: str
    message: str
    detail: dict[str, Any] = Field(default_factory=dict)


class Provenance(BaseModel):
    model_config = ConfigDict(extra="allow")

    backend: str  # e.g. "rules" or "llm+rules"
    backends: list[str] = Field(default_factory=list)
    prompt_version: str | None = None
    model: str | None = None
    schema_version: str = SCHEMA_VERSION
    extracted_at: str | None = None
    reconciled_at: str | None = None
    reviewer: str | None = None
    reviewed_at: str | None = None


class PaperRecord(PaperContent):
    """The reconciled, reviewable record of one paper (one row of ``records``)."""

    paper_id: str
    sha256: str
    source_file: str
    venue: str | None = None
    year: int | None = None
    status: RecordStatus = RecordStatus.MACHINE
    version: int = 1
    confidence: float | None = None  # P(country set right)
    model_confidence: float | None = None  # P(model-family set right)
    review_reasons: list[ReviewReason] = Field(default_factory=list)
    audit: bool = False  # drawn for the uniform audit sample
    priority: float = 0.0
    error: str | None = None
    provenance: Provenance

    def content(self) -> PaperContent:
        return PaperContent.model_validate(
            self.model_dump(include={"title", "title_evidence", "authors", "affiliations", "model_mentions"})
        )


# --------------------------------------------------------------------------- export contract


class ExportAuthor(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    affiliation_ids: list[int]
    email: str | None


class ExportAffiliation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: int
    raw: str
    institution: str | None
    department: str | None
    city: str | None
    country: CountryCode
    sector: str | None


class ExportModelMention(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    family: str
    developer: str | None
    developer_country: CountryCode
    role: str | None


class ExportRecord(BaseModel):
    """One line of ``collabscope export --format jsonl``: the stable public contract."""

    model_config = ConfigDict(extra="allow")  # e.g. venue, year, error

    paper_id: str
    source_file: str
    sha256: str
    title: str | None
    authors: list[ExportAuthor]
    affiliations: list[ExportAffiliation]
    countries: list[str]
    model_mentions: list[ExportModelMention]
    status: Literal["machine", "verified", "rejected", "failed"]
    confidence: float | None
    review_reasons: list[str]
    provenance: dict[str, Any]

    @model_validator(mode="after")
    def _countries_sorted_and_valid(self) -> ExportRecord:
        if self.countries != sorted(set(self.countries)):
            raise ValueError("countries must be sorted and unique")
        bad = [c for c in self.countries if c not in VALID_COUNTRY_CODES]
        if bad:
            raise ValueError(f"invalid country codes {bad}")
        if "backend" not in self.provenance:
            raise ValueError("provenance must name the backend")
        return self
