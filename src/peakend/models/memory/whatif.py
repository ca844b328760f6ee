"""Order matters: re-ordering or changing moments and asking the memory model again.

Under the mean-only model a journey's remembered score does not depend on the
order of its moments; under peak-end it does (the end is a position). This
module works on the scored moments of each journey in journey order
(:class:`Sequences`), recomputes the memory features of re-ordered or changed
journeys with numpy (the same definitions as :func:`peakend.engine.journey_features`,
checked against it in the tests), and asks a fitted :class:`MemoryModel`:

* :func:`order_test` — shuffle every journey's moments at random: how much does
  the remembered score move, per model? (0 for the mean, > 0 under peak-end.)
* :func:`best_last` — "what if the best moment came last?" for a group of
  journeys (a journey type), with the mean change and its interval.
* :func:`what_if` — one journey: move a moment or change its valence.

Every change carries a 95 % interval that includes the uncertainty of the
model's weights (delta method over the weights' robust covariance,
:func:`weight_variance`), and for averages over journeys also their spread.

Positions stay where they were: re-ordering moves *valences* between the slots
of the scored moments, so the trend is measured on the same positions.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TypeVar

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from peakend import engine
from peakend.errors import ConfigError
from peakend.loading.event_order import journey_order_of
from peakend.models.memory.fit import F64, wald
from peakend.models.memory.models import MemoryModel, feature_column, feature_matrix
from peakend.stats.resampling import Interval

I64 = NDArray[np.int64]


@dataclass(frozen=True)
class Sequences:
    """Scored moments of many journeys, journey after journey, in journey order.

    ``group`` is the row of the journey in ``journey_ids`` for each moment;
    ``position`` its 0-based place among all events of the journey; ``duration_s``
    per journey (NaN without timestamps).
    """

    journey_ids: pa.Array
    group: I64
    position: F64
    valence: F64
    duration_s: F64

    @property
    def n_journeys(self) -> int:
        """Number of journeys."""
        return len(self.journey_ids)

    @cached_property
    def layout(self) -> Layout:
        """Where each journey's moments lie, computed once: every what-if reuses it."""
        return Layout.of(self)


@dataclass(frozen=True)
class Layout:
    """What the memory features of :class:`Sequences` need besides the valences.

    :func:`sequence_features` is asked again and again about the same journeys
    with other valences (the order test, the best-last what-if, the total effects
    by intervention of the moments model); the counts, the first and last moment
    of each journey and the centred positions of the trend do not change.
    """

    count: F64  # scored moments per journey
    has: NDArray[np.bool_]  # journeys with at least one
    starts: I64  # each journey's first moment
    owner: I64  # the journey of each start
    ends: I64  # each journey's last moment
    dp: F64  # each moment's position minus its journey's mean position
    var: F64  # per journey, the sum of dp²

    @classmethod
    def of(cls, seqs: Sequences) -> Layout:
        """The layout of ``seqs`` (at least one moment)."""
        n, group = seqs.n_journeys, seqs.group
        count = np.bincount(group, minlength=n).astype(np.float64)
        has = count > 0
        starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        ends = np.r_[starts[1:], len(group)] - 1
        p = seqs.position
        mp = np.bincount(group, weights=p, minlength=n) / np.where(has, count, np.nan)
        dp = p - mp[group]
        var = np.asarray(np.bincount(group, weights=dp * dp, minlength=n), dtype=np.float64)
        return cls(count, has, starts, group[starts], ends, dp, var)


