"""The counted population: every countable record with its machine and human readings.

Estimates need two labels per paper: Ŷ, what the machine said, and Y, what a person
said (when someone verified it). The records table only holds the current version, so
the machine version of a reviewed record is recovered from the audit log: the ``before``
of the first human change after the last machine write (create/reconcile). Nothing else
in the log is trusted for this, and a record nobody changed is its own machine version.

Each record is put in one stratum of the review design (see docs/AGGREGATES.md):

* ``verified`` – a person verified it outside the audit (priority queue or ad hoc): Y
  is known and used as is, but it never enters the rectifier (not a random sample).
* ``audited`` – drawn for the uniform audit and verified: Y and Ŷ known; the only
  records whose disagreement Y − Ŷ estimates the machine's bias.
* ``unreviewed`` – in the audit frame, not reviewed (audit records still waiting
  included): Ŷ only, corrected by the rectifier.
* ``pending`` – outside the audit frame and still in the review queue: Ŷ only, and no
  random sample speaks for them, so intervals take the worst case for them.

:func:`iter_units` streams the units from the store a page at a time, so a summary of a
million records holds one page, never the corpus; :class:`Population` is the in-memory
form for tests, notebooks and callers that bring their own records.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from extractor.aggregate.policy import CountingPolicy
from extractor.schemas import ROLE_STRENGTH, PaperContent, PaperRecord, RecordStatus, Role
from extractor.store import Store

UNKNOWN_ROLE = "unknown"
#: Roles in the order charts and tables list them (strongest first), plus "unknown".
ROLES = [r.value for r in Role] + [UNKNOWN_ROLE]
_STRENGTH = {r.value: s for r, s in ROLE_STRENGTH.items()} | {UNKNOWN_ROLE: -1}


class Stratum(StrEnum):
    VERIFIED = "verified"
    AUDITED = "audited"
    UNREVIEWED = "unreviewed"
    PENDING = "pending"


#: Strata whose records carry a person's label.
REVIEWED = (Stratum.VERIFIED, Stratum.AUDITED)


@dataclass(frozen=True)
class View:
    """One reading of a paper (machine or human), reduced to what counting needs."""

    countries: frozenset[str]  # under the policy (HK/MO rule, any/first/last author)
    raw_countries: frozenset[str]  # any author, no grouping: used to measure errors
    roles: Mapping[str, str]  # model family -> strongest role ("unknown" when none given)
    developers: Mapping[str, frozenset[str]]  # family -> developer countries (policy-grouped)

    @property
    def families(self) -> frozenset[str]:
        return frozenset(self.roles)


def _roles_and_developers(mentions: Iterable[tuple[str, str | None, str | None]],
                          policy: CountingPolicy) -> tuple[dict[str, str], dict[str, frozenset[str]]]:
    """(family -> strongest role, family -> developer countries) from (family, role, developer country)."""
    roles: dict[str, str] = {}
    devs: dict[str, set[str]] = {}
    for family, role_value, developer_country in mentions:
        role = role_value or UNKNOWN_ROLE
        if family not in roles or _STRENGTH[role] > _STRENGTH[roles[family]]:
            roles[family] = role
        code = policy.country(developer_country)
        devs.setdefault(family, set())
        if code:
            devs[family].add(code)
    return roles, {k: frozenset(v) for k, v in devs.items()}


def make_view(content: PaperContent, policy: CountingPolicy) -> View:
    """The counting view of a validated record or content."""
    roles, devs = _roles_and_developers(
        ((m.family, m.role.value if m.role else None, m.developer_country) for m in content.model_mentions), policy)
    return View(
        countries=policy.paper_countries(content),
        raw_countries=frozenset(content.countries(False)),
        roles=roles,
        developers=devs,
    )


def column_codes(column: str | None) -> list[str]:
    """``",CN,US,"`` (the records' countries and reasons columns) -> ``["CN", "US"]``."""
    return [c for c in (column or "").split(",") if c]


class ColumnViews:
    """Views from a record's stored columns and raw model mentions (``count_by="any"`` only).

    The countries column holds the record's country set (every affiliation, no
    grouping), which is what "any author" counts; the model mentions are the JSON the
    store extracted from the record, validated when the record was written (absent keys
    are the fields' ``None``). Papers with the same countries column share one pair of
    country sets (a bounded cache), so their keys can be looked up once per set.
    """

    #: Country sets kept at most (the first ones seen, which are the frequent ones).
    _MAX_SETS = 5_000

    def __init__(self, policy: CountingPolicy) -> None:
        if policy.count_by != "any":
            raise ValueError("the countries column only answers count_by='any'; read the whole record")
        self.policy = policy
        self._sets: dict[str | None, tuple[frozenset[str], frozenset[str]]] = {}

    def view(self, countries_column: str | None, mentions: list[dict[str, Any]] | None) -> View:
        sets = self._sets.get(countries_column)
        if sets is None:
            raw = frozenset(column_codes(countries_column))
            grouped = frozenset(self.policy.country(c) for c in raw) if self.policy.group_hk_mo_with_cn else raw
            sets = (grouped, raw)  # type: ignore[assignment]
            if len(self._sets) < self._MAX_SETS:
                self._sets[countries_column] = sets
        if mentions:
            roles, devs = _roles_and_developers(
                ((m["family"], m.get("role"), m.get("developer_country")) for m in mentions), self.policy)
        else:
            roles, devs = {}, {}
        return View(countries=sets[0], raw_countries=sets[1], roles=roles, developers=devs)


def view_of_columns(countries_column: str | None, mentions: list[dict[str, Any]] | None,
                    policy: CountingPolicy) -> View:
    """The view :func:`make_view` gives, from a record's stored columns and raw mentions."""
    return ColumnViews(policy).view(countries_column, mentions)


@dataclass(slots=True)
class Unit:
    """One countable paper: where it stands in the review design and its two readings.

    ``record`` is the validated record when the caller loaded it (the report's listing,
    :func:`build_population`); summaries read only the columns and model mentions.
    """

    paper_id: str
    venue: str | None
    year: int | None
    status: RecordStatus
    audit: bool
    stratum: Stratum
    machine: View
    human: View | None  # set for verified and audited records
    record: PaperRecord | None = field(default=None, repr=False)
    title: str | None = field(default=None, repr=False)

    @property
    def current(self) -> View:
        """The reading the database holds now: the human one where it exists."""
        return self.human or self.machine


def stratum_of(status: RecordStatus, audit: bool, policy: CountingPolicy) -> Stratum:
    if status == RecordStatus.VERIFIED:
        return Stratum.AUDITED if audit else Stratum.VERIFIED
    if audit or status == RecordStatus.MACHINE or policy.audit_frame == "all":
        return Stratum.UNREVIEWED
    return Stratum.PENDING  # routed to the queue (queued / in review), outside the frame


def _unit(paper_id: str, venue: str | None, year: int | None, status: RecordStatus, audit: bool, current: View,
          machine_json: str | PaperContent | None, policy: CountingPolicy, record: PaperRecord | None = None,
          title: str | None = None) -> Unit:
    stratum = stratum_of(status, audit, policy)
    if machine_json is None:
        machine = current
    else:
        content = (machine_json if isinstance(machine_json, PaperContent)
                   else PaperContent.model_validate_json(machine_json))
        machine = make_view(content, policy)
    return Unit(paper_id, venue, year, status, audit, stratum, machine,
                current if stratum in REVIEWED else None, record, title)


def unit_of_record(record: PaperRecord, policy: CountingPolicy, machine: str | PaperContent | None) -> Unit:
    """A unit from a validated record and its machine version (None: nobody changed it)."""
    return _unit(record.paper_id, record.venue, record.year, record.status, record.audit,
                 make_view(record, policy), machine, policy, record, record.title)


def unit_of_columns(row: Mapping[str, Any], views: ColumnViews, machine: str | None) -> Unit:
    """A unit from a ``content="models"`` row of :meth:`~extractor.store.Store.record_pages`:
    the current view from the columns and the model mentions alone, no record validated
    (from a ``content="columns"`` row, a view with the countries and no models)."""
    mentions = json.loads(row["content"]) if row["content"] else None
    return _unit(row["paper_id"], row["venue"], row["year"], RecordStatus(row["status"]), bool(row["audit"]),
                 views.view(row["countries"], mentions), machine, views.policy, None, row["title"])


def iter_units(store: Store, policy: CountingPolicy, *, order: str = "paper_id") -> Iterator[Unit]:
    """Every counted record as a unit, read a page at a time.

    Under ``count_by="any"`` a page carries the indexed columns and the model mentions
    only; under first/last author each record is read whole and validated (the authors
    decide its countries). ``order="storage"`` gives the records in the order they sit in
    the file (faster; for callers that only count), ``"paper_id"`` by paper id.
    """
    statuses = [s.value for s in policy.counted_statuses()]
    views = ColumnViews(policy) if policy.count_by == "any" else None
    content = "record" if views is None else "models"
    for page in store.record_pages(statuses, content=content, order=order):  # type: ignore[arg-type]
        # A record still at version 1 was written once, by the machine: nobody changed
        # it, so it is its own machine version and the log need not be asked.
        machine = store.machine_versions([row["paper_id"] for row in page if row["version"] != 1])
        for row in page:
            before = machine.get(row["paper_id"]) if machine else None
            if views is not None:
                yield unit_of_columns(row, views, before)
            else:
                yield unit_of_record(PaperRecord.model_validate_json(row["content"]), policy, before)


@dataclass(frozen=True)
class StatusTally:
    """Every record in the database by status, and the audit draw (any status)."""

    status_counts: dict[str, int]  # in the order statuses first appear by paper id
    audit_drawn: int  # records flagged for audit, any status
    audit_rejected: int  # audit records a person rejected (not a paper): out of the sample


def status_tally(store: Store) -> StatusTally:
    rows = store.record_status_tallies()
    return StatusTally(
        {r["status"]: r["records"] for r in rows},
        sum(r["audit"] for r in rows),
        sum(r["audit"] for r in rows if r["status"] == RecordStatus.REJECTED.value),
    )


@dataclass
class Population:
    """The countable records under a policy, in memory, plus what the review design needs.

    ``store`` is the database the units were read from (the report lists its papers from
    there); None when the records were passed in.
    """

    policy: CountingPolicy
    units: list[Unit]
    status_counts: dict[str, int] = field(default_factory=dict)  # every record, by status
    audit_drawn: int = 0  # records flagged for audit, any status
    audit_rejected: int = 0  # audit records a person rejected (not a paper): out of the sample
    store: Store | None = field(default=None, repr=False)

    @property
    def size(self) -> int:
        return len(self.units)

    def count(self, stratum: Stratum) -> int:
        return sum(u.stratum == stratum for u in self.units)

    def subset(self, keep: Callable[[Unit], bool]) -> Population:
        """The same design restricted to some papers (a venue, a year): audit stays uniform."""
        return Population(self.policy, [u for u in self.units if keep(u)], self.status_counts,
                          self.audit_drawn, self.audit_rejected, self.store)


def machine_versions(store: Store, paper_ids: Iterable[str] | None = None) -> dict[str, PaperContent]:
    """Machine content of every record (or of ``paper_ids``) a person changed since the machine wrote it.

    Holds the found contents in memory: for a page of papers or a small database; the
    streamed summaries look them up a page at a time.
    """
    if paper_ids is None:
        ids: list[str] = [row["paper_id"] for page in store.record_pages() for row in page]
    else:
        ids = list(paper_ids)
    return {pid: PaperContent.model_validate_json(text) for pid, text in store.machine_versions(ids).items()}


def build_population(records: Iterable[PaperRecord], policy: CountingPolicy,
                     machine: Mapping[str, PaperContent]) -> Population:
    """Strata and views for records already loaded (tests and the UI can pass their own)."""
    counted = set(policy.counted_statuses())
    units: list[Unit] = []
    statuses: dict[str, int] = {}
    drawn = rejected = 0
    for record in records:
        statuses[record.status.value] = statuses.get(record.status.value, 0) + 1
        if record.audit:
            drawn += 1
            rejected += record.status == RecordStatus.REJECTED
        if record.status not in counted:
            continue
        units.append(unit_of_record(record, policy, machine.get(record.paper_id)))
    return Population(policy, units, statuses, drawn, rejected)


def load_population(store: Store, policy: CountingPolicy | None = None) -> Population:
    """Every counted record of the store as a unit, in memory, under ``policy``.

    For tests, notebooks and small databases: it holds one unit per record.
    :func:`~extractor.aggregate.summary.summarize` given the store streams instead.
    """
    policy = policy or CountingPolicy()
    with store.read_snapshot():
        units = list(iter_units(store, policy))
        tally = status_tally(store)
    return Population(policy, units, tally.status_counts, tally.audit_drawn, tally.audit_rejected, store)
