"""Total effects by intervention: g-computation over the remembered peak, end, mean and trough.

A low score at a touchpoint costs the outcome twice: directly, and through how the
journey is remembered (it may become the journey's peak, its end, it lowers the
mean and may be the trough). The *total* effect a manager acts on is an average
by intervention: give every journey that scored the touchpoint a low (middle,
high) score there, keep everything else, and compare the mean outcomes.

The band regression without memory features does not estimate that average when
the outcome is not additive in the bands (the peak is a maximum, the end the last
score): least squares weights each journey's effect by how unpredictable the
band is from the other bands (Angrist 1998), and the figure understates the
average by intervention. G-computation (Robins 1986) identifies it when the order
of the moments is the experienced one:

1. fit the outcome model *with* the memory features (the band regression
   adjusted for ``peak_valence``, ``end_valence``, ``mean_valence`` and
   ``trough_valence``, whose band coefficients are the direct effects);
2. for every journey that scored the touchpoint, set its score there to each
   value of a band (in the proportions the band has at that touchpoint),
   recompute the memory features from the journey's moments in order
   (:func:`peakend.models.memory.whatif.sequence_features`, the engine's
   definitions), and predict;
3. average the predictions over those journeys; the penalty is the low band's
   mean minus the middle band's, the reward the high band's minus the middle's.

The model is linear, so a journey's predicted change is the band coefficient plus
the memory coefficients times the change of its memory features, and the
average is a linear contrast of the coefficients: its variance comes from the
same bias-reduced (CR2) sandwich as the direct effects (clustered by customer when
customers repeat), plus the spread of the journeys' changes (the average is over
journeys like these, not only these), plus what the average owes to the band's
values being set in the sample's proportions (:func:`shares_variance`, below;
a score of 1 and one of 2 move the remembered peak, end, mean and trough unlike
each other: without it the penalties covered the population's average in 71 %
of 4,000 simulated cases, with it 95 %). Intervals use Student's t on the
sandwich's degrees of freedom.

A binary outcome's model is the band model with the same memory features and
the link :data:`BINARY_LINK` (logistic): step 2 predicts probabilities, step 3
averages them (penalty and reward in probability, as the marginal effects the
band model shows otherwise). That average is not linear in the coefficients:
its variance is the delta method's ``g' V g``, ``g`` the mean over journeys of
the link's slope (``p(1 − p)`` for the logistic) times the change of the
journey's model row, ``V`` the bias-reduced sandwich of the fit
(:func:`~peakend.stats.sandwich.logistic_sandwich`), plus the same spread of the
journeys' changes, plus what the average owes to the band's values being set in
the sample's proportions rather than the population's (:func:`shares_variance`;
without it the penalties covered the population's average in 92 % of 4,000
simulated cases, with it 95 %).

Only for an outcome whose moments carry an experienced order (timestamps, or
``experienced_order = true`` in the spec): without an order there is no peak or
end to recompute, and the band regression's (variance-weighted) total effect, or
a binary outcome's average marginal effects, is what is shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from peakend.load import Dataset
from peakend.loading.event_order import journey_order_of
from peakend.models.memory.verdict import ORDER_SHARE, timed_share
from peakend.models.memory.whatif import Sequences, sequence_features
from peakend.models.moments.design import HIGH, LOW, MIDDLE, MomentDesign
from peakend.models.moments.fit import _matrix, full_fit
from peakend.models.moments.robust import is_small_band
from peakend.stats.distributions import t_quantile
from peakend.stats.links import LOGIT, BinaryLink
from peakend.stats.resampling import Interval
from peakend.stats.sandwich import Sandwich, logistic_sandwich, sandwich

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: The journey features through which a score moves the remembered experience.
MEMORY_FEATURES: tuple[str, ...] = ("peak_valence", "end_valence", "mean_valence", "trough_valence")
#: At most this many score values per band are set (quantiles of the band's values beyond it).
MAX_VALUES = 20
#: The link of a binary outcome's model here (:mod:`peakend.stats.links`): the one place that
#: says which. Its fit, sandwich and predictions (:func:`fit_adjusted`, :func:`binary_contrast`)
#: and the focus plan's gains (:mod:`peakend.models.focus.gains`) all follow it.
BINARY_LINK: BinaryLink = LOGIT


@dataclass(frozen=True)
class TotalInputs:
    """What the total effects by intervention are computed from, besides the outcome model.

    ``design`` is the band design adjusted for :data:`MEMORY_FEATURES` (the
    journeys' observed peak, end, mean and trough), ``moments`` every journey's
    scored moments in order and ``touchpoint`` each moment's column in the design
    (−1 for a touchpoint not analysed). Built from the events once; the focus
    plan's gains over the journeys each action moves
    (:mod:`peakend.models.focus.gains`) start from the same inputs.
    """

    design: MomentDesign
    moments: Sequences
    touchpoint: I64


@dataclass(frozen=True)
class TotalEffects:
    """Penalty and reward by intervention per touchpoint, with intervals: ``(T,)`` arrays.

    ``inputs`` holds what they were computed from when asked to keep it
    (:func:`total_by_intervention`), else ``None``.
    """

    penalty: F64
    penalty_half: F64
    reward: F64
    reward_half: F64
    inputs: TotalInputs | None = None

    def interval(self, t: int, band: int, n: int) -> Interval:
        """The interval of touchpoint ``t``'s total effect of ``band`` (LOW or HIGH)."""
        value, half = (
            (self.penalty[t], self.penalty_half[t])
            if band == LOW
            else (self.reward[t], self.reward_half[t])
        )
        return Interval(float(value), float(value - half), float(value + half), n)


#: The event columns the g-computation reads.
EVENT_COLUMNS = ("journey_id", "ts", "seq", "touchpoint", "score", "valence")


def experienced_order(dataset: Dataset, events: pa.Table | None = None) -> bool:
    """Whether the stored order of the moments is the one customers lived.

    Declared in the spec (``experienced_order = true``), or timestamps that
    separate the moments of most journeys (the memory analysis's rule).
    ``events`` defaults to :func:`scored_events`.
    """
    if dataset.spec.experienced_order:
        return True
    events = scored_events(dataset) if events is None else events
    stamps = events["ts"]
    if stamps.null_count == len(stamps):  # a survey without timestamps: decided at no cost
        return False
    share = timed_share(events)
    return bool(math.isfinite(share) and share >= ORDER_SHARE)


def scored_events(dataset: Dataset) -> pa.Table:
    """The events' :data:`EVENT_COLUMNS`: in memory as they are, or the scored ones from Spark.

    Events kept on a remote engine stay there; only their scored moments (these six
    columns) come back, as the design's aggregates already do.
    """
    source = dataset.event_source
    if source is not None and getattr(source, "remote", False):
        _, events = source.ibis_table()
        scored = events.filter(events.valence.notnull()).select(*EVENT_COLUMNS)
        table: pa.Table = scored.to_pyarrow()
        return table
    return dataset.events


def total_by_intervention(
    dataset: Dataset, design: MomentDesign, level: float, *, keep_inputs: bool = False
) -> TotalEffects | None:
    """The total effects by intervention of the band ``design``; ``None`` without an order.

    The memory features of the outcome model come from the journeys' ordered
    moments (:func:`peakend.models.memory.whatif.sequence_features`, the
    engine's definitions), the same code that recomputes them under each
    intervention. For a binary outcome BLAS runs on one thread, as in the
    model's fit: the products here are thin (journeys × model columns), and on a
    busy machine its threads spent 4–7 CPU s waiting, on 100,000 journeys, for
    0.7–1.2 s of work. A continuous outcome keeps the threads: one thread moves
    its figures in the 13th digit, and they stay those of earlier versions.
    With ``keep_inputs`` the result also holds its :class:`TotalInputs`.
    """
    events = scored_events(dataset)
    if not experienced_order(dataset, events):
        return None
    with threadpool_limits(limits=1 if design.binary else None, user_api="blas"):
        inputs = total_inputs(events, design)
    effects = total_from_inputs(inputs, level)
    return replace(effects, inputs=inputs) if keep_inputs else effects


def total_from_inputs(inputs: TotalInputs, level: float) -> TotalEffects:
    """The total effects by intervention of ``inputs``, BLAS as in :func:`total_by_intervention`."""
    with threadpool_limits(limits=1 if inputs.design.binary else None, user_api="blas"):
        return total_effects(inputs.design, inputs.moments, inputs.touchpoint, level)


def group_inputs(inputs: TotalInputs, rows: I64, group: MomentDesign) -> TotalInputs:
    """The :class:`TotalInputs` of ``group``, the design's journeys ``rows`` (ascending).

    Taken from the whole sample's instead of the events: the group's moments are
    its journeys' moments in the same order, and a journey's memory features
    depend on its own moments only, so every figure is the one the group's own
    inputs give (:func:`total_inputs` on the events), to the last digit.
    """
    local = np.full(inputs.design.n, -1, dtype=np.int64)
    local[rows] = np.arange(rows.size)
    owner = local[inputs.moments.group]
    keep = owner >= 0
    moments = Sequences(
        journey_ids=group.journey_ids,
        group=owner[keep],
        position=np.zeros(int(keep.sum())),  # the trend is not a memory feature here
        valence=inputs.moments.valence[keep],
        duration_s=np.full(group.n, math.nan),
    )
    controls = inputs.design.controls[rows]
    adjusted = replace(group, controls=controls, control_names=MEMORY_FEATURES)
    return TotalInputs(adjusted, moments, inputs.touchpoint[keep])


def total_inputs(events: pa.Table, design: MomentDesign) -> TotalInputs:
    """The journeys' ordered moments in ``events`` and ``design`` adjusted for their memory."""
    moments, touchpoint = ordered_moments(events, design)
    observed = memory_matrix(sequence_features(moments))
    adjusted = replace(design, controls=observed, control_names=MEMORY_FEATURES)
    return TotalInputs(adjusted, moments, touchpoint)


@dataclass(frozen=True)
class AdjustedFit:
    """The band model adjusted for :data:`MEMORY_FEATURES`, with its sandwich covariance."""

    touchpoint: I64  # each column's touchpoint after the intercept
    band: I64  # each column's band after the intercept (−1 − j for the j-th control)
    x: F64  # the design matrix
    fitted: Sandwich  # coefficients and their (bias-reduced or logistic) sandwich
    memory: I64  # the columns of MEMORY_FEATURES, in that order


def fit_adjusted(design: MomentDesign, link: BinaryLink | None = None) -> AdjustedFit:
    """Fit ``design`` (adjusted for :data:`MEMORY_FEATURES`) as the total effects need it.

    A binary outcome gets the band model with ``link`` (default
    :data:`BINARY_LINK`) and its sandwich
    (:func:`~peakend.stats.sandwich.logistic_sandwich`), a continuous one least
    squares with the bias-reduced (CR2) sandwich.
    """
    matrix = _matrix(design)
    x = matrix.x.astype(np.float64)
    if design.binary:
        link = BINARY_LINK if link is None else link
        coef = full_fit(design, link).coef
        fitted = logistic_sandwich(x, design.y, design.weights, coef, design.clusters, link)
    else:
        fitted = sandwich(x, design.y, design.weights, design.clusters, bias_reduced=True)
    band = matrix.band.astype(np.int64)
    memory = np.array(
        [
            1 + int(np.flatnonzero(band == -1 - design.control_names.index(f))[0])
            for f in MEMORY_FEATURES
        ]
    )
    return AdjustedFit(matrix.touchpoint.astype(np.int64), band, x, fitted, memory)


def total_effects(
    design: MomentDesign, moments: Sequences, touchpoint: I64, level: float
) -> TotalEffects:
    """G-computation of every touchpoint's total penalty and reward (module docs).

    ``design`` must be adjusted for :data:`MEMORY_FEATURES` (and nothing else);
    ``moments`` are its journeys' scored moments in order, ``touchpoint`` each
    moment's column in the design (−1 for one not analysed). A binary outcome's
    model is the band model with :data:`BINARY_LINK`
    (:func:`~peakend.models.moments.fit.full_fit`), its effects differences of
    mean predicted probabilities (:func:`value_contrast`); a continuous
    outcome's are linear in the coefficients (:func:`linear_contrast`). Either
    variance also holds the bands' value shares' (:func:`shares_variance`).
    """
    model = fit_adjusted(design)
    x, fitted, memory = model.x, model.fitted, model.memory
    extremes = Extremes.of(moments, touchpoint)
    shape = len(design.touchpoints)
    out = {k: np.full(shape, np.nan) for k in ("penalty", "penalty_half", "reward", "reward_half")}
    for t in range(shape):
        rows = np.flatnonzero(np.isin(design.bands[:, t], (LOW, MIDDLE, HIGH)))
        if rows.size == 0 or not np.any(design.bands[rows, t] == MIDDLE):
            continue
        at_t = touchpoint == t
        # a binary model predicts under each value; a linear one needs their mean only
        moved = OneTouchpoint.of(moments, at_t, rows, extremes.without(t))
        shares = _band_features(design, moved, rows, t) if design.binary else {}
        means, value_means = (
            ({}, {}) if design.binary else _mean_band_features(design, moved, rows, t)
        )
        features = shares.keys() | means.keys()
        if MIDDLE not in features:
            continue
        columns = {
            band: 1 + np.flatnonzero((model.touchpoint == t) & (model.band == band))
            for band in (LOW, HIGH)
        }
        parts: dict[int, float] = {}  # each band's shares_variance part, the middle's once
        for band, name in ((LOW, "penalty"), (HIGH, "reward")):
            if columns[band].size == 0 or band not in features:
                continue
            exact_df = is_small_band(design, t, band)
            if design.binary:
                shift = BandShift(x[rows], memory, columns, band, shares)
                value, gradient, change, by_value = value_contrast(
                    fitted.coef, shift, design.weights[rows]
                )
            else:
                value, gradient, change = linear_contrast(
                    fitted.coef, int(columns[band][0]), memory, means, band, design.weights[rows]
                )
                by_value = linear_by_value(fitted.coef, memory, value_means, band)
            for b in by_value.keys() - parts.keys():
                parts[b] = band_shares_variance(design, moved, rows, t, b, by_value[b])
            shares_var = 0.0
            for b in by_value:  # the order of shares_variance's sum
                shares_var += parts[b]
            se, df = contrast_uncertainty(
                fitted, gradient, change, design, rows, exact_df, shares_var
            )
            out[name][t] = value
            out[f"{name}_half"][t] = t_quantile(0.5 + level / 2, df) * se
    return TotalEffects(out["penalty"], out["penalty_half"], out["reward"], out["reward_half"])


#: Per band, the journeys' memory features under each value set: ``(share, (rows, 4))`` pairs.
BandFeatures = dict[int, list[tuple[float, F64]]]


@dataclass(frozen=True)
class BandShift:
    """What :func:`binary_contrast` needs to predict the journeys under each band.

    ``x`` holds the model rows of the journeys that scored the touchpoint,
    ``memory`` the columns of :data:`MEMORY_FEATURES`, ``columns`` the
    touchpoint's LOW and HIGH dummy columns, ``band`` the band contrasted with
    MIDDLE and ``features`` the memory features under each band's values.
    """

    x: F64
    memory: I64
    columns: dict[int, I64]
    band: int
    features: BandFeatures


def binary_contrast(
    coef: F64, shift: BandShift, weights: F64, link: BinaryLink | None = None
) -> tuple[float, F64, F64]:
    """The mean change, its gradient and each journey's change minus it (:func:`value_contrast`)."""
    value, gradient, change, _ = value_contrast(coef, shift, weights, link)
    return value, gradient, change


def value_contrast(
    coef: F64, shift: BandShift, weights: F64, link: BinaryLink | None = None
) -> tuple[float, F64, F64, dict[int, F64]]:
    """The mean predicted probability under ``shift.band`` minus under MIDDLE, by journey.

    Each journey's row gets the band's dummies and, for each value of the band
    (with its share), the memory features recomputed with that score; the
    model (``link``, default :data:`BINARY_LINK`) predicts its probability,
    averaged over the values. Returns the weighted mean change, its gradient in
    the coefficients (the mean over journeys of ``F'(η) Δx``, differenced;
    ``p(1 − p) Δx`` for the logistic model), each journey's change minus the
    mean, and per band (``shift.band`` and MIDDLE) the mean probability with
    each of its values set (for :func:`shares_variance`).
    """
    link = BINARY_LINK if link is None else link
    replaced = np.concatenate([*shift.columns.values(), shift.memory])
    eta_rest = shift.x @ coef - shift.x[:, replaced] @ coef[replaced]
    share = weights / weights.sum()
    change = np.zeros(len(eta_rest))
    slopes = np.zeros(len(eta_rest))  # F'(η) share, band minus middle: the rows' part
    gradient = np.zeros(coef.size)
    by_value: dict[int, F64] = {}
    for band, sign in ((shift.band, 1.0), (MIDDLE, -1.0)):
        dummy = shift.columns.get(band, np.zeros(0, dtype=np.int64))
        eta_band = eta_rest + float(coef[dummy].sum())
        by_value[band] = np.zeros(len(shift.features[band]))
        for k, (value_share, features) in enumerate(shift.features[band]):
            prob, derivative = link.probability_and_slope(eta_band + features @ coef[shift.memory])
            by_value[band][k] = share @ prob
            change += sign * value_share * prob
            slope = sign * value_share * share * derivative
            slopes += slope
            gradient[dummy] += slope.sum()
            gradient[shift.memory] += features.T @ slope
    rest = shift.x.T @ slopes
    rest[replaced] = 0.0  # those columns are set, not the journeys' own
    value = float(share @ change)
    return value, gradient + rest, change - value, by_value


def shares_variance(
    design: MomentDesign, change: OneTouchpoint, rows: I64, t: int, by_value: dict[int, F64]
) -> float:
    """The variance a contrast owes to its bands' value shares being this sample's.

    A band's mean prediction is ``Σ_v s_v m_v``: the mean prediction ``m_v`` with
    value ``v`` set (a probability, :func:`value_contrast`, or the linear model's,
    :func:`linear_by_value`), weighted by the share ``s_v`` the value has among the band's
    moments at the touchpoint (:func:`band_values`). Those shares are estimated
    from the sample; the average by intervention meant for journeys like these
    has the population's. Linearised, each of the band's moments contributes its
    value's ``m_v`` minus the band's mean, and their weighted sum (by customer
    when customers repeat) over the band's weight gives the variance; the bands
    hold different journeys, so the contrast's is the sum of the two bands'. At
    ``satisfied`` of the generator's 5,000 journeys it is up to half of a
    penalty's variance (a score of 1 and one of 2 move the remembered peak and
    trough unlike each other), under 1 % of a reward's; at ``overall`` 2–4 times the
    penalty's variance without it, 2–31 % of a reward's.
    """
    total = 0.0
    for band, means in by_value.items():
        total += band_shares_variance(design, change, rows, t, band, means)
    return total


def band_shares_variance(
    design: MomentDesign, change: OneTouchpoint, rows: I64, t: int, band: int, means: F64
) -> float:
    """One band's part of :func:`shares_variance`: ``means`` its mean prediction per value.

    The middle band's part is the same for the penalty and the reward, so
    :func:`total_effects` computes it once per touchpoint.
    """
    chosen = design.bands[rows, t][change.journey] == band
    weight = design.weights[rows][change.journey][chosen]
    valence = change.valence[chosen]
    values, _ = band_values(valence, weight)
    # each moment's value: itself, or its quantile when the band has many
    nearest = np.clip(np.searchsorted((values[1:] + values[:-1]) / 2, valence), 0, means.size - 1)
    centred = weight * (means[nearest] - float(weight @ means[nearest]) / float(weight.sum()))
    if design.clusters is not None:
        journeys = rows[change.journey[chosen]]
        centred = np.bincount(design.clusters[journeys], weights=centred)
    return float(np.sum(centred**2)) / float(weight.sum()) ** 2


def linear_contrast(
    coef: F64, column: int, memory: I64, features: dict[int, F64], band: int, weights: F64
) -> tuple[float, F64, F64]:
    """The linear model's mean change ``β_band + β_memory · mean(Δ memory)``, its gradient.

    Also each journey's change minus the mean change. ``features`` holds per band
    the features averaged over its values (:func:`_mean_band_features`): the model
    is linear in them.
    """
    change = features[band] - features[MIDDLE]
    mean = weights @ change / weights.sum()
    gradient = np.zeros(coef.size)
    gradient[column] = 1.0
    gradient[memory] = mean
    value = float(coef[column] + coef[memory] @ mean)
    return value, gradient, (change - mean) @ coef[memory]


def linear_by_value(
    coef: F64, memory: I64, value_means: dict[int, F64], band: int
) -> dict[int, F64]:
    """Per band (``band`` and MIDDLE), the linear model's mean prediction with each value set.

    ``value_means`` holds per band the journeys' mean memory features with each of
    its values set (:func:`_mean_band_features`); the prediction is
    ``β_memory · mean features``, leaving out the band's own coefficient and the
    journeys' other columns, the same for every value of a band, which
    :func:`shares_variance` centres away.
    """
    return {b: value_means[b] @ coef[memory] for b in (band, MIDDLE)}


def contrast_uncertainty(
    fitted: Sandwich,
    gradient: F64,
    deviation: F64,
    design: MomentDesign,
    rows: I64,
    exact_df: bool,
    shares_var: float = 0.0,
) -> tuple[float, float]:
    """The standard error of a mean predicted change and its t degrees of freedom.

    The variance is the delta method's ``g' V g`` (``g`` the gradient in the
    coefficients, ``V`` the fit's sandwich) plus the spread of the journeys' own
    changes around their mean (``deviation``; by customer when customers repeat),
    plus ``shares_var`` (:func:`shares_variance`). The degrees
    of freedom are Bell & McCaffrey's for that contrast
    (:meth:`~peakend.stats.sandwich.Sandwich.contrast_df`), at most the fit's
    own (customers − 1, or journeys − columns): a band a few journeys reach
    knows its variance from those few; without ``exact_df`` (a band many journeys
    reach, :func:`~peakend.models.moments.robust.is_small_band`) the fit's own.
    """
    w = design.weights[rows]
    model_var = float(gradient @ fitted.cov @ gradient)
    spread = w * deviation
    if design.clusters is not None:
        spread = np.asarray(np.bincount(design.clusters[rows], weights=spread), dtype=np.float64)
    journeys_var = float(np.sum(spread**2)) / float(w.sum()) ** 2
    eta = fitted.contrast_df(gradient) if exact_df else math.inf
    df = min(eta, fitted.df) if math.isfinite(eta) else fitted.df
    return math.sqrt(max(model_var, 0.0) + journeys_var + shares_var), max(df, 1.0)


def _band_features(design: MomentDesign, change: OneTouchpoint, rows: I64, t: int) -> BandFeatures:
    """Per band (LOW, MIDDLE, HIGH): each journey's memory features with each band value set.

    Only the journeys in ``rows`` (those scoring touchpoint ``t``) are changed; every
    moment of ``t`` in a journey gets the value (``change``, :class:`OneTouchpoint`).
    """
    found: BandFeatures = {}
    for band, (values, shares) in _values_by_band(design, change, rows, t).items():
        found[band] = [
            (float(share), change.features(value))
            for value, share in zip(values, shares, strict=True)
        ]
    return found


def _mean_band_features(
    design: MomentDesign, change: OneTouchpoint, rows: I64, t: int
) -> tuple[dict[int, F64], dict[int, F64]]:
    """Per band, the journeys' memory features averaged over the band's values (by share).

    What the linear model needs (:func:`linear_contrast`): one ``(rows, 4)``
    matrix per band instead of one per value. Also per band the features with
    each value set averaged over the journeys (weighted), ``(values, 4)``, for
    :func:`linear_by_value`.
    """
    weights = design.weights[rows] / design.weights[rows].sum()
    found: dict[int, F64] = {}
    by_value: dict[int, F64] = {}
    for band, (values, shares) in _values_by_band(design, change, rows, t).items():
        total = np.zeros((rows.size, len(MEMORY_FEATURES)))
        per_value = np.empty((values.size, len(MEMORY_FEATURES)))
        for k, (value, share) in enumerate(zip(values, shares, strict=True)):
            features = change.features(value)
            total += float(share) * features
            per_value[k] = weights @ features
        found[band] = total
        by_value[band] = per_value
    return found, by_value


def _values_by_band(
    design: MomentDesign, change: OneTouchpoint, rows: I64, t: int
) -> dict[int, tuple[F64, F64]]:
    """Per band the values set and their shares: those the band has at ``t`` (weighted)."""
    band_of = design.bands[rows, t][change.journey]
    weight_of = design.weights[rows][change.journey]
    found: dict[int, tuple[F64, F64]] = {}
    for band in (LOW, MIDDLE, HIGH):
        chosen = band_of == band
        if chosen.any():
            found[band] = band_values(change.valence[chosen], weight_of[chosen])
    return found


@dataclass(frozen=True)
class OneTouchpoint:
    """What a journey's memory features become when its moments at one touchpoint get a value.

    The features are a mean, extremes and the last moment, so setting every moment of
    the touchpoint to ``v`` changes them in closed form: the mean is
    ``(rest_sum + k v) / count``, the best and worst moments the extremes of the rest
    and ``v``, the end ``v`` where the touchpoint is the last moment. The rest is
    summarised once per touchpoint; each value then costs a few operations per journey
    instead of a pass over every moment (:func:`~peakend.models.memory.whatif.sequence_features`
    gives the same figures, up to the order of a sum's terms).
    """

    count: F64  # scored moments per journey (0: none, features missing)
    at_count: F64  # of them at the touchpoint
    rest_sum: F64  # the sum of the others' valences
    rest_best: F64  # their maximum (−inf without any)
    rest_worst: F64  # their minimum (+inf without any)
    ends_here: NDArray[np.bool_]  # whether the last moment is at the touchpoint
    end: F64  # the last moment's valence
    journey: I64  # for each moment at the touchpoint, its journey (index into the rows)
    valence: F64  # and its valence

    @classmethod
    def of(
        cls,
        moments: Sequences,
        at_t: NDArray[np.bool_],
        rows: I64,
        rest: tuple[F64, F64] | None = None,
    ) -> OneTouchpoint:
        """Summarise the journeys ``rows`` of ``moments`` around the moments ``at_t``.

        ``rest`` gives every journey's best and worst moment not at the touchpoint
        (:meth:`Extremes.without`), found here from ``at_t`` when not given.
        """
        n = moments.n_journeys
        layout = moments.layout
        local = np.full(n, -1, dtype=np.int64)
        local[rows] = np.arange(rows.size)
        group, valence = moments.group, moments.valence
        if rest is None:  # the touchpoint as code 1, every other moment as 0
            rest = Extremes.of(moments, at_t.astype(np.int64)).without(1)
        at_count = np.bincount(group[at_t], minlength=n).astype(np.float64)[rows]
        # the others' valences summed in order, the touchpoint's counted as 0 (exactly so)
        rest_sum = np.bincount(group, weights=np.where(at_t, 0.0, valence), minlength=n)
        ends_here = np.zeros(n, dtype=bool)
        ends_here[layout.owner] = at_t[layout.ends]
        end = np.full(n, np.nan)
        end[layout.owner] = valence[layout.ends]
        here = np.flatnonzero(at_t)
        here = here[local[group[here]] >= 0]
        return cls(
            count=layout.count[rows],
            at_count=at_count,
            rest_sum=np.asarray(rest_sum[rows], dtype=np.float64),
            rest_best=rest[0][rows],
            rest_worst=rest[1][rows],
            ends_here=ends_here[rows],
            end=end[rows],
            journey=local[group[here]],
            valence=valence[here],
        )

    def features(self, value: float) -> F64:
        """The ``(rows, 4)`` :data:`MEMORY_FEATURES` with every moment of the touchpoint at
        ``value`` (0 for a journey without moments, as :func:`memory_matrix`)."""
        present = self.at_count > 0
        best = np.where(present, np.maximum(self.rest_best, value), self.rest_best)
        worst = np.where(present, np.minimum(self.rest_worst, value), self.rest_worst)
        out = np.empty((self.count.size, len(MEMORY_FEATURES)))
        out[:, 0] = np.where(-worst >= best, worst, best)  # peak_valence
        out[:, 1] = np.where(self.ends_here, value, self.end)  # end_valence
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, 2] = (self.rest_sum + self.at_count * value) / self.count  # mean_valence
        out[:, 3] = worst  # trough_valence
        out[self.count == 0] = 0.0
        return out


