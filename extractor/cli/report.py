"""Aggregate commands: ``report`` (self-contained HTML page) and ``stats`` (terminal / JSON)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from extractor.aggregate import CountingPolicy, Summary, parse_pair, summarize
from extractor.cli.common import (
    ConfigOpt,
    DbOpt,
    QuietOpt,
    check_country,
    command,
    console_out,
    country_list,
    open_store,
    settings_from,
    summary,
)
from extractor.config import Settings
from extractor.errors import ConfigError


class CountBy(StrEnum):
    any = "any"
    first = "first"
    last = "last"


class Statuses(StrEnum):
    verified = "verified"
    verified_machine = "verified+machine"


PairOpt = Annotated[str, typer.Option("--pair", help="Two country codes whose co-authorship share is the headline.")]
GroupOpt = Annotated[bool | None, typer.Option("--group-hk-mo/--no-group-hk-mo",
                                               help="Count HK and MO as CN (TW is never grouped).")]
CountByOpt = Annotated[CountBy, typer.Option("--count-by", help="A paper counts for a country through any author, "
                                             "or only the first / last author.")]
StatusesOpt = Annotated[Statuses, typer.Option("--statuses", help="Count verified records only, or verified + "
                                               "machine records (rejected and failed never count).")]
AuditFrameOpt = Annotated[str, typer.Option("--audit-frame", help="What the audit sample was drawn from: "
                                            "confident (machine records above the threshold) or all.")]


def _policy(settings: Settings, count_by: CountBy, statuses: Statuses, audit_frame: str) -> CountingPolicy:
    if audit_frame not in ("confident", "all"):
        raise ConfigError(f"--audit-frame must be confident or all, not {audit_frame!r}")
    return CountingPolicy(group_hk_mo_with_cn=settings.group_hk_mo_with_cn, count_by=count_by.value,
                          statuses=statuses.value, audit_frame=audit_frame)  # type: ignore[arg-type]


def _pair(text: str, policy: CountingPolicy) -> tuple[str, str]:
    try:
        pair = parse_pair(text)
    except ValueError as exc:
        raise ConfigError(f"--pair: {exc}") from None
    pair = (check_country(pair[0], "--pair"), check_country(pair[1], "--pair"))
    if policy.country(pair[0]) == policy.country(pair[1]):
        raise ConfigError(f"--pair {text}: both are {policy.country(pair[0])} when HK and MO are grouped with CN")
    return pair


@command("report")
def report_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = Path("report.html"),
    pair: PairOpt = "US,CN",
    group_hk_mo: GroupOpt = None,
    count_by: CountByOpt = CountBy.any,
    statuses: StatusesOpt = Statuses.verified_machine,
    audit_frame: AuditFrameOpt = "confident",
    title: Annotated[str | None, typer.Option("--title", help="Page title.")] = None,
    max_papers: Annotated[int | None, typer.Option("--max-papers", help="List at most this many papers in the evidence table.")] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Write one self-contained HTML page: headline shares with intervals, the counting
    policy, country-pair heatmap, trends, model flows, review progress and audit error
    rate, and every paper with the evidence behind its countries.

    Nothing on the page loads from the network; open it anywhere.

    Example: collabscope report --out report.html --pair US,CN --group-hk-mo
    """
    from extractor.report import write_report  # local: matplotlib is only needed here

    settings = settings_from(db, config, group_hk_mo_with_cn=group_hk_mo)
    policy = _policy(settings, count_by, statuses, audit_frame)
    the_pair = _pair(pair, policy)
    with open_store(settings) as store:
        result = write_report(store, out, policy, the_pair, title=title, max_papers=max_papers)
    s = result.summary
    summary(f"wrote {out} ({result.bytes / 1e6:.1f} MB, {result.charts} charts, {result.papers} papers); "
            f"{the_pair[0]}–{the_pair[1]}: {s.pair_share.text()}", quiet)


def _print(s: Summary) -> None:
    p = f"{s.pair[0]}–{s.pair[1]}"
    console_out.print(f"policy          {s.policy.describe()}", markup=False)
    console_out.print(f"papers          {s.papers:,}", markup=False)
    console_out.print(f"{p + ' share':<15} {s.pair_share.text()}", markup=False)
    console_out.print(f"international   {s.international.text()}", markup=False)
    console_out.print(f"no country      {s.no_country.text()}", markup=False)
    for g in s.groups if len(s.groups) > 1 else []:
        console_out.print(f"  {g.venue or '-'} {g.year or '-'}: {g.papers:,} papers; {p} {g.pair.text()}", markup=False)
    # Every country --json has, most papers first and ties by code.
    console_out.print(f"countries       {country_list([(c, round(e.count)) for c, e in s.countries.items()])}",
                      markup=False)
    console_out.print(f"audit           {s.audit.country_set.text()}", markup=False)
    console_out.print(f"review          {s.progress.reviewed_share:.0%} reviewed; "
                      + ", ".join(f"{k} {v:,}" for k, v in s.progress.strata.items()), markup=False)


@command("stats")
def stats_cmd(
    pair: PairOpt = "US,CN",
    group_hk_mo: GroupOpt = None,
    count_by: CountByOpt = CountBy.any,
    statuses: StatusesOpt = Statuses.verified_machine,
    audit_frame: AuditFrameOpt = "confident",
    as_json: Annotated[bool, typer.Option("--json", help="Every aggregate as JSON (tables included).")] = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
    quiet: QuietOpt = False,  # noqa: ARG001 - shared option; stats prints data only
) -> None:
    """Print the headline aggregates with their intervals and the counting policy.

    Example: collabscope stats --pair US,CN --count-by first --json
    """
    settings = settings_from(db, config, group_hk_mo_with_cn=group_hk_mo)
    policy = _policy(settings, count_by, statuses, audit_frame)
    with open_store(settings) as store:
        s = summarize(store, policy, _pair(pair, policy))
    if as_json:
        typer.echo(json.dumps(s.as_dict(), indent=1, default=str))
        return
    _print(s)
