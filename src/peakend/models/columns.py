"""Confounder and covariate columns as numbers or as text, without converting what need not be.

The recovery design and the churn baseline covariates use a column as numbers when
every value reads as one, and dummy-code it otherwise. A text column of categories
(a segment name) fails on its first values, so those are parsed first: on a million
rows the whole column took most of a second to find what its first value says.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Values of a column parsed as numbers before the whole column (:func:`all_numbers`).
PROBE = 1_000


def all_numbers(column: pd.Series) -> pd.Series | None:
    """``pd.to_numeric(column, errors="coerce")`` when every value reads as a number, else None.

    The same decision as parsing the whole column and looking for a missing value:
    a value that does not read as a number among the first :data:`PROBE` fails it
    before the rest is parsed.
    """
    if pd.to_numeric(column.iloc[:PROBE], errors="coerce").isna().any():
        return None
    values = pd.to_numeric(column, errors="coerce")
    return values if values.notna().all() else None


def as_text(column: pd.Series) -> np.ndarray:
    """``column.astype(str).to_numpy()``: the values as text, not converted when they are.

    A column of ids or categories read from the engine already holds Python
    strings; converting a million of them one by one again took half a second,
    for the same values. Missing values and other types are converted as before.
    """
    if column.dtype == object and pd.api.types.infer_dtype(column, skipna=False) == "string":
        return column.to_numpy()
    return column.astype(str).to_numpy()
