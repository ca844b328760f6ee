"""The synthetic generator: canonical shape, determinism, streaming, and the planted truth.

The planted truth is checked the way an analyst would find it: features are
computed here with pandas from the written files, independently of the
generator's own code.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv
import pyarrow.parquet as pq
import pytest

from peakend.datasets import DEMO_JOURNEYS, demo_dir, demo_spec_path
from peakend.errors import ConfigError
from peakend.generate import (
    CLASSES,
    OUTCOME_SCHEMA,
    TRUTH_SECTIONS,
    GeneratedDataset,
    GeneratorConfig,
    generate,
)
from peakend.schema import EVENT_SCHEMA, TOUCHPOINT_SCHEMA
from peakend.spec import read_spec


def _digest(path: Path) -> str:
    """SHA-256 of a Parquet file's content, independent of its row-group layout."""
    table = pq.read_table(path).combine_chunks()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


def _truth(ds: GeneratedDataset) -> dict[str, Any]:
    return dict(json.loads(ds.truth_path.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> GeneratedDataset:
    return generate(tmp_path_factory.mktemp("big"), GeneratorConfig(n_journeys=10_000, seed=11))


@pytest.fixture(scope="module")
def events(big: GeneratedDataset) -> pd.DataFrame:
    return pd.read_parquet(big.events_path)


@pytest.fixture(scope="module")
def outcomes(big: GeneratedDataset) -> pd.DataFrame:
    return pd.read_parquet(big.outcomes_path)


def test_events_have_exactly_the_canonical_schema(big: GeneratedDataset) -> None:
    assert pq.read_schema(big.events_path).remove_metadata() == EVENT_SCHEMA
    assert pq.read_schema(big.outcomes_path).remove_metadata() == OUTCOME_SCHEMA


def test_event_values_follow_the_data_model(events: pd.DataFrame, big: GeneratedDataset) -> None:
    assert len(events) == big.n_events
    assert events["seq"].is_monotonic_increasing and events["seq"].is_unique
    assert set(events["initiated_by"]) == {"customer", "company"}
    scored = events["score"].dropna()
    assert set(scored) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    np.testing.assert_array_equal(
        events["valence"].to_numpy(), ((events["score"] - 3) / 2).to_numpy()
    )
    assert events["text"].isna().all() and events["lang"].isna().all()
    contacts = events["touchpoint"].isin(["call_center", "chat", "faq_visit", "email"])
    assert events.loc[contacts, "score"].isna().all()
    assert (events.loc[contacts, "initiated_by"] == "customer").all()
    assert events.groupby("journey_id").size().mean() == pytest.approx(9.3, abs=1.0)


def test_designed_touchpoints_come_in_stage_order(
    big: GeneratedDataset, events: pd.DataFrame
) -> None:
    stage = {name: i for i, name in enumerate(_truth(big)["journeys"]["stage_order"])}
    designed = events[events["touchpoint"].isin(stage)].sort_values(["journey_id", "ts", "seq"])
    order = designed["touchpoint"].map(stage)
    steps = order.groupby(designed["journey_id"]).diff().dropna()
    assert (steps > 0).all()


def test_about_one_journey_in_ten_has_a_timestamp_tie(events: pd.DataFrame) -> None:
    tied = events.duplicated(["journey_id", "ts"], keep=False)
    share = events.loc[tied, "journey_id"].nunique() / events["journey_id"].nunique()
    assert 0.05 < share < 0.2


def test_outcomes_are_on_their_declared_scales(outcomes: pd.DataFrame) -> None:
    assert len(outcomes) == 10_000 and outcomes["journey_id"].is_unique
    assert outcomes["overall"].between(1, 10).all()
    assert (outcomes["overall"] * 10 == (outcomes["overall"] * 10).round()).all()
    assert outcomes["recommend"].between(0, 10).all()
    assert (outcomes["satisfied"] == (outcomes["overall"] >= 7).astype(int)).all()
    assert outcomes["churn_days"].between(0, 365).all()
    assert (outcomes.loc[outcomes["churned"] == 1, "churn_days"] < 365).all()
    assert set(outcomes["segment"]) == {"consumer", "business"}
    assert 0.1 < outcomes["churned"].mean() < 0.5


def test_same_seed_gives_identical_data_and_another_seed_differs(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", GeneratorConfig(n_journeys=500, seed=3))
    again = generate(tmp_path / "b", GeneratorConfig(n_journeys=500, seed=3))
    other = generate(tmp_path / "c", GeneratorConfig(n_journeys=500, seed=4))
    assert _digest(first.events_path) == _digest(again.events_path)
    assert _digest(first.outcomes_path) == _digest(again.outcomes_path)
    assert first.truth_path.read_bytes() == again.truth_path.read_bytes()
    assert _digest(first.events_path) != _digest(other.events_path)


def test_chunk_size_does_not_change_the_data(tmp_path: Path) -> None:
    # Draws are keyed by journey number, not by chunk: streaming in chunks of 100
    # journeys writes the same rows as one chunk, only in smaller steps.
    whole = generate(tmp_path / "whole", GeneratorConfig(n_journeys=1_000, seed=5))
    seen: list[int] = []
    parts = generate(
        tmp_path / "parts",
        GeneratorConfig(n_journeys=1_000, seed=5, chunk_journeys=100),
        progress=seen.append,
    )
    assert seen == list(range(100, 1_001, 100))
    assert _digest(whole.events_path) == _digest(parts.events_path)
    assert _digest(whole.outcomes_path) == _digest(parts.outcomes_path)
    truth_whole, truth_parts = _truth(whole), _truth(parts)
    for truth in (truth_whole, truth_parts):
        del truth["generator"]["config"]["chunk_journeys"]
    assert truth_whole == truth_parts


def test_row_groups_have_the_configured_size(tmp_path: Path) -> None:
    config = GeneratorConfig(n_journeys=1_000, chunk_journeys=70, row_group_rows=2_000)
    ds = generate(tmp_path, config)
    meta = pq.ParquetFile(ds.events_path).metadata
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert sizes[:-1] == [2_000] * (len(sizes) - 1) and 0 < sizes[-1] <= 2_000
    assert sum(sizes) == ds.n_events


def test_truth_declares_every_section(big: GeneratedDataset) -> None:
    truth = _truth(big)
    assert set(TRUTH_SECTIONS) <= set(truth)
    assert truth["counts"] == {"n_journeys": 10_000, "n_events": big.n_events}
    assert truth["generator"]["seed"] == 11
    classes = {t["class"] for t in truth["touchpoints"].values()}
    assert classes == set(CLASSES)
    assert set(truth["memory"]["weights"]) == {"peak", "end", "mean", "trough"}
    labels = {w["label"] for w in truth["hidden_windows"]}
    assert {"post-purchase doubt", "first-invoice worry"} <= labels
    assert {"recovered", "unrecovered"} == set(truth["recovery"]["effect_on_overall"])
    assert "per_negative_moment" in truth["churn"]["log_hazard"]


# baseline day offsets per anchor that no planted window or designed contact reaches
_BASELINE_DAYS = {
    "subscription_started": (8, 20),
    "first_invoice": (-14, -6),
    "renewal_offer": (-30, -10),
}


def test_planted_hidden_windows_stand_out_from_the_baseline(
    big: GeneratedDataset, events: pd.DataFrame
) -> None:
    truth = _truth(big)
    contact_names = set(truth["baseline_contacts"]["contact_mix"])
    contacts = events[events["touchpoint"].isin(contact_names)][["journey_id", "ts"]]
    for window in truth["hidden_windows"]:
        anchors = events.loc[events["touchpoint"] == window["anchor"], ["journey_id", "ts"]]
        joined = contacts.merge(anchors, on="journey_id", suffixes=("", "_anchor"))
        day = (joined["ts"] - joined["ts_anchor"]).dt.total_seconds() // 86_400
        lo, hi = _BASELINE_DAYS[window["anchor"]]
        base = day.between(lo, hi).sum() / (len(anchors) * (hi - lo + 1))
        width = window["last_day"] - window["first_day"] + 1
        in_window = day.between(window["first_day"], window["last_day"]).sum()
        rate = in_window / (len(anchors) * width)
        assert rate > 3 * base, window["label"]
        excess = (rate - base) * width
        assert excess == pytest.approx(window["excess_contacts_per_journey"], rel=0.2)


def _memory_design(events: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """Peak-end features and touchpoint dummies, computed from the written events."""
    index = outcomes.set_index("journey_id").index
    scored = events[events["score"].notna()].sort_values(["journey_id", "ts", "seq"])
    valence = scored.groupby("journey_id")["valence"]
    features = pd.DataFrame(
        {"mean": valence.mean(), "trough": valence.min(), "end": valence.last()}
    )
    # peak: largest |valence|; on a tie the negative one (sorted first) wins
    ranked = scored.assign(intensity=scored["valence"].abs()).sort_values(
        ["journey_id", "intensity", "valence"], ascending=[True, False, True]
    )
    features["peak"] = ranked.groupby("journey_id")["valence"].first()
    design = features.reindex(index).fillna(0.0)
    scores = scored.pivot_table(index="journey_id", columns="touchpoint", values="score")
    scores = scores.reindex(index)
    for touchpoint in scores.columns.drop("recovery"):
        design[f"low:{touchpoint}"] = (scores[touchpoint] <= 2).astype(float)
        design[f"high:{touchpoint}"] = (scores[touchpoint] >= 4).astype(float)
    design["recovered"] = (scores["recovery"] >= 4).astype(float)
    design["unrecovered"] = (scores["recovery"] <= 2).astype(float)
    design["intercept"] = 1.0
    return design


def test_planted_memory_weights_are_recovered_by_ols(
    big: GeneratedDataset, events: pd.DataFrame, outcomes: pd.DataFrame
) -> None:
    truth = _truth(big)
    design = _memory_design(events, outcomes)
    y = outcomes.set_index("journey_id")["overall"].reindex(design.index).to_numpy()
    beta, *_ = np.linalg.lstsq(design.to_numpy(), y, rcond=None)
    fitted = dict(zip(design.columns, beta, strict=True))
    for name, weight in truth["memory"]["weights"].items():
        assert fitted[name] == pytest.approx(weight, abs=0.05), name
    assert fitted["intercept"] == pytest.approx(truth["memory"]["intercept"], abs=0.1)
    for name, planted in truth["touchpoints"].items():
        assert fitted[f"low:{name}"] == pytest.approx(planted["penalty"], abs=0.15), name
        assert fitted[f"high:{name}"] == pytest.approx(planted["reward"], abs=0.15), name
    effects = truth["recovery"]["effect_on_overall"]
    assert fitted["recovered"] == pytest.approx(effects["recovered"], abs=0.15)
    assert fitted["unrecovered"] == pytest.approx(effects["unrecovered"], abs=0.15)


def test_written_spec_parses_and_matches_the_catalogue(big: GeneratedDataset) -> None:
    spec = read_spec(big.spec_path)
    assert spec.name == "synthetic" and spec.layout == "long"
    assert spec.source.path == big.events_path.resolve()
    assert spec.outcome_source is not None
    assert spec.outcome_source.path == big.outcomes_path.resolve()
    assert spec.outcome_journey_col == "journey_id"
    assert {o.name for o in spec.outcomes} >= {"overall", "satisfied", "churned"}
    scale = spec.scale_for(None)
    assert scale is not None and (scale.low, scale.high) == (1.0, 5.0)
    catalogue = pyarrow.csv.read_csv(big.directory / "touchpoints.csv").cast(TOUCHPOINT_SCHEMA)
    assert [t.name for t in spec.touchpoints] == catalogue["touchpoint"].to_pylist()
    assert [t.stage for t in spec.touchpoints] == catalogue["stage"].to_pylist()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"n_journeys": 0}, "n_journeys"),
        ({"n_journeys": -5}, "n_journeys"),
        ({"chunk_journeys": 0}, "chunk_journeys"),
        ({"row_group_rows": 0}, "row_group_rows"),
        ({"recovered_share": 1.5}, "recovered_share"),
    ],
)
def test_bad_config_raises_config_error_naming_the_field(
    changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(ConfigError, match=field):
        GeneratorConfig(**changes)


def test_bad_dataset_name_raises_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="name"):
        generate(tmp_path, GeneratorConfig(n_journeys=10), name="../escape")


