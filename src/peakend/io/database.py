"""Read a table or the result of a query from SQLite, DuckDB or PostgreSQL.

Each database is read through its own driver: SQLite with Python's ``sqlite3``,
DuckDB files with ``duckdb``, PostgreSQL with ``psycopg`` (v3, the ``postgres``
extra). The rows are streamed into a Parquet file a chunk at a time
(:func:`stage_database`, memory bounded by the chunk, not the table), which both
loaders then read as a Parquet source: the DuckDB loader in place, the pandas
loader into a frame (:func:`read_database`). Each column gets one type for the
whole file, from the values the driver gives (SQLite types values, not columns): a
column of whole numbers stays whole numbers (journey 5 is ``"5"``, also with a
missing value), one that mixes numbers and text is text.

Why not DuckDB's ``sqlite``/``postgres`` scanners or Ibis backends: the scanners
are DuckDB extensions that ``INSTALL`` downloads from extensions.duckdb.org at run
time, which fails on machines without internet (as in our CI and many customer
networks). Ibis's SQLite and PostgreSQL backends wrap the same two drivers, but
add a schema-inference layer that re-types columns; reading through the drivers
keeps values as the database holds them (numbers stay numbers, text stays text)
and lets errors name the table, host or file to fix. PostgreSQL ``numeric``
values are read as floats, not :class:`decimal.Decimal`, so they are numbers to
pandas.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from peakend.errors import SourceError
from peakend.io.parts import PartFiles
from peakend.resources import resources
from peakend.spec import SourceSpec
from peakend.sqltext import identifier, literal

DATABASE_FORMATS: tuple[str, ...] = ("sqlite", "duckdb", "postgres")


def read_database(source: SourceSpec) -> pd.DataFrame:
    """Read ``source.table`` (all rows) or the rows of ``source.query``.

    Parameters
    ----------
    source
        ``source.format`` is ``"sqlite"``, ``"duckdb"`` or ``"postgres"``.
        SQLite and DuckDB read the file ``source.path`` (opened read-only);
        PostgreSQL connects to ``source.url``
        (``postgresql://user:password@host:port/database``). Give either
        ``source.table`` (optionally ``schema.table``) or ``source.query``.

    Returns
    -------
    pandas.DataFrame
        The rows with the database's column names, in the order the database
        returns them, typed as :func:`stage_database` types them.

    Raises
    ------
    SourceError
        If the file is missing or not a database of that kind, the server
        cannot be reached or refuses the login, the table does not exist (the
        message lists the tables that do) or the query fails.
    """
    from peakend.io.files import typed_frame

    with tempfile.TemporaryDirectory(prefix="peakend-database-") as folder:
        table = pq.read_table(stage_database(source, Path(folder)))
    return typed_frame(table)


def stage_database(source: SourceSpec, folder: Path) -> Path:
    """Stream the rows of ``source`` (see :func:`read_database`) into a Parquet file
    in ``folder``, :data:`CHUNK_ROWS` at a time; returns its path.

    Raises
    ------
    SourceError
        As :func:`read_database`.
    """
    writers: dict[str, Callable[[SourceSpec, Path], None]] = {
        "sqlite": _stage_sqlite,
        "duckdb": _stage_duckdb,
        "postgres": _stage_postgres,
    }
    if source.format not in writers:
        raise SourceError(
            f"{source.label}: read_database reads {', '.join(DATABASE_FORMATS)}, "
            f"not {source.format!r}"
        )
    if bool(source.table) == bool(source.query):
        raise SourceError(
            f"{source.label}: give either `table` (a table to read whole) or `query` "
            "(SQL text), not both or neither"
        )
    path = folder / "rows.parquet"
    writers[source.format](source, path)
    return path


CHUNK_ROWS = 100_000
"""Rows fetched from a database driver at a time while staging."""


def _write_chunks(target: Path, names: list[str], chunks: Iterator[list[tuple[Any, ...]]]) -> None:
    """Write the rows (tuples of driver values) to ``target``: each chunk as a part
    file with the types its values have (:func:`_column_array`), joined by
    :class:`~peakend.io.parts.PartFiles` into one type per column."""
    with PartFiles(target) as parts:
        for rows in chunks:
            columns = zip(*rows, strict=True)
            parts.write(pa.Table.from_arrays([_column_array(c) for c in columns], names=names))
        if not parts.files:  # no rows: the columns, as text
            empty = [pa.array([], pa.string()) for _ in names]
            parts.write(pa.Table.from_arrays(empty, names=names))
        parts.join(names)


def _column_array(values: tuple[Any, ...]) -> pa.Array:
    """One column of a chunk, typed by the Python types of its values: whole numbers
    as int64, numbers as float64, text, truth values, dates and times as such; a mix
    with text, or any other value (bytes, a UUID, JSON), as text."""
    kinds = set(map(type, values)) - {type(None)}
    try:
        if kinds <= {int}:
            return pa.array(values, pa.int64() if kinds else pa.null())
        if kinds <= {int, float}:
            return pa.array(values, pa.float64())
        if len(kinds) == 1 and kinds <= _TYPED:
            return pa.array(values)
    except (pa.ArrowInvalid, OverflowError):  # (a whole number beyond 64 bits)
        pass
    return pa.array([_as_text(v) for v in values], pa.string())


_TYPED: set[type] = {str, bool, dt.datetime, dt.date}
"""Python types a column of a chunk keeps as its Arrow type."""


def _as_text(value: Any) -> str | None:
    """A driver value as text: text as it is, bytes decoded, another value as ``str``."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", "replace")
    return str(value)


