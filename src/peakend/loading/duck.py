"""The DuckDB loader: the checks of :mod:`peakend.load` as SQL over the source file.

DuckDB reads the file in place (Parquet, CSV, gzip CSV, JSON lines) into one
table numbered by data row. Each check the pandas loader makes, in the same
order, becomes a column of flags; counts and first rows come from aggregate
queries, and only the rows that fail (the quarantine) or the five first
examples of a note come back to Python, where the same
:class:`~peakend.validate.Problem` and :class:`~peakend.validate.Quarantine`
code as the pandas loader words them.

The events are parsed, stripped and checked in one pass into one table
(``ev``) that also holds their canonical values (score, valence, initiator);
the checks read its flags, and the engine reads the kept events from the same
table afterwards (:meth:`DuckLoader._event_source`): no second copy, no view
that recomputes them for every query. What the column types make certain is
not checked value by value: a typed Parquet number needs no parse, and a
dictionary-encoded text column whose few distinct values need no stripping is
read as it is.

A Parquet source with typed times and numbers has nothing to parse, so ``ev``
is a view over the file instead of a table (:meth:`DuckLoader._in_place`): its
identifier columns are checked once for values that stripping would change,
one aggregate counts the events every check looks for
(:meth:`DuckLoader._count_checks`), only the checks that find something query
their rows, and the rows dropped are listed in a small table the view leaves
out. The engine then reads the file through that view.

Values SQL cannot read are handed to the pandas parsers of
:mod:`peakend.validate`; if pandas reads any of them (a format DuckDB does not
know), the load raises :class:`Unsupported` and the pandas loader runs instead,
so both loaders always give the same result.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from peakend.errors import ConfigError
from peakend.io.sniff import read_file_bytes, sniff_delimiter, sniff_encoding
from peakend.load import Dataset, _Loader, as_events
from peakend.schema import INITIATORS
from peakend.spec import ROW_ID, DatasetSpec, SourceSpec
from peakend.validate import (
    _OFFSET,
    ROW,
    Problem,
    Reason,
    Severity,
    parse_numbers,
    parse_timestamps,
)

if TYPE_CHECKING:
    from peakend.loading.events import EventSource

NATIVE = ("parquet", "csv")
"""Formats read in place. JSON lines stay with pandas, whose reader types values differently."""
_WHITESPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
_INTEGER = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER")
_NUMERIC = (*_INTEGER, "UBIGINT", "HUGEINT", "FLOAT", "DOUBLE")
_HEAD_BYTES = 1_000_000
_ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "latin-1": "latin-1", "latin1": "latin-1"}
_ENCODINGS |= {"iso-8859-1": "latin-1"}


_FINAL = (
    "jid", "ts", "seq_value", "tp", "channel", "initiator", "score_final",
    "valence_final", "text", "lang",
)  # fmt: skip
"""The columns of table ``ev`` the canonical events are made of."""
_EMPTY = ("channel", "text", "lang")
"""Columns of ``ev`` often without any value (not kept then)."""


_UNPARSABLE = "ts_present AND ts IS NULL"
_NAIVE = f"ts_naive AND NOT ({_UNPARSABLE})"
_UNSCALED = "score_value IS NOT NULL AND NOT scaled"
_OUTSIDE = "score_value IS NOT NULL AND NOT na AND (score_value < low OR score_value > high)"
_KEEP_PREFIX = "keep AND "

_LISTED = 10_000
"""Most pairs of repeated duplicate-key hashes read back by row number."""

_ORDER = "__order_row__"
"""Column of ``outcome_table`` with each journey's first row: the order of the journeys."""


class Unsupported(Exception):
    """The DuckDB loader cannot reproduce the pandas loader here; the message says why."""


def unsupported(spec: DatasetSpec) -> str | None:
    """Why the DuckDB loader does not take this spec (None when it does)."""
    source = spec.source
    checks = [
        (spec.layout != "long", f"{spec.layout} layout"),
        (spec.snapshot, "customer snapshot"),
        (source.format not in NATIVE, f"{source.format} source"),
        (source.path is None and source.uri is None, "no file path"),
        (source.header_rows != 1 or source.skip_rows != 0, "extra header rows"),
        (source.timestamp_format is not None, "timestamp_format"),
        (bool(spec.touchpoint_parts), "joined touchpoint"),
        (ROW_ID in dict(spec.columns).values(), "@row journey ids"),
    ]
    reasons = [why for failed, why in checks if failed]
    return ", ".join(reasons) or None


def _q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _in_list(values: list[str]) -> str:
    return "(" + ", ".join(_lit(v) for v in values) + ")" if values else "(NULL)"


_SPACE = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in _WHITESPACE) + "]"


def _strip(expr: str) -> str:
    """``str.strip()`` in SQL: every character Python counts as whitespace, both ends.

    (A regular expression: ``trim`` with a list of characters is ten times slower.
    Values that begin and end with a visible ASCII character, nearly all of them,
    skip the expression: that halves the cost of a column of identifiers.)
    """
    visible = f"ascii({expr}) BETWEEN 33 AND 126 AND ascii(right({expr}, 1)) BETWEEN 33 AND 126"
    stripped = f"regexp_replace({expr}, {_lit(f'^{_SPACE}+|{_SPACE}+$')}, '', 'g')"
    return f"(CASE WHEN {visible} THEN {expr} ELSE {stripped} END)"


def _text(expr: str) -> str:
    """The pandas ``_text`` of a column: text, whitespace stripped, blank as missing."""
    return f"nullif({_strip(f'CAST({expr} AS VARCHAR)')}, '')"


