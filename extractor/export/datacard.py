"""DATACARD.md: what a published export contains, how it was made, and how far to trust it.

Written next to every export file so the dataset never travels
without its provenance, the audit's measured error rate, the counting policy and the
known limits. Plain Markdown, because people paste it into READMEs and papers.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from extractor.aggregate import DEFAULT_PAIR, CountingPolicy, summarize
from extractor.aggregate.summary import ErrorRate
from extractor.errors import CollabscopeError
from extractor.store import Store

DATACARD_NAME = "DATACARD.md"

LIMITS = [
    "Only the front matter (page 1: title, authors, affiliations, e-mails, footnotes) is read for "
    "affiliations; model mentions come from the first pages of full text. Affiliations printed "
    "elsewhere (e.g. at the end of the paper) are missed.",
    "Countries are those of the affiliations as printed (or resolved from institution, city or "
    "e-mail domain), not the authors' nationality or residence.",
    "Companies with no site named in the affiliation are assigned their headquarters country and "
    "flagged as inferred (Microsoft Research Asia -> CN, but \"Microsoft\" alone -> US).",
    "Records with status `machine` were not checked by a person. Their error rate is measured on "
    "the uniform audit sample, not assumed; see *Measured quality*.",
    "Verified records were chosen for review by a priority queue (likely errors first), so the "
    "verified subset is not a random sample of the corpus.",
    "Model families are mapped from names as written through a taxonomy; unknown or ambiguous names "
    "may be missed or mis-grouped, and a role (used, fine-tuned, compared, cited only) is a "
    "judgement from the surrounding text.",
    "CSV: text cells starting with =, +, -, @, TAB or CR are prefixed with a single quote ' so a "
    "spreadsheet does not run them as formulas; JSONL and Parquet keep the raw text.",
]


def _rate(r: ErrorRate) -> str:
    if not r.n:
        return f"- {r.what}: no audit record reviewed yet — **the machine's error rate is unknown**."
    return (f"- {r.what}: **{r.errors} of {r.n}** ({r.rate:.1%}); 95% Wilson interval "
            f"{r.wilson[0]:.1%}–{r.wilson[1]:.1%}, exact (Clopper–Pearson) {r.clopper_pearson[0]:.1%}–"
            f"{r.clopper_pearson[1]:.1%}.")


def datacard_text(store: Store, *, files: list[Path], fmt: str, selection: str, exported: int,
                  policy: CountingPolicy | None = None, pair: tuple[str, str] = DEFAULT_PAIR,
                  generated_at: str | None = None) -> str:
    """The card as Markdown (see module docstring for what it covers)."""
    policy = policy or CountingPolicy()
    with store.read_snapshot():
        s = summarize(store, policy, pair)
        counts = store.status_counts()
        backends: Counter[str] = Counter()
        models: Counter[str] = Counter()
        prompts: Counter[str] = Counter()
        for row in store.provenance_tallies():
            backends[row["backend"]] += row["records"]
            if row["model"]:
                models[row["model"]] += row["records"]
            if row["prompt_version"]:
                prompts[row["prompt_version"]] += row["records"]
        reviewers = store.record_reviewers()

    def listing(c: Counter[str]) -> str:
        return ", ".join(f"`{k}` ({v:,})" for k, v in c.most_common()) or "none"

    status_rows = "\n".join(f"| {k} | {v:,} |" for k, v in sorted(counts["records"].items()))
    a = s.audit
    lines = [
        "# Data card",
        "",
        f"Generated {generated_at or datetime.now(UTC).isoformat(timespec='seconds')} by collabscope "
        f"from `{Path(str(store.path)).name}`.",
        "",
        "## Files",
        "",
        *[f"- `{f.name}`" for f in files],
        "",
        f"Format: {fmt}. Selection: {selection} — {exported:,} papers exported.",
    ]
    if fmt in ("csv", "parquet"):
        lines += [
            "",
            f"Two tables: one row per paper (`{files[0].name}`) and one row per author–affiliation pair "
            f"(`{files[1].name if len(files) > 1 else ''}`), joined on `paper_id`. An author with no "
            "affiliation has one row with empty affiliation columns; an affiliation no author points "
            "at has one row with no author. List columns (countries, model families, model roles, "
            "review reasons) are `; `-joined in CSV and list<string> in Parquet.",
        ]
    lines += [
        "",
        "## What was extracted",
        "",
        "Per paper: title; authors (name, e-mail, affiliation links); affiliations (text as printed, "
        "institution, department, city, country as ISO 3166-1 alpha-2, sector); the paper's country "
        "set; model mentions (name as written, family, developer, developer country, role). Every "
        "extracted string was checked against the PDF text (grounding) and ungrounded ones were "
        "flagged for review; provenance columns give the file "
        "SHA-256, the extraction backend, prompt version and model, and the reviewer and time of "
        "any human review.",
        "",
        "## How",
        "",
        f"- Extraction backends: {listing(backends)}.",
        f"- LLM models: {listing(models)}; prompt versions: {listing(prompts)}.",
        f"- Human review: {s.progress.strata.get('verified', 0) + s.progress.strata.get('audited', 0):,} "
        f"records verified by {len(reviewers)} reviewer(s); uniform audit sample: {a.drawn} drawn, "
        f"{a.reviewed} reviewed, {a.waiting} waiting.",
        "",
        "## Counts by status (whole database)",
        "",
        "| status | records |",
        "| --- | ---: |",
        status_rows or "| (none) | 0 |",
        f"| failed documents (not ingested) | {counts['failed_documents']:,} |",
        "",
        "## Measured quality (uniform audit sample)",
        "",
        _rate(a.country_set),
        _rate(a.model_set),
    ]
    if a.reviewed:
        lines.append(f"- Of the audited papers, the machine missed a country in {a.missed_country} and "
                     f"listed a wrong extra country in {a.extra_country}.")
    lines += [
        "",
        "## Counting policy",
        "",
        f"{policy.describe()}.",
        "",
        f"Under this policy: papers with both {pair[0]} and {pair[1]} authors: {s.pair_share.text()}; "
        f"international papers: {s.international.text()}.",
        "",
        "Estimates that include unreviewed records use prediction-powered inference on the audit "
        "sample (see docs/AGGREGATES.md); `machine-only` means no audit had been reviewed and the "
        "figure is uncorrected.",
        "",
        "## Limits",
        "",
        *[f"- {x}" for x in LIMITS],
        "",
    ]
    return "\n".join(lines)


def write_datacard(store: Store, folder: Path, **kwargs: object) -> Path:
    """Write ``DATACARD.md`` into ``folder`` atomically; returns its path."""
    path = Path(folder) / DATACARD_NAME
    text = datacard_text(store, **kwargs)  # type: ignore[arg-type]
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise CollabscopeError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return path
