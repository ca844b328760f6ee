"""The numerical core of the moments analysis: one regression on band dummies, bootstrapped.

Model (penalty-reward contrast analysis, Brandt 1987; Mikulić & Prebežac 2008):
the outcome is regressed on three dummies per touchpoint (low, high, not
scored), the middle band being the reference, in one model: ordinary least
squares for a continuous outcome, logistic regression (IRLS) for a binary one.

Everything is computed from weighted Gram matrices of ``[X, response]``, so a
bootstrap replicate only needs the Gram matrix under new row weights:

* **OLS**: replicate *b* is the weighted least-squares fit with weights
  ``w * c_b`` (``c_b`` the multinomial bootstrap counts).
* **Logistic**: replicate *b* is one Newton (IRLS) step from the full-sample
  fit under weights ``w * c_b`` (the one-step bootstrap; Moulton & Zeger 1991),
  which is again a weighted least-squares fit, of the working response.

**Relative importance** follows Johnson's (2000) relative weights: the
predictors are replaced by their closest orthogonal counterparts, whose squared
loadings split the explained variance exactly; the weights of a touchpoint's
dummies are summed. For a binary outcome the weights are computed on the
working response of the converged IRLS fit (the logit scale; Tonidandel &
LeBreton 2010 use the same orthogonal basis). Importance is reported as each
touchpoint's share of the explained part (shares sum to 1); the model's R² (or
McFadden's pseudo-R² for a binary outcome) says how much is explained.

Penalty and reward are in outcome units for OLS; for a binary outcome they are
average marginal effects in probability (the change in the predicted
probability when a journey's band at that touchpoint moves from middle to low
or high, averaged over up to ``ame_rows`` journeys).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit
from threadpoolctl import threadpool_limits

from peakend.errors import ModelError, StatisticalWarning
from peakend.models.moments.design import HIGH, LOW, MIDDLE, NOT_SCORED, MomentDesign
from peakend.models.moments.importance import collinear_pairs, relative_weights
from peakend.stats.links import LOGIT, BinaryLink
from peakend.stats.resampling import cluster_bootstrap_weights

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]
I64 = NDArray[np.int64]

_BANDS = (LOW, HIGH, NOT_SCORED)
_MAX_ITER = 50
_TOL = 1e-8
_RIDGE = 0.1
_BLOCK_ROWS = 8192
_QUIET: ContextVar[bool] = ContextVar("peakend_moments_quiet", default=False)


@contextmanager
def quiet() -> Iterator[None]:
    """Keep the moment model's statistical warnings to itself in this thread.

    For fits whose warnings are reported once elsewhere (the segment groups).
    Unlike ``warnings.catch_warnings`` it changes no global state, so another
    analysis running on another thread keeps its warnings.
    """
    token = _QUIET.set(True)
    try:
        yield
    finally:
        _QUIET.reset(token)


def statistical_warning(message: str, stacklevel: int = 2) -> None:
    """Issue a :class:`StatisticalWarning` unless inside :func:`quiet`."""
    if not _QUIET.get():
        warnings.warn(message, StatisticalWarning, stacklevel=stacklevel + 1)


@dataclass(frozen=True)
class Effects:
    """One fit's figures per touchpoint (arrays of length T); the model fit (NaN in a replicate)."""

    penalty: F64
    reward: F64
    not_scored: F64
    importance: F64
    fit: float
    penalty_moved: F64
    reward_moved: F64


@dataclass(frozen=True)
class Draws:
    """The full-sample fit and the bootstrap replicates (rows = resamples).

    ``penalty_moved``/``reward_moved`` are the penalty averaged over the journeys
    that score low and the reward over those that score in the middle: the
    journeys a fix or an excel action would move. For a continuous outcome they
    equal the penalty and reward; for a binary one they differ, because a
    change in log-odds moves probabilities near 0.5 more than near 0 or 1.
    """

    point: Effects
    penalty: F64
    reward: F64
    not_scored: F64
    importance: F64
    penalty_moved: F64
    reward_moved: F64
    collinear: tuple[tuple[str, str, float], ...]
    converged: bool


