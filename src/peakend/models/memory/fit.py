"""The numerical core of the memory models: regressions, out-of-sample scores, intervals.

Kept apart from :mod:`peakend.models.memory` so the statistics can be read (and
checked against statsmodels) without the data plumbing around them.

* Continuous outcomes: ordinary least squares; intervals of the weights from the
  heteroscedasticity-robust (HC1) sandwich covariance, or the cluster-robust
  sandwich (CR1, clusters = customers) when customers have several journeys.
* Binary outcomes: logistic regression by iteratively reweighted least squares
  with a weak ridge penalty (finite weights under separation); intervals from the
  robust sandwich covariance.
* Out of sample: predictions from a seeded k-fold split, scored per journey, so
  that two models can be compared *paired* on the same journeys. RMSE gets a
  delta-method interval; AUC gets DeLong's interval (DeLong, DeLong &
  Clarke-Pearson 1988), computed with the fast midrank algorithm of Sun & Xu (2014).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from peakend.errors import ModelError, StatisticalWarning
from peakend.stats.distributions import midranks
from peakend.stats.fieller import fieller_interval
from peakend.stats.resampling import Interval, grouped_kfold_splits

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Z_95 = 1.959963984540054
_MAX_ITER = 50
RIDGE_LOGISTIC = 0.1
"""L2 penalty on the logistic weights (a N(0, 1/0.1) prior); see :func:`_fit_logistic`."""


@dataclass(frozen=True)
class LinearFit:
    """Coefficients (intercept first) and their robust covariance."""

    coef: F64
    cov: F64
    n: int
    binary: bool

    def linear_predictor(self, x: F64) -> F64:
        """``intercept + x @ weights`` for rows of features ``x`` (no intercept column)."""
        return np.asarray(self.coef[0] + x @ self.coef[1:], dtype=np.float64)

    def interval(self, index: int) -> Interval:
        """Wald 95 % interval of coefficient ``index`` (0 is the intercept)."""
        return wald(float(self.coef[index]), float(self.cov[index, index]), self.n)


def wald(value: float, variance: float, n: int) -> Interval:
    """``value ± 1.96 sqrt(variance)``; NaN bounds when the variance is not finite."""
    if not math.isfinite(variance) or variance < 0:
        return Interval(value, math.nan, math.nan, n)
    half = Z_95 * math.sqrt(variance)
    return Interval(value, value - half, value + half, n)


def fit(
    x: F64,
    y: F64,
    *,
    binary: bool,
    start: F64 | None = None,
    covariance: bool = True,
    clusters: I64 | None = None,
) -> LinearFit:
    """Fit OLS (continuous ``y``) or logistic regression (0/1 ``y``) with an intercept.

    ``start`` gives logistic regression its starting coefficients (a warm start);
    without ``covariance`` the (costly) sandwich is skipped and ``cov`` is NaN,
    which is all that out-of-sample prediction needs. ``clusters`` (customer
    codes) makes the sandwich cluster-robust.
    """
    return fit_design(
        design_of(x), y, binary=binary, start=start, covariance=covariance, clusters=clusters
    )


def design_of(x: F64) -> F64:
    """The design matrix of feature rows ``x``: a column of ones, then ``x``."""
    return np.column_stack([np.ones(len(x)), x])


def fit_design(
    design: F64,
    y: F64,
    *,
    binary: bool,
    start: F64 | None = None,
    covariance: bool = True,
    clusters: I64 | None = None,
) -> LinearFit:
    """:func:`fit` of a design matrix already built (:func:`design_of`)."""
    if binary:
        return _fit_logistic(design, y, start, covariance, clusters)
    return _fit_ols(design, y, covariance, clusters)


def _solve(gram: F64, rhs: F64) -> F64:
    try:
        return np.asarray(np.linalg.solve(gram, rhs), dtype=np.float64)
    except np.linalg.LinAlgError as exc:
        raise ModelError(
            "the memory features are perfectly collinear (for example every journey has "
            "one scored moment, so peak, end and mean coincide); use journeys with at "
            "least two scored moments or a smaller model"
        ) from exc


def _weighted_gram(design: F64, w: F64) -> F64:
    """``X' diag(w) X`` for w >= 0, as ``A' A`` with ``A = sqrt(w) X`` (4x faster in BLAS)."""
    a = design * np.sqrt(w)[:, None]
    return np.asarray(a.T @ a, dtype=np.float64)


def _sandwich(
    design: F64, bread: F64, scores: F64, wanted: bool, clusters: I64 | None = None
) -> F64:
    """HC1 sandwich, or CR1 (scores summed per cluster) when ``clusters`` is given."""
    if not wanted:
        return np.full((design.shape[1], design.shape[1]), np.nan)
    inv = np.linalg.inv(bread)
    n, p = design.shape
    if clusters is None:
        meat = _weighted_gram(design, scores**2)
        return np.asarray(inv @ meat @ inv * (n / max(n - p, 1)), dtype=np.float64)
    groups = int(clusters.max()) + 1
    summed = np.zeros((groups, p))
    np.add.at(summed, clusters, design * scores[:, None])
    factor = groups / max(groups - 1, 1) * (n - 1) / max(n - p, 1)
    return np.asarray(inv @ (summed.T @ summed) @ inv * factor, dtype=np.float64)


def _fit_ols(design: F64, y: F64, covariance: bool, clusters: I64 | None = None) -> LinearFit:
    gram = design.T @ design
    coef = _solve(gram, design.T @ y)
    resid = y - design @ coef
    cov = _sandwich(design, gram, resid, covariance, clusters)
    return LinearFit(coef, cov, len(y), binary=False)


def _fit_logistic(
    design: F64, y: F64, start: F64 | None, covariance: bool, clusters: I64 | None = None
) -> LinearFit:
    # A weak ridge (RIDGE_LOGISTIC, the intercept free) keeps the weights finite when
    # a feature (quasi-)separates the outcome, e.g. "no one with a negative peak is
    # satisfied"; with thousands of journeys it moves ordinary weights by < 0.1 %.
    penalty = np.full(design.shape[1], RIDGE_LOGISTIC)
    penalty[0] = 0.0
    coef = np.zeros(design.shape[1]) if start is None else start.copy()
    for _ in range(_MAX_ITER):
        p = _sigmoid(design @ coef)
        w = np.maximum(p * (1.0 - p), 1e-10)
        hessian = _weighted_gram(design, w) + np.diag(penalty)
        step = _solve(hessian, design.T @ (y - p) - penalty * coef)
        coef = coef + step
        if float(np.max(np.abs(step))) < 1e-7:
            break
    else:
        warnings.warn(
            "the logistic memory model did not converge in 50 iterations (the outcome "
            "may be almost perfectly separated by the features); its weights are unstable",
            StatisticalWarning,
            stacklevel=3,
        )
    if not covariance:
        return LinearFit(coef, _sandwich(design, hessian, y, False), len(y), binary=True)
    p = _sigmoid(design @ coef)
    bread = _weighted_gram(design, p * (1.0 - p)) + np.diag(penalty)
    return LinearFit(coef, _sandwich(design, bread, y - p, True, clusters), len(y), binary=True)


def _sigmoid(z: F64) -> F64:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * z)), dtype=np.float64)


def predict(model: LinearFit, x: F64) -> F64:
    """Predicted outcome: the linear predictor, or the probability for a binary outcome."""
    return predicted_from(model, model.linear_predictor(x))


def predicted_from(model: LinearFit, eta: F64) -> F64:
    """:func:`predict` of rows whose linear predictor is ``eta``."""
    return _sigmoid(eta) if model.binary else eta


def out_of_sample(
    x: F64,
    y: F64,
    *,
    binary: bool,
    folds: int,
    seed: int,
    clusters: I64 | None = None,
    splits: Sequence[tuple[I64, I64]] | None = None,
) -> F64:
    """Predictions for every row from a model fitted on the other folds.

    Logistic fits start from the fit on all rows, which is close to every fold's
    solution, so each fold needs only a few Newton steps. With ``clusters`` the
    folds keep each customer's journeys together. ``splits`` are the folds'
    ``(train, test)`` rows when already drawn (:func:`grouped_kfold_splits` of the
    same ``clusters``, ``folds`` and ``seed``): every candidate model shares them.
    The design is built once and each fold's training rows taken from it into one
    buffer, reused from fold to fold (a fresh matrix per fold costs zeroed pages).
    """
    design = design_of(x)
    start = fit_design(design, y, binary=True, covariance=False).coef if binary else None
    if splits is None:
        splits = list(grouped_kfold_splits(clusters, len(y), folds, seed))
    result = np.empty(len(y))
    rows = np.empty((max((len(train) for train, _ in splits), default=0), design.shape[1]))
    for train, test in splits:
        # the rows exist: "clip" only spares the copy that "raise" buffers ``out`` through
        taken = np.take(design, train, axis=0, out=rows[: len(train)], mode="clip")
        model = fit_design(taken, y[train], binary=binary, start=start, covariance=False)
        result[test] = predict(model, x[test])
    return result


# ------------------------------------------------------------------ scores
@dataclass(frozen=True)
class Score:
    """Per-journey pieces of an out-of-sample score, so models can be compared paired.

    ``kind`` is ``"rmse"`` (lower is better) or ``"auc"`` (higher is better).
    For RMSE ``parts`` holds the squared errors; for AUC the DeLong structural
    components of the positives followed by those of the negatives.
    """

    kind: str
    value: float
    parts: F64
    n_positive: int = 0
    clusters: I64 | None = None  # customer of each part, in the order of ``parts``

    @property
    def higher_is_better(self) -> bool:
        """True for AUC, false for RMSE."""
        return self.kind == "auc"


def score(y: F64, prediction: F64, *, binary: bool, clusters: I64 | None = None) -> Score:
    """Out-of-sample RMSE (continuous) or AUC (binary) of ``prediction``.

    With ``clusters`` (customer codes) the intervals built from the score are
    cluster-robust: a customer's journeys count as one unit (clustered DeLong).
    """
    if not binary:
        sq = (y - prediction) ** 2
        return Score("rmse", math.sqrt(float(sq.mean())), sq, clusters=clusters)
    positive = y > 0.5
    m, n = int(positive.sum()), int((~positive).sum())
    if m == 0 or n == 0:
        raise ModelError(
            "the binary outcome has only one class among the analysed journeys; "
            "AUC needs both satisfied and not satisfied journeys"
        )
    pos, neg = prediction[positive], prediction[~positive]
    # Sun & Xu (2014): midranks give the DeLong components without an m x n matrix.
    rank_all = midranks(np.concatenate([pos, neg]))
    rank_pos, rank_neg = midranks(pos), midranks(neg)
    v10 = (rank_all[:m] - rank_pos) / n
    v01 = 1.0 - (rank_all[m:] - rank_neg) / m
    auc = float(v10.mean())
    order = None if clusters is None else np.concatenate([clusters[positive], clusters[~positive]])
    return Score("auc", auc, np.concatenate([v10, v01]), n_positive=m, clusters=order)


def interval(s: Score) -> Interval:
    """95 % interval of a score (delta method for RMSE, DeLong for AUC)."""
    n = len(s.parts)
    return wald(s.value, _variance(s, s), n)


def difference(a: Score, b: Score) -> Interval:
    """Paired 95 % interval of ``a - b`` on the same journeys."""
    var = _variance(a, a) + _variance(b, b) - 2.0 * _variance(a, b)
    return wald(a.value - b.value, var, len(a.parts))


def _variance(a: Score, b: Score) -> float:
    """Covariance of the two score estimates (the variance when ``a is b``)."""
    n = len(a.parts)
    if n < 2:
        return math.nan
    if a.clusters is not None:
        return _clustered_covariance(a, b)
    if a.kind == "rmse":
        # RMSE = sqrt(MSE): gradient 1 / (2 RMSE) on the mean squared error
        cov = float(np.cov(a.parts, b.parts)[0, 1]) / n
        grad_a, grad_b = 1.0 / (2.0 * a.value or 1.0), 1.0 / (2.0 * b.value or 1.0)
        return grad_a * grad_b * cov
    m = a.n_positive
    k = n - m
    if m < 2 or k < 2:
        return math.nan
    s10 = float(np.cov(a.parts[:m], b.parts[:m])[0, 1])
    s01 = float(np.cov(a.parts[m:], b.parts[m:])[0, 1])
    return s10 / m + s01 / k


def _influence(s: Score) -> F64:
    """Each part's contribution to the score's deviation from its value (first order)."""
    if s.kind == "rmse":
        n = len(s.parts)
        mse = s.value**2
        return np.asarray((s.parts - mse) / n / (2.0 * s.value or 1.0), dtype=np.float64)
    m, k = s.n_positive, len(s.parts) - s.n_positive
    out = np.empty(len(s.parts))
    out[:m] = (s.parts[:m] - s.value) / m
    out[m:] = (s.parts[m:] - s.value) / k
    return out


def _clustered_covariance(a: Score, b: Score) -> float:
    """Covariance of two scores with influences summed per customer (clustered DeLong)."""
    assert a.clusters is not None
    groups = int(a.clusters.max()) + 1
    if groups < 2:
        return math.nan
    sum_a = np.bincount(a.clusters, weights=_influence(a), minlength=groups)
    sum_b = np.bincount(a.clusters, weights=_influence(b), minlength=groups)
    return float(sum_a @ sum_b) * groups / (groups - 1)


def ratio(fit_: LinearFit, top: int, bottom: int) -> Interval:
    """Fieller 95 % interval of ``coef[top] / coef[bottom]`` (NaN bounds when unbounded).

    The delta method covered a true ratio of 3 only 86 % of the time: a ratio is
    skewed when its denominator is uncertain. Fieller's interval is exact for
    normal estimates and says so when the denominator may be zero.
    """
    a, b = float(fit_.coef[top]), float(fit_.coef[bottom])
    cov = fit_.cov
    return fieller_interval(
        a, b, float(cov[top, top]), float(cov[bottom, bottom]), float(cov[top, bottom]), fit_.n
    )
