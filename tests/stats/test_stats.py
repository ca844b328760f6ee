"""Tests for the shared statistics in ``peakend.stats``."""

from __future__ import annotations

import math

import numpy as np
import pytest

from peakend.errors import ConfigError
from peakend.stats.fieller import fieller_interval
from peakend.stats.pooling import MIN_GROUPS, fab_interval, pool
from peakend.stats.resampling import (
    Interval,
    basic_interval,
    cluster_bootstrap_weights,
    cluster_codes,
    grouped_kfold_splits,
    resampling_unit,
)


def test_cluster_bootstrap_draws_whole_customers() -> None:
    clusters = np.array([0, 0, 1, 1, 1, 2])
    for block in cluster_bootstrap_weights(clusters, 6, 40, seed=3, chunk=7):
        assert np.all(block[:, 0] == block[:, 1])
        assert np.all(block[:, 2] == block[:, 4])
        assert np.allclose(block[:, [0, 2, 5]].sum(axis=1), 3)  # three customers drawn
    rows = next(cluster_bootstrap_weights(None, 5, 3, seed=1))
    assert rows.shape == (3, 5) and np.allclose(rows.sum(axis=1), 5)
    assert resampling_unit(clusters) == "customer" and resampling_unit(None) == "journey"


def test_cluster_codes_only_when_a_customer_repeats() -> None:
    assert cluster_codes(np.array(["a", "b", "c"])) is None
    codes = cluster_codes(np.array(["b", "a", "b"]))
    assert codes is not None and codes.tolist() == [1, 0, 1]


def test_grouped_folds_keep_customers_together() -> None:
    clusters = np.repeat(np.arange(20), 3)
    seen = np.zeros(60, dtype=int)
    for train, test in grouped_kfold_splits(clusters, 60, 5, seed=0):
        assert not set(clusters[train]) & set(clusters[test])
        seen[test] += 1
    assert np.all(seen == 1)
    with pytest.raises(ConfigError, match="customers"):
        list(grouped_kfold_splits(np.array([0, 0, 1, 1]), 4, 5, seed=0))


def test_basic_interval_subtracts_the_bias() -> None:
    # replicates sit 0.02 above the estimate: the interval moves down, not up
    samples = np.linspace(0.03, 0.07, 101)
    found = basic_interval(0.03, samples, 100)
    assert found.low == pytest.approx(2 * 0.03 - np.percentile(samples, 97.5))
    assert found.high == pytest.approx(2 * 0.03 - np.percentile(samples, 2.5))
    assert found.high < 0.03  # the percentile interval [0.031, 0.069] would exclude 0.03


def test_fieller_matches_the_exact_ratio_interval_and_knows_when_it_is_unbounded() -> None:
    # uncorrelated, equal variances: the bounds solve (a - r b)^2 = z^2 v (1 + r^2)
    found = fieller_interval(3.0, 1.0, 0.01, 0.01, 0.0, 100)
    z2 = 1.959963984540054**2
    for r in (found.low, found.high):
        assert (3.0 - r) ** 2 == pytest.approx(z2 * 0.01 * (1 + r * r))
    assert found.low < 3.0 < found.high
    assert found.high - 3.0 > 3.0 - found.low  # skewed: a ratio's interval is not symmetric
    unbounded = fieller_interval(1.0, 0.1, 0.01, 0.01, 0.0, 100)  # denominator not clear of 0
    assert unbounded.value == pytest.approx(10.0) and math.isnan(unbounded.low)


def test_fieller_covers_a_ratio_of_three() -> None:
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(400):
        a, b = 3.0 + rng.normal(0, 0.3), 1.0 + rng.normal(0, 0.15)
        found = fieller_interval(a, b, 0.09, 0.0225, 0.0, 100)
        hits += found.low <= 3.0 <= found.high
    assert 0.92 <= hits / 400 <= 0.98


