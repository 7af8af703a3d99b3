"""Calibrated confidence: P(the paper's country set is right), P(its model-family set is right).

Reconcile turns each paper's extractions into a small vector of named signal features
(:data:`COUNTRY_FEATURES`, :data:`MODEL_FEATURES`). This module maps a vector to a
probability with a plain logistic regression, because it is inspectable: one coefficient
per named signal, printed by ``collabscope calibrate``::

    P(right | x) = 1 / (1 + exp(-(b0 + sum_j w_j * x_j)))

There is one model per *backend set* (:data:`BACKEND_SETS`: rules alone, rules+llm, llm
alone), chosen by the backends a record was read with (:func:`backend_set_of`): a signal
means something else with and without a second reader. Before anyone has reviewed
anything the coefficients are the set's default: the fit shipped in
``data/confidence_priors.json`` (``python -m devtools.fit_priors``, development data only:
nips2018 renders and simulations, the two real dev sets; coefficients kept <= -0.05) over
the hand-set priors :data:`DEFAULT_COUNTRY` / :data:`DEFAULT_MODELS` (log-odds penalties
per signal; see docs/ACCURACY.md, "Review routing and calibration"). A refit uses reviewed
records of one backend set (label 1 when the human-verified set equals the machine's set)
and maximises the log-likelihood with an L2 penalty that pulls the weights toward that
set's prior, not toward zero:

    loss(w) = -sum_i log P(y_i | x_i; w) + (l2 / 2) * ||w - w_prior||^2   (intercept included)

so a handful of reviews moves the model a little and a few hundred move it a lot. What
limits a refit is the number of reviewed *errors*, not of records (a logistic fit's
information is sum p(1-p), about the minority count), and a refit of ~40 coefficients on a
few errors ranks worse than the prior. :func:`calibrate` therefore picks one of three
modes per backend set by the errors it has and by 5-fold cross-validated log-loss on the
reviewed records (:func:`choose_mode`):

- ``prior``: keep the default model when neither fit beats it out of fold;
- ``recalibrated`` (Platt-style, 2 parameters): ``logit P' = a + b * logit P_prior``,
  penalised toward a=0, b=1; it keeps the prior's ranking of records by P(wrong) and fixes
  its level and spread, so few errors cannot reorder the queue;
- ``refit``: the full refit, only with at least :data:`MIN_ERRORS_REFIT` reviewed errors
  and when it beats both out of fold.

The fits are solved with damped Newton steps (the problem is small and strictly convex; a step is
halved until the penalised loss does not grow, so a prior far from the data cannot
diverge). Fits are stored in the ``calibration`` table (:mod:`extractor.store.calibration`)
under ``<target>@<backend set>``; the newest row per key is the one in use.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from extractor.resolve.entries import DATA_DIR
from extractor.schemas import PaperContent, PaperRecord
from extractor.store import Store, utcnow

COUNTRY = "country"
MODELS = "models"
TARGETS = (COUNTRY, MODELS)

#: Signals of the country-set model; values are 0/1 flags or small capped counts.
COUNTRY_FEATURES: tuple[str, ...] = (
    "disagree",  # another backend reads a different country set
    "disagree_unexplained",  # ... and no affiliation-level signal says which is wrong
    "conflict",  # primary country contradicts what its own affiliation text states (count)
    "conflict_weak",  # ... contradicts a weaker reading (city, fuzzy gazetteer, e-mail) (count)
    "missing",  # another backend found an affiliation (new country) the primary lacks (count)
    "missing_unknown",  # ... an affiliation of unknown country the primary lacks
    "corrected",  # reconcile replaced a country by the one the text states (another backend agrees)
    "added",  # reconcile added an affiliation another backend found and the primary missed
    "llm_overruled",  # the llm backend kept the resolver's inferred country over the model's reading
    "llm_overruled_stated",  # ... kept a country the affiliation text states
    "author_disagree",  # backends give an author affiliations in different countries, and the paper's set with
    #                     the other backend's reading of those authors differs
    "author_disagree_same_set",  # ... but the paper's country set is the same either way
    "withheld",  # an affiliation not printed in the PDF: its country is not counted (reconcile)
    "ungrounded",  # affiliation/author strings not found in the PDF text (count)
    "hq_default",  # multi-country company, no site named: headquarters country
    "inferred_weak",  # country only from e-mail, a city, or nothing stated
    "llm_only",  # only the LLM supports the country (the resolver finds none)
    "email_conflict",  # an author's e-mail country is none of their affiliation countries
    "unmatched",  # institution not in the gazetteer
    "country_unknown",  # an affiliation without a country
    "no_affiliations",
    "author_count_mismatch",  # author block vs extraction
    "author_without_affiliation",
    "reasked",  # the LLM answer needed validation re-asks
    "llm_unsure",  # 1 - the LLM's stated confidence (weak)
    "single_backend",  # no second opinion
    "unit_no_org",  # an affiliation naming no organisation and no place (figure labels, stray lines)
    "outside_author_block",  # an affiliation read from outside the author block and the footnotes (figure text)
    "affiliation_unlinked",  # an affiliation no author points at
    "shared_by_all",  # every author has every affiliation, and they lie in several countries
    "linked_by_name",  # an affiliation linked through a footnote sentence that names its authors
    "org_inferred",  # the organisation itself is inferred (logo, running header, e-mail domain)
    "n_affiliations",  # number of affiliations (capped at 8) / 8: long front matter fails more
    "second_opinion_differs",  # the narrower second-opinion llm call reads a different country set
    "split_line_countries",  # one printed line split into affiliations in different countries (an author's)
    "acronym_country",  # a country resting on a short upper-case alias (MIT, IIT, ENS: acronyms are ambiguous)
    "link_fallback",  # authors linked by grid column, print order or e-mail domain (no marker links them)
    "labels_disagree",  # a venue source's own country labels differ from the record's set (HK/MO/TW as CN)
    "unit_several_countries",  # one printed unit names organisations in several countries ("LCSL – IIT & MIT")
)

MODEL_FEATURES: tuple[str, ...] = (
    "families_disagree",  # backends name different model families
    "only_one_backend_found",  # one backend found families, the other none
    "body_single",  # families seen once, only in the body (citation-like)
    "n_families",  # number of families (capped at 5) / 5
    "single_backend",
    "reasked",
    "llm_unsure",
)

#: Backend sets with a default model of their own. A record's set is the backends its
#: extractions came from (``backend:<name>`` flags in its features, see :func:`backend_set_of`):
#: the same signal means different things with and without a second reader (with the rules
#: backend alone, nothing can disagree, so its own doubts must carry the ranking).
RULES_ONLY = "rules"
RULES_LLM = "llm+rules"
LLM_ONLY = "llm"  # no shipped fit: the hand-set prior (no dev data has the llm without the rules)
#: The rules backend plus a collected venue's metadata (no LLM): the venue's reading and the
#: source's own country labels can disagree with the PDF, so its signals weigh differently.
RULES_VENUE = "rules+venue"
BACKEND_SETS: tuple[str, ...] = (RULES_LLM, RULES_ONLY, LLM_ONLY, RULES_VENUE)
#: The set of a record whose features name no backends (signals stored before the flags existed).
DEFAULT_SET = RULES_LLM
#: Fitted per-set priors (written by ``python -m devtools.fit_priors``; provenance inside the file).
PRIORS_FILE = DATA_DIR / "confidence_priors.json"

#: Calibration modes (see the module docstring and :func:`choose_mode`).
PRIOR = "prior"
RECALIBRATED = "recalibrated"
REFIT = "refit"
#: Reviewed errors below which a full refit is not even a candidate (about one per country signal).
MIN_ERRORS_REFIT = 50
#: Pull of the 2-parameter recalibration toward the prior (a=0, b=1); chosen on simulation
#: seeds 5-9 (not the fitting seeds 0-1 nor the held-out 2-4), see docs/ACCURACY.md.
RECALIBRATION_L2 = 10.0

#: Hand-set prior for the country model (log-odds; intercept ~ P(right)=0.97 with no signal).
DEFAULT_COUNTRY: dict[str, float] = {
    "_intercept": 3.5,
    "disagree": -2.0, "disagree_unexplained": -1.0, "conflict": -2.0, "conflict_weak": -0.8, "missing": -1.8, "missing_unknown": -1.5,
    "corrected": -1.0, "added": -0.5, "llm_overruled": -2.8, "llm_overruled_stated": -1.0,
    "author_disagree": -1.0, "author_disagree_same_set": -0.8, "withheld": -1.5, "ungrounded": -0.8,
    "hq_default": -0.8, "inferred_weak": -0.6, "llm_only": -0.8, "email_conflict": -2.0, "unmatched": -0.3,
    "country_unknown": -1.5, "no_affiliations": -4.5, "author_count_mismatch": -0.6, "author_without_affiliation": -0.6,
    "reasked": -0.3, "llm_unsure": -0.4, "single_backend": -0.3,
    "unit_no_org": -1.0, "outside_author_block": -1.0, "affiliation_unlinked": -0.8, "shared_by_all": -0.5,
    "linked_by_name": -0.5, "org_inferred": -0.8, "n_affiliations": -0.5, "second_opinion_differs": -1.5,
    "split_line_countries": -1.0, "acronym_country": -0.5, "link_fallback": -0.6,
    "labels_disagree": -2.0, "unit_several_countries": -1.0,
}
DEFAULT_MODELS: dict[str, float] = {
    "_intercept": 2.5,
    "families_disagree": -1.2, "only_one_backend_found": -0.8, "body_single": -0.5, "n_families": -0.6,
    "single_backend": -0.3, "reasked": -0.2, "llm_unsure": -0.5,
}


def features_for(target: str) -> tuple[str, ...]:
    return COUNTRY_FEATURES if target == COUNTRY else MODEL_FEATURES


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


@dataclass
class LogisticModel:
    """One fitted (or default) model: named coefficients, how it was made, how well it fits."""

    target: str
    intercept: float
    coef: dict[str, float]
    source: str = "default"  # default | fit
    backend_set: str | None = None  # the backend set it scores (None: any)
    n: int = 0  # labelled records it was fitted on
    l2: float = 0.0
    fitted_at: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    mode: str | None = None  # how a fit was made: recalibrated | refit (None: the default model)

    @property
    def names(self) -> tuple[str, ...]:
        return features_for(self.target)

    def vector(self, x: Mapping[str, float]) -> np.ndarray:
        return np.array([float(x.get(n, 0.0)) for n in self.names])

    def weights(self) -> np.ndarray:
        return np.array([self.intercept] + [self.coef.get(n, 0.0) for n in self.names])

    def predict(self, x: Mapping[str, float]) -> float:
        """P(right) for one feature dict (missing features count as 0)."""
        z = self.intercept + float(self.vector(x) @ self.weights()[1:])
        return float(_sigmoid(np.array(z)))

    def predict_many(self, X: np.ndarray) -> np.ndarray:
        w = self.weights()
        return _sigmoid(w[0] + X @ w[1:])

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LogisticModel:
        return cls(**{k: data[k] for k in ("target", "intercept", "coef", "source", "backend_set", "n", "l2", "fitted_at", "metrics",
                                         "mode")
                      if k in data})


def backend_flags(backends: Iterable[str]) -> dict[str, float]:
    """The features that name a record's backends (read back by :func:`backend_set_of`)."""
    return {f"backend:{b}": 1.0 for b in sorted(set(backends))}


