"""Hidden moments on logs that break the easy assumptions: closing journeys, customers who
call twice, tenure drift, office hours, contacts logged with the anchor, poor overlap.

Small versions of the calibration in ``bench/hidden.py`` (which runs 20,000 journeys
and many replicates per scenario).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pyarrow.compute as pc
import pytest
from scipy import sparse

import peakend
from peakend.generate import GeneratorConfig, generate
from peakend.models.hidden import find_hidden_moments
from peakend.models.hidden.effects import proactive_effect
from peakend.models.hidden.windows import AnchorSample, estimate_window, logged_together

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import hidden as bench  # noqa: E402


def test_closing_journeys_are_declared_and_have_no_contact_after_the_close(
    tmp_path: Path,
) -> None:
    config = dataclasses.replace(
        GeneratorConfig(), n_journeys=800, seed=3, hidden_windows=(), close_after_days=20.0
    )
    data = peakend.load(generate(tmp_path, config).spec_path)
    assert data.spec.journey_end.closing == ("journey_closed",)
    ev = data.events.to_pandas()
    close = ev[ev.touchpoint == "journey_closed"].groupby("journey_id").ts.min()
    assert close.size == 800
    # a recovery answers a failure before the close and may come after it; nothing else does
    rest = ev[~ev.touchpoint.isin(["journey_closed", "recovery"])]
    last = rest.groupby("journey_id").ts.max()
    assert (last <= close.reindex(last.index)).all()


def test_new_generator_options_do_not_depend_on_chunking(tmp_path: Path) -> None:
    options: dict[str, Any] = dict(bench.ALL_NUISANCES)
    a = dataclasses.replace(
        GeneratorConfig(), n_journeys=600, seed=5, chunk_journeys=600, **options
    )
    b = dataclasses.replace(a, chunk_journeys=137)
    ea = peakend.load(generate(tmp_path / "a", a).spec_path).events
    eb = peakend.load(generate(tmp_path / "b", b).spec_path).events
    assert ea.select(["journey_id", "ts", "touchpoint"]).equals(
        eb.select(["journey_id", "ts", "touchpoint"])
    )


def test_every_nuisance_at_once_gives_no_window(tmp_path: Path) -> None:
    for seed in range(2):
        _, result = bench.run_scenario(bench.ALL_NUISANCES, 6_000, 50 + seed)
        assert result.moments == (), [m.moment.label for m in result.moments]


def test_office_hours_in_hourly_mode_give_no_window() -> None:
    _, result = bench.run_scenario({"office_hours": 0.9}, 6_000, 7, unit="hour", horizon=168)
    assert result.moments == ()
    rhythm = result.curves["rhythm"].to_numpy()
    assert rhythm.max() > 1.3 and rhythm.min() < 0.7  # the week rhythm is in the baseline


def test_planted_window_with_every_nuisance_is_found_and_covered() -> None:
    config, result = bench.run_scenario(bench.ALL_NUISANCES, 12_000, 9, planted=True)
    found = [m.moment for m in result.moments if m.moment.anchor == "subscription_started"]
    assert found and found[0].first_offset <= 5 and found[0].last_offset >= 4
    m = found[0]
    truth = 1000 * bench.planted_excess(config, m.first_offset, m.last_offset)
    assert m.excess_per_1000.low <= truth <= m.excess_per_1000.high
    method = result.to_dict()["moments"][0]["method"]
    assert {"test", "baseline", "risk_set", "split"} <= set(method)


def test_each_segment_is_measured_against_its_own_baseline() -> None:
    # two groups with baselines 0.05 and 0.01 per unit and the same excess of 0.1 in 2..3
    rng = np.random.default_rng(1)
    n, horizon = 20_000, 14
    group = np.arange(n) % 2 == 0
    rate = np.where(group, 0.05, 0.01)[:, None] * np.ones(horizon)
    rate[:, 2:4] += 0.05
    counts = rng.poisson(rate)
    sample = AnchorSample(
        np.array([f"J{i}" for i in range(n)], dtype=object),
        np.arange(n),
        np.full(n, horizon - 1),
        sparse.csr_matrix(counts.astype(np.float64)),
        np.ones(horizon),
        np.array([o not in (2, 3) for o in range(horizon)]),
    )
    for keep in (group, ~group):
        iv = estimate_window(sample, 2, 3, keep=keep).excess_per_1000
        assert iv.low <= 100 <= iv.high
    pooled = estimate_window(sample, 2, 3).excess_per_1000
    assert pooled.low <= 100 <= pooled.high


def test_contacts_at_the_anchors_own_time_are_logged_together_not_counted() -> None:
    t0 = np.datetime64("2024-01-01T10:00:00")
    anchors = ibis.memtable(
        {
            "journey_id": [f"J{i}" for i in range(40)],
            "anchor": ["approved"] * 40,
            "anchor_ts": [t0] * 40,
        }  # fmt: skip
    )
    contacts = ibis.memtable(
        {
            "journey_id": [f"J{i}" for i in range(30)],
            "contact": ["accepted"] * 30,
            "contact_ts": [t0] * 30,
        }  # fmt: skip
    )
    (together,) = logged_together(anchors, contacts, {"approved": 40})
    assert together.contacts == 30 and together.per_1000 == pytest.approx(750)
    assert together.contact_mix == {"accepted": 1.0}


def test_poor_overlap_is_refused_with_its_reason_good_overlap_is_not() -> None:
    rng = np.random.default_rng(2)
    n = 3_000
    x = rng.normal(size=(n, 1))
    for logit, refused in ((-1 + 0.5 * x[:, 0], False), (-3 + 4 * x[:, 0], True)):
        treated = rng.random(n) < 1 / (1 + np.exp(-logit))
        y = 1 + x[:, 0] + 0.3 * treated + rng.normal(size=n)
        e = proactive_effect("call", treated, y, {"y": y}, x, ["x"], columns=["x"])
        assert e.overlap is not None and bool(e.overlap.refused) is refused
        if refused:
            assert "propensity" in (e.overlap.refused or "")
            assert np.isnan(e.outcomes["y"].value)
        else:
            assert e.outcomes["y"].low <= 0.3 <= e.outcomes["y"].high
            assert abs(e.overlap.smd_after["x"]) < 0.1 < abs(e.overlap.smd_before["x"])


def test_a_grace_period_in_the_spec_sets_the_risk_set(tmp_path: Path) -> None:
    config = dataclasses.replace(GeneratorConfig(), n_journeys=1_500, seed=4, hidden_windows=())
    ds = generate(tmp_path, config)
    spec = ds.spec_path.read_text(encoding="utf-8") + "\n[journey_end]\ngrace_days = 0\n"
    ds.spec_path.write_text(spec, encoding="utf-8")
    data = peakend.load(ds.spec_path)
    assert data.spec.journey_end.grace_days == 0
    result = find_hidden_moments(data, anchors=["renewal_offer"])
    # without grace, nothing is open after the last letter: no journey at risk after it
    at_risk = result.curves.filter(pc.equal(result.curves["anchor"], "renewal_offer"))["at_risk"]
    assert max(at_risk.to_pylist()) < 0.05 * result.anchor_journeys["renewal_offer"]
    assert json.loads(json.dumps(result.to_dict()))["journey_end"]["grace_days"] == 0


def test_weighting_the_customers_sums_equals_weighting_their_journeys() -> None:
    """The bootstrap weights each customer's sums; the figures are those of its journeys."""
    from peakend.models.hidden.windows import _customer_totals
    from peakend.stats.counts import weighted_totals

    rng = np.random.default_rng(5)
    journeys, horizon, first, last = 500, 10, 2, 4
    customer = np.sort(rng.integers(0, 150, journeys))
    _, customer = np.unique(customer, return_inverse=True)
    last_full = rng.integers(0, horizon, journeys)
    counts = sparse.csr_matrix(rng.poisson(0.3, (journeys, horizon)).astype(np.float64))
    in_window = np.asarray(counts[:, first : last + 1].sum(axis=1)).ravel()
    through = (last_full >= last).astype(np.float64)
    groups = int(customer.max()) + 1
    totals = _customer_totals(customer, groups, last_full, counts, in_window, through)
    w = rng.standard_exponential((7, groups))
    sums = weighted_totals(totals, w)
    wj = w[:, customer]  # every journey carries its customer's weight
    leaving = np.stack([wj[:, last_full == k].sum(axis=1) for k in range(horizon)], axis=1)
    np.testing.assert_allclose(sums[:, :horizon], leaving, rtol=1e-12)
    np.testing.assert_allclose(sums[:, horizon : 2 * horizon], wj @ counts.toarray(), rtol=1e-12)
    direct = np.column_stack(
        [wj @ through, wj @ (through * in_window), wj @ (through * (in_window > 0))]
    )
    np.testing.assert_allclose(sums[:, 2 * horizon :], direct, rtol=1e-12)


