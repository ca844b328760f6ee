"""Statistics shared by the models and the text analysis.

* :mod:`.resampling` — intervals, seeded bootstrap weights (rows or whole
  customers), percentile intervals, Wilson, k-fold splits grouped by customer;
* :mod:`.fieller` — Fieller intervals for ratios of two estimates;
* :mod:`.sandwich` — cluster-robust (sandwich) covariance of least-squares and
  logistic-regression coefficients;
* :mod:`.pooling` — random-effects pooling of group estimates;
* :mod:`.counts` — event counts per day with overdispersion;
* :mod:`.cox` — Cox proportional hazards with time-varying covariates;
* :mod:`.att` — effects on the treated by weighting, with overlap diagnostics.
"""

from peakend.stats.resampling import (
    Interval,
    bootstrap_indices,
    bootstrap_weights,
    kfold_splits,
    percentile_interval,
    wilson,
)

__all__ = [
    "Interval",
    "bootstrap_indices",
    "bootstrap_weights",
    "kfold_splits",
    "percentile_interval",
    "wilson",
]
