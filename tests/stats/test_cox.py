"""The Cox fitter against lifelines on time-varying rows, and against a planted truth."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from peakend.errors import ModelError
from peakend.stats.cox import concordance, fit_cox


def _rows(n: int, seed: int) -> pd.DataFrame:
    """Customers whose covariate ``x`` jumps from 0 to 1 at a random time; log-HR 0.7."""
    rng = np.random.default_rng(seed)
    jump = rng.exponential(50.0, n)
    z = rng.normal(size=n)
    base = 0.01 * np.exp(0.4 * z)
    e1 = rng.exponential(1.0 / base)
    t_before = np.minimum(e1, jump)
    died_before = e1 < jump
    e2 = jump + rng.exponential(1.0 / (base * np.exp(0.7)))
    end = np.where(died_before, e1, np.minimum(e2, 200.0))
    died = died_before | (e2 < 200.0)
    frames = []
    first_end = np.minimum(t_before, 200.0)
    frames.append(
        pd.DataFrame(
            {"id": np.arange(n), "start": 0.0, "stop": first_end, "x": 0.0, "z": z,
             "e": died_before & (e1 < 200.0)}
        )
    )  # fmt: skip
    later = ~died_before & (jump < 200.0)
    frames.append(
        pd.DataFrame(
            {"id": np.arange(n)[later], "start": jump[later], "stop": end[later], "x": 1.0,
             "z": z[later], "e": died[later]}
        )
    )  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def _fit(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    fit = fit_cox(
        df.start.to_numpy(), df.stop.to_numpy(), df.e.to_numpy(),
        df[["x", "z"]].to_numpy(), ("x", "z"),
    )  # fmt: skip
    return fit.coef, fit.se


@pytest.mark.parametrize(("shuffled", "rounded"), [(False, False), (True, False), (False, True)])
def test_same_estimates_as_lifelines(shuffled: bool, rounded: bool) -> None:
    """Row order does not matter; few distinct covariate rows (rounded z) neither."""
    from lifelines import CoxTimeVaryingFitter

    df = _rows(400, 1)
    if shuffled:
        df = df.sample(frac=1.0, random_state=0).reset_index(drop=True)
    if rounded:
        df = df.assign(z=df.z.round())
    coef, se = _fit(df)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = CoxTimeVaryingFitter().fit(
            df.assign(e=df.e.astype(int)), id_col="id", start_col="start", stop_col="stop",
            event_col="e",
        )  # fmt: skip
    assert np.allclose(coef, ref.params_[["x", "z"]].to_numpy(), atol=1e-6)
    assert np.allclose(se, ref.standard_errors_[["x", "z"]].to_numpy(), rtol=1e-4)


def test_recovers_planted_log_hazards() -> None:
    coef, se = _fit(_rows(5_000, 2))
    assert abs(coef[0] - 0.7) < 4 * se[0]
    assert abs(coef[1] - 0.4) < 4 * se[1]


def test_concordance_above_chance() -> None:
    df = _rows(3_000, 3)
    risk = 0.7 * df.x.to_numpy() + 0.4 * df.z.to_numpy()
    c = concordance(
        df.start.to_numpy(), df.stop.to_numpy(), df.e.to_numpy(), df.id.to_numpy(), risk
    )
    assert 0.55 < c < 0.8


def test_no_events_and_constant_covariate_are_errors() -> None:
    df = _rows(200, 4)
    with pytest.raises(ModelError, match="no churn events"):
        fit_cox(df.start.to_numpy(), df.stop.to_numpy(), np.zeros(len(df), bool),
                df[["x"]].to_numpy(), ("x",))  # fmt: skip
    with pytest.raises(ModelError, match="single value"):
        fit_cox(df.start.to_numpy(), df.stop.to_numpy(), df.e.to_numpy(),
                np.ones((len(df), 1)), ("one",))  # fmt: skip


@pytest.mark.parametrize("rounded", [False, True])
def test_exact_concordance_equals_every_comparison(rounded: bool) -> None:
    """The counted concordance equals the pairwise loop over all churners and rows."""
    from peakend.stats.cox import _exact_concordance, _sampled_concordance

    df = _rows(1_500, 6)
    if rounded:  # ties in time and in risk; a customer's rows still follow each other
        df = df.assign(z=df.z.round(), stop=df.stop.round(), start=df.start.round())
        df = df.loc[df.stop > df.start]
    risk = 0.7 * df.x.to_numpy() + 0.4 * df.z.to_numpy()
    args = (df.start.to_numpy(), df.stop.to_numpy(), df.e.to_numpy())
    event = args[2]
    exact = _exact_concordance(*args, risk, np.unique(args[1][event]), np.unique(risk))
    loop = _sampled_concordance(
        *args, df.id.to_numpy(), risk, max_events=10**9, max_rows=10**9, seed=0
    )
    assert exact == pytest.approx(loop, abs=1e-12)


def test_blocked_risk_sums_equal_one_block(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many distinct covariate rows: the sums go a few columns at a time, same result."""
    import peakend.stats.cox as cox

    df = _rows(1_000, 7)
    whole = _fit(df)
    monkeypatch.setattr(cox, "CELLS", 2_000)
    blocked = _fit(df)
    assert np.allclose(whole[0], blocked[0], rtol=0, atol=1e-12)
    assert np.allclose(whole[1], blocked[1], rtol=0, atol=1e-12)
