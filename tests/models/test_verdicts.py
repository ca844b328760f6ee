"""Every verdict peakend prints agrees with its own interval and with the one rule.

The walk reads what a user gets (``results.json`` of the report, the ``--json``
output of ``moments`` and ``memory``) on the demo data and, when the real
datasets are present (``../shared/data``, or the folder in the environment
variable ``PEAKEND_SHARED_DATA``), on samples of the airline survey, BPIC 2012
and the receipt process. A test also checks that reversing the touchpoint order
of the wide airline survey changes no memory claim, because without an
experienced order none is made.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from typer.testing import CliRunner

import peakend
from peakend.cli import app
from peakend.datasets import demo_spec_path
from peakend.errors import ConfigError, DataError, StatisticalWarning
from peakend.load import Dataset
from peakend.models.focus.plan import CLASS_NAMES
from peakend.models.memory.verdict import ALPHA, CLAIMS
from peakend.models.moments import MomentSettings, find_moments
from peakend.models.moments.verdict import CLASSES, contradicts
from peakend.report import build_report
from peakend.schema import Touchpoint
from peakend.spec import read_spec
from peakend.stats.resampling import Interval

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SHARED = Path(os.environ.get("PEAKEND_SHARED_DATA", ROOT.parent / "shared" / "data"))
FAST = MomentSettings(n_resamples=50, seed=2)
Z90 = 1.6448536269514722
Z95 = 1.959963984540054


def _num(value: object) -> float:
    return math.nan if value is None else float(value)  # type: ignore[arg-type]


def _iv(d: dict[str, Any]) -> Interval:
    return Interval(_num(d["value"]), _num(d["low"]), _num(d["high"]), int(d["n"]))


# ---------------------------------------------------------------- the walk
def check_moment(m: dict[str, Any], threshold: float) -> None:
    """One touchpoint: class, confidence, importance and recommendation follow the rule."""
    cls, rec = m["class"], m["recommendation"]
    penalty, reward = _iv(m["penalty"]), _iv(m["reward"])
    where = f"{m['touchpoint']}: {cls}/{rec}"
    assert cls in CLASSES, where
    assert not contradicts(cls, penalty, reward, threshold), where
    if cls == "standard":  # equivalence: both intervals inside the threshold
        assert -threshold < penalty.low and penalty.high < threshold, where
        assert -threshold < reward.low and reward.high < threshold, where
    if cls in ("inconclusive", "not_enough_data"):
        assert rec == "collect_data" and math.isnan(_num(m["confidence"])), where
        assert m["more_journeys"], where  # says what would settle it
    else:
        assert _num(m["confidence"]) >= 0.5, where
    assert rec != "allow" or cls == "standard", where
    assert rec != "fix" or cls in ("moment_of_truth", "performance"), where
    assert rec != "excel" or cls in ("excel", "performance"), where
    importance = _iv(m["importance"])
    if math.isfinite(importance.value):
        assert importance.low <= importance.value <= importance.high, where
        assert importance.low >= 0, where
        assert m["importance_distinct_from_zero"] or importance.low == 0, where


def check_moments(result: dict[str, Any]) -> None:
    """A moments result: every touchpoint, every segment group, the fit and the unit."""
    threshold = float(result["threshold"])
    fit = _iv(result["fit"])
    assert fit.low <= fit.value <= fit.high
    assert result["resampling_unit"] in ("journey", "customer")
    assert result["effects"] == ("direct" if result["adjusted_for"] else "total")
    totals = ("total_by_intervention", "total_regression_weighted")
    assert result["estimand"] in (("direct",) if result["adjusted_for"] else totals)
    for m in result["touchpoints"]:
        check_moment(m, threshold)
    for segment in result["segments"]:
        for group in segment["groups"]:
            for m in group["touchpoints"]:
                cls = m["class"]
                assert not contradicts(cls, _iv(m["penalty"]), _iv(m["reward"]), threshold)


#: Focus-plan actions that other analyses add to the moments' own.
OTHER_ANALYSES = ("proactive_contact", "prevent_negative", "recover_faster")


def check_focus(plan: dict[str, Any], moments: dict[str, Any]) -> None:
    """The focus plan repeats the moments' recommendations and vocabulary."""
    by_name = {m["touchpoint"]: m for m in moments["touchpoints"]}
    for action in plan["actions"]:
        moment = by_name.get(action["touchpoint"])
        if moment is None or action["kind"] in OTHER_ANALYSES:
            continue  # an action of another analysis (hidden moments, churn)
        assert action["kind"] == moment["recommendation"], action
        if action["kind"] in ("fix", "excel", "maintain", "allow"):
            assert CLASS_NAMES[moment["class"]] in action["reason"], action
        if action["kind"] in ("fix", "excel", "collect_data"):
            assert math.isnan(_num(action["risk"]["value"])), action


