"""Tests for peakend.io.database on SQLite and DuckDB files and a PostgreSQL server.

The PostgreSQL tests need a server: ``eval "$(.ci/postgres.sh)"`` starts one and
exports ``PEAKEND_TEST_POSTGRES_URL``. Without that variable they skip, except on
CI (``CI=true``), where a missing server is a failure.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from peakend.errors import SourceError
from peakend.io import database
from peakend.io.database import read_database
from peakend.spec import SourceSpec

ROWS = [
    ("j1", "2024-01-05T10:00:00Z", "order", 4, 0.5),
    ("j1", "2024-01-06T11:30:00Z", "delivery", 2, None),
    ("j2", "2024-01-07T09:15:00Z", "order", 5, 1.25),
]
COLUMNS = ["journey", "ts", "touchpoint", "score", "weight"]


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    path = tmp_path / "events.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE events (journey TEXT, ts TEXT, touchpoint TEXT, score INTEGER, "
            "weight REAL)"
        )
        connection.execute("CREATE TABLE outcomes (journey TEXT, nps INTEGER)")
        connection.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", ROWS)
    connection.close()
    return path


@pytest.fixture
def duckdb_file(tmp_path: Path) -> Path:
    path = tmp_path / "events.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute(
            "CREATE TABLE events (journey VARCHAR, ts VARCHAR, touchpoint VARCHAR, "
            "score INTEGER, weight DOUBLE)"
        )
        connection.execute("CREATE SCHEMA crm")
        connection.execute("CREATE TABLE crm.contacts (journey VARCHAR, channel VARCHAR)")
        connection.execute("INSERT INTO crm.contacts VALUES ('j1', 'phone')")
        connection.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", ROWS)
    return path


def _check_rows(frame: object) -> None:
    import pandas as pd

    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == COLUMNS
    assert frame["journey"].tolist() == ["j1", "j1", "j2"]
    assert frame["score"].tolist() == [4, 2, 5]
    assert pd.api.types.is_integer_dtype(frame["score"])
    assert pd.api.types.is_float_dtype(frame["weight"])
    assert frame["weight"].isna().tolist() == [False, True, False]
    assert frame.loc[2, "weight"] == 1.25
    assert frame.loc[0, "ts"] == "2024-01-05T10:00:00Z"


# --- SQLite -------------------------------------------------------------------


def test_sqlite_table(sqlite_file: Path) -> None:
    _check_rows(read_database(SourceSpec(format="sqlite", path=sqlite_file, table="events")))


def test_sqlite_query(sqlite_file: Path) -> None:
    source = SourceSpec(
        format="sqlite",
        path=sqlite_file,
        query="SELECT touchpoint, count(*) AS n FROM events GROUP BY touchpoint ORDER BY 1",
    )
    frame = read_database(source)
    assert frame.to_dict("list") == {"touchpoint": ["delivery", "order"], "n": [1, 2]}


def test_sqlite_empty_table_keeps_its_columns(sqlite_file: Path) -> None:
    frame = read_database(SourceSpec(format="sqlite", path=sqlite_file, table="outcomes"))
    assert list(frame.columns) == ["journey", "nps"]
    assert frame.empty


def test_sqlite_values_get_one_type_per_column_across_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "mixed.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE t (id, score, note, empty, stamp)")
        connection.executemany(
            "INSERT INTO t VALUES (?, ?, ?, ?, ?)",
            [
                (5, 4, "a", None, b"x"),
                (None, 4.5, "b", None, None),
                (7, 2, 3, None, None),  # a number among texts: the column is text
                (8, "N/A", "c", None, None),  # a word among numbers: text too
            ],
        )
    connection.close()
    monkeypatch.setattr(database, "CHUNK_ROWS", 2)  # two chunks of different types
    frame = read_database(SourceSpec(format="sqlite", path=path, table="t"))
    assert frame["id"].tolist()[::2] == [5, 7] and frame["id"].isna().tolist()[1]
    assert frame["id"].astype("string").tolist()[0] == "5"  # not "5.0"
    assert frame["score"].tolist() == ["4.0", "4.5", "2", "N/A"]
    assert frame["note"].tolist() == ["a", "b", "3", "c"]
    assert frame["empty"].isna().all()
    assert frame["stamp"].tolist()[0] == "x"


def test_a_query_ending_in_a_semicolon_is_read(sqlite_file: Path) -> None:
    source = SourceSpec(format="sqlite", path=sqlite_file, query="SELECT journey FROM events;")
    assert read_database(source)["journey"].tolist() == ["j1", "j1", "j2"]


def test_sqlite_is_opened_read_only(sqlite_file: Path) -> None:
    source = SourceSpec(format="sqlite", path=sqlite_file, query="DELETE FROM events")
    with pytest.raises(SourceError, match="readonly"):
        read_database(source)
    assert len(read_database(SourceSpec(format="sqlite", path=sqlite_file, table="events"))) == 3


def test_sqlite_unknown_table_lists_existing(sqlite_file: Path) -> None:
    source = SourceSpec(format="sqlite", path=sqlite_file, table="evnts")
    with pytest.raises(SourceError, match=r"no table 'evnts'.*events, outcomes"):
        read_database(source)


def test_sqlite_missing_file_names_it(tmp_path: Path) -> None:
    path = tmp_path / "missing.sqlite"
    with pytest.raises(SourceError, match=r"missing\.sqlite does not exist"):
        read_database(SourceSpec(format="sqlite", path=path, table="events"))
    assert not path.exists()


def test_sqlite_bad_query_is_a_source_error(sqlite_file: Path) -> None:
    source = SourceSpec(format="sqlite", path=sqlite_file, query="SELECT nope FROM events")
    with pytest.raises(SourceError, match="the query failed.*nope"):
        read_database(source)


def test_not_a_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("just some text, not a database\n" * 100)
    with pytest.raises(SourceError, match=r"notes\.db"):
        read_database(SourceSpec(format="sqlite", path=path, table="events"))


# --- DuckDB -------------------------------------------------------------------


def test_duckdb_table(duckdb_file: Path) -> None:
    _check_rows(read_database(SourceSpec(format="duckdb", path=duckdb_file, table="events")))


def test_duckdb_schema_qualified_table(duckdb_file: Path) -> None:
    frame = read_database(SourceSpec(format="duckdb", path=duckdb_file, table="crm.contacts"))
    assert frame.to_dict("list") == {"journey": ["j1"], "channel": ["phone"]}


def test_duckdb_query(duckdb_file: Path) -> None:
    source = SourceSpec(
        format="duckdb",
        path=duckdb_file,
        query="SELECT journey, sum(score) AS total FROM events GROUP BY 1 ORDER BY 1",
    )
    assert read_database(source).to_dict("list") == {"journey": ["j1", "j2"], "total": [6, 5]}


def test_duckdb_unknown_table_lists_existing(duckdb_file: Path) -> None:
    source = SourceSpec(format="duckdb", path=duckdb_file, table="evnts")
    with pytest.raises(SourceError, match=r"no table 'evnts'.*crm\.contacts, events"):
        read_database(source)


def test_duckdb_missing_file_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "missing.duckdb"
    with pytest.raises(SourceError, match=r"missing\.duckdb does not exist"):
        read_database(SourceSpec(format="duckdb", path=path, table="events"))
    assert not path.exists()


def test_sqlite_file_read_as_duckdb_says_so(sqlite_file: Path) -> None:
    with pytest.raises(SourceError, match="format = 'sqlite'"):
        read_database(SourceSpec(format="duckdb", path=sqlite_file, table="events"))


# --- arguments ----------------------------------------------------------------


def test_needs_table_or_query(sqlite_file: Path) -> None:
    with pytest.raises(SourceError, match="either `table`"):
        read_database(SourceSpec(format="sqlite", path=sqlite_file))
    with pytest.raises(SourceError, match="not both"):
        read_database(
            SourceSpec(format="sqlite", path=sqlite_file, table="events", query="SELECT 1")
        )


def test_rejects_other_formats(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not 'csv'"):
        read_database(SourceSpec(format="csv", path=tmp_path / "a.csv", table="t"))


# --- PostgreSQL ---------------------------------------------------------------


@pytest.fixture
def postgres_table(postgres_url: str) -> Iterator[str]:
    import psycopg

    name = f"peakend_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(
            f"CREATE TABLE {name} (journey text, ts text, touchpoint text, score integer, "
            "weight numeric(6, 2))"
        )
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {name} VALUES (%s, %s, %s, %s, %s)", ROWS)
    try:
        yield name
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as connection:
            connection.execute(f"DROP TABLE IF EXISTS {name}")


@pytest.mark.postgres
def test_postgres_table(postgres_url: str, postgres_table: str) -> None:
    source = SourceSpec(format="postgres", url=postgres_url, table=postgres_table)
    _check_rows(read_database(source))


@pytest.mark.postgres
def test_postgres_query(postgres_url: str, postgres_table: str) -> None:
    source = SourceSpec(
        format="postgres",
        url=postgres_url,
        query=f"SELECT journey, count(*) AS n FROM {postgres_table} GROUP BY 1 ORDER BY 1",
    )
    assert read_database(source).to_dict("list") == {"journey": ["j1", "j2"], "n": [2, 1]}


@pytest.mark.postgres
def test_postgres_unknown_table_lists_existing(postgres_url: str, postgres_table: str) -> None:
    source = SourceSpec(format="postgres", url=postgres_url, table="no_such_table")
    with pytest.raises(SourceError, match=rf"no table 'no_such_table'.*{postgres_table}"):
        read_database(source)


@pytest.mark.postgres
def test_postgres_bad_password(postgres_url: str) -> None:
    import psycopg.conninfo

    info = psycopg.conninfo.conninfo_to_dict(postgres_url)
    info["password"] = "certainly-wrong"
    url = psycopg.conninfo.make_conninfo(**info)
    with pytest.raises(SourceError, match="check the user name and password") as caught:
        read_database(SourceSpec(format="postgres", url=url, table="events"))
    assert "certainly-wrong" not in str(caught.value)


def test_postgres_connection_refused_names_host_and_port() -> None:
    pytest.importorskip("psycopg")
    url = "postgresql://peakend:secret@127.0.0.1:1/peakend"
    with pytest.raises(SourceError, match=r"127\.0\.0\.1:1.*start the PostgreSQL server") as caught:
        read_database(SourceSpec(format="postgres", url=url, table="events"))
    assert "secret" not in str(caught.value)


def test_postgres_needs_url() -> None:
    with pytest.raises(SourceError, match="needs `url`"):
        read_database(SourceSpec(format="postgres", table="events"))
