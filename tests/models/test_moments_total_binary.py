"""Total effects by intervention for a binary outcome: g-computation over the binary model."""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest
import statsmodels.api as sm
from numpy.typing import NDArray

import peakend
from peakend.errors import StatisticalWarning
from peakend.generate import GeneratorConfig, generate
from peakend.models.memory.whatif import Sequences, sequence_features
from peakend.models.moments import MomentSettings, find_moments
from peakend.models.moments.design import HIGH, LOW, MIDDLE, MomentDesign, build_design
from peakend.models.moments.fit import _matrix, full_fit
from peakend.models.moments.total import (
    MEMORY_FEATURES,
    BandShift,
    OneTouchpoint,
    _band_features,
    band_values,
    binary_contrast,
    contrast_uncertainty,
    memory_matrix,
    ordered_moments,
    shares_variance,
    value_contrast,
)
from peakend.stats.links import LOGIT, PROBIT, BinaryLink
from peakend.stats.sandwich import logistic_sandwich

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Setting:
    """A generated dataset's binary design adjusted for the memory features, at one touchpoint."""

    spec: Path
    truth: dict[str, dict[str, float]]
    design: MomentDesign
    moments: Sequences
    at_t: NDArray[np.bool_]
    x: F64
    memory: NDArray[np.int64]
    columns: dict[int, NDArray[np.int64]]
    rows: NDArray[np.int64]
    t: int

    def shift(self, band: int) -> BandShift:
        change = OneTouchpoint.of(self.moments, self.at_t, self.rows)
        features = _band_features(self.design, change, self.rows, self.t)
        return BandShift(self.x[self.rows], self.memory, self.columns, band, features)


@pytest.fixture(scope="module")
def setting(tmp_path_factory: pytest.TempPathFactory) -> Setting:
    made = generate(tmp_path_factory.mktemp("binary"), GeneratorConfig(n_journeys=3_000, seed=11))
    truth = json.loads(made.truth_path.read_text(encoding="utf-8"))["touchpoints"]
    dataset = peakend.load(made.spec_path)
    design = build_design(dataset, "satisfied")
    moments, touchpoint = ordered_moments(dataset.events, design)
    observed = memory_matrix(sequence_features(moments))
    design = replace(design, controls=observed, control_names=MEMORY_FEATURES)
    matrix = _matrix(design)
    t = design.touchpoints.index("installation")
    memory = np.array([1 + int(np.flatnonzero(matrix.band == -1 - j)[0]) for j in range(4)])
    columns = {
        band: 1 + np.flatnonzero((matrix.touchpoint == t) & (matrix.band == band))
        for band in (LOW, HIGH)
    }
    rows = np.flatnonzero(np.isin(design.bands[:, t], (LOW, MIDDLE, HIGH)))
    return Setting(
        made.spec_path,
        {name: entry["total_satisfied"] for name, entry in truth.items()},
        design,
        moments,
        touchpoint == t,
        matrix.x.astype(np.float64),
        memory,
        columns,
        rows,
        t,
    )


def _brute_force(s: Setting, predict: object, band: int) -> float:
    """Mean over the journeys scoring ``t`` of P(band) − P(middle), each row built in full.

    Every value of a band (with its share) is set on every moment of the
    touchpoint in those journeys, the memory features of *all* journeys are
    recomputed, and the model predicts each journey's full design row.
    """
    scoring = np.isin(s.moments.group, s.rows) & s.at_t
    band_at = s.design.bands[s.moments.group, s.t]
    probs = {}
    for b in (band, MIDDLE):
        chosen = scoring & (band_at == b)
        values, shares = band_values(s.moments.valence[chosen], np.ones(int(chosen.sum())))
        prob = np.zeros(s.rows.size)
        for value, share in zip(values, shares, strict=True):
            valence = np.where(scoring, value, s.moments.valence)
            x = s.x[s.rows].copy()
            for columns in s.columns.values():
                x[:, columns] = 0.0
            if b != MIDDLE:
                x[:, s.columns[b]] = 1.0
            x[:, s.memory] = memory_matrix(sequence_features(s.moments, valence))[s.rows]
            prob += share * np.asarray(predict(x))  # type: ignore[operator]
        probs[b] = prob
    return float(np.mean(probs[band] - probs[MIDDLE]))


@pytest.mark.parametrize("link", [LOGIT, PROBIT], ids=lambda link: link.name)
@pytest.mark.parametrize("band", [LOW, HIGH])
def test_g_computation_equals_brute_force_with_statsmodels(
    setting: Setting, band: int, link: BinaryLink
) -> None:
    """The average of predicted probabilities, against statsmodels' Logit (Probit) per row.

    With the model's fitted coefficients (a weak ridge keeps a separated band
    finite, where statsmodels' maximum likelihood does not converge on these data).
    """
    coef = full_fit(setting.design, link).coef
    model = (sm.Logit if link is LOGIT else sm.Probit)(setting.design.y, setting.x)
    ours, _, change = binary_contrast(
        coef, setting.shift(band), setting.design.weights[setting.rows], link
    )
    brute = _brute_force(setting, lambda x: model.predict(coef, exog=x), band)
    assert abs(ours - brute) < 1e-9
    assert abs(ours) > 0.01  # a real effect, not two zeros
    assert abs(float(np.mean(change))) < 1e-12  # changes are returned around their mean