def journey_sequences(
    events: ibis.Table, journey_ids: pa.Array | None = None, duration_s: F64 | None = None
) -> Sequences:
    """Collect the scored moments per journey from canonical events (an Ibis table).

    Only journeys listed in ``journey_ids`` are kept (all when None), in that
    order; ``duration_s`` gives their durations (the engine's ``duration_s``).
    """
    e = engine.ordered_events(events)
    scored = e.filter(e.valence.notnull()).select("journey_id", "position", "valence")
    rows = scored.order_by(["journey_id", "position"]).to_pyarrow()
    ids = rows["journey_id"].combine_chunks()
    if journey_ids is None:
        journey_ids = pc.unique(ids)
    group = pc.index_in(ids, value_set=journey_ids).to_numpy(zero_copy_only=False)
    keep = ~np.isnan(group.astype(np.float64))
    group = np.nan_to_num(group.astype(np.float64), nan=-1).astype(np.int64)
    order = np.argsort(group, kind="stable")[np.count_nonzero(~keep) :]
    group = group[order]
    position = rows["position"].to_numpy().astype(np.float64)[order]
    valence = rows["valence"].to_numpy().astype(np.float64)[order]
    if duration_s is None:
        duration_s = np.full(len(journey_ids), math.nan)
    return Sequences(journey_ids, group, position, valence, duration_s)


def loaded_sequences(events: pa.Table, journey_ids: pa.Array, duration_s: F64) -> Sequences:
    """:func:`journey_sequences` of canonical events in memory (an Arrow table), without a query.

    The same moments in the same order: each event's journey is looked up among
    ``journey_ids``, the events of those journeys are put in journey order (the
    engine's :func:`~peakend.engine.journey_window`: by time, events without a time
    last, then ``seq``; one stable sort by journey when they arrive in that order
    within each journey), each gets its 0-based position among its journey's events,
    and the scored ones are kept. On ten million events the query's window, sort and
    copy into Arrow cost seconds of CPU time the columns read here do not.
    Events with the same journey, time and ``seq`` keep their stored order (the
    query leaves the order of such ties open).
    """
    all_rows = _journey_rows(events, journey_ids)
    keep = all_rows >= 0
    group = all_rows[keep]
    stamps = pc.cast(events["ts"], pa.int64())
    missing = pc.is_null(stamps).to_numpy(zero_copy_only=False)[keep]
    ts = pc.fill_null(stamps, 0).to_numpy(zero_copy_only=False)[keep]
    order = journey_order_of(group, missing, ts, events["seq"].to_numpy()[keep])
    group = group[order]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]]) if len(group) else group
    position = np.arange(len(group)) - np.repeat(starts, np.diff(np.r_[starts, len(group)]))
    valence = events["valence"]
    scored = pc.is_valid(valence).to_numpy(zero_copy_only=False)[keep][order]
    values = pc.fill_null(valence, math.nan).to_numpy(zero_copy_only=False)[keep][order]
    return Sequences(
        journey_ids,
        group[scored],
        position[scored].astype(np.float64),
        np.asarray(values[scored], dtype=np.float64),
        duration_s,
    )


def journey_runs(ids: pa.ChunkedArray) -> I64 | None:
    """Where each run of equal journey ids starts, when no journey has two runs (and no
    id is missing): events stored journey after journey, as loaded. ``None`` otherwise,
    or without events. One comparison of neighbours and a count of the runs' ids,
    where grouping or looking up every event's id hashes ten million texts."""
    if ids.null_count or len(ids) == 0:
        return None
    changes = []
    last = None
    for chunk in ids.chunks:
        if len(chunk) == 0:
            continue
        first = chunk[0].as_py()
        changes.append(np.array([last is None or first != last]))
        inner = pc.not_equal(chunk[1:], chunk[:-1]).to_numpy(zero_copy_only=False)
        changes.append(np.asarray(inner, dtype=bool))
        last = chunk[-1].as_py()
    starts = np.flatnonzero(np.concatenate(changes)).astype(np.int64)
    if pc.count_distinct(ids.take(pa.array(starts))).as_py() != len(starts):
        return None
    return starts


T = TypeVar("T")

#: :func:`event_runs` of each events table still alive, by the table's ``id``.
_RUNS: dict[int, I64 | None] = {}
_RUNS_LOCK = threading.Lock()


def once_per_table(
    store: dict[int, T], lock: threading.Lock, table: pa.Table, compute: Callable[[pa.Table], T]
) -> T:
    """``compute(table)``, computed once per table and kept in ``store`` while it lives.

    The report's sections ask about the same events table, some on two threads: the
    second caller waits for the first one's result (``lock``) instead of counting ten
    million events again.
    """
    key = id(table)
    with lock:
        if key not in store:
            store[key] = compute(table)
            weakref.finalize(table, store.pop, key, None)
        return store[key]


