"""Counting-process rows (start, stop] per customer from the event history, in one query.

After every event a customer's covariates are the history so far: negative moments
(scored events with valence below the cut), whether the last scored event was
negative (how the last interaction ended), unsolicited contacts, recovered and
unrecovered failures. They stay constant until the next event, so each event opens
a row that ends at the next event or at the customer's churn or censoring time.
The query runs on the engine (Ibis; DuckDB by default, or a Parquet file read in
place), and only the numeric rows come back.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
from numpy.typing import NDArray

from peakend.spec import ChurnSpec, RecoverySpec

TIME_VARYING: tuple[str, ...] = (
    "negative_moments",
    "negative_end",
    "contacts",
    "recovered_failures",
    "unrecovered_failures",
)
"""Covariates that change with the history, in column order."""
HARM: tuple[str, ...] = ("negative_moments", "negative_end", "unrecovered_failures")
"""The negative experiences that avoidable churn removes."""


@dataclass(frozen=True)
class Rows:
    """(start, stop] rows: customer code, times in the spec's unit, event flag, covariates."""

    customer: NDArray[np.int64]
    start: NDArray[np.float64]
    stop: NDArray[np.float64]
    event: NDArray[np.bool_]
    x: NDArray[np.float64]
    names: tuple[str, ...]
    customers: NDArray[np.str_]
    last: NDArray[np.bool_]  # each customer's last row (cut at churn or censoring)


def customer_times(outcomes: pd.DataFrame, spec: ChurnSpec) -> pd.DataFrame:
    """Per customer: churned (any journey) and the time of churn or censoring (the largest)."""
    assert spec.churned is not None and spec.time is not None
    frame = outcomes[["customer_id", spec.churned, spec.time]].dropna()
    return frame.groupby("customer_id", as_index=False).agg(
        churned=(spec.churned, "max"), time=(spec.time, "max")
    )


def history_rows(
    events: ibis.Table,
    times: ibis.Table,
    spec: ChurnSpec,
    recovery: RecoverySpec | None,
    contacts: list[str],
) -> ibis.Table:
    """The rows as an Ibis expression: one per event that starts a non-empty interval.

    ``times`` has ``customer_id``, ``_code`` (:func:`customer_table`), ``churned``
    (0/1), ``time`` (in days from the origin) and ``_origin`` (the origin, epoch
    seconds). Rows after the churn or censoring time are dropped and the last one
    is cut there (``last`` marks it). The events are joined to their customer's
    integer code first, so the windows partition and sort on an integer; one
    ordering serves every running sum.
    """
    e = events.join(times, "customer_id")
    scored = e.valence.notnull()
    neg = (scored & (e.valence < spec.negative_below)).cast("int64")
    order = [e.ts, e.seq]
    upto = ibis.window(group_by=e._code, order_by=order, rows=(None, 0))
    nxt = ibis.window(group_by=e._code, order_by=order)
    e = e.mutate(
        _pos=ibis.row_number().over(nxt).cast("int64"),
        _neg=neg,
        _scored=scored,
        _t=e.ts.epoch_seconds().cast("float64"),
    )
    cols = {
        "negative_moments": e._neg.sum().over(upto),
        # the last scored event's sign: a running max of 2 * position + is-negative
        "_last": ibis.ifelse(e._scored, 2 * e._pos + e._neg, ibis.null()).max().over(upto),
        "contacts": (e.touchpoint.isin(contacts).cast("int64") if contacts else e.seq * 0)
        .sum()
        .over(upto),
        "_next": e._t.lead().over(nxt),
    }
    if recovery is not None:
        fail = e.touchpoint.isin(list(recovery.failure_touchpoints))
        if recovery.failure_max_score is not None:
            fail = fail & (e.score <= recovery.failure_max_score)
        good = e.touchpoint.isin(list(recovery.recovery_touchpoints))
        if recovery.recovered_min_score is not None:
            good = good & (e.score >= recovery.recovered_min_score)
        cols["recovered_failures"] = good.fill_null(False).cast("int64").sum().over(upto)
        cols["_failures"] = fail.fill_null(False).cast("int64").sum().over(upto)
    e = e.mutate(**cols)
    start = ibis.greatest((e._t - e._origin) / 86_400.0, 0.0)
    stop = ibis.least(((e._next - e._origin) / 86_400.0).fill_null(e.time), e.time)
    out = {
        "_code": e._code,
        "start": start,
        "stop": stop,
        "last": stop >= e.time,
        "event": (e.churned == 1) & (stop >= e.time),
        "negative_moments": e.negative_moments.fill_null(0),
        "negative_end": (e._last % 2).fill_null(0),
        "contacts": e.contacts.fill_null(0),
    }
    if recovery is not None:
        out["recovered_failures"] = e.recovered_failures
        out["unrecovered_failures"] = ibis.greatest(e._failures - e.recovered_failures, 0)
    rows = e.select(**out)
    return rows.filter(rows.stop > rows.start)


