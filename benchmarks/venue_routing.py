"""Routing with the rules backend plus venue metadata (no LLM), on generated NeurIPS 2018 papers.

Simulates a collected venue whose PDFs were downloaded: every paper of a paperlists-format
JSONL is rendered as a PDF with its truth (``devtools.generate``), the PDFs are ingested,
the same paperlists metadata is stored as the venue's (``venue_papers``, linked to each
PDF by sha256, as ``collabscope collect paperlists --download`` links them), and
``run`` extracts with rules + venue, reconciles and routes. The review queue is then
measured against the truth with :func:`extractor.evaluation.routing.review_metrics`: the
share of all paper-level country-set errors in the top 5/10/15/20% of the queue order.

With ``--baseline`` the same PDFs are also run with the rules backend alone (no venue
metadata) for comparison.

    .venv/bin/python -m benchmarks.venue_routing --source ../shared/corpora/paperlists/nips2018.jsonl

Development data only (nips2018); never tune on a held-out venue.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from extractor import pipeline
from extractor.config import Settings
from extractor.evaluation.routing import review_metrics
from extractor.store import Store


def paperlists_rows(path: Path, shas: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
    """``venue_papers`` rows from a paperlists-format JSONL (the corpus format of ``devtools.generate``).

    The source's country labels go to ``country_label`` / ``source_countries`` (comparison
    only); ``shas`` maps a paper id to the sha256 of its rendered PDF (the link a collector writes).
    """
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            p = json.loads(line)
            authors = [{"name": a["name"], "id": None, "email_domain": a.get("email_domain"),
                        "affiliations": [{"raw": f.get("raw"), "institution": f.get("institution"),
                                          "country_label": f.get("country_source")}
                                         for f in a.get("affiliations") or []]}
                       for a in p.get("authors") or []]
            labels = sorted({f["country_label"] for a in authors for f in a["affiliations"] if f.get("country_label")})
            yield {"source": "paperlists", "source_id": p["id"], "venue": p.get("venue"), "year": p.get("year"),
                   "title": p.get("title"), "authors": authors, "source_countries": labels,
                   "sha256": (shas or {}).get(p["id"])}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run(db: Path, pdf_dir: Path, source: Path | None) -> tuple[dict[str, Any], float]:
    """Ingest, store the venue metadata (when ``source``), run, measure; returns (metrics, seconds)."""
    db.unlink(missing_ok=True)
    settings = Settings(db=db, backends=["rules"])
    truth = pdf_dir / "truth.jsonl"
    start = time.perf_counter()
    with Store.open(db) as store:
        pipeline.ingest(store, settings, [pdf_dir])
        if source is not None:
            shas = {}
            for line in truth.open(encoding="utf-8"):
                t = json.loads(line)
                shas[t["id"]] = _sha(pdf_dir / t["source_file"])
            store.upsert_venue_papers(paperlists_rows(source, shas))
        pipeline.run(store, settings, [])
        seconds = time.perf_counter() - start
        return review_metrics(store, truth), seconds


def _line(label: str, m: dict[str, Any], seconds: float) -> str:
    eff = m["efficiency"]
    return (f"| {label} | {m['papers']} | {m['country_errors']} | {eff['top_5%']:.3f} | {eff['top_10%']:.3f} | "
            f"{eff['top_15%']:.3f} | {eff['top_20%']:.3f} | {m['queued']['share']:.3f} | {seconds:.0f} s |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.venue_routing", description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", type=Path, required=True, help="paperlists-format JSONL (nips2018.jsonl)")
    ap.add_argument("--out", type=Path, default=Path("bench-out/venue_routing"), help="work folder (PDFs, databases)")
    ap.add_argument("--workers", type=int, default=2, help="render processes")
    ap.add_argument("--baseline", action="store_true", help="also run the rules backend alone")
    args = ap.parse_args(argv)
    pdf_dir = args.out / "pdfs"
    if not (pdf_dir / "truth.jsonl").exists():
        from devtools.generate import generate_corpus

        generate_corpus(args.source, pdf_dir, workers=args.workers)
    rows = []
    metrics, seconds = _run(args.out / "venue.db", pdf_dir, args.source)
    rows.append(_line("rules + venue", metrics, seconds))
    if args.baseline:
        base, base_s = _run(args.out / "rules.db", pdf_dir, None)
        rows.append(_line("rules alone", base, base_s))
    print("| backends | papers | country-set errors | top 5% | top 10% | top 15% | top 20% | queued | time |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))
    missed = metrics["missed_errors"]
    print(f"\nerrors below the top 15% (rules + venue): {len(missed)}")
    for m in missed[:15]:
        print(f"  rank {m['rank']} p_wrong {m['p_wrong']} {m['source_file']} {m['codes']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
