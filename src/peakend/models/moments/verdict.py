"""The one rule that turns a touchpoint's intervals into a class and a recommendation.

With ``threshold`` *d* (the smallest effect that matters, in outcome units) and
the 95 % intervals of the penalty (low score against middle) and the reward
(high against middle):

* **moment of truth** — the penalty's interval lies wholly below −*d*;
* **excel** — the reward's interval lies wholly above +*d*;
* **performance** — both;
* **standard** — *both* intervals lie wholly inside (−*d*, +*d*): an equivalence
  test (two one-sided tests; Schuirmann 1987), so "standard" is evidence that
  the touchpoint barely matters, never the mere absence of evidence;
* **inconclusive** — anything else: the data cannot tell yet. The
  recommendation is *collect data*, with roughly how many more journeys with a
  low (or high) score would settle it;
* **not enough data** — fewer than ``min_count`` journeys in a band.

Because every class is read off the interval, a class never contradicts its own
interval. ``confidence`` is the probability of what the class states under the
intervals the class was read from (the share of bootstrap replicates with a
penalty below −*d*, or the normal probability an interval implies); at 95 %
intervals it is at least 97.5 % for a one-sided class.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from peakend.stats.distributions import normal_cdf, normal_quantile, normal_sf
from peakend.stats.resampling import Interval

CLASSES: tuple[str, ...] = (
    "moment_of_truth",
    "excel",
    "performance",
    "standard",
    "inconclusive",
    "not_enough_data",
)
RECOMMENDATIONS: tuple[str, ...] = ("fix", "excel", "maintain", "allow", "collect_data")

#: Classes a touchpoint gets only from evidence beyond the threshold.
MATERIAL: tuple[str, ...] = ("moment_of_truth", "excel", "performance")


def classify(penalty: Interval, reward: Interval, threshold: float, enough: bool) -> str:
    """The class of one touchpoint from its penalty and reward intervals."""
    bounds = (penalty.low, penalty.high, reward.low, reward.high)
    if not enough or not all(math.isfinite(b) for b in bounds):
        return "not_enough_data"
    hurts = penalty.high < -threshold
    lifts = reward.low > threshold
    if hurts and lifts:
        return "performance"
    if hurts:
        return "moment_of_truth"
    if lifts:
        return "excel"
    if inside(penalty, threshold) and inside(reward, threshold):
        return "standard"
    return "inconclusive"


def inside(effect: Interval, threshold: float) -> bool:
    """Whether the whole interval lies strictly within (−threshold, +threshold)."""
    return -threshold < effect.low and effect.high < threshold


def settled(effect: Interval, threshold: float) -> bool:
    """Whether the interval says something: beyond −d, beyond +d, or inside ±d."""
    return effect.high < -threshold or effect.low > threshold or inside(effect, threshold)


def confidence(
    moment_class: str, penalty: NDArray[np.float64], reward: NDArray[np.float64], threshold: float
) -> float:
    """Bootstrap probability of what ``moment_class`` states (NaN when it states nothing)."""
    pen = penalty[np.isfinite(penalty) & np.isfinite(reward)]
    rew = reward[np.isfinite(penalty) & np.isfinite(reward)]
    if pen.size == 0:
        return float("nan")
    hurts, lifts = pen < -threshold, rew > threshold
    states = {
        "moment_of_truth": hurts,
        "excel": lifts,
        "performance": hurts & lifts,
        "standard": (np.abs(pen) < threshold) & (np.abs(rew) < threshold),
    }
    chosen = states.get(moment_class)
    return float("nan") if chosen is None else float(np.mean(chosen))


def normal_confidence(
    moment_class: str, penalty: Interval, reward: Interval, threshold: float, level: float = 0.95
) -> float:
    """Probability of what ``moment_class`` states under normal approximations of the intervals.

    For intervals that are not read off replicates (sandwich, pooled): each
    effect is taken as normal with the standard error its interval implies,
    penalty and reward independent. NaN when the class states nothing.
    """
    z = normal_quantile(0.5 + level / 2)
    sd_p = max((penalty.high - penalty.low) / (2 * z), 1e-12)
    sd_r = max((reward.high - reward.low) / (2 * z), 1e-12)
    hurts = normal_cdf((-threshold - penalty.value) / sd_p)
    lifts = normal_sf((threshold - reward.value) / sd_r)

    def within(effect: Interval, sd: float) -> float:
        high = normal_cdf((threshold - effect.value) / sd)
        return high - normal_cdf((-threshold - effect.value) / sd)

    states = {
        "performance": hurts * lifts,
        "moment_of_truth": hurts,
        "excel": lifts,
        "standard": within(penalty, sd_p) * within(reward, sd_r),
    }
    return states.get(moment_class, float("nan"))


def more_journeys(effect: Interval, count: int, threshold: float) -> int | None:
    """Roughly how many more journeys in the effect's band would settle it; 0 if settled.

    An interval's half-width shrinks as 1/√n: the band needs ``count × (h / m)²``
    journeys in all, with *h* the half-width now and *m* the distance from the
    estimate to the nearer of ±threshold. ``None`` when the estimate sits on the
    threshold (no sample size settles it) or there is no estimate.
    """
    if not all(math.isfinite(v) for v in (effect.value, effect.low, effect.high)):
        return None
    if settled(effect, threshold):
        return 0
    half = (effect.high - effect.low) / 2
    margin = min(abs(effect.value + threshold), abs(effect.value - threshold))
    if margin <= 1e-12 * max(1.0, threshold) or count <= 0:
        return None
    return max(1, math.ceil(count * (half / margin) ** 2 - count))


def recommend(
    moment_class: str,
    low_share: float,
    brand_relevance: float | None,
    *,
    fix_low_share: float,
    brand_relevance_min: float,
) -> str:
    """*fix*, *excel*, *maintain*, *allow* or *collect_data* for one touchpoint.

    * fix — a moment of truth (or performance moment) with at least
      ``fix_low_share`` of its journeys in the low band;
    * excel — an excel or performance moment that is brand-relevant (catalogue
      ``brand_relevance >= brand_relevance_min``, or unknown);
    * allow — a standard moment (shown to barely matter) whose brand relevance
      is known and low: some pain is acceptable, budget can move;
    * collect_data — inconclusive or not enough data;
    * maintain — the rest (standard moments that are brand-relevant or of
      unknown relevance, moments of truth that perform well, excel moments
      without brand relevance).
    """
    if moment_class in ("inconclusive", "not_enough_data"):
        return "collect_data"
    if moment_class == "standard":
        low = brand_relevance is not None and brand_relevance < brand_relevance_min
        return "allow" if low else "maintain"
    if moment_class in ("moment_of_truth", "performance") and low_share >= fix_low_share:
        return "fix"
    relevant = brand_relevance is None or brand_relevance >= brand_relevance_min
    if moment_class in ("excel", "performance") and relevant:
        return "excel"
    return "maintain"


def contradicts(moment_class: str, penalty: Interval, reward: Interval, threshold: float) -> bool:
    """Whether a stated class contradicts its own intervals (for checks and tests)."""
    if moment_class in ("moment_of_truth", "performance") and not penalty.high < -threshold:
        return True
    if moment_class in ("excel", "performance") and not reward.low > threshold:
        return True
    if moment_class == "standard":
        return not (inside(penalty, threshold) and inside(reward, threshold))
    return False