def _fetched(cursor: Any) -> Iterator[list[tuple[Any, ...]]]:
    """The cursor's rows, :data:`CHUNK_ROWS` at a time."""
    while True:
        rows = cursor.fetchmany(CHUNK_ROWS)
        if not rows:
            return
        yield [tuple(r) for r in rows]


def _bare(query: str) -> str:
    """The query without the semicolons that may end it (it is read as a subquery)."""
    return query.strip().rstrip(";").strip()


def _split_table(table: str) -> tuple[str | None, str]:
    schema, _, name = table.rpartition(".")
    return (schema or None), name


def _quote(*parts: str) -> str:
    """A quoted, dotted SQL name (``schema.table``)."""
    return ".".join(identifier(part) for part in parts if part)


def _unknown_table(label: str, table: str, existing: Sequence[str]) -> SourceError:
    listing = ", ".join(existing) if existing else "none"
    return SourceError(
        f"{label}: there is no table {table!r}; tables in this database: {listing}. "
        "Fix `table` in the dataset spec"
    )


# --- SQLite -------------------------------------------------------------------


def _existing_file(source: SourceSpec, kind: str) -> Path:
    if source.path is None:
        raise SourceError(f"a {kind} source needs `path`, the database file to read")
    path = Path(source.path)
    if not path.is_file():
        raise SourceError(f"{kind} database file {path} does not exist; check `path`")
    return path


def _stage_sqlite(source: SourceSpec, target: Path) -> None:
    path = _existing_file(source, "SQLite")
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise SourceError(f"cannot open SQLite file {path}: {exc}") from exc
    try:
        cursor = connection.execute(_sqlite_select(connection, source, path))
        names = [item[0] for item in cursor.description or ()]
        _write_chunks(target, names, _fetched(cursor))
    except sqlite3.DatabaseError as exc:
        what = "the query failed" if source.query else "reading failed"
        raise SourceError(f"SQLite file {path}: {what}: {exc}") from exc
    finally:
        connection.close()