def test_demo_dataset_is_built_once_in_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PEAKEND_CACHE", str(tmp_path))
    directory = demo_dir()
    assert directory.parent == tmp_path and directory.name.startswith("demo-")
    spec = read_spec(demo_spec_path())
    assert spec.name == "demo"
    events = directory / "events.parquet"
    digest, stamp = _digest(events), events.stat().st_mtime_ns
    assert demo_dir() == directory and events.stat().st_mtime_ns == stamp
    (directory / "truth.json").unlink()
    assert demo_dir() == directory
    truth = json.loads((directory / "truth.json").read_text(encoding="utf-8"))
    assert truth["counts"]["n_journeys"] == DEMO_JOURNEYS
    assert truth["generator"]["seed"] == 42
    assert _digest(events) == digest


def test_written_dataset_loads_without_problems(tmp_path: Path) -> None:
    from peakend.load import load

    ds = generate(tmp_path, GeneratorConfig(n_journeys=300, seed=2))
    data = load(read_spec(ds.spec_path))
    assert data.report.problems == []
    assert data.report.events_loaded == ds.n_events
    assert data.report.journeys == 300


def test_several_journeys_per_customer_share_the_customer_draws(tmp_path: Path) -> None:
    """Journeys of one customer carry one customer id, alike in mood and rating tendency."""
    cfg = GeneratorConfig(
        n_journeys=3_000,
        seed=5,
        journeys_per_customer=2.5,
        customer_mood_corr=0.6,
        customer_overall_sd=1.0,
        chunk_journeys=700,
    )
    ds = generate(tmp_path, cfg)
    events = pq.read_table(ds.events_path).to_pandas()
    per_customer = events.groupby("customer_id")["journey_id"].nunique()
    assert sorted(per_customer.unique()) == [2, 3]
    assert per_customer.size == 1_200
    truth = json.loads(ds.truth_path.read_text())
    assert truth["journeys"]["customers"]["n_customers"] == 1_200
    outcomes = pq.read_table(ds.outcomes_path).to_pandas()
    owner = events.drop_duplicates("journey_id").set_index("journey_id")["customer_id"]
    outcomes["customer"] = outcomes["journey_id"].map(owner)
    first = outcomes.groupby("customer")["overall"].nth(0).to_numpy()
    second = outcomes.groupby("customer")["overall"].nth(1).to_numpy()
    assert np.corrcoef(first, second)[0, 1] > 0.3


def test_one_journey_per_customer_stays_the_default(tmp_path: Path) -> None:
    ds = generate(tmp_path, GeneratorConfig(n_journeys=200, seed=2))
    events = pq.read_table(ds.events_path).to_pandas()
    assert events.groupby("customer_id")["journey_id"].nunique().max() == 1


def test_bad_customer_options_are_refused() -> None:
    with pytest.raises(ConfigError, match="journeys_per_customer"):
        GeneratorConfig(journeys_per_customer=0.5)
    with pytest.raises(ConfigError, match="customer_mood_corr"):
        GeneratorConfig(customer_mood_corr=1.0)
