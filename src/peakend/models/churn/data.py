"""Counting-process rows (start, stop] per customer from the event history, in one query.

After every event a customer's covariates are the history so far: negative moments
(scored events with valence below the cut), whether the last scored event was
negative (how the last interaction ended), unsolicited contacts, recovered and
unrecovered failures. They stay constant until the next event, so each event opens
a row that ends at the next event or at the customer's churn or censoring time.

One engine query (Ibis; DuckDB by default, or a Parquet file read in place) joins
the events to their customer's integer code, drops those after the churn or
censoring time, and returns per event its time from the origin and 0/1 flags,
sorted by customer and ``(ts, seq)``. The running counts are then prefix sums over
those sorted columns, restarted at each customer (a few vectorised passes): on
DuckDB this is several times faster than one running window per covariate, which
costs a segment tree each. The rows carry only what differs from event to event:
each customer's churn flag and time are looked up by customer code afterwards, and
the sort keys are not returned (on ten million events a quarter of the bytes the
query sorts and hands over).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
from numpy.typing import NDArray

from peakend.engine.order import epoch_seconds
from peakend.models.columns import all_numbers
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
    churner_negatives: pa.Table | None = None  # see negatives_at_churn


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
    touchpoints: Sequence[str],
) -> ibis.Table:
    """Per event before churn or censoring, its time and flags, sorted: an Ibis expression.

    ``times`` has ``customer_id``, ``_code`` (:func:`customer_table`), ``churned``
    (0/1), ``time`` (in days from the origin) and ``_origin`` (the origin, epoch
    seconds). Columns: ``_code`` (32-bit), ``t`` (days from the origin), ``negative``,
    ``scored``, ``contact``, with a recovery spec ``failure`` and ``recovered``,
    then ``_cause`` (a churner's negative moment: its touchpoint's position in
    ``touchpoints``, which lists every touchpoint of the events; else -1).
    :func:`fetch_rows` turns them into rows with each customer's churn flag and
    time, and a churner's events up to and at the churn time into the negative
    moments the causes of churn are counted from (:func:`negatives_at_churn`), so
    that no second query reads the events.
    """
    e = events.join(times, "customer_id")
    t = (epoch_seconds(e.ts) - e._origin) / 86_400.0
    scored = e.valence.notnull()
    cols = {
        "_code": e._code.cast("int32"),
        "t": t,
        "negative": (scored & (e.valence < spec.negative_below)).cast("int8"),
        "scored": scored,
        "contact": (e.touchpoint.isin(contacts) if contacts else ibis.literal(False)).cast("int8"),
    }
    if recovery is not None:
        fail = e.touchpoint.isin(list(recovery.failure_touchpoints))
        if recovery.failure_max_score is not None:
            fail = fail & (e.score <= recovery.failure_max_score)
        good = e.touchpoint.isin(list(recovery.recovery_touchpoints))
        if recovery.recovered_min_score is not None:
            good = good & (e.score >= recovery.recovered_min_score)
        cols["failure"] = fail.fill_null(False).cast("int8")
        cols["recovered"] = good.fill_null(False).cast("int8")
    # an event at or after the churn time opens no row (its interval is empty, see
    # _intervals) and changes no earlier one; one at the churn time still counts
    # among a churner's negative moments
    opens = ibis.greatest(t, 0.0) < e.time
    # a small integer, not the name: ten million names took 0.4 GB more at the peak
    code = e.touchpoint.substitute({name: i for i, name in enumerate(touchpoints)}, else_=-1)
    cause = (cols["negative"] == 1) & (e.churned == 1)
    cols["_cause"] = ibis.ifelse(cause, code, -1).cast("int16")
    kept = e.filter(opens | (t <= e.time))
    ordered = kept.select(**cols, _ts=kept.ts, _seq=kept.seq).order_by(["_code", "_ts", "_seq"])
    return ordered.drop("_ts", "_seq")


def _int_column(table: pa.Table, name: str) -> NDArray[np.integer]:
    """A column of 0/1 flags or codes as numpy, in the query's narrow type."""
    return np.asarray(table[name].to_numpy(zero_copy_only=False))


