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
    """Row orders and event-time positions that every Newton step reuses.

    Rows are kept in ``start`` order. When each customer's rows tile one interval
    without gaps (the history rows do), a customer's value at risk at ``t`` is the
    running sum of the changes of their rows started before ``t``, minus their last
    value once their follow-up ended before ``t``: one prefix sum over the rows and
    one over the customers. Otherwise the rows are also kept in ``stop`` order.
    """

    x_start: F64  # covariates in start order
    at_start: NDArray[np.int64]  # rows with start < t, per event time
    prev: NDArray[np.int64] | None  # tiled: previous row of the same customer (-1: none)
    x_stop: F64  # tiled: each customer's last row; else every row, in stop order
    at_stop: NDArray[np.int64]  # rows (or customers) with stop < t, per event time
    times: F64
    deaths: F64
    event_rows: NDArray[np.int64]
    event_time: NDArray[np.int64]  # index into times of each event row


def _risk_sets(
    start: F64, stop: F64, event: NDArray[np.bool_], x: F64, customer: NDArray[np.int64] | None
) -> _RiskSets:
    event_rows = np.flatnonzero(event)
    times, event_time, deaths = np.unique(stop[event_rows], return_inverse=True, return_counts=True)
    by_start = np.argsort(start, kind="stable")
    prev: NDArray[np.int64] | None = None
    last_rows = None
    if customer is not None:
        order = np.lexsort((start, customer))
        same = customer[order][1:] == customer[order][:-1]
        if np.array_equal(stop[order][:-1][same], start[order][1:][same]):
            before = np.full(start.size, -1, dtype=np.int64)
            before[order[1:][same]] = order[:-1][same]
            rank = np.empty(start.size, dtype=np.int64)
            rank[by_start] = np.arange(start.size)
            prev = np.where(before >= 0, rank[np.maximum(before, 0)], -1)[by_start]
            last_rows = order[np.r_[~same, True]]
    if last_rows is not None:
        by_stop = last_rows[np.argsort(stop[last_rows], kind="stable")]
    else:
        by_stop = np.argsort(stop, kind="stable")
    return _RiskSets(
        x_start=x[by_start],
        at_start=np.searchsorted(start[by_start], times, side="left"),
        prev=prev,
        x_stop=x[by_stop],
        at_stop=np.searchsorted(stop[by_stop], times, side="left"),
        times=times,
        deaths=deaths.astype(np.float64),
        event_rows=event_rows,
        event_time=event_time.astype(np.int64),
    )


def _prefix(values: F64, at: NDArray[np.int64]) -> F64:
    """Sum of ``values[:k]`` for every k in ``at``."""
    c = np.concatenate(([0.0], np.cumsum(values)))
    return np.asarray(c[at], dtype=np.float64)


def _moments(x: F64, beta: F64, rs: _RiskSets) -> tuple[F64, F64, F64, F64]:
    """S0, S1, S2 at every event time and the linear predictor, for coefficients ``beta``.

    One column at a time (w, w*x_a, w*x_a*x_b), so memory stays at a few arrays of
    the row count however many covariates there are.
    """
    eta = x @ beta
    shift = float(eta.max())
    w_start = np.exp(rs.x_start @ beta - shift)
    w_stop = np.exp(rs.x_stop @ beta - shift)
    p = x.shape[1]

    def risk_sum(a: int | None, b: int | None) -> F64:
        v_start, v_stop = w_start.copy(), w_stop.copy()
        for j in (a, b):
            if j is not None:
                v_start *= rs.x_start[:, j]
                v_stop *= rs.x_stop[:, j]
        if rs.prev is not None:  # tiled: changes at each row's start
            v_start = v_start - np.where(rs.prev >= 0, v_start[np.maximum(rs.prev, 0)], 0.0)
        return _prefix(v_start, rs.at_start) - _prefix(v_stop, rs.at_stop)

    s0 = risk_sum(None, None)
    s1 = np.column_stack([risk_sum(a, None) for a in range(p)])
    s2 = np.zeros((rs.times.size, p, p))
    for a in range(p):
        for b in range(a, p):
            s2[:, a, b] = s2[:, b, a] = risk_sum(a, b)
    return s0, s1, s2, eta


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
    customer: NDArray[np.int64] | None = None,
) -> CoxFit:
    """Fit a Cox model to (start, stop] rows with covariates ``x`` (rows, p).

    ``init`` (log hazard ratios) starts Newton's method near a known answer, e.g.
    a fit on a superset of the rows. ``customer`` (row owner) lets the fit use the
    faster risk sums when each customer's rows tile one interval.

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
    rs = _risk_sets(start, stop, event, z, customer)
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
