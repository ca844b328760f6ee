"""The candidate memory models, their features, and the out-of-sample comparison.

A memory model predicts a journey's outcome (overall rating, NPS, satisfied …)
from the shape of the journey as the peak-end rule sees it. Every feature is on
the valence scale ([-1, 1], neutral 0; a 1-5 score ``s`` has valence ``(s - 3) / 2``)
except the counts, so the weights read as "outcome units per unit of valence".

=================  ==========================================================
model              features
=================  ==========================================================
``mean``           the experienced average (the baseline: no memory effect)
``end``            the last scored moment
``peak_end``       the most intense moment and the end (Kahneman's rule)
``peak_end_trough``  peak, end and the worst moment
``peak_end_mean``  peak, end, worst and the average
``full``           average, end, worst, first, trend, number of moments,
                   duration, and the peak split into a positive and a negative
                   part: the ratio of the two is the negativity weight
=================  ==========================================================

The comparison scores every model out of sample (seeded k-fold, the same split
for all models) and picks the *simplest* model whose score is not significantly
worse than the best one (its paired 95 % interval of the difference includes 0)
or worse by less than a tolerance too small to matter (0.001 AUC, 0.5 % of the
RMSE): a one-standard-error style rule that stops a richer model winning on noise,
or, with a million journeys, on a difference nobody would act on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from peakend.errors import ConfigError, ModelError
from peakend.models.memory import fit as mf
from peakend.stats.resampling import Interval, grouped_kfold_splits

F64 = mf.F64

MODELS: dict[str, tuple[str, ...]] = {
    "mean": ("mean",),
    "end": ("end",),
    "peak_end": ("peak", "end"),
    "peak_end_trough": ("peak", "end", "trough"),
    "peak_end_mean": ("peak", "end", "trough", "mean"),
    "full": (
        "mean",
        "peak_positive",
        "peak_negative",
        "end",
        "trough",
        "first",
        "trend",
        "log_moments",
        "log_duration",
    ),
}
"""Candidate models, simplest first (the order breaks ties in the choice)."""

BASELINE = "mean"
AUC_TOLERANCE = 0.001
"""AUC a simpler model may lose against the best and still be chosen."""
RMSE_TOLERANCE = 0.005
"""Share of the best RMSE a simpler model may lose and still be chosen."""
_RANK_SAMPLE = 50_000

_FLAT = {
    "mean": "valence",
    "peak": "valence",
    "end": "valence",
    "trough": "valence",
    "first": "valence",
    "peak_positive": "positive",
    "peak_negative": "negative",
    "trend": "zero",
    "log_moments": "average",
    "log_duration": "average",
}
"""What each feature is for a *flat* journey (every moment at the same valence)."""

FEATURE_DESCRIPTIONS = {
    "mean": "average valence of the scored moments (the experienced score)",
    "peak": "valence of the most intense moment (a tie goes to the negative one)",
    "end": "valence of the last scored moment",
    "trough": "valence of the worst moment",
    "first": "valence of the first scored moment",
    "peak_positive": "the peak when it is positive, else 0",
    "peak_negative": "the peak when it is negative, else 0",
    "trend": "least-squares slope of valence per position in the journey",
    "log_moments": "natural log of the number of scored moments",
    "log_duration": "natural log of 1 + the journey's duration in days",
}


def feature_matrix(
    table: pa.Table, features: tuple[str, ...], columns: dict[str, F64] | None = None
) -> F64:
    """The ``(journeys, features)`` matrix of model features from journey rows.

    ``table`` holds the engine's journey features (``mean_valence``,
    ``peak_valence``, …). A missing trend (fewer than two scored moments) counts
    as flat (0); a missing duration (no timestamps) as 0 days. ``columns`` keeps
    each feature's column (:func:`feature_column`) for the next matrix of the same
    rows: the candidate models share most of their features.
    """
    known = {} if columns is None else columns
    cols = [known[f] if f in known else known.setdefault(f, _feature(table, f)) for f in features]
    if not cols:
        return np.empty((table.num_rows, 0))
    return np.column_stack(cols)


def feature_column(table: pa.Table, name: str) -> F64:
    """One model feature of every journey row of ``table`` (read-only: it may be the
    table's own memory)."""
    return _feature(table, name)


def _column(table: pa.Table, name: str) -> F64:
    return np.asarray(table[name].to_numpy(zero_copy_only=False), dtype=np.float64)


def _feature(table: pa.Table, name: str) -> F64:
    simple = {
        "mean": "mean_valence",
        "peak": "peak_valence",
        "end": "end_valence",
        "trough": "trough_valence",
        "first": "first_valence",
    }
    if name in simple:
        return _column(table, simple[name])
    if name == "peak_positive":
        return np.maximum(_column(table, "peak_valence"), 0.0)
    if name == "peak_negative":
        return np.minimum(_column(table, "peak_valence"), 0.0)
    if name == "trend":
        return np.nan_to_num(_column(table, "trend"), nan=0.0)
    if name == "log_moments":
        return np.log(np.maximum(_column(table, "n_scored"), 1.0))
    if name == "log_duration":
        days = np.nan_to_num(_column(table, "duration_s"), nan=0.0) / 86_400.0
        return np.log1p(np.maximum(days, 0.0))
    raise ConfigError(f"unknown memory feature {name!r}; known: {', '.join(_FLAT)}")


# ------------------------------------------------------------------ a fitted model
@dataclass(frozen=True)
class Weight:
    """One fitted weight with its 95 % interval (robust sandwich, Wald)."""

    feature: str
    estimate: Interval

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"feature": self.feature, **self.estimate.to_dict()}


