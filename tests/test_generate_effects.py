"""The generator's total and direct effects, and scores stored without their order."""

from __future__ import annotations

import json
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pytest

import peakend
from peakend.errors import StatisticalWarning
from peakend.generate import (
    SATISFIED_EFFECT_THRESHOLD,
    GeneratorConfig,
    churned_total_effects,
    generate,
    planted_class,
    satisfied_total_effects,
    total_effects,
)
from peakend.models.moments import MomentSettings, find_moments

MEMORY_FEATURES = ("peak_valence", "end_valence", "mean_valence", "trough_valence")


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[peakend.Dataset, dict[str, dict]]:
    out = generate(tmp_path_factory.mktemp("effects"), GeneratorConfig(n_journeys=5_000, seed=7))
    truth = json.loads(out.truth_path.read_text(encoding="utf-8"))["touchpoints"]
    return peakend.load(out.spec_path), truth


def test_truth_states_direct_and_total_effects(made: tuple[peakend.Dataset, dict]) -> None:
    _, truth = made
    for name, entry in truth.items():
        assert entry["direct"] == {
            "class": entry["class"],
            "penalty": entry["penalty"],
            "reward": entry["reward"],
        }, name
        total = entry["total"]
        assert total["class"] == planted_class(total["penalty"], total["reward"])
        # a low score also lowers the remembered peak, end and mean: the total is worse
        assert total["penalty"] < entry["penalty"], name
        assert total["reward"] > entry["reward"], name
        # the same intervention's effect on the share satisfied (overall >= 7)
        binary = entry["total_satisfied"]
        assert -1 < binary["penalty"] < 0 < binary["reward"] < 1, name
        assert binary["class"] == planted_class(
            binary["penalty"], binary["reward"], SATISFIED_EFFECT_THRESHOLD
        )


def test_satisfied_effects_are_the_share_crossing_the_threshold() -> None:
    """Without memory or noise, setting a score moves ``overall`` by the planted effect only.

    The share satisfied then moves only where a planted effect does: not at all
    for a zero penalty or reward, down for a penalty, up for a reward.
    """
    cfg = GeneratorConfig(
        n_journeys=2_000, w_peak=0.0, w_end=0.0, w_mean=0.0, w_trough=0.0, noise_sd=0.0
    )
    effects = satisfied_total_effects(cfg)
    overall = total_effects(cfg)
    for tp in cfg.touchpoints:
        assert overall[tp.name]["penalty"] == pytest.approx(tp.penalty, abs=0.02)
        binary = effects[tp.name]
        if tp.penalty == 0:
            assert binary["penalty"] == 0.0, tp.name
        else:
            assert binary["penalty"] < 0, tp.name
        if tp.reward == 0:
            assert binary["reward"] == 0.0, tp.name
        else:
            assert binary["reward"] > 0, tp.name


def test_without_memory_total_equals_direct() -> None:
    cfg = GeneratorConfig(
        n_journeys=2_000, w_peak=0.0, w_end=0.0, w_mean=0.0, w_trough=0.0, noise_sd=0.3
    )
    for tp, total in zip(cfg.touchpoints, total_effects(cfg).values(), strict=True):
        assert total["penalty"] == pytest.approx(tp.penalty, abs=0.02)
        assert total["reward"] == pytest.approx(tp.reward, abs=0.02)


@pytest.mark.parametrize(("adjust", "effects"), [((), "total"), (MEMORY_FEATURES, "direct")])
def test_moments_recover_the_effects_they_say_they_show(
    made: tuple[peakend.Dataset, dict], adjust: tuple[str, ...], effects: str
) -> None:
    dataset, truth = made
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        result = find_moments(
            dataset,
            outcome="overall",
            settings=MomentSettings(threshold=0.25, n_resamples=50, seed=1),
            segments=(),
            adjust_for=adjust,
        )
    assert result.effects == effects
    recovered = 0
    for m in result.touchpoints:
        if m.touchpoint not in truth:
            continue  # the recovery contact is not a designed touchpoint
        planted = truth[m.touchpoint][effects]
        recovered += m.moment_class == planted["class"]
        if m.moment_class in ("moment_of_truth", "performance"):  # never the wrong way
            assert planted["penalty"] < 0, (m.touchpoint, m.moment_class, planted)
        if m.moment_class in ("excel", "performance"):
            assert planted["reward"] > 0, (m.touchpoint, m.moment_class, planted)
    assert recovered >= 7, recovered  # of 10 designed touchpoints


