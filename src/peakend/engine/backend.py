"""Connections and input tables for the engine (DuckDB unless told otherwise)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
from ibis.backends.duckdb import Backend as DuckDBBackend

from peakend.errors import SourceError


def connect(
    *,
    memory_limit: str | None = None,
    temp_directory: str | Path | None = None,
    threads: int | None = None,
) -> DuckDBBackend:
    """An in-process DuckDB connection for the engine.

    ``memory_limit`` (e.g. ``"6GB"``) and ``temp_directory`` let DuckDB spill to
    disk, so logs larger than memory still complete.
    """
    config: dict[str, Any] = {}
    if memory_limit:
        config["memory_limit"] = memory_limit
    if temp_directory:
        config["temp_directory"] = str(temp_directory)
    if threads:
        config["threads"] = threads
    return ibis.duckdb.connect(**config)


def events_table(con: Any, events: pa.Table | str | Path, *, name: str = "events") -> ibis.Table:
    """Make canonical events available to ``con`` as an Ibis table.

    ``events`` is an Arrow table (e.g. ``Dataset.events``) or the path of a
    Parquet file (or glob) in the canonical schema, read in place without
    loading it into memory.
    """
    if isinstance(events, pa.Table):
        return con.create_table(name, events, overwrite=True)
    path = str(events)
    if not any(ch in path for ch in "*?[") and not Path(path).exists():
        raise SourceError(f"events file {path} does not exist")
    return con.read_parquet(path, table_name=name)


def outcomes_table(
    con: Any, outcomes: pa.Table | str | Path, *, name: str = "outcomes"
) -> ibis.Table:
    """Make a per-journey outcomes table available to ``con``."""
    if isinstance(outcomes, pa.Table):
        return con.create_table(name, outcomes, overwrite=True)
    return con.read_parquet(str(outcomes), table_name=name)
