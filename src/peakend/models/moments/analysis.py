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
shares of the explained variance or deviance), intervals for all of
them (cluster-robust sandwich for a continuous outcome's penalty and reward,
bootstrap otherwise), a class with its confidence, and a recommendation that uses the
touchpoint's brand relevance. See ``docs/moments.md`` for the method.

Classes follow one rule (:mod:`peakend.models.moments.verdict`): a class is
stated only when its interval supports it, "standard" needs evidence that both
effects lie inside the threshold, and anything else is "inconclusive" (collect
data, with roughly how many more journeys would settle it).

Without ``adjust_for``, an outcome (continuous or binary) whose moments carry an
experienced order gets its penalties and rewards as total effects by intervention
(g-computation over the remembered peak, end, mean and trough;
:mod:`peakend.models.moments.total`); otherwise the band regression's own
effects are shown, and ``MomentsResult.estimand`` says which.

Intervals resample whole customers when a customer has several journeys; the
model fit is cross-validated (:mod:`peakend.models.moments.holdout`); the
importance is bias-corrected and tested against zero.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import replace

import numpy as np
import pyarrow.compute as pc
from threadpoolctl import threadpool_limits

from peakend.errors import InputMissingError
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
from peakend.models.moments.fit import (
    Draws,
    check_rows,
    fit_moments,
    full_fit,
    statistical_warning,
)
from peakend.models.moments.holdout import FOLDS, cross_validated_fit
from peakend.models.moments.importance import zero_effect_p
from peakend.models.moments.result import MomentSettings, MomentsResult, TouchpointMoment
from peakend.models.moments.robust import BandIntervals, band_intervals
from peakend.models.moments.total import TotalEffects, total_by_intervention
from peakend.models.moments.verdict import (
    CLASSES,
    RECOMMENDATIONS,
    classify,
    confidence,
    more_journeys,
    normal_confidence,
)
from peakend.models.moments.verdict import recommend as verdict_recommend
from peakend.stats.resampling import (
    Interval,
    basic_interval,
    percentile_interval,
    resampling_unit,
)

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
    keep_total_inputs: bool = False,
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
    keep_total_inputs:
        Keep what the total effects by intervention were computed from in
        :attr:`MomentsResult.total_inputs`, for
        :func:`~peakend.models.focus.focus_plan` to reuse instead of rebuilding
        it from the events (about 0.3 GB on a million journeys; held as long as
        the result).

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
    chosen = dataset.spec.segments if segments is None else tuple(segments)
    total = None
    if not adjust_for:
        # the segment groups take their inputs from the whole sample's
        keep = keep_total_inputs or bool(chosen)
        total = total_by_intervention(dataset, design, cfg.level, keep_inputs=keep)
    result = moments_from_design(
        design, cfg, dataset=dataset, outcome=name, progress=progress, total=total
    )
    result = replace(result, total_inputs=None if total is None else total.inputs)
    if chosen:
        found = segment_moments(dataset, design, result, chosen, progress=progress)
        result = replace(result, segments=found)
    return result if keep_total_inputs else replace(result, total_inputs=None)