def test_pooling_needs_three_groups_and_widens_with_an_uncertain_spread() -> None:
    two = [Interval(1.0, 0.8, 1.2, 100), Interval(0.0, -1.0, 1.0, 10)]
    assert not pool(two).pooled and pool(two).estimates == tuple(two)
    three = [
        Interval(1.0, 0.9, 1.1, 1000),
        Interval(0.9, 0.7, 1.1, 300),
        Interval(0.0, -1.0, 1.0, 10),
    ]
    found = pool(three)
    assert found.pooled and len(three) >= MIN_GROUPS
    small = found.estimates[2]
    assert 0.0 < small.value < 1.0  # borrows from the others
    assert small.high - small.low < 2.0  # narrower than alone ...
    assert small.high - small.low > 0.2  # ... but not as narrow as the large groups
    assert found.estimates[0].value != found.estimates[2].value  # no identical estimates


def test_pooled_intervals_cover_the_smallest_group() -> None:
    rng = np.random.default_rng(1)
    hits = 0
    for _ in range(300):
        truth = rng.normal(0.0, 0.3, 4)
        se = np.array([0.05, 0.1, 0.2, 0.4])
        seen = truth + rng.normal(0, se)
        found = pool(
            [Interval(v, v - 1.96 * s, v + 1.96 * s, 10) for v, s in zip(seen, se, strict=True)]
        )
        hits += found.estimates[3].low <= truth[3] <= found.estimates[3].high
    assert hits / 300 >= 0.9


def test_fab_interval_without_a_guess_is_the_groups_own_interval() -> None:
    z = 1.959963984540054
    y, s = np.array([0.0, 1.0]), np.array([1.0, 0.5])
    low, high = fab_interval(y, s, y.copy(), np.full(2, 0.01), 0.05)  # on a confident guess
    assert y - low == pytest.approx(high - y, abs=1e-9)  # symmetric ...
    assert np.all(high - y < z * s)  # ... and shorter than the group's own interval
    low, high = fab_interval(y, s, np.zeros(2), 1e6 * s**2, 0.05)  # a guess that says nothing
    assert low == pytest.approx(y - z * s, abs=1e-3) and high == pytest.approx(y + z * s, abs=1e-3)
    # a confident guess far away: the interval stretches towards it, one-sided at most
    low, high = fab_interval(np.array([3.0]), np.array([1.0]), np.zeros(1), np.array([0.1]), 0.05)
    assert low[0] < 3.0 - 1.96 and high[0] == pytest.approx(3.0 + 1.6448536269514722)


@pytest.mark.parametrize("spread", [0.0, 4.0])
def test_pooled_intervals_cover_at_the_nominal_level_whatever_the_spread(spread: float) -> None:
    """Groups that share one effect (τ = 0) or spread by four times their median standard error.

    With these standard errors (those of the calibration's `segments` scenario) the
    flat-prior hierarchical interval covered 99 % at τ = 0 and 93.7 % at the wide
    spread; the FAB interval holds the nominal 95 % at both.
    """
    rng = np.random.default_rng(7)
    se = np.array([0.039, 0.032, 0.076])
    hits, width, runs = 0, 0.0, 600
    for _ in range(runs):
        truth = rng.normal(0.0, spread * float(np.median(se)), 3)
        seen = truth + rng.normal(0, se)
        found = pool(
            [Interval(v, v - 1.96 * s, v + 1.96 * s, 10) for v, s in zip(seen, se, strict=True)]
        )
        small = found.estimates[2]
        assert small.low <= small.value <= small.high
        hits += small.low <= truth[2] <= small.high
        width += (small.high - small.low) / (2 * 1.96 * se[2]) / runs
    assert 0.93 <= hits / runs <= 0.97
    if spread == 0:  # a group that agrees with the others gets a shorter interval than its own
        assert width < 0.9


def test_clustered_delong_counts_a_customer_once() -> None:
    from peakend.models.memory import fit as mf

    rng = np.random.default_rng(3)
    n = 1_000
    y = (rng.random(n) < 0.4).astype(float)
    p = np.clip(0.3 * y + 0.7 * rng.random(n), 0, 1)
    once = mf.interval(mf.score(y, p, binary=True))
    twice_y, twice_p = np.repeat(y, 2), np.repeat(p, 2)  # every customer answered twice
    naive = mf.interval(mf.score(twice_y, twice_p, binary=True))
    clustered = mf.interval(
        mf.score(twice_y, twice_p, binary=True, clusters=np.repeat(np.arange(n), 2))
    )
    width = once.high - once.low
    assert clustered.high - clustered.low == pytest.approx(width, rel=0.02)
    assert naive.high - naive.low == pytest.approx(width / np.sqrt(2), rel=0.02)
