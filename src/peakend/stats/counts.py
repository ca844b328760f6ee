"""Statistics for event counts: multiple testing, robust trends and cluster bootstrap weights.

* :func:`benjamini_hochberg` — false-discovery-rate adjusted p-values.
* :func:`robust_line` — a straight line through noisy rates that ignores a
  minority of outlying points (Siegel's repeated medians, 50 % breakdown), the
  baseline of a curve in which some points are windows of excess.
* :func:`weighted_line` — weighted least squares line (one or more series at once),
  for refitting a baseline on points known to be quiet.
* :func:`cluster_weights` — Bayesian-bootstrap weights per cluster (customer),
  so that several journeys of one customer move together in every replicate.
* :func:`cluster_totals` and :func:`weighted_totals` — each replicate's weighted
  sums of the clusters' totals, added cluster by cluster in order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.stats import siegelslopes

F64 = NDArray[np.float64]


def _add_product_public(
    n_row: int, n_col: int, n_vecs: int, indptr: NDArray[np.int64], indices: NDArray[np.int64],
    data: F64, x: F64, y: F64,
) -> None:  # fmt: skip
    """``y += A @ x`` with SciPy's public product (``A`` in compressed rows, ``x`` and
    ``y`` flat, row-major): the stand-in when SciPy lacks the kernel below. Each
    block's product is added to ``y`` as a whole, so sums agree to rounding only."""
    span = slice(int(indptr[0]), int(indptr[-1]))  # ``indptr`` points into the whole arrays
    a = sparse.csr_matrix((data[span], indices[span], indptr - indptr[0]), shape=(n_row, n_col))
    y.reshape(n_row, n_vecs)[:] += a @ x.reshape(n_col, n_vecs)


try:
    # SciPy's compiled product that adds into its output (``y += A @ X``) for a block of
    # columns of ``A``, so that consecutive blocks continue each sum where the last
    # one stopped, in order: the figures of one product per replicate, to the digit.
    # (Not public API, hence the stand-in.)
    from scipy.sparse._sparsetools import csr_matvecs as _add_product
except ImportError:  # pragma: no cover - depends on the SciPy release
    _add_product = _add_product_public
#: Clusters per block of :func:`cluster_totals`: a block's weights (25 replicates)
#: are 0.8 MB, read while they are in the processor's cache.
CLUSTER_BLOCK = 4096


