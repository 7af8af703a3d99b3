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
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from ..schemas import ROLE_STRENGTH, PaperContent, PaperRecord, RecordStatus, Role
from ..store import Store
from .policy import CountingPolicy

UNKNOWN_ROLE = "unknown"
#: Roles in the order charts and tables list them (strongest first), plus "unknown".
ROLES = [r.value for r in Role] + [UNKNOWN_ROLE]
_STRENGTH = {r.value: s for r, s in ROLE_STRENGTH.items()} | {UNKNOWN_ROLE: -1}


class Stratum(StrEnum):
    VERIFIED = "verified"
    AUDITED = "audited"
    UNREVIEWED = "unreviewed"
    PENDING = "pending"


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


def make_view(content: PaperContent, policy: CountingPolicy) -> View:
    roles: dict[str, str] = {}
    devs: dict[str, set[str]] = {}
    for m in content.model_mentions:
        role = m.role.value if m.role else UNKNOWN_ROLE
        if m.family not in roles or _STRENGTH[role] > _STRENGTH[roles[m.family]]:
            roles[m.family] = role
        code = policy.country(m.developer_country)
        devs.setdefault(m.family, set())
        if code:
            devs[m.family].add(code)
    return View(
        countries=policy.paper_countries(content),
        raw_countries=frozenset(content.countries(False)),
        roles=roles,
        developers={k: frozenset(v) for k, v in devs.items()},
    )


@dataclass
class Unit:
    """One countable paper: its record, its stratum and its two readings."""

    record: PaperRecord
    stratum: Stratum
    machine: View
    human: View | None  # set for verified and audited records

    @property
    def paper_id(self) -> str:
        return self.record.paper_id

    @property
    def current(self) -> View:
        """The reading the database holds now: the human one where it exists."""
        return self.human or self.machine


@dataclass
class Population:
    """The countable records under a policy, plus what the review design needs to know."""

    policy: CountingPolicy
    units: list[Unit]
    status_counts: dict[str, int] = field(default_factory=dict)  # every record, by status
    audit_drawn: int = 0  # records flagged for audit, any status
    audit_rejected: int = 0  # audit records a person rejected (not a paper): out of the sample
    machine_contents: dict[str, PaperContent] = field(default_factory=dict, repr=False)

    @property
    def size(self) -> int:
        return len(self.units)

    def count(self, stratum: Stratum) -> int:
        return sum(u.stratum == stratum for u in self.units)

    def subset(self, keep: Callable[[Unit], bool]) -> Population:
        """The same design restricted to some papers (a venue, a year): audit stays uniform."""
        return Population(self.policy, [u for u in self.units if keep(u)], self.status_counts,
                          self.audit_drawn, self.audit_rejected, self.machine_contents)


def machine_versions(store: Store, paper_ids: Iterable[str] | None = None) -> dict[str, PaperContent]:
    """Machine content of every record a person changed since the machine last wrote it.

    Walks the audit log once: a create/reconcile row resets a paper, and the first later
    row carrying a ``before`` (every human save does) holds the machine's version.
    """
    wanted = set(paper_ids) if paper_ids is not None else None
    found: dict[str, str | None] = {}
    rows = store.query(
        "SELECT paper_id, action, before FROM reviews "
        "WHERE before IS NOT NULL OR action IN ('create', 'reconcile') ORDER BY id"
    )
    for row in rows:
        pid = row["paper_id"]
        if wanted is not None and pid not in wanted:
            continue
        if row["action"] in ("create", "reconcile"):
            found[pid] = None
        elif found.get(pid) is None and row["before"]:
            found[pid] = row["before"]
    return {pid: PaperContent.model_validate_json(text) for pid, text in found.items() if text}


def _stratum(record: PaperRecord, policy: CountingPolicy) -> Stratum:
    if record.status == RecordStatus.VERIFIED:
        return Stratum.AUDITED if record.audit else Stratum.VERIFIED
    if record.audit or record.status == RecordStatus.MACHINE or policy.audit_frame == "all":
        return Stratum.UNREVIEWED
    return Stratum.PENDING  # routed to the queue (queued / in review), outside the frame


def build_population(records: Iterable[PaperRecord], policy: CountingPolicy,
                     machine: Mapping[str, PaperContent]) -> Population:
    """Strata and views for records already loaded (tests and the UI can pass their own)."""
    counted = set(policy.counted_statuses())
    units: list[Unit] = []
    statuses: Counter[str] = Counter()
    drawn = rejected = 0
    for record in records:
        statuses[record.status.value] += 1
        if record.audit:
            drawn += 1
            rejected += record.status == RecordStatus.REJECTED
        if record.status not in counted:
            continue
        stratum = _stratum(record, policy)
        current = make_view(record, policy)
        if stratum in (Stratum.VERIFIED, Stratum.AUDITED):
            before = machine.get(record.paper_id)
            units.append(Unit(record, stratum, make_view(before, policy) if before else current, current))
        else:
            before = machine.get(record.paper_id)
            units.append(Unit(record, stratum, make_view(before, policy) if before else current, None))
    return Population(policy, units, dict(statuses), drawn, rejected, dict(machine))


def load_population(store: Store, policy: CountingPolicy | None = None) -> Population:
    """Read every record once and place it in the review design under ``policy``."""
    policy = policy or CountingPolicy()
    return build_population(store.iter_records(), policy, machine_versions(store))