@dataclass(frozen=True)
class Extremes:
    """Every journey's best and worst moment without any one touchpoint, for all at once.

    Leaving out touchpoint ``t`` changes a journey's best moment only when all of its
    best moments are at ``t``: then it is the best of the moments at other
    touchpoints, else it stays. So one pass finds each journey's best, the one
    touchpoint its best moments are all at (if any) and the best without that
    touchpoint, and :meth:`without` answers for every touchpoint from those,
    instead of a pass over every moment per touchpoint. The same for the worst:
    maxima and minima of the same values as such a pass.
    """

    best: F64  # per journey (−inf without moments)
    best_at: I64  # the touchpoint of all its best moments, −2 when they are at several
    best_rest: F64  # the best of its moments not at ``best_at``
    worst: F64
    worst_at: I64
    worst_rest: F64

    @classmethod
    def of(cls, moments: Sequences, touchpoint: I64) -> Extremes:
        """The extremes of ``moments``, each at its ``touchpoint`` (−1: not analysed)."""
        best = _extreme_without(moments, touchpoint, np.maximum, -np.inf)
        worst = _extreme_without(moments, touchpoint, np.minimum, np.inf)
        return cls(*best, *worst)

    def without(self, t: int) -> tuple[F64, F64]:
        """Every journey's best and worst moment not at touchpoint ``t``."""
        best = np.where(self.best_at == t, self.best_rest, self.best)
        worst = np.where(self.worst_at == t, self.worst_rest, self.worst)
        return best, worst