def moments_from_design(
    design: MomentDesign,
    settings: MomentSettings,
    *,
    dataset: Dataset,
    outcome: str,
    progress: Callable[[int], None] | None = None,
    total: TotalEffects | None = None,
) -> MomentsResult:
    """Fit, bootstrap and classify one design (the whole sample or one segment).

    With ``total`` (:mod:`~peakend.models.moments.total`) the penalties and
    rewards are the total effects by intervention instead of the band
    regression's; importance and fit stay those of the band regression.

    The cross-validated fit is simulated on a thread of its own while the
    bootstrap runs: both are mostly NumPy work that releases the interpreter
    lock, and the bootstrap alone leaves part of two cores idle. Both start
    from one fit of the model on the whole design (:func:`~.fit.full_fit`).
    BLAS stays on
    one thread for the whole block: both parts limit it, and the limit is
    process-wide, so one part leaving its limit must not lift it for the
    other (results would then depend on timing, in the last digits).
    """
    with (
        threadpool_limits(limits=1, user_api="blas"),
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="peakend-fit") as pool,
    ):
        whole = full_fit(design)  # one fit for both
        fit = pool.submit(
            copy_context().run,  # in this thread's context: a segment's fit stays quiet()
            cross_validated_fit,
            design,
            n_resamples=settings.n_resamples,
            seed=settings.seed,
            level=settings.level,
            full=whole,
        )
        draws = fit_moments(
            design,
            n_resamples=settings.n_resamples,
            seed=settings.seed,
            ame_rows=settings.ame_rows,
            progress=progress,
            full=whole,
        )
        cv_fit = fit.result()
    threshold = (
        settings.threshold
        if settings.threshold is not None
        else _default_threshold(design, settings.effect_size)
    )
    relevance = _catalogue(dataset, "brand_relevance")
    stages = _catalogue(dataset, "stage")
    robust = None if design.binary else band_intervals(design, settings.level, whole.matrix)
    moments = [
        _touchpoint_moment(
            design, draws, t, threshold, settings, (relevance, stages), robust, total
        )
        for t in range(len(design.touchpoints))
    ]
    moments.sort(key=lambda m: (-np.nan_to_num(m.importance.value, nan=-1.0), m.touchpoint))
    if draws.collinear:
        pairs = ", ".join(f"{a} ~ {b} (r={r:+.2f})" for a, b, r in draws.collinear)
        statistical_warning(
            f"nearly collinear touchpoints: {pairs}; their penalties and rewards share "
            "one effect and are uncertain; consider analysing one of each pair",
        )
    return MomentsResult(
        dataset_name=dataset.spec.name,
        outcome=outcome,
        outcome_kind="binary" if design.binary else "continuous",
        model="logistic" if design.binary else "ols",
        n_journeys=design.n,
        dropped_no_outcome=design.dropped_no_outcome,
        fit=cv_fit,
        threshold=threshold,
        settings=settings,
        touchpoints=tuple(moments),
        collinear=draws.collinear,
        converged=draws.converged,
        adjusted_for=design.control_names,
        estimand=_estimand(design, total),
        resampling_unit=resampling_unit(design.clusters),
        fit_method=f"cross-validated, {FOLDS} folds"
        + (" grouped by customer" if design.clusters is not None else ""),
    )


def _estimand(design: MomentDesign, total: TotalEffects | None) -> str:
    """Which effect the penalties and rewards estimate (:attr:`MomentsResult.estimand`)."""
    if design.control_names:
        return "direct"
    return "total_by_intervention" if total is not None else "total_regression_weighted"


def recommend(
    moment_class: str, low_share: float, brand_relevance: float | None, settings: MomentSettings
) -> str:
    """The recommendation for one touchpoint (:func:`~.verdict.recommend`) under ``settings``."""
    return verdict_recommend(
        moment_class,
        low_share,
        brand_relevance,
        fix_low_share=settings.fix_low_share,
        brand_relevance_min=settings.brand_relevance_min,
    )


def _touchpoint_moment(
    design: MomentDesign,
    draws: Draws,
    t: int,
    threshold: float,
    settings: MomentSettings,
    catalogue: tuple[dict[str, float | None], dict[str, float | None]],
    robust: BandIntervals | None,
    total: TotalEffects | None = None,
) -> TouchpointMoment:
    """One touchpoint's figures and verdict.

    A continuous outcome's band effects get sandwich intervals (``robust``;
    :mod:`~peakend.models.moments.robust`), a binary outcome's marginal effects
    bootstrap percentile intervals; the confidence of a class is the
    probability of what it states under the same intervals.
    """
    relevance, stages = catalogue
    name = design.touchpoints[t]
    bands = design.bands[:, t]
    counts = {BANDS[b]: int(np.sum(bands == b)) for b in (LOW, MIDDLE, HIGH, NOT_SCORED)}
    scored = counts["low"] + counts["middle"] + counts["high"]
    enough = min(counts["low"], counts["middle"], counts["high"]) >= settings.min_count

    def interval(point: np.ndarray, samples: np.ndarray, n: int, band: int) -> Interval:
        if counts["middle"] == 0:  # no reference band: effects are not defined
            return Interval(float("nan"), float("nan"), float("nan"), n)
        if total is not None and band in (LOW, HIGH):
            return total.interval(t, band, n)
        if robust is not None:
            return robust.interval(t, band, float(point[t]), n)
        return percentile_interval(float(point[t]), samples[:, t], n, settings.level)

    penalty = interval(draws.point.penalty, draws.penalty, counts["low"], LOW)
    reward = interval(draws.point.reward, draws.reward, counts["high"], HIGH)
    not_scored = interval(
        draws.point.not_scored, draws.not_scored, counts["not_scored"], NOT_SCORED
    )
    importance, distinct = _importance(draws, t, design.n, settings.level, robust)
    moment_class = classify(penalty, reward, threshold, enough)
    if robust is None and total is None:
        sure = confidence(moment_class, draws.penalty[:, t], draws.reward[:, t], threshold)
    else:
        sure = normal_confidence(moment_class, penalty, reward, threshold, settings.level)
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
        confidence=sure,
        brand_relevance=brand,
        recommendation=recommend(moment_class, low_share, brand, settings),
        reversed_effect=bool(penalty.low > threshold or reward.high < -threshold),
        importance_distinct=distinct,
        more_journeys=_more(counts, penalty, reward, threshold, settings, moment_class),
        penalty_moved=interval(draws.point.penalty_moved, draws.penalty_moved, counts["low"], LOW),
        reward_moved=interval(draws.point.reward_moved, draws.reward_moved, counts["middle"], HIGH),
    )