class DuckLoader(_Loader):
    """One load through DuckDB; problem wording and the quarantine are the pandas loader's."""

    counts_first = True
    """Count what every check looks for in one pass first (:meth:`_count_checks`), and
    leave the events of a typed Parquet source as a view over it (:meth:`_in_place`)."""

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

    def run(self) -> Dataset:
        import duckdb

        try:
            return self._run()
        except duckdb.Error as exc:
            self.db.close()
            raise Unsupported(f"DuckDB could not read the source: {exc}") from exc
        except BaseException:
            self.db.close()
            raise

    def _run(self) -> Dataset:
        self._read(self.spec.source, "raw")
        self.report.rows_read = self._count("raw", "TRUE")
        columns = [c for c in self.types if c != ROW]
        head = self._rows("raw", "TRUE", limit=2)
        self._check_export_shape(head)
        self._check_columns(head)
        self._events()
        self._drop_duplicates_sql()
        outcomes = self._outcomes_sql(columns)
        self._check_catalogue_sql()
        self.report.events_loaded = self._kept()
        self.report.journeys = self._count("outcome_table", "TRUE")  # one row per journey
        self.report.quarantined_rows = self.quarantine.n_rows
        touchpoints = self._catalogue_sql()
        events = self._event_source()
        return Dataset(
            spec=self.spec,
            events=as_events(events),
            outcomes=outcomes,
            touchpoints=touchpoints,
            quarantine=self.quarantine.table(),
            report=self.report,
        )

    # -- reading -------------------------------------------------------------

    def _read(self, source: SourceSpec, name: str) -> None:
        """Load ``source`` into table ``name`` with a 1-based ``__row__``."""
        assert source.path is not None
        path = _lit(str(source.path))
        if source.format == "parquet":
            # No copy: a view numbered by the file's own row numbers; queries read
            # the columns they need from the file.
            described = self.db.sql(f"DESCRIBE SELECT * FROM read_parquet({path})").fetchall()
            names = [str(c) for c, *_ in described]
            if ROW in names or "file_row_number" in names:
                raise Unsupported(f"a column named {ROW} or file_row_number")
            self.db.sql(
                f"CREATE VIEW {name} AS SELECT file_row_number + 1 AS {ROW}, "
                f"{', '.join(_q(c) for c in names)} "
                f"FROM read_parquet({path}, file_row_number = true)"
            )
        else:
            scan = self._csv_scan(source, path, name == "raw")
            described = self.db.sql(f"DESCRIBE SELECT * FROM {scan}").fetchall()
            names = [str(c) for c, *_ in described]
            if ROW in names:
                raise Unsupported(f"a column named {ROW}")
            # pandas reads with skipinitialspace: spaces after the delimiter go.
            cells = ", ".join(f"nullif(ltrim({_q(c)}, ' '), '') AS {_q(c)}" for c in names)
            # One copy, as a table: every check reads it again (as a view over the
            # file the ten checks would redo the parsing and trimming). Rows keep the
            # file's order, so the table's row id is the data row's number.
            # (in the file's order: the row id numbers the rows)
            self.db.execute("SET preserve_insertion_order = true")
            self.db.sql(f"CREATE TABLE {name}_cells AS SELECT {cells} FROM {scan}")
            self.db.execute("SET preserve_insertion_order = false")
            self.db.sql(f"CREATE VIEW {name} AS SELECT rowid + 1 AS {ROW}, * FROM {name}_cells")
        if source.format == "csv" and names != [h.strip() for h in self.header]:
            raise Unsupported("column names DuckDB reads differently")
        if not self._count(name, "TRUE"):
            raise Unsupported("no data rows")
        if name == "raw":
            self.types = {ROW: "BIGINT", **{str(c): str(t) for c, t, *_ in described}}
            if source.format == "csv":
                self.to_frame = _csv_frame

    def _csv_scan(self, source: SourceSpec, path: str, main: bool) -> str:
        """``read_csv`` with the delimiter and encoding the pandas reader would use."""
        assert source.path is not None
        head = read_file_bytes(source.path, limit=_HEAD_BYTES)
        raw_head = source.path.read_bytes()[:2]
        if raw_head[:2] == b"PK":
            raise Unsupported("zip archive")
        duck_encoding, delimiter = self._csv_dialect(source, head, main)
        compression = "gzip" if raw_head == b"\x1f\x8b" else "none"
        return (
            f"read_csv({path}, header = true, all_varchar = true, delim = {_lit(delimiter)}, "
            f"quote = '\"', escape = '\"', encoding = {_lit(duck_encoding)}, "
            f"compression = {_lit(compression)}, "
            "null_padding = false, strict_mode = true)"
        )

    def _csv_dialect(self, source: SourceSpec, head: bytes, main: bool) -> tuple[str, str]:
        """The encoding (as DuckDB and Spark name it) and delimiter of a CSV source.

        Reads the header into ``self.header`` and notes a detected delimiter once
        (``main``). What only the pandas reader can do raises :class:`Unsupported`.
        """
        encoding = source.encoding
        if encoding is None:
            encoding, note = sniff_encoding(head)
            if note:
                raise Unsupported("encoding to detect: set `encoding` in [source]")
        if encoding.lower() not in _ENCODINGS:
            raise Unsupported(f"encoding {encoding}")
        text = head.decode(encoding, errors="replace").removeprefix("\ufeff")
        if not text.strip():
            raise Unsupported("empty file")
        delimiter = source.delimiter
        note = None
        if delimiter is None:
            delimiter, note = sniff_delimiter(text)
        self.header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
        if len(self.header) < 2:
            raise Unsupported("one column: set `delimiter` in [source]")
        if note and main:
            self._add(Problem(Reason.FORMAT_DETECTED, Severity.INFO, self.label, None, 1, fix=note))
        return _ENCODINGS[encoding.lower()], delimiter

    # -- small helpers -------------------------------------------------------

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
        return self._rows("raw", f"{ROW} IN (SELECT {ROW} FROM ev WHERE {where})", limit=limit)

    def _reject_sql(self, where: str, reason: Reason, column: str | None, fix: str) -> bool:
        """Quarantine the events where ``where`` holds; whether there were any."""
        if self._known(where) == 0:
            return False
        frame = self._bad_rows(where)
        if not frame.empty:
            self._reject(frame, pd.Series(True, index=frame.index), reason, column, fix)
        return not frame.empty

    def _note_sql(
        self, where: str, reason: Reason, severity: Severity, column: str | None, fix: str
    ) -> None:
        count = self._count("ev", where)
        if not count:
            return
        first = self._bad_rows(where, limit=5)
        self._note(first, pd.Series(True, index=first.index), reason, severity, column, fix)
        problem = self.report.problems[-1]
        self.report.problems[-1] = Problem(
            problem.reason,
            problem.severity,
            problem.source,
            problem.column,
            count,
            problem.rows,
            problem.example,
            problem.fix,
        )

    def _drop(self, where: str) -> None:
        if self._known(where) == 0:
            return
        self._counts = {}  # counted before this drop
        if self._view:
            self.db.sql(f"INSERT INTO ev_dropped SELECT {ROW} FROM ev WHERE keep AND ({where})")
            self._define_view(f"{ROW} NOT IN (SELECT {ROW} FROM ev_dropped)")
        else:
            self.db.sql(f"UPDATE ev SET keep = FALSE WHERE keep AND ({where})")

    def _kept(self) -> int:
        """How many events are kept."""
        if self._view:
            return self._filled["TRUE"] - self._count("ev_dropped", "TRUE")
        return self._count("ev", "keep")

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
        if self._kind(column) != "text":
            raise Unsupported(f"number column {column!r} of type {self.types[column]}")
        text = _strip(_q(column))
        if self.spec.source.decimal == ",":
            text = f"replace(replace({text}, '.', ''), ',', '.')"
        value = f"TRY_CAST({text} AS DOUBLE)"
        value = f"(CASE WHEN isnan({value}) THEN NULL ELSE {value} END)"
        return value, f"({_q(column)} IS NOT NULL AND {value} IS NULL)"

    def _confirm_unreadable(self, column: str, flag: str, pandas_parse: Callable[..., Any]) -> None:
        """Values SQL cannot read must be unreadable for pandas too, or pandas loads instead.

        ``flag`` is a condition over table ``ev`` (which holds each parse's result),
        checked once the table exists (:meth:`_run_confirms`): the values are not
        parsed a second time.
        """
        self._confirms.append((column, flag, pandas_parse))

    def _run_confirms(self) -> None:
        for column, flag, pandas_parse in self._confirms:
            if self._known(flag) == 0:
                continue
            values = self.db.sql(
                f"SELECT {_q(column)} FROM raw WHERE {_q(column)} IS NOT NULL "
                f"AND {ROW} IN (SELECT {ROW} FROM ev WHERE {flag})"
            ).fetchall()
            if values and pandas_parse(pd.Series([v[0] for v in values], dtype="object")):
                raise Unsupported(f"values in {column!r} that pandas reads and DuckDB does not")
        self._confirms.clear()

    # -- events --------------------------------------------------------------

    def _events(self) -> None:
        cols = self.columns
        clean = self._clean_text_columns()

        def text(column: str) -> str:
            value = self._text_of(column)  # (checks the type in every case)
            return _q(column) if column in clean else value

        select = [ROW, f"{text(cols['journey_id'])} AS jid", f"{text(cols['touchpoint'])} AS tp"]
        for role in ("customer_id", "channel", "initiated_by", "text", "lang"):
            value = text(cols[role]) if role in cols else "CAST(NULL AS VARCHAR)"
            select.append(f"{value} AS {role}")
        if "seq" in cols:
            value, bad = self._number(cols["seq"])
            self._confirm_numbers(cols["seq"], "seq_value IS NULL")
            select += [f"{value} AS seq_value", f"({bad} OR {value} IS NULL) AS seq_bad"]
        else:
            select += [f"CAST({ROW} - 1 AS DOUBLE) AS seq_value", "FALSE AS seq_bad"]
        select += self._timestamp_sql()
        select += self._score_sql()
        if "valence" in cols:
            value, bad = self._number(cols["valence"])
            self._confirm_numbers(cols["valence"], "valence_given IS NULL")
            outside = f"({value} IS NOT NULL AND ({value} < -1 OR {value} > 1))"
            select += [f"{value} AS valence_given", f"({bad} OR {outside}) AS valence_bad"]
        select.append("TRUE AS keep")
        events = f"SELECT {', '.join(select)} FROM raw"
        if "score" in cols:
            events = self._with_scales(events)
        if self._in_place():
            # Nothing to parse: the events stay a view over the source, and the rows a
            # check drops are listed in ``ev_dropped`` (writing ten million checked
            # events into a table cost more CPU time than every check together).
            self._view = True
            self._ev_query = self._with_finals(events)
            self.db.sql(f"CREATE TABLE ev_dropped ({ROW} BIGINT)")
            self._define_view("TRUE")
        else:
            # In the file's order: the engine sums over the events as stored, and the
            # same order gives the same sums, to the last digit, from run to run.
            self.db.execute("SET preserve_insertion_order = true")
            self.db.sql(f"CREATE TABLE ev AS {self._with_finals(events)}")
            self.db.execute("SET preserve_insertion_order = false")
        if self.counts_first:
            self._count_checks()
        self._run_confirms()
        self._event_checks()
        self._final_view()

    def _in_place(self) -> bool:
        """Whether the events can stay a view over the source: a Parquet file whose
        times and numbers are typed, so that reading the view parses nothing."""
        if not self.counts_first or self.spec.source.format != "parquet":
            return False
        typed = ("ts", "seq", "score", "valence")
        return all(self._kind(self.columns[r]) != "text" for r in typed if r in self.columns)

    def _define_view(self, keep: str) -> None:
        """View ``ev`` over the source, with ``keep`` as the flag of the kept events."""
        self.db.sql(
            f"CREATE OR REPLACE VIEW ev AS SELECT * REPLACE ({keep} AS keep) FROM "
            f"({self._ev_query}) AS checked"
        )

    def _check_conditions(self) -> list[str]:
        """Every condition the checks count or quarantine by (the strings they use)."""
        found = ["TRUE", "seq_bad", "jid IS NULL", "tp IS NULL", _UNPARSABLE, _NAIVE]
        found += ["ts_offset AND ts IS NOT NULL", "NOT ts_present", "ts IS NOT NULL"]
        if "initiated_by" in self.columns:
            found.append(self._initiator_bad())
        if "score" in self.columns:
            found += ["score_bad", _UNSCALED, _OUTSIDE, "na"]
        if "valence" in self.columns:
            found.append("valence_bad")
        found += [flag for _, flag, _ in self._confirms]
        return list(dict.fromkeys(found))

    def _count_checks(self) -> None:
        """Count the events every check looks for, in one pass over the events.

        Until a row is dropped, these are the counts the checks would query one by
        one (:meth:`_known`): a check that finds nothing then runs no query, and on
        clean data the whole validation reads the events once. The values of the
        columns often left empty are counted too (:meth:`_event_source`).
        """
        conditions = self._check_conditions()
        counts = [f"count(*) FILTER (WHERE {c})" for c in conditions]
        counts += [f"count({c})" for c in _EMPTY]
        row = self.db.sql(f"SELECT {', '.join(counts)} FROM ev").fetchall()[0]
        values = [int(n) for n in row]
        self._counts = dict(zip(conditions, values, strict=False))
        self._filled = {"TRUE": self._counts["TRUE"]}
        self._filled |= dict(zip(_EMPTY, values[len(conditions) :], strict=True))

    def _with_scales(self, events: str) -> str:
        """``events`` with each event's scale, in the same pass (a second copy of the
        events would cost as much as the first).

        When every touchpoint in the data has the same scale (one declared scale,
        the usual case), the scale is written into the query as constants: no join
        of every event with the table of scales.
        """
        found = [self._scale(name) for name in self._touchpoint_names()]
        scales = {
            (s.low, s.high, s.midpoint, s.reversed, tuple(s.not_applicable))
            for s in found
            if s is not None
        }
        if len(scales) != 1 or None in found:
            self._scale_table()
            return (
                "SELECT e.*, coalesce(s.low, 0) AS low, coalesce(s.high, 1) AS high, "
                "coalesce(s.neutral, 0.5) AS neutral, coalesce(s.reversed, FALSE) AS reversed, "
                "s.tp IS NOT NULL AS scaled, "
                "(e.na_text OR coalesce(list_contains(s.na, e.score_value), FALSE)) AS na "
                f"FROM ({events}) e LEFT JOIN scale_of s ON s.tp = e.tp"
            )
        low, high, neutral, reversed_, not_applicable = scales.pop()
        if float(high) - float(neutral) == float(neutral) - float(low):
            self._symmetric = (float(neutral), float(high) - float(neutral), bool(reversed_))
        na = "e.na_text"
        if not_applicable:
            values = ", ".join(f"CAST({float(v)!r} AS DOUBLE)" for v in not_applicable)
            na = f"(e.na_text OR coalesce(list_contains([{values}], e.score_value), FALSE))"
        return (
            f"SELECT e.*, CAST({float(low)!r} AS DOUBLE) AS low, "
            f"CAST({float(high)!r} AS DOUBLE) AS high, "
            f"CAST({float(neutral)!r} AS DOUBLE) AS neutral, {bool(reversed_)} AS reversed, "
            f"TRUE AS scaled, {na} AS na FROM ({events}) e"
        )

    def _with_finals(self, events: str) -> str:
        """``events`` with the canonical score, valence and initiator computed in the same pass.

        They are columns of the one table of events, not expressions of a view:
        every later check, the duplicate search and the engine read them as stored.
        A row that a check drops keeps its values; only kept rows are read.
        """
        columns = self._ev_columns_of(events)
        score = "CASE WHEN na THEN NULL ELSE score_value END" if "na" in columns else "score_value"
        if "low" in columns and self._symmetric is not None:
            # One scale, as far above its neutral point as below: both branches of the
            # general formula are the same division, written once with constants.
            neutral, half, reversed_ = self._symmetric
            valence = f"(({score}) - CAST({neutral!r} AS DOUBLE)) / CAST({half!r} AS DOUBLE)"
            valence = f"-({valence})" if reversed_ else valence
        elif "low" in columns:
            valence = (
                f"CASE WHEN ({score}) >= neutral THEN (({score}) - neutral) / (high - neutral) "
                f"ELSE (({score}) - neutral) / (neutral - low) END"
            )
            valence = f"CASE WHEN reversed THEN -({valence}) ELSE {valence} END"
        else:
            valence = "CAST(NULL AS DOUBLE)"
        if "valence_given" in columns:
            valence = f"coalesce(valence_given, {valence})"
        initiator = self._initiator_fallback()
        if "initiated_by" in self.columns:
            initiator = f"coalesce(lower(initiated_by), {initiator})"
        return (
            f"SELECT *, {score} AS score_final, "
            f"{valence} AS valence_final, {initiator} AS initiator FROM ({events}) AS checked"
        )

    def _ev_columns_of(self, query: str) -> list[str]:
        return [str(r[0]) for r in self.db.sql(f"DESCRIBE {query}").fetchall()]

    def _ev_columns(self) -> list[str]:
        return self._ev_columns_of("ev")

    def _initiator_fallback(self) -> str:
        """SQL for each touchpoint's initiator from the catalogue (NULL when it has none)."""
        by_catalogue = {t.name: t.initiated_by for t in self.spec.touchpoints if t.initiated_by}
        fallback = "CASE tp " + " ".join(
            f"WHEN {_lit(n)} THEN {_lit(i)}" for n, i in by_catalogue.items()
        )
        return f"{fallback} END" if by_catalogue else "CAST(NULL AS VARCHAR)"

    def _clean_text_columns(self) -> set[str]:
        """Text columns of a Parquet source in which no value needs stripping or is blank.

        Only columns that are dictionary-encoded in every row group (a touchpoint,
        a channel) or hold no value at all are looked at: DuckDB finds their
        distinct values from the dictionaries, without reading every value. Their
        values are then read as they are, not stripped one by one.
        """
        if self.spec.source.format != "parquet" or self.spec.source.path is None:
            return set()
        texts = {"journey_id", "touchpoint", "customer_id", "channel", "initiated_by", "text"}
        wanted = {c for r, c in self.columns.items() if r in texts | {"lang"}}
        wanted = {c for c in wanted if self.types.get(c) == "VARCHAR"}
        path = _lit(str(self.spec.source.path))
        candidates = self.db.sql(
            "SELECT path_in_schema FROM parquet_metadata("
            f"{path}) GROUP BY ALL HAVING bool_and(dictionary_page_offset IS NOT NULL) "
            "OR sum(stats_null_count) = sum(num_values)"
        ).fetchall()
        clean = set()
        for (column,) in candidates:
            if column in wanted:
                # (a FILTER, not a WHERE, which DuckDB would apply to every row)
                changed = f"count(*) FILTER (WHERE v IS DISTINCT FROM {_text('v')})"
                distinct = f"SELECT DISTINCT {_q(column)} AS v FROM raw"
                if not self._scalar(f"SELECT {changed} FROM ({distinct})"):
                    clean.add(str(column))
        rest = sorted(wanted - clean)
        if rest and self._in_place():
            # The events are read through a view many times: check the other columns
            # (identifiers) once, in one pass, instead of stripping them at every read.
            changed = ", ".join(
                f"count(*) FILTER (WHERE {_q(c)} IS DISTINCT FROM {_text(_q(c))})" for c in rest
            )
            row = self.db.sql(f"SELECT {changed} FROM raw").fetchall()[0]
            clean |= {c for c, n in zip(rest, row, strict=True) if not n}
        return clean

    def _confirm_numbers(self, column: str, flag: str) -> None:
        if self._kind(column) != "text":
            return  # typed numbers: nothing SQL could not read
        decimal = self.spec.source.decimal

        def readable(values: pd.Series) -> bool:
            numbers, _ = parse_numbers(values, decimal=decimal)
            return bool(numbers.notna().any())

        self._confirm_unreadable(column, flag, readable)

    def _timestamp_sql(self) -> list[str]:
        if "ts" not in self.columns:
            return [
                "CAST(NULL AS TIMESTAMPTZ) AS ts",
                "FALSE AS ts_present",
                "FALSE AS ts_naive",
                "FALSE AS ts_offset",
            ]
        col = self.columns["ts"]
        zone = _lit(self.spec.source.timezone)
        present = f"{_q(col)} IS NOT NULL"
        kind = self._kind(col)
        if kind == "instant":
            return [
                f"{_q(col)} AS ts",
                f"{present} AS ts_present",
                "FALSE AS ts_naive",
                f"{present} AS ts_offset",
            ]
        if kind == "local":
            value = f"CAST({_q(col)} AS TIMESTAMP)"
            offset = "FALSE"
        elif kind == "text":
            text = _strip(_q(col))
            offset = f"coalesce(regexp_matches({text}, {_lit(_OFFSET.pattern)}, 'i'), FALSE)"
            exact = f"TRY_CAST({text} AS TIMESTAMPTZ)"
            value = f"TRY_CAST({text} AS TIMESTAMP)"
        else:
            raise Unsupported(f"timestamps of type {self.types[col]}")
        local = f"timezone({zone}, {value})"
        # A local time that does not exist or occurs twice at a daylight-saving change
        # is unreadable, as for pandas: it does not survive the round trip, or an hour
        # earlier or later reads as the same local time.
        shaky = (
            f"(timezone({zone}, {local}) <> {value} "
            f"OR timezone({zone}, {local} - INTERVAL 1 HOUR) = {value} "
            f"OR timezone({zone}, {local} + INTERVAL 1 HOUR) = {value})"
        )
        local_ok = f"CASE WHEN {shaky} THEN NULL ELSE {local} END"
        if kind == "text":
            ts = f"CASE WHEN {offset} THEN {exact} ELSE {local_ok} END"
            self._confirm_timestamps(col, "ts_present AND ts IS NULL")
        else:
            ts = local_ok
        return [
            f"{ts} AS ts",
            f"{present} AS ts_present",
            f"({present} AND NOT {offset}) AS ts_naive",
            f"({present} AND {offset}) AS ts_offset",
        ]

    def _confirm_timestamps(self, column: str, flag: str) -> None:
        zone = self.spec.source.timezone

        def readable(values: pd.Series) -> bool:
            parsed = parse_timestamps(values, timezone=zone, fmt=None)
            return bool(parsed.values.notna().any())

        self._confirm_unreadable(column, flag, readable)

    def _score_sql(self) -> list[str]:
        col = self.columns.get("score")
        if col is None:
            return ["CAST(NULL AS DOUBLE) AS score_value", "FALSE AS score_bad", "FALSE AS na"]

        na_text = self._na_text_sql(col)
        value, bad = self._number(col)
        if self._kind(col) == "text":
            self._confirm_numbers(col, "score_bad")
        value = f"(CASE WHEN {na_text} THEN NULL ELSE {value} END)"
        bad = f"(NOT ({na_text}) AND {bad})"
        return [f"{value} AS score_value", f"{bad} AS score_bad", f"{na_text} AS na_text"]

    def _na_text_sql(self, col: str) -> str:
        if self._kind(col) != "text":
            return "FALSE"
        cases = []
        tp = self._text_of(self.columns["touchpoint"])
        for name in self._touchpoint_names():
            scale = self._scale(name)
            if scale is None or not scale.not_applicable_text:
                continue
            codes = [c.lower() for c in scale.not_applicable_text]
            cases.append(f"({tp} = {_lit(name)} AND {_text_lower(col)} IN {_in_list(codes)})")
        return "(" + " OR ".join(cases) + ")" if cases else "FALSE"

    def _scale_table(self) -> None:
        """Table ``scale_of``: the scale of every touchpoint in the data that has one."""
        scales = {n: self._scale(n) for n in self._touchpoint_names()}
        rows = [
            (n, s.low, s.high, s.midpoint, s.reversed, list(s.not_applicable))
            for n, s in scales.items()
            if s is not None
        ]
        self.db.sql(
            "CREATE TABLE scale_of (tp VARCHAR, low DOUBLE, high DOUBLE, neutral DOUBLE, "
            "reversed BOOLEAN, na DOUBLE[])"
        )
        if rows:
            self.db.executemany("INSERT INTO scale_of VALUES (?, ?, ?, ?, ?, ?)", rows)

    def _touchpoint_names(self) -> list[str]:
        """Every touchpoint name in the source (distinct raw values first: few, cheap to strip)."""
        if self._names is None:
            self._names = self._distinct_touchpoints()
        return self._names

    def _distinct_touchpoints(self) -> list[str]:
        column = _q(self.columns["touchpoint"])
        tp = self._text_of(self.columns["touchpoint"])
        # (no WHERE: DuckDB would push it below the inner DISTINCT, onto every row)
        rows = self.db.sql(f"SELECT DISTINCT {tp} FROM (SELECT DISTINCT {column} FROM raw)")
        return sorted(str(r[0]) for r in rows.fetchall() if r[0] is not None)

    def _event_checks(self) -> None:
        cols = self.columns
        if "seq" in cols:
            self._reject_sql(
                "keep AND seq_bad",
                Reason.MISSING_VALUE,
                cols["seq"],
                "give every row a whole-number sequence",
            )
            self._drop("seq_bad")
        for role, name in (("journey_id", "jid"), ("touchpoint", "tp")):
            fix = f"fill in the {role.replace('_', ' ')} or remove the row"
            self._reject_sql(f"keep AND {name} IS NULL", Reason.MISSING_VALUE, cols[role], fix)
            self._drop(f"{name} IS NULL")
        if "ts" in cols:
            self._timestamp_checks(cols["ts"])
        self._initiator_checks()
        if "score" in cols:
            self._score_checks(cols["score"])
        if "valence" in cols:
            self._reject_sql(
                "keep AND valence_bad",
                Reason.BAD_VALUE,
                cols["valence"],
                "valence must be a number in [-1, 1]",
            )
            self._drop("valence_bad")

    def _timestamp_checks(self, col: str) -> None:
        fix = (
            "write ISO 8601 (2024-03-31T14:05:00+02:00) or set `timestamp_format` in [source] "
            '(e.g. "%d-%m-%Y %H:%M")'
        )
        unparsable = _UNPARSABLE
        self._reject_sql(f"keep AND {unparsable}", Reason.BAD_TIMESTAMP, col, fix)
        naive = f"keep AND {_NAIVE}"
        if self._count("ev", naive):
            mixed = bool(self._count("ev", "keep AND ts_offset AND ts IS NOT NULL"))
            self._note_sql(
                naive,
                Reason.MIXED_TIMEZONES if mixed else Reason.TIMEZONE_ASSUMED,
                Severity.WARNING if mixed else Severity.INFO,
                col,
                f"read as local time in {self.spec.source.timezone!r} and converted to UTC; "
                "set `timezone` in [source] if that zone is wrong",
            )
        self._note_sql(
            "keep AND NOT ts_present",
            Reason.MISSING_VALUE,
            Severity.WARNING,
            col,
            "events without a time keep their place by sequence but have no duration",
        )
        self._drop(unparsable)

    def _initiator_checks(self) -> None:
        if "initiated_by" in self.columns:
            bad = self._initiator_bad()
            if self._reject_sql(
                f"keep AND {bad}",
                Reason.BAD_VALUE,
                self.columns["initiated_by"],
                "use 'customer' or 'company'",
            ):
                self._drop(bad)

    def _initiator_bad(self) -> str:
        allowed = _in_list(list(INITIATORS))
        return f"initiated_by IS NOT NULL AND lower(initiated_by) NOT IN {allowed}"

    def _score_checks(self, col: str) -> None:
        bad_values = (
            [
                r[0]
                for r in self.db.sql(
                    f"SELECT {_q(col)} FROM raw WHERE {ROW} IN "
                    f"(SELECT {ROW} FROM ev WHERE keep AND score_bad) ORDER BY {ROW}"
                ).fetchall()
            ]
            if self._known("score_bad") != 0
            else []
        )
        if bad_values:
            fix = self._bad_score_fix(pd.Series(bad_values, dtype="object"))
            self._reject_sql("keep AND score_bad", Reason.BAD_SCORE, col, fix)
            self._drop("score_bad")
        scored = (
            self.db.sql(f"SELECT DISTINCT tp FROM ev WHERE keep AND {_UNSCALED}").fetchall()
            if self._known(_UNSCALED) != 0
            else []
        )
        unscaled = sorted(str(r[0]) for r in scored)
        if unscaled:
            raise ConfigError(
                f"{self.label}: scores found for touchpoint(s) without a declared scale: "
                f"{', '.join(unscaled[:5])}. Declare one under [scales] (e.g. [scales.csat] "
                "low = 1, high = 5) and set `default_scale` or the touchpoint's `scale`."
            )
        outside = _OUTSIDE
        self._reject_sql(
            f"keep AND {outside}",
            Reason.SCORE_OUT_OF_SCALE,
            col,
            "correct the score, or declare the scale (low/high/not_applicable) in [scales]",
        )
        self._note_sql(
            "keep AND na",
            Reason.NOT_APPLICABLE,
            Severity.INFO,
            col,
            "nothing to fix: these answers count as 'not applicable', not as low scores",
        )
        self._drop(outside)

    def _drop_duplicates_sql(self) -> None:
        if not self._count("ev", "keep AND ts IS NOT NULL"):
            return
        keys = "jid, tp, ts, score_final, channel, text"
        # Rows whose key hash repeats first (an aggregate over one 64-bit column, far
        # cheaper than over the text keys; few hashes repeat), then groups of equal
        # events among those candidates only, then every row of a group after its first.
        self.db.sql(
            f"CREATE TABLE dup_hashes AS SELECT hash({keys}) AS h, min({ROW}) AS lo, "
            f"max({ROW}) AS hi, count(*) AS n FROM ev_final "
            "WHERE ts IS NOT NULL GROUP BY h HAVING count(*) > 1"
        )
        repeated, most = self.db.sql("SELECT count(*), max(n) FROM dup_hashes").fetchall()[0]
        if not repeated:
            return  # no key repeats: no second pass over the events
        if most == 2 and repeated <= _LISTED:
            # Every repeated hash has two rows, known by number: read just those.
            pairs = self.db.sql("SELECT lo, hi FROM dup_hashes").fetchall()
            candidates = f"{ROW} IN ({', '.join(str(int(r)) for pair in pairs for r in pair)})"
        else:
            candidates = f"ts IS NOT NULL AND hash({keys}) IN (SELECT h FROM dup_hashes)"
        # The candidates with every canonical column: the groups of equal events,
        # the repeats and their quarantine lines come from those rows alone.
        self.db.sql(f"CREATE TABLE dup_candidates AS SELECT * FROM ev_final WHERE {candidates}")
        self.db.sql(
            f"CREATE TABLE dup_groups AS SELECT {keys}, min({ROW}) AS first_row "
            "FROM dup_candidates GROUP BY ALL HAVING count(*) > 1"
        )
        same = " AND ".join(f"e.{k} IS NOT DISTINCT FROM g.{k}" for k in keys.split(", "))
        self.db.sql(
            f"CREATE TABLE dup AS SELECT e.{ROW} FROM dup_candidates e JOIN dup_groups g "
            f"ON {same} WHERE e.{ROW} <> g.first_row"
        )
        frame = self._event_rows(f"{ROW} IN (SELECT {ROW} FROM dup)", table="dup_candidates")
        if not frame.empty:
            self._reject(
                frame,
                pd.Series(True, index=frame.index),
                Reason.DUPLICATE_EVENT,
                None,
                "remove the repeated rows from the export (the first copy is kept)",
            )
        self._drop(f"{ROW} IN (SELECT {ROW} FROM dup)")

    # -- canonical events ----------------------------------------------------

    def _event_rows(self, where: str, *, table: str = "ev_final") -> pd.DataFrame:
        """Canonical events where ``where`` holds, typed as the pandas loader's frame
        (duplicates are quarantined with the event, not the raw row); ``table`` has
        the columns of ``ev_final``."""
        frame = (
            self.db.sql(
                f"SELECT {ROW}, jid AS journey_id, tp AS touchpoint, customer AS customer_id, "
                "channel, initiated_by, text, lang, seq, ts, score_final AS score, "
                f"valence_final AS valence FROM {table} WHERE {where} ORDER BY {ROW}"
            )
            .to_arrow_table()
            .to_pandas()
        )
        assert isinstance(frame, pd.DataFrame)
        for name in ("journey_id", "touchpoint", "customer_id", "channel", "initiated_by"):
            frame[name] = frame[name].astype("string")
        for name in ("text", "lang"):
            frame[name] = frame[name].astype("string")
        frame["ts"] = frame["ts"].astype("datetime64[us, UTC]")
        frame["score"] = frame["score"].astype("float64")
        frame["valence"] = frame["valence"].astype("float64")
        return frame

    def _final_view(self) -> None:
        """View ``ev_final``: the kept events' canonical columns, as stored in ``ev``."""
        self.db.sql(f"CREATE OR REPLACE VIEW ev_final AS {self._final_select()} WHERE keep")

    def _final_select(self, empty: set[str] | frozenset[str] = frozenset()) -> str:
        """The canonical columns of the events in ``ev`` (``ev_final``'s names);
        the columns in ``empty`` (of :data:`_EMPTY`) as NULL.

        The cast of the sequence is made here, on read: a value too large for a
        whole number then fails only if its row is kept, as in the pandas loader.
        """
        customer = "customer_id" if "customer_id" in self.columns else "jid"
        channel, text, lang = (f"CAST(NULL AS VARCHAR) AS {c}" if c in empty else c for c in _EMPTY)
        return (
            f"SELECT {ROW}, jid, {customer} AS customer, ts, "
            f"CAST(trunc(seq_value) AS BIGINT) AS seq, tp, {channel}, "
            f"initiator AS initiated_by, score_final, valence_final, {text}, {lang} FROM ev"
        )

    def _event_source(self) -> EventSource:
        """The loaded events, left on this connection (the engine reads them there);
        the work tables the checks needed are dropped to give their memory back."""
        from peakend.loading.events import EventSource

        if self._view:
            return self._view_source()
        # The kept events stay in table ``ev``, where the checks computed their
        # canonical values: the rows a check dropped are deleted and the work columns
        # (flags, scales, raw values) dropped, both without a copy. A copy of the kept
        # events cost 2.4 CPU seconds at 10M events, the same work the checks did.
        for name, kind in self.db.sql(
            "SELECT table_name, table_type FROM information_schema.tables"
        ).fetchall():
            if name != "ev":
                what = "VIEW" if "VIEW" in str(kind) else "TABLE"
                self.db.sql(f"DROP {what} IF EXISTS {_q(str(name))}")
        if self.report.events_loaded < self._count("ev", "TRUE"):
            self.db.sql("DELETE FROM ev WHERE NOT keep")
        # Columns without a single value (no texts, no language) are not kept as ten
        # million empty cells: the events read NULL in their place.
        counts = self.db.sql(f"SELECT {', '.join(f'count({c})' for c in _EMPTY)} FROM ev")
        empty = {c for c, n in zip(_EMPTY, counts.fetchall()[0], strict=True) if not n}
        customer = "customer_id" if "customer_id" in self.columns else "jid"
        needed = {ROW, customer, *_FINAL} - empty
        for column in self._ev_columns():
            if column not in needed:
                self.db.sql(f"ALTER TABLE ev DROP COLUMN {_q(column)}")
        kept = self._final_select(empty=empty)
        select = (
            f"SELECT {ROW}, jid AS journey_id, customer AS customer_id, ts, seq, "
            "tp AS touchpoint, channel, initiated_by, score_final AS score, "
            f"valence_final AS valence, text, lang FROM ({kept}) AS kept"
        )
        order = f"journey_id, ts NULLS LAST, seq, {ROW}"
        self.db.execute("RESET preserve_insertion_order")  # the engine's queries as elsewhere
        return EventSource(self.db, select, n_rows=self.report.events_loaded, order=order)

    def _view_source(self) -> EventSource:
        """The kept events as a view over the source (:meth:`_in_place`); the work
        tables of the checks are dropped, and columns without a value read NULL."""
        from peakend.loading.events import EventSource

        needed = {"raw", "ev", "ev_dropped", "scale_of"}
        for name, kind in self.db.sql(
            "SELECT table_name, table_type FROM information_schema.tables"
        ).fetchall():
            if name not in needed:
                what = "VIEW" if "VIEW" in str(kind) else "TABLE"
                self.db.sql(f"DROP {what} IF EXISTS {_q(str(name))}")
        empty = {c for c in _EMPTY if not self._filled[c]}
        kept = f"{self._final_select(empty=empty)} WHERE keep"
        select = (
            f"SELECT {ROW}, jid AS journey_id, customer AS customer_id, ts, seq, "
            "tp AS touchpoint, channel, initiated_by, score_final AS score, "
            f"valence_final AS valence, text, lang FROM ({kept}) AS kept"
        )
        order = f"journey_id, ts NULLS LAST, seq, {ROW}"
        self.db.execute("RESET preserve_insertion_order")
        return EventSource(self.db, select, n_rows=self.report.events_loaded, order=order)

    # -- outcomes ------------------------------------------------------------

    def _outcomes_sql(self, columns: list[str]) -> pa.Table:
        self._final_view()
        source_table, id_col, label = "raw", self.columns["journey_id"], self.label
        other = self.spec.outcome_source
        if other is not None:
            if other.format not in NATIVE or (other.path is None and other.uri is None):
                raise Unsupported(f"{other.format} outcome source")
            from peakend.load import _short_path

            saved = (self.types, self.to_frame)
            self._read(other, "outsrc")
            described = self.db.sql("DESCRIBE outsrc").fetchall()
            self.types = {str(c): str(t) for c, t, *_ in described}
            self.to_frame = _csv_frame if other.format == "csv" else _parquet_frame
            out_types = self.types
            source_table, label = "outsrc", _short_path(other.label)
            id_col = self.spec.outcome_journey_col or id_col
            head = self._rows("outsrc", "TRUE", limit=0)
            self._check_outcome_columns(head, id_col, label)
        else:
            out_types = self.types
            saved = (self.types, self.to_frame)
        select = [ROW, f"{self._text_of(id_col)} AS jid"]
        for outcome in self.spec.outcomes:
            if outcome.from_touchpoint is None:
                assert outcome.column is not None
                value = self._outcome_value(outcome, source_table, label)
                select.append(f"{value} AS {_q('o:' + outcome.name)}")
        attributes = [a for a in self.spec.attributes if a in out_types]
        select += [f"{self._text_of(a)} AS {_q('a:' + a)}" for a in attributes]
        self.db.sql(
            f"CREATE TABLE per_row AS SELECT {', '.join(select)} FROM {source_table} "
            "WHERE jid IS NOT NULL"
        )
        self.types, self.to_frame = saved
        return self._outcome_table(attributes, label)

    def _outcome_value(self, outcome: Any, table: str, label: str) -> str:
        column = outcome.column
        if outcome.kind == "binary":
            text = f"lower({_strip(f'CAST({_q(column)} AS VARCHAR)')})"
            if self.types.get(column) in _INTEGER:
                text = f"CAST({_q(column)} AS VARCHAR)"  # digits: nothing to strip or lower
            positive = [v.lower() for v in outcome.positive]
            negative = [v.lower() for v in outcome.negative]
            zero = f"{text} IN {_in_list(negative)}" if negative else f"{text} IS NOT NULL"
            value = f"(CASE WHEN {text} IN {_in_list(positive)} THEN 1.0 WHEN {zero} THEN 0.0 END)"
            bad = f"({text} IS NOT NULL AND {value} IS NULL)"
            fix = (
                f"add the value to `positive` or `negative` of [outcomes.{outcome.name}] "
                f"(allowed now: {', '.join(outcome.positive + outcome.negative)})"
            )
        else:
            value, bad = self._number(column)
            if self._kind(column) == "text":
                self._confirm_numbers_in(table, column, bad)
            scale = self.spec.scales.get(outcome.scale) if outcome.scale else None
            fix = "outcomes must be numbers; check `decimal` in [source]"
            if scale is not None:
                outside = (
                    f"({value} IS NOT NULL AND ({value} < {scale.low} OR {value} > {scale.high}))"
                )
                value = f"(CASE WHEN {outside} THEN NULL ELSE {value} END)"
                bad = f"({bad} OR {outside})"
                fix = f"outcome values must lie on the scale {scale.describe()}"
        id_text = self._text_of(self.spec.outcome_journey_col or self.columns["journey_id"])
        if self.spec.outcome_source is None:
            id_text = self._text_of(self.columns["journey_id"])
        where = f"{bad} AND {id_text} IS NOT NULL"  # the cheap test first
        count = 0 if bad == "FALSE" else self._count(table, where)  # typed numbers need no look
        if count:
            first = self._rows(table, where, limit=5)
            self._note(
                first,
                pd.Series(True, index=first.index),
                Reason.BAD_OUTCOME,
                Severity.WARNING,
                column,
                fix,
                label=label,
            )
            last = self.report.problems[-1]
            self.report.problems[-1] = Problem(
                last.reason, last.severity, last.source, last.column, count,
                last.rows, last.example, last.fix,
            )  # fmt: skip
        return value

    def _confirm_numbers_in(self, table: str, column: str, flag: str) -> None:
        values = self.db.sql(f"SELECT {_q(column)} FROM {table} WHERE {flag}").fetchall()
        numbers, _ = parse_numbers(
            pd.Series([v[0] for v in values], dtype="object"), decimal=self.spec.source.decimal
        )
        if values and numbers.notna().any():
            raise Unsupported(f"values in {column!r} that pandas reads and DuckDB does not")

    def _outcome_table(self, attributes: list[str], label: str) -> pa.Table:
        names = [o.name for o in self.spec.outcomes if o.from_touchpoint is None]
        firsts = [f"{_q('o:' + n)} AS {_q(n)}" for n in names]
        firsts += [f"{_q('a:' + a)} AS {_q(a)}" for a in attributes]
        per_journey = ", ".join(["jid", f"{ROW} AS first_row", *firsts])
        # each journey's first row (half the time of arg_min over every column)
        first = f"SELECT min({ROW}) FROM per_row GROUP BY jid"
        self.db.sql(
            f"CREATE TABLE per_journey AS SELECT {per_journey} FROM per_row "
            f"WHERE {ROW} IN ({first})"
        )
        if any(a not in attributes for a in self.spec.attributes):
            raise Unsupported("attributes from the events source with a separate outcome source")
        journeys = "SELECT jid, min(" + ROW + ") AS order_row FROM ev_final GROUP BY jid"
        cols = ["j.jid AS journey_id", f"j.order_row AS {_ORDER}"]
        for outcome in self.spec.outcomes:
            if outcome.from_touchpoint is None:
                cols.append(f"p.{_q(outcome.name)}")
            else:
                has = (
                    f"SELECT DISTINCT jid FROM ev_final WHERE tp = {_lit(outcome.from_touchpoint)}"
                )
                cols.append(
                    f"CASE WHEN j.jid IN ({has}) THEN 1.0 ELSE 0.0 END AS {_q(outcome.name)}"
                )
        cols += [f"p.{_q(attribute)}" for attribute in self.spec.attributes]
        self.db.sql(
            f"CREATE TABLE outcome_table AS SELECT {', '.join(cols)} FROM ({journeys}) j "
            "LEFT JOIN per_journey p USING (jid) ORDER BY j.order_row"
        )
        self._report_missing_outcomes_sql(label)
        out = ["journey_id", *(o.name for o in self.spec.outcomes), *self.spec.attributes]
        columns = ", ".join(_q(c) for c in out)
        table = self.db.sql(f"SELECT {columns} FROM outcome_table ORDER BY {_ORDER}")
        texts = ["journey_id", *self.spec.attributes]
        return _typed_outcomes(table.to_arrow_table(), texts)

    def _report_missing_outcomes_sql(self, label: str) -> None:
        names = [o.name for o in self.spec.outcomes]
        if not names:
            return
        none = " AND ".join(f"{_q(n)} IS NULL" for n in names)
        count = self._count("outcome_table", none)
        if count:
            ids = self.db.sql(
                f"SELECT journey_id FROM outcome_table WHERE {none} ORDER BY {_ORDER} LIMIT 5"
            )
            self._add(
                Problem(
                    Reason.NO_OUTCOME,
                    Severity.WARNING,
                    label,
                    None,
                    count,
                    example=", ".join(str(r[0]) for r in ids.fetchall()),
                    fix="add their outcome to the outcome source, or accept that outcome "
                    "models use only journeys with an outcome",
                )
            )
        # outcome_table has one row for each journey with events: fewer rows to match
        orphan = "jid NOT IN (SELECT journey_id FROM outcome_table)"
        count = self._count("per_journey", orphan)
        if count:
            ids = self.db.sql(
                f"SELECT jid FROM per_journey WHERE {orphan} ORDER BY first_row LIMIT 5"
            )
            self._add(
                Problem(
                    Reason.OUTCOME_WITHOUT_EVENTS,
                    Severity.INFO,
                    label,
                    None,
                    count,
                    example=", ".join(str(r[0]) for r in ids.fetchall()),
                    fix="check that both sources use the same journey ids",
                )
            )

    # -- catalogue -----------------------------------------------------------

    def _touchpoint_counts(self) -> list[tuple[str, str | None, int, int]]:
        """(touchpoint, initiator, events, first row) of the kept events, from one
        aggregate shared by the catalogue check and the catalogue."""
        if self._tp_counts is None:
            rows = self.db.sql(
                f"SELECT tp, initiated_by, count(*), min({ROW}) FROM ev_final GROUP BY ALL"
            ).fetchall()
            self._tp_counts = [
                (str(tp), None if who is None else str(who), int(n), int(first))
                for tp, who, n, first in rows
            ]
        return self._tp_counts

    def _check_catalogue_sql(self) -> None:
        if not self.spec.touchpoints:
            return
        declared = {t.name for t in self.spec.touchpoints} | {"comment"}
        unknown = [r for r in self._touchpoint_counts() if r[0] not in declared]
        count = sum(n for _, _, n, _ in unknown)
        if count:
            names = _by_first_row(unknown)
            self._add(
                Problem(
                    Reason.UNKNOWN_TOUCHPOINT,
                    Severity.INFO,
                    self.label,
                    self.columns.get("touchpoint"),
                    count,
                    example=", ".join(sorted(names, key=names.__getitem__)[:5]),
                    fix="add them to [[touchpoints]] to give them a stage, cost and initiator",
                )
            )

    def _catalogue_sql(self) -> pa.Table:
        counts = self._touchpoint_counts()
        firsts = _by_first_row(counts)
        totals: dict[str, int] = {}
        for tp, _, n, _ in counts:
            totals[tp] = totals.get(tp, 0) + n
        seen = sorted(totals, key=lambda tp: (-totals[tp], firsts[tp]))
        pairs = sorted((r for r in counts if r[1] is not None), key=lambda r: (-r[2], r[3]))
        usual: dict[str, str] = {}
        for touchpoint, initiator, _, _ in pairs:
            assert initiator is not None
            usual.setdefault(touchpoint, initiator)
        return self._catalogue_table(seen, usual)