def backend_set_of(features: Mapping[str, float]) -> str:
    """The backend set whose model scores a feature vector.

    A set with a model of its own is used as it is (e.g. ``rules+venue`` once a fit for it
    is shipped); otherwise an llm and a rules reading make it :data:`RULES_LLM`, an llm
    reading without the rules :data:`LLM_ONLY`, anything else :data:`RULES_ONLY` (metadata
    backends such as ``venue`` read no PDF). Features without backend flags are from before
    the flags existed: one backend means rules, several mean rules+llm.
    """
    names = sorted(k.split(":", 1)[1] for k, v in features.items() if k.startswith("backend:") and v)
    if not names:
        return RULES_ONLY if features.get("single_backend") and "llm_unsure" not in features else DEFAULT_SET
    key = "+".join(names)
    if key in BACKEND_SETS or key in _fitted_priors().get(COUNTRY, {}):
        return key
    if "llm" in names:
        return RULES_LLM if "rules" in names else LLM_ONLY
    return RULES_ONLY


@functools.cache
def _fitted_priors() -> dict[str, Any]:
    """The shipped per-set priors (empty when the file is absent: the hand-set ones apply)."""
    try:
        return json.loads(PRIORS_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def prior_coefficients(target: str, backend_set: str = DEFAULT_SET) -> dict[str, float]:
    """Intercept and coefficients of the default model of ``target`` for one backend set.

    The shipped fit for that set when there is one, the hand-set prior otherwise; a feature
    the fit does not name keeps its hand-set value.
    """
    hand = DEFAULT_COUNTRY if target == COUNTRY else DEFAULT_MODELS
    fitted = _fitted_priors().get(target, {}).get(backend_set) or {}
    return {**hand, **{k: float(v) for k, v in fitted.items() if k == "_intercept" or k in hand}}


def default_model(target: str, backend_set: str = DEFAULT_SET) -> LogisticModel:
    prior = prior_coefficients(target, backend_set)
    return LogisticModel(target=target, intercept=prior["_intercept"], coef={k: v for k, v in prior.items() if k != "_intercept"},
                         backend_set=backend_set)


@dataclass
class ModelSet:
    """The models of one target, one per backend set: each record is scored by its own set's."""

    target: str
    by_set: dict[str, LogisticModel]

    def model_for(self, x: Mapping[str, float]) -> LogisticModel:
        key = backend_set_of(x)
        model = self.by_set.get(key)
        if model is None:  # a set with no model loaded: its default prior
            model = self.by_set[key] = default_model(self.target, key)
        return model

    def predict(self, x: Mapping[str, float]) -> float:
        return self.model_for(x).predict(x)

    @property
    def source(self) -> str:
        """``default`` / ``fit``, or per set when they differ (``llm+rules=fit, rules=default``)."""
        sources = {m.source for m in self.by_set.values()}
        if len(sources) == 1:
            return sources.pop()
        return ", ".join(f"{k}={m.source}" for k, m in sorted(self.by_set.items()))

    def params(self) -> dict[str, Any]:
        return {k: {"intercept": m.intercept, "coef": m.coef} for k, m in sorted(self.by_set.items())}


def as_model_set(model: LogisticModel | ModelSet) -> ModelSet:
    """A single model used for every backend set (tests and callers that fit one model)."""
    if isinstance(model, ModelSet):
        return model
    return ModelSet(model.target, {k: model for k in BACKEND_SETS})


def default_models(target: str) -> ModelSet:
    return ModelSet(target, {k: default_model(target, k) for k in BACKEND_SETS})


def penalised_newton(A: np.ndarray, y: np.ndarray, target: np.ndarray, *, l2: float, iters: int = 100,
                     tol: float = 1e-9, offset: np.ndarray | float = 0.0) -> np.ndarray:
    """Weights w minimising the logistic loss of ``A @ w + offset`` plus ``(l2/2)|w - target|^2``.

    Damped Newton from the target: each step is halved until the penalised loss does not
    grow (a full step from a prior far from the data can overshoot where the sigmoid
    saturates). Shared by the full refit, the 2-parameter recalibration and the prior fit
    of the dev tools, which differ only in the design matrix and the target.
    """
    w = target.astype(float).copy()
    eye = np.eye(len(w))

    def loss(v: np.ndarray) -> float:
        z = A @ v + offset
        return float(np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * l2 * np.sum((v - target) ** 2))

    current = loss(w)
    for _ in range(iters):
        p = _sigmoid(A @ w + offset)
        grad = A.T @ (p - y) + l2 * (w - target)
        H = (A * (p * (1 - p))[:, None]).T @ A + l2 * eye
        step = np.linalg.solve(H, grad)
        t = 1.0
        while t > 1e-6 and loss(w - t * step) > current + 1e-12:
            t /= 2
        w = w - t * step
        current = loss(w)
        if float(np.max(np.abs(t * step))) < tol:
            break
    return w


def fit_logistic(X: np.ndarray, y: np.ndarray, prior: LogisticModel, *, l2: float = 1.0, iters: int = 50) -> LogisticModel:
    """Newton's method on the L2-to-prior penalised log-likelihood (see the module docstring)."""
    n = X.shape[0]
    w = penalised_newton(np.hstack([np.ones((n, 1)), X]), y, prior.weights(), l2=l2, iters=iters, tol=1e-8)
    return LogisticModel(target=prior.target, intercept=float(w[0]),
                         coef={name: float(v) for name, v in zip(prior.names, w[1:])},
                         source="fit", backend_set=prior.backend_set, n=int(n), l2=l2, fitted_at=utcnow(), mode=REFIT)


def recalibrate_logistic(X: np.ndarray, y: np.ndarray, prior: LogisticModel, *, l2: float = 10.0,
                         iters: int = 100) -> LogisticModel:
    """Platt-style recalibration of the prior: ``logit P' = a + b * logit P_prior`` (2 parameters).

    (a, b) maximise the log-likelihood with the penalty ``(l2/2) * (a^2 + (b-1)^2)`` (toward
    the prior itself), by the same damped Newton steps as :func:`fit_logistic`. The result
    is a plain model of the same form, every weight of the prior times b and the intercept
    ``a + b * b0``, so it is stored and applied like any other fit.
    """
    w_prior = prior.weights()
    z = w_prior[0] + X @ w_prior[1:]
    w = penalised_newton(np.stack([np.ones_like(z), z], axis=1), y, np.array([0.0, 1.0]), l2=l2, iters=iters)
    a, b = float(w[0]), float(w[1])
    return LogisticModel(target=prior.target, intercept=a + b * prior.intercept,
                         coef={name: b * v for name, v in prior.coef.items()}, source="fit",
                         backend_set=prior.backend_set, n=len(y), l2=l2, fitted_at=utcnow(), mode=RECALIBRATED)


# --------------------------------------------------------------------------- metrics


def reliability(p: Sequence[float], y: Sequence[int], bins: int = 10) -> list[dict[str, Any]]:
    """Equal-width bins of predicted P(right): count, mean prediction, observed share right."""
    p_arr, y_arr = np.asarray(p, float), np.asarray(y, float)
    rows = []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        mask = (p_arr >= lo) & ((p_arr < hi) if b < bins - 1 else (p_arr <= hi))
        k = int(mask.sum())
        rows.append({"bin": f"{lo:.1f}-{hi:.1f}", "n": k,
                     "mean_p": float(p_arr[mask].mean()) if k else None,
                     "observed": float(y_arr[mask].mean()) if k else None})
    return rows


def expected_calibration_error(p: Sequence[float], y: Sequence[int], bins: int = 10) -> float:
    """ECE = sum over bins of (bin share) * |mean predicted - observed| (equal-width bins)."""
    n = len(p)
    if n == 0:
        return float("nan")
    return float(sum(r["n"] / n * abs(r["mean_p"] - r["observed"]) for r in reliability(p, y, bins) if r["n"]))


def auc(p: Sequence[float], y: Sequence[int]) -> float | None:
    """Area under the ROC curve (rank statistic, ties half); None with one class only."""
    p_arr, y_arr = np.asarray(p, float), np.asarray(y, int)
    pos, neg = p_arr[y_arr == 1], p_arr[y_arr == 0]
    if not len(pos) or not len(neg):
        return None
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def metrics(p: Sequence[float], y: Sequence[int], bins: int = 10) -> dict[str, Any]:
    p_arr = np.clip(np.asarray(p, float), 1e-9, 1 - 1e-9)
    y_arr = np.asarray(y, float)
    n = len(p_arr)
    if n == 0:
        return {"n": 0}
    return {
        "n": n,
        "share_right": float(y_arr.mean()),
        "mean_p": float(p_arr.mean()),
        "ece": expected_calibration_error(p_arr, y_arr, bins),
        "brier": float(np.mean((p_arr - y_arr) ** 2)),
        "log_loss": _log_loss_sum(p_arr, y_arr) / n,
        "auc": auc(p_arr, y_arr),
    }


def cross_validated(X: np.ndarray, y: np.ndarray, prior: LogisticModel, *, l2: float, folds: int = 5,
                    mode: str = REFIT) -> np.ndarray:
    """Out-of-fold predictions (deterministic fold assignment), for honest fit metrics.

    ``mode`` is the fit made on each fold's training part: :data:`REFIT` (:func:`fit_logistic`)
    or :data:`RECALIBRATED` (:func:`recalibrate_logistic`).
    """
    fit = fit_logistic if mode == REFIT else recalibrate_logistic
    n = len(y)
    out = np.zeros(n)
    fold_of = np.arange(n) % folds
    for k in range(folds):
        train, test = fold_of != k, fold_of == k
        if not test.any():
            continue
        out[test] = fit(X[train], y[train], prior, l2=l2).predict_many(X[test]) if train.any() else prior.predict_many(X[test])
    return out


def _log_loss_sum(p: np.ndarray, y: np.ndarray) -> float:
    """Summed log-loss; the clip keeps a certain wrong prediction finite."""
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return float(-np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)))