def _importance(
    draws: Draws, t: int, n: int, level: float, robust: BandIntervals | None = None
) -> tuple[Interval, bool]:
    """Bias-corrected importance, its basic interval (≥ 0), and whether it differs from 0.

    Relative weights are positive by construction: replicates sit above the
    estimate by about its bias. The estimate is corrected by that bias
    (``2 v − mean of replicates``) and the basic bootstrap interval used; an
    importance whose effects are jointly indistinguishable from zero gets a
    lower bound of 0: the HTZ test of the band effects on the bias-reduced
    sandwich for a continuous outcome (:attr:`BandIntervals.zero_p`, the
    covariance the printed intervals use), Hotelling's T² with the bootstrap
    covariance for a binary one (:func:`zero_effect_p`). Near zero the
    replicates are skewed upwards by the boundary, and the basic interval
    mirrors that skew onto the wrong side: its upper bound stayed near the
    estimate and missed a small true share in 10–20 % of datasets. The upper
    bound is therefore the larger of the basic and the percentile bounds (the
    percentile interval keeps the boundary's skew where it is).
    """
    samples = draws.importance[:, t]
    raw = float(draws.point.importance[t])
    finite = samples[np.isfinite(samples)]
    corrected = max(0.0, 2 * raw - float(finite.mean())) if finite.size else raw
    shown = basic_interval(raw, samples, n, level)
    effects = np.array([draws.point.penalty[t], draws.point.reward[t], draws.point.not_scored[t]])
    reps = np.column_stack([draws.penalty[:, t], draws.reward[:, t], draws.not_scored[:, t]])
    if robust is not None:
        p_value = float(robust.zero_p[t])
    else:
        p_value = zero_effect_p(effects, reps)
    distinct = bool(p_value < 1 - level)
    low = max(0.0, shown.low) if distinct else 0.0
    upper = percentile_interval(raw, samples, n, level).high
    high = max(low, shown.high, upper if np.isfinite(upper) else shown.high, corrected)
    return Interval(corrected, min(low, corrected), high, n), distinct


def _more(
    counts: dict[str, int],
    penalty: Interval,
    reward: Interval,
    threshold: float,
    settings: MomentSettings,
    moment_class: str,
) -> dict[str, int | None]:
    """More journeys with a low and a high score that would settle an open class."""
    if moment_class == "not_enough_data":
        short = {band: settings.min_count - counts[band] for band in ("low", "middle", "high")}
        return {band: n for band, n in short.items() if n > 0}
    if moment_class != "inconclusive":
        return {}
    found = {
        "low": more_journeys(penalty, counts["low"], threshold),
        "high": more_journeys(reward, counts["high"], threshold),
    }
    # a reversed effect (a low score with a better outcome) is settled, but no
    # sample size turns it into a class: None says so
    if penalty.low > threshold:
        found["low"] = None
    if reward.high < -threshold:
        found["high"] = None
    return {band: n for band, n in found.items() if n != 0}


def _default_threshold(design: MomentDesign, effect_size: float) -> float:
    mean = np.average(design.y, weights=design.weights)
    sd = float(np.sqrt(np.average((design.y - mean) ** 2, weights=design.weights)))
    return effect_size * sd


def _first_outcome(dataset: Dataset) -> str:
    if not dataset.outcome_names:
        raise InputMissingError(
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
