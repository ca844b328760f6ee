"""Tests for peakend.load: every supported shape of good data loads completely and exactly."""

from __future__ import annotations

import dataclasses
import gzip
import math
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from peakend.errors import ConfigError, SchemaError, SourceError
from peakend.load import Dataset, ensure_events, load
from peakend.schema import EVENT_SCHEMA, TOUCHPOINT_SCHEMA
from peakend.spec import read_spec
from peakend.validate import Reason, Severity

pytestmark = pytest.mark.usefixtures("loader")  # every test with both loaders

DATA = Path(__file__).parent / "data"


def events(dataset: Dataset) -> list[dict[str, object]]:
    return dataset.events.to_pylist()


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def column(dataset: Dataset, name: str) -> list[object]:
    return dataset.events.column(name).to_pylist()


def outcomes_by_journey(dataset: Dataset, name: str) -> dict[str, object]:
    table = dataset.outcomes.to_pydict()
    return dict(zip(table["journey_id"], table[name], strict=True))


def assert_nothing_lost(dataset: Dataset) -> None:
    report = dataset.report
    assert report.rows_read == report.events_loaded + report.quarantined_rows


# -- a clean long CSV --------------------------------------------------------


@pytest.fixture(scope="module")
def good() -> Dataset:
    return load(DATA / "good_long.toml")


def test_good_long_csv_loads_every_row_without_problems(good: Dataset) -> None:
    assert good.report.ok
    assert good.report.problems == []
    assert (good.report.rows_read, good.report.events_loaded, good.report.journeys) == (12, 12, 4)
    assert good.report.quarantined_rows == 0
    assert good.quarantine.empty
    assert good.events.schema == EVENT_SCHEMA
    assert good.touchpoints.schema == TOUCHPOINT_SCHEMA


def test_events_are_ordered_by_journey_then_time(good: Dataset) -> None:
    rows = events(good)
    assert [r["touchpoint"] for r in rows if r["journey_id"] == "J2"] == [
        "search",
        "booking",
        "support",
        "delivery",
    ]
    first = rows[0]
    assert first["journey_id"] == "J1"
    assert first["customer_id"] == "C1"
    assert first["channel"] == "web"
    assert first["ts"] == utc(2024, 3, 1, 9, 0)
    assert first["seq"] == 0
    assert (first["score"], first["valence"]) == (4.0, 0.5)


def test_initiator_comes_from_the_catalogue(good: Dataset) -> None:
    by_touchpoint = {r["touchpoint"]: r["initiated_by"] for r in events(good)}
    assert by_touchpoint == {
        "search": "customer",
        "booking": "customer",
        "support": "company",
        "delivery": "company",
    }


def test_binary_outcome_reads_satisfied_as_one_whatever_the_case(good: Dataset) -> None:
    assert outcomes_by_journey(good, "satisfied") == {"J1": 1.0, "J2": 0.0, "J3": 1.0, "J4": 0.0}
    assert good.outcome_names == ["satisfied"]


def test_catalogue_keeps_declared_order_and_stages(good: Dataset) -> None:
    assert good.touchpoints.column("touchpoint").to_pylist() == [
        "search",
        "booking",
        "support",
        "delivery",
    ]
    assert good.touchpoints.column("stage").to_pylist() == [1, 2, 3, 4]


def test_load_accepts_a_spec_object_and_a_string_path(good: Dataset) -> None:
    again = load(str(DATA / "good_long.toml"))
    assert again.events.equals(good.events)
    from_spec = load(read_spec(DATA / "good_long.toml"))
    assert from_spec.events.equals(good.events)
    assert "12 events in 4 journeys, 0 rows quarantined" in repr(good)


def test_ensure_events_accepts_a_dataset_or_a_canonical_table(good: Dataset) -> None:
    assert ensure_events(good) is good.events
    assert ensure_events(good.events) is good.events
    with pytest.raises(ValueError, match="lacks canonical column"):
        ensure_events(pa.table({"journey_id": ["a"]}))