def check_memory(result: dict[str, Any]) -> None:
    """The memory claim follows its test, and nothing about peak or end without an order."""
    verdict = result["verdict"]
    claim, summary = verdict["claim"], result["summary"]
    assert claim in CLAIMS
    if claim == "peak_end":
        assert _num(verdict["p_value"]) < ALPHA
    if claim == "average":
        assert _num(verdict["p_value"]) >= ALPHA
        for key in ("peak", "end"):
            w = _iv(verdict[key])
            se = (w.high - w.low) / (2 * Z95)
            assert abs(w.value) + Z90 * se < verdict["margin"]
    if claim == "no_order":
        assert verdict["order"] == "questionnaire"
        assert "as much as" not in summary and "remember their journey as" not in summary
    if claim != "average":
        assert "remember their journey as its average" not in summary


def _named(moments: dict[str, Any], recommendation: str) -> set[str]:
    """Touchpoints with ``recommendation``, by name and by the display name sentences use."""
    names = {
        m["touchpoint"] for m in moments["touchpoints"] if m["recommendation"] == recommendation
    }
    return names | {Touchpoint(name=n).display_name for n in names}


def check_report(results: dict[str, Any]) -> None:
    """``results.json``: moments, focus, memory and the executive summary."""
    sections = results["sections"]
    moments = sections.get("moments")
    if moments is not None:
        check_moments(moments)
        allowed = _named(moments, "allow")
        fixes = _named(moments, "fix")
        for sentence in results["summary"]:
            if sentence.startswith("Allow some pain at: "):
                named = sentence.removeprefix("Allow some pain at: ").split(" — ")[0]
                assert set(named.split(", ")) <= allowed, sentence
            if sentence.startswith("Fix first: "):
                named = sentence.removeprefix("Fix first: ").split(" — ")[0]
                assert set(named.split(", ")) <= fixes, sentence
    if "focus" in sections and moments is not None:
        check_focus(sections["focus"], moments)
    if "memory" in sections:
        check_memory(sections["memory"])


# ---------------------------------------------------------------- demo
@pytest.fixture(scope="module")
def demo() -> Dataset:
    return peakend.load(demo_spec_path())


def test_demo_report_verdicts_agree_with_their_intervals(demo: Dataset) -> None:
    results = json.loads(json.dumps(build_report(demo).to_dict(), default=str))
    check_report(results)
    moments = results["sections"]["moments"]
    # the demo's subscription_started: penalty [-0.76, -0.15] against 0.37 is not "allow"
    classes = {m["touchpoint"]: m["class"] for m in moments["touchpoints"]}
    assert classes["subscription_started"] != "standard"


def test_demo_cli_json_verdicts_agree_with_their_intervals() -> None:
    spec = str(demo_spec_path())
    runner = CliRunner()
    moments = runner.invoke(app, ["moments", spec, "--json", "--resamples", "50"])
    assert moments.exit_code == 0, moments.output
    check_moments(json.loads(moments.stdout))
    # the demo has timestamps: total effects by intervention, and the header says so
    assert json.loads(moments.stdout)["estimand"] == "total_by_intervention"
    memory = runner.invoke(app, ["memory", spec, "--json"])
    assert memory.exit_code == 0, memory.output
    result = json.loads(memory.stdout)
    check_memory(result)
    assert result["verdict"]["order"] == "timestamps"