@dataclass
class ModeChoice:
    """Which calibration mode :func:`choose_mode` took, the model it gives, and why."""

    mode: str
    model: LogisticModel
    reason: str
    cv_log_loss: dict[str, float]
    cv_predictions: np.ndarray


def choose_mode(X: np.ndarray, y: np.ndarray, prior: LogisticModel, *, l2: float = 2.0,
                recalibration_l2: float = RECALIBRATION_L2, min_errors_refit: int = MIN_ERRORS_REFIT) -> ModeChoice:
    """Prior, 2-parameter recalibration or full refit: the one with the lowest out-of-fold log-loss.

    Candidates are scored by 5-fold cross-validated log-loss on the reviewed records (the
    prior by its plain log-loss: it was fitted on none of them). The full refit is a
    candidate only with at least ``min_errors_refit`` reviewed errors: below that its ~40
    coefficients rest on a handful of cases. Ties keep the simpler model (prior, then
    recalibration), so a fit is used only when held-out records say it predicts better.
    """
    errors = int(len(y) - y.sum())
    prior_p = prior.predict_many(X)
    cv = {PRIOR: prior_p, RECALIBRATED: cross_validated(X, y, prior, l2=recalibration_l2, mode=RECALIBRATED)}
    if errors >= min_errors_refit:
        cv[REFIT] = cross_validated(X, y, prior, l2=l2, mode=REFIT)
    losses = {k: _log_loss_sum(p, y) for k, p in cv.items()}
    best = min(losses, key=lambda k: (round(losses[k], 9), list(losses).index(k)))
    shown = ", ".join(f"{k} {v / len(y):.4f}" for k, v in losses.items())
    if best == PRIOR:
        model = prior
        reason = f"no fit beat the prior's log-loss on held-out folds ({shown})"
    elif best == RECALIBRATED:
        model = recalibrate_logistic(X, y, prior, l2=recalibration_l2)
        reason = f"lowest cross-validated log-loss ({shown})"
    else:
        model = fit_logistic(X, y, prior, l2=l2)
        reason = f"{errors} errors and the lowest cross-validated log-loss ({shown})"
    if errors < min_errors_refit:
        reason += f"; full refit needs {min_errors_refit} reviewed errors, {errors} here"
    return ModeChoice(best, model, reason, losses, cv[best])


