"""Cox proportional-hazards model on counting-process (start, stop] rows.

One row per interval in which a customer's covariates stay constant, so the same
fitter serves time-varying covariates (cumulative negative moments, the last
ending, open failures) and one-row-per-customer snapshots (``start = 0``).

The partial likelihood uses Breslow's handling of tied event times. Every risk-set
sum is a difference of two prefix sums over rows sorted by ``stop`` and by
``start`` (rows at risk at ``t`` are those with ``start < t <= stop``), so one
Newton step costs a few sorts' worth of work however many distinct event times
there are; lifelines' ``CoxTimeVaryingFitter`` gives the same estimates
(``tests/stats/test_cox.py``) but loops over event times, which does not scale
to millions of rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from peakend.errors import ModelError

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class CoxFit:
    """Fitted coefficients (log hazard ratios), their covariance and diagnostics.

    ``ph_p`` holds, per covariate, the p-value of the correlation between its
    Schoenfeld residuals and log time (Grambsch & Therneau 1994, unscaled form):
    a small value says the hazard ratio changes over time.
    """

    names: tuple[str, ...]
    coef: F64
    cov: F64
    loglik: float
    n_rows: int
    n_events: int
    ph_p: F64

    @property
    def se(self) -> F64:
        """Standard errors of the coefficients."""
        return np.sqrt(np.diag(self.cov))

    def interval(self, level: float = 0.95) -> tuple[F64, F64]:
        """Wald interval of every coefficient (log scale)."""
        z = float(stats.norm.ppf(0.5 + level / 2.0))
        return self.coef - z * self.se, self.coef + z * self.se


@dataclass
class _RiskSets:
    """Row orders and event-time positions that every Newton step reuses."""

    by_stop: NDArray[np.int64]
    by_start: NDArray[np.int64]
    at_stop: NDArray[np.int64]  # rows with stop < t, per event time
    at_start: NDArray[np.int64]  # rows with start < t, per event time
    times: F64
    deaths: F64
    event_rows: NDArray[np.int64]
    event_time: NDArray[np.int64]  # index into times of each event row
    x_stop: F64  # covariates in stop order
    x_start: F64  # covariates in start order


def _risk_sets(start: F64, stop: F64, event: NDArray[np.bool_], x: F64) -> _RiskSets:
    by_stop = np.argsort(stop, kind="stable")
    by_start = np.argsort(start, kind="stable")
    event_rows = np.flatnonzero(event)
    times, event_time, deaths = np.unique(stop[event_rows], return_inverse=True, return_counts=True)
    return _RiskSets(
        by_stop=by_stop,
        by_start=by_start,
        at_stop=np.searchsorted(stop[by_stop], times, side="left"),
        at_start=np.searchsorted(start[by_start], times, side="left"),
        times=times,
        deaths=deaths.astype(np.float64),
        event_rows=event_rows,
        event_time=event_time.astype(np.int64),
        x_stop=x[by_stop],
        x_start=x[by_start],
    )


def _risk_sum(cols_stop: F64, cols_start: F64, rs: _RiskSets) -> F64:
    """Sum of per-row values over the rows at risk at every event time.

    ``cols_stop`` and ``cols_start`` hold the same values (rows, k) in ``stop`` and
    ``start`` order; at risk at ``t`` = (start < t) minus (stop < t).
    """
    c_stop = np.cumsum(cols_stop, axis=0)
    c_start = np.cumsum(cols_start, axis=0)
    zero = np.zeros((1, cols_stop.shape[1]))
    c_stop = np.vstack([zero, c_stop])
    c_start = np.vstack([zero, c_start])
    return np.asarray(c_start[rs.at_start] - c_stop[rs.at_stop], dtype=np.float64)


def _columns(x: F64, eta: F64, shift: float) -> F64:
    """w, w*x and w*x_a*x_b (a <= b) per row, column-major."""
    w = np.exp(eta - shift)
    p = x.shape[1]
    pairs = [(a, b) for a in range(p) for b in range(a, p)]
    cols = np.empty((x.shape[0], 1 + p + len(pairs)), order="F")
    cols[:, 0] = w
    cols[:, 1 : 1 + p] = x * w[:, None]
    for k, (a, b) in enumerate(pairs):
        cols[:, 1 + p + k] = cols[:, 1 + a] * x[:, b]
    return cols


def _moments(x: F64, beta: F64, rs: _RiskSets) -> tuple[F64, F64, F64, F64]:
    """S0, S1, S2 at every event time and the linear predictor, for coefficients ``beta``."""
    eta = x @ beta
    shift = float(eta.max())
    p = x.shape[1]
    sums = _risk_sum(
        _columns(rs.x_stop, rs.x_stop @ beta, shift),
        _columns(rs.x_start, rs.x_start @ beta, shift),
        rs,
    )
    s2 = np.zeros((rs.times.size, p, p))
    k = 1 + p
    for a in range(p):
        for b in range(a, p):
            s2[:, a, b] = s2[:, b, a] = sums[:, k]
            k += 1
    return sums[:, 0], sums[:, 1 : 1 + p], s2, eta


def _step(x: F64, beta: F64, rs: _RiskSets) -> tuple[float, F64, F64, F64, F64]:
    s0, s1, s2, eta = _moments(x, beta, rs)
    s0 = np.maximum(s0, 1e-300)
    mean = s1 / s0[:, None]
    loglik = float(eta[rs.event_rows].sum() - (rs.deaths * (np.log(s0) + eta.max())).sum())
    grad = x[rs.event_rows].sum(axis=0) - (rs.deaths[:, None] * mean).sum(axis=0)
    info = s2 / s0[:, None, None] - mean[:, :, None] * mean[:, None, :]
    hess = (rs.deaths[:, None, None] * info).sum(axis=0)
    return loglik, grad, hess, mean, eta


def fit_cox(
    start: F64,
    stop: F64,
    event: NDArray[np.bool_],
    x: F64,
    names: tuple[str, ...],
    *,
    max_iter: int = 50,
    tol: float = 1e-9,
    init: F64 | None = None,
) -> CoxFit:
    """Fit a Cox model to (start, stop] rows with covariates ``x`` (rows, p).

    ``init`` (log hazard ratios) starts Newton's method near a known answer, e.g.
    a fit on a superset of the rows.

    Raises
    ------
    ModelError
        Without events, with a constant covariate, or when Newton steps do not
        converge (e.g. a covariate separates churners perfectly).
    """
    if not event.any():
        raise ModelError("no churn events: a survival model needs at least one churner")
    if np.any(stop <= start):
        raise ModelError("every interval needs stop > start")
    centre, scale = x.mean(axis=0), x.std(axis=0)
    flat = [names[j] for j in np.flatnonzero(scale == 0)]
    if flat:
        raise ModelError(f"covariate(s) {', '.join(flat)} take a single value; drop them")
    z = (x - centre) / scale
    rs = _risk_sets(start, stop, event, z)
    beta = np.zeros(z.shape[1]) if init is None else init * scale
    loglik, grad, hess, mean, _ = _step(z, beta, rs)
    for _ in range(max_iter):
        delta = np.linalg.solve(hess, grad)
        shrink = 1.0
        while True:
            new = _step(z, beta + shrink * delta, rs)
            if new[0] >= loglik - 1e-12 or shrink < 1e-4:
                break
            shrink /= 2.0
        beta = beta + shrink * delta
        done = abs(new[0] - loglik) < tol * (1.0 + abs(loglik))
        loglik, grad, hess, mean, _ = new
        if done:
            break
    else:
        raise ModelError("the Cox model did not converge; a covariate may separate churners")
    cov_z = np.linalg.inv(hess)
    coef = beta / scale
    cov = cov_z / np.outer(scale, scale)
    resid = z[rs.event_rows] - mean[rs.event_time]
    return CoxFit(
        names=names,
        coef=coef,
        cov=cov,
        loglik=loglik,
        n_rows=int(start.size),
        n_events=int(rs.event_rows.size),
        ph_p=_ph_test(resid, stop[rs.event_rows]),
    )


def _ph_test(resid: F64, times: F64) -> F64:
    """p-value of the correlation of each covariate's Schoenfeld residuals with log time."""
    if resid.shape[0] < 3:
        return np.full(resid.shape[1], np.nan)
    log_t = np.log(np.maximum(times, 1e-12))
    out = np.empty(resid.shape[1])
    for j in range(resid.shape[1]):
        if np.ptp(resid[:, j]) == 0 or np.ptp(log_t) == 0:
            out[j] = np.nan
            continue
        out[j] = float(stats.pearsonr(resid[:, j], log_t).pvalue)
    return out