def test_the_window_interval_keeps_its_draws_whatever_the_replicate_blocks() -> None:
    """Weights filled into one buffer block by block are the draws of one array at a time."""
    from peakend.stats.counts import cluster_weights

    whole = cluster_weights(np.random.default_rng(11), 25, 40)
    rng = np.random.default_rng(11)
    buffer = np.empty((25, 40))
    assert np.array_equal(cluster_weights(rng, 25, 40, out=buffer), whole)
    with pytest.raises(ValueError, match="shape"):
        cluster_weights(rng, 25, 41, out=buffer)


def test_windows_drawn_into_one_scratch_buffer_equal_those_drawn_alone() -> None:
    """Every window and segment of one buffer gets the draws it gets from a new array."""
    from peakend.models.hidden.windows import weight_scratch

    rng = np.random.default_rng(4)
    n, horizon = 3_000, 10
    sample = AnchorSample(
        np.array([f"J{i}" for i in range(n)], dtype=object),
        np.sort(rng.integers(0, 2_000, n)),
        rng.integers(0, horizon, n),
        sparse.csr_matrix(rng.poisson(0.2, (n, horizon)).astype(np.float64)),
        np.ones(horizon),
        np.array([o not in (3, 4) for o in range(horizon)]),
    )
    scratch = weight_scratch([sample])
    group = rng.random(n) < 0.3
    # the larger sample first, then a smaller one that leaves old draws in the buffer
    for keep in (None, group, ~group, None):
        alone = estimate_window(sample, 3, 4, keep=keep, seed=2)
        shared = estimate_window(sample, 3, 4, keep=keep, seed=2, scratch=scratch)
        assert shared == alone
    too_small = np.empty(10)
    assert estimate_window(sample, 3, 4, scratch=too_small) == estimate_window(sample, 3, 4)