def _sqlite_select(connection: sqlite3.Connection, source: SourceSpec, path: Path) -> str:
    """The query of the rows to read: the spec's, or every row of its table."""
    if not source.table:
        assert source.query is not None
        return _bare(source.query)
    names = [
        row[0]
        for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    if source.table not in names:
        raise _unknown_table(str(path), source.table, names)
    return f"SELECT * FROM {_quote(source.table)}"


# --- DuckDB -------------------------------------------------------------------


def _stage_duckdb(source: SourceSpec, target: Path) -> None:
    path = _existing_file(source, "DuckDB")
    try:
        # out of core like every peakend connection (peakend.resources)
        config = resources().duckdb_config()
        connection = duckdb.connect(str(path), read_only=True, config=config)
    except duckdb.Error as exc:
        raise SourceError(
            f"cannot open DuckDB file {path}: {exc}; is it a DuckDB database "
            "(for a SQLite file set format = 'sqlite')?"
        ) from exc
    try:
        sql = _duckdb_select(connection, source, path)
        # DuckDB writes the file itself, in parallel and in the query's order.
        columns = connection.execute(f"DESCRIBE {sql}").fetchall()
        cells = ", ".join(_duckdb_cell(str(c), str(t)) for c, t, *_ in columns)
        copy = f"COPY (SELECT {cells} FROM ({sql})) TO {literal(str(target))} (FORMAT parquet)"
        connection.execute(copy)
    except duckdb.Error as exc:
        what = "the query failed" if source.query else "reading failed"
        raise SourceError(f"DuckDB file {path}: {what}: {exc}") from exc
    finally:
        connection.close()


_DUCKDB_AS_THEY_ARE = (
    *("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"),
    *("FLOAT", "DOUBLE", "VARCHAR", "BOOLEAN", "DATE"),
)
"""DuckDB types staged as they are (with every ``TIMESTAMP`` type)."""


def _duckdb_cell(column: str, kind: str) -> str:
    """A column of a DuckDB source as it is staged: exact decimals and very large
    whole numbers as DOUBLE (numbers to both loaders), other types than numbers,
    text, times and truth values as text."""
    name = _quote(column)
    if kind.startswith("DECIMAL") or kind in ("HUGEINT", "UHUGEINT", "UBIGINT"):
        return f"CAST({name} AS DOUBLE) AS {name}"
    if kind in _DUCKDB_AS_THEY_ARE or kind.startswith("TIMESTAMP"):
        return name
    return f"CAST({name} AS VARCHAR) AS {name}"


def _duckdb_select(connection: duckdb.DuckDBPyConnection, source: SourceSpec, path: Path) -> str:
    """The query of the rows to read: the spec's, or every row of its table."""
    if not source.table:
        assert source.query is not None
        return _bare(source.query)
    tables = connection.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "ORDER BY table_schema, table_name"
    ).fetchall()
    schema, name = _split_table(source.table)
    if not any(n == name and schema in (None, s) for s, n in tables):
        listed = [n if s == "main" else f"{s}.{n}" for s, n in tables]
        raise _unknown_table(str(path), source.table, listed)
    return f"SELECT * FROM {_quote(schema or '', name)}"


# --- PostgreSQL ---------------------------------------------------------------


def _stage_postgres(source: SourceSpec, target: Path) -> None:
    import psycopg

    with _postgres(source) as connection:
        try:
            _numeric_as_float(connection)
            _query_postgres(connection, source, _redact(str(source.url)), target)
        except psycopg.Error as exc:
            raise _failed(source, exc) from exc


def postgres_position(source: SourceSpec) -> str:
    """Where the PostgreSQL server of ``source`` stands in its write-ahead log.

    Every change to a (logged) table moves it on at once, so an unchanged position
    means nothing was written anywhere on the server since: what the dataset cache
    keys a PostgreSQL source by, as it keys a file by its size and modification time.
    The insert position on a primary, the replayed one on a standby. A table source
    that is unlogged (its writes bypass the log) gets a position of its own each
    time, so it is never read from the cache.

    Raises
    ------
    SourceError
        As :func:`stage_database` (no ``url``, no psycopg, the server not reached).
    """
    import psycopg

    with _postgres(source) as connection:
        try:
            (standby,) = _one(connection, "SELECT pg_is_in_recovery()")
            at = "pg_last_wal_replay_lsn()" if standby else "pg_current_wal_insert_lsn()"
            (position,) = _one(connection, f"SELECT CAST({at} AS text)")
            if source.table and _unlogged(connection, source.table):
                return f"{position} (unlogged table, read at {dt.datetime.now(dt.UTC)})"
        except psycopg.Error as exc:
            raise _failed(source, exc) from exc
    return str(position)


def postgres_identity(source: SourceSpec) -> str:
    """What ``source`` reads, without the password: URL and table, or URL and query."""
    what = f"table {source.table}" if source.table else f"query {source.query}"
    return f"{_redact(str(source.url))} {what}"


def _one(connection: Any, query: str, *args: Any) -> tuple[Any, ...]:
    row = connection.execute(query, args or None).fetchone()
    return tuple(row) if row is not None else (None,)


def _unlogged(connection: Any, table: str) -> bool:
    """Whether ``table`` (named as the source names it: exact case) is unlogged."""
    schema, name = _split_table(table)
    (unlogged,) = _one(
        connection,
        "SELECT bool_or(c.relpersistence = 'u') FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relname = %s AND (n.nspname = %s OR CAST(%s AS text) IS NULL)",
        name,
        schema,
        schema,
    )
    return bool(unlogged)


