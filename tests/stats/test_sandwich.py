"""The cluster-robust sandwich against statsmodels' HC1 and cluster covariances."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from peakend.stats.sandwich import sandwich, scaled_pinv


def _data(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.column_stack([np.ones(n), rng.integers(0, 2, (n, 3)).astype(float)])
    clusters = rng.integers(0, 80, n)
    shared = rng.normal(0, 1, 80)[clusters]
    y = x @ np.array([1.0, 0.5, -0.3, 0.0]) + shared + rng.normal(0, 1 + x[:, 1], n)
    return x, y, clusters


def test_matches_statsmodels_hc1() -> None:
    x, y, _ = _data()
    found = sandwich(x, y, np.ones(len(y)))
    ref = sm.OLS(y, x).fit(cov_type="HC1")
    assert found.coef == pytest.approx(ref.params, rel=1e-8)
    assert found.se == pytest.approx(ref.bse, rel=1e-8)
    assert found.df == len(y) - x.shape[1]


def test_matches_statsmodels_cluster() -> None:
    x, y, clusters = _data()
    _, codes = np.unique(clusters, return_inverse=True)
    found = sandwich(x, y, np.ones(len(y)), codes)
    ref = sm.OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": codes})
    assert found.se == pytest.approx(ref.bse, rel=1e-8)
    assert found.df == int(codes.max())


def test_weights_equal_duplicated_rows_in_the_coefficients() -> None:
    x, y, _ = _data()
    weights = np.where(np.arange(len(y)) % 2 == 0, 2.0, 1.0)
    doubled = np.repeat(np.arange(len(y)), weights.astype(int))
    assert sandwich(x, y, weights).coef == pytest.approx(
        sandwich(x[doubled], y[doubled], np.ones(doubled.size)).coef, rel=1e-8
    )


def test_collinear_columns_share_their_effect() -> None:
    x, y, _ = _data()
    twin = np.column_stack([x, x[:, 1]])
    found = sandwich(twin, y, np.ones(len(y)))
    assert np.isfinite(found.se).all()
    assert found.coef[1] == pytest.approx(found.coef[4])
    inverse = scaled_pinv(twin.T @ twin)
    assert np.allclose(inverse, inverse.T)
