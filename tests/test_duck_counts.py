"""The DuckDB loader's cheaper forms of its count pass give the old forms' counts."""

from __future__ import annotations

import duckdb
import pytest

from peakend.loading.duck.checks import _count_sql
from peakend.loading.duck.sql import _changed_by_text, _text

VALUES = [
    None, "", " ", "\t", "a", "ab", " a", "a ", "a\u00a0", "\u3000a", "é", "aé", "éa",
    "a b", "\u00a0", "\x7f", "a\x7f", "~x!", "C00000001", " C1 ", "\u2028", "x\n",
]  # fmt: skip


@pytest.fixture
def db() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (v VARCHAR, n DOUBLE)")
    rows = [(v, None if i % 3 == 0 else float(i)) for i, v in enumerate(VALUES)]
    con.executemany("INSERT INTO t VALUES (?, ?)", rows)
    return con


def test_changed_by_text_is_distinct_from_the_stripped_text_for_every_value(
    db: duckdb.DuckDBPyConnection,
) -> None:
    rows = db.sql(
        f"SELECT v, {_changed_by_text('v')}, v IS DISTINCT FROM {_text('v')} FROM t"
    ).fetchall()
    assert [r[1] for r in rows] == [r[2] for r in rows]
    assert any(r[1] for r in rows) and not all(r[1] for r in rows)


@pytest.mark.parametrize(
    "condition", ["v IS NULL", "n IS NOT NULL", "n IS NULL", "FALSE", "n > 5", "v = 'a'"]
)
def test_count_sql_counts_what_a_filter_counts(
    db: duckdb.DuckDBPyConnection, condition: str
) -> None:
    new = db.sql(f"SELECT {_count_sql(condition)} FROM t").fetchall()[0][0]
    old = db.sql(f"SELECT count(*) FILTER (WHERE {condition}) FROM t").fetchall()[0][0]
    assert new == old
