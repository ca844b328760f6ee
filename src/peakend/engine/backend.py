"""Connections and input tables for the engine (DuckDB unless told otherwise)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
from ibis.backends.duckdb import Backend as DuckDBBackend

from peakend.errors import SourceError
from peakend.resources import resources


def connect(
    *,
    memory_limit: str | None = None,
    temp_directory: str | Path | None = None,
    threads: int | None = None,
) -> DuckDBBackend:
    """An in-process DuckDB connection for the engine, out of core by default.

    ``memory_limit`` (e.g. ``"6GB"`` or ``"50%"``) and ``temp_directory`` (the folder
    under which this connection spills) default to :mod:`peakend.resources`:
    ``$PEAKEND_MEMORY_LIMIT`` or 60 % of memory, ``$PEAKEND_TEMP_DIR`` or the OS's
    temporary folder. DuckDB then spills to disk, so logs larger than memory complete.
    """
    config: dict[str, Any] = resources(memory_limit, temp_directory).duckdb_config()
    if threads:
        config["threads"] = threads
    return ibis.duckdb.connect(**config)


def events_table(con: Any, events: pa.Table | str | Path, *, name: str = "events") -> ibis.Table:
    """Make canonical events available to ``con`` as an Ibis table.

    ``events`` is an Arrow table (e.g. ``Dataset.events``) or the path of a
    Parquet file (or glob) in the canonical schema, read in place without
    loading it into memory. On DuckDB an Arrow table is read in place too (a
    view on it): each analysis of ``peakend analyze`` puts the same events on
    its own connection, and a copy of ten million events costs seconds of
    CPU time and a gigabyte of memory each time.
    """
    if isinstance(events, pa.Table) and isinstance(con, DuckDBBackend):
        con.con.register(name, events)
        return con.table(name)
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