def test_a_windows_point_is_the_point_of_its_estimate() -> None:
    """Without its bootstrap a window has the figures of its estimate, NaN interval bounds."""
    from peakend.models.hidden.windows import window_point

    rng = np.random.default_rng(6)
    n, horizon = 2_000, 12
    sample = AnchorSample(
        np.array([f"J{i}" for i in range(n)], dtype=object),
        np.unique(rng.integers(0, 800, n), return_inverse=True)[1],  # several journeys each
        rng.integers(0, horizon, n),
        sparse.csr_matrix(rng.poisson(0.3, (n, horizon)).astype(np.float64)),
        np.linspace(0.7, 1.3, horizon),
        np.array([o not in (2, 3, 4) for o in range(horizon)]),
    )
    for first, last in ((2, 4), (0, 0), (11, 11)):
        point, full = window_point(sample, first, last), estimate_window(sample, first, last)
        assert point.excess_per_1000.value == full.excess_per_1000.value
        assert point.share_affected.value == full.share_affected.value
        assert (point.baseline_per_unit, point.n_journeys, point.contacts) == (
            full.baseline_per_unit, full.n_journeys, full.contacts)  # fmt: skip
        assert np.isnan(point.excess_per_1000.low) and np.isnan(point.share_affected.high)


def test_echoes_dropped_asking_for_intervals_only_when_they_decide() -> None:
    """Intervals asked for lazily: the windows kept with every interval known from the start."""
    from peakend.models.hidden.windows import HiddenMoment, distinct
    from peakend.stats.resampling import Interval

    rng = np.random.default_rng(9)
    asked_less = 0
    for _ in range(300):
        k = int(rng.integers(2, 7))
        value = rng.choice([5.0, 20.0, 40.0], k) if rng.random() < 0.3 else rng.uniform(0, 60, k)
        half = rng.uniform(0, 30, k)
        value[rng.random(k) < 0.05] = np.nan  # no journey open through the window
        tied = rng.random() < 0.3  # equal totals: the order of the anchors decides
        journeys = rng.choice([1_000, 2_000], k) if tied else rng.integers(500, 5_000, k)
        full = [
            HiddenMoment(
                f"a{i % 3}",
                0,
                1,
                "day",
                int(journeys[i]),
                0,
                Interval(value[i], value[i] - half[i], value[i] + half[i], 1),
                Interval(0.0, 0.0, 0.0, 1),
                0.0,
                0.0,
            )  # fmt: skip
            for i in range(k)
        ]
        sketch = [
            dataclasses.replace(
                m, excess_per_1000=Interval(m.excess_per_1000.value, np.nan, np.nan, 1)
            )  # fmt: skip
            for m in full
        ]
        shared = {
            (a, b): int(rng.integers(1, 100))
            for a in range(k)
            for b in range(a + 1, k)
            if rng.random() < 0.6
        }
        asked: set[int] = set()

        def interval(i: int, full: list[HiddenMoment] = full, asked: set[int] = asked) -> Interval:
            asked.add(i)
            return full[i].excess_per_1000

        order = ["a0", "a1", "a2"]
        assert distinct(sketch, shared, order, interval=interval) == distinct(full, shared, order)
        asked_less += len(asked) < k
    assert asked_less > 0