@dataclass(frozen=True)
class _Matrix:
    """Dense dummies with an intercept, and which touchpoint/band each column is."""

    x: F32
    touchpoint: I64
    band: I64
    n_touchpoints: int

    def coef_table(self, coef: F64) -> F64:
        """``(T, 4)`` effect of each band (middle = 0); NaN for a band without a column."""
        table = np.full((self.n_touchpoints, 4), np.nan)
        table[:, 0] = 0.0
        bands = self.band >= 0
        table[self.touchpoint[bands], self.band[bands]] = coef[1:][bands]
        return table

    def control_part(self, coef: F64) -> F64:
        """The controls' coefficients, in ``control_names`` order."""
        return np.asarray(coef[1:][self.band < 0], dtype=np.float64)

    def carried_over(self, other: _Matrix, coef: F64) -> F64:
        """``other``'s coefficients ``coef`` on this matrix's columns (0 where it has none).

        A sample of ``other``'s journeys may lack a rare band, and then its column.
        """
        theirs = {
            (int(t), int(b)): i + 1
            for i, (t, b) in enumerate(zip(other.touchpoint, other.band, strict=True))
        }
        out = np.zeros(1 + self.touchpoint.size)
        out[0] = coef[0]
        for i, key in enumerate(zip(self.touchpoint.tolist(), self.band.tolist(), strict=True)):
            if key in theirs:
                out[i + 1] = coef[theirs[key]]
        return out


def fit_moments(
    design: MomentDesign,
    *,
    n_resamples: int,
    seed: int,
    ame_rows: int = 20_000,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
    full: FullFit | None = None,
) -> Draws:
    """Fit the model on ``design`` and bootstrap it ``n_resamples`` times.

    ``full`` is the model already fitted on ``design`` (:func:`full_fit`), which
    the simulated cross-validation also starts from; fitted here when omitted.
    Replicates run on ``workers`` threads (default: one per CPU), each with a
    single-threaded BLAS: on a busy machine a multi-threaded BLAS per product
    was up to 100x slower than one thread. The draws do not depend on
    ``workers``. ``progress`` is called with the number of replicates just
    finished.
    """
    threads = max(1, workers if workers is not None else (os.cpu_count() or 1))
    whole = full if full is not None else full_fit(design)
    matrix, rows, coef, factor = whole.matrix, whole.rows, whole.coef, whole.factor
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(threads) as pool:
        x, y = matrix.x[rows.first], design.y[rows.first]
        ridge = _RIDGE * float(np.mean(design.weights)) if design.binary else 0.0
        aug = np.column_stack([x, whole.resp.astype(np.float32)])
        ame = _ame_rows(design, ame_rows)

        def effects(
            per_row_w: F64, weight: F64, gram: F64, coef: F64, with_fit: bool = False
        ) -> Effects:
            ame_weight = ame.distinct.total(per_row_w[ame.rows])
            return _effects(
                matrix, design.binary, x, y, weight, (ame, ame_weight), coef, gram, with_fit
            )

        weight = rows.total(design.weights)
        gram = _gram(aug, factor * weight)
        point = effects(design.weights, weight, gram, coef, with_fit=True)
        collinear = collinear_pairs(
            gram,
            matrix.touchpoint,
            matrix.band,
            design.touchpoints,
            design.control_names,
            float(np.sum(factor * weight)) / design.n,
        )

        unweighted = bool(np.all(design.weights == 1.0))

        def replicate(counts: F64) -> Effects:
            # weights of 1 leave the counts as they are: no journey-sized product
            per_row = counts if unweighted else design.weights * counts
            summed = rows.total(per_row)
            g = _gram(aug, factor * summed)
            coef = _solve(g, ridge)
            if design.binary:  # importance at the replicate's own IRLS weights
                g = _irls_gram(x, coef, summed, g)
            return effects(per_row, summed, g, coef)

        draws: list[Effects] = []
        pending: list[Future[Effects]] = []
        # the next block of counts is drawn while the workers fit the current one
        blocks = cluster_bootstrap_weights(design.clusters, design.n, n_resamples, seed, threads)
        for block in blocks:
            submitted = [pool.submit(replicate, counts) for counts in block]
            _collect(pending, draws, progress)
            pending = submitted
        _collect(pending, draws, progress)
    return Draws(
        point=point,
        penalty=np.array([d.penalty for d in draws]),
        reward=np.array([d.reward for d in draws]),
        not_scored=np.array([d.not_scored for d in draws]),
        importance=np.array([d.importance for d in draws]),
        penalty_moved=np.array([d.penalty_moved for d in draws]),
        reward_moved=np.array([d.reward_moved for d in draws]),
        collinear=collinear,
        converged=whole.converged,
    )


