"""Tests for validation: every kind of bad file, where its problems are, and what is kept.

Each case loads a small bad file from ``tests/data`` and checks that the problem
names the file, the column, the 1-based data rows and the fix; that the failing
rows are in the quarantine with their reason and raw record; that every good
row is still loaded; and that strict mode raises instead.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from peakend.errors import DataError, MissingColumnError, SchemaError, SourceError
from peakend.load import Dataset, load
from peakend.validate import (
    ROW,
    Problem,
    Quarantine,
    Reason,
    Severity,
    ValidationReport,
    parse_numbers,
    parse_timestamps,
    problem_from_mask,
)

pytestmark = pytest.mark.usefixtures("loader")  # every test with both loaders

DATA = Path(__file__).parent / "data"


def spec(name: str) -> Path:
    return DATA / f"{name}.toml"


def only(dataset: Dataset, reason: Reason) -> Problem:
    found = [p for p in dataset.report.problems if p.reason is reason]
    assert len(found) == 1, dataset.report.problems
    return found[0]


def quarantined(dataset: Dataset, reason: Reason) -> pd.DataFrame:
    return dataset.quarantine[dataset.quarantine["reason"] == str(reason)]


def assert_nothing_lost(dataset: Dataset) -> None:
    report = dataset.report
    assert report.rows_read == report.events_loaded + report.quarantined_rows
    assert (
        report.quarantined_rows == dataset.quarantine[["source", "row"]].drop_duplicates().shape[0]
    )


def assert_strict_fails(name: str, reasons: set[Reason]) -> SchemaError:
    with pytest.raises(SchemaError) as info:
        load(spec(name), strict=True)
    error = info.value
    assert {p.reason for p in error.problems} == reasons
    assert all(p.severity is Severity.ERROR for p in error.problems)
    assert "in strict mode" in str(error)
    for problem in error.problems:
        assert problem.message() in str(error)
    return error


# -- missing and unknown columns -----------------------------------------------


def test_missing_columns_are_all_named_with_what_the_file_has() -> None:
    with pytest.raises(MissingColumnError) as info:
        load(spec("missing_column"))
    error = info.value
    assert error.column == "timestamp"
    assert error.source == "missing_column.csv"
    message = str(error)
    assert "'timestamp', 'score' named in the spec are not in the source" in message
    assert "The source has: 'journey_id', 'touchpoint', 'time', 'rating'" in message
    assert "Fix the column names in the spec" in message
    assert isinstance(error, DataError)


def test_missing_outcome_columns_in_the_outcome_source_are_named(tmp_path: Path) -> None:
    (tmp_path / "events.csv").write_text("id,step\na,visit\n", encoding="utf-8")
    (tmp_path / "outcomes.csv").write_text("key,result\na,yes\n", encoding="utf-8")
    (tmp_path / "s.toml").write_text(
        'name = "s"\n[source]\npath = "events.csv"\n[columns]\njourney_id = "id"\n'
        'touchpoint = "step"\n[outcome_source]\npath = "outcomes.csv"\njourney_id = "id"\n'
        '[outcomes.won]\ncolumn = "won"\nkind = "binary"\npositive = ["yes"]\n',
        encoding="utf-8",
    )
    with pytest.raises(MissingColumnError, match="outcome column\\(s\\) 'id', 'won'") as info:
        load(tmp_path / "s.toml")
    assert info.value.source == "outcomes.csv"


def test_unknown_columns_are_a_warning_naming_them_and_the_fix() -> None:
    data = load(spec("unknown_column"))
    problem = only(data, Reason.UNKNOWN_COLUMN)
    assert problem.severity is Severity.WARNING
    assert problem.source == "unknown_column.csv"
    assert problem.count == 2
    assert problem.example == "browser, utm_source"
    assert "ignore_columns" in problem.message()
    assert data.report.ok
    assert data.report.events_loaded == 5
    assert_nothing_lost(data)
    assert load(spec("unknown_column"), strict=True).report.events_loaded == 5


def test_ignore_columns_silences_unknown_columns(tmp_path: Path) -> None:
    text = spec("unknown_column").read_text(encoding="utf-8")
    text = text.replace('name = "unknown_column"', 'name = "u"\nignore_columns = ["browser"]')
    text = text.replace('path = "unknown_column.csv"', f'path = "{DATA / "unknown_column.csv"}"')
    (tmp_path / "u.toml").write_text(text, encoding="utf-8")
    problem = only(load(tmp_path / "u.toml"), Reason.UNKNOWN_COLUMN)
    assert problem.example == "utm_source"


# -- timestamps ------------------------------------------------------------------


def test_unparsable_timestamps_are_quarantined_with_row_column_and_fix() -> None:
    data = load(spec("bad_timestamps"))
    problem = only(data, Reason.BAD_TIMESTAMP)
    assert problem.severity is Severity.ERROR
    assert (problem.source, problem.column, problem.rows) == (
        "bad_timestamps.csv",
        "timestamp",
        (2, 4),
    )
    assert problem.count == 2
    assert problem.example == "yesterday"
    assert "timestamp_format" in problem.fix and "ISO 8601" in problem.message()
    bad = quarantined(data, Reason.BAD_TIMESTAMP)
    assert bad["row"].tolist() == [2, 4]
    assert bad["value"].tolist() == ["yesterday", "2024-13-45T10:00:00Z"]
    assert json.loads(bad["record"].iloc[0]) == {
        "journey_id": "T1",
        "touchpoint": "pay",
        "timestamp": "yesterday",
        "score": "4",
    }
    assert data.report.quarantined_rows == 2
    assert_nothing_lost(data)


def test_an_empty_timestamp_keeps_the_event_and_warns() -> None:
    data = load(spec("bad_timestamps"))
    problem = only(data, Reason.MISSING_VALUE)
    assert (problem.severity, problem.column, problem.rows) == (
        Severity.WARNING,
        "timestamp",
        (7,),
    )
    assert "quarantined" not in problem.message()
    kept = [r for r in data.events.to_pylist() if r["journey_id"] == "T4"]
    assert len(kept) == 1 and kept[0]["ts"] is None


def test_strict_mode_fails_on_unparsable_timestamps() -> None:
    error = assert_strict_fails("bad_timestamps", {Reason.BAD_TIMESTAMP})
    assert "(row 2, 4)" in str(error)


def test_naive_timestamps_say_which_zone_was_assumed() -> None:
    data = load(spec("naive_timestamps"))
    problem = only(data, Reason.TIMEZONE_ASSUMED)
    assert problem.severity is Severity.INFO
    assert (problem.column, problem.count, problem.rows) == ("timestamp", 5, (1, 2, 3, 4, 5))
    assert "'Europe/Amsterdam'" in problem.message()
    assert "set `timezone` in [source]" in problem.message()
    assert data.report.ok


def test_mixed_offsets_and_naive_values_are_a_warning_naming_the_naive_rows() -> None:
    data = load(spec("mixed_timezones"))
    problem = only(data, Reason.MIXED_TIMEZONES)
    assert problem.severity is Severity.WARNING
    assert (problem.source, problem.column, problem.rows) == (
        "mixed_timezones.csv",
        "timestamp",
        (2, 4, 6),
    )
    assert problem.example == "2024-07-01 10:30:00"
    assert "converted to UTC" in problem.message() and "Europe/Amsterdam" in problem.message()
    assert data.report.quarantined_rows == 0
    assert_nothing_lost(data)


def test_daylight_saving_gaps_and_overlaps_are_quarantined_not_guessed() -> None:
    data = load(spec("dst_ambiguous"))
    problem = only(data, Reason.BAD_TIMESTAMP)
    assert (problem.column, problem.rows, problem.example) == (
        "timestamp",
        (2, 4),
        "2023-10-29 02:30:00",
    )
    assert quarantined(data, Reason.BAD_TIMESTAMP)["value"].tolist() == [
        "2023-10-29 02:30:00",  # happened twice in Amsterdam
        "2024-03-31 02:30:00",  # never happened in Amsterdam
    ]
    ts = {r["journey_id"]: r["ts"] for r in data.events.to_pylist()}
    assert ts["D1"] == pd.Timestamp("2023-10-28T23:30:00Z").to_pydatetime()  # 01:30 CEST
    assert ts["D2"] == pd.Timestamp("2024-03-31T00:30:00Z").to_pydatetime()  # 01:30 CET
    assert ts["D3"] == pd.Timestamp("2024-03-31T01:30:00Z").to_pydatetime()  # 03:30 CEST
    assert_nothing_lost(data)
    assert_strict_fails("dst_ambiguous", {Reason.BAD_TIMESTAMP})


# -- scores ------------------------------------------------------------------------


def test_scores_out_of_scale_are_quarantined_and_empty_scores_kept() -> None:
    data = load(spec("score_out_of_scale"))
    problem = only(data, Reason.SCORE_OUT_OF_SCALE)
    assert problem.severity is Severity.ERROR
    assert (problem.source, problem.column, problem.rows, problem.count) == (
        "score_out_of_scale.csv",
        "score",
        (2, 4, 7),
        3,
    )
    assert "[scales]" in problem.fix
    bad = quarantined(data, Reason.SCORE_OUT_OF_SCALE)
    assert bad["value"].tolist() == ["7", "-1", "5.5"]
    assert json.loads(bad["record"].iloc[1])["journey_id"] == "S2"
    assert data.report.events_loaded == 4
    unscored = [r for r in data.events.to_pylist() if r["score"] is None]
    assert [(r["journey_id"], r["touchpoint"]) for r in unscored] == [("S3", "pay")]
    assert_nothing_lost(data)
    assert_strict_fails("score_out_of_scale", {Reason.SCORE_OUT_OF_SCALE})


def test_unreadable_off_scale_and_not_applicable_scores_in_one_file() -> None:
    data = load(spec("bad_score"))
    not_a_number = only(data, Reason.BAD_SCORE)
    assert (not_a_number.rows, not_a_number.example) == ((2,), "good")
    assert 'add not_applicable = ["good"] to [scales.csat]' in not_a_number.message()
    off_scale = only(data, Reason.SCORE_OUT_OF_SCALE)
    assert (off_scale.rows, off_scale.example) == ((3,), "9")
    na = only(data, Reason.NOT_APPLICABLE)
    assert (na.severity, na.rows) == (Severity.INFO, (5,))
    assert data.report.events_loaded == 3
    assert data.quarantine["reason"].tolist() == ["bad_score", "score_out_of_scale"]
    assert_nothing_lost(data)
    assert_strict_fails("bad_score", {Reason.BAD_SCORE, Reason.SCORE_OUT_OF_SCALE})


def test_json_lines_off_scale_score_is_quarantined() -> None:
    data = load(spec("jsonl"))
    problem = only(data, Reason.SCORE_OUT_OF_SCALE)
    assert (problem.source, problem.column, problem.rows) == ("events.jsonl", "stars", (5,))
    record = json.loads(data.quarantine["record"].iloc[0])
    # JSON lines are read as text, like CSV: the number as the file writes it
    assert record["case"] == "L3" and record["stars"] == "9"


# -- duplicates ------------------------------------------------------------------


def test_duplicate_events_keep_the_first_copy_and_quarantine_the_rest() -> None:
    data = load(spec("duplicates"))
    problem = only(data, Reason.DUPLICATE_EVENT)
    assert problem.severity is Severity.ERROR
    assert (problem.source, problem.rows, problem.count) == ("duplicates.csv", (3, 5, 6), 3)
    assert "first copy is kept" in problem.message()
    assert quarantined(data, Reason.DUPLICATE_EVENT)["row"].tolist() == [3, 5, 6]
    assert data.report.events_loaded == 6
    # the second P3 visit an hour later is a new event, not a duplicate
    assert sum(1 for r in data.events.to_pylist() if r["journey_id"] == "P3") == 2
    assert_nothing_lost(data)
    assert_strict_fails("duplicates", {Reason.DUPLICATE_EVENT})


# -- outcomes --------------------------------------------------------------------


@pytest.fixture(scope="module")
def outcome_source() -> Dataset:
    return load(spec("outcome_source"))


def test_journeys_without_outcome_are_kept_and_named(outcome_source: Dataset) -> None:
    problem = only(outcome_source, Reason.NO_OUTCOME)
    assert problem.severity is Severity.WARNING
    assert problem.source == "outcomes.csv"
    assert (problem.count, problem.example) == (2, "O3, O4")
    assert "add their outcome to the outcome source" in problem.message()
    assert outcome_source.report.journeys == 4
    assert outcome_source.report.ok


def test_unreadable_outcome_values_name_the_outcome_row_and_allowed_values(
    outcome_source: Dataset,
) -> None:
    problems = [p for p in outcome_source.report.problems if p.reason is Reason.BAD_OUTCOME]
    by_column = {p.column: p for p in problems}
    assert set(by_column) == {"result", "nps"}
    result = by_column["result"]
    assert (result.source, result.rows, result.example) == ("outcomes.csv", (3,), "unsure")
    assert "allowed now: satisfied, dissatisfied" in result.message()
    assert "[outcomes.satisfied]" in result.fix
    assert by_column["nps"].example == "12"
    assert "0-10" in by_column["nps"].fix


def test_outcomes_for_journeys_without_events_are_reported(outcome_source: Dataset) -> None:
    problem = only(outcome_source, Reason.OUTCOME_WITHOUT_EVENTS)
    assert (problem.severity, problem.example) == (Severity.INFO, "O9")


# -- encodings -------------------------------------------------------------------


def test_non_utf8_rows_are_quarantined_and_the_fix_names_the_encoding() -> None:
    data = load(spec("cp1252_as_utf8"))
    problem = only(data, Reason.BAD_ENCODING)
    assert problem.severity is Severity.ERROR
    assert (problem.source, problem.rows, problem.count) == ("cp1252.csv", (2, 4, 6), 3)
    assert 'encoding = "cp1252"' in problem.message()
    assert "(row 2, 4, 6)" in problem.message()
    bad = quarantined(data, Reason.BAD_ENCODING)
    assert bad["row"].tolist() == [2, 4, 6]
    assert json.loads(bad["record"].iloc[1])["comment"] == "Caf\ufffd was closed"
    assert data.report.events_loaded == 3
    assert "\ufffd" not in "".join(t for t in data.events.column("text").to_pylist())
    assert_nothing_lost(data)
    assert_strict_fails("cp1252_as_utf8", {Reason.BAD_ENCODING})


# -- empty files -------------------------------------------------------------------


def test_a_zero_byte_file_is_a_data_error_naming_the_file() -> None:
    with pytest.raises(DataError, match=r"empty\.csv is empty: it has no header and no rows"):
        load(spec("empty"))


def test_a_header_only_file_is_a_data_error_naming_the_file() -> None:
    with pytest.raises(DataError, match=r"header_only\.csv has a header but no rows"):
        load(spec("header_only"))


def test_empty_json_lines_file_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "e.jsonl").write_text("\n", encoding="utf-8")
    (tmp_path / "e.toml").write_text(
        'name = "e"\n[source]\npath = "e.jsonl"\n[columns]\njourney_id = "id"\ntouchpoint = "s"\n',
        encoding="utf-8",
    )
    with pytest.raises(DataError, match="is empty"):
        load(tmp_path / "e.toml")


def test_a_broken_json_line_is_named_by_row(tmp_path: Path) -> None:
    (tmp_path / "e.jsonl").write_text('{"id": "a", "s": "x"}\n{"id": \n', encoding="utf-8")
    (tmp_path / "e.toml").write_text(
        'name = "e"\n[source]\npath = "e.jsonl"\n[columns]\njourney_id = "id"\ntouchpoint = "s"\n',
        encoding="utf-8",
    )
    with pytest.raises(SourceError, match="row 2 is not a JSON object"):
        load(tmp_path / "e.toml")


def test_a_missing_data_file_is_a_source_error(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text(
        'name = "s"\n[source]\npath = "gone.csv"\n[columns]\njourney_id = "id"\ntouchpoint = "s"\n',
        encoding="utf-8",
    )
    with pytest.raises(SourceError, match="gone.csv does not exist; check `path`"):
        load(tmp_path / "s.toml")


def test_a_missing_outcome_file_is_said_before_the_events_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("outcome_source.toml", "events_without_outcomes.csv"):
        shutil.copy(DATA / name, tmp_path / name)  # outcomes.csv is not there

    def read(*args: object, **kwargs: object) -> None:
        raise AssertionError("the events were read")

    from peakend.load import _Loader
    from peakend.loading.duck import DuckLoader

    monkeypatch.setattr(DuckLoader, "run", read)
    monkeypatch.setattr(_Loader, "run", read)
    with pytest.raises(SourceError, match=r"outcomes.csv does not exist; .*\[outcome_source\]"):
        load(tmp_path / "outcome_source.toml")


# -- wide exports ------------------------------------------------------------------


@pytest.fixture(scope="module")
def wide() -> Dataset:
    return load(spec("wide_survey"))


def test_wide_repeated_respondent_and_missing_id_are_quarantined(wide: Dataset) -> None:
    repeated = only(wide, Reason.DUPLICATE_JOURNEY)
    assert (repeated.column, repeated.rows, repeated.example) == ("respondent", (5,), "102")
    no_id = only(wide, Reason.MISSING_VALUE)
    assert (no_id.severity, no_id.column, no_id.rows) == (Severity.ERROR, "respondent", (6,))
    assert "quarantined" in no_id.message() and "give every respondent an id" in no_id.fix
    record = json.loads(quarantined(wide, Reason.DUPLICATE_JOURNEY)["record"].iloc[0])
    assert record == {
        "respondent": "102",
        "segment": "leisure",
        "baggage": "1",
        "check_in": "1",
        "flight": "1",
        "satisfaction": "neutral or dissatisfied",
    }


def test_wide_bad_answers_name_their_own_column_and_row(wide: Dataset) -> None:
    off_scale = only(wide, Reason.SCORE_OUT_OF_SCALE)
    assert (off_scale.source, off_scale.column, off_scale.rows) == (
        "wide_survey.csv",
        "check_in",
        (4,),
    )
    not_a_number = only(wide, Reason.BAD_SCORE)
    assert (not_a_number.column, not_a_number.rows) == ("flight", (7,))
    record = json.loads(quarantined(wide, Reason.BAD_SCORE)["record"].iloc[0])
    assert (record["journey_id"], record["touchpoint"]) == ("105", "flight")
    na = only(wide, Reason.NOT_APPLICABLE)
    assert (na.column, na.rows) == ("baggage", (2,))
    assert wide.report.quarantined_rows == 4
    assert sorted(wide.quarantine["row"].tolist()) == [4, 5, 6, 7]


def test_wide_strict_mode_lists_every_error_kind() -> None:
    assert_strict_fails(
        "wide_survey",
        {
            Reason.DUPLICATE_JOURNEY,
            Reason.MISSING_VALUE,
            Reason.BAD_SCORE,
            Reason.SCORE_OUT_OF_SCALE,
        },
    )


# -- the building blocks -------------------------------------------------------------


def test_report_to_dict_is_json_ready() -> None:
    data = load(spec("duplicates"))
    result = json.loads(json.dumps(data.report.to_dict()))
    assert result["ok"] is False
    assert result["quarantined_rows"] == 3
    (problem,) = result["problems"]
    assert problem["reason"] == "duplicate_event"
    assert problem["severity"] == "error"
    assert problem["rows"] == [3, 5, 6]
    assert problem["message"].startswith("duplicates.csv: 3 duplicate event(s)")


def test_problem_message_shows_at_most_five_rows_and_an_ellipsis() -> None:
    frame = pd.DataFrame({ROW: range(1, 9), "score": list("abcdefgh")})
    problem = problem_from_mask(
        frame,
        pd.Series(True, index=frame.index),
        reason=Reason.BAD_SCORE,
        severity=Severity.ERROR,
        source="f.csv",
        column="score",
        fix="use numbers",
    )
    assert problem is not None
    assert problem.message() == (
        "f.csv, column 'score': 8 score(s) that are not numbers, quarantined "
        "(row 1, 2, 3, 4, 5 …); e.g. 'a'. Fix: use numbers"
    )
    none = problem_from_mask(
        frame,
        pd.Series(False, index=frame.index),
        reason=Reason.BAD_SCORE,
        severity=Severity.ERROR,
        source="f.csv",
        column="score",
        fix="",
    )
    assert none is None


def test_quarantine_counts_distinct_rows_once() -> None:
    frame = pd.DataFrame({ROW: [1, 2, 3], "x": ["a", "b", "c"]})
    quarantine = Quarantine()
    assert quarantine.n_rows == 0 and quarantine.table().empty
    both = pd.Series([True, True, False])
    quarantine.add(frame, both, source="f", reason=Reason.BAD_VALUE, column="x", message="m")
    quarantine.add(frame, both, source="f", reason=Reason.BAD_SCORE, column=None, message="m")
    assert quarantine.n_rows == 2
    assert len(quarantine.table()) == 4
    assert list(quarantine.table().columns) == [
        "source",
        "row",
        "column",
        "reason",
        "message",
        "value",
        "record",
    ]


def test_warnings_alone_do_not_fail_strict_mode() -> None:
    report = ValidationReport(
        problems=[Problem(Reason.MIXED_TIMEZONES, Severity.WARNING, "f.csv", "ts", 1)]
    )
    report.raise_if_strict(True)
    assert report.ok


def test_parse_numbers_reads_decimal_commas_and_flags_the_rest() -> None:
    values, bad = parse_numbers(pd.Series(["1.234,5", "2,0", "x", None]), decimal=",")
    assert values.tolist()[:2] == [1234.5, 2.0]
    assert bad.tolist() == [False, False, True, False]


def test_parse_timestamps_reads_dates_without_time_in_the_declared_zone() -> None:
    # "2024-03-01" ends in "-01", which must not be mistaken for a UTC offset
    parsed = parse_timestamps(
        pd.Series(["2024-03-01", "2024-03-01T00:00:00-01"]), timezone="Europe/Amsterdam", fmt=None
    )
    assert parsed.values.tolist() == [
        pd.Timestamp("2024-02-29T23:00:00Z"),
        pd.Timestamp("2024-03-01T01:00:00Z"),
    ]
    assert parsed.naive.tolist() == [True, False]
    assert parsed.had_offset.tolist() == [False, True]
    day_first = parse_timestamps(
        pd.Series(["31-03-2024"]), timezone="Europe/Amsterdam", fmt="%d-%m-%Y"
    )
    assert day_first.values.tolist() == [pd.Timestamp("2024-03-30T23:00:00Z")]


def test_parse_timestamps_reads_utc_and_gmt_after_the_time_as_offsets() -> None:
    parsed = parse_timestamps(
        pd.Series(["2024-05-04 09:58:53 UTC", "2024-05-04T09:58gmt", "2024-05-04 09:58:53"]),
        timezone="Europe/Amsterdam",
        fmt=None,
    )
    assert parsed.values.tolist() == [
        pd.Timestamp("2024-05-04T09:58:53Z"),
        pd.Timestamp("2024-05-04T09:58:00Z"),
        pd.Timestamp("2024-05-04T07:58:53Z"),
    ]
    assert parsed.had_offset.tolist() == [True, True, False]


def test_parse_timestamps_reads_a_mixed_column_with_an_offset_it_did_not_see() -> None:
    # "09:58:5.+02" is no offset for _OFFSET, but the reader finds one; beside a date
    # without a time the column came back as objects, and reading it crashed
    parsed = parse_timestamps(
        pd.Series(["2024-05-04 09:58:5.+02", "2024-05-04"]), timezone="UTC", fmt=None
    )
    assert parsed.values.tolist() == [
        pd.Timestamp("2024-05-04T07:58:05Z"),
        pd.Timestamp("2024-05-04T00:00:00Z"),
    ]
    assert parsed.naive.tolist() == [True, True]


@given(
    st.lists(
        st.one_of(
            st.none(),
            st.text(max_size=30),
            st.datetimes().map(lambda d: d.isoformat()),
            st.datetimes().map(lambda d: d.isoformat() + "+02:00"),
        ),
        max_size=20,
    )
)
def test_timestamp_parsing_never_crashes_and_never_drops_silently(values: list[str | None]) -> None:
    raw = pd.Series(values, dtype="object")
    parsed = parse_timestamps(raw, timezone="Europe/Amsterdam", fmt=None)
    present = raw.notna()
    # every present value is either read (with or without an offset) or marked unparsable
    read = parsed.values.notna()
    assert (read | parsed.unparsable | ~present).all()
    assert not (read & parsed.unparsable).any()
    assert (parsed.naive | parsed.had_offset).tolist() == read.tolist()


@given(st.lists(st.one_of(st.none(), st.text(max_size=12), st.floats()), max_size=20))
def test_number_parsing_never_crashes(values: list[object]) -> None:
    raw = pd.Series(values, dtype="object")
    numbers, bad = parse_numbers(raw, decimal=",")
    assert len(numbers) == len(bad) == len(raw)
    assert not (numbers.notna() & bad).any()
