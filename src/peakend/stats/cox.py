"""Cox proportional-hazards model on counting-process (start, stop] rows.

One row per interval in which a customer's covariates stay constant, so the same
fitter serves time-varying covariates (cumulative negative moments, the last
ending, open failures) and one-row-per-customer snapshots (``start = 0``).

The partial likelihood uses Breslow's handling of tied event times. Rows at risk
at ``t`` are those with ``start < t <= stop``. The covariates of such rows take
few distinct values (counts and flags), so the fit works on the distinct rows
(*patterns*) and a sparse matrix of how many rows of each pattern enter and leave
the risk set at each event time: one Newton step is a sparse product and a
cumulative sum over event times, however many rows there are. lifelines'
``CoxTimeVaryingFitter`` gives the same estimates (``tests/stats/test_cox.py``)
but loops over event times, which does not scale to millions of rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse, stats

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


CELLS = 20_000_000
"""Numbers held at once per block of risk-set sums (patterns or event times x columns)."""


@dataclass
class _RiskSets:
    """Risk sets at every distinct event time, by covariate pattern.

    The rows' covariates take few distinct values (counts of negative moments,
    flags, a segment), so the fit works on the distinct rows (*patterns*) and a
    sparse matrix of how many rows of each pattern enter and leave the risk set
    at each event time. A Newton step then costs one sparse product and one
    cumulative sum over event times, whatever the number of rows.
    """

    patterns: F64  # (P, p) distinct covariate rows
    change: sparse.csr_matrix  # (K, P): rows entering minus rows leaving at event time k
    times: F64  # (K,) distinct event times
    deaths: F64  # (K,) events at each time (Breslow ties)
    event_sum: F64  # (p,) covariates summed over the event rows
    event_rows: NDArray[np.int64]
    event_time: NDArray[np.int64]  # index into times of each event row
    event_pattern: NDArray[np.int64]  # pattern of each event row
    codes: NDArray[np.int64]  # pattern of every row


def row_patterns(x: F64) -> tuple[F64, NDArray[np.int64]]:
    """Distinct rows of ``x`` and each row's index among them.

    A seeded random projection is factorised (hashing, no sort of the rows) and the
    result checked exactly; on the (practically impossible) collision of two
    distinct rows, a sort over all columns decides instead.
    """
    import pandas as pd

    projection = x @ np.random.default_rng(0).uniform(1.0, 2.0, x.shape[1])
    codes, first = pd.factorize(projection, sort=False)
    if (codes >= 0).all():
        index = np.zeros(int(codes.max()) + 1, dtype=np.int64)
        index[codes[::-1]] = np.arange(codes.size - 1, -1, -1)  # first row of each code
        patterns = x[index]
        if np.array_equal(patterns[codes], x):
            return patterns, codes.astype(np.int64)
    patterns, inverse = np.unique(x, axis=0, return_inverse=True)
    return patterns, inverse.reshape(-1).astype(np.int64)


def _risk_sets(start: F64, stop: F64, event: NDArray[np.bool_], x: F64) -> _RiskSets:
    """A row is at risk at event time ``t`` when ``start < t <= stop``."""
    event_rows = np.flatnonzero(event)
    times, event_time, deaths = np.unique(stop[event_rows], return_inverse=True, return_counts=True)
    patterns, code = row_patterns(x)
    k_in = np.searchsorted(times, start, side="right")  # first event time after start
    k_out = np.searchsorted(times, stop, side="right")  # first event time after stop
    moving = k_in < k_out  # rows never at risk at an event time do not count
    k_in, k_out, code_m = k_in[moving], k_out[moving], code[moving]
    ones = np.ones(code_m.size)
    shape = (times.size + 1, patterns.shape[0])
    change = sparse.csr_matrix(
        (np.concatenate((ones, -ones)), (np.concatenate((k_in, k_out)), np.tile(code_m, 2))),
        shape=shape,
    )[: times.size]
    change.sum_duplicates()
    return _RiskSets(
        patterns=patterns,
        change=change,
        times=times,
        deaths=deaths.astype(np.float64),
        event_sum=x[event_rows].sum(axis=0),
        event_rows=event_rows,
        event_time=event_time.astype(np.int64).reshape(-1),
        event_pattern=code[event_rows],
        codes=code,
    )


def _moments(beta: F64, rs: _RiskSets) -> tuple[F64, F64, F64, float]:
    """S0, S1, S2 at every event time, and the largest linear predictor (the shift).

    Per pattern the weights ``w``, ``w x_a`` and ``w x_a x_b`` go through a sparse
    product with the entry/exit counts; their running sums over event times are
    the risk-set sums. With many patterns (continuous covariates) the products go
    a few columns at a time, so memory stays near :data:`CELLS` numbers.
    """
    z = rs.patterns
    eta = z @ beta
    shift = float(eta.max())
    w = np.exp(eta - shift)
    p = z.shape[1]
    upper = np.triu_indices(p)
    a = np.r_[-1, np.arange(p), upper[0]]  # -1: no factor
    b = np.r_[-1, np.full(p, -1), upper[1]]
    block = max(1, CELLS // max(z.shape[0], rs.times.size))
    sums = np.empty((rs.times.size, a.size))
    for lo in range(0, a.size, block):
        hi = min(lo + block, a.size)
        columns = np.repeat(w[:, None], hi - lo, axis=1)
        for j, (fa, fb) in enumerate(zip(a[lo:hi], b[lo:hi], strict=True)):
            if fa >= 0:
                columns[:, j] *= z[:, fa]
            if fb >= 0:
                columns[:, j] *= z[:, fb]
        sums[:, lo:hi] = np.cumsum(np.asarray(rs.change @ columns), axis=0)
    s0, s1 = sums[:, 0], sums[:, 1 : 1 + p]
    s2 = np.zeros((rs.times.size, p, p))
    s2[:, upper[0], upper[1]] = sums[:, 1 + p :]
    s2[:, upper[1], upper[0]] = sums[:, 1 + p :]
    return s0, s1, s2, shift


def _step(beta: F64, rs: _RiskSets) -> tuple[float, F64, F64, F64]:
    s0, s1, s2, shift = _moments(beta, rs)
    s0 = np.maximum(s0, 1e-300)
    mean = s1 / s0[:, None]
    loglik = float(rs.event_sum @ beta - (rs.deaths * (np.log(s0) + shift)).sum())
    grad = rs.event_sum - (rs.deaths[:, None] * mean).sum(axis=0)
    info = s2 / s0[:, None, None] - mean[:, :, None] * mean[:, None, :]
    hess = (rs.deaths[:, None, None] * info).sum(axis=0)
    return loglik, grad, hess, mean


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
    rs = _risk_sets(start, stop, event, x)
    # mean and spread over the rows, from the patterns and how many rows have each
    counts = np.bincount(rs.codes, minlength=rs.patterns.shape[0]).astype(np.float64)
    centre = counts @ rs.patterns / start.size
    scale = np.sqrt(counts @ (rs.patterns - centre) ** 2 / start.size)
    flat = [names[j] for j in np.flatnonzero(scale <= 1e-12 * np.maximum(np.abs(centre), 1.0))]
    if flat:
        raise ModelError(f"covariate(s) {', '.join(flat)} take a single value; drop them")
    rs.patterns = (rs.patterns - centre) / scale  # standardised: better-conditioned steps
    rs.event_sum = (rs.event_sum - rs.event_rows.size * centre) / scale
    beta = np.zeros(x.shape[1]) if init is None else init * scale
    loglik, grad, hess, mean = _step(beta, rs)
    for _ in range(max_iter):
        delta = np.linalg.solve(hess, grad)
        shrink = 1.0
        while True:
            new = _step(beta + shrink * delta, rs)
            if new[0] >= loglik - 1e-12 or shrink < 1e-4:
                break
            shrink /= 2.0
        beta = beta + shrink * delta
        done = abs(new[0] - loglik) < tol * (1.0 + abs(loglik))
        loglik, grad, hess, mean = new
        if done:
            break
    else:
        raise ModelError("the Cox model did not converge; a covariate may separate churners")
    cov_z = np.linalg.inv(hess)
    coef = beta / scale
    cov = cov_z / np.outer(scale, scale)
    resid = rs.patterns[rs.event_pattern] - mean[rs.event_time]
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


CONCORDANCE_CELLS = 50_000_000
"""Event times x distinct risks up to which concordance is counted exactly."""


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
    """Harrell's concordance with time-varying risk.

    For each churn at time ``t``, every row at risk at ``t`` (``start < t <= stop``)
    that is not itself a churn at ``t`` is a comparison: concordant when the
    churner's risk at ``t`` is higher, half when tied. Counted exactly from the
    at-risk counts per event time and risk level (the risk takes as many values
    as the covariate rows have patterns), in O(rows log rows + event times x
    risk levels). Beyond :data:`CONCORDANCE_CELLS` cells (continuous covariates
    with many churn times) a seeded sample of ``max_events`` churners against the
    rows of up to ``max_rows`` sampled rows' customers estimates it instead.
    """
    event_rows = np.flatnonzero(event)
    if event_rows.size == 0:
        return float("nan")
    times = np.unique(stop[event_rows])
    levels = np.unique(risk)
    if times.size * levels.size > CONCORDANCE_CELLS:
        return _sampled_concordance(
            start, stop, event, customer, risk, max_events=max_events, max_rows=max_rows,
            seed=seed,
        )  # fmt: skip
    return _exact_concordance(start, stop, event, risk, times, levels)


def _exact_concordance(
    start: F64, stop: F64, event: NDArray[np.bool_], risk: F64, times: F64, levels: F64
) -> float:
    """Counts of lower and equal risks at risk at each churn, churns at that time removed."""
    n_levels = levels.size
    level = np.searchsorted(levels, risk)
    k_in = np.searchsorted(times, start, side="right")
    k_out = np.searchsorted(times, stop, side="right")
    moving = k_in < k_out
    ones = np.ones(int(moving.sum()))
    change = sparse.csr_matrix(
        (
            np.concatenate((ones, -ones)),
            (np.concatenate((k_in[moving], k_out[moving])), np.tile(level[moving], 2)),
        ),
        shape=(times.size + 1, n_levels),
    )
    ev = np.flatnonzero(event)
    k_ev = np.searchsorted(times, stop[ev])
    lv = level[ev]
    # churns at the same time: how many with lower and with equal risk (self included)
    key = k_ev * n_levels + lv
    ordered = np.sort(key)
    same_low = np.searchsorted(ordered, key) - np.searchsorted(ordered, k_ev * n_levels)
    same_eq = np.searchsorted(ordered, key, side="right") - np.searchsorted(ordered, key)
    same_all = np.bincount(k_ev, minlength=times.size)[k_ev]
    low = np.empty(ev.size)
    eq = np.empty(ev.size)
    total = np.empty(ev.size)
    chunk = max(1, CONCORDANCE_CELLS // (10 * n_levels))
    running = np.zeros(n_levels)
    for k0 in range(0, times.size, chunk):
        k1 = min(k0 + chunk, times.size)
        counts = np.cumsum(change[k0:k1].toarray(), axis=0) + running
        running = counts[-1]
        below = np.cumsum(counts, axis=1) - counts  # rows at risk with a lower risk
        here = (k_ev >= k0) & (k_ev < k1)
        kk, ll = k_ev[here] - k0, lv[here]
        low[here] = below[kk, ll]
        eq[here] = counts[kk, ll]
        total[here] = counts[kk].sum(axis=1)
    low -= same_low
    eq -= same_eq
    total -= same_all
    pairs = float(total.sum())
    return float((low.sum() + 0.5 * eq.sum()) / pairs) if pairs else float("nan")


def _sampled_concordance(
    start: F64,
    stop: F64,
    event: NDArray[np.bool_],
    customer: NDArray[np.int64],
    risk: F64,
    *,
    max_events: int,
    max_rows: int,
    seed: int,
) -> float:
    """The same comparisons on a seeded sample of churners and customers."""
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
