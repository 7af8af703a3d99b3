"""The aggregates people publish: collaboration shares, country counts, pair matrices.

Each function takes a :class:`~.population.Population` (load it once with
:func:`~.population.load_population`) and returns plain data: :class:`~.estimate.Estimate`
objects keyed by what they count, so the HTML report, the review UI dashboard and the
data card all show the same numbers. The statistics themselves (what keys a paper counts
for) are defined once here; :func:`~.summary.summarize` streams the same ones over the
store in a single pass.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from extractor.aggregate.estimate import Estimate, KeysOf, Tally, estimate_keys, estimate_one
from extractor.aggregate.policy import CountingPolicy
from extractor.aggregate.population import Population, Unit, View
from extractor.schemas import normalise_country_code

DEFAULT_PAIR = ("US", "CN")


def parse_pair(text: str | tuple[str, str]) -> tuple[str, str]:
    """``"us,cn"`` -> ("US", "CN"); raises ValueError naming the bad input."""
    parts = text.split(",") if isinstance(text, str) else list(text)
    codes = [normalise_country_code(p) for p in parts]
    if len(codes) != 2 or not all(codes) or codes[0] == codes[1]:
        raise ValueError(f"a pair is two different country codes like US,CN; got {text!r}")
    return (codes[0], codes[1])


def pair_codes(policy: CountingPolicy, pair: tuple[str, str]) -> tuple[str, str]:
    """The pair under the policy (HK,CN with grouping on is one country: refuse)."""
    a, b = (policy.country(c) for c in pair)
    if a == b:
        raise ValueError(f"{pair[0]} and {pair[1]} are the same country under this policy")
    return (a, b)  # type: ignore[return-value]


# --------------------------------------------------------------------------- statistics
# Each statistic maps a reading of a paper to the keys it counts for; the tables below
# and the streamed summary (extractor.aggregate.summary) count with these same functions.

_YES: tuple[bool, ...] = (True,)
_NO: tuple[bool, ...] = ()


def has_pair(a: str, b: str) -> KeysOf:
    """Statistic: the paper has authors in both ``a`` and ``b`` (key True)."""
    return lambda v: _YES if a in v.countries and b in v.countries else _NO


def international_keys(v: View) -> tuple[bool, ...]:
    """Statistic: the paper's authors span two or more countries (key True)."""
    return _YES if len(v.countries) >= 2 else _NO


def no_country_keys(v: View) -> tuple[bool, ...]:
    """Statistic: the paper counts for no country (key True)."""
    return _NO if v.countries else _YES


def country_keys(v: View) -> frozenset[str]:
    return v.countries


def pair_keys(v: View) -> Iterable[tuple[str, str]]:
    """Each unordered pair of the paper's countries, as a sorted tuple."""
    return combinations(sorted(v.countries), 2)


def family_keys(v: View) -> Iterable[str]:
    return v.roles.keys()


def family_country_keys(v: View) -> list[tuple[str, str]]:
    return [(f, c) for f in v.roles for c in v.countries]


def family_country_role_keys(v: View) -> list[tuple[str, str, str]]:
    return [(f, c, r) for f, r in v.roles.items() for c in v.countries]


def family_role_keys(v: View) -> Iterable[tuple[str, str]]:
    return v.roles.items()


def developer_keys(v: View) -> set[tuple[str, str]]:
    """(developer country, author country) of every family the paper mentions ("unknown" developer)."""
    out = set()
    for family in v.roles:
        devs = v.developers.get(family) or frozenset({"unknown"})
        for dev in devs:
            for c in v.countries:
                out.add((dev, c))
    return out


#: The model-flow tables: ModelFlows field -> statistic.
FLOW_STATISTICS: dict[str, KeysOf] = {
    "families": family_keys,
    "by_country": family_country_keys,
    "by_country_role": family_country_role_keys,
    "by_role": family_role_keys,
    "by_developer": developer_keys,
}


def ranked(d: dict[Hashable, Estimate]) -> dict[Hashable, Estimate]:
    """Largest first, then by key as text."""
    return dict(sorted(d.items(), key=lambda kv: (-kv[1].count, str(kv[0]))))


def ranked_pairs(d: dict[Hashable, Estimate]) -> dict[Hashable, Estimate]:
    """Largest first, then by pair."""
    return dict(sorted(d.items(), key=lambda kv: (-kv[1].count, kv[0])))  # type: ignore[misc]


# --------------------------------------------------------------------------- tables


def pair_share(pop: Population, pair: tuple[str, str] = DEFAULT_PAIR) -> Estimate:
    """Papers with authors in both countries of ``pair``, out of all counted papers."""
    a, b = pair_codes(pop.policy, pair)
    return estimate_keys(pop, has_pair(a, b), include=(True,))[True]


def international_share(pop: Population) -> Estimate:
    """Papers whose authors span two or more countries."""
    return estimate_keys(pop, international_keys, include=(True,))[True]