@pytest.mark.parametrize("link", [LOGIT, PROBIT], ids=lambda link: link.name)
def test_delta_method_gradient_is_the_numerical_one(setting: Setting, link: BinaryLink) -> None:
    """The gradient behind the interval against central differences, and the standard error."""
    coef = full_fit(setting.design, link).coef
    shift = setting.shift(LOW)
    weights = setting.design.weights[setting.rows]
    _, gradient, change = binary_contrast(coef, shift, weights, link)
    step = 1e-6
    numerical = np.zeros(coef.size)
    for j in range(coef.size):
        up, down = coef.copy(), coef.copy()
        up[j] += step
        down[j] -= step
        numerical[j] = (
            binary_contrast(up, shift, weights, link)[0]
            - binary_contrast(down, shift, weights, link)[0]
        ) / (2 * step)
    assert np.allclose(gradient, numerical, rtol=1e-5, atol=1e-8)
    assert np.abs(gradient).max() > 1e-3  # not a vacuous match
    fitted = logistic_sandwich(
        setting.x, setting.design.y, setting.design.weights, coef, setting.design.clusters, link
    )
    se, _ = contrast_uncertainty(fitted, gradient, change, setting.design, setting.rows, False)
    clusters = setting.design.clusters
    summed = change if clusters is None else np.bincount(clusters[setting.rows], weights=change)
    spread = float(np.sum(summed**2)) / setting.rows.size**2
    expected = math.sqrt(float(numerical @ fitted.cov @ numerical) + spread)
    assert se == pytest.approx(expected, rel=1e-4)


def test_shares_variance_is_the_multinomial_one(setting: Setting) -> None:
    """``(Σ s_v m_v² − (Σ s_v m_v)²) / n`` per band: the variance of the value shares' mean.

    The middle band has one value (3) and adds nothing; the low band's two
    values (1 and 2) predict differently, so the penalty owes it a variance.
    """
    coef = full_fit(setting.design).coef
    weights = setting.design.weights[setting.rows]
    _, _, _, by_value = value_contrast(coef, setting.shift(LOW), weights)
    change = OneTouchpoint.of(setting.moments, setting.at_t, setting.rows)
    ours = shares_variance(setting.design, change, setting.rows, setting.t, by_value)
    band_of = setting.design.bands[setting.rows, setting.t][change.journey]
    expected = 0.0
    for band in (LOW, MIDDLE):
        chosen = band_of == band
        _, shares = band_values(change.valence[chosen], np.ones(int(chosen.sum())))
        means = by_value[band]
        expected += float(shares @ (means - shares @ means) ** 2) / int(chosen.sum())
    assert by_value[MIDDLE].size == 1 and by_value[LOW].size == 2
    assert ours == pytest.approx(expected, rel=1e-9)
    assert math.sqrt(ours) > 0.002  # a score of 1 and a score of 2 differ by points


def test_logistic_sandwich_is_close_to_the_textbook_one(setting: Setting) -> None:
    """CR2 (every journey its own cluster) differs from HC0 by the small leverages only.

    HC0 of a logistic fit: ``I⁻¹ (Σ x x' (y − p)²) I⁻¹``, ``I`` the information.
    """
    coef = full_fit(setting.design).coef
    x, y = setting.x, setting.design.y
    ours = logistic_sandwich(x, y, setting.design.weights, coef)
    prob = 1.0 / (1.0 + np.exp(-(x @ coef)))
    bread = np.linalg.pinv((x * (prob * (1 - prob))[:, None]).T @ x)
    scores = x * (y - prob)[:, None]
    hc0 = bread @ (scores.T @ scores) @ bread
    keep = np.diag(hc0) > 1e-8  # columns the data identify
    ratio = ours.se[keep] / np.sqrt(np.diag(hc0)[keep])
    assert np.all(ratio >= 1.0 - 1e-3)  # the leverage adjustment only widens
    assert np.median(ratio) < 1.05


def test_planted_binary_total_effects_are_recovered(setting: Setting) -> None:
    """The share satisfied's total effects from truth.json lie in their 95 % intervals."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        result = find_moments(
            peakend.load(setting.spec),
            outcome="satisfied",
            settings=MomentSettings(threshold=0.10, n_resamples=20, seed=1),
            segments=(),
        )
    assert result.estimand == "total_by_intervention"
    assert result.to_dict()["estimand"] == "total_by_intervention"
    covered, checked, errors = 0, 0, []
    for m in result.touchpoints:
        if m.touchpoint not in setting.truth:
            continue
        true = setting.truth[m.touchpoint]
        for interval, value in ((m.penalty, true["penalty"]), (m.reward, true["reward"])):
            checked += 1
            covered += interval.low <= value <= interval.high
            errors.append(abs(interval.value - value))
    # 20 intervals at 95 %: two misses are within chance, more are not
    assert checked == 20 and covered >= 18
    assert max(errors) < 0.06