def event_runs(events: pa.Table) -> I64 | None:
    """:func:`journey_runs` of the events' journey ids, found once per events table (the
    timed share and the ordered moments both read them)."""
    return once_per_table(_RUNS, _RUNS_LOCK, events, lambda t: journey_runs(t["journey_id"]))


def _journey_rows(events: pa.Table, journey_ids: pa.Array) -> I64:
    """Each event's row in ``journey_ids`` (−1 when not there): looked up once per run of
    a journey's events when they lie together (:func:`event_runs`)."""
    ids = events["journey_id"]
    starts = event_runs(events)
    if starts is None:
        rows = pc.index_in(ids, value_set=journey_ids)
        return np.asarray(pc.fill_null(rows, -1).to_numpy(zero_copy_only=False), np.int64)
    found = pc.index_in(ids.take(pa.array(starts)), value_set=journey_ids)
    codes = np.asarray(pc.fill_null(found, -1).to_numpy(zero_copy_only=False), np.int64)
    return np.repeat(codes, np.diff(np.r_[starts, len(ids)]))


def sequence_features(seqs: Sequences, valence: F64 | None = None) -> pa.Table:
    """The engine's memory features of every journey, from (possibly changed) valences."""
    v = seqs.valence if valence is None else valence
    n = seqs.n_journeys
    if not len(v):
        raise ConfigError("no scored moments: the memory features need at least one score")
    at = seqs.layout
    count, starts = at.count, at.starts

    def per_journey(values: F64) -> F64:
        out = np.full(n, math.nan)
        out[at.owner] = values
        return out

    mean = np.bincount(seqs.group, weights=v, minlength=n) / np.where(at.has, count, np.nan)
    best = per_journey(np.maximum.reduceat(v, starts))
    trough = per_journey(np.minimum.reduceat(v, starts))
    cov = np.bincount(seqs.group, weights=at.dp * v, minlength=n)
    var = at.var
    trend = np.where(var > 0, cov / np.where(var > 0, var, 1.0), math.nan)
    return pa.table(
        {
            "mean_valence": mean,
            "best_valence": best,
            "trough_valence": trough,
            "peak_valence": np.where(-trough >= best, trough, best),
            "first_valence": per_journey(v[starts]),
            "end_valence": per_journey(v[at.ends]),
            "trend": trend,
            "n_scored": count,
            "duration_s": seqs.duration_s,
        }
    )


def remembered_of(model: MemoryModel, seqs: Sequences, valence: F64 | None = None) -> F64:
    """Remembered valence of every journey in ``seqs`` (with ``valence`` swapped in)."""
    x = feature_matrix(sequence_features(seqs, valence), model.features)
    return model.remembered(x)


def predicted_of(model: MemoryModel, seqs: Sequences, valence: F64 | None = None) -> F64:
    """Predicted outcome of every journey in ``seqs`` (with ``valence`` swapped in)."""
    x = feature_matrix(sequence_features(seqs, valence), model.features)
    return model.predict(x)


# ------------------------------------------------------------------ re-orderings
def shuffled(seqs: Sequences, seed: int) -> F64:
    """Valences with every journey's moments in a random (seeded) order."""
    key = np.random.default_rng(seed).random(len(seqs.valence))
    return seqs.valence[_by_group_then_key(seqs.group, key)]


def _by_group_then_key(group: I64, key: F64) -> I64:
    """``np.lexsort((key, group))`` for keys in [0, 1) and ``group`` in order, by one sort.

    ``group + key`` orders the moments by journey, then key, unless rounding merges
    two keys (or a key with the next journey): that is checked, and the two-key
    sort (whose ties keep their place) is used then.
    """
    order = np.argsort(group + key)
    g, k = group[order], key[order]
    if bool(np.all((g[1:] > g[:-1]) | ((g[1:] == g[:-1]) & (k[1:] > k[:-1])))):
        return np.asarray(order, dtype=np.int64)
    return np.asarray(np.lexsort((key, group)), dtype=np.int64)