def _irls_gram(x: F32, coef: F64, weight: F64, fallback: F64) -> F64:
    """Gram matrix of ``[X, Xβ]`` under the logistic IRLS weights at ``coef``.

    A binary outcome's relative weights split the IRLS-weighted variance of
    the linear predictor (the shares of ``[X, working response]`` at a
    converged fit are the same). A one-step replicate that kept the full
    fit's IRLS weights spread its shares twice as much as refitting does (a
    bigger effect lowers the weights of the journeys it moves to the extremes,
    which the fixed weights ignore), and importance intervals covered 99.9 %.

    ``fallback`` (the one-step Gram) where those weights vanish: a one-step
    replicate of a small group can diverge (an intercept of −8e9 in a segment
    group of 1,245 journeys of the airline survey), leaving no weight to split.
    """
    eta = (x @ coef.astype(np.float32)).astype(np.float64)
    prob = _sigmoid(eta)
    row_w = prob * (1 - prob) * weight
    if not float(row_w.sum()) > 1e-9 * float(weight.sum()):
        return fallback
    return _gram(np.column_stack([x, eta.astype(np.float32)]), row_w)


def _collect(
    pending: list[Future[Effects]], draws: list[Effects], progress: Callable[[int], None] | None
) -> None:
    draws.extend(future.result() for future in pending)
    if pending and progress is not None:
        progress(len(pending))


@dataclass(frozen=True)
class _Distinct:
    """Journeys that enter the model identically, collapsed to one row each.

    Journeys with the same bands, controls, outcome and weight have the same
    row in every fit; summing their weights instead of repeating them gives
    exactly the same Gram matrices, fits and likelihoods from fewer rows (the
    airline survey's 129,880 journeys have 43,785 distinct rows).
    """

    first: I64  # one journey per distinct row
    inverse: I64  # the distinct row of every journey

    def total(self, per_row: F64) -> F64:
        """``per_row`` summed over the journeys of each distinct row."""
        summed = np.bincount(self.inverse, weights=per_row, minlength=self.first.size)
        return np.asarray(summed, dtype=np.float64)


def _distinct(design: MomentDesign, extra: tuple[F64, ...] | None = None) -> _Distinct:
    """Group the journeys by bands, controls and ``extra`` (default: outcome and weight)."""
    keys: list[NDArray[np.generic]] = [*_packed_bands(design.bands)]
    keys += [design.controls[:, j] for j in range(len(design.control_names))]
    keys += list((design.y, design.weights) if extra is None else extra)
    order = np.lexsort(keys[::-1])
    change = np.zeros(order.size, dtype=bool)
    change[:1] = True
    for key in keys:
        ordered = key[order]
        change[1:] |= ordered[1:] != ordered[:-1]
    group = np.cumsum(change) - 1
    inverse = np.empty(order.size, dtype=np.int64)
    inverse[order] = group
    return _Distinct(first=order[change], inverse=inverse)


def _packed_bands(bands: NDArray[np.int8]) -> list[I64]:
    """The band codes of up to 31 touchpoints packed into each int64 (two bits a band)."""
    out = []
    for start in range(0, bands.shape[1], 31):
        part = bands[:, start : start + 31].astype(np.int64)
        out.append(part @ (np.int64(4) ** np.arange(part.shape[1], dtype=np.int64)))
    return out or [np.zeros(bands.shape[0], dtype=np.int64)]


@dataclass(frozen=True)
class FullFit:
    """The model fitted once on a whole design, from its distinct rows.

    The bootstrap takes its one-step replicates from it and the simulated
    cross-validation takes it as the truth of its world and as the starting
    point of its folds' fits, so one logistic fit serves both.
    """

    matrix: _Matrix
    rows: _Distinct
    coef: F64
    #: IRLS weight per unit of weight, and working response, per distinct row.
    factor: F64
    resp: F64
    converged: bool


