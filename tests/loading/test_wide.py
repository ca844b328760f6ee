"""Wide survey exports load the same through DuckDB's views as through pandas.

Every test builds an export (or takes the real one), loads it with both loaders and
compares events, outcomes, catalogue, problems, quarantine and report exactly
(:func:`tests.test_loaders.assert_same`); what the SQL path does not take goes to
pandas and says why.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from tests.test_loaders import REAL, assert_same, both

from peakend.errors import ConfigError
from peakend.load import load
from peakend.spec import read_spec

DATA = Path(__file__).resolve().parents[1] / "data"
AIRLINE = REAL.parent / "airline_passenger_satisfaction.toml"

HEADER = "respondent,customer,segment,q_book,q_fly,q_bags,q_app,note_fly,comment,satisfied"
ROWS = [
    "R1,C1,business,4,5,3,n.v.t.,on time,great trip,yes",
    "R2,C1,leisure,0,2,3,7,  , ,no",  # NA code 0, app score outside its 0-6 scale, blanks
    ",C2,leisure,3,4,4,5,,,yes",  # no respondent id
    "R3,C3,business,x,4,,2,late,never again,no",  # unreadable booking score, blank bags
    "R1,C1,business,1,1,1,1,,,no",  # R1 again: quarantined, the first row is kept
    " R4,C4,leisure,5,6,2,3,bumpy,,maybe",  # padded id; flight 6 is outside 1-5
    "R5 ,,business,2,2,2,N.V.T.,,fine,yes",  # no customer; the app's code in capitals
    "R6,C6,leisure,,,,,,,",  # nothing answered
]
SPEC = """
name = "wide"
layout = "wide"
attributes = ["segment"]
default_scale = "five"

[source]
path = "{path}"
format = "{format}"

[columns]
journey_id = "respondent"
customer_id = "customer"
text = "comment"

[scales.five]
low = 1
high = 5
not_applicable = [0]

[scales.app]
low = 0
high = 6
not_applicable = ["n.v.t."]

[outcomes.satisfied]
column = "satisfied"
kind = "binary"
positive = ["yes"]
negative = ["no"]

[[touchpoints]]
name = "flight"
column = "q_fly"
text_column = "note_fly"
stage = 2

[[touchpoints]]
name = "booking"
column = "q_book"
stage = 1
initiated_by = "customer"

[[touchpoints]]
name = "app"
column = "q_app"
scale = "app"

[[touchpoints]]
name = "bags"
column = "q_bags"
stage = 3
"""


def _export(tmp_path: Path, rows: list[str], fmt: str = "csv", header: str = HEADER) -> Path:
    """The export of ``rows`` in ``fmt`` and its spec; returns the spec's path."""
    text = "\n".join([header, *rows]) + "\n"
    if fmt == "csv":
        data = tmp_path / "answers.csv"
        data.write_text(text, encoding="utf-8")
    elif fmt == "jsonl":
        frame = pd.read_csv(pd.io.common.StringIO(text), dtype=str, keep_default_na=False)
        data = tmp_path / "answers.jsonl"
        lines = [
            json.dumps({k: v for k, v in r.items() if v != ""}) for r in frame.to_dict("records")
        ]
        data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        data = tmp_path / "answers.parquet"
        pd.read_csv(pd.io.common.StringIO(text)).to_parquet(data)
    spec = tmp_path / "wide.toml"
    spec.write_text(SPEC.format(path=data.name, format=fmt), encoding="utf-8")
    return spec


def test_the_bundled_wide_survey_loads_the_same_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    """A repeated respondent, a row without id, a score outside the scale, an
    unreadable one and not-applicable answers."""
    by_pandas, by_duckdb = both(DATA / "wide_survey.toml", monkeypatch)
    assert_same(by_pandas, by_duckdb)
    reasons = {p.reason.value for p in by_duckdb.report.problems}
    assert {"duplicate_journey", "missing_value", "score_out_of_scale", "bad_score"} <= reasons


def test_a_wide_export_with_comments_scales_and_bad_answers_loads_the_same_both_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    by_pandas, by_duckdb = both(_export(tmp_path, ROWS), monkeypatch)
    assert_same(by_pandas, by_duckdb)
    events = by_duckdb.events.to_pandas()
    # stage order (booking, flight, bags), the unstaged app by its place, then comments
    first = events[events["journey_id"] == "R1"]
    assert first["touchpoint"].tolist() == ["booking", "flight", "app", "bags", "comment"]
    assert first["initiated_by"].tolist()[0] == "customer"
    assert set(events["journey_id"]) == {"R1", "R2", "R3", "R4", "R5", "R6"}
    reasons = {(p.reason.value, p.column) for p in by_duckdb.report.problems}
    assert ("bad_score", "q_book") in reasons
    assert ("score_out_of_scale", "q_app") in reasons
    assert ("score_out_of_scale", "q_fly") in reasons
    assert ("not_applicable", "q_app") in reasons
    assert ("duplicate_journey", "respondent") in reasons