def concordance(
    start: F64,
    stop: F64,
    event: NDArray[np.bool_],
    customer: NDArray[np.int64],
    risk: F64,
    *,
    max_events: int = 1_000,
    max_rows: int = 200_000,
    seed: int = 0,
) -> float:
    """Harrell's concordance with time-varying risk, on a seeded sample of rows.

    For each sampled event at time ``t``, every other customer's row at risk at
    ``t`` is a comparison: concordant when the churner's risk at ``t`` is higher,
    half when tied. Sampling keeps the cost bounded on millions of rows.
    """
    rng = np.random.default_rng(seed)
    rows = np.arange(start.size)
    if rows.size > max_rows:
        keep = np.unique(customer[rng.choice(rows, size=max_rows, replace=False)])
        rows = rows[np.isin(customer, keep)]
    ev = rows[event[rows]]
    if ev.size > max_events:
        ev = rng.choice(ev, size=max_events, replace=False)
    good = ties = total = 0.0
    s, e, c, r = start[rows], stop[rows], customer[rows], risk[rows]
    for i in ev:
        t = stop[i]
        at_risk = (s < t) & (e >= t) & (c != customer[i])
        at_risk &= ~((e == t) & event[rows])  # a churner at the same time is not a comparison
        other = r[at_risk]
        good += float(np.count_nonzero(other < risk[i]))
        ties += float(np.count_nonzero(other == risk[i]))
        total += float(other.size)
    return (good + 0.5 * ties) / total if total else float("nan")
