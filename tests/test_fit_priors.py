"""The per-backend-set prior fit: monotone coefficients, blind spots kept, measure sets refused."""

from __future__ import annotations

import math

import numpy as np
import pytest

from devtools import fit_priors as fp
from extractor.reconcile import confidence as conf
from extractor.reconcile.routing import ImpactWeights, priority_of


def rows(n: int, seed: int = 0) -> list[fp.Row]:
    """Synthetic rows: `email_conflict` makes a paper wrong half the time, `reasked` never matters."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        f = {"email_conflict": float(rng.random() < 0.2), "hq_default": float(rng.random() < 0.2),
             "reasked": float(rng.random() < 0.3)}
        wrong = rng.random() < (0.5 if f["email_conflict"] else 0.01)
        out.append(fp.Row("c", f"{i:016x}", conf.RULES_LLM, f, {}, ["US"], [], int(not wrong), [], False))
    return out


def test_fit_is_monotone_keeps_unseen_and_simulation_blind_features_and_finds_the_signal() -> None:
    model = fp.fit(rows(3000), conf.RULES_LLM)
    assert all(v <= -fp.MIN_PENALTY for v in model.coef.values())
    assert model.coef["reasked"] == conf.DEFAULT_COUNTRY["reasked"], "a simulation cannot show re-asks"
    assert model.coef["withheld"] == conf.DEFAULT_COUNTRY["withheld"], "never seen: the hand-set value"
    assert model.coef["hq_default"] == -fp.MIN_PENALTY, "no effect in the data: the smallest penalty"
    assert model.predict({"email_conflict": 1.0}) == pytest.approx(0.5, abs=0.1)
    assert model.predict({}) == pytest.approx(0.99, abs=0.01)


def test_measure_sets_are_refused() -> None:
    with pytest.raises(SystemExit, match="measure set"):
        fp._pairs(["/tmp/naacl.db:/tmp/naacl/truth.jsonl"])


def test_priority_floor_is_one_country_count_and_impact_enters_with_its_square_root() -> None:
    assert priority_of(0.4, 0.0) == pytest.approx(0.4 * math.sqrt(0.5), abs=1e-6)
    assert priority_of(0.1, 2.0) == pytest.approx(0.1 * math.sqrt(2.0), abs=1e-6)
    assert priority_of(0.1, 2.0) > priority_of(0.15, 0.0), "a US-CN doubt outranks a somewhat likelier CN-CN one"
    assert priority_of(0.1, 2.0) < priority_of(0.3, 0.0), "but not a much likelier one"
    assert priority_of(0.5, 0.0, ImpactWeights(any_change=0.0)) == pytest.approx(0.5 * math.sqrt(0.02), abs=1e-6)


def test_an_intercept_floor_holds_the_intercept_and_still_fits_the_signals() -> None:
    data = rows(3000)
    free = fp.fit(data, conf.RULES_VENUE)
    floor = free.intercept + 1.0
    held = fp.fit(data, conf.RULES_VENUE, min_intercept=floor)
    assert held.intercept == pytest.approx(floor, abs=0.01)
    assert all(v <= -fp.MIN_PENALTY for v in held.coef.values())
    assert held.coef["email_conflict"] < free.coef["email_conflict"], "the signal takes up the higher base"
    assert fp.fit(data, conf.RULES_VENUE, min_intercept=free.intercept - 1.0).intercept == free.intercept
