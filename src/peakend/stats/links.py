"""Link functions of a binary outcome's regression: probability from the linear predictor.

A binary outcome's model states ``P(y = 1 | x) = F(x'β)``. The logistic ``F``
(logit link) is the usual choice; the normal distribution function (probit
link) is the model of an outcome that is a threshold on a score with normal
noise, ``y = [x'β + ε ≥ 0]``. Both are fitted by iteratively reweighted least
squares (IRLS): each step is the weighted least squares of the working response
``z = η + (y − p) / F'(η)`` with weights ``F'(η)² / (p (1 − p))`` per unit of
weight (Fisher scoring; for the logit link ``F' = p (1 − p)`` and the weights
are ``p (1 − p)``). The same regression at the fitted coefficients gives the
sandwich covariance (:func:`~peakend.stats.sandwich.logistic_sandwich`), and
``F'`` the delta method's gradient of a mean predicted probability.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit, log_ndtr, ndtr, ndtri

from peakend.errors import ConfigError

F64 = NDArray[np.float64]

#: Smallest ``p (1 − p)`` and ``F'(η)`` an IRLS step divides by.
_FLOOR = 1e-10


@dataclass(frozen=True)
class BinaryLink:
    """One link: ``"logit"`` or ``"probit"`` (:data:`LOGIT`, :data:`PROBIT`)."""

    name: str

    def __post_init__(self) -> None:
        if self.name not in ("logit", "probit"):
            raise ConfigError(f"unknown link {self.name!r}; use 'logit' or 'probit'")

    def probability(self, eta: F64) -> F64:
        """``F(η)``: the predicted probability."""
        return np.asarray(expit(eta) if self.name == "logit" else ndtr(eta), dtype=np.float64)

    def slope(self, eta: F64) -> F64:
        """``F'(η)``: how fast the probability moves with the linear predictor."""
        return self.probability_and_slope(eta)[1]

    def probability_and_slope(self, eta: F64) -> tuple[F64, F64]:
        """``F(η)`` and ``F'(η)`` from one pass (the logistic slope is ``p (1 − p)``)."""
        prob = self.probability(eta)
        if self.name == "logit":
            return prob, prob * (1.0 - prob)
        return prob, np.asarray(np.exp(-0.5 * eta**2) / math.sqrt(2.0 * math.pi), dtype=np.float64)

    def start(self, share: float) -> float:
        """The intercept of the model without predictors: ``F⁻¹(share)``."""
        share = min(max(share, 1e-6), 1.0 - 1e-6)
        if self.name == "logit":
            return float(np.log(share / (1.0 - share)))
        return float(ndtri(share))

    def log_likelihood(self, y: F64, eta: F64) -> F64:
        """Each row's ``y log p + (1 − y) log(1 − p)``, without cancellation in the tails."""
        if self.name == "logit":
            return np.asarray(y * eta - np.logaddexp(0.0, eta), dtype=np.float64)
        return np.asarray(y * log_ndtr(eta) + (1.0 - y) * log_ndtr(-eta), dtype=np.float64)

    def irls(self, y: F64, eta: F64) -> tuple[F64, F64, F64]:
        """The probability, the IRLS weight per unit of weight and the working response at ``η``."""
        prob = self.probability(eta)
        var = np.maximum(prob * (1.0 - prob), _FLOOR)
        if self.name == "logit":  # F' = p (1 − p): the weight is the variance itself
            return prob, var, eta + (y - prob) / var
        slope = np.maximum(self.slope(eta), _FLOOR)
        return prob, slope**2 / var, eta + (y - prob) / slope


LOGIT = BinaryLink("logit")
PROBIT = BinaryLink("probit")