def test_a_clean_wide_export_sends_no_row_to_pandas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing to report: the events come from SQL alone (the pandas wide path, which
    words problems, is never called)."""
    from peakend.load import _Loader

    rows = ["R1,C1,business,4,5,3,2,ok,fine,yes", "R2,C2,leisure,1,2,3,4,,,no"]
    spec = _export(tmp_path, rows)
    by_pandas = load_with(spec, "pandas", monkeypatch)

    def refuse(*_: object) -> None:
        raise AssertionError("the pandas wide path ran")

    monkeypatch.setattr(_Loader, "_events_from_wide", refuse)
    by_duckdb = load_with(spec, "duckdb", monkeypatch)
    assert_same(by_pandas, by_duckdb)
    assert by_duckdb.report.events_loaded == 4 + 4 + 1  # (R2 left no comment)


def load_with(spec: Path, loader: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PEAKEND_LOADER", loader)
    return load(read_spec(spec))


def test_wide_json_lines_load_the_same_both_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_same(*both(_export(tmp_path, ROWS, "jsonl"), monkeypatch))


def typed_answers() -> pd.DataFrame:
    """A typed export: whole numbers with and without gaps, halves, ids that are
    numbers, a repeated and a missing respondent, scores outside their scale and not
    applicable (-1)."""
    return pd.DataFrame(
        {
            "respondent": pd.array([101, 102, None, 104, 101, 106, 107], dtype="Int64"),
            "customer": [1, 1, 2, 3, 1, 4, 5],
            "segment": ["b", "l", "l", "b", "b", "l", None],
            "q_book": pd.array([4, 0, 3, 9, 1, 5, 2], dtype="Int64"),  # 9: outside
            "q_fly": pd.array([5, 2, 4, None, 1, 6, 2], dtype="Int64"),  # a gap; 6: outside
            "q_bags": [3.0, 3.5, 4.0, None, 1.0, 2.0, 0.0],  # halves, a gap, a 0
            "q_app": pd.array([-1, 7, 5, 2, 1, 3, -1], dtype="Int64"),  # -1: n/a; 7: outside
            "note_fly": ["on time", None, None, "late", None, "bumpy", " "],
            "comment": ["great", None, None, "never again", None, None, "fine"],
            "satisfied": ["yes", "no", "yes", "no", "no", "maybe", "yes"],
        }
    )


def _typed_export(tmp_path: Path, frame: pd.DataFrame) -> Path:
    """``frame`` as a Parquet export with the spec of :data:`SPEC`."""
    frame.to_parquet(tmp_path / "answers.parquet")
    spec = tmp_path / "wide.toml"
    text = SPEC.format(path="answers.parquet", format="parquet")
    spec.write_text(text.replace('not_applicable = ["n.v.t."]', "not_applicable = [-1]"), "utf-8")
    return spec


def test_a_typed_parquet_export_loads_the_same_both_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = typed_answers()
    by_pandas, by_duckdb = both(_typed_export(tmp_path, frame), monkeypatch)
    assert_same(by_pandas, by_duckdb)
    reasons = {(p.reason.value, p.column) for p in by_duckdb.report.problems}
    assert {("score_out_of_scale", "q_book"), ("score_out_of_scale", "q_fly")} <= reasons
    assert ("not_applicable", "q_app") in reasons


def test_score_columns_of_text_and_numbers_go_to_pandas_and_say_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = ["R1,C1,business,4,5,3,2,ok,fine,yes", "R2,C2,leisure,1,2,3,x,,,no"]
    by_duckdb = load_with(_export(tmp_path, rows, "parquet"), "duckdb", monkeypatch)
    why = "score columns of more than one kind (text, numbers)"
    assert by_duckdb.report.loader == f"pandas ({why})"
    assert by_duckdb.report.events_loaded == 8  # (the "x" is quarantined)


def test_a_respondent_id_of_blanks_only_is_a_missing_id_both_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(The pandas loader once kept such a row as a journey without id, and failed
    when it reported journeys without outcome.)"""
    rows = ["R1,C1,business,4,5,3,2,ok,fine,yes", "\t,C2,leisure,1,2,3,4,,,no"]
    by_pandas, by_duckdb = both(_export(tmp_path, rows), monkeypatch)
    assert_same(by_pandas, by_duckdb)
    (problem,) = by_duckdb.report.problems
    assert (problem.reason.value, problem.column, problem.rows) == (
        "missing_value",
        "respondent",
        (2,),
    )


def test_scores_of_a_touchpoint_without_a_scale_are_refused_the_same_both_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _export(tmp_path, ["R1,C1,business,4,5,3,2,ok,fine,yes"])
    text = spec.read_text(encoding="utf-8").replace('default_scale = "five"\n', "")
    spec.write_text(text.replace("stage = 3\n", 'stage = 3\nscale = "five"\n'), encoding="utf-8")
    messages = []
    for loader in ("pandas", "duckdb"):
        with pytest.raises(ConfigError, match="without a declared scale") as raised:
            load_with(spec, loader, monkeypatch)
        messages.append(str(raised.value))
    assert messages[0] == messages[1]