def with_best_last(seqs: Sequences) -> F64:
    """Valences with each journey's best moment (the first one, on ties) moved to the end."""
    v, g = seqs.valence, seqs.group
    if not len(v):
        return v.copy()
    idx = np.arange(len(v))
    best = np.full(seqs.n_journeys, -np.inf)
    np.maximum.at(best, g, v)
    first_best = np.full(seqs.n_journeys, len(v))
    np.minimum.at(first_best, g, np.where(v == best[g], idx, len(v)))
    key = np.where(idx == first_best[g], len(v), idx)
    return v[np.lexsort((key, g))]


@dataclass(frozen=True)
class OrderEffect:
    """How much a random re-ordering of the moments moves one model's memory.

    ``mean_abs_change`` is the mean absolute change of the remembered valence over
    journeys with at least two moments (normal 95 % interval); ``share_changed``
    the share of those journeys whose remembered valence moved at all.
    """

    model: str
    mean_abs_change: Interval
    share_changed: float

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "model": self.model,
            "mean_abs_change": self.mean_abs_change.to_dict(),
            "share_changed": self.share_changed,
        }


def order_test(
    models: Sequence[MemoryModel], seqs: Sequences, *, seed: int = 0
) -> list[OrderEffect]:
    """Shuffle each journey's moments once (seeded) and measure the change per model."""
    # the features of every journey as lived and shuffled, computed once for all models
    before = sequence_features(seqs)
    after = sequence_features(seqs, shuffled(seqs, seed))
    multi = np.bincount(seqs.group, minlength=seqs.n_journeys) >= 2
    names = tuple(dict.fromkeys(f for model in models for f in model.features))
    lived, reordered = _by_column(before, names, multi), _by_column(after, names, multi)
    lived_rows, reordered_rows = np.ascontiguousarray(lived), np.ascontiguousarray(reordered)
    scratch = (np.empty(int(multi.sum())), np.empty(int(multi.sum())))
    result = []
    for model in models:
        index = [names.index(f) for f in model.features]
        x0 = Rows.taken(model, lived_rows, lived, index)
        x1 = Rows.taken(model, reordered_rows, reordered, index)

        def mean_abs(m: MemoryModel, x0: Rows = x0, x1: Rows = x1) -> list[float]:
            return [_nanmean(_abs_change(m, x0, x1, scratch))]

        change = _abs_change(model, x0, x1)
        result.append(
            OrderEffect(
                model.name,
                _mean_interval(change, weight_variances(model, mean_abs, 1)[0]),
                float(np.mean(change > 0)) if len(change) else 0.0,
            )
        )
    return result


def _by_column(table: pa.Table, names: tuple[str, ...], rows: NDArray[np.bool_]) -> F64:
    """The features ``names`` of the journeys ``rows`` as one matrix stored by column
    (Fortran order): each model's matrix and moved columns are taken from it."""
    out = np.empty((int(rows.sum()), len(names)), order="F")
    for j, name in enumerate(names):
        np.compress(rows, feature_column(table, name), out=out[:, j])
    return out


def _abs_change(model: MemoryModel, x0: Rows, x1: Rows, out: tuple[F64, F64] | None = None) -> F64:
    """``|remembered after - before|`` per journey, below 1e-9 counted as 0 (in ``out[1]``
    when given, ``out[0]`` then holds the remembered valence before)."""
    before = x0.remembered(model, None if out is None else out[0])
    change = x1.remembered(model, None if out is None else out[1])
    np.subtract(change, before, out=change)
    np.abs(change, out=change)
    change[change < 1e-9] = 0.0
    return change