def full_fit(design: MomentDesign, link: BinaryLink = LOGIT) -> FullFit:
    """Fit the moment model on the whole of ``design`` (:class:`FullFit`).

    A binary outcome's model has the logistic ``link`` unless told otherwise
    (the total effects by intervention choose theirs:
    :data:`peakend.models.moments.total.BINARY_LINK`).
    """
    with threadpool_limits(limits=1, user_api="blas"):
        matrix = _matrix(design)
        rows = _distinct(design)
        x, y = matrix.x[rows.first], design.y[rows.first]
        weight = rows.total(design.weights)
        ridge = _RIDGE * float(np.mean(design.weights))
        coef, factor, resp, converged = _fit_distinct(x, y, weight, design.binary, ridge, link=link)
    return FullFit(matrix, rows, coef, factor, resp, converged)


def _fit_distinct(
    x: F32,
    y: F64,
    weight: F64,
    binary: bool,
    ridge: float,
    start: F64 | None = None,
    link: BinaryLink = LOGIT,
) -> tuple[F64, F64, F64, bool]:
    """Coefficients, IRLS weight per unit of weight, and working response per distinct row.

    ``ridge`` is the logistic fit's (:data:`_RIDGE` times the journeys' mean weight).
    ``start`` (binary outcome only) is where the fit starts, e.g. the
    coefficients of a fit on a larger sample of the same columns; ``link`` the
    binary model's link.
    """
    if binary:
        return _logistic(x, y, weight, ridge, start, link)
    # centring keeps float32 sums of squares accurate; it changes only the intercept
    resp = y - float(np.average(y, weights=weight))
    aug = np.column_stack([x, resp.astype(np.float32)])
    return _solve(_gram(aug, weight)), np.ones_like(weight), resp, True


@dataclass(frozen=True)
class _AmeRows:
    """The distinct band patterns (and controls) of the journeys marginal effects average over."""

    rows: I64
    distinct: _Distinct
    bands: NDArray[np.int8]
    controls: F64
    #: ``t * 4 + band`` of every pattern and touchpoint: its cell in the flat coefficient table.
    cells: I64
    #: 1.0 where a pattern scores low (middle) at a touchpoint: the journeys a fix (an excel
    #: action) would move.
    low: F64
    middle: F64


def _ame_rows(design: MomentDesign, ame_rows: int) -> _AmeRows:
    rows = np.arange(design.n)
    if design.n > ame_rows:  # a fixed, seeded subsample: the same rows in every replicate
        rows = np.sort(np.random.default_rng(0).choice(design.n, ame_rows, replace=False))
    sub = design.subset(rows) if rows.size < design.n else design
    distinct = _distinct(sub, extra=())
    first = distinct.first
    controls = sub.controls[first] if sub.control_names else np.zeros((first.size, 0))
    bands = sub.bands[first]
    cells = np.arange(bands.shape[1], dtype=np.int64)[None, :] * 4 + bands.astype(np.int64)
    low, middle = ((bands == b).astype(np.float64) for b in (LOW, MIDDLE))
    return _AmeRows(rows, distinct, bands, controls, cells, low, middle)


