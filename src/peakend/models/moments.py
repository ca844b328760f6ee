"""Moments of truth, excel moments and standard moments: asymmetric impact per touchpoint.

A poor experience at some touchpoints damages the whole relationship while a
great one there goes unnoticed (a **moment of truth**: meet expectations, fix
first); at others a great experience lifts everything (an **excel moment**:
exceed expectations and show the brand); some do both (**performance**) and
many do neither (**standard moments**, the zone of indifference: do not
over-invest, some pain there is acceptable).

:func:`find_moments` estimates per touchpoint the **penalty** of a low score
and the **reward** of a high score against the middle band in one regression
over all touchpoints (penalty-reward contrast analysis; Brandt 1987, Mikulić &
Prebežac 2008), the **relative importance** (Johnson's relative weights, as
shares of the explained variance or deviance), bootstrap intervals for all of
them, a class with its bootstrap confidence, and a recommendation that uses the
touchpoint's brand relevance. See ``docs/moments.md`` for the method.

Class rule (with ``threshold`` *d* in outcome units):

* ``not_enough_data`` — fewer than ``min_count`` journeys in the low, middle
  or high band: never classified by chance;
* penalty significantly below -*d* (upper interval bound < -*d*) and reward
  significantly above *d* (lower bound > *d*) → ``performance``;
* only the penalty → ``moment_of_truth``; only the reward → ``excel``;
* neither → ``standard``.

The class confidence is the share of bootstrap replicates whose point
estimates fall on the same side of the thresholds.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pyarrow.compute as pc

from peakend.errors import ConfigError, StatisticalWarning
from peakend.load import Dataset
from peakend.models.moment_design import (
    BANDS,
    HIGH,
    LOW,
    MIDDLE,
    NOT_SCORED,
    Cuts,
    MomentDesign,
    build_design,
)
from peakend.models.moment_fit import Draws, check_rows, fit_moments
from peakend.models.resampling import Interval, percentile_interval

if TYPE_CHECKING:
    from peakend.models.moment_segments import SegmentMoments

CLASSES: tuple[str, ...] = (
    "moment_of_truth",
    "excel",
    "performance",
    "standard",
    "not_enough_data",
)
RECOMMENDATIONS: tuple[str, ...] = ("fix", "excel", "maintain", "allow", "collect_data")


@dataclass(frozen=True)
class MomentSettings:
    """Every choice of the moments analysis, with its default.

    Parameters
    ----------
    threshold:
        The smallest effect that matters, in outcome units (probability for a
        binary outcome). ``None``: ``effect_size`` times the outcome's standard
        deviation, so the rule does not depend on the outcome's scale.
    effect_size:
        Default threshold as a fraction of the outcome's standard deviation.
    min_count:
        Fewest journeys needed in each of the low, middle and high bands.
    n_resamples, seed, level:
        Bootstrap replicates, their seed and the interval level.
    cuts:
        Raw-score cut-points for low/high; by default the declared scale's
        neutral point splits low from high.
    fix_low_share:
        A moment of truth is "performing below expectation" (recommend *fix*)
        when at least this share of its scored journeys is in the low band.
    brand_relevance_min:
        An excel or performance moment gets *excel* when its catalogue brand
        relevance is at least this (unknown relevance counts as relevant).
    ame_rows:
        Journeys over which a binary outcome's marginal effects are averaged.
    """

    threshold: float | None = None
    effect_size: float = 0.2
    min_count: int = 30
    n_resamples: int = 200
    seed: int = 0
    level: float = 0.95
    cuts: Cuts | None = None
    fix_low_share: float = 0.10
    brand_relevance_min: float = 0.5
    ame_rows: int = 20_000

    def __post_init__(self) -> None:
        if self.threshold is not None and self.threshold < 0:
            raise ConfigError(f"threshold must be >= 0 (got {self.threshold})")
        if self.effect_size < 0:
            raise ConfigError(f"effect_size must be >= 0 (got {self.effect_size})")
        if self.min_count < 1 or self.n_resamples < 10:
            raise ConfigError(
                f"need min_count >= 1 and n_resamples >= 10 (got {self.min_count}, "
                f"{self.n_resamples}); 200 resamples give stable 95 % intervals"
            )
        if not 0.5 < self.level < 1:
            raise ConfigError(f"level must lie in (0.5, 1), e.g. 0.95 (got {self.level})")
        if not 0 <= self.fix_low_share <= 1 or not 0 <= self.brand_relevance_min <= 1:
            raise ConfigError("fix_low_share and brand_relevance_min must lie in [0, 1]")

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        cuts = None if self.cuts is None else [self.cuts.low_max, self.cuts.high_min]
        return {
            "threshold": self.threshold,
            "effect_size": self.effect_size,
            "min_count": self.min_count,
            "n_resamples": self.n_resamples,
            "seed": self.seed,
            "level": self.level,
            "cuts": cuts,
            "fix_low_share": self.fix_low_share,
            "brand_relevance_min": self.brand_relevance_min,
            "ame_rows": self.ame_rows,
        }


@dataclass(frozen=True)
class TouchpointMoment:
    """The asymmetric impact of one touchpoint on the outcome.

    ``penalty``/``reward``/``not_scored`` are effects against the middle band in
    outcome units (probability for a binary outcome); ``importance`` is the
    touchpoint's share of the explained variance (or deviance). ``counts`` holds
    the journeys per band; ``confidence`` the share of bootstrap replicates that
    give the same class.
    """

    touchpoint: str
    stage: int | None
    penalty: Interval
    reward: Interval
    not_scored: Interval
    importance: Interval
    counts: dict[str, int]
    low_share: float
    moment_class: str
    confidence: float
    brand_relevance: float | None
    recommendation: str

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "touchpoint": self.touchpoint,
            "stage": self.stage,
            "class": self.moment_class,
            "confidence": self.confidence,
            "recommendation": self.recommendation,
            "penalty": self.penalty.to_dict(),
            "reward": self.reward.to_dict(),
            "not_scored": self.not_scored.to_dict(),
            "importance": self.importance.to_dict(),
            "counts": dict(self.counts),
            "low_share": self.low_share,
            "brand_relevance": self.brand_relevance,
        }


@dataclass(frozen=True)
class MomentsResult:
    """Moments of truth, excel and standard moments for one outcome.

    Attributes
    ----------
    touchpoints:
        One :class:`TouchpointMoment` per touchpoint, sorted by importance.
    fit:
        R² (continuous) or McFadden's pseudo-R² (binary) with its interval.
    threshold:
        The effect size that counts as material, in outcome units.
    collinear:
        Touchpoint pairs whose bands are nearly collinear, with their correlation.
    adjusted_for:
        Journey features the effects are adjusted for (none by default).
    segments:
        Per-segment estimates (:class:`~peakend.models.moment_segments.SegmentMoments`).
    """

    dataset_name: str
    outcome: str
    outcome_kind: str
    model: str
    n_journeys: int
    dropped_no_outcome: int
    fit: Interval
    threshold: float
    settings: MomentSettings
    touchpoints: tuple[TouchpointMoment, ...]
    collinear: tuple[tuple[str, str, float], ...] = ()
    converged: bool = True
    adjusted_for: tuple[str, ...] = ()
    segments: tuple[SegmentMoments, ...] = ()

    def __repr__(self) -> str:
        counts: dict[str, int] = {}
        for moment in self.touchpoints:
            counts[moment.moment_class] = counts.get(moment.moment_class, 0) + 1
        classes = ", ".join(f"{n} {c}" for c, n in sorted(counts.items(), key=lambda kv: -kv[1]))
        fit = "McFadden R²" if self.model == "logistic" else "R²"
        return (
            f"MomentsResult({self.outcome!r} on {self.n_journeys:,} journeys, {self.model}, "
            f"{fit} {self.fit.value:.3f}: {classes})"
        )

    def by_name(self, touchpoint: str) -> TouchpointMoment:
        """The result of one touchpoint."""
        for moment in self.touchpoints:
            if moment.touchpoint == touchpoint:
                return moment
        raise ConfigError(f"no result for touchpoint {touchpoint!r}")

    def classes(self) -> dict[str, str]:
        """Touchpoint name to class."""
        return {m.touchpoint: m.moment_class for m in self.touchpoints}

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form with every figure, its interval and sample size."""
        return {
            "dataset": self.dataset_name,
            "outcome": self.outcome,
            "outcome_kind": self.outcome_kind,
            "model": self.model,
            "n_journeys": self.n_journeys,
            "dropped_no_outcome": self.dropped_no_outcome,
            "fit": self.fit.to_dict(),
            "threshold": self.threshold,
            "settings": self.settings.to_dict(),
            "converged": self.converged,
            "adjusted_for": list(self.adjusted_for),
            "collinear": [{"a": a, "b": b, "correlation": r} for a, b, r in self.collinear],
            "touchpoints": [m.to_dict() for m in self.touchpoints],
            "segments": [s.to_dict() for s in self.segments],
        }


