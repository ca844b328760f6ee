"""Columns a spec builds from the source rather than finds in it.

* ``journey_id = "@row"``: files with one row per respondent and no id column
  (review exports, anonymous surveys) number their journeys by data row.
* ``touchpoint = ["concept:name", "lifecycle:transition"]``: a touchpoint made of
  several columns, joined with ``+`` (``A_SUBMITTED+COMPLETE``); an empty part is
  left out, so events without a lifecycle keep their plain name.

The loader calls :func:`add_derived_columns` right after reading, so every later
step (checks, quarantine, messages) sees the derived column like any other.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import pandas as pd

from peakend.spec import ROW_ID, DatasetSpec

ROW_COLUMN = "__row__"


def source_columns(spec: DatasetSpec, columns: dict[str, str]) -> list[str]:
    """The source columns behind the mapped roles (the parts of a joined touchpoint)."""
    names: list[str] = []
    for role, column in columns.items():
        if column == ROW_ID:
            continue
        if role == "touchpoint" and spec.touchpoint_parts:
            names.extend(spec.touchpoint_parts)
        else:
            names.append(column)
    return names


def add_derived_columns(raw: pd.DataFrame, spec: DatasetSpec, columns: dict[str, str]) -> None:
    """Add the ``@row`` id and the joined touchpoint to ``raw`` (in place)."""
    if columns.get("journey_id") == ROW_ID:
        raw[ROW_ID] = raw[ROW_COLUMN].astype("string")
    if spec.touchpoint_parts and all(p in raw for p in spec.touchpoint_parts):
        raw[columns["touchpoint"]] = join_columns(raw, spec.touchpoint_parts)


def join_columns(raw: pd.DataFrame, parts: Iterable[str]) -> pd.Series:
    """Join text columns with ``+``, leaving empty parts out (all empty: missing)."""
    joined: pd.Series | None = None
    for part in parts:
        text = raw[part].astype("string").str.strip()
        text = text.mask(text == "")
        if joined is None:
            joined = text
            continue
        both = joined.notna() & text.notna()
        joined = joined.where(~both, joined + "+" + text).fillna(text)
    assert joined is not None
    return joined


def did_you_mean(missing: str, present: Iterable[str]) -> str | None:
    """The source column closest to a misspelt one (case and spaces ignored), if any."""
    options = [str(p) for p in present]
    folded = {_fold(p): p for p in options}
    if _fold(missing) in folded:
        return folded[_fold(missing)]
    close = difflib.get_close_matches(missing, options, n=1, cutoff=0.75)
    return close[0] if close else None


def _fold(name: str) -> str:
    return "".join(name.lower().split()).replace("_", "").replace("-", "")
