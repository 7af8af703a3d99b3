"""Gazetteer entries and the loaders for the shipped tables in data/gazetteer/.

Three sources feed one list of :class:`OrgEntry`:

* ``organisations.jsonl`` — hand-written: research institutes, company labs and the
  universities most frequent in AI papers, with aliases, sector, sites and domains.
  One JSON object per line; lines starting with ``#`` are comments.
* ``universities.csv`` — derived from the Hipo university-domains list by
  ``devtools/build_gazetteer.py`` (name, country, state, domains).
* ``companies.csv`` — listed companies (stock-index constituents) with their headquarters
  country and web domains, derived by the same script.  A listed company is known only
  by its headquarters, so it is marked ``multi_country``: named without a place it gets
  that country as ``HQ_DEFAULT``.

Hand-written entries absorb the list entries they describe (same web domain or same
normalised name in the same country), so each organisation exists once.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from extractor.schemas import Sector

#: Override with COLLABSCOPE_DATA_DIR (tests and packaged installs may relocate data/).
DATA_DIR = Path(os.environ.get("COLLABSCOPE_DATA_DIR", Path(__file__).resolve().parents[2] / "data"))
GAZETTEER_DIR = DATA_DIR / "gazetteer"
MODELS_DIR = DATA_DIR / "models"

_ORG_KEYS = {"name", "country", "sector", "aliases", "domains", "city", "sites", "multi",
             "parent", "default_for", "note", "hq_city", "cs", "umbrella"}


@dataclass(slots=True, eq=False)  # identity equality: entries are hashable, one object each
class OrgEntry:
    """One organisation of the gazetteer.

    ``country`` is the organisation's own country; for a company it is the headquarters
    country and ``sites`` maps place names (cities, lab names such as "Asia" for
    Microsoft Research Asia) to the country of the lab there.
    """

    id: int
    name: str
    country: str | None
    sector: Sector | None
    aliases: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    city: str | None = None
    state: str | None = None
    sites: dict[str, str] = field(default_factory=dict)
    multi_country: bool = False
    parent: str | None = None
    default_for: list[str] = field(default_factory=list)
    case_sensitive: list[str] = field(default_factory=list)  # aliases needing exact case
    #: an umbrella of autonomous institutes (CAS, Max Planck Society): a member institute
    #: named with it stays the institution instead of resolving to this parent
    umbrella: bool = False
    source: str = "organisations"

    @property
    def is_company(self) -> bool:
        return self.sector == Sector.INDUSTRY

    def as_dict(self) -> dict[str, object]:
        """A plain-dict view (what :meth:`Resolver.lookup` callers usually want to print)."""
        return {
            "name": self.name, "country": self.country,
            "sector": self.sector.value if self.sector else None,
            "aliases": list(self.aliases), "domains": list(self.domains), "city": self.city,
            "sites": dict(self.sites), "multi_country": self.multi_country,
            "parent": self.parent, "source": self.source,
        }


def load_organisations(path: Path | None = None) -> list[OrgEntry]:
    """Parse organisations.jsonl; a bad line raises ValueError naming the line."""
    path = path or GAZETTEER_DIR / "organisations.jsonl"
    out: list[OrgEntry] = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            try:
                row = json.loads(line)
                unknown = set(row) - _ORG_KEYS
                if unknown:
                    raise ValueError(f"unknown keys {sorted(unknown)}")
                entry = OrgEntry(
                    id=-1, name=row["name"], country=row.get("country"),
                    sector=Sector(row["sector"]) if row.get("sector") else None,
                    aliases=list(row.get("aliases", [])),
                    domains=[d.lower() for d in row.get("domains", [])],
                    city=row.get("city"), sites=dict(row.get("sites", {})),
                    multi_country=bool(row.get("multi", False)), parent=row.get("parent"),
                    default_for=list(row.get("default_for", [])),
                    case_sensitive=list(row.get("cs", [])),
                    umbrella=bool(row.get("umbrella", False)),
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path.name} line {n}: {exc}") from exc
            out.append(entry)
    return out


def load_universities(path: Path | None = None) -> list[OrgEntry]:
    """Parse universities.csv (derived; see the builder for provenance)."""
    path = path or GAZETTEER_DIR / "universities.csv"
    out: list[OrgEntry] = []
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            out.append(OrgEntry(
                id=-1, name=row["name"], country=row["country"] or None,
                sector=Sector.ACADEMIA, domains=row["domains"].split(),
                state=row["state"] or None, source="universities",
            ))
    return out


def load_companies(path: Path | None = None) -> list[OrgEntry]:
    """Parse companies.csv (derived; see the builder for provenance); [] when absent."""
    path = path or GAZETTEER_DIR / "companies.csv"
    if not path.exists():
        return []
    out: list[OrgEntry] = []
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            out.append(OrgEntry(
                id=-1, name=row["name"], country=row["country"] or None, sector=Sector.INDUSTRY,
                domains=row["domains"].split(), multi_country=True, source="companies",
            ))
    return out