def find_moments(
    dataset: Dataset,
    *,
    outcome: str | None = None,
    settings: MomentSettings | None = None,
    weight_col: str | None = None,
    touchpoints: Sequence[str] | None = None,
    segments: Sequence[str] | None = None,
    adjust_for: Sequence[str] = (),
    progress: Callable[[int], None] | None = None,
) -> MomentsResult:
    """Classify every scored touchpoint as a moment of truth, excel, performance or standard.

    Parameters
    ----------
    dataset:
        A loaded dataset (:func:`peakend.load`).
    outcome:
        A declared outcome; the first declared one by default.
    settings:
        Thresholds, bootstrap and cut-points (:class:`MomentSettings`).
    weight_col:
        A numeric outcome/attribute column with a weight per respondent.
    touchpoints:
        Touchpoints to analyse (default: every scored touchpoint).
    segments:
        Attribute columns whose groups get their own (partially pooled)
        estimates; default: the spec's ``segments``. Pass ``()`` for none.
    adjust_for:
        Journey features (:func:`peakend.engine.journey_features`) to adjust
        for, e.g. ``("peak_valence", "end_valence")``: effects then measure a
        touchpoint's direct effect beyond the remembered peak and end.
    progress:
        Called with the number of bootstrap replicates just finished (the whole
        sample and every segment group: ``n_resamples * (1 + groups)`` in all).

    Returns
    -------
    MomentsResult

    Raises
    ------
    ConfigError
        Unknown outcome, touchpoint, weight or segment column, or bad settings.
    DataError
        No journeys with the outcome or no scores.
    ModelError
        Fewer journeys than model columns.

    Examples
    --------
    >>> import peakend
    >>> from peakend.datasets import demo_spec_path
    >>> data = peakend.load(demo_spec_path())
    >>> result = peakend.find_moments(data, outcome="overall")
    >>> result.by_name("installation").moment_class
    'moment_of_truth'
    """
    from peakend.models.moment_segments import segment_moments

    cfg = settings or MomentSettings()
    name = outcome or _first_outcome(dataset)
    design = build_design(
        dataset,
        name,
        cuts=cfg.cuts,
        weight_col=weight_col,
        touchpoints=touchpoints,
        adjust_for=adjust_for,
    )
    check_rows(design)
    result = moments_from_design(design, cfg, dataset=dataset, outcome=name, progress=progress)
    chosen = dataset.spec.segments if segments is None else tuple(segments)
    if not chosen:
        return result
    found = segment_moments(dataset, design, result, chosen, progress=progress)
    return replace(result, segments=found)


