"""The cluster-robust sandwich against statsmodels' HC1 and cluster covariances."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from peakend.stats.distributions import f_sf
from peakend.stats.sandwich import _SatterthwaiteSums, sandwich, scaled_pinv, wald_statistic


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


# ---------------------------------------------------------------- bias-reduced (CR2)
def _dense_parts(
    x: np.ndarray, w: np.ndarray, clusters: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Bread, ``I − H``, each cluster's rows and ``(I − H_gg)^{-1/2}``, by dense algebra."""
    xt = x * np.sqrt(w)[:, None]
    bread = np.linalg.inv(xt.T @ xt)
    resid_maker = np.eye(len(x)) - xt @ bread @ xt.T
    groups = [np.flatnonzero(clusters == g) for g in np.unique(clusters)]
    roots = []
    for rows in groups:
        lam, vec = np.linalg.eigh(resid_maker[np.ix_(rows, rows)])
        roots.append((vec / np.sqrt(lam)) @ vec.T)
    return bread, resid_maker, groups, roots


def _dense_cr2(x: np.ndarray, y: np.ndarray, w: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    bread, _, groups, roots = _dense_parts(x, w, clusters)
    xt, yt = x * np.sqrt(w)[:, None], y * np.sqrt(w)
    e = yt - xt @ (bread @ xt.T @ yt)
    meat = sum(
        np.outer(xt[r].T @ a @ e[r], xt[r].T @ a @ e[r]) for r, a in zip(groups, roots, strict=True)
    )
    return np.asarray(bread @ meat @ bread)


def _dense_eta(x: np.ndarray, w: np.ndarray, clusters: np.ndarray, index: list[int]) -> float:
    """η of Pustejovsky & Tipton (2018) from the n-vectors ``p_sg`` themselves."""
    bread, resid_maker, groups, roots = _dense_parts(x, w, clusters)
    xt = x * np.sqrt(w)[:, None]
    lam, vec = np.linalg.eigh(bread[np.ix_(index, index)])
    contrast = np.zeros((len(index), x.shape[1]))
    contrast[:, index] = (vec / np.sqrt(lam)).T
    p = []  # p[s][g]: n-vector
    for d in contrast:
        p.append(
            [
                resid_maker[:, r] @ (a @ (xt[r] @ bread @ d))
                for r, a in zip(groups, roots, strict=True)
            ]
        )
    q = len(index)
    total = 0.0
    for s in range(q):
        for t in range(q):
            pss = np.array([[a @ b for b in p[s]] for a in p[s]])
            ptt = np.array([[a @ b for b in p[t]] for a in p[t]])
            pst = np.array([[a @ b for b in p[t]] for a in p[s]])
            total += float(np.sum(pss * ptt) + np.sum(pst * pst.T))
    return q * (q + 1) / total


def _few_clusters(seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """16 clusters of 3–9 rows; one dummy lives in only 3 of them (high leverage)."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(3, 10, 16)
    clusters = np.repeat(np.arange(16), sizes)
    n = clusters.size
    rare = np.isin(clusters, (0, 5, 11)) & (rng.random(n) < 0.7)
    x = np.column_stack(
        [np.ones(n), rare, rng.integers(0, 2, n), rng.normal(size=n), rng.integers(0, 2, n)]
    ).astype(float)
    weights = rng.uniform(0.5, 2.0, n)
    return x, weights, clusters


def test_bias_reduced_without_clusters_is_hc2() -> None:
    x, y, _ = _data()
    found = sandwich(x, y, np.ones(len(y)), bias_reduced=True)
    ref = sm.OLS(y, x).fit(cov_type="HC2")
    assert found.se == pytest.approx(ref.bse, rel=1e-8)


def test_bias_reduced_with_clusters_matches_dense_algebra() -> None:
    x, w, clusters = _few_clusters()
    y = np.random.default_rng(2).normal(size=len(w)) + x[:, 3]
    found = sandwich(x, y, w, clusters, bias_reduced=True)
    assert found.cov == pytest.approx(_dense_cr2(x, y, w, clusters), rel=1e-7, abs=1e-12)
    # scrambled rows: the same covariance (rows are ordered by cluster inside)
    shuffle = np.random.default_rng(3).permutation(len(w))
    again = sandwich(x[shuffle], y[shuffle], w[shuffle], clusters[shuffle], bias_reduced=True)
    assert again.cov == pytest.approx(found.cov, rel=1e-7, abs=1e-12)


@pytest.mark.parametrize("index", [[1], [2], [1, 2, 4]])
def test_satterthwaite_df_matches_dense_algebra(index: list[int]) -> None:
    x, w, clusters = _few_clusters()
    found = sandwich(x, x[:, 3], w, clusters, bias_reduced=True)
    eta = found.satterthwaite_df(np.array(index))
    assert eta == pytest.approx(_dense_eta(x, w, clusters, index), rel=1e-7)
    assert 1.0 < eta < 15.0  # never more than the G − 1 = 15 of CR1


def test_rare_column_has_few_degrees_of_freedom() -> None:
    x, w, clusters = _few_clusters()
    found = sandwich(x, x[:, 3], w, clusters, bias_reduced=True)
    rare = found.satterthwaite_df(np.array([1]))
    common = found.satterthwaite_df(np.array([2]))
    assert rare < 4.0 < common


def test_zero_coefficients_rejected_at_the_nominal_rate() -> None:
    """Planted truth: columns 1, 2, 4 have no effect; the HTZ test rejects about 5 %.

    CR1 with F(q, G − 1) (the rule of thumb for few clusters) rejects far more
    often on the same data: the rare column's variance is underestimated.
    """
    x, w, clusters = _few_clusters()
    rng = np.random.default_rng(4)
    index = np.array([1, 2, 4])
    htz, cr1 = [], []
    for _ in range(600):
        cluster_effect = rng.normal(0, 0.5, 16)[clusters]
        y = 1.0 + 0.5 * x[:, 3] + cluster_effect + rng.normal(size=len(w)) / np.sqrt(w)
        found = sandwich(x, y, w, clusters, bias_reduced=True)
        htz.append(found.wald_p(index)[0] < 0.05)
        plain = sandwich(x, y, w, clusters)
        wald, q = wald_statistic(plain.coef[index], plain.cov[np.ix_(index, index)])
        cr1.append(f_sf(wald / q, q, plain.df) < 0.05)
    assert 0.015 <= np.mean(htz) <= 0.075
    assert np.mean(cr1) > 0.10


@pytest.mark.parametrize("unit_weights", [True, False])
def test_rows_their_own_clusters_keep_factors_not_adjusted_rows(unit_weights: bool) -> None:
    """Without clusters each row's adjustment is kept as a factor: the covariance, every
    η and the joint test equal those of the clustered form with one row per cluster,
    which keeps the adjusted rows themselves."""
    x, w, _ = _few_clusters()
    w = np.ones(len(w)) if unit_weights else w
    y = np.random.default_rng(4).normal(size=len(w)) + x[:, 3]
    alone = sandwich(x, y, w, bias_reduced=True)
    clustered = sandwich(x, y, w, np.arange(len(w)), bias_reduced=True)
    assert alone.adjusted_x is None and alone.row_factor is not None
    assert clustered.adjusted_x is not None
    assert alone.cov == pytest.approx(clustered.cov, rel=1e-9, abs=1e-14)
    for index in ([1], [2], [1, 2, 4]):
        columns = np.array(index)
        assert alone.satterthwaite_df(columns) == pytest.approx(
            clustered.satterthwaite_df(columns), rel=1e-9
        )
    assert alone.wald_p(np.array([1, 2])) == pytest.approx(
        clustered.wald_p(np.array([1, 2])), rel=1e-9
    )


def test_satterthwaite_sums_of_single_row_clusters_are_the_rows() -> None:
    """Clusters of one row each are summed without ``reduceat``: the same sums, to
    the last digit, as summing every one-row cluster."""
    rng = np.random.default_rng(3)
    u, xt = rng.normal(size=(50, 2)), rng.normal(size=(50, 4))
    bread = np.eye(4) + 0.1
    direct = _SatterthwaiteSums(2, bread)
    direct.add(u, xt, np.arange(50))
    summed = _SatterthwaiteSums(2, bread)
    uu = np.add.reduceat(u[:, :, None] * u[:, None, :], np.arange(50), axis=0)
    v = np.add.reduceat(u[:, :, None] * xt[:, None, :], np.arange(50), axis=0)
    vbv = np.einsum("gap,gbp->gab", v @ bread, v)
    summed.uu_uu += np.einsum("gab,gcd->abcd", uu, uu)
    summed.uu_vbv += np.einsum("gab,gcd->abcd", uu, vbv)
    summed.vv += np.tensordot(v, v, axes=([0], [0])).transpose(0, 2, 1, 3)
    for name in ("uu_uu", "uu_vbv", "vv"):
        np.testing.assert_array_equal(getattr(direct, name), getattr(summed, name))
    pairs = _SatterthwaiteSums(2, bread)  # clusters of two rows still summed
    pairs.add(u, xt, np.arange(0, 50, 2))
    assert not np.allclose(pairs.uu_uu, direct.uu_uu)
