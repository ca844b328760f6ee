"""How well the moment model predicts journeys it has not seen: cross-validated fit.

The in-sample R² (or McFadden's pseudo-R²) of a model with three dummies per
touchpoint grows with every touchpoint even when nothing matters: with no effect
at all and 1,000 journeys it was 0.033, and its bootstrap interval
[0.041, 0.092] lay above the estimate and never covered the truth (0).

Here the model is fitted on *k* − 1 folds and scores the held-out fold; the
folds keep a customer's journeys together. The score is

* continuous outcome: ``1 − Σ w (y − ŷ)² / Σ w (y − ȳ)²`` over the held-out
  predictions (ȳ from the training folds), which is about 0 or below for a
  model that explains nothing;
* binary outcome: McFadden's ``1 − LL(model) / LL(training share)`` on the
  held-out journeys.

What the shown figure estimates: how well *the model fitted on all the
journeys* predicts new journeys of the same population. Cross-validation
estimates that only on average: its folds' models are fitted on fewer journeys,
and a fit whose noise happens to line up with the bands predicts new journeys
worse while its folds score *better* (the two errors are negatively
correlated; Bates, Hastie & Tibshirani 2024). Resampling the held-out scores
alone ignores this: with no effect anywhere its interval covered the fitted
model's fit in 77 % of datasets.

So the error of the whole procedure is simulated (:func:`cv_errors`) in a
world where the truth is known: the fitted model (its means shrunk, see
below) is the true one, and a draw takes new journeys from the dataset's
(the customers with replacement when customers repeat, each keeping its
fold) with new outcomes around the fitted model (a continuous outcome: each
copy's leverage-corrected residuals times one Rademacher sign per copy of a
customer; a binary one: Bernoulli draws from the fitted probabilities). In
each draw the folds are refitted and scored, the full model is refitted, and
its exact out-of-sample fit in that world (on the dataset's journeys) is
known. The draws of "cross-validated score − fit of the fitted model" give
the bias correction of the shown value and its (basic bootstrap) interval.
The interval takes their quantiles where a new draw falls between them with
the level's probability (:func:`draw_tail`): at ``(1 − level) / 2`` 100 draws
cover only 93.1 % of new ones. In the calibration a binary outcome's interval
covered 90.5 % of 200 datasets at the plain quantiles and 94.0 % at these; a
continuous outcome's 92.25 % and 94.0 % (``near``, 400 datasets).

Why the journeys are redrawn (random X; Rosset & Tibshirani 2020): the real
score varies with the sample's journeys as well as with its noise. A world
that kept the dataset's journeys lacked that variance, and its normal
multipliers made up for it by chance only: the square of a residual times a
normal draw varies three times as much as real noise's square. Where the
model explains much (R² about 0.8) that excess dominated and the interval
covered 98 %; resampled residuals on fixed journeys were too narrow (83.5 %).
With the journeys redrawn, the residuals' own spread enters through the
journeys drawn and a sign's square is 1, so the noise variance varies as the
real one does. For a binary outcome the fixed journeys' simulated errors were
0.83× as spread as the real ones (the Bernoulli draws have no excess to make up
for them), the redrawn journeys' 0.95×.

The world's means are the fitted ones shrunk towards their average by the
spread that least squares gave them from the noise (:func:`_signal`, the
positive part, as the adjusted R² takes p/n off the R²): with no effect
anywhere the raw fitted means are pure noise, a signal the real world does
not have, and with them the simulated errors were 1.18× as spread as the real
ones and the interval covered 98.5 % (200 datasets; 96.5 % with the shrunk
means). Where the model explains much the shrinkage is negligible.

Everything is linear algebra on per-fold Gram matrices: a draw weights each
journey by its copies (``X' diag(w c) X``), and needs of each journey only the
number of its copies and the sum and sum of squares of their noise, times its
weight. Journeys of one fold with the same design row share the fitted mean as
well as the row, so a continuous outcome's draws are taken per journey (the
same random numbers, in the same order) and summed into one row per fold and
design row (:class:`_Pooled`): a draw costs three sums per journey and one
weighted Gram matrix of the pooled rows (the 10M-event log: 305,078 rows for
1,070,687 journeys, and the simulation 13 CPU seconds instead of 22–25).
Continuous controls (``--adjust-for``) give nearly every journey a row of its
own; then the draws are scored on the journeys. A binary outcome's rows pool
journeys with the same design row and weight (:func:`_pooled`), and its folds
are refitted by one Newton step from the full fit, as the moment model's own
bootstrap does.

Resampling the dataset's journeys *with their outcomes* (the pairs bootstrap)
does not work here: a resample repeats journeys, so its folds' models overfit
more and the original journeys, its population, include its training rows
with the same noise; the simulated error was twice the real one. Here every
copy gets new noise.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from peakend.models.moments.design import MomentDesign
from peakend.models.moments.fit import (
    _RIDGE,
    FullFit,
    _distinct,
    _gram,
    _sigmoid,
    fit_predict,
    fit_predict_rows,
    full_fit,
    quiet,
)
from peakend.stats.resampling import Interval, grouped_kfold_splits
from peakend.stats.sandwich import scaled_pinv

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]
I64 = NDArray[np.int64]

#: Folds of the cross-validation.
FOLDS = 5
_EPS = 1e-12


def cross_validated_fit(
    design: MomentDesign,
    *,
    n_resamples: int,
    seed: int,
    level: float,
    folds: int = FOLDS,
    full: FullFit | None = None,
) -> Interval:
    """Out-of-sample R² (continuous) or McFadden pseudo-R² (binary) with its interval.

    The value is the cross-validated score corrected by its bootstrap bias as
    an estimate of the fitted model's out-of-sample fit; the interval is the
    basic bootstrap interval of the same errors (see the module docstring).
    ``full`` is the model fitted on all of ``design`` (:func:`~.fit.full_fit`),
    the simulated world's truth and where the folds' logistic fits start;
    fitted here when omitted.
    """
    k = min(folds, design.n if design.clusters is None else int(design.clusters.max()) + 1)
    whole = full if full is not None else full_fit(design)
    fold = fold_of_rows(design, k, seed)
    point = held_out_score(design, fold, whole)
    errors = cv_errors(design, fold, n_resamples=n_resamples, seed=seed + 1, full=whole)
    return corrected_interval(point, errors, design.n, level)


def fold_of_rows(design: MomentDesign, k: int, seed: int) -> I64:
    """The test fold of every journey (a customer's journeys share one)."""
    fold = np.empty(design.n, dtype=np.int64)
    for i, (_, test) in enumerate(grouped_kfold_splits(design.clusters, design.n, k, seed)):
        fold[test] = i
    return fold


def held_out_score(design: MomentDesign, fold: I64, full: FullFit | None = None) -> float:
    """The cross-validated score: every fold predicted by the model fitted on the others.

    With ``full`` (the fit on every fold) a logistic fold's fit starts there.
    """
    model_loss = np.zeros(design.n)
    null_loss = np.zeros(design.n)
    y, w = design.y, design.weights
    for i in range(int(fold.max()) + 1):
        test = np.flatnonzero(fold == i)
        train = np.flatnonzero(fold != i)
        if full is None:
            predicted = fit_predict(design.subset(train), design.subset(test))
        else:  # the same fit and predictions, from the whole's matrix and distinct rows
            predicted = fit_predict_rows(design, train, test, full)
        base = float(np.average(y[train], weights=w[train]))
        model_loss[test] = _loss(y[test], predicted, design.binary)
        null_loss[test] = _loss(y[test], np.full(test.size, base), design.binary)
    return float(_score(float(w @ model_loss), float(w @ null_loss)))


def corrected_interval(
    point: float, errors: F64, n: int, level: float, *, finite_draws: bool = True
) -> Interval:
    """``point`` minus the mean bootstrap error, with the basic interval of the errors.

    ``errors`` are draws of "cross-validated score − fit of the fitted model";
    the fit lies in ``[point − q_high, point − q_low]`` of their quantiles, and
    never above 1. The quantiles are taken at the levels of :func:`draw_tail`,
    where one more draw falls with probability ``level`` whatever the number of
    draws; ``finite_draws=False`` takes them at ``(1 − level) / 2`` (the plain
    sample quantiles, for comparison).
    """
    finite = errors[np.isfinite(errors)]
    if finite.size == 0 or not np.isfinite(point):
        return Interval(point, float("nan"), float("nan"), n)
    tail = (1.0 - level) / 2.0 * 100.0
    if finite_draws:
        tail = draw_tail(level, finite.size) * 100.0
    q_low, q_high = np.percentile(finite, [tail, 100.0 - tail])
    value = min(1.0, point - float(finite.mean()))
    low, high = point - float(q_high), min(1.0, point - float(q_low))  # a fit is at most 1
    return Interval(value, min(low, value), max(high, value), n)


def draw_tail(level: float, draws: int) -> float:
    """The quantile level whose sample quantiles of ``draws`` draws cover ``level`` of new ones.

    The error of the real cross-validation is one more draw of the simulated
    distribution (when the simulation is right), and the chance that it falls
    between the ``j``-th smallest and the ``j``-th largest of ``B`` draws is
    ``(B + 1 − 2j) / (B + 1)``. ``np.percentile`` at ``(1 − level) / 2`` puts
    ``j`` at ``1 + (B − 1)(1 − level) / 2`` (3.475 of 100 draws at 95 %), so the
    interval covers only 93.1 % of new draws (94.0 % of 200); ``j`` at
    ``(B + 1)(1 − level) / 2`` (2.525 of 100) gives ``level`` itself. The
    returned level (0.0154 of 100 draws, 0.0202 of 200) approaches
    ``(1 − level) / 2`` as the draws grow.
    """
    rank = (draws + 1) * (1.0 - level) / 2.0  # 1-based order statistic
    return float(np.clip((rank - 1.0) / max(draws - 1, 1), 0.0, (1.0 - level) / 2.0))


def cv_errors(
    design: MomentDesign,
    fold: I64,
    *,
    n_resamples: int,
    seed: int,
    full: FullFit | None = None,
    random_x: bool = True,
    noise: str = "rademacher",
) -> F64:
    """Simulated draws of "cross-validated score − out-of-sample fit of the full fit".

    See the module docstring: journeys (customers) are redrawn with
    replacement and their outcomes drawn around the fitted model (``full``,
    fitted here when omitted: the truth of the simulated world), the folds and
    the full model refitted, and the folds' score compared with the full
    model's exact fit. ``random_x=False`` keeps the dataset's journeys and
    multiplies each residual by a normal draw (Bernoulli draws for a binary
    outcome): the fixed-X world, kept for comparison (``bench/fit_errors.py``).
    ``noise`` (continuous outcome, random X) is one of :data:`NOISES`.
    """
    with threadpool_limits(limits=1, user_api="blas"), quiet(), np.errstate(all="ignore"):
        world = _world(design, fold, full)
        if world is None:  # the fit did not converge (already warned): no interval
            return np.full(n_resamples, np.nan)
        rng = np.random.default_rng(seed)
        if random_x and world.binary:
            return _binary_random_x_errors(world, rng, n_resamples)
        if random_x:
            return _random_x_errors(world, rng, n_resamples, noise)
        out = [_draw_errors(world, rng, k) for k in _blocks(n_resamples)]
    return np.concatenate(out) if out else np.zeros(0)


def _blocks(n_resamples: int, size: int = 20) -> list[int]:
    return [min(size, n_resamples - start) for start in range(0, n_resamples, size)]


@dataclass(frozen=True)
class _World:
    """The fitted model as the truth, and the per-fold matrices every draw reuses.

    Rows are sorted by test fold, so that each fold is a contiguous slice. For
    a binary outcome a row stands for ``count`` journeys of one fold with the
    same design row and weight (see :func:`_pooled`); otherwise ``count`` is 1.
    """

    x: F64
    x32: F32  # the same in float32, for the redrawn samples' Gram matrices (none when pooled)
    w: F64  # weight x IRLS weight (OLS: the weight), summed over the row's journeys
    weight: F64  # the journeys' weights, summed over the row's journeys
    count: I64  # journeys the row stands for
    fitted: F64  # fitted mean (OLS) or probability (logistic)
    eta: F64  # fitted linear predictor
    noise: F64  # leverage-corrected residuals (OLS)
    folds: tuple[slice, ...]
    inverse: tuple[F64, ...]  # pseudo-inverse of the training folds' X' diag(w) X
    inverse_full: F64
    clusters: I64 | None
    binary: bool
    ridge: float  # the logistic fit's ridge (0 for OLS)
    pooled: _Pooled | None = None  # a continuous outcome's journeys pooled for its draws

    @cached_property
    def truth(self) -> tuple[float, float, float]:
        """:func:`_truth` of this world, taken at the first draw."""
        return _truth(self)


@dataclass(frozen=True)
class _Pooled:
    """A continuous outcome's journeys of one fold with the same design row, as one row.

    A random-X draw needs of each journey only ``w·count``, ``w·first`` and
    ``w·second`` (its copies and their noise, :func:`_weighted_scores`), and
    journeys of one fold with the same design row share ``x`` and the fitted
    mean: every Gram matrix, ``X'Wy``, loss and true fit of the draw is a sum
    of those three per row. The draws are still taken per journey (the same
    random numbers as without pooling) and summed into the rows, one
    ``bincount`` each. The 10M-event log's 1,070,687 journeys pool into
    305,078 rows. Rows are sorted by fold, as the world's journeys are.
    """

    of: I64  # the row of every journey of the world
    x: F64
    x32: F32
    fitted: F64
    weight: F64  # the journeys' weights, summed per row
    folds: tuple[slice, ...]


#: Pool a continuous outcome's journeys (:class:`_Pooled`) only when the rows are at most
#: this share of them: with continuous controls (``--adjust-for``) nearly every journey has
#: a row of its own, and the sums into rows would cost more than they save.
_POOL_SHARE = 0.6


def _world(design: MomentDesign, fold: I64, full: FullFit | None = None) -> _World | None:
    """The simulated world of the fitted model ``full``; ``None`` when it did not converge."""
    whole = full if full is not None else full_fit(design)  # the moment model's own fit
    if not whole.converged:
        return None
    matrix, coef, factor = whole.matrix, whole.coef, whole.factor[whole.rows.inverse]
    order = np.argsort(fold, kind="stable")
    x = matrix.x[order].astype(np.float64)
    weight, y, factor = design.weights[order], design.y[order], factor[order]
    fold = fold[order]
    count = np.ones(x.shape[0], dtype=np.int64)
    clusters = None if design.clusters is None else design.clusters[order]
    if design.binary:  # binary draws are independent per journey: no clusters needed
        x, weight, y, factor, count, fold = _pooled(x, weight, y, factor, fold)
        clusters = None
    ridge = _RIDGE * float(np.mean(design.weights)) if design.binary else 0.0
    eta = x @ coef
    if not design.binary:
        eta = eta + float(np.average(y, weights=weight))
    w = weight * factor
    edges = np.searchsorted(fold, np.arange(int(fold.max()) + 2))
    folds = tuple(slice(int(lo), int(hi)) for lo, hi in zip(edges[:-1], edges[1:], strict=True))
    grams = [(x[rows] * w[rows, None]).T @ x[rows] for rows in folds]
    all_folds = np.sum(grams, axis=0)
    inverse_full = scaled_pinv(all_folds, ridge)
    leverage = np.sum((x @ inverse_full) * x, axis=1) * w
    fitted = _sigmoid(eta) if design.binary else eta
    noise = (y - fitted) / np.sqrt(np.clip(1.0 - leverage, 1e-3, None))
    pooled = None
    if not design.binary:
        fitted = _signal(fitted, noise, x, w, leverage, inverse_full, clusters)
        pooled = _pool(_distinct(design, extra=()).inverse[order], fold, x, fitted, weight)
    return _World(
        x=x,
        x32=x.astype(np.float32) if pooled is None else np.zeros((0, x.shape[1]), np.float32),
        w=w,
        weight=weight,
        count=count,
        fitted=fitted,
        eta=eta,
        noise=noise,
        folds=folds,
        inverse=tuple(scaled_pinv(all_folds - g, ridge) for g in grams),
        inverse_full=inverse_full,
        clusters=clusters,
        binary=design.binary,
        ridge=ridge,
        pooled=pooled,
    )


def _pool(row: I64, fold: I64, x: F64, fitted: F64, weight: F64) -> _Pooled | None:
    """The journeys pooled by fold and design row (``row``, a code per journey).

    ``fold`` is sorted; ``None`` when the rows would be more than
    :data:`_POOL_SHARE` of the journeys.
    """
    key = fold * (int(row.max()) + 1) + row  # fold first: the rows stay sorted by fold
    _, first, of = np.unique(key, return_index=True, return_inverse=True)
    if first.size > _POOL_SHARE * key.size:
        return None
    of = of.reshape(-1)
    edges = np.searchsorted(fold[first], np.arange(int(fold.max()) + 2))
    x_rows = x[first]
    return _Pooled(
        of=of,
        x=x_rows,
        x32=x_rows.astype(np.float32),
        fitted=fitted[first],
        weight=_summed(of, weight, first.size),
        folds=tuple(slice(int(lo), int(hi)) for lo, hi in zip(edges[:-1], edges[1:], strict=True)),
    )


def _signal(
    fitted: F64, noise: F64, x: F64, w: F64, leverage: F64, inverse: F64, clusters: I64 | None
) -> F64:
    """The fitted means shrunk towards their average to the spread of the signal alone.

    Least squares fits the noise too: the fitted means spread more than the
    true ones, by ``E Σ w (f̂ − f)² = tr(W X A X' W Σ)`` about their average
    (``A = (X' W X)⁻¹``, ``Σ`` the noise covariance), less the average's own
    share. Estimated from the leverage-corrected residuals ``r`` (per customer
    when customers repeat: ``Σ_c t_c' A t_c − (Σ_{i∈c} w_i r_i)² / Σ w`` with
    ``t_c = Σ_{i∈c} w_i r_i x_i``), that excess is taken off the fitted spread
    and the deviations scaled to what is left (none when nothing is: the
    positive part), as the adjusted R² takes ``p/n`` off the R².

    Why: a simulated world whose means are the raw fitted ones has a signal
    where the real one may have none. With no effect anywhere its fitted
    effects are pure noise, about ``p/n`` of the outcome's variance, and that
    made the simulated cross-validated score 1.4× as spread as the real one
    (its denominator, the outcome's spread around the training mean, then
    varies with "signal" × new noise) and the fit's interval too wide.
    """
    total = float(w.sum())
    mean = float(fitted @ w) / total
    deviation = fitted - mean
    spread = float((deviation**2) @ w)
    if spread <= 0:
        return fitted
    weighted = w * noise
    if clusters is None:
        excess = float((weighted * noise) @ leverage) - float(weighted @ weighted) / total
    else:
        groups = int(clusters.max()) + 1
        per_customer = np.stack(
            [np.bincount(clusters, weights=weighted * column, minlength=groups) for column in x.T],
            axis=1,
        )
        sums = np.bincount(clusters, weights=weighted, minlength=groups)
        excess = float(np.sum((per_customer @ inverse) * per_customer)) - float(sums @ sums) / total
    scale = np.sqrt(max(0.0, spread - excess) / spread)
    return np.asarray(mean + scale * deviation, dtype=np.float64)


def _pooled(
    x: F64, weight: F64, y: F64, factor: F64, fold: I64
) -> tuple[F64, F64, F64, F64, I64, I64]:
    """Journeys of one fold with the same design row and weight, pooled into one row.

    ``fold`` is sorted. Under the fitted logistic model such journeys share
    one probability, so the number of them that answer 1 in a draw is
    binomial, and every sum a draw needs (scores, Gram matrices, losses) is
    linear in it: pooling gives the same distribution of draws from far fewer
    rows (airline: 43,785 distinct rows for 129,880 journeys). Returns the
    pooled rows (``y`` and the IRLS ``factor`` as weight-averages) and the
    number of journeys each stands for.
    """
    key = np.column_stack([fold.astype(np.float64), weight, x])
    _, first, inverse, count = np.unique(
        np.ascontiguousarray(key).view(np.dtype((np.void, key.dtype.itemsize * key.shape[1]))),
        return_index=True,
        return_inverse=True,
        return_counts=True,
    )
    inverse = inverse.reshape(-1)
    summed = np.asarray(np.bincount(inverse, weights=weight), dtype=np.float64)
    mean_y = np.bincount(inverse, weights=weight * y) / summed
    order = np.argsort(fold[first], kind="stable")  # keep the folds contiguous
    return (
        x[first][order],
        summed[order],
        mean_y[order],
        factor[first][order],
        count[order].astype(np.int64),
        fold[first][order],
    )


def _draw_errors(world: _World, rng: np.random.Generator, k: int) -> F64:
    """``k`` simulated draws of the cross-validation error."""
    if world.binary:  # the share of a row's journeys that "answer 1" in each draw
        y = _binomial(rng, world.count, world.fitted, k) / world.count
    else:
        groups = world.x.shape[0] if world.clusters is None else int(world.clusters.max()) + 1
        g = rng.standard_normal((k, groups))
        # fitted + draw x noise, in the draws' own array: each is k x journeys, and a
        # fresh one per operation is memory the kernel maps and zeroes again
        y = g if world.clusters is None else g[:, world.clusters]
        np.multiply(y, world.noise, out=y)
        np.add(y, world.fitted, out=y)
    cv, true = _scores_of(world, y)
    return cv - true


#: Noise of the random-X world: per copy of a customer, its residuals times one
#: Rademacher sign, or (``"resampled"``) per copy of a journey a residual drawn from all.
NOISES = ("rademacher", "resampled")


def _random_x_errors(world: _World, rng: np.random.Generator, k: int, noise: str) -> F64:
    """``k`` draws of the cross-validation error in a world that redraws the journeys too.

    Each draw takes the customers (journeys when none repeat) with
    replacement, keeping each one's fold, and gives every copy new noise; the
    folds and the full model are refitted with the copies' counts as weights.

    The draws are taken from ``rng`` one after the other on this thread, so they
    are the same at any number of threads, and scored on :data:`_SCORERS`
    threads (their Gram matrices and losses release the interpreter lock): the
    simulation outlasts the bootstrap it runs beside, and alone it kept one core
    of two busy. At most one draw per thread waits to be scored.
    """
    out = np.empty(k)
    context = copy_context()  # the caller's quiet() and np.errstate in every thread
    buffers = _DrawBuffers.of(world) if noise == "rademacher" else None
    with ThreadPoolExecutor(_SCORERS, thread_name_prefix="peakend-cv") as pool:
        pending: deque[tuple[int, Future[tuple[float, float]]]] = deque()
        for b in range(k):
            if len(pending) > _SCORERS:
                _store(out, pending.popleft())
            if buffers is None:
                w, w_first, w_second = _row_sums(world, *_copies(world, rng, noise))
            else:
                w, w_first, w_second = _rademacher_sums(world, rng, buffers)
            run = context.copy().run
            scored = pool.submit(run, _scores_of_sums, world, w, w_first, w_second)
            pending.append((b, scored))
        while pending:
            _store(out, pending.popleft())
    return out


#: Threads that score the random-X draws of a continuous outcome (:func:`_random_x_errors`).
_SCORERS = 2


def _store(out: F64, scored: tuple[int, Future[tuple[float, float]]]) -> None:
    """Write a scored draw's error (cross-validated score − true fit) at its index."""
    b, future = scored
    cv, true = future.result()
    out[b] = cv - true


def _copies(world: _World, rng: np.random.Generator, noise: str) -> tuple[F64, F64, F64]:
    """Per journey: copies drawn, and the sum and sum of squares of the copies' noise."""
    n = world.x.shape[0]
    clusters = world.clusters
    groups = n if clusters is None else int(clusters.max()) + 1

    def per_journey(values: F64) -> F64:  # a customer's value for each of its journeys
        return values if clusters is None else values[clusters]

    drawn = rng.integers(0, groups, groups)
    count = per_journey(np.bincount(drawn, minlength=groups).astype(np.float64))
    if noise == "resampled":
        copy_of = np.repeat(np.arange(n), count.astype(np.int64))
        pool = world.noise - np.average(world.noise, weights=world.weight)
        e = pool[rng.integers(0, n, copy_of.size)]
        return count, _summed(copy_of, e, n), _summed(copy_of, e * e, n)
    sign = rng.integers(0, 2, drawn.size) * 2.0 - 1.0  # Rademacher: its square is 1
    return count, world.noise * per_journey(_summed(drawn, sign, groups)), world.noise**2 * count


def _summed(index: I64, values: NDArray[np.floating[Any]], size: int) -> F64:
    """``values`` summed per ``index`` (``0..size−1``)."""
    return np.asarray(np.bincount(index, weights=values, minlength=size), dtype=np.float64)


def _weighted_scores(world: _World, count: F64, first: F64, second: F64) -> tuple[float, float]:
    """Cross-validated score and exact fit of the full model for one random-X draw.

    A journey with ``count`` copies whose noise sums to ``first`` (squares:
    ``second``) contributes ``w (count f + first)`` to ``X'Wy`` and
    ``w (count d² + 2 d first + second)`` to a loss whose prediction misses
    its mean ``f`` by ``d``: sums of ``w·count``, ``w·first`` and
    ``w·second``, taken per pooled row when the world pools its journeys.
    """
    return _scores_of_sums(world, *_row_sums(world, count, first, second))


def _row_sums(world: _World, count: F64, first: F64, second: F64) -> tuple[F64, F64, F64]:
    """``w·count``, ``w·first`` and ``w·second`` of a draw (:func:`_copies`) per scored row:
    per pooled row when the world pools its journeys, else per journey."""
    sums = (world.w * count, world.w * first, world.w * second)
    if world.pooled is None:
        return sums
    size = world.pooled.x.shape[0]
    of = world.pooled.of
    return _summed(of, sums[0], size), _summed(of, sums[1], size), _summed(of, sums[2], size)


@dataclass(frozen=True)
class _DrawBuffers:
    """Journey-sized arrays that every Rademacher draw of one simulation writes into.

    A draw's per-journey products were a dozen fresh arrays of the journeys' size,
    each memory the kernel maps and zeroes again; written into these, a draw takes
    only its random numbers and their counts afresh. Used by the one thread that
    takes the draws.
    """

    values: F64
    noise_squared: F64
    signs: F64  # a customer's summed signs for each of its journeys (with customers)
    counts: I64  # a customer's copies for each of its journeys (with customers)

    @classmethod
    def of(cls, world: _World) -> _DrawBuffers:
        """Buffers for the draws of ``world``."""
        n = world.x.shape[0]
        per_journey = n if world.clusters is not None else 0
        return cls(
            np.empty(n),
            world.noise**2,
            np.empty(per_journey),
            np.empty(per_journey, dtype=np.int64),
        )


def _rademacher_sums(
    world: _World, rng: np.random.Generator, buffers: _DrawBuffers
) -> tuple[F64, F64, F64]:
    """:func:`_row_sums` of the Rademacher draw :func:`_copies` takes, written into ``buffers``.

    The same random numbers and, product by product, the same values as
    ``_row_sums(world, *_copies(world, rng, "rademacher"))``.
    """
    n, clusters, values = world.x.shape[0], world.clusters, buffers.values
    groups = n if clusters is None else int(clusters.max()) + 1
    drawn = rng.integers(0, groups, groups)
    count = np.bincount(drawn, minlength=groups)
    sign = np.multiply(rng.integers(0, 2, drawn.size), 2.0, out=values[:groups])
    np.subtract(sign, 1.0, out=sign)  # Rademacher: its square is 1
    signs = _summed(drawn, sign, groups)
    if clusters is not None:  # a customer's values for each of its journeys
        signs = np.take(signs, clusters, out=buffers.signs)
        count = np.take(count, clusters, out=buffers.counts)

    def total(per_journey: F64) -> F64:
        if world.pooled is None:
            return per_journey.copy()
        return _summed(world.pooled.of, per_journey, world.pooled.x.shape[0])

    np.multiply(world.noise, signs, out=values)  # the copies' noise summed (first)
    w_first = total(np.multiply(world.w, values, out=values))
    w_count = total(np.multiply(world.w, count, out=values))
    np.multiply(buffers.noise_squared, count, out=values)  # their squares summed (second)
    return w_count, w_first, total(np.multiply(world.w, values, out=values))


def _scores_of_sums(world: _World, w: F64, w_first: F64, w_second: F64) -> tuple[float, float]:
    """:func:`_weighted_scores` from the draw's sums per scored row (:func:`_row_sums`)."""
    rows: _World | _Pooled = world if world.pooled is None else world.pooled
    f, x = rows.fitted, rows.x
    wy = w * f + w_first
    grams = [_gram(rows.x32[part], w[part]) for part in rows.folds]
    xty = [wy[part] @ x[part] for part in rows.folds]
    gram_all, xty_all = np.sum(grams, axis=0), np.sum(xty, axis=0)
    w_all, wy_all = float(w.sum()), float(wy.sum())
    model = null = 0.0
    for part, gram, fold_xty in zip(rows.folds, grams, xty, strict=True):
        coef = _pinv(gram_all - gram) @ (xty_all - fold_xty)
        train = w_all - float(w[part].sum())
        base = (wy_all - float(wy[part].sum())) / train if train > 0 else 0.0
        copies = (w[part], w_first[part], w_second[part])
        model += _copies_loss(*copies, f[part] - x[part] @ coef)
        null += _copies_loss(*copies, f[part] - base)
    coef = _pinv(gram_all) @ xty_all
    return 1.0 - model / null, float(_true_fit(world, coef[None, :])[0])


def _binary_random_x_errors(world: _World, rng: np.random.Generator, k: int) -> F64:
    """``k`` draws of the cross-validation error of a binary outcome, journeys redrawn.

    Each draw takes the journeys with replacement (a row's copies are
    multinomial, keeping its fold), and each copy answers 1 with the row's
    fitted probability; the folds and the full model take one Newton step from
    the world's truth with the copies' counts as weights.
    """
    total = int(world.count.sum())
    share = world.count / total
    out = np.empty(k)
    for b in range(k):
        copies = rng.multinomial(total, share).astype(np.float64)
        ones = rng.binomial(copies.astype(np.int64), world.fitted).astype(np.float64)
        cv, true = _binary_weighted_scores(world, copies, ones)
        out[b] = cv - true
    return out


def _binary_weighted_scores(world: _World, copies: F64, ones: F64) -> tuple[float, float]:
    """Cross-validated McFadden score and exact fit of the full model for one draw.

    ``copies`` of each pooled row were drawn, ``ones`` of them answered 1. A
    row's journeys weigh ``u = weight / count`` each; it contributes
    ``w m / count · eta + u (ones − m p)`` to the Newton step's ``X'Wz``.
    """
    x, ratio = world.x, copies / world.count
    u = world.weight / world.count
    w = world.w * ratio
    wz = w * world.eta + u * (ones - copies * world.fitted)
    grams = [_gram(world.x32[rows], w[rows]) for rows in world.folds]
    xtz = [wz[rows] @ x[rows] for rows in world.folds]
    gram_all, xtz_all = np.sum(grams, axis=0), np.sum(xtz, axis=0)
    weight_all, ones_all = float(u @ copies), float(u @ ones)
    model = null = 0.0
    for rows, gram, part in zip(world.folds, grams, xtz, strict=True):
        coef = _pinv(gram_all - gram, world.ridge) @ (xtz_all - part)
        eta = x[rows] @ coef
        model += float(u[rows] @ (copies[rows] * _softplus(eta) - ones[rows] * eta))
        test_weight, test_ones = float(u[rows] @ copies[rows]), float(u[rows] @ ones[rows])
        train_weight = weight_all - test_weight
        base = (ones_all - test_ones) / train_weight if train_weight > 0 else 0.5
        sums = np.array([[test_weight], [test_ones], [0.0]])
        null += float(_constant_loss(sums, np.array([base]), True)[0])
    coef = _pinv(gram_all, world.ridge) @ xtz_all
    return 1.0 - model / null, float(_true_fit(world, coef[None, :])[0])


def _pinv(gram: F64, ridge: float = 0.0) -> F64:
    """:func:`scaled_pinv` of the columns that occur; zero for those that do not.

    A redrawn sample can miss a rare band altogether (a customer's copies are
    all or nothing). Scaling its empty column to unit diagonal multiplies
    rounding noise by about 1e150; leaving it out gives it no effect, as a
    fold's fit gives a band it has never seen.
    """
    keep = np.diag(gram) > 1e-12 * gram[0, 0]
    out = np.zeros_like(gram)
    out[np.ix_(keep, keep)] = scaled_pinv(gram[np.ix_(keep, keep)], ridge)
    return out


def _copies_loss(w: F64, w_first: F64, w_second: F64, miss: F64) -> float:
    """Squared error summed over the copies of some rows (see :func:`_weighted_scores`)."""
    return float(w @ (miss * miss)) + 2.0 * float(w_first @ miss) + float(w_second.sum())


def _scores_of(world: _World, y: F64) -> tuple[F64, F64]:
    """Cross-validated score and exact fit of the full model, per row of outcomes ``y``."""
    k = y.shape[0]
    response = y
    if world.binary:
        response = world.eta + (y - world.fitted) / np.maximum(world.w / world.weight, 1e-10)
    xty = [(response[:, rows] * world.w[rows]) @ world.x[rows] for rows in world.folds]
    total = np.sum(xty, axis=0)
    sums = [_sums(y[:, rows], world.weight[rows]) for rows in world.folds]
    everything = np.sum(sums, axis=0)
    model = np.zeros(k)
    null = np.zeros(k)
    for rows, part, inverse, test in zip(world.folds, xty, world.inverse, sums, strict=True):
        coef = (total - part) @ inverse.T
        train = everything - test
        base = train[1] / train[0]  # the training folds' mean outcome
        eta = coef @ world.x[rows].T
        model += _losses(y[:, rows], eta, world.binary) @ world.weight[rows]
        null += _constant_loss(test, base, world.binary)
    coef = total @ world.inverse_full.T
    return 1.0 - model / null, _true_fit(world, coef)


#: Rows of up to this many journeys draw one uniform number per journey (see :func:`_binomial`).
_FEW = 8


def _binomial(rng: np.random.Generator, count: I64, prob: F64, k: int) -> F64:
    """``k`` draws of Binomial(``count``, ``prob``) per row: shape ``(k, rows)``.

    A row of ``c`` journeys counts how many of ``c`` uniform numbers fall below
    its probability, for all rows of the same ``c`` at once; only rows of more
    than :data:`_FEW` journeys (2 % of the airline survey's) take NumPy's
    binomial generator, which costs about 40 ns a row even for ``c = 1`` and
    took more than half of the simulated cross-validation's time.
    """
    out = np.empty((k, count.size))
    many = np.flatnonzero(count > _FEW)
    for c in range(1, _FEW + 1):
        rows = np.flatnonzero(count == c)
        if rows.size:
            below = rng.random((k, rows.size, c)) < prob[rows, None]
            out[:, rows] = below.sum(axis=2)
    if many.size:
        out[:, many] = rng.binomial(count[many], prob[many], size=(k, many.size))
    return out


def _sums(y: F64, weight: F64) -> F64:
    """``[Σ w, Σ w y, Σ w y²]`` per draw (rows of ``y``): shape ``(3, k)``."""
    return np.stack([np.full(y.shape[0], weight.sum()), y @ weight, (y * y) @ weight])


def _constant_loss(sums: F64, base: F64, binary: bool) -> F64:
    """Summed loss of predicting ``base`` for every journey, from :func:`_sums`."""
    if not binary:
        return np.asarray(sums[2] - 2 * base * sums[1] + base**2 * sums[0], dtype=np.float64)
    b = np.clip(base, _EPS, 1 - _EPS)
    return np.asarray(
        -(np.log(b) * sums[1] + np.log(1 - b) * (sums[0] - sums[1])), dtype=np.float64
    )


def _true_fit(world: _World, coef: F64) -> F64:
    """Exact out-of-sample fit of each row of ``coef`` when the fitted model is the truth.

    A continuous outcome's fit needs of the journeys only sums of their weights
    per design row: taken over the pooled rows when the world pools its journeys.
    """
    total, noise, null = world.truth
    if world.binary:
        eta = coef @ world.x.T
        loss = (_softplus(eta) - world.fitted * eta) @ world.weight / total
    else:
        rows: _World | _Pooled = world if world.pooled is None else world.pooled
        eta = coef @ rows.x.T
        loss = noise + ((eta - rows.fitted) ** 2) @ rows.weight / total
    return np.asarray(1.0 - loss / null, dtype=np.float64)


def _truth(world: _World) -> tuple[float, float, float]:
    """What :func:`_true_fit` needs of the world alone: the journeys' total weight, the
    noise's weighted mean square (continuous outcome; 0 for a binary one) and the null
    model's loss. The same in every draw, so taken once (the noise is a pass over every
    journey)."""
    total = float(world.weight.sum())
    if world.binary:
        p = world.fitted
        mean = float(np.clip(p @ world.weight / total, _EPS, 1 - _EPS))
        return total, 0.0, -(mean * np.log(mean) + (1 - mean) * np.log(1 - mean))
    noise = float(world.noise**2 @ world.weight) / total
    rows: _World | _Pooled = world if world.pooled is None else world.pooled
    mean = float(rows.fitted @ rows.weight) / total
    return total, noise, noise + float((rows.fitted - mean) ** 2 @ rows.weight) / total


def _losses(y: F64, eta: F64, binary: bool) -> F64:
    """Per-journey losses of a linear predictor: squared error or negative log-likelihood."""
    if not binary:
        error = np.subtract(y, eta)
        return np.square(error, out=error)
    return np.asarray(_softplus(eta) - y * eta, dtype=np.float64)


def _softplus(eta: F64) -> F64:
    """``log(1 + exp(eta))`` as ``max(eta, 0) + log1p(exp(-|eta|))``.

    The same formula as ``np.logaddexp(0, eta)`` (equal within 1e-15) in four
    vectorised passes, 1.7x faster than its element-by-element loop; the
    simulated cross-validation evaluates it on every journey of every draw.
    """
    out = np.abs(eta)
    np.negative(out, out=out)
    np.exp(out, out=out)
    np.log1p(out, out=out)
    out += np.maximum(eta, 0.0)
    return out


def _loss(y: F64, predicted: F64, binary: bool) -> F64:
    """Squared error, or the negative log-likelihood of a probability."""
    if not binary:
        return np.asarray((y - predicted) ** 2, dtype=np.float64)
    p = np.clip(predicted, _EPS, 1 - _EPS)
    return np.asarray(-(y * np.log(p) + (1 - y) * np.log(1 - p)), dtype=np.float64)


def _score(model: float, null: float) -> float:
    """``1 − model / null`` (NaN where the null loss is 0)."""
    return 1.0 - model / null if null > 0 else float("nan")
