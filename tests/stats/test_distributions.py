"""The distribution functions without scipy.stats give scipy.stats' figures exactly."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from peakend.stats.distributions import (
    chi2_sf,
    f_sf,
    midranks,
    normal_cdf,
    normal_quantile,
    normal_sf,
    t_quantile,
)


def test_tails_equal_scipy_stats_bit_for_bit() -> None:
    rng = np.random.default_rng(7)
    for p, x, q, df in zip(
        rng.random(300),
        rng.normal(0, 4, 300),
        rng.exponential(20, 300),
        rng.integers(1, 80, 300),
        strict=True,
    ):
        assert normal_quantile(p) == float(stats.norm.ppf(p))
        assert normal_cdf(x) == float(stats.norm.cdf(x))
        assert normal_sf(x) == float(stats.norm.sf(x))
        assert t_quantile(p, int(df)) == float(stats.t.ppf(p, int(df)))
        assert chi2_sf(q, int(df)) == float(stats.chi2.sf(q, int(df)))
        assert f_sf(q / 10, int(df), 3 * int(df)) == float(stats.f.sf(q / 10, int(df), 3 * int(df)))
    assert normal_quantile(0.975) == float(stats.norm.ppf(0.975))


def test_tails_without_degrees_of_freedom_are_nan_as_in_scipy() -> None:
    assert math.isnan(chi2_sf(3.0, 0)) and math.isnan(float(stats.chi2.sf(3.0, 0)))
    assert math.isnan(t_quantile(0.9, 0)) and math.isnan(float(stats.t.ppf(0.9, 0)))
    assert math.isnan(f_sf(2.0, 0, 3)) and math.isnan(float(stats.f.sf(2.0, 0, 3)))


def test_midranks_equal_rankdata() -> None:
    rng = np.random.default_rng(3)
    for values in (
        rng.normal(size=1000),
        rng.integers(0, 5, 1000).astype(float),  # many ties
        np.array([2.0]),
        np.array([]),
    ):
        assert np.array_equal(midranks(values), stats.rankdata(values))
    with_nan = np.array([1.0, np.nan, 0.5])
    assert np.array_equal(midranks(with_nan), stats.rankdata(with_nan), equal_nan=True)
