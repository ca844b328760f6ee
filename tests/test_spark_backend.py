"""``--backend spark``: loading, the journey engine and the moments inputs on Spark equal DuckDB's.

The Spark loader runs the DuckDB loader's checks on a Spark session
(:mod:`peakend.loading.spark`). On a generated log with planted bad rows the
problems, the quarantine and the loaded tables must be the same row for row; on
the demo data the journey summary and the moments model (same seed) must agree
(counts and journey features exactly, sums of floating-point numbers to 1e-9,
since Spark adds in another order).

Needs ``peakend[spark]`` and Java 17. Without them the module is skipped, except
on CI (``CI=true``), where that is a failure. One local Spark session serves the
whole module.
"""

from __future__ import annotations

import gc
import json
import math
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from peakend.cli import app
from peakend.datasets import demo_spec_path
from peakend.errors import ConfigError, SourceError
from peakend.generate import GeneratorConfig, generate
from peakend.load import Dataset, load
from peakend.loading.spark import SparkEventSource
from peakend.models.moments import MomentSettings, find_moments
from peakend.spec import read_spec
from peakend.summary import summarize_journeys

try:
    from pyspark.sql import SparkSession
except ImportError:
    if os.environ.get("CI") == "true":
        raise
    pytest.skip(
        "pyspark is not installed: install the extra `peakend[spark]` (needs Java 17)",
        allow_module_level=True,
    )
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    if os.environ.get("CI") == "true":
        raise RuntimeError("Java 17 is needed for the Spark tests")
    pytest.skip("Java is not installed: Spark needs Java 17", allow_module_level=True)

from tests.loading.test_excel import planted_workbook  # noqa: E402
from tests.loading.test_wide import (  # noqa: E402
    HEADER,
    ROWS,
    _export,
    _typed_export,
    typed_answers,
)
from tests.test_loaders import (  # noqa: E402
    BAD_ROWS,
    DAY_FIRST,
    HEADED,
    HEADED_SPEC,
    JOINED_SPEC,
    ROW_SPEC,
    _day_first_spec,
    _log_rows,
    _survey_rows,
    _write_rows,
    database_spec,
    daylight_saving_spec,
    headed_planted_spec,
    planted_spec,
    postgres_events,
    to_csv,
    to_jsonl,
    to_sqlite,
)

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The active session, which ``--backend spark`` then uses."""
    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("peakend-backend-test")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.memory", "1g")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("FATAL")
    yield session
    session.stop()
    gc.collect()


def _same_numbers(a: Any, b: Any, path: str = "") -> None:
    """Equal, floats to 1e-9 relative (sums in another order)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), path
        for key in a:
            _same_numbers(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same_numbers(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float) and not math.isnan(a):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), f"{path}: {a} != {b}"
    else:
        assert a == b or (a != a and b != b), f"{path}: {a!r} != {b!r}"


def _loaded_the_same(duck: Dataset, spark: Dataset) -> None:
    assert duck.report.loader == "duckdb" and spark.report.loader == "spark"
    assert duck.report.problems == spark.report.problems
    pd.testing.assert_frame_equal(duck.quarantine, spark.quarantine)
    first, second = duck.report.to_dict(), spark.report.to_dict()
    first.pop("loader")
    second.pop("loader")
    assert first == second
    assert duck.outcomes.equals(spark.outcomes)
    assert duck.touchpoints.equals(spark.touchpoints)
    assert spark.n_events == duck.n_events
    assert spark.event_source is not None and spark.event_source.remote
    assert duck.events.equals(spark.events, check_metadata=True)  # brought back: small data
    assert spark.event_source is None


def test_planted_bad_rows_give_the_same_problems_and_quarantine_on_spark(
    spark: Any, tmp_path: Path
) -> None:
    generate(tmp_path, GeneratorConfig(n_journeys=1_500, seed=5))
    to_csv(tmp_path, BAD_ROWS, "bad.csv")
    extra = 'decimal = ","\ntimezone = "Europe/Amsterdam"'
    spec = planted_spec(tmp_path, "bad.csv", "bad.toml", extra)
    duck, on_spark = load(spec), load(spec, backend="spark")
    reasons = {str(p.reason) for p in duck.report.problems}
    assert {"bad_timestamp", "duplicate_event", "bad_score", "score_out_of_scale"} <= reasons
    assert {"missing_value", "bad_value", "not_applicable", "unknown_touchpoint"} <= reasons
    assert len(duck.quarantine) > 40
    _loaded_the_same(duck, on_spark)