def _extreme_without(
    moments: Sequences, touchpoint: I64, pick: np.ufunc, empty: float
) -> tuple[F64, I64, F64]:
    """Per journey: the extreme (``pick``), the one touchpoint of all the moments at it
    (−2 when several), and the extreme of the moments not at that touchpoint."""
    n, layout, valence = moments.n_journeys, moments.layout, moments.valence
    top = np.full(n, empty)
    at = np.full(n, -2, dtype=np.int64)
    rest = np.full(n, empty)
    if not valence.size:
        return top, at, rest
    starts, owner = layout.starts, layout.owner
    sizes = np.diff(np.r_[starts, valence.size])
    extreme = pick.reduceat(valence, starts)
    on_top = valence == np.repeat(extreme, sizes)
    big = np.iinfo(np.int64).max
    first = np.minimum.reduceat(np.where(on_top, touchpoint, big), starts)
    last = np.maximum.reduceat(np.where(on_top, touchpoint, -big), starts)
    one = np.where(first == last, first, -2)
    others = np.where(touchpoint == np.repeat(one, sizes), empty, valence)
    top[owner] = extreme
    at[owner] = one
    rest[owner] = pick.reduceat(others, starts)
    return top, at, rest


def band_values(valence: F64, weight: F64) -> tuple[F64, F64]:
    """The band's distinct values and their (weighted) shares; quantiles when there are many."""
    values, inverse = np.unique(valence, return_inverse=True)
    shares = np.bincount(inverse, weights=weight, minlength=values.size)
    if values.size > MAX_VALUES:
        cumulative = np.cumsum(shares) / shares.sum()
        probs = (np.arange(MAX_VALUES) + 0.5) / MAX_VALUES
        values = values[np.searchsorted(cumulative, probs)]
        return values, np.full(MAX_VALUES, 1.0 / MAX_VALUES)
    return values, shares / shares.sum()


