"""What a hidden moment does: outcome gaps, excess by segment, proactive-contact effects.

* **Outcome gap**: journeys with a contact in the window against journeys
  without one (both observed through the window): the difference of each
  outcome's mean with a 95 % Welch interval. An association, not a cause.
* **Proactive-contact effect**: where some journeys already received a
  company touchpoint between the anchor and the start of the window (the
  treatment period ends where the outcome period begins), its effect on the
  window's contacts after that point and on every outcome is estimated by
  inverse probability weighting (Hajek estimator of the average treatment
  effect) on observed covariates: the spec's attributes, the anchor's valence
  and the contacts before the anchor. The propensity is a logistic regression.
  Intervals use the influence-function variance including the estimation
  of the propensity (Lunceford & Davidian 2004). Overlap is shown
  (share of propensities beyond [0.01, 0.99], effective sample sizes,
  standardised mean differences before and after weighting) and the estimate
  is **refused** when it is poor (:data:`OVERLAP_RULE`). The estimate is only
  as good as the assumption that nothing unobserved drives both the contact
  and the outcome.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from peakend.stats.resampling import Interval

Z_95 = 1.959964
F64 = NDArray[np.float64]

#: When the weighting estimate is refused (see :func:`overlap`).
OVERLAP_RULE = (
    "refused when more than 1 % of propensities lie beyond [0.01, 0.99], an arm's "
    "effective sample size is below 30, or a covariate's standardised mean difference "
    "after weighting exceeds 0.1"
)


@dataclass(frozen=True)
class Overlap:
    """How comparable treated and untreated journeys are, and whether to trust the weights.

    ``beyond_share`` is the share of propensities outside [0.01, 0.99] (clipped
    there); ``ess_treated`` / ``ess_control`` the effective sample sizes of the
    weighted arms; ``smd_before`` / ``smd_after`` the standardised mean
    differences of each covariate; ``refused`` the reason the estimate is not
    given, or ``None``.
    """

    beyond_share: float
    ess_treated: float
    ess_control: float
    smd_before: dict[str, float]
    smd_after: dict[str, float]
    refused: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "beyond_share": self.beyond_share,
            "ess_treated": self.ess_treated,
            "ess_control": self.ess_control,
            "smd_before": self.smd_before,
            "smd_after": self.smd_after,
            "refused": self.refused,
            "rule": OVERLAP_RULE,
        }


@dataclass(frozen=True)
class OutcomeGap:
    """Mean outcome of journeys with a contact in the window minus those without."""

    outcome: str
    with_contact: float
    without_contact: float
    difference: Interval
    n_with: int
    n_without: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "outcome": self.outcome,
            "with_contact": self.with_contact,
            "without_contact": self.without_contact,
            "difference": self.difference.to_dict(),
            "n_with": self.n_with,
            "n_without": self.n_without,
        }


@dataclass(frozen=True)
class ProactiveEffect:
    """The estimated effect of a company touchpoint already given inside a window.

    ``contacts_per_1000`` is the change in window contacts per 1,000 journeys
    (negative: contacts deflected); ``outcomes`` the change in each outcome.
    ``naive_*`` are the unadjusted differences, for comparison; ``overlap`` the
    diagnostics (when it refuses, the estimates are NaN). ``reactive``
    marks a touchpoint that mostly follows a low score at the anchor (a
    recovery, not a proactive contact): confounded by the failure it answers.
    """

    touchpoint: str
    n_treated: int
    n_control: int
    contacts_per_1000: Interval
    naive_contacts_per_1000: float
    outcomes: dict[str, Interval]
    naive_outcomes: dict[str, float]
    covariates: tuple[str, ...]
    method: str = "inverse probability weighting (Hajek), logistic propensity"
    reactive: bool = False
    overlap: Overlap | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "touchpoint": self.touchpoint,
            "n_treated": self.n_treated,
            "n_control": self.n_control,
            "contacts_per_1000": self.contacts_per_1000.to_dict(),
            "naive_contacts_per_1000": self.naive_contacts_per_1000,
            "outcomes": {k: v.to_dict() for k, v in self.outcomes.items()},
            "naive_outcomes": self.naive_outcomes,
            "covariates": list(self.covariates),
            "method": self.method,
            "reactive": self.reactive,
            "overlap": self.overlap.to_dict() if self.overlap else None,
        }


# ---------------------------------------------------------------- outcome gaps
def outcome_gaps(
    per_journey: pa.Table, outcomes: pa.Table, names: list[str]
) -> dict[int, list[OutcomeGap]]:
    """Outcome gaps per window from ``per_journey`` (window_id, journey_id, k contacts)."""
    if not names or per_journey.num_rows == 0:
        return {}
    joined = with_outcomes(per_journey, same_keys(outcomes.select(["journey_id", *names])))
    return joined_outcome_gaps(joined, names)


def joined_outcome_gaps(joined: pa.Table, names: list[str]) -> dict[int, list[OutcomeGap]]:
    """:func:`outcome_gaps` from the per-journey rows already joined with the outcomes.

    Each outcome column is read into numpy once, not once per window.
    """
    if not names or joined.num_rows == 0:
        return {}
    window = joined["window_id"].to_numpy()
    hit = joined["k"].to_numpy() > 0
    values = {n: joined[n].to_numpy(zero_copy_only=False).astype(np.float64) for n in names}
    finite = {n: np.isfinite(y) for n, y in values.items()}
    result: dict[int, list[OutcomeGap]] = {}
    for w in np.unique(window):
        rows = window == w
        gaps = []
        for name in names:
            y = values[name]
            ok = rows & finite[name]
            gaps.append(_gap(name, y[ok & hit], y[ok & ~hit]))
        result[int(w)] = gaps
    return result


def same_keys(table: pa.Table) -> pa.Table:
    """``journey_id`` as plain strings, so Arrow joins with engine output line up."""
    i = table.schema.get_field_index("journey_id")
    return table.set_column(i, "journey_id", table["journey_id"].cast(pa.string()))


def with_outcomes(rows: pa.Table, outcomes: pa.Table) -> pa.Table:
    """``rows`` with their journeys' ``outcomes`` (a left join on ``journey_id``).

    With one outcome row per journey (the usual case) a lookup of each row's
    journey among the outcomes' ids (null where it has none), in the order of
    ``rows``: on a million journeys a fraction of a hash join's time. Otherwise
    Arrow's join, whose rows come in no particular order. Whether the ids are
    distinct is read from the same lookup (every id finds its own row), so the
    outcomes' ids are hashed once, not once more to count them.
    """
    keys = outcomes["journey_id"]
    ids = rows["journey_id"]
    ids = ids if ids.type == keys.type else pc.cast(ids, keys.type)
    found = pc.index_in(pa.chunked_array([*keys.chunks, *ids.chunks], keys.type), value_set=keys)
    own = found.slice(0, len(keys)).to_numpy(zero_copy_only=False)
    if keys.null_count or not np.array_equal(own, np.arange(len(keys))):
        return rows.join(outcomes, "journey_id")
    at = found.slice(len(keys))
    joined = rows
    for name in outcomes.column_names:
        if name != "journey_id":
            joined = joined.append_column(outcomes.schema.field(name), outcomes[name].take(at))
    return joined


def _gap(name: str, a: F64, b: F64) -> OutcomeGap:
    diff = float(a.mean() - b.mean()) if a.size and b.size else math.nan
    if a.size > 1 and b.size > 1:
        half = Z_95 * math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    else:
        half = math.nan
    return OutcomeGap(
        name,
        float(a.mean()) if a.size else math.nan,
        float(b.mean()) if b.size else math.nan,
        Interval(diff, diff - half, diff + half, int(a.size + b.size)),
        int(a.size),
        int(b.size),
    )


# ---------------------------------------------------------------- proactive effects
def covariate_matrix(table: pa.Table, columns: list[str]) -> tuple[F64, list[str]]:
    """Covariates as a numeric matrix, and the names of its columns.

    Numbers — and text columns whose every value reads as a number, such as an
    amount exported as text — are used as they are (missing: 0 plus an
    indicator); other text columns are one-hot coded (first level as reference,
    at most 30 levels).
    """
    # each column is written into the matrix, not stacked from columns of its own:
    # on a million journeys every such column is 8 MB of fresh memory, copied once more
    plan: list[tuple[str, NDArray[Any], NDArray[np.bool_] | None]] = []  # values, 0 where
    for col in columns:
        x = _as_numbers(table[col])
        if x is not None:
            missing = ~np.isfinite(x)
            plan.append((col, x, missing))
            if missing.any():
                plan.append((f"{col} missing", missing, None))
            continue
        codes, found = categories(table[col])
        levels = sorted(found)[1:]  # first level is the reference
        for level in levels[:30]:
            plan.append((f"{col}={level}", codes == found.index(level), None))
    matrix = np.empty((table.num_rows, len(plan)))
    for j, (_, values, zero) in enumerate(plan):
        matrix[:, j] = values
        if zero is not None:
            matrix[zero, j] = 0.0
    return matrix, [name for name, _, _ in plan]


def categories(values: pa.ChunkedArray) -> tuple[NDArray[np.int64], list[str]]:
    """Each value's code and the levels by code, the levels being the values as text.

    Text columns are coded by Arrow (a missing value is the level ``"None"``);
    others value by value, as Python writes them.
    """
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        coded = pc.fill_null(values, "None").combine_chunks().dictionary_encode()
        codes = np.asarray(coded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        return codes, [str(v) for v in coded.dictionary.to_pylist()]
    text = [str(v) for v in values.to_pylist()]
    found = sorted(set(text))
    index = {level: i for i, level in enumerate(found)}
    return np.array([index[t] for t in text], dtype=np.int64), found


#: Values of a text column tried as numbers before the whole column (:func:`_as_numbers`).
_PROBE = 1_000


def _as_numbers(values: pa.ChunkedArray) -> F64 | None:
    """The column as numbers, or None when it holds categories (its caller dummy-codes those)."""
    if pa.types.is_integer(values.type) or pa.types.is_floating(values.type):
        return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return None
    try:
        # the first values decide most text columns: a category fails there, before the
        # whole column (a million values) is parsed
        pc.cast(values.slice(0, _PROBE), pa.float64())
        numbers = pc.cast(values, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None  # text that is not all numbers: a categorical covariate
    return np.asarray(numbers.to_numpy(zero_copy_only=False), dtype=np.float64)


def proactive_effect(
    touchpoint: str,
    treated: NDArray[np.bool_],
    contacts: F64,
    outcomes: dict[str, F64],
    x: F64,
    covariates: list[str],
    *,
    columns: list[str] | None = None,
    min_ess: float = 30.0,
) -> ProactiveEffect:
    """IPW effect of ``treated`` on window contacts and outcomes, adjusted for ``x``.

    ``columns`` names the columns of ``x`` (for the balance table). When the
    overlap is poor (:data:`OVERLAP_RULE`) the estimates are NaN and
    ``overlap.refused`` says why.
    """
    design = _design(x)  # the propensity's, and the intervals' of every complete outcome
    raw = _propensity(treated, design)
    e = np.clip(raw, 0.01, 0.99)
    w = np.where(treated, 1.0 / e, 1.0 / (1.0 - e))
    diag = overlap(raw, treated, w, x, columns or [f"x{i}" for i in range(x.shape[1])], min_ess)
    weighting = _weighting(treated, e, design)  # the same for every complete outcome
    contact_effect = _ipw(contacts, weighting)
    effects = {}
    naive = {}
    for name, y in outcomes.items():
        ok = np.isfinite(y)
        if ok.all():  # no copy of the covariates, and their design as it is
            effects[name] = _ipw(y, weighting)
        else:
            effects[name] = _ipw(y[ok], _weighting(treated[ok], e[ok], _design(x[ok])))
        naive[name] = float(y[ok & treated].mean() - y[ok & ~treated].mean())
    if diag.refused:
        contact_effect = _missing(contact_effect.n)
        effects = {k: _missing(v.n) for k, v in effects.items()}
    scaled = Interval(
        1000 * contact_effect.value,
        1000 * contact_effect.low,
        1000 * contact_effect.high,
        contact_effect.n,
    )
    return ProactiveEffect(
        touchpoint=touchpoint,
        n_treated=int(treated.sum()),
        n_control=int((~treated).sum()),
        contacts_per_1000=scaled,
        naive_contacts_per_1000=1000 * float(contacts[treated].mean() - contacts[~treated].mean()),
        outcomes=effects,
        naive_outcomes=naive,
        covariates=tuple(covariates),
        overlap=diag,
    )


def _missing(n: int) -> Interval:
    return Interval(math.nan, math.nan, math.nan, n)


def overlap(
    propensity: F64,
    treated: NDArray[np.bool_],
    w: F64,
    x: F64,
    columns: list[str],
    min_ess: float = 30.0,
) -> Overlap:
    """Overlap diagnostics of a weighting estimate, and the reason to refuse it (if any)."""
    beyond = float(np.mean((propensity < 0.01) | (propensity > 0.99)))
    wt, wc = w[treated], w[~treated]
    ess_t = float(wt.sum() ** 2 / (wt**2).sum()) if wt.size else 0.0
    ess_c = float(wc.sum() ** 2 / (wc**2).sum()) if wc.size else 0.0
    before, after = {}, {}
    for i, name in enumerate(columns):
        before[name] = _smd(x[:, i], treated, np.ones_like(w))
        after[name] = _smd(x[:, i], treated, w)
    worst = max((abs(v) for v in after.values() if math.isfinite(v)), default=0.0)
    reasons = []
    if beyond > 0.01:
        reasons.append(
            f"{beyond:.0%} of journeys have a propensity below 1 % or above 99 %: for them "
            "there is no comparable journey in the other group"
        )
    if min(ess_t, ess_c) < min_ess:
        reasons.append(
            f"the weights leave an effective sample of {min(ess_t, ess_c):.0f} journeys "
            f"(below {min_ess:.0f})"
        )
    if worst > 0.1:
        name = max(after, key=lambda k: abs(after[k]) if math.isfinite(after[k]) else 0.0)
        reasons.append(f"after weighting {name} still differs by {after[name]:+.2f} SD")
    return Overlap(beyond, ess_t, ess_c, before, after, "; ".join(reasons) or None)


def _smd(x: F64, treated: NDArray[np.bool_], w: F64) -> float:
    """Standardised mean difference (pooled unweighted SD) of ``x`` between the arms."""
    a, b = x[treated], x[~treated]
    sd = math.sqrt((a.var() + b.var()) / 2) if a.size and b.size else 0.0
    if sd == 0:
        return 0.0
    ma = float(np.average(a, weights=w[treated]))
    mb = float(np.average(b, weights=w[~treated]))
    return (ma - mb) / sd


def _design(x: F64) -> F64:
    """Intercept and standardised covariates: the propensity model's design matrix.

    Written column block by column block into the one matrix returned, instead of
    centred, scaled and stacked through three arrays of its size (same numbers).
    """
    scale = x.std(axis=0)
    # laid out as stacking laid it out: by columns for covariates stored by columns
    by_columns = x.flags.f_contiguous and not x.flags.c_contiguous
    design: F64 = np.empty((x.shape[0], x.shape[1] + 1), order="F" if by_columns else "C")
    design[:, 0] = 1.0
    z = design[:, 1:]
    np.subtract(x, x.mean(axis=0), out=z)
    np.divide(z, np.where(scale > 0, scale, 1.0), out=z)
    return design


def _propensity(treated: NDArray[np.bool_], design: F64) -> F64:
    """Logistic regression by Newton-Raphson on standardised covariates (:func:`_design`).

    A tiny ridge (1e-6) keeps it defined under separation; a handful of
    iterations converge on a million rows in well under a second.
    """
    y = treated.astype(np.float64)
    beta = np.zeros(design.shape[1])
    ridge = 1e-6 * np.eye(design.shape[1])
    # the weighted design of every iteration is written into one array: the same
    # numbers as a fresh product each time, without the kernel zeroing new memory
    weighted = np.empty_like(design)  # laid out as the product would be
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ beta, -30, 30)))
        np.multiply(design, (p * (1 - p))[:, None], out=weighted)
        hessian = weighted.T @ design / y.size + ridge
        step = np.linalg.solve(hessian, design.T @ (y - p) / y.size - ridge @ beta)
        beta += step
        if np.abs(step).max() < 1e-8:
            break
    p = 1.0 / (1.0 + np.exp(-np.clip(design @ beta, -30, 30)))
    return np.asarray(p, dtype=np.float64)


@dataclass(frozen=True)
class _Weighting:
    """The parts of :func:`_ipw` that depend on the journeys and their propensity, not on ``y``.

    Computed once per treated touchpoint and shared by the window contacts and
    every outcome without a missing value: the same numbers as computing them in
    each interval (two products of the design, a million rows, per outcome).
    """

    wt: F64
    wc: F64
    e: F64
    design: F64
    info: F64
    score: F64


def _weighting(treated: NDArray[np.bool_], e: F64, design: F64) -> _Weighting:
    """:class:`_Weighting` of journeys ``treated`` or not, propensity ``e`` and their design."""
    n = e.size
    t = treated.astype(np.float64)
    wt, wc = t / e, (1.0 - t) / (1.0 - e)
    info = (design * (e * (1.0 - e))[:, None]).T @ design / n + 1e-9 * np.eye(design.shape[1])
    score = design * (t - e)[:, None]
    return _Weighting(wt, wc, e, design, info, score)


def _ipw(y: F64, weighting: _Weighting) -> Interval:
    """Hajek IPW difference of means with its influence-function interval.

    The influence function includes the estimation of the logistic
    propensity (M-estimation, Lunceford & Davidian 2004, section 3.2), so the
    interval is neither too wide (propensity taken as known) nor too narrow.
    ``weighting`` (:func:`_weighting`) holds the rows' weights, propensity and
    design (:func:`_design` of the covariates of these rows).
    """
    n = y.size
    wt, wc, e, design = weighting.wt, weighting.wc, weighting.e, weighting.design
    a1, a0 = wt.mean(), wc.mean()
    mt = float((wt * y).sum() / wt.sum())
    mc = float((wc * y).sum() / wc.sum())
    inf = wt * (y - mt) / a1 - wc * (y - mc) / a0
    # d inf / d beta, averaged; e' = e (1 - e) x
    slope = -(wt * (y - mt) * (1.0 - e) / a1 + wc * (y - mc) * e / a0)
    m = (design * slope[:, None]).mean(axis=0)
    inf = inf + weighting.score @ np.linalg.solve(weighting.info, m)
    half = Z_95 * math.sqrt(float((inf**2).mean()) / n)
    diff = mt - mc
    return Interval(diff, diff - half, diff + half, n)