def fit_predict(train: MomentDesign, test: MomentDesign, start: FullFit | None = None) -> F64:
    """Fit on ``train`` and predict ``test``: the mean (OLS) or the probability (logistic).

    For cross-validation of the moment model against other models; bands that
    never occur in ``train`` contribute nothing in ``test``. ``start``, a fit
    on a larger sample that ``train`` is part of (e.g. all folds), is where a
    logistic fit starts: it then needs a few Newton steps instead of ten or
    more, and ends at the same optimum.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        matrix = _matrix(train)
        rows = _distinct(train)
        x = matrix.x[rows.first]
        coef = _fit_rows(matrix, x, rows, train.binary, train.y, train.weights, start)
    controls = test.controls if test.control_names else None
    return _mean_of(_predict(matrix, coef, test.bands, controls), train.binary)


def fit_predict_rows(design: MomentDesign, train: I64, test: I64, full: FullFit) -> F64:
    """:func:`fit_predict` of ``design.subset(train)`` on ``design.subset(test)``, from ``full``.

    ``full`` is the fit on all of ``design``. The training journeys' distinct
    rows are ``full``'s restricted to them and their matrix is ``full``'s
    columns that occur in them, so neither is built again from the journeys:
    on the 10M-event log each of the five folds built an 860,000-row matrix
    and sorted its journeys for their distinct rows. The coefficients and
    predictions are exactly those of :func:`fit_predict`. A training sample
    with a column ``full`` lacks takes :func:`fit_predict` (where the whole has
    no middle band at a touchpoint, ``full`` drops that touchpoint's most
    common band, and the sample's most common one may be another).
    """
    part = _part_columns(full.matrix, design.bands[train], len(design.control_names))
    if part is None:
        return fit_predict(design.subset(train), design.subset(test), full)
    columns, touchpoint, band = part
    with threadpool_limits(limits=1, user_api="blas"):
        rows = _part_rows(full.rows, train)
        # row-major, as the matrix built from the journeys: BLAS sums a row's products
        # in another order when its columns are not contiguous
        x = np.ascontiguousarray(full.matrix.x[train[rows.first]][:, columns])
        matrix = _Matrix(x, touchpoint, band, full.matrix.n_touchpoints)
        coef = _fit_rows(
            matrix, x, rows, design.binary, design.y[train], design.weights[train], full
        )
    controls = design.controls[test] if design.control_names else None
    return _mean_of(_predict(matrix, coef, design.bands[test], controls), design.binary)


def _part_columns(
    whole: _Matrix, bands: NDArray[np.int8], n_controls: int
) -> tuple[I64, I64, I64] | None:
    """Where the columns of a sample's :func:`_matrix` (its journeys' ``bands``) are in
    ``whole``'s, and their touchpoints and bands; ``None`` when ``whole`` lacks one."""
    where = {
        (int(t), int(b)): i + 1
        for i, (t, b) in enumerate(zip(whole.touchpoint, whole.band, strict=True))
    }
    keys = [*_band_columns(bands), *((whole.n_touchpoints, -1 - j) for j in range(n_controls))]
    if any(key not in where for key in keys):
        return None
    columns = np.array([0] + [where[key] for key in keys], dtype=np.int64)
    touchpoint = np.array([t for t, _ in keys], dtype=np.int64)
    band = np.array([b for _, b in keys], dtype=np.int64)
    return columns, touchpoint, band


def _part_rows(whole: _Distinct, rows: I64) -> _Distinct:
    """:func:`_distinct` of the journeys ``rows`` (ascending) of a design, from the whole's.

    Two journeys of the sample share a distinct row exactly when they share
    one in the whole design; the rows keep the whole's order (both are sorted
    by the same keys) and each row's first journey is its first in the sample
    (the sort is stable), so the result equals sorting the sample again.
    """
    _, first, inverse = np.unique(whole.inverse[rows], return_index=True, return_inverse=True)
    return _Distinct(first=first.astype(np.int64), inverse=inverse.reshape(-1).astype(np.int64))


def _fit_rows(
    matrix: _Matrix,
    x: F32,
    rows: _Distinct,
    binary: bool,
    y: F64,
    weights: F64,
    start: FullFit | None,
) -> F64:
    """Coefficients of the fit on journeys with outcomes ``y`` and ``weights``, ``x`` per
    distinct row (``rows``); a continuous outcome's intercept on the outcome's scale."""
    weight = rows.total(weights)
    y_rows = y[rows.first]
    begin = None if start is None else matrix.carried_over(start.matrix, start.coef)
    ridge = _RIDGE * float(np.mean(weights))
    coef = _fit_distinct(x, y_rows, weight, binary, ridge, begin)[0]
    if not binary:
        coef[0] += float(np.average(y_rows, weights=weight))
    return coef


def _predict(matrix: _Matrix, coef: F64, bands: NDArray[np.int8], controls: F64 | None) -> F64:
    """The linear predictor under ``coef`` of journeys with these ``bands`` and ``controls``
    (``None`` without controls)."""
    table = np.nan_to_num(matrix.coef_table(coef))
    columns = np.arange(bands.shape[1])[None, :]
    eta = coef[0] + table[columns, bands.astype(np.int64)].sum(axis=1)
    if controls is not None:
        eta = eta + controls @ matrix.control_part(coef)
    return np.asarray(eta, dtype=np.float64)