@contextlib.contextmanager
def _postgres(source: SourceSpec) -> Iterator[Any]:
    """A connection to the PostgreSQL server of ``source`` (closed after)."""
    try:
        import psycopg
    except ImportError as exc:
        raise SourceError(
            "reading PostgreSQL needs psycopg; install it with: pip install 'peakend[postgres]'"
        ) from exc
    if not source.url:
        raise SourceError(
            "a postgres source needs `url`, e.g. postgresql://user:password@host:5432/database"
        )
    try:
        connection = psycopg.connect(source.url, connect_timeout=10)
    except psycopg.Error as exc:
        raise _connect_error(source.url, exc) from exc
    with connection:
        yield connection


def _failed(source: SourceSpec, exc: Exception) -> SourceError:
    what = "the query failed" if source.query else "reading failed"
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return SourceError(f"PostgreSQL {_redact(str(source.url))}: {what}: {detail}")


def _numeric_as_float(connection: Any) -> None:
    from psycopg.types.numeric import FloatLoader

    connection.adapters.register_loader("numeric", FloatLoader)


def _query_postgres(connection: Any, source: SourceSpec, where: str, target: Path) -> None:
    with connection.cursor() as cursor:
        if source.table:
            statement: Any = _postgres_table_select(cursor, source.table, where)
        else:
            statement = source.query
    # A server-side cursor: the rows come a chunk at a time, not all at once.
    with connection.cursor(name="peakend_rows") as cursor:
        cursor.execute(statement)
        names = [column.name for column in cursor.description or ()]
        _write_chunks(target, names, _fetched(cursor))


def _postgres_table_select(cursor: Any, table: str, where: str) -> Any:
    from psycopg import sql

    cursor.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
        "ORDER BY table_schema, table_name"
    )
    tables = cursor.fetchall()
    schema, name = _split_table(table)
    matches = [s for s, n in tables if n == name and schema in (None, s)]
    if not matches:
        listed = [n if s == "public" else f"{s}.{n}" for s, n in tables]
        raise _unknown_table(f"PostgreSQL {where}", table, listed)
    if schema is None and len(matches) > 1 and "public" not in matches:
        raise SourceError(
            f"PostgreSQL {where}: table {name!r} exists in schemas {', '.join(matches)}; "
            "write `table` as schema.table"
        )
    return sql.SQL("SELECT * FROM {}").format(sql.Identifier(schema or matches[0], name))


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        info = conninfo_to_dict(url)
    except psycopg.Error:  # an unparsable URL: show nothing that could be a secret
        return "(unparsable connection URL)"
    user = f"{info['user']}@" if info.get("user") else ""
    host = info.get("host") or "localhost"
    port = info.get("port") or 5432
    return f"postgresql://{user}{host}:{port}/{info.get('dbname') or ''}"


def _connect_error(url: str, exc: Exception) -> SourceError:
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    text = str(exc).strip()
    first_line = text.splitlines()[0] if text else type(exc).__name__
    try:
        info = conninfo_to_dict(url)
    except psycopg.Error:
        return SourceError(
            f"cannot connect to PostgreSQL: {first_line}; check `url` "
            "(postgresql://user:password@host:port/database)"
        )
    host, port = info.get("host") or "localhost", info.get("port") or 5432
    user, dbname = info.get("user") or "(default user)", info.get("dbname") or "(default)"
    lowered = text.lower()
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        hint = f"the server rejected user {user!r}: check the user name and password in `url`"
    elif "does not exist" in lowered and "database" in lowered:
        hint = f"database {dbname!r} does not exist on the server; check the name in `url`"
    elif "does not exist" in lowered and "role" in lowered:
        hint = f"user {user!r} does not exist on the server; check the user name in `url`"
    elif "connection refused" in lowered or "no such file or directory" in lowered:
        hint = (
            f"nothing is listening at {host}:{port}: start the PostgreSQL server "
            "there or fix the host and port in `url`"
        )
    elif "resolve host" in lowered or "translate host name" in lowered:
        hint = f"the host name {host!r} is unknown; fix the host in `url`"
    elif "timeout" in lowered or "timed out" in lowered:
        hint = f"{host}:{port} did not answer within 10 s; check the host, port and firewall"
    else:
        hint = "check `url` and that the server is running"
    return SourceError(
        f"cannot connect to PostgreSQL at {host}:{port} (database {dbname!r}): {hint}. "
        f"Driver said: {first_line}"
    )
