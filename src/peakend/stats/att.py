"""Average effect on the treated by regression imputation, with customer-clustered intervals.

A control-only outcome model (least squares on the confounders) predicts what each
treated unit's outcome would have been without treatment; the effect is the mean of
observed minus predicted over the treated. Its variance comes from the influence
function of that estimator (the treated units' residual spread plus the control
model's uncertainty at the treated units' mean covariates), summed within
customers, so several journeys of one customer count as one independent unit.
Categorical confounders enter as the cells of their joint values (saturated), so
a pattern that differs between groups does not bias the comparison; treated units
in a cell without any control are outside the overlap and set aside.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Effect:
    """An effect with its 95 % interval, the units behind it and the customers."""

    value: float
    low: float
    high: float
    n: int
    clusters: int

    def to_dict(self) -> dict[str, float | int]:
        """JSON-ready form."""
        return {
            "value": self.value,
            "low": self.low,
            "high": self.high,
            "n": self.n,
            "clusters": self.clusters,
        }

    @property
    def above_zero(self) -> bool:
        """The whole interval lies above 0."""
        return self.low > 0

    @property
    def below_zero(self) -> bool:
        """The whole interval lies below 0."""
        return self.high < 0


def imputation_att(
    y: F64,
    x: F64,
    control: NDArray[np.bool_],
    treated: list[NDArray[np.bool_]],
    cluster: NDArray[np.int64],
    level: float = 0.95,
) -> tuple[list[F64], list[float], F64]:
    """Effects on each treated group and their influence functions (one row per unit).

    ``x`` is the design with an intercept; ``treated`` the masks of the groups.
    Returns the per-unit influence functions, the effects, and the clustered
    covariance of the effects.
    """
    xc, yc = x[control], y[control]
    gram_inv = np.linalg.pinv(xc.T @ xc)
    beta = gram_inv @ (xc.T @ yc)
    resid_c = yc - xc @ beta
    infs, values = [], []
    for mask in treated:
        n_g = int(mask.sum())
        inf = np.zeros(y.size)
        if n_g == 0:
            infs.append(inf)
            values.append(float("nan"))
            continue
        gap = y[mask] - x[mask] @ beta
        att = float(gap.mean())
        inf[mask] = (gap - att) / n_g
        lever = x[mask].mean(axis=0) @ gram_inv
        inf[control] -= (xc @ lever) * resid_c
        infs.append(inf)
        values.append(att)
    return infs, values, clustered_cov(np.column_stack(infs), cluster)


def clustered_cov(inf: F64, cluster: NDArray[np.int64]) -> F64:
    """Covariance of estimators from their influence functions summed by cluster."""
    _, codes = np.unique(cluster, return_inverse=True)
    g = int(codes.max()) + 1 if codes.size else 0
    sums = np.zeros((g, inf.shape[1]))
    np.add.at(sums, codes, inf)
    scale = g / (g - 1) if g > 1 else float("nan")
    return np.asarray(scale * sums.T @ sums, dtype=np.float64)


def effect(value: float, var: float, n: int, clusters: int, level: float = 0.95) -> Effect:
    """A normal-theory interval around ``value``."""
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    se = float(np.sqrt(var)) if var >= 0 else float("nan")
    return Effect(value, value - z * se, value + z * se, n, clusters)
