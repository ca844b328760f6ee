"""Moments per segment: business vs leisure travellers, new vs returning customers.

Each group of a segment attribute gets its own fit and bootstrap. Where the
whole sample's penalties and rewards are total effects by intervention (an
outcome whose moments carry an experienced order, without adjustment), each
group's are too: the g-computation of :mod:`peakend.models.moments.total` on the
group's journeys alone (its own outcome model with the memory features, its
journeys' moments recomputed), so a group's figures mean what the whole
sample's mean. Otherwise each group keeps its band regression's effects.

Small groups give noisy estimates, so with three or more groups every penalty and reward is
pooled with the others (:func:`peakend.stats.pooling.pool`): each group's
estimate is shrunk towards what the *other* groups say, by how much they agree,
and its interval is a FAB interval, which holds the group's true effect 95 % of
the time whether the groups share one effect or differ (shorter than the
group's own interval when it agrees with the others). With two groups there is
nothing to learn the spread from and each keeps its own estimate.
Classes per group follow the same rule as the whole sample
(:mod:`peakend.models.moments.verdict`) on the pooled intervals.

Whether a touchpoint's effect differs between groups is tested with Cochran's
Q (chi-squared on groups - 1 degrees of freedom) for penalty and reward, with
Holm's correction over all touchpoints; a class *differs* when the groups'
classes differ and one of the two tests rejects at 5 %.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from peakend.errors import ConfigError, ModelError, StatisticalWarning
from peakend.load import Dataset
from peakend.models.moments.analysis import (
    MomentsResult,
    TouchpointMoment,
    classify,
    moments_from_design,
    recommend,
)
from peakend.models.moments.design import MomentDesign
from peakend.models.moments.fit import check_rows, quiet
from peakend.models.moments.total import (
    TotalEffects,
    group_inputs,
    total_by_intervention,
    total_from_inputs,
)
from peakend.models.moments.verdict import normal_confidence
from peakend.stats.pooling import pool
from peakend.stats.resampling import Interval

ALPHA = 0.05


@dataclass(frozen=True)
class SegmentGroup:
    """One group of a segment attribute with its partially pooled moments."""

    name: str
    n_journeys: int
    fit: Interval
    touchpoints: tuple[TouchpointMoment, ...]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "n_journeys": self.n_journeys,
            "fit": self.fit.to_dict(),
            "touchpoints": [m.to_dict() for m in self.touchpoints],
        }


@dataclass(frozen=True)
class SegmentDifference:
    """Does a touchpoint's effect differ between the groups of a segment?"""

    touchpoint: str
    classes: dict[str, str]
    penalty_q: float
    penalty_p: float
    reward_q: float
    reward_p: float
    class_differs: bool

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (p-values Holm-adjusted)."""
        return {
            "touchpoint": self.touchpoint,
            "classes": dict(self.classes),
            "penalty": {"q": self.penalty_q, "p_holm": self.penalty_p},
            "reward": {"q": self.reward_q, "p_holm": self.reward_p},
            "class_differs": self.class_differs,
        }


@dataclass(frozen=True)
class SegmentMoments:
    """Per-group moments for one segment attribute and the tests between groups."""

    attribute: str
    groups: tuple[SegmentGroup, ...]
    differences: tuple[SegmentDifference, ...]
    skipped: dict[str, int]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "attribute": self.attribute,
            "groups": [g.to_dict() for g in self.groups],
            "differences": [d.to_dict() for d in self.differences],
            "skipped_groups": dict(self.skipped),
        }


def segment_moments(
    dataset: Dataset,
    design: MomentDesign,
    pooled: MomentsResult,
    attributes: Sequence[str],
    *,
    progress: Callable[[int], None] | None = None,
) -> tuple[SegmentMoments, ...]:
    """Fit every group of every segment attribute and pool them (see module docs)."""
    return tuple(
        _one_attribute(dataset, design, pooled, attribute, progress) for attribute in attributes
    )


def group_labels(dataset: Dataset, design: MomentDesign, attribute: str) -> list[str | None]:
    """The group of each journey in ``design`` (``None`` when unknown)."""
    if attribute not in dataset.outcomes.column_names or attribute == "journey_id":
        raise ConfigError(
            f"segment {attribute!r} is not an attribute of this dataset; declare it under "
            "`attributes` in the spec (and list it in `segments`)"
        )
    index = pc.index_in(design.journey_ids, value_set=dataset.outcomes["journey_id"])
    values = pc.cast(dataset.outcomes[attribute], pa.string()).combine_chunks()
    labels: list[str | None] = values.take(index).to_pylist()
    return labels


def _one_attribute(
    dataset: Dataset,
    design: MomentDesign,
    pooled: MomentsResult,
    attribute: str,
    progress: Callable[[int], None] | None,
) -> SegmentMoments:
    labels = np.array(group_labels(dataset, design, attribute), dtype=object)
    fits: dict[str, MomentsResult] = {}
    skipped: dict[str, int] = {}
    for name in sorted({x for x in labels if x is not None}):
        rows = np.flatnonzero(labels == name)
        sub = design.subset(rows)
        try:
            check_rows(sub)
        except ModelError:
            skipped[name] = int(rows.size)
            continue
        with quiet():  # reported once, for the whole sample
            fits[name] = moments_from_design(
                sub,
                pooled.settings,
                dataset=dataset,
                outcome=pooled.outcome,
                progress=progress,
                total=_group_total(dataset, sub, rows, pooled),
            )
    if skipped:
        warnings.warn(
            f"segment {attribute!r}: groups too small to fit on their own were skipped: "
            + ", ".join(f"{k} (n={v})" for k, v in skipped.items()),
            StatisticalWarning,
            stacklevel=3,
        )
    return _pool(attribute, fits, pooled, skipped)


def _group_total(
    dataset: Dataset, group: MomentDesign, rows: NDArray[np.int64], pooled: MomentsResult
) -> TotalEffects | None:
    """The group's total effects by intervention when the whole sample's are; else ``None``.

    The group's inputs come from the whole sample's when it kept them
    (:func:`~peakend.models.moments.total.group_inputs`: the same figures without
    reading the events again), else from the events.
    """
    if pooled.estimand != "total_by_intervention":
        return None
    level = pooled.settings.level
    if pooled.total_inputs is None:
        return total_by_intervention(dataset, group, level)
    return total_from_inputs(group_inputs(pooled.total_inputs, rows, group), level)


def _pool(
    attribute: str,
    fits: dict[str, MomentsResult],
    pooled: MomentsResult,
    skipped: dict[str, int],
) -> SegmentMoments:
    names = list(fits)
    order = [m.touchpoint for m in pooled.touchpoints]
    shrunk: dict[str, list[TouchpointMoment]] = {g: [] for g in names}
    tests: list[tuple[str, float, float, float, float]] = []
    for tp in order:
        raw = [fits[g].by_name(tp) for g in names]
        pen, pen_q, pen_p = _shrink([m.penalty for m in raw], pooled.settings.level)
        rew, rew_q, rew_p = _shrink([m.reward for m in raw], pooled.settings.level)
        tests.append((tp, pen_q, pen_p, rew_q, rew_p))
        for g, moment, p, r in zip(names, raw, pen, rew, strict=True):
            shrunk[g].append(_reclassify(moment, p, r, pooled))
    groups = tuple(
        SegmentGroup(g, fits[g].n_journeys, fits[g].fit, tuple(shrunk[g])) for g in names
    )
    return SegmentMoments(attribute, groups, _differences(tests, shrunk, names), skipped)


def _shrink(estimates: list[Interval], level: float) -> tuple[list[Interval], float, float]:
    """Pooled group estimates (FAB intervals); Cochran's Q and its p-value."""
    found = pool(estimates, level)
    return list(found.estimates), found.q, found.p_value