@dataclass(frozen=True)
class MemoryModel:
    """A memory model fitted on all analysed journeys; turns journeys into memories.

    Attributes
    ----------
    name, features:
        Which candidate (see :data:`MODELS`) and its features, in coefficient order.
    binary:
        Logistic (binary outcome, weights in log-odds) or linear (outcome units).
    fit:
        Coefficients (intercept first) and their robust covariance.
    centre:
        Mean of each feature over the analysed journeys.
    """

    name: str
    features: tuple[str, ...]
    binary: bool
    fit: mf.LinearFit
    centre: tuple[float, ...]

    @property
    def weights(self) -> tuple[Weight, ...]:
        """The fitted weights with intervals, intercept first."""
        names = ("intercept", *self.features)
        return tuple(Weight(f, self.fit.interval(i)) for i, f in enumerate(names))

    def weight(self, feature: str) -> float:
        """The point weight of ``feature`` (0 when the model does not use it)."""
        if feature not in self.features:
            return 0.0
        return float(self.fit.coef[1 + self.features.index(feature)])

    def predict(self, x: F64) -> F64:
        """Predicted outcome (a probability for a binary outcome) for feature rows ``x``."""
        return mf.predict(self.fit, x)

    def remembered(self, x: F64) -> F64:
        """The remembered valence of each journey (rows of features ``x``).

        It is the valence of the *flat* journey — every moment equally good, no
        trend, average length and duration — that the model predicts to end in
        the same outcome. For the mean-only model it equals the experienced
        average; under peak-end, a bad end pulls it down. NaN when the valence
        weights do not add up to a positive number (the model then has no
        monotone reading as a memory).
        """
        return self.remembered_from(self.fit.linear_predictor(x))

    def remembered_from(self, eta: F64, out: F64 | None = None) -> F64:
        """:meth:`remembered` of journeys whose linear predictor is ``eta``.

        ``(eta - a) / b`` with the slope ``b`` of the flat journey's side of ``a``
        (``eta - a >= 0`` exactly when ``eta >= a``). Written into ``out`` when given
        (it may be ``eta`` itself): the delta method asks this again and again of
        arrays of every journey, and fresh ones cost the kernel zeroed pages. Only the
        full model's slopes differ by side; the others' take one division.
        """
        a, b_pos, b_neg = self._flat_line()
        gap = np.subtract(eta, a, out=out)
        if _safe(b_pos) == _safe(b_neg):
            return np.asarray(np.divide(gap, _safe(b_pos), out=gap), dtype=np.float64)
        negative = np.divide(gap, _safe(b_neg))
        below = gap < 0
        np.divide(gap, _safe(b_pos), out=gap)
        np.copyto(gap, negative, where=below)
        return np.asarray(gap, dtype=np.float64)

    def predicted_from(self, eta: F64) -> F64:
        """:meth:`predict` of journeys whose linear predictor is ``eta``."""
        return mf.predicted_from(self.fit, eta)

    def contributions(self, x: F64, experienced: F64) -> dict[str, F64]:
        """How far each feature pulls the remembered valence from the experienced one.

        ``contribution_f = w_f (f - f_flat) / b``: the feature's distance from
        what it would be in a flat journey at the experienced average, weighted
        and put on the valence scale. They add up to the memory gap (exactly,
        except for the full model's split peak when the gap crosses neutral).
        """
        eta = self.fit.linear_predictor(x)
        a, b_pos, b_neg = self._flat_line()
        b = np.where(eta >= a, _safe(b_pos), _safe(b_neg))
        result: dict[str, F64] = {}
        for j, f in enumerate(self.features):
            flat = _flat_value(_FLAT[f], experienced, self.centre[j])
            result[f] = self.weight(f) * (x[:, j] - flat) / b
        return result

    def _flat_line(self) -> tuple[float, float, float]:
        """Intercept and slopes (for positive and negative valence) of a flat journey."""
        a = float(self.fit.coef[0])
        b_pos = b_neg = 0.0
        for j, f in enumerate(self.features):
            w, kind = self.weight(f), _FLAT[f]
            if kind == "average":
                a += w * self.centre[j]
            b_pos += w if kind in ("valence", "positive") else 0.0
            b_neg += w if kind in ("valence", "negative") else 0.0
        return a, b_pos, b_neg

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form: name, kind and weights with intervals."""
        return {
            "name": self.name,
            "kind": "logistic" if self.binary else "linear",
            "n": self.fit.n,
            "weights": [w.to_dict() for w in self.weights],
        }


def _safe(b: float) -> float:
    return b if b > 0 else math.nan


def _flat_value(kind: str, experienced: F64, centre: float) -> F64 | float:
    if kind == "valence":
        return experienced
    if kind == "positive":
        return np.maximum(experienced, 0.0)
    if kind == "negative":
        return np.minimum(experienced, 0.0)
    return 0.0 if kind == "zero" else centre


def fit_model(
    name: str,
    table: pa.Table,
    y: F64,
    *,
    binary: bool,
    clusters: mf.I64 | None = None,
    matrix: tuple[tuple[str, ...], F64] | None = None,
) -> MemoryModel:
    """Fit candidate ``name`` on all journeys of ``table`` (cluster-robust with ``clusters``).

    ``matrix`` is the candidate's features and their matrix when already built
    (:func:`candidate_matrices`).
    """
    features, x = candidate_matrices(table, (name,))[name] if matrix is None else matrix
    centre = tuple(float(c) for c in x.mean(axis=0)) if len(x) else (0.0,) * len(features)
    fitted = mf.fit(x, y, binary=binary, clusters=clusters)
    return MemoryModel(name, features, binary, fitted, centre)


def candidate_matrices(
    table: pa.Table, models: tuple[str, ...] = tuple(MODELS)
) -> dict[str, tuple[tuple[str, ...], F64]]:
    """Each candidate's usable features (:func:`usable_features`) and their matrix.

    Built once for the comparison and the fits on all journeys, each feature's
    column read from the table once for every candidate that uses it.
    """
    columns: dict[str, F64] = {}
    result = {}
    for name in models:
        features = usable_features(table, MODELS[name])
        result[name] = (features, feature_matrix(table, features, columns))
    return result


def usable_features(table: pa.Table, features: tuple[str, ...]) -> tuple[str, ...]:
    """Keep the features that add information, in order.

    A feature is dropped when it does not vary (duration when the data have no
    timestamps) or is a linear combination of the intercept and the features
    kept before it (peak, end and mean coincide when every journey has one
    scored moment). The check runs on at most 50,000 journeys.
    """
    if table.num_rows < 2:
        return features
    sample = table.slice(0, _RANK_SAMPLE)
    kept: list[str] = []
    columns = [np.ones(sample.num_rows)]
    for f in features:
        x = _feature(sample, f)
        sd = float(np.nanstd(x))
        if sd <= 1e-12:
            continue
        trial = np.column_stack([*columns, (x - np.nanmean(x)) / sd])
        if np.linalg.matrix_rank(trial, tol=1e-8 * np.sqrt(len(x))) == trial.shape[1]:
            kept.append(f)
            columns.append(trial[:, -1])
    if not kept:
        raise ModelError(
            f"none of the features {', '.join(features)} varies across the journeys; "
            "a memory model needs journeys with different experiences"
        )
    return tuple(kept)


# ------------------------------------------------------------------ comparison
@dataclass(frozen=True)
class ModelScore:
    """Out-of-sample performance of one candidate model.

    ``score`` is RMSE (continuous outcome, lower is better) or AUC (binary,
    higher is better) with its 95 % interval; ``versus_baseline`` is the paired
    difference to the mean-only model on the same journeys (for RMSE negative is
    better, for AUC positive); ``versus_chosen`` likewise against the chosen model.
    """

    name: str
    features: tuple[str, ...]
    metric: str
    score: Interval
    versus_baseline: Interval
    versus_chosen: Interval
    r_squared: float | None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "features": list(self.features),
            "metric": self.metric,
            "score": self.score.to_dict(),
            "versus_baseline": self.versus_baseline.to_dict(),
            "versus_chosen": self.versus_chosen.to_dict(),
            "out_of_sample_r_squared": self.r_squared,
        }


@dataclass(frozen=True)
class ModelComparison:
    """Every candidate scored out of sample, the best by score, and the chosen one."""

    metric: str
    folds: int
    seed: int
    n: int
    scores: tuple[ModelScore, ...]
    best: str
    chosen: str
    tolerance: float

    def score_of(self, name: str) -> ModelScore:
        """The score of candidate ``name``."""
        for s in self.scores:
            if s.name == name:
                return s
        raise ConfigError(f"no memory model {name!r}; compared: {', '.join(MODELS)}")

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "metric": self.metric,
            "folds": self.folds,
            "seed": self.seed,
            "n": self.n,
            "best_by_score": self.best,
            "chosen": self.chosen,
            "rule": (
                "simplest model whose paired 95% interval against the best includes 0, "
                "or whose loss against the best is within the tolerance"
            ),
            "tolerance": self.tolerance,
            "models": [s.to_dict() for s in self.scores],
        }


def compare_models(
    table: pa.Table,
    y: F64,
    *,
    binary: bool,
    folds: int = 5,
    seed: int = 0,
    models: tuple[str, ...] = tuple(MODELS),
    tolerance: float | None = None,
    clusters: mf.I64 | None = None,
    matrices: dict[str, tuple[tuple[str, ...], F64]] | None = None,
) -> ModelComparison:
    """Score each candidate out of sample on the same seeded k-fold split and choose one.

    Parameters
    ----------
    table:
        Journey features (one row per analysed journey, no missing valence).
    y:
        The outcome per row (0/1 when ``binary``).
    binary:
        Score by AUC (logistic models) instead of RMSE (linear models).
    folds, seed:
        The k-fold split, shared by every model so the comparison is paired.
    models:
        Candidates to compare, simplest first; must include ``"mean"``.
    tolerance:
        A loss against the best model too small to matter: a simpler model within
        it is chosen even when the loss is significant (with a million journeys
        almost every difference is). Default :data:`AUC_TOLERANCE` for AUC and
        :data:`RMSE_TOLERANCE` times the best RMSE.
    clusters:
        Customer codes per row: folds keep a customer's journeys together.
    matrices:
        :func:`candidate_matrices` of ``table`` when already built.
    """
    if BASELINE not in models:
        raise ConfigError("the model comparison needs the mean-only baseline 'mean'")
    if binary and len(np.unique(y)) != 2:
        raise ModelError(
            "the binary outcome has only one class among the analysed journeys (or values "
            "other than 0/1); a memory model needs both, e.g. satisfied and not satisfied"
        )
    raw: dict[str, mf.Score] = {}
    used: dict[str, tuple[str, ...]] = {}
    matrices = candidate_matrices(table, models) if matrices is None else matrices
    splits = list(grouped_kfold_splits(clusters, len(y), folds, seed))  # shared by all
    for name in models:
        used[name], x = matrices[name]
        prediction = mf.out_of_sample(
            x, y, binary=binary, folds=folds, seed=seed, clusters=clusters, splits=splits
        )
        raw[name] = mf.score(y, prediction, binary=binary, clusters=clusters)
    best = _best(raw)
    if tolerance is None:
        tolerance = AUC_TOLERANCE if binary else RMSE_TOLERANCE * raw[best].value
    chosen = _simplest_not_worse(raw, best, models, tolerance)
    var_y = float(np.var(y)) if len(y) else 0.0
    scores = tuple(
        ModelScore(
            name=name,
            features=used[name],
            metric=raw[name].kind,
            score=mf.interval(raw[name]),
            versus_baseline=mf.difference(raw[name], raw[BASELINE]),
            versus_chosen=mf.difference(raw[name], raw[chosen]),
            r_squared=None if binary or var_y == 0 else 1.0 - raw[name].value ** 2 / var_y,
        )
        for name in models
    )
    metric = raw[BASELINE].kind
    return ModelComparison(metric, folds, seed, len(y), scores, best, chosen, tolerance)


def _best(raw: dict[str, mf.Score]) -> str:
    sign = {True: -1.0, False: 1.0}
    return min(raw, key=lambda k: sign[raw[k].higher_is_better] * raw[k].value)


def _simplest_not_worse(
    raw: dict[str, mf.Score], best: str, order: tuple[str, ...], tolerance: float
) -> str:
    for name in order:
        if name == best:
            return name
        diff = mf.difference(raw[name], raw[best])
        if not math.isfinite(diff.low):
            continue
        worse = diff.high < 0 if raw[name].higher_is_better else diff.low > 0
        if not worse or abs(diff.value) <= tolerance:
            return name
    return best
