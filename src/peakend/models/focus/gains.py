"""Effects by intervention over the journeys an action moves: what the focus plan's gains rest on.

Where the moments table shows total effects by intervention (an outcome whose
moments carry an experienced order: :mod:`peakend.models.moments.total`), a fix
moves the journeys that now score the touchpoint low to a middle score, and an
excel action the journeys now in the middle to a high one. The gain of the
action is the average change of the outcome *over those journeys*, by the same
g-computation: the outcome model with the memory features, each journey's
peak, end, mean and trough recomputed from its own moments in order with the
new score (the middle or high band's values in the proportions the touchpoint
has), minus the journey's prediction as it is now. For a binary outcome the
change is in probability.

The journeys moved are not typical ones: a customer who scores one touchpoint
low often scores others low too, and lifting one low moment then moves the
trough or the remembered peak less than on an average journey. The moments
table's penalty (averaged over every journey that scored the touchpoint) can
therefore over- or understate what a fix wins; on the generator's journeys it
overstated the fixes by 6-21 % (``docs/focus.md``).

The interval comes from the same uncertainty as the moments table's total
effects: the delta method on the bias-reduced sandwich of the outcome model
plus the spread of the moved journeys' own changes, on Student's t
(:mod:`peakend.models.moments.total`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace
from functools import cached_property

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from peakend.errors import ConfigError
from peakend.load import Dataset
from peakend.models.memory.whatif import Sequences
from peakend.models.moments.design import HIGH, LOW, MIDDLE, MomentDesign, build_design
from peakend.models.moments.result import MomentsResult
from peakend.models.moments.robust import is_small_band
from peakend.models.moments.total import (
    BandShift,
    Extremes,
    OneTouchpoint,
    TotalInputs,
    band_values,
    binary_contrast,
    contrast_uncertainty,
    fit_adjusted,
    linear_contrast,
    scored_events,
    total_inputs,
)
from peakend.stats.distributions import t_quantile
from peakend.stats.resampling import Interval
from peakend.stats.sandwich import Sandwich

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: The estimand of :func:`moved_effects`' figures (``FocusPlan.effects``).
BY_INTERVENTION = "total_by_intervention"

#: What an action moves: the band its journeys leave, the band they reach.
MOVES = {"fix": (LOW, MIDDLE), "excel": (MIDDLE, HIGH)}


def moved_effects(
    dataset: Dataset,
    moments: MomentsResult,
    actions: Iterable[tuple[str, str]],
    *,
    weight_col: str | None = None,
) -> dict[tuple[str, str], Interval] | None:
    """The effect by intervention over the journeys each ``(kind, touchpoint)`` action moves.

    ``kind`` is ``"fix"`` (the penalty: the moved journeys' outcome as they are
    minus with a middle score) or ``"excel"`` (the reward: with a high score
    minus as they are). ``None`` when ``moments`` does not carry total effects
    by intervention (no experienced order, or effects adjusted for journey
    features): the plan then keeps the moments' own effects. An action whose
    effect is not defined (no reference band) is left out. ``weight_col`` must
    be the one the moments were estimated with.

    Raises
    ------
    ConfigError
        ``dataset`` does not hold the journeys the moments were estimated on.
    """
    if moments.estimand != BY_INTERVENTION:
        return None
    wanted = [(kind, name) for kind, name in actions if kind in MOVES]
    if not wanted:
        return {}
    inputs = _inputs(dataset, moments, weight_col)
    with threadpool_limits(limits=1 if inputs.design.binary else None, user_api="blas"):
        model = _Model.fit(inputs)
        found = {
            (kind, name): model.effect(inputs.design.touchpoints.index(name), *MOVES[kind])
            for kind, name in wanted
        }
    level = moments.settings.level
    return {
        key: _interval(value, t_quantile(0.5 + level / 2, df) * se, n)
        for key, (value, se, df, n) in found.items()
        if math.isfinite(value)
    }


def _inputs(dataset: Dataset, moments: MomentsResult, weight_col: str | None) -> TotalInputs:
    """The moments' adjusted design and ordered moments, touchpoints in the table's order.

    Taken from the moments result when it kept them
    (:attr:`~peakend.models.moments.MomentsResult.total_inputs`), else built from
    the events as the moments analysis built them. Either way the design's
    columns follow the moments table (by importance), so the outcome model and
    every figure are the same to the last digit.
    """
    order = [m.touchpoint for m in moments.touchpoints]
    kept = moments.total_inputs
    if kept is not None:
        _check_journeys(_journeys_with_outcome(dataset, moments.outcome), moments)
        return _reordered(kept, order)
    design = build_design(
        dataset,
        moments.outcome,
        cuts=moments.settings.cuts,
        weight_col=weight_col,
        touchpoints=order,
    )
    _check_journeys(design.n, moments)
    with threadpool_limits(limits=1 if design.binary else None, user_api="blas"):
        return total_inputs(scored_events(dataset), design)


def _journeys_with_outcome(dataset: Dataset, outcome: str) -> int:
    """Journeys of ``dataset`` with a value for ``outcome`` (those a design would hold)."""
    if outcome not in dataset.outcomes.column_names:
        return 0
    column = dataset.outcomes[outcome]
    return len(column) - int(column.null_count)


def _check_journeys(n: int, moments: MomentsResult) -> None:
    """Refuse a dataset whose ``n`` journeys with the outcome are not the moments'."""
    if n != moments.n_journeys:
        raise ConfigError(
            f"the moments were estimated on {moments.n_journeys:,} journeys with "
            f"{moments.outcome!r}, this dataset has {n:,}: pass the dataset (and "
            "weight_col) the moments were estimated with"
        )


