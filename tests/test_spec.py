"""Tests for peakend.spec and the Scale of peakend.schema: reading specs, rejecting bad ones."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peakend.errors import ConfigError
from peakend.schema import Scale
from peakend.spec import parse_spec, read_spec

DATA = Path(__file__).parent / "data"


def minimal(**extra: Any) -> dict[str, Any]:
    """The smallest valid long spec, plus ``extra`` top-level keys."""
    raw: dict[str, Any] = {
        "name": "t",
        "source": {"path": "events.csv"},
        "columns": {"journey_id": "id", "touchpoint": "step"},
    }
    raw.update(extra)
    return raw


def parse(raw: dict[str, Any]) -> Any:
    return parse_spec(raw, base_dir=DATA)


# -- reading a spec ----------------------------------------------------------


def test_read_spec_resolves_paths_relative_to_the_spec_file() -> None:
    spec = read_spec(DATA / "good_long.toml")
    assert spec.source.path == (DATA / "good_long.csv").resolve()
    assert spec.source.format == "csv"
    assert spec.spec_path == DATA / "good_long.toml"


def test_read_spec_reads_columns_scales_touchpoints_and_outcomes() -> None:
    spec = read_spec(DATA / "good_long.toml")
    assert spec.layout == "long"
    assert spec.columns["ts"] == "timestamp"
    assert spec.default_scale == "csat"
    assert spec.scales["csat"] == Scale(1, 5)
    assert [t.name for t in spec.touchpoints] == ["search", "booking", "support", "delivery"]
    assert spec.touchpoint("support").initiated_by == "company"
    assert spec.scale_for(spec.touchpoint("search")) == Scale(1, 5)
    (outcome,) = spec.outcomes
    assert (outcome.name, outcome.kind, outcome.positive) == ("satisfied", "binary", ("satisfied",))
    assert spec.strict is False


def test_read_spec_reads_delimiter_decimal_timezone_and_format() -> None:
    source = read_spec(DATA / "semicolon_decimal.toml").source
    assert (source.delimiter, source.decimal) == (";", ",")
    assert source.timezone == "Europe/Amsterdam"
    assert source.timestamp_format == "%d-%m-%Y %H:%M"
    assert source.encoding is None  # not declared: detected from the bytes


def test_read_spec_reads_the_outcome_source_and_its_journey_column() -> None:
    spec = read_spec(DATA / "outcome_source.toml")
    assert spec.outcome_source is not None
    assert spec.outcome_source.path == (DATA / "outcomes.csv").resolve()
    assert spec.outcome_journey_col == "id"


def test_a_single_scale_becomes_the_default() -> None:
    spec = parse(minimal(scales={"five": {"low": 1, "high": 5}}))
    assert spec.default_scale == "five"


def test_format_is_inferred_from_the_suffix_even_when_gzipped() -> None:
    spec = parse(minimal(source={"path": "events.jsonl.gz"}))
    assert spec.source.format == "jsonl"
    assert parse(minimal(source={"path": "events.tsv"})).source.delimiter == "\t"


def test_validation_strict_is_read() -> None:
    assert parse(minimal(validation={"strict": True})).strict is True


# -- spec errors -------------------------------------------------------------


def test_missing_spec_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist; check the path"):
        read_spec(tmp_path / "nope.toml")


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('name = "x"\n[source\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        read_spec(path)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (minimal(colums={}), r"unknown key\(s\) colums in the top level"),
        (minimal(source={"path": "e.csv", "sep": ";"}), r"unknown key\(s\) sep in the source"),
        (
            minimal(scales={"s": {"low": 1, "high": 5, "middle": 3}}),
            r"\[scales\.s\]: unknown key\(s\) middle in a scale",
        ),
        (
            minimal(touchpoints=[{"name": "a", "colour": "red"}]),
            r"#1: unknown key\(s\) colour in a touchpoint",
        ),
        (
            minimal(outcomes={"o": {"column": "c", "positiv": ["y"]}}),
            r"unknown key\(s\) positiv in an outcome",
        ),
        (minimal(validation={"strcit": True}), r"unknown key\(s\) strcit in \[validation\]"),
    ],
    ids=["top", "source", "scale", "touchpoint", "outcome", "validation"],
)
def test_unknown_keys_are_named_with_the_allowed_ones(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parse(raw)
    assert "allowed:" in str(info.value)


def test_unknown_layout_is_rejected() -> None:
    with pytest.raises(ConfigError, match="layout must be 'long' or 'wide', not 'tall'"):
        parse(minimal(layout="tall"))


def test_wide_layout_without_touchpoints_is_rejected() -> None:
    raw = minimal(layout="wide")
    with pytest.raises(ConfigError, match=r"wide layout needs \[\[touchpoints\]\] entries"):
        parse(raw)


def test_wide_touchpoints_need_a_column() -> None:
    raw = minimal(layout="wide", touchpoints=[{"name": "a", "column": "q1"}, {"name": "b"}])
    with pytest.raises(ConfigError, match="wide-layout touchpoints need `column`: b"):
        parse(raw)


@pytest.mark.parametrize(
    ("scale", "message"),
    [
        ({"low": 5, "high": 5}, r"low \(5.0\) must be below high \(5.0\)"),
        ({"low": 10, "high": 0}, r"low \(10.0\) must be below high \(0.0\)"),
        ({"low": 1, "high": 5, "neutral": 5}, "set `neutral` strictly between low and high"),
        ({"low": 1, "high": 5, "not_applicable": [3]}, "pick a code outside the scale"),
        ({"low": 1}, "missing 'high'"),
    ],
)
def test_impossible_scales_are_rejected(scale: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parse(minimal(scales={"s": scale}))
    assert "[scales.s]" in str(info.value)


def test_binary_outcome_without_positive_values_is_rejected() -> None:
    raw = minimal(outcomes={"won": {"column": "result", "kind": "binary"}})
    with pytest.raises(ConfigError, match=r"list the values that mean yes in\s+`positive`"):
        parse(raw)


def test_outcome_needs_exactly_one_of_column_or_from_touchpoint() -> None:
    with pytest.raises(ConfigError, match="exactly one of `column` or `from_touchpoint`"):
        parse(minimal(outcomes={"o": {"column": "c", "from_touchpoint": "x"}}))
    with pytest.raises(ConfigError, match="kind must be one of"):
        parse(minimal(outcomes={"o": {"column": "c", "kind": "ordinal"}}))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"source": {"path": "e.csv"}, "columns": {"journey_id": "id"}}, "missing required key"),
        (minimal(name=3), "`name` must be a str"),
        (minimal(columns={"touchpoint": "step"}), "map `journey_id`"),
        (minimal(columns={"journey_id": "id"}), "a long layout needs `touchpoint`"),
        (minimal(columns={"journey_id": "id", "touchpoint": "s", "when": "t"}), "unknown role"),
        (minimal(default_scale="ten"), "default_scale 'ten' is not declared"),
        (minimal(touchpoints=[{"name": "a", "scale": "ten"}]), "scale 'ten' is not declared"),
        (minimal(touchpoints=[{"name": "a"}, {"name": "a"}]), "declared twice: a"),
        (minimal(touchpoints=[{"name": "a", "initiated_by": "bot"}]), "initiated_by must be"),
        (minimal(touchpoints=[{"name": "a", "brand_relevance": 2}]), r"must lie in \[0, 1\]"),
        (minimal(source={"path": "e.csv", "decimal": ";"}), "decimal must be"),
        (minimal(source={"path": "e.sav"}), "cannot tell the format of e.sav"),
        (minimal(source={"path": "e.csv", "format": "exel"}), "did you mean `excel`"),
        (minimal(source={"format": "csv"}), "give `path`"),
        (minimal(source={"path": "e.db"}), "needs `table` or `query`"),
        (minimal(outcome_source={"path": "o.csv"}), "name the journey column"),
    ],
)
def test_spec_mistakes_are_config_errors_that_say_what_to_write(
    raw: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        parse(raw)


# -- scales and valence ------------------------------------------------------


@pytest.mark.parametrize(("score", "valence"), [(1, -1.0), (2, -0.5), (3, 0.0), (4, 0.5), (5, 1.0)])
def test_one_to_five_maps_ends_to_minus_one_and_one(score: float, valence: float) -> None:
    assert Scale(1, 5).valence(score) == valence


@pytest.mark.parametrize(("score", "valence"), [(1, 1.0), (4, 0.0), (7, -1.0), (2.5, 0.5)])
def test_reversed_scale_sends_the_low_end_to_plus_one(score: float, valence: float) -> None:
    assert Scale(1, 7, reversed=True).valence(score) == valence


@pytest.mark.parametrize(
    ("score", "valence"), [(0, -1.0), (3.5, -0.5), (7, 0.0), (8.5, 0.5), (10, 1.0)]
)
def test_asymmetric_neutral_stretches_each_side_on_its_own(score: float, valence: float) -> None:
    assert Scale(0, 10, neutral=7).valence(score) == pytest.approx(valence)


def test_scale_describes_itself() -> None:
    assert Scale(1, 5, not_applicable=(0,)).describe() == "1-5 (neutral 3, 0 = n/a)"
    assert Scale(0, 10, neutral=7, reversed=True).describe() == "0-10 (neutral 7, reversed)"


@st.composite
def scales(draw: st.DrawFn) -> Scale:
    low = draw(st.floats(-100, 100, allow_nan=False))
    width = draw(st.floats(0.01, 100, allow_nan=False))
    high = low + width
    share = draw(st.one_of(st.none(), st.floats(0.05, 0.95)))
    neutral = None if share is None else low + share * width
    return Scale(low, high, neutral=neutral, reversed=draw(st.booleans()))


@given(scale=scales(), a=st.floats(0, 1), b=st.floats(0, 1))
def test_valence_stays_in_range_and_follows_the_scale_direction(
    scale: Scale, a: float, b: float
) -> None:
    width = scale.high - scale.low
    x, y = sorted((scale.low + a * width, scale.low + b * width))
    x, y = min(max(x, scale.low), scale.high), min(max(y, scale.low), scale.high)
    vx, vy = scale.valence(x), scale.valence(y)
    eps = 1e-9
    assert -1 - eps <= vx <= 1 + eps and -1 - eps <= vy <= 1 + eps
    assert not math.isnan(vx)
    if scale.reversed:
        assert vx >= vy - eps
    else:
        assert vx <= vy + eps


@given(scale=scales())
def test_valence_is_zero_at_neutral_and_one_at_the_good_end(scale: Scale) -> None:
    assert scale.valence(scale.midpoint) == 0
    good, bad = (scale.low, scale.high) if scale.reversed else (scale.high, scale.low)
    assert scale.valence(good) == pytest.approx(1)
    assert scale.valence(bad) == pytest.approx(-1)


def test_segments_must_be_attributes() -> None:
    base: dict[str, Any] = {
        "name": "x",
        "attributes": ["tier"],
        "source": {"path": "e.csv"},
        "columns": {"journey_id": "id", "touchpoint": "tp"},
    }
    assert parse_spec(base, base_dir=Path(".")).segments == ()
    spec = parse_spec({**base, "segments": ["tier"]}, base_dir=Path("."))
    assert spec.segments == ("tier",)
    with pytest.raises(ConfigError, match="segment 'plan' is not an attribute"):
        parse_spec({**base, "segments": ["plan"]}, base_dir=Path("."))


# -- [spark] and paths on a cluster ------------------------------------------------


def test_spark_table_is_read_with_memory_and_settings() -> None:
    spec = parse(
        minimal(
            spark={
                "master": "yarn",
                "driver_memory": "4g",
                "executor_memory": "8G",
                "conf": {"spark.executor.instances": 8, "spark.dynamicAllocation.enabled": True},
            }
        )
    )
    assert spec.spark.master == "yarn"
    assert (spec.spark.driver_memory, spec.spark.executor_memory) == ("4g", "8G")
    assert spec.spark.conf == {
        "spark.executor.instances": "8",
        "spark.dynamicAllocation.enabled": "true",
    }
    assert parse(minimal()).spark.master is None


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            {"masters": "yarn"},
            r"\[spark\]: unknown key\(s\) masters in \[spark\] \(did you mean `master`",
        ),
        ({"master": 7077}, r"master must be a Spark master URL, e\.g\. master = \"yarn\""),
        ({"driver_memory": 4}, r"driver_memory must be an amount such as \"4g\""),
        ({"executor_memory": "lots"}, r"executor_memory must be an amount such as \"4g\""),
        ({"conf": "spark.executor.cores=4"}, r"conf must be a table of Spark settings"),
        ({"conf": {"executor.cores": 4}}, r"conf key 'executor.cores' is not a Spark setting"),
        ({"conf": {"spark.jars": ["a.jar"]}}, r"conf value of 'spark.jars' must be a string"),
    ],
)
def test_spark_table_mistakes_are_named(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse(minimal(spark=table))


@pytest.mark.parametrize(
    "path",
    [
        "hdfs://namenode:8020/cx/events.csv",
        "s3a://cx-lake/exports/2024/events.parquet",
        "abfss://cx@lake.dfs.core.windows.net/events.csv",
    ],
)
def test_a_path_on_a_cluster_is_kept_as_written(path: str) -> None:
    spec = parse({**minimal(), "source": {"path": path}})
    assert spec.source.uri == path and spec.source.path is None
    assert spec.source.format == ("parquet" if path.endswith(".parquet") else "csv")
    assert spec.source.label == path


def test_a_local_backend_refuses_a_path_on_a_cluster() -> None:
    from peakend.load import load

    spec = parse({**minimal(), "source": {"path": "hdfs://namenode:8020/cx/events.csv"}})
    wanted = (
        r"hdfs://namenode:8020/cx/events\.csv is on a cluster's file system, which only "
        r"Spark reads: run with --backend spark"
    )
    with pytest.raises(ConfigError, match=wanted):
        load(spec, backend="duckdb")


def test_environment_overrides_the_spark_table(monkeypatch: pytest.MonkeyPatch) -> None:
    from peakend.loading.spark_session import session_settings

    spec = parse(
        minimal(
            spark={
                "master": "spark://cx-master:7077",
                "driver_memory": "4g",
                "executor_memory": "8g",
                "conf": {"spark.sql.shuffle.partitions": 64, "spark.executor.cores": 4},
            }
        )
    ).spark
    for name in ("MASTER", "DRIVER_MEMORY", "EXECUTOR_MEMORY", "SHUFFLE_PARTITIONS"):
        monkeypatch.delenv(f"PEAKEND_SPARK_{name}", raising=False)
    master, settings = session_settings(spec)
    assert master == "spark://cx-master:7077"
    assert settings["spark.driver.memory"] == "4g"
    assert settings["spark.executor.memory"] == "8g"
    assert settings["spark.sql.shuffle.partitions"] == "64"
    assert settings["spark.executor.cores"] == "4"
    monkeypatch.setenv("PEAKEND_SPARK_MASTER", "local[2]")
    monkeypatch.setenv("PEAKEND_SPARK_DRIVER_MEMORY", "2g")
    monkeypatch.setenv("PEAKEND_SPARK_SHUFFLE_PARTITIONS", "4")
    master, settings = session_settings(spec)
    assert master == "local[2]"
    assert settings["spark.driver.memory"] == "2g"
    assert settings["spark.executor.memory"] == "8g"
    assert settings["spark.sql.shuffle.partitions"] == "4"
    master, settings = session_settings(parse(minimal()).spark)
    assert master == "local[2]" and "spark.executor.memory" not in settings