def _mean_of(eta: F64, binary: bool) -> F64:
    """The mean (OLS) or probability (logistic) of a linear predictor."""
    return _sigmoid(eta) if binary else eta


def _matrix(design: MomentDesign) -> _Matrix:
    """Intercept plus one dummy per touchpoint and non-middle band that occurs.

    The ones are written row by row into a zeroed matrix: stacking the dummies
    as columns wrote each into every row's line of memory, 33 passes over the
    10M-event log's 141 MB matrix instead of one (0.21 CPU s against 0.35-0.47).
    """
    keys = _band_columns(design.bands)
    touchpoint = [t for t, _ in keys] + [len(design.touchpoints)] * len(design.control_names)
    band = [b for _, b in keys] + [-1 - j for j in range(len(design.control_names))]
    x = np.zeros((design.n, 1 + len(band)), dtype=np.float32)
    x[:, 0] = 1.0
    flat, line = x.reshape(-1), np.arange(design.n, dtype=np.int64) * x.shape[1]
    for t in range(len(design.touchpoints)):
        column = np.full(4, -1, dtype=np.int64)  # each band's column at t (-1: none)
        for j, key in enumerate(keys):
            if key[0] == t:
                column[key[1]] = 1 + j
        at = column[design.bands[:, t]]
        hit = at >= 0
        flat[line[hit] + at[hit]] = 1.0
    for j in range(len(design.control_names)):
        x[:, 1 + len(keys) + j] = design.controls[:, j]  # float32, as before
    return _Matrix(
        x=x,
        touchpoint=np.array(touchpoint, dtype=np.int64),
        band=np.array(band, dtype=np.int64),
        n_touchpoints=len(design.touchpoints),
    )


def _band_columns(bands: NDArray[np.int8]) -> list[tuple[int, int]]:
    """``(touchpoint, band)`` of each dummy column of journeys with these ``bands``.

    One per touchpoint and non-middle band that occurs. Without a middle band
    the dummies would sum to the intercept: the most common band becomes the
    reference and no effect is reported.
    """
    out = []
    for t in range(bands.shape[1]):
        present = [b for b in _BANDS if (bands[:, t] == b).any()]
        if not (bands[:, t] == MIDDLE).any() and present:
            present.remove(max(present, key=lambda b: int((bands[:, t] == b).sum())))
        out += [(t, b) for b in present]
    return out


def _gram(aug: F32, row_w: F64) -> F64:
    """``aug' diag(row_w) aug`` in float32 BLAS, summed in float64.

    Rows go in blocks that fit in the CPU cache: weighting the whole matrix at
    once streams it through memory twice more and was 2-3x slower at 1M rows.
    Each block is scaled by the square root of its (non-negative) weights and
    multiplied by its own transpose, which NumPy computes as a symmetric rank-k
    update (half the products of a general one; a quarter less time on the
    airline survey's bootstrap). The sums differ from weighting one side only
    by float32 rounding.
    """
    roots = np.sqrt(row_w).astype(np.float32)
    total = np.zeros((aug.shape[1], aug.shape[1]))
    buffer = np.empty((_BLOCK_ROWS, aug.shape[1]), dtype=np.float32)
    for start in range(0, aug.shape[0], _BLOCK_ROWS):
        rows = aug[start : start + _BLOCK_ROWS]
        weighted = buffer[: len(rows)]
        np.multiply(rows, roots[start : start + _BLOCK_ROWS, None], out=weighted)
        total += weighted.T @ weighted
    return total


def _solve(gram: F64, ridge: float = 0.0) -> F64:
    """Least-squares coefficients from the Gram matrix of ``[X, response]``.

    A scaled pseudo-inverse: exactly collinear columns share their effect
    instead of producing huge, cancelling coefficients. ``ridge`` is added to
    the diagonal of every column but the intercept.
    """
    xtx, xty = gram[:-1, :-1].copy(), gram[:-1, -1]
    xtx[np.arange(1, len(xtx)), np.arange(1, len(xtx))] += ridge
    scale = 1.0 / np.sqrt(np.maximum(np.diag(xtx), 1e-300))
    lam, vec = np.linalg.eigh(xtx * np.outer(scale, scale))
    inv = np.divide(1.0, lam, out=np.zeros_like(lam), where=lam > 1e-9 * lam.max())
    return np.asarray(scale * ((vec * inv) @ (vec.T @ (scale * xty))), dtype=np.float64)


