"""How well the moment model predicts journeys it has not seen: cross-validated fit.

The in-sample R² (or McFadden's pseudo-R²) of a model with three dummies per
touchpoint grows with every touchpoint even when nothing matters: with no effect
at all and 1,000 journeys it was 0.033, and its bootstrap interval
[0.041, 0.092] lay above the estimate and never covered the truth (0).

Here the model is fitted on *k* − 1 folds and scores the held-out fold; the
folds keep a customer's journeys together. The figure is

* continuous outcome: ``1 − Σ w (y − ŷ)² / Σ w (y − ȳ)²`` over the held-out
  predictions (ȳ from the training folds), which is about 0 or below for a
  model that explains nothing;
* binary outcome: McFadden's ``1 − LL(model) / LL(training share)`` on the
  held-out journeys.

Its interval resamples the held-out journeys (whole customers when customers
repeat), so it says how precisely the held-out score is known.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from peakend.models.moments.design import MomentDesign
from peakend.models.moments.fit import fit_predict
from peakend.stats.resampling import (
    Interval,
    cluster_bootstrap_weights,
    grouped_kfold_splits,
    percentile_interval,
)

F64 = NDArray[np.float64]

#: Folds of the cross-validation.
FOLDS = 5
_EPS = 1e-12


def cross_validated_fit(
    design: MomentDesign, *, n_resamples: int, seed: int, level: float, folds: int = FOLDS
) -> Interval:
    """Out-of-sample R² (continuous) or McFadden pseudo-R² (binary) with its interval."""
    k = min(folds, design.n if design.clusters is None else int(design.clusters.max()) + 1)
    model_loss = np.zeros(design.n)
    null_loss = np.zeros(design.n)
    for train, test in grouped_kfold_splits(design.clusters, design.n, k, seed):
        part_train, part_test = design.subset(train), design.subset(test)
        predicted = fit_predict(part_train, part_test)
        base = float(np.average(part_train.y, weights=part_train.weights))
        model_loss[test] = _loss(part_test.y, predicted, design.binary)
        null_loss[test] = _loss(part_test.y, np.full(test.size, base), design.binary)
    w = design.weights
    point = _score(np.array([w @ model_loss]), np.array([w @ null_loss]))[0]
    weighted = np.column_stack([w * model_loss, w * null_loss])
    parts = [
        _score(*(block @ weighted).T)
        for block in cluster_bootstrap_weights(design.clusters, design.n, n_resamples, seed + 1, 20)
    ]
    return percentile_interval(float(point), np.concatenate(parts), design.n, level)


def _loss(y: F64, predicted: F64, binary: bool) -> F64:
    """Squared error, or the negative log-likelihood of a probability."""
    if not binary:
        return np.asarray((y - predicted) ** 2, dtype=np.float64)
    p = np.clip(predicted, _EPS, 1 - _EPS)
    return np.asarray(-(y * np.log(p) + (1 - y) * np.log(1 - p)), dtype=np.float64)


def _score(model: F64, null: F64) -> F64:
    """``1 − model / null`` per replicate (NaN where the null loss is 0)."""
    out = np.full(null.shape, np.nan)
    np.divide(null - model, null, out=out, where=null > 0)
    return out
