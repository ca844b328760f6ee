"""Journeys that enter the simulation identically, pooled: the same draws from fewer rows.

The simulated cross-validation of a continuous outcome pools its journeys by
fold and design row (``holdout._Pooled``) and sums per pooled row what each
draw needs; here every draw is compared, index by index, with the same draw
scored on the journeys themselves. The Gram matrices are float32 sums in both,
in a different order, so the errors agree to float32 rounding, not to the
last digit.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
import pytest

from peakend.models.moments import holdout
from peakend.models.moments.design import MomentDesign
from peakend.models.moments.holdout import (
    NOISES,
    _copies,
    _DrawBuffers,
    _rademacher_sums,
    _random_x_errors,
    _row_sums,
    _weighted_scores,
    _world,
    cv_errors,
    fold_of_rows,
    held_out_score,
)

#: The kinds of design compared: plain, repeat customers, respondent weights.
KINDS = ("plain", "customers", "weighted")


def _design(
    kind: str = "plain", *, n: int = 3_000, seed: int = 0, binary: bool = False
) -> MomentDesign:
    """Four touchpoints with planted effects and an outcome on a 1-10 scale (or 0/1).

    Four touchpoints have at most 256 design rows, so the 3,000 journeys
    repeat rows often (the 10M-event log's 1.07M journeys have 161,524).
    """
    rng = np.random.default_rng(seed)
    touchpoints = 4
    bands = rng.choice(4, size=(n, touchpoints), p=[0.4, 0.25, 0.25, 0.1]).astype(np.int8)
    effects = rng.normal(0, 1, size=(touchpoints, 4))
    effects[:, 0] = 0.0
    signal = effects[np.arange(touchpoints), bands].sum(axis=1)
    if binary:
        y = (rng.random(n) < 1 / (1 + np.exp(-signal))).astype(np.float64)
    else:
        y = np.clip(np.round(6 + signal + rng.normal(0, 1.5, n)), 1, 10)
    clusters = None
    if kind == "customers":  # about three journeys per customer
        clusters = np.unique(rng.integers(0, n // 3, n), return_inverse=True)[1].astype(np.int64)
    weights = rng.choice([0.5, 1.0, 2.0], n) if kind == "weighted" else np.ones(n)
    return MomentDesign(
        touchpoints=tuple(f"t{i}" for i in range(touchpoints)),
        journey_ids=pa.array([str(i) for i in range(n)]),
        bands=bands,
        y=y,
        weights=weights,
        binary=binary,
        dropped_no_outcome=0,
        clusters=clusters,
    )


def _with_controls(design: MomentDesign) -> MomentDesign:
    """The design adjusted for a continuous control: every journey a design row of its own."""
    control = np.random.default_rng(1).normal(size=(design.n, 1))
    return dataclasses.replace(design, controls=control, control_names=("remembered",))


# -- the simulated cross-validation ------------------------------------------------


@pytest.mark.parametrize("noise", NOISES)
@pytest.mark.parametrize("kind", KINDS)
def test_pooled_draws_are_the_journeys_draws(
    kind: str, noise: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every random-X draw scored on the pooled rows equals the same draw scored on
    the journeys: the same random numbers, the same errors to float32 rounding."""
    design = _design(kind)
    assert (design.clusters is not None) == (kind == "customers")
    fold = fold_of_rows(design, 5, 0)
    world = _world(design, fold)
    assert world is not None and world.pooled is not None
    assert world.pooled.x.shape[0] < 0.5 * design.n
    assert world.pooled.weight.sum() == pytest.approx(design.weights.sum())
    monkeypatch.setattr(holdout, "_POOL_SHARE", 0.0)  # never pool
    journeys = _world(design, fold)
    assert journeys is not None and journeys.pooled is None
    np.testing.assert_array_equal(journeys.noise, world.noise)  # the same world
    pooled = _random_x_errors(world, np.random.default_rng(8), 24, noise)
    unpooled = _random_x_errors(journeys, np.random.default_rng(8), 24, noise)
    assert np.isfinite(unpooled).all() and np.std(unpooled) > 1e-4  # draws that differ
    np.testing.assert_allclose(pooled, unpooled, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("pooled", [True, False])
def test_draws_written_into_buffers_are_the_draws_taken_afresh(
    kind: str, pooled: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Rademacher draw's sums written into reused buffers are, to the last digit,
    those summed from the draw's fresh per-journey arrays (the same random numbers,
    the same products), per pooled row and per journey; no draw leaks into the next."""
    if not pooled:
        monkeypatch.setattr(holdout, "_POOL_SHARE", 0.0)  # never pool
    design = _design(kind)
    world = _world(design, fold_of_rows(design, 5, 0))
    assert world is not None and (world.pooled is not None) == pooled
    assert (world.clusters is not None) == (kind == "customers")
    fresh, reused = np.random.default_rng(6), np.random.default_rng(6)
    buffers = _DrawBuffers.of(world)
    for _ in range(3):
        expected = _row_sums(world, *_copies(world, fresh, "rademacher"))
        found = _rademacher_sums(world, reused, buffers)
        for a, b in zip(expected, found, strict=True):
            np.testing.assert_array_equal(a, b)
        assert found[0].sum() > 0.5 * design.weights.sum()


@pytest.mark.parametrize("kind", KINDS)
def test_the_pooled_journeys_themselves_score_as_the_cross_validation(kind: str) -> None:
    """One copy of every journey with its own residual as noise is the dataset: on the
    pooled rows it scores as the cross-validation of the journeys does."""
    design = _design(kind)
    fold = fold_of_rows(design, 5, 0)
    world = _world(design, fold)
    assert world is not None and world.pooled is not None
    residual = design.y[np.argsort(fold, kind="stable")] - world.fitted
    cv, _ = _weighted_scores(world, np.ones(design.n), residual, residual**2)
    assert cv == pytest.approx(held_out_score(design, fold), abs=1e-6)


def test_pooled_rows_keep_every_fold_and_design_row_apart() -> None:
    """A pooled row holds journeys of one fold and one design row, whose fitted means
    are the journeys' own; its weight is theirs summed."""
    design = _design("weighted")
    fold = fold_of_rows(design, 5, 0)
    world = _world(design, fold)
    assert world is not None and world.pooled is not None
    rows = world.pooled
    np.testing.assert_array_equal(rows.x[rows.of], world.x)
    np.testing.assert_allclose(rows.fitted[rows.of], world.fitted, rtol=1e-12, atol=1e-12)
    sorted_fold = np.sort(fold)
    for i, part in enumerate(rows.folds):
        assert set(np.flatnonzero(sorted_fold == i)) == set(
            np.flatnonzero((rows.of >= part.start) & (rows.of < part.stop))
        )
    np.testing.assert_allclose(np.bincount(rows.of, weights=world.weight), rows.weight)


def test_continuous_controls_are_not_pooled() -> None:
    """With a continuous control nearly every journey is a row of its own: no pooling,
    and the simulation runs on the journeys as before."""
    design = _with_controls(_design())
    world = _world(design, fold_of_rows(design, 5, 0))
    assert world is not None and world.pooled is None
    errors = cv_errors(design, fold_of_rows(design, 5, 0), n_resamples=10, seed=2)
    assert np.isfinite(errors).all()


def test_binary_worlds_keep_their_own_pooling() -> None:
    design = _design(binary=True)
    world = _world(design, fold_of_rows(design, 5, 0))
    assert world is not None and world.binary and world.pooled is None
    assert int(world.count.sum()) == design.n and world.x.shape[0] < design.n