def test_the_real_airline_survey_loads_the_same_both_ways(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """129,880 passengers, 14 ratings each, with not-applicable zeros."""
    spec = read_spec(AIRLINE)
    if spec.source.path is None or not spec.source.path.exists():
        pytest.skip("the airline survey is not in ../shared/data")
    by_pandas, by_duckdb = both(AIRLINE, monkeypatch)
    assert_same(by_pandas, by_duckdb)
    assert by_duckdb.report.events_loaded == 129_880 * 14


def test_a_survey_platform_export_with_question_rows_loads_the_same_both_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Column names, then a row of question texts and one of import ids, as survey
    platforms export them (``header_rows = 3``)."""
    questions = '"Respondent","Customer","Segment","How easy was booking?","The flight?",' + (
        '"Bags?","The app?","Flight, in words","Anything else?","Satisfied?"'
    )
    imports = ",".join(f'"{{""ImportId"":""QID{i}""}}"' for i in range(10))
    spec = _export(tmp_path, ROWS, header=f"{HEADER}\n{questions}\n{imports}")
    text = spec.read_text(encoding="utf-8")
    spec.write_text(text.replace('format = "csv"', 'format = "csv"\nheader_rows = 3'), "utf-8")
    by_pandas, by_duckdb = both(spec, monkeypatch)
    assert_same(by_pandas, by_duckdb)
    assert by_duckdb.report.rows_read == len(ROWS)


def test_a_wide_export_numbered_by_row_loads_the_same_both_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No respondent id: each row is a journey (``journey_id = "@row"``)."""
    spec = _export(tmp_path, ROWS)
    text = spec.read_text(encoding="utf-8").replace(
        'journey_id = "respondent"', 'journey_id = "@row"'
    )
    spec.write_text(text, encoding="utf-8")
    by_pandas, by_duckdb = both(spec, monkeypatch)
    assert_same(by_pandas, by_duckdb)
    assert by_duckdb.report.journeys == len(ROWS)


def test_notes_of_many_not_applicable_answers_count_every_one_both_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More than a note's five example rows: the SQL path words each note from its
    first rows and counts the answers itself."""
    rows = [f"R{i},C{i},leisure,0,{i % 5 + 1},0,n.v.t.,,,yes" for i in range(1, 31)]
    rows[7] = "R8,C8,leisure,x,9,0,3,,,no"  # an unreadable and an off-scale score too
    by_pandas, by_duckdb = both(_export(tmp_path, rows), monkeypatch)
    assert_same(by_pandas, by_duckdb)
    counts = {
        p.column: p.count for p in by_duckdb.report.problems if p.reason.value == "not_applicable"
    }
    assert counts == {"q_book": 29, "q_bags": 30, "q_app": 29}


def test_a_gap_in_a_typed_column_outside_the_reported_rows_loads_the_same_both_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whole-number scores, one column with a gap in a row without problems: the rows
    the pandas wording sees have none, the whole export has one."""
    frame = pd.DataFrame(
        {
            "respondent": [1, 2, 3, 4],
            "customer": [1, 2, 3, 4],
            "segment": ["b", "l", "l", "b"],
            "q_book": [4, 9, 3, 2],  # 9: outside, the only row reported
            "q_fly": pd.array([5, 2, None, 1], dtype="Int64"),  # the gap: a clean row
            "q_bags": [3, 3, 4, 1],
            "q_app": [6, 7, 5, 2],  # 7: outside
            "note_fly": [None, None, None, None],
            "comment": [None, None, None, None],
            "satisfied": ["yes", "no", "yes", "no"],
        }
    )
    frame = frame.astype({"note_fly": "string", "comment": "string"})
    by_pandas, by_duckdb = both(_typed_export(tmp_path, frame), monkeypatch)
    assert_same(by_pandas, by_duckdb)
    assert by_duckdb.report.quarantined_rows == 1


def test_a_wide_sqlite_table_loads_the_same_both_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A survey table in a database: whole-number ratings with gaps, text ids."""
    import sqlite3

    frame = pd.read_csv(pd.io.common.StringIO("\n".join([HEADER, *ROWS])), dtype=str)
    numbers = frame["q_app"].fillna("0").str.isdigit() & frame["q_book"].fillna("0").str.isdigit()
    frame = frame[numbers]
    with sqlite3.connect(tmp_path / "survey.db") as connection:
        columns = ", ".join(f'"{c}"' for c in frame.columns)
        connection.execute(f"CREATE TABLE answers ({columns})")
        for row in frame.itertuples(index=False):
            values = [int(v) if isinstance(v, str) and v.isdigit() else v for v in row]
            connection.execute(
                f"INSERT INTO answers VALUES ({', '.join('?' * len(values))})", values
            )
    connection.close()
    spec = tmp_path / "wide.toml"
    text = SPEC.format(path="survey.db", format="sqlite").replace(
        'format = "sqlite"', 'format = "sqlite"\ntable = "answers"'
    )
    spec.write_text(text, encoding="utf-8")
    by_pandas, by_duckdb = both(spec, monkeypatch)
    assert_same(by_pandas, by_duckdb)
    assert by_duckdb.report.events_loaded > 0