def moments_from_design(
    design: MomentDesign,
    settings: MomentSettings,
    *,
    dataset: Dataset,
    outcome: str,
    progress: Callable[[int], None] | None = None,
) -> MomentsResult:
    """Fit, bootstrap and classify one design (the whole sample or one segment)."""
    draws = fit_moments(
        design,
        n_resamples=settings.n_resamples,
        seed=settings.seed,
        ame_rows=settings.ame_rows,
        progress=progress,
    )
    threshold = (
        settings.threshold
        if settings.threshold is not None
        else _default_threshold(design, settings.effect_size)
    )
    relevance = _catalogue(dataset, "brand_relevance")
    stages = _catalogue(dataset, "stage")
    moments = [
        _touchpoint_moment(design, draws, t, threshold, settings, relevance, stages)
        for t in range(len(design.touchpoints))
    ]
    moments.sort(key=lambda m: (-np.nan_to_num(m.importance.value, nan=-1.0), m.touchpoint))
    if draws.collinear:
        pairs = ", ".join(f"{a} ~ {b} (r={r:+.2f})" for a, b, r in draws.collinear)
        warnings.warn(
            f"nearly collinear touchpoints: {pairs}; their penalties and rewards share "
            "one effect and are uncertain; consider analysing one of each pair",
            StatisticalWarning,
            stacklevel=2,
        )
    return MomentsResult(
        dataset_name=dataset.spec.name,
        outcome=outcome,
        outcome_kind="binary" if design.binary else "continuous",
        model="logistic" if design.binary else "ols",
        n_journeys=design.n,
        dropped_no_outcome=design.dropped_no_outcome,
        fit=percentile_interval(draws.point.fit, draws.fit, design.n, settings.level),
        threshold=threshold,
        settings=settings,
        touchpoints=tuple(moments),
        collinear=draws.collinear,
        converged=draws.converged,
        adjusted_for=design.control_names,
    )


def classify(penalty_high: float, reward_low: float, threshold: float, enough: bool) -> str:
    """The class from the penalty's upper and the reward's lower interval bound."""
    if not enough:
        return "not_enough_data"
    hurts = penalty_high < -threshold
    lifts = reward_low > threshold
    if hurts and lifts:
        return "performance"
    if hurts:
        return "moment_of_truth"
    return "excel" if lifts else "standard"