def test_json_lines_with_planted_bad_rows_load_on_spark_as_on_duckdb(
    spark: Any, tmp_path: Path
) -> None:
    generate(tmp_path, GeneratorConfig(n_journeys=3_500, seed=5))
    to_jsonl(tmp_path, BAD_ROWS, "bad.jsonl")  # a key first seen after 30,000 lines
    spec = planted_spec(tmp_path, "bad.jsonl", "bad.toml", 'decimal = ","')
    duck, on_spark = load(spec), load(spec, backend="spark")
    reasons = {str(p.reason) for p in duck.report.problems}
    assert {"bad_timestamp", "duplicate_event", "bad_score", "score_out_of_scale"} <= reasons
    assert '"note"' in duck.quarantine["record"].iloc[0]  # the late key is a column
    _loaded_the_same(duck, on_spark)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])  # (JSON lines: in the DuckDB tests)
def test_wide_exports_with_bad_answers_load_on_spark_as_on_duckdb(
    spark: Any, tmp_path: Path, fmt: str
) -> None:
    """Repeated respondents, missing ids, out-of-scale and not-applicable scores
    (unreadable ones in text), comments per touchpoint and per journey, two scales."""
    if fmt == "parquet":
        spec = _typed_export(tmp_path, typed_answers())
    else:
        spec = _export(tmp_path, ROWS, fmt)
    duck, on_spark = load(spec), load(spec, backend="spark")
    reasons = {str(p.reason) for p in duck.report.problems}
    assert {"duplicate_journey", "missing_value", "score_out_of_scale"} <= reasons
    _loaded_the_same(duck, on_spark)


def test_a_wide_export_with_question_rows_and_row_ids_loads_on_spark_as_on_duckdb(
    spark: Any, tmp_path: Path
) -> None:
    """A row of questions under the column names, as survey platforms export them,
    and the row number as each respondent's journey id."""
    questions = ",".join(f'"Question {i}, in words?"' for i in range(10))
    spec = _export(tmp_path, ROWS, header=f"{HEADER}\n{questions}")
    text = spec.read_text(encoding="utf-8")
    text = text.replace('format = "csv"', 'format = "csv"\nheader_rows = 2')
    spec.write_text(text.replace('journey_id = "respondent"', 'journey_id = "@row"'), "utf-8")
    duck, on_spark = load(spec), load(spec, backend="spark")
    assert duck.report.journeys == len(ROWS)
    _loaded_the_same(duck, on_spark)


def test_a_broken_json_line_is_named_by_row_on_spark(spark: Any, tmp_path: Path) -> None:
    (tmp_path / "e.jsonl").write_text(
        '{"id": "a", "s": "x"}\n\n{"id": "b", "s": "y"}\n{"id": \n', encoding="utf-8"
    )
    (tmp_path / "e.toml").write_text(
        'name = "e"\n[source]\npath = "e.jsonl"\n[columns]\njourney_id = "id"\ntouchpoint = "s"\n',
        encoding="utf-8",
    )
    with pytest.raises(SourceError, match="row 3 is not a JSON object"):
        load(tmp_path / "e.toml", backend="spark")


