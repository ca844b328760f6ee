"""Total effects by intervention (g-computation) against the generator's planted truth."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import peakend
from peakend.errors import StatisticalWarning
from peakend.generate import GeneratorConfig, generate
from peakend.models.memory.whatif import Sequences
from peakend.models.moments import MomentSettings, MomentsResult, find_moments
from peakend.models.moments.design import build_design
from peakend.models.moments.segments import group_labels
from peakend.models.moments.total import (
    experienced_order,
    group_inputs,
    scored_events,
    total_from_inputs,
    total_inputs,
)

THRESHOLD = 0.25


def _moments(spec: Path, **kwargs: object) -> MomentsResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        return find_moments(
            peakend.load(spec),
            outcome="overall",
            settings=MomentSettings(threshold=THRESHOLD, n_resamples=20, seed=1),
            **{"segments": (), **kwargs},  # type: ignore[arg-type]
        )


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, float]]]:
    """5,000 journeys of the default generator (peak-end memory on) and their total effects."""
    made = generate(tmp_path_factory.mktemp("total"), GeneratorConfig(n_journeys=5_000, seed=7))
    truth = json.loads(made.truth_path.read_text(encoding="utf-8"))["touchpoints"]
    return made.spec_path, {name: t["total"] for name, t in truth.items()}


def test_g_computation_recovers_the_total_effects(
    planted: tuple[Path, dict[str, dict[str, float]]],
) -> None:
    spec, truth = planted
    result = _moments(spec)
    assert result.estimand == "total_by_intervention"
    assert result.to_dict()["estimand"] == "total_by_intervention"
    covered, checked, errors = 0, 0, []
    for m in result.touchpoints:
        if m.touchpoint not in truth:
            continue
        true = truth[m.touchpoint]
        for interval, value in ((m.penalty, true["penalty"]), (m.reward, true["reward"])):
            checked += 1
            covered += interval.low <= value <= interval.high
            errors.append(abs(interval.value - value))
    # 20 intervals at 95 %: two misses are within chance, more are not
    assert checked == 20 and covered >= 18
    assert max(errors) < 0.12  # the band regression is off by up to 0.45 here


def test_adjusted_effects_are_the_direct_ones(
    planted: tuple[Path, dict[str, dict[str, float]]],
) -> None:
    """With --adjust-for the estimand is the direct effect (planted -1.0), not the total."""
    spec, truth = planted
    direct = _moments(
        spec, adjust_for=("peak_valence", "end_valence", "mean_valence", "trough_valence")
    )
    assert direct.estimand == "direct"
    installation = direct.by_name("installation")
    assert installation.penalty.low <= -1.0 <= installation.penalty.high
    assert installation.penalty.value > truth["installation"]["penalty"] + 0.5


def test_no_experienced_order_keeps_the_band_regression(tmp_path: Path) -> None:
    cfg = GeneratorConfig(n_journeys=1_500, seed=3, survey_order=True)
    made = generate(tmp_path / "survey", cfg)
    assert not experienced_order(peakend.load(made.spec_path))
    assert _moments(made.spec_path).estimand == "total_regression_weighted"


def test_memory_features_of_the_ordered_moments_are_the_engines(
    planted: tuple[Path, dict[str, dict[str, float]]],
) -> None:
    """The g-computation's own memory features equal the engine's (``--adjust-for``)."""
    import numpy as np

    from peakend.models.memory.whatif import sequence_features
    from peakend.models.moments.design import build_design
    from peakend.models.moments.total import MEMORY_FEATURES, memory_matrix, ordered_moments

    dataset = peakend.load(planted[0])
    design = build_design(dataset, "overall", adjust_for=MEMORY_FEATURES)
    moments, _ = ordered_moments(dataset.events, design)
    assert np.array_equal(memory_matrix(sequence_features(moments)), design.controls)


def test_segment_groups_get_their_own_total_effects(
    planted: tuple[Path, dict[str, dict[str, float]]],
) -> None:
    """Each group's penalty and reward are the g-computation on its own journeys.

    Its intervals (two groups: each its own, not pooled) cover the generator's
    total effects over that group's journeys (truth.json ``total_by_segment``);
    the groups' moods differ, and with them how much of a low score the
    remembered peak and trough pass on.
    """
    spec, _ = planted
    truth = json.loads((spec.parent / "truth.json").read_text(encoding="utf-8"))["touchpoints"]
    result = _moments(spec, segments=("segment",))
    (segment,) = result.segments
    covered, checked = 0, 0
    for group in segment.groups:
        for m in group.touchpoints:
            if m.touchpoint not in truth:  # the recovery contact: no planted effect
                continue
            true = truth[m.touchpoint]["total_by_segment"][group.name]
            for interval, value in ((m.penalty, true["penalty"]), (m.reward, true["reward"])):
                checked += 1
                covered += interval.low <= value <= interval.high
    # two groups, 40 intervals at 95 %: up to five misses are within chance (more: P ≈ 1 %);
    # the groups' band regressions covered 33 (errors up to 0.48, here up to 0.14)
    assert checked == 40 and covered >= 35


@pytest.mark.parametrize("outcome", ["overall", "satisfied"])
def test_a_groups_inputs_taken_from_the_whole_sample_are_its_own(
    planted: tuple[Path, dict[str, dict[str, float]]], outcome: str
) -> None:
    """A segment group's moments and memory features, cut from the whole sample's, are exact.

    The segment groups take their total effects' inputs from the whole sample's
    (:func:`group_inputs`) instead of reading the events again; every array, and
    every total effect, equals what the group's own journeys give.
    """
    spec, _ = planted
    dataset = peakend.load(spec)
    design = build_design(dataset, outcome)
    events = scored_events(dataset)
    whole = total_inputs(events, design)
    labels = np.array(group_labels(dataset, design, "segment"), dtype=object)
    for name in sorted(set(labels)):
        rows = np.flatnonzero(labels == name)
        group = design.subset(rows)
        cut, own = group_inputs(whole, rows, group), total_inputs(events, group)
        assert 0 < group.n < design.n
        assert np.array_equal(cut.design.controls, own.design.controls)
        assert cut.design.control_names == own.design.control_names
        assert np.array_equal(cut.moments.group, own.moments.group)
        assert np.array_equal(cut.moments.valence, own.moments.valence)
        assert np.array_equal(cut.touchpoint, own.touchpoint)
        shown, expected = total_from_inputs(cut, 0.95), total_from_inputs(own, 0.95)
        for field in ("penalty", "penalty_half", "reward", "reward_half"):
            assert np.array_equal(getattr(shown, field), getattr(expected, field), equal_nan=True)


def test_one_touchpoints_features_are_those_recomputed_from_the_changed_moments(
    planted: tuple[Path, dict[str, dict[str, float]]],
) -> None:
    """The closed-form features under a set score equal recomputing every journey's moments."""
    import numpy as np

    from peakend.models.memory.whatif import Sequences, sequence_features
    from peakend.models.moments.design import HIGH, LOW, MIDDLE, build_design
    from peakend.models.moments.total import OneTouchpoint, memory_matrix, ordered_moments

    dataset = peakend.load(planted[0])
    design = build_design(dataset, "overall")
    moments, touchpoint = ordered_moments(dataset.events, design)
    ends_here = set()
    for t in range(len(design.touchpoints)):
        at_t = touchpoint == t
        rows = np.flatnonzero(np.isin(design.bands[:, t], (LOW, MIDDLE, HIGH)))
        change = OneTouchpoint.of(moments, at_t, rows)
        # the recomputation on the journeys of ``rows`` only, as before the closed form
        local = np.full(design.n, -1)
        local[rows] = np.arange(rows.size)
        keep = local[moments.group] >= 0
        sub = Sequences(
            journey_ids=design.journey_ids.take(rows),
            group=local[moments.group[keep]],
            position=moments.position[keep],
            valence=moments.valence[keep],
            duration_s=np.full(rows.size, np.nan),
        )
        ends_here |= set(at_t[keep][sub.layout.ends].tolist())
        for value in (-2.0, -0.5, 0.0, 1.0, 2.0):
            recomputed = sequence_features(sub, np.where(at_t[keep], value, sub.valence))
            np.testing.assert_allclose(
                change.features(value), memory_matrix(recomputed), rtol=0, atol=1e-12
            )
    assert ends_here == {True, False}  # journeys that end at the touchpoint and others


