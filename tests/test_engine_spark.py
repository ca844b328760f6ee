"""The journey engine gives the same results on PySpark (local mode) as on DuckDB.

The engine is written as Ibis expressions so that it runs wherever a customer's
events live. This module builds a small canonical log with the awkward cases
(timestamp ties broken by ``seq``, events without a score or a time, a journey
without any timestamp, one-event journeys, both initiators) and checks every
engine function on both backends, row for row.

Needs ``peakend[spark]`` and Java 17. Without pyspark the module is skipped,
except on CI (``CI=true``), where a missing pyspark is a failure.
"""

from __future__ import annotations

import gc
import os
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from peakend.engine import (
    connect,
    directly_follows,
    events_table,
    journey_features,
    journey_tables,
    outcomes_table,
    score_distribution,
    touchpoint_stats,
)
from peakend.schema import EVENT_SCHEMA

try:
    from pyspark.sql import SparkSession
except ImportError:
    if os.environ.get("CI") == "true":
        raise
    pytest.skip(
        "pyspark is not installed: install the extra `peakend[spark]` (needs Java 17) "
        "to run the engine on Spark",
        allow_module_level=True,
    )

pytestmark = [
    pytest.mark.spark,
    # py4j leaves the sockets of collected results to the garbage collector.
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

TOUCHPOINTS = ["website", "app", "call", "chat", "store", "delivery", "invoice"]
CHANNELS = ["web", "mobile", "phone", "shop", None]
BASE = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


def _events() -> pa.Table:
    """About 50 journeys and 300 events in the canonical schema, with every edge case."""
    rng = random.Random(20240301)
    rows: list[dict[str, Any]] = []
    seq = 0

    def add(
        journey: str,
        customer: str | None,
        ts: datetime | None,
        score: float | None,
        touchpoint: str | None = None,
        initiated_by: str | None = "random",
    ) -> None:
        nonlocal seq
        seq += 1
        if initiated_by == "random":
            initiated_by = rng.choice(["customer", "company", "customer", None])
        rows.append(
            {
                "journey_id": journey,
                "customer_id": customer,
                "ts": ts,
                "seq": seq,
                "touchpoint": touchpoint or rng.choice(TOUCHPOINTS),
                "channel": rng.choice(CHANNELS),
                "initiated_by": initiated_by,
                "score": score,
                "valence": None if score is None else (score - 3) / 2,
                "text": None,
                "lang": "en",
            }
        )

    for j in range(48):
        journey, customer = f"j{j:02d}", f"c{j % 31:02d}"
        n = 1 if j % 9 == 0 else rng.randint(2, 12)
        start = BASE + timedelta(days=j, seconds=rng.randint(0, 3600))
        offset = 0.0
        for _ in range(n):
            # Ties: a third of the events share the previous timestamp; some steps
            # carry fractions (down to microseconds) so the gaps are not whole seconds.
            if rng.random() > 0.33:
                step = rng.choice([1, 7, 60, 300, 3600, 86400])
                offset += step + rng.choice([0, 0, 0.25, 0.000125])
            ts = None if rng.random() < 0.06 else start + timedelta(seconds=offset)
            score = None if rng.random() < 0.3 else float(rng.randint(1, 5))
            add(journey, customer, ts, score)
    # A journey without any timestamp, in source order.
    for score in (5.0, None, 1.0, 3.0, 1.0):
        add("j_untimed", "c99", None, score)
    # A journey without any score, nor any known initiator, and a touchpoint that is
    # never scored (counts with a condition that is missing on every row must be 0).
    for k in range(4):
        add("j_unscored", "c98", BASE + timedelta(hours=k), None, initiated_by=None)
    add("j_unscored", "c98", BASE + timedelta(hours=5), None, "reminder", "company")
    add("j01", "c01", None, None, "reminder", None)
    # Equal highs and lows: the earliest wins, and the low beats an equally high peak.
    for k, score in enumerate((5.0, 1.0, 5.0, 1.0, 3.0)):
        add("j_ties", "c97", BASE + timedelta(minutes=k // 2), score)
    # Source order differs from time order: the last event logged happened first, and
    # seq only breaks ties.
    rows.append({**rows[-1], "seq": seq + 1, "ts": BASE - timedelta(days=1)})
    rng.shuffle(rows)
    return pa.Table.from_pylist(rows, schema=EVENT_SCHEMA)


def _outcomes(events: pa.Table) -> pa.Table:
    rng = random.Random(7)
    journeys = sorted(set(events.column("journey_id").to_pylist()))
    kept = [j for j in journeys if rng.random() > 0.15]  # some journeys have no outcome row
    nps = [None if rng.random() < 0.1 else float(rng.randint(0, 10)) for _ in kept]
    churn = [rng.randint(0, 1) for _ in kept]
    return pa.table(
        {"journey_id": kept, "nps": nps, "churned": churn},
        schema=pa.schema(
            [("journey_id", pa.string()), ("nps", pa.float64()), ("churned", pa.int64())]
        ),
    )


EVENTS = _events()
OUTCOMES = _outcomes(EVENTS)

CASES: dict[str, tuple[Callable[[ibis.Table, ibis.Table], ibis.Table], list[str]]] = {
    "journey_features": (lambda e, o: journey_features(e), ["journey_id"]),
    "touchpoint_stats": (lambda e, o: touchpoint_stats(e), ["touchpoint"]),
    "touchpoint_stats_nps": (
        lambda e, o: touchpoint_stats(e, o, outcome_col="nps"),
        ["touchpoint"],
    ),
    "touchpoint_stats_churned": (
        lambda e, o: touchpoint_stats(e, o, outcome_col="churned", low_max=-1, high_min=1),
        ["touchpoint"],
    ),
    "directly_follows": (lambda e, o: directly_follows(e), ["source", "target"]),
    "score_distribution": (lambda e, o: score_distribution(e), ["touchpoint", "score"]),
    # all three from one materialised sort (a cached table on either backend)
    "journey_tables_features": (
        lambda e, o: ibis.memtable(journey_tables(e, o, outcome_col="nps").features),
        ["journey_id"],
    ),
    "journey_tables_touchpoints": (
        lambda e, o: ibis.memtable(journey_tables(e, o, outcome_col="nps").touchpoints),
        ["touchpoint"],
    ),
    "journey_tables_flows": (
        lambda e, o: ibis.memtable(journey_tables(e, o).flows),
        ["source", "target"],
    ),
    # a histogram per touchpoint on DuckDB, the distribution's own query on Spark
    "journey_tables_scores": (
        lambda e, o: ibis.memtable(journey_tables(e, o, outcome_col="nps").scores),
        ["touchpoint", "score"],
    ),
}


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    session = (
        SparkSession.builder.master("local[1]")
        .appName("peakend-engine-test")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.memory", "1g")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
    gc.collect()  # close py4j's leftover sockets while this module's warning filters apply


@pytest.fixture(scope="module")
def spark_tables(spark: Any) -> tuple[ibis.Table, ibis.Table]:
    con = ibis.pyspark.connect(spark)
    return events_table(con, EVENTS), outcomes_table(con, OUTCOMES)


@pytest.fixture(scope="module")
def duckdb_tables() -> tuple[ibis.Table, ibis.Table]:
    con = connect(threads=1)
    return events_table(con, EVENTS), outcomes_table(con, OUTCOMES)


def _normalise(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    frame = frame.sort_values(keys, kind="stable", na_position="last").reset_index(drop=True)
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_datetime64_any_dtype(column):
            column = pd.to_datetime(column)
            # Spark hands back naive times in the session zone (UTC); DuckDB aware ones.
            frame[name] = (
                column.dt.tz_localize("UTC")
                if column.dt.tz is None
                else column.dt.tz_convert("UTC")
            ).astype("datetime64[us, UTC]")
    return frame


def _assert_same(expected: pd.DataFrame, actual: pd.DataFrame, keys: list[str]) -> None:
    assert list(actual.columns) == list(expected.columns)
    expected, actual = _normalise(expected, keys), _normalise(actual, keys)
    assert len(actual) == len(expected)
    for name in expected.columns:
        want, got = expected[name], actual[name]
        if pd.api.types.is_datetime64_any_dtype(want):
            pd.testing.assert_series_equal(got, want, check_names=False)
        elif pd.api.types.is_numeric_dtype(want) and not pd.api.types.is_bool_dtype(want):
            assert pd.api.types.is_numeric_dtype(got), f"{name}: {got.dtype} is not numeric"
            w = want.astype("float64").to_numpy()
            g = got.astype("float64").to_numpy()
            assert np.allclose(g, w, rtol=1e-9, atol=1e-12, equal_nan=True), (
                f"{name} differs:\n"
                + pd.DataFrame({**{k: expected[k] for k in keys}, "duckdb": w, "spark": g})
                .loc[~np.isclose(g, w, rtol=1e-9, atol=1e-12, equal_nan=True)]
                .to_string()
            )
        else:
            w = [None if pd.isna(v) else v for v in want]
            g = [None if pd.isna(v) else v for v in got]
            assert g == w, f"{name} differs"


def test_log_covers_the_edge_cases() -> None:
    frame = EVENTS.to_pandas()
    sizes = frame.groupby("journey_id").size()
    assert 45 <= sizes.size <= 60 and 250 <= len(frame) <= 350
    assert (sizes == 1).sum() >= 3
    assert frame.groupby("journey_id")["ts"].apply(lambda s: s.isna().all()).sum() >= 1
    assert frame["score"].isna().any() and frame["ts"].isna().any()
    assert frame.duplicated(["journey_id", "ts"]).sum() >= 30  # ties resolved by seq
    assert set(frame["initiated_by"].dropna()) == {"customer", "company"}


@pytest.mark.parametrize("case", list(CASES))
def test_spark_matches_duckdb(
    case: str,
    duckdb_tables: tuple[ibis.Table, ibis.Table],
    spark_tables: tuple[ibis.Table, ibis.Table],
) -> None:
    build, keys = CASES[case]
    expected = build(*duckdb_tables).to_pandas()
    actual = build(*spark_tables).to_pandas()
    assert len(expected) > 0
    _assert_same(expected, actual, keys)