def _reclassify(
    moment: TouchpointMoment, penalty: Interval, reward: Interval, pooled: MomentsResult
) -> TouchpointMoment:
    if moment.moment_class == "not_enough_data":
        return replace(moment, penalty=penalty, reward=reward)
    cls = classify(penalty, reward, pooled.threshold, True)
    return replace(
        moment,
        penalty=penalty,
        reward=reward,
        moment_class=cls,
        confidence=normal_confidence(cls, penalty, reward, pooled.threshold, pooled.settings.level),
        recommendation=recommend(cls, moment.low_share, moment.brand_relevance, pooled.settings),
    )


def _differences(
    tests: list[tuple[str, float, float, float, float]],
    shrunk: dict[str, list[TouchpointMoment]],
    names: list[str],
) -> tuple[SegmentDifference, ...]:
    raw_p = np.array([[t[2], t[4]] for t in tests], dtype=float).ravel()
    adjusted = _holm(raw_p).reshape(-1, 2) if raw_p.size else np.zeros((0, 2))
    out = []
    for i, (tp, pen_q, _, rew_q, _) in enumerate(tests):
        classes = {g: shrunk[g][i].moment_class for g in names}
        known = {c for c in classes.values() if c != "not_enough_data"}
        rejects = bool(np.nanmin(adjusted[i]) < ALPHA) if np.isfinite(adjusted[i]).any() else False
        differs = len(known) > 1 and rejects
        out.append(
            SegmentDifference(
                tp, classes, pen_q, float(adjusted[i, 0]), rew_q, float(adjusted[i, 1]), differs
            )
        )
    return tuple(out)


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment; NaNs stay NaN and do not count."""
    out = np.full(p.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    m = finite.size
    order = finite[np.argsort(p[finite])]
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[idx]))
        out[idx] = running
    return out