@dataclass(frozen=True)
class Rows:
    """Feature rows of journeys and their linear predictor under a model's fitted weights.

    The delta method (:func:`weight_variance`) asks a statistic of these rows under
    the weights with one of them moved up or down, twice per weight. The linear
    predictor then moves by the step times that weight's column, which is read alone
    (``columns``, one contiguous array per feature) instead of recomputing the
    product with every feature of every journey each time.
    """

    x: F64
    coef: F64  # the fitted weights (intercept first)
    eta: F64  # the linear predictor under them
    product: F64  # ``x @ coef[1:]``, the linear predictor without the intercept
    columns: tuple[F64, ...]  # ``x`` by column, each contiguous

    @classmethod
    def of(cls, model: MemoryModel, x: F64) -> Rows:
        """The rows ``x`` under ``model``'s fitted weights."""
        by_column = np.asfortranarray(x)
        return cls._with(model, x, tuple(by_column[:, j] for j in range(x.shape[1])))

    @classmethod
    def taken(cls, model: MemoryModel, by_row: F64, by_column: F64, index: list[int]) -> Rows:
        """The rows of the columns ``index`` of a matrix stored both by row (C order,
        as the product wants) and by column (Fortran order), whose columns are used
        where they are instead of copied."""
        whole = index == list(range(by_row.shape[1]))
        x = by_row if whole else np.take(by_row, index, axis=1)
        return cls._with(model, x, tuple(by_column[:, j] for j in index))

    @classmethod
    def _with(cls, model: MemoryModel, x: F64, columns: tuple[F64, ...]) -> Rows:
        coef = model.fit.coef
        product = np.asarray(x @ coef[1:], dtype=np.float64)
        # the fitted linear predictor is the intercept plus that product (one product)
        eta = np.asarray(coef[0] + product, dtype=np.float64)
        return cls(x, coef, eta, product, columns)

    def linear_predictor(self, model: MemoryModel, out: F64 | None = None) -> F64:
        """The rows' linear predictor under ``model``'s weights (as
        :meth:`~peakend.models.memory.fit.LinearFit.linear_predictor` up to rounding).

        Under the fitted weights it is :attr:`eta` itself (not to be written to);
        otherwise a new array, or ``out`` when given.
        """
        coef = model.fit.coef
        if coef is self.coef:
            return self.eta
        moved = np.flatnonzero(coef[1:] != self.coef[1:])
        if moved.size == 0:  # the intercept alone
            shifted: F64 = np.add(coef[0], self.product, out=out)
            return shifted
        if moved.size > 1:
            eta = model.fit.linear_predictor(self.x)
            if out is None:
                return eta
            out[...] = eta
            return out
        j = int(moved[0])
        step = coef[1 + j] - self.coef[1 + j]
        # coef[0] + (product + step * column), in one array
        result: F64 = np.multiply(self.columns[j], step, out=out)
        np.add(self.product, result, out=result)
        np.add(coef[0], result, out=result)
        return result

    def remembered(self, model: MemoryModel, out: F64 | None = None) -> F64:
        """:meth:`MemoryModel.remembered` of the rows (into ``out`` when given)."""
        return model.remembered_from(self.linear_predictor(model, out), out=out)

    def predict(self, model: MemoryModel) -> F64:
        """:meth:`MemoryModel.predict` of the rows."""
        return model.predicted_from(self.linear_predictor(model))


@dataclass(frozen=True)
class BestLast:
    """What if the best moment came last, for one journey type.

    Changes are per journey (after minus before), averaged with a normal 95 %
    interval over the type's journeys with at least two moments.
    """

    journey_type: str
    remembered_before: Interval
    remembered_change: Interval
    outcome_change: Interval

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "journey_type": self.journey_type,
            "remembered_before": self.remembered_before.to_dict(),
            "remembered_change": self.remembered_change.to_dict(),
            "outcome_change": self.outcome_change.to_dict(),
        }


def best_last(model: MemoryModel, seqs: Sequences, types: NDArray[np.object_]) -> list[BestLast]:
    """ "What if the best moment came last?" per journey type (``types`` per journey)."""
    x0 = _features(model, seqs)
    x1 = _features(model, seqs, with_best_last(seqs))
    multi = np.bincount(seqs.group, minlength=seqs.n_journeys) >= 2
    labels = types.astype(str)
    result = []
    for label in ["all", *sorted({str(t) for t in types} - {"all"})]:
        mask = multi if label == "all" else multi & (labels == label)
        a, b = Rows.of(model, x0[mask]), Rows.of(model, x1[mask])
        before, remembered, outcome = weight_variances(model, _BestLastStatistics(a, b), 3)
        result.append(
            BestLast(
                label,
                _mean_interval(a.remembered(model), before),
                _mean_interval(b.remembered(model) - a.remembered(model), remembered),
                _mean_interval(b.predict(model) - a.predict(model), outcome),
            )
        )
    return result


