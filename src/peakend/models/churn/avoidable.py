"""Avoidable churn: churners the model attributes to negative experiences.

For a churner with negative experiences ``x_h`` at the moment of churn, the share
of their hazard those experiences caused is ``1 - exp(-beta_h . x_h)``; summed over
the churners it estimates how many would not have churned over the same time had
the experiences not happened (the case-based attributable number; its expectation
is the hazard-weighted figure the generator plants). Its variance adds the
counting noise (sum of squared shares) and the coefficients' uncertainty (delta
method). A churner's share is split over what caused it in proportion to each
term of ``beta_h . x_h``: each negative moment to its touchpoint, a negative last
ending to the touchpoint it happened at, an unrecovered failure to the failure.
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
    """Avoidable churners in all and per cause (touchpoint or covariate)."""

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
        }


def avoidable(
    fit: CoxFit, harm: list[str], x_event: F64, parts: dict[str, F64], clusters: int
) -> Avoidable:
    """Avoidable churners from the churners' covariates at churn (``x_event``: rows, all).

    ``parts`` maps a cause label to its per-churner weight inside ``beta_h . x_h``
    (already multiplied by the coefficient); the weights of one churner sum to
    ``beta_h . x_h``.
    """
    idx = [fit.names.index(h) for h in harm]
    beta = fit.coef[idx]
    xh = x_event[:, idx]
    load = xh @ beta
    f = -np.expm1(-load)
    total = float(f.sum())
    grad = (np.exp(-load)[:, None] * xh).sum(axis=0)
    var_beta = float(grad @ fit.cov[np.ix_(idx, idx)] @ grad)
    n = int(f.size)
    share = np.divide(1.0, load, out=np.zeros_like(load), where=load != 0)
    by_cause = []
    for label, weight in parts.items():
        fk = f * weight * share
        value = float(fk.sum())
        scale = value / total if total else 0.0
        var = float((fk**2).sum()) + scale**2 * var_beta
        by_cause.append((label, effect(value, var, int(np.count_nonzero(weight)), clusters)))
    by_cause.sort(key=lambda item: -item[1].value)
    return Avoidable(
        total=effect(total, float((f**2).sum()) + var_beta, n, clusters),
        churners=n,
        share=total / n if n else float("nan"),
        by_cause=by_cause,
    )
