"""Both loaders give the same dataset: DuckDB queries and the pandas loader.

Every check of :mod:`peakend.load` runs as SQL in :mod:`peakend.loading.duck`;
these tests load the same sources both ways and compare events, outcomes,
catalogue, problems and quarantine exactly, and check that sources the DuckDB
path does not take fall back to pandas and say so.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pandas as pd
import pytest

from peakend.datasets import demo_spec_path
from peakend.errors import ConfigError, MissingColumnError, SourceError
from peakend.generate import GeneratorConfig, generate
from peakend.io.sniff import not_utf8_note
from peakend.load import Dataset, load
from peakend.loading.duck.time_format import java_pattern
from peakend.spec import read_spec

if TYPE_CHECKING:
    from peakend.loading.duck.checks import EventChecks

REAL = Path(__file__).resolve().parents[1] / "examples" / "bpic2016_complaints.toml"


def both(spec_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Dataset, Dataset]:
    """The dataset loaded by pandas and by DuckDB."""
    spec = read_spec(spec_path)
    monkeypatch.setenv("PEAKEND_LOADER", "pandas")
    by_pandas = load(spec)
    monkeypatch.setenv("PEAKEND_LOADER", "duckdb")
    by_duckdb = load(spec)
    return by_pandas, by_duckdb


def assert_same(a: Dataset, b: Dataset) -> None:
    assert a.report.loader.startswith("pandas")
    assert b.report.loader == "duckdb"
    assert_same_data(a, b)


def assert_same_data(a: Dataset, b: Dataset) -> None:
    """The same events, outcomes, touchpoints, problems, quarantine and report (but the loader)."""
    assert a.events.equals(b.events, check_metadata=True)
    assert a.outcomes.equals(b.outcomes)
    assert a.touchpoints.equals(b.touchpoints)
    assert a.report.problems == b.report.problems
    pd.testing.assert_frame_equal(a.quarantine, b.quarantine)
    first, second = a.report.to_dict(), b.report.to_dict()
    first.pop("loader")
    second.pop("loader")
    assert first == second


def assert_counts_are_filters(checks: EventChecks) -> None:
    """Every count of the count pass of ``checks`` (an ``EventChecks`` after
    ``_count_checks``) is the one a filter of its condition gives over ``ev``."""
    filters = ", ".join(f"count(*) FILTER (WHERE {c})" for c in checks._counts)
    found = checks.db.sql(f"SELECT {filters} FROM ev").fetchall()[0]
    assert dict(zip(checks._counts, found, strict=True)) == checks._counts


def test_the_demo_data_load_the_same_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    assert_same(*both(demo_spec_path(), monkeypatch))


@pytest.mark.skipif(not REAL.exists(), reason="the BPIC 2016 example spec is not there")
def test_the_real_complaints_log_loads_the_same_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = read_spec(REAL)
    if spec.source.path is None or not spec.source.path.exists():
        pytest.skip("BPIC 2016 data (bpic2016_complaints) are not in ../shared/data")
    by_pandas, by_duckdb = both(REAL, monkeypatch)
    assert by_duckdb.report.quarantined_rows > 0  # the log repeats complaints
    assert_same(by_pandas, by_duckdb)


@pytest.mark.parametrize("name", ["receipt_wabo_permit", "bpic2012_loan_application"])
def test_the_real_xes_logs_load_the_same_both_ways(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An XES log is streamed into Parquet once and loaded by DuckDB from there, with
    the pandas loader's dataset (the loan log: the complete events of 13,087
    applications, outcomes from touchpoints beside an attribute)."""
    spec_path = REAL.parent / f"{name}.toml"
    spec = read_spec(spec_path)
    if spec.source.path is None or not spec.source.path.exists():
        pytest.skip(f"{name} is not in ../shared/data")
    monkeypatch.setenv("PEAKEND_CACHE", str(tmp_path))
    by_pandas, by_duckdb = both(spec_path, monkeypatch)
    assert_same(by_pandas, by_duckdb)
    assert len(list((tmp_path / "xes").glob("*/events.parquet"))) == 1


def test_an_xes_log_without_a_writable_cache_folder_loads_in_pandas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec_path = REAL.parent / "receipt_wabo_permit.toml"
    spec = read_spec(spec_path)
    if spec.source.path is None or not spec.source.path.exists():
        pytest.skip("receipt_wabo_permit is not in ../shared/data")
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("PEAKEND_CACHE", str(blocker))
    data = load(spec)
    assert data.report.loader.startswith("pandas (no cache folder to write the XES log")
    assert data.n_events == 8_577


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10,000 generated journeys (about 93,000 events)."""
    out = tmp_path_factory.mktemp("generated")
    generate(out, GeneratorConfig(n_journeys=10_000, seed=3))
    return out


def to_csv(out: Path, query: str, name: str) -> Path:
    """Write what ``query`` returns (over ``events``) as CSV with DuckDB."""
    path = out / name
    con = duckdb.connect()
    con.sql(f"CREATE VIEW events AS SELECT * FROM read_parquet('{out / 'events.parquet'}')")
    con.sql(f"COPY ({query}) TO '{path}' (HEADER, DELIMITER ',')")
    con.close()
    return path


def csv_spec(out: Path, csv_name: str, spec_name: str, extra: str = "") -> Path:
    """The generator's spec pointed at a CSV copy of its events."""
    text = (out / "synthetic.toml").read_text(encoding="utf-8")
    text = text.replace('path = "events.parquet"', f'path = "{csv_name}"\n{extra}', 1)
    path = out / spec_name
    path.write_text(text, encoding="utf-8")
    return path


def planted_spec(out: Path, data_name: str, spec_name: str, extra: str = "") -> Path:
    """:func:`csv_spec` for a copy with :data:`BAD_ROWS`, whose scale reads ``N/A``
    as not applicable."""
    spec = csv_spec(out, data_name, spec_name, extra)
    text = spec.read_text(encoding="utf-8")
    text = text.replace("[scales.score]", '[scales.score]\nnot_applicable = ["N/A"]', 1)
    spec.write_text(text, encoding="utf-8")
    return spec