def test_demo_direct_effects_say_so(demo: Dataset) -> None:
    adjusted = find_moments(
        demo,
        outcome="overall",
        settings=FAST,
        segments=(),
        adjust_for=("peak_valence", "end_valence", "mean_valence", "trough_valence"),
    )
    assert adjusted.effects == "direct" and adjusted.to_dict()["effects"] == "direct"
    check_moments(json.loads(json.dumps(adjusted.to_dict())))


# ---------------------------------------------------------------- real data
def _example(name: str, journeys: int) -> Dataset:
    spec = read_spec(EXAMPLES / f"{name}.toml")
    path = spec.source.path
    assert path is not None
    if not path.is_file():
        path = SHARED / path.parent.name / path.name
    if not path.is_file():
        pytest.skip(f"the real dataset {path.name} is not present (set PEAKEND_SHARED_DATA)")
    spec = dataclasses.replace(spec, source=dataclasses.replace(spec.source, path=path))
    return _sample(peakend.load(spec), journeys)


def _sample(dataset: Dataset, journeys: int) -> Dataset:
    """The first ``journeys`` journeys with an outcome (a fast, fixed sample)."""
    outcomes = dataset.outcomes.slice(0, journeys)
    keep = pc.is_in(dataset.events["journey_id"], value_set=outcomes["journey_id"])
    return dataclasses.replace(dataset, outcomes=outcomes, events=dataset.events.filter(keep))


@pytest.fixture(scope="module")
def airline() -> Dataset:
    return _example("airline_passenger_satisfaction", 4_000)


def test_airline_verdicts_agree_with_their_intervals(airline: Dataset) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)  # collinear "not scored" bands
        result = find_moments(airline, settings=FAST, segments=("Type of Travel",))
    check_moments(json.loads(json.dumps(result.to_dict())))
    # a wide survey has no experienced order: no memory features to recompute
    assert result.estimand == "total_regression_weighted"
    memory = peakend.remembered_experience(airline)
    check_memory(json.loads(json.dumps(memory.to_dict(), default=str)))
    assert memory.verdict is not None and memory.verdict.claim == "no_order"


@pytest.mark.parametrize(
    ("name", "journeys"), [("bpic2012_loan_application", 2_000), ("receipt_wabo_permit", 500)]
)
def test_event_logs_without_scores_get_no_verdict(name: str, journeys: int) -> None:
    """BPIC 2012 and the receipt log have no scores or no outcome: no class is stated."""
    dataset = _example(name, journeys)
    with pytest.raises((DataError, ConfigError), match="no touchpoint has a score|no outcome"):
        find_moments(dataset, segments=())
    with pytest.raises((DataError, ConfigError)):
        peakend.remembered_experience(dataset)


def test_reversed_airline_order_changes_no_memory_claim(airline: Dataset) -> None:
    seq = airline.events["seq"]
    flipped_events = airline.events.set_column(
        airline.events.schema.get_field_index("seq"), "seq", pc.negate(seq)
    )
    flipped = dataclasses.replace(airline, events=flipped_events)
    assert _last_touchpoint(airline) != _last_touchpoint(flipped)  # the "end" did change
    claims = [peakend.remembered_experience(d) for d in (airline, flipped)]
    for memory in claims:
        assert memory.verdict is not None and memory.verdict.claim == "no_order"
        assert "as much as" not in memory.summary
    assert claims[0].summary.split(". ")[1:] == claims[1].summary.split(". ")[1:]


def _last_touchpoint(dataset: Dataset) -> str:
    first = dataset.events["journey_id"][0]
    events = dataset.events.filter(pc.equal(dataset.events["journey_id"], first))
    order = np.argsort(events["seq"].to_numpy())
    return str(events["touchpoint"].take(pa.array(order))[-1])
