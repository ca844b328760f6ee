"""Microseconds between times: the same integers as DuckDB's ``date_diff``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import ibis
import pyarrow as pa
import pytest

from peakend.models.hidden.times import micros_between


@pytest.mark.parametrize("zone", [None, "UTC"])
def test_micros_between_equal_the_calendar_difference(zone: str | None) -> None:
    """Across a daylight-saving change, sub-second stamps, both signs and decades.

    The session's zone is Amsterdam's, whose clocks went forward at 01:00 UTC on
    31 March 2024: DuckDB's ``date_diff`` works in that calendar.
    """
    tz = UTC if zone else None
    start = datetime(2024, 3, 31, 0, 59, 59, 999_999, tzinfo=tz)
    later = [
        start + timedelta(microseconds=2),
        start + timedelta(days=14, microseconds=-1),
        start - timedelta(days=3, seconds=1, microseconds=7),
        start + timedelta(days=365 * 30, microseconds=123_457),
        start,
    ]
    kind = pa.timestamp("us", zone)
    con = ibis.duckdb.connect()
    con.raw_sql("SET TimeZone = 'Europe/Amsterdam'")
    table = con.create_table(
        "times", pa.table({"a": pa.array([start] * len(later), kind), "b": pa.array(later, kind)})
    )
    query = table.select(
        mine=micros_between(table.b, table.a), theirs=table.b.delta(table.a, unit="microsecond")
    )
    assert "epoch_us" in ibis.to_sql(query).lower()  # not date_diff again
    found = query.to_pyarrow()
    assert found["mine"].to_pylist() == found["theirs"].to_pylist()
    assert found["mine"].to_pylist()[:2] == [2, 14 * 86_400 * 1_000_000 - 1]


def test_epoch_seconds_equal_ibis_epoch_seconds_with_their_fraction() -> None:
    """Microseconds over a million are DuckDB's ``epoch(CAST(ts AS TIMESTAMP))``, to the bit."""
    import numpy as np

    from peakend.engine.order import epoch_seconds

    rng = np.random.default_rng(4)
    micros = rng.integers(-2_208_988_800_000_000, 3_786_825_600_000_000, 20_000)  # 1900-2090
    stamps = [datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(m)) for m in micros]
    stamps += [datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)]
    con = ibis.duckdb.connect()
    t = con.create_table("times", pa.table({"ts": pa.array(stamps, pa.timestamp("us", "UTC"))}))
    found = t.select(ours=epoch_seconds(t.ts), ibis=t.ts.epoch_seconds().cast("float64"))
    table = found.to_pyarrow()
    assert table["ours"].equals(table["ibis"])