# --------------------------------------------------------------------------- storage


def _key(target: str, backend_set: str | None) -> str:
    """The calibration table's target key of one backend set's model (``country@rules``)."""
    return target if backend_set is None else f"{target}@{backend_set}"


def load_model(store: Store, target: str, backend_set: str = DEFAULT_SET) -> LogisticModel:
    """The newest stored model for ``target`` and ``backend_set``, else the set's default prior.

    A fit stored for the target alone (before models were kept per backend set) is used for
    every set: it was fitted on this database's own reviews, which says more than a prior.
    """
    stored = store.latest_calibration(_key(target, backend_set))
    if stored is not None:
        return LogisticModel.from_json(stored["params"])
    legacy = store.latest_calibration(target)
    if legacy is not None and legacy["params"].get("source") == "fit":
        return LogisticModel.from_json(legacy["params"])
    return default_model(target, backend_set)


def load_models(store: Store, target: str) -> ModelSet:
    """The model of every backend set for ``target`` (see :func:`load_model`)."""
    return ModelSet(target, {k: load_model(store, target, k) for k in BACKEND_SETS})


def save_model(store: Store, model: LogisticModel) -> int:
    """Store a fit as the one in use for its target (and backend set); returns the stored row's id."""
    return store.add_calibration(_key(model.target, model.backend_set), fitted_at=model.fitted_at or utcnow(), n=model.n,
                                 params=model.to_json(), metrics=model.metrics)