def _logistic(
    x: F32, y: F64, w: F64, ridge: float, start: F64 | None = None, link: BinaryLink = LOGIT
) -> tuple[F64, F64, F64, bool]:
    """IRLS fit; returns the coefficients, final IRLS weights per unit of ``w``, working response.

    The logistic model, or another ``link`` (:mod:`peakend.stats.links`).

    A weak ridge penalty (a normal prior with sd about 3 on the log-odds of each
    dummy) keeps coefficients finite when a band predicts the outcome perfectly
    (separation); with more than a handful of journeys per band it is negligible.

    The fit starts from ``start`` when given, else from the intercept-only
    model. It stops when the penalised deviance, the objective the Newton steps
    minimise, no longer changes (R's glm criterion, on the penalised deviance).
    The unpenalised deviance is no stopping rule under a ridge: a separated
    band's coefficient sits where the likelihood's gain and the penalty's cost
    balance, and the float32 rounding of the Gram matrices moves it there by
    about 1e-4 from step to step, which moves the deviance by more than the
    tolerance while the penalised deviance stays put (a fold of the airline
    survey's leisure travellers ran to the iteration limit and warned).
    """
    if start is None:
        coef = np.zeros(x.shape[1])
        coef[0] = link.start(float(np.average(y, weights=w)))
    else:
        coef = np.array(start, dtype=np.float64)
    objective = np.inf
    for _ in range(_MAX_ITER):
        eta = (x @ coef.astype(np.float32)).astype(np.float64)
        _, var, resp = link.irls(y, eta)
        deviance = -2.0 * float(np.sum(w * link.log_likelihood(y, eta)))
        penalised = deviance + ridge * float(coef[1:] @ coef[1:])
        if abs(penalised - objective) < _TOL * (abs(penalised) + 0.1):
            return coef, var, resp, True
        objective = penalised
        coef = _solve(_gram(np.column_stack([x, resp.astype(np.float32)]), w * var), ridge)
    statistical_warning(
        f"the logistic fit did not converge in {_MAX_ITER} iterations; its effects "
        "are unreliable. Check for bands with (almost) only one outcome value",
        stacklevel=3,
    )
    return coef, var, resp, False


def _sigmoid(eta: F64) -> F64:
    # one ufunc pass, half the time of 0.5 * (1 + tanh(eta / 2)); equal within 2.2e-16
    return np.asarray(expit(eta), dtype=np.float64)


def _effects(
    matrix: _Matrix,
    binary: bool,
    x: F32,
    y: F64,
    weight: F64,
    ame: tuple[_AmeRows, F64],
    coef: F64,
    gram: F64,
    with_fit: bool,
) -> Effects:
    """One fit's figures; ``x``, ``y`` and ``weight`` per distinct row (:class:`_Distinct`).

    ``ame`` holds the journeys marginal effects average over and their weights.
    The model fit (R² or McFadden's pseudo-R²) only ``with_fit`` (NaN otherwise):
    the shown fit is cross-validated (:mod:`~peakend.models.moments.holdout`), so
    the bootstrap replicates need none, and a binary outcome's costs a pass over
    every distinct row.
    """
    table = matrix.coef_table(coef)
    shares = relative_weights(gram, matrix.touchpoint, matrix.n_touchpoints)
    if not binary:
        fit = _r_squared(gram, coef)
        low, high = table[:, LOW], table[:, HIGH]
        return Effects(low, high, table[:, NOT_SCORED], shares, fit, low, high)
    fit = _mcfadden(x, y, weight, coef) if with_fit else float("nan")
    low, high, not_scored, low_moved, high_moved = _marginal_effects(
        *ame, float(coef[0]), table, matrix.control_part(coef)
    )
    return Effects(low, high, not_scored, shares, fit, low_moved, high_moved)