def _reordered(inputs: TotalInputs, order: list[str]) -> TotalInputs:
    """``inputs`` with the design's touchpoint columns in ``order`` (the same touchpoints)."""
    design = inputs.design
    columns = np.array([design.touchpoints.index(name) for name in order], dtype=np.int64)
    new_of_old = np.empty(columns.size + 1, dtype=np.int64)
    new_of_old[columns] = np.arange(columns.size)
    new_of_old[-1] = -1  # a moment of a touchpoint not analysed stays −1
    reordered = replace(design, touchpoints=tuple(order), bands=design.bands[:, columns])
    return TotalInputs(reordered, inputs.moments, new_of_old[inputs.touchpoint])


def _interval(value: float, half: float, n: int) -> Interval:
    return Interval(value, value - half, value + half, n)


class _Model:
    """The outcome model with the memory features, and the journeys' moments in order."""

    def __init__(
        self,
        design: MomentDesign,
        moments: Sequences,
        touchpoint: I64,
        x: F64,
        fitted: Sandwich,
        columns: tuple[I64, I64, I64],
    ) -> None:
        self.design, self.moments, self.touchpoint = design, moments, touchpoint
        self.x, self.fitted = x, fitted
        self.band_columns, self.band_of_column, self.memory = columns

    @cached_property
    def extremes(self) -> Extremes:
        """Every journey's best and worst moment without any one touchpoint (one pass)."""
        return Extremes.of(self.moments, self.touchpoint)

    @classmethod
    def fit(cls, inputs: TotalInputs) -> _Model:
        """Fit the band model adjusted for :data:`MEMORY_FEATURES` (as the moments table's)."""
        model = fit_adjusted(inputs.design)
        columns = (model.touchpoint, model.band, model.memory)
        return cls(inputs.design, inputs.moments, inputs.touchpoint, model.x, model.fitted, columns)

    def effect(self, t: int, leave: int, reach: int) -> tuple[float, float, float, int]:
        """Mean change over the journeys in band ``leave`` at ``t`` if they reached ``reach``.

        Returned as a band's effect against the middle (the penalty for
        LOW → MIDDLE, the reward for MIDDLE → HIGH), its standard error, t
        degrees of freedom and the number of journeys moved; NaN when not defined.
        """
        design = self.design
        rows = np.flatnonzero(design.bands[:, t] == leave)
        band = HIGH if reach == HIGH else LOW
        columns = {
            b: 1 + np.flatnonzero((self.band_columns == t) & (self.band_of_column == b))
            for b in (LOW, HIGH)
        }
        reference = design.bands[:, t] == reach
        if rows.size == 0 or columns[band].size == 0 or not reference.any():
            return math.nan, math.nan, math.nan, int(rows.size)
        features = {
            leave: [(1.0, design.controls[rows])],  # as they are
            reach: self._features_with(t, rows, reference),
        }
        weights = design.weights[rows]
        if design.binary:
            shift = BandShift(self.x[rows], self.memory, columns, band, features)
            value, gradient, change = binary_contrast(self.fitted.coef, shift, weights)
        else:
            averaged = {b: _averaged(pairs) for b, pairs in features.items()}
            value, gradient, change = linear_contrast(
                self.fitted.coef, int(columns[band][0]), self.memory, averaged, band, weights
            )
        exact_df = is_small_band(design, t, band)
        se, df = contrast_uncertainty(self.fitted, gradient, change, design, rows, exact_df)
        return value, se, df, int(rows.size)

    def _features_with(
        self, t: int, rows: I64, reference: NDArray[np.bool_]
    ) -> list[tuple[float, F64]]:
        """Memory features of ``rows`` with every moment at ``t`` set to each value of a band.

        The band's values and shares are those of the journeys in ``reference``
        (all that score touchpoint ``t`` in that band).
        """
        design, moments = self.design, self.moments
        at_t = self.touchpoint == t
        in_band = at_t & reference[moments.group]
        values, shares = band_values(
            moments.valence[in_band], design.weights[moments.group][in_band]
        )
        change = OneTouchpoint.of(moments, at_t, rows, self.extremes.without(t))
        return [
            (float(share), change.features(value))
            for value, share in zip(values, shares, strict=True)
        ]


def _averaged(pairs: list[tuple[float, F64]]) -> F64:
    """Features averaged over a band's values by share: what the linear model needs."""
    total = np.zeros_like(pairs[0][1])
    for share, features in pairs:
        total += share * features
    return total