def reset_models(store: Store, targets: Iterable[str] = TARGETS) -> None:
    """Go back to the defaults by storing them as the newest rows (history is kept)."""
    for t in targets:
        for k in BACKEND_SETS:
            save_model(store, default_model(t, k))


# --------------------------------------------------------------------------- labels


def machine_versions(store: Store) -> dict[str, str]:
    """Machine content (JSON) of every record a person changed since the machine last wrote it.

    That is what the reviewer was shown (see :meth:`~extractor.store.Store.reviewed_machine_contents`).
    """
    return store.reviewed_machine_contents()


def labelled_records(store: Store, target: str) -> list[tuple[str, dict[str, float], int]]:
    """(paper id, features at reconcile time, label) for every verified record.

    The machine's answer is the audit log's ``before`` of the first human change after the
    last machine write (what the reviewer was shown); the label is 1 when the verified
    record has the same country set (or model-family set) as that answer.
    """
    before = machine_versions(store)
    out = []
    for row in store.verified_signal_rows():
        verified = PaperRecord.model_validate_json(row["data"])
        if row["paper_id"] in before:
            machine = PaperContent.model_validate_json(before[row["paper_id"]])
            m_countries, m_families = machine.countries(), machine.model_families()
        else:
            m_countries, m_families = json.loads(row["countries"] or "[]"), json.loads(row["families"] or "[]")
        if target == COUNTRY:
            label = int(verified.countries() == sorted(m_countries))
            feats = json.loads(row["features"] or "{}")
        else:
            label = int(verified.model_families() == sorted(m_families))
            feats = json.loads(row["model_features"] or "{}")
        out.append((row["paper_id"], feats, label))
    return out