def test_survey_order_hides_the_experienced_order(tmp_path: Path) -> None:
    cfg = GeneratorConfig(n_journeys=300, seed=2, survey_order=True)
    dataset = peakend.load(generate(tmp_path, cfg).spec_path)
    per_journey = dataset.events.group_by("journey_id").aggregate([("ts", "count_distinct")])
    assert pc.max(per_journey["ts_count_distinct"]).as_py() == 1
    memory = peakend.remembered_experience(dataset, outcome="overall")
    assert memory.verdict is not None and memory.verdict.claim == "no_order"
    assert "as much as" not in memory.summary


def _churn_config(**changes: object) -> GeneratorConfig:
    """Churn driven by negative moments only (no end, contact, recovery or segment terms)."""
    base = GeneratorConfig()
    segments = tuple(replace(s, churn_effect=0.0) for s in base.segments)
    fields: dict[str, object] = {
        "n_journeys": 3_000,
        "seed": 5,
        "segments": segments,
        "churn_base_per_day": 0.001,
        "churn_per_negative": 1.0,
        "churn_negative_end": 0.0,
        "churn_per_contact": 0.0,
        "churn_recovered": 0.0,
        "churn_unrecovered": 0.0,
    }
    return replace(base, **{**fields, **changes})  # type: ignore[arg-type]


def test_churned_total_effects_follow_the_churn_mechanism(tmp_path: Path) -> None:
    """A low score adds one negative moment: churn rises by what the hazard says, a high one not.

    With a log-hazard of ``churn_per_negative`` per negative moment, a journey
    with ``m`` other negative moments churns within the horizon with probability
    ``1 − exp(−Λ e^{βm})`` at a middle score and ``1 − exp(−Λ e^{β(m+1)})`` at a
    low one (``Λ`` the base hazard times the horizon). The truth's penalty is
    the realised share under each intervention (the same churn-time draws), so
    it matches the mean of that difference over the scoring journeys up to
    sampling noise (sd ≈ 0.01 here).
    """
    cfg = _churn_config()
    made = generate(tmp_path / "churn", cfg)
    truth = json.loads(made.truth_path.read_text(encoding="utf-8"))["touchpoints"]
    events = peakend.load(made.spec_path).events.to_pandas()
    scored = events[events["score"].notna()]
    hazard = cfg.churn_base_per_day * cfg.horizon_days
    for tp in cfg.touchpoints:
        churned = truth[tp.name]["total_churned"]
        assert set(churned) == {"penalty", "reward"}  # churning is the bad outcome: no class
        assert churned["reward"] == 0.0, tp.name  # 3 and 4-5 are both not negative
        journeys = scored.loc[scored["touchpoint"] == tp.name, "journey_id"].unique()
        others = (
            scored[(scored["touchpoint"] != tp.name) & (scored["score"] <= 2)]
            .groupby("journey_id")
            .size()
            .reindex(journeys, fill_value=0)
            .to_numpy()
        )
        middle = hazard * np.exp(cfg.churn_per_negative * others)
        expected = np.mean(np.exp(-middle) - np.exp(-middle * np.exp(cfg.churn_per_negative)))
        assert churned["penalty"] == pytest.approx(expected, abs=0.04), tp.name
        assert churned["penalty"] > 0.1, tp.name


def test_churned_total_effects_vanish_when_scores_do_not_drive_churn() -> None:
    effects = churned_total_effects(_churn_config(n_journeys=1_000, churn_per_negative=0.0))
    assert all(e == {"penalty": 0.0, "reward": 0.0} for e in effects.values())


def test_churned_total_effects_under_the_time_varying_hazard() -> None:
    """The forced journeys meet the event-history churn (``churn_time_varying``)."""
    cfg = _churn_config(n_journeys=1_000, churn_time_varying=True)
    effects = churned_total_effects(cfg)
    assert all(e["penalty"] > 0.05 and e["reward"] == 0.0 for e in effects.values())
