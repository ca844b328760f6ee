"""Events read into memory without a sort when the source is in the canonical order.

``EventSource.to_arrow`` reads the events as the source gives them and checks
that they are in the canonical order (journey, time with missing times last,
sequence, source row); only otherwise does DuckDB sort them. Whichever way, the
table must be the one the sort gives: these tests compare both on logs written
in the canonical order, shuffled, and by time across journeys, with repeated
events that the loader drops, and check which way was taken.
"""

from __future__ import annotations

import random
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from peakend.generate import GeneratorConfig, generate
from peakend.load import load
from peakend.loading import events as events_module
from peakend.loading.duck import problems
from peakend.loading.event_order import CANONICAL_ORDER, in_canonical_order, in_chunks_of
from peakend.schema import EVENT_SCHEMA


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,000 generated journeys, written by journey and time."""
    out = tmp_path_factory.mktemp("order")
    generate(out, GeneratorConfig(n_journeys=1_000, seed=7))
    return out


def written(out: Path, name: str, order: str, fmt: str = "parquet") -> Path:
    """The generated events in the order ``order`` (over them and their row ``i``),
    with three events repeated at the end (the loader drops the repeats), and a spec
    that reads them."""
    con = duckdb.connect()
    con.sql("SET TimeZone = 'UTC'")
    con.sql(
        "CREATE VIEW e AS SELECT row_number() OVER () AS i, * "
        f"FROM read_parquet('{out / 'events.parquet'}')"
    )
    rows = (
        f"SELECT * EXCLUDE (i) FROM (SELECT * FROM e ORDER BY {order}) "
        "UNION ALL SELECT * EXCLUDE (i) FROM e WHERE i IN (3, 50, 400)"
    )
    target = out / f"{name}.{fmt}"
    options = "(FORMAT parquet, ROW_GROUP_SIZE 2048)" if fmt == "parquet" else "(HEADER)"
    con.sql(f"COPY ({rows}) TO '{target}' {options}")
    con.close()
    text = (out / "synthetic.toml").read_text(encoding="utf-8")
    spec = out / f"{name}.toml"
    spec.write_text(text.replace('"events.parquet"', f'"{target.name}"', 1), encoding="utf-8")
    return spec


def read_both_ways(spec: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[pa.Table, pa.Table, bool]:
    """The events read by ``to_arrow``, as DuckDB's sort gives them, and whether
    ``to_arrow`` took them as read (without the sort)."""
    monkeypatch.setenv("PEAKEND_LOADER", "duckdb")
    dataset = load(spec)
    assert dataset.report.loader == "duckdb"
    source = dataset.event_source
    assert source is not None
    sorted_query = events_module._canonical(source._select, source._order)
    by_sort = source.db.sql(sorted_query).to_arrow_table().cast(EVENT_SCHEMA)
    as_read: list[bool] = []
    original = events_module.EventSource._as_read

    def spy(self: events_module.EventSource) -> pa.Table | None:
        table = original(self)
        as_read.append(table is not None)
        return table

    monkeypatch.setattr(events_module.EventSource, "_as_read", spy)
    got = source.to_arrow()
    assert dataset.report.quarantined_rows >= 3
    return got, by_sort, as_read == [True]


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_events_in_the_canonical_order_are_read_without_a_sort(
    generated: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    got, by_sort, as_read = read_both_ways(
        written(generated, f"sorted_{fmt}", "i", fmt), monkeypatch
    )
    assert as_read
    assert got.equals(by_sort, check_metadata=True)


@pytest.mark.parametrize("order", ["hash(i)", "ts, i"])
@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_events_in_another_order_are_sorted(
    generated: Path, monkeypatch: pytest.MonkeyPatch, order: str, fmt: str
) -> None:
    name = f"{'shuffled' if order.startswith('hash') else 'by_time'}_{fmt}"
    got, by_sort, as_read = read_both_ways(written(generated, name, order, fmt), monkeypatch)
    assert not as_read
    assert got.equals(by_sort, check_metadata=True)


def test_many_dropped_events_are_left_out_by_a_join_and_still_sorted(
    generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(problems, "_LISTED", 1)
    got, by_sort, _ = read_both_ways(written(generated, "sorted_join", "i"), monkeypatch)
    assert got.equals(by_sort, check_metadata=True)


def test_the_order_check_agrees_with_duckdb_sort() -> None:
    """Small tables with many ties and missing times, numbered in the order they
    are read: the check says True exactly when the table is what ``ORDER BY`` the
    canonical order gives."""
    rng = random.Random(3)
    con = duckdb.connect()
    seen = {True: 0, False: 0}
    schema = pa.schema({"journey_id": pa.string(), "ts": pa.timestamp("us", tz="UTC")})
    schema = schema.append(pa.field("seq", pa.int64())).append(pa.field("r", pa.int64()))
    order = CANONICAL_ORDER.format(row="r")
    for _ in range(300):
        n = rng.randint(0, 12)
        keys = {
            "journey_id": [rng.choice(["a", "b", "ab", "B", "é"]) for _ in range(n)],
            "ts": [rng.choice([None, 0, 1, 2]) for _ in range(n)],
            "seq": [rng.randint(0, 2) for _ in range(n)],
        }
        rows = [dict(zip(keys, values, strict=True)) for values in zip(*keys.values(), strict=True)]
        if rng.random() < 0.6:  # mostly sorted tables, some with one pair swapped
            rows.sort(
                key=lambda e: (e["journey_id"].encode(), e["ts"] is None, e["ts"] or 0, e["seq"])
            )
            if n > 1 and rng.random() < 0.5:
                i = rng.randrange(n - 1)
                rows[i], rows[i + 1] = rows[i + 1], rows[i]
        events = pa.Table.from_pylist([{**e, "r": i} for i, e in enumerate(rows)], schema=schema)
        expected = con.sql(f"SELECT * FROM events ORDER BY {order}").to_arrow_table()
        answer = in_canonical_order(events, "r")
        assert answer == events.equals(expected.cast(schema))
        seen[answer] += 1
    assert seen[True] > 50 and seen[False] > 50


def test_the_events_are_cut_into_the_chunks_the_sort_gives() -> None:
    """Sums over chunked columns add chunk by chunk: the table read without a sort
    must be chunked as DuckDB's sort chunks it (every chunk but the last full)."""
    values = pa.chunked_array([[1, 2, 3], [4, 5, 6], [7, 8], [9], [10, 11, 12], [13]])
    cut = in_chunks_of(pa.table({"v": values}), 3)
    assert [len(c) for c in cut["v"].chunks] == [3, 3, 3, 3, 1]
    assert cut["v"].to_pylist() == list(range(1, 14))
    aligned = pa.table({"v": pa.chunked_array([[1, 2, 3], [4]])})
    assert in_chunks_of(aligned, 3) is aligned
    con = duckdb.connect()
    con.register("big", pa.table({"v": range(300_000)}))
    by_sort = con.sql("SELECT v FROM big ORDER BY v").to_arrow_table()
    as_read = in_chunks_of(con.sql("SELECT v FROM big").to_arrow_table(122_880), 122_880)
    assert [len(c) for c in as_read["v"].chunks] == [len(c) for c in by_sort["v"].chunks]
