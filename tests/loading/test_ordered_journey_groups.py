"""The journeys' table of the duplicate search read from the events' own order.

:func:`~peakend.loading.duck.duplicates.group_journeys` builds table ``key_groups``
from one pass in the order the events are read when that is the canonical order;
these tests check it against the grouped table
(:func:`~peakend.loading.duck.duplicates.journey_groups`) on events with repeats of
every kind, in order and not, and a whole load against the grouped way.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import peakend
from peakend.loading.duck import duplicates
from peakend.loading.duck.duplicates import _ordered_groups, group_journeys, journey_groups
from peakend.validate import ROW

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)

Event = tuple[str, datetime | None, str, float | None]
"""Journey, time, touchpoint and score of one event."""


def _events(seed: int) -> list[Event]:
    """Events in the canonical order with every kind of planted repeat: a copy next
    to its event, a copy after another event at the same time, an event at the
    same time in another journey, equal events without a time, and an event equal
    to another but for its score."""
    rng = random.Random(seed)
    rows: list[Event] = []
    for j in range(60):
        jid = f"J{j:03d}"
        times = sorted(
            T0 + timedelta(minutes=rng.randrange(0, 40)) for _ in range(rng.randrange(1, 7))
        )
        for t in times:
            rows.append((jid, t, rng.choice("abc"), float(rng.randrange(1, 6))))
            if rng.random() < 0.1:
                rows.append(rows[-1])  # an adjacent copy
            if rng.random() < 0.1:
                rows += [(jid, t, "other", None), rows[-1]]  # a copy after another event
            if rng.random() < 0.1:
                rows.append((jid, t, rows[-1][2], 9.0))  # equal but for the score
        if rng.random() < 0.2:
            rows += [(jid, None, "late", 1.0), (jid, None, "late", 1.0)]  # no time: no repeat
    rows.append(("J001", T0, "a", 1.0))  # a time of another journey (out of order here)
    return rows


def _table(db: duckdb.DuckDBPyConnection, rows: list[Event]) -> None:
    """Table ``events`` of ``rows`` in their order, with the columns of ``ev_final``."""
    table = pa.table(
        {
            ROW: pa.array(range(1, len(rows) + 1), pa.int64()),
            "jid": [r[0] for r in rows],
            "ts": pa.array([r[1] for r in rows], pa.timestamp("us", tz="UTC")),
            "tp": [r[2] for r in rows],
            "score_final": pa.array([r[3] for r in rows], pa.float64()),
            "channel": pa.array(["web"] * len(rows), pa.string()),
            "text": pa.array([None] * len(rows), pa.string()),
        }
    )
    db.register("arrow_events", table)
    db.sql("SET preserve_insertion_order = true")
    db.sql("CREATE OR REPLACE TABLE events AS SELECT * FROM arrow_events")
    db.sql("SET preserve_insertion_order = false")


def _canonical(rows: list[Event]) -> list[Event]:
    """``rows`` in the canonical order (journey, time with missing last, place)."""
    far = datetime.max.replace(tzinfo=UTC)
    numbered = sorted(enumerate(rows), key=lambda p: (p[1][0], p[1][1] or far, p[0]))
    return [r for _, r in numbered]


def _groups(db: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    return db.sql("SELECT jid, lo, repeated FROM key_groups ORDER BY jid").fetchall()


def _both(rows: list[Event]) -> tuple[bool, list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Whether the ordered pass served ``rows``, its table, and the grouped one."""
    db = duckdb.connect()
    _table(db, rows)
    db.sql(journey_groups("events"))
    grouped = _groups(db)
    db.sql("DROP TABLE key_groups")
    ordered = _ordered_groups(db, "events")
    if not ordered:
        assert not db.sql(
            "SELECT * FROM duckdb_tables() WHERE table_name = 'key_groups'"
        ).fetchall()
    group_journeys(db, "events")
    return ordered, _groups(db), grouped


@pytest.mark.parametrize("seed", range(8))
def test_ordered_events_give_the_grouped_table(seed: int) -> None:
    ordered, table, grouped = _both(_canonical(_events(seed)))
    assert ordered
    assert table == grouped
    assert any(repeated for _, _, repeated in grouped)


