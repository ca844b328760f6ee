"""How much each touchpoint explains, and which touchpoints cannot be told apart.

* :func:`relative_weights`: Johnson's (2000) relative weights. The predictors
  are replaced by their closest orthogonal counterparts (the symmetric square
  root of their correlation matrix); the squared loadings times the squared
  weights of the outcome on the orthogonal set split the explained variance
  exactly. A touchpoint's weight is the sum over its band dummies.
* :func:`collinear_pairs`: band dummies with a variance inflation factor above
  10, each with the dummy of another touchpoint it correlates with most.

Both work on the weighted Gram matrix of ``[1, X, response]`` only, so they cost
nothing extra per bootstrap replicate beyond a small eigendecomposition.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from peakend.models.moments.design import BANDS
from peakend.stats.distributions import f_sf
from peakend.stats.sandwich import wald_statistic

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

_VIF_LIMIT = 10.0
_MIN_COLLINEAR_COUNT = 10.0


def relative_weights(gram: F64, touchpoint: I64, n_touchpoints: int) -> F64:
    """Johnson's relative weights of the dummies, summed per touchpoint, as shares.

    ``gram`` is the weighted Gram matrix of ``[1, X, response]``; ``touchpoint``
    gives each column of ``X`` its touchpoint (``n_touchpoints`` for controls).
    """
    total = gram[0, 0]
    mean = gram[0] / total
    cov = gram / total - np.outer(mean, mean)
    sxx, sxy, syy = cov[1:-1, 1:-1], cov[1:-1, -1], cov[-1, -1]
    sd = np.sqrt(np.clip(np.diag(sxx), 0.0, None))
    keep = sd > 1e-9
    shares = np.zeros(n_touchpoints + 1)  # the last group: controls, if any
    if syy <= 0 or not keep.any():
        return shares[:-1]
    corr = sxx[np.ix_(keep, keep)] / np.outer(sd[keep], sd[keep])
    rxy = sxy[keep] / (sd[keep] * np.sqrt(syy))
    lam, vec = np.linalg.eigh(corr)
    root = np.sqrt(np.clip(lam, 0.0, None))
    inv_root = np.divide(1.0, root, out=np.zeros_like(root), where=root > 1e-6 * root.max())
    loadings = (vec * root) @ vec.T
    beta_z = (vec * inv_root) @ vec.T @ rxy
    raw = (loadings**2) @ (beta_z**2)
    np.add.at(shares, touchpoint[keep], raw)
    explained = shares.sum()
    # touchpoint shares of the explained part; with controls they sum to less than 1
    return (shares / explained if explained > 0 else shares)[:-1]


def _label(names: tuple[str, ...], controls: tuple[str, ...], owner: int, band: int) -> str:
    return f"{names[owner]} ({BANDS[band]})" if band >= 0 else f"control {controls[-1 - band]}"


def collinear_pairs(
    gram: F64,
    touchpoint: I64,
    band: I64,
    names: tuple[str, ...],
    controls: tuple[str, ...],
    mean_weight: float,
) -> tuple[tuple[str, str, float], ...]:
    """Pairs of band dummies that are nearly collinear (VIF above 10), worst first."""
    total = gram[0, 0]
    mean = gram[0, :-1] / total
    cov = gram[:-1, :-1] / total - np.outer(mean, mean)
    sxx = cov[1:, 1:]
    sd = np.sqrt(np.clip(np.diag(sxx), 0.0, None))
    # bands of a handful of journeys (a stray "not applicable") are not worth a warning
    count = np.diag(gram)[1:-1] / mean_weight
    keep = np.flatnonzero((sd > 1e-9) & (count >= _MIN_COLLINEAR_COUNT))
    if keep.size < 2:
        return ()
    corr = sxx[np.ix_(keep, keep)] / np.outer(sd[keep], sd[keep])
    # a tiny ridge keeps exact duplicates finite (VIF about 1e6) instead of singular
    vif = np.diag(np.linalg.inv(corr + 1e-6 * np.eye(len(keep))))
    found: dict[tuple[str, str], float] = {}
    owner, band = touchpoint[keep], band[keep]
    for i in np.flatnonzero(vif > _VIF_LIMIT):
        other = np.where(owner != owner[i], np.abs(corr[i]), -1.0)
        j = int(np.argmax(other))
        if other[j] < 0:
            continue
        labels = sorted(_label(names, controls, owner[k], band[k]) for k in (i, j))
        pair = (labels[0], labels[1])
        found[pair] = max(found.get(pair, 0.0), float(corr[i, j]))
    return tuple((a, b, r) for (a, b), r in sorted(found.items(), key=lambda kv: -abs(kv[1])))


def zero_effect_p(point: F64, replicates: F64) -> float:
    """p-value of the joint test that a touchpoint's band effects are all zero (bootstrap).

    ``point`` holds the touchpoint's effects (penalty, reward, not scored) and
    ``replicates`` their bootstrap draws (rows = resamples). A Wald test with the
    bootstrap covariance (so it respects whatever was resampled, e.g. whole
    customers): the touchpoint's importance is distinguishable from zero only
    when its effects are. Relative weights are positive by construction, so
    their own interval cannot answer that question. The covariance is itself
    estimated from ``B`` replicates, so the statistic is referred to Hotelling's
    T² distribution, ``(B − k) / (k (B − 1)) · W ~ F(k, B − k)``, not to χ²(k)
    (which found an effect in 6.5–7.2 % of no-effect touchpoints at B = 100).
    """
    keep = np.isfinite(point) & np.isfinite(replicates).all(axis=0)
    if not keep.any() or replicates.shape[0] < 3:
        return float("nan")
    cov = np.atleast_2d(np.cov(replicates[:, keep], rowvar=False))
    wald, k = wald_statistic(point[keep], cov)
    b = replicates.shape[0]
    if not k or b <= k:
        return float("nan")
    return float(f_sf(wald * (b - k) / (k * (b - 1)), k, b - k))