def test_gzipped_csv_is_recognised_by_its_bytes(tmp_path: Path) -> None:
    (tmp_path / "good_long.csv.gz").write_bytes(
        gzip.compress((DATA / "good_long.csv").read_bytes())
    )
    spec = (DATA / "good_long.toml").read_text(encoding="utf-8")
    path = tmp_path / "spec.toml"
    path.write_text(spec.replace('"good_long.csv"', '"good_long.csv.gz"'), encoding="utf-8")
    assert load(path).report.events_loaded == 12


# -- delimiters, decimal commas, encodings ------------------------------------


def test_semicolon_decimal_comma_csv_reads_numbers_and_local_dates() -> None:
    data = load(DATA / "semicolon_decimal.toml")
    assert data.report.ok and data.report.events_loaded == 5
    assert column(data, "score") == [7.5, 8.0, 3.5, 6.0, 10.0]
    # 0-10 scale, neutral 5: each side stretched to ±1
    assert column(data, "valence") == [0.5, 0.6, -0.3, 0.2, 1.0]
    # day-first local times in Amsterdam: winter +01:00, summer +02:00
    assert column(data, "ts")[0] == utc(2024, 3, 1, 8, 0)
    assert column(data, "ts")[4] == utc(2024, 7, 1, 9, 0)
    # "1.234,75" is one thousand two hundred and thirty-four point seven five
    assert outcomes_by_journey(data, "spend") == {"A": 1234.75, "B": 0.99, "C": 5.0}


def test_semicolon_file_read_with_commas_says_to_set_the_delimiter(tmp_path: Path) -> None:
    spec = read_spec(DATA / "semicolon_decimal.toml")
    spec = dataclasses.replace(spec, source=dataclasses.replace(spec.source, delimiter=","))
    with pytest.raises(SourceError, match='set delimiter = ";"'):
        load(spec)


def test_cp1252_file_declared_as_cp1252_decodes_every_character() -> None:
    data = load(DATA / "cp1252.toml")
    assert data.report.ok
    assert data.report.events_loaded == 6
    texts = set(column(data, "text"))
    assert {"Très bien – merci", "Café was closed", "Grüße aus Köln"} <= texts


def test_unknown_encoding_is_a_source_error() -> None:
    spec = read_spec(DATA / "cp1252.toml")
    spec = dataclasses.replace(spec, source=dataclasses.replace(spec.source, encoding="klingon"))
    with pytest.raises(SourceError, match="unknown encoding 'klingon'"):
        load(spec)


# -- JSON lines and Parquet ----------------------------------------------------


def test_json_lines_load_with_native_numbers_and_offsets() -> None:
    data = load(DATA / "jsonl.toml")
    assert data.report.rows_read == 5
    assert data.report.events_loaded == 4
    assert_nothing_lost(data)
    rows = events(data)
    assert rows[0]["ts"] == utc(2024, 10, 1, 6, 0)
    assert rows[0]["channel"] == "web"
    assert outcomes_by_journey(data, "approved") == {"L1": 1.0, "L2": 0.0}


def write_parquet_dataset(tmp_path: Path, ts: pa.Array, *, timezone: str = "UTC") -> Path:
    table = pa.table(
        {
            "journey": ["P1", "P1", "P2", "P2", "P3"],
            "step": ["visit", "pay", "visit", "pay", "visit"],
            "at": ts,
            "score": pa.array([4, 5, 1, 3, 8], pa.int64()),
            "result": ["satisfied", "satisfied", "dissatisfied", "dissatisfied", "satisfied"],
        }
    )
    pq.write_table(table, tmp_path / "events.parquet")
    spec = tmp_path / "parquet.toml"
    spec.write_text(
        f"""
name = "parquet"
[source]
path = "events.parquet"
timezone = "{timezone}"
[columns]
journey_id = "journey"
touchpoint = "step"
ts = "at"
score = "score"
[scales.csat]
low = 1
high = 5
[outcomes.satisfied]
column = "result"
kind = "binary"
positive = ["satisfied"]
""",
        encoding="utf-8",
    )
    return spec


