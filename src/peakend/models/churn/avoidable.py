"""Avoidable churn: churners the model attributes to negative experiences.

For a churner whose negative experiences add ``h = beta_h . x_h`` to the log-hazard
at the moment of churn, the share of their hazard those experiences caused is
``1 - exp(-h)``; summed over the churners it estimates how many would not have
churned over the same time had the experiences not happened (the case-based
attributable number; its expectation is the hazard-weighted figure the generator
plants). Its variance adds the counting noise (sum of squared shares) and the
coefficients' uncertainty (delta method).

Per cause (a touchpoint's negative moments and negative endings, unrecovered
failures, a snapshot column) the same figure is computed with only that cause
removed. Causes overlap, so the per-cause figures need not add up to the total.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from peakend.stats.att import Effect, effect
from peakend.stats.cox import CoxFit

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Avoidable:
    """Avoidable churners in all and per cause (each cause removed alone)."""

    total: Effect
    churners: int
    share: float
    by_cause: list[tuple[str, Effect]]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "total": self.total.to_dict(),
            "churners": self.churners,
            "share_of_churners": self.share,
            "by_cause": [{"cause": c, **e.to_dict()} for c, e in self.by_cause],
            "by_cause_rule": "each cause removed alone; causes overlap and need not add up",
        }


def attributable(load: F64, dload: F64, cov: F64, clusters: int) -> Effect:
    """Sum of ``1 - exp(-load)`` over churners with its interval.

    ``dload`` (churners, h) is the derivative of each churner's load with respect
    to the harm coefficients, whose covariance is ``cov``.
    """
    f = -np.expm1(-load)
    grad = (np.exp(-load)[:, None] * dload).sum(axis=0)
    var = float((f**2).sum()) + float(grad @ cov @ grad)
    return effect(float(f.sum()), var, int(np.count_nonzero(load)), clusters)


def avoidable(
    fit: CoxFit, harm: list[str], x_event: F64, causes: dict[str, F64], clusters: int
) -> Avoidable:
    """Avoidable churners from the churners' covariates at churn (``x_event``: rows, all).

    ``causes`` maps a cause label to the per-churner amounts (churners, h) of each
    harm covariate that the cause accounts for (e.g. the negative moments at one
    touchpoint in the ``negative_moments`` column).
    """
    idx = [fit.names.index(h) for h in harm]
    beta = fit.coef[idx]
    cov = fit.cov[np.ix_(idx, idx)]
    xh = x_event[:, idx]
    total = attributable(xh @ beta, xh, cov, clusters)
    by_cause = [
        (label, attributable(amount @ beta, amount, cov, clusters))
        for label, amount in causes.items()
    ]
    by_cause.sort(key=lambda item: -item[1].value)
    n = int(xh.shape[0])
    return Avoidable(
        total=total, churners=n, share=total.value / n if n else float("nan"), by_cause=by_cause
    )
