"""Normal, Student t, chi-squared and F tails, and midranks, without importing ``scipy.stats``.

``scipy.stats`` computes these with the ``scipy.special`` functions used here
(``norm.ppf`` is ``ndtri``, ``norm.cdf`` is ``ndtr``, ``t.ppf`` is
``stdtrit``, ``chi2.sf`` is ``chdtrc``, ``f.sf`` is ``fdtrc``), so the figures are identical (a test
holds them against ``scipy.stats`` bit for bit); ``rankdata``'s average ranks
are computed with the same formula. Importing ``scipy.stats`` loads
interpolation, optimisation, spatial and image modules and took about 0.4 CPU
seconds of every ``peakend analyze`` before any data were read.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

F64 = NDArray[np.float64]


def normal_quantile(p: float) -> float:
    """The standard normal quantile (``scipy.stats.norm.ppf``)."""
    return float(special.ndtri(p))


def normal_cdf(x: float) -> float:
    """``P(Z ≤ x)`` for a standard normal ``Z`` (``scipy.stats.norm.cdf``)."""
    return float(special.ndtr(x))


def normal_sf(x: float) -> float:
    """``P(Z > x)`` for a standard normal ``Z`` (``scipy.stats.norm.sf``)."""
    return float(special.ndtr(-x))


def t_quantile(p: float, df: float) -> float:
    """The quantile of Student's t with ``df`` degrees of freedom (``scipy.stats.t.ppf``)."""
    if not df > 0:
        return math.nan
    return float(special.stdtrit(df, p))


def chi2_sf(x: float, df: float) -> float:
    """``P(X > x)`` for a chi-squared ``X`` with ``df`` degrees of freedom (``chi2.sf``).

    NaN without degrees of freedom, as ``scipy.stats`` gives.
    """
    if not df > 0:
        return math.nan
    return float(special.chdtrc(df, x))


def f_sf(x: float, df_num: float, df_den: float) -> float:
    """``P(F > x)`` for an F distribution with ``df_num`` and ``df_den`` degrees of
    freedom (``scipy.stats.f.sf``); NaN without degrees of freedom."""
    if not (df_num > 0 and df_den > 0):
        return math.nan
    return float(special.fdtrc(df_num, df_den, x))


def midranks(values: ArrayLike) -> F64:
    """Ranks from 1, ties sharing their average rank (``scipy.stats.rankdata``).

    Any NaN makes every rank NaN, as ``rankdata``'s default ``nan_policy``.
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    if np.isnan(x).any():
        return np.full(x.size, np.nan)
    order = np.argsort(x, kind="mergesort")
    ordered = x[order]
    new = np.r_[True, ordered[1:] != ordered[:-1]]
    dense = np.cumsum(new)
    bounds = np.r_[np.flatnonzero(new), x.size]
    ranks = np.empty(x.size)
    ranks[order] = 0.5 * (bounds[dense] + bounds[dense - 1] + 1)
    return ranks