def customer_table(times: ibis.Table) -> tuple[ibis.Table, NDArray[np.str_], pd.DataFrame]:
    """Number the customers (``_code``, in id order) once, so rows carry integers, not ids.

    Returns the numbered table (in memory, joinable with the events), the ids in
    code order and the other columns (churn flag, time, baseline covariates) in
    the same order.
    """
    table = times.order_by("customer_id").to_pyarrow()
    n = table.num_rows
    table = table.append_column("_code", pa.array(np.arange(n, dtype=np.int64)))
    ids = np.asarray(table["customer_id"].to_numpy(zero_copy_only=False), dtype=np.str_)
    rest = table.drop_columns(["customer_id", "_code"]).to_pandas()
    return ibis.memtable(table), ids, rest


def fetch_rows(
    expr: ibis.Table, customers: NDArray[np.str_], baseline: pd.DataFrame | None
) -> Rows:
    """Run the query; add baseline dummies (``baseline``: one row per customer, code order)."""
    table = expr.to_pyarrow()
    code = table["_code"].to_numpy().astype(np.int64)
    names = [n for n in TIME_VARYING if n in table.column_names]
    x = np.column_stack([table[n].to_numpy().astype(np.float64) for n in names])
    extra_names: list[str] = []
    if baseline is not None and len(baseline.columns):
        dummies, extra_names = dummy_columns(baseline)
        x = np.column_stack([x, dummies[code]])
    return Rows(
        customer=code,
        start=table["start"].to_numpy().astype(np.float64),
        stop=table["stop"].to_numpy().astype(np.float64),
        event=table["event"].to_numpy(zero_copy_only=False).astype(bool),
        x=x,
        names=(*names, *extra_names),
        customers=customers,
        last=table["last"].to_numpy(zero_copy_only=False).astype(bool),
    )


def dummy_columns(frame: pd.DataFrame) -> tuple[NDArray[np.float64], list[str]]:
    """Numeric columns as they are, categories as 0/1 columns against the commonest level."""
    parts, names = [], []
    for col in frame.columns:
        values = frame[col]
        numeric = pd.to_numeric(values, errors="coerce")
        if numeric.notna().all() and values.nunique() > 2:
            parts.append(numeric.to_numpy(dtype=float))
            names.append(str(col))
            continue
        text = values.astype(str)
        levels = text.value_counts().index.tolist()
        for level in levels[1:]:
            parts.append((text == level).to_numpy(dtype=float))
            names.append(f"{col}={level}")
    if not parts:
        return np.zeros((len(frame), 0)), []
    return np.column_stack(parts), names


def churner_negatives(
    events: ibis.Table, times: ibis.Table, spec: ChurnSpec, recovery: RecoverySpec | None
) -> ibis.Table:
    """Per churner and touchpoint: negative moments before churn, and which ended last.

    ``times`` is the numbered customer table (``customer_id``, ``_code``,
    ``churned``, ``time``, ``_origin``). Columns ``_code``, ``touchpoint``,
    ``negatives`` (scored events with valence below the cut up to the churn time)
    and ``last`` (1 on the touchpoint of the last scored event before churn when
    it was negative).
    """
    e = events.join(times.filter(times.churned == 1), "customer_id")
    t = e.ts.epoch_seconds().cast("float64")
    e = e.mutate(_t=t)
    e = e.filter((e._t - e._origin) / 86_400.0 <= e.time)
    scored = e.valence.notnull()
    neg = scored & (e.valence < spec.negative_below)
    last_ts = ibis.ifelse(scored, e._t, ibis.null()).max().over(ibis.window(group_by=e._code))
    e = e.mutate(_neg=neg.cast("int64"), _last=(scored & neg & (e._t == last_ts)).cast("int64"))
    return e.group_by(["_code", "touchpoint"]).aggregate(negatives=e._neg.sum(), last=e._last.max())


def independent_columns(
    x: NDArray[np.float64], names: list[str]
) -> tuple[NDArray[np.float64], list[str], list[str]]:
    """Drop columns that are constant or linear combinations of earlier ones (in order)."""
    keep: list[int] = []
    dropped: list[str] = []
    base = np.ones((x.shape[0], 1))
    for j in range(x.shape[1]):
        trial = np.column_stack([base, x[:, keep + [j]]])
        if np.linalg.matrix_rank(trial) == trial.shape[1]:
            keep.append(j)
        else:
            dropped.append(names[j])
    return x[:, keep], [names[j] for j in keep], dropped