def benjamini_hochberg(p: F64) -> F64:
    """Benjamini-Hochberg adjusted p-values (q-values), in the input order."""
    n = p.size
    if n == 0:
        return p.astype(np.float64)
    order = np.argsort(p)
    ranked = p[order] * n / np.arange(1, n + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(q, 1.0)
    return out


def robust_line(x: F64, y: F64) -> tuple[float, float]:
    """Intercept and slope of Siegel's repeated-medians line (flat median for < 3 points).

    Up to half of the points may lie anywhere without moving the line, so a
    window of excess covering less than half of a curve does not raise its baseline.
    """
    ok = np.isfinite(y)
    if ok.sum() < 3:
        return (float(np.median(y[ok])) if ok.any() else 0.0), 0.0
    slope, intercept = siegelslopes(y[ok], x[ok])
    return float(intercept), float(slope)


def weighted_line(x: F64, y: F64, w: F64) -> tuple[F64, F64]:
    """Weighted least-squares intercepts and slopes of each row of ``y`` (weights ``w``).

    ``y`` and ``w`` are (replicates, points); ``x`` the points. Rows with fewer
    than three weighted points get a flat weighted mean (slope 0).
    """
    y = np.atleast_2d(y)
    w = np.atleast_2d(w) * np.isfinite(y)
    y = np.nan_to_num(y)
    sw = w.sum(axis=1)
    safe = np.where(sw > 0, sw, 1.0)
    mx = (w * x).sum(axis=1) / safe
    my = (w * y).sum(axis=1) / safe
    dx = x[None, :] - mx[:, None]
    sxx = (w * dx * dx).sum(axis=1)
    points = (w > 0).sum(axis=1)
    slope = np.where(
        (points >= 3) & (sxx > 0),
        (w * dx * (y - my[:, None])).sum(axis=1) / np.where(sxx > 0, sxx, 1.0),
        0.0,
    )
    flat = points < 3
    slope = np.where(flat, 0.0, slope)
    return my - slope * mx, slope


def cluster_weights(
    rng: np.random.Generator, replicates: int, clusters: int, out: F64 | None = None
) -> F64:
    """Bootstrap weights, one row per replicate and one column per cluster.

    Exponential(1) weights: the Bayesian bootstrap (Rubin 1981), which has the
    variance of the classic bootstrap (mean 1, variance 1, like Poisson(1)
    counts) and is faster to draw (2.5 times, measured under load). ``out``
    (``replicates`` × ``clusters``), when given, is filled with the same draws
    instead of a new array, so a loop over blocks of replicates touches no
    fresh memory.
    """
    if out is not None:
        if out.shape != (replicates, clusters):
            raise ValueError(f"out has shape {out.shape}, not {(replicates, clusters)}")
        return rng.standard_exponential(out=out)
    return rng.standard_exponential(size=(replicates, clusters))


@dataclass(frozen=True)
class ClusterTotals:
    """Clusters' totals (figures × clusters) cut in blocks of consecutive clusters.

    Compressed rows, one row per (block, figure) in that order, the clusters in
    order within a row: block ``b``'s figures × clusters matrix has the row
    pointers ``indptr[b * figures : (b + 1) * figures + 1]`` into ``indices``
    (the cluster's place in its block) and ``data``. ``bounds`` holds each
    block's first cluster, then the number of clusters.
    """

    figures: int
    bounds: NDArray[np.int64]
    indptr: NDArray[np.int64]
    indices: NDArray[np.int64]
    data: F64


def cluster_totals(per_cluster: sparse.spmatrix, block: int = CLUSTER_BLOCK) -> ClusterTotals:
    """The totals of ``per_cluster`` (clusters × figures) ready for :func:`weighted_totals`.

    Repeated (cluster, figure) entries are added together. Made with one
    conversion and one gather of the entries, instead of a sparse slice per block.
    """
    # figures as columns, the clusters in order within each, each once: summed
    # per cluster first (short rows), then turned, which keeps the clusters' order
    by_figure = sparse.csr_matrix(per_cluster, dtype=np.float64).tocsc()
    by_figure.sum_duplicates()
    clusters, figures = by_figure.shape
    bounds = np.append(np.arange(0, clusters, block, dtype=np.int64), clusters)
    cluster = by_figure.indices.astype(np.int64)
    figure = np.repeat(np.arange(figures, dtype=np.int64), np.diff(by_figure.indptr))
    # entries ordered by figure, then cluster: where each block starts within each figure
    at = np.searchsorted(
        figure * clusters + cluster, np.arange(figures)[None, :] * clusters + bounds[:, None]
    )
    lengths = (at[1:] - at[:-1]).ravel()  # (block, figure) in that order
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    take = np.repeat(at[:-1].ravel() - indptr[:-1], lengths) + np.arange(indptr[-1])
    first = np.repeat(bounds[:-1], (at[1:] - at[:-1]).sum(axis=1))
    return ClusterTotals(figures, bounds, indptr, cluster[take] - first, by_figure.data[take])


def weighted_totals(totals: ClusterTotals, w: F64) -> F64:
    """Each row of weights' sums of the totals (rows of ``w`` × figures).

    ``w`` is replicates × clusters, as :func:`cluster_weights` draws it. Every sum
    is added cluster by cluster in the clusters' order, starting from zero, as
    one sparse product per replicate (``figures × clusters @ w[i]``) adds it: the
    same figures to the last digit. Here the totals are read once for all the
    replicates instead of once per replicate, and the weights block by block (each
    block turned into clusters × replicates in a small buffer) while they are in
    the cache, instead of each replicate's row across all clusters once per figure.
    """
    replicates, figures = w.shape[0], totals.figures
    if w.shape[1] != totals.bounds[-1]:
        raise ValueError(f"w has {w.shape[1]} columns, not {totals.bounds[-1]} clusters")
    y = np.zeros((figures, replicates))
    widths = np.diff(totals.bounds)
    buffer = np.empty((int(widths.max(initial=0)), replicates))
    starts = totals.bounds[:-1].tolist()
    for b, (first, width) in enumerate(zip(starts, widths.tolist(), strict=True)):
        x = buffer[:width]
        np.copyto(x, w[:, first : first + width].T)
        rows = totals.indptr[b * figures : (b + 1) * figures + 1]
        _add_product(figures, width, replicates, rows, totals.indices, totals.data,
                    x.ravel(), y.ravel())  # fmt: skip
    return np.ascontiguousarray(y.T)