def test_journey_order_is_the_four_key_sort_whether_or_not_events_arrive_in_order() -> None:
    import numpy as np

    from peakend.loading.event_order import journey_order_of

    rng = np.random.default_rng(5)
    n = 2_000
    rows = rng.integers(0, 300, n)
    missing = rng.random(n) < 0.1
    ts = np.where(missing, 0, rng.integers(0, 50, n))
    seq = rng.integers(0, 5, n)
    expected = np.lexsort((seq, ts, missing, rows))
    assert np.array_equal(journey_order_of(rows, missing, ts, seq), expected)  # shuffled events
    in_time = expected  # events already in journey and time order
    r, m, t, s = rows[in_time], missing[in_time], ts[in_time], seq[in_time]
    assert np.array_equal(journey_order_of(r, m, t, s), np.arange(n))
    # journeys in another order than the design's, each one's events in time
    relabel = rng.permutation(300)
    assert np.array_equal(journey_order_of(relabel[r], m, t, s), np.lexsort((s, t, m, relabel[r])))


def test_extremes_without_a_touchpoint_are_those_found_touchpoint_by_touchpoint(
    planted: tuple[Path, dict[str, dict[str, float]]],
) -> None:
    """One pass over the moments gives, for every touchpoint, each journey's best and worst
    moment at the other touchpoints: the same figures as a pass per touchpoint."""
    import pyarrow as pa

    from peakend.models.memory.whatif import Sequences
    from peakend.models.moments.design import HIGH, LOW, MIDDLE
    from peakend.models.moments.total import (
        Extremes,
        OneTouchpoint,
        ordered_moments,
    )

    dataset = peakend.load(planted[0])
    design = build_design(dataset, "overall")
    moments, touchpoint = ordered_moments(dataset.events, design)
    extremes = Extremes.of(moments, touchpoint)
    # journeys whose best moments are all at one touchpoint, and journeys with ties
    assert (extremes.best_at >= 0).any() and (extremes.best_at == -2).any()
    for t in range(len(design.touchpoints)):
        at_t = touchpoint == t
        for found, expected in zip(extremes.without(t), _rest_extremes(moments, at_t), strict=True):
            np.testing.assert_array_equal(found, expected)
        rows = np.flatnonzero(np.isin(design.bands[:, t], (LOW, MIDDLE, HIGH)))
        fast = OneTouchpoint.of(moments, at_t, rows, extremes.without(t))
        slow = OneTouchpoint.of(moments, at_t, rows, _rest_extremes(moments, at_t))
        for value in (-1.0, 0.0, 0.5):
            np.testing.assert_array_equal(fast.features(value), slow.features(value))

    # by hand: ties across touchpoints, every moment at one touchpoint, no moment, and a
    # moment at a touchpoint not analysed (−1)
    group = np.array([0, 0, 0, 1, 1, 3, 3])
    touchpoints = np.array([0, 1, 0, 1, 1, -1, 0])
    valence = np.array([0.5, 0.5, -1.0, 1.0, 0.0, 0.2, 0.9])
    by_hand = Sequences(
        journey_ids=pa.array(["a", "b", "c", "d"]),
        group=group,
        position=np.zeros(group.size),
        valence=valence,
        duration_s=np.full(4, np.nan),
    )
    found = Extremes.of(by_hand, touchpoints)
    inf = np.inf
    expected = {
        0: ([0.5, 1.0, -inf, 0.2], [0.5, 0.0, inf, 0.2]),
        1: ([0.5, -inf, -inf, 0.9], [-1.0, inf, inf, 0.2]),
        2: ([0.5, 1.0, -inf, 0.9], [-1.0, 0.0, inf, 0.2]),
    }
    for t, (best, worst) in expected.items():
        np.testing.assert_array_equal(found.without(t)[0], best)
        np.testing.assert_array_equal(found.without(t)[1], worst)
        assert [list(a) for a in _rest_extremes(by_hand, touchpoints == t)] == [best, worst]


