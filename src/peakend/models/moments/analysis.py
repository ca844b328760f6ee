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
from dataclasses import replace

import numpy as np
import pyarrow.compute as pc

from peakend.errors import ConfigError, StatisticalWarning
from peakend.load import Dataset
from peakend.models.moments.design import (
    BANDS,
    HIGH,
    LOW,
    MIDDLE,
    NOT_SCORED,
    MomentDesign,
    build_design,
)
from peakend.models.moments.fit import Draws, check_rows, fit_moments
from peakend.models.moments.result import (
    CLASSES,
    RECOMMENDATIONS,
    MomentSettings,
    MomentsResult,
    TouchpointMoment,
)
from peakend.stats.resampling import Interval, percentile_interval

__all__ = [
    "CLASSES",
    "RECOMMENDATIONS",
    "MomentSettings",
    "MomentsResult",
    "TouchpointMoment",
    "classify",
    "find_moments",
    "moments_from_design",
    "recommend",
]


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
    from peakend.models.moments.segments import segment_moments  # builds on this module

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
        reversed_effect=bool(penalty.low > threshold or reward.high < -threshold),
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
