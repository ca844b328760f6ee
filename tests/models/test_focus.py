"""Tests for the focus plan: ranking, expected gains and their intervals."""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from peakend import load
from peakend.errors import ConfigError, StatisticalWarning
from peakend.generate import GeneratorConfig, generate
from peakend.load import Dataset
from peakend.models.focus import (
    KIND_ORDER,
    MOVED_BY_INTERVENTION,
    FocusAction,
    FocusPlan,
    focus_plan,
    with_actions,
)
from peakend.models.focus.gains import moved_effects
from peakend.models.moments import MomentSettings, MomentsResult, find_moments
from peakend.stats.resampling import Interval


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    out: Path = tmp_path_factory.mktemp("focus")
    spec = generate(out, replace(GeneratorConfig(), n_journeys=1500, seed=11), name="f").spec_path
    return load(spec)


@pytest.fixture(scope="module")
def moments(dataset: Dataset) -> MomentsResult:
    settings = MomentSettings(n_resamples=30, seed=1)
    return find_moments(dataset, outcome="overall", settings=settings, segments=())


@pytest.fixture(scope="module")
def plan(moments: MomentsResult, dataset: Dataset) -> FocusPlan:
    return focus_plan(moments, dataset)


def test_every_touchpoint_gets_one_action_ranked_from_one(
    plan: FocusPlan, moments: MomentsResult
) -> None:
    assert [a.rank for a in plan.actions] == list(range(1, len(moments.touchpoints) + 1))
    assert {a.touchpoint for a in plan.actions} == {m.touchpoint for m in moments.touchpoints}
    assert all(a.kind in KIND_ORDER for a in plan.actions)


def test_actions_are_sorted_by_expected_gain(plan: FocusPlan) -> None:
    gains = [a.gain.value for a in plan.actions]
    assert gains == sorted(gains, reverse=True)


def test_fix_gain_is_the_low_share_times_the_penalty_over_those_journeys(
    plan: FocusPlan, moments: MomentsResult, dataset: Dataset
) -> None:
    fix = plan.first("fix")
    assert fix is not None, "the generator plants moments of truth that perform below par"
    moment = moments.by_name(fix.touchpoint)
    share = moment.counts["low"] / moments.n_journeys
    moved = moved_effects(dataset, moments, [("fix", fix.touchpoint)])
    assert moved is not None
    penalty = moved[("fix", fix.touchpoint)]
    assert penalty.n == moment.counts["low"]
    assert fix.gain.value == pytest.approx(-penalty.value * share)
    assert fix.gain.low == pytest.approx(-penalty.high * share)
    assert fix.gain.low <= fix.gain.value <= fix.gain.high
    assert fix.gain.low > 0
    assert fix.journeys == moment.counts["low"]


def test_actions_without_a_gain_carry_a_risk_instead(plan: FocusPlan) -> None:
    for action in plan.actions:
        if action.kind in ("maintain", "allow"):
            assert action.gain.value == 0
            assert action.risk.value >= 0


def test_owner_and_cost_come_from_the_catalogue(plan: FocusPlan, dataset: Dataset) -> None:
    owners = dict(
        zip(
            dataset.touchpoints["touchpoint"].to_pylist(),
            dataset.touchpoints["owner"].to_pylist(),
            strict=True,
        )
    )
    for action in plan.actions:
        assert action.owner == owners[action.touchpoint]


def test_plan_without_dataset_has_no_owners(moments: MomentsResult) -> None:
    plan = focus_plan(moments)
    assert all(a.owner is None and a.cost is None for a in plan.actions)
    assert plan.effects == moments.estimand  # the table's effects: no journeys to move
    assert plan.to_dict()["n_journeys"] == moments.n_journeys


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Dataset, dict[str, object]]:
    """5,000 journeys in experienced order, and truth.json's effects over the journeys moved."""
    made = generate(tmp_path_factory.mktemp("moved"), GeneratorConfig(n_journeys=5_000, seed=7))
    truth = json.loads(made.truth_path.read_text(encoding="utf-8"))["touchpoints"]
    return load(made.spec_path), truth


