"""Store a paperlists-format JSONL as collected venue metadata (no PDFs), for timing ``run`` on metadata alone.

``collabscope collect paperlists`` is the user's way in; this stand-in writes the same
``venue_papers`` rows (:func:`benchmarks.venue_routing.paperlists_rows`) and can repeat the
papers under new ids and titles to reach ``--n`` papers, so the metadata-only path can be timed at a
size the development file does not have::

    .venv/bin/python -m benchmarks.venue_metadata --source ../shared/corpora/paperlists/nips2018.jsonl --db /tmp/v.db --n 2000
    time .venv/bin/collabscope run --db /tmp/v.db
    time .venv/bin/collabscope stats --db /tmp/v.db --json --group-hk-mo
"""

from __future__ import annotations

import argparse
from itertools import cycle, islice
from pathlib import Path

from benchmarks.venue_routing import paperlists_rows
from extractor.store import Store


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.venue_metadata", description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", type=Path, required=True, help="paperlists-format JSONL")
    ap.add_argument("--db", type=Path, required=True, help="database to write the venue papers into")
    ap.add_argument("--n", type=int, default=None, help="papers to store (repeats the file under new ids when larger)")
    args = ap.parse_args(argv)
    rows = list(paperlists_rows(args.source))
    n = args.n or len(rows)
    out = []
    for i, row in enumerate(islice(cycle(rows), n)):
        rep = i // len(rows)
        # a repeat is another paper: new id and title (one title + first author is one paper to reconcile)
        out.append(row if rep == 0 else {**row, "source_id": f"{row['source_id']}-r{rep}",
                                         "title": f"{row['title']} (repeat {rep})"})
    with Store.open(args.db) as store:
        written = store.upsert_venue_papers(out)
    print(f"stored {written} venue papers in {args.db}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
