"""Binary links: IRLS and sandwich recover the coefficients a planted model generated."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from numpy.typing import NDArray

from peakend.errors import ConfigError
from peakend.models.moments.fit import _logistic
from peakend.stats.links import LOGIT, PROBIT, BinaryLink
from peakend.stats.sandwich import logistic_sandwich

F64 = NDArray[np.float64]
BETA = np.array([-0.3, 0.8, -1.2, 0.5])


def _planted(link: BinaryLink, seed: int, n: int = 20_000) -> tuple[F64, F64]:
    """An intercept, two dummies and a normal covariate; ``y`` drawn from ``link``'s model."""
    rng = np.random.default_rng(seed)
    x = np.column_stack(
        [np.ones(n), rng.random(n) < 0.3, rng.random(n) < 0.2, rng.normal(size=n)]
    ).astype(np.float64)
    y = (rng.random(n) < link.probability(x @ BETA)).astype(np.float64)
    return x, y


def _fit(x: F64, y: F64, link: BinaryLink, ridge: float = 0.1) -> F64:
    """The moment model's IRLS (its weak ridge by default)."""
    coef, _, _, converged = _logistic(x.astype(np.float32), y, np.ones(len(y)), ridge, link=link)
    assert converged
    return coef


@pytest.mark.parametrize("link", [LOGIT, PROBIT], ids=lambda link: link.name)
def test_planted_coefficients_are_recovered(link: BinaryLink) -> None:
    """Each link's fit covers its own planted coefficients; the other link's fit does not."""
    x, y = _planted(link, seed=1)
    coef = _fit(x, y, link)
    se = logistic_sandwich(x, y, np.ones(len(y)), coef, link=link).se
    assert np.all(np.abs(coef - BETA) < 4 * se)  # each misses with probability 6e-5
    other = PROBIT if link is LOGIT else LOGIT
    wrong = _fit(x, y, other)
    assert np.max(np.abs(wrong - BETA) / se) > 5  # the scales differ: the test can fail


@pytest.mark.parametrize("link", [LOGIT, PROBIT], ids=lambda link: link.name)
def test_fit_and_sandwich_match_statsmodels(link: BinaryLink) -> None:
    """Maximum likelihood and its robust covariance, against statsmodels' Logit and Probit.

    Without the ridge the coefficients are the maximum likelihood's (up to the
    float32 design). The bias-reduced sandwich differs from HC0 by the small
    leverages, and for the probit also by its bread: the expected information
    (Fisher scoring's) where statsmodels takes the observed one (the two are
    equal for the logit link).
    """
    x, y = _planted(link, seed=5, n=5_000)
    coef = _fit(x, y, link, ridge=0.0)
    model = (sm.Logit if link is LOGIT else sm.Probit)(y, x).fit(disp=0, cov_type="HC0")
    ours = logistic_sandwich(x, y, np.ones(len(y)), coef, link=link)
    assert np.all(np.abs(coef - model.params) < 0.01 * ours.se)
    ratio = ours.se / model.bse
    assert np.all(np.abs(ratio - 1.0) < 0.01)
    if link is LOGIT:  # the same bread: the leverage adjustment only widens
        assert np.all(ratio >= 1.0 - 1e-3)


def test_slope_is_the_derivative_of_the_probability() -> None:
    eta = np.linspace(-4.0, 4.0, 41)  # beyond, differences of p near 1 lose digits
    for link in (LOGIT, PROBIT):
        numerical = (link.probability(eta + 1e-6) - link.probability(eta - 1e-6)) / 2e-6
        assert np.allclose(link.slope(eta), numerical, rtol=1e-5, atol=1e-10)
        assert link.probability(np.array([link.start(0.3)]))[0] == pytest.approx(0.3)


def test_an_unknown_link_is_refused() -> None:
    with pytest.raises(ConfigError, match="logit"):
        BinaryLink("cloglog")
