"""The example specs in ``examples/`` load the real datasets with their published counts.

The data live next to the repository in ``../shared/data``; without that folder
these tests are skipped. Each dataset is loaded once per session.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow.compute as pc
import pytest

from peakend.load import Dataset, load
from peakend.spec import read_spec
from peakend.summary import JourneySummary, summarize_journeys
from peakend.validate import Reason

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SHARED_DATA = ROOT.parent / "shared" / "data"

pytestmark = pytest.mark.skipif(
    not SHARED_DATA.is_dir(),
    reason=f"the real datasets are not present in {SHARED_DATA}",
)


def load_example(name: str) -> Dataset:
    spec = read_spec(EXAMPLES / f"{name}.toml")
    assert spec.source.path is not None
    if not spec.source.path.is_file():
        pytest.skip(f"{spec.source.path} is not present")
    return load(spec)


def outcome_counts(dataset: Dataset, column: str) -> Counter[object]:
    return Counter(dataset.outcomes.column(column).to_pylist())


# -- airline passenger satisfaction (wide survey) --------------------------------


@pytest.fixture(scope="module")
def airline() -> Dataset:
    return load_example("airline_passenger_satisfaction")


@pytest.fixture(scope="module")
def airline_summary(airline: Dataset) -> JourneySummary:
    return summarize_journeys(airline)


def test_airline_has_one_journey_per_passenger_and_an_event_per_rating(airline: Dataset) -> None:
    report = airline.report
    assert report.rows_read == 129_880
    assert report.journeys == 129_880
    assert airline.touchpoints.num_rows == 14
    assert report.events_loaded == 129_880 * 14
    assert airline.events.num_rows == 129_880 * 14
    assert report.quarantined_rows == 0
    assert airline.quarantine.empty
    assert report.ok


def test_airline_satisfied_share(airline: Dataset) -> None:
    counts = outcome_counts(airline, "satisfied")
    assert counts == {1.0: 56_428, 0.0: 129_880 - 56_428}


def test_airline_zero_ratings_are_not_applicable_not_low(airline: Dataset) -> None:
    scores = airline.events.column("score")
    assert pc.min(scores).as_py() == 1.0
    assert pc.max(scores).as_py() == 5.0
    not_applicable = sum(
        p.count for p in airline.report.problems if p.reason is Reason.NOT_APPLICABLE
    )
    assert scores.null_count == not_applicable > 0


def test_airline_attributes_are_kept(airline: Dataset) -> None:
    assert outcome_counts(airline, "Class") == {
        "Business": 62_160,
        "Economy": 58_309,
        "Economy Plus": 9_411,
    }


def test_airline_summary_lists_touchpoints_in_the_spec_stage_order(
    airline: Dataset, airline_summary: JourneySummary
) -> None:
    spec_order = [t.name for t in sorted(airline.spec.touchpoints, key=lambda t: t.stage or 0)]
    assert airline_summary.touchpoints.column("touchpoint").to_pylist() == spec_order
    assert spec_order[0] == "booking_time_convenience"
    assert spec_order[-1] == "baggage_handling"
    assert airline_summary.n_journeys == 129_880
    assert airline_summary.outcome == "satisfied"
    value = airline_summary.mean_valence.value
    assert value is not None and -1 <= value <= 1


def test_airline_events_follow_the_stage_order_within_each_passenger(airline: Dataset) -> None:
    first = airline.events.slice(0, 14).column("touchpoint").to_pylist()
    assert first == [t.name for t in airline.spec.touchpoints]


# -- BPI Challenge 2012 (XES event log) -------------------------------------------


@pytest.fixture(scope="module")
def bpic2012() -> Dataset:
    return load_example("bpic2012_loan_application")


def test_bpic2012_loads_every_completed_event(bpic2012: Dataset) -> None:
    report = bpic2012.report
    assert report.journeys == 13_087
    assert report.events_loaded == 164_506
    assert report.rows_read == 164_506
    assert report.quarantined_rows == 0
    assert report.ok


def test_bpic2012_approved_outcome_comes_from_the_journey(bpic2012: Dataset) -> None:
    assert outcome_counts(bpic2012, "approved")[1.0] == 2_246
    assert bpic2012.outcomes.num_rows == 13_087


def test_bpic2012_summary_has_a_flow_graph(bpic2012: Dataset) -> None:
    summary = summarize_journeys(bpic2012)
    assert summary.n_journeys == 13_087
    assert summary.flows.num_rows > 0
    steps = set(
        zip(
            summary.flows.column("source").to_pylist(),
            summary.flows.column("target").to_pylist(),
            strict=True,
        )
    )
    assert ("A_SUBMITTED", "A_PARTLYSUBMITTED") in steps
    assert summary.touchpoints.column("touchpoint").to_pylist()[:3] == [
        "A_SUBMITTED",
        "A_PARTLYSUBMITTED",
        "A_PREACCEPTED",
    ]


# -- WABO receipt phase (XES event log) ---------------------------------------------


@pytest.fixture(scope="module")
def receipt() -> Dataset:
    return load_example("receipt_wabo_permit")


def test_receipt_counts_and_channels(receipt: Dataset) -> None:
    assert receipt.report.journeys == 1_434
    assert receipt.report.events_loaded == 8_577
    assert receipt.report.quarantined_rows == 0
    channels = outcome_counts(receipt, "case:channel")
    assert channels["Internet"] == 1_250
    assert sum(channels.values()) == 1_434


def test_receipt_summary_runs(receipt: Dataset) -> None:
    summary = summarize_journeys(receipt)
    assert summary.n_journeys == 1_434
    assert summary.n_events == 8_577
    assert summary.touchpoints.column("touchpoint").to_pylist()[0] == "Confirmation of receipt"
    assert summary.median_duration_s is not None and summary.median_duration_s > 0