def memory_matrix(features: pa.Table) -> F64:
    """The :data:`MEMORY_FEATURES` columns as an ``(n, 4)`` matrix (missing = 0, as adjusted)."""
    columns = [features[f].to_numpy(zero_copy_only=False) for f in MEMORY_FEATURES]
    return np.nan_to_num(np.column_stack(columns).astype(np.float64), nan=0.0)


def ordered_moments(events: pa.Table, design: MomentDesign) -> tuple[Sequences, I64]:
    """Scored moments of the design's journeys in journey order, and each one's touchpoint.

    Journey order is the engine's (:func:`peakend.engine.journey_window`): by
    time, events without a time last, then by ``seq``. The touchpoint is its
    column in the design (−1 for a touchpoint not analysed). Only the columns
    needed are read, each once, and the scored moments picked with a mask: the
    events' other columns (text among them) are never copied.
    """
    group = pc.index_in(events["journey_id"], value_set=design.journey_ids)
    mask = pc.and_(pc.is_valid(events["valence"]), pc.is_valid(group))
    keep = mask.to_numpy(zero_copy_only=False)
    rows = pc.fill_null(group, -1).to_numpy(zero_copy_only=False)[keep].astype(np.int64)
    stamps = pc.cast(events["ts"], pa.int64())
    missing = pc.is_null(stamps).to_numpy(zero_copy_only=False)[keep]
    ts = pc.fill_null(stamps, 0).to_numpy(zero_copy_only=False)[keep]
    seq = events["seq"].to_numpy()[keep]
    order = journey_order_of(rows, missing, ts, seq)
    names = pa.array(design.touchpoints, pa.string())
    code = pc.index_in(pc.cast(events["touchpoint"], pa.string()), value_set=names)
    touchpoint = pc.fill_null(code, -1).to_numpy(zero_copy_only=False)[keep].astype(np.int64)
    valence = events["valence"].to_numpy().astype(np.float64)[keep]
    moments = Sequences(
        journey_ids=design.journey_ids,
        group=rows[order],
        position=np.zeros(order.size),  # the trend is not a memory feature here
        valence=valence[order],
        duration_s=np.full(design.n, math.nan),
    )
    return moments, touchpoint[order]