def test_parquet_with_utc_timestamps_loads_and_quarantines_off_scale_scores(
    tmp_path: Path,
) -> None:
    stamps = [datetime(2024, 1, d, 12, tzinfo=UTC) for d in (1, 1, 2, 2, 3)]
    spec = write_parquet_dataset(tmp_path, pa.array(stamps, pa.timestamp("us", tz="UTC")))
    data = load(spec)
    assert read_spec(spec).source.format == "parquet"
    assert data.report.events_loaded == 4
    assert_nothing_lost(data)
    (problem,) = data.report.errors
    assert (problem.reason, problem.column, problem.rows) == (
        Reason.SCORE_OUT_OF_SCALE,
        "score",
        (5,),
    )
    assert column(data, "ts")[0] == utc(2024, 1, 1, 12)
    assert outcomes_by_journey(data, "satisfied") == {"P1": 1.0, "P2": 0.0}


def test_parquet_naive_timestamps_are_read_in_the_declared_zone(tmp_path: Path) -> None:
    stamps = [datetime(2024, 7, d, 12) for d in (1, 1, 2, 2, 3)]
    spec = write_parquet_dataset(
        tmp_path, pa.array(stamps, pa.timestamp("us")), timezone="Europe/Amsterdam"
    )
    data = load(spec)
    assert column(data, "ts")[0] == utc(2024, 7, 1, 10)
    assumed = [p for p in data.report.problems if p.reason is Reason.TIMEZONE_ASSUMED]
    assert assumed and assumed[0].count == 5


