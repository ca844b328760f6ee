"""Connections and input tables for the engine (DuckDB unless told otherwise)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import pyarrow as pa
from ibis.backends.duckdb import Backend as DuckDBBackend

from peakend.errors import SourceError
from peakend.io.sniff import is_pattern
from peakend.resources import resources

if TYPE_CHECKING:
    from peakend.load import Dataset


def connect(
    *,
    memory_limit: str | None = None,
    temp_directory: str | Path | None = None,
    threads: int | None = None,
) -> DuckDBBackend:
    """An in-process DuckDB connection for the engine, out of core by default.

    ``memory_limit`` (e.g. ``"6GB"`` or ``"50%"``) and ``temp_directory`` (the folder
    under which this connection spills) default to :mod:`peakend.resources`:
    ``$PEAKEND_MEMORY_LIMIT`` or 15 % of memory, ``$PEAKEND_TEMP_DIR`` or the OS's
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
    if not is_pattern(path) and not Path(path).exists():
        raise SourceError(f"events file {path} does not exist")
    return con.read_parquet(path, table_name=name)


def outcomes_table(
    con: Any, outcomes: pa.Table | str | Path, *, name: str = "outcomes"
) -> ibis.Table:
    """Make a per-journey outcomes table available to ``con``.

    On a Spark session an Arrow table becomes a temporary view (``ibis.memtable``):
    a table would be written to the session's warehouse on disk. On DuckDB it is
    read in place (a view on it, as :func:`events_table` does): a copy of the
    outcomes of a million journeys cost 0.12 CPU seconds each time.
    """
    if isinstance(outcomes, pa.Table) and getattr(con, "name", "") == "pyspark":
        return ibis.memtable(outcomes)
    if isinstance(outcomes, pa.Table) and isinstance(con, DuckDBBackend):
        con.con.register(name, outcomes)
        return con.table(name)
    if isinstance(outcomes, pa.Table):
        return con.create_table(name, outcomes, overwrite=True)
    return con.read_parquet(str(outcomes), table_name=name)


def dataset_events(
    dataset: Dataset, con: Any | None = None, *, name: str = "events"
) -> tuple[Any, ibis.Table]:
    """The backend the engine runs on for ``dataset`` and its events there.

    Events kept on a Spark session (``--backend spark``) stay there: the engine's
    queries run on the session and only their results come back. Events anywhere
    else are put on ``con`` (a new DuckDB connection by default), as
    :func:`events_table` does.
    """
    source = dataset.event_source
    if source is not None and source.remote:
        return source.ibis_table()
    backend = con if con is not None else connect()
    return backend, events_table(backend, dataset.events, name=name)


def utc_times(table: pa.Table) -> pa.Table:
    """Times without a zone as UTC: Spark gives the engine's UTC instants as naive
    times in its session zone, which peakend sets to UTC; DuckDB gives them aware."""
    fields = [
        pa.field(f.name, pa.timestamp(f.type.unit, "UTC"))
        if pa.types.is_timestamp(f.type) and f.type.tz is None
        else f
        for f in table.schema
    ]
    return table.cast(pa.schema(fields))
