"""Readers: every supported source becomes a raw :class:`pandas.DataFrame`.

:func:`read_source` is the one entry point: it dispatches on the declared
format, so the whole data path (and, later, a lazy backend) sees sources through
one function. Raw frames keep the user's column names; mapping onto the
canonical model happens in :mod:`peakend.load`.
"""

from __future__ import annotations

import pandas as pd

from peakend.errors import ConfigError
from peakend.io.files import BadRows, read_csv, read_parquet
from peakend.spec import SourceSpec

__all__ = ["BadRows", "read_source", "remote_only"]


def read_source(source: SourceSpec, *, max_rows: int | None = None) -> tuple[pd.DataFrame, BadRows]:
    """Read ``source`` into a raw frame plus what reading found (bad rows, notes, labels).

    ``max_rows`` reads only the first data rows of file sources (for profiling).
    """
    if source.uri is not None:
        raise ConfigError(remote_only(source.uri))
    bad = BadRows()
    if source.format == "csv":
        return read_csv(source, bad, max_rows=max_rows), bad
    if source.format == "excel":
        from peakend.io.excel import read_excel

        return read_excel(source, bad.labels, max_rows=max_rows), bad
    if source.format == "jsonl":
        from peakend.io.jsonl import read_jsonl

        return read_jsonl(source, bad, max_rows=max_rows), bad
    if source.format == "parquet":
        frame = read_parquet(source)
        return (frame if max_rows is None else frame.head(max_rows)), bad
    if source.format == "xes":
        from peakend.io.xes import read_xes

        frame = read_xes(source, max_rows=max_rows)
        return (frame if max_rows is None else frame.head(max_rows)), bad
    from peakend.io.database import read_database

    return read_database(source), bad


def remote_only(uri: str) -> str:
    """Why a path on a cluster's file system cannot be read here, and what to do."""
    return (
        f"{uri} is on a cluster's file system, which only Spark reads: run with --backend "
        "spark (or PEAKEND_BACKEND=spark), or copy the file here and give its local path"
    )
