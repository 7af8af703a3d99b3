"""Confidence: monotone in the signals, a fit recovers known probabilities, labels come from reviews."""

from __future__ import annotations

import numpy as np
import pytest

from extractor.config import Settings
from extractor.reconcile import confidence as conf
from extractor.reconcile.merge import run_reconcile
from extractor.reconcile.routing import route
from extractor.schemas import RecordStatus
from extractor.store import Store
from tests.test_reconcile_fixtures import LLM, RULES, STANFORD, TSINGHUA, add_paper, aff, extraction


@pytest.mark.parametrize("target", conf.TARGETS)
def test_default_models_are_monotone_in_every_signal(target: str) -> None:
    model = conf.default_model(target)
    base = model.predict({})
    for name in model.names:
        assert model.predict({name: 1.0}) < base, name
        assert model.predict({name: 1.0, "single_backend": 1.0}) <= model.predict({"single_backend": 1.0}), name


def _synthetic(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    names = conf.COUNTRY_FEATURES
    true = {"_intercept": 3.0, "disagree": -2.5, "conflict": -3.0, "hq_default": -1.0, "unmatched": -0.5}
    X = np.zeros((n, len(names)))
    for j, name in enumerate(names):
        if name in true:
            X[:, j] = rng.random(n) < 0.25
    z = true["_intercept"] + sum(X[:, names.index(k)] * v for k, v in true.items() if k != "_intercept")
    p = 1 / (1 + np.exp(-z))
    y = (rng.random(n) < p).astype(float)
    return X, y, p


def test_fit_recovers_known_probabilities() -> None:
    rng = np.random.default_rng(7)
    X, y, _ = _synthetic(6000, rng)
    prior = conf.default_model(conf.COUNTRY)
    model = conf.fit_logistic(X, y, prior, l2=0.5)
    assert model.coef["disagree"] == pytest.approx(-2.5, abs=0.3)
    assert model.coef["conflict"] == pytest.approx(-3.0, abs=0.35)
    assert model.intercept == pytest.approx(3.0, abs=0.3)
    X2, y2, p2 = _synthetic(6000, rng)
    pred = model.predict_many(X2)
    assert np.mean(np.abs(pred - p2)) < 0.02
    assert conf.expected_calibration_error(pred, y2) < 0.03
    assert conf.expected_calibration_error(prior.predict_many(X2), y2) > conf.expected_calibration_error(pred, y2)


def test_few_labels_stay_near_the_prior() -> None:
    rng = np.random.default_rng(1)
    X, y, _ = _synthetic(12, rng)
    prior = conf.default_model(conf.COUNTRY)
    model = conf.fit_logistic(X, y, prior, l2=5.0)
    assert model.coef["ungrounded"] == pytest.approx(prior.coef["ungrounded"], abs=0.05), "no data: prior kept"


def _drawn_from(model: conf.LogisticModel, n: int, rng: np.random.Generator, *, shift: float = 0.0,
                 true: dict[str, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Records with a few signals set at random, labelled by ``model`` (its logit + ``shift``,
    or the coefficients ``true`` where given): the truth a calibration should find."""
    names = model.names
    X = np.zeros((n, len(names)))
    for j in range(len(names)):
        X[:, j] = rng.random(n) < 0.02
    w = model.weights().copy()
    for k, v in (true or {}).items():
        w[0 if k == "_intercept" else 1 + names.index(k)] = v
    p = 1 / (1 + np.exp(-(w[0] + shift + X @ w[1:])))
    return X, (rng.random(n) < p).astype(float)


def test_few_errors_keep_the_prior_ranking_and_only_move_its_level() -> None:
    """~500 records with a handful of errors: no full refit; what is fitted is the prior's own
    logit rescaled, so records are ranked exactly as the prior ranks them."""
    prior = conf.default_model(conf.COUNTRY, conf.RULES_LLM)
    rng = np.random.default_rng(3)
    X, y = _drawn_from(prior, 500, rng, shift=1.0)
    assert 3 <= len(y) - y.sum() < conf.MIN_ERRORS_REFIT
    choice = conf.choose_mode(X, y, prior)
    assert choice.mode in (conf.PRIOR, conf.RECALIBRATED) and conf.REFIT not in choice.cv_log_loss
    by_prior = np.argsort(prior.predict_many(X), kind="stable")
    assert np.all(np.diff(choice.model.predict_many(X)[by_prior]) >= -1e-12), "the prior's order is kept"
    slopes = {choice.model.coef[k] / v for k, v in prior.coef.items() if v}
    assert max(slopes) - min(slopes) < 1e-9 and 0.5 < slopes.pop() < 1.5, "one common slope, near the prior's"


def test_a_prior_that_is_right_is_not_made_worse() -> None:
    """Labels drawn from the prior itself: whichever mode is chosen predicts fresh records of the
    same kind about as well as the prior (never a full refit on a few errors)."""
    prior = conf.default_model(conf.COUNTRY, conf.RULES_LLM)
    rng = np.random.default_rng(11)
    X, y = _drawn_from(prior, 500, rng)
    choice = conf.choose_mode(X, y, prior)
    X2, y2 = _drawn_from(prior, 20000, rng)
    fresh = {"prior": conf.metrics(prior.predict_many(X2), y2)["log_loss"],
             "chosen": conf.metrics(choice.model.predict_many(X2), y2)["log_loss"]}
    assert choice.mode != conf.REFIT
    assert fresh["chosen"] <= fresh["prior"] * 1.02, (choice.mode, fresh)


def test_a_shifted_prior_is_recalibrated_toward_the_observed_rate() -> None:
    """The prior is too sure (its logit 2 too high), few errors: recalibration moves its level."""
    prior = conf.default_model(conf.COUNTRY, conf.RULES_LLM)
    X, y = _drawn_from(prior, 500, np.random.default_rng(5), shift=-2.0)
    assert len(y) - y.sum() < conf.MIN_ERRORS_REFIT
    choice = conf.choose_mode(X, y, prior)
    assert choice.mode == conf.RECALIBRATED, choice.reason
    observed_wrong = 1 - y.mean()
    assert abs((1 - choice.model.predict_many(X).mean()) - observed_wrong) < abs((1 - prior.predict_many(X).mean()) - observed_wrong) / 2


def test_many_informative_errors_refit_every_coefficient() -> None:
    """Thousands of records whose truth differs from the prior signal by signal: a full refit wins
    out of fold and moves the coefficients toward the truth."""
    prior = conf.default_model(conf.COUNTRY, conf.RULES_LLM)
    true = {"_intercept": 2.0, "disagree": -0.2, "unmatched": -2.5}
    X, y = _drawn_from(prior, 4000, np.random.default_rng(2), true=true)
    assert len(y) - y.sum() >= conf.MIN_ERRORS_REFIT
    choice = conf.choose_mode(X, y, prior)
    assert choice.mode == conf.REFIT, choice.reason
    for name in ("disagree", "unmatched"):
        assert abs(choice.model.coef[name] - true[name]) < abs(prior.coef[name] - true[name]) / 2, name


def test_calibrate_says_which_mode_and_why(store: Store) -> None:
    from typer.testing import CliRunner

    from extractor.cli import app

    _reviewed_corpus(store, 60)
    result = CliRunner().invoke(app, ["calibrate", "--dry-run", "--db", str(store.path)])
    assert result.exit_code == 0, result.output
    summary = result.output.replace("\n", " ")
    assert "country: recalibrated" in summary or "country: prior" in summary, summary
    assert "cross-validated log-loss" in summary or "held-out folds" in summary
    assert "full refit needs 50 reviewed errors, 10 here" in summary


def test_ece_reliability_and_auc_on_a_hand_example() -> None:
    p = [0.95, 0.95, 0.95, 0.95, 0.15, 0.15]
    y = [1, 1, 1, 0, 0, 0]
    table = {r["bin"]: r for r in conf.reliability(p, y) if r["n"]}
    assert table["0.9-1.0"]["observed"] == 0.75 and table["0.1-0.2"]["observed"] == 0.0
    assert conf.expected_calibration_error(p, y) == pytest.approx(4 / 6 * 0.2 + 2 / 6 * 0.15)
    assert conf.auc(p, y) == pytest.approx(7.5 / 9)
    assert conf.auc([0.2, 0.9], [0, 1]) == 1.0 and conf.auc([0.5], [1]) is None


def test_models_are_stored_and_the_newest_is_used(store: Store) -> None:
    assert conf.load_model(store, conf.COUNTRY).source == "default"
    fitted = conf.default_model(conf.COUNTRY)
    fitted.intercept, fitted.source = 1.0, "fit"
    conf.save_model(store, fitted)
    assert conf.load_model(store, conf.COUNTRY).intercept == 1.0
    conf.reset_models(store)
    assert conf.load_model(store, conf.COUNTRY).source == "default"


def _reviewed_corpus(store: Store, n: int) -> None:
    """n papers; rules disagrees on every third; reviewers find the llm wrong on disagreements."""
    for i in range(n):
        rules_affs = [aff(0, STANFORD, "US"), aff(1, TSINGHUA, "JP" if i % 3 == 0 else "CN")]
        add_paper(store, f"p{i}.pdf", [(LLM, extraction()), (RULES, extraction(affs=rules_affs))])
    run_reconcile(store)
    for record in list(store.iter_records()):
        wrong = "backends_disagree" in {r.code for r in record.review_reasons} and int(record.source_file[1:-4]) % 2 == 0
        affs = [a.model_copy(update={"country": "JP"}) if a.country == "CN" and wrong else a for a in record.affiliations]
        new = record.model_copy(update={"affiliations": affs, "status": RecordStatus.VERIFIED})
        store.save_record(new, expected_version=record.version, action="correct" if wrong else "approve", actor="ana")


def test_calibrate_learns_from_the_audit_log(store: Store) -> None:
    _reviewed_corpus(store, 60)
    labels = conf.labelled_records(store, conf.COUNTRY)
    assert len(labels) == 60 and sum(1 - lbl for _, _, lbl in labels) == 10
    [country, models] = conf.calibrate(store, min_labels=20, min_errors_refit=5)
    assert country.stored and country.n == 60 and country.mode == conf.REFIT, country.message
    assert country.model.metrics["cross_validated"]["n"] == 60
    assert not models.stored, "every model-family label is the same: nothing to fit"
    disagree = {"disagree": 1.0, "disagree_unexplained": 1.0, "author_disagree": 1.0}
    assert country.model.predict(disagree) == pytest.approx(0.5, abs=0.15), "half the disagreements were wrong"
    assert country.model.predict({}) > 0.95


def test_too_few_reviews_keep_the_prior(store: Store) -> None:
    _reviewed_corpus(store, 6)
    [country, _] = conf.calibrate(store, min_labels=20)
    assert not country.stored and "need 20" in country.message
    assert conf.load_model(store, conf.COUNTRY).source == "default"


def test_refit_changes_confidence_of_unreviewed_records_on_route(store: Store) -> None:
    _reviewed_corpus(store, 60)
    pid = add_paper(store, "new.pdf", [(LLM, extraction()), (RULES, extraction(affs=[aff(0, STANFORD, "US"), aff(1, TSINGHUA, "JP")]))])
    run_reconcile(store)
    before = store.get_record(pid).confidence
    conf.calibrate(store, min_errors_refit=5)
    route(store, Settings())
    after = store.get_record(pid).confidence
    assert after != before and after == pytest.approx(0.5, abs=0.15)


def test_labels_compare_with_what_the_reviewer_was_shown_last(store: Store) -> None:
    """Claimed, handed back, rebuilt by reconcile from a new extraction, then verified: the
    label compares with the rebuilt machine answer, not the first one."""
    from extractor.review.queue import next_record

    pid = add_paper(store, "p.pdf", [(LLM, extraction(affs=[aff(0, STANFORD, "US"), aff(1, "Somewhere Lab", None)]))])
    run_reconcile(store)
    rec = next_record(store, "ana", claim=True)
    assert rec is not None and rec.paper_id == pid and rec.countries() == ["US"]
    back = store.save_record(rec.model_copy(update={"status": RecordStatus.QUEUED}), expected_version=rec.version,
                             action="skip", actor="ana")
    store.save_extraction(rec.sha256, LLM, "llm|test", extraction())  # a better answer replaces the first
    run_reconcile(store)
    now = store.get_record(pid)
    assert now.version > back.version and now.countries() == ["CN", "US"]
    store.save_record(now.model_copy(update={"status": RecordStatus.VERIFIED}), expected_version=now.version,
                      action="approve", actor="ana")
    [(paper, _, label)] = conf.labelled_records(store, conf.COUNTRY)
    assert paper == pid and label == 1


def test_fit_converges_from_a_prior_far_from_the_data() -> None:
    """Damped Newton: a prior that says P(right) ~ 1 while half the labels are wrong still fits."""
    rng = np.random.default_rng(3)
    X, y, _ = _synthetic(4000, rng)
    far = conf.default_model(conf.COUNTRY)
    far.intercept = 9.0
    model = conf.fit_logistic(X, y, far, l2=0.5)
    assert all(np.isfinite(v) for v in model.coef.values())
    assert model.intercept == pytest.approx(3.0, abs=0.4)
    assert model.coef["disagree"] == pytest.approx(-2.5, abs=0.4)