def _rest_extremes(moments: Sequences, at_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every journey's best and worst moment not ``at_t``, by a pass over every moment."""
    n, layout, valence = moments.n_journeys, moments.layout, moments.valence
    best = np.full(n, -np.inf)
    worst = np.full(n, np.inf)
    if valence.size:
        best[layout.owner] = np.maximum.reduceat(np.where(at_t, -np.inf, valence), layout.starts)
        worst[layout.owner] = np.minimum.reduceat(np.where(at_t, np.inf, valence), layout.starts)
    return best, worst


def test_linear_shares_variance_is_the_multinomial_one(
    planted: tuple[Path, dict[str, dict[str, float]]],
) -> None:
    """``(Σ s_v m_v² − (Σ s_v m_v)²) / n`` per band, ``m_v`` the linear model's mean prediction.

    ``m_v`` is the mean over the journeys scoring the touchpoint of the
    prediction with value ``v`` set there (its memory features recomputed); the
    differences between a band's values are all the shares weigh. The middle band
    has one value (3) and adds nothing; a score of 1 and one of 2 move the
    remembered peak, end, mean and trough unlike each other.
    """
    from peakend.models.moments.design import HIGH, LOW, MIDDLE
    from peakend.models.moments.total import (
        OneTouchpoint,
        _mean_band_features,
        band_values,
        fit_adjusted,
        linear_by_value,
        shares_variance,
    )

    dataset = peakend.load(planted[0])
    inputs = total_inputs(scored_events(dataset), build_design(dataset, "overall"))
    design = inputs.design
    model = fit_adjusted(design)
    t = design.touchpoints.index("installation")
    rows = np.flatnonzero(np.isin(design.bands[:, t], (LOW, MIDDLE, HIGH)))
    change = OneTouchpoint.of(inputs.moments, inputs.touchpoint == t, rows)
    _, value_means = _mean_band_features(design, change, rows, t)
    by_value = linear_by_value(model.fitted.coef, model.memory, value_means, LOW)
    band_of = design.bands[rows, t][change.journey]
    share = design.weights[rows] / design.weights[rows].sum()
    expected = 0.0
    for band in (LOW, MIDDLE):
        chosen = band_of == band
        values, shares = band_values(change.valence[chosen], np.ones(int(chosen.sum())))
        predicted = []
        for value in values:
            x = model.x[rows].copy()
            x[:, model.memory] = change.features(float(value))
            predicted.append(float(share @ (x @ model.fitted.coef)))
        np.testing.assert_allclose(
            np.diff(by_value[band]), np.diff(predicted), rtol=1e-9, atol=1e-12
        )
        means = by_value[band]
        expected += float(shares @ (means - shares @ means) ** 2) / int(chosen.sum())
    ours = shares_variance(design, change, rows, t, by_value)
    assert by_value[MIDDLE].size == 1 and by_value[LOW].size == 2
    assert ours == pytest.approx(expected, rel=1e-9)
    assert np.sqrt(ours) > 0.01  # points of `overall` (0.03 here)
