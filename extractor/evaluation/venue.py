"""Compare the records with a venue source's own country labels (``collabscope eval --venue-labels``).

Some sources label each paper's countries themselves (paperlists' ``aff_country_unique``).
Those labels are never an answer (countries come from our resolver), but they are a free
second opinion on a whole venue: this module lines every venue paper's record up with the
labels the collector stored (``venue_papers.source_countries``) and lists where they differ.

The record of a venue paper is its document's when its PDF was collected and has a record,
else its metadata-only record. Records that do not count (rejected, failed) are left out.

Two comparisons, because the source folds places we keep apart:

* **per paper**, on the source's terms: our codes with HK, MO and TW folded into CN (the
  source labels all three "China") against the source's labels; a difference is listed;
* **the US–CN share** (or another pair), each side on its own terms: ours under the
  counting policy asked for (HK/MO grouped or not, TW never grouped), the source's from its
  labels as given. ``difference_pp`` is ours minus the source's, in percentage points;
  ``ours_pair_source_folding`` counts ours with the source's folding, to tell the policy
  difference from reading differences.

Labels are country names ("United States", "China", "USA", "UK"), read by the same
``label_code`` as the routing signal; a name nobody knows ("Unknown") is ignored and counted in ``unknown_labels``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from extractor.aggregate import COUNTED
from extractor.errors import NotFoundError
from extractor.extract.venue import iter_venue_papers
from extractor.reconcile.signals import SOURCE_FOLDED_INTO_CN, label_code
from extractor.schemas import group_country, paper_id_for, venue_paper_sha256
from extractor.store import Store


@dataclass
class VenueDisagreement:
    key: str
    paper_id: str
    title: str | None
    status: str
    ours: list[str]  # our codes, the source's folding applied (HK, MO, TW -> CN)
    source: list[str]  # the source's labels as codes
    only_ours: list[str] = field(default_factory=list)
    only_source: list[str] = field(default_factory=list)


@dataclass
class VenueLabelReport:
    pair: tuple[str, str]
    group_hk_mo_with_cn: bool
    venue_papers: int = 0
    compared: int = 0  # papers with a counted record and at least one known source label
    agree: int = 0
    no_record: int = 0
    no_labels: int = 0
    unknown_labels: int = 0
    ours_pair: int = 0
    ours_pair_source_folding: int = 0  # ours with HK, MO and TW counted as CN, as the source counts them
    source_pair: int = 0
    disagreements: list[VenueDisagreement] = field(default_factory=list)

    @property
    def ours_share(self) -> float | None:
        return self.ours_pair / self.compared if self.compared else None

    @property
    def source_share(self) -> float | None:
        return self.source_pair / self.compared if self.compared else None

    @property
    def difference_pp(self) -> float | None:
        if not self.compared:
            return None
        return round(100 * (self.ours_pair - self.source_pair) / self.compared, 3)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out |= {"ours_share": self.ours_share, "source_share": self.source_share, "difference_pp": self.difference_pp,
                "agreement": self.agree / self.compared if self.compared else None}
        return out


def _record_for(store: Store, row: dict[str, Any]) -> Any:
    """The record that answers for a venue paper: its document's, else its metadata-only one."""
    ids = [paper_id_for(row["sha256"])] if row.get("sha256") else []
    ids.append(paper_id_for(venue_paper_sha256(row["key"])))
    counted = {s.value for s in COUNTED}
    for pid in ids:
        try:
            record = store.get_record(pid)
        except NotFoundError:
            continue
        if record.status.value in counted:
            return record
    return None


def evaluate_venue_labels(store: Store, *, pair: tuple[str, str] = ("US", "CN"),
                          group_hk_mo_with_cn: bool = True) -> VenueLabelReport:
    """Every venue paper with source labels against its record; see the module docstring."""
    report = VenueLabelReport(pair=pair, group_hk_mo_with_cn=group_hk_mo_with_cn)
    a, b = pair
    for page in iter_venue_papers(store):
        for row in page:
            report.venue_papers += 1
            labels = [str(x) for x in row.get("source_countries") or []]
            codes = {c for c in map(label_code, labels) if c}
            report.unknown_labels += sum(label_code(x) is None for x in labels)
            if not codes:
                report.no_labels += 1
                continue
            record = _record_for(store, row)
            if record is None:
                report.no_record += 1
                continue
            report.compared += 1
            mine = set(record.countries())
            policy = {group_country(c, group_hk_mo_with_cn) for c in mine}
            report.ours_pair += a in policy and b in policy
            report.source_pair += a in codes and b in codes
            folded = {"CN" if c in SOURCE_FOLDED_INTO_CN else c for c in mine}
            report.ours_pair_source_folding += a in folded and b in folded
            if folded == codes:
                report.agree += 1
                continue
            report.disagreements.append(VenueDisagreement(
                key=row["key"], paper_id=record.paper_id, title=record.title or row.get("title"),
                status=record.status.value, ours=sorted(folded), source=sorted(codes),
                only_ours=sorted(folded - codes), only_source=sorted(codes - folded)))
    return report


def render_venue_labels(report: VenueLabelReport, show: int = 20) -> str:
    """The report as text: totals, the pair share both ways, and the first disagreements."""
    a, b = report.pair
    lines = [f"venue papers {report.venue_papers}; compared {report.compared} (no counted record {report.no_record}, "
             f"no source label {report.no_labels})"]
    if report.compared:
        lines.append(f"country sets agree (the source's folding: HK, MO, TW as CN): {report.agree}/{report.compared} "
                     f"= {report.agree / report.compared:.3f}")
        grouping = "HK, MO as CN" if report.group_hk_mo_with_cn else "HK, MO own codes"
        lines.append(f"{a}–{b} share: ours {report.ours_share:.4f} ({report.ours_pair}, {grouping}; TW never grouped); "
                     f"source labels {report.source_share:.4f} ({report.source_pair}); "
                     f"difference {report.difference_pp:+.2f} pp")
        folded = report.ours_pair_source_folding
        lines.append(f"  ours on the source's folding (HK, MO, TW as CN): {folded / report.compared:.4f} ({folded}), "
                     f"difference {100 * (folded - report.source_pair) / report.compared:+.2f} pp")
    if report.disagreements:
        lines.append(f"disagreements ({len(report.disagreements)}; first {min(show, len(report.disagreements))}):")
        for d in report.disagreements[:show]:
            lines.append(f"  {d.key} [{d.paper_id}, {d.status}] ours {','.join(d.ours) or '-'}; "
                         f"source {','.join(d.source) or '-'}  {(d.title or '')[:70]}")
    return "\n".join(lines)
