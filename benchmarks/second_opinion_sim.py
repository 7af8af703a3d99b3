"""Cost per error found of the second opinion, on a simulation database (development data).

Takes the database a ``collabscope simulate`` run left behind (its records routed, half of
them verified), copies it, and runs the second-opinion pass over the machine-owned records
in the uncertain band through the real llm machinery against the loopback fake OpenAI
server. The fake answers the narrow question from the truth file: each unit is matched to
the truth affiliation with the most similar text and given that affiliation's country,
except that with probability ``--error`` it answers another country of the corpus (or
nothing) instead. That stand-in is kinder than a real model (its errors do not follow the
page), so the errors-found figure is an upper bound; the token counts and cost per question
are those of the real prompt (priced with data/prices.toml for ``--model``).

Example (seed 2 of the realistic simulations in docs/ACCURACY.md)::

    python -m benchmarks.second_opinion_sim --sim /tmp/h8/sim_s2 --error 0.10
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz

from devtools.fake_openai import FakeOpenAI
from devtools.fake_openai.shapes import request_text
from devtools.fake_openai.steps import Answer
from extractor.config import Settings
from extractor.evaluation.gold import load_gold
from extractor.evaluation.routing import _gold_countries, _match, review_metrics
from extractor.extract.llm.second_opinion import BAND, candidates, run_second_opinion
from extractor.reconcile.merge import run_reconcile
from extractor.schemas import RecordStatus
from extractor.store import Store

_PAPER_RE = re.compile(r"^Paper (\S+)\. E-mail domains", re.M)
_UNIT_RE = re.compile(r"^\[(\d+)\] (.+)$", re.M)


def responder_for(truth_by_pid: dict[str, dict[str, Any]], error: float, seed: int):
    countries = sorted({a["country"] for t in truth_by_pid.values() for a in t.get("affiliations", []) if a.get("country")})

    def respond(request: dict[str, Any]) -> Answer:
        text = request_text(request)
        found = _PAPER_RE.findall(text)
        pid = found[-1] if found else ""
        block = text[text.rfind("<<<UNITS"):]
        truth = truth_by_pid.get(pid, {})
        rng = random.Random(f"{seed}:{pid}")
        units = []
        for num, raw in _UNIT_RE.findall(block):
            best = max(truth.get("affiliations", []), key=lambda a: fuzz.token_set_ratio(a["raw"], raw), default=None)
            country = best.get("country") if best else None
            if rng.random() < error:
                country = rng.choice([c for c in countries if c != country] + [None])
            units.append({"id": int(num), "institution": best.get("institution") if best else None, "country": country})
        return Answer(json.dumps({"units": units}))

    return respond


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sim", type=Path, required=True, help="a `collabscope simulate --out` folder (sim.db, pdfs/truth.jsonl)")
    ap.add_argument("--error", type=float, default=0.10, help="share of units the stand-in answers wrongly")
    ap.add_argument("--model", default="gpt-4o-mini", help="model name priced from data/prices.toml")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if "naacl" in str(args.sim).lower():
        raise SystemExit("naacl2024 is a measure set; this is a development tool")
    gold = load_gold(args.sim / "pdfs" / "truth.jsonl")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "sim.db"
        shutil.copy(args.sim / "sim.db", db)
        with Store.open(db, create=False) as store:
            matched = _match(store, gold)
            machine = {r.paper_id for r in store.iter_records([RecordStatus.MACHINE, RecordStatus.QUEUED])}
            wrong_before = {pid for pid in machine if pid in matched
                            and store.get_record(pid).countries() != _gold_countries(matched[pid])}
            band = candidates(store)
            before = review_metrics(store, gold, paper_ids=machine)
            with FakeOpenAI(responder=responder_for(matched, args.error, args.seed)) as srv:
                settings = Settings(db=db, base_url=srv.base_url, api_key="sk-fake", model=args.model,
                                    backends=["rules", "llm"], concurrency=4, request_timeout=10.0)
                so = run_second_opinion(store, settings)
            run_reconcile(store, settings=settings)
            after = review_metrics(store, gold, paper_ids=machine)
            flagged = {r.paper_id for r in store.iter_records() if any(x.code == "second_opinion" for x in r.review_reasons)}
    in_band_wrong = {r.paper_id for r in band} & wrong_before
    found = flagged & wrong_before
    out = {
        "band": list(BAND), "machine_records": len(machine), "errors": len(wrong_before),
        "asked": so.asked, "errors_in_band": len(in_band_wrong), "flagged": len(flagged), "errors_found": len(found),
        "false_alarms": len(flagged - wrong_before), "requests": so.requests, "prompt_tokens": so.prompt_tokens,
        "completion_tokens": so.completion_tokens, "cost_usd": round(so.cost_usd, 6),
        "cost_per_question_usd": round(so.cost_usd / so.asked, 6) if so.asked else None,
        "cost_per_error_found_usd": round(so.cost_usd / len(found), 6) if found else None,
        "top_15%_before": before["efficiency"]["top_15%"], "top_15%_after": after["efficiency"]["top_15%"],
    }
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