def no_country(pop: Population) -> Estimate:
    """Papers that count for no country (no affiliation resolved, or none for the chosen author)."""
    return estimate_keys(pop, no_country_keys, include=(True,))[True]


def country_counts(pop: Population) -> dict[str, Estimate]:
    """Papers per country (a paper counts once for each of its countries), largest first."""
    return ranked(estimate_keys(pop, country_keys))  # type: ignore[return-value]


def pair_matrix(pop: Population) -> dict[tuple[str, str], Estimate]:
    """CSET-style pair counts: each paper counts once for each unordered pair of its countries.

    Keys are sorted tuples (("CN", "US") not ("US", "CN")); look pairs up with
    ``tuple(sorted(pair))``.
    """
    return ranked_pairs(estimate_keys(pop, pair_keys))  # type: ignore[return-value]


@dataclass(frozen=True)
class GroupRow:
    """Shares within one venue/year group (the audit stays uniform inside any group)."""

    venue: str | None
    year: int | None
    papers: int
    pair: Estimate
    international: Estimate

    def as_dict(self) -> dict[str, Any]:
        return {"venue": self.venue, "year": self.year, "papers": self.papers,
                "pair": self.pair.as_dict(), "international": self.international.as_dict()}


def group_key(unit: Unit, by: tuple[str, ...]) -> tuple[str | None, int | None]:
    """(venue, year) of a unit, None for what the grouping leaves out."""
    return (unit.venue if "venue" in by else None, unit.year if "year" in by else None)


def group_rows(tallies: dict[tuple[str | None, int | None], Tally], policy: CountingPolicy) -> list[GroupRow]:
    """One row per group tally (fed the ``pair`` and ``international`` statistics), by venue then year."""
    rows = []
    for (venue, year), t in sorted(tallies.items(), key=lambda kv: (kv[0][0] or "", kv[0][1] or 0)):
        rows.append(GroupRow(venue, year, t.size, t.estimates("pair", policy, (True,))[True],
                             t.estimates("international", policy, (True,))[True]))
    return rows


def by_group(pop: Population, pair: tuple[str, str] = DEFAULT_PAIR, by: tuple[str, ...] = ("venue", "year")) -> list[GroupRow]:
    """Pair and international shares per venue and/or year, sorted by venue then year.

    Each group is its own design (its own audited, unreviewed and pending records): a
    group with unreviewed records but no audit record in it is reported machine-only,
    never with the rest of the corpus's correction borrowed.
    """
    if not set(by) <= {"venue", "year"}:
        raise ValueError(f"group by venue and/or year, not {by}")
    a, b = pair_codes(pop.policy, pair)
    stats = {"pair": has_pair(a, b), "international": international_keys}
    tallies: dict[tuple[str | None, int | None], Tally] = {}
    for u in pop.units:
        key = group_key(u, by)
        if key not in tallies:
            tallies[key] = Tally(stats)
        tallies[key].add(u)
    return group_rows(tallies, pop.policy)


def years(pop: Population) -> list[int]:
    return sorted({u.year for u in pop.units if u.year is not None})


# --------------------------------------------------------------------------- model flows


@dataclass(frozen=True)
class ModelFlows:
    """Which model families travel where.

    ``families``: papers mentioning each family (any role). ``by_country``: (family, author
    country) -> papers mentioning the family with an author in that country.
    ``by_country_role``: (family, author country, role) with the paper's strongest role for
    that family. ``by_role``: (family, role). ``by_developer``: (developer country, author
    country) -> papers mentioning any model developed in the first with an author in the
    second ("unknown" when no developer country is known).
    """

    families: dict[Hashable, Estimate]
    by_country: dict[Hashable, Estimate]
    by_country_role: dict[Hashable, Estimate]
    by_role: dict[Hashable, Estimate]
    by_developer: dict[Hashable, Estimate]

    def top_families(self, k: int = 10) -> list[str]:
        ranked = sorted(self.families.items(), key=lambda kv: (-kv[1].count, str(kv[0])))
        return [str(f) for f, _ in ranked[:k]]


def model_flows(pop: Population) -> ModelFlows:
    """Model families by author country, by role and by developer country × author country."""
    tally = Tally(FLOW_STATISTICS)
    for u in pop.units:
        tally.add(u)
    return flows_of(tally, pop.policy)


def flows_of(tally: Tally, policy: CountingPolicy) -> ModelFlows:
    """The ModelFlows tables from a tally fed the :data:`FLOW_STATISTICS`."""
    return ModelFlows(**{name: ranked(tally.estimates(name, policy)) for name in FLOW_STATISTICS})


def family_in_country(pop: Population, family: str, country: str, role: str | None = None) -> Estimate:
    """One flow, e.g. "Transformer in papers with CN-institution authors" (optionally one role)."""
    c = pop.policy.country(normalise_country_code(country))
    return estimate_one(pop, lambda v: family in v.roles and c in v.countries and (role is None or v.roles[family] == role))
