"""A venue's own metadata of one paper -> a :class:`~extractor.schemas.PaperExtraction`.

The venue lists the authors in order and, depending on the source, where they worked:

* paperlists rows carry per-author affiliation strings (the source's ``aff`` parts);
* OpenReview rows carry author profile ids, and a profile carries an institution history
  (name, web domain, start and end years).

Countries always come from our resolver (and, downstream, our counting policy): the
affiliation string, or the profile's institution name with its domain, is resolved like
any affiliation read from a PDF. A source's own country labels (``country_label``,
``source_countries``, a profile's ``country``) are never read here; they are kept in the
store for comparison only (:mod:`extractor.evaluation.venue`). So a source that folds Hong
Kong or Taiwan into China changes nothing: "… Hong Kong" resolves to HK.

Profile positions are taken *at the paper's date*: a profile is edited after the paper
(people move), so the position whose years cover the paper's year is the one that counts,
every such position when an author held several, and none when no dated position covers
the year (the latest position would be a guess, and a wrong one for everyone who moved).
A profile whose positions carry no years at all gives those positions (nothing says the
author moved), with a warning. A missing profile gives the author no affiliation; an
author id that is an e-mail address (OpenReview's id for an author without a profile)
gives the affiliation its domain resolves to, as an e-mail inference.

Pure functions over plain dictionaries (the rows of :mod:`extractor.store.venue`), so the
backend, the metadata-only records and the tests share them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from extractor.schemas import Affiliation, Author, PaperExtraction


class _Resolves(Protocol):
    def resolve(self, raw: str, email_domain: str | None = None) -> Any: ...


def positions_at(history: Iterable[Mapping[str, Any]], year: int | None) -> tuple[list[Mapping[str, Any]], str | None]:
    """The positions of a profile held in ``year``, and a warning when the choice is uncertain.

    A position covers a year when its start is not after it and its end (None: still
    held) not before it. With no year known, the positions still held are used.
    """
    positions = [p for p in history if p.get("institution") or p.get("domain")]
    if not positions:
        return [], "the profile lists no position"
    dated = [p for p in positions if _year(p.get("start")) is not None or _year(p.get("end")) is not None]
    if not dated:
        return positions, "profile positions carry no years"
    if year is None:
        held = [p for p in dated if _year(p.get("end")) is None]
        return held, "paper year unknown: positions still held were used"
    held = [p for p in dated if ((start := _year(p.get("start"))) is None or start <= year)
            and ((end := _year(p.get("end"))) is None or end >= year)]
    if not held:
        return [], f"no profile position covers {year}"
    return held, None


def _year(value: Any) -> int | None:
    """A position's start or end year (an int, or digits); anything else is no year."""
    try:
        return int(value) if value is not None and str(value).strip() else None
    except (TypeError, ValueError):
        return None


def _email_domain(author: Mapping[str, Any]) -> str | None:
    domain = author.get("email_domain")
    if isinstance(domain, str) and domain.strip():
        return domain.strip().lower().lstrip("@")
    return None


def _resolve(resolver: _Resolves, raw: str, domain: str | None, fallback: str | None = None) -> tuple[Any, str | None]:
    """Resolve ``raw`` (with the author's e-mail domain); when that places nothing, try ``fallback``
    (the source's normalised institution name, not its country label)."""
    res = resolver.resolve(raw, email_domain=domain)
    if res.country is None and fallback and fallback.strip() and fallback.strip() != raw:
        alt = resolver.resolve(fallback, email_domain=domain)
        if alt.country is not None:
            return alt, fallback
    return res, None


def read_paper(row: Mapping[str, Any], profiles: Mapping[str, Mapping[str, Any]], resolver: _Resolves) -> PaperExtraction:
    """One venue paper (a ``venue_papers`` row, JSON decoded) -> the venue's reading of it.

    ``profiles``: the stored author profiles by id (authors whose profile is absent get no
    affiliation from it).
    """
    year = row.get("year")
    year = int(year) if year is not None else None
    warnings: list[str] = []
    affiliations: list[Affiliation] = []
    by_key: dict[tuple[str, str | None], int] = {}
    authors: list[Author] = []

    def add(raw: str, domain: str | None, fallback: str | None = None) -> int:
        raw = " ".join(raw.split())
        key = (raw.casefold(), domain)
        if key in by_key:
            return by_key[key]
        res, used = _resolve(resolver, raw, domain, fallback)
        new_id = len(affiliations)
        by_key[key] = new_id
        affiliations.append(Affiliation(
            id=new_id, raw=raw, institution=res.institution, department=res.department, city=res.city,
            country=res.country, sector=res.sector, institution_method=res.institution_method,
            institution_score=res.institution_score, country_method=res.country_method,
        ))
        if used:
            warnings.append(f"{raw!r} placed through the source's institution name {used!r}")
        return new_id

    for author in row.get("authors") or []:
        name = " ".join(str(author.get("name") or "").split())
        if not name:
            continue
        domain = _email_domain(author)
        ids: list[int] = []
        listed = [a for a in author.get("affiliations") or [] if (a.get("raw") or a.get("institution"))]
        for aff in listed:
            raw = aff.get("raw") or aff.get("institution")
            ids.append(add(str(raw), domain, aff.get("institution")))
        profile_id = author.get("id")
        if not listed and profile_id and "@" in str(profile_id):
            # an OpenReview author id that is an e-mail address (no profile): its domain is
            # the one reading there is (the resolver marks the country as e-mail-inferred)
            email_domain = str(profile_id).rsplit("@", 1)[1].strip().lower()
            if email_domain:
                ids.append(add(email_domain, email_domain))
        elif not listed and profile_id:
            profile = profiles.get(profile_id)
            if profile is None:
                warnings.append(f"no stored profile for {name} ({profile_id})")
            else:
                held, why = positions_at(profile.get("history") or [], year)
                if why:
                    warnings.append(f"{name}: {why}")
                for pos in held:
                    inst = pos.get("institution")
                    pos_domain = (pos.get("domain") or "").strip().lower() or None
                    ids.append(add(str(inst or pos_domain), pos_domain))
        authors.append(Author(name=name, affiliation_ids=sorted(set(ids))))
    title = row.get("title")
    return PaperExtraction(
        title=" ".join(str(title).split()) if title else None,
        authors=authors,
        affiliations=affiliations,
        venue=row.get("venue"),
        year=year,
        warnings=warnings,
    )
