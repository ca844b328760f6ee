"""State and small query helpers shared by every part of the DuckDB loader.

:class:`DuckBase` holds the connection, the source's column types and the counts
of the checks; each family of checks is a class of its own built on it
(:mod:`~peakend.loading.duck.source`, :mod:`~peakend.loading.duck.problems`,
:mod:`~peakend.loading.duck.columns`, :mod:`~peakend.loading.duck.checks`,
:mod:`~peakend.loading.duck.duplicates`, :mod:`~peakend.loading.duck.outcomes`,
:mod:`~peakend.loading.duck.catalogue`), and
:class:`~peakend.loading.duck.loader.DuckLoader` runs them in order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pyarrow as pa

from peakend.io.files import text_frame, typed_frame
from peakend.load import _Loader
from peakend.loading.duck.sql import _INTEGER, _NUMERIC, _q, _strip, _text
from peakend.spec import ROW_ID, DatasetSpec, SourceSpec
from peakend.validate import ROW

NATIVE = ("parquet", "csv", "jsonl", "xes", "excel", "sqlite", "duckdb", "postgres")
"""Formats the DuckDB loader reads: files in place, an XES log, an Excel sheet and
the rows of a database through the Parquet file they are streamed into."""
CONVERTED = ("xes", "excel")
"""Formats DuckDB cannot read, converted once into a Parquet file of text columns
kept in peakend's cache folder (:mod:`peakend.io.converted`)."""
TEXT_FORMATS = ("csv", "jsonl")
"""Formats read as text in the file's order, through a view ``<name>_cells`` of the
reader numbered afterwards (:attr:`DuckBase._file_order`)."""


_FINAL = (
    "jid", "ts", "seq_value", "tp", "channel", "initiator", "score_final",
    "valence_final", "text", "lang",
)  # fmt: skip
"""The columns of table ``ev`` the canonical events are made of."""
_EMPTY = ("channel", "text", "lang")
"""Columns of ``ev`` often without any value (not kept then)."""


_KEEP_PREFIX = "keep AND "


class Unsupported(Exception):
    """The DuckDB loader cannot reproduce the pandas loader here; the message says why."""


def unsupported(spec: DatasetSpec) -> str | None:
    """Why the DuckDB loader does not take this spec (None when it does)."""
    source = spec.source
    checks = [
        (source.format not in NATIVE, f"{source.format} source"),
        (_unlocated(source), "no file path"),
        (_unread_format(source), f"timestamp_format {source.timestamp_format!r}"),
    ]
    reasons = [why for failed, why in checks if failed]
    return ", ".join(reasons) or None


def _unread_format(source: SourceSpec) -> bool:
    """Whether ``source`` declares a ``timestamp_format`` the SQL loaders do not read."""
    from peakend.loading.duck.time_format import format_pattern

    fmt = source.timestamp_format
    return fmt is not None and format_pattern(fmt) is None


def _unlocated(source: SourceSpec) -> bool:
    """Whether ``source`` names no file (nor a server, for PostgreSQL)."""
    return source.path is None and source.uri is None and source.url is None


