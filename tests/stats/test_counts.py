"""The clusters' totals weighted block by block: the same figures as one product per row."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from peakend.stats.counts import cluster_totals, cluster_weights, weighted_totals


def _one_product_per_row(per_cluster: sparse.coo_matrix, w: np.ndarray) -> np.ndarray:
    """The former way: figures × clusters in compressed rows, times each row of weights."""
    by_row = sparse.csr_matrix(sparse.csr_matrix(per_cluster).T)
    return np.array([by_row @ row for row in w])


@pytest.mark.parametrize("block", [1, 3, 64, 4096])
def test_weighted_totals_equal_one_product_per_row(block: int) -> None:
    """Any block size, repeated entries, empty clusters and figures: every figure the same."""
    rng = np.random.default_rng(11)
    clusters, figures, entries = 200, 9, 700
    rows = rng.integers(0, clusters - 20, entries)  # the last 20 clusters hold nothing
    cols = rng.integers(0, figures - 1, entries)  # nor the last figure
    values = rng.integers(1, 5, entries).astype(np.float64)
    per_cluster = sparse.coo_matrix((values, (rows, cols)), shape=(clusters, figures))
    w = cluster_weights(np.random.default_rng(2), 7, clusters)
    totals = cluster_totals(per_cluster, block=block)
    assert np.array_equal(weighted_totals(totals, w), _one_product_per_row(per_cluster, w))
    ones = np.ones((1, clusters))
    assert np.array_equal(weighted_totals(totals, ones), _one_product_per_row(per_cluster, ones))


def test_weighted_totals_with_no_cluster_and_wrong_weights() -> None:
    """No clusters: zeros; weights for another number of clusters: an error."""
    empty = cluster_totals(sparse.coo_matrix((0, 4)))
    assert np.array_equal(weighted_totals(empty, np.ones((3, 0))), np.zeros((3, 4)))
    totals = cluster_totals(sparse.coo_matrix(np.eye(5)))
    with pytest.raises(ValueError, match="clusters"):
        weighted_totals(totals, np.ones((2, 4)))


def test_public_stand_in_agrees_with_the_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without SciPy's in-place kernel the public product gives the same sums to rounding."""
    import peakend.stats.counts as counts

    rng = np.random.default_rng(5)
    clusters, figures, entries = 300, 6, 900
    rows = rng.integers(0, clusters, entries)
    cols = rng.integers(0, figures, entries)
    values = rng.integers(1, 9, entries).astype(np.float64)
    per_cluster = sparse.coo_matrix((values, (rows, cols)), shape=(clusters, figures))
    w = cluster_weights(np.random.default_rng(3), 5, clusters)
    totals = cluster_totals(per_cluster, block=64)
    kernel = weighted_totals(totals, w)
    monkeypatch.setattr(counts, "_add_product", counts._add_product_public)
    stand_in = weighted_totals(totals, w)
    np.testing.assert_allclose(stand_in, kernel, rtol=1e-12)
    np.testing.assert_allclose(stand_in, _one_product_per_row(per_cluster, w), rtol=1e-12)
