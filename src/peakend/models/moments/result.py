"""The result objects of the moments analysis: settings, one touchpoint's moment, the result.

Plain frozen dataclasses with ``to_dict()`` (JSON-ready, every figure with its
interval and sample size), shared by :mod:`peakend.models.moments`, the segment
estimates, the chart, the command line and the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from peakend.errors import ConfigError
from peakend.models.moments.design import Cuts
from peakend.models.moments.verdict import CLASSES, RECOMMENDATIONS
from peakend.stats.resampling import Interval

if TYPE_CHECKING:
    from peakend.models.moments.segments import SegmentMoments
    from peakend.models.moments.total import TotalInputs

__all__ = ["CLASSES", "RECOMMENDATIONS", "MomentSettings", "MomentsResult", "TouchpointMoment"]


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
    the journeys per band; ``confidence`` the bootstrap probability of what the
    class states (NaN for inconclusive and not enough data; see
    :mod:`~peakend.models.moments.verdict`). ``importance`` is bias-corrected;
    ``importance_distinct`` says whether the touchpoint's effects are jointly
    distinguishable from zero. ``more_journeys`` says, for an inconclusive
    class, roughly how many more journeys with a low or high score would
    settle it (``None``: the estimate sits on the threshold). ``penalty_moved``
    and ``reward_moved`` are the effects on the journeys a fix (now low) or an
    excel action (now middle) would move. ``reversed_effect`` flags a penalty significantly above
    +threshold or a reward significantly below -threshold: a low score going
    with a *better* outcome (or a high one with a worse), usually a sign of
    correlated ratings or a confounder, never a causal effect to act on.
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
    reversed_effect: bool = False
    importance_distinct: bool = True
    more_journeys: dict[str, int | None] = field(default_factory=dict)
    penalty_moved: Interval | None = None
    reward_moved: Interval | None = None

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
            "importance_distinct_from_zero": self.importance_distinct,
            "more_journeys": dict(self.more_journeys),
            "penalty_moved": None if self.penalty_moved is None else self.penalty_moved.to_dict(),
            "reward_moved": None if self.reward_moved is None else self.reward_moved.to_dict(),
            "counts": dict(self.counts),
            "low_share": self.low_share,
            "brand_relevance": self.brand_relevance,
            "reversed_effect": self.reversed_effect,
        }


@dataclass(frozen=True)
class MomentsResult:
    """Moments of truth, excel and standard moments for one outcome.

    Attributes
    ----------
    touchpoints:
        One :class:`TouchpointMoment` per touchpoint, sorted by importance.
    fit:
        Cross-validated R² (continuous) or McFadden's pseudo-R² (binary) with
        its interval (``fit_method`` says how).
    threshold:
        The effect size that counts as material, in outcome units.
    collinear:
        Touchpoint pairs whose bands are nearly collinear, with their correlation.
    adjusted_for:
        Journey features the effects are adjusted for (none by default).
    segments:
        Per-segment estimates (:class:`~peakend.models.moments.segments.SegmentMoments`).
    resampling_unit:
        ``"customer"`` when whole customers were resampled (some customer has
        several journeys), else ``"journey"``.
    effects:
        ``"total"`` (no adjustment: a touchpoint's effect including what it
        does through the remembered peak and end) or ``"direct"`` (adjusted).
    estimand:
        What the penalties and rewards estimate: ``"direct"`` (adjusted for
        journey features), ``"total_by_intervention"`` (g-computation over the
        memory features: the average change of the outcome, or of its
        probability, when the score is set to the band, for an outcome with an
        experienced order) or ``"total_regression_weighted"`` (the band
        regression: a variance-weighted average of the journeys' total effects;
        a binary outcome's average marginal effects).
    total_inputs:
        What the total effects by intervention were computed from (the band
        design adjusted for the memory features, every journey's scored moments
        in order), kept only when asked (``find_moments(..., keep_total_inputs=True)``)
        so that :func:`~peakend.models.focus.focus_plan` need not rebuild them from
        the events; not part of :meth:`to_dict`.
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
    estimand: str = "total_regression_weighted"
    segments: tuple[SegmentMoments, ...] = ()
    resampling_unit: str = "journey"
    fit_method: str = "cross-validated"
    total_inputs: TotalInputs | None = field(default=None, compare=False, repr=False)

    @property
    def effects(self) -> str:
        """``"direct"`` when adjusted for journey features, else ``"total"``."""
        return "direct" if self.adjusted_for else "total"

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
            "effects": self.effects,
            "estimand": self.estimand,
            "resampling_unit": self.resampling_unit,
            "fit_method": self.fit_method,
            "collinear": [{"a": a, "b": b, "correlation": r} for a, b, r in self.collinear],
            "touchpoints": [m.to_dict() for m in self.touchpoints],
            "segments": [s.to_dict() for s in self.segments],
        }
