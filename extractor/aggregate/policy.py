"""The counting policy: which papers count for which country, and which records count.

Every published number depends on these choices, so they live in one validated model
that is printed (``describe()``) next to every result and stored with reports and data
cards. Defaults follow DESIGN.md: any author's affiliation counts, HK/MO/TW are their own
codes, and records count when verified or confidently machine-extracted.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from extractor.schemas import PaperContent, RecordStatus, group_country

CountBy = Literal["any", "first", "last"]
StatusSet = Literal["verified", "verified+machine"]
AuditFrame = Literal["confident", "all"]

#: Records that can be counted under "verified+machine". Rejected (not a paper) and
#: failed (nothing extracted) never count.
MACHINE_STATUSES = (RecordStatus.MACHINE, RecordStatus.QUEUED, RecordStatus.IN_REVIEW)


class CountingPolicy(BaseModel):
    """How papers are counted. Frozen, so a result can carry the exact policy it used."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    group_hk_mo_with_cn: bool = Field(
        default=False, description="count Hong Kong and Macau as CN (Taiwan is never grouped)"
    )
    count_by: CountBy = Field(
        default="any",
        description="a paper counts for a country through any author, or only the first / last author",
    )
    statuses: StatusSet = Field(
        default="verified+machine",
        description="count human-verified records only, or verified plus machine records",
    )
    audit_frame: AuditFrame = Field(
        default="confident",
        description=(
            "what the uniform audit sample was drawn from: the confident machine records "
            "(the default) or all records"
        ),
    )
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0, description="interval level")

    @field_validator("count_by", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    # ---------------------------------------------------------------- what counts

    def counted_statuses(self) -> tuple[RecordStatus, ...]:
        if self.statuses == "verified":
            return (RecordStatus.VERIFIED,)
        return (*MACHINE_STATUSES, RecordStatus.VERIFIED)

    def country(self, code: str | None) -> str | None:
        """One country code under the HK/MO rule."""
        return group_country(code, self.group_hk_mo_with_cn)

    def paper_countries(self, content: PaperContent) -> frozenset[str]:
        """The countries a paper counts for under this policy.

        ``any``: every affiliation of every author (DESIGN.md). ``first``/``last``: only
        that author's affiliations, so a paper whose first author has no affiliation
        counts for no country. ``any`` reads the affiliation list itself, so an affiliation
        no author points at (a half-extracted record) still counts.
        """
        if self.count_by == "any":
            return frozenset(content.countries(self.group_hk_mo_with_cn))
        per_author = content.author_countries(self.group_hk_mo_with_cn)
        if not per_author:
            return frozenset()
        chosen = per_author[0] if self.count_by == "first" else per_author[-1]
        return frozenset(chosen)

    # ---------------------------------------------------------------- printing

    def describe(self) -> str:
        """One line a reader can check a number against."""
        who = {"any": "any author", "first": "the first author", "last": "the last author"}[self.count_by]
        hk = "HK and MO counted as CN" if self.group_hk_mo_with_cn else "HK, MO and TW kept separate"
        recs = (
            "human-verified records only"
            if self.statuses == "verified"
            else "verified and machine records (rejected and failed never count)"
        )
        frame = "confident machine records" if self.audit_frame == "confident" else "all records"
        return (
            f"a paper counts for a country when {who} lists an affiliation there "
            f"(an author with several affiliations counts for each); {hk} (TW never grouped); "
            f"records counted: {recs}; {self.confidence:.0%} intervals; audit frame: {frame}"
        )

    def as_rows(self) -> list[tuple[str, str]]:
        """(setting, value) pairs for tables in reports and data cards."""
        return [
            ("counted through", self.count_by + " author" + ("s" if self.count_by == "any" else "")),
            ("HK/MO grouped with CN", "yes" if self.group_hk_mo_with_cn else "no (TW never grouped)"),
            ("records counted", self.statuses),
            ("interval level", f"{self.confidence:.0%}"),
            ("audit sample drawn from", self.audit_frame + (" machine records" if self.audit_frame == "confident" else " records")),
        ]
