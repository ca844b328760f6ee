"""Readers: every supported source becomes a raw :class:`pandas.DataFrame`.

:func:`read_source` dispatches on the declared format. Raw frames keep the
user's column names; mapping onto the canonical model happens in
:mod:`peakend.load`.
"""

from __future__ import annotations

import pandas as pd

from peakend.io.files import BadRows, read_csv, read_jsonl, read_parquet
from peakend.spec import SourceSpec

__all__ = ["BadRows", "read_source"]


def read_source(source: SourceSpec) -> tuple[pd.DataFrame, BadRows]:
    """Read ``source`` into a raw frame plus the rows that could not be decoded."""
    bad = BadRows()
    if source.format == "csv":
        return read_csv(source, bad), bad
    if source.format == "jsonl":
        return read_jsonl(source, bad), bad
    if source.format == "parquet":
        return read_parquet(source), bad
    if source.format == "xes":
        from peakend.io.xes import read_xes

        return read_xes(source), bad
    from peakend.io.database import read_database

    return read_database(source), bad
