"""The joint test that a touchpoint's band effects are zero (importance "≈0")."""

from __future__ import annotations

import numpy as np
from scipy import stats

from peakend.models.moments.importance import zero_effect_p, zero_effect_p_sandwich
from peakend.stats.sandwich import sandwich


def test_sandwich_test_is_the_f_test_of_the_wald_statistic() -> None:
    point = np.array([0.2, -0.1, np.nan])
    cov = np.diag([0.01, 0.02, np.nan])
    wald = 0.2**2 / 0.01 + 0.1**2 / 0.02
    expected = stats.f.sf(wald / 2, 2, 500)
    assert np.isclose(zero_effect_p_sandwich(point, cov, 500), expected)


def test_bootstrap_test_accounts_for_an_estimated_covariance() -> None:
    """Hotelling's T² is more cautious than χ² when the covariance comes from 100 draws."""
    rng = np.random.default_rng(0)
    reps = rng.normal(size=(100, 3)) * 0.1
    point = np.array([0.2, 0.1, -0.15])
    cov = np.cov(reps, rowvar=False)
    wald = float(point @ np.linalg.solve(cov, point))
    assert zero_effect_p(point, reps) > stats.chi2.sf(wald, 3)


def test_sandwich_test_holds_its_level_without_effects() -> None:
    """Under no effect the test rejects about 5 % of the time (400 regressions)."""
    rng = np.random.default_rng(1)
    rejected = 0
    for _ in range(400):
        band = rng.integers(0, 4, size=600)
        x = np.column_stack([np.ones(600)] + [(band == b).astype(float) for b in (1, 2, 3)])
        y = rng.normal(size=600) * (1 + 0.5 * (band == 1))
        found = sandwich(x, y, np.ones(600))
        rejected += zero_effect_p_sandwich(found.coef[1:], found.cov[1:, 1:], found.df) < 0.05
    assert 0.02 <= rejected / 400 <= 0.085
