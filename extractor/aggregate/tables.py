"""The aggregates people publish: collaboration shares, country counts, pair matrices.

Each function takes a :class:`~.population.Population` (load it once with
:func:`~.population.load_population`) and returns plain data: :class:`~.estimate.Estimate`
objects keyed by what they count, so the HTML report, the review UI dashboard and the
data card all show the same numbers.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from ..schemas import normalise_country_code
from .estimate import Estimate, estimate_keys, estimate_one
from .population import Population, View

DEFAULT_PAIR = ("US", "CN")


def parse_pair(text: str | tuple[str, str]) -> tuple[str, str]:
    """``"us,cn"`` -> ("US", "CN"); raises ValueError naming the bad input."""
    parts = text.split(",") if isinstance(text, str) else list(text)
    codes = [normalise_country_code(p) for p in parts]
    if len(codes) != 2 or not all(codes) or codes[0] == codes[1]:
        raise ValueError(f"a pair is two different country codes like US,CN; got {text!r}")
    return (codes[0], codes[1])


def _pair(pop: Population, pair: tuple[str, str]) -> tuple[str, str]:
    """The pair under the policy (HK,CN with grouping on is one country: refuse)."""
    a, b = (pop.policy.country(c) for c in pair)
    if a == b:
        raise ValueError(f"{pair[0]} and {pair[1]} are the same country under this policy")
    return (a, b)  # type: ignore[return-value]


def pair_share(pop: Population, pair: tuple[str, str] = DEFAULT_PAIR) -> Estimate:
    """Papers with authors in both countries of ``pair``, out of all counted papers."""
    a, b = _pair(pop, pair)
    return estimate_one(pop, lambda v: a in v.countries and b in v.countries)


def international_share(pop: Population) -> Estimate:
    """Papers whose authors span two or more countries."""
    return estimate_one(pop, lambda v: len(v.countries) >= 2)


def no_country(pop: Population) -> Estimate:
    """Papers that count for no country (no affiliation resolved, or none for the chosen author)."""
    return estimate_one(pop, lambda v: not v.countries)


def country_counts(pop: Population) -> dict[str, Estimate]:
    """Papers per country (a paper counts once for each of its countries), largest first."""
    out = estimate_keys(pop, lambda v: v.countries)
    return dict(sorted(out.items(), key=lambda kv: (-kv[1].count, str(kv[0]))))  # type: ignore[misc]


def pair_matrix(pop: Population) -> dict[tuple[str, str], Estimate]:
    """CSET-style pair counts: each paper counts once for each unordered pair of its countries.

    Keys are sorted tuples (("CN", "US") not ("US", "CN")); look pairs up with
    ``tuple(sorted(pair))``.
    """
    out = estimate_keys(pop, lambda v: combinations(sorted(v.countries), 2))
    return dict(sorted(out.items(), key=lambda kv: (-kv[1].count, kv[0])))  # type: ignore[misc]


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


def by_group(pop: Population, pair: tuple[str, str] = DEFAULT_PAIR, by: tuple[str, ...] = ("venue", "year")) -> list[GroupRow]:
    """Pair and international shares per venue and/or year, sorted by venue then year.

    A group with unreviewed records but no audit record in it is reported machine-only,
    never with the rest of the corpus's correction borrowed.
    """
    if not set(by) <= {"venue", "year"}:
        raise ValueError(f"group by venue and/or year, not {by}")
    keys: set[tuple[str | None, int | None]] = set()
    for u in pop.units:
        keys.add((u.record.venue if "venue" in by else None, u.record.year if "year" in by else None))
    rows = []
    for venue, year in sorted(keys, key=lambda k: (k[0] or "", k[1] or 0)):
        sub = pop.subset(lambda u, v=venue, y=year: ("venue" not in by or u.record.venue == v)
                         and ("year" not in by or u.record.year == y))
        rows.append(GroupRow(venue, year, sub.size, pair_share(sub, pair), international_share(sub)))
    return rows


def years(pop: Population) -> list[int]:
    return sorted({u.record.year for u in pop.units if u.record.year is not None})


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


def _dev_keys(v: View) -> set[tuple[str, str]]:
    out = set()
    for family in v.roles:
        devs = v.developers.get(family) or frozenset({"unknown"})
        for dev in devs:
            for c in v.countries:
                out.add((dev, c))
    return out


def model_flows(pop: Population) -> ModelFlows:
    """Model families by author country, by role and by developer country × author country."""
    return ModelFlows(
        families=_ranked(estimate_keys(pop, lambda v: v.roles.keys())),
        by_country=_ranked(estimate_keys(pop, lambda v: [(f, c) for f in v.roles for c in v.countries])),
        by_country_role=_ranked(estimate_keys(pop, lambda v: [(f, c, r) for f, r in v.roles.items() for c in v.countries])),
        by_role=_ranked(estimate_keys(pop, lambda v: v.roles.items())),
        by_developer=_ranked(estimate_keys(pop, _dev_keys)),
    )


def family_in_country(pop: Population, family: str, country: str, role: str | None = None) -> Estimate:
    """One flow, e.g. "Transformer in papers with CN-institution authors" (optionally one role)."""
    c = pop.policy.country(normalise_country_code(country))
    return estimate_one(pop, lambda v: family in v.roles and c in v.countries and (role is None or v.roles[family] == role))


def _ranked(d: dict[Hashable, Estimate]) -> dict[Hashable, Estimate]:
    return dict(sorted(d.items(), key=lambda kv: (-kv[1].count, str(kv[0]))))
