"""Read a Paper Copilot ``paperlists`` file (github.com/papercopilot/paperlists) into venue papers.

A file such as ``nips/nips2024.json`` is a JSON list of papers. Per-author fields are
strings joined by ``;`` (``author``, ``aff``, ``aff_domain``, ``aff_unique_index``,
``aff_country_unique_index``), and an author with several affiliations has them joined
by ``+`` inside that author's part; ``aff_unique_norm`` and ``aff_country_unique`` are the
distinct normalised institutions and country names the indices point into. ``pdf`` and
``site`` are links. Files differ by venue and year (some lack the affiliation fields, some
list affiliations per paper rather than per author); an author's affiliations are filled
only when the counts line up, and the paper's unaligned strings are kept in
``extra.affiliations``. The source's country names are stored for comparison only
(``country_label``, ``source_countries``): they fold Hong Kong, Macau and Taiwan into
China, and countries always come from our resolver.

Metadata only by default: reading the file makes no request at all. PDFs are fetched only
with ``--download`` (:func:`extractor.collect.base.collect_pdfs`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from extractor.collect.base import CollectSummary, store_in_batches
from extractor.collect.http import CollectError
from extractor.store import Store

_VENUE_YEAR = re.compile(r"^([a-z]+?)(\d{4})$")
#: Statuses of papers a venue did not accept (Paper Copilot lists them for OpenReview venues).
_NOT_ACCEPTED = re.compile(r"reject|withdr", re.IGNORECASE)
_OPENREVIEW_FORUM = re.compile(r"openreview\.net/forum\?id=([\w-]+)")


def _split(value: Any, sep: str = ";") -> list[str]:
    """The parts of a joined field (a list is taken as already split); empty field -> []."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value]
    text = str(value)
    if not text.strip():
        return []
    return [p.strip() for p in text.split(sep)]


def _authors_field(value: Any) -> list[str]:
    """Author names: ``;``-joined in current files, ``, ``-joined in some older ones."""
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value or "")
    parts = text.split(";") if ";" in text else text.split(",")
    return [p.strip() for p in parts if p.strip()]


def _index(part: str) -> list[int | None]:
    return [int(i) if i.strip().isdigit() else None for i in part.split("+")]


def venue_year(path: Path) -> tuple[str | None, int | None]:
    """``nips2024.json`` -> ("nips", 2024)."""
    m = _VENUE_YEAR.match(path.name.split(".")[0].lower())
    return (m.group(1), int(m.group(2))) if m else (None, None)


def _structured_row(paper: dict[str, Any], *, venue: str | None, year: int | None,
                    file_id: str) -> dict[str, Any]:
    """A row from an entry whose ``authors`` are already objects (the aligned JSON Lines the project's
    evaluation corpora use: ``name``, ``email_domain``, ``affiliations[raw, institution, country_source]``)."""
    authors = []
    labels = set()
    for a in paper["authors"]:
        affs = []
        for f in a.get("affiliations") or []:
            label = f.get("country_source")
            if label:
                labels.add(label)
            affs.append({"raw": f.get("raw"), "institution": f.get("institution"), "country_label": label,
                         "domain": a.get("email_domain")})
        authors.append({"name": a.get("name"), "id": a.get("id"), "email_domain": a.get("email_domain"),
                        "affiliations": affs})
    sid = str(paper.get("id") or "")
    return {"source": "paperlists", "source_id": sid if ":" in sid else f"{file_id}:{sid}",
            "venue": paper.get("venue") or venue, "year": paper.get("year") or year, "title": paper.get("title"),
            "decision": paper.get("status") or None, "pdf_url": paper.get("pdf") or None,
            "site_url": paper.get("site") or None, "authors": authors, "source_countries": sorted(labels),
            "extra": {k: paper[k] for k in ("abstract", "track") if paper.get(k)}}