def test_weighting_intervals_with_shared_terms_equal_those_computed_alone() -> None:
    """The propensity's terms computed once give every outcome's interval to the last digit."""
    from peakend.models.hidden.effects import _design, _ipw, _propensity, _weighting
    from peakend.stats.resampling import Interval

    def alone(y: np.ndarray, treated: np.ndarray, e: np.ndarray, design: np.ndarray) -> Interval:
        # the interval as computed before the terms were shared
        n = y.size
        t = treated.astype(np.float64)
        wt, wc = t / e, (1.0 - t) / (1.0 - e)
        a1, a0 = wt.mean(), wc.mean()
        mt = float((wt * y).sum() / wt.sum())
        mc = float((wc * y).sum() / wc.sum())
        inf = wt * (y - mt) / a1 - wc * (y - mc) / a0
        slope = -(wt * (y - mt) * (1.0 - e) / a1 + wc * (y - mc) * e / a0)
        m = (design * slope[:, None]).mean(axis=0)
        info = (design * (e * (1.0 - e))[:, None]).T @ design / n + 1e-9 * np.eye(design.shape[1])
        inf = inf + design * (t - e)[:, None] @ np.linalg.solve(info, m)
        half = 1.959964 * np.sqrt(float((inf**2).mean()) / n)
        return Interval(mt - mc, mt - mc - half, mt - mc + half, n)

    rng = np.random.default_rng(12)
    x = rng.normal(size=(3_000, 4))
    treated = rng.random(3_000) < 1 / (1 + np.exp(-x[:, 0]))
    design = _design(x)
    e = np.clip(_propensity(treated, design), 0.01, 0.99)
    shared = _weighting(treated, e, design)
    for y in (rng.poisson(0.5, 3_000).astype(np.float64), rng.normal(7, 2, 3_000)):
        assert _ipw(y, shared) == alone(y, treated, e, design)


def test_the_design_written_in_place_equals_the_stacked_one() -> None:
    """Intercept and standardised covariates: the numbers and layout of stacking them."""
    from peakend.models.hidden.effects import _design

    rng = np.random.default_rng(13)
    x = rng.normal(size=(500, 4)) * np.array([1.0, 10.0, 0.1, 3.0])
    x[:, 2] = 4.0  # a constant column keeps its scale of 1
    for covariates in (x, np.asfortranarray(x), x[:, :1]):
        scale = covariates.std(axis=0)
        z = (covariates - covariates.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
        stacked = np.hstack([np.ones((z.shape[0], 1)), z])
        design = _design(covariates)
        assert np.array_equal(design, stacked)
        assert design.flags.c_contiguous == stacked.flags.c_contiguous
