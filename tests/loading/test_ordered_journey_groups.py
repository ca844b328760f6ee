"""The journeys' table of the duplicate search read from the events' own order.

:func:`~peakend.loading.duck.duplicates.group_journeys` builds table ``key_groups``
from one pass in the order the events are read when that is the canonical order;
these tests check it against the grouped table
(:func:`~peakend.loading.duck.duplicates.journey_groups`) on events with repeats of
every kind, in order and not, and a whole load against the grouped way; and the
pass split into parts read at once (forced on small logs by ``min_part``) against
the one pass, with journeys, repeats and gaps in the row numbers at the cuts.
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
from peakend.loading.duck.duplicates import (
    _cuts,
    _ordered_groups,
    _run_at_once,
    group_journeys,
    journey_groups,
)
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


def _table(
    db: duckdb.DuckDBPyConnection, rows: list[Event], numbers: list[int] | None = None
) -> None:
    """Table ``events`` of ``rows`` in their order, with the columns of ``ev_final``,
    numbered ``numbers`` (1, 2, … by default)."""
    table = pa.table(
        {
            ROW: pa.array(numbers or range(1, len(rows) + 1), pa.int64()),
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
    last_rows: list[int | None] = []

    def recorded(
        db: duckdb.DuckDBPyConnection, events: str, *, last_row: int | None, min_part: int
    ) -> bool:
        last_rows.append(last_row)
        served.append(_ordered_groups(db, events, last_row=last_row, min_part=min_part))
        return served[-1]

    monkeypatch.setattr(duplicates, "_ordered_groups", recorded)
    new = peakend.load(spec)
    assert served == [not shuffled]
    assert last_rows == [len(rows)]  # the rows read, numbered from 1
    monkeypatch.setattr(duplicates, "_ordered_groups", lambda db, events, **split: False)
    old = peakend.load(spec)
    assert new.report.loader == "duckdb"
    assert new.events.equals(old.events)
    assert new.outcomes.equals(old.outcomes)
    assert new.quarantine.equals(old.quarantine)
    assert new.report == old.report
    assert any(p.reason.value == "duplicate_event" for p in new.report.problems)


def _split(
    rows: list[Event],
    *,
    threads: int = 2,
    numbers: list[int] | None = None,
    min_part: int = 1,
    last_row: int | None = None,
) -> tuple[bool, list[tuple[object, ...]], bool, list[tuple[object, ...]]]:
    """Whether the pass in parts served ``rows`` and its table (the grouped one when
    not), and the same of one pass; the rows are split into ``threads`` parts."""
    db = duckdb.connect()
    db.sql(f"SET threads = {threads}")
    _table(db, rows, numbers)
    assert len(_cuts(db, "events", last_row, min_part)) == threads - 1
    one = _ordered_groups(db, "events", min_part=len(rows) + 1)
    one_table = _groups(db) if one else []
    served = _ordered_groups(db, "events", last_row=last_row, min_part=min_part)
    left = db.sql("SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'journey%'")
    assert not left.fetchall()
    assert not db.sql("SELECT * FROM duckdb_views() WHERE view_name = 'journey_marks'").fetchall()
    table = _groups(db) if served else []
    db.sql(journey_groups("events"))
    grouped = _groups(db)
    return served, table or grouped, one, one_table or grouped


def _log(n: int) -> list[Event]:
    """``n`` events in the canonical order, two journeys of ``n // 2`` events each, at
    distinct times and without repeats."""
    half = n // 2
    return [
        (f"J{i // half}", T0 + timedelta(minutes=i), "abcd"[i % 4], float(i % 5)) for i in range(n)
    ]


def _check(rows: list[Event], *, served: bool = True, **split: object) -> list[tuple[object, ...]]:
    """The table of the pass in parts over ``rows``, checked against the grouped one
    and the one pass (served or not as ``served`` says)."""
    parts, table, one, one_table = _split(rows, **split)  # type: ignore[arg-type]
    assert (parts, one) == (served, served)
    assert table == one_table
    return table


def test_cuts_balance_the_row_range() -> None:
    db = duckdb.connect()
    _table(db, _log(10), numbers=[3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
    db.sql("SET threads = 3")
    assert _cuts(db, "events", None, 3) == [5, 8]
    assert _cuts(db, "events", None, 4) == [7]  # two parts of at least four rows
    assert _cuts(db, "events", None, 6) == []
    assert _cuts(db, "events", 12, 3) == [4, 8]  # from row 1, without the range query
    db.sql("SET threads = 1")
    assert _cuts(db, "events", None, 1) == []
    db.sql("DELETE FROM events")
    db.sql("SET threads = 2")
    assert _cuts(db, "events", None, 1) == []
    assert _cuts(db, "events", 0, 1) == []


def test_a_repeat_next_to_its_event_across_the_cut() -> None:
    rows = _log(20)
    rows[10] = rows[9]  # rows 10 and 11, the cut after row 10
    table = _check(rows)
    assert [r for _, _, r in table] == [True, False]


@pytest.mark.parametrize("first", [8, 9])
def test_a_run_of_three_at_one_time_across_the_cut(first: int) -> None:
    rows = _log(20)
    rows[first + 1] = ("J0", rows[first][1], "other", None)
    rows[first + 2] = rows[first]  # a repeat two events after its event (cut after row 10)
    table = _check(rows)
    assert [r for _, _, r in table] == [True, False]


def test_a_journey_beginning_at_the_cut() -> None:
    rows = _log(20)  # J1 begins at row 11, right after the cut
    assert _check(rows) == [("J0", 1, False), ("J1", 11, False)]
    rows = _log(20)[:10] + [("J1", T0, "a", 1.0)] * 2 + _log(20)[12:]
    assert _check(rows) == [("J0", 1, False), ("J1", 11, True)]


@pytest.mark.parametrize("gap", [3, 3000])
def test_gaps_in_the_row_numbers_at_the_cut(gap: int) -> None:
    rows = _log(20)
    rows[11] = rows[10]  # a repeat right after the gap (the cut is in it)
    numbers = [*range(1, 11), *range(11 + gap, 21 + gap)]
    table = _check(rows, numbers=numbers, min_part=2)
    assert table == [("J0", 1, False), ("J1", 11 + gap, True)]
    rows[10] = rows[9]  # a journey of one event before the gap's repeat
    assert _check(rows, numbers=numbers, min_part=2)[0][2]


def test_an_order_broken_only_in_the_second_part_falls_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(duplicates, "_HEAD", 5)
    rows = _log(40)
    rows[30], rows[32] = rows[32], rows[30]
    _check(rows, served=False, threads=2)
    rows = _log(40)
    rows[19], rows[20] = rows[20], rows[19]  # the journeys falling across the cut
    _check(rows, served=False)


def test_rows_read_out_of_their_numbers_order_in_a_part_fall_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(duplicates, "_HEAD", 5)
    numbers = list(range(1, 41))
    numbers[30], numbers[32] = numbers[32], numbers[30]
    _check(_log(40), served=False, numbers=numbers)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("threads", [2, 3, 4])
def test_random_logs_in_parts_give_the_table_of_one_pass(seed: int, threads: int) -> None:
    rows = _canonical(_events(seed))
    table = _check(rows, threads=threads, min_part=len(rows) // threads)
    assert any(repeated for _, _, repeated in table)
    rng = random.Random(seed)
    numbers = sorted(rng.sample(range(1, 3 * len(rows)), len(rows)))
    _check(rows, threads=threads, numbers=numbers, min_part=len(rows) // threads)
    # the range given (as the loader does): the same table, right or not
    for last_row in (numbers[-1], numbers[-1] // 2, 2 * numbers[-1]):
        part = last_row // threads
        _check(rows, threads=threads, numbers=numbers, min_part=part, last_row=last_row)
    rng.shuffle(rows)
    _check(rows, served=False, threads=threads, min_part=len(rows) // threads)


def test_a_run_of_three_across_a_cut_after_a_lone_row_far_from_the_one_before() -> None:
    rows = _log(20)
    rows[9] = ("J0", rows[8][1], "other", None)
    rows[10] = rows[8]  # rows 9, 1500 and 1501: the cut right after row 1500
    numbers = [*range(1, 10), *range(1500, 1510), 3000]
    assert _check(rows, numbers=numbers, min_part=2)[0] == ("J0", 1, True)


def test_the_parts_run_with_the_connection_s_time_zone() -> None:
    db = duckdb.connect()
    db.sql("SET TimeZone = 'America/New_York'")
    made = [f"CREATE TABLE zone_{i} AS SELECT current_setting('TimeZone') AS z" for i in (1, 2)]
    _run_at_once(db, made)
    zones = db.sql("SELECT z FROM zone_1 UNION ALL SELECT z FROM zone_2").fetchall()
    assert zones == [("America/New_York",), ("America/New_York",)]
