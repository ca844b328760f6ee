"""The columns a spec derives from the source (:mod:`peakend.derive`), as SQL.

``journey_id = "@row"`` makes the data row number the journey id, as text; a
touchpoint of several columns joins them with ``+``, each stripped as the pandas
loader strips text (:func:`~peakend.loading.duck.sql._text`), empty parts left out
and missing when every part is empty. The DuckDB loader adds them to the view of
the source (:meth:`~peakend.loading.duck.source.SourceReading._read`), so every
check, the quarantine and the outcomes see them as ordinary columns, as the pandas
loader's :func:`~peakend.derive.add_derived_columns` adds them to its frame.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
import pyarrow as pa

from peakend.loading.duck.sql import _q, _text
from peakend.spec import ROW_ID
from peakend.validate import ROW

ROW_ID_SQL = f"CAST({ROW} AS VARCHAR)"
"""The ``@row`` journey id: the data row number as text (over a numbered view)."""


def joined_sql(parts: Sequence[str]) -> str:
    """The joined touchpoint of the text columns ``parts``
    (:func:`~peakend.derive.join_columns`): ``concat_ws`` leaves the missing (empty)
    parts out, and gives ``''`` when every part is missing."""
    texts = ", ".join(_text(_q(p)) for p in parts)
    return f"nullif(concat_ws('+', {texts}), '')"


def with_columns(query: str, columns: dict[str, str]) -> str:
    """``query`` with the columns ``columns`` (name: SQL over its columns) added last."""
    if not columns:
        return query
    added = ", ".join(f"{sql} AS {_q(name)}" for name, sql in columns.items())
    return f"SELECT *, {added} FROM ({query})"


def row_free(columns: dict[str, str]) -> dict[str, str]:
    """Those of the derived ``columns`` that do not need the row number (the joined
    touchpoint): they can be added to the unnumbered view of a text source too."""
    return {name: sql for name, sql in columns.items() if name != ROW_ID}


def text_view_order(columns: dict[str, str]) -> dict[str, str]:
    """The derived ``columns`` in the order the view of a text source has them
    (:meth:`~peakend.loading.duck.source.SourceReading._text_view`): those added to
    its unnumbered view first (:func:`row_free`), then the row number as journey id."""
    return {**row_free(columns), **columns}


def as_pandas_text(
    to_frame: Callable[[pa.Table], pd.DataFrame], names: list[str]
) -> Callable[[pa.Table], pd.DataFrame]:
    """``to_frame`` giving the derived columns ``names`` as pandas' ``string`` type,
    as :func:`~peakend.derive.add_derived_columns` makes them (a missing joined
    touchpoint is then ``<NA>`` in a quarantined row's record, not ``NaN``)."""

    def frame(table: pa.Table) -> pd.DataFrame:
        found = to_frame(table)
        for name in names:
            if name in found:
                found[name] = found[name].astype("string")
        return found

    return frame