class DuckBase(_Loader):
    """The connection and state of one DuckDB load, with the queries every check uses."""

    _file_order = False
    """Whether the source is a view numbered by ``row_number()`` in the file's order (a
    CSV file): every statement then keeps the order rows arrive in."""

    counts_first = True
    """Count what every check looks for in one pass first (:meth:`_count_checks`), and
    leave the events of a typed Parquet source as a view over it (:meth:`_in_place`)."""

    typed_csv = True
    """Read the number columns of a CSV source as numbers first, and parse them from
    text only when that read fails (:meth:`~peakend.loading.duck.checks.EventChecks._events`).
    Off, every CSV load takes the text path (the tests compare both)."""

    streams_in_order = True
    """Whether the connection streams ``lag() OVER ()`` over the events in the order
    it reads them (DuckDB does), so that the duplicate search's table of journeys
    can come from that order
    (:func:`~peakend.loading.duck.duplicates.group_journeys`)."""

    _outcome_rows_from = "raw"
    """The table of the events' source that outcomes are read from (a wide export's
    rows without its repeated respondents, :mod:`~peakend.loading.duck.wide`)."""

    _derived: dict[str, str] = {}  # noqa: RUF012  (replaced, never changed)
    """The columns the spec derives from the events' source (``@row``, a joined
    touchpoint), by name, as SQL over view ``raw``
    (:meth:`~peakend.loading.duck.source.SourceReading._derive`)."""

    _typed: frozenset[str] = frozenset()
    """Columns the events are read from as DOUBLE while their query is built (a CSV
    source read with the types the spec implies)."""

    _ts_shape: str | None = None
    """While the events of a CSV source are read with types: the shape of every time
    (:func:`~peakend.loading.duck.columns.timestamp_shape`)."""

    _typed_read = False
    """Whether the events were read with types (the text path was not needed)."""

    _unverified: frozenset[str] = frozenset()
    """Identifier columns of a typed Parquet source read as they are before the count
    pass has checked that none of their values needs stripping
    (:meth:`~peakend.loading.duck.checks.EventChecks._count_checks`)."""

    _grouped = False
    """Whether the count pass left table ``key_groups`` (each journey's first row and
    whether its events repeat, :func:`~peakend.loading.duck.duplicates.journey_groups`)
    over the events as they were counted: the duplicate search reuses it while no
    check has dropped an event."""

    _journey_rows = f"SELECT jid, min({ROW}) AS order_row FROM ev_final GROUP BY jid"
    """A query of each journey's first row among the kept events; the duplicate search
    leaves a cheaper one
    (:meth:`~peakend.loading.duck.duplicates.Duplicates._drop_duplicates_sql`)."""

    _scale_constants: dict[str, str] = {}  # noqa: RUF012  (replaced, never changed)
    """The scale of every event as SQL constants, when one scale serves every
    touchpoint (:meth:`~peakend.loading.duck.columns.ColumnValues._scale_term`)."""

    def __init__(self, spec: DatasetSpec) -> None:
        super().__init__(spec)
        import duckdb

        from peakend.resources import resources

        # out of core like every peakend connection (memory limit and spill folder)
        self.db = duckdb.connect(config=resources().duckdb_config())
        self.db.execute("SET TimeZone = 'UTC'")
        self.db.execute("SET enable_progress_bar = false")
        self.types: dict[str, str] = {}
        self.header: list[str] = []
        self.to_frame: Callable[[pa.Table], pd.DataFrame] = _parquet_frame
        self._tp_counts: list[tuple[str, str | None, int, int]] | None = None
        self._names: list[str] | None = None
        self._confirms: list[tuple[str, str, Callable[..., Any]]] = []
        self._counts: dict[str, int] = {}
        self._filled: dict[str, int] = {}
        self._view = False
        self._ev_query = ""
        self._symmetric: tuple[float, float, bool] | None = None
        # Rows are numbered in a column, and every result of a check whose order
        # matters is ordered by it: the checks' work tables need not keep the order
        # rows arrive in, which saves memory and time in parallel statements.
        self.db.execute("SET preserve_insertion_order = false")

    def _numbered_ids(self) -> bool:
        """Whether the journey ids are the row numbers (``@row``): the unnumbered view
        of a text source (``raw_cells``) lacks them, so the events and the outcomes
        are read from the numbered view ``raw``."""
        return ROW_ID in self._derived

    def _in_place(self) -> bool:
        """Whether the events can stay a view over the source: a Parquet file whose
        times and numbers are typed, so that reading the view parses nothing."""
        if not self.counts_first or self.spec.source.format != "parquet":
            return False
        typed = ("ts", "seq", "score", "valence")
        return all(self._kind(self.columns[r]) != "text" for r in typed if r in self.columns)

    def _unordered(self) -> None:
        """Let statements return rows in any order again, unless the source is a view
        numbered in the file's order (:attr:`_file_order`)."""
        if not self._file_order:
            self.db.execute("SET preserve_insertion_order = false")

    def _head(self, table: str, limit: int) -> pd.DataFrame:
        """The first ``limit`` raw rows of ``table``; when its rows come in the file's
        order, read without sorting the whole source by row number."""
        if not self._file_order:
            return self._rows(table, "TRUE", limit=limit)
        cols = ", ".join(_q(c) for c in self.types)
        return self.to_frame(
            self.db.sql(f"SELECT {cols} FROM {table} LIMIT {limit}").to_arrow_table()
        )

    def _rows_read(self) -> int:
        """The data rows of the source: every row of the table of events, which is
        cheaper to count than the source when that is a CSV file."""
        return (
            self._scalar("SELECT count(*) FROM ev")
            if self._file_order
            else self._count("raw", "TRUE")
        )

    def _scalar(self, sql: str) -> int:
        rows = self.db.sql(sql).fetchall()
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0

    def _count(self, table: str, where: str) -> int:
        known = self._known(where) if table == "ev" else None
        if known is not None:
            return known
        return self._scalar(f"SELECT count(*) FROM {table} WHERE {where}")

    def _known(self, where: str) -> int | None:
        """How many kept events meet ``where``, if :meth:`_count_checks` counted it and
        no event has been dropped since (then ``keep AND c`` is ``c``)."""
        condition = "TRUE" if where == "keep" else where.removeprefix(_KEEP_PREFIX)
        return self._counts.get(condition)

    def _rows(self, table: str, where: str, *, limit: int | None = None) -> pd.DataFrame:
        """Raw rows (as the pandas reader gives them) of ``table`` where ``where`` holds."""
        cols = ", ".join(_q(c) for c in self.types)
        tail = f" LIMIT {limit}" if limit is not None else ""
        sql = f"SELECT {cols} FROM {table} WHERE {where} ORDER BY {ROW}{tail}"
        return self.to_frame(self.db.sql(sql).to_arrow_table())

    def _bad_rows(self, where: str, *, limit: int | None = None) -> pd.DataFrame:
        """Raw rows of the events where ``where`` (over the event columns) holds."""
        if limit is None or not self._file_order:
            return self._rows("raw", f"{ROW} IN (SELECT {ROW} FROM ev WHERE {where})", limit=limit)
        # The first rows of a file read in order: their numbers from the table of
        # events, then the file read only up to the last of them. (Matching every
        # number against the whole file read it all, on one thread: 5 s for the
        # first five of ten million local times.)
        first = f"SELECT {ROW} FROM ev WHERE {where} ORDER BY {ROW} LIMIT {limit}"
        numbers = [int(row[0]) for row in self.db.sql(first).fetchall()]
        listed = ", ".join(map(str, numbers)) or "NULL"
        head = f"(SELECT * FROM raw LIMIT {max(numbers, default=0)})"
        return self._rows(head, f"{ROW} IN ({listed})")

    def _kind(self, column: str) -> str:
        kind = self.types[column]
        if kind == "VARCHAR" or kind in _NUMERIC:
            return "text" if kind == "VARCHAR" else "number"
        if kind == "TIMESTAMP WITH TIME ZONE":
            return "instant"
        if kind.startswith("TIMESTAMP"):
            return "local"
        raise Unsupported(f"column {column!r} of type {kind}")

    def _text_of(self, column: str) -> str:
        kind = self.types[column]
        if kind != "VARCHAR" and kind not in _INTEGER:
            raise Unsupported(f"text column {column!r} of type {kind}")
        return _text(_q(column))

    def _number(self, column: str) -> tuple[str, str]:
        """SQL for the value and the unreadable flag of a number column (decimal comma too)."""
        if self._kind(column) == "number":
            return f"CAST({_q(column)} AS DOUBLE)", "FALSE"
        if column in self._typed:
            # Read as DOUBLE by DuckDB's CSV reader, which accepts what ``TRY_CAST``
            # does and raises on the rest: only NaN is left, unreadable as from text.
            return f"(CASE WHEN isnan({_q(column)}) THEN NULL ELSE {_q(column)} END)", (
                f"coalesce(isnan({_q(column)}), FALSE)"
            )
        if self._kind(column) != "text":
            raise Unsupported(f"number column {column!r} of type {self.types[column]}")
        text = _strip(_q(column))
        if self.spec.source.decimal == ",":
            text = f"replace(replace({text}, '.', ''), ',', '.')"
        value = f"TRY_CAST({text} AS DOUBLE)"
        value = f"(CASE WHEN isnan({value}) THEN NULL ELSE {value} END)"
        return value, f"({_q(column)} IS NOT NULL AND {value} IS NULL)"

    def _ev_columns_of(self, query: str) -> list[str]:
        return [str(r[0]) for r in self.db.sql(f"DESCRIBE {query}").fetchall()]

    def _ev_columns(self) -> list[str]:
        return self._ev_columns_of("ev")


def _parquet_frame(table: pa.Table) -> pd.DataFrame:
    """Rows of a typed source as the pandas reader gives them (:func:`typed_frame`)."""
    return typed_frame(table)


def _csv_frame(table: pa.Table) -> pd.DataFrame:
    """Rows of a CSV source as the pandas reader gives them (:func:`text_frame`)."""
    return text_frame(table)
