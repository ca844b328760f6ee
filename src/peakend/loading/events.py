"""Canonical events left where they were loaded, brought into memory only when asked.

A dataset loaded through DuckDB, or read back from the dataset cache, keeps its
events as a query on a DuckDB connection instead of an in-memory copy: the
journey engine runs on them in place (:meth:`EventSource.ibis_table`), so
``peakend journeys`` never sorts ten million events into Arrow only to hand them
back to DuckDB. ``Dataset.events`` still gives an Arrow table: the first access
reads it (:meth:`EventSource.to_arrow`, ordered by journey, time and sequence as
the pandas loader orders them) and releases the connection.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from peakend.loading.event_order import CANONICAL_ORDER, in_canonical_order, in_chunks_of
from peakend.schema import EVENT_SCHEMA
from peakend.sqltext import literal as _literal

if TYPE_CHECKING:
    import duckdb
    import ibis

    from peakend.load import Dataset

VIEW = "peakend_events"
"""Name of the canonical events view on the source's connection."""

_FLOAT_COLUMNS = ("score", "valence")
_HEAD = 100_000
"""Events whose order is checked before all are read (:meth:`EventSource._as_read`)."""
_SORTED_CHUNK = 122_880
"""Rows in each chunk of the table DuckDB's sort gives (its row group size). The
events read without the sort are chunked the same way: sums over a chunked column
add chunk by chunk, so the same chunks give the same sums to the last digit."""


class EventSource:
    """Canonical events as a view on a DuckDB connection this object owns.

    Parameters
    ----------
    db:
        The connection holding the events; closed by :meth:`close` (and when the
        events are read into memory through ``Dataset.events``).
    select:
        A query giving (at least) the columns of :data:`peakend.schema.EVENT_SCHEMA`
        under their canonical names; other columns are left out.
    n_rows:
        How many events the query gives (known from the load; not recounted).
    row:
        The column of ``select`` numbering the events in the source's order, the
        last term of the canonical order (:data:`~peakend.loading.event_order.CANONICAL_ORDER`);
        None when ``select`` gives the events in the canonical order already.
    """

    remote = False
    """Whether the events live outside this process (a Spark session): analyses then
    ask for aggregates through :meth:`ibis_table` instead of reading the events."""

    def __init__(self, db: duckdb.DuckDBPyConnection, select: str, *, n_rows: int, row: str | None):
        self._db: duckdb.DuckDBPyConnection | None = db
        self._select = select
        self._row = row
        self._order = CANONICAL_ORDER.format(row=row) if row else ""
        self.n_rows = n_rows
        db.sql(f"CREATE OR REPLACE TEMP VIEW {VIEW} AS {_canonical(select, '')}")

    @classmethod
    def from_parquet(cls, path: str | Path, *, n_rows: int) -> EventSource:
        """Events in a canonical Parquet file (the dataset cache), read in place."""
        import duckdb

        from peakend.resources import resources

        db = duckdb.connect(config=resources().duckdb_config())
        db.execute("SET TimeZone = 'UTC'")
        select = f"SELECT * FROM read_parquet({_literal(str(path))})"
        return cls(db, select, n_rows=n_rows, row=None)

    @property
    def open(self) -> bool:
        """Whether the events are still on their connection."""
        return self._db is not None

    @property
    def db(self) -> duckdb.DuckDBPyConnection:
        """The connection that holds the events (error once closed)."""
        if self._db is None:
            raise RuntimeError("these events were read into memory and their connection closed")
        return self._db

    def ibis_table(self) -> tuple[Any, ibis.Table]:
        """An Ibis backend on the events' own connection and the events on it.

        The engine can then run on the events where they are; work tables it
        creates live on the same connection and go with it.
        """
        import ibis

        backend = ibis.duckdb.from_connection(self.db)
        return backend, backend.table(VIEW)

    def to_arrow(self) -> pa.Table:
        """Every event as an Arrow table in the canonical schema and order.

        Read as the source gives them when they are in the canonical order already
        (the usual case: logs are mostly written by journey and time); sorted by
        DuckDB otherwise. Both give the same table.
        """
        table = self._as_read() if self._row else None
        if table is None:
            table = self.db.sql(_canonical(self._select, self._order)).to_arrow_table()
        return table.cast(EVENT_SCHEMA)

    def _as_read(self) -> pa.Table | None:
        """The events in the source's order if that is the canonical order, else None.

        The first :data:`_HEAD` events are checked first: a log in another order
        (by time across journeys, say) is told from them, before reading it all.
        """
        assert self._row is not None
        keys = f'SELECT journey_id, ts, seq, "{self._row}" FROM ({self._select}) AS source'
        head = self.db.sql(f"{keys} LIMIT {_HEAD}").to_arrow_table()
        if not in_canonical_order(head, self._row):
            return None
        query = _canonical(self._select, "", extra=self._row)
        table = self.db.sql(query).to_arrow_table(_SORTED_CHUNK)
        if not in_canonical_order(table, self._row):
            return None
        return in_chunks_of(table.drop_columns([self._row]), _SORTED_CHUNK)

    def write_parquet(self, path: str | Path) -> None:
        """Write the events, in canonical order, to a Parquet file without an Arrow copy."""
        query = _canonical(self._select, self._order)
        self.db.sql(f"COPY ({query}) TO {_literal(str(path))} (FORMAT parquet)")

    def close(self) -> None:
        """Release the connection (and the memory its tables hold)."""
        if self._db is not None:
            self._db.close()
            self._db = None

    def __repr__(self) -> str:
        state = "open" if self.open else "closed"
        return f"EventSource({self.n_rows:,} events, {state})"


def _canonical(select: str, order: str, *, extra: str | None = None) -> str:
    """``select`` narrowed to the canonical columns, typed, NaN scores as missing,
    in the order ``order`` gives (terms over the columns of ``select``); the column
    ``extra`` of ``select`` last, when given."""
    columns = []
    for field in EVENT_SCHEMA:
        name = f'"{field.name}"'
        if field.name in _FLOAT_COLUMNS:
            value = f"CASE WHEN isnan({name}) THEN NULL ELSE CAST({name} AS DOUBLE) END"
        else:
            value = f"CAST({name} AS {_SQL_TYPES[field.name]})"
        columns.append(f"{value} AS {name}")
    if extra:
        columns.append(f'"{extra}"')
    ordered = f" ORDER BY {order}" if order else ""
    return f"SELECT {', '.join(columns)} FROM ({select}) AS source{ordered}"


_SQL_TYPES = {
    "journey_id": "VARCHAR",
    "customer_id": "VARCHAR",
    "ts": "TIMESTAMPTZ",
    "seq": "BIGINT",
    "touchpoint": "VARCHAR",
    "channel": "VARCHAR",
    "initiated_by": "VARCHAR",
    "text": "VARCHAR",
    "lang": "VARCHAR",
}


def commented_events(dataset: Dataset) -> pa.Table:
    """The dataset's events that carry a comment (``text``): what text scoring reads.

    Events kept on a Spark session stay there; only these rows come back.
    """
    from peakend.loading.spark import SparkEventSource

    source = dataset.event_source
    if isinstance(source, SparkEventSource):
        return source.commented()
    events = dataset.events
    return events.filter(pc.is_valid(events["text"]))


def journey_events(dataset: Dataset, journey_id: str) -> pa.Table:
    """The events of one journey in canonical order; from a Spark session only those."""
    from peakend.loading.spark import SparkEventSource

    source = dataset.event_source
    if isinstance(source, SparkEventSource):
        return source.journey(journey_id)
    events = dataset.events
    return events.filter(pc.equal(events["journey_id"], journey_id))
