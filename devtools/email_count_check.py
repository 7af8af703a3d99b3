"""Would "more page-1 e-mail addresses than authors" flag the rules backend's country-set errors?

The rules backend's ``author_block_count`` is the number of name slots it links, so the
"author/unit count mismatch" signal cannot fire with the rules backend alone. The one count
of people on page 1 that does not come from the name parser is the e-mail addresses
(``FrontMatter.emails``). This prints, per database, how often that count exceeds the
authors the rules backend emitted, split by whether the rebuilt record's country set is
right (the rows of :mod:`devtools.fit_priors`). Development data only.

    python -m devtools.email_count_check /tmp/h8/f_nips.db:/tmp/h8/nips/truth.jsonl ...
"""

from __future__ import annotations

import argparse
from collections import Counter

from devtools import fit_priors as fp
from extractor.reconcile import confidence as conf
from extractor.schemas import paper_id_for
from extractor.store import Store


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pairs", nargs="+", help="DB:GOLD read with the rules backend")
    args = ap.parse_args(argv)
    total: Counter[tuple[bool, bool]] = Counter()
    for db, gold in fp._pairs(args.pairs):
        right = {r.paper_id: bool(r.right) for r in fp.rows_of(db, gold, (conf.RULES_ONLY,))}
        table: Counter[tuple[bool, bool]] = Counter()
        with Store.open(db, create=False) as store:
            for d in store.document_index(ok_only=True):
                pid = paper_id_for(d["sha256"])
                if pid not in right:
                    continue
                doc = store.get_document(d["sha256"], with_full_text=False)
                rules = [e for m, e, _ in store.extractions_for(d["sha256"]) if m.backend == "rules" and e is not None]
                if not rules:
                    continue
                emails = {e.lower() for e in (doc.front.emails if doc.front else [])}
                table[(len(emails) > len(rules[0].authors), right[pid])] += 1
        total.update(table)
        print(f"{db}: " + ", ".join(f"more e-mails {'yes' if k[0] else 'no'} / {'right' if k[1] else 'wrong'}: {v}"
                                    for k, v in sorted(table.items())))
    print("all: " + ", ".join(f"more e-mails {'yes' if k[0] else 'no'} / {'right' if k[1] else 'wrong'}: {v}"
                              for k, v in sorted(total.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