def test_generated_parquet_loads_the_same_both_ways(
    generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_same(*both(generated / "synthetic.toml", monkeypatch))


def test_a_100k_event_csv_loads_the_same_both_ways(
    generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    to_csv(generated, "SELECT * FROM events", "events.csv")
    by_pandas, by_duckdb = both(csv_spec(generated, "events.csv", "csv.toml"), monkeypatch)
    assert by_duckdb.report.events_loaded > 90_000
    assert_same(by_pandas, by_duckdb)


BAD_ROWS = """
SELECT journey_id, customer_id,
  CASE row_number() OVER () % 997 WHEN 1 THEN 'not a time'
       WHEN 2 THEN strftime(ts, '%Y-%m-%d %H:%M:%S')
       WHEN 3 THEN '' ELSE strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ') END AS ts,
  seq,
  CASE row_number() OVER () % 1009 WHEN 4 THEN '' WHEN 5 THEN 'Mystery stop'
       ELSE touchpoint END AS touchpoint,
  channel,
  CASE row_number() OVER () % 1013 WHEN 6 THEN 'robot' ELSE initiated_by END AS initiated_by,
  CASE WHEN score IS NULL THEN NULL
       ELSE CASE row_number() OVER () % 1019 WHEN 7 THEN '17' WHEN 8 THEN 'N/A'
            WHEN 9 THEN 'vier' ELSE replace(CAST(score AS VARCHAR), '.', ',') END END AS score,
  text, lang
FROM events
UNION ALL (SELECT journey_id, customer_id, strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ'), seq,
  touchpoint, channel, initiated_by, replace(CAST(score AS VARCHAR), '.', ','), text, lang
  FROM events WHERE ts IS NOT NULL ORDER BY journey_id, seq LIMIT 25)
"""


def test_planted_bad_rows_give_the_same_problems_and_quarantine(
    generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    to_csv(generated, BAD_ROWS, "bad.csv")
    extra = 'decimal = ","\ntimezone = "Europe/Amsterdam"'
    spec = planted_spec(generated, "bad.csv", "bad.toml", extra)
    by_pandas, by_duckdb = both(spec, monkeypatch)
    reasons = {str(p.reason) for p in by_duckdb.report.problems}
    assert {"bad_timestamp", "duplicate_event", "bad_score", "score_out_of_scale"} <= reasons
    assert {"missing_value", "bad_value", "not_applicable", "unknown_touchpoint"} <= reasons
    assert_same(by_pandas, by_duckdb)


NULLS_KEPT = ("text", "lang")
"""Keys :func:`to_jsonl` writes as ``null`` when empty (the generated events have none)."""


def to_jsonl(out: Path, query: str, name: str) -> Path:
    """Write what ``query`` returns (over ``events``) as JSON lines, leaving out the
    empty fields as many exporters do, so that some keys first appear far down."""
    written = to_csv(out, query, name + ".csv")
    frame = pd.read_csv(written, dtype=str, keep_default_na=False, na_values=[""])
    path = out / name
    with path.open("w", encoding="utf-8") as file:
        for number, row in enumerate(frame.to_dict(orient="records"), start=1):
            line = {k: v for k, v in row.items() if isinstance(v, str) or k in NULLS_KEPT}
            line |= {k: None for k in NULLS_KEPT if not isinstance(line.get(k), str)}
            if "seq" in line:
                line["seq"] = int(line["seq"])  # a JSON number
            if number > 30_000 and number % 50 == 0:
                line["note"] = "a key the reader's sample does not see"
            if number > 30_000 and number % 70 == 0:
                line = {"zone": "another, first in its line", **line}
            file.write(json.dumps(line, ensure_ascii=False) + "\n")
    return path


def test_planted_bad_rows_in_json_lines_give_the_same_problems_and_quarantine(
    generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    to_jsonl(generated, BAD_ROWS, "bad.jsonl")
    con = duckdb.connect()
    con.sql(
        f"COPY (SELECT * FROM read_parquet('{generated / 'outcomes.parquet'}')) "
        f"TO '{generated / 'outcomes.jsonl'}' (FORMAT json)"
    )
    con.close()
    spec = planted_spec(generated, "bad.jsonl", "bad_jsonl.toml", 'decimal = ","')
    text = spec.read_text(encoding="utf-8").replace('"outcomes.parquet"', '"outcomes.jsonl"')
    spec.write_text(text, encoding="utf-8")
    by_pandas, by_duckdb = both(spec, monkeypatch)
    assert by_duckdb.report.events_loaded > 90_000
    reasons = {str(p.reason) for p in by_duckdb.report.problems}
    assert {"bad_timestamp", "duplicate_event", "bad_score", "score_out_of_scale"} <= reasons
    late = by_duckdb.quarantine["record"].str.contains("does not see").any()
    assert late  # the key only later lines have is in the rows set aside
    assert_same(by_pandas, by_duckdb)


def test_json_lines_load_the_same_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    by_pandas, by_duckdb = both(Path(__file__).parent / "data" / "jsonl.toml", monkeypatch)
    assert by_duckdb.report.events_loaded == 4
    assert_same(by_pandas, by_duckdb)


def test_gzipped_json_lines_are_read_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = Path(__file__).parent / "data"
    with gzip.open(tmp_path / "events.jsonl", "wb") as file:
        file.write((data / "events.jsonl").read_bytes())
    (tmp_path / "jsonl.toml").write_text((data / "jsonl.toml").read_text("utf-8"), "utf-8")
    assert_same(*both(tmp_path / "jsonl.toml", monkeypatch))


ENCODED = """journey_id,touchpoint,ts,score,text
J1,call,2025-01-02T10:00:00Z,4,"Prijs € 12 – ‘prima’"
J1,chat,2025-01-03T10:00:00Z,x,café
J2,call,2025-01-02T11:00:00Z,2,
"""
ENCODED_SPEC = """name = "encoded"
[source]
path = "events.csv"
{encoding}
[columns]
journey_id = "journey_id"
touchpoint = "touchpoint"
ts = "ts"
score = "score"
text = "text"
[scales.score]
low = 1
high = 5
"""


@pytest.mark.parametrize(
    ("written", "declared", "loader"),
    [
        ("cp1252", None, "duckdb"),  # found not to be UTF-8: read as Windows-1252
        ("cp1252", "cp1252", "duckdb"),
        ("utf-16", None, "duckdb"),  # a byte-order mark says UTF-16
        ("utf-8-sig", None, "duckdb"),  # Excel's "CSV UTF-8"
        ("cp1252 gzip", None, "duckdb"),
        ("cp1252 undefined", None, "duckdb"),  # not Windows-1252 after all: Latin-1
        ("cp1252 undefined", "cp1252", "pandas (bytes that are not valid cp1252)"),
    ],
)
def test_csv_in_another_encoding_is_read_in_place_from_a_utf8_copy(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    written: str,
    declared: str | None,
    loader: str,
) -> None:
    undefined = (b"J2,call", b"J2,c\x81ll")  # on the last row
    by_duckdb = _encoded_both(
        tmp_path, monkeypatch, ("events.csv", ENCODED, ENCODED_SPEC, undefined), written, declared
    )
    assert by_duckdb.report.loader == loader
    encoding, _, extra = written.partition(" ")
    if extra != "undefined":
        assert "Prijs \u20ac 12 \u2013 \u2018prima\u2019" in by_duckdb.events["text"].to_pylist()
    notes = [p.fix for p in by_duckdb.report.problems if str(p.reason) == "format_detected"]
    if encoding == "cp1252" and declared is None:
        found = "latin-1" if extra == "undefined" else "cp1252"
        assert any(f"read as {found}" in note for note in notes)


def _encoded_both(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    source: tuple[str, str, str, tuple[bytes, bytes]],
    written: str,
    declared: str | None,
) -> Dataset:
    """Load the text of ``source`` (file name, text, spec with an ``{encoding}`` line,
    and a replacement that puts a byte Windows-1252 leaves undefined in it), written
    as ``written`` ("ENCODING [gzip|undefined]") and declared ``declared``, with both
    loaders; asserts the same data and that the UTF-8 copy lasts one load, and
    returns the DuckDB loader's dataset."""
    name, text, spec, undefined = source
    encoding, _, extra = written.partition(" ")
    data = text.encode(encoding)
    if extra == "undefined":
        data = data.replace(*undefined)
    if extra == "gzip":
        data = gzip.compress(data)
    (tmp_path / name).write_bytes(data)
    line = f'encoding = "{declared}"' if declared else ""
    (tmp_path / "e.toml").write_text(spec.format(encoding=line), encoding="utf-8")
    (tmp_path / "spill").mkdir()
    monkeypatch.setenv("PEAKEND_TEMP_DIR", str(tmp_path / "spill"))
    by_pandas, by_duckdb = both(tmp_path / "e.toml", monkeypatch)
    assert by_pandas.report.loader.startswith("pandas")
    assert_same_data(by_pandas, by_duckdb)
    assert not list((tmp_path / "spill").iterdir())  # the copy lasts one load
    return by_duckdb


def test_outcomes_in_windows_1252_are_read_from_a_utf8_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = Path(__file__).parent / "data"
    for name in ("outcome_source.toml", "events_without_outcomes.csv"):
        shutil.copy(data / name, tmp_path / name)
    text = (
        (data / "outcomes.csv")
        .read_text("utf-8")
        .replace("O2,dissatisfied", "O\u20ac2,dissatisfied")
    )
    (tmp_path / "outcomes.csv").write_bytes(text.encode("cp1252"))
    by_pandas, by_duckdb = both(tmp_path / "outcome_source.toml", monkeypatch)
    assert by_duckdb.report.loader == "duckdb"
    assert any("O\u20ac2" in p.message() for p in by_duckdb.report.problems)  # no events
    assert_same_data(by_pandas, by_duckdb)


DAY_FIRST = """
SELECT journey_id, customer_id,
  CASE row_number() OVER () % 211
       WHEN 1 THEN 'not a time'
       WHEN 2 THEN strftime(ts, '%-d-%-m-%Y %-H:%M')
       WHEN 3 THEN strftime(ts, '%d-%m-%y %H:%M')
       WHEN 4 THEN '31-02-2024 10:00'
       WHEN 5 THEN '31-03-2024 02:30'
       WHEN 6 THEN strftime(ts, '%d-%m-%Y %H:%M') || '+01:00'
       WHEN 7 THEN '  ' || strftime(ts, '%d-%m-%Y   %H:%M') || ' '
       WHEN 8 THEN strftime(ts, '%d-%m-%Y %H:%M:%S')
       WHEN 9 THEN ''
       ELSE strftime(ts, '%d-%m-%Y %H:%M') END AS ts,
  seq, touchpoint, channel, initiated_by, score, text, lang
FROM events
"""


def _day_first_spec(generated: Path, name: str, fmt: str) -> Path:
    extra = f'timestamp_format = "{fmt}"\ntimezone = "Europe/Amsterdam"'
    return csv_spec(generated, "day_first.csv", name, extra)


def test_a_declared_timestamp_format_is_read_by_duckdb_as_by_pandas(
    generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    to_csv(generated, DAY_FIRST, "day_first.csv")
    spec = _day_first_spec(generated, "day_first.toml", "%d-%m-%Y %H:%M")
    by_pandas, by_duckdb = both(spec, monkeypatch)
    assert by_duckdb.report.loader == "duckdb"
    bad = by_duckdb.quarantine[by_duckdb.quarantine["reason"] == "bad_timestamp"]
    assert {"not a time", "31-02-2024 10:00", "31-03-2024 02:30"} <= set(bad["value"])
    assert len(bad) > 5 * 400  # the two-digit years, offsets and seconds too
    assert_same(by_pandas, by_duckdb)


def test_a_time_only_pandas_reads_in_a_declared_format_sends_the_load_to_pandas(
    generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    to_csv(
        generated, DAY_FIRST.replace("'31-02-2024 10:00'", "'05-03-2024 09:07:60'"), "day_first.csv"
    )
    spec = _day_first_spec(generated, "leap.toml", "%d-%m-%Y %H:%M:%S")  # a leap second
    by_pandas, by_duckdb = both(spec, monkeypatch)
    assert by_duckdb.report.loader.startswith("pandas ("), by_duckdb.report.loader
    assert_same_data(by_pandas, by_duckdb)


@pytest.mark.parametrize("fmt", ["%Y-%m-%d %H:%M", "%d %b %Y %H:%M", "%d-%m-%Y %H:%M:%S.%f"])
def test_other_timestamp_formats_are_read_by_pandas(
    generated: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    to_csv(generated, "SELECT * FROM events LIMIT 50", "day_first.csv")
    monkeypatch.setenv("PEAKEND_LOADER", "duckdb")
    loaded = load(_day_first_spec(generated, "other.toml", fmt))
    assert loaded.report.loader == f"pandas (timestamp_format {fmt!r})"


@pytest.mark.parametrize(
    ("fmt", "pattern"),
    [
        ("%d-%m-%Y %H:%M", "d'-'M'-'yyyy' 'H':'m"),
        ("%m/%d/%Y  %I:%M:%S %p", "M'/'d'/'yyyy' 'h':'m':'s' 'a"),
        ("%d.%m.%Y um %H:%M", "d'.'M'.'yyyy' um 'H':'m"),
        ("[%d %% %m'%Y]", "'['d' % 'M''''yyyy']'"),
        ("%d-%m-%y %H:%M", None),  # Spark's two-digit years are 2000-2099
        ("%d%m%Y", None),  # no separator: Spark reads the first field at a fixed width
        ("%Y-%m-%d", None),  # pandas' ISO parser, not the format's pattern
    ],
)
def test_spark_reads_a_declared_format_with_the_same_fields(fmt: str, pattern: str | None) -> None:
    assert java_pattern(fmt) == pattern


def daylight_saving_spec(out: Path, zone: str) -> Path:
    """Local times in ``zone`` every half hour on and around the daylight-saving
    changes of several years (Amsterdam, São Paulo until 2019, Lord Howe's half hour)."""
    days = ["2018-11-03", "2018-11-04", "2019-02-16", "2019-02-17", "2024-03-31"]
    days += ["2024-04-06", "2024-04-07", "2024-10-05", "2024-10-06", "2024-10-27"]
    times = [f"{d} {h:02d}:{m:02d}:00" for d in days for h in range(24) for m in (0, 30)]
    lines = [f"J{i // 5},visit,{t}" for i, t in enumerate(times)]
    (out / "e.csv").write_text("id,step,ts\n" + "\n".join(lines) + "\n", "utf-8")
    (out / "e.toml").write_text(
        f'name = "e"\n[source]\npath = "e.csv"\ntimezone = "{zone}"\n'
        '[columns]\njourney_id = "id"\ntouchpoint = "step"\nts = "ts"\n',
        encoding="utf-8",
    )
    return out / "e.toml"


@pytest.mark.parametrize(
    "zone", ["Europe/Amsterdam", "America/Sao_Paulo", "Australia/Lord_Howe", "UTC"]
)
def test_local_times_at_daylight_saving_changes_load_the_same_both_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, zone: str
) -> None:
    # Every half hour on and around the changes of several years: gaps and overlaps
    # of one hour and of half an hour, a zone that stopped changing in 2019.
    by_pandas, by_duckdb = both(daylight_saving_spec(tmp_path, zone), monkeypatch)
    unreadable = len(by_duckdb.quarantine)
    assert (unreadable > 0) == (zone != "UTC")  # the gaps and overlaps are set aside
    assert_same(by_pandas, by_duckdb)


def to_sqlite(out: Path, query: str, name: str) -> Path:
    """Write what ``query`` returns (over ``events``) into a SQLite table ``events``,
    with whole-number journey ids (one missing) and a score column that mixes whole
    numbers, decimals and words, as SQLite allows."""
    frame = pd.read_csv(to_csv(out, query, name + ".csv"), dtype=str, keep_default_na=False)
    path = out / name
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as connection:
        connection.execute(f"CREATE TABLE events ({', '.join(frame.columns)}, number)")
        rows = []
        for index, row in enumerate(frame.itertuples(index=False)):
            values: list[object] = [v if v != "" else None for v in row]
            score = values[list(frame.columns).index("score")]
            if isinstance(score, str) and score.replace(",", "").isdigit():
                values[list(frame.columns).index("score")] = float(score.replace(",", "."))
            if isinstance(score, str) and score.endswith(",0"):
                values[list(frame.columns).index("score")] = int(score[:-2])
            number = None if index == 7 else int(str(values[0]).lstrip("J") or 0)
            rows.append((*values, number))
        marks = ", ".join("?" * (len(frame.columns) + 1))
        connection.executemany(f"INSERT INTO events VALUES ({marks})", rows)
    connection.close()
    return path


def database_spec(out: Path, name: str, source: str, journey: str = "journey_id") -> Path:
    """The generator's spec with its events read from the database ``source``."""
    text = (out / "synthetic.toml").read_text(encoding="utf-8")
    text = text.replace('path = "events.parquet"', source, 1)
    text = text.replace('journey_id = "journey_id"', f'journey_id = "{journey}"', 1)
    text = text.replace("[scales.score]", '[scales.score]\nnot_applicable = ["N/A"]', 1)
    path = out / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("journey", ["journey_id", "number"])
def test_a_sqlite_table_of_mixed_values_loads_the_same_both_ways(
    generated: Path, monkeypatch: pytest.MonkeyPatch, journey: str
) -> None:
    to_sqlite(generated, BAD_ROWS, "bad.sqlite")
    source = 'format = "sqlite"\npath = "bad.sqlite"\ntable = "events"\ndecimal = ","'
    spec = database_spec(generated, f"sqlite_{journey}.toml", source, journey)
    by_pandas, by_duckdb = both(spec, monkeypatch)
    assert by_duckdb.report.events_loaded > 90_000
    reasons = {str(p.reason) for p in by_duckdb.report.problems}
    assert {"bad_timestamp", "duplicate_event", "bad_score", "score_out_of_scale"} <= reasons
    if journey == "number":  # whole numbers with one missing: ids without ".0"
        assert "1" in by_duckdb.events["journey_id"].to_pylist()
    assert_same(by_pandas, by_duckdb)


def test_a_duckdb_query_loads_the_same_both_ways(
    generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = generated / "events.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.sql(
            f"CREATE TABLE events AS SELECT *, CAST(score AS DECIMAL(4, 1)) AS exact "
            f"FROM read_parquet('{generated / 'events.parquet'}')"
        )
    query = "SELECT * EXCLUDE (score), exact AS score FROM events ORDER BY journey_id, seq;"
    source = f'format = "duckdb"\npath = "events.duckdb"\nquery = "{query}"'
    by_pandas, by_duckdb = both(database_spec(generated, "duck.toml", source), monkeypatch)
    assert by_duckdb.report.events_loaded > 90_000
    assert_same(by_pandas, by_duckdb)


@contextlib.contextmanager
def postgres_events(url: str, events: Path) -> Iterator[str]:
    """The generated events of Parquet file ``events`` as a new PostgreSQL table (times
    as ``timestamptz``, scores as ``numeric``), whose name it yields; dropped after."""
    import psycopg

    frame = pd.read_parquet(events)
    table = f"events_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url) as connection:
        connection.execute(
            f"CREATE TABLE {table} (journey_id text, customer_id text, ts timestamptz, "
            "seq bigint, touchpoint text, channel text, initiated_by text, score numeric, "
            "valence double precision, text text, lang text)"
        )
        with connection.cursor().copy(f"COPY {table} FROM STDIN") as copy:
            for row in frame.itertuples(index=False):
                copy.write_row([None if pd.isna(v) else v for v in row])
    try:
        yield table
    finally:
        with psycopg.connect(url) as connection:
            connection.execute(f"DROP TABLE {table}")


def test_a_postgres_table_loads_the_same_both_ways(
    generated: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    with postgres_events(postgres_url, generated / "events.parquet") as table:
        source = f'format = "postgres"\nurl = "{postgres_url}"\ntable = "{table}"'
        spec = database_spec(generated, "postgres.toml", source)
        by_pandas, by_duckdb = both(spec, monkeypatch)
        assert by_duckdb.report.events_loaded == len(pd.read_parquet(generated / "events.parquet"))
        assert_same(by_pandas, by_duckdb)


def test_an_unknown_loader_name_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEAKEND_LOADER", "spark")
    with pytest.raises(ConfigError, match="PEAKEND_LOADER='spark' is not a loader"):
        load(demo_spec_path())


PADDED = """
SELECT journey_id, customer_id, ts, seq,
  CASE row_number() OVER () % 1009 WHEN 4 THEN ' ' || touchpoint WHEN 5 THEN '' WHEN 6 THEN NULL
       ELSE touchpoint END AS touchpoint,
  CASE row_number() OVER () % 1013 WHEN 7 THEN channel || '\u00a0' WHEN 8 THEN '  '
       ELSE channel END AS channel,
  CASE row_number() OVER () % 1019 WHEN 9 THEN upper(initiated_by) WHEN 10 THEN 'robot'
       ELSE initiated_by END AS initiated_by,
  score, text, lang
FROM events
"""


def _rewritten(generated: Path, name: str, query: str) -> Path:
    """A spec of the generated data whose events are ``query`` over them, as typed Parquet."""
    path = generated / f"{name}.parquet"
    con = duckdb.connect()
    con.sql(f"CREATE VIEW events AS SELECT * FROM read_parquet('{generated / 'events.parquet'}')")
    con.sql(f"COPY ({query}) TO '{path}' (FORMAT parquet)")
    con.close()
    spec = generated / f"{name}.toml"
    text = (generated / "synthetic.toml").read_text(encoding="utf-8")
    spec.write_text(text.replace('"events.parquet"', f'"{name}.parquet"'), encoding="utf-8")
    return spec


def test_padded_and_blank_values_in_typed_parquet_load_the_same_both_ways(
    generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Dictionary-encoded text columns whose values need stripping, or are blank or
    # wrong, are checked value by value as in the pandas loader.
    by_pandas, by_duckdb = both(_rewritten(generated, "padded", PADDED), monkeypatch)
    reasons = {str(p.reason) for p in by_duckdb.report.problems}
    assert {"missing_value", "bad_value"} <= reasons
    assert_same(by_pandas, by_duckdb)


PADDED_IDS = """
SELECT CASE row_number() OVER () % 1009 WHEN 4 THEN ' ' || journey_id WHEN 5 THEN '  '
            ELSE journey_id END AS journey_id,
  CASE row_number() OVER () % 1013 WHEN 7 THEN customer_id || '\u00a0' ELSE customer_id END
    AS customer_id,
  ts, seq, touchpoint, channel, initiated_by, {score} AS score,
  CASE row_number() OVER () % 1021 WHEN 11 THEN coalesce(text, 'ok') || ' \t' ELSE text END
    AS text,
  lang
FROM events
"""


@pytest.mark.parametrize(
    "score", ["score", "CASE row_number() OVER () % 997 WHEN 3 THEN 9 ELSE score END"]
)
def test_padded_and_blank_ids_in_typed_parquet_load_the_same_both_ways(
    generated: Path, monkeypatch: pytest.MonkeyPatch, score: str
) -> None:
    # Identifier columns are checked once for values that stripping would change;
    # where some would, the events are stripped as they are read. Journey ids are
    # checked by journey when no check drops an event, event by event when one does
    # (scores off the scale).
    spec = _rewritten(generated, "padded_ids", PADDED_IDS.format(score=score))
    by_pandas, by_duckdb = both(spec, monkeypatch)
    reasons = {str(p.reason) for p in by_duckdb.report.problems}
    assert "missing_value" in reasons
    assert ("score_out_of_scale" in reasons) == (score != "score")
    assert_same(by_pandas, by_duckdb)


def test_padded_and_blank_ids_and_comments_in_csv_load_the_same_both_ways(
    generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Identifiers and comments of a CSV file are stripped as the pandas reader strips
    # them, a blank one is missing.
    to_csv(generated, PADDED_IDS.format(score="score"), "padded_ids.csv")
    by_pandas, by_duckdb = both(csv_spec(generated, "padded_ids.csv", "padded.toml"), monkeypatch)
    assert "missing_value" in {str(p.reason) for p in by_duckdb.report.problems}
    assert "ok" in by_duckdb.events["text"].to_pylist()
    assert_same(by_pandas, by_duckdb)


def test_typed_parquet_events_stay_a_view_over_the_file(
    generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PEAKEND_LOADER", "duckdb")
    data = load(generated / "synthetic.toml")
    assert data.event_source is not None
    kinds = dict(
        data.event_source.db.sql(
            "SELECT table_name, table_type FROM information_schema.tables"
        ).fetchall()
    )
    assert "VIEW" in kinds["ev"]  # the checked events are not written into a table
    to_csv(generated, "SELECT * FROM events", "events.csv")
    data = load(csv_spec(generated, "events.csv", "csv.toml"))
    assert data.event_source is not None
    kinds = dict(
        data.event_source.db.sql(
            "SELECT table_name, table_type FROM information_schema.tables"
        ).fetchall()
    )
    assert "VIEW" not in kinds["ev"]  # text from CSV is parsed once, into the table


REPEATED = """
SELECT * FROM events
UNION ALL (SELECT * FROM events WHERE ts IS NOT NULL ORDER BY journey_id, seq LIMIT 20)
UNION ALL (SELECT * FROM events WHERE ts IS NOT NULL ORDER BY journey_id, seq LIMIT {three})
"""


@pytest.mark.parametrize("three", [0, 5])
def test_repeated_events_in_typed_parquet_load_the_same_both_ways(
    generated: Path, monkeypatch: pytest.MonkeyPatch, three: int
) -> None:
    # Pairs of repeated rows and three copies of an event: only the journeys whose
    # key hashes repeat are read back. Both quarantine what pandas does.
    spec = _rewritten(generated, f"repeated{three}", REPEATED.format(three=three))
    by_pandas, by_duckdb = both(spec, monkeypatch)
    assert by_duckdb.report.quarantined_rows == 20 + three
    assert_same(by_pandas, by_duckdb)


SPREAD = """
SELECT * FROM events
UNION ALL (SELECT * FROM events WHERE ts IS NOT NULL AND seq % 3 = 1 AND journey_id LIKE '%3')
UNION ALL (SELECT * REPLACE (CAST(NULL AS TIMESTAMPTZ) AS ts) FROM events
           WHERE journey_id LIKE '%5' AND seq % 10 = 2)
UNION ALL (SELECT * REPLACE (CAST(NULL AS TIMESTAMPTZ) AS ts) FROM events
           WHERE journey_id LIKE '%5' AND seq % 10 = 2)
UNION ALL (SELECT * REPLACE (journey_id || 'b' AS journey_id) FROM events
           WHERE ts IS NOT NULL AND journey_id LIKE '%7')
"""


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_repeated_events_in_many_journeys_load_the_same_both_ways(
    generated: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    # Repeats in a tenth of the journeys, all over the file; equal events without a
    # time (not repeats: they have no place in time to share); events equal but for
    # their journey (not repeats either). The repeats are found by journey.
    spec = _rewritten(generated, "spread", SPREAD)
    if fmt == "csv":
        to_csv(
            generated, f"SELECT * FROM read_parquet('{generated / 'spread.parquet'}')", "spread.csv"
        )
        spec = csv_spec(generated, "spread.csv", "spread_csv.toml")
    by_pandas, by_duckdb = both(spec, monkeypatch)
    repeats = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{generated / 'events.parquet'}') "
        "WHERE ts IS NOT NULL AND seq % 3 = 1 AND journey_id LIKE '%3'"
    ).fetchall()[0][0]
    assert repeats > 100
    assert by_duckdb.report.quarantined_rows == repeats
    assert_same(by_pandas, by_duckdb)


BIG_SPEC = """
name = "big"
default_scale = "csat"

[source]
path = "big.csv"

[columns]
journey_id = "journey_id"
ts = "ts"
touchpoint = "touchpoint"
score = "score"

[scales.csat]
low = 1
high = 5
"""


def test_a_csv_read_in_parallel_keeps_its_row_numbers(tmp_path: Path) -> None:
    """A CSV source is a view numbered in the file's order, parsed once: in a file
    large enough for DuckDB to read in parallel, every quarantined row keeps its
    number (written into its bad value here) and its raw text, and cells that begin
    with spaces lose them as with the pandas reader."""
    n, every = 1_200_000, 49_999
    con = duckdb.connect()
    con.sql(
        "COPY (SELECT 'J' || (i // 5) AS journey_id, "
        f"CASE WHEN i % {every} = 7 THEN 'bad ' || (i + 1) "
        "ELSE strftime(TIMESTAMP '2024-01-01' + to_seconds(i), '%Y-%m-%dT%H:%M:%SZ') END AS ts, "
        "CASE WHEN i % 3 = 0 THEN '  ' ELSE '' END || 'visit' AS touchpoint, "
        f"CAST(1 + i % 5 AS VARCHAR) AS score FROM range({n}) t(i)) "
        f"TO '{tmp_path / 'big.csv'}' (HEADER)"
    )
    con.close()
    (tmp_path / "big.toml").write_text(BIG_SPEC, encoding="utf-8")
    data = load(tmp_path / "big.toml")
    assert data.report.loader == "duckdb"
    bad = data.quarantine[data.quarantine["reason"] == "bad_timestamp"]
    planted = [i + 1 for i in range(n) if i % every == 7]
    assert sorted(int(r) for r in bad["row"]) == planted
    assert all(v == f"bad {r}" for r, v in zip(bad["row"], bad["value"], strict=True))
    assert (data.report.rows_read, data.n_events) == (n, n - len(planted))
    assert data.touchpoints["touchpoint"].to_pylist() == ["visit"]


def test_a_csv_is_read_in_buffers_of_a_quarter_within_bounds() -> None:
    """A file smaller than four 64 MiB buffers is read in quarters (so in parallel),
    never in buffers below 8 MiB."""
    from peakend.loading.duck.source import _csv_buffer

    mib = 1024 * 1024
    assert _csv_buffer(1_000) == 8 * mib
    assert _csv_buffer(44 * mib) == 11 * mib
    assert _csv_buffer(848 * mib) == 64 * mib


def test_a_csv_read_in_parallel_keeps_each_journeys_first_outcome(tmp_path: Path) -> None:
    """Outcomes in a CSV file read in parallel: each journey's outcome is the value of
    its first row in the file, and the journeys keep the order of their first event
    (rows of one journey lie far apart here, some rows have no journey id)."""
    n, journeys, blank = 1_200_000, 600_000, 50_001
    con = duckdb.connect()
    con.sql(
        f"COPY (SELECT CASE WHEN i % {blank} = 9 THEN '' ELSE 'J' || (i % {journeys}) END "
        "AS journey_id, "
        "strftime(TIMESTAMP '2024-01-01' + to_seconds(i), '%Y-%m-%dT%H:%M:%SZ') AS ts, "
        "'visit' AS touchpoint, CAST(1 + i % 5 AS VARCHAR) AS score, "
        f"CAST(i AS VARCHAR) AS overall FROM range({n}) t(i)) "
        f"TO '{tmp_path / 'big.csv'}' (HEADER)"
    )
    con.close()
    spec = BIG_SPEC + '\n[outcomes.overall]\ncolumn = "overall"\nkind = "continuous"\n'
    (tmp_path / "big.toml").write_text(spec, encoding="utf-8")
    data = load(tmp_path / "big.toml")
    assert data.report.loader == "duckdb"
    first: dict[str, int] = {}
    for i in range(n):
        if i % blank != 9:
            first.setdefault(f"J{i % journeys}", i)
    outcomes = data.outcomes.to_pydict()
    assert outcomes["journey_id"] == list(first)
    assert outcomes["overall"] == [float(i) for i in first.values()]
    assert data.report.quarantined_rows == len([i for i in range(n) if i % blank == 9])


def test_bad_values_in_several_outcomes_are_counted_the_same_both_ways(
    generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each outcome's values that are not outcomes are flagged in one pass: the
    count, rows and example of every outcome are the pandas loader's."""
    outcomes = duckdb.connect().sql(
        f"SELECT * FROM read_parquet('{generated / 'outcomes.parquet'}')"
    )
    columns = [c for c in outcomes.columns if c != "journey_id"]
    assert {"overall", "recommend"} <= set(columns)
    every = {"overall": 211, "recommend": 307}  # different rows and counts for each
    spoiled = ", ".join(
        f"CASE WHEN row_number() OVER () % {every[c]} = 3 THEN 'lots' "
        f"ELSE CAST({c} AS VARCHAR) END AS {c}"
        if c in every
        else c
        for c in columns
    )
    path = generated / "bad_outcomes.csv"
    duckdb.connect().sql(
        f"COPY (SELECT journey_id, {spoiled} FROM read_parquet("
        f"'{generated / 'outcomes.parquet'}')) TO '{path}' (HEADER)"
    )
    text = (generated / "synthetic.toml").read_text(encoding="utf-8")
    assert 'path = "outcomes.parquet"' in text
    spec = generated / "bad_outcomes.toml"
    spec.write_text(text.replace('path = "outcomes.parquet"', f'path = "{path.name}"'), "utf-8")
    by_pandas, by_duckdb = both(spec, monkeypatch)
    bad = {p.column: p.count for p in by_duckdb.report.problems if p.reason == "bad_outcome"}
    assert set(bad) == set(every) and bad["overall"] > bad["recommend"] > 10
    assert_same(by_pandas, by_duckdb)


MISSING = """
SELECT journey_id, customer_id,
  CASE row_number() OVER () % 1009 WHEN 4 THEN NULL ELSE ts END AS ts,
  CASE row_number() OVER () % 1013 WHEN 7 THEN NULL ELSE seq END AS seq,
  touchpoint, channel, initiated_by, score, text, lang
FROM events
"""


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
@pytest.mark.parametrize("query", ["SELECT * FROM events", MISSING])
def test_the_count_pass_counts_each_condition_as_a_filter_does(
    generated: Path, monkeypatch: pytest.MonkeyPatch, query: str, fmt: str
) -> None:
    # The count pass counts some conditions by an equivalent form (a column's nulls,
    # which DuckDB answers from the statistics of the file or the table): every count
    # is the one a filter of the condition itself gives, and the load is the pandas
    # loader's.
    from peakend.loading.duck.checks import EventChecks

    counted: list[dict[str, int]] = []
    count_checks = EventChecks._count_checks

    def checked(self: EventChecks) -> None:
        count_checks(self)
        assert_counts_are_filters(self)
        counted.append({**self._counts, "times by nulls": int(self._ts_by_nulls)})

    monkeypatch.setattr(EventChecks, "_count_checks", checked)
    if fmt == "parquet":
        spec = _rewritten(generated, "missing", query)
    else:
        to_csv(generated, query, "missing.csv")
        spec = csv_spec(generated, "missing.csv", "missing_csv.toml")
    by_pandas, by_duckdb = both(spec, monkeypatch)
    assert counted
    assert bool(counted[0]["NOT ts_present"]) == (query == MISSING)
    assert counted[0]["times by nulls"]  # (a typed time, or text times of one shape)
    assert_same(by_pandas, by_duckdb)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
@pytest.mark.parametrize("repeated", [False, True])
def test_outcome_rows_of_journeys_with_and_without_events_load_the_same_both_ways(
    generated: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, repeated: bool
) -> None:
    """An outcome file of one row per journey is joined to the journeys as it is;
    with a journey's row repeated (another value later in the file) each journey
    takes its first row. Journeys without events, some with two rows, are reported
    once each, by their first row, the same as the pandas loader."""
    source = f"read_parquet('{generated / 'outcomes.parquet'}')"
    twice = f"(SELECT * REPLACE (overall + 1 AS overall) FROM {source} LIMIT 7)"
    strangers = f"(SELECT * REPLACE ('X' || journey_id AS journey_id) FROM {source} LIMIT 4)"
    query = f"SELECT * FROM {source} UNION ALL SELECT * FROM {strangers}"
    query += f" UNION ALL SELECT * FROM {strangers}"
    if repeated:
        query += f" UNION ALL SELECT * FROM {twice}"
    name = f"outcomes_{fmt}_{repeated}.{fmt}"
    options = "FORMAT parquet" if fmt == "parquet" else "HEADER"
    duckdb.connect().sql(f"COPY ({query}) TO '{generated / name}' ({options})")
    text = (generated / "synthetic.toml").read_text(encoding="utf-8")
    spec = generated / f"outcomes_{fmt}_{repeated}.toml"
    spec.write_text(text.replace('path = "outcomes.parquet"', f'path = "{name}"'), "utf-8")
    by_pandas, by_duckdb = both(spec, monkeypatch)
    orphans = [p for p in by_duckdb.report.problems if p.reason == "outcome_without_events"]
    assert [p.count for p in orphans] == [4]
    assert_same(by_pandas, by_duckdb)


ENCODED_LINES = [
    {"case": "J1", "step": "call", "at": "2025-01-02T10:00:00Z", "stars": 4,
     "note": "Prijs \u20ac 12 \u2013 \u2018prima\u2019"},
    {"case": "J1", "step": "chat", "at": "2025-01-03T10:00:00Z", "stars": "vier",
     "note": "caf\u00e9"},
    {"case": " ", "step": "call", "at": "2025-01-02T11:00:00Z", "stars": 2},
    {"case": "J2", "step": "call", "at": "2025-01-02T11:00:00Z", "stars": 9, "note": "na\u00efef"},
    {"case": "J2", "step": "chat", "at": "2025-01-02T12:00:00Z", "stars": 3},
]  # fmt: skip
"""JSON lines with a bad score, a missing journey id and a score off the scale."""
ENCODED_LINES_SPEC = """name = "encoded lines"
[source]
path = "events.jsonl"
{encoding}
[columns]
journey_id = "case"
touchpoint = "step"
ts = "at"
score = "stars"
text = "note"
[scales.stars]
low = 1
high = 5
"""


@pytest.mark.parametrize(
    ("written", "declared", "loader"),
    [
        ("cp1252", None, "duckdb"),  # found not to be UTF-8: read as Windows-1252
        ("cp1252", "cp1252", "duckdb"),
        ("cp1252", "latin-1", "duckdb"),  # declared wrong: the bytes read as Latin-1
        ("utf-16", None, "duckdb"),  # a byte-order mark says UTF-16
        ("cp1252 gzip", None, "duckdb"),
        ("cp1252 undefined", None, "duckdb"),  # not Windows-1252 after all: Latin-1
        ("cp1252 undefined", "cp1252", "pandas (bytes that are not valid cp1252)"),
    ],
)
def test_json_lines_in_another_encoding_are_read_in_place_from_a_utf8_copy(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    written: str,
    declared: str | None,
    loader: str,
) -> None:
    lines = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in ENCODED_LINES)
    chat = b'"step": "chat", "at": "2025-01-02T12'
    undefined = (chat, chat.replace(b"chat", b"c\x81at"))  # on the last line
    source = ("events.jsonl", lines, ENCODED_LINES_SPEC, undefined)
    by_duckdb = _encoded_both(tmp_path, monkeypatch, source, written, declared)
    assert by_duckdb.report.loader == loader
    encoding, _, extra = written.partition(" ")
    assert by_duckdb.report.quarantined_rows == 3 or loader != "duckdb"
    if extra == "undefined" and declared == "cp1252":  # the byte is on the last line
        bad = by_duckdb.quarantine[by_duckdb.quarantine["reason"] == "bad_encoding"]
        assert bad["row"].tolist() == [len(ENCODED_LINES)]
    if extra != "undefined" and declared != "latin-1":
        assert "Prijs \u20ac 12 \u2013 \u2018prima\u2019" in by_duckdb.events["text"].to_pylist()
    notes = [p.fix for p in by_duckdb.report.problems if str(p.reason) == "format_detected"]
    if encoding == "cp1252" and declared is None:
        found = "latin-1" if extra == "undefined" else "cp1252"
        assert notes == [not_utf8_note(found)]
    else:
        assert len(notes) == (encoding == "utf-16")


def test_planted_bad_rows_in_windows_1252_json_lines_load_the_same_both_ways(
    generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 20,000 events with planted bad rows (and the repeated ones at the end), in
    # Windows-1252 from the first line on; then with one byte that is not UTF-8 only
    # after the first megabyte, which the reader stops at (the load goes to pandas
    # and says so).
    planted = to_jsonl(generated, BAD_ROWS, "planted.jsonl").read_text("utf-8").splitlines()
    lines = "\n".join([*planted[:20_000], *planted[-25:]]) + "\n"
    first, rest = lines.split("\n", 1)
    euro = first.replace('"journey_id"', '"note": "\u20ac 5 \u2013 caf\u00e9", "journey_id"', 1)
    (generated / "cp1252.jsonl").write_bytes(f"{euro}\n{rest}".encode("cp1252"))
    spec = planted_spec(generated, "cp1252.jsonl", "cp1252_jsonl.toml", 'decimal = ","')
    by_pandas, by_duckdb = both(spec, monkeypatch)
    reasons = {str(p.reason) for p in by_duckdb.report.problems}
    assert {"bad_timestamp", "duplicate_event", "bad_score", "format_detected"} <= reasons
    assert by_duckdb.quarantine["record"].str.contains("\u20ac 5 \u2013 caf\u00e9").any()
    assert_same(by_pandas, by_duckdb)

    last, _, tail = rest.rstrip("\n").rpartition("\n")
    late = tail.replace('"journey_id"', '"note": "caf\u00e9", "journey_id"', 1)
    (generated / "late.jsonl").write_bytes(f"{first}\n{last}\n{late}\n".encode("cp1252"))
    spec = planted_spec(generated, "late.jsonl", "late_jsonl.toml", 'decimal = ","')
    by_pandas, by_duckdb = both(spec, monkeypatch)
    assert by_duckdb.report.loader.startswith("pandas (DuckDB could not read the source")
    assert_same_data(by_pandas, by_duckdb)


def _with_header_rows(csv_file: Path, name: str, before: list[str]) -> Path:
    """``csv_file`` as a survey export: the lines ``before``, the column names, a row of
    question texts (quoted, one breaking its line) and a row of import ids."""
    header, body = csv_file.read_text("utf-8").split("\n", 1)
    names = header.split(",")
    questions = ",".join(f'"What is {n}?\nPlease answer, briefly"' for n in names)
    imports = ",".join(f'"{{""ImportId"":""QID{i}""}}"' for i, _ in enumerate(names))
    path = csv_file.parent / name
    path.write_text("\n".join([*before, header, questions, imports, body]), encoding="utf-8")
    return path


def headed_planted_spec(out: Path) -> Path:
    """A spec of planted bad rows (over the events generated in ``out``) in a CSV file
    with two lines before its three header rows; the outcomes in one with a line
    before two header rows."""
    bad = to_csv(out, BAD_ROWS, "bad.csv")
    _with_header_rows(bad, "headed.csv", ["Survey export", "Made 2024-10-01, by hand"])
    query = f"SELECT * FROM read_parquet('{out / 'outcomes.parquet'}')"
    outcomes = to_csv(out, query, "outcomes.csv")
    header, body = outcomes.read_text("utf-8").split("\n", 1)
    rows = ["Outcomes", header, ",".join("x" for _ in header.split(",")), body]
    (out / "headed_outcomes.csv").write_text("\n".join(rows), encoding="utf-8")
    extra = 'decimal = ","\ntimezone = "Europe/Amsterdam"\nskip_rows = 2\nheader_rows = 3'
    spec = planted_spec(out, "headed.csv", "headed.toml", extra)
    text = spec.read_text("utf-8").replace(
        'path = "outcomes.parquet"', 'path = "headed_outcomes.csv"\nskip_rows = 1\nheader_rows = 2'
    )
    spec.write_text(text, encoding="utf-8")
    return spec


def test_extra_header_rows_and_lines_before_them_are_read_by_duckdb(
    generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The rows are numbered from the first data row, as the pandas reader numbers them.
    spec = headed_planted_spec(generated)
    by_pandas, by_duckdb = both(spec, monkeypatch)
    reasons = {str(p.reason) for p in by_duckdb.report.problems}
    assert {"bad_timestamp", "duplicate_event", "bad_score", "missing_value"} <= reasons
    first = by_duckdb.quarantine.loc[by_duckdb.quarantine["row"] == 1, "value"]
    assert first.tolist() == ["not a time"]  # the first data row is row 1
    assert_same(by_pandas, by_duckdb)


HEADED = """journey,touchpoint,ts,score,
ID,Where,When,"How happy, 1-5",Comment
R1,call,2025-01-02T10:00:00Z,4,ok
R1,chat,2025-01-03T10:00:00Z,x,
,call,2025-01-02T11:00:00Z,2,
R2,call,2025-01-02T11:00:00Z,5,fine
"""
HEADED_SPEC = """name = "headed"
[source]
path = "events.csv"
skip_rows = {skip}
header_rows = 2
[columns]
journey_id = "journey"
touchpoint = "touchpoint"
ts = "ts"
score = "score"
text = "score | Comment"
[scales.score]
low = 1
high = 5
"""


@pytest.mark.parametrize(
    ("before", "loader"),
    [
        ("Exported by SurveyTool\n", "duckdb"),
        # a quoted line break: two lines for the pandas reader, one row for DuckDB's
        ('Exported by SurveyTool\n"Export note, with\na line break"\n', "pandas (header rows "),
        ("", "duckdb"),
    ],
)
def test_header_rows_name_a_column_blank_at_the_top_from_the_row_below(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, before: str, loader: str
) -> None:
    (tmp_path / "events.csv").write_text(before + HEADED, encoding="utf-8")
    skip = before.count("\n")
    (tmp_path / "e.toml").write_text(HEADED_SPEC.format(skip=skip), encoding="utf-8")
    by_pandas, by_duckdb = both(tmp_path / "e.toml", monkeypatch)
    assert by_duckdb.report.loader.startswith(loader)
    assert_same_data(by_pandas, by_duckdb)
    assert sorted(by_duckdb.quarantine["row"]) == [2, 3]
    assert by_duckdb.events["text"].to_pylist() == ["ok", "fine"]


def test_a_ragged_row_after_header_rows_is_the_same_error_both_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ragged = HEADED.replace("R2,call,2025-01-02T11:00:00Z,5,fine", "R2,call,2025,5,fine,extra")
    (tmp_path / "events.csv").write_text("Exported\n" + ragged, encoding="utf-8")
    (tmp_path / "e.toml").write_text(HEADED_SPEC.format(skip=1), encoding="utf-8")
    errors = []
    for loader in ("pandas", "duckdb"):
        monkeypatch.setenv("PEAKEND_LOADER", loader)
        with pytest.raises(SourceError) as caught:
            load(tmp_path / "e.toml")
        errors.append(str(caught.value))
    assert errors[0] == errors[1]
    assert "row 4 (line 7 of the file)" in errors[0]


def _write_rows(rows: list[dict[str, str | None]], path: Path) -> Path:
    """``rows`` (every value text) as a file of the format ``path`` is named for."""
    frame = pd.DataFrame(rows, dtype="string")
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        with path.open("w", encoding="utf-8") as file:
            for row in rows:
                file.write(json.dumps({k: v for k, v in row.items() if v is not None}) + "\n")
    return path


def _survey_rows(n: int) -> list[dict[str, str | None]]:
    """One row per respondent, no id: bad scores, blank touchpoints and bad outcomes
    planted."""
    rows: list[dict[str, str | None]] = []
    for i in range(n):
        score = "vier" if i % 97 == 5 else ("" if i % 89 == 3 else str(1 + i % 5))
        rows.append(
            {
                "touchpoint": " " if i % 101 == 7 else ("call", "chat", "visit")[i % 3],
                "ts": f"2025-01-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
                "score": "9" if i % 211 == 11 else score,
                "nps": "ten" if i % 103 == 13 else str(i % 11),
            }
        )
    return rows


ROW_SPEC = """name = "respondents"
[source]
path = "{path}"
[columns]
journey_id = "@row"
touchpoint = "touchpoint"
ts = "ts"
score = "score"
[scales.score]
low = 1
high = 5
[outcomes.nps]
column = "nps"
kind = "continuous"
"""


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_row_numbers_as_journey_ids_are_read_by_duckdb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    path = _write_rows(_survey_rows(3_000), tmp_path / f"survey.{fmt}")
    (tmp_path / "e.toml").write_text(ROW_SPEC.format(path=path.name), encoding="utf-8")
    by_pandas, by_duckdb = both(tmp_path / "e.toml", monkeypatch)
    reasons = {str(p.reason) for p in by_duckdb.report.problems}
    assert {"bad_score", "missing_value", "score_out_of_scale", "bad_outcome"} <= reasons
    assert by_duckdb.outcomes["journey_id"].to_pylist()[:3] == ["1", "2", "3"]
    assert '"@row": "8"' in by_duckdb.quarantine["record"].tolist()[0]  # row 8: blank step
    assert_same(by_pandas, by_duckdb)


def test_a_column_named_at_row_leaves_the_row_numbers_to_pandas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [{**row, "@row": "x"} for row in _survey_rows(50)]
    path = _write_rows(rows, tmp_path / "survey.csv")
    (tmp_path / "e.toml").write_text(ROW_SPEC.format(path=path.name), encoding="utf-8")
    by_pandas, by_duckdb = both(tmp_path / "e.toml", monkeypatch)
    assert by_duckdb.report.loader == "pandas (a column named '@row', which the spec derives)"
    assert_same_data(by_pandas, by_duckdb)


def _log_rows(n: int, *, planted: bool) -> list[dict[str, str | None]]:
    """An event log whose touchpoint is two columns (name and lifecycle): parts padded
    with Unicode spaces, a blank lifecycle, both parts blank, and (``planted``) bad
    scores."""
    rows: list[dict[str, str | None]] = []
    for i in range(n):
        name: str | None = ("apply", "review", "approve")[i % 3]
        cycle: str | None = "complete" if i % 2 else "start"
        if i % 53 == 4:
            name, cycle = f"\u00a0{name}\u3000", f" {cycle}\t"
        if i % 59 == 6:
            cycle = "  " if i % 2 else None
        if i % 61 == 8:
            name, cycle = " ", None
        score = "vier" if planted and i % 97 == 5 else str(1 + i % 5)
        rows.append(
            {
                "case": f"C{i // 4}",
                "concept:name": name,
                "lifecycle:transition": cycle,
                "time": f"2025-02-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
                "score": score,
            }
        )
    return rows


JOINED_SPEC = """name = "log"
[source]
path = "{path}"
[columns]
journey_id = "case"
touchpoint = ["concept:name", "lifecycle:transition"]
ts = "time"
score = "score"
[scales.score]
low = 1
high = 5
[outcomes.approved]
from_touchpoint = "approve+complete"
"""


@pytest.mark.parametrize(
    ("fmt", "planted"), [("csv", True), ("csv", False), ("parquet", True), ("jsonl", True)]
)
def test_joined_touchpoints_are_read_by_duckdb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, planted: bool
) -> None:
    # (a CSV file without bad numbers is read with its numbers typed)
    path = _write_rows(_log_rows(4_000, planted=planted), tmp_path / f"log.{fmt}")
    (tmp_path / "e.toml").write_text(JOINED_SPEC.format(path=path.name), encoding="utf-8")
    by_pandas, by_duckdb = both(tmp_path / "e.toml", monkeypatch)
    touchpoints = set(by_duckdb.events["touchpoint"].to_pylist())
    names = ("apply", "review", "approve")
    assert touchpoints == {f"{n}+{c}" for n in names for c in ("start", "complete")} | set(names)
    missing = by_duckdb.quarantine[by_duckdb.quarantine["reason"] == "missing_value"]
    assert '"concept:name+lifecycle:transition": null}' in missing["record"].iloc[0]
    assert ("bad_score" in set(by_duckdb.quarantine["reason"])) == planted
    assert_same(by_pandas, by_duckdb)


@pytest.mark.parametrize("change", ["a column named as the join", "a part missing"])
def test_a_joined_touchpoint_duckdb_cannot_give_is_left_to_pandas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    rows = _log_rows(50, planted=True)
    if change == "a part missing":
        rows = [{k: v for k, v in row.items() if k != "lifecycle:transition"} for row in rows]
    else:
        rows = [{**row, "concept:name+lifecycle:transition": "x"} for row in rows]
    path = _write_rows(rows, tmp_path / "log.csv")
    (tmp_path / "e.toml").write_text(JOINED_SPEC.format(path=path.name), encoding="utf-8")
    if change == "a part missing":  # the same error both ways
        errors = []
        for loader in ("pandas", "duckdb"):
            monkeypatch.setenv("PEAKEND_LOADER", loader)
            with pytest.raises(MissingColumnError) as caught:
                load(tmp_path / "e.toml")
            errors.append(str(caught.value))
        assert errors[0] == errors[1]
        return
    by_pandas, by_duckdb = both(tmp_path / "e.toml", monkeypatch)
    why = "pandas (a column named 'concept:name+lifecycle:transition', which the spec derives)"
    assert by_duckdb.report.loader == why
    assert_same_data(by_pandas, by_duckdb)
