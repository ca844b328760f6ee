"""Read a table or the result of a query from SQLite, DuckDB or PostgreSQL.

Each database is read through its own driver: SQLite with Python's ``sqlite3``,
DuckDB files with ``duckdb``, PostgreSQL with ``psycopg`` (v3, the ``postgres``
extra).

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

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from peakend.errors import SourceError
from peakend.resources import resources
from peakend.spec import SourceSpec

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
        returns them; values keep their database types.

    Raises
    ------
    SourceError
        If the file is missing or not a database of that kind, the server
        cannot be reached or refuses the login, the table does not exist (the
        message lists the tables that do) or the query fails.
    """
    readers: dict[str, Callable[[SourceSpec], pd.DataFrame]] = {
        "sqlite": _read_sqlite,
        "duckdb": _read_duckdb,
        "postgres": _read_postgres,
    }
    if source.format not in readers:
        raise SourceError(
            f"{source.label}: read_database reads {', '.join(DATABASE_FORMATS)}, "
            f"not {source.format!r}"
        )
    if bool(source.table) == bool(source.query):
        raise SourceError(
            f"{source.label}: give either `table` (a table to read whole) or `query` "
            "(SQL text), not both or neither"
        )
    return readers[source.format](source)


def _split_table(table: str) -> tuple[str | None, str]:
    schema, _, name = table.rpartition(".")
    return (schema or None), name


def _quote(*parts: str) -> str:
    return ".".join('"' + part.replace('"', '""') + '"' for part in parts if part)


def _unknown_table(label: str, table: str, existing: Sequence[str]) -> SourceError:
    listing = ", ".join(existing) if existing else "none"
    return SourceError(
        f"{label}: there is no table {table!r}; tables in this database: {listing}. "
        "Fix `table` in the dataset spec"
    )


def _frame(columns: Sequence[str], rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    return pd.DataFrame.from_records(rows, columns=list(columns))


# --- SQLite -------------------------------------------------------------------


def _existing_file(source: SourceSpec, kind: str) -> Path:
    if source.path is None:
        raise SourceError(f"a {kind} source needs `path`, the database file to read")
    path = Path(source.path)
    if not path.is_file():
        raise SourceError(f"{kind} database file {path} does not exist; check `path`")
    return path


def _read_sqlite(source: SourceSpec) -> pd.DataFrame:
    path = _existing_file(source, "SQLite")
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise SourceError(f"cannot open SQLite file {path}: {exc}") from exc
    try:
        return _query_sqlite(connection, source, path)
    except sqlite3.DatabaseError as exc:
        what = "the query failed" if source.query else "reading failed"
        raise SourceError(f"SQLite file {path}: {what}: {exc}") from exc
    finally:
        connection.close()


def _query_sqlite(connection: sqlite3.Connection, source: SourceSpec, path: Path) -> pd.DataFrame:
    sql = source.query
    if source.table:
        names = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        if source.table not in names:
            raise _unknown_table(str(path), source.table, names)
        sql = f"SELECT * FROM {_quote(source.table)}"
    assert sql is not None
    cursor = connection.execute(sql)
    columns = [item[0] for item in cursor.description or ()]
    return _frame(columns, cursor.fetchall())


# --- DuckDB -------------------------------------------------------------------


def _read_duckdb(source: SourceSpec) -> pd.DataFrame:
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
        return _query_duckdb(connection, source, path)
    except duckdb.Error as exc:
        what = "the query failed" if source.query else "reading failed"
        raise SourceError(f"DuckDB file {path}: {what}: {exc}") from exc
    finally:
        connection.close()


def _query_duckdb(
    connection: duckdb.DuckDBPyConnection, source: SourceSpec, path: Path
) -> pd.DataFrame:
    sql = source.query
    if source.table:
        tables = connection.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "ORDER BY table_schema, table_name"
        ).fetchall()
        schema, name = _split_table(source.table)
        if not any(n == name and schema in (None, s) for s, n in tables):
            listed = [n if s == "main" else f"{s}.{n}" for s, n in tables]
            raise _unknown_table(str(path), source.table, listed)
        sql = f"SELECT * FROM {_quote(schema or '', name)}"
    assert sql is not None
    return connection.execute(sql).df()


# --- PostgreSQL ---------------------------------------------------------------


def _read_postgres(source: SourceSpec) -> pd.DataFrame:
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
    where = _redact(source.url)
    try:
        connection = psycopg.connect(source.url, connect_timeout=10)
    except psycopg.Error as exc:
        raise _connect_error(source.url, exc) from exc
    try:
        with connection:
            _numeric_as_float(connection)
            return _query_postgres(connection, source, where)
    except psycopg.Error as exc:
        what = "the query failed" if source.query else "reading failed"
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SourceError(f"PostgreSQL {where}: {what}: {detail}") from exc


def _numeric_as_float(connection: Any) -> None:
    from psycopg.types.numeric import FloatLoader

    connection.adapters.register_loader("numeric", FloatLoader)


def _query_postgres(connection: Any, source: SourceSpec, where: str) -> pd.DataFrame:
    with connection.cursor() as cursor:
        if source.table:
            statement: Any = _postgres_table_select(cursor, source.table, where)
        else:
            statement = source.query
        cursor.execute(statement)
        columns = [column.name for column in cursor.description or ()]
        rows = cursor.fetchall() if cursor.description else []
    return _frame(columns, rows)


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