def _running_at(
    values: NDArray[np.integer], rows: NDArray[np.int64], first: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Cumulative sums of ``values`` at ``rows``, restarted at each row's customer's ``first``."""
    total = np.cumsum(values, dtype=np.int64)
    return np.asarray(total[rows] - (total[first] - values[first]), dtype=np.int64)


def _intervals(
    table: pa.Table, churned: NDArray[np.int64], times: NDArray[np.float64]
) -> dict[str, NDArray[np.generic]]:
    """Counting-process rows from the sorted per-event columns of :func:`history_rows`.

    ``churned`` and ``times`` hold each customer's churn flag and time, by customer
    code. An event opens a row that ends at the next event or at the customer's
    churn or censoring time, whichever comes first; only rows with ``stop > start``
    are kept (an event at or after the churn time, or one followed by another
    before the origin, opens none). The running counts are computed at the kept
    rows only: every per-event array is a fresh block of memory the kernel has to
    zero, and on ten million events they made the peak of the step.
    """
    code = np.asarray(table["_code"].to_numpy(), dtype=np.int64)
    t = np.asarray(table["t"].to_numpy(), dtype=np.float64)
    n = code.size
    new = np.ones(n, dtype=bool)
    new[1:] = code[1:] != code[:-1]
    starts = np.flatnonzero(new)  # each customer's first row (rows are sorted by customer)
    stop = np.empty(n)
    stop[:-1] = t[1:]
    ends = np.append(starts[1:] - 1, n - 1) if n else starts  # each customer's last row
    stop[ends] = times[code[ends]]
    np.minimum(stop, times[code], out=stop)
    start = np.maximum(t, 0.0)
    rows = np.flatnonzero(stop > start)
    del t, new
    start, stop, code = start[rows], stop[rows], code[rows]
    first = starts[np.searchsorted(starts, rows, side="right") - 1]
    time = times[code]
    negative = _int_column(table, "negative")
    scored = np.flatnonzero(table["scored"].to_numpy(zero_copy_only=False))
    last_scored = np.searchsorted(scored, rows, side="right") - 1
    last_scored = np.where(last_scored >= 0, scored[np.maximum(last_scored, 0)], -1)
    ended = np.where(last_scored >= first, negative[np.maximum(last_scored, 0)], 0)
    out: dict[str, NDArray[np.generic]] = {
        "_code": code,
        "start": start,
        "stop": stop,
        "last": stop >= time,
        "event": (churned[code] == 1) & (stop >= time),
        "negative_moments": _running_at(negative, rows, first),
        "negative_end": ended.astype(np.int64),
        "contacts": _running_at(_int_column(table, "contact"), rows, first),
    }
    if "failure" in table.column_names:
        recovered = _running_at(_int_column(table, "recovered"), rows, first)
        failed = _running_at(_int_column(table, "failure"), rows, first)
        out["recovered_failures"] = recovered
        out["unrecovered_failures"] = np.maximum(failed - recovered, 0)
    return out


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
    expr: ibis.Table,
    customers: NDArray[np.str_],
    baseline: pd.DataFrame | None,
    per_customer: pd.DataFrame,
    touchpoints: Sequence[str],
) -> Rows:
    """Run the query; add baseline dummies (``baseline``: one row per customer, code order).

    ``per_customer`` holds each customer's ``churned`` (0/1) and ``time``, in code
    order (:func:`customer_table`); ``touchpoints`` those :func:`history_rows` coded.
    """
    churned = per_customer["churned"].to_numpy(dtype=np.int64)
    times = per_customer["time"].to_numpy(dtype=np.float64)
    events = expr.to_pyarrow()
    negatives = negatives_at_churn(events, times, touchpoints)
    table = _intervals(events, churned, times)
    del events
    code = np.asarray(table["_code"], dtype=np.int64)
    names = [n for n in TIME_VARYING if n in table]
    x = np.empty((code.size, len(names)))
    for j, name in enumerate(names):
        x[:, j] = table[name]
    extra_names: list[str] = []
    if baseline is not None and len(baseline.columns):
        dummies, extra_names = dummy_columns(baseline)
        x = np.column_stack([x, dummies[code]])
    return Rows(
        customer=code,
        start=np.asarray(table["start"], dtype=np.float64),
        stop=np.asarray(table["stop"], dtype=np.float64),
        event=np.asarray(table["event"], dtype=bool),
        x=x,
        names=(*names, *extra_names),
        customers=customers,
        last=np.asarray(table["last"], dtype=bool),
        churner_negatives=negatives,
    )


def dummy_columns(frame: pd.DataFrame) -> tuple[NDArray[np.float64], list[str]]:
    """Numeric columns as they are, categories as 0/1 columns against the commonest level."""
    parts, names = [], []
    for col in frame.columns:
        values = frame[col]
        numeric = all_numbers(values)
        if numeric is not None and values.nunique() > 2:
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


def negatives_at_churn(
    events: pa.Table, times: NDArray[np.float64], touchpoints: Sequence[str]
) -> pa.Table:
    """Per churner and touchpoint: negative moments up to churn, and which ended last.

    ``events`` are the sorted rows of :func:`history_rows` for ``touchpoints``;
    ``times`` each customer's churn time by code. A churner's events count up to
    and at the churn time. Columns ``_code``, ``touchpoint``, ``negatives``
    (scored events with valence below the cut) and ``last`` (1 on the touchpoint
    of a negative event at the time of the churner's last scored event), for the
    touchpoints with at least one negative moment: what a query of its own over
    the events gave, without reading them again.
    """
    code = np.asarray(events["_code"].to_numpy(), dtype=np.int64)
    cause = _int_column(events, "_cause")
    # only the churners' rows matter: the others are left out before anything else
    mine = np.flatnonzero(_churned_rows(code, cause >= 0))
    code, cause = code[mine], cause[mine]
    t = np.asarray(events["t"].to_numpy(), dtype=np.float64)[mine]
    scored = events["scored"].to_numpy(zero_copy_only=False)[mine]
    up_to = t <= times[code]
    # the last scored event of a churner: its last scored row (rows are sorted by time)
    at = np.flatnonzero(scored & up_to)
    last_t = np.full(times.size, np.nan)
    last_t[code[at]] = t[at]  # later rows of a customer overwrite earlier ones
    rows = np.flatnonzero((cause >= 0) & up_to)
    code, t, index = code[rows], t[rows], cause[rows].astype(np.int64)
    key = code * max(len(touchpoints), 1) + index
    unique, first, counts = np.unique(key, return_index=True, return_counts=True)
    last = np.zeros(unique.size, dtype=np.int64)
    np.maximum.at(last, np.searchsorted(unique, key), (t == last_t[code]).astype(np.int64))
    return pa.table(
        {
            "_code": pa.array(code[first]),
            "touchpoint": pa.array([touchpoints[i] for i in index[first]], pa.string()),
            "negatives": pa.array(counts.astype(np.int64)),
            "last": pa.array(last),
        }
    )


def _churned_rows(code: NDArray[np.int64], churner: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """The rows of every customer with at least one row in ``churner``."""
    marked = np.zeros(int(code.max()) + 1 if code.size else 0, dtype=bool)
    marked[code[churner]] = True
    return marked[code]


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
