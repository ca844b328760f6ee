"""Events left where they were loaded: the engine reads them in place, nothing changes.

A dataset loaded through DuckDB, or read from the dataset cache, holds its events
on a DuckDB connection until ``Dataset.events`` is first read. These tests check
that the journey summary computed in place equals the one computed from the
in-memory table, that reading the events gives the canonical table once and
releases the connection, and that the cache writes and reads such events.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from peakend.datasets import demo_spec_path
from peakend.load import Dataset, load
from peakend.summary import summarize_journeys


@pytest.fixture()
def duck_loaded(monkeypatch: pytest.MonkeyPatch) -> Dataset:
    monkeypatch.setenv("PEAKEND_LOADER", "duckdb")
    dataset = load(demo_spec_path())
    assert dataset.report.loader == "duckdb"
    return dataset


def in_memory(monkeypatch: pytest.MonkeyPatch) -> Dataset:
    monkeypatch.setenv("PEAKEND_LOADER", "pandas")
    return load(demo_spec_path())


def assert_same_summary(a: Dataset, b: Dataset) -> None:
    first, second = summarize_journeys(a), summarize_journeys(b)
    assert first.n_events == second.n_events
    assert first.n_journeys == second.n_journeys
    for name in ("journeys", "touchpoints", "scores", "flows"):
        left, right = getattr(first, name), getattr(second, name)
        # (a column declared not null in memory is plainly nullable in a view)
        assert left.column_names == right.column_names, name
        assert left.to_pylist() == right.to_pylist(), name
    assert first.mean_valence == second.mean_valence


def test_a_duckdb_load_keeps_its_events_on_the_connection(duck_loaded: Dataset) -> None:
    source = duck_loaded.event_source
    assert source is not None and source.open
    assert duck_loaded.n_events == duck_loaded.report.events_loaded == source.n_rows


def test_the_summary_runs_in_place_and_equals_the_in_memory_one(
    duck_loaded: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_same_summary(duck_loaded, in_memory(monkeypatch))
    # the engine read the events where they were: they are still not in memory
    assert duck_loaded.event_source is not None


def test_reading_the_events_gives_the_canonical_table_once_and_closes(
    duck_loaded: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = duck_loaded.event_source
    assert source is not None
    events = duck_loaded.events
    assert isinstance(events, pa.Table)
    assert events.equals(in_memory(monkeypatch).events, check_metadata=True)
    assert duck_loaded.event_source is None and not source.open
    assert duck_loaded.events is events  # read once
    assert duck_loaded.n_events == events.num_rows
    with pytest.raises(RuntimeError, match="read into memory"):
        source.to_arrow()


def test_the_summary_after_reading_the_events_is_unchanged(
    duck_loaded: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = summarize_journeys(duck_loaded)
    duck_loaded.events  # noqa: B018  (reads them into memory)
    after = summarize_journeys(duck_loaded)
    assert before.journeys.equals(after.journeys)
    assert before.flows.equals(after.flows)


def test_replacing_fields_keeps_working(duck_loaded: Dataset) -> None:
    keep = pc.not_equal(duck_loaded.events["touchpoint"], "first_invoice")
    smaller = dataclasses.replace(duck_loaded, events=duck_loaded.events.filter(keep))
    assert smaller.n_events == smaller.events.num_rows < duck_loaded.n_events
    assert smaller.event_source is None


def test_the_cache_writes_and_reads_events_in_place(
    duck_loaded: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PEAKEND_LOADER", "duckdb")
    first = load(demo_spec_path(), cache=tmp_path)  # validates and writes the cache
    again = load(demo_spec_path(), cache=tmp_path)  # reads it
    source = again.event_source
    assert source is not None and source.n_rows == duck_loaded.n_events
    assert_same_summary(again, duck_loaded)
    assert again.events.equals(first.events, check_metadata=True)
    assert again.events.equals(duck_loaded.events, check_metadata=True)


def test_two_threads_reading_the_events_at_once_get_the_same_table(
    duck_loaded: Dataset,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        tables = list(pool.map(lambda _: duck_loaded.events, range(8)))
    assert all(t is tables[0] for t in tables)
    assert duck_loaded.event_source is None
