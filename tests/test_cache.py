"""The dataset cache: hit, miss on a changed source or spec, damaged caches rebuilt,
and the same dataset whether it was read from the cache or validated afresh."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import peakend
from peakend.cache import load_cached
from peakend.cli import app
from peakend.errors import ConfigError, SchemaError, SourceError
from peakend.load import Dataset
from peakend.spec import parse_spec, read_spec
from peakend.summary import summarize_journeys

DATA = Path(__file__).parent / "data"


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    """A copy of a dataset with events and outcomes in two files (both are keyed)."""
    for name in ("outcome_source.toml", "events_without_outcomes.csv", "outcomes.csv"):
        shutil.copy(DATA / name, tmp_path / name)
    return tmp_path / "outcome_source.toml"


def _same(a: Dataset, b: Dataset) -> None:
    assert a.events.equals(b.events)
    assert a.outcomes.equals(b.outcomes)
    assert a.touchpoints.equals(b.touchpoints)
    pd.testing.assert_frame_equal(a.quarantine, b.quarantine)
    assert a.report.to_dict() == b.report.to_dict()
    assert a.spec == b.spec


def test_second_load_is_a_hit_with_the_same_dataset(spec: Path, tmp_path: Path) -> None:
    fresh = peakend.load(spec)
    first = load_cached(spec, tmp_path / "cache")
    second = load_cached(spec, tmp_path / "cache")
    assert not first.hit and "does not exist yet" in first.message
    assert second.hit and "sources and spec unchanged" in second.message
    _same(first.dataset, fresh)
    _same(second.dataset, fresh)
    assert summarize_journeys(second.dataset).to_dict() == summarize_journeys(fresh).to_dict()


def test_quarantine_and_report_survive_the_cache(tmp_path: Path) -> None:
    spec = DATA / "bad_score.toml"
    load_cached(spec, tmp_path / "c")
    cached = load_cached(spec, tmp_path / "c")
    assert cached.hit and cached.dataset.report.quarantined_rows == 2
    _same(cached.dataset, peakend.load(spec))


@pytest.mark.parametrize("changed", ["events_without_outcomes.csv", "outcomes.csv"])
def test_changed_source_rebuilds(spec: Path, tmp_path: Path, changed: str) -> None:
    load_cached(spec, tmp_path / "cache")
    source = tmp_path / changed
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    again = load_cached(spec, tmp_path / "cache")
    assert not again.hit
    assert f"source {changed} changed" in again.message
    assert load_cached(spec, tmp_path / "cache").hit


def test_edited_source_gives_the_new_data(spec: Path, tmp_path: Path) -> None:
    load_cached(spec, tmp_path / "cache")
    events = tmp_path / "events_without_outcomes.csv"
    lines = events.read_text().splitlines()
    events.write_text("\n".join(lines[:-1]) + "\n")
    again = load_cached(spec, tmp_path / "cache")
    assert not again.hit
    _same(again.dataset, peakend.load(spec))


def test_changed_spec_rebuilds(spec: Path, tmp_path: Path) -> None:
    load_cached(spec, tmp_path / "cache")
    spec.write_text(spec.read_text().replace("high = 10", "high = 11"))
    again = load_cached(spec, tmp_path / "cache")
    assert not again.hit and "the spec changed" in again.message


def test_comment_in_spec_keeps_the_cache(spec: Path, tmp_path: Path) -> None:
    load_cached(spec, tmp_path / "cache")
    spec.write_text("# a note\n" + spec.read_text())
    assert load_cached(spec, tmp_path / "cache").hit


def test_other_version_rebuilds(spec: Path, tmp_path: Path) -> None:
    load_cached(spec, tmp_path / "cache")
    key_file = tmp_path / "cache" / "key.json"
    key = json.loads(key_file.read_text())
    key_file.write_text(json.dumps({**key, "peakend": "0.0.1"}))
    again = load_cached(spec, tmp_path / "cache")
    assert not again.hit and "written by peakend 0.0.1" in again.message


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        ("events.parquet", "damaged"),
        ("quarantine.parquet", "damaged"),
        ("report.json", "damaged"),
        ("key.json", "damaged (key.json"),
    ],
)
def test_damaged_cache_is_refused_and_rebuilt(
    spec: Path, tmp_path: Path, damage: str, expected: str
) -> None:
    load_cached(spec, tmp_path / "cache")
    (tmp_path / "cache" / damage).write_bytes(b"not what it should be")
    again = load_cached(spec, tmp_path / "cache")
    assert not again.hit and expected in again.message
    _same(again.dataset, peakend.load(spec))
    assert load_cached(spec, tmp_path / "cache").hit


def test_missing_table_is_refused(spec: Path, tmp_path: Path) -> None:
    load_cached(spec, tmp_path / "cache")
    (tmp_path / "cache" / "outcomes.parquet").unlink()
    again = load_cached(spec, tmp_path / "cache")
    assert not again.hit and "damaged" in again.message


def test_strict_mode_fails_from_the_cache_too(tmp_path: Path) -> None:
    spec = DATA / "bad_score.toml"
    load_cached(spec, tmp_path / "c")
    with pytest.raises(SchemaError, match="2 data problem"):
        load_cached(spec, tmp_path / "c", strict=True)


def test_spec_key_and_load_argument(spec: Path, tmp_path: Path) -> None:
    spec.write_text(spec.read_text() + '\n[cache]\ndir = "kept"\n')
    assert read_spec(spec).cache_dir == tmp_path / "kept"
    data = peakend.load(spec)
    assert (tmp_path / "kept" / "key.json").exists()
    assert load_cached(spec, tmp_path / "kept").hit
    _same(data, peakend.load(spec, cache=tmp_path / "other"))


def test_cache_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        load_cached(DATA / "bad_score.toml", tmp_path / "file")


def _postgres_spec(tmp_path: Path, url: str, table: str) -> Path:
    raw = {
        "name": "db",
        "source": {"format": "postgres", "url": url, "table": table},
        "columns": {"journey_id": "j", "touchpoint": "t", "ts": "ts"},
    }
    return parse_spec(raw, base_dir=tmp_path)


@pytest.mark.parametrize("unlogged", [False, True])
def test_a_postgres_table_is_kept_until_the_server_is_written_to(
    tmp_path: Path, postgres_url: str, unlogged: bool
) -> None:
    import psycopg

    table = f"cached_{uuid.uuid4().hex[:8]}"
    kind = "UNLOGGED TABLE" if unlogged else "TABLE"
    rows = "('J1', 'call', '2025-01-02 10:00+00'), ('J1', 'chat', '2025-01-03 10:00+00')"
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(f"CREATE {kind} {table} (j text, t text, ts timestamptz)")
        connection.execute(f"INSERT INTO {table} VALUES {rows}")
        connection.execute(f"VACUUM {table}")  # (hint bits set: reading writes nothing)
    spec = _postgres_spec(tmp_path, postgres_url, table)
    try:
        first = load_cached(spec, tmp_path / "c")
        assert not first.hit and first.dataset.n_events == 2
        # another session may write meanwhile (autovacuum): a few tries for the hit
        hits = [load_cached(spec, tmp_path / "c").hit for _ in range(4)]
        assert any(hits) != unlogged  # an unlogged table is never read from the cache
        with psycopg.connect(postgres_url, autocommit=True) as connection:
            connection.execute(f"INSERT INTO {table} VALUES ('J2', 'call', '2025-01-04 10:00+00')")
        after = load_cached(spec, tmp_path / "c")
        assert not after.hit and after.dataset.n_events == 3
        if not unlogged:
            assert f"source {table} may have changed (the PostgreSQL server" in after.message
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as connection:
            connection.execute(f"DROP TABLE {table}")


def test_a_postgres_source_the_cache_cannot_reach_says_what_to_fix(tmp_path: Path) -> None:
    spec = _postgres_spec(tmp_path, "postgresql://peakend@127.0.0.1:1/peakend", "events")
    with pytest.raises(SourceError, match=r"nothing is listening at 127\.0\.0\.1:1"):
        load_cached(spec, tmp_path / "c")


@pytest.mark.parametrize("bad", ['[cache]\ndir = ""', "[cache]\nfolder = 'x'", "cache = 3"])
def test_bad_cache_key_in_spec(spec: Path, bad: str) -> None:
    spec.write_text(spec.read_text().replace("[source]", bad + "\n\n[source]", 1))
    with pytest.raises(ConfigError, match="cache"):
        read_spec(spec)


def test_cli_validate_writes_and_journeys_reads(spec: Path, tmp_path: Path) -> None:
    cache = str(tmp_path / "cache")
    runner = CliRunner()
    first = runner.invoke(app, ["validate", str(spec), "--cache", cache, "--json"])
    assert first.exit_code == 0, first.output
    assert (tmp_path / "cache" / "key.json").exists()
    cached = runner.invoke(app, ["journeys", str(spec), "--cache", cache, "--json"])
    plain = runner.invoke(app, ["journeys", str(spec), "--json"])
    assert cached.exit_code == 0 and plain.exit_code == 0
    assert f"read outcome_source from cache {cache}" in cached.stderr
    assert json.loads(cached.stdout) == json.loads(plain.stdout)
