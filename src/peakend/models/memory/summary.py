"""Plain language for a CX team: the chosen model's weights as ratios and a short summary.

Ratios of weights come with Fieller 95 % intervals (unbounded, and then not
stated, when the denominator may be zero). Sentences about peak, end and the
average follow the claim of :mod:`peakend.models.memory.verdict`. "The end counts 2.3x as
much as an average moment" compares the end's total weight in a journey of the
median length ``n`` (its own weight plus its share of the average, ``w_end +
w_mean / n``) with the weight of any other moment (``w_mean / n``): ``1 + n *
w_end / w_mean``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from peakend.models.memory.fit import ratio
from peakend.models.memory.models import BASELINE, MemoryModel, ModelComparison
from peakend.models.memory.verdict import MemoryVerdict
from peakend.stats.resampling import Interval


@dataclass(frozen=True)
class Ratio:
    """A ratio of two fitted weights with its Fieller 95 % interval."""

    name: str
    estimate: Interval
    meaning: str

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"name": self.name, "meaning": self.meaning, **self.estimate.to_dict()}


def weight_ratios(chosen: MemoryModel, full: MemoryModel, n_moments: float) -> tuple[Ratio, ...]:
    result: list[Ratio] = []
    idx = {f: i + 1 for i, f in enumerate(chosen.features)}
    if "mean" in idx:
        for f in ("end", "peak", "trough", "first"):
            if f in idx:
                r = ratio(chosen.fit, idx[f], idx["mean"])
                per_moment = _affine(r, n_moments, 1.0)
                result.append(
                    Ratio(
                        f"{f}_vs_average_moment",
                        per_moment,
                        f"the {_word(f)} moment counts this many times as much as an average "
                        f"moment of a {n_moments:g}-moment journey: 1 + n * w_{f} / w_mean",
                    )
                )
    elif "end" in idx and "peak" in idx:
        r = ratio(chosen.fit, idx["end"], idx["peak"])
        result.append(Ratio("end_vs_peak", r, "weight of the end divided by that of the peak"))
    fidx = {f: i + 1 for i, f in enumerate(full.features)}
    if "peak_positive" in fidx and "peak_negative" in fidx:
        r = ratio(full.fit, fidx["peak_negative"], fidx["peak_positive"])
        result.append(
            Ratio(
                "negativity",
                r,
                "full model: weight of a negative peak divided by that of a positive peak",
            )
        )
    return tuple(result)


def _affine(r: Interval, scale: float, shift: float) -> Interval:
    return Interval(shift + scale * r.value, shift + scale * r.low, shift + scale * r.high, r.n)


def _word(feature: str) -> str:
    return {"trough": "worst", "first": "first", "end": "last", "peak": "most intense"}[feature]


def plain_summary(
    outcome: str,
    comparison: ModelComparison,
    ratios: tuple[Ratio, ...],
    verdict: MemoryVerdict | None = None,
) -> str:
    """A few sentences: the out-of-sample score, the claim, and the stated ratios."""
    chosen = comparison.score_of(comparison.chosen)
    base = comparison.score_of(BASELINE)
    metric = comparison.metric.upper()
    fmt = ".3f"
    lines = [
        f"Out of sample ({comparison.folds}-fold, n={comparison.n:,}), the {comparison.chosen!r} "
        f"memory model predicts {outcome!r} with {metric} {chosen.score.value:{fmt}} "
        f"[{chosen.score.low:{fmt}}, {chosen.score.high:{fmt}}], against "
        f"{base.score.value:{fmt}} [{base.score.low:{fmt}}, {base.score.high:{fmt}}] for the "
        "experienced average alone."
    ]
    if verdict is not None and verdict.claim != "peak_end":
        lines.append(CLAIM_SENTENCES[verdict.claim])
        if verdict.claim == "no_order":
            return " ".join(lines)
    elif verdict is not None:
        lines.append(CLAIM_SENTENCES["peak_end"])
    lines.append(_peak_end_verdict(comparison))
    by_name = {r.name: r for r in ratios if _bounded(r.estimate)}
    for f in ("end", "peak"):
        r = by_name.get(f"{f}_vs_average_moment")
        if r is not None:
            lines.append(
                f"The {_word(f)} moment counts {r.estimate.value:.1f}x as much as an average "
                f"moment [{r.estimate.low:.1f}, {r.estimate.high:.1f}]."
            )
    if "end_vs_peak" in by_name:
        e = by_name["end_vs_peak"].estimate
        lines.append(
            f"The average adds nothing beyond peak and end; the end weighs {e.value:.2f}x "
            f"the peak [{e.low:.2f}, {e.high:.2f}]."
        )
    neg = by_name["negativity"].estimate if "negativity" in by_name else None
    # Only readable when both peak weights point the same way (positive ratio).
    if neg is not None and neg.low > 0:
        lines.append(
            f"A negative peak weighs {neg.value:.2f}x a positive one "
            f"[{neg.low:.2f}, {neg.high:.2f}]."
        )
    return " ".join(lines)


#: The sentence for each claim of :func:`~peakend.models.memory.verdict.memory_verdict`.
CLAIM_SENTENCES = {
    "peak_end": "Peak and end weigh beyond the average (joint Wald test, p < 0.05): "
    "customers remember more than the average of their journey.",
    "average": "Peak and end weigh less than the margin that would matter: these "
    "customers remember their journey as its average.",
    "inconclusive": "No evidence at this sample size either way: the weights of peak and "
    "end are too uncertain to say whether customers remember more than the average.",
    "no_order": "The moments carry no experienced order (they were rated at once, e.g. in "
    "one survey; the order is the questionnaire's): no claim about peak or end is made. "
    "Declare experienced_order = true in the spec if the order is the lived one.",
}


def _bounded(estimate: Interval) -> bool:
    return math.isfinite(estimate.low) and math.isfinite(estimate.high)


def _peak_end_verdict(comparison: ModelComparison) -> str:
    """Kahneman's rule (peak and end alone) against the average alone, paired."""
    pe = comparison.score_of("peak_end")
    diff = pe.versus_baseline
    better = diff.low > 0 if comparison.metric == "auc" else diff.high < 0
    worse = diff.high < 0 if comparison.metric == "auc" else diff.low > 0
    word = "better than" if better else "worse than" if worse else "no different from"
    return (
        f"Peak and end alone score {pe.score.value:.3f} [{pe.score.low:.3f}, "
        f"{pe.score.high:.3f}]: {word} the average alone (difference {diff.value:+.3f} "
        f"[{diff.low:+.3f}, {diff.high:+.3f}])."
    )