class _BestLastStatistics:
    """The best-last what-if's three means under moved weights, from one linear
    predictor per set of rows: the remembered valence before, its change and the
    outcome's change (as ``_nanmean`` of the :class:`Rows`' figures). Three
    journey-sized buffers are reused from call to call."""

    def __init__(self, a: Rows, b: Rows) -> None:
        self.a, self.b = a, b
        self.buffers = tuple(np.empty(len(a.eta)) for _ in range(3))

    def __call__(self, m: MemoryModel) -> list[float]:
        """``[before, remembered change, outcome change]`` under ``m``'s weights."""
        first, second, third = self.buffers
        eta_a = self.a.linear_predictor(m, first)
        eta_b = self.b.linear_predictor(m, second)
        outcome = _nanmean(np.subtract(m.predicted_from(eta_b), m.predicted_from(eta_a), out=third))
        remembered_a = m.remembered_from(eta_a, out=first)
        remembered_b = m.remembered_from(eta_b, out=second)
        before = _nanmean(remembered_a)
        change = _nanmean(np.subtract(remembered_b, remembered_a, out=third))
        return [before, change, outcome]


def weight_variance(model: MemoryModel, statistic: Callable[[MemoryModel], float]) -> float:
    """Variance of ``statistic(model)`` that comes from the uncertainty of the model's weights.

    Delta method: the gradient of the statistic over the coefficients (central
    differences) against their robust covariance. A what-if is a function of the
    fitted weights, so an interval without this term would be too narrow exactly
    when the weights are uncertain. NaN when the fit has no covariance.
    """
    return weight_variances(model, lambda m: [statistic(m)], 1)[0]


def weight_variances(
    model: MemoryModel, statistics: Callable[[MemoryModel], Sequence[float]], count: int
) -> list[float]:
    """:func:`weight_variance` of ``count`` statistics, asked together under each moved weight.

    ``statistics(m)`` gives every statistic at once, so what they share (the linear
    predictor of every journey under the moved weights) is computed once per move
    instead of once per statistic: the same figures as one statistic at a time.
    """
    coef, cov = model.fit.coef, model.fit.cov
    if not np.all(np.isfinite(cov)):
        return [math.nan] * count
    grad = np.zeros((count, len(coef)))
    for i in range(len(coef)):
        step = 1e-5 * max(1.0, abs(float(coef[i])))
        up, down = coef.copy(), coef.copy()
        up[i] += step
        down[i] -= step
        high, low = statistics(_with_coef(model, up)), statistics(_with_coef(model, down))
        for k in range(count):
            grad[k, i] = (high[k] - low[k]) / (2 * step)
    return [float(g @ cov @ g) if np.all(np.isfinite(g)) else math.nan for g in grad]


def _with_coef(model: MemoryModel, coef: F64) -> MemoryModel:
    return replace(model, fit=replace(model.fit, coef=coef))


def _features(model: MemoryModel, seqs: Sequences, valence: F64 | None = None) -> F64:
    return feature_matrix(sequence_features(seqs, valence), model.features)


def _nanmean(values: F64) -> float:
    """The mean of the finite values (the values themselves when all are: no copy)."""
    finite = np.isfinite(values)
    if bool(finite.all()):
        return float(values.mean()) if len(values) else math.nan
    kept = values[finite]
    return float(kept.mean()) if len(kept) else math.nan


def _mean_interval(values: F64, weight_var: float = 0.0) -> Interval:
    """Mean over journeys with a normal 95 % interval: their spread plus the weights' share."""
    values = values[np.isfinite(values)]
    n = len(values)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    spread = float(values.var(ddof=1)) / n if n > 1 else 0.0
    if n < 2 and not weight_var > 0:
        return Interval(float(values[0]), math.nan, math.nan, 1)
    return wald(float(values.mean()), spread + weight_var, n)


