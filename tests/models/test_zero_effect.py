"""The joint test that a touchpoint's band effects are zero (importance "≈0")."""

from __future__ import annotations

import numpy as np
from scipy import stats

from peakend.models.moments.importance import zero_effect_p
from peakend.stats.sandwich import sandwich


def _bands(rng: np.random.Generator, n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    band = rng.integers(0, 4, size=n)
    x = np.column_stack([np.ones(n)] + [(band == b).astype(float) for b in (1, 2, 3)])
    return band, x


def test_sandwich_test_is_hotellings_t2_of_the_wald_statistic() -> None:
    """With many journeys per band η is large and the test is nearly F(q, n − p)."""
    band, x = _bands(np.random.default_rng(2))
    y = np.random.default_rng(3).normal(size=len(band)) + 0.1 * (band == 1)
    found = sandwich(x, y, np.ones(len(y)), bias_reduced=True)
    index = np.array([1, 2, 3])
    p_value, eta = found.wald_p(index)
    wald = float(found.coef[index] @ np.linalg.solve(found.cov[1:, 1:], found.coef[index]))
    assert np.isclose(p_value, stats.f.sf(wald * (eta - 2) / (3 * eta), 3, eta - 2), rtol=1e-9)
    assert 300 < eta < 600
    assert np.isclose(p_value, stats.f.sf(wald / 3, 3, 596), rtol=0.02)


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
        band, x = _bands(rng)
        y = rng.normal(size=600) * (1 + 0.5 * (band == 1))
        found = sandwich(x, y, np.ones(600), bias_reduced=True)
        rejected += found.wald_p(np.array([1, 2, 3]))[0] < 0.05
    assert 0.02 <= rejected / 400 <= 0.085