@pytest.mark.parametrize("seed", range(4))
def test_events_in_another_order_fall_back_to_the_grouped_table(seed: int) -> None:
    rows = _canonical(_events(seed))
    random.Random(seed).shuffle(rows)
    ordered, table, grouped = _both(rows)
    assert not ordered
    assert table == grouped


def test_an_order_broken_after_the_first_events_is_found_by_the_whole_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(duplicates, "_HEAD", 5)
    rows = _canonical(_events(1))
    rows[-3], rows[-40] = rows[-40], rows[-3]
    ordered, table, grouped = _both(rows)
    assert not ordered
    assert table == grouped


@pytest.mark.parametrize(
    "rows",
    [
        [],
        [("J1", T0, "a", 1.0)],
        [("J1", None, "a", 1.0), ("J1", T0, "a", 1.0)],  # a time after a missing one
        [("J2", T0, "a", 1.0), ("J1", T0, "a", 1.0)],  # journeys falling
        [("J1", T0, "a", 1.0), ("J1", T0 - timedelta(1), "a", 1.0)],  # time falling
        [("J1", T0, "a", 1.0), ("J1", T0, "a", 1.0), ("J1", T0, "a", 1.0)],
        # repeats kept apart by an event out of order
        [("J1", T0, "a", 1.0), ("J1", T0 + timedelta(1), "b", 1.0), ("J1", T0, "a", 1.0)],
        [("J1", T0, "a", 1.0), ("J1", None, "b", 1.0), ("J1", T0, "a", 1.0)],
        [("J1", T0, "a", 1.0), ("J2", T0, "b", 1.0), ("J1", T0, "a", 1.0)],
    ],
)
def test_small_and_unordered_cases_match_the_grouped_table(rows: list[Event]) -> None:
    _, table, grouped = _both(rows)
    assert table == grouped


def test_rows_read_out_of_their_numbers_order_fall_back() -> None:
    db = duckdb.connect()
    _table(db, _canonical(_events(2)))
    db.sql(f"UPDATE events SET {ROW} = -{ROW} WHERE {ROW} = 50")
    assert not _ordered_groups(db, "events")


def _write(rows: list[Event], folder: Path) -> Path:
    """A Parquet log of ``rows`` with a spec for it."""
    times = pa.array([r[1] for r in rows], pa.timestamp("us", tz="UTC"))
    table = pa.table(
        {
            "journey_id": [r[0] for r in rows],
            "ts": times,
            "touchpoint": [r[2] for r in rows],
            "score": pa.array([r[3] for r in rows], pa.float64()),
        }
    )
    pq.write_table(table, folder / "events.parquet")
    spec = folder / "log.toml"
    spec.write_text(
        'name = "log"\nlayout = "long"\n\n[source]\npath = "events.parquet"\n\n'
        '[columns]\njourney_id = "journey_id"\nts = "ts"\ntouchpoint = "touchpoint"\n'
        'score = "score"\n\n[scales.score]\nlow = 1\nhigh = 10\n'
    )
    return spec


@pytest.mark.parametrize("shuffled", [False, True])
def test_a_load_gives_the_dataset_of_the_grouped_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shuffled: bool
) -> None:
    rows = _canonical(_events(3))
    if shuffled:
        random.Random(3).shuffle(rows)
    spec = _write(rows, tmp_path)
    served: list[bool] = []

    def recorded(db: duckdb.DuckDBPyConnection, events: str) -> bool:
        served.append(_ordered_groups(db, events))
        return served[-1]

    monkeypatch.setattr(duplicates, "_ordered_groups", recorded)
    new = peakend.load(spec)
    assert served == [not shuffled]
    monkeypatch.setattr(duplicates, "_ordered_groups", lambda db, events: False)
    old = peakend.load(spec)
    assert new.report.loader == "duckdb"
    assert new.events.equals(old.events)
    assert new.outcomes.equals(old.outcomes)
    assert new.quarantine.equals(old.quarantine)
    assert new.report == old.report
    assert any(p.reason.value == "duplicate_event" for p in new.report.problems)
