"""The engine against the vectorised pandas reference in ``bench/pandas_reference.py``.

A small log (about 2,000 events) with every awkward case the engine must handle:
timestamp ties broken by ``seq``, unscored events, single-event journeys,
journeys without any score and journeys without timestamps. Then property tests
of the features on random journeys.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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

_REF_PATH = Path(__file__).resolve().parents[1] / "bench" / "pandas_reference.py"
_spec = importlib.util.spec_from_file_location("pandas_reference", _REF_PATH)
assert _spec is not None and _spec.loader is not None
ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ref)

TOUCHPOINTS = ["browse", "quote", "buy", "invoice", "call", "chat", "complaint", "renewal"]


def make_events(n_journeys: int = 220, seed: int = 3) -> pd.DataFrame:
    """About 2,000 events with ties, gaps in scores and times, and tiny journeys."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 18, size=n_journeys)
    lengths[:15] = 1  # single-event journeys
    n = int(lengths.sum())
    journey = np.repeat(np.arange(n_journeys), lengths)
    start = np.repeat(rng.integers(1_700_000_000, 1_710_000_000, size=n_journeys), lengths)
    gaps = rng.integers(0, 4, size=n) * 600
    gaps[rng.random(n) < 0.3] = 0  # many timestamp ties
    ts = start + np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[np.cumsum(lengths) - lengths], lengths)
    score = rng.integers(1, 6, size=n).astype(float)
    score[rng.random(n) < 0.35] = np.nan  # unscored events
    unscored_journeys = np.isin(journey, np.arange(15, 30))
    score[unscored_journeys] = np.nan  # journeys without any score
    frame = pd.DataFrame(
        {
            "journey_id": [f"j{j:04d}" for j in journey],
            "customer_id": [f"c{j // 3:04d}" for j in journey],
            "ts": pd.to_datetime(ts, unit="s", utc=True),
            "seq": rng.permutation(n).astype("int64"),
            "touchpoint": np.array(TOUCHPOINTS)[rng.integers(0, len(TOUCHPOINTS), size=n)],
            "channel": "web",
            "initiated_by": np.where(rng.random(n) < 0.4, "customer", "company"),
            "score": score,
            "valence": (score - 3.0) / 2.0,
            "text": None,
            "lang": None,
        }
    )
    no_time = np.isin(journey, np.arange(30, 45))  # journeys without timestamps
    some_missing = (rng.random(n) < 0.05) & ~no_time  # a few events without a time
    frame.loc[no_time | some_missing, "ts"] = pd.NaT
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def to_arrow(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(
        frame[list(EVENT_SCHEMA.names)], schema=EVENT_SCHEMA, preserve_index=False
    )


@pytest.fixture(scope="module")
def con():  # noqa: ANN201
    return connect()


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return make_events()


def assert_frames_close(engine: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Numbers within a tolerance, strings and times exactly, missing where missing."""
    assert list(engine.columns) == list(expected.columns)
    assert len(engine) == len(expected)
    for col in expected.columns:
        got, want = engine[col], expected[col]
        if pd.api.types.is_numeric_dtype(want) and not pd.api.types.is_bool_dtype(want):
            np.testing.assert_allclose(
                got.to_numpy("float64", na_value=np.nan),
                want.to_numpy("float64", na_value=np.nan),
                rtol=1e-9,
                atol=1e-12,
                err_msg=col,
            )
        else:
            same = (got == want).fillna(False) | (got.isna() & want.isna())
            assert same.all(), f"{col}: {pd.concat([got[~same], want[~same]], axis=1).head()}"


def test_fixture_has_the_awkward_cases(events: pd.DataFrame) -> None:
    sizes = events.groupby("journey_id").size()
    assert 1_500 <= len(events) <= 2_500
    assert (sizes == 1).sum() >= 15
    scored = events.groupby("journey_id")["valence"].count()
    assert (scored == 0).sum() >= 15
    assert events.groupby("journey_id")["ts"].count().eq(0).sum() >= 15
    assert events.duplicated(["journey_id", "ts"]).sum() > 100  # ties


def test_journey_features_match_reference(con, events: pd.DataFrame) -> None:  # noqa: ANN001
    table = events_table(con, to_arrow(events), name="ref_events")
    got = journey_features(table).to_pandas().sort_values("journey_id").reset_index(drop=True)
    want = ref.journey_features(events).sort_values("journey_id").reset_index(drop=True)
    assert_frames_close(got[want.columns], want)
    # the awkward journeys really carry missing features
    assert got["trend"].isna().sum() >= 30
    assert got["duration_s"].isna().sum() >= 15


def test_events_table_reads_arrow_in_place(con, events: pd.DataFrame) -> None:  # noqa: ANN001
    """An Arrow table of events is read where it is (a view), not copied into a
    DuckDB table, and the engine gives the same features as on a copy."""
    arrow = to_arrow(events)
    table = events_table(con, arrow, name="ref_in_place")
    tables = con.con.sql("SELECT table_name FROM duckdb_tables()").fetchall()
    assert ("ref_in_place",) not in tables
    copy = con.create_table("ref_copy", arrow, overwrite=True)
    got = journey_features(table).to_pandas().sort_values("journey_id", ignore_index=True)
    want = journey_features(copy).to_pandas().sort_values("journey_id", ignore_index=True)
    assert_frames_close(got, want)


def test_outcomes_table_reads_arrow_in_place(con, events: pd.DataFrame) -> None:  # noqa: ANN001
    """Per-journey outcomes in Arrow are read where they are (a view), not copied into
    a DuckDB table, and the statistics by score band are the same as on a copy."""
    journeys = events["journey_id"].drop_duplicates().sort_values().to_numpy()
    outcomes = pa.table({"journey_id": journeys, "nps": np.arange(len(journeys)) % 11 * 1.0})
    table = events_table(con, to_arrow(events), name="ref_events")
    out = outcomes_table(con, outcomes, name="out_in_place")
    tables = con.con.sql("SELECT table_name FROM duckdb_tables()").fetchall()
    assert ("out_in_place",) not in tables
    copy = con.create_table("out_copy", outcomes, overwrite=True)
    got = touchpoint_stats(table, out, outcome_col="nps").to_pyarrow()
    assert got.equals(touchpoint_stats(table, copy, outcome_col="nps").to_pyarrow())


def _windowed_score_distribution(events: ibis.Table) -> ibis.Table:
    """The score distribution with the share from a window over the counts (the old way)."""
    scored = events.filter(events.score.notnull())
    counts = scored.group_by(["touchpoint", "score"]).aggregate(count=scored.count())
    total = counts["count"].sum().over(group_by=counts.touchpoint)
    return counts.mutate(share=counts["count"] / total).order_by(["touchpoint", "score"])


def test_score_distribution_equals_the_windowed_shares(con, events: pd.DataFrame) -> None:  # noqa: ANN001
    """Shares from the joined per-touchpoint totals are the windowed ones exactly (a
    touchpoint never scored has no rows), and the events are read once."""
    frame = events.copy()
    frame.loc[frame["touchpoint"] == "renewal", ["score", "valence"]] = np.nan
    table = events_table(con, to_arrow(frame), name="dist_events")
    got = score_distribution(table).to_pyarrow()
    assert got.equals(_windowed_score_distribution(table).to_pyarrow())
    assert "renewal" not in got["touchpoint"].to_pylist()
    want = frame.dropna(subset=["score"]).groupby(["touchpoint", "score"], sort=True).size()
    assert got["count"].to_pylist() == want.tolist()
    # DuckDB reads a table once for it (the windowed shares read it twice)
    con.con.sql(
        "CREATE OR REPLACE TABLE dist_table AS SELECT 'tp' || (i % 7) AS touchpoint,"
        " CAST(i % 5 AS DOUBLE) AS score FROM range(10000) t(i)"
    )
    stored = con.table("dist_table")
    plan = str(con.con.sql("EXPLAIN " + ibis.to_sql(score_distribution(stored))).fetchall())
    assert plan.count("Seq Scan") + plan.count("SEQ_SCAN") == 1
    assert (
        score_distribution(stored)
        .to_pyarrow()
        .equals(_windowed_score_distribution(stored).to_pyarrow())
    )


def test_journey_tables_count_scores_in_the_touchpoint_pass(con, events: pd.DataFrame) -> None:  # noqa: ANN001
    """On DuckDB the score distribution comes from the touchpoint statistics' pass (a
    histogram per touchpoint), equal to the distribution's own query number for number,
    with scores that are not whole and a touchpoint never scored."""
    frame = events.copy()
    frame.loc[frame["touchpoint"] == "renewal", ["score", "valence"]] = np.nan
    frame.loc[frame.index[::7], "score"] = frame["score"] + 0.25
    table = events_table(con, to_arrow(frame), name="hist_events")
    tables = journey_tables(table)
    want = score_distribution(table).to_pyarrow()
    assert tables.scores.equals(want)
    assert tables.scores.schema.equals(want.schema)
    assert tables.touchpoints.column_names == list(touchpoint_stats(table).columns)
    none = journey_tables(events_table(con, to_arrow(frame.assign(score=np.nan)), name="unscored"))
    assert none.scores.num_rows == 0
    assert none.scores.schema.equals(want.schema)


def test_directly_follows_matches_reference(con, events: pd.DataFrame) -> None:  # noqa: ANN001
    table = events_table(con, to_arrow(events), name="ref_events")
    got = directly_follows(table).to_pandas()
    want = ref.directly_follows(events)
    keys = ["source", "target"]
    # both are ordered by count, then source and target
    assert_frames_close(got.reset_index(drop=True), want)
    assert got[keys].equals(want[keys])
    assert got["count"].sum() == len(events) - events["journey_id"].nunique()


def test_touchpoint_stats_match_reference(con, events: pd.DataFrame) -> None:  # noqa: ANN001
    table = events_table(con, to_arrow(events), name="ref_events")
    got = touchpoint_stats(table).to_pandas()
    want = ref.touchpoint_stats(events)
    assert_frames_close(got, want)


def test_touchpoint_stats_with_outcome_match_reference(con, events: pd.DataFrame) -> None:  # noqa: ANN001
    rng = np.random.default_rng(11)
    journeys = events["journey_id"].drop_duplicates().sort_values().to_numpy()
    overall = rng.normal(7, 1.5, size=len(journeys))
    overall[rng.random(len(journeys)) < 0.2] = np.nan  # journeys without an outcome
    outcomes = pd.DataFrame({"journey_id": journeys, "overall": overall})
    table = events_table(con, to_arrow(events), name="ref_events")
    out = outcomes_table(con, pa.Table.from_pandas(outcomes, preserve_index=False), name="ref_out")
    got = touchpoint_stats(table, out, outcome_col="overall").to_pandas()
    want = ref.touchpoint_stats(events, outcomes, outcome_col="overall")
    assert_frames_close(got, want)


def test_touchpoint_without_rated_events(con, events: pd.DataFrame) -> None:  # noqa: ANN001
    """A touchpoint never scored, one scored only in journeys without an outcome, and a
    journey with an outcome but no event at all: counts 0 and means missing, exactly
    as the reference, which joins the outcome to every event."""
    frame = events.copy()
    never = frame["touchpoint"] == "renewal"
    frame.loc[never, ["score", "valence"]] = np.nan  # never scored
    journeys = frame["journey_id"].drop_duplicates().sort_values().to_numpy()
    unrated = set(frame.loc[frame["touchpoint"] == "complaint", "journey_id"])
    overall = np.where(np.isin(journeys, list(unrated)), np.nan, np.arange(len(journeys)) % 11)
    outcomes = pd.DataFrame({"journey_id": [*journeys, "no-events"], "overall": [*overall, 5.0]})
    table = events_table(con, to_arrow(frame), name="unrated_events")
    out = outcomes_table(con, pa.Table.from_pandas(outcomes, preserve_index=False), name="unrated")
    got = touchpoint_stats(table, out, outcome_col="overall").to_pandas()
    want = ref.touchpoint_stats(frame, outcomes, outcome_col="overall")
    for tp in ("renewal", "complaint"):
        row = got.set_index("touchpoint").loc[tp]
        assert (row["n_low"], row["n_mid"], row["n_high"]) == (0, 0, 0)
        assert row[["outcome_low", "outcome_mid", "outcome_high"]].isna().all()
    counts = ["volume", "journeys", "n_scored", "n_customer_initiated", "n_low", "n_mid", "n_high"]
    assert got[counts].astype("int64").equals(want[counts].astype("int64"))
    assert_frames_close(got, want)


def test_journey_tables_match_reference_with_one_sort(con, events: pd.DataFrame) -> None:  # noqa: ANN001
    rng = np.random.default_rng(12)
    journeys = events["journey_id"].drop_duplicates().sort_values().to_numpy()
    outcomes = pd.DataFrame({"journey_id": journeys, "nps": rng.integers(0, 11, len(journeys))})
    table = events_table(con, to_arrow(events), name="ref_events")
    out = outcomes_table(con, pa.Table.from_pandas(outcomes, preserve_index=False), name="ref_out")
    steps: list[str] = []
    tables = journey_tables(table, out, outcome_col="nps", on_step=steps.append)
    assert steps == ["order", "flows", "features", "touchpoints", "done"]
    features = tables.features.to_pandas()
    assert features["journey_id"].is_monotonic_increasing
    want = ref.journey_features(events).sort_values("journey_id").reset_index(drop=True)
    assert_frames_close(features[want.columns], want)
    assert_frames_close(
        tables.touchpoints.to_pandas(),
        ref.touchpoint_stats(events, outcomes.astype({"nps": "float64"}), outcome_col="nps"),
    )
    assert_frames_close(tables.flows.to_pandas(), ref.directly_follows(events))
    # the materialised order is dropped afterwards
    left = con.raw_sql("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
    assert not [name for (name,) in left if "cache" in name]


@pytest.mark.parametrize(("n_touchpoints", "by_mask"), [(62, True), (63, False)])
def test_journey_tables_count_journeys_per_touchpoint_by_mask_or_distinct(  # noqa: ANN001
    con, events: pd.DataFrame, monkeypatch: pytest.MonkeyPatch, n_touchpoints: int, by_mask: bool
) -> None:
    """Up to 62 touchpoints the journeys come from per-journey bit masks, beyond from a
    distinct count; both equal the lazy statistics."""
    import peakend.engine.tables as tables_module

    frame = events.copy()
    names = np.array([f"tp{k:02d}" for k in range(n_touchpoints)], dtype=object)
    frame["touchpoint"] = names[np.arange(len(frame)) % n_touchpoints]
    table = events_table(con, to_arrow(frame), name="many_touchpoints")
    counted = tables_module._set_bits
    calls: list[int] = []
    monkeypatch.setattr(
        tables_module, "_set_bits", lambda masks: calls.append(len(masks)) or counted(masks)
    )
    tables = journey_tables(table)
    assert bool(calls) is by_mask
    assert tables.features.column_names == list(journey_features(table).columns)
    got = tables.touchpoints.to_pandas()
    assert len(got) == n_touchpoints
    assert_frames_close(got, touchpoint_stats(table).to_pandas())


def test_journey_tables_refuses_crossed_bands(con, events: pd.DataFrame) -> None:  # noqa: ANN001
    table = events_table(con, to_arrow(events), name="ref_events")
    with pytest.raises(ValueError, match="low_max"):
        journey_tables(table, low_max=0.5, high_min=-0.5)


# ------------------------------------------------------------------ properties

scores = st.one_of(st.none(), st.integers(1, 5).map(float))
times = st.one_of(st.none(), st.integers(0, 5).map(lambda k: k * 60))
event_rows = st.tuples(st.sampled_from(TOUCHPOINTS[:4]), times, scores)
journeys = st.lists(st.lists(event_rows, min_size=1, max_size=8), min_size=1, max_size=6)


def _frame(data: list[list[tuple[str, int | None, float | None]]]) -> pd.DataFrame:
    rows = []
    seq = 0
    for j, journey in enumerate(data):
        for touchpoint, offset, score in journey:
            rows.append(
                {
                    "journey_id": f"j{j}",
                    "customer_id": f"c{j}",
                    "ts": pd.NaT
                    if offset is None
                    else pd.Timestamp(1_700_000_000 + offset, unit="s", tz="UTC"),
                    "seq": seq,
                    "touchpoint": touchpoint,
                    "channel": "web",
                    "initiated_by": "customer" if seq % 3 == 0 else "company",
                    "score": score,
                    "valence": None if score is None else (score - 3.0) / 2.0,
                    "text": None,
                    "lang": None,
                }
            )
            seq += 1
    frame = pd.DataFrame(rows)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    frame["score"] = frame["score"].astype("float64")
    frame["valence"] = frame["valence"].astype("float64")
    return frame


def _features(con, frame: pd.DataFrame) -> pd.DataFrame:  # noqa: ANN001
    table = events_table(con, to_arrow(frame), name="prop_events")
    return journey_features(table).to_pandas().set_index("journey_id").sort_index()


_settings = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_settings
@given(data=journeys, perm_seed=st.integers(0, 2**32 - 1))
def test_shuffling_rows_does_not_change_features(con, data, perm_seed) -> None:  # noqa: ANN001
    frame = _frame(data)
    shuffled = frame.sample(frac=1.0, random_state=perm_seed % (2**32)).reset_index(drop=True)
    a, b = _features(con, frame), _features(con, shuffled)
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12)


@_settings
@given(data=journeys)
def test_valence_bounds(con, data) -> None:  # noqa: ANN001
    f = _features(con, _frame(data))
    scored = f[f["n_scored"] > 0]
    eps = 1e-12
    assert (scored["peak_valence"].abs() >= scored["mean_valence"].abs() - eps).all()
    assert (scored["trough_valence"] <= scored["mean_valence"] + eps).all()
    assert (scored["mean_valence"] <= scored["best_valence"] + eps).all()
    assert scored["peak_valence"].isin([*scored["best_valence"], *scored["trough_valence"]]).all()
    # on a tie in intensity the negative moment wins
    tie = (scored["best_valence"] == -scored["trough_valence"]) & (scored["best_valence"] > 0)
    assert (scored.loc[tie, "peak_valence"] < 0).all()
    unscored = f[f["n_scored"] == 0]
    assert unscored[["mean_valence", "peak_valence", "end_valence", "trend"]].isna().all().all()


@_settings
@given(data=journeys)
def test_end_valence_is_the_last_scored_event(con, data) -> None:  # noqa: ANN001
    frame = _frame(data)
    f = _features(con, frame)
    for journey_id, rows in frame.groupby("journey_id"):
        key = rows.assign(_no_ts=rows["ts"].isna()).sort_values(["_no_ts", "ts", "seq"])
        scored = key[key["valence"].notna()]
        got = f.loc[journey_id]
        if scored.empty:
            assert math.isnan(got["end_valence"])
            continue
        assert got["end_valence"] == scored["valence"].iloc[-1]
        assert got["end_touchpoint"] == scored["touchpoint"].iloc[-1]
        assert got["first_valence"] == scored["valence"].iloc[0]
        assert got["last_touchpoint"] == key["touchpoint"].iloc[-1]
