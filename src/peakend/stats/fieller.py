"""Fieller intervals for a ratio of two estimates.

A ratio such as "the end counts 3× as much as an average moment" divides one
estimate by another. The delta method treats the ratio as normal, which fails
when the denominator is uncertain (coverage 0.86 at a true ratio of 3). Fieller
(1954) inverts the test of ``a - r·b = 0`` instead: the interval is the set of
ratios *r* not rejected, which is exact for normal estimates and can be
unbounded when the denominator is not clearly away from zero; then no ratio is
claimed.
"""

from __future__ import annotations

import math

from peakend.stats.distributions import normal_quantile
from peakend.stats.resampling import Interval


def fieller_interval(
    a: float,
    b: float,
    var_a: float,
    var_b: float,
    cov_ab: float,
    n: int,
    level: float = 0.95,
) -> Interval:
    """The ratio ``a / b`` with its Fieller interval; NaN bounds when unbounded.

    ``var_a``, ``var_b`` and ``cov_ab`` are the (co)variances of the two
    estimates. The interval is bounded only when ``b`` is significantly away
    from zero at ``level``; otherwise it is a union of two half-lines or the
    whole line, and the bounds are NaN ("no ratio can be stated").
    """
    if b == 0 or not all(math.isfinite(v) for v in (a, b, var_a, var_b, cov_ab)):
        return Interval(float("nan"), float("nan"), float("nan"), n)
    z2 = normal_quantile(0.5 + level / 2) ** 2
    ratio = a / b
    # (b^2 - z2 vb) r^2 - 2 (a b - z2 cab) r + (a^2 - z2 va) <= 0
    qa = b * b - z2 * var_b
    qb = a * b - z2 * cov_ab
    qc = a * a - z2 * var_a
    disc = qb * qb - qa * qc
    if qa <= 0 or disc < 0:
        return Interval(ratio, float("nan"), float("nan"), n)
    root = math.sqrt(disc)
    return Interval(ratio, (qb - root) / qa, (qb + root) / qa, n)