def paper_row(paper: dict[str, Any], *, venue: str | None, year: int | None, file_id: str) -> dict[str, Any]:
    """A ``venue_papers`` row from one paperlists entry."""
    if isinstance(paper.get("authors"), list) and all(isinstance(a, dict) for a in paper["authors"]):
        return _structured_row(paper, venue=venue, year=year, file_id=file_id)
    # The author list is ``author`` (";"-joined) in most files, ``authors`` (", "-joined) in some.
    names = _authors_field(paper.get("author") or (paper.get("authors") if isinstance(paper.get("authors"), str)
                                                   else None))
    affs = _split(paper.get("aff"))
    domains = _split(paper.get("aff_domain"))
    uniq_idx = _split(paper.get("aff_unique_index"))
    uniq_norm = _split(paper.get("aff_unique_norm"))
    ctry_idx = _split(paper.get("aff_country_unique_index"))
    ctry = _split(paper.get("aff_country_unique"))
    ids = _split(paper.get("authorids") or paper.get("or_profile"))
    aligned = bool(names) and len(affs) == len(names)
    authors = []
    for i, name in enumerate(names):
        entry: dict[str, Any] = {"name": name, "id": (ids[i] or None) if len(ids) == len(names) else None,
                                 "email_domain": None, "affiliations": []}
        if aligned:
            raws = affs[i].split("+") if affs[i] else []
            norms = _index(uniq_idx[i]) if len(uniq_idx) == len(names) else []
            countries = _index(ctry_idx[i]) if len(ctry_idx) == len(names) else []
            doms = domains[i].split("+") if len(domains) == len(names) and domains[i] else []
            for j, raw in enumerate(raws):
                raw = raw.strip()
                if not raw:
                    continue
                n = norms[j] if j < len(norms) and len(norms) == len(raws) else None
                c = countries[j] if j < len(countries) and len(countries) == len(raws) else None
                entry["affiliations"].append({
                    "raw": raw,
                    "institution": uniq_norm[n] if n is not None and n < len(uniq_norm) else None,
                    "country_label": ctry[c] if c is not None and c < len(ctry) and ctry[c] else None,
                    "domain": doms[j].strip() or None if j < len(doms) else None,
                })
            if doms:
                entry["email_domain"] = doms[0].strip() or None
        authors.append(entry)
    extra: dict[str, Any] = {k: paper.get(k) for k in ("track", "abstract", "keywords") if paper.get(k)}
    forum = _OPENREVIEW_FORUM.search(str(paper.get("site") or ""))
    if forum:  # the same paper as ``openreview:<id>``, should both sources be collected
        extra["openreview_id"] = forum.group(1)
    if not aligned and affs:
        extra["affiliations"] = affs
    source_id = str(paper.get("id") or "")
    return {
        "source": "paperlists",
        "source_id": f"{file_id}:{source_id}",
        "venue": venue,
        "year": year,
        "title": paper.get("title"),
        "decision": paper.get("status") or None,
        "pdf_url": paper.get("pdf") or None,
        "site_url": paper.get("site") or None,
        "authors": authors,
        "source_countries": sorted({c for c in ctry if c}),
        "extra": extra,
    }


def read_paperlists(path: Path) -> list[dict[str, Any]]:
    """The entries of a paperlists file: a JSON list, or JSON Lines (one paper per line)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CollectError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        try:
            data = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise CollectError(f"{path} is neither a JSON list nor JSON Lines ({exc})") from None
    if isinstance(data, dict):
        data = data.get("papers") or data.get("data") or [data]
    if not isinstance(data, list) or not all(isinstance(p, dict) for p in data):
        raise CollectError(f"{path}: expected a list of paper objects (a Paper Copilot paperlists file)")
    return data


def is_accepted(paper: dict[str, Any]) -> bool:
    """False for entries whose ``status`` says rejected or withdrawn (e.g. "Reject", "Withdraw", "Desk Reject")."""
    return not _NOT_ACCEPTED.search(str(paper.get("status") or ""))


def collect_paperlists(store: Store, path: Path, *, venue: str | None = None, year: int | None = None,
                       accepted_only: bool = False, run_id: int | None = None) -> CollectSummary:
    """Store the papers of a paperlists file (no network). Venue and year default to the file name.

    ``accepted_only`` leaves out entries whose status says rejected or withdrawn.
    """
    path = Path(path)
    file_venue, file_year = venue_year(path)
    venue = venue or file_venue or path.stem
    year = year or file_year
    file_id = path.name.split(".")[0]
    papers = read_paperlists(path)
    if accepted_only:
        papers = [p for p in papers if is_accepted(p)]
    before = store.venue_paper_keys("paperlists")
    rows = [paper_row(p, venue=venue, year=year, file_id=file_id) for p in papers if p.get("id") or p.get("title")]
    for i, row in enumerate(rows):
        if row["source_id"].endswith(":"):  # no id in the file: its position is stable for one file
            row["source_id"] += f"#{i}"
    summary = CollectSummary(source="paperlists", venue=venue, year=year, listed=len(rows))
    summary.new = sum(1 for r in rows if f"paperlists:{r['source_id']}" not in before)
    summary.skipped = summary.listed - summary.new
    store_in_batches(store, rows, run_id=run_id)
    return summary