def _r_squared(gram: F64, coef: F64) -> float:
    total = gram[0, 0]
    mean = gram[0, -1] / total
    tss = gram[-1, -1] - total * mean**2
    rss = gram[-1, -1] - coef @ gram[:-1, -1]
    return float(1.0 - rss / tss) if tss > 0 else float("nan")


def _mcfadden(x: F32, y: F64, w: F64, coef: F64) -> float:
    eta = (x @ coef.astype(np.float32)).astype(np.float64)
    loglik = np.sum(w * (y * eta - np.logaddexp(0.0, eta)))
    mean = float(np.average(y, weights=w))
    if mean <= 0 or mean >= 1:
        return float("nan")
    null = w.sum() * (mean * np.log(mean) + (1 - mean) * np.log(1 - mean))
    return float(1.0 - loglik / null)


def _marginal_effects(
    ame: _AmeRows,
    w: F64,
    intercept: float,
    table: F64,
    control_coef: F64,
) -> tuple[F64, F64, F64, F64, F64]:
    """Average change in probability when a band moves from middle to low/high/not scored.

    Also the penalty averaged over the journeys now scoring low and the reward
    over those now in the middle: the effect on the journeys an action moves.
    ``w`` is the summed weight of each distinct pattern in ``ame``.
    """
    coef = np.nan_to_num(table)
    contrib = coef.ravel()[ame.cells]
    controls = ame.controls @ control_coef if control_coef.size else 0.0
    base = intercept + np.reshape(controls, (-1, 1)) + contrib.sum(axis=1, keepdims=True) - contrib
    weight = w / w.sum()
    effects = []
    for band, shifted in zip(
        _BANDS, _probability_changes(base, coef[:, list(_BANDS)]), strict=True
    ):
        effects.append(np.where(np.isnan(table[:, band]), np.nan, weight @ shifted))
        if band != NOT_SCORED:  # over the journeys the action moves: low, or middle
            moved = ame.low if band == LOW else ame.middle
            total = weight @ moved
            sums = weight @ (moved * shifted)
            mean = np.divide(sums, total, out=np.zeros_like(total), where=total > 0)
            effects.append(np.where(np.isnan(table[:, band]) | (total <= 0), np.nan, mean))
    return effects[0], effects[2], effects[4], effects[1], effects[3]


#: Largest |linear predictor| and |coefficient| for which exp(-base) exp(-c) stays finite
#: and non-zero (e^±600 against float64's e^±709).
_EXP_SAFE = 300.0


def _probability_changes(base: F64, shifts: F64) -> Iterator[F64]:
    """``expit(base + shifts[:, j]) − expit(base)`` for each column ``j`` of ``shifts``.

    ``exp(−(base + c)) = exp(−base) exp(−c)``: one exponential serves every
    shift, and each shift's probabilities take a product and a reciprocal (2.5x
    faster than a logistic function per shift; equal within 1e-16). Extreme
    values (a fit that did not converge) take the logistic function per shift,
    which cannot overflow. Each array yielded is reused for the next one.
    """
    extreme = max(float(np.abs(base).max(initial=0.0)), float(np.abs(shifts).max(initial=0.0)))
    if not extreme < _EXP_SAFE:  # also NaN
        p_mid = _sigmoid(base)
        for j in range(shifts.shape[1]):
            yield _sigmoid(base + shifts[:, j]) - p_mid
        return
    decay = np.exp(-base)
    p_mid = 1.0 / (1.0 + decay)
    shifted = np.empty_like(base)
    for j in range(shifts.shape[1]):
        np.multiply(decay, np.exp(-shifts[:, j]), out=shifted)
        shifted += 1.0
        np.reciprocal(shifted, out=shifted)
        shifted -= p_mid
        yield shifted


def check_rows(design: MomentDesign) -> None:
    """Refuse designs too small to fit: fewer journeys than model columns."""
    columns = 1 + 3 * len(design.touchpoints) + len(design.control_names)
    if design.n <= columns:
        raise ModelError(
            f"{design.n:,} journeys are too few for {len(design.touchpoints)} touchpoints "
            f"({columns} model columns); analyse fewer touchpoints or add journeys"
        )
