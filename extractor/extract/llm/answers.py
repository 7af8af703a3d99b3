"""What the LLM is asked to return: small, forgiving models, separate from schemas.py.

These are the response models instructor turns into the tool/JSON schema and validates
answers against. They are deliberately not :mod:`extractor.schemas`: the model gets a
shape that is easy to fill (free-text country and sector, verbatim quotes as evidence)
and the conversion step (:mod:`.convert`) does the strict part - ISO codes, gazetteer
normalisation, grounding. Only what a re-ask can fix raises a validation error here
(affiliation ids that do not exist, duplicate ids): sending a 2-letter-code lecture back
to the model costs a round trip the resolver does for free.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator, model_validator

from extractor.schemas import Role


class LLMAuthor(BaseModel):
    """One author as printed, linked to affiliations by id."""

    name: str = Field(description="the name exactly as printed, without superscript markers")
    markers: list[str] = Field(default_factory=list, description="superscript markers after the name, e.g. ['1', '*']")
    affiliation_ids: list[int] = Field(default_factory=list, description="ids of this author's affiliations")
    email: str | None = Field(default=None, description="the author's e-mail if printed, else null")
    evidence: str | None = Field(default=None, description="a verbatim quote of the text that shows this author")


class LLMAffiliation(BaseModel):
    """One affiliation: the verbatim text plus the model's reading of it."""

    id: int = Field(description="a number for this affiliation; the printed marker when it is a number")
    marker: str | None = Field(default=None, description="the superscript marker printed before it, if any")
    raw: str = Field(description="the affiliation text copied verbatim from the paper, without its marker")
    institution: str | None = Field(default=None, description="the organisation (university, company, lab) as written")
    department: str | None = None
    city: str | None = None
    country: str | None = Field(
        default=None, description="ISO 3166-1 alpha-2 code (US, CN, GB, ...) if written or certain; else null")
    sector: str | None = Field(default=None, description="academia, industry, government or nonprofit")
    evidence: str | None = Field(default=None, description="a verbatim quote of the text this comes from")


class LLMModelMention(BaseModel):
    """An AI model named on page 1 (title or abstract)."""

    name: str = Field(description="the model name as written, e.g. 'LLaMA-2-7B'")
    role: Role | None = Field(default=None, description="how the paper relates to the model, if page 1 says")
    evidence: str | None = Field(default=None, description="a verbatim quote around the mention")


class FrontMatterAnswer(BaseModel):
    """Title, authors, affiliations and page-1 model mentions of one paper."""

    title: str | None = Field(default=None, description="the title exactly as printed")
    authors: list[LLMAuthor] = Field(default_factory=list)
    affiliations: list[LLMAffiliation] = Field(default_factory=list)
    model_mentions: list[LLMModelMention] = Field(default_factory=list)
    self_confidence: float | None = Field(default=None, description="0..1: how sure you are that this is complete and right")

    @field_validator("self_confidence")
    @classmethod
    def _clamp(cls, value: float | None) -> float | None:
        return None if value is None else min(1.0, max(0.0, value))

    @model_validator(mode="after")
    def _ids_consistent(self) -> FrontMatterAnswer:
        """Dangling or duplicate ids make the record unusable, and the model can fix them."""
        ids = [a.id for a in self.affiliations]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"affiliation ids must be unique; repeated: {dupes}")
        known = set(ids)
        for author in self.authors:
            missing = [i for i in author.affiliation_ids if i not in known]
            if missing:
                raise ValueError(
                    f"author {author.name!r} points at affiliation ids {missing} that are not in affiliations "
                    f"(known ids: {sorted(known)})"
                )
        return self


class RoleItem(BaseModel):
    """The role of one numbered snippet's model mention."""

    id: int = Field(description="the snippet number")
    role: Role = Field(description="proposed, fine-tuned, used, compared or cited-only")
    evidence: str | None = Field(default=None, description="the words in the snippet that decide the role, verbatim")


class RolesAnswer(BaseModel):
    """One item per snippet."""

    items: list[RoleItem] = Field(default_factory=list)