@dataclass
class CalibrationResult:
    target: str
    model: LogisticModel
    prior: LogisticModel
    n: int
    positives: int
    stored: bool
    message: str
    backend_set: str = DEFAULT_SET
    mode: str = PRIOR  # prior | recalibrated | refit, or kept (too few labels: nothing fitted)
    reason: str = ""


def calibrate(store: Store, *, targets: Iterable[str] = TARGETS, l2: float = 2.0, min_labels: int = 20,
              min_errors_refit: int = MIN_ERRORS_REFIT, dry_run: bool = False) -> list[CalibrationResult]:
    """Refit each target, per backend set, from reviewed records and store the fit (unless ``dry_run``).

    Each backend set present among the reviewed records is fitted on its own records,
    pulled toward its own default prior, in the mode :func:`choose_mode` picks (prior,
    2-parameter recalibration, or full refit with penalty ``l2``); with no reviewed record
    at all, one result for the default set says so. With fewer than ``min_labels`` labels,
    or only one class, the current model is kept: a fit would say more than the data does.
    """
    results = []
    for target in targets:
        groups: dict[str, list[tuple[str, dict[str, float], int]]] = {}
        for item in labelled_records(store, target):
            groups.setdefault(backend_set_of(item[1]), []).append(item)
        for backend_set in sorted(groups) or [DEFAULT_SET]:
            results.append(_calibrate_one(store, target, backend_set, groups.get(backend_set, []), l2=l2,
                                          min_labels=min_labels, min_errors_refit=min_errors_refit, dry_run=dry_run))
    return results


