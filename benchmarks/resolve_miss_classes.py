"""Country misses put down to the resolver, as counts by class (never the strings).

    # a generated set: each paper whose country set is wrong, its printed units resolved again
    .venv/bin/python -m benchmarks.resolve_miss_classes --eval /tmp/naacl_eval.json --truth /tmp/naacl/truth.jsonl
    # a paperlists file: every labelled affiliation string with its author's e-mail domain
    .venv/bin/python -m benchmarks.resolve_miss_classes --paperlists ../shared/corpora/paperlists/naacl2024.jsonl

``--eval`` takes the output of ``collabscope eval --json`` on a generated set. A missed
paper's class is how the resolver treats the generator's own units (the printed
affiliation strings, each with the e-mail domain its authors share) whose country is the
missing or extra one: ``none:org`` (an organisation it does not know, no place),
``none:noinst`` (no organisation found at all), ``diff:<method>`` (another country than
the label, decided by that method); a paper whose units all resolve to their labels was
lost in reading or linking, not in resolving.

Only counts are printed, so the script can be pointed at a measure-only set without
showing its strings.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from extractor.resolve import Resolution, get_resolver


def unit_class(res: Resolution) -> str:
    if res.country is None:
        return "none:gazetteer" if res.in_gazetteer else ("none:org" if res.institution else "none:noinst")
    return f"diff:{res.country_method.value}"


def generated(eval_json: Path, truth_jsonl: Path) -> tuple[Counter[str], Counter[str]]:
    """(papers by class, units by class) for the country-set misses of one eval."""
    resolver = get_resolver()
    report = json.loads(eval_json.read_text(encoding="utf-8"))
    truth = {}
    with truth_jsonl.open(encoding="utf-8") as fh:
        for line in fh:
            paper = json.loads(line)
            truth[paper["id"]] = paper
    papers: Counter[str] = Counter()
    units: Counter[str] = Counter()
    for miss in report["misses"]:
        expected, got = set(miss["countries_expected"]), set(miss["countries_got"])
        if expected == got:
            continue
        paper = truth[miss["gold_id"]]
        kinds = set()
        for i, aff in enumerate(paper["affiliations"]):
            domains = {a["email"].split("@")[-1] for a in paper["authors"] if i in a["affiliations"] and a.get("email")}
            res = resolver.resolve(aff["raw"], next(iter(domains)) if len(domains) == 1 else None)
            if res.country != aff["country"] and (aff["country"] in expected - got or res.country in got - expected):
                kinds.add(unit_class(res))
                units[unit_class(res)] += 1
        papers[" + ".join(sorted(kinds)) or "resolved right (reading or linking)"] += 1
    return papers, units


def paperlists(path: Path) -> tuple[int, Counter[str]]:
    """(labelled affiliations, misses by class) over a paperlists file."""
    resolver = get_resolver()
    n = 0
    misses: Counter[str] = Counter()
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            for author in json.loads(line)["authors"]:
                for aff in author["affiliations"]:
                    if not aff.get("country"):
                        continue
                    n += 1
                    res = resolver.resolve(aff["raw"], author.get("email_domain"))
                    if res.country != aff["country"]:
                        misses[unit_class(res)] += 1
    return n, misses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", type=Path, help="collabscope eval --json output of a generated set")
    parser.add_argument("--truth", type=Path, help="the generated set's truth.jsonl")
    parser.add_argument("--paperlists", type=Path, help="a paperlists JSONL file")
    args = parser.parse_args(argv)
    if args.paperlists:
        n, misses = paperlists(args.paperlists)
        print(f"labelled affiliations {n}; resolved to another country or none: {sum(misses.values())}")
        for cls, count in misses.most_common():
            print(f"  {count:4d}  {cls}")
        return 0
    if not (args.eval and args.truth):
        parser.error("give --eval and --truth, or --paperlists")
    papers, units = generated(args.eval, args.truth)
    print(f"country-set misses {sum(papers.values())}, by the class of their units:")
    for cls, count in papers.most_common():
        print(f"  {count:4d}  {cls}")
    print("units:", ", ".join(f"{cls} {count}" for cls, count in units.most_common()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