# ------------------------------------------------------------------ one journey
@dataclass(frozen=True)
class WhatIf:
    """One journey before and after a change: remembered valence and predicted outcome."""

    valences_before: tuple[float, ...]
    valences_after: tuple[float, ...]
    remembered_before: float
    remembered_after: float
    outcome_before: float
    outcome_after: float
    #: The changes with 95 % intervals from the uncertainty of the model's weights.
    remembered_change_interval: Interval
    outcome_change_interval: Interval

    @property
    def remembered_change(self) -> float:
        """After minus before, in valence."""
        return self.remembered_after - self.remembered_before

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "valences_before": list(self.valences_before),
            "valences_after": list(self.valences_after),
            "remembered_before": self.remembered_before,
            "remembered_after": self.remembered_after,
            "remembered_change": self.remembered_change,
            "outcome_before": self.outcome_before,
            "outcome_after": self.outcome_after,
            "remembered_change_interval": self.remembered_change_interval.to_dict(),
            "outcome_change_interval": self.outcome_change_interval.to_dict(),
        }


def what_if(
    model: MemoryModel,
    valences: Sequence[float],
    *,
    move: tuple[int, int] | None = None,
    set_moment: tuple[int, float] | None = None,
    duration_s: float | None = None,
) -> WhatIf:
    """Re-order or change one moment of a journey and predict its memory again.

    Parameters
    ----------
    model:
        A fitted memory model (``MemoryResult.model``).
    valences:
        The journey's scored moments in order, on the valence scale [-1, 1].
    move:
        ``(from, to)``: take the moment at index ``from`` and insert it at ``to``
        (``-1`` is the end), e.g. ``move=(i_best, -1)``: "what if the best came last?".
    set_moment:
        ``(index, valence)``: give one moment another valence.
    duration_s:
        The journey's duration, for models that use it (default: none recorded).
    """
    before = np.asarray(valences, dtype=np.float64)
    if before.ndim != 1 or not len(before):
        raise ConfigError("what_if needs the journey's moments as a non-empty list of valences")
    if np.any(np.abs(before) > 1.0) or np.any(np.isnan(before)):
        raise ConfigError("valences must lie in [-1, 1] (a 1-5 score s has valence (s - 3) / 2)")
    after = _changed(before, move, set_moment)
    rows = [_one(before, duration_s), _one(after, duration_s)]
    x = np.vstack([feature_matrix(r, model.features) for r in rows])
    remembered, outcome = model.remembered(x), model.predict(x)

    def remembered_change(m: MemoryModel) -> float:
        r = m.remembered(x)
        return float(r[1] - r[0])

    def outcome_change(m: MemoryModel) -> float:
        o = m.predict(x)
        return float(o[1] - o[0])

    n = model.fit.n
    return WhatIf(
        tuple(before.tolist()),
        tuple(after.tolist()),
        float(remembered[0]),
        float(remembered[1]),
        float(outcome[0]),
        float(outcome[1]),
        wald(remembered_change(model), weight_variance(model, remembered_change), n),
        wald(outcome_change(model), weight_variance(model, outcome_change), n),
    )


def _changed(v: F64, move: tuple[int, int] | None, set_moment: tuple[int, float] | None) -> F64:
    n = len(v)
    result = list(v)
    if move is not None:
        src, dst = move
        if not -n <= src < n or not -n <= dst < n:
            raise ConfigError(f"move={move} is outside the journey's {n} moments")
        item = result.pop(src % n)
        result.insert(dst % n if dst != -1 else n - 1, item)
    if set_moment is not None:
        index, value = set_moment
        if not -n <= index < n:
            raise ConfigError(f"set_moment index {index} is outside the journey's {n} moments")
        if not -1.0 <= value <= 1.0:
            raise ConfigError(f"set_moment valence {value} must lie in [-1, 1]")
        result[index % n] = value
    return np.asarray(result, dtype=np.float64)


def _one(v: F64, duration_s: float | None) -> pa.Table:
    seqs = Sequences(
        pa.array(["journey"]),
        np.zeros(len(v), dtype=np.int64),
        np.arange(len(v), dtype=np.float64),
        v,
        np.array([math.nan if duration_s is None else duration_s]),
    )
    return sequence_features(seqs)
