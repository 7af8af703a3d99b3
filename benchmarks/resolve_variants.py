"""The resolver on affiliation strings written another way: agreement per named rewrite.

    .venv/bin/python -m benchmarks.resolve_variants                      # nips2018 (development)
    .venv/bin/python -m benchmarks.resolve_variants --show 5 --only abbreviations
    .venv/bin/python -m benchmarks.resolve_variants --paperlists ../shared/corpora/paperlists/naacl2024.jsonl

Every affiliation string of a paperlists file is rewritten by each transformation of
:mod:`benchmarks.affiliation_variants` (seeded: the same seed gives the same variants) and
resolved again, text only (no e-mail domain, so the string itself is what is tested;
``--with-email`` passes the author's domain as the pipeline does). Per transformation:

- ``n``: strings it applies to;
- ``=orig``: the variant's country is the one the resolver gives the original;
- ``inst=orig``: same institution as on the original (strings where the original has one);
- ``label``: share of labelled variants whose country is the paperlists label, with the
  original's share beside it;
- ``regress`` / ``gain``: labelled strings right on the original and wrong on the variant,
  and the other way round.

``--show`` prints example regressions and institution changes (strings): use it on the development file only; the
table alone prints no strings, so a measure-only file can be scored once.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.affiliation_variants import TRANSFORMS, Source
from extractor.resolve import get_resolver
from extractor.resolve.text import key

ROOT = Path(__file__).resolve().parents[1]
NIPS = ROOT.parent / "shared" / "corpora" / "paperlists" / "nips2018.jsonl"


@dataclass
class Tally:
    """Counts for one transformation."""

    n: int = 0
    same_country: int = 0
    with_inst: int = 0
    same_inst: int = 0
    labelled: int = 0
    right_orig: int = 0
    right_variant: int = 0
    regressions: int = 0
    gains: int = 0
    examples: list[tuple[str, str, str | None, str | None, str | None]] = field(default_factory=list)
    inst_examples: list[tuple[str, str, str | None, str | None]] = field(default_factory=list)


def load(path: Path) -> list[tuple[str, str | None, str | None]]:
    """(raw, label country, e-mail domain) of every affiliation, unique by (raw, domain)."""
    rows, seen = [], set()
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            for author in json.loads(line)["authors"]:
                for aff in author["affiliations"]:
                    item = (aff["raw"], aff.get("country"), author.get("email_domain"))
                    if aff["raw"] and (item[0], item[2]) not in seen:
                        seen.add((item[0], item[2]))
                        rows.append(item)
    return rows


def run(rows: list[tuple[str, str | None, str | None]], seed: int, with_email: bool,
        only: set[str] | None, keep: int) -> dict[str, Tally]:
    resolver = get_resolver()
    tallies = {name: Tally() for name in TRANSFORMS if not only or name in only}
    for raw, label, domain in rows:
        email = domain if with_email else None
        res = resolver.resolve(raw, email)
        src = Source(raw, label, res)
        for name, tally in tallies.items():
            rng = random.Random(zlib.crc32(f"{seed}|{name}|{raw}".encode()))
            variant = TRANSFORMS[name](src, resolver, rng)
            if variant is None or variant == raw:
                continue
            got = resolver.resolve(variant, email)
            tally.n += 1
            tally.same_country += got.country == res.country
            if res.institution:
                tally.with_inst += 1
                same = bool(got.institution) and key(got.institution) == key(res.institution)
                tally.same_inst += same
                if not same and len(tally.inst_examples) < keep:
                    tally.inst_examples.append((raw, variant, res.institution, got.institution))
            if label:
                tally.labelled += 1
                tally.right_orig += res.country == label
                tally.right_variant += got.country == label
                if res.country == label and got.country != label:
                    tally.regressions += 1
                    if len(tally.examples) < keep:
                        tally.examples.append((raw, variant, label, got.country, got.institution))
                tally.gains += res.country != label and got.country == label
    return tallies


def table(tallies: dict[str, Tally]) -> str:
    lines = ["| transformation | n | =orig | inst=orig | label orig | label variant | regress | gain |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    tot = Tally()
    for name, t in tallies.items():
        lines.append(f"| {name} | {t.n} | {_pct(t.same_country, t.n)} | {_pct(t.same_inst, t.with_inst)} | "
                     f"{_pct(t.right_orig, t.labelled)} | {_pct(t.right_variant, t.labelled)} | "
                     f"{t.regressions} | {t.gains} |")
        for attr in ("n", "same_country", "with_inst", "same_inst", "labelled", "right_orig",
                     "right_variant", "regressions", "gains"):
            setattr(tot, attr, getattr(tot, attr) + getattr(t, attr))
    lines.append(f"| **all** | {tot.n} | {_pct(tot.same_country, tot.n)} | {_pct(tot.same_inst, tot.with_inst)} | "
                 f"{_pct(tot.right_orig, tot.labelled)} | {_pct(tot.right_variant, tot.labelled)} | "
                 f"{tot.regressions} | {tot.gains} |")
    return "\n".join(lines)


def _pct(a: int, b: int) -> str:
    return f"{a / b:.3f}" if b else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paperlists", type=Path, default=NIPS, help="paperlists JSONL (default: nips2018)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the rewrites (default 0)")
    parser.add_argument("--with-email", action="store_true", help="pass each author's e-mail domain")
    parser.add_argument("--only", action="append", choices=sorted(TRANSFORMS), help="score only these")
    parser.add_argument("--show", type=int, default=0, help="print this many regressions per transformation")
    args = parser.parse_args(argv)
    rows = load(args.paperlists)
    tallies = run(rows, args.seed, args.with_email, set(args.only or ()), args.show)
    print(f"{args.paperlists.name}: {len(rows)} unique affiliation strings, seed {args.seed}, "
          f"{'with' if args.with_email else 'without'} e-mail domains")
    print(table(tallies))
    for name, t in tallies.items():
        for raw, variant, label, got, inst in t.examples:
            print(f"[{name}] {raw!r} -> {variant!r}: label {label}, got {got} ({inst})")
        for raw, variant, was, inst in t.inst_examples:
            print(f"[{name} institution] {raw!r} -> {variant!r}: {was} -> {inst}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