def _by_first_row(counts: list[tuple[str, str | None, int, int]]) -> dict[str, int]:
    """Each touchpoint's first row over every initiator it has."""
    firsts: dict[str, int] = {}
    for tp, _, _, first in counts:
        firsts[tp] = min(first, firsts.get(tp, first))
    return firsts


def _typed_outcomes(table: pa.Table, texts: list[str]) -> pa.Table:
    """The outcome table typed as the pandas loader types it: ``texts`` as text, every
    other column as float with NaN as missing, and the same pandas schema metadata.

    (Cast in Arrow: a round trip of a million journeys through pandas cost 2 CPU
    seconds.)
    """
    import pyarrow.compute as pc

    arrays = []
    empty = table.slice(0, 0).to_pandas()
    for name in table.column_names:
        if name in texts:
            arrays.append(table[name].cast(pa.string()))
            empty[name] = empty[name].astype("string")
        else:
            values = table[name].cast(pa.float64())
            arrays.append(pc.if_else(pc.is_nan(values), pa.scalar(None, pa.float64()), values))
            empty[name] = empty[name].astype("float64")
    schema = pa.Schema.from_pandas(empty, preserve_index=False)
    return pa.Table.from_arrays(arrays, schema=schema)


def _text_lower(column: str) -> str:
    return f"lower({_text(_q(column))})"


def _parquet_frame(table: pa.Table) -> pd.DataFrame:
    """Rows of a Parquet source as ``pyarrow.parquet.read_table(...).to_pandas()`` gives them."""
    frame: pd.DataFrame = table.to_pandas()
    return frame


def _csv_frame(table: pa.Table) -> pd.DataFrame:
    """Rows of a CSV source as the pandas reader gives them (text, empty as NaN)."""
    frame: pd.DataFrame = table.to_pandas()
    for name in frame.columns:
        if name != ROW:
            frame[name] = frame[name].astype(object).where(frame[name].notna(), np.nan)
    return frame
