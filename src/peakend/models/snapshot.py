"""Per-customer snapshot tables (``snapshot = true`` specs) for recovery and churn.

Many churn datasets have one row per customer (counts of dropped calls, complaints,
months in service, a churn flag) and no event history. Such a spec's ``[source]``
is that table and ``[columns] journey_id`` its customer id; declared outcomes are
read as numbers the same way the loader reads them (binary: 1 for a ``positive``
value). Only the recovery and churn analyses read snapshots.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from peakend.errors import ConfigError
from peakend.io import read_source
from peakend.schema import Outcome
from peakend.spec import ROW_ID, DatasetSpec


def read_snapshot(spec: DatasetSpec) -> tuple[pd.DataFrame, str]:
    """The table with each declared outcome as a number column named after it, and the id column.

    Raises
    ------
    ConfigError
        A column the spec names is not in the table.
    """
    raw, _ = read_source(spec.source)
    id_col = spec.columns["journey_id"]
    if id_col == ROW_ID:
        raw = raw.assign(**{ROW_ID: [f"row {i + 2}" for i in range(len(raw))]})
    needed = [id_col] + [o.column for o in spec.outcomes if o.column]
    missing = [c for c in needed if c not in raw.columns]
    if missing:
        raise ConfigError(
            f"{spec.spec_path or spec.name}: column(s) {', '.join(missing)} not in "
            f"{spec.source.label}; columns are: {', '.join(map(str, raw.columns))}"
        )
    table = raw.copy()
    for outcome in spec.outcomes:
        if outcome.column:
            table[outcome.name] = outcome_values(table[outcome.column], outcome)
    return table, id_col


def outcome_values(column: pd.Series, outcome: Outcome) -> pd.Series:
    """A declared outcome as numbers: binary 1/0 by its values, else numeric."""
    if outcome.kind != "binary":
        return pd.to_numeric(column, errors="coerce")
    text = column.astype(str).str.strip().str.lower()
    positive = {v.lower() for v in outcome.positive}
    negative = {v.lower() for v in outcome.negative}
    yes = text.isin(positive)
    no = text.isin(negative) if negative else ~yes
    out = pd.Series(np.where(yes, 1.0, np.where(no, 0.0, np.nan)), index=column.index)
    return out.where(column.notna(), np.nan)