def test_a_sqlite_table_of_mixed_values_loads_on_spark_as_on_duckdb(
    spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PEAKEND_TEMP_DIR", str(tmp_path / "spill"))  # where rows are staged
    generate(tmp_path, GeneratorConfig(n_journeys=1_500, seed=5))
    to_sqlite(tmp_path, BAD_ROWS, "bad.sqlite")  # ints, decimals and words in one column
    source = 'format = "sqlite"\npath = "bad.sqlite"\ntable = "events"\ndecimal = ","'
    spec = database_spec(tmp_path, "sqlite.toml", source, "number")
    duck, on_spark = load(spec), load(spec, backend="spark")
    reasons = {str(p.reason) for p in duck.report.problems}
    assert {"bad_timestamp", "duplicate_event", "bad_score", "score_out_of_scale"} <= reasons
    _loaded_the_same(duck, on_spark)
    assert not list((tmp_path / "spill").iterdir())  # the staged rows are gone


def test_a_postgres_table_loads_on_spark_as_on_duckdb(
    spark: Any, tmp_path: Path, postgres_url: str
) -> None:
    generate(tmp_path, GeneratorConfig(n_journeys=800, seed=7))
    with postgres_events(postgres_url, tmp_path / "events.parquet") as table:
        source = f'format = "postgres"\nurl = "{postgres_url}"\ntable = "{table}"'
        spec = database_spec(tmp_path, "postgres.toml", source)
        duck, on_spark = load(spec), load(spec, backend="spark")
    assert duck.n_events > 5_000
    _loaded_the_same(duck, on_spark)


def test_a_database_on_a_spark_cluster_is_refused_with_the_fix(
    spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generate(tmp_path, GeneratorConfig(n_journeys=50, seed=5))
    to_sqlite(tmp_path, "SELECT * FROM events", "e.sqlite")
    source = 'format = "sqlite"\npath = "e.sqlite"\ntable = "events"'
    spec = database_spec(tmp_path, "db.toml", source)
    monkeypatch.setattr(SparkSession, "getActiveSession", staticmethod(lambda: None))
    monkeypatch.setenv("PEAKEND_SPARK_MASTER", "yarn")  # refused before a session starts
    with pytest.raises(ConfigError, match=r"only in local mode, not on 'yarn'.*as Parquet"):
        load(spec, backend="spark")


XES = Path(__file__).resolve().parents[1] / "examples" / "receipt_wabo_permit.toml"


def _xes_spec() -> Path:
    path = read_spec(XES).source.path
    if path is None or not path.exists():
        pytest.skip("receipt_wabo_permit is not in ../shared/data")
    return XES


def test_a_real_xes_log_loads_on_spark_as_on_duckdb(spark: Any) -> None:
    """Read from the Parquet file the log is streamed into once (in local mode)."""
    spec = _xes_spec()
    duck, on_spark = load(spec), load(spec, backend="spark")
    assert duck.report.events_loaded > 8_000
    _loaded_the_same(duck, on_spark)


def test_an_xes_log_on_a_spark_cluster_is_refused_with_the_fix(
    spark: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _xes_spec()
    monkeypatch.setattr(SparkSession, "getActiveSession", staticmethod(lambda: None))
    monkeypatch.setenv("PEAKEND_SPARK_MASTER", "yarn")  # refused before a session starts
    with pytest.raises(ConfigError, match=r"is an XES log, .*only in local mode, not on 'yarn'"):
        load(spec, backend="spark")


def test_an_excel_sheet_loads_on_spark_as_on_duckdb_in_local_mode_only(
    spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read from the Parquet file the sheet is streamed into once."""
    monkeypatch.setenv("PEAKEND_CACHE", str(tmp_path / "cache"))
    generate(tmp_path, GeneratorConfig(n_journeys=500, seed=5))
    planted_workbook(tmp_path)
    extra = 'decimal = ","\ntimezone = "Europe/Amsterdam"\nskip_rows = 2\nformat = "excel"'
    spec = planted_spec(tmp_path, "bad.xlsx", "bad_excel.toml", extra)
    duck, on_spark = load(spec), load(spec, backend="spark")
    assert duck.report.events_loaded > 3_000 and len(duck.quarantine) > 5
    _loaded_the_same(duck, on_spark)
    monkeypatch.setattr(SparkSession, "getActiveSession", staticmethod(lambda: None))
    monkeypatch.setenv("PEAKEND_SPARK_MASTER", "yarn")  # refused before a session starts
    with pytest.raises(ConfigError, match=r"is an Excel workbook, .*only in local mode"):
        load(spec, backend="spark")


US_TIMES = """
SELECT journey_id, customer_id,
  CASE row_number() OVER () % 211
       WHEN 1 THEN 'not a time'
       WHEN 2 THEN lower(strftime(ts, '%m/%d/%Y %I:%M %p'))
       WHEN 3 THEN '13/01/2024 10:00 AM'
       WHEN 4 THEN '02/30/2024 10:00 AM'
       WHEN 5 THEN '03/31/2024 02:30 AM'
       WHEN 6 THEN strftime(ts, '%-m/%-d/%Y  %-I:%M %p')
       WHEN 7 THEN strftime(ts, '%m/%d/%Y %H:%M')
       ELSE strftime(ts, '%m/%d/%Y %I:%M %p') END AS ts,
  seq, touchpoint, channel, initiated_by, score, text, lang
FROM events
"""


@pytest.mark.parametrize(
    ("fmt", "query"), [("%d-%m-%Y %H:%M", DAY_FIRST), ("%m/%d/%Y %I:%M %p", US_TIMES)]
)
def test_a_declared_timestamp_format_is_read_on_spark_as_on_duckdb(
    spark: Any, tmp_path: Path, fmt: str, query: str
) -> None:
    """Single digits, runs of spaces, lower-case am/pm, impossible dates, a time in the
    spring-forward gap, other shapes: every time read or set aside as on DuckDB."""
    generate(tmp_path, GeneratorConfig(n_journeys=600, seed=5))
    to_csv(tmp_path, query, "day_first.csv")
    spec = _day_first_spec(tmp_path, "formatted.toml", fmt)
    duck, on_spark = load(spec), load(spec, backend="spark")
    assert duck.report.loader == "duckdb"
    bad = duck.quarantine[duck.quarantine["reason"] == "bad_timestamp"]
    assert len(bad) > 5 * 20 and "not a time" in set(bad["value"])
    _loaded_the_same(duck, on_spark)


@pytest.mark.parametrize("declared", [True, False])
def test_latin_1_csv_loads_on_spark_as_on_duckdb(
    spark: Any, tmp_path: Path, declared: bool
) -> None:
    # Latin-1 declared, or found (a byte Windows-1252 leaves undefined), both with
    # C1 bytes: Spark is told the encoding by the name it knows.
    rows = ["J1,call,2025-01-02T10:00:00Z,caf\u00e9", "J2,c\u0081ll,2025-01-03T10:00:00Z,"]
    text = "id,step,ts,text\n" + "\n".join(rows) + "\n"
    (tmp_path / "e.csv").write_bytes(text.encode("latin-1"))
    encoding = 'encoding = "latin-1"\n' if declared else ""
    (tmp_path / "e.toml").write_text(
        f'name = "e"\n[source]\npath = "e.csv"\n{encoding}'
        '[columns]\njourney_id = "id"\ntouchpoint = "step"\nts = "ts"\ntext = "text"\n',
        encoding="utf-8",
    )
    duck, on_spark = load(tmp_path / "e.toml"), load(tmp_path / "e.toml", backend="spark")
    assert on_spark.report.loader == "spark"
    assert duck.report.problems == on_spark.report.problems
    assert duck.events.equals(on_spark.events)
    assert "c\u0081ll" in duck.events["touchpoint"].to_pylist()


@pytest.mark.parametrize("zone", ["Europe/Amsterdam", "Australia/Lord_Howe"])
def test_local_times_at_daylight_saving_changes_load_on_spark_as_on_duckdb(
    spark: Any, tmp_path: Path, zone: str
) -> None:
    spec = daylight_saving_spec(tmp_path, zone)  # an overlap of an hour, of half an hour
    duck, on_spark = load(spec), load(spec, backend="spark")
    assert len(duck.quarantine) > 0
    _loaded_the_same(duck, on_spark)


def test_journeys_and_moments_on_the_demo_equal_duckdb(spark: Any) -> None:
    duck, on_spark = load(demo_spec_path()), load(demo_spec_path(), backend="spark")
    assert duck.report.problems == on_spark.report.problems
    summary = summarize_journeys(on_spark).to_dict(include_journeys=True)
    expected = summarize_journeys(duck).to_dict(include_journeys=True)
    assert summary["n_journeys"] == expected["n_journeys"] > 1000
    _same_numbers(expected, summary)
    settings = MomentSettings(n_resamples=40, seed=3)
    moments = find_moments(on_spark, outcome="overall", settings=settings, segments=())
    wanted = find_moments(duck, outcome="overall", settings=settings, segments=())
    _same_numbers(wanted.to_dict(), moments.to_dict())
    assert on_spark.event_source is not None  # the events never left Spark


def test_the_journeys_command_runs_on_spark(spark: Any) -> None:
    spec = Path(__file__).parent / "data" / "good_long.toml"
    runner = CliRunner()
    duck = runner.invoke(app, ["journeys", str(spec), "--json"])
    on_spark = runner.invoke(app, ["journeys", str(spec), "--json", "--backend", "spark"])
    assert duck.exit_code == 0 and on_spark.exit_code == 0, on_spark.output
    expected, result = json.loads(duck.stdout), json.loads(on_spark.stdout)
    assert result["validation"].pop("loader") == "spark"
    expected["validation"].pop("loader")
    _same_numbers(expected, result)


def test_analyze_on_spark_writes_the_figures_duckdb_writes(
    spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["analyze", str(demo_spec_path()), "--no-pdf", "--no-images", "--json"]
    runner = CliRunner()
    duck = runner.invoke(app, [*args, "--out", str(tmp_path / "duckdb")])
    assert duck.exit_code == 0, duck.output

    def whole_log(self: Any) -> Any:
        raise AssertionError("every event was brought back from Spark")

    monkeypatch.setattr(SparkEventSource, "to_arrow", whole_log)
    on_spark = runner.invoke(app, [*args, "--out", str(tmp_path / "spark"), "--backend", "spark"])
    assert on_spark.exit_code == 0, on_spark.output
    expected, result = (
        json.loads((tmp_path / name / "results.json").read_text(encoding="utf-8"))
        for name in ("duckdb", "spark")
    )
    for figures in (expected, result):
        figures.pop("generated_at")
    assert result["sections"]["quality"].pop("loader") == "spark"
    assert expected["sections"]["quality"].pop("loader") == "duckdb"
    assert not result["skipped"] and len(result["sections"]) == len(expected["sections"]) > 5
    # Where the designed touchpoints lie after an anchor (chart marks) is each engine's
    # approximate median: close, not equal. Every other figure is the same.
    marks, spark_marks = (
        sorted(
            figures["sections"]["hidden"].pop("designed"),
            key=lambda r: (r["anchor"], r["touchpoint"]),
        )
        for figures in (expected, result)
    )
    for mark, spark_mark in zip(marks, spark_marks, strict=True):
        assert mark.pop("median_offset") == pytest.approx(spark_mark.pop("median_offset"), abs=0.25)
        assert mark == spark_mark
    _same_numbers(expected, result)


def test_hidden_schedule_on_spark_lists_the_actions_duckdb_lists(spark: Any) -> None:
    args = ["hidden-schedule", str(demo_spec_path()), "--rule", "first_invoice+2d:email:explain"]
    args += ["--date", "2024-04-30", "--json"]
    duck = CliRunner().invoke(app, args)
    on_spark = CliRunner().invoke(app, [*args, "--backend", "spark"])
    assert duck.exit_code == 0 and on_spark.exit_code == 0, on_spark.output
    expected = json.loads(duck.stdout)
    assert len(expected["actions"]) > 5
    assert json.loads(on_spark.stdout) == expected


def test_a_path_with_a_scheme_goes_to_sparks_reader_untouched(spark: Any, tmp_path: Path) -> None:
    data = Path(__file__).parent / "data"
    text = (data / "good_long.toml").read_text(encoding="utf-8")
    uri = (data / "good_long.csv").resolve().as_uri()
    spec = tmp_path / "on_the_cluster.toml"
    spec.write_text(text.replace('path = "good_long.csv"', f'path = "{uri}"'), "utf-8")
    on_spark = load(spec, backend="spark")
    assert on_spark.spec.source.uri == uri and on_spark.report.loader == "spark"
    duck = load(data / "good_long.toml")
    assert duck.report.problems == on_spark.report.problems
    assert duck.events.equals(on_spark.events)
    missing = tmp_path / "missing.toml"
    gone = uri.replace("good_long.csv", "gone.csv")
    missing.write_text(text.replace('path = "good_long.csv"', f'path = "{gone}"'), "utf-8")
    with pytest.raises(SourceError, match=r"gone\.csv: Spark cannot read it"):
        load(missing, backend="spark")


def test_extra_header_rows_load_on_spark_as_on_duckdb(spark: Any, tmp_path: Path) -> None:
    # Planted bad rows after two lines and three header rows (question texts that
    # break their lines); outcomes after a line and two header rows.
    generate(tmp_path, GeneratorConfig(n_journeys=1_500, seed=5))
    spec = headed_planted_spec(tmp_path)
    duck, on_spark = load(spec), load(spec, backend="spark")
    reasons = {str(p.reason) for p in duck.report.problems}
    assert {"bad_timestamp", "duplicate_event", "bad_score", "missing_value"} <= reasons
    first = on_spark.quarantine.loc[on_spark.quarantine["row"] == 1, "value"]
    assert first.tolist() == ["not a time"]  # the first data row is row 1
    _loaded_the_same(duck, on_spark)


def _headed_survey(path: Path) -> None:
    """The CSV file ``path`` with a line before its column names and a row of
    question texts after them."""
    header, body = path.read_text("utf-8").split("\n", 1)
    questions = ",".join(f'"Your {n}?"' for n in header.split(","))
    path.write_text("\n".join(["Survey export", header, questions, body]), encoding="utf-8")


@pytest.mark.parametrize("fmt", ["headed csv", "parquet"])  # (every format: DuckDB tests)
def test_row_numbers_as_journey_ids_load_on_spark_as_on_duckdb(
    spark: Any, tmp_path: Path, fmt: str
) -> None:
    path = _write_rows(_survey_rows(3_000), tmp_path / f"survey.{fmt.split()[-1]}")
    spec = ROW_SPEC.format(path=path.name)
    if fmt == "headed csv":
        _headed_survey(path)
        spec = spec.replace("[columns]", "skip_rows = 1\nheader_rows = 2\n[columns]")
    (tmp_path / "e.toml").write_text(spec, encoding="utf-8")
    duck, on_spark = load(tmp_path / "e.toml"), load(tmp_path / "e.toml", backend="spark")
    reasons = {str(p.reason) for p in duck.report.problems}
    assert {"bad_score", "missing_value", "score_out_of_scale", "bad_outcome"} <= reasons
    assert on_spark.outcomes["journey_id"].to_pylist()[:3] == ["1", "2", "3"]
    _loaded_the_same(duck, on_spark)


@pytest.mark.parametrize("fmt", ["csv"])  # (every format: in the DuckDB tests)
def test_joined_touchpoints_load_on_spark_as_on_duckdb(
    spark: Any, tmp_path: Path, fmt: str
) -> None:
    # parts padded with Unicode spaces, blank parts, both parts blank, bad scores
    path = _write_rows(_log_rows(4_000, planted=True), tmp_path / f"log.{fmt}")
    (tmp_path / "e.toml").write_text(JOINED_SPEC.format(path=path.name), encoding="utf-8")
    duck, on_spark = load(tmp_path / "e.toml"), load(tmp_path / "e.toml", backend="spark")
    assert "apply" in on_spark.touchpoints["touchpoint"].to_pylist()  # a blank part left out
    assert {"missing_value", "bad_score"} <= set(duck.quarantine["reason"])
    _loaded_the_same(duck, on_spark)


def test_what_spark_cannot_load_is_refused_with_the_option_to_drop(
    spark: Any, tmp_path: Path
) -> None:
    rows = ["R1,C1,business,4,5,3,2,ok,fine,yes", "R2,C2,leisure,1,2,3,x,,,no"]
    wide = _export(tmp_path, rows, "parquet")  # (one column of text, three of numbers)
    why = r"this source \(score columns of more than one kind \(text, numbers\)\); drop"
    with pytest.raises(ConfigError, match=why):
        load(wide, backend="spark")
    # a quoted line break before the header rows: two lines for the pandas reader, one
    # record for Spark's
    before = 'Exported by SurveyTool\n"Export note, with\na line break"\n'
    (tmp_path / "events.csv").write_text(before + HEADED, encoding="utf-8")
    (tmp_path / "e.toml").write_text(HEADED_SPEC.format(skip=2), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"this source \(header rows Spark reads differently"):
        load(tmp_path / "e.toml", backend="spark")
    data = Path(__file__).parent / "data"
    shutil.copy(data / "semicolon_decimal.csv", tmp_path)
    two_digits = (data / "semicolon_decimal.toml").read_text(encoding="utf-8")
    (tmp_path / "y.toml").write_text(two_digits.replace("%Y", "%y"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"timestamp_format '%d-%m-%y %H:%M' \(a two-digit"):
        load(tmp_path / "y.toml", backend="spark")
    with pytest.raises(ConfigError, match=r"drop --cache .* or drop --backend spark"):
        load(demo_spec_path(), backend="spark", cache=tmp_path / "cache")
    with pytest.raises(ConfigError, match=r"--backend='flink' is not a backend"):
        load(demo_spec_path(), backend="flink")


def test_validate_on_spark_writes_the_quarantine_as_parquet(spark: Any, tmp_path: Path) -> None:
    spec = Path(__file__).parent / "data" / "bad_score.toml"
    target = tmp_path / "quarantine.parquet"
    args = ["validate", str(spec), "--backend", "spark", "--quarantine", str(target), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["loader"] == "spark"
    pd.testing.assert_frame_equal(pd.read_parquet(target), load(spec).quarantine)
