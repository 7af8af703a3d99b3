"""Fit the default confidence priors, one per backend set, on development data only.

The default models of :mod:`extractor.reconcile.confidence` (used before anyone has
reviewed anything) are fitted here on databases whose papers have gold labels: each
database's extractions are rebuilt into records with the current reconcile code (so a
change to the signals needs no new pipeline run), and every record is labelled right when
its country set equals the gold one.

* ``rules``: every gold-matched paper with a rules extraction, read with the rules
  extraction alone;
* ``llm+rules``: every paper with both an llm and a rules extraction (simulations).
* ``rules+venue``: every paper with a rules and a venue extraction (``--venue``: nips2018
  renders whose paperlists metadata is stored as the venue's, ``benchmarks.venue_routing``),
  rebuilt with the source's own country labels as reconcile reads them.

A database with both backends gives both sets. The fit is the same penalised logistic
regression as ``collabscope calibrate`` (L2 toward the hand-set prior), then every
coefficient is kept at or below ``-MIN_PENALTY`` (a signal is a reason for doubt, never for
confidence; features the data never shows keep their hand-set value) and rounded.

Development data only: nips2018 renders and simulations, and the two real dev sets
(``shared/corpora/real_pdfs``, ``real_pdfs2``). Never a measure set (naacl2024 or any
unseen set): the script refuses a path that names naacl.

Example (the command behind ``data/confidence_priors.json``; see docs/ACCURACY.md,
"Review routing and calibration")::

    python -m devtools.fit_priors --rules /tmp/h8/nips.db:/tmp/h8/nips/truth.jsonl \\
        --rules /tmp/h8/real_pdfs.db:../shared/corpora/real_pdfs/gold.jsonl \\
        --rules /tmp/h8/real_pdfs2.db:../shared/corpora/real_pdfs2/gold.jsonl \\
        --sim /tmp/h8/sim_s0/sim.db:/tmp/h8/sim_s0/pdfs/truth.jsonl --write
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from extractor.evaluation.gold import load_gold
from extractor.evaluation.routing import _gold_countries, _match, capture
from extractor.reconcile import confidence as conf
from extractor.reconcile.merge import build, venue_labels_of
from extractor.reconcile.routing import impact, priority_of
from extractor.schemas import ExtractionMeta, PaperExtraction, paper_id_for
from extractor.store import Store

#: Every fitted coefficient is at most this (monotone: each signal lowers confidence).
MIN_PENALTY = 0.05
#: Pull toward the hand-set prior (per coefficient); small data sets stay near it.
L2 = 2.0
#: Features a simulation cannot show faithfully (the simulated llm never needs re-asks and
#: states a random self-confidence): kept at their hand-set values, not fitted.
SIMULATION_BLIND = ("reasked", "llm_unsure")


@dataclass
class Row:
    corpus: str
    paper_id: str
    backend_set: str
    features: dict[str, float]
    model_features: dict[str, float]
    countries: list[str]
    alternatives: list[dict[str, Any]]
    right: int
    reasons: list[str]
    doubt: bool


def _pairs(values: list[str]) -> list[tuple[Path, Path]]:
    out = []
    for v in values:
        db, _, gold = v.partition(":")
        if not gold:
            raise SystemExit(f"{v!r}: expected DB:GOLD")
        if "naacl" in v.lower():
            raise SystemExit(f"{v!r}: naacl2024 is a measure set; never fit on it")
        out.append((Path(db), Path(gold)))
    return out


def rows_of(db: Path, gold: Path, sets: tuple[str, ...]) -> list[Row]:
    """Rebuild every gold-matched paper of ``db`` for each backend set it has extractions for."""
    rows: list[Row] = []
    gold_rows = load_gold(gold)
    with Store.open(db, create=False) as store:
        matched = _match(store, gold_rows)
        by_pid = {paper_id_for(d["sha256"]): d["sha256"] for d in store.document_index(ok_only=True)}
        for pid, g in sorted(matched.items()):
            sha = by_pid[pid]
            usable: list[tuple[ExtractionMeta, PaperExtraction]] = [(m, e) for m, e, _ in store.extractions_for(sha)
                                                                    if e is not None]
            if not usable:
                continue
            doc = store.get_document(sha, with_full_text=False)
            want = _gold_countries(g)
            backends = {m.backend for m, _ in usable}
            for bset in sets:
                if bset == conf.RULES_ONLY:
                    if "rules" not in backends:
                        continue
                    exts = [(m, e) for m, e in usable if m.backend == "rules"]
                elif bset == conf.RULES_LLM:
                    if not {"rules", "llm"} <= backends:
                        continue
                    exts = [(m, e) for m, e in usable if m.backend in ("rules", "llm")]
                elif bset == conf.RULES_VENUE:
                    if not {"rules", "venue"} <= backends:
                        continue
                    exts = [(m, e) for m, e in usable if m.backend in ("rules", "venue")]
                else:
                    continue
                built = build(doc, exts, venue_labels=venue_labels_of(store, sha, exts))
                rec = built.record
                rows.append(Row(db.name, pid, bset, dict(built.signals.features), dict(built.signals.model_features),
                                rec.countries(), list(built.signals.alternatives), int(rec.countries() == want),
                                [r.code for r in rec.review_reasons], bool(built.signals.doubts)))
    return rows


def fit(rows: list[Row], backend_set: str, *, l2: float = L2, min_intercept: float | None = None) -> conf.LogisticModel:
    """Penalised fit toward the hand-set prior, coefficients kept <= -MIN_PENALTY (refit with them fixed).

    ``min_intercept``: a floor for the intercept (refit with the intercept held there when
    the free fit falls below it). The ``rules+venue`` set gets the ``rules`` set's intercept
    as its floor: a second, independent reading that agrees is never a reason for doubt, so a
    record the venue confirms stays at least as confident as the same record read alone.
    """
    hand = conf.LogisticModel(conf.COUNTRY, conf.DEFAULT_COUNTRY["_intercept"],
                              {k: v for k, v in conf.DEFAULT_COUNTRY.items() if k != "_intercept"}, backend_set=backend_set)
    names = list(hand.names)
    X = np.array([[float(r.features.get(n, 0.0)) for n in names] for r in rows])
    y = np.array([r.right for r in rows], float)
    seen = X.any(axis=0)
    fixed: dict[str, float] = {n: hand.coef[n] for n, s in zip(names, seen) if not s or n in SIMULATION_BLIND}
    held: float | None = None
    for _ in range(len(names) + 1):
        free = [j for j, n in enumerate(names) if n not in fixed]
        offset = X[:, [j for j, n in enumerate(names) if n in fixed]] @ np.array([fixed[n] for n in names if n in fixed]) \
            if fixed else np.zeros(len(y))
        w = _fit_offset(X[:, free], y, offset, np.array([hand.intercept] + [hand.coef[names[j]] for j in free]), l2,
                        intercept=held)
        if held is None and min_intercept is not None and w[0] < min_intercept:
            held = min_intercept
            continue
        coef = {names[j]: float(v) for j, v in zip(free, w[1:])}
        worst = [n for n, v in coef.items() if v > -MIN_PENALTY]
        if not worst:
            break
        for n in worst:
            fixed[n] = -MIN_PENALTY
    coef.update(fixed)
    return conf.LogisticModel(conf.COUNTRY, round(float(w[0]), 2), {n: round(coef[n], 2) for n in names}, source="default",
                              backend_set=backend_set, n=len(rows), l2=l2)


def _fit_offset(X: np.ndarray, y: np.ndarray, offset: np.ndarray, w0: np.ndarray, l2: float,
                intercept: float | None = None) -> np.ndarray:
    """Logistic regression with a fixed offset, L2 toward ``w0`` (``intercept``: held at
    that value instead of fitted; it is still returned first)."""
    if intercept is not None:
        rest = conf.penalised_newton(X, y, w0[1:], l2=l2, offset=offset + intercept)
        return np.concatenate([[intercept], rest])
    return conf.penalised_newton(np.hstack([np.ones((len(y), 1)), X]), y, w0, l2=l2, offset=offset)


def evaluate(rows: list[Row], model: conf.LogisticModel) -> dict[str, Any]:
    """Calibration and queue capture of ``model`` on ``rows`` (queue order: P(wrong) x impact)."""
    p = np.array([model.predict(r.features) for r in rows])
    y = np.array([r.right for r in rows])
    prio = [priority_of(1 - pi, impact(r.countries, r.alternatives)) for pi, r in zip(p, rows)]
    order = sorted(range(len(rows)), key=lambda i: (-prio[i], -(1 - p[i]), rows[i].paper_id))
    by_p = sorted(range(len(rows)), key=lambda i: (-(1 - p[i]), rows[i].paper_id))
    linear = [(1 - pi) * max(impact(r.countries, r.alternatives), 0.02) for pi, r in zip(p, rows)]
    by_linear = sorted(range(len(rows)), key=lambda i: (-linear[i], -(1 - p[i]), rows[i].paper_id))
    out = conf.metrics(p, y)
    out["reliability"] = conf.reliability(p, y)
    out["errors"] = int((1 - y).sum())
    out["queue"] = capture([not rows[i].right for i in order])
    out["p_wrong_order"] = capture([not rows[i].right for i in by_p])
    out["linear_impact_order"] = capture([not rows[i].right for i in by_linear])  # priority = P(wrong) x impact
    top = math.ceil(0.15 * len(rows))
    out["missed"] = Counter(c for i in order[top:] if not rows[i].right for c in (rows[i].reasons or ["(none)"]))
    return out


def cross_validated(rows: list[Row], backend_set: str, folds: int = 5, floor: float | None = None) -> np.ndarray:
    """Out-of-fold P(right) (fold = hash of the paper id), for an honest figure of the fit."""
    out = np.zeros(len(rows))
    fold = np.array([int(r.paper_id[:8], 16) % folds for r in rows])
    for k in range(folds):
        train = [r for r, f in zip(rows, fold) if f != k]
        model = fit(train, backend_set, min_intercept=floor)
        for i in np.where(fold == k)[0]:
            out[i] = model.predict(rows[i].features)
    return out


def _fmt(m: dict[str, Any]) -> str:
    q = m["queue"]
    return (f"n {m['n']}, errors {m['errors']}, ECE {m['ece']:.3f}, AUC {m['auc'] if m['auc'] is None else round(m['auc'], 3)}, "
            f"queue top 5/10/15/20%: " + " / ".join("n/a" if v is None else f"{v:.1%}" for v in q.values()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rules", action="append", default=[], help="DB:GOLD read with the rules backend only")
    ap.add_argument("--sim", action="append", default=[], help="DB:GOLD with rules and llm extractions (both sets)")
    ap.add_argument("--venue", action="append", default=[], help="DB:GOLD with rules and venue extractions (rules+venue)")
    ap.add_argument("--write", action="store_true", help=f"write {conf.PRIORS_FILE}")
    ap.add_argument("--json", action="store_true", help="print the fit and its figures as JSON")
    args = ap.parse_args(argv)
    rows: list[Row] = []
    for db, gold in _pairs(args.rules):
        rows += rows_of(db, gold, (conf.RULES_ONLY,))
    for db, gold in _pairs(args.sim):
        rows += rows_of(db, gold, (conf.RULES_ONLY, conf.RULES_LLM))
    for db, gold in _pairs(args.venue):
        rows += rows_of(db, gold, (conf.RULES_VENUE,))
    report: dict[str, Any] = {"country": {}, "figures": {}}
    for bset in conf.BACKEND_SETS:
        data = [r for r in rows if r.backend_set == bset]
        if not data:
            continue
        floor = None
        if bset == conf.RULES_VENUE:  # agreement never lowers confidence (see fit)
            floor = report["country"].get(conf.RULES_ONLY, conf.prior_coefficients(conf.COUNTRY, conf.RULES_ONLY))["_intercept"]
        model = fit(data, bset, min_intercept=floor)
        report["country"][bset] = {"_intercept": model.intercept, **model.coef}
        hand = conf.LogisticModel(conf.COUNTRY, conf.DEFAULT_COUNTRY["_intercept"],
                                  {k: v for k, v in conf.DEFAULT_COUNTRY.items() if k != "_intercept"})
        cv = cross_validated(data, bset, floor=floor)
        y = [r.right for r in data]
        figs = {"hand_prior": evaluate(data, hand), "fitted_in_sample": evaluate(data, model),
                "cross_validated": {**conf.metrics(cv, y), "reliability": conf.reliability(cv, y)}}
        by_corpus = {}
        for corpus in sorted({r.corpus for r in data}):
            part = [r for r in data if r.corpus == corpus]
            by_corpus[corpus] = evaluate(part, model)
        figs["by_corpus"] = by_corpus
        report["figures"][bset] = figs
        print(f"== {bset}: {len(data)} papers from {', '.join(sorted({r.corpus for r in data}))}", file=sys.stderr)
        print(f"   hand prior:        {_fmt(figs['hand_prior'])}", file=sys.stderr)
        print(f"   fitted (in-sample): {_fmt(figs['fitted_in_sample'])}", file=sys.stderr)
        print(f"   cross-validated:   ECE {figs['cross_validated']['ece']:.3f}, AUC {figs['cross_validated']['auc']}",
              file=sys.stderr)
        for corpus, m in by_corpus.items():
            print(f"   {corpus}: {_fmt(m)}; missed: {dict(m['missed'])}", file=sys.stderr)
        print("   coefficients: " + ", ".join(f"{k} {v:+.2f}" for k, v in report["country"][bset].items()), file=sys.stderr)
    if args.write:
        payload = {
            "_provenance": {
                "written_by": "python -m devtools.fit_priors",
                "commands": "docs/ACCURACY.md, section 'Review routing and calibration' (how each DB was made)",
                "data": {"rules": [str(p) for p in args.rules], "sim": [str(p) for p in args.sim],
                         "venue": [str(p) for p in args.venue]},
                "papers": {k: sum(r.backend_set == k for r in rows) for k in conf.BACKEND_SETS},
                "errors": {k: sum(r.backend_set == k and not r.right for r in rows) for k in conf.BACKEND_SETS},
                "note": "development data only (nips2018 renders and simulations, real_pdfs, real_pdfs2); "
                        f"L2 {L2} toward the hand-set prior, coefficients <= -{MIN_PENALTY}, rounded",
            },
            "country": report["country"],
        }
        conf.PRIORS_FILE.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {conf.PRIORS_FILE}", file=sys.stderr)
    if args.json:
        print(json.dumps(report, default=lambda o: dict(o) if isinstance(o, Counter) else str(o), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
