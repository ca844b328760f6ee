"""One row per journey (or per customer of a snapshot): failed or not, recovered or not.

From events, one engine query (Ibis, DuckDB by default) finds each journey's first
failure, the first recovery contact at or after it, where it went wrong (the last
negatively scored event up to the failure, other than the failure or recovery
contact itself) and which of the declared touchpoints the journey passed. From a
per-customer snapshot the flags are read from the declared columns. Nothing is
computed over events in pandas.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from peakend.errors import ConfigError
from peakend.spec import RecoverySpec

NONE, RECOVERED, UNRECOVERED = "no failure", "recovered", "not recovered"
GROUPS: tuple[str, ...] = (NONE, RECOVERED, UNRECOVERED)


def journey_failures(events: ibis.Table, spec: RecoverySpec) -> ibis.Table:
    """Per journey: customer, failures, first failure time, recovery contact and its score."""
    e = events
    fail = e.touchpoint.isin(list(spec.failure_touchpoints))
    if spec.failure_max_score is not None:
        fail = fail & (e.score <= spec.failure_max_score)
    rec = e.touchpoint.isin(list(spec.recovery_touchpoints)) if spec.recovery_touchpoints else None
    # each journey's first failure, from the failing events alone and joined back: a
    # window over every journey's events would partition (and copy) the whole log
    failing = e.filter(fail.fill_null(False))
    first = failing.group_by(_journey=failing.journey_id).aggregate(_first=failing.ts.min())
    e = e.mutate(_fail=fail.fill_null(False), _rec=rec if rec is not None else ibis.literal(False))
    e = e.left_join(first, e.journey_id == first._journey).drop("_journey")
    after = e._rec & (e.ts >= e._first)
    before = (e.ts <= e._first) & (e.valence < 0) & ~e._fail & ~e._rec
    metrics = {
        "customer_id": e.customer_id.min(),
        "n_failures": e._fail.cast("int64").sum(),
        "failure_ts": e._first.min(),
        "recovery_ts": e.ts.min(where=after),
        "recovery_score": e.score.argmin(e.ts, where=after),
        "cause": e.touchpoint.argmax(e.ts, where=before),
        "cause_ts": e.ts.max(where=before),
        "failure_touchpoint": e.touchpoint.argmin(e.ts, where=e._fail),
    }
    if spec.severity == "failure_score":
        metrics["failure_score"] = e.score.argmin(e.ts, where=e._fail)
    for i, name in enumerate(spec.adjust_presence):
        metrics[f"_present_{i}"] = (e.touchpoint == name).any()
    return e.group_by("journey_id").aggregate(**metrics)


def classify(per_journey: pd.DataFrame, spec: RecoverySpec) -> pd.DataFrame:
    """Add ``group``, ``hours`` (failure to recovery contact) and ``repeated``."""
    df = per_journey.copy()
    failed = df["n_failures"].fillna(0).to_numpy() > 0
    start = df["cause_ts"].where(df["cause_ts"].notna(), df["failure_ts"])
    hours = (df["recovery_ts"] - start).dt.total_seconds().to_numpy() / 3600.0
    ok = df["recovery_ts"].notna().to_numpy().copy()
    if spec.recovered_min_score is not None:
        ok &= df["recovery_score"].to_numpy(dtype=float, na_value=np.nan) >= (
            spec.recovered_min_score
        )
    if spec.recovered_within_hours is not None:
        ok &= hours <= spec.recovered_within_hours
    df["group"] = np.where(~failed, NONE, np.where(ok, RECOVERED, UNRECOVERED))
    df["hours"] = np.where(failed, hours, np.nan)
    df["cause"] = df["cause"].where(df["cause"].notna(), df["failure_touchpoint"])
    # repeated: not the customer's first failure (an earlier failing journey, or two in one)
    order = df.loc[failed].sort_values("failure_ts").groupby("customer_id").cumcount()
    df["repeated"] = False
    df.loc[order.index, "repeated"] = order.to_numpy() > 0
    df.loc[failed, "repeated"] |= df.loc[failed, "n_failures"] > 1
    return df


def snapshot_groups(table: pd.DataFrame, spec: RecoverySpec, id_col: str) -> pd.DataFrame:
    """Groups of a per-customer snapshot from the declared failure and recovery columns."""
    missing = [
        c for c in (spec.failure_column, spec.recovered_column) if c and c not in table.columns
    ]
    if missing:
        raise ConfigError(
            f"[recovery] names column(s) {', '.join(missing)} that the table does not have; "
            f"columns: {', '.join(map(str, table.columns))}"
        )
    failed = _number(table[spec.failure_column]) > spec.failure_above
    if spec.recovered_column:
        ok = _number(table[spec.recovered_column]) > spec.recovered_above
    else:
        ok = pd.Series(False, index=table.index)
    out = pd.DataFrame(
        {
            "journey_id": table[id_col].astype(str),
            "customer_id": table[id_col].astype(str),
            "group": np.where(~failed, NONE, np.where(ok, RECOVERED, UNRECOVERED)),
            "hours": np.nan,
            "repeated": False,
            "cause": spec.failure_column,
        }
    )
    return out


def _number(column: pd.Series) -> pd.Series:
    """A column as numbers; yes/no text as 1/0."""
    if column.dtype == object or str(column.dtype).startswith("str"):
        text = column.astype(str).str.strip().str.lower()
        mapped = text.map({"yes": 1.0, "no": 0.0, "true": 1.0, "false": 0.0})
        return mapped.where(mapped.notna(), pd.to_numeric(text, errors="coerce")).fillna(0.0)
    return pd.to_numeric(column, errors="coerce").fillna(0.0)


SEVERITY_LEVELS = 10
"""More distinct severity values than this without ``severity_cuts`` is a configuration error."""


def severity_levels(table: pd.DataFrame, spec: RecoverySpec) -> NDArray[np.str_] | None:
    """Each failed unit's severity level as a label ('' for units without a failure).

    ``None`` when the spec declares no severity. Numeric values are cut at
    ``severity_cuts`` into "<= a", "a-b", "> b" bands; otherwise every distinct
    value is a level.
    """
    if spec.severity is None:
        return None
    if spec.severity not in table.columns:
        raise ConfigError(
            f"[recovery] severity = {spec.severity!r} is not a column of the data; use "
            '"failure_score", a journey attribute (list it under attributes) or a column'
        )
    failed = (table["group"] != NONE).to_numpy()
    values = table[spec.severity]
    labels = np.full(len(table), "", dtype=object)
    known = failed & values.notna().to_numpy()
    if spec.severity_cuts:
        cuts = np.asarray(spec.severity_cuts, dtype=float)
        number = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        known &= np.isfinite(number)
        names = [f"<= {cuts[0]:g}"]
        names += [f"{a:g}-{b:g}" for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
        names.append(f"> {cuts[-1]:g}")
        band = np.searchsorted(cuts, number[known], side="left")
        labels[known] = np.asarray(names, dtype=object)[band]
    else:
        text = values.astype(str).str.removesuffix(".0").to_numpy()
        if np.unique(text[known]).size > SEVERITY_LEVELS:
            raise ConfigError(
                f"[recovery] severity column {spec.severity!r} has more than "
                f"{SEVERITY_LEVELS} values; add severity_cuts = [..] to band it"
            )
        labels[known] = text[known]
    labels[failed & ~known] = "unknown"
    return np.asarray(labels.astype(str), dtype=np.str_)