def recommend(
    moment_class: str, low_share: float, brand_relevance: float | None, settings: MomentSettings
) -> str:
    """*fix*, *excel*, *maintain*, *allow* or *collect_data* for one touchpoint.

    * fix — a moment of truth (or performance moment) with at least
      ``fix_low_share`` of its journeys in the low band: it performs below
      expectation where failure hurts;
    * excel — an excel or performance moment that is brand-relevant (catalogue
      ``brand_relevance >= brand_relevance_min``, or unknown): invest to exceed;
    * allow — a standard moment: accept some pain, move budget away;
    * maintain — the rest (moments of truth that perform well, excel moments
      without brand relevance);
    * collect_data — not enough data to say.
    """
    if moment_class == "not_enough_data":
        return "collect_data"
    if moment_class == "standard":
        return "allow"
    if moment_class in ("moment_of_truth", "performance") and low_share >= settings.fix_low_share:
        return "fix"
    relevant = brand_relevance is None or brand_relevance >= settings.brand_relevance_min
    if moment_class in ("excel", "performance") and relevant:
        return "excel"
    return "maintain"


def _touchpoint_moment(
    design: MomentDesign,
    draws: Draws,
    t: int,
    threshold: float,
    settings: MomentSettings,
    relevance: dict[str, float | None],
    stages: dict[str, float | None],
) -> TouchpointMoment:
    name = design.touchpoints[t]
    bands = design.bands[:, t]
    counts = {BANDS[b]: int(np.sum(bands == b)) for b in (LOW, MIDDLE, HIGH, NOT_SCORED)}
    scored = counts["low"] + counts["middle"] + counts["high"]
    enough = min(counts["low"], counts["middle"], counts["high"]) >= settings.min_count

    def interval(point: np.ndarray, samples: np.ndarray, n: int) -> Interval:
        if counts["middle"] == 0:  # no reference band: effects are not defined
            return Interval(float("nan"), float("nan"), float("nan"), n)
        return percentile_interval(float(point[t]), samples[:, t], n, settings.level)

    penalty = interval(draws.point.penalty, draws.penalty, counts["low"])
    reward = interval(draws.point.reward, draws.reward, counts["high"])
    not_scored = interval(draws.point.not_scored, draws.not_scored, counts["not_scored"])
    importance = percentile_interval(
        float(draws.point.importance[t]), draws.importance[:, t], design.n, settings.level
    )
    moment_class = classify(penalty.high, reward.low, threshold, enough)
    confidence = _confidence(draws, t, threshold, moment_class, enough)
    low_share = counts["low"] / scored if scored else float("nan")
    brand = relevance.get(name)
    stage = stages.get(name)
    return TouchpointMoment(
        touchpoint=name,
        stage=None if stage is None else int(stage),
        penalty=penalty,
        reward=reward,
        not_scored=not_scored,
        importance=importance,
        counts=counts,
        low_share=low_share,
        moment_class=moment_class,
        confidence=confidence,
        brand_relevance=brand,
        recommendation=recommend(moment_class, low_share, brand, settings),
    )


def _confidence(draws: Draws, t: int, threshold: float, moment_class: str, enough: bool) -> float:
    """Share of bootstrap replicates whose point estimates give ``moment_class``."""
    if not enough:
        return float("nan")
    classes = [
        classify(float(p), float(r), threshold, True)
        for p, r in zip(draws.penalty[:, t], draws.reward[:, t], strict=True)
    ]
    return float(np.mean([c == moment_class for c in classes]))


def _default_threshold(design: MomentDesign, effect_size: float) -> float:
    mean = np.average(design.y, weights=design.weights)
    sd = float(np.sqrt(np.average((design.y - mean) ** 2, weights=design.weights)))
    return effect_size * sd


def _first_outcome(dataset: Dataset) -> str:
    if not dataset.outcome_names:
        raise ConfigError(
            "the spec declares no outcome; add an [outcomes.NAME] table "
            "(e.g. overall rating or churned) to analyse moments"
        )
    return dataset.outcome_names[0]


def _catalogue(dataset: Dataset, column: str) -> dict[str, float | None]:
    table = dataset.touchpoints
    values = pc.cast(table[column], "float64").to_pylist()
    out: dict[str, float | None] = {}
    for name, value in zip(table["touchpoint"].to_pylist(), values, strict=True):
        out[name] = None if value is None or np.isnan(value) else float(value)
    return out
