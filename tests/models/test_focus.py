"""Tests for the focus plan: ranking, expected gains and their intervals."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from peakend import load
from peakend.generate import GeneratorConfig, generate
from peakend.load import Dataset
from peakend.models.focus import KIND_ORDER, FocusPlan, focus_plan
from peakend.models.moments import MomentSettings, MomentsResult, find_moments


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


def test_fix_gain_is_the_low_share_times_the_penalty(
    plan: FocusPlan, moments: MomentsResult
) -> None:
    fix = plan.first("fix")
    assert fix is not None, "the generator plants moments of truth that perform below par"
    moment = moments.by_name(fix.touchpoint)
    share = moment.counts["low"] / moments.n_journeys
    assert fix.gain.value == pytest.approx(-moment.penalty.value * share)
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
    assert plan.to_dict()["n_journeys"] == moments.n_journeys