def _calibrate_one(store: Store, target: str, backend_set: str, data: list[tuple[str, dict[str, float], int]], *,
                   l2: float, min_labels: int, min_errors_refit: int, dry_run: bool) -> CalibrationResult:
    prior = default_model(target, backend_set)
    n = len(data)
    pos = sum(lbl for _, _, lbl in data)
    label = target if backend_set == DEFAULT_SET else f"{target} ({backend_set})"
    if n < min_labels or pos in (0, n):
        why = (f"{n} reviewed record(s), need {min_labels}" if n < min_labels
               else "every reviewed record has the same label; nothing to separate")
        current = load_model(store, target, backend_set)
        return CalibrationResult(label, current, prior, n, pos, False, f"kept the {current.source} model: {why}", backend_set,
                                 mode="kept", reason=why)
    X = np.array([[float(f.get(name, 0.0)) for name in prior.names] for _, f, _ in data])
    y = np.array([lbl for _, _, lbl in data], float)
    choice = choose_mode(X, y, prior, l2=l2, min_errors_refit=min_errors_refit)
    model = choice.model if choice.mode != PRIOR else default_model(target, backend_set)
    model.metrics = {"in_sample": metrics(model.predict_many(X), y), "cross_validated": metrics(choice.cv_predictions, y),
                     "prior": metrics(prior.predict_many(X), y)}
    if not dry_run:
        save_model(store, model)
    what = {PRIOR: "kept the default model", RECALIBRATED: "recalibrated the default model (intercept + slope)",
            REFIT: "refitted every coefficient"}[choice.mode]
    return CalibrationResult(label, model, prior, n, pos, not dry_run,
                             f"{what} on {n} reviewed records ({n - pos} wrong): {choice.reason}", backend_set,
                             mode=choice.mode, reason=choice.reason)


def logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))