def _planted_plan(
    planted: tuple[Dataset, dict[str, object]], outcome: str
) -> tuple[MomentsResult, FocusPlan]:
    dataset, _ = planted
    settings = MomentSettings(n_resamples=20, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        moments = find_moments(dataset, outcome=outcome, settings=settings, segments=())
    return moments, focus_plan(moments, dataset)


def test_gains_are_the_effects_by_intervention_over_the_journeys_moved(
    planted: tuple[Dataset, dict[str, Any]],
) -> None:
    """A fix's gain is what setting the low journeys to the middle wins, not the table's average.

    The journeys that score a touchpoint low score others low too: lifting one
    low moment moves their trough and peak less than an average journey's. The
    generator's truth over the journeys moved differs from the average over all
    scoring journeys, and the plan's gains cover the former.
    """
    moments, plan = _planted_plan(planted, "overall")
    truth = planted[1]
    assert moments.estimand == "total_by_intervention"
    assert plan.effects == MOVED_BY_INTERVENTION
    assert plan.to_dict()["effects"] == MOVED_BY_INTERVENTION
    covered, checked, apart = 0, 0, 0
    for action in plan.actions:
        if action.kind not in ("fix", "excel"):
            continue
        moment = moments.by_name(action.touchpoint)
        moved = truth[action.touchpoint]["total_moved"]
        if action.kind == "fix":
            assert action.journeys == moved["journeys_low"] == moment.counts["low"]
            scale, true, table = (
                -action.journeys / plan.n_journeys,
                moved["penalty"],
                moment.penalty,
            )
        else:
            assert action.journeys == moved["journeys_middle"] == moment.counts["middle"]
            scale, true, table = action.journeys / plan.n_journeys, moved["reward"], moment.reward
        checked += 1
        covered += action.gain.low <= true * scale <= action.gain.high
        # the moments table's average over every scoring journey would have missed it
        apart += not (table.low * scale <= true * scale <= table.high * scale) and not (
            table.high * scale <= true * scale <= table.low * scale
        )
    assert checked >= 4
    assert covered >= checked - 1
    assert apart >= 2


def test_binary_gains_are_changes_of_probability_over_the_journeys_moved(
    planted: tuple[Dataset, dict[str, Any]],
) -> None:
    moments, plan = _planted_plan(planted, "satisfied")
    truth = planted[1]
    assert plan.effects == MOVED_BY_INTERVENTION
    covered, checked = 0, 0
    for action in plan.actions:
        if action.kind not in ("fix", "excel"):
            continue
        moved = truth[action.touchpoint]["total_moved_satisfied"]
        share = action.journeys / plan.n_journeys
        true = -moved["penalty"] * share if action.kind == "fix" else moved["reward"] * share
        checked += 1
        covered += action.gain.low <= true <= action.gain.high
        assert 0 < action.gain.value < 1
    assert checked >= 2
    assert covered >= checked - 1


def test_without_an_order_the_plan_keeps_the_moments_effects(tmp_path: Path) -> None:
    made = generate(
        tmp_path / "survey", GeneratorConfig(n_journeys=1_500, seed=3, survey_order=True)
    )
    dataset = load(made.spec_path)
    settings = MomentSettings(n_resamples=20, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        moments = find_moments(dataset, outcome="overall", settings=settings, segments=())
    plan = focus_plan(moments, dataset)
    assert plan.effects == moments.estimand == "total_regression_weighted"
    fix = plan.first("fix")
    assert fix is not None
    moment = moments.by_name(fix.touchpoint)
    assert fix.gain.value == pytest.approx(-moment.penalty.value * fix.journeys / plan.n_journeys)
    for action in plan.actions:
        if action.kind in ("fix", "excel", "collect_data"):
            assert math.isnan(action.risk.value)  # shown as "–", never 0.000


def test_a_plan_on_another_dataset_is_refused(
    moments: MomentsResult, planted: tuple[Dataset, dict[str, Any]]
) -> None:
    with pytest.raises(ConfigError, match="pass the dataset"):
        focus_plan(moments, planted[0])


def _plan_json(plan: FocusPlan) -> str:
    """Every figure of ``plan`` as text: NaN risks compare equal, floats to the last digit."""
    return json.dumps(plan.to_dict(), sort_keys=True)


@pytest.mark.parametrize("outcome", ["overall", "satisfied"])
def test_a_plan_from_the_moments_inputs_equals_one_built_from_the_events(
    planted: tuple[Dataset, dict[str, Any]], outcome: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The moments' kept inputs give the plan the events give, to the last digit.

    With ``keep_total_inputs`` the gains by intervention start from the design
    and ordered moments the moments analysis built; without, the focus plan
    builds them again from the events. The moments table itself is the same
    either way.
    """
    dataset, _ = planted
    settings = MomentSettings(n_resamples=20, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        alone = find_moments(dataset, outcome=outcome, settings=settings, segments=())
        kept = find_moments(
            dataset, outcome=outcome, settings=settings, segments=(), keep_total_inputs=True
        )
    assert alone.total_inputs is None
    assert kept.total_inputs is not None
    assert json.dumps(kept.to_dict()) == json.dumps(alone.to_dict())
    built = focus_plan(alone, dataset)

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the plan rebuilt what the moments kept")

    monkeypatch.setattr("peakend.models.focus.gains.build_design", refuse)
    monkeypatch.setattr("peakend.models.focus.gains.scored_events", refuse)
    reused = focus_plan(kept, dataset)
    assert reused.effects == MOVED_BY_INTERVENTION
    assert _plan_json(reused) == _plan_json(built)
    with pytest.raises(AssertionError, match="rebuilt"):
        focus_plan(alone, dataset)  # the check above can fail


def test_kept_inputs_of_another_dataset_are_refused(
    dataset: Dataset, planted: tuple[Dataset, dict[str, Any]]
) -> None:
    settings = MomentSettings(n_resamples=20, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        kept = find_moments(
            planted[0], outcome="overall", settings=settings, segments=(), keep_total_inputs=True
        )
    with pytest.raises(ConfigError, match="pass the dataset"):
        focus_plan(kept, dataset)


def test_actions_added_later_rank_as_if_passed_at_once(
    moments: MomentsResult, dataset: Dataset
) -> None:
    """``with_actions`` on a plan of the moments gives ``focus_plan`` with ``extra``."""
    own = focus_plan(moments, dataset)
    gains = sorted(a.gain.value for a in own.actions)
    middle = gains[len(gains) // 2]
    extra = [
        FocusAction(
            0,
            "proactive_contact",
            name,
            Interval(g, g / 2, 2 * g, 100),
            Interval(0, 0, 0, 100),
            100,
            None,
            None,
            "a contact",
        )
        for name, g in (("a", middle), ("b", 0.0), ("c", gains[-1] + 1.0))
    ]
    at_once = focus_plan(moments, dataset, extra)
    assert _plan_json(with_actions(own, extra)) == _plan_json(at_once)
    assert at_once.actions[0].touchpoint == "c"
    assert [a.rank for a in at_once.actions] == list(range(1, len(own.actions) + 4))
