"""The DuckDB loader: the checks of :mod:`peakend.load` as SQL over the source file.

:class:`DuckLoader` (:mod:`~peakend.loading.duck.loader`) is built from one module
per family of checks; see its docstring for how a load runs.
"""

from peakend.loading.duck.base import NATIVE, Unsupported, _csv_frame, _parquet_frame, unsupported
from peakend.loading.duck.loader import DuckLoader
from peakend.loading.duck.source import _HEAD_BYTES
from peakend.loading.duck.sql import _lit, _q, _strip

__all__ = [
    "NATIVE",
    "DuckLoader",
    "Unsupported",
    "unsupported",
    "_HEAD_BYTES",
    "_csv_frame",
    "_lit",
    "_parquet_frame",
    "_q",
    "_strip",
]