def test_corrupt_parquet_is_a_source_error(tmp_path: Path) -> None:
    spec = write_parquet_dataset(
        tmp_path, pa.array([datetime(2024, 1, 1, tzinfo=UTC)] * 5, pa.timestamp("us", tz="UTC"))
    )
    (tmp_path / "events.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(SourceError, match="not a readable Parquet file"):
        load(spec)


# -- time zones ----------------------------------------------------------------


def test_naive_timestamps_are_read_in_amsterdam_and_stored_in_utc() -> None:
    data = load(DATA / "naive_timestamps.toml")
    by_journey = {(r["journey_id"], r["touchpoint"]): r["ts"] for r in events(data)}
    assert by_journey[("N1", "visit")] == utc(2024, 7, 1, 8, 0)  # CEST, +02:00
    assert by_journey[("N2", "visit")] == utc(2024, 12, 1, 8, 0)  # CET, +01:00


def test_offsets_are_exact_and_naive_values_use_the_declared_zone() -> None:
    data = load(DATA / "mixed_timezones.toml")
    assert data.report.events_loaded == 6
    ts = {(r["journey_id"], r["touchpoint"]): r["ts"] for r in events(data)}
    assert ts == {
        ("Z1", "visit"): utc(2024, 7, 1, 8, 0),  # 10:00+02:00
        ("Z1", "pay"): utc(2024, 7, 1, 8, 30),  # 10:30 Amsterdam summer
        ("Z2", "visit"): utc(2024, 1, 15, 9, 0),  # 09:00Z
        ("Z2", "pay"): utc(2024, 1, 15, 9, 0),  # 10:00 Amsterdam winter
        ("Z3", "visit"): utc(2024, 1, 15, 14, 0),  # 09:00-05:00
        ("Z3", "pay"): utc(2024, 1, 15, 23, 0),  # the date 2024-01-16, midnight in Amsterdam
    }


# -- scales --------------------------------------------------------------------


@pytest.fixture(scope="module")
def scaled() -> Dataset:
    return load(DATA / "scales.toml")


def test_scales_file_loads_every_row(scaled: Dataset) -> None:
    assert scaled.report.ok
    assert scaled.report.events_loaded == 12
    assert_nothing_lost(scaled)


def test_reversed_effort_scale_maps_one_to_plus_one(scaled: Dataset) -> None:
    pairs = [(r["score"], r["valence"]) for r in events(scaled) if r["touchpoint"] == "effort"]
    assert pairs == [(1.0, 1.0), (4.0, 0.0), (7.0, -1.0)]


def test_one_to_five_scale_maps_one_three_five_to_minus_one_zero_one(scaled: Dataset) -> None:
    rows = [r for r in events(scaled) if r["touchpoint"] == "csat"]
    assert [(r["score"], r["valence"]) for r in rows[:3]] == [(1.0, -1.0), (3.0, 0.0), (5.0, 1.0)]


def test_zero_as_not_applicable_keeps_the_event_without_a_score(scaled: Dataset) -> None:
    last = [r for r in events(scaled) if r["touchpoint"] == "csat"][-1]
    assert last["score"] is None and last["valence"] is None
    (problem,) = scaled.report.problems
    assert (problem.reason, problem.severity) == (Reason.NOT_APPLICABLE, Severity.INFO)
    assert (problem.source, problem.column, problem.rows) == ("scales.csv", "score", (7,))
    assert problem.example == "0"


def test_zero_to_ten_with_neutral_seven_stretches_each_side(scaled: Dataset) -> None:
    pairs = [(r["score"], r["valence"]) for r in events(scaled) if r["touchpoint"] == "nps"]
    expected = [(0.0, -1.0), (7.0, 0.0), (10.0, 1.0), (4.0, -3 / 7), (8.5, 0.5)]
    assert [s for s, _ in pairs] == [s for s, _ in expected]
    for (_, got), (_, want) in zip(pairs, expected, strict=True):
        assert math.isclose(got, want)


def test_scores_without_a_declared_scale_are_a_config_error(tmp_path: Path) -> None:
    shutil.copy(DATA / "good_long.csv", tmp_path)
    spec = (DATA / "good_long.toml").read_text(encoding="utf-8")
    spec = spec.replace('default_scale = "csat"\n', "").replace(
        "[scales.csat]\nlow = 1\nhigh = 5\n", ""
    )
    (tmp_path / "s.toml").write_text(spec, encoding="utf-8")
    with pytest.raises(ConfigError, match="without a declared scale: booking"):
        load(tmp_path / "s.toml")


def test_given_valence_column_overrides_the_score_mapping(tmp_path: Path) -> None:
    (tmp_path / "v.csv").write_text(
        "id,step,mood\na,visit,0.25\na,pay,-0.5\nb,visit,1.5\nb,pay,\n", encoding="utf-8"
    )
    (tmp_path / "v.toml").write_text(
        'name = "v"\n[source]\npath = "v.csv"\n'
        '[columns]\njourney_id = "id"\ntouchpoint = "step"\nvalence = "mood"\n',
        encoding="utf-8",
    )
    data = load(tmp_path / "v.toml")
    assert column(data, "valence") == [0.25, -0.5, None]
    (problem,) = data.report.errors
    assert (problem.reason, problem.column, problem.rows) == (Reason.BAD_VALUE, "mood", (3,))
    assert "[-1, 1]" in problem.message()
    assert_nothing_lost(data)


# -- wide survey exports -------------------------------------------------------


@pytest.fixture(scope="module")
def wide() -> Dataset:
    return load(DATA / "wide_survey.toml")


def test_wide_export_becomes_one_event_per_answer_in_spec_order(wide: Dataset) -> None:
    first = [r for r in events(wide) if r["journey_id"] == "101"]
    assert [r["touchpoint"] for r in first] == ["check_in", "flight", "baggage"]
    assert [r["score"] for r in first] == [5.0, 5.0, 4.0]
    assert [r["valence"] for r in first] == [1.0, 1.0, 0.5]
    assert all(r["ts"] is None for r in first)


def test_wide_export_keeps_empty_and_not_applicable_answers_unscored(wide: Dataset) -> None:
    rows = {(r["journey_id"], r["touchpoint"]): r for r in events(wide)}
    assert rows[("102", "baggage")]["score"] is None  # 0 = not applicable
    assert rows[("103", "flight")]["score"] is None  # left empty


def test_wide_export_reads_outcomes_and_attributes_per_respondent(wide: Dataset) -> None:
    assert outcomes_by_journey(wide, "satisfied") == {
        "101": 1.0,
        "102": 0.0,
        "103": 1.0,
        "104": 1.0,
        "105": 0.0,
    }
    assert outcomes_by_journey(wide, "segment")["104"] == "business"


def test_wide_export_counts(wide: Dataset) -> None:
    report = wide.report
    assert (report.rows_read, report.journeys) == (7, 5)
    # 5 respondents x 3 touchpoints, minus 104's check-in (9) and 105's flight ("x")
    assert report.events_loaded == 13
    assert report.quarantined_rows == 4


# -- outcomes from a separate file --------------------------------------------


def test_outcome_source_is_joined_on_its_own_journey_column() -> None:
    data = load(DATA / "outcome_source.toml")
    assert data.report.events_loaded == 6
    assert data.report.journeys == 4
    satisfied = outcomes_by_journey(data, "satisfied")
    nps = outcomes_by_journey(data, "nps")
    assert satisfied["O1"] == 1.0 and nps["O1"] == 9.0
    assert satisfied["O2"] == 0.0 and nps["O2"] == 2.0
    assert satisfied["O3"] is None and nps["O3"] is None
    assert "O9" not in satisfied


# -- strict mode from the spec ---------------------------------------------------


def test_strict_from_the_spec_and_the_argument_that_overrides_it() -> None:
    spec = dataclasses.replace(read_spec(DATA / "duplicates.toml"), strict=True)
    with pytest.raises(SchemaError):
        load(spec)
    assert load(spec, strict=False).report.quarantined_rows == 3


def test_strict_mode_passes_clean_data(good: Dataset) -> None:
    assert load(DATA / "good_long.toml", strict=True).report.ok


def test_an_events_frame_matches_the_canonical_schema_even_when_empty_after_quarantine(
    tmp_path: Path,
) -> None:
    (tmp_path / "e.csv").write_text("id,step,score\na,visit,9\n", encoding="utf-8")
    (tmp_path / "e.toml").write_text(
        'name = "e"\n[source]\npath = "e.csv"\n[columns]\njourney_id = "id"\n'
        'touchpoint = "step"\nscore = "score"\n[scales.s]\nlow = 1\nhigh = 5\n',
        encoding="utf-8",
    )
    data = load(tmp_path / "e.toml")
    assert data.events.num_rows == 0
    assert data.events.schema == EVENT_SCHEMA
    assert data.report.quarantined_rows == 1
    assert isinstance(data.quarantine, pd.DataFrame)


def test_text_cells_are_stripped_as_python_strips_them() -> None:
    """The Arrow strip removes exactly the characters ``str.strip()`` removes."""
    import sys

    from peakend.load import PYTHON_WHITESPACE, _stripped

    every_space = "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace())
    assert PYTHON_WHITESPACE == every_space
    cells = [" a ", "\x1cb\u3000", "\xa0", "c\u200b", None, "", "\t d e\n"]
    column = pd.Series(cells, index=range(10, 17), name="id", dtype=object)
    stripped = _stripped(column)
    assert stripped.dtype == column.astype("string").dtype
    assert list(stripped.index) == list(column.index) and stripped.name == "id"
    expected = [None if c is None or not c.strip() else c.strip() for c in cells]
    assert [None if v is pd.NA else v for v in stripped.tolist()] == expected
    assert expected[:4] == ["a", "b", None, "c\u200b"]
